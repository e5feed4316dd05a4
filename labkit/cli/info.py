"""``labkit info PATH...``: say what a raster, a Zarr store, a NetCDF file or a vector file holds.

For each path, prints what :func:`labkit.io.describe` reads: its kind; for a raster or a cube (a Zarr store in
labkit's layout or another one, such as openEO's; a NetCDF cube), its size, dates, bands, CRS, resolution, extent
(in the CRS and in longitude/latitude) and, when the data is small, the share of missing values; for a sample set
(NetCDF or Zarr), its samples, classes, dates and bands; for a vector file (GeoPackage, GeoJSON, Shapefile,
FlatGeobuf, CSV with longitude/latitude columns...), its layers, features, geometry type, CRS, extent, fields and the
features of each class. ``--json`` prints one JSON object per path instead.

Example
-------
>>> import argparse, tempfile, numpy as np, labkit.datamodel as dm, labkit.io
>>> s = dm.make_samples(np.ones((2, 1, 1)), [1, 2], [0, 1], bands=["NDVI"])
>>> path = labkit.io.write_samples(s, tempfile.mkdtemp() + "/s.nc")
>>> parser = argparse.ArgumentParser(prog="labkit info")
>>> configure(parser)
>>> run(parser.parse_args([str(path), "--json"]))  # doctest: +ELLIPSIS
{"path": "...s.nc", "kind": "sample set (NetCDF)", "samples": 2, "dates": "1 time steps (no dates)", ...}
0

Without ``--json``, the same as aligned lines::

    /tmp/.../s.nc
              kind  sample set (NetCDF)
           samples  2
             dates  1 time steps (no dates)
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = ("Describe a raster, a Zarr store (a cube, labkit's or another layout, or a sample set), a NetCDF file or a "
        "vector file: kind, size, dates, bands, CRS, extent, fields, classes.")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit info``.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> configure(parser)
    >>> parser.parse_args(["a.tif", "--json"]).json
    True
    """
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a raster (GeoTIFF, JPEG 2000...), a Zarr store, a NetCDF file or a vector file "
                             "(GeoPackage, GeoJSON, Shapefile, FlatGeobuf, CSV with longitude/latitude columns)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per path")


def _format(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Describe each path; return 0, or 2 if some path could not be described (reported on stderr).

    Example
    -------
    >>> import argparse
    >>> run(argparse.Namespace(paths=["no/such/file.tif"], json=False))  # the error goes to stderr
    2
    """
    from ..errors import LabkitError
    from ..io import describe

    status = 0
    for path in args.paths:
        try:
            info = describe(path)
        except LabkitError as error:
            print(f"labkit info: error: {error}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps({"path": str(path), **info}, default=str))
            continue
        print(path)
        width = max(len(key) for key in info)
        for key, value in info.items():
            print(f"  {key:>{max(width, 12)}}  {_format(value)}")
    return status
