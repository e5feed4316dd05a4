"""Temporal gap-filling: resample each pixel's valid observations onto a regular grid of dates (iota2's core step).

Takes a cube and its validity mask (from :mod:`labkit.masks`) and returns a cube on the target dates with every
cloudy or missing observation replaced, plus the validity mask of the result. Comes before :mod:`labkit.features`,
which expects every pixel to have a value on every date of one shared grid.

**Target dates.** ``dates`` (any sequence), or every ``step`` days from ``start`` to ``end``; ``step="auto"`` takes
the median revisit interval of the input (:func:`revisit_step`); with none of them, the cube's own dates.

**Methods.**

``"linear"`` (default)
    Linear interpolation in time between the valid observations just before and just after each target date.
``"nearest"``
    The valid observation closest in time (the earlier one on ties).
``"whittaker"``
    The Whittaker smoother (Eilers 2003), the standard for NDVI series (e.g. Atzberger and Eilers 2011), on the
    irregular dates with weights = validity: the values ``z`` at the *nodes* (every source date and every target
    date; dates less than :data:`NODE_TOLERANCE` apart share a node) that minimise
    ``sum_i w_i (y_i - z(t_i))**2 + lambda_ * roughness(z)``, where ``w_i`` is 1 for a valid observation and 0
    otherwise. One sparse (pentadiagonal) system per pixel, solved for a batch of pixels at once, then read at the
    target dates. See :func:`whittaker_penalty` for the roughness and the meaning of ``lambda_``. A pixel with a
    single valid date holds its value.

**Edges are defined, never invented.** Before a pixel's first valid date and after its last one, the value at that
date is *held* (for the smoother, its smoothed value there: no method extrapolates a trend) and flagged ``1`` in the
output mask; a pixel with no valid date at all is ``NaN`` and flagged ``2``. Values between two valid dates are
flagged ``0``. An observation is valid where the mask says ``0`` *and* the value is finite (not ``NaN``, not
``±inf``); the flag of a pixel is the worst over its bands. Mask codes other than 0, 1 and 2 are an error.

**Scale.** Pixels are processed in batches of a few thousand, in the cube's float type (float32 stays float32), into
preallocated outputs: besides the result, the memory used is bounded and small. Dask-backed cubes stay lazy and are
filled chunk by chunk; each chunk must hold the whole time axis.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import xarray as xr

from . import params, tiling
from .datamodel import CUBE_DIMS, Validity, checked_mask, validate
from .errors import ConfigError, DataModelError

METHODS = ("linear", "nearest", "whittaker")
DEFAULT_LAMBDA = 1000.0
"""Default ``lambda_`` of the Whittaker smoother: details shorter than about 35 days are smoothed out."""
NODE_TOLERANCE = 1 / 24
"""Days: dates closer than this (an hour: overlapping tiles of one pass) share one node of the Whittaker smoother."""
BATCH_VALUES = 1 << 22
"""Input values (dates x bands x pixels) gap-filled at a time, at most: the batch's arrays are a few times this size."""

_DAY = np.timedelta64(1, "D")


# ------------------------------------------------------------------------------------------------- target dates


def regular_dates(start, end, step: int) -> pd.DatetimeIndex:
    """Dates from ``start`` (at midnight) to ``end`` (inclusive when it falls on the grid) every ``step`` days.

    Example
    -------
    >>> regular_dates("2020-01-01", "2020-01-31", 10).strftime("%m-%d").tolist()
    ['01-01', '01-11', '01-21', '01-31']
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or step != int(step) or int(step) <= 0:
        raise ConfigError(f"regular_dates: step must be a positive number of days; got {step}.")
    return pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end), freq=f"{int(step)}D")


def revisit_step(times) -> int:
    """The median revisit interval of ``times``, in whole days: what ``step="auto"`` uses.

    The interval is taken between consecutive *acquisition days* (two acquisitions on one day, such as
    overlapping Sentinel-2 tiles, count once), its median rounded to the nearest day, and at least 1.

    Parameters
    ----------
    times : sequence of dates
        Acquisition dates, e.g. ``cube.time.values``.

    Returns
    -------
    int
        Days.

    Raises
    ------
    labkit.errors.ConfigError
        With fewer than two acquisition days.

    Example
    -------
    >>> revisit_step(["2021-01-01", "2021-01-06", "2021-01-11 10:30", "2021-01-11 10:40", "2021-01-31"])
    5
    """
    days = pd.DatetimeIndex(pd.to_datetime(list(np.asarray(times).ravel()))).normalize().unique().sort_values()
    if len(days) < 2:
        raise ConfigError(f"step='auto' needs at least two acquisition days to measure the revisit interval; the "
                          f"cube has {len(days)}. Give step as a number of days, or dates.")
    gaps = np.diff(days.values) / _DAY
    return max(1, int(np.floor(np.median(gaps) + 0.5)))


def _target_dates(times: np.ndarray, dates, start, end, step) -> np.ndarray:
    """The target dates (``datetime64[ns]``) that :func:`fill_gaps`'s arguments describe."""
    if dates is not None:
        if step is not None or start is not None or end is not None:
            raise ConfigError("fill_gaps: give either dates, or start/end/step; not both.")
        target = params.dates(np.asarray(dates).ravel(), "dates", "fill_gaps", increasing=True)
    elif step is None:
        if start is not None or end is not None:
            raise ConfigError("fill_gaps: start and end need a step (a number of days, or 'auto').")
        target = pd.DatetimeIndex(times)
    else:
        if isinstance(step, str):
            if step != "auto":
                raise ConfigError(f"fill_gaps: step must be a positive number of days or 'auto'; got {step!r}.")
            step = revisit_step(times)
        elif (isinstance(step, bool) or not isinstance(step, numbers.Real) or not np.isfinite(step)
              or step != int(step) or step <= 0):
            raise ConfigError(f"fill_gaps: step must be a positive number of days or 'auto'; got {step!r}.")
        try:
            first = pd.Timestamp(times[0] if start is None else start)
            last = pd.Timestamp(times[-1] if end is None else end)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"fill_gaps: start or end could not be read as a date ({error}).") from None
        target = regular_dates(first, last, int(step))
    if len(target) == 0:
        raise ConfigError("fill_gaps: no target dates (check start, end and step).")
    return target.as_unit("ns").values


def _to_days(times) -> np.ndarray:
    """Dates as float days since 1970-01-01 (to the second)."""
    return np.asarray(times, "datetime64[s]").astype("int64") / 86400.0


# ----------------------------------------------------------------------------------------------------- the verb


def fill_gaps(
    cube: xr.DataArray,
    mask: xr.DataArray,
    *,
    dates=None,
    start=None,
    end=None,
    step: int | str | None = None,
    method: str = "linear",
    lambda_: float | None = None,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Resample every pixel's valid observations onto target dates; returns the pair ``(filled, flags)``.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy- or dask-backed; with dask, each chunk must hold the whole ``time`` axis (the result stays lazy).
    mask : validity mask (time, y, x)
        Only observations coded 0 are used; a ``NaN`` value in the cube counts as invalid too.
    dates : sequence of dates, optional
        The target dates, in the order given (increasing, for the result to be a cube).
    start, end : dates, optional
        First and last target date with ``step`` (default: the cube's first and last date). The grid starts at
        midnight of ``start`` and ends on or before ``end``.
    step : int or "auto", optional
        Days between target dates. ``"auto"``: the median revisit interval of the cube's dates, rounded to whole
        days (:func:`revisit_step`), from its first date to its last. With neither ``dates`` nor ``step``, the
        target is the cube's own dates.
    method : {"linear", "nearest", "whittaker"}, default "linear"
        Linear interpolation between the two valid neighbours in time, the nearest valid observation, or the
        Whittaker smoother (see the module's documentation).
    lambda_ : float, optional
        Smoothing parameter of ``method="whittaker"`` (default :data:`DEFAULT_LAMBDA`), a positive number in the
        units of the classic daily Whittaker smoother: details shorter than about ``2 * pi * lambda_ ** 0.25`` days
        are smoothed out (35 days for 1000, 63 for 10 000). Not used by the other methods.

    Returns
    -------
    filled : cube on the target dates
        Float, the cube's dtype when it is a float type (else float32); the cube's attributes, band names, grid
        and CRS.
    flags : validity mask on the target dates
        0 between two valid dates, 1 held before the first or after the last valid date, 2 no valid date at all
        (value NaN); the worst over the bands.

    Raises
    ------
    labkit.errors.ConfigError
        A bad ``method``, ``step``, ``dates``, ``lambda_``; the message names the parameter.
    labkit.errors.DataModelError
        The mask is not on the cube's grid, or a dask chunk splits the time axis (the message says how to rechunk).

    See Also
    --------
    regular_dates, revisit_step, whittaker_penalty

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0., 99., 20.]).reshape(3, 1, 1, 1), ["2020-01-01", "2020-01-11", "2020-01-21"],
    ...                     ["NDVI"], transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> mask = dm.make_mask(np.array([0, 1, 0], "uint8").reshape(3, 1, 1), like=cube)
    >>> filled, flags = fill_gaps(cube, mask, step=5)
    >>> filled.values.ravel().tolist(), flags.values.ravel().tolist()
    ([0.0, 5.0, 10.0, 15.0, 20.0], [0, 0, 0, 0, 0])
    >>> filled, flags = fill_gaps(cube, mask, dates=["2019-12-27", "2020-01-16"], method="nearest")
    >>> filled.values.ravel().tolist(), flags.values.ravel().tolist()
    ([0.0, 20.0], [1, 0])
    """
    validate(cube, "cube")
    mask = checked_mask(mask, "fill_gaps")
    if not isinstance(method, str) or method not in METHODS:
        raise ConfigError(f"fill_gaps: unknown method {method!r}; choose one of {METHODS}.")
    if method == "whittaker":
        lambda_ = DEFAULT_LAMBDA if lambda_ is None else lambda_
        if isinstance(lambda_, bool) or not isinstance(lambda_, numbers.Real) or not (
                np.isfinite(lambda_) and lambda_ > 0):
            raise ConfigError(f"fill_gaps: lambda_ must be a positive number; got {lambda_!r}.")
        lambda_ = float(lambda_)
    elif lambda_ is not None:
        raise ConfigError(f"fill_gaps: lambda_ is the smoothing parameter of method='whittaker'; method={method!r} "
                          "does not use it.")
    for dim in ("time", "y", "x"):
        if cube.sizes[dim] != mask.sizes[dim] or not np.array_equal(cube[dim].values, mask[dim].values):
            raise DataModelError(
                f"fill_gaps: the mask's '{dim}' coordinate does not match the cube's. Build the mask from this cube."
            )
    target_times = _target_dates(cube.time.values, dates, start, end, step)
    if cube.chunks is not None and len(cube.chunks[0]) > 1:
        raise DataModelError(
            f"fill_gaps: a dask chunk must hold the whole time axis, but 'time' is split into {len(cube.chunks[0])} "
            "chunks. Rechunk first: cube.chunk({'time': -1})."
        )
    source, target = _to_days(cube.time.values), _to_days(target_times)
    dtype = np.dtype(cube.dtype if np.issubdtype(cube.dtype, np.floating) else np.float32)
    if method == "whittaker":
        plan = _WhittakerPlan(source, target, lambda_)
    else:
        plan = _InterpolationPlan(source, target, method)
    n_target = len(target_times)

    # Block by block through the engine, in the cube's own (time, band, y, x) layout (no transposition); the bands
    # of a pixel are filled together (they share its flag), and the flags travel as one more band.
    n_band = cube.sizes["band"]
    if cube.chunks is None and mask.chunks is None:  # in memory: one block, filled in place of the output
        filled_data, flags_data = _fill_block(cube.data, mask.data, plan=plan, out_dtype=dtype)
    else:
        stack = tiling.map_blocks(_fill_stacked, cube, mask, new_dims={"time": n_target, "band": n_band + 1},
                                  dtype=dtype, name="fill_gaps", kwargs={"plan": plan, "out_dtype": dtype}).data
        filled_data, flags_data = stack[:, :n_band], stack[:, n_band].astype(np.uint8)

    coords = {"time": target_times, "y": cube.y, "x": cube.x}
    filled = xr.DataArray(filled_data, dims=CUBE_DIMS, coords={**coords, "band": cube.band}, name=cube.name,
                          attrs=dict(cube.attrs))
    flags = xr.DataArray(flags_data, dims=("time", "y", "x"), coords=coords, name="validity")
    crs = cube.rio.crs
    if crs is not None:  # in place: these are new objects, and a copy would double the memory
        filled.rio.write_crs(crs, inplace=True).rio.write_transform(cube.rio.transform(), inplace=True)
        flags.rio.write_crs(crs, inplace=True).rio.write_transform(cube.rio.transform(), inplace=True)
    return filled, flags


def _fill_stacked(values: np.ndarray, codes: np.ndarray, *, plan, out_dtype) -> np.ndarray:
    """:func:`_fill_block` as one array for the block engine: the filled bands, then the flags as one more band."""
    filled, flags = _fill_block(values, codes, plan=plan, out_dtype=out_dtype)
    return np.concatenate([filled, flags[:, None].astype(out_dtype)], axis=1)


def _fill_block(values: np.ndarray, codes: np.ndarray, *, plan, out_dtype) -> tuple[np.ndarray, np.ndarray]:
    """Gap-fill one block: ``values (time, band, y, x)``, ``codes (time, y, x)`` -> ``(filled, flags)``."""
    n_time, n_band, height, width = values.shape
    filled, flags = plan.fill(values.reshape(n_time, n_band, height * width),
                              codes.reshape(n_time, height * width), out_dtype)
    return (filled.reshape(len(plan.target), n_band, height, width),
            flags.reshape(len(plan.target), height, width))


# ------------------------------------------------------------------------------------- linear and nearest kernel


class _InterpolationPlan:
    """What linear and nearest gap-filling need from the dates alone, and the batched kernel.

    For a batch of pixels, each source date gets the value and date of the last valid observation at or before it
    (a forward fill along time) and of the first at or after it (a backward fill). A target date between source
    dates ``i`` and ``i + 1`` then takes the forward fill at ``i`` and the backward fill at ``i + 1``, its two valid
    neighbours, whole rows at a time. The fills select values through their bits (``value & keep``), so whatever an
    invalid observation holds (NaN, inf, 1e30) never enters the arithmetic, and values are copied exactly. Before a
    pixel's first valid date the forward fill starts from the backward fill's first value, and after its last one
    the weight of the (missing) next value is 0: the edges are held. Every array is allocated once per call and
    reused from batch to batch.
    """

    def __init__(self, source: np.ndarray, target: np.ndarray, method: str):
        n_time = len(source)
        self.source, self.target, self.method = source, target, method
        self.source_bits = source.view(np.int64)[:, None]
        right = np.searchsorted(source, target, side="left")
        on_date = (right < n_time) & (source[np.minimum(right, n_time - 1)] == target)
        # The source date at or just before each target, and the one at or just after it (clipped at the ends,
        # where the fills hold the pixel's first or last valid observation).
        self.before = np.clip(np.where(on_date, right, right - 1), 0, n_time - 1)
        self.after = np.minimum(right, n_time - 1)

    def fill(self, values: np.ndarray, codes: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
        """``values (time, band, pixel)``, ``codes (time, pixel)`` -> ``filled (date, band, pixel)``, ``flags``."""
        n_time, n_band, n_pixel = values.shape
        floating = np.issubdtype(values.dtype, np.floating)
        filled = np.empty((len(self.target), n_band, n_pixel), dtype)
        flags = np.empty((len(self.target), n_pixel), np.uint8)
        workspaces: dict[int, _Workspace] = {}
        # At most BATCH_VALUES input values, and a sixteenth of a small block: the extra memory stays a small part
        # of the input's, whatever its size.
        batch = max(256, min(BATCH_VALUES // (n_time * n_band), -(-n_pixel // 16)))

        def workspace(bands: int, n: int) -> _Workspace:
            if bands not in workspaces:
                workspaces[bands] = _Workspace(n_time, len(self.target), bands, min(batch, n_pixel), np.dtype(dtype))
            return workspaces[bands].sized(n)

        for lo in range(0, n_pixel, batch):
            hi = min(lo + batch, n_pixel)
            valid = codes[:, lo:hi] == Validity.VALID
            block = values[:, :, lo:hi] if values.dtype == dtype else values[:, :, lo:hi].astype(dtype)
            # One validity for every band of a pixel: dates and weights are computed once for all bands...
            if not self._batch(block, valid, filled[:, :, lo:hi], flags[:, lo:hi], workspace(n_band, hi - lo),
                               check_nan=floating):
                # ... unless some band has NaN or ±inf where the mask says valid: then each band gets its own
                # validity, where only finite values are observations.
                flags[:, lo:hi] = 0
                part = np.empty((len(self.target), hi - lo), np.uint8)
                for band in range(n_band):
                    band_valid = valid & np.isfinite(block[:, band])
                    self._batch(block[:, band:band + 1], band_valid, filled[:, band:band + 1, lo:hi], part,
                                workspace(1, hi - lo))
                    np.maximum(flags[:, lo:hi], part, out=flags[:, lo:hi])
        return filled, flags

    def _batch(self, block, valid, out, out_flags, ws: _Workspace, check_nan: bool = False) -> bool:
        """Fill ``block (time, band, n)`` whose bands share ``valid (time, n)`` into ``out (date, band, n)``.

        With ``check_nan``, return False (and fill nothing) if a value is NaN or ±inf on a valid date.
        """
        n_time = block.shape[0]
        t = self.target[:, None]
        # Dates of the first valid observation at or after each source date (NO_DATE if none), and of the last at
        # or before it (before the first valid date: the first valid date, held).
        np.negative(valid, out=ws.keep_dates, dtype=np.int64)  # all ones where valid, all zeros elsewhere
        t_first, t_last = ws.t_first, ws.t_last
        _select(self.source_bits, ws.keep_dates, _NO_DATE_BITS, out=t_first.view(np.int64))
        _select(self.source_bits, ws.keep_dates, _BEFORE_BITS, out=t_last.view(np.int64))
        for i in range(n_time - 2, -1, -1):
            np.minimum(t_first[i], t_first[i + 1], out=t_first[i])
        np.maximum(t_last[0], t_first[0], out=t_last[0])
        for i in range(1, n_time):
            np.maximum(t_last[i], t_last[i - 1], out=t_last[i])
        # The same for the values, selected bit by bit; 0 after the last valid date, where its weight is 0.
        keep, first, last = ws.keep, ws.first, ws.last
        np.negative(valid[:, None, :], out=keep, dtype=keep.dtype)  # broadcast over the bands
        data = block.view(keep.dtype)
        np.bitwise_and(data[-1], keep[-1], out=first[-1])
        for i in range(n_time - 2, -1, -1):
            _select(data[i], keep[i], first[i + 1], out=first[i])
        _select(data[0], keep[0], first[0], out=last[0])  # before the first valid date: hold it
        for i in range(1, n_time):
            _select(data[i], keep[i], last[i - 1], out=last[i])
        if check_nan:
            with np.errstate(invalid="ignore", over="ignore"):
                total = np.add.reduce(last.view(block.dtype), axis=None)
            if not np.isfinite(total):
                return False  # the forward fill holds every valid value: one is NaN or ±inf (or the sum overflows)
        # Each target between its two valid neighbours, whole rows at a time.
        previous, following = ws.previous, ws.following
        np.take(last, self.before, axis=0, out=previous, mode="clip")
        np.take(first, self.after, axis=0, out=following, mode="clip")
        t_previous, t_next, weight = ws.t_previous, ws.t_next, ws.weight
        np.take(t_last, self.before, axis=0, out=t_previous, mode="clip")
        np.take(t_first, self.after, axis=0, out=t_next, mode="clip")
        if self.method == "linear":
            # 0 on a valid date and before the first one (where the span is 0), about 1e-27 after the last one.
            np.subtract(t_next, t_previous, out=t_next)
            np.maximum(t_next, 1e-9, out=t_next)
            np.subtract(t, t_previous, out=weight)
            np.divide(weight, t_next, out=weight)
            np.clip(weight, 0.0, 1.0, out=weight)
            np.copyto(ws.weight_cast[:, 0, :], weight, casting="same_kind")
            previous, following = previous.view(block.dtype), following.view(block.dtype)
            np.subtract(following, previous, out=following)
            np.multiply(following, ws.weight_cast, out=following)
            np.add(previous, following, out=out)
        else:  # nearest: the earlier one on ties
            np.subtract(t, t_previous, out=t_previous)
            np.subtract(t_next, t, out=t_next)
            np.less_equal(t_previous, t_next, out=ws.earlier)
            np.negative(ws.earlier[:, None, :], out=ws.choose, dtype=ws.choose.dtype)
            np.bitwise_xor(previous, following, out=previous)  # _select, with previous as its scratch
            np.bitwise_and(previous, ws.choose, out=previous)
            np.bitwise_xor(following, previous, out=out.view(previous.dtype))
        np.less(t, t_first[0], out=ws.early)
        np.greater(t, t_last[-1], out=ws.late)
        np.logical_or(ws.early, ws.late, out=out_flags, casting="unsafe")
        none = ~valid.any(axis=0)
        if none.any():
            out_flags[:, none] = Validity.NO_DATA
            out[:, :, none] = np.nan
        return True


class _Workspace:
    """The arrays of a batch of :class:`_InterpolationPlan`, allocated once for ``capacity`` pixels and reused."""

    def __init__(self, n_time: int, n_target: int, n_band: int, capacity: int, dtype: np.dtype):
        bits = np.dtype(f"i{dtype.itemsize}")
        self.shapes = {  # name: (shape without the pixel axis, dtype)
            "keep_dates": ((n_time,), np.int64), "t_first": ((n_time,), np.float64), "t_last": ((n_time,), np.float64),
            "keep": ((n_time, n_band), bits), "first": ((n_time, n_band), bits), "last": ((n_time, n_band), bits),
            "previous": ((n_target, n_band), bits), "following": ((n_target, n_band), bits),
            "t_previous": ((n_target,), np.float64), "t_next": ((n_target,), np.float64),
            "weight": ((n_target,), np.float64), "weight_cast": ((n_target, 1), dtype), "choose": ((n_target, 1), bits),
            "earlier": ((n_target,), bool), "early": ((n_target,), bool), "late": ((n_target,), bool),
        }
        self.buffers = {name: np.empty(int(np.prod(shape)) * capacity, dtype)
                        for name, (shape, dtype) in self.shapes.items()}

    def sized(self, n: int) -> _Workspace:
        """The arrays for a batch of ``n`` pixels (``n`` at most the capacity), as attributes."""
        for name, (shape, _) in self.shapes.items():
            size = int(np.prod(shape)) * n
            setattr(self, name, self.buffers[name][:size].reshape(*shape, n))
        return self


def _select(a, keep, b, *, out):
    """``out = a where keep else b``, bit by bit: ``keep`` is all ones or all zeros; integers, broadcast.

    ``b ^ ((a ^ b) & keep)``: three operations and no temporary; ``out`` must be neither ``a`` nor ``b``.
    """
    np.bitwise_xor(a, b, out=out)
    np.bitwise_and(out, keep, out=out)
    np.bitwise_xor(out, b, out=out)
    return out


_NO_DATE_BITS = np.array(1e30).view(np.int64)  # a date far after any other (days): "no valid date after"
_BEFORE_BITS = np.array(-1e30).view(np.int64)


# ------------------------------------------------------------------------------------------ Whittaker smoother


def whittaker_penalty(nodes: np.ndarray, lambda_: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The roughness penalty of the Whittaker smoother on irregular ``nodes`` (days), as three matrix bands.

    The smoother's curve ``z`` minimises ``sum_i w_i (y_i - z_i)**2 + lambda_ * R(z)``, with ``R`` the
    second-order roughness for unequal spacing (Eilers 2003, divided differences): for three consecutive nodes with
    spacings ``h1`` and ``h2``, the second derivative ``s = 2 ((z3 - z2) / h2 - (z2 - z1) / h1) / (h1 + h2)``,
    weighted by the length it stands for, ``(h1 + h2) / 2``. On nodes one day apart this is the classic
    ``sum (z[i+2] - 2 z[i+1] + z[i]) ** 2``, so ``lambda_`` means what it means for a daily series with weight 0 on
    the days without observation, whatever the spacing of the nodes.

    Returns
    -------
    diagonal, first, second : arrays of lengths ``m``, ``m - 1``, ``m - 2``
        The bands of the symmetric ``m x m`` matrix ``lambda_ * D' diag(g) D``.

    Example
    -------
    >>> d0, d1, d2 = whittaker_penalty(np.arange(4.0), 1.0)  # nodes 1 day apart: D is numpy.diff(I, 2)
    >>> d0.tolist(), d1.tolist(), d2.tolist()
    ([1.0, 5.0, 5.0, 1.0], [-2.0, -4.0, -2.0], [1.0, 1.0])
    """
    m = len(nodes)
    diagonal, first, second = np.zeros(m), np.zeros(max(m - 1, 0)), np.zeros(max(m - 2, 0))
    if m < 3:
        return diagonal, first, second
    h1, h2 = np.diff(nodes)[:-1], np.diff(nodes)[1:]
    coefficients = 2.0 * np.stack([1 / (h1 * (h1 + h2)), -1 / (h1 * h2), 1 / (h2 * (h1 + h2))])  # (3, m - 2)
    weight = lambda_ * (h1 + h2) / 2.0
    for i in range(3):
        np.add.at(diagonal, np.arange(i, m - 2 + i), weight * coefficients[i] ** 2)
    for i in range(2):
        np.add.at(first, np.arange(i, m - 2 + i), weight * coefficients[i] * coefficients[i + 1])
    second += weight * coefficients[0] * coefficients[2]
    return diagonal, first, second


class _WhittakerPlan:
    """Nodes and penalty of the Whittaker smoother for given source and target dates, and the batched kernel."""

    def __init__(self, source: np.ndarray, target: np.ndarray, lambda_: float):
        self.source, self.target = source, target
        # Nodes: the source and target dates, those closer than NODE_TOLERANCE merged (at the first of them).
        times = np.concatenate([source, target])
        order = np.argsort(times, kind="stable")
        sorted_times = times[order]
        new_node = np.concatenate([[True], np.diff(sorted_times) >= NODE_TOLERANCE])
        node_of_sorted = np.cumsum(new_node) - 1
        node_of = np.empty(len(times), np.int64)
        node_of[order] = node_of_sorted
        self.nodes = sorted_times[new_node]
        self.source_node, self.target_node = node_of[: len(source)], node_of[len(source):]
        # Sources are sorted, so each node's sources are a run: sum them with reduceat.
        self.run_starts = np.flatnonzero(np.concatenate([[True], np.diff(self.source_node) > 0]))
        self.run_nodes = self.source_node[self.run_starts]
        self.bands = whittaker_penalty(self.nodes, lambda_)

    def fill(self, values: np.ndarray, codes: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
        n_time, n_band, n_pixel = values.shape
        filled = np.empty((len(self.target), n_band, n_pixel), dtype)
        flags = np.empty((len(self.target), n_pixel), np.uint8)
        batch = max(64, BATCH_VALUES // (2 * len(self.nodes) * n_band))  # float64: 4 bytes more a value
        for lo in range(0, n_pixel, batch):
            hi = min(lo + batch, n_pixel)
            block = values[:, :, lo:hi].astype(np.float64)
            valid = codes[:, lo:hi] == Validity.VALID
            nan = ~np.isfinite(block)  # NaN and ±inf are not observations
            if not (nan.any(axis=1) & valid).any():
                self._batch(block, valid, filled[:, :, lo:hi], flags[:, lo:hi])
            else:  # some band has NaN where the mask says valid: each band gets its own validity
                flags[:, lo:hi] = 0
                part = np.empty((len(self.target), hi - lo), np.uint8)
                for band in range(n_band):
                    self._batch(block[:, band:band + 1], valid & ~nan[:, band], filled[:, band:band + 1, lo:hi], part)
                    np.maximum(flags[:, lo:hi], part, out=flags[:, lo:hi])
        return filled, flags

    def _batch(self, block: np.ndarray, valid: np.ndarray, out: np.ndarray, out_flags: np.ndarray) -> None:
        """Smooth ``block (time, band, n)`` whose bands share ``valid (time, n)``; write into ``out``, ``out_flags``."""
        m, n = len(self.nodes), valid.shape[1]
        weight = np.zeros((m, n))
        weight[self.run_nodes] = np.add.reduceat(valid.astype(np.float64), self.run_starts, axis=0)
        rhs = np.zeros((m, block.shape[1], n))
        rhs[self.run_nodes] = np.add.reduceat(np.where(valid[:, None], block, 0.0), self.run_starts, axis=0)
        n_nodes = np.count_nonzero(weight, axis=0)
        degenerate = n_nodes < 2  # 0 or 1 valid node: no curve to fit; hold the one value (or NaN)
        if degenerate.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                only = rhs[:, :, degenerate].sum(axis=0) / weight[:, degenerate].sum(axis=0)
            weight[:, degenerate] = 1.0
            rhs[:, :, degenerate] = np.nan_to_num(only)  # a constant: the smoother returns it exactly
        z = _solve_banded(self.bands, weight, rhs)
        # Each target's node, clipped to the pixel's first and last valid node: held outside, never extrapolated.
        has = valid.any(axis=0)
        first_node = self.source_node[np.argmax(valid, axis=0)]
        last_node = self.source_node[_last_true(valid)]
        node = np.clip(self.target_node[:, None], first_node, last_node)
        values = np.take_along_axis(z, node[:, None, :], axis=0)
        if degenerate.any():
            values[:, :, degenerate] = only
        out[...] = values
        t = self.target[:, None]
        t_start = np.where(has, self.source[np.argmax(valid, axis=0)], np.inf)
        t_end = np.where(has, self.source[_last_true(valid)], -np.inf)
        np.logical_or(t < t_start, t > t_end, out=out_flags, casting="unsafe")
        out_flags[:, ~has] = Validity.NO_DATA
        out[:, :, ~has] = np.nan


def _last_true(valid: np.ndarray) -> np.ndarray:
    """Index of the last ``True`` along axis 0 of ``valid (time, n)`` (0 where none)."""
    return valid.shape[0] - 1 - np.argmax(valid[::-1], axis=0)


def _solve_banded(bands, weight: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``(P + diag(w)) z = rhs`` for many pixels at once, with P pentadiagonal and symmetric.

    ``bands`` are P's diagonal, first and second off-diagonals (m, m-1, m-2), shared by every pixel; ``weight``
    is ``(m, n)``, ``rhs`` ``(m, k, n)``. LDL' factorisation without pivoting (the matrix is positive definite when
    a pixel has two valid nodes or more), vectorised over the pixels, then forward and back substitution.
    """
    a0, a1, a2 = bands
    m, n = weight.shape
    d = a0[:, None] + weight
    l1 = np.zeros((m, n))
    l2 = np.zeros((m, n))
    if m > 1:
        l1[1] = a1[0] / d[0]
        d[1] -= l1[1] ** 2 * d[0]
    for k in range(2, m):
        l2[k] = a2[k - 2] / d[k - 2]
        l1[k] = (a1[k - 1] - l2[k] * l1[k - 1] * d[k - 2]) / d[k - 1]
        d[k] -= l1[k] ** 2 * d[k - 1] + l2[k] ** 2 * d[k - 2]
    z = rhs.copy()
    if m > 1:
        z[1] -= l1[1] * z[0]
    for k in range(2, m):
        z[k] -= l1[k] * z[k - 1] + l2[k] * z[k - 2]
    z /= d[:, None, :]
    if m > 1:
        z[m - 2] -= l1[m - 1] * z[m - 1]
    for k in range(m - 3, -1, -1):
        z[k] -= l1[k + 1] * z[k + 1] + l2[k + 2] * z[k + 2]
    return z
