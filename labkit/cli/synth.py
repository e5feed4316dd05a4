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

from ._options import int_in, positive_int, probability

HELP = "Write a synthetic Sentinel-2-like scene (cube, validity mask, reference polygons) to a Zarr store."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit synth`` to ``parser``."""
    parser.add_argument("--out", required=True, type=Path, metavar="PATH.zarr",
                        help="Zarr store to write; the polygons go to PATH.gpkg next to it.")
    parser.add_argument("--size", nargs=2, type=positive_int, default=[256, 256], metavar=("H", "W"),
                        help="height and width in pixels (default: 256 256; 10980 10980 is a full tile).")
    parser.add_argument("--dates", type=int_in(1, 73), default=36, metavar="N",
                        help="number of dates, 1 to 73 (default: 36 irregular dates over 2021).")
    parser.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0, metavar="S",
                        help="the scene's identity: the same seed makes the same scene, pixel for pixel, at any size "
                             "(make_synthetic_scene's random_state; not a random draw of a stage: those take "
                             "--random-state) (default: 0).")
    parser.add_argument("--chunks", type=positive_int, default=512, metavar="C",
                        help="spatial chunk size in pixels of the store (default: 512).")
    parser.add_argument("--cloud-cover", type=probability, default=0.3, metavar="F",
                        help="mean cloud fraction over the dates, 0 to 1 (default: 0.3).")
    parser.add_argument("--n-classes", type=int_in(2, 8), default=6, metavar="K",
                        help="number of classes, 2 to 8 (default: 6).")
    parser.add_argument("--overwrite", action="store_true", help="replace PATH.zarr and PATH.gpkg if they exist.")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="do not show a progress bar.")


def run(args: argparse.Namespace) -> int:
    """Make the scene and write it; print a one-line summary. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        On a bad argument, an existing output without ``--overwrite``, an output path of the wrong kind or not
        writable, or a scene larger than the disk's free space: all before anything is computed or written.
    """
    from ..datasets.synthetic import S2_BANDS, make_synthetic_scene
    from ..errors import ConfigError
    from ..outputs import check_destination

    out = Path(args.out)
    if out.suffix != ".zarr":
        raise ConfigError(f"--out must name a Zarr store ending in .zarr; got '{out}'. Try --out {out.stem}.zarr.")
    gpkg = out.with_suffix(".gpkg")
    height, width = args.size
    # The outputs are checked before the scene is even planned: a big one takes long to plan.
    per_pixel = args.dates * (len(S2_BANDS) * 4 + 1) + 8  # float32 bands, uint8 mask, the class map
    check_destination(out, kind="store", overwrite=args.overwrite, nbytes=per_pixel * height * width)
    check_destination(gpkg, kind="file", overwrite=args.overwrite)
    scene = make_synthetic_scene(height, width, dates=args.dates, n_classes=args.n_classes, chunks=args.chunks,
                                 cloud_cover=args.cloud_cover, random_state=args.seed)

    from tqdm.dask import TqdmCallback

    from ..io import atomic_paths, write_vector, write_zarr

    truth = scene.class_map.drop_vars("spatial_ref")
    truth.attrs["class_names"] = ", ".join(f"{code}={name}" for code, name in scene.class_names.items())
    nbytes = scene.cube.nbytes + scene.mask.nbytes + truth.nbytes  # uncompressed: an upper bound of the store
    with atomic_paths([out, gpkg], overwrite=args.overwrite, kind=["store", "file"], nbytes=nbytes) as (store, vec):
        with TqdmCallback(desc=f"labkit synth {out.name}", disable=not args.progress):
            write_zarr(scene.cube, store, mask=scene.mask, variables={"class_map": truth})
        write_vector(scene.polygons, vec, layer="polygons")
    time, band, y, x = scene.cube.shape
    print(f"labkit synth: wrote {out} ({time} dates x {band} bands x {y} x {x} px, {scene.cube.rio.crs}, "
          f"seed {args.seed}, cloud cover {args.cloud_cover:g}) and {len(scene.polygons)} "
          f"polygons of {len(scene.class_names)} classes to {gpkg}")
    return 0
