"""labkit.gapfill: every result is checked against a per-pixel brute force (numpy.interp, or an explicit nearest
search), on hand-made edge cases, hypothesis-drawn cubes and the real Slovenian NDVI series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError
from labkit.gapfill import fill_gaps, regular_dates

DAY0 = np.datetime64("2020-01-01", "D")
# NaN and inf are part of the data: handling them must not raise floating-point warnings.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
TRANSFORM = (10.0, 0, 300000.0, 0, -10.0, 5000000.0)


def _cube(values, days, bands=None):
    values = np.asarray(values)
    bands = bands or [f"b{i}" for i in range(values.shape[1])]
    return dm.make_cube(values, DAY0 + np.asarray(days), bands, transform=TRANSFORM, crs="EPSG:32631")


def _mask(codes, cube):
    return dm.make_mask(np.asarray(codes, "uint8"), like=cube)


def _series(values, codes, days):
    """A one-pixel, one-band cube and its mask from 1-D lists."""
    cube = _cube(np.asarray(values, "float64").reshape(-1, 1, 1, 1), days)
    return cube, _mask(np.asarray(codes).reshape(-1, 1, 1), cube)


def _days(times):
    """Days since DAY0, with the time of day (real acquisitions are dated to the second)."""
    return (np.asarray(times, "datetime64[s]") - DAY0).astype("int64") / 86400.0


def brute_force(cube, mask, target, method="linear"):
    """Gap-fill pixel by pixel: numpy.interp (which holds the end values) or an explicit nearest search."""
    values = cube.values.astype("float64")
    valid = (mask.values[:, None] == 0) & ~np.isnan(values)
    source, target = _days(cube.time.values), _days(target)
    n_band, height, width = values.shape[1:]
    filled = np.full((len(target), n_band, height, width), np.nan)
    flags = np.zeros((len(target), n_band, height, width), "uint8")
    for b in range(n_band):
        for i in range(height):
            for j in range(width):
                ok = valid[:, b, i, j]
                if not ok.any():
                    flags[:, b, i, j] = 2
                    continue
                t, v = source[ok], values[ok, b, i, j]
                if method == "linear":
                    filled[:, b, i, j] = np.interp(target, t, v)
                else:  # the closest valid date; np.argmin takes the earlier one on ties
                    filled[:, b, i, j] = v[np.argmin(np.abs(target[:, None] - t[None, :]), axis=1)]
                flags[:, b, i, j] = np.where((target >= t[0]) & (target <= t[-1]), 0, 1)
    return filled, flags.max(axis=1)


# ------------------------------------------------------------------------------------------------- edge cases


def test_docstring_case_by_hand():
    cube, mask = _series([0.0, 99.0, 20.0], [0, 1, 0], [0, 10, 20])
    filled, flags = fill_gaps(cube, mask, step=5)
    np.testing.assert_allclose(filled.values.ravel(), [0, 5, 10, 15, 20])
    assert flags.values.ravel().tolist() == [0, 0, 0, 0, 0]
    np.testing.assert_array_equal(filled.time.values, DAY0 + np.arange(0, 21, 5))


def test_pixel_without_valid_date_is_nan_and_flag_2():
    cube, mask = _series([0.3, 0.5, 0.7], [1, 2, 1], [0, 10, 20])
    filled, flags = fill_gaps(cube, mask, step=5)
    assert np.isnan(filled.values).all()
    assert (flags.values == 2).all()


def test_before_first_and_after_last_valid_date_hold_the_value_with_flag_1():
    cube, mask = _series([9.0, 0.2, 0.4, 9.0], [1, 0, 0, 2], [0, 10, 20, 30])
    filled, flags = fill_gaps(cube, mask, step=5)
    np.testing.assert_allclose(filled.values.ravel(), [0.2, 0.2, 0.2, 0.3, 0.4, 0.4, 0.4])
    assert flags.values.ravel().tolist() == [1, 1, 0, 0, 0, 1, 1]


def test_target_dates_outside_the_series_are_held():
    cube, mask = _series([0.1, 0.6, 0.2], [0, 0, 0], [0, 10, 20])
    dates = DAY0 + np.array([-30, -1, 5, 21, 400])
    filled, flags = fill_gaps(cube, mask, dates=dates)
    np.testing.assert_allclose(filled.values.ravel(), [0.1, 0.1, 0.35, 0.2, 0.2])
    assert flags.values.ravel().tolist() == [1, 1, 0, 1, 1]
    np.testing.assert_array_equal(filled.time.values, dates)


def test_target_on_an_invalid_source_date_interpolates_across_it():
    cube, mask = _series([0.0, 5.0, 1.0, 3.0], [0, 0, 1, 0], [0, 10, 20, 40])
    filled, flags = fill_gaps(cube, mask)  # the cube's own dates
    np.testing.assert_allclose(filled.values.ravel(), [0.0, 5.0, 5.0 - 2.0 * 10 / 30, 3.0])
    assert flags.values.ravel().tolist() == [0, 0, 0, 0]


def test_nan_value_counts_as_invalid_even_where_the_mask_says_valid():
    cube, mask = _series([1.0, np.nan, 3.0], [0, 0, 0], [0, 10, 20])
    filled, _ = fill_gaps(cube, mask)
    np.testing.assert_allclose(filled.values.ravel(), [1.0, 2.0, 3.0])


def test_nearest_takes_the_earlier_observation_on_ties():
    cube, mask = _series([1.0, 7.0, 2.0], [0, 1, 0], [0, 10, 20])
    filled, flags = fill_gaps(cube, mask, dates=DAY0 + np.array([4, 10, 16, -3, 25]), method="nearest")
    assert filled.values.ravel().tolist() == [1.0, 1.0, 2.0, 1.0, 2.0]
    assert flags.values.ravel().tolist() == [0, 0, 0, 1, 1]


def test_flags_are_the_worst_over_bands():
    values = np.zeros((3, 2, 1, 2))
    values[:, 1, 0, 0] = np.nan  # band b1 of pixel (0, 0) never observed; b0 always
    values[0, 1, 0, 1] = np.nan  # band b1 of pixel (0, 1) missing on the first date only
    cube = _cube(values, [0, 10, 20])
    filled, flags = fill_gaps(cube, _mask(np.zeros((3, 1, 2)), cube))
    assert flags.values[:, 0, 0].tolist() == [2, 2, 2]
    assert flags.values[:, 0, 1].tolist() == [1, 0, 0]
    assert (filled.sel(band="b0").values == 0).all()
    assert np.isnan(filled.sel(band="b1").values[:, 0, 0]).all()


def test_output_follows_the_data_model_and_input_is_untouched(make_cube):
    cube = make_cube(n_time=7, height=3, width=4, seed=5).assign_attrs(source="test")
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 3, (7, 3, 4)).astype("uint8")
    mask = _mask(codes, cube)
    before, before_mask = cube.copy(deep=True), mask.copy(deep=True)
    filled, flags = fill_gaps(cube, mask, step=3)
    assert dm.validate(filled) == "cube" and dm.validate(flags) == "mask"
    assert filled.dtype == np.float32 and flags.dtype == np.uint8 and flags.name == "validity"
    assert filled.attrs["source"] == "test"
    assert filled.rio.crs == cube.rio.crs and flags.rio.crs == cube.rio.crs
    assert filled.rio.transform() == cube.rio.transform()
    np.testing.assert_array_equal(filled.x.values, cube.x.values)
    np.testing.assert_array_equal(filled.y.values, cube.y.values)
    assert filled.band.values.tolist() == cube.band.values.tolist()
    target = regular_dates(cube.time.values[0], cube.time.values[-1], 3)
    np.testing.assert_array_equal(filled.time.values, target.values)
    xr.testing.assert_identical(cube, before)
    xr.testing.assert_identical(mask, before_mask)


def test_integer_cube_gives_float32():
    values = np.array([10, 0, 30], "int16").reshape(3, 1, 1, 1)
    cube = _cube(values, [0, 10, 20])
    filled, _ = fill_gaps(cube, _mask([[[0]], [[1]], [[0]]], cube))
    assert filled.dtype == np.float32
    np.testing.assert_allclose(filled.values.ravel(), [10, 20, 30])


def test_float64_is_kept(make_cube):
    cube = make_cube(n_time=3, height=2, width=2, dtype="float64")
    filled, _ = fill_gaps(cube, _mask(np.zeros((3, 2, 2)), cube))
    assert filled.dtype == np.float64
    np.testing.assert_array_equal(filled.values, cube.values)


@pytest.mark.parametrize("method", ["linear", "nearest"])
def test_random_cube_matches_brute_force(make_cube, method):
    cube = make_cube(n_time=9, bands=("B04", "B08", "B11"), height=6, width=5, seed=11)
    codes = np.random.default_rng(11).choice([0, 0, 1, 2], size=(9, 6, 5)).astype("uint8")
    codes[:, 0, 0] = 1  # one pixel never valid
    mask = _mask(codes, cube)
    dates = pd.date_range("2021-02-20", "2021-04-15", freq="4D")
    filled, flags = fill_gaps(cube, mask, dates=dates, method=method)
    expected, expected_flags = brute_force(cube, mask, dates.values, method)
    np.testing.assert_allclose(filled.values, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(flags.values, expected_flags)


def test_dask_cube_stays_lazy_and_agrees(make_cube):
    cube = make_cube(n_time=8, height=9, width=7, seed=3)
    mask = _mask(np.random.default_rng(3).integers(0, 3, (8, 9, 7)), cube)
    eager, eager_flags = fill_gaps(cube, mask, step=4)
    lazy, lazy_flags = fill_gaps(cube.chunk({"y": 4, "x": 3}), mask, step=4)
    assert lazy.chunks is not None and lazy_flags.chunks is not None
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(lazy_flags.values, eager_flags.values)


def test_real_slovenian_series_match_brute_force():
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    cube, mask = data.cube.isel(y=slice(0, 40), x=slice(0, 30)), data.mask.isel(y=slice(0, 40), x=slice(0, 30))
    filled, flags = fill_gaps(cube, mask, step=10)
    dates = regular_dates(cube.time.values[0], cube.time.values[-1], 10)
    expected, expected_flags = brute_force(cube, mask, dates.values)
    np.testing.assert_allclose(filled.values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(flags.values, expected_flags)
    assert not np.isnan(filled.values).any()  # every pixel of the patch has clear dates


# ------------------------------------------------------------------------------------------- hypothesis tests


@st.composite
def gappy_cubes(draw, n_band=1, min_valid=0):
    """A small cube with random dates, values and validity codes."""
    n_time = draw(st.integers(2, 8))
    days = sorted(draw(st.sets(st.integers(0, 200), min_size=n_time, max_size=n_time)))
    height, width = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_time, n_band, height, width))
    codes = rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2], size=(n_time, height, width)).astype("uint8")
    for i in range(height):  # at least min_valid valid dates in every pixel
        for j in range(width):
            codes[rng.permutation(n_time)[:min_valid], i, j] = 0
    cube = _cube(values, days)
    return cube, _mask(codes, cube)


def _targets(draw_from, cube, n=6):
    days = _days(cube.time.values)
    return DAY0 + np.array(sorted(set(draw_from(st.lists(st.integers(int(days[0]) - 15, int(days[-1]) + 15),
                                                           min_size=1, max_size=n)))))


HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(data=st.data(), slope=st.floats(-1, 1), intercept=st.floats(-5, 5))
def test_linear_series_is_reproduced_between_valid_dates(data, slope, intercept):
    cube, mask = data.draw(gappy_cubes(min_valid=2))
    days = _days(cube.time.values)
    line = (intercept + slope * days)[:, None, None, None] * np.ones(cube.shape)
    cube = cube.copy(data=np.where(mask.values[:, None] == 0, line, 1e6))  # garbage where invalid
    target = _targets(data.draw, cube)
    filled, flags = fill_gaps(cube, mask, dates=target)
    valid = mask.values == 0
    first = np.array([[days[valid[:, i, j]][0] for j in range(valid.shape[2])] for i in range(valid.shape[1])])
    last = np.array([[days[valid[:, i, j]][-1] for j in range(valid.shape[2])] for i in range(valid.shape[1])])
    t = _days(target)[:, None, None]
    inside = (t >= first) & (t <= last)
    expected = intercept + slope * t * np.ones_like(first)
    got = filled.values[:, 0]
    np.testing.assert_allclose(got[inside], expected[inside], rtol=1e-9, atol=1e-9)
    assert (flags.values[inside] == 0).all() and (flags.values[~inside] == 1).all()


@HYPOTHESIS
@given(data=st.data())
def test_interpolated_value_lies_between_its_valid_neighbours(data):
    cube, mask = data.draw(gappy_cubes(n_band=2))
    target = _targets(data.draw, cube)
    filled, _ = fill_gaps(cube, mask, dates=target)
    days, t_days = _days(cube.time.values), _days(target)
    for b in range(cube.sizes["band"]):
        for i in range(cube.sizes["y"]):
            for j in range(cube.sizes["x"]):
                ok = mask.values[:, i, j] == 0
                t, v = days[ok], cube.values[ok, b, i, j]
                for k, when in enumerate(t_days):
                    before, after = v[t <= when], v[t >= when]
                    if len(before) and len(after):
                        low, high = sorted([before[-1], after[0]])
                        assert low - 1e-12 <= filled.values[k, b, i, j] <= high + 1e-12


@HYPOTHESIS
@given(data=st.data(), method=st.sampled_from(["linear", "nearest"]),
       garbage=st.sampled_from(["noise", np.nan, np.inf, -np.inf, 1e30, 0.0]))
def test_values_on_invalid_dates_never_matter(data, method, garbage):
    cube, mask = data.draw(gappy_cubes(n_band=2))
    target = _targets(data.draw, cube)
    invalid = np.broadcast_to(mask.values[:, None] != 0, cube.shape)
    if garbage == "noise":
        garbage = np.random.default_rng(data.draw(st.integers(0, 99))).normal(size=cube.shape) * 1e3
    changed = cube.copy(data=np.where(invalid, garbage, cube.values))
    first, first_flags = fill_gaps(cube, mask, dates=target, method=method)
    second, second_flags = fill_gaps(changed, mask, dates=target, method=method)
    np.testing.assert_array_equal(first.values, second.values)
    np.testing.assert_array_equal(first_flags.values, second_flags.values)


@HYPOTHESIS
@given(data=st.data(), method=st.sampled_from(["linear", "nearest"]))
def test_result_does_not_depend_on_dask_chunks_in_y_and_x(data, method):
    cube, mask = data.draw(gappy_cubes(n_band=2))
    chunks = {"y": data.draw(st.integers(1, cube.sizes["y"])), "x": data.draw(st.integers(1, cube.sizes["x"]))}
    target = _targets(data.draw, cube)
    eager, eager_flags = fill_gaps(cube, mask, dates=target, method=method)
    lazy, lazy_flags = fill_gaps(cube.chunk(chunks), mask.chunk(chunks), dates=target, method=method)
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(lazy_flags.values, eager_flags.values)


@HYPOTHESIS
@given(data=st.data())
def test_nearest_returns_one_of_the_valid_values(data):
    cube, mask = data.draw(gappy_cubes(n_band=1))
    target = _targets(data.draw, cube)
    filled, flags = fill_gaps(cube, mask, dates=target, method="nearest")
    for i in range(cube.sizes["y"]):
        for j in range(cube.sizes["x"]):
            valid_values = set(cube.values[mask.values[:, i, j] == 0, 0, i, j].tolist())
            out = filled.values[:, 0, i, j]
            if valid_values:
                assert set(out.tolist()) <= valid_values
            else:
                assert np.isnan(out).all() and (flags.values[:, i, j] == 2).all()


@HYPOTHESIS
@given(data=st.data(), method=st.sampled_from(["linear", "nearest"]))
def test_hypothesis_cubes_match_brute_force(data, method):
    cube, mask = data.draw(gappy_cubes(n_band=2))
    target = _targets(data.draw, cube)
    filled, flags = fill_gaps(cube, mask, dates=target, method=method)
    expected, expected_flags = brute_force(cube, mask, target, method)
    np.testing.assert_allclose(filled.values, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(flags.values, expected_flags)


# ------------------------------------------------------------------------------------------------- bad inputs


def test_cube_chunked_along_time_is_refused_with_the_fix(make_cube):
    cube = make_cube(n_time=6, chunks={"time": 2})
    mask = _mask(np.zeros((6, 5, 4)), cube)
    with pytest.raises(DataModelError, match=r"'time' is split into 3 chunks\. Rechunk first: "
                                             r"cube\.chunk\(\{'time': -1\}\)"):
        fill_gaps(cube, mask)
    filled, _ = fill_gaps(cube.chunk({"time": -1}), mask)  # the advised fix works
    np.testing.assert_array_equal(filled.values, cube.values)


@pytest.mark.parametrize("dim", ["time", "y", "x"])
def test_mask_on_another_grid_is_refused(make_cube, dim):
    cube = make_cube(n_time=4, height=3, width=3)
    other = cube.assign_coords({dim: cube[dim].values + (np.timedelta64(1, "D") if dim == "time" else 10.0)})
    mask = _mask(np.zeros((4, 3, 3)), other)
    with pytest.raises(DataModelError, match=rf"the mask's '{dim}' coordinate does not match the cube's"):
        fill_gaps(cube, mask)


def test_mask_of_another_size_is_refused(make_cube):
    cube = make_cube(n_time=4, height=3, width=3)
    mask = _mask(np.zeros((3, 3, 3)), cube.isel(time=slice(0, 3)))
    with pytest.raises(DataModelError, match=r"mask's 'time' coordinate does not match"):
        fill_gaps(cube, mask)


def test_mask_with_wrong_dims_is_refused(make_cube):
    cube = make_cube(n_time=2, height=2, width=2)
    mask = _mask(np.zeros((2, 2, 2)), cube).transpose("y", "x", "time")
    with pytest.raises(DataModelError, match=r"mask: dims must be \('time', 'y', 'x'\)"):
        fill_gaps(cube, mask)


def test_unknown_method_is_refused(make_cube):
    cube = make_cube(n_time=2, height=1, width=1)
    with pytest.raises(ConfigError, match=r"unknown method 'cubic'; choose one of \('linear', 'nearest'\)"):
        fill_gaps(cube, _mask(np.zeros((2, 1, 1)), cube), method="cubic")


@pytest.mark.parametrize("kwargs", [{"dates": []}, {"start": "2022-01-01", "end": "2021-01-01", "step": 5}])
def test_no_target_date_is_refused(make_cube, kwargs):
    cube = make_cube(n_time=2, height=1, width=1)
    with pytest.raises(ConfigError, match="no target dates"):
        fill_gaps(cube, _mask(np.zeros((2, 1, 1)), cube), **kwargs)


@pytest.mark.parametrize("step", [0, -5])
def test_regular_dates_needs_a_positive_step(step):
    with pytest.raises(ConfigError, match=rf"step must be a positive number of days; got {step}"):
        regular_dates("2020-01-01", "2020-02-01", step)


@given(start=st.dates(), length=st.integers(0, 400), step=st.integers(1, 40))
def test_regular_dates_by_hand(start, length, step):
    end = start + pd.Timedelta(days=length)
    dates = regular_dates(start, end, step)
    expected = [pd.Timestamp(start) + pd.Timedelta(days=k * step) for k in range(length // step + 1)]
    assert list(dates) == expected
