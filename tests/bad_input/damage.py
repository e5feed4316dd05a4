"""Helpers of the bad-input suite: damage a file as real life does, list what a user keeps."""

from __future__ import annotations

from pathlib import Path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to ``keep`` of its size, as an interrupted copy or download does."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def user_files(folder: Path) -> dict[str, bytes]:
    """The files a user keeps in ``folder`` (name -> content), to check that none was lost."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def copy_of(path: Path, name: str) -> Path:
    """A copy of the file ``path`` named ``name``, next to it."""
    copy = path.with_name(name)
    copy.write_bytes(path.read_bytes())
    return copy
