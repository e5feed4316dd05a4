"""``labkit stac CATALOG --bbox W S E N --dates START/END --out cube.zarr``: Sentinel-2 L2A from a STAC API.

Searches a STAC API — ``earth-search``, ``planetary-computer`` (:data:`labkit.sources.stac.STAC_PRESETS`) or any
URL — for the items over an area (``--bbox`` in degrees, or the bounds of a vector file ``--area``) and dates, under
``--max-cloud`` percent of clouds (:func:`labkit.sources.search_stac`); ``--list`` prints them and stops. Otherwise
loads their bands as a cube of reflectance (0-1, harmonised across processing baselines) and the validity mask from
their SCL layer (:func:`labkit.sources.load_stac`), and writes both to a Zarr store (:func:`labkit.io.write_zarr`)
that ``labkit info``, ``labkit predict`` and :func:`labkit.io.read_zarr` read.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit stac")
>>> configure(parser)
>>> args = parser.parse_args(["earth-search", "--bbox", "11.3", "46.4", "11.4", "46.5", "--dates",
...                           "2022-06-01/2022-06-30", "--max-cloud", "30", "--bands", "B04", "nir", "--out", "c.zarr"])
>>> args.bbox, args.bands, args.resolution, args.list
([11.3, 46.4, 11.4, 46.5], ['B04', 'nir'], 10.0, False)

Output::

    earth-search: 5 items of sentinel-2-l2a, 2022-06-02..2022-06-27 (cloud cover <= 30 %)
    S2B_32TPS_20220602_0_L2A  2022-06-02 10:18  cloud 12.3 %
    ...
    cube: 5 dates x 2 bands (B04, B08) x 1117 x 776 px at 10 m, EPSG:32632 (34.7 MB); mask from SCL
    written: c.zarr
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._options import fraction, number_above, positive_int

HELP = ("Search a STAC API (earth-search, planetary-computer or a URL) for Sentinel-2 L2A items and load them as a "
        "cube of reflectance and its SCL validity mask in a Zarr store.")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit stac`` to ``parser``."""
    parser.add_argument("catalog", metavar="CATALOG",
                        help="earth-search, planetary-computer, or the URL of a STAC API")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bbox", type=number_above(), nargs=4, metavar=("W", "S", "E", "N"),
                       help="the area: west, south, east, north in degrees")
    where.add_argument("--area", type=Path, metavar="FILE",
                       help="the area: the bounds of a vector file's features (any CRS)")
    parser.add_argument("--dates", required=True, metavar="START/END",
                        help="e.g. 2022-06-01/2022-06-30 (both included), or 2022-06 for the whole month")
    parser.add_argument("--max-cloud", type=fraction(0, 100), default=None, metavar="PERCENT",
                        help="keep items with at most this cloud cover (eo:cloud_cover, 0-100)")
    parser.add_argument("--collection", default=None, metavar="ID",
                        help="default: the catalogue's Sentinel-2 L2A collection (sentinel-2-l2a)")
    parser.add_argument("--max-items", type=positive_int, default=None, metavar="N",
                        help="stop the search after N items (default: all)")
    parser.add_argument("--list", action="store_true", help="only list the items found (id, date, cloud cover)")
    parser.add_argument("--bands", nargs="+", default=["B02", "B03", "B04", "B08"], metavar="BAND",
                        help="Sentinel-2 names (B8A, B11) or common names (nir08, swir16); default: B02 B03 B04 B08")
    parser.add_argument("--resolution", type=number_above(0), default=10.0,
                        metavar="SIZE", help="pixel size in units of the CRS (default: 10)")
    parser.add_argument("--crs", default=None, metavar="CRS",
                        help="the cube's CRS, e.g. EPSG:32632 (default: the items' own)")
    parser.add_argument("--chunks", type=positive_int, default=512, metavar="PX",
                        help="blocks of PX x PX pixels, each with every date (default: 512)")
    parser.add_argument("--no-mask", dest="mask", action="store_false",
                        help="do not build the validity mask from the SCL layer")
    parser.add_argument("--out", type=Path, default=None, metavar="STORE", help="the Zarr store to write")
    parser.add_argument("--overwrite", action="store_true", help="replace STORE if it exists")


def run(args: argparse.Namespace) -> int:
    """Search, list or load and write, print a summary. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        Neither ``--out`` nor ``--list``; an unreachable catalogue or no item found; a band the items lack; STORE
        exists without ``--overwrite``.
    """
    from .. import params
    from ..errors import ConfigError
    from ..outputs import check_destination, format_bytes
    from ..sources.stac import describe_items, load_stac, search_stac

    if args.out is None and not args.list:
        raise ConfigError("give --out STORE (a Zarr store) to load the items, or --list to only list them.")
    params.number(args.resolution, "--resolution", "labkit stac", low=0, closed="neither")
    if args.out is not None and not args.list:
        check_destination(args.out, kind="store", overwrite=args.overwrite)  # before searching: fail fast
    area = {"bbox": args.bbox} if args.bbox is not None else {"area": args.area}
    items = search_stac(args.catalog, **area, dates=args.dates, max_cloud=args.max_cloud,
                        collection=args.collection, max_items=args.max_items)
    days = sorted({item.datetime.date() for item in items if item.datetime is not None})
    cloud = f" (cloud cover <= {args.max_cloud:g} %)" if args.max_cloud is not None else ""
    span = f"{days[0]}..{days[-1]}" if days else "no dates"
    print(f"{args.catalog}: {len(items)} items of {items[0].collection_id or 'the collection'}, {span}{cloud}")
    for line in describe_items(items):
        print(line)
    if args.list:
        return 0
    cube, mask = load_stac(items, bands=args.bands, resolution=args.resolution, crs=args.crs, chunks=args.chunks,
                           mask=args.mask, out=args.out, overwrite=args.overwrite)
    sizes = cube.sizes
    unit = "m" if cube.rio.crs.linear_units in ("metre", "meter") else "CRS units"
    print(f"cube: {sizes['time']} dates x {sizes['band']} bands ({', '.join(map(str, cube.band.values))}) x "
          f"{sizes['y']} x {sizes['x']} px at {args.resolution:g} {unit}, {cube.rio.crs} "
          f"({format_bytes(cube.nbytes)}){'; mask from SCL' if mask is not None else ''}")
    print(f"written: {args.out}")
    return 0
