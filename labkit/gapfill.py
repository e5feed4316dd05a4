"""Temporal gap-filling: resample each pixel's valid observations onto a regular grid of dates.

Takes a cube and its validity mask (from :mod:`labkit.masks`) and returns a cube on the target dates with every
cloudy or missing observation replaced, plus the mask of the result. Comes before :mod:`labkit.features`.

Behaviour at the edges is defined, never invented: before a pixel's first valid date and after its last one the
nearest valid value is *held* and flagged ``1`` in the output mask; a pixel with no valid date at all is ``NaN`` and
flagged ``2``. Values interpolated between two valid dates are flagged ``0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .datamodel import CUBE_DIMS, Validity, validate
from .errors import ConfigError, DataModelError

METHODS = ("linear", "nearest")


def regular_dates(start, end, step: int) -> pd.DatetimeIndex:
    """Dates from ``start`` to ``end`` (inclusive when it falls on the grid) every ``step`` days.

    Example
    -------
    >>> regular_dates("2020-01-01", "2020-01-31", 10).strftime("%m-%d").tolist()
    ['01-01', '01-11', '01-21', '01-31']
    """
    if int(step) <= 0:
        raise ConfigError(f"regular_dates: step must be a positive number of days; got {step}.")
    return pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end), freq=f"{int(step)}D")


def _to_days(times) -> np.ndarray:
    return (np.asarray(times, "datetime64[s]").astype("int64") / 86400.0).astype("float64")


def _fill_block(values: np.ndarray, valid: np.ndarray, source: np.ndarray, target: np.ndarray, method: str):
    """Gap-fill ``values (time, n)`` given ``valid (time, n)``; returns ``(filled (t', n), flags (t', n))``."""
    n_time, n = values.shape
    # Blank the invalid observations: whatever they hold (inf, huge numbers) must not reach the arithmetic below,
    # where it would raise floating-point warnings even though the result never uses it.
    values = np.where(valid, values, np.nan)
    index = np.arange(n_time)[:, None]
    # Position of the last valid observation at or before each source date, and the first at or after it.
    last = np.maximum.accumulate(np.where(valid, index, -1), axis=0)
    first = np.minimum.accumulate(np.where(valid, index, n_time)[::-1], axis=0)[::-1]
    # For each target date: the source date just before (or on) it and the one just after.
    right = np.searchsorted(source, target, side="left")
    on_date = (right < n_time) & (source[np.minimum(right, n_time - 1)] == target)
    before = np.where(on_date, right, right - 1)
    after = np.minimum(right, n_time - 1)
    prev = np.where(before[:, None] >= 0, last[np.maximum(before, 0)], -1)
    nxt = np.where(right[:, None] < n_time, first[after], n_time)
    has_prev, has_next = prev >= 0, nxt < n_time
    cols = np.arange(n)[None, :]
    v_prev = values[np.clip(prev, 0, n_time - 1), cols]
    v_next = values[np.clip(nxt, 0, n_time - 1), cols]
    t_prev = source[np.clip(prev, 0, n_time - 1)]
    t_next = source[np.clip(nxt, 0, n_time - 1)]
    t = target[:, None]
    if method == "linear":
        between = has_prev & has_next & (nxt > prev)
        weight = np.where(between, t - t_prev, 0.0) / np.where(between, t_next - t_prev, 1.0)
        inside = v_prev + weight * (v_next - v_prev)
    else:  # nearest valid observation, the earlier one on ties
        inside = np.where(t - t_prev <= t_next - t, v_prev, v_next)
    filled = np.where(has_prev & has_next, inside, np.where(has_prev, v_prev, v_next))
    flags = np.where(has_prev & has_next, Validity.VALID, Validity.INVALID).astype("uint8")
    none = ~(has_prev | has_next)
    filled = np.where(none, np.nan, filled)
    flags[none] = Validity.NO_DATA
    return filled.astype(values.dtype, copy=False), flags


def fill_gaps(
    cube: xr.DataArray,
    mask: xr.DataArray,
    *,
    dates=None,
    start=None,
    end=None,
    step: int | None = None,
    method: str = "linear",
) -> tuple[xr.DataArray, xr.DataArray]:
    """Resample every pixel's valid observations onto target dates.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy- or dask-backed; with dask, each chunk must hold the whole ``time`` axis.
    mask : validity mask (time, y, x)
        Only observations coded 0 are used; a NaN value counts as invalid too.
    dates : sequence of dates, optional
        The target dates. Otherwise every ``step`` days from ``start`` (default: the cube's first date) to ``end``
        (default: its last); with neither ``dates`` nor ``step`` the cube's own dates are the target.
    method : {"linear", "nearest"}
        Linear interpolation in time between the two valid neighbours, or the nearest valid observation.

    Returns
    -------
    filled : cube on the target dates
    flags : validity mask on the target dates: 0 interpolated, 1 held before the first or after the last valid
        date, 2 no valid date at all (value NaN).

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0., 99., 20.]).reshape(3, 1, 1, 1), ["2020-01-01", "2020-01-11", "2020-01-21"],
    ...                     ["NDVI"], transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> mask = dm.make_mask(np.array([0, 1, 0], "uint8").reshape(3, 1, 1), like=cube)
    >>> filled, flags = fill_gaps(cube, mask, step=5)
    >>> filled.values.ravel().tolist(), flags.values.ravel().tolist()
    ([0.0, 5.0, 10.0, 15.0, 20.0], [0, 0, 0, 0, 0])
    """
    validate(cube, "cube")
    validate(mask, "mask", check_values=False)
    if method not in METHODS:
        raise ConfigError(f"fill_gaps: unknown method {method!r}; choose one of {METHODS}.")
    for dim in ("time", "y", "x"):
        if cube.sizes[dim] != mask.sizes[dim] or not np.array_equal(cube[dim].values, mask[dim].values):
            raise DataModelError(
                f"fill_gaps: the mask's '{dim}' coordinate does not match the cube's. Build the mask from this cube."
            )
    if dates is None:
        if step is None:
            dates = cube.time.values
        else:
            dates = regular_dates(start or cube.time.values[0], end or cube.time.values[-1], step)
    target_times = pd.to_datetime(np.asarray(dates)).values
    if target_times.size == 0:
        raise ConfigError("fill_gaps: no target dates (check start, end and step).")
    if cube.chunks is not None and len(cube.chunks[0]) > 1:
        raise DataModelError(
            f"fill_gaps: a dask chunk must hold the whole time axis, but 'time' is split into {len(cube.chunks[0])} "
            "chunks. Rechunk first: cube.chunk({'time': -1})."
        )
    source, target = _to_days(cube.time.values), _to_days(target_times)
    dtype = cube.dtype if np.issubdtype(cube.dtype, np.floating) else np.float32
    valid = (mask == Validity.VALID) & cube.notnull()

    def run(values: np.ndarray, ok: np.ndarray):
        # values (y, x, band, time) and ok (y, x, band, time) from apply_ufunc: move time first, pixels flat.
        shape = values.shape[:-1]
        v = np.moveaxis(values.astype(dtype, copy=False), -1, 0).reshape(len(source), -1)
        k = np.moveaxis(ok, -1, 0).reshape(len(source), -1)
        filled, flags = _fill_block(v, k, source, target, method)
        return (np.moveaxis(filled.reshape(len(target), *shape), 0, -1),
                np.moveaxis(flags.reshape(len(target), *shape), 0, -1))

    filled, flags = xr.apply_ufunc(
        run,
        cube,
        valid,
        input_core_dims=[["time"], ["time"]],
        output_core_dims=[["date"], ["date"]],
        dask="parallelized",
        output_dtypes=[dtype, np.uint8],
        dask_gufunc_kwargs={"output_sizes": {"date": len(target_times)}},
    )
    filled = filled.rename(date="time").assign_coords(time=target_times).transpose(*CUBE_DIMS)
    filled.attrs = dict(cube.attrs)
    # A band-independent flag: the worst over bands (a pixel is only as good as its least-covered band).
    flags = flags.rename(date="time").assign_coords(time=target_times).max("band").transpose("time", "y", "x")
    filled = filled.rio.write_crs(cube.rio.crs)
    flags = flags.rename("validity").rio.write_crs(cube.rio.crs)
    return filled, flags
