"""labkit: land-cover mapping from satellite image time series.

The chain, one module per stage in the order data flows: :mod:`labkit.io` and :mod:`labkit.datasets` (cubes in),
:mod:`labkit.tiling`, :mod:`labkit.masks`, :mod:`labkit.gapfill`, :mod:`labkit.features`, :mod:`labkit.samples`
(and :mod:`labkit.sample_tables`), :mod:`labkit.models`, :mod:`labkit.inference`, :mod:`labkit.postprocess`,
:mod:`labkit.accuracy`. Every stage speaks the data model of :mod:`labkit.datamodel`. Every file enters through the
input discipline of :mod:`labkit.inputs` and leaves through the output discipline of :mod:`labkit.outputs`; every
error is a :class:`LabkitError` (:mod:`labkit.errors`). Other tools' xarray objects (odc-stac, openEO, rioxarray)
enter as cubes through :func:`as_cube` (:mod:`labkit.sources.foreign`).
"""

from .errors import LabkitError

__version__ = "0.1.0"
__all__ = ["LabkitError", "__version__", "as_cube", "validate"]


def __getattr__(name: str):
    # The data model imports xarray, rioxarray and dask (about a second): load it on first use, so that the command
    # line (`labkit --help`) and `labkit.errors` answer at once.
    if name == "validate":
        from .datamodel import validate

        return validate
    if name == "as_cube":
        from .sources.foreign import as_cube

        return as_cube
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
