"""Datasets: small real data shipped with labkit, public datasets fetched on demand, and synthetic scenes.

* :func:`load_slovenia`, :func:`load_bolzano` — real Sentinel-2 data embedded in the package (see
  :mod:`labkit.datasets.embedded` for origin and licence);
* :func:`list_datasets` — the public datasets labkit fetches by name (``labkit fetch --list``);
* :func:`fetch` — files of public datasets from their origin or a local mirror, checked against pinned checksums
  (:mod:`labkit.datasets.remote`; the mirror: ``mirror=`` or ``$LABKIT_DATA_MIRROR``);
* :func:`fetch_dataset` — a public dataset fetched and written in labkit's formats (Zarr cube, NetCDF sample sets,
  GeoPackage reference) with its licence and a README (:mod:`labkit.datasets.convert`; ``labkit fetch NAME``);
* :func:`load_victoria`, :func:`load_formosat`, :func:`load_rondonia` — public labelled sample tables, fetched and
  read as sample sets (:mod:`labkit.datasets.tables`);
* :func:`make_synthetic_scene` — Sentinel-2-like scenes of any size, lazy and deterministic by seed
  (:mod:`labkit.datasets.synthetic`).
"""

from .convert import fetch_dataset
from .embedded import EOData, load_bolzano, load_slovenia
from .remote import DATASETS, fetch, list_datasets
from .tables import load_formosat, load_rondonia, load_victoria

__all__ = ["DATASETS", "EOData", "SyntheticScene", "fetch", "fetch_dataset", "list_datasets", "load_bolzano",
           "load_formosat", "load_rondonia", "load_slovenia", "load_victoria", "make_synthetic_scene"]


def __getattr__(name: str):
    # The synthetic generator imports dask and shapely machinery that the loaders do not need: load it on first use.
    if name in ("make_synthetic_scene", "SyntheticScene"):
        from . import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
