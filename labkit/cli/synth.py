"""``labkit synth``: write a synthetic Sentinel-2-like scene to disk.

Makes a scene with :func:`labkit.datasets.synthetic.make_synthetic_scene` and writes its cube and validity mask
to a Zarr store in labkit's layout (:func:`labkit.io.write_zarr`, read back with :func:`labkit.io.read_zarr`),
plus its true classes as the variable ``class_map``; its reference polygons go to a GeoPackage next to it
(``scene.zarr`` -> ``scene.gpkg``). Both are written under temporary names and moved into place when complete
(:func:`labkit.io.atomic_paths`), so that a failure leaves no half-written output.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit synth")
>>> configure(parser)
>>> parser.parse_args(["--out", "scene.zarr", "--size", "64", "128"]).size
[64, 128]
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Write a synthetic Sentinel-2-like scene (cube, validity mask, reference polygons) to a Zarr store."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit synth`` to ``parser``."""
    parser.add_argument("--out", required=True, type=Path, metavar="PATH.zarr",
                        help="Zarr store to write; the polygons go to PATH.gpkg next to it.")
    parser.add_argument("--size", nargs=2, type=int, default=[256, 256], metavar=("H", "W"),
                        help="height and width in pixels (default: 256 256; 10980 10980 is a full tile).")
    parser.add_argument("--dates", type=int, default=36, metavar="N",
                        help="number of dates, 1 to 73 (default: 36 irregular dates over 2021).")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0).")
    parser.add_argument("--chunks", type=int, default=512, metavar="C",
                        help="spatial chunk size in pixels of the store (default: 512).")
    parser.add_argument("--cloud-cover", type=float, default=0.3, metavar="F",
                        help="mean cloud fraction over the dates, 0 to 1 (default: 0.3).")
    parser.add_argument("--n-classes", type=int, default=6, metavar="K", help="number of classes, 2 to 8 (default: 6).")
    parser.add_argument("--overwrite", action="store_true", help="replace PATH.zarr and PATH.gpkg if they exist.")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="do not show a progress bar.")


def _write_gpkg(polygons, path: Path) -> None:
    """Write polygons to a GeoPackage at ``path``, through a name ending in .gpkg (GDAL warns otherwise)."""
    import os

    named = path.with_name(path.name + ".gpkg")
    try:
        polygons.to_file(named, driver="GPKG", layer="polygons")
        os.replace(named, path)
    finally:
        named.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    """Make the scene and write it; print a one-line summary. Returns 0.

    Raises
    ------
    labkit.errors.ConfigError
        On a bad argument or an existing output without ``--overwrite``, before anything is written.
    """
    from ..datasets.synthetic import make_synthetic_scene
    from ..errors import ConfigError

    out = Path(args.out)
    if out.suffix != ".zarr":
        raise ConfigError(f"--out must name a Zarr store ending in .zarr; got '{out}'. Try --out {out.stem}.zarr.")
    gpkg = out.with_suffix(".gpkg")
    for path in (out, gpkg):
        if (path.exists() or path.is_symlink()) and not args.overwrite:
            raise ConfigError(f"'{path}' already exists; remove it, choose another --out, or pass --overwrite.")
    height, width = args.size
    scene = make_synthetic_scene(height, width, dates=args.dates, n_classes=args.n_classes, chunks=args.chunks,
                                 cloud_cover=args.cloud_cover, random_state=args.seed)

    import xarray as xr
    from tqdm.dask import TqdmCallback

    from ..io import atomic_paths, write_zarr

    truth = scene.class_map.drop_vars("spatial_ref")
    truth.attrs["class_names"] = ", ".join(f"{code}={name}" for code, name in scene.class_names.items())
    with atomic_paths([out, gpkg], overwrite=args.overwrite) as (tmp_store, tmp_gpkg):
        with TqdmCallback(desc=f"labkit synth {out.name}", disable=not args.progress):
            write_zarr(scene.cube, tmp_store, mask=scene.mask)
            truth = truth.to_dataset(name="class_map")
            with xr.open_zarr(tmp_store, consolidated=True) as written:
                truth.attrs = dict(written.attrs)  # appending replaces the store's attributes: keep them
            truth.to_zarr(tmp_store, mode="a", zarr_format=2, consolidated=True)
        _write_gpkg(scene.polygons, tmp_gpkg)
    time, band, y, x = scene.cube.shape
    print(f"labkit synth: wrote {out} ({time} dates x {band} bands x {y} x {x} px, {scene.cube.rio.crs}, "
          f"seed {args.seed}, cloud cover {args.cloud_cover:g}) and {len(scene.polygons)} "
          f"polygons of {len(scene.class_names)} classes to {gpkg}")
    return 0
