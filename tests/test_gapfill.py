"""labkit.gapfill: every result is checked against a per-pixel brute force (numpy.interp, an explicit nearest search,
scipy.sparse for the Whittaker smoother), on hand-made edge cases, hypothesis-drawn cubes and the real Slovenian NDVI
series."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import scipy.sparse.linalg
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.datamodel as dm
import labkit.gapfill as gapfill
from labkit.errors import ConfigError, DataModelError
from labkit.gapfill import fill_gaps, regular_dates, revisit_step, whittaker_penalty

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


def whittaker_brute_force(cube, mask, target, lambda_):
    """The Whittaker smoother pixel by pixel, as documented, with scipy.sparse: nodes = every source and target date
    (whole days here, so none are merged), D = second divided differences, each row weighted by (h1 + h2) / 2; held
    outside the valid dates. Returns (filled, flags) like brute_force."""
    values = cube.values.astype("float64")
    valid = (mask.values[:, None] == 0) & ~np.isnan(values)
    source, target = _days(cube.time.values), _days(target)
    nodes = np.unique(np.concatenate([source, target]))
    m = len(nodes)
    h = np.diff(nodes)
    rows, cols, data = [], [], []
    for i in range(m - 2):
        h1, h2 = h[i], h[i + 1]
        scale = np.sqrt((h1 + h2) / 2)
        for j, c in enumerate([2 / (h1 * (h1 + h2)), -2 / (h1 * h2), 2 / (h2 * (h1 + h2))]):
            rows.append(i), cols.append(i + j), data.append(scale * c)
    D = scipy.sparse.csr_matrix((data, (rows, cols)), shape=(max(m - 2, 0), m))
    penalty = lambda_ * (D.T @ D)
    at_source, at_target = np.searchsorted(nodes, source), np.searchsorted(nodes, target)
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
                t = source[ok]
                flags[:, b, i, j] = np.where((target >= t[0]) & (target <= t[-1]), 0, 1)
                if ok.sum() == 1:
                    filled[:, b, i, j] = values[ok, b, i, j][0]
                    continue
                w = np.zeros(m)
                y = np.zeros(m)
                w[at_source[ok]] = 1.0
                y[at_source[ok]] = values[ok, b, i, j]
                z = scipy.sparse.linalg.spsolve((scipy.sparse.diags(w) + penalty).tocsc(), w * y)
                first, last = at_source[ok][0], at_source[ok][-1]
                filled[:, b, i, j] = z[np.clip(at_target, first, last)]
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
    filled, flags = fill_gaps(cube, mask, dates=DAY0 + np.array([-3, 4, 10, 16, 25]), method="nearest")
    assert filled.values.ravel().tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]
    assert flags.values.ravel().tolist() == [1, 0, 0, 0, 1]


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
@given(data=st.data(), method=st.sampled_from(["linear", "nearest", "whittaker"]),
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
@given(data=st.data(), method=st.sampled_from(["linear", "nearest", "whittaker"]))
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
    with pytest.raises(ConfigError,
                       match=r"unknown method 'cubic'; choose one of \('linear', 'nearest', 'whittaker'\)"):
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


@pytest.mark.parametrize("kwargs, message", [
    ({"step": 0}, r"step must be a positive number of days or 'auto'; got 0"),
    ({"step": -5}, r"step must be a positive number of days or 'auto'; got -5"),
    ({"step": 2.5}, r"step must be a positive number of days or 'auto'; got 2\.5"),
    ({"step": True}, r"step must be a positive number of days or 'auto'; got True"),
    ({"step": "weekly"}, r"step must be a positive number of days or 'auto'; got 'weekly'"),
    ({"dates": ["2021-03-01"], "step": 5}, r"give either dates, or start/end/step"),
    ({"start": "2021-03-01"}, r"start and end need a step"),
    ({"dates": ["2021-03-01", None]}, r"dates\[1\] is missing \(NaT\)"),
    ({"dates": ["not a date"]}, r"dates\[0\] = .not a date. is not a date"),
    ({"start": "someday", "step": 5}, r"start or end could not be read as a date"),
    ({"method": "whittaker", "lambda_": 0}, r"lambda_ must be a positive number; got 0"),
    ({"method": "whittaker", "lambda_": -1.0}, r"lambda_ must be a positive number; got -1\.0"),
    ({"method": "whittaker", "lambda_": float("nan")}, r"lambda_ must be a positive number; got nan"),
    ({"method": "whittaker", "lambda_": float("inf")}, r"lambda_ must be a positive number; got inf"),
    ({"method": "whittaker", "lambda_": "1e3"}, r"lambda_ must be a positive number; got '1e3'"),
    ({"lambda_": 100.0}, r"lambda_ is the smoothing parameter of method='whittaker'; method='linear' does not use it"),
    ({"method": None}, r"unknown method None"),
])
def test_bad_parameters_are_refused_naming_them(make_cube, kwargs, message):
    cube = make_cube(n_time=4, height=1, width=1)
    with pytest.raises(ConfigError, match=message):
        fill_gaps(cube, _mask(np.zeros((4, 1, 1)), cube), **kwargs)


# --------------------------------------------------------------------------------------- the automatic grid


def test_revisit_step_is_the_median_interval_between_acquisition_days():
    # 5, 5, 0 (same day: one revisit), 10, 5 days apart: acquisition days every 5, 5, 10, 5 days -> median 5
    times = ["2021-01-01", "2021-01-06", "2021-01-11 10:00", "2021-01-11 10:05", "2021-01-21", "2021-01-26"]
    assert revisit_step(times) == 5
    assert revisit_step(["2021-01-01", "2021-01-08", "2021-01-20"]) == 10  # median of 7 and 12 is 9.5: rounded up
    assert revisit_step(["2021-01-01", "2021-01-01 12:00", "2021-01-02"]) == 1


def test_revisit_step_needs_two_acquisition_days():
    with pytest.raises(ConfigError, match=r"step='auto' needs at least two acquisition days .* the cube has 1"):
        revisit_step(["2021-01-01 10:00", "2021-01-01 10:05"])


def test_step_auto_is_the_regular_grid_of_the_median_revisit(make_cube):
    cube = make_cube(n_time=6, height=2, width=2)
    cube = cube.assign_coords(time=DAY0 + np.array([0, 5, 10, 20, 25, 31]))  # median revisit: 5 days
    mask = _mask(np.zeros((6, 2, 2)), cube)
    filled, _ = fill_gaps(cube, mask, step="auto")
    np.testing.assert_array_equal(filled.time.values, DAY0 + np.arange(0, 31, 5))
    same, _ = fill_gaps(cube, mask, step=5)
    xr.testing.assert_identical(filled, same)
    later, _ = fill_gaps(cube, mask, step="auto", start=DAY0 + 7)
    np.testing.assert_array_equal(later.time.values, DAY0 + np.arange(7, 31, 5))


def test_step_auto_on_the_real_series_is_ten_days():
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    assert revisit_step(data.cube.time.values) == 10
    patch = {"y": slice(0, 2), "x": slice(0, 2)}
    filled, _ = fill_gaps(data.cube.isel(patch), data.mask.isel(patch), step="auto")
    first = pd.Timestamp(data.cube.time.values[0]).normalize()
    np.testing.assert_array_equal(filled.time.values, pd.date_range(first, data.cube.time.values[-1], freq="10D"))


# ------------------------------------------------------------------------------------------ Whittaker smoother


def test_whittaker_penalty_on_daily_nodes_is_eilers_second_differences():
    nodes = np.arange(7.0)
    d0, d1, d2 = whittaker_penalty(nodes, 3.0)
    dense = np.diag(d0) + np.diag(d1, 1) + np.diag(d1, -1) + np.diag(d2, 2) + np.diag(d2, -2)
    D = np.diff(np.eye(7), 2, axis=0)
    np.testing.assert_allclose(dense, 3.0 * D.T @ D, atol=1e-12)


def test_whittaker_on_a_daily_grid_is_the_classic_smoother(make_cube):
    rng = np.random.default_rng(0)
    days = np.sort(rng.choice(np.arange(1, 60), 20, replace=False))
    values = np.sin(days / 9.0) + rng.normal(0, 0.1, days.size)
    codes = np.where(rng.random(days.size) < 0.3, 1, 0)
    codes[[0, -1]] = 0
    cube, mask = _series(values, codes, days)
    target = DAY0 + np.arange(days[0], days[-1] + 1)  # every day: the nodes are the daily grid
    filled, flags = fill_gaps(cube, mask, dates=target, method="whittaker", lambda_=50.0)
    m = len(target)
    w, y = np.zeros(m), np.zeros(m)
    w[days[codes == 0] - days[0]] = 1.0
    y[days[codes == 0] - days[0]] = values[codes == 0]
    D = np.diff(np.eye(m), 2, axis=0)
    expected = np.linalg.solve(np.diag(w) + 50.0 * D.T @ D, w * y)  # Eilers (2003), eq. 5 with weights
    np.testing.assert_allclose(filled.values.ravel(), expected, rtol=1e-9, atol=1e-9)
    assert (flags.values == 0).all()


@pytest.mark.parametrize("lambda_", [0.1, 1000.0, 1e6])
def test_whittaker_matches_a_sparse_brute_force(make_cube, lambda_):
    cube = make_cube(n_time=12, bands=("B04", "B08"), height=4, width=5, seed=7, dtype="float64")
    cube = cube.assign_coords(time=DAY0 + np.array([0, 3, 8, 15, 16, 30, 41, 45, 60, 61, 77, 90]))
    codes = np.random.default_rng(7).choice([0, 0, 1, 2], size=(12, 4, 5)).astype("uint8")
    codes[:, 0, 0] = 1  # never valid
    codes[:, 0, 1] = [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]  # one valid date: held
    mask = _mask(codes, cube)
    target = DAY0 + np.arange(-10, 100, 7)
    filled, flags = fill_gaps(cube, mask, dates=target, method="whittaker", lambda_=lambda_)
    expected, expected_flags = whittaker_brute_force(cube, mask, target, lambda_)
    np.testing.assert_allclose(filled.values, expected, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(flags.values, expected_flags)
    assert (filled.values[:, :, 0, 1] == cube.values[3, :, 0, 1]).all()


@HYPOTHESIS
@given(data=st.data(), level=st.floats(-5, 5), lambda_=st.sampled_from([1e-2, 10.0, 1e4]))
def test_whittaker_reproduces_a_constant(data, level, lambda_):
    cube, mask = data.draw(gappy_cubes(n_band=2))
    valid = np.broadcast_to(mask.values[:, None] == 0, cube.shape)
    cube = cube.copy(data=np.where(valid, level, 1e6))  # garbage where invalid
    filled, flags = fill_gaps(cube, mask, dates=_targets(data.draw, cube), method="whittaker", lambda_=lambda_)
    defined = np.broadcast_to((flags.values != 2)[:, None], filled.shape)
    np.testing.assert_allclose(filled.values[defined], level, rtol=1e-9, atol=1e-9)
    assert np.isnan(filled.values[~defined]).all()


@HYPOTHESIS
@given(data=st.data(), slope=st.floats(-1, 1), intercept=st.floats(-5, 5))
def test_whittaker_keeps_a_straight_line_inside_and_holds_it_outside(data, slope, intercept):
    cube, mask = data.draw(gappy_cubes(min_valid=2))
    days = _days(cube.time.values)
    line = (intercept + slope * days)[:, None, None, None] * np.ones(cube.shape)
    cube = cube.copy(data=np.where(mask.values[:, None] == 0, line, -7.0))
    target = _targets(data.draw, cube)
    filled, flags = fill_gaps(cube, mask, dates=target, method="whittaker", lambda_=1e3)
    expected, expected_flags = brute_force(cube, mask, target)  # numpy.interp: the line inside, held outside
    np.testing.assert_allclose(filled.values, expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(flags.values, expected_flags)


def test_whittaker_with_a_small_lambda_nearly_interpolates():
    days = np.array([0, 10, 15, 30, 41, 50, 62, 70])
    values = np.array([0.2, 0.5, 0.4, 0.8, 0.75, 0.3, 0.6, 0.1])
    cube, mask = _series(values, [0, 0, 0, 1, 0, 0, 0, 0], days)
    filled, flags = fill_gaps(cube, mask, method="whittaker", lambda_=1e-3)  # on the cube's own dates
    observed = np.array([0, 0, 0, 1, 0, 0, 0, 0]) == 0
    np.testing.assert_allclose(filled.values.ravel()[observed], values[observed], atol=1e-3)
    assert 0.4 < filled.values.ravel()[3] < 0.75  # the cloudy date: a smooth curve between its neighbours
    assert (flags.values == 0).all()


def test_whittaker_smooths_noise():
    rng = np.random.default_rng(3)
    days = np.sort(rng.choice(np.arange(365), 70, replace=False))
    truth = 0.5 + 0.3 * np.sin(2 * np.pi * days / 365)
    noisy = truth + rng.normal(0, 0.05, days.size)
    cube, mask = _series(noisy, np.zeros(days.size, int), days)
    filled, _ = fill_gaps(cube, mask, method="whittaker", lambda_=1e4)
    error = filled.values.ravel() - truth
    assert np.var(error) < 0.25 * np.var(noisy - truth)
    assert np.var(np.diff(filled.values.ravel())) < 0.25 * np.var(np.diff(noisy))


def test_whittaker_never_extrapolates_a_trend():
    # A steep rise, cloudy at both ends: outside the valid dates, the smoothed value at the first/last one is held.
    days = np.arange(0, 100, 10)
    values = np.linspace(0.1, 0.9, days.size)
    codes = [1, 1, 0, 0, 0, 0, 0, 0, 2, 1]
    cube, mask = _series(values, codes, days)
    target = DAY0 + np.arange(-20, 121, 5)
    filled, flags = fill_gaps(cube, mask, dates=target, method="whittaker", lambda_=100.0)
    out, t = filled.values.ravel(), _days(target)
    inside = (t >= 20) & (t <= 70)
    assert (flags.values.ravel()[inside] == 0).all() and (flags.values.ravel()[~inside] == 1).all()
    on_first, on_last = out[t == 20][0], out[t == 70][0]
    assert (out[t < 20] == on_first).all() and (out[t > 70] == on_last).all()
    np.testing.assert_allclose([on_first, on_last], [values[2], values[7]], atol=1e-9)  # a line: reproduced


def test_whittaker_merges_acquisitions_of_one_day():
    # Two acquisitions minutes apart (overlapping tiles) share a node: the smoother sees their mean.
    times = np.array(["2021-05-01T10:00", "2021-05-11T10:00", "2021-05-11T10:07", "2021-05-21T10:00"],
                     "datetime64[ns]")
    cube = dm.make_cube(np.array([0.2, 0.4, 0.6, 0.5]).reshape(4, 1, 1, 1), times, ["NDVI"], transform=TRANSFORM,
                        crs="EPSG:32631")
    mask = _mask(np.zeros((4, 1, 1)), cube)
    filled, _ = fill_gaps(cube, mask, method="whittaker", lambda_=1e-6)
    np.testing.assert_allclose(filled.values.ravel(), [0.2, 0.5, 0.5, 0.5], atol=1e-5)


# ---------------------------------------------------------------------------------------------- memory bound


@pytest.mark.parametrize("method", ["linear", "whittaker"])
def test_extra_memory_is_bounded_by_the_batch_not_the_cube(make_cube, monkeypatch, method):
    monkeypatch.setattr(gapfill, "BATCH_VALUES", 1 << 14)
    extra = {}
    for size in (32, 64):
        cube = make_cube(n_time=20, bands=("B02", "B03", "B04", "B08"), height=size, width=size, seed=1)
        mask = _mask(np.random.default_rng(1).choice([0, 1], size=(20, size, size)), cube)
        tracemalloc.start()
        filled, flags = fill_gaps(cube, mask, step=2, method=method)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        extra[size] = peak - filled.nbytes - flags.nbytes
    # Four times more pixels, about the same extra memory: a few batches' worth (float64 for the smoother).
    assert extra[64] < 1.5 * extra[32] + 100_000
    assert extra[64] < 12 * 8 * (1 << 14) + 200_000


# ------------------------------------------------------------------------------------------- real cloudy data


@pytest.fixture(scope="module")
def slovenia():
    from labkit.datasets import load_slovenia

    return load_slovenia()


def test_real_series_linear_stays_within_the_observed_range_and_flags_follow_the_mask(slovenia):
    cube, mask = slovenia.cube, slovenia.mask
    filled, flags = fill_gaps(cube, mask, step=10)
    values, valid = cube.values[:, 0], mask.values == 0
    low = np.where(valid, values, np.inf).min(axis=0)
    high = np.where(valid, values, -np.inf).max(axis=0)
    out = filled.values[:, 0]
    assert ((out >= low) & (out <= high)).all()
    days, t = _days(cube.time.values), _days(filled.time.values)[:, None, None]
    first = np.where(valid, days[:, None, None], np.inf).min(axis=0)
    last = np.where(valid, days[:, None, None], -np.inf).max(axis=0)
    np.testing.assert_array_equal(flags.values, np.where((t >= first) & (t <= last), 0, 1))
    assert dm.validate(flags) == "mask" and dm.validate(filled) == "cube"


def test_real_cloudy_value_is_replaced_by_one_between_its_clear_neighbours(slovenia):
    cube, mask = slovenia.cube.isel(y=[50], x=[54]), slovenia.mask.isel(y=[50], x=[54])
    codes, raw = mask.values[:, 0, 0], cube.values[:, 0, 0, 0]
    filled, flags = fill_gaps(cube, mask)  # onto the cube's own dates
    out = filled.values[:, 0, 0, 0]
    clear = np.flatnonzero(codes == 0)
    cloudy = [i for i in np.flatnonzero(codes == 1) if clear[0] < i < clear[-1]]
    assert len(cloudy) > 5
    for i in cloudy:
        before, after = raw[clear[clear < i][-1]], raw[clear[clear > i][0]]
        assert min(before, after) <= out[i] <= max(before, after)
        assert out[i] != raw[i] or before == after
    np.testing.assert_array_equal(out[clear], raw[clear])  # clear dates are kept as they are
    assert (flags.values[clear[0]:clear[-1] + 1] == 0).all()


@pytest.mark.parametrize("method", ["nearest", "whittaker"])
def test_real_series_other_methods_share_the_flags(slovenia, method):
    patch = {"y": slice(0, 30), "x": slice(0, 30)}
    cube, mask = slovenia.cube.isel(patch), slovenia.mask.isel(patch)
    linear, linear_flags = fill_gaps(cube, mask, step="auto")
    other, flags = fill_gaps(cube, mask, step="auto", method=method)
    xr.testing.assert_identical(flags, linear_flags)
    assert np.isfinite(other.values).all()
    assert np.abs(other.values - linear.values).mean() < 0.1  # same series, another reading of it


def test_real_series_whittaker_matches_the_brute_force(slovenia):
    patch = {"y": slice(10, 13), "x": slice(20, 24)}
    cube, mask = slovenia.cube.isel(patch), slovenia.mask.isel(patch)
    # Target dates at midnight, acquisitions at about 10:00: separate nodes. But the two acquisitions of 2015-12-08
    # are minutes apart (one node, which the brute force does not know): compare on a series without such pairs.
    keep = np.r_[True, np.diff(cube.time.values) >= np.timedelta64(12, "h")]
    cube, mask = cube.isel(time=keep), mask.isel(time=keep)
    target = regular_dates(cube.time.values[0], cube.time.values[-1], 10)
    filled, flags = fill_gaps(cube, mask, dates=target, method="whittaker", lambda_=500.0)
    expected, expected_flags = whittaker_brute_force(cube, mask, target.values, 500.0)
    np.testing.assert_allclose(filled.values, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(flags.values, expected_flags)


def test_dask_mask_with_a_numpy_cube_is_filled_lazily(make_cube):
    cube = make_cube(n_time=8, height=9, width=7, seed=4)
    mask = _mask(np.random.default_rng(4).integers(0, 3, (8, 9, 7)), cube)
    eager, eager_flags = fill_gaps(cube, mask, step=3, method="whittaker")
    lazy, lazy_flags = fill_gaps(cube, mask.chunk({"y": 5, "x": 4}), step=3, method="whittaker")
    assert lazy.chunks is not None and lazy.chunks[2:] == ((5, 4), (4, 3))
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(lazy_flags.values, eager_flags.values)
