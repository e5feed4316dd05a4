"""Rebuild labkit's embedded datasets (labkit/datasets/data/) from their origin, or from a mirror.

    python data-fetch/build_embedded.py [--base-url URL_OR_FOLDER] [--out labkit/datasets/data]

The base URL defaults to $LABKIT_DATA_URL, else the origin (raw.githubusercontent.com). Inside this project's
development machines: --base-url ../shared/data/mirror/github.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from labkit.datasets import embedded
from labkit.datasets.remote import fetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=None, help="origin URL or local mirror folder")
    parser.add_argument("--out", type=Path, default=Path(embedded.DATA))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    slovenia, polygons = embedded.build_slovenia(fetch("eolearn-slovenia", base_url=args.base_url))
    embedded.write_embedded(slovenia, args.out / "slovenia.nc")
    gpkg = args.out / "slovenia_polygons.gpkg"
    gpkg.unlink(missing_ok=True)
    polygons.to_file(gpkg, driver="GPKG")

    bolzano = embedded.build_bolzano(fetch("s2-bolzano", base_url=args.base_url))
    embedded.write_embedded(bolzano, args.out / "bolzano.nc", reflectance=True)
    for name, repo in (("LICENSE-eo-learn", "eolearn-slovenia"), ("LICENSE-openeo-processes-dask", "s2-bolzano")):
        shutil.copyfile(fetch(repo, ("LICENSE",), base_url=args.base_url) / "LICENSE", args.out / name)
    for path in sorted(args.out.iterdir()):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
