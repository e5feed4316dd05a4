"""Writing outputs: the one discipline that every writer of labkit follows.

A mapping run takes hours; what it writes must never destroy what was there, and must never look complete when it
is not. Every writer of labkit (rasters, COGs, Zarr stores, GeoPackages, JSON, reports, the demo's folder) goes
through :func:`atomic_paths` (or :func:`atomic_files` for a set of files whose names are known only while writing),
which guarantees:

* **checked before computing**: :func:`check_destination` refuses, before any work starts, an output that exists
  (unless ``overwrite``), an output of the wrong kind (a folder where a file goes, a file where a store goes, a
  folder that is not a Zarr store where a store goes), a parent that is a file, a folder that cannot be written,
  and (given the expected size) a disk that cannot hold the output (:func:`check_free_space`);
* **no folder deleted to write a file**: a file replaces only a file; a store replaces only a store;
* **atomic**: everything is written under a hidden temporary name next to its target
  (``.NAME.labkit-HOST-PID-RANDOM.tmp.EXT``) and renamed into place when complete (:func:`os.replace`);
* **interrupts**: SIGTERM and SIGHUP are turned into :class:`Interrupted` (a :class:`KeyboardInterrupt`) while a
  write runs, so they clean up as Ctrl-C does; dask computations started inside the block run on a thread pool of
  their own, which is shut down (its threads finished) *before* the temporaries are removed, so no writer thread
  recreates a file after the clean-up;
* **stale temporaries** (left by a process killed with SIGKILL, or a power cut) are found by name on the next write
  of the same target: removed when their process is gone, reported when it still runs
  (:func:`clear_stale_temporaries`); readers refuse a temporary (:func:`refuse_temporary`).

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_paths([folder / "a.txt", folder / "b.txt"]) as (tmp_a, tmp_b):
...     _ = tmp_a.write_text("a"), tmp_b.write_text("b")
>>> sorted(p.name for p in folder.iterdir())
['a.txt', 'b.txt']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import ConfigError, LabkitError, OutputError, OutputExistsError, ReadError

__all__ = [
    "Interrupted",
    "atomic_files",
    "atomic_path",
    "atomic_paths",
    "check_destination",
    "check_files",
    "check_free_space",
    "clear_stale_temporaries",
    "format_bytes",
    "is_own_output",
    "is_temporary",
    "refuse_temporary",
    "signals_as_interrupts",
]

KINDS = ("file", "store", "folder")
"""What an output is: a ``file``, a ``store`` (a folder written as one whole, such as a Zarr store) or a
``folder`` (a place that receives files and is never replaced itself)."""

FREE_SPACE_MARGIN = 64 * 2**20
"""Bytes kept free on the disk beyond an output's estimated size."""

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24] or "host"
_TEMP = re.compile(r"^\.(?P<name>.+)\.labkit-(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)-[0-9a-f]{8}\.(?P<tag>tmp|old)(\.\w+)?$")


class Interrupted(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP while labkit was writing (handled as Ctrl-C: temporaries removed)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --------------------------------------------------------------------------------------------------- naming


def format_bytes(n: float) -> str:
    """A size for people: ``1.5 GiB``.

    Example
    -------
    >>> format_bytes(3 * 2**30 // 2), format_bytes(999)
    ('1.5 GiB', '999 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _temporary(target: Path, tag: str = "tmp") -> Path:
    """A hidden sibling of ``target`` named after it, this host and process; it keeps the target's extension (GDAL
    chooses some formats by extension)."""
    name = f".{target.name}.labkit-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}.{tag}{target.suffix}"
    return target.with_name(name)


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as a temporary of a labkit writer (an output not yet complete).

    Example
    -------
    >>> is_temporary(".scene.zarr.labkit-node1-4242-0123abcd.tmp"), is_temporary("scene.zarr")
    (True, False)
    """
    return _TEMP.match(Path(path).name.rstrip("/")) is not None


def refuse_temporary(path: str | os.PathLike) -> None:
    """Raise :class:`~labkit.errors.ReadError` if ``path`` is a labkit temporary (readers call it first).

    Example
    -------
    >>> refuse_temporary(".map.tif.labkit-node1-4242-0123abcd.tmp")
    Traceback (most recent call last):
    ...
    labkit.errors.ReadError: .map.tif.labkit-node1-4242-0123abcd.tmp is an incomplete output: a temporary of a labkit writer (process 4242 on node1), not a finished file. Read 'map.tif' instead; if that process was interrupted, delete this temporary.
    """
    match = _TEMP.match(Path(path).name.rstrip("/"))
    if match:
        raise ReadError(f"{path} is an incomplete output: a temporary of a labkit writer (process {match['pid']} on "
                        f"{match['host']}), not a finished file. Read '{match['name']}' instead; if that process "
                        f"was interrupted, delete this temporary.")


def _own_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary that this process named (see :func:`is_temporary`)."""
    match = _TEMP.match(path.name)
    return bool(match) and match["host"] == _HOST and int(match["pid"]) == os.getpid()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _remove_settled(path: Path, attempts: int = 20) -> None:
    """Remove ``path`` and make sure it stays removed: an I/O task that a library (zarr's event loop) started for
    an interrupted call may still create a file in it for a moment."""
    import time

    for _ in range(attempts):
        _remove(path)
        time.sleep(0.01)
        if not (path.exists() or path.is_symlink()):
            return


def clear_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that interrupted writes of ``target`` left next to it; return those removed.

    A temporary is stale when the process that made it (named in the temporary's name) no longer runs on this
    host. The temporaries of a process that still runs, or of another host, are left in place with a warning. A
    previous version set aside by a replacement that was killed half-way (``.NAME.labkit-...old``) is moved back
    when the target is missing, never deleted.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> orphan = folder / ".map.tif.labkit-{}-999999999-0123abcd.tmp".format(_HOST)
    >>> _ = orphan.write_text("half a map")
    >>> with warnings.catch_warnings(record=True) as said:
    ...     removed = clear_stale_temporaries(folder / "map.tif")
    >>> [p.name for p in removed] == [orphan.name], "left by an interrupted write" in str(said[0].message)
    (True, True)
    """
    target = Path(target)
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    prefix = f".{target.name}.labkit-"
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            if not entry.name.startswith(prefix) or not (match := _TEMP.match(entry.name)):
                continue
            if match["name"] != target.name:
                continue
            pid, host = int(match["pid"]), match["host"]
            if host == _HOST and pid != os.getpid() and not _process_alive(pid):
                if match["tag"] == "old" and not (target.exists() or target.is_symlink()):
                    os.replace(entry, target)  # killed between the two renames of a replacement: the old one is back
                    warnings.warn(f"labkit: restored {target} from {entry.name}, left by an interrupted replacement "
                                  f"(process {pid}).", stacklevel=3)
                    continue
                _remove(entry)
                removed.append(entry)
                warnings.warn(f"labkit: removed {entry}, left by an interrupted write of {target} (process {pid}).",
                              stacklevel=3)
            elif host != _HOST or pid != os.getpid():
                warnings.warn(f"labkit: {entry} is being written by process {pid} on {host}, or was left there by "
                              f"it; it was left in place. Delete it if no labkit run writes {target}.", stacklevel=3)
    return removed


# ------------------------------------------------------------------------------------------------ destinations


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path.cwd()  # pragma: no cover  (the root always exists)


def is_zarr_store(path: str | os.PathLike) -> bool:
    """Whether the folder ``path`` holds a Zarr store (format 2 or 3 metadata at its root).

    Example
    -------
    >>> import tempfile
    >>> is_zarr_store(tempfile.mkdtemp())
    False
    """
    path = Path(path)
    return any((path / name).is_file() for name in (".zgroup", ".zarray", "zarr.json", ".zmetadata"))


def _probe_writable(folder: Path, target: Path) -> None:
    """Create and delete a file in ``folder``: the only test that also holds for root and read-only mounts."""
    try:
        fd, name = tempfile.mkstemp(prefix=".labkit-probe-", dir=folder)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputError(f"Cannot write {target}: the folder {folder} is not writable ({reason}). Choose another "
                          "output path, or change the folder's permissions.") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def check_destination(path: str | os.PathLike, *, kind: str = "file", overwrite: bool = False,
                      nbytes: int | None = None) -> Path:
    """Check, before any work, that ``path`` can receive an output of ``kind``; return it as a Path.

    Parameters
    ----------
    path : path
        The output.
    kind : {"file", "store", "folder"}
        A file; a store (a folder written as one whole, replaced only by another store); or a folder that receives
        files (it may exist and is never replaced).
    overwrite : bool, default False
        Whether an existing file or store may be replaced.
    nbytes : int, optional
        The output's expected size: refuse when the disk has less free space (:func:`check_free_space`).

    Raises
    ------
    labkit.errors.OutputExistsError
        The output exists and ``overwrite`` is False.
    labkit.errors.OutputError
        The output exists but is of another kind (a folder where a file goes...), a parent is a file, the folder
        cannot be written, or the disk is too small.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_destination(folder / "new" / "map.tif").name
    'map.tif'
    >>> check_destination(folder, overwrite=True)
    Traceback (most recent call last):
    ...
    labkit.errors.OutputError: ... is a folder: labkit never deletes a folder to write a file. Give a file name (e.g. .../NAME).
    """
    if kind not in KINDS:
        raise ConfigError(f"check_destination: kind must be one of {KINDS}; got {kind!r}.")
    path = Path(path)
    if str(path) in ("", "."):
        raise OutputError("An output path is empty; give a file or folder name.")
    exists = path.exists() or path.is_symlink()
    if exists and kind == "folder":
        if not path.is_dir():
            raise OutputError(f"{path} is a file, not a folder: outputs go into a folder. Choose another path; "
                              "labkit never replaces a file with a folder.")
    elif exists:
        if kind == "file" and path.is_dir():
            raise OutputError(f"{path} is a folder: labkit never deletes a folder to write a file. Give a file name "
                              f"(e.g. {path}/NAME).")
        if kind == "store" and not path.is_dir():
            raise OutputError(f"{path} is a file, not a store: labkit never replaces a file with a folder. Choose "
                              "another path.")
        if kind == "store" and any(path.iterdir()) and not is_zarr_store(path):
            raise OutputError(f"{path} is a folder that is not a Zarr store: labkit replaces only a store it wrote. "
                              "Choose another path, or empty the folder yourself.")
        if not overwrite:
            raise OutputExistsError(f"{path} already exists. Pass overwrite=True (--overwrite) to replace it, or "
                                    "choose another path.")
    ancestor = _nearest_existing(path.parent if not (exists and kind == "folder") else path)
    if not ancestor.is_dir():
        raise OutputError(f"Cannot write {path}: {ancestor} is a file, not a folder.")
    _probe_writable(ancestor, path)
    if nbytes is not None:
        check_free_space(path, nbytes)
    return path


def check_free_space(path: str | os.PathLike, nbytes: int) -> None:
    """Refuse to write ``nbytes`` to ``path`` when its disk has less free space (plus a small margin).

    Example
    -------
    >>> import tempfile
    >>> check_free_space(tempfile.mkdtemp() + "/cube.zarr", 2**60)
    Traceback (most recent call last):
    ...
    labkit.errors.OutputError: Cannot write .../cube.zarr: it needs about 1024.0 PiB (estimated, uncompressed) but the disk holding ... has ... free. Write a smaller output, or to a larger disk.
    """
    folder = _nearest_existing(Path(path).parent)
    free = shutil.disk_usage(folder).free
    if nbytes + FREE_SPACE_MARGIN > free:
        raise OutputError(f"Cannot write {path}: it needs about {format_bytes(nbytes)} (estimated, uncompressed) but "
                          f"the disk holding {folder} has {format_bytes(free)} free. Write a smaller output, or to a "
                          "larger disk.")


# --------------------------------------------------------------------------------------------------- interrupts


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM and SIGHUP raise :class:`Interrupted` (as Ctrl-C does).

    Handlers set by someone else (a scheduler, a notebook kernel) are kept; nested uses are harmless.

    Example
    -------
    >>> import os, signal
    >>> with signals_as_interrupts():
    ...     try:
    ...         os.kill(os.getpid(), signal.SIGTERM)
    ...     except Interrupted as stop:
    ...         print("stopped by", stop.args[0])
    stopped by SIGTERM
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            current = signal.getsignal(signum)
            if current in (signal.SIG_DFL, None) or getattr(current, "_labkit", False):
                handler._labkit = True  # type: ignore[attr-defined]
                previous[signum] = current
                signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, current in previous.items():
            signal.signal(signum, current)


@contextlib.contextmanager
def _own_dask_pool() -> Iterator[ThreadPoolExecutor | None]:
    """Run dask's threaded computations of the block on a pool of its own, shut down (threads joined) at the end.

    Nothing changes when dask is not imported or another scheduler (distributed, synchronous) is in use.
    """
    import sys

    if "dask" not in sys.modules:
        yield None
        return
    import dask
    import dask.threaded
    from dask.base import get_scheduler

    if get_scheduler() not in (None, dask.threaded.get) or dask.config.get("pool", None) is not None:
        yield None
        return
    pool = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="labkit-writer")
    try:
        with dask.config.set(pool=pool):
            yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # the writer threads have stopped when this returns


# ---------------------------------------------------------------------------------------------- atomic writes


def _move_into_place(tmp: Path, target: Path) -> None:
    """``os.replace``; a store replacing a store moves the old one aside first, then deletes it."""
    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
        old = _temporary(target, "old")
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old, target)
            raise
        _remove(old)
    else:
        os.replace(tmp, target)


def _kinds(paths: Sequence[Path], kind) -> list[str]:
    if isinstance(kind, str):
        return [kind] * len(paths)
    kinds = list(kind)
    if len(kinds) != len(paths):
        raise ConfigError(f"atomic_paths: {len(paths)} paths but {len(kinds)} kinds.")
    return kinds


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike], *, overwrite: bool = False, kind: str | Sequence[str] = "file",
                 nbytes: int | None = None) -> Iterator[list[Path]]:
    """Write several outputs all-or-nothing: yield temporary paths, move them onto ``paths`` on success.

    Each temporary path lies next to its target (same folder, so the final rename is atomic) and is hidden
    (``.NAME.labkit-HOST-PID-RANDOM.tmp.EXT``). Before the block runs, each target is checked
    (:func:`check_destination`) and the stale temporaries of earlier interrupted writes are removed. If the block
    raises, or the process receives SIGINT, SIGTERM or SIGHUP, the block's dask threads are stopped, every temporary
    is deleted, as are the folders this call created, and the targets are left as they were. Only the final
    renames, one per target, are not all-or-nothing as a group.

    Parameters
    ----------
    paths : sequence of path
        The outputs.
    overwrite : bool, default False
        Replace outputs that exist (a file only by a file, a store only by a store).
    kind : "file" or "store", or one per path
        What each output is (see :data:`KINDS`).
    nbytes : int, optional
        Expected size of all the outputs together: refused before writing when the disk cannot hold it.

    Yields
    ------
    list of pathlib.Path
        One temporary path per target, not yet existing: write there.

    Raises
    ------
    labkit.errors.OutputExistsError
        An output exists and ``overwrite`` is False.
    labkit.errors.OutputError
        An output is of another kind, cannot be written, or does not fit on the disk.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_paths([folder / "a.txt"]) as (tmp,):
    ...     _ = tmp.write_text("a")
    >>> with atomic_paths([folder / "a.txt"]) as (tmp,):
    ...     pass
    Traceback (most recent call last):
    ...
    labkit.errors.OutputExistsError: .../a.txt already exists. Pass overwrite=True (--overwrite) to replace it, or choose another path.
    """
    targets = [Path(p) for p in paths]
    kinds = _kinds(targets, kind)
    names = [str(t.resolve()) for t in targets]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"Two outputs would have the same path: {dupes[0]}.")
    for target in targets:
        clear_stale_temporaries(target)
    for target, what in zip(targets, kinds):
        if what == "folder":
            raise ConfigError("atomic_paths writes files and stores; for a folder of files use atomic_files.")
        check_destination(target, kind=what, overwrite=overwrite)
    if nbytes is not None and targets:
        check_free_space(targets[0], nbytes)
    created: list[Path] = []
    # A target that is already a temporary of this process (a writer called by another writer) is written in place.
    temps = [t if _own_temporary(t) else _temporary(t) for t in targets]
    with signals_as_interrupts():
        try:
            for parent in sorted({t.parent for t in targets}):
                for folder in reversed([p for p in (parent, *parent.parents) if not p.exists()]):
                    folder.mkdir()
                    created.append(folder)
            with _own_dask_pool():
                yield temps
            for tmp, target, what in zip(temps, targets, kinds):  # again: one may have appeared meanwhile
                if tmp != target:
                    check_destination(target, kind=what, overwrite=overwrite)
            for tmp, target in zip(temps, targets):
                if not (tmp.exists() or tmp.is_symlink()):
                    raise LabkitError(f"The writer of {target} wrote nothing (no file at its temporary path).")
                if tmp != target:
                    _move_into_place(tmp, target)
        except BaseException:
            for tmp in temps:
                _remove_settled(tmp)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False, kind: str = "file",
                nbytes: int | None = None) -> Iterator[Path]:
    """Write one output atomically: :func:`atomic_paths` for a single path.

    Example
    -------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    with atomic_paths([path], overwrite=overwrite, kind=kind, nbytes=nbytes) as (tmp,):
        yield tmp


MANIFEST = ".labkit-outputs.json"
"""The file in which :func:`atomic_files` records the files it wrote into a folder, with their SHA-256."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    """``{file name: sha256}`` of the files labkit wrote into ``folder`` (empty when unknown or unreadable)."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def is_own_output(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that :func:`atomic_files` wrote and nobody changed since (same SHA-256).

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_files(folder) as staging:
    ...     _ = (staging / "report.md").write_text("# report")
    >>> is_own_output(folder / "report.md")
    True
    >>> _ = (folder / "report.md").write_text("# my own notes")
    >>> is_own_output(folder / "report.md")
    False
    """
    path = Path(path)
    known = _manifest(path.parent).get(path.name)
    return known is not None and path.is_file() and _sha256(path) == known


def _check_replaceable(path: Path, overwrite: bool) -> None:
    """Refuse to replace ``path`` unless it is absent, ``overwrite`` is true, or it is an unchanged own output."""
    if not (path.exists() or path.is_symlink()):
        return
    check_destination(path, kind="file", overwrite=True)  # a folder is never replaced by a file
    if not overwrite and not is_own_output(path):
        raise OutputExistsError(f"{path} already exists and is not an unchanged output of labkit (it is yours, or "
                                "it was changed since labkit wrote it). Pass overwrite=True (--overwrite) to replace "
                                "it, or choose another folder.")


def check_files(folder: str | os.PathLike, names: Sequence[str], *, overwrite: bool = False) -> Path:
    """Check, before any work, that :func:`atomic_files` can write files ``names`` into ``folder``; return it.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "report.md").write_text("my notes")
    >>> check_files(folder, ["report.md"])
    Traceback (most recent call last):
    ...
    labkit.errors.OutputExistsError: .../report.md already exists and is not an unchanged output of labkit (it is yours, or it was changed since labkit wrote it). Pass overwrite=True (--overwrite) to replace it, or choose another folder.
    """
    folder = check_destination(folder, kind="folder")
    clear_stale_temporaries(folder / ".files")
    for name in names:
        if Path(name).name != name or name in ("", ".", ".."):
            raise ConfigError(f"{name!r} is not a plain file name: the outputs of a folder stay in it.")
        _check_replaceable(folder / name, overwrite)
    return folder


@contextlib.contextmanager
def atomic_files(folder: str | os.PathLike, *, overwrite: bool = False, expected: Sequence[str] = (),
                 stale: Sequence[str] = ()) -> Iterator[Path]:
    """Write a set of files into ``folder`` all-or-nothing, when their names are known only while writing.

    Yields a hidden staging folder next to ``folder``'s files; what the block writes there is moved into
    ``folder`` when the block succeeds (files only, one level). ``folder`` itself is created if needed and never
    replaced or emptied. The files written are recorded with their SHA-256 in ``folder/.labkit-outputs.json``
    (:data:`MANIFEST`), so that the next run replaces (or removes, when listed in ``stale``) only labkit's own
    files that nobody changed since (:func:`is_own_output`); a file of the user's, or one changed since, is only
    replaced with ``overwrite=True``, and never removed.

    Parameters
    ----------
    folder : path
        Where the files go.
    overwrite : bool, default False
        Replace files of the same names even when they are not unchanged outputs of labkit.
    expected : sequence of str
        Names of files the block will write, checked before it runs (e.g. ``["report.md"]``).
    stale : sequence of str
        Names of files of an earlier run that this one no longer writes: removed if they are unchanged outputs of
        labkit, left (with a warning) otherwise.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "mine.txt").write_text("kept")
    >>> for run in range(2):  # the second run replaces the first's files, and nothing else
    ...     with atomic_files(folder, expected=["report.md"]) as staging:
    ...         _ = (staging / "report.md").write_text("# report")
    ...         _ = (staging / "figure.png").write_bytes(b"png")
    >>> sorted(p.name for p in folder.iterdir())
    ['.labkit-outputs.json', 'figure.png', 'mine.txt', 'report.md']
    """
    folder = check_files(folder, expected, overwrite=overwrite)
    staging = _temporary(folder / ".files")
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    with signals_as_interrupts():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
            yield staging
            written = sorted(p for p in staging.iterdir() if not p.name.startswith("."))
            for extra in [p for p in written if p.is_dir()]:
                raise ConfigError(f"atomic_files moves files only; {extra.name} is a folder.")
            for source in written:
                _check_replaceable(folder / source.name, overwrite)
            hashes = {p.name: _sha256(p) for p in written}
            with atomic_paths([folder / p.name for p in written], overwrite=True) as temps:
                for source, tmp in zip(written, temps):
                    os.replace(source, tmp)
        except BaseException:
            _remove(staging)
            for made in sorted(created, key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    made.rmdir()
            raise
        _remove(staging)
        _record(folder, hashes, stale)


def _record(folder: Path, written: dict[str, str], stale: Sequence[str]) -> None:
    """Remove the unchanged stale outputs, then record what the folder holds of labkit's in its manifest."""
    for name in stale:
        path = folder / name
        if name in written or not path.exists():
            continue
        if is_own_output(path):
            path.unlink()
        else:
            warnings.warn(f"labkit: {path} is no longer an output, but it is yours or was changed: left in place.",
                          stacklevel=4)
    known = {name: digest for name, digest in _manifest(folder).items() if (folder / name).is_file()}
    known.update(written)  # a file changed since keeps its old digest: it no longer counts as labkit's
    with atomic_path(folder / MANIFEST, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"written_by": "labkit", "files": dict(sorted(known.items()))}, indent=1) + "\n",
                       encoding="utf-8")
