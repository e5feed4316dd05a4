"""Rebuild labkit's embedded datasets (labkit/datasets/data/) from their origin, or from a mirror.

    python data-fetch/build_embedded.py [--mirror FOLDER_OR_URL] [--out labkit/datasets/data]

The files come from the mirror, else $LABKIT_DATA_MIRROR, else the origin (raw.githubusercontent.com). Inside this
project's development machines: --mirror ../shared/data/mirror.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from labkit.datasets import embedded
from labkit.datasets.remote import fetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", default=None, help="a mirror folder or URL (default: $LABKIT_DATA_MIRROR, else "
                                                       "the origin)")
    parser.add_argument("--out", type=Path, default=Path(embedded.DATA))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    slovenia, polygons = embedded.build_slovenia(fetch("eolearn-slovenia", mirror=args.mirror))
    embedded.write_embedded(slovenia, args.out / "slovenia.nc")
    gpkg = args.out / "slovenia_polygons.gpkg"
    gpkg.unlink(missing_ok=True)
    polygons.to_file(gpkg, driver="GPKG")

    bolzano = embedded.build_bolzano(fetch("s2-bolzano", mirror=args.mirror))
    embedded.write_embedded(bolzano, args.out / "bolzano.nc", reflectance=True)
    for name, repo in (("LICENSE-eo-learn", "eolearn-slovenia"), ("LICENSE-openeo-processes-dask", "s2-bolzano")):
        shutil.copyfile(fetch(repo, ("LICENSE",), mirror=args.mirror) / "LICENSE", args.out / name)
    for path in sorted(args.out.iterdir()):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
