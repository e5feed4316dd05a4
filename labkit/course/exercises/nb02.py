"""Exercises of notebook 02, gap-filling onto a regular grid of dates."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import xarray as xr

from ..compare import compare_dates, compare_values
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
}
