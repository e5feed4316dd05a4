"""The errors labkit raises.

Every error is a :class:`LabkitError`, so ``except labkit.LabkitError`` catches them all. Messages say *what* is
wrong, *where* (file, variable, band, date or dim) and, when there is one, the call that fixes it.
"""

from __future__ import annotations


class LabkitError(Exception):
    """Base class of every error raised on purpose by labkit."""


class DataModelError(LabkitError, ValueError):
    """An object does not follow labkit's data model (see :mod:`labkit.datamodel`)."""


class ReadError(LabkitError, OSError):
    """A file could not be read as what it should be (raster, vector, sample table...)."""


class GridMismatchError(ReadError):
    """Files that should share one grid (CRS, transform, shape) do not."""


class BandError(LabkitError, KeyError):
    """A band that a step needs is missing, or a band name is unknown."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class ConfigError(LabkitError, ValueError):
    """A parameter or a configuration value is invalid."""


class DatasetError(LabkitError, OSError):
    """A dataset could not be found, fetched or verified."""


class OutputError(LabkitError, OSError):
    """An output cannot be written: wrong kind (a folder where a file goes), not writable, or no room on the disk."""


class OutputExistsError(OutputError, FileExistsError):
    """An output already exists and the writer was not told to replace it (``overwrite=False``)."""
