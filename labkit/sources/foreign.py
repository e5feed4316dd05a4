"""Any xarray Dataset or DataArray as a labkit cube: the layouts of odc-stac, openEO, rioxarray and CF files.

Other tools hand over satellite time series as xarray objects in their own layouts: a Dataset with one variable per
band and dims ``(time, y, x)`` (odc-stac's ``load``), the same with dims ``(t, y, x)`` and a ``crs`` variable
(openEO's stores), a DataArray ``(band, y, x)`` (rioxarray's ``open_rasterio``), or ``(t, bands, lat, lon)``.
:func:`as_cube` turns any of them into a labkit cube ``(time, band, y, x)`` (:mod:`labkit.datamodel`): dims
renamed (:data:`DIM_ALIASES`) and ordered, bands stacked, the CRS found, the grid checked regular and north-up, the
dates checked, nodata made ``NaN`` and scale/offset applied, as ``float32``. Dask-backed inputs stay lazy.

:func:`labkit.io.read_zarr` reads a Zarr store in another layout through it.

Example
-------
>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset(
...     {b: (("t", "y", "x"), np.full((2, 3, 4), 1000, "int16"), {"nodata": 0}) for b in ("B04", "B08")},
...     coords={"t": ["2022-06-02", "2022-06-05"], "y": [5155005., 5154995., 5154985.],
...             "x": [675005., 675015., 675025., 675035.]}, attrs={"crs": "EPSG:32632"})
>>> cube = as_cube(ds, scale=1e-4)
>>> cube.dims, cube.band.values.tolist(), str(cube.rio.crs), round(float(cube.max()), 4)
(('time', 'band', 'y', 'x'), ['B04', 'B08'], 'EPSG:32632', 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS

from .. import params, tiling
from ..datamodel import CUBE_DIMS, make_cube
from ..errors import BandError, ConfigError, DataModelError

__all__ = ["DIM_ALIASES", "as_cube"]

WHO = "as_cube"

DIM_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("time", "t", "date", "dates", "times"),
    "band": ("band", "bands", "variable", "variables", "spectral"),
    "y": ("y", "lat", "latitude", "row", "rows", "northing"),
    "x": ("x", "lon", "long", "longitude", "col", "cols", "column", "columns", "easting"),
}
"""The dim names :func:`as_cube` reads as each of a cube's dims (case ignored); ``dims=`` names any other."""

_LONLAT = {"lat", "latitude", "lon", "long", "longitude"}
_CRS_KEYS = ("crs_wkt", "spatial_ref", "crs", "proj:wkt2", "proj:projjson", "proj:code", "proj:epsg", "epsg",
             "EPSG", "epsg_code")
_CRS_VARIABLES = ("spatial_ref", "crs")
_NODATA_KEYS = ("_FillValue", "missing_value", "nodata")
_GRID_TOLERANCE = 0.05  # a coordinate may be off the regular grid by this share of a pixel (float32 coordinates)


def as_cube(
    obj,
    *,
    bands: Sequence[str] | str | None = None,
    crs=None,
    scale: float | Mapping[str, float] | None = None,
    offset: float | Mapping[str, float] | None = None,
    nodata: float | Mapping[str, float] | None = None,
    time=None,
    dims: Mapping[str, str] | None = None,
) -> xr.DataArray:
    """An xarray Dataset of bands, or a DataArray in any dim names and order, as a labkit cube.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        A Dataset with one variable per band on dims such as ``(time, y, x)`` or ``(t, y, x)`` (odc-stac, openEO),
        or a DataArray with dims among ``time``, ``band``, ``y``, ``x`` under any name of :data:`DIM_ALIASES`
        (``t``, ``bands``, ``lat``, ``lon``...), in any order. A DataArray without a band dim is one band (named
        by ``bands`` or its ``.name``); one without a time dim is one date (given by ``time``). A Dataset whose
        one variable has a band dim (labkit's own ``cube`` variable) is read as that DataArray.
    bands : list of str, optional
        The bands to keep, in this order: a Dataset's variables, or names in a DataArray's band coordinate (which
        ``bands`` names instead when it holds no names: one name per band, in order). Default: every variable on
        the grid (a Dataset, grid-mapping variables such as ``spatial_ref`` or ``crs`` left out), every band.
    crs : anything pyproj reads (``"EPSG:32632"``, WKT, an EPSG code), optional
        The CRS, overriding what the object says. Default: rioxarray's ``spatial_ref`` coordinate, the variable a
        CF ``grid_mapping`` attribute names (``crs_wkt``, ``spatial_ref`` or CF parameters), a ``crs`` variable,
        or attributes ``crs``, ``epsg``, ``proj:epsg``...; dims named ``lat``/``lon`` without any: EPSG:4326.
    scale, offset : number, or dict of band -> number, optional
        Physical value = stored value * scale + offset. Default: each variable's ``scale_factor`` and
        ``add_offset`` attributes when xarray has not applied them already (else 1 and 0).
    nodata : number, or dict of band -> number, optional
        The stored value that means "not observed": it becomes ``NaN``. Default: each variable's ``_FillValue``,
        ``missing_value`` or ``nodata`` attribute when xarray has not masked it already.
    time : date or list of dates, optional
        The dates: of the one date of an object without a time dim, or replacing a time coordinate that holds
        no dates (one per time step).
    dims : dict of str -> str, optional
        Dim names of ``obj`` read as ``"time"``, ``"band"``, ``"y"`` or ``"x"``, beside :data:`DIM_ALIASES`
        (e.g. ``{"acquisition": "time"}``).

    Returns
    -------
    xarray.DataArray
        A ``float32`` cube, checked with :func:`labkit.datamodel.validate`: dates sorted, a north-up grid (rows
        from north to south, columns from west to east) whose transform comes from the coordinates. Dask-backed
        inputs give a lazy cube whose chunks hold every date and band (as every stage walks a cube), on the
        input's chunks of pixels or fewer (the default memory budget, :data:`labkit.tiling.DEFAULT_MEMORY`);
        numpy ones a numpy cube.

    Raises
    ------
    labkit.errors.DataModelError
        No CRS found (pass ``crs=``); a dim that is none of the cube's (select one position first); no
        coordinates on ``y``/``x``, or coordinates not on a regular grid; dates that are not dates, or repeat;
        variables of different dims; a band dim in several variables of a Dataset.
    labkit.errors.BandError
        A band of ``bands`` that the object lacks (the message lists those it has), band names that repeat, or a
        DataArray without band names and without ``bands``.
    labkit.errors.ConfigError
        ``crs``, ``scale``, ``offset``, ``nodata``, ``time`` or ``dims`` that cannot be read.

    Example
    -------
    A DataArray ``(t, bands, lat, lon)`` in degrees, latitudes and dates ascending, gets EPSG:4326, rows from north
    to south and dates in order:

    >>> import numpy as np, xarray as xr
    >>> a = xr.DataArray(np.zeros((2, 1, 3, 3), "float32"), dims=("t", "bands", "lat", "lon"),
    ...                  coords={"t": ["2021-05-11", "2021-05-01"], "bands": ["NDVI"], "lat": [45.0, 45.5, 46.0],
    ...                          "lon": [5.0, 5.5, 6.0]})
    >>> cube = as_cube(a)
    >>> cube.rio.crs.to_epsg(), cube.time.dt.day.values.tolist(), cube.rio.resolution()
    (4326, [1, 11], (0.5, -0.5))
    """
    crs = _given_crs(crs)
    renames = _dim_renames(obj, dims)
    if isinstance(obj, xr.Dataset):
        array, sources = _stack_dataset(obj.rename(renames), bands, nodata, scale, offset)
    elif isinstance(obj, xr.DataArray):
        array, sources = _band_array(obj.rename(renames), bands, nodata, scale, offset), [obj]
    else:
        raise DataModelError(f"{WHO}: expected an xarray Dataset or DataArray; got {type(obj).__name__}. Read files "
                             "with labkit.io (read_zarr, read_dates, read_bands) or open them with xarray first.")
    array = _with_time(_without_extra_dims(array), time)
    array = _north_up(array).transpose(*CUBE_DIMS)
    transform = _transform(array)
    lonlat = {renames.get(d, d).lower(): d.lower() for d in _dims_of(obj)}
    found = crs or _found_crs(array, sources) or _lonlat_crs(lonlat)
    if found is None:
        raise DataModelError(
            f"{WHO}: no CRS found: no rioxarray 'spatial_ref' coordinate, CF 'grid_mapping' variable, 'crs' variable, "
            "nor a 'crs' or 'epsg' attribute. Pass it with crs=, e.g. labkit.as_cube(obj, crs='EPSG:32632') or "
            "labkit.io.read_zarr(path, crs='EPSG:32632')."
        )
    cube = make_cube(array.data, array["time"].values, [str(b) for b in array["band"].values],
                     transform=transform, crs=_as_epsg(found))
    return _engine_chunks(cube)


def _engine_chunks(cube: xr.DataArray) -> xr.DataArray:
    """A lazy cube whose chunks split dates or bands (one chunk per variable of a Dataset, a store chunked in time)
    rechunked as every stage walks it: each chunk holds every date and band, on the source's own chunk of pixels, or
    fewer where the default memory budget (:func:`labkit.tiling.block_shape`) cannot hold that many."""
    if cube.chunks is None or all(len(c) == 1 for c in cube.chunks[:2]):
        return cube
    n_time, n_band, height, width = cube.shape
    tiles = tiling.internal_tiles(cube)
    fits = tiling.block_shape(height, width, n_time * n_band * cube.dtype.itemsize, tiles=tiles, who=WHO)
    return tiling.blocked(cube, (min(tiles[0], fits[0]), min(tiles[1], fits[1])))


# ------------------------------------------------------------------------------------------------------ dims


def _dims_of(obj) -> tuple[str, ...]:
    return tuple(str(d) for d in (obj.dims if isinstance(obj, xr.DataArray) else obj.sizes))


def _dim_renames(obj, dims: Mapping[str, str] | None) -> dict[str, str]:
    """``{name in obj: cube dim}`` for every dim of ``obj`` that is one of a cube's, by ``dims`` or an alias."""
    if not isinstance(obj, (xr.Dataset, xr.DataArray)):
        return {}
    present = _dims_of(obj)
    given = dict(dims or {})
    for name, target in given.items():
        if name not in present:
            raise ConfigError(f"{WHO}: dims names {name!r}, which is not a dim of the object; its dims are "
                              f"{list(present)}.")
        if target not in CUBE_DIMS:
            raise ConfigError(f"{WHO}: dims={{{name!r}: {target!r}}}: a dim can be read as one of {CUBE_DIMS}.")
    aliases = {alias: target for target, names in DIM_ALIASES.items() for alias in names}
    renames = {d: given.get(d) or aliases.get(d.lower()) for d in present}
    renames = {d: t for d, t in renames.items() if t is not None}
    by_target: dict[str, list[str]] = {}
    for name, target in renames.items():
        by_target.setdefault(target, []).append(name)
    for target, names in by_target.items():
        if len(names) > 1:
            raise DataModelError(f"{WHO}: dims {names} could all be the cube's '{target}'; say which with "
                                 f"dims={{{names[0]!r}: {target!r}}} (and rename or drop the other).")
    return {d: t for d, t in renames.items() if d != t}


def _without_extra_dims(array: xr.DataArray) -> xr.DataArray:
    """``array`` without dims of size 1 that are none of a cube's; refused for larger ones."""
    for dim in [d for d in array.dims if d not in CUBE_DIMS]:
        if array.sizes[dim] != 1:
            raise DataModelError(
                f"{WHO}: dim {dim!r} (size {array.sizes[dim]}) is none of a cube's dims {CUBE_DIMS}. Select one "
                f"position first (obj.isel({dim}=0)), or say which cube dim it is with dims={{{dim!r}: 'time'}}."
            )
        array = array.isel({dim: 0}, drop=True)
    return array


# ----------------------------------------------------------------------------------------------------- bands


def _grid_mapping_names(variables, keys: Sequence[str] = ("grid_mapping",)) -> set[str]:
    """The names of the variables that ``variables`` name in attributes (or encodings) ``keys``."""
    names = set()
    for var in variables:
        for key in keys:
            for source in (var.attrs, var.encoding):
                if isinstance(source.get(key), str):
                    names.update(n.rstrip(":") for n in source[key].split())
    return names


def _stack_dataset(ds: xr.Dataset, bands, nodata, scale, offset) -> tuple[xr.DataArray, list]:
    """A Dataset's band variables decoded and stacked along ``band`` (or its one variable with a band dim)."""
    on_grid = [str(n) for n, v in ds.data_vars.items() if {"y", "x"} <= set(v.dims)]
    if not on_grid:
        found = ", ".join(f"'{n}' {tuple(map(str, v.dims))}" for n, v in ds.data_vars.items()) or "no variables"
        raise DataModelError(f"{WHO}: no variable of the Dataset lies on a grid (dims y and x, or names of "
                             f"{DIM_ALIASES['y'] + DIM_ALIASES['x']}); found {found}. Name the grid's dims with "
                             "dims={'rows': 'y', 'cols': 'x'}.")
    with_band = [n for n in on_grid if "band" in ds[n].dims]
    if len(with_band) == 1:
        return _band_array(ds[with_band[0]], bands, nodata, scale, offset), [ds[with_band[0]], ds]
    if with_band:
        raise DataModelError(f"{WHO}: variables {with_band} each have a band dim; pass one of them: "
                             f"labkit.as_cube(ds[{with_band[0]!r}]).")
    skipped = set(_CRS_VARIABLES) | _grid_mapping_names(ds.variables.values(), ("grid_mapping", "coordinates",
                                                                                 "bounds"))
    names = [n for n in on_grid if n not in skipped] if bands is None else _band_list(bands)
    if not names:
        raise BandError(f"{WHO}: the Dataset's variables on the grid {on_grid} are all grid mappings or coordinates; "
                        "name the bands with bands=[...].")
    missing = [b for b in names if b not in on_grid]
    if missing:
        raise BandError(f"{WHO}: the Dataset has no band variable(s) {missing}; its variables on the grid are "
                        f"{on_grid}.")
    _check_unique(names)
    first = ds[names[0]]
    for name in names[1:]:
        if set(ds[name].dims) != set(first.dims):
            raise DataModelError(f"{WHO}: variables '{names[0]}' {first.dims} and '{name}' {ds[name].dims} have "
                                 "different dims; pass bands=[...] with variables of the same dims.")
    decoded = [
        _decode(ds[n], _band_value(nodata, n, ds[n].attrs, _NODATA_KEYS, "nodata"),
                _band_value(scale, n, ds[n].attrs, ("scale_factor",), "scale"),
                _band_value(offset, n, ds[n].attrs, ("add_offset",), "offset")).transpose(*first.dims)
        for n in names
    ]
    stacked = xr.concat([d.reset_coords(drop=True) for d in decoded], dim=pd.Index(names, name="band"),
                        coords="minimal", compat="override", join="exact")
    return stacked, [*(ds[n] for n in names), ds]


def _band_list(bands) -> list[str]:
    names = [bands] if isinstance(bands, str) else list(bands)
    if not names or not all(isinstance(b, str) for b in names):
        raise ConfigError(f"{WHO}: bands must be band names (e.g. ['B04', 'B08']); got {bands!r}.")
    return names


def _check_unique(names: Sequence[str]) -> None:
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise BandError(f"{WHO}: band names must be unique; {repeated} occur more than once.")


def _band_names(array: xr.DataArray) -> list[str] | None:
    """The names in a band coordinate; rioxarray's ``long_name`` when it holds numbers 1..n; None when none."""
    if "band" not in array.coords:
        return None
    values = array["band"].values
    if values.dtype.kind in "US" or (values.dtype == object and all(isinstance(v, str) for v in values)):
        return [str(v) for v in values]
    long_name = array.attrs.get("long_name")
    if isinstance(long_name, (list, tuple)) and len(long_name) == len(values) and all(long_name):
        return [str(v) for v in long_name]
    return None


def _band_array(array: xr.DataArray, bands, nodata, scale, offset) -> xr.DataArray:
    """A DataArray with a named ``band`` dim (added for one band), bands selected, values decoded."""
    if "band" not in array.dims:
        names = _band_list(bands) if bands is not None else ([str(array.name)] if array.name is not None else None)
        if names is None or len(names) != 1:
            raise BandError(f"{WHO}: the DataArray has no band dim, so it is one band; name it with bands=['NDVI']"
                            + (f" (one name; got {names})." if names else "."))
        array = array.expand_dims(band=names)
    else:
        names = _band_names(array)
        if bands is not None and names is not None:
            wanted = _band_list(bands)
            missing = [b for b in wanted if b not in names]
            if missing:
                raise BandError(f"{WHO}: the DataArray has no band(s) {missing}; its bands are {names}.")
            array = array.isel(band=[names.index(b) for b in wanted])
            names = wanted
        elif bands is not None:
            names = _band_list(bands)
            if len(names) != array.sizes["band"]:
                raise BandError(f"{WHO}: the DataArray's {array.sizes['band']} bands have no names, and bands= "
                                f"gives {len(names)} ({names}); give one name per band, in order.")
        elif names is None:
            shown = array["band"].values.tolist() if "band" in array.coords else "none"
            raise BandError(f"{WHO}: the DataArray's {array.sizes['band']} bands have no names (band coordinate: "
                            f"{shown}); name them with bands=['B04', 'B08', ...], one per band, in order.")
        array = array.assign_coords(band=names)
    _check_unique(names)
    attrs = array.attrs
    per_band = [
        [_band_value(given, b, attrs, keys, label, position=i, count=len(names)) for i, b in enumerate(names)]
        for given, keys, label in ((nodata, _NODATA_KEYS, "nodata"), (scale, ("scale_factor",), "scale"),
                                   (offset, ("add_offset",), "offset"))
    ]
    along = [None if all(v is None for v in values) else
             xr.DataArray(np.array([np.nan if v is None else v for v in values], np.float64), dims="band")
             for values in per_band]
    return _decode(array, *along)


def _band_value(given, band: str, attrs: Mapping, keys: Sequence[str], label: str, *, position: int = 0,
                count: int = 1) -> float | None:
    """The nodata, scale or offset of one band: given (a number, or by band name), else from the attributes."""
    if isinstance(given, Mapping):
        unknown = [b for b in given if not isinstance(b, str)]
        if unknown:
            raise ConfigError(f"{WHO}: {label}= by band must map band names to numbers; got keys {unknown}.")
        given = given.get(band)
        if given is None:
            return _attribute_value(attrs, keys, position, count)
    if given is None:
        return _attribute_value(attrs, keys, position, count)
    if isinstance(given, float) and np.isnan(given) and label == "nodata":
        return None  # NaN as nodata: NaN is missing already
    value = params.number(given, label, WHO)
    if label == "scale" and value == 0:
        raise ConfigError(f"{WHO}: scale must be a finite, non-zero number; got {given!r}.")
    return value


def _attribute_value(attrs: Mapping, keys: Sequence[str], position: int, count: int) -> float | None:
    """A number among ``attrs[keys]``: a scalar, or the ``position``-th of one value per band."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        values = np.atleast_1d(np.asarray(value))
        if values.size == count and count > 1:
            value = values[position]
        elif values.size == 1:
            value = values[0]
        else:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        return None if np.isnan(value) else value
    return None


def _decode(raw: xr.DataArray, nodata, scale, offset) -> xr.DataArray:
    """``float32`` physical values: ``nodata`` to NaN, then scale and offset; ±inf is missing too.

    Each of ``nodata``, ``scale`` and ``offset`` is None, a number, or a DataArray of one value per band (NaN where
    a band has none).
    """
    values = raw.astype(np.float32)
    if nodata is not None:
        nodata = _as_values(nodata)
        values = values.where(raw != (nodata.astype(raw.dtype) if _exact(nodata, raw.dtype) else nodata))
    if scale is not None:
        values = values * _as_values(scale, fill=1).astype(np.float32)
    if offset is not None:
        values = values + _as_values(offset, fill=0).astype(np.float32)
    return values.where(np.isfinite(values))


def _as_values(value, fill=None):
    """A number as numpy float64, a DataArray per band with its NaN (no value) as ``fill``."""
    if isinstance(value, xr.DataArray):
        return value if fill is None else value.fillna(fill)
    return np.float64(value)


def _exact(nodata, dtype) -> bool:
    """Whether the nodata values are exactly representable in an integer ``dtype`` (compare there, exactly)."""
    if np.dtype(dtype).kind not in "iu":
        return False
    values = np.atleast_1d(np.asarray(nodata, np.float64))
    info = np.iinfo(dtype)
    return bool(np.all(np.isfinite(values) & (values == np.round(values)) & (values >= info.min)
                       & (values <= info.max)))


# ------------------------------------------------------------------------------------------------------ time


def _with_time(array: xr.DataArray, time) -> xr.DataArray:
    """``array`` with a ``time`` dim of sorted, unique ``datetime64`` dates."""
    if "time" not in array.dims:
        if time is None:
            raise DataModelError(f"{WHO}: the object has no time dim (dims {array.dims}); it is one date: give it "
                                 "with time='2021-05-01', or say which dim holds the dates with dims={'name': "
                                 "'time'}.")
        dates = params.dates([time] if _one_date(time) else time, "time", WHO)
        if len(dates) != 1:
            raise ConfigError(f"{WHO}: the object has no time dim, so it is one date; time= gives {len(dates)}.")
        return array.expand_dims(time=dates.values)
    if time is not None:
        dates = params.dates([time] if _one_date(time) else time, "time", WHO)
        if len(dates) != array.sizes["time"]:
            raise ConfigError(f"{WHO}: time= gives {len(dates)} dates for {array.sizes['time']} time steps.")
    elif "time" not in array.coords:
        raise DataModelError(f"{WHO}: the time dim has no coordinate (no dates); give them with time=[...], one "
                             "per time step.")
    else:
        dates = _decoded_dates(array["time"].values)
    repeated = dates[dates.duplicated()]
    if len(repeated):
        raise DataModelError(
            f"{WHO}: dates repeat: {[d.isoformat() for d in repeated.unique()[:5]]}; a cube has one layer per date. "
            "Merge them first, e.g. obj.groupby('time').first() (one acquisition per date), or keep one."
        )
    array = array.assign_coords(time=dates.values)
    return array if dates.is_monotonic_increasing else array.isel(time=np.argsort(dates.values, kind="stable"))


def _one_date(time) -> bool:
    return isinstance(time, (str, pd.Timestamp, np.datetime64)) or not hasattr(time, "__iter__")


def _decoded_dates(values: np.ndarray) -> pd.DatetimeIndex:
    """A time coordinate's values as dates: datetime64, cftime dates, or text; numbers are refused."""
    if np.issubdtype(values.dtype, np.datetime64):
        dates = pd.DatetimeIndex(values)
        if dates.isna().any():
            raise DataModelError(f"{WHO}: the time coordinate holds {int(dates.isna().sum())} missing dates (NaT).")
        return dates
    if values.dtype.kind in "iuf":
        raise DataModelError(f"{WHO}: the time coordinate holds numbers ({values.dtype}, e.g. {values[:3].tolist()}), "
                             "not dates: open the file with decode_times=True (it needs a CF 'units' attribute "
                             "such as 'days since 2000-01-01'), or give the dates with time=[...].")
    if values.dtype == object and len(values) and hasattr(values[0], "calendar"):
        try:
            return xr.CFTimeIndex(values).to_datetimeindex(time_unit="ns")
        except Exception as error:  # noqa: BLE001  (a calendar pandas cannot hold: said as it is)
            raise DataModelError(f"{WHO}: the time coordinate's {values[0].calendar} dates cannot be read as standard "
                                 f"dates ({error}); give them with time=[...].") from None
    try:
        return params.dates(values, "time", WHO)
    except ConfigError as error:
        raise DataModelError(f"{error} (in the object's time coordinate; or give the dates with time=[...])") from None


# ------------------------------------------------------------------------------------------------------ grid


def _north_up(array: xr.DataArray) -> xr.DataArray:
    """Rows from north to south and columns from west to east (a lazy reindexing where they are not)."""
    for dim in ("y", "x"):
        if dim not in array.dims:
            raise DataModelError(f"{WHO}: no '{dim}' dim (dims {array.dims}); a cube is a grid of rows (y) and columns "
                                 "(x). Name them with dims={'rows': 'y', 'cols': 'x'}.")
        if dim not in array.coords:
            raise DataModelError(f"{WHO}: the '{dim}' dim has no coordinate, so the grid's position is unknown; "
                                 f"assign pixel-centre coordinates (obj.assign_coords({dim}=...)) in the CRS.")
        if array[dim].ndim != 1:
            raise DataModelError(f"{WHO}: the '{dim}' coordinate is {array[dim].ndim}-D (a curvilinear grid); "
                                 "resample onto a regular grid first (e.g. rioxarray's reproject).")
    values = {d: np.asarray(array[d].values, np.float64) for d in ("y", "x")}
    flips = {d: slice(None, None, -1) for d, v in values.items()
             if v.size > 1 and (v[-1] > v[0] if d == "y" else v[-1] < v[0])}
    return array.isel(flips) if flips else array


def _transform(array: xr.DataArray) -> Affine:
    """The north-up affine transform of a regular grid's pixel-centre coordinates."""
    steps = {}
    for dim in ("x", "y"):
        values = np.asarray(array[dim].values, np.float64)
        if values.size < 2:
            steps[dim] = _one_pixel_step(array, dim)
            continue
        step = (values[-1] - values[0]) / (values.size - 1)
        off = np.abs(values - (values[0] + step * np.arange(values.size))).max()
        if step == 0 or not np.isfinite(step) or off > _GRID_TOLERANCE * abs(step):
            diffs = np.diff(values)
            raise DataModelError(f"{WHO}: the '{dim}' coordinates are not a regular grid (steps {diffs.min():g} to "
                                 f"{diffs.max():g}); resample onto a regular grid first (e.g. rioxarray's reproject).")
        steps[dim] = step
    x0, y0 = float(array["x"].values[0]), float(array["y"].values[0])
    return Affine(steps["x"], 0.0, x0 - steps["x"] / 2, 0.0, steps["y"], y0 - steps["y"] / 2)


def _one_pixel_step(array: xr.DataArray, dim: str) -> float:
    """The pixel size along a dim of one pixel, from a GDAL ``GeoTransform`` attribute (rioxarray's)."""
    for name in (*_CRS_VARIABLES, *_grid_mapping_names([array])):
        if name in array.coords and "GeoTransform" in array[name].attrs:
            gdal = [float(v) for v in str(array[name].attrs["GeoTransform"]).split()[:6]]  # c, a, b, f, d, e
            return gdal[1] if dim == "x" else gdal[5]
    raise DataModelError(f"{WHO}: the grid is one pixel along '{dim}', so its pixel size is unknown; build the cube "
                         "with labkit.datamodel.make_cube(..., transform=...).")


# ------------------------------------------------------------------------------------------------------- CRS


def _given_crs(crs) -> CRS | None:
    if crs is None:
        return None
    try:
        return CRS.from_user_input(crs)
    except Exception as error:  # noqa: BLE001  (pyproj raises CRSError, others for odd types)
        raise ConfigError(f"{WHO}: crs={crs!r} is not a CRS pyproj can read ({str(error).splitlines()[0]}). Use "
                          "e.g. 'EPSG:32632'.") from None


def _found_crs(array: xr.DataArray, sources: list) -> CRS | None:
    """The CRS the objects say: grid-mapping variables first, then ``spatial_ref``/``crs`` ones, then attributes."""
    variables = {}
    for source in (array, *sources):
        holder = source.coords if isinstance(source, xr.DataArray) else source.variables
        variables.update({str(k): v for k, v in holder.items() if str(k) not in variables})
    named = [n for n in sorted(_grid_mapping_names(sources)) if n in variables]
    for name in [*named, *(n for n in _CRS_VARIABLES if n in variables and n not in named)]:
        var = variables[name]
        found = _crs_in(var.attrs, f"variable '{name}'")
        if found is None and var.ndim == 0 and var.dtype.kind in "USO":
            found = _crs_in({name: var.values.item()}, f"variable '{name}'")
        if found is not None:
            return found
    for source in sources:
        if (found := _crs_in(source.attrs, "attributes")) is not None:
            return found
    return None


def _crs_in(attrs: Mapping, where: str) -> CRS | None:
    """A CRS written in ``attrs`` (WKT, EPSG code, PROJ JSON, CF grid-mapping parameters), or None."""
    for key in _CRS_KEYS:
        value = attrs.get(key)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, (bool, np.ndarray)):
            continue
        try:
            return CRS.from_user_input(value)
        except Exception as error:  # noqa: BLE001  (pyproj raises CRSError, others for odd types)
            shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
            raise DataModelError(f"{WHO}: {where}: {key!r} = {shown!r} is not a CRS ({str(error).splitlines()[0]}); "
                                 "pass the right one with crs='EPSG:...'.") from None
    if "grid_mapping_name" in attrs:
        try:
            return CRS.from_cf(dict(attrs))
        except Exception as error:  # noqa: BLE001
            raise DataModelError(f"{WHO}: {where}: its CF grid-mapping parameters do not make a CRS ({error}); "
                                 "pass it with crs='EPSG:...'.") from None
    return None


def _as_epsg(crs: CRS):
    """``"EPSG:n"`` for a CRS that is exactly an EPSG one (so that it is written as labkit writes EPSG CRSs)."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None and crs.equals(CRS.from_epsg(epsg), ignore_axis_order=True) else crs


def _lonlat_crs(dims: Mapping[str, str]) -> CRS | None:
    """EPSG:4326 for dims named latitude and longitude."""
    return CRS.from_epsg(4326) if {dims.get("y"), dims.get("x")} <= _LONLAT else None

