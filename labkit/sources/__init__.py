"""Your own data in: catalogues, product folders and foreign arrays, read as labkit cubes and validity masks.

* :mod:`labkit.sources.stac` — search a STAC API (Earth Search, Planetary Computer or any URL) and load Sentinel-2
  L2A bands and SCL as a cube and its mask (pystac-client + odc-stac);
* :mod:`labkit.sources.products` — Theia/MAJA L2A folders and Sentinel-2 L2A SAFE folders;
* :mod:`labkit.sources.foreign` — any xarray Dataset or DataArray, or a Zarr store in another layout (openEO, odc),
  as a labkit cube (:func:`as_cube`).

Named public datasets are in :mod:`labkit.datasets`; files in labkit's own formats in :mod:`labkit.io`. Comes before
:mod:`labkit.tiling` and every stage that walks a cube.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "as_cube": "foreign",
    "search_stac": "stac",
    "load_stac": "stac",
    "STAC_PRESETS": "stac",
    "read_theia": "products",
    "read_safe": "products",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Each reader imports heavy libraries (odc-stac, pystac-client) that the others do not need: load on first use.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
