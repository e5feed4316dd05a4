"""labkit.features: the index registry (bands derived from the formulas, values by hand), the safe expression
evaluator, user functions (both kinds of output, shape errors naming the function, dask streaming block by block),
temporal statistics (by hand, NaN, day of year and dates), the compute_features entry point, bad inputs, and the
embedded Bolzano crop."""

from __future__ import annotations

import threading

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import labkit.datamodel as dm
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.features import (
    INDICES,
    STATS,
    TEMPORAL_STATS,
    Features,
    available_indices,
    compute_features,
    compute_indices,
    date_of_max,
    evaluate,
    expression_bands,
    feature_bands,
    index_bands,
    index_table,
    temporal_features,
    temporal_stats,
)

S2 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11")
# NaN and inf are part of the data: handling them must not raise floating-point warnings.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture
def s2(make_cube):
    """Reflectance-like values in [0.01, 0.6)."""
    cube = make_cube(n_time=4, bands=S2, height=3, width=5, seed=7)
    return cube * 0.59 + 0.01


def _band(cube, name):
    return cube.sel(band=name).values.astype("float64")


def _by_hand(cube):
    b = {name: _band(cube, name) for name in S2}
    return {
        "NDVI": (b["B08"] - b["B04"]) / (b["B08"] + b["B04"]),
        "NDWI": (b["B03"] - b["B08"]) / (b["B03"] + b["B08"]),
        "NDMI": (b["B08"] - b["B11"]) / (b["B08"] + b["B11"]),
        "NDBI": (b["B11"] - b["B08"]) / (b["B11"] + b["B08"]),
        "EVI": 2.5 * (b["B08"] - b["B04"]) / (b["B08"] + 6 * b["B04"] - 7.5 * b["B02"] + 1),
        "SAVI": 1.5 * (b["B08"] - b["B04"]) / (b["B08"] + b["B04"] + 0.5),
        "brightness": np.sqrt(b["B02"] ** 2 + b["B03"] ** 2 + b["B04"] ** 2 + b["B08"] ** 2),
        "NDRE": (b["B8A"] - b["B05"]) / (b["B8A"] + b["B05"]),
        "CIre": b["B07"] / b["B05"] - 1,
        "MCARI": ((b["B05"] - b["B04"]) - 0.2 * (b["B05"] - b["B03"])) * (b["B05"] / b["B04"]),
        "S2REP": 705 + 35 * ((b["B04"] + b["B07"]) / 2 - b["B05"]) / (b["B06"] - b["B05"]),
    }


# --------------------------------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", list(INDICES))
def test_every_index_declares_exactly_the_bands_its_formula_uses(name):
    index = INDICES[name]
    assert index.name == name
    assert list(index.bands) == expression_bands(index.formula)
    assert index_bands(name) == expression_bands(index.formula)
    assert len(index.description) > 20 and len(index.reference) > 20


def test_every_named_index_matches_its_formula_by_hand(s2):
    expected = _by_hand(s2)
    assert set(expected) == set(INDICES)
    out = compute_indices(s2, list(INDICES))
    assert out.band.values.tolist() == list(S2) + list(INDICES)
    for name, values in expected.items():
        np.testing.assert_allclose(out.sel(band=name).values, values, rtol=2e-5, err_msg=name)
    xr.testing.assert_identical(out.isel(band=slice(0, len(S2))).drop_vars("spatial_ref"),
                                s2.drop_vars("spatial_ref"))


def test_feature_bands_says_which_band_of_the_cube_each_new_band_reads(s2):
    modis = ["sur_refl_b01", "sur_refl_b02", "sur_refl_b03"]
    found = feature_bands(modis, ["NDVI"], {"ratio": "B08 / B04", "blue": "sur_refl_b03 * 2"})
    assert found == {"NDVI": {"B04": "sur_refl_b01", "B08": "sur_refl_b02"},
                     "ratio": {"B04": "sur_refl_b01", "B08": "sur_refl_b02"},
                     "blue": {"sur_refl_b03": "sur_refl_b03"}}
    assert list(feature_bands(s2, ["EVI"])["EVI"].values()) == index_bands("EVI", s2)  # a cube as well as names
    assert feature_bands(S2) == {}


@pytest.mark.parametrize("indices, expressions, error, message", [
    (["NDVI", "NDWI2"], None, ConfigError, r"NDWI2"),
    (["NDMI"], None, BandError, r"The index 'NDMI' needs band\(s\) \['B11'\]"),
    ([], {"ratio": "B12 / B04"}, BandError, r"The expression 'B12 / B04' needs band\(s\) \['B12'\]"),
    ([], {"bad": "B04 +"}, ConfigError, r"Cannot parse the expression 'B04 \+'"),
    ([], {"flat": "2 * 3"}, ConfigError, r"uses no band"),
    (["NDVI"], {"NDVI": "B08 - B04"}, ConfigError, r"the new band 'NDVI' would have the name of another new band"),
])
def test_feature_bands_refuses_what_the_cube_cannot_give(indices, expressions, error, message):
    with pytest.raises(error, match=message):
        feature_bands(["B04", "B08"], indices, expressions)


def test_index_bands_and_the_registry_table():
    assert index_bands("EVI") == ["B02", "B04", "B08"]
    assert index_bands("S2REP") == ["B04", "B05", "B06", "B07"]
    table = index_table()
    assert table.index.tolist() == list(INDICES)
    assert table.loc["NDVI", "formula"] == "(B08 - B04) / (B08 + B04)" and "Rouse" in table.loc["NDVI", "reference"]
    assert "available" not in table
    assert index_table(["B04", "B08"])["available"].sum() == 2


def test_available_indices(s2, make_cube):
    assert available_indices(s2) == list(INDICES)
    assert available_indices(make_cube(bands=("B04", "B08"))) == ["NDVI", "SAVI"]
    assert available_indices(["B03", "B08", "B11"]) == ["NDWI", "NDMI", "NDBI"]
    assert available_indices(["B12"]) == []


def test_ndvi_by_hand_on_a_single_pixel():
    cube = dm.make_cube(np.array([0.1, 0.5]).reshape(1, 2, 1, 1), ["2020-06-01"], ["B04", "B08"],
                        transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    assert compute_indices(cube, ["NDVI"]).sel(band="NDVI").item() == pytest.approx(0.4 / 0.6)


def test_output_is_a_cube_with_crs_dtype_and_order_kept(s2):
    out = compute_indices(s2, ["NDVI", "NDWI"], keep_bands=False)
    assert dm.validate(out) == "cube"
    assert out.dims == s2.dims and out.dtype == s2.dtype
    assert out.band.values.tolist() == ["NDVI", "NDWI"]
    assert out.rio.crs == s2.rio.crs and out.rio.transform() == s2.rio.transform()
    np.testing.assert_array_equal(out.time.values, s2.time.values)


def test_input_is_not_changed(s2):
    before = s2.copy(deep=True)
    compute_features(s2, indices=["NDVI"], functions={"f": lambda b: b["B04"] * 2}, stats=["max"])
    xr.testing.assert_identical(s2, before)


def test_user_expression_with_functions_powers_and_unary_minus(s2):
    out = compute_indices(s2, {"mix": "-sqrt(B08) + abs(B04 - B03) ** 2 + log(B11) * exp(B02) / 2"},
                          keep_bands=False)
    b = {name: _band(s2, name) for name in S2}
    expected = -np.sqrt(b["B08"]) + np.abs(b["B04"] - b["B03"]) ** 2 + np.log(b["B11"]) * np.exp(b["B02"]) / 2
    np.testing.assert_allclose(out.sel(band="mix").values, expected, rtol=1e-5)


def test_division_by_zero_and_nan_give_nan_never_inf(make_cube):
    cube = make_cube(n_time=1, height=1, width=3)
    values = cube.values.copy()
    values[0, :, 0, 0] = 0.0  # B04 + B08 == 0
    values[0, 0, 0, 1] = np.nan  # B04 missing
    out = compute_indices(cube.copy(data=values), ["NDVI"]).sel(band="NDVI").values.ravel()
    assert np.isnan(out[0]) and np.isnan(out[1]) and np.isfinite(out[2])
    log = compute_features(cube.copy(data=values), expressions={"l": "log(B04 - B04)"}).cube.sel(band="l")
    assert np.isnan(log.values).all()


def test_integer_reflectance_cube_gives_real_indices():
    # Reflectance stored as int16 x 10 000, as Sentinel-2 L2A products are.
    cube = dm.make_cube(np.array([1000, 5000]).reshape(1, 2, 1, 1).astype("int16"), ["2020-06-01"], ["B04", "B08"],
                        transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    out = compute_indices(cube, ["NDVI"])
    assert out.sel(band="NDVI").item() == pytest.approx(4000 / 6000, rel=1e-6)
    assert out.dtype == np.float32
    assert out.sel(band="B08").item() == 5000  # the cube's bands are kept, as floats
    assert compute_features(cube, stats=["max"]).timeless.dtype == np.float32


def test_dask_cube_stays_lazy_and_agrees(s2):
    lazy = compute_indices(s2.chunk({"y": 2, "x": 2}), ["NDVI", "EVI"])
    assert lazy.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), compute_indices(s2, ["NDVI", "EVI"]))


def test_evaluate_returns_time_y_x(s2):
    out = evaluate("B08 / B04", s2)
    assert out.dims == ("time", "y", "x")
    np.testing.assert_allclose(out.values, _band(s2, "B08") / _band(s2, "B04"), rtol=1e-5)


def test_expression_bands():
    assert expression_bands("sqrt(B8A) - 2 * B02 / (B02 + log(B11))") == ["B02", "B11", "B8A"]


# ------------------------------------------------------------------------------------------- user functions


def _ndvi(b):
    return (b["B08"] - b["B04"]) / (b["B08"] + b["B04"])


def test_a_function_returning_time_y_x_makes_a_new_band(s2):
    out = compute_features(s2, functions={"my_ndvi": _ndvi}, keep_bands=False)
    assert out.cube.band.values.tolist() == ["my_ndvi"] and out.timeless.sizes["feature"] == 0
    np.testing.assert_allclose(out.cube.sel(band="my_ndvi").values, _by_hand(s2)["NDVI"], rtol=1e-5)


def test_functions_returning_y_x_or_k_y_x_make_timeless_features(s2):
    def peak(b):  # (y, x)
        return np.nanmax(_ndvi(b), axis=0)

    def quantiles(b):  # (3, y, x)
        return np.nanquantile(b["B08"], [0.1, 0.5, 0.9], axis=0)

    out = compute_features(s2, functions={"peak": peak, "q": quantiles}, keep_bands=False)
    assert out.cube.sizes["band"] == 0
    assert out.timeless.dims == ("feature", "y", "x")
    assert out.timeless.feature.values.tolist() == ["peak", "q_0", "q_1", "q_2"]
    np.testing.assert_allclose(out.timeless.sel(feature="peak").values, _by_hand(s2)["NDVI"].max(axis=0), rtol=1e-5)
    np.testing.assert_allclose(out.timeless.sel(feature="q_1").values, np.median(_band(s2, "B08"), axis=0),
                               rtol=1e-5)


def test_functions_see_the_indices_expressions_and_earlier_functions(s2):
    seen = []

    def first(b):
        seen.append(sorted(b))
        return b["NDVI"] * 2

    def second(b):
        seen.append(sorted(b))
        return b["first"] - b["ratio"]

    out = compute_features(s2, indices=["NDVI"], expressions={"ratio": "B08 / B04"},
                           functions={"first": first, "second": second}, keep_bands=False)
    assert seen[0] == sorted([*S2, "NDVI", "ratio"]) and seen[1] == sorted([*S2, "NDVI", "ratio", "first"])
    hand = 2 * _by_hand(s2)["NDVI"] - _band(s2, "B08") / _band(s2, "B04")
    np.testing.assert_allclose(out.cube.sel(band="second").values, hand, rtol=1e-5)


@pytest.mark.parametrize("returned, shape", [
    (lambda b: b["B04"].ravel(), r"\(24,\)"),  # flattened
    (lambda b: b["B04"].transpose(0, 2, 1), r"\(4, 3, 2\)"),  # y and x swapped
    (lambda b: b["B04"][None], r"\(1, 4, 2, 3\)"),  # an extra axis
    (lambda b: 1.0, r"\(\)"),  # a number
])
def test_a_function_returning_a_wrong_shape_is_named(s2, returned, shape):
    with pytest.raises(ConfigError, match=rf"The function 'bad' returned an array of shape {shape} for a block of 4 "
                                          r"dates x 2 x 3 pixels; it must return \(time, y, x\) = \(4, 2, 3\) for a "
                                          r"new band, \(y, x\) = \(2, 3\) for one time-less feature, or \(k, y, x\)"):
        compute_features(s2, functions={"bad": returned})


def test_a_function_changing_its_kind_on_real_blocks_is_named(s2):
    def sneaky(b):  # a series on the 2 x 3 test block, one layer (y, x) on any other
        v = b["B04"]
        return v if v.shape[1:] == (2, 3) else v[0]

    with pytest.raises(ConfigError, match=r"The function 'sneaky' returned an array of shape \(3, 5\) for a block of "
                                          r"4 dates x 3 x 5 pixels.*On the test block it returned \(time, y, x\), a "
                                          r"new band 'sneaky', and it must return the same kind on every block"):
        compute_features(s2, functions={"sneaky": sneaky})
    lazy = compute_features(s2.chunk({"y": 2, "x": 2}), functions={"sneaky": sneaky})  # lazy: no error yet
    with pytest.raises(ConfigError, match=r"The function 'sneaky' returned an array of shape \(\d, \d\) for a block"):
        lazy.cube.compute()


def test_a_function_that_fails_or_writes_its_input_is_named(s2):
    def broken(b):
        return b["B99"]

    with pytest.raises(ConfigError, match=r"The function 'broken' failed on a test block of 4 dates x 2 x 3 pixels.*"
                                          r"KeyError: 'B99'"):
        compute_features(s2, functions={"broken": broken})

    def in_place(b):
        b["B04"][...] = 0
        return b["B04"]

    with pytest.raises(ConfigError, match=r"'in_place' failed.*ValueError: assignment destination is read-only"):
        compute_features(s2, functions={"in_place": in_place})


def test_a_function_that_is_not_callable_is_refused(s2):
    with pytest.raises(ConfigError, match=r"functions\['f'\] must be a function of a dict \{band name: array "
                                          r"\(time, y, x\)\}; got str"):
        compute_features(s2, functions={"f": "B04 * 2"})


def test_dask_streams_functions_block_by_block_and_agrees_with_numpy(s2):
    shapes, lock = [], threading.Lock()

    def spy(b):
        with lock:
            shapes.append(b["B04"].shape)
        return b["B08"] - b["B04"]

    def spread(b):
        return np.stack([b["B08"].max(axis=0), b["B04"].min(axis=0)])

    args = dict(indices=["NDVI"], functions={"diff": spy, "spread": spread}, stats=["max", "std", "doy_of_max"])
    lazy = compute_features(s2.chunk({"y": 2, "x": 3}), **args)
    assert shapes == [(4, 2, 3)]  # only the test block so far: nothing computed
    assert lazy.cube.chunks == ((4,), (len(S2) + 2,), (2, 1), (3, 2))
    assert lazy.timeless.chunks == ((lazy.timeless.sizes["feature"],), (2, 1), (3, 2))
    shapes.clear()
    cube, timeless = dask.compute(lazy.cube, lazy.timeless, scheduler="threads")
    assert sorted(shapes) == sorted([(4, 2, 3), (4, 2, 2), (4, 1, 3), (4, 1, 2)])  # one call per block, no more
    eager = compute_features(s2, **args)
    xr.testing.assert_allclose(cube, eager.cube)
    xr.testing.assert_allclose(timeless, eager.timeless)
    assert timeless.feature.values.tolist() == ["spread_0", "spread_1", "NDVI_max", "NDVI_std", "NDVI_doy_of_max",
                                                "diff_max", "diff_std", "diff_doy_of_max"]


def test_a_dask_cube_split_in_time_or_band_is_refused_with_the_fix(s2):
    for chunks in ({"time": 2}, {"band": 3}):
        with pytest.raises(DataModelError, match=r"a dask chunk must hold every date and every band, but '(time|band)' "
                                                 r"is split into \d chunks. Rechunk first: cube.chunk\("):
            compute_features(s2.chunk(chunks), indices=["NDVI"])


# -------------------------------------------------------------------------------------------- temporal features


def _series_cube(values, dates, bands=("NDVI",)):
    values = np.asarray(values, "float64")  # (time, pixel)
    data = values.reshape(len(dates), 1, 1, -1).repeat(len(bands), axis=1)
    return dm.make_cube(data, dates, list(bands), transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")


def test_temporal_features_by_hand_with_nan():
    dates = ["2020-01-10", "2020-03-01", "2020-07-04", "2020-12-31"]  # 2020 is a leap year
    values = [[0.2, np.nan, np.nan, 0.5],
              [0.8, 0.4, np.nan, 0.5],
              [0.5, np.nan, np.nan, 0.1],
              [0.1, 0.9, np.nan, 0.9]]
    out = temporal_features(_series_cube(values, dates), TEMPORAL_STATS)
    assert out.dims == ("feature", "y", "x")
    assert out.feature.values.tolist() == [f"NDVI_{s}" for s in TEMPORAL_STATS]
    got = {str(f): out.sel(feature=f).values.ravel() for f in out.feature.values}
    first = {k[5:]: v[0] for k, v in got.items()}
    assert first == pytest.approx({"min": 0.1, "max": 0.8, "mean": 0.4, "std": np.std([0.2, 0.8, 0.5, 0.1]),
                                   "amplitude": 0.7, "argmax": 1, "doy_of_max": 61, "doy_of_min": 366})
    second = {k[5:]: v[1] for k, v in got.items()}  # the NaN dates are ignored
    assert second == pytest.approx({"min": 0.4, "max": 0.9, "mean": 0.65, "std": 0.25, "amplitude": 0.5,
                                    "argmax": 3, "doy_of_max": 366, "doy_of_min": 61})
    assert all(np.isnan(v[2]) for v in got.values())  # no value at all: NaN, silently
    fourth = {k[5:]: v[3] for k, v in got.items()}  # ties: the first date
    assert fourth["argmax"] == 3 and fourth["doy_of_min"] == 186 and fourth["doy_of_max"] == 366


def test_temporal_features_match_xarray(make_cube):
    cube = make_cube(n_time=9, bands=("B04", "B08"), height=4, width=5, seed=3, step_days=45)
    values = cube.values.copy()
    values[np.random.default_rng(1).random(values.shape) < 0.3] = np.nan
    cube = cube.copy(data=values)
    out = temporal_features(cube, ["min", "max", "mean", "std", "amplitude", "doy_of_max"], bands=["B08"])
    b08 = cube.sel(band="B08")
    expected = {"min": b08.min("time"), "max": b08.max("time"), "mean": b08.mean("time"), "std": b08.std("time"),
                "amplitude": b08.max("time") - b08.min("time")}
    for stat, reference in expected.items():
        np.testing.assert_allclose(out.sel(feature=f"B08_{stat}").values, reference.values, rtol=1e-5, err_msg=stat)
    has_value = b08.notnull().any("time")
    doy = b08.fillna(-np.inf).idxmax("time").dt.dayofyear.where(has_value)
    np.testing.assert_array_equal(out.sel(feature="B08_doy_of_max").values, doy.values)


def test_date_of_max_gives_real_dates():
    dates = ["2019-11-20", "2020-05-05", "2020-08-30"]
    cube = _series_cube([[0.1, np.nan, 0.7], [0.6, np.nan, 0.2], [0.3, np.nan, 0.7]], dates, bands=("NDVI", "EVI"))
    out = date_of_max(cube)
    assert out.dims == ("band", "y", "x") and out.dtype == "datetime64[ns]"
    assert out.band.values.tolist() == ["NDVI", "EVI"]
    got = out.sel(band="NDVI").values.ravel()
    assert got[0] == np.datetime64("2020-05-05") and np.isnat(got[1]) and got[2] == np.datetime64("2019-11-20")
    lazy = date_of_max(cube.chunk({"x": 1}))
    assert lazy.chunks is not None
    xr.testing.assert_identical(lazy.compute(), out)


def test_stats_apply_to_the_new_bands_or_else_to_the_cube_bands(s2):
    out = compute_features(s2, indices=["NDVI", "NDWI"], stats=["max", "doy_of_max"])
    assert out.timeless.feature.values.tolist() == ["NDVI_max", "NDVI_doy_of_max", "NDWI_max", "NDWI_doy_of_max"]
    only_cube = compute_features(s2.sel(band=["B04", "B08"]), stats="mean")
    assert only_cube.timeless.feature.values.tolist() == ["B04_mean", "B08_mean"]
    chosen = compute_features(s2, indices=["NDVI"], stats={"B11": ["min"], "NDVI": ["amplitude"]})
    assert chosen.timeless.feature.values.tolist() == ["B11_min", "NDVI_amplitude"]
    np.testing.assert_allclose(chosen.timeless.sel(feature="B11_min").values, _band(s2, "B11").min(axis=0),
                               rtol=1e-6)


def test_temporal_stats_by_hand():
    series = np.array([[[0.2, 1.0], [0.8, np.nan], [0.5, 3.0]]])  # (1 sample, 3 dates, 2 bands)
    out = temporal_stats(series)
    assert out.shape == (1, 2, len(STATS))
    first = dict(zip(STATS, out[0, 0]))
    assert first["min"] == 0.2 and first["max"] == 0.8 and first["argmax"] == 1
    assert first["mean"] == pytest.approx(0.5) and first["amplitude"] == pytest.approx(0.6)
    assert first["std"] == pytest.approx(np.sqrt(((0.2 - 0.5) ** 2 + (0.8 - 0.5) ** 2 + 0) / 3))
    second = dict(zip(STATS, out[0, 1]))  # the NaN is ignored
    assert second == pytest.approx({"min": 1.0, "max": 3.0, "mean": 2.0, "std": 1.0, "amplitude": 2.0, "argmax": 2})


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 5, 2), elements=st.one_of(st.floats(-10, 10), st.just(np.nan))))
def test_temporal_stats_match_python(values):
    out = temporal_stats(values, ["min", "max", "mean", "argmax"])
    for i in range(3):
        for b in range(2):
            seen = [(t, v) for t, v in enumerate(values[i, :, b]) if not np.isnan(v)]
            if not seen:
                assert np.isnan(out[i, b]).all()
                continue
            numbers = [v for _, v in seen]
            peak = max(numbers)
            assert out[i, b, 0] == min(numbers) and out[i, b, 1] == peak
            assert out[i, b, 2] == pytest.approx(sum(numbers) / len(numbers))
            assert out[i, b, 3] == next(t for t, v in seen if v == peak)


def test_temporal_stats_on_another_axis():
    values = np.arange(24, dtype=float).reshape(2, 3, 4)
    out = temporal_stats(values, ["max"], axis=2)
    np.testing.assert_array_equal(out[..., 0], values[:, :, -1])


# ------------------------------------------------------------------------------------------ compute_features


def test_compute_features_returns_a_cube_and_timeless_features(s2):
    out = compute_features(s2, indices=["NDVI"], expressions={"ratio": "B08 / B04"},
                           functions={"peak": lambda b: b["NDVI"].max(axis=0)}, stats={"ratio": ["mean"]})
    assert isinstance(out, Features)
    cube, timeless = out  # a pair
    assert dm.validate(cube) == "cube" and cube.band.values.tolist() == [*S2, "NDVI", "ratio"]
    assert cube.attrs == s2.attrs and cube.name == s2.name
    assert timeless.dims == ("feature", "y", "x") and timeless.feature.values.tolist() == ["peak", "ratio_mean"]
    assert timeless.rio.crs == s2.rio.crs and timeless.rio.transform() == s2.rio.transform()
    np.testing.assert_array_equal(timeless.x.values, s2.x.values)
    np.testing.assert_allclose(timeless.sel(feature="ratio_mean").values,
                               (_band(s2, "B08") / _band(s2, "B04")).mean(axis=0), rtol=1e-5)


def test_compute_features_with_nothing_to_do(s2):
    out = compute_features(s2)
    xr.testing.assert_identical(out.cube, s2)
    assert out.timeless.shape == (0, 3, 5)
    assert compute_features(s2, keep_bands=False).cube.sizes["band"] == 0


def test_unknown_index_name_is_refused_with_the_known_list(s2):
    with pytest.raises(ConfigError, match=r"Unknown index name\(s\) \['NDXI'\] \('NDXI': did you mean 'ND[VW]I'\?\); "
                                          r"known: \['NDVI', 'NDWI', .*'S2REP'\]. For your own formula, give "
                                          r"expressions \(name: band arithmetic\)"):
        compute_features(s2, indices=["NDVI", "NDXI"])
    with pytest.raises(ConfigError, match=r"Unknown index name\(s\) \['ndvi'\] \('ndvi': did you mean 'NDVI'\?\)"):
        index_bands("ndvi")
    with pytest.raises(ConfigError, match=r"Unknown index name\(s\) \['WXYZ'\]; known"):  # nothing close
        index_bands("WXYZ")


def test_missing_band_is_named(make_cube):
    cube = make_cube(bands=("B04", "B08"))
    with pytest.raises(BandError, match=r"The index 'NDMI' needs band\(s\) \['B11'\], which the cube lacks \(it has "
                                        r"\['B04', 'B08'\]\). Indices this cube allows: \['NDVI', 'SAVI'\]"):
        compute_indices(cube, ["NDMI"])
    with pytest.raises(BandError, match=r"\['B02', 'B03'\]"):
        compute_features(cube, indices=["brightness"])
    with pytest.raises(BandError, match=r"The expression 'B08 / B05' needs band\(s\) \['B05'\]"):
        compute_features(cube, expressions={"r": "B08 / B05"})
    with pytest.raises(BandError, match=r"stats asks for band\(s\) \['NDVI'\], which neither the cube nor this call's "
                                        r"new bands hold \(there are \['B04', 'B08'\]\)"):
        compute_features(cube, stats={"NDVI": ["max"]})


def test_unknown_statistic_is_refused():
    with pytest.raises(ConfigError, match=r"Unknown temporal statistic\(s\) \['median'\]; choose from \('min'"):
        temporal_stats(np.zeros((1, 2, 1)), ["max", "median"])
    with pytest.raises(ConfigError, match=r"Unknown temporal statistic\(s\) \['doy_of_max'\]"):
        temporal_stats(np.zeros((1, 2, 1)), ["doy_of_max"])  # arrays have no dates


def test_unknown_statistic_of_a_cube_is_refused(s2):
    with pytest.raises(ConfigError, match=r"Unknown temporal statistic\(s\) \['peak'\]; choose from \(.*'doy_of_max'"):
        compute_features(s2, stats={"B04": ["max", "peak"]})


@pytest.mark.parametrize("kwargs, message", [
    ({"indices": ["NDVI"], "expressions": {"NDVI": "B08 - B04"}},
     r"the new band 'NDVI' would have the name of another new band \(choose another name\)"),
    ({"expressions": {"B04": "B08 - B04"}},
     r"the new band 'B04' would have the name of a band of the cube \(choose another name, or pass keep_bands=False"),
    ({"indices": ["NDVI"], "functions": {"NDVI": _ndvi}},
     r"the function 'NDVI' makes a new band with the name of another new band"),
    ({"indices": ["NDVI"], "stats": ["max"], "functions": {"NDVI_max": lambda b: b["B04"].max(axis=0)}},
     r"the time-less feature name\(s\) \['NDVI_max'\] would occur more than once"),
    ({"indices": {"NDVI": 1}}, r"indices must be a list of names; got dict"),
    ({"expressions": ["B08 - B04"]}, r"expressions must be a mapping \{name: expression\}; got list"),
    ({"expressions": {"": "B08 - B04"}}, r"the names in expressions must be non-empty strings; got ''"),
    ({"expressions": {"x": 3}}, r"An expression must be a string such as"),
])
def test_bad_arguments_are_refused(s2, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compute_features(s2, **kwargs)


def test_a_non_cube_is_refused(s2):
    with pytest.raises(DataModelError, match=r"cube: dims must be \('time', 'band', 'y', 'x'\)"):
        compute_features(s2.transpose("band", "time", "y", "x"), indices=["NDVI"])


def test_syntax_error_is_refused(s2):
    with pytest.raises(ConfigError, match=r"Cannot parse the expression '\(B08 - B04'"):
        compute_indices(s2, {"bad": "(B08 - B04"})


@pytest.mark.parametrize("expression, culprit", [
    ("B08.values", "B08.values"),
    ("B08 + __import__('os').system('true')", "__import__('os').system('true')"),
    ("max(B08, B04)", "max(B08, B04)"),
    ("B08 * 'B04'", "'B04'"),
    ("B08 // B04", "B08 // B04"),
    ("B08 if B04 else B02", "B08 if B04 else B02"),
    ("sqrt(B08, B04)", "sqrt(B08, B04)"),
    ("B08 * True", "True"),
])
def test_disallowed_constructs_are_refused(s2, expression, culprit):
    with pytest.raises(ConfigError) as error:
        evaluate(expression, s2)
    assert str(error.value) == (f"The expression {expression!r} uses {culprit!r}, which is not allowed: use numbers, "
                                "band names, + - * / ** and ['abs', 'exp', 'log', 'sqrt'].")
    with pytest.raises(ConfigError, match="which is not allowed"):  # refused on entry, even on a lazy cube
        compute_features(s2.chunk({"x": 2}), expressions={"e": expression})


@pytest.mark.parametrize("expression", ["1 + 1", "sqrt(2)", "__import__('os').system('true')"])
def test_expression_without_any_band_is_refused(s2, expression):
    with pytest.raises(ConfigError, match=r"uses no band: it would give the same number everywhere. Use band names "
                                          r"of the cube \(\['B02', "):
        compute_indices(s2, {"constant": expression})


# ---------------------------------------------------------------------------------------------- real data


def test_bolzano_ndvi_ndwi_computable_ndmi_refused_naming_b11():
    from labkit.datasets import load_bolzano

    data = load_bolzano()
    cube = data.cube
    assert available_indices(cube) == ["NDVI", "NDWI", "EVI", "SAVI", "brightness"]
    with pytest.raises(BandError, match=r"The index 'NDMI' needs band\(s\) \['B11'\], which the cube lacks \(it has "
                                        r"\['B02', 'B03', 'B04', 'B08'\]\)"):
        compute_features(cube, indices=["NDVI", "NDMI"])
    out = compute_features(cube, indices=["NDVI", "NDWI"], stats={"NDVI": ["max", "doy_of_max"]}, keep_bands=False)
    b = {name: _band(cube, name) for name in ("B03", "B04", "B08")}
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (b["B08"] - b["B04"]) / (b["B08"] + b["B04"])
        ndwi = (b["B03"] - b["B08"]) / (b["B03"] + b["B08"])
    np.testing.assert_allclose(out.cube.sel(band="NDVI").values, np.where(np.isfinite(ndvi), ndvi, np.nan), rtol=1e-5)
    np.testing.assert_allclose(out.cube.sel(band="NDWI").values, np.where(np.isfinite(ndwi), ndwi, np.nan), rtol=1e-5)
    # Where ESA's scene classification (SCL) says vegetation, NDVI is high and NDWI low; on water, NDWI is positive.
    scl, valid = data.extra["scl"], data.mask == 0
    ndvi, ndwi = out.cube.sel(band="NDVI").where(valid), out.cube.sel(band="NDWI").where(valid)
    assert float(ndvi.where(scl == 4).median()) > 0.7 and float(ndwi.where(scl == 4).median()) < -0.5
    assert float(ndvi.where(scl == 6).median()) < 0.1 and float(ndwi.where(scl == 6).median()) > 0
    doy = out.timeless.sel(feature="NDVI_doy_of_max").values
    assert set(np.unique(doy[np.isfinite(doy)])) <= set(pd.DatetimeIndex(cube.time.values).day_of_year.astype(float))


# ------------------------------------------------------------------------------------ any sensor, by alias

#: The Sentinel-2 bands of the ``s2`` fixture under other sensors' names (and common names), band for band.
OTHER_NAMES = {
    "landsat": {"B02": "SR_B2", "B03": "SR_B3", "B04": "SR_B4", "B08": "SR_B5", "B11": "SR_B6"},
    "modis": {"B02": "sur_refl_b03", "B03": "sur_refl_b04", "B04": "sur_refl_b01", "B08": "sur_refl_b02",
              "B11": "sur_refl_b06"},
    "mod13": {"B02": "250m 16 days blue reflectance", "B04": "250m 16 days red reflectance",
              "B08": "250m 16 days NIR reflectance"},
    "common": {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B07": "rededge3", "B08": "nir",
               "B8A": "nir08", "B11": "swir16"},
}


@pytest.mark.parametrize("sensor", list(OTHER_NAMES))
def test_indices_on_another_sensor_equal_those_on_sentinel2_names(s2, sensor):
    names = OTHER_NAMES[sensor]
    theirs = s2.sel(band=list(names)).assign_coords(band=list(names.values()))
    ours = s2.sel(band=list(names))
    allowed = available_indices(theirs)
    assert allowed == available_indices(ours) and "NDVI" in allowed
    out = compute_features(theirs, indices=allowed, expressions={"ratio": "B08 / B04"}, keep_bands=False).cube
    expected = compute_features(ours, indices=allowed, expressions={"ratio": "B08 / B04"}, keep_bands=False).cube
    assert out.band.values.tolist() == allowed + ["ratio"]  # the new bands keep the index's name
    np.testing.assert_array_equal(out.values, expected.values)
    for name in allowed:
        assert index_bands(name, theirs) == [names[b] for b in index_bands(name)]


def test_a_modis_cube_with_red_and_nir_computes_ndvi(make_cube):
    cube = make_cube(bands=("red", "nir"))
    assert available_indices(cube) == ["NDVI", "SAVI"]  # it answered [] before labkit.bands
    red, nir = _band(cube, "red"), _band(cube, "nir")
    np.testing.assert_allclose(compute_indices(cube, ["NDVI"]).sel(band="NDVI").values, (nir - red) / (nir + red),
                               rtol=1e-5)
    np.testing.assert_allclose(evaluate("nir - B04", cube).values, nir - red, rtol=1e-6)


def test_the_narrow_near_infrared_stands_in_when_there_is_no_other(make_cube):
    landsat_stac = make_cube(bands=("red", "nir08"))  # Landsat's asset keys on the Planetary Computer
    assert available_indices(landsat_stac) == ["NDVI", "SAVI"]
    assert index_bands("NDVI", landsat_stac) == ["red", "nir08"]
    s2_20m = ["B04", "B05", "B8A"]
    assert index_bands("NDVI", s2_20m) == ["B04", "B8A"] and index_bands("NDRE", s2_20m) == ["B05", "B8A"]
    assert index_bands("NDVI", ["B04", "B08", "B8A"]) == ["B04", "B08"]


def test_index_table_says_which_bands_of_a_cube_it_reads():
    table = index_table()
    assert table.loc["NDMI", "common_names"] == "nir, swir1" and table.loc["EVI", "bands"] == "B02, B04, B08"
    assert "cube_bands" not in table
    table = index_table(["sur_refl_b01", "sur_refl_b02", "sur_refl_b03"])
    assert table.loc["EVI", "cube_bands"] == "sur_refl_b03, sur_refl_b01, sur_refl_b02"
    assert table.loc["NDMI", "cube_bands"] == "" and not table.loc["NDMI", "available"]
    assert table["available"].sum() == len(available_indices(["sur_refl_b01", "sur_refl_b02", "sur_refl_b03"]))


def test_missing_bands_are_named_with_their_common_names(make_cube):
    cube = make_cube(bands=("SR_B4", "SR_B5"))
    with pytest.raises(BandError, match=r"The index 'NDMI' needs band\(s\) \['B11'\], which the cube lacks \(it has "
                                        r"\['SR_B4', 'SR_B5'\]\). Indices this cube allows: \['NDVI', 'SAVI'\]\. A "
                                        r"band of another sensor stands in when named by its common name \(B11: "
                                        r"'swir1'\)"):
        compute_features(cube, indices=["NDMI"])
    with pytest.raises(BandError, match=r"needs band\(s\) \['B02', 'B03'\].*\(B02: 'blue', B03: 'green'\)"):
        index_bands("brightness", cube)
    with pytest.raises(BandError, match=r"The expression 'B05 / nir' needs band\(s\) \['B05'\].*\(B05: 'rededge1'\)"):
        evaluate("B05 / nir", cube)
    with pytest.raises(BandError, match=r"Bands \['SR_B4', 'red'\] of the cube all stand for 'red'"):
        compute_features(make_cube(bands=("SR_B4", "red", "nir")), indices=["NDVI"])
    assert available_indices(["SR_B4", "red", "nir"]) == []  # ambiguous: not offered


def _write_stack(path, layers, *, nodata=None, crs="EPSG:32631", transform=(30.0, 0, 600000.0, 0, -30.0, 5000000.0),
                 descriptions=None):
    import rasterio
    from affine import Affine

    layers = np.asarray(layers)
    with rasterio.open(path, "w", driver="GTiff", count=layers.shape[0], height=layers.shape[1],
                       width=layers.shape[2], dtype=layers.dtype, nodata=nodata, crs=crs,
                       transform=Affine(*transform)) as dst:
        dst.write(layers)
        for i, text in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, text)
    return path


def test_end_to_end_modis_band_files_with_a_timeline_to_ndvi(tmp_path):
    from labkit.io import read_bands
    from labkit.masks import mask_from_nodata

    rng = np.random.default_rng(3)
    red = rng.integers(200, 1500, (3, 4, 5)).astype("int16")  # MOD09 surface reflectance x 10 000
    nir = rng.integers(2000, 5000, (3, 4, 5)).astype("int16")
    red[0, 0, 0] = nir[0, 0, 0] = -28672  # MOD09's fill value: nothing observed
    nir[2, 3, 4] = -28672  # one band missing
    files = [_write_stack(tmp_path / "sur_refl_b01.tif", red, nodata=-28672),
             _write_stack(tmp_path / "sur_refl_b02.tif", nir, nodata=-28672)]
    (tmp_path / "dates.txt").write_text("# MOD09A1 composites\n20210101\n20210109\n\n20210117  # last\n")
    cube = read_bands(files, dates=tmp_path / "dates.txt", scale=1e-4)
    assert cube.band.values.tolist() == ["sur_refl_b01", "sur_refl_b02"]
    assert pd.DatetimeIndex(cube.time.values).strftime("%m-%d").tolist() == ["01-01", "01-09", "01-17"]
    ndvi = compute_indices(cube, ["NDVI"], keep_bands=False).sel(band="NDVI").values
    r, n = red.astype("float64"), nir.astype("float64")
    expected = np.where((red == -28672) | (nir == -28672), np.nan, (n - r) / (n + r))
    np.testing.assert_allclose(ndvi, expected, rtol=1e-5)
    mask = mask_from_nodata(cube)
    assert mask.values[0, 0, 0] == 2 and mask.values[2, 3, 4] == 1 and int((mask > 0).sum()) == 2


def test_end_to_end_landsat_collection2_files_to_ndvi(tmp_path):
    from labkit.io import read_dates

    rng = np.random.default_rng(4)
    raw = rng.integers(7273, 25000, (2, 2, 3, 4)).astype("uint16")  # (date, band SR_B4 SR_B5, y, x)
    raw[1, :, 0, 0] = 0  # Collection 2's fill
    files = [_write_stack(tmp_path / f"LC09_L2SP_198030_{day}_{day}_02_T1_SR.tif", raw[i], nodata=0)
             for i, day in enumerate(["20230601", "20230617"])]
    cube = read_dates(files, bands=["SR_B4", "SR_B5"], scale=2.75e-5, offset=-0.2)  # USGS' scale and offset
    assert pd.DatetimeIndex(cube.time.values).strftime("%Y-%m-%d").tolist() == ["2023-06-01", "2023-06-17"]
    assert available_indices(cube) == ["NDVI", "SAVI"]
    out = compute_features(cube, indices=["NDVI", "SAVI"], stats=["max"], keep_bands=False)
    reflectance = raw * 2.75e-5 - 0.2
    red, nir = reflectance[:, 0], reflectance[:, 1]
    ndvi = (nir - red) / (nir + red)
    ndvi[1, 0, 0] = np.nan
    np.testing.assert_allclose(out.cube.sel(band="NDVI").values, ndvi, rtol=1e-4)
    np.testing.assert_allclose(out.timeless.sel(feature="NDVI_max").values, np.nanmax(ndvi, axis=0), rtol=1e-4)
