"""Exercises of notebook 02, gap-filling onto a regular grid of dates.

Besides three code exercises, two questions: a numeric reading of the longest gap between two clear observations
of a pixel (``02.longest_gap``), and a multiple choice on the method that overshoots (``02.overshoot``); both
answers are computed from the data.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import xarray as xr

from ...gapfill import fill_gaps
from ..compare import compare_dates, compare_values, within
from . import Exercise


def regular_grid(times, step: int) -> np.ndarray:
    """Dates every ``step`` days from midnight of the first of ``times`` to the last of them (included if on the grid).

    Example
    -------
    >>> times = np.array(["2016-01-03T10:00", "2016-01-09T10:05", "2016-01-24T09:58"], "datetime64[ns]")
    >>> regular_grid(times, step=10).astype("datetime64[D]")
    array(['2016-01-03', '2016-01-13', '2016-01-23'], dtype='datetime64[D]')
    """
    times = pd.DatetimeIndex(np.asarray(times))
    return pd.date_range(times[0].normalize(), times[-1], freq=f"{int(step)}D").values


def interpolate_by_hand(series: xr.DataArray, valid: xr.DataArray, when) -> float:
    """The value of ``series`` at date ``when``, linear in time between the last valid date at or before ``when`` and
    the first valid date at or after it.

    Example
    -------
    >>> import xarray as xr
    >>> times = pd.to_datetime(["2016-01-01", "2016-01-11", "2016-01-21"])
    >>> series = xr.DataArray([0.2, 0.0, 0.6], dims="time", coords={"time": times})
    >>> valid = xr.DataArray([True, False, True], dims="time", coords={"time": times})
    >>> round(interpolate_by_hand(series, valid, pd.Timestamp("2016-01-16")), 6)
    0.5
    """
    when = np.datetime64(pd.Timestamp(when), "ns")
    clear = series[valid.values]
    before, after = clear.sel(time=slice(None, when)), clear.sel(time=slice(when, None))
    t0, v0 = before.time.values[-1], float(before.values[-1])
    t1, v1 = after.time.values[0], float(after.values[0])
    if t1 == t0:
        return v0
    return v0 + (v1 - v0) * float((when - t0) / (t1 - t0))


def held_count(pixel_mask: xr.DataArray, grid) -> int:
    """How many dates of ``grid`` fall before the pixel's first valid date or after its last one (held values).

    Example
    -------
    >>> import xarray as xr
    >>> times = pd.to_datetime(["2016-01-05", "2016-01-15", "2016-01-25"])
    >>> pixel_mask = xr.DataArray(np.array([1, 0, 0], "uint8"), dims="time", coords={"time": times})
    >>> held_count(pixel_mask, pd.date_range("2016-01-01", "2016-02-10", freq="10D"))  # 01-01, 01-11, 01-31, 02-10
    4
    """
    valid_times = pixel_mask.time.values[pixel_mask.values == 0]
    grid = np.asarray(pd.DatetimeIndex(np.asarray(grid)).values)
    if valid_times.size == 0:
        return 0  # no valid date: nothing is held, every value is missing (flag 2)
    return int(((grid < valid_times[0]) | (grid > valid_times[-1])).sum())


def longest_gap(pixel_mask: xr.DataArray) -> float:
    """The longest time, in days, between two consecutive valid (code 0) dates of one pixel's mask ``(time,)``.

    Example
    -------
    >>> import xarray as xr
    >>> times = pd.to_datetime(["2016-01-01", "2016-01-11", "2016-01-21", "2016-02-20"])
    >>> pixel_mask = xr.DataArray(np.array([0, 1, 0, 0], "uint8"), dims="time", coords={"time": times})
    >>> longest_gap(pixel_mask)
    30.0
    """
    valid_times = pixel_mask.time.values[pixel_mask.values == 0]
    if valid_times.size < 2:
        return 0.0
    return round(float(np.diff(valid_times).max() / np.timedelta64(1, "D")), 1)


OVERSHOOT = {"a": "linear", "b": "nearest", "c": "whittaker", "d": "none of them"}
"""The choices of question ``02.overshoot``: the methods of :func:`labkit.gapfill.fill_gaps`, or none."""


def overshoot(cube: xr.DataArray, mask: xr.DataArray, grid, iy: int, ix: int) -> str:
    """Which of :data:`OVERSHOOT` gives, between two clear observations of the pixel (``iy``, ``ix``), values outside
    their range the most often, gap-filled onto ``grid`` (each method with its default options); ``"d"`` if none.

    Example
    -------
    >>> from labkit.datamodel import make_cube, make_mask
    >>> ndvi = np.array([0.2, 0.2, 0.2, 0.9, 0.2, 0.2, 0.2]).reshape(7, 1, 1, 1)
    >>> cube = make_cube(ndvi, pd.date_range("2016-01-01", periods=7, freq="10D"), ["NDVI"],
    ...                  transform=(10.0, 0, 0.0, 0, -10.0, 10.0), crs="EPSG:32633")
    >>> mask = make_mask(np.zeros((7, 1, 1), "uint8"), like=cube)
    >>> overshoot(cube, mask, pd.date_range("2016-01-01", periods=13, freq="5D"), iy=0, ix=0)
    'c'
    """
    pixel = {"y": [iy], "x": [ix]}
    pixel_mask = mask.isel(y=iy, x=ix)
    clear_times = pixel_mask.time.values[pixel_mask.values == 0]
    clear_values = cube.isel(band=0, y=iy, x=ix).values[pixel_mask.values == 0]
    grid = np.asarray(pd.DatetimeIndex(np.asarray(grid)).values)
    after = np.searchsorted(clear_times, grid)  # the first clear date at or after each grid date
    inside = (after > 0) & (after < clear_times.size)
    before_value, after_value = clear_values[after[inside] - 1], clear_values[after[inside]]
    low, high = np.minimum(before_value, after_value), np.maximum(before_value, after_value)
    counts = {}
    for key, method in OVERSHOOT.items():
        if method in ("linear", "nearest", "whittaker"):
            filled, _ = fill_gaps(cube.isel(pixel), mask.isel(pixel), dates=grid, method=method)
            values = filled.isel(band=0, y=0, x=0).values[inside]
            counts[key] = int(((values < low - 1e-6) | (values > high + 1e-6)).sum())
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else "d"


EXERCISES: dict[str, Exercise] = {
    "02.regular_grid": Exercise(
        reference=regular_grid,
        title="a regular grid of dates",
        hint="pandas makes regular sequences of dates: look at pd.date_range and its freq argument.",
        hints=(
            "Start at midnight of the first date (a Timestamp's .normalize()), end at the last date, every 10 days.",
            "pd.date_range(start, end, freq='10D') makes the grid; start at midnight of the first date "
            "(pd.Timestamp(times[0]).normalize()) and end at the last date.",
        ),
        compare=compare_dates,
    ),
    "02.interpolate_by_hand": Exercise(
        reference=interpolate_by_hand,
        title="one value interpolated by hand",
        hint="On a straight line, the value at `when` is v_before plus the change in value (v_after - v_before) "
             "times the fraction of the way from t_before to t_after.",
        hints=(
            "The fraction of the way is (when - t_before) / (t_after - t_before), a ratio of two time differences.",
            "value = v_before + (v_after - v_before) * (when - t_before) / (t_after - t_before); dividing two time "
            "differences (numpy timedelta64) gives a plain number.",
        ),
        compare=functools.partial(compare_values, rtol=1e-5, atol=1e-6),
    ),
    "02.held_count": Exercise(
        reference=held_count,
        title="number of values held at the ends of the series",
        hint="Held values have their own flag in pixel_flags.",
        hints=(
            "Held values are flagged 1: count the dates where the pixel's flags equal 1, or the grid dates before "
            "its first clear date and after its last one.",
        ),
    ),
    "02.longest_gap": Exercise(
        reference=longest_gap,
        title="your reading: the longest gap between two clear observations",
        hint="Look for the longest stretch of the plot with red crosses only, between two green dots, and read its "
             "length on the time axis.",
        hints=("The ticks of the time axis are about half a year apart, about 180 days.",),
        compare=within(rel=0.25),
        explanation="About 100 days, in the autumn of 2015: from early September to mid-December, every acquisition "
                    "of this pixel is cloudy. Whatever method fills such a gap can only guess what happened in it: "
                    "linear interpolation draws a straight line over three months, and a cut or a harvest inside "
                    "the gap is lost. A map of the longest gap per pixel tells where the filled values are guesses.",
    ),
    "02.overshoot": Exercise(
        reference=overshoot,
        title="your prediction: the method that overshoots",
        hint="For each method, ask where a filled value comes from: from the two clear neighbours only, or from a "
             "curve fitted to many observations?",
        hints=("Linear interpolation is a weighted mean of the two neighbours, between them by construction; nearest "
               "copies one of them.",),
        choices=OVERSHOOT,
        explanation="Linear interpolation is a weighted mean of the two clear neighbours, and nearest copies one of "
                    "them: neither can leave their range. The Whittaker smoother fits one smooth curve to the whole "
                    "series: like a bent ruler, it swings past a sharp peak or dip, above or below both neighbours. "
                    "It gains smoothness, at the price of values that no observation supports.",
    ),
}
