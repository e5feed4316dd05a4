"""Sentinel-2 L2A from a STAC API: search a catalogue, load the bands and SCL as a labkit cube and its validity mask.

:func:`search_stac` asks a STAC API — a name of :data:`STAC_PRESETS` or any URL — for the items of a collection
over an area and a date range, under a cloud cover (pystac-client). :func:`load_stac` loads their bands with
odc-stac as a lazy cube whose dask chunks hold the whole time series of a block of pixels (what classification
reads), in reflectance 0-1 harmonised across Sentinel-2 processing baselines, with the validity mask from the SCL
layer (:func:`labkit.masks.mask_from_scl`), and optionally writes both to a Zarr store (:func:`labkit.io.write_zarr`).

Bands are asked by labkit's Sentinel-2 names (``B04``) or common names (``red``) and found among any catalogue's
asset keys through :mod:`labkit.bands` (Earth Search names them ``red``, ``nir08``, ``swir16``; the Planetary
Computer ``B04``, ``B8A``, ``B11``); the cube names them the Sentinel-2 way.

Example
-------
>>> sorted(STAC_PRESETS)
['earth-search', 'planetary-computer']

With a network connection::

    items = search_stac("earth-search", bbox=(11.3, 46.4, 11.4, 46.5), dates="2022-06-01/2022-06-30", max_cloud=30)
    cube, mask = load_stac(items, bands=["B02", "B03", "B04", "B08"], out="bolzano.zarr")
"""

from __future__ import annotations

import importlib
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import xarray as xr

from .. import params
from ..bands import resolve, sentinel2_name
from ..errors import BandError, ConfigError, DatasetError
from ..inputs import _first_line

__all__ = ["STAC_PRESETS", "StacPreset", "describe_items", "load_stac", "search_stac"]


@dataclass(frozen=True)
class StacPreset:
    """A STAC API labkit knows by name: where it is, its Sentinel-2 L2A collection, how its hrefs are signed."""

    url: str
    collection: str
    about: str
    signing: str | None = None
    """The package whose ``sign_inplace`` signs the asset hrefs (None: they are public)."""


STAC_PRESETS: dict[str, StacPreset] = {
    "earth-search": StacPreset(
        "https://earth-search.aws.element84.com/v1", "sentinel-2-l2a",
        "Element 84's Earth Search: Sentinel-2 L2A COGs on AWS, public; asset keys are common names (blue, green, "
        "red, rededge1-3, nir, nir08, swir16, swir22, scl) with raster:bands scale and offset"),
    "planetary-computer": StacPreset(
        "https://planetarycomputer.microsoft.com/api/stac/v1", "sentinel-2-l2a",
        "Microsoft's Planetary Computer: Sentinel-2 L2A COGs on Azure; asset keys are band names (B02... B8A, B11, "
        "B12, SCL); hrefs are signed by the planetary-computer package", signing="planetary_computer"),
}
"""The STAC APIs :func:`search_stac` knows by name; any other is given by its URL."""

DEFAULT_COLLECTION = "sentinel-2-l2a"
"""The collection searched at a URL when none is given."""

L2A_SCALE = 1e-4
"""Reflectance of one digital number (DN) of a Sentinel-2 L2A band."""
L2A_OFFSET = -0.1
"""Reflectance offset of processing baselines 04.00 and later (``BOA_ADD_OFFSET`` = -1000 DN)."""
BASELINE_04_START = date(2022, 1, 25)
"""The first acquisitions processed with baseline 04.00, for items that do not say their baseline."""

_CLOUD_COVER = "eo:cloud_cover"
_DEFAULT_BANDS = ("B02", "B03", "B04", "B08")


# ---------------------------------------------------------------------------------------------- arguments


def _catalogue(catalog: str) -> tuple[str, StacPreset | None]:
    """``(url, preset or None)`` of a preset name or a URL (a URL of a preset gets its signing)."""
    if not isinstance(catalog, str):
        raise ConfigError(f"search_stac: catalog must be a preset name {sorted(STAC_PRESETS)} or a STAC API URL; "
                          f"got {catalog!r}.")
    if catalog in STAC_PRESETS:
        return STAC_PRESETS[catalog].url, STAC_PRESETS[catalog]
    if not catalog.startswith(("http://", "https://")):
        raise ConfigError(f"search_stac: {catalog!r} is neither a known catalogue {sorted(STAC_PRESETS)} nor a URL "
                          "(https://...) of a STAC API.")
    url = catalog.rstrip("/")
    return url, next((p for p in STAC_PRESETS.values() if p.url == url), None)


def _modifier(preset: StacPreset | None):
    """The function that signs a preset's asset hrefs (None when they are public)."""
    if preset is None or preset.signing is None:
        return None
    try:
        module = importlib.import_module(preset.signing)
    except ImportError:
        raise ConfigError(f"{preset.url} needs its asset hrefs signed by the '{preset.signing}' package, which is "
                          f"not installed: pip install {preset.signing.replace('_', '-')}") from None
    return module.sign_inplace


def _lonlat_bbox(bbox, area, who: str) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` in degrees from ``bbox`` or the bounds of ``area``; None when neither."""
    if bbox is not None and area is not None:
        raise ConfigError(f"{who}: give bbox or area, not both.")
    if area is not None:
        return _area_bounds(area, who)
    if bbox is None:
        return None
    if isinstance(bbox, str) or not hasattr(bbox, "__len__") or len(bbox) != 4:
        raise ConfigError(f"{who}: bbox must be 4 numbers (west, south, east, north) in degrees; got {bbox!r}.")
    west, south, east, north = (params.number(v, f"bbox[{i}]", who) for i, v in enumerate(bbox))
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ConfigError(f"{who}: bbox {tuple(bbox)} is not (west, south, east, north) in degrees with west < east "
                          "within -180..180 and south < north within -90..90 (an area across the antimeridian: "
                          "search each side).")
    return west, south, east, north


def _area_bounds(area, who: str) -> tuple[float, float, float, float]:
    """The bounds in EPSG:4326 of a GeoDataFrame or GeoSeries, or of a vector file's features."""
    import geopandas as gpd

    from ..inputs import read_failure

    if isinstance(area, (str, os.PathLike)):
        if not os.path.exists(area):
            raise ConfigError(f"{who}: area file {area} does not exist.")
        try:
            area = gpd.read_file(area)
        except Exception as error:  # noqa: BLE001  (pyogrio raises its own types for unreadable files)
            raise read_failure(error, str(area), "it as a vector file") from None
    if not isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise ConfigError(f"{who}: area must be a vector file or a GeoDataFrame; got {type(area).__name__}.")
    if area.crs is None:
        raise ConfigError(f"{who}: the area has no CRS; set it first (frame.set_crs('EPSG:...')).")
    if area.empty or area.is_empty.all():
        raise ConfigError(f"{who}: the area has no geometry.")
    return tuple(float(v) for v in area.to_crs(4326).total_bounds)


def _date_range(dates, who: str) -> str:
    """The search's datetime: ``"START/END"`` or one date, as given (``"2022-06"``: the whole month), checked."""
    if isinstance(dates, str):
        parts = dates.strip().split("/")
    elif hasattr(dates, "__len__") and len(dates) == 2:
        parts = list(dates)
    else:
        parts = [dates]
    if len(parts) not in (1, 2):
        raise ConfigError(f"{who}: dates must be 'START/END' (e.g. '2022-06-01/2022-06-30'), one date or a pair; "
                          f"got {dates!r}.")
    stamps = params.dates(parts, "dates", who)
    if stamps[-1] < stamps[0]:
        raise ConfigError(f"{who}: dates end ({stamps[-1].date()}) before they start ({stamps[0].date()}).")
    texts = [p.strip() if isinstance(p, str) else (s.date().isoformat() if s == s.normalize() else s.isoformat() + "Z")
             for p, s in zip(parts, stamps)]
    return "/".join(texts)


# ------------------------------------------------------------------------------------------------- search


def _open(url: str, preset: StacPreset | None):
    """The pystac-client Client of ``url``, or a DatasetError that says why not."""
    import pystac_client
    from pystac_client.exceptions import APIError

    modifier = _modifier(preset)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pystac_client.warnings.PystacClientWarning)
            client = pystac_client.Client.open(url, modifier=modifier, timeout=60)
    except APIError as error:
        raise DatasetError(f"search_stac: the STAC catalogue {url} could not be reached ({_reason(error)}). Check the URL and "
                           "the network connection (a proxy?), or try again later.") from None
    except Exception as error:  # noqa: BLE001  (pystac raises several types for a page that is no catalogue)
        raise DatasetError(f"search_stac: {url} did not answer as a STAC catalogue ({type(error).__name__}: {_reason(error)}). "
                           "Give the URL of a STAC API's landing page.") from None
    if not client.conforms_to("ITEM_SEARCH"):
        raise DatasetError(f"search_stac: {url} is a STAC catalogue but not an API with item search (its landing page declares no "
                           "'item-search' conformance class): give the URL of a STAC API.")
    return client


def _reason(error: BaseException) -> str:
    """The first line of an error's message (:func:`labkit.inputs._first_line`), else its type's name."""
    return _first_line(error)[:300] or type(error).__name__


def _cloud_filter(client, max_cloud: float | None) -> dict:
    """The search's cloud-cover filter, in what the API understands (query, else CQL2); none otherwise."""
    if max_cloud is None:
        return {}
    if client.conforms_to("QUERY"):
        return {"query": {_CLOUD_COVER: {"lte": max_cloud}}}
    if client.conforms_to("FILTER"):
        return {"filter": {"op": "<=", "args": [{"property": _CLOUD_COVER}, max_cloud]}, "filter_lang": "cql2-json"}
    return {}  # filtered here, on the items returned


def _cloud_cover(item) -> float | None:
    value = item.properties.get(_CLOUD_COVER)
    return None if value is None else float(value)


def _describe_search(collection: str, url: str, lonlat, when: str, max_cloud) -> str:
    cloud = f", cloud cover <= {max_cloud:g} %" if max_cloud is not None else ""
    box = ", ".join(f"{v:.5g}" for v in lonlat)
    return f"collection '{collection}' of {url}, bbox ({box}), dates {when}{cloud}"


def search_stac(
    catalog: str,
    *,
    bbox: Sequence[float] | None = None,
    area=None,
    dates,
    max_cloud: float | None = None,
    collection: str | None = None,
    max_items: int | None = None,
) -> list:
    """The items of a STAC API's collection over an area and dates, under a cloud cover, oldest first.

    Parameters
    ----------
    catalog : str
        A name of :data:`STAC_PRESETS` (``"earth-search"``, ``"planetary-computer"``) or the URL of any STAC API
        (its landing page). The Planetary Computer's hrefs are signed with the ``planetary-computer`` package.
    bbox : (west, south, east, north), optional
        In degrees (EPSG:4326). Give ``bbox`` or ``area``.
    area : path or geopandas.GeoDataFrame, optional
        A vector file (GeoPackage, shapefile, GeoJSON...) or frame in any CRS: the bounds of its features.
    dates : str or pair
        ``"2022-06-01/2022-06-30"`` (both days included), ``("2022-06-01", "2022-06-30")``, or one date; a month
        or year stands for all its days (``"2022-06"``, ``"2021/2022"``).
    max_cloud : float, optional
        Keep items whose ``eo:cloud_cover`` is at most this percentage (0-100). Asked of the API with its query
        extension, else as a CQL2 filter; items returned above it are dropped here too.
    collection : str, optional
        Default: the preset's collection; ``"sentinel-2-l2a"`` at a URL.
    max_items : int, optional
        Stop after this many items (default: all, through every page of results).

    Returns
    -------
    list of pystac.Item
        Sorted by date, then id.

    Raises
    ------
    labkit.errors.ConfigError
        An unknown catalogue name, a bad bbox, area, date range or cloud cover; neither bbox nor area.
    labkit.errors.DatasetError
        The catalogue cannot be reached or is not a STAC API with item search (the message names the URL); the
        search failed; no item matched (the message says the filter and how to widen it).

    Example
    -------
    >>> search_stac("earth-searh", bbox=(11.3, 46.4, 11.4, 46.5), dates="2022-06-01/2022-06-30")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: search_stac: 'earth-searh' is neither a known catalogue ['earth-search', 'planetary-computer'] nor a URL (https://...) of a STAC API.
    >>> items = search_stac("earth-search", bbox=(11.3, 46.4, 11.4, 46.5), dates="2022-06",
    ...                     max_cloud=30)  # doctest: +SKIP
    """
    who = "search_stac"
    url, preset = _catalogue(catalog)
    lonlat = _lonlat_bbox(bbox, area, who)
    if lonlat is None:
        raise ConfigError(f"{who}: give the area to search: bbox=(west, south, east, north) in degrees, or area= a "
                          "vector file or GeoDataFrame.")
    when = _date_range(dates, who)
    if max_cloud is not None:
        max_cloud = params.number(max_cloud, "max_cloud", who, low=0, high=100)
    if max_items is not None:
        max_items = params.integer(max_items, "max_items", who, low=1)
    if collection is not None and (not isinstance(collection, str) or not collection):
        raise ConfigError(f"{who}: collection must be a collection id such as 'sentinel-2-l2a'; got {collection!r}.")
    collection = collection or (preset.collection if preset else DEFAULT_COLLECTION)
    described = _describe_search(collection, url, lonlat, when, max_cloud)

    from pystac_client.exceptions import APIError

    client = _open(url, preset)
    search = client.search(collections=[collection], bbox=list(lonlat), datetime=when,
                           max_items=max_items, **_cloud_filter(client, max_cloud))
    try:
        found = list(search.items())
    except APIError as error:
        raise DatasetError(f"{who}: the search of {described} failed ({_reason(error)}). Check the collection "
                           f"id ({url}/collections lists them) and the filter.") from None
    items = [i for i in found if max_cloud is None or (_cloud_cover(i) or 0.0) <= max_cloud]
    if not items:
        widen = "widen the dates or the area" + (", or raise max_cloud" if max_cloud is not None else "")
        raise DatasetError(f"{who}: no item in {described}; {widen}.")
    return sorted(items, key=lambda i: (_item_time(i), i.id))


def _item_time(item) -> pd.Timestamp:
    stamp = pd.Timestamp(item.datetime or item.properties.get("start_datetime"))
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp


# --------------------------------------------------------------------------------------------------- load


def _band_assets(items: list, names: list[str]) -> tuple[list[str], str | None]:
    """The asset keys of ``names`` and of the SCL layer (None if absent), the same in every item."""
    first = None
    for item in items:
        keys = list(item.assets)
        found = resolve(names, keys, sensor="sentinel-2")
        missing = [n for n, key in found.items() if key is None]
        if missing:
            raise BandError(f"load_stac: item {item.id} has no asset for band(s) {missing}; its assets are {keys}.")
        scl = next((k for k in keys if k.lower() == "scl"), None)
        chosen = ([found[n] for n in names], scl)
        if first is None:
            first = chosen
        elif chosen != first:
            raise BandError(f"load_stac: item {item.id} names its assets {chosen[0]} (SCL: {chosen[1]}), other items "
                            f"{first[0]} (SCL: {first[1]}); load items of one catalogue and collection at a time.")
    return first


def _is_baseline_04(item) -> bool:
    """Whether an item was processed with baseline 04.00 or later (its property, else its date)."""
    baseline = item.properties.get("s2:processing_baseline")
    try:
        return float(baseline) >= 4.0
    except (TypeError, ValueError):
        return _item_time(item).date() >= BASELINE_04_START


def _scaling(item, key: str) -> tuple[float, float]:
    """``(scale, offset)`` from DN to reflectance of one asset: its raster:bands, else the L2A convention."""
    band = (item.assets[key].extra_fields.get("raster:bands") or [{}])[0]
    scale = band.get("scale")
    offset = band.get("offset")
    if offset is None:
        offset = L2A_OFFSET if _is_baseline_04(item) else 0.0
    return float(L2A_SCALE if scale is None else scale), float(offset)


def _solar_day(item) -> date:
    """The local solar date of an acquisition (odc-stac's rule: UTC shifted by whole hours of longitude / 15)."""
    west, _, east, _ = item.bbox or (0.0, 0.0, 0.0, 0.0)
    return (_item_time(item) + timedelta(hours=int((west + east) / 2 / 15))).date()


def _layers(items: list, keys: list[str]) -> tuple[list[tuple[date, int]], list[tuple]]:
    """Each item's layer key ``(solar day, rank)`` and the sorted layers' scalings ``((scale, offset) per band)``.

    Items of a day share a layer when they share their scalings (the usual case); a day whose items differ (two
    processing baselines) gets one layer per scaling, ranked by their first item (time, id), fused after scaling.
    """
    scalings = [tuple(_scaling(item, key) for key in keys) for item in items]
    days = [_solar_day(item) for item in items]
    ranks: dict[tuple, int] = {}
    per_day: dict[date, int] = {}
    for i in sorted(range(len(items)), key=lambda i: (_item_time(items[i]), items[i].id)):
        if (days[i], scalings[i]) not in ranks:  # a day's scalings, in the order of their first item
            ranks[(days[i], scalings[i])] = per_day.get(days[i], 0)
            per_day[days[i]] = ranks[(days[i], scalings[i])] + 1
    layer_keys = [(day, ranks[(day, scaling)]) for day, scaling in zip(days, scalings)]
    by_key = dict(zip(layer_keys, scalings))
    return layer_keys, [by_key[k] for k in sorted(by_key)]


def _check_load_args(bands, resolution, chunks, mask, crs) -> tuple[list[str], float, int]:
    who = "load_stac"
    if isinstance(bands, str) or not bands:
        raise ConfigError(f"{who}: bands must be a list of band names such as ['B04', 'B08']; got {bands!r}.")
    names = [sentinel2_name(b) for b in bands]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BandError(f"{who}: bands {list(bands)} name {repeated} more than once.")
    resolution = params.number(resolution, "resolution", who, low=0, closed="neither")
    chunks = params.integer(chunks, "chunks", who, low=1)
    params.flag(mask, "mask", who)
    if crs is not None:
        from pyproj import CRS

        try:
            CRS.from_user_input(crs)
        except Exception as error:  # noqa: BLE001  (pyproj raises CRSError, others for odd types)
            raise ConfigError(f"{who}: crs={crs!r} is not a CRS ({_reason(error)}); use e.g. 'EPSG:32632'.") \
                from None
    return names, resolution, chunks


def load_stac(
    items,
    *,
    bands: Sequence[str] = _DEFAULT_BANDS,
    resolution: float = 10,
    crs=None,
    bbox: Sequence[float] | None = None,
    area=None,
    chunks: int = 512,
    mask: bool = True,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> tuple[xr.DataArray, xr.DataArray | None]:
    """Sentinel-2 L2A items as a lazy cube of reflectance (0-1) and its validity mask from SCL (odc-stac).

    Items of the same solar day (neighbouring tiles of one overpass) make one date. Each item's digital numbers
    become reflectance with its own scale and offset — its assets' ``raster:bands``, else ``1e-4`` and, for
    processing baseline 04.00 or later (``s2:processing_baseline``; without it, acquired from 25 January 2022),
    an offset of -1000 DN — so dates processed with different baselines are comparable. Nodata (0) is NaN.

    Parameters
    ----------
    items : list of pystac.Item
        E.g. from :func:`search_stac`; of one catalogue and collection.
    bands : list of str, default ("B02", "B03", "B04", "B08")
        Sentinel-2 names (``B8A``, ``B11``) or common names (``nir08``, ``swir16``), in the cube's order; found
        among the items' asset keys by :func:`labkit.bands.resolve`. The cube names them the Sentinel-2 way.
    resolution : float, default 10
        Pixel size, in the units of ``crs`` (metres for UTM). Bands of other resolutions are resampled (nearest).
    crs : str, optional
        The cube's CRS, e.g. ``"EPSG:32632"``. Default: the items' own (the most common one).
    bbox : (west, south, east, north), optional
        In degrees: load only this area. Default: the items' whole footprints.
    area : path or geopandas.GeoDataFrame, optional
        Load only the bounds of this vector file or frame (in any CRS) instead.
    chunks : int, default 512
        Dask chunks of ``chunks`` x ``chunks`` pixels; each holds every date (and one band).
    mask : bool, default True
        Also build the validity mask from the items' SCL assets (:func:`labkit.masks.mask_from_scl`; snow stays
        valid). Pixels where every band is nodata are "no acquisition" (2).
    out : path, optional
        Write the cube and mask to this Zarr store (:func:`labkit.io.write_zarr`) and return them read from it.
    overwrite : bool, default False
        Replace ``out`` if it exists.

    Returns
    -------
    (xarray.DataArray, xarray.DataArray or None)
        The cube ``(time, band, y, x)`` float32, dask-backed (dates are the solar days, at midnight), and the mask
        ``(time, y, x)`` uint8 (None with ``mask=False``). Nothing is read before they are computed or written.

    Raises
    ------
    labkit.errors.BandError
        A band that is not a Sentinel-2 band, or that an item has no asset for; no SCL asset with ``mask=True``.
    labkit.errors.ConfigError
        No items; a bad resolution, CRS, bbox, area or chunk size.
    labkit.errors.OutputExistsError
        ``out`` exists and ``overwrite`` is False (checked before anything is loaded).

    Example
    -------
    >>> load_stac([], bands=["B04", "B08"])
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: load_stac: no items to load; search_stac finds them.
    >>> items = search_stac("earth-search", bbox=(11.3, 46.4, 11.4, 46.5), dates="2022-06")  # doctest: +SKIP
    >>> cube, mask = load_stac(items, bands=["red", "nir"], resolution=20)  # doctest: +SKIP
    >>> cube.band.values.tolist()  # doctest: +SKIP
    ['B04', 'B08']
    """
    import odc.stac

    from ..masks import mask_from_scl
    from .foreign import as_cube

    who = "load_stac"
    items = list(items)
    if not items:
        raise ConfigError(f"{who}: no items to load; search_stac finds them.")
    names, resolution, chunks = _check_load_args(bands, resolution, chunks, mask, crs)
    lonlat = _lonlat_bbox(bbox, area, who)
    if out is not None:
        from ..outputs import check_destination

        check_destination(out, kind="store", overwrite=overwrite)  # before any work
    keys, scl_key = _band_assets(items, names)
    if mask and scl_key is None:
        raise BandError(f"{who}: the items have no SCL asset to build the mask from (assets: {list(items[0].assets)});"
                        " pass mask=False, or build a mask another way (labkit.masks).")
    layer_keys, scalings = _layers(items, keys)
    assets = keys + ([scl_key] if mask else [])
    ds = odc.stac.load(items, bands=assets, groupby=lambda item, parsed, idx: layer_keys[idx],
                       chunks={"time": -1, "y": chunks, "x": chunks}, crs=crs, resolution=resolution, bbox=lonlat,
                       stac_cfg=_stac_cfg(assets, scl_key), fail_on_error=True)
    days = pd.DatetimeIndex([pd.Timestamp(day) for day, _ in sorted(set(layer_keys))])
    reflectance = xr.Dataset({
        name: _reflectance(ds[key], [s[i] for s in scalings]) for i, (name, key) in enumerate(zip(names, keys))
    })
    if mask:
        reflectance["SCL"] = ds[scl_key].where(ds[scl_key] != 0).astype(np.float32)
    reflectance = _fuse_days(reflectance.assign_coords(time=days.values), chunks)
    cube = as_cube(reflectance, bands=names)
    validity = None
    if mask:  # on the cube's grid; no acquisition where every band is nodata
        scl = as_cube(reflectance, bands=["SCL"]).isel(band=0, drop=True)
        validity = mask_from_scl(scl.where(cube.notnull().any("band")))
    if out is None:
        return cube, validity
    from ..io import read_zarr, write_zarr

    write_zarr(cube, out, mask=validity, overwrite=overwrite)
    cube, validity = read_zarr(out, chunks={}, with_mask=True)
    return cube, validity


def _stac_cfg(assets: list[str], scl_key: str | None) -> dict:
    """odc-stac's defaults for assets without raster:bands: Sentinel-2 L2A's types and nodata."""
    defaults = {key: {"data_type": "uint16", "nodata": 0} for key in assets}
    if scl_key is not None:
        defaults[scl_key] = {"data_type": "uint8", "nodata": 0}
    return {"*": {"assets": defaults, "warnings": "ignore"}}


def _reflectance(dn: xr.DataArray, scalings: list[tuple[float, float]]) -> xr.DataArray:
    """float32 reflectance of one band's layers, each with its ``(scale, offset)``; nodata is NaN."""
    scale = xr.DataArray(np.array([s for s, _ in scalings], np.float32), dims="time")
    offset = xr.DataArray(np.array([o for _, o in scalings], np.float32), dims="time")
    nodata = dn.attrs.get("nodata", 0)
    values = dn.astype(np.float32).where(dn != nodata) * scale + offset
    values.attrs = {}
    return values


def _fuse_days(ds: xr.Dataset, chunks: int) -> xr.Dataset:
    """One layer per date: a day's layers (items of two processing baselines) merged, the first valid pixel kept."""
    times = pd.DatetimeIndex(ds["time"].values)
    if not times.has_duplicates:
        return ds
    fused = ds.groupby("time").first(skipna=True)
    return fused.chunk({"time": -1, "y": chunks, "x": chunks})


def describe_items(items) -> list[str]:
    """One line per item: id, date and time (UTC), cloud cover.

    Example
    -------
    >>> import datetime, pystac
    >>> item = pystac.Item("S2A_32TPS_20220612_0_L2A", None, None, datetime.datetime(2022, 6, 12, 10, 18),
    ...                    {"eo:cloud_cover": 4.97})
    >>> describe_items([item])
    ['S2A_32TPS_20220612_0_L2A  2022-06-12 10:18  cloud 5.0 %']
    """
    lines = []
    for item in items:
        cloud = _cloud_cover(item)
        shown = "cloud n/a" if cloud is None or math.isnan(cloud) else f"cloud {cloud:.1f} %"
        lines.append(f"{item.id}  {_item_time(item):%Y-%m-%d %H:%M}  {shown}")
    return lines
