"""labkit's data model: the few objects that every stage of the chain takes and returns.

This page is the one place where they are defined.

**cube**
    ``xarray.DataArray`` with dims ``(time, band, y, x)``. ``time`` holds ``datetime64`` dates, strictly increasing;
    ``band`` holds unique band names (``"B04"``, ``"NDVI"``...); ``y`` and ``x`` hold pixel-centre coordinates in
    the cube's CRS, which rioxarray carries (``cube.rio.crs``, ``cube.rio.transform()``). Values are floats in
    physical units (reflectance 0–1, indices) with ``NaN`` where nothing was observed. The data may be a numpy
    array or a dask array: every stage accepts both and keeps dask arrays lazy.
**validity mask**
    ``xarray.DataArray`` ``(time, y, x)`` of ``uint8`` on the cube's grid, with iota2's codes:
    ``0`` valid, ``1`` cloud, shadow or saturated, ``2`` no acquisition (outside the swath, no-data).
    See :class:`Validity`.
**sample set**
    ``xarray.Dataset`` with ``X (sample, time, band)`` float, ``label (sample)`` integer class codes and
    ``group (sample)`` integer id of the polygon a pixel came from (what splits must keep together). Optional:
    ``region (sample)``, ``x (sample)``, ``y (sample)`` (pixel centres in ``attrs["crs"]``) and
    ``class_name (class)`` giving a name to each class code. ``time`` holds dates or plain positions
    ``0..n-1``. Saved as NetCDF with :func:`labkit.io.write_samples`.
**class map** and **probabilities**
    ``(y, x)`` integer class codes, and ``(class, y, x)`` floats in ``[0, 1]``, on the cube's grid.

Stages never change their inputs: they return new objects. :func:`validate` checks any of these objects and
raises :class:`~labkit.errors.DataModelError` saying exactly what is wrong.

Example
-------
>>> import numpy as np, labkit.datamodel as dm
>>> cube = dm.make_cube(np.zeros((3, 1, 4, 5), "float32"), times=["2020-01-01", "2020-01-11", "2020-01-21"],
...                     bands=["NDVI"], transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0), crs="EPSG:32631")
>>> dm.validate(cube)
'cube'
>>> cube.dims
('time', 'band', 'y', 'x')
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from .errors import DataModelError

CUBE_DIMS = ("time", "band", "y", "x")
MASK_DIMS = ("time", "y", "x")
CLASS_MAP_DIMS = ("y", "x")
PROBS_DIMS = ("class", "y", "x")
SAMPLE_DIMS = ("sample", "time", "band")
KINDS = ("cube", "mask", "samples", "class_map", "probs")


class Validity(enum.IntEnum):
    """Codes of a validity mask (iota2's convention)."""

    VALID = 0
    """The pixel was observed clear on that date."""
    INVALID = 1
    """Observed, but cloud, cloud shadow or saturated: the value must not be used."""
    NO_DATA = 2
    """No acquisition: outside the swath, no-data in the product, or a date filled in later."""


# ----------------------------------------------------------------------------------------------------- builders


def _grid_coords(transform: Affine, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(y, x)`` of a north-up grid."""
    if transform.b != 0 or transform.d != 0:
        raise DataModelError(f"Rotated grids are not supported (transform {tuple(transform)[:6]}).")
    x = transform.c + transform.a * (np.arange(width) + 0.5)
    y = transform.f + transform.e * (np.arange(height) + 0.5)
    return y, x


def make_cube(
    data,
    times: Sequence,
    bands: Sequence[str],
    *,
    transform: Affine | Sequence[float],
    crs,
    name: str | None = None,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Wrap a ``(time, band, y, x)`` array (numpy or dask) as a labkit cube.

    Parameters
    ----------
    data : array-like, shape (time, band, y, x)
        The values, numpy or dask; not copied.
    times : sequence of dates
        Anything :func:`pandas.to_datetime` reads.
    bands : sequence of str
        One name per band.
    transform : affine.Affine or 6 floats
        The grid's affine transform (GDAL order ``a, b, c, d, e, f``).
    crs : anything rasterio reads as a CRS (``"EPSG:32633"``, WKT, ``pyproj.CRS``).
    name, attrs : optional name and attributes of the DataArray.

    Returns
    -------
    xarray.DataArray
        Checked with :func:`validate`.

    Example
    -------
    >>> import numpy as np
    >>> cube = make_cube(np.ones((2, 2, 3, 3)), ["2021-05-01", "2021-05-11"], ["B04", "B08"],
    ...                  transform=(20.0, 0, 0.0, 0, -20.0, 60.0), crs="EPSG:32633")
    >>> cube.x.values
    array([10., 30., 50.])
    """
    if np.ndim(data) != 4:
        raise DataModelError(f"make_cube needs a 4-D array (time, band, y, x); got {np.ndim(data)} dims.")
    transform = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    n_time, n_band, height, width = data.shape
    if len(times) != n_time or len(bands) != n_band:
        raise DataModelError(
            f"make_cube: data has {n_time} dates and {n_band} bands, but {len(times)} times and "
            f"{len(bands)} band names were given."
        )
    y, x = _grid_coords(transform, height, width)
    cube = xr.DataArray(
        data,
        dims=CUBE_DIMS,
        coords={"time": pd.to_datetime(list(times)).values, "band": [str(b) for b in bands], "y": y, "x": x},
        attrs=dict(attrs or {}),
    )
    cube.name = name  # set after: given a dask array, xarray would take the array's own name
    cube = cube.rio.write_crs(crs).rio.write_transform(transform)
    validate(cube, "cube")
    return cube


def make_mask(data, like: xr.DataArray) -> xr.DataArray:
    """Wrap a ``(time, y, x)`` array of validity codes as a mask on the grid of cube ``like``.

    Example
    -------
    >>> import numpy as np
    >>> cube = make_cube(np.ones((2, 1, 2, 2)), ["2021-05-01", "2021-05-11"], ["NDVI"],
    ...                  transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> mask = make_mask(np.isnan(cube.isel(band=0)).values.astype("uint8"), like=cube)
    >>> validate(mask)
    'mask'
    """
    coords = {k: like.coords[k] for k in ("time", "y", "x")}
    mask = xr.DataArray(data, dims=MASK_DIMS, coords=coords, name="validity")
    if mask.dtype != np.uint8:
        mask = mask.astype(np.uint8)
    if like.rio.crs is not None:
        mask = mask.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform())
    validate(mask, "mask")
    return mask


def make_samples(
    X,
    label,
    group,
    *,
    times: Sequence | None = None,
    bands: Sequence[str],
    region=None,
    x=None,
    y=None,
    crs=None,
    class_names: dict[int, str] | None = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build a sample set from arrays.

    Parameters
    ----------
    X : array (sample, time, band)
    label, group : arrays (sample,) of integers
        Class code of each sample and id of the polygon (or any unit that must not be split) it came from.
    times : dates or None
        None numbers the time steps ``0..n-1``.
    bands : band names.
    region, x, y : optional arrays (sample,)
    crs : CRS of ``x``/``y``, stored as WKT in ``attrs["crs"]``.
    class_names : optional mapping class code -> name.

    Example
    -------
    >>> import numpy as np
    >>> s = make_samples(np.zeros((4, 3, 2)), [1, 1, 2, 2], [10, 10, 11, 12], bands=["B04", "B08"])
    >>> dict(s.sizes)
    {'sample': 4, 'time': 3, 'band': 2}
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise DataModelError(f"make_samples: X must be (sample, time, band); got {X.ndim} dims.")
    n_time = X.shape[1]
    time = np.arange(n_time) if times is None else pd.to_datetime(list(times)).values
    ds = xr.Dataset(
        {
            "X": (SAMPLE_DIMS, X),
            "label": ("sample", np.asarray(label)),
            "group": ("sample", np.asarray(group)),
        },
        coords={"time": time, "band": [str(b) for b in bands], "sample": np.arange(X.shape[0])},
        attrs=dict(attrs or {}),
    )
    for key, value in (("region", region), ("x", x), ("y", y)):
        if value is not None:
            ds[key] = ("sample", np.asarray(value))
    if crs is not None:
        from pyproj import CRS

        ds.attrs["crs"] = CRS.from_user_input(crs).to_wkt()
    if class_names:
        codes = sorted(class_names)
        ds["class_name"] = xr.DataArray([class_names[c] for c in codes], dims="class", coords={"class": codes})
    validate(ds, "samples")
    return ds


def class_names(samples: xr.Dataset) -> dict[int, str]:
    """The ``{code: name}`` of a sample set's classes (codes as names where none are stored).

    Example
    -------
    >>> import numpy as np
    >>> s = make_samples(np.zeros((2, 1, 1)), [3, 5], [0, 1], bands=["NDVI"], class_names={3: "forest", 5: "water"})
    >>> class_names(s)
    {3: 'forest', 5: 'water'}
    """
    codes = [int(c) for c in np.unique(samples["label"].values)]
    names = {c: str(c) for c in codes}
    if "class_name" in samples:
        names.update({int(c): str(n) for c, n in zip(samples["class"].values, samples["class_name"].values)})
    return names


# --------------------------------------------------------------------------------------------------- validation

_MAX_CODE = max(v.value for v in Validity)


def check_mask_codes(codes: np.ndarray, where: str = "mask") -> np.ndarray:
    """Raise :class:`~labkit.errors.DataModelError` unless every code of a mask block is 0, 1 or 2; return it.

    The one check of mask codes, used by :func:`validate` and, block by block, by every stage that reads a mask
    (:func:`checked_mask`). ``where`` names the mask in the message.

    Example
    -------
    >>> check_mask_codes(np.array([0, 1, 2], "uint8")).tolist()
    [0, 1, 2]
    >>> check_mask_codes(np.array([0, 3, 255], "uint8"), "fill_gaps: the mask")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: fill_gaps: the mask: codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found [3, 255]. Build masks with labkit.masks (e.g. mask_from_scl), or map your codes onto these three.
    """
    codes = np.asarray(codes)
    if codes.size and (codes.max() > _MAX_CODE or codes.min() < 0):
        bad = np.setdiff1d(np.unique(codes), [v.value for v in Validity])
        _fail(where, f"codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found "
                     f"{bad[:10].tolist()}.",
              "Build masks with labkit.masks (e.g. mask_from_scl), or map your codes onto these three.")
    return codes


def checked_mask(mask: xr.DataArray, who: str, label: str = "the mask", *, coords: bool = True) -> xr.DataArray:
    """``mask`` validated as a mask, its codes checked now (numpy) or as each block is computed (dask).

    Stages call it on the masks they receive, so that a code other than 0, 1 or 2 is an error wherever it enters.
    ``who`` (the stage) and ``label`` (which of its arguments) name the mask in messages. With ``coords=False``
    only the dims, dtype and codes are checked (summaries that need no dates or grid).

    Example
    -------
    >>> import dask.array as da
    >>> cube = make_cube(np.ones((1, 1, 2, 2)), ["2021-05-01"], ["NDVI"], transform=(10, 0, 0, 0, -10, 20),
    ...                  crs="EPSG:32633")
    >>> lazy = make_mask(da.full((1, 2, 2), 7, dtype="uint8"), like=cube)
    >>> checked_mask(lazy, "fill_gaps").compute()
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: fill_gaps: the mask: codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found [7]. ...
    """
    where = f"{who}: {label}"
    if not isinstance(mask, xr.DataArray):
        _fail(where, f"expected a validity mask, an xarray.DataArray {MASK_DIMS}; got {type(mask).__name__}.")
    try:
        if coords:
            validate(mask, "mask", check_values=False)
        else:
            _check_dims(mask, MASK_DIMS, "mask")
    except DataModelError as error:
        raise DataModelError(f"{where} is not a validity mask: {error}") from None
    if hasattr(mask.data, "dask"):
        return mask.copy(data=mask.data.map_blocks(check_mask_codes, where, dtype=mask.dtype))
    check_mask_codes(mask.values, where)
    return mask


def _fail(what: str, problem: str, fix: str = "") -> None:
    raise DataModelError(f"{what}: {problem}" + (f" {fix}" if fix else ""))


def _guess_kind(obj) -> str:
    if isinstance(obj, xr.Dataset):
        return "samples"
    if not isinstance(obj, xr.DataArray):
        _fail("validate", f"expected an xarray DataArray or Dataset; got {type(obj).__name__}.")
    by_dims = {CUBE_DIMS: "cube", MASK_DIMS: "mask", CLASS_MAP_DIMS: "class_map", PROBS_DIMS: "probs"}
    if obj.dims in by_dims:
        return by_dims[obj.dims]
    _fail(
        "validate",
        f"cannot tell what this DataArray is from its dims {obj.dims}.",
        f"A cube has dims {CUBE_DIMS}, a mask {MASK_DIMS}, a class map {CLASS_MAP_DIMS}, probabilities "
        f"{PROBS_DIMS}; use .transpose(...) or .rename(...) to match.",
    )


def _check_dims(obj, expected: tuple[str, ...], what: str) -> None:
    if obj.dims != expected:
        fix = ""
        if set(obj.dims) == set(expected):
            fix = f"Use .transpose{expected}."
        elif missing := [d for d in expected if d not in obj.dims]:
            fix = f"Missing dim(s) {missing}."
        _fail(what, f"dims must be {expected}; got {obj.dims}.", fix)


def _check_grid(obj, what: str, require_crs: bool) -> None:
    for dim in ("y", "x"):
        if dim not in obj.coords:
            _fail(what, f"no '{dim}' coordinate.", "Build it with labkit.datamodel.make_cube(..., transform=...).")
        values = np.asarray(obj[dim].values)
        if values.size > 1:
            steps = np.diff(values)
            if not (np.all(steps > 0) or np.all(steps < 0)):
                _fail(what, f"the '{dim}' coordinate is not monotonic.")
            if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9 * max(1.0, abs(float(values[0])))):
                _fail(what, f"the '{dim}' coordinate is not regularly spaced (steps {steps.min()}..{steps.max()}).")
    if require_crs and obj.rio.crs is None:
        _fail(what, "no CRS.", "Set it with obj.rio.write_crs('EPSG:...').")


def _check_time(obj, what: str, allow_positions: bool = False) -> None:
    if "time" not in obj.coords:
        _fail(what, "no 'time' coordinate.", "Assign the dates with obj.assign_coords(time=dates).")
    time = obj["time"].values
    if np.issubdtype(time.dtype, np.datetime64):
        if np.isnat(time).any():
            _fail(what, f"'time' holds {int(np.isnat(time).sum())} missing dates (NaT).")
    elif not (allow_positions and np.issubdtype(time.dtype, np.integer)):
        kinds = "datetime64 dates or integer positions" if allow_positions else "datetime64 dates"
        _fail(what, f"'time' must hold {kinds}; got dtype {time.dtype}.", "Convert with pandas.to_datetime.")
    if time.size > 1 and not np.all(time[1:] > time[:-1]):
        bad = int(np.argmax(~(time[1:] > time[:-1]))) + 1
        _fail(what, f"'time' must be strictly increasing; position {bad} ({time[bad]}) is not after the one before.",
              "Sort with obj.sortby('time') and drop duplicates.")


def _check_bands(obj, what: str) -> None:
    if "band" not in obj.coords:
        _fail(what, "no 'band' coordinate.", "Assign band names with obj.assign_coords(band=[...]).")
    names = [str(b) for b in obj["band"].values]
    dupes = sorted({b for b in names if names.count(b) > 1})
    if dupes:
        _fail(what, f"band names must be unique; {dupes} occur more than once.")


def _is_numpy(obj) -> bool:
    return isinstance(obj.variable._data, np.ndarray) or not hasattr(obj.data, "dask")


def validate(obj, kind: str | None = None, *, check_values: bool | None = None) -> str:
    """Check that ``obj`` follows labkit's data model; return its kind.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
    kind : {"cube", "mask", "samples", "class_map", "probs"}, optional
        What ``obj`` must be. By default it is guessed from the dims.
    check_values : bool, optional
        Also check the values (mask codes, label types, probability range). Default: only when the data is in
        memory, so that validating a dask-backed cube never computes it.

    Returns
    -------
    str
        The kind.

    Raises
    ------
    labkit.errors.DataModelError
        Saying what is wrong and, where there is one, the fix.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> validate(xr.DataArray(np.zeros((2, 3), "uint8"), dims=("y", "x"), coords={"y": [1., 0.], "x": [0., 1., 2.]}))
    'class_map'
    >>> validate(xr.DataArray(np.zeros((2, 3)), dims=("x", "y")), "class_map")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: class map: dims must be ('y', 'x'); got ('x', 'y'). Use .transpose('y', 'x').
    """
    if kind is None:
        kind = _guess_kind(obj)
    if kind not in KINDS:
        raise DataModelError(f"validate: unknown kind {kind!r}; choose one of {KINDS}.")
    what = kind.replace("_", " ")
    if kind == "samples":
        _validate_samples(obj, check_values)
        return kind
    if not isinstance(obj, xr.DataArray):
        _fail(what, f"expected an xarray.DataArray; got {type(obj).__name__}.",
              "Functions such as fill_gaps return a pair: unpack it first (filled, flags = fill_gaps(...))."
              if isinstance(obj, tuple) else "")
    values_too = _is_numpy(obj) if check_values is None else check_values
    if kind == "cube":
        _check_dims(obj, CUBE_DIMS, what)
        _check_time(obj, what)
        _check_bands(obj, what)
        _check_grid(obj, what, require_crs=True)
        if not (np.issubdtype(obj.dtype, np.floating) or np.issubdtype(obj.dtype, np.integer)):
            _fail(what, f"values must be numbers; got dtype {obj.dtype}.")
    elif kind == "mask":
        _check_dims(obj, MASK_DIMS, what)
        _check_time(obj, what)
        _check_grid(obj, what, require_crs=False)
        if obj.dtype != np.uint8:
            _fail(what, f"dtype must be uint8; got {obj.dtype}.",
                  "Use mask.fillna(2).astype('uint8') (NaN would otherwise become 0, 'valid').")
        if values_too:
            check_mask_codes(np.asarray(obj.values), what)
    elif kind == "class_map":
        _check_dims(obj, CLASS_MAP_DIMS, what)
        _check_grid(obj, what, require_crs=False)
        if not np.issubdtype(obj.dtype, np.integer):
            _fail(what, f"dtype must be an integer type; got {obj.dtype}.")
    elif kind == "probs":
        _check_dims(obj, PROBS_DIMS, what)
        _check_grid(obj, what, require_crs=False)
        if values_too:
            values = np.asarray(obj.values)
            finite = values[np.isfinite(values)]
            if finite.size and (finite.min() < 0 or finite.max() > 1):
                _fail(what, f"probabilities must lie in [0, 1]; found {finite.min():.3g}..{finite.max():.3g}.")
    return kind


def _validate_samples(ds, check_values: bool | None) -> None:
    what = "sample set"
    if not isinstance(ds, xr.Dataset):
        _fail(what, f"expected an xarray.Dataset; got {type(ds).__name__}.")
    for var, dims in (("X", SAMPLE_DIMS), ("label", ("sample",)), ("group", ("sample",))):
        if var not in ds:
            _fail(what, f"missing variable '{var}' {dims}.", "Build sample sets with labkit.datamodel.make_samples.")
        if ds[var].dims != dims:
            _fail(what, f"variable '{var}' must have dims {dims}; got {ds[var].dims}.")
    for var in ("region", "x", "y"):
        if var in ds and ds[var].dims != ("sample",):
            _fail(what, f"optional variable '{var}' must have dims ('sample',); got {ds[var].dims}.")
    _check_time(ds, what, allow_positions=True)
    _check_bands(ds, what)
    for var in ("label", "group"):
        values = ds[var].values if check_values is not False else None
        if values is not None and values.dtype.kind == "f" and np.isnan(values).any():
            missing = np.flatnonzero(np.isnan(values))
            _fail(what, f"'{var}' is missing (NaN) for {missing.size} of {values.size} samples (e.g. samples "
                        f"{missing[:5].tolist()}).",
                  f"Drop them first: samples.isel(sample=samples['{var}'].notnull().values).")
        if not np.issubdtype(ds[var].dtype, np.integer):
            _fail(what, f"'{var}' must hold integers; got dtype {ds[var].dtype}.",
                  "Map class names to integer codes and keep the names in 'class_name'." if var == "label" else "")
    if not np.issubdtype(ds["X"].dtype, np.number):
        _fail(what, f"'X' must hold numbers; got dtype {ds['X'].dtype}.")
    if "class_name" in ds:
        if ds["class_name"].dims != ("class",):
            _fail(what, f"'class_name' must have dims ('class',); got {ds['class_name'].dims}.")
        if check_values is not False:
            unnamed = np.setdiff1d(np.unique(ds["label"].values), ds["class"].values)
            if unnamed.size:
                _fail(what, f"labels {unnamed.tolist()} have no entry in 'class_name'.")
