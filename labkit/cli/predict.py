"""``labkit predict MODEL CUBE --out DIR``: map a cube with a saved model, block by block, under a memory budget.

Loads a model saved by ``labkit train`` (:func:`labkit.models.load_model`), opens the cube lazily (a Zarr store
written by :func:`labkit.io.write_zarr`, with its validity mask when it holds one; or raster files, one date per
file, given as a glob pattern), checks it against the model's signature before any block runs, and writes the map
products of :func:`labkit.inference.predict_map` into DIR with :func:`labkit.inference.write_map`: ``class_map.tif``
(class names and colours in its metadata), ``confidence.tif``, ``uncertainty.tif``, ``valid_count.tif`` and, with
``--probabilities``, ``probabilities.tif``. When the store holds a mask and the model was fitted on other dates, the
cube is gap-filled on the fly onto them. Blocks are sized so that those in flight fit ``--memory``; a progress bar
runs over blocks; the files appear only when all are complete (an interrupted run leaves none half-written).

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit predict")
>>> configure(parser)
>>> args = parser.parse_args(["rf.zip", "cube.zarr", "--out", "map", "--memory", "2GB", "--probabilities"])
>>> args.memory, args.device, args.probabilities, args.format
('2GB', None, True, 'cog')

Output::

    rf.zip on cube.zarr: 1024 x 1024 px, 37 dates x 10 bands; blocks of 512 x 512 px under 2GB
    predict: 100%|██████████| 4/4 [00:41<00:00, 10.3s/block]
    1.05 Mpx in 41.2 s: 25.4 kpx/s (12.7 kpx/s per worker, 2 workers)
    map/class_map.tif
    ...
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ._options import int_in, memory_size

HELP = ("Map a cube with a saved model, block by block under a memory budget: class map, confidence, uncertainty, "
        "valid count, probabilities (COG or Zarr).")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit predict`` to ``parser``."""
    from ..params import DEFAULT_MEMORY

    parser.add_argument("model", type=Path, metavar="MODEL", help="a model saved by labkit train (save_model)")
    parser.add_argument("cube", metavar="CUBE",
                        help="a Zarr store (labkit.io.write_zarr), or a glob pattern of raster files, one per date")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder of the map products")
    parser.add_argument("--memory", type=memory_size, default=DEFAULT_MEMORY, metavar="SIZE",
                        help=f"budget of the blocks in flight, e.g. 2GB (default: {DEFAULT_MEMORY})")
    parser.add_argument("--workers", type=int_in(1), default=None, metavar="N",
                        help="blocks processed at once (default: the machine's cores)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where a deep model runs (default: where it was trained, else the CPU)")
    parser.add_argument("--probabilities", action="store_true",
                        help="also write the per-class probabilities (percent, one band per class)")
    parser.add_argument("--uncertainty", choices=("entropy", "margin"), default="entropy",
                        help="the uncertainty layer (default: entropy)")
    parser.add_argument("--gapfill", choices=("linear", "nearest", "whittaker", "none"), default="linear",
                        help="gap-filling onto the model's dates, when the cube has a mask and other dates "
                             "(default: linear)")
    parser.add_argument("--format", choices=("cog", "zarr"), default="cog",
                        help="Cloud-Optimized GeoTIFFs (default) or one Zarr store")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier products in DIR")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")


def _open_cube(source: str):
    """``(cube, mask or None)``, lazily: a Zarr store, or raster files (one date each) by a glob pattern."""
    from ..io import read_dates, read_zarr
    from ..outputs import is_zarr_store

    if is_zarr_store(source):
        return read_zarr(source, chunks={}, with_mask=True)
    return read_dates(source, chunks="auto"), None


def run(args: argparse.Namespace) -> int:
    """Predict, write the products, print a summary. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        A missing or damaged model or cube, a cube that does not fit the model, products that exist without
        ``--overwrite``, a memory budget too small for one block.
    """
    from ..inference import predict_map, write_map
    from ..models import load_model

    model = load_model(args.model)
    cube, mask = _open_cube(args.cube)
    products = predict_map(cube, model, mask=mask, gapfill=None if args.gapfill == "none" else args.gapfill,
                           probabilities=args.probabilities, uncertainty=args.uncertainty, memory=args.memory,
                           workers=args.workers, device=args.device)
    blocks = products["class_map"].chunks
    height, width = cube.sizes["y"], cube.sizes["x"]
    print(f"{args.model.name} on {Path(args.cube).name}: {height} x {width} px, {cube.sizes['time']} dates x "
          f"{cube.sizes['band']} bands; blocks of {max(blocks[0])} x {max(blocks[1])} px under {args.memory}")
    start = time.perf_counter()
    written = write_map(products, args.out, format=args.format, overwrite=args.overwrite,
                        probabilities="uint8" if args.probabilities else None, workers=args.workers,
                        progress=args.progress)
    took = max(time.perf_counter() - start, 1e-9)
    workers = args.workers or os.cpu_count() or 1
    rate = height * width / took / 1e3
    print(f"{height * width / 1e6:.2f} Mpx in {took:.1f} s: {rate:.1f} kpx/s ({rate / workers:.1f} kpx/s per "
          f"worker, {workers} workers)")
    for path in written.values():
        print(path)
    return 0
