"""``labkit fetch NAME``: fetch a public dataset and write it in labkit's formats, with its licence.

``labkit fetch --list`` lists the datasets: name, licence, size of the files fetched, what it gives (a cube, sample
sets, reference layers, or raw files: the super-resolution sets, whose bands have several resolutions) and what it
is. ``labkit fetch NAME`` downloads the dataset's files from their origin on GitHub (or copies them from a mirror:
``--mirror DIR``, or ``$LABKIT_DATA_MIRROR``), checks every file against its pinned SHA-256, keeps them in the
cache (``--cache DIR``, ``$LABKIT_CACHE``, else the user's cache folder), and writes ``DEST/NAME/`` (``--dest``,
default ``./labkit-data``) with :func:`labkit.datasets.fetch_dataset`: a Zarr cube with its validity mask, NetCDF
sample sets, GeoPackage reference layers, the licence and a README. It prints the README: the origin and its commit,
the licence, each file and what it is. A progress bar goes to stderr (``--no-progress`` hides it).

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit fetch")
>>> configure(parser)
>>> args = parser.parse_args(["s2-bolzano", "--mirror", "../shared/data/mirror"])
>>> args.name, str(args.dest), args.mirror, args.overwrite
('s2-bolzano', 'labkit-data', '../shared/data/mirror', False)

Output of ``labkit fetch --list`` (cut short)::

    name                    licence      size       kind       description
    bigearthnet-s2          Apache-2.0   1.7 MiB    raw files  11 BigEarthNet Sentinel-2 L2A patches, ...
    dl4sits-victoria        GPL-3.0      3.7 MiB    samples    labelled Sentinel-2 pixel series, Victoria ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Fetch a public dataset (or --list them) and write it as labkit files: Zarr cube, NetCDF samples, GeoPackage."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit fetch`` to ``parser``."""
    parser.add_argument("name", nargs="?", default=None, metavar="NAME",
                        help="the dataset (labkit fetch --list names them)")
    parser.add_argument("--list", action="store_true", help="list the datasets and exit")
    parser.add_argument("--dest", type=Path, default=Path("labkit-data"), metavar="DIR",
                        help="the folder that receives the dataset's folder NAME (default: ./labkit-data)")
    parser.add_argument("--mirror", default=None, metavar="DIR",
                        help="copy the files from a mirror instead of downloading them from GitHub: a folder laid out "
                             "like raw.githubusercontent.com (OWNER/REPO/COMMIT/PATH), or its URL (default: "
                             "$LABKIT_DATA_MIRROR, else the origin)")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="where fetched files are kept (default: $LABKIT_CACHE, else the user's cache folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace DEST/NAME if it exists")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bar (shown on stderr)")


def listing() -> str:
    """The table of ``labkit fetch --list``: one line per dataset.

    Example
    -------
    >>> print(listing().splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    name licence size kind description
    """
    from ..datasets import list_datasets
    from ..outputs import format_bytes

    rows = [("name", "licence", "size", "kind", "description")]
    rows += [(name, row["licence"], format_bytes(row["size"]), row["gives"], row["description"])
             for name, row in list_datasets().iterrows()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4]
                     for row in rows)


def run(args: argparse.Namespace) -> int:
    """List the datasets, or fetch one, write it and print its README. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        No NAME nor --list, an unknown name (with the closest names), a file that cannot be fetched or fails its
        checksum, an existing DEST/NAME without --overwrite (printed as one line by ``labkit``, exit code 2).
    """
    from ..datasets import fetch_dataset
    from ..datasets.remote import find_dataset, source_url
    from ..errors import ConfigError

    if args.list:
        print(listing())
        return 0
    if args.name is None:
        raise ConfigError("give a dataset NAME, or --list to see them.")
    find_dataset(args.name)  # an unknown name is refused before anything else
    files = fetch_dataset(args.name, args.dest, mirror=args.mirror, cache_dir=args.cache, overwrite=args.overwrite,
                          progress=args.progress)
    print(f"Fetched {args.name} from {source_url(args.mirror)} into {args.dest / args.name}\n")
    print(files["README.txt"].read_text(encoding="utf-8"), end="")
    return 0
