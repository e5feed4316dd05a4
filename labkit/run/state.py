"""What a run has done, so that a rerun does only the rest: one record per finished task, with checksums.

A task writes its one output (a file or a folder) under a temporary name next to it and renames it into place when
complete (:func:`staged`); then a record is written, atomically too, in ``OUTPUTS/.labkit-run/done/``: the task's
fingerprint (a hash of the config it read and of the records of the tasks it read from), and the size, time and
SHA-256 of every file of its output. A task is done when its record exists, its fingerprint is today's, and its
files are the recorded ones (by size and time, or else by checksum): a rerun skips it. A task killed before its
record is written has left at most a temporary, removed when it runs again.

Example
-------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> state = RunState(folder)
>>> with staged(folder / "a.txt") as tmp:
...     _ = tmp.write_text("a")
>>> _ = state.record("samples/A", "samples", "f1", folder / "a.txt", {"duration_s": 1.0})
>>> state.is_done("samples/A", "f1"), state.is_done("samples/A", "f2")
(True, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..outputs import _move_into_place, _sha256, _temporary, clear_stale_temporaries

__all__ = ["RunState", "fingerprint", "staged"]

STATE = ".labkit-run"
"""The folder, inside the run's outputs, of its records."""


def fingerprint(*parts) -> str:
    """A short hash of JSON-able ``parts`` (what a task read): equal parts, equal fingerprints.

    Example
    -------
    >>> fingerprint({"a": 1}) == fingerprint({"a": 1}), fingerprint({"a": 1}) == fingerprint({"a": 2})
    (True, False)
    """
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Path]:
    """A temporary path next to ``target`` to write it at; moved onto ``target`` (replacing it) when the block ends
    without error, removed otherwise. Stale temporaries of earlier, killed tasks are removed first.

    Example
    -------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "x.txt"
    >>> with staged(target) as tmp:
    ...     _ = tmp.write_text("x")
    >>> target.read_text()
    'x'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(target)
    tmp = _temporary(target)
    try:
        yield tmp
        if not (tmp.exists() or tmp.is_symlink()):
            raise FileNotFoundError(f"the task wrote nothing at {tmp}")
        if target.exists() and target.is_dir() != tmp.is_dir():  # an output of another kind: the runner's own
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        _move_into_place(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


GIS_SIDE_CARS = (".aux.xml", ".ovr", ".msk")
"""Files that a GIS writes beside a raster it opens (GDAL's statistics and histograms in ``map.tif.aux.xml``, external
overviews, masks): not part of an output's checksums, so that looking at a map does not make the next run redo it."""


def _files(output: Path) -> list[Path]:
    if not output.is_dir():
        return [output]
    return sorted(p for p in output.rglob("*") if p.is_file() and not p.name.endswith(GIS_SIDE_CARS))


class RunState:
    """The records of the finished tasks of the run whose outputs are in ``folder``.

    Example
    -------
    >>> import tempfile
    >>> RunState(Path(tempfile.mkdtemp())).is_done("train/rf/run-0", "abc")
    False
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.records = self.folder / STATE / "done"

    def _path(self, key: str) -> Path:
        return self.records / (key.replace("/", "__") + ".json")

    def read(self, key: str) -> dict | None:
        """The record of task ``key``, or None (never recorded, or unreadable)."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _intact(self, record: dict) -> bool:
        for name, (size, mtime, digest) in record["files"].items():
            path = self.folder / name
            try:
                stat = path.stat()
            except OSError:
                return False
            if stat.st_size != size:
                return False
            if stat.st_mtime_ns != mtime and _sha256(path) != digest:
                return False
        return True

    def is_done(self, key: str, task_fingerprint: str) -> bool:
        """Whether task ``key`` finished with this fingerprint and its output is as it wrote it."""
        record = self.read(key)
        return (record is not None and record.get("fingerprint") == task_fingerprint and bool(record.get("files"))
                and self._intact(record))

    def digest(self, key: str) -> str | None:
        """A hash of the checksums of task ``key``'s output (what the tasks that read it depend on)."""
        record = self.read(key)
        return None if record is None else record.get("digest")

    def record(self, key: str, stage: str, task_fingerprint: str, output: Path, facts: dict) -> dict:
        """Record that task ``key`` is done: its output's files with their size, time and SHA-256, and ``facts``
        (duration, peak memory...). Written atomically, after the output is in place."""
        files = {}
        for path in _files(Path(output)):
            stat = path.stat()
            files[str(path.relative_to(self.folder))] = (stat.st_size, stat.st_mtime_ns, _sha256(path))
        record = {"key": key, "stage": stage, "fingerprint": task_fingerprint, "output": str(
            Path(output).relative_to(self.folder)), "files": files,
            "digest": fingerprint(sorted((name, item[2]) for name, item in files.items())), **facts}
        self.records.mkdir(parents=True, exist_ok=True)
        with staged(self._path(key)) as tmp:
            tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        return record

    def forget(self, key: str) -> None:
        """Remove task ``key``'s record (it will run again)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
