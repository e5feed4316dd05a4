"""Build (or check) labkit's dataset registry: the SHA-256 and size of every file of every public dataset.

    python data-fetch/build_registry.py --mirror ../shared/data/mirror/github     # rewrite from a mirror
    python data-fetch/build_registry.py --origin                                  # rewrite from the origin
    python data-fetch/build_registry.py --check [--mirror DIR | --origin]         # report differences, exit 1

It rewrites ``labkit/datasets/registry.txt`` (``OWNER/REPO/COMMIT/PATH sha256:...``, pooch's registry format) and
``labkit/datasets/sizes.txt`` (``OWNER/REPO/COMMIT/PATH BYTES``). The files are those of each dataset's ``paths``
(``labkit.datasets.remote.DATASETS``: add a dataset there first); a folder stands for the files under it in the
mirror or, with ``--origin``, for those the registry already lists under it (an origin folder may hold more than
labkit uses: eo-learn's TestEOPatch also has a raw bands file too large to mirror). Without ``--mirror`` nor
``--origin`` the mirror is ``$LABKIT_DATA_MIRROR``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pooch

from labkit.datasets import remote
from labkit.errors import DatasetError
from labkit.outputs import atomic_path

PACKAGE = Path(remote.__file__).parent
HEADERS = {
    "registry.txt": "# SHA-256 of every file of labkit's public datasets (labkit/datasets/remote.py), in pooch's "
                    "registry format.\n# Written by data-fetch/build_registry.py: do not edit by hand.\n",
    "sizes.txt": "# Size in bytes of every file of labkit's public datasets (labkit/datasets/remote.py).\n"
                 "# Written by data-fetch/build_registry.py: do not edit by hand.\n",
}


def dataset_files(folder: Path | None) -> list[str]:
    """Every ``OWNER/REPO/COMMIT/PATH`` of every dataset: folders expanded from ``folder`` (a mirror), or from the
    current registry when ``folder`` is None."""
    known = remote.registry()
    files = set()
    for name, spec in remote.DATASETS.items():
        for path in spec.paths:
            prefix = f"{spec.root}/{path.strip('/')}"
            if folder is None:
                found = [n for n in known if n == prefix or n.startswith(prefix + "/")] or [prefix]
            elif (folder / prefix).is_dir():
                found = [p.relative_to(folder).as_posix() for p in (folder / prefix).rglob("*") if p.is_file()]
            else:
                found = [prefix]
            if not found:
                raise DatasetError(f"{name}: the folder {prefix} holds no file in the mirror {folder}.")
            files.update(found)
    return sorted(files)


def _measure(path: Path) -> tuple[str, int]:
    return "sha256:" + pooch.file_hash(path), path.stat().st_size


def measure_mirror(folder: Path, files: list[str]) -> dict[str, tuple[str, int]]:
    """``{file: (checksum, bytes)}`` of files of a mirror folder."""
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} file(s) missing from the mirror {folder}, e.g. {missing[0]}.")
    return {f: _measure(folder / f) for f in files}


def measure_origin(base: str, files: list[str]) -> dict[str, tuple[str, int]]:
    """``{file: (checksum, bytes)}`` of files downloaded from ``base`` (the origin or a mirror's URL)."""
    found = {}
    with tempfile.TemporaryDirectory() as scratch:
        for number, name in enumerate(files, 1):
            print(f"[{number}/{len(files)}] {name}", file=sys.stderr)
            path = pooch.retrieve(f"{base}/{name}", known_hash=None, path=scratch, fname=str(number),
                                  progressbar=False)
            found[name] = _measure(Path(path))
            Path(path).unlink()
    return found


def differences(found: dict[str, tuple[str, int]]) -> list[str]:
    """What differs between ``found`` and the registry and sizes in the package, one line per file."""
    known, sizes = remote.registry(), remote.file_sizes()
    lines = []
    for name in sorted(set(found) | set(known) | set(sizes)):
        if name not in found:
            lines.append(f"no longer a dataset file: {name}")
        elif name not in known or name not in sizes:
            lines.append(f"not registered: {name} ({found[name][1]} bytes)")
        elif (known[name], sizes[name]) != found[name]:
            lines.append(f"differs: {name}: registry {known[name]} ({sizes[name]} bytes), now {found[name][0]} "
                         f"({found[name][1]} bytes)")
    return lines


def write(found: dict[str, tuple[str, int]], package: Path = PACKAGE) -> None:
    """Rewrite ``registry.txt`` and ``sizes.txt`` (atomically)."""
    columns = {"registry.txt": 0, "sizes.txt": 1}
    for file, column in columns.items():
        body = "".join(f"{name} {found[name][column]}\n" for name in sorted(found))
        with atomic_path(package / file, overwrite=True) as tmp:
            tmp.write_text(HEADERS[file] + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--mirror", default=None, metavar="DIR_OR_URL",
                        help="a mirror folder (or URL) laid out like raw.githubusercontent.com; default: "
                             f"${remote.MIRROR_VARIABLE}")
    source.add_argument("--origin", action="store_true", help="download every file from its origin (GitHub)")
    parser.add_argument("--check", action="store_true",
                        help="only report the files whose checksum or size differ from the registry (exit 1 if any)")
    args = parser.parse_args(argv)
    try:
        base = remote.ORIGIN_URL if args.origin else remote.source_url(args.mirror)
        folder = remote.mirror_folder(base) if not args.origin else None
        if base == remote.ORIGIN_URL and not args.origin:
            parser.error(f"give --mirror DIR, set {remote.MIRROR_VARIABLE}, or pass --origin")
        files = dataset_files(folder)
        found = measure_mirror(folder, files) if folder is not None else measure_origin(base, files)
    except DatasetError as error:
        print(f"build_registry: error: {error}", file=sys.stderr)
        return 2
    changes = differences(found)
    for line in changes:
        print(line)
    if args.check:
        print(f"{len(found)} files checked against {base}: {len(changes) or 'no'} difference(s).")
        return 1 if changes else 0
    write(found)
    print(f"Wrote {PACKAGE / 'registry.txt'} and sizes.txt: {len(found)} files, {len(changes)} change(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
