"""Models applied to cubes they do not fit: matched by band name, or refused before any block, never silently wrong.

Issue 7. ``fit_model`` records the bands and dates a model reads (``input_signature_``); ``predict_cube`` reads a
cube's bands by name in that order, and refuses a missing band, another number of dates, or dates on other days of
the year (the same days in another year pass: temporal transfer). A model fitted on arrays is checked by its shape. A
model without ``predict_proba`` classifies with ``predict``, confidence NaN. Also silent results of training and
validation: ±inf in samples is fitted as missing (never as a value), ``sample_weight`` reaches the final step of a
pipeline, and ``labels`` that leave out a class of the data are refused rather than dropping its samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

import labkit.datamodel as dm
from labkit.accuracy import assess_accuracy
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.datamodel import NO_CLASS
from labkit.inference import predict_cube
from labkit.models import (
    InputSignature,
    RegionalClassifier,
    SeriesFeatures,
    cross_validate,
    fit_model,
    input_signature,
    make_model,
    search_hyperparameters,
)

HEIGHT, WIDTH, N_TIME = 6, 5, 4
BANDS = ["B04", "B08", "B11"]
DATES = np.datetime64("2021-04-01") + 10 * np.arange(N_TIME)


@pytest.fixture(scope="module")
def scene():
    """A cube whose classes differ only in which band is bright (so that a band swap changes every pixel), its
    true classes, and a sample set of all its pixels."""
    rng = np.random.default_rng(0)
    truth = rng.choice([1, 2, 3], size=(HEIGHT, WIDTH))
    values = rng.normal(0.1, 0.01, (N_TIME, len(BANDS), HEIGHT, WIDTH)).astype("float32")
    for k in range(len(BANDS)):
        values[:, k][:, truth == k + 1] += 0.5  # class k + 1 is bright in band k
    cube = dm.make_cube(values, DATES, BANDS, transform=(10.0, 0, 600000.0, 0, -10.0, 5100000.0), crs="EPSG:32632")
    pixels = values.transpose(2, 3, 0, 1).reshape(-1, N_TIME, len(BANDS))
    samples = dm.make_samples(pixels, truth.ravel(), np.arange(truth.size), times=DATES, bands=BANDS)
    return cube, truth, samples


@pytest.fixture(scope="module")
def fitted(scene):
    _, _, samples = scene
    return fit_model(make_model("rf", n_estimators=10, n_jobs=1, random_state=0), samples)


# ------------------------------------------------------------------------------------------------- fit_model


def test_fit_model_records_bands_dates_and_count(scene, fitted):
    assert fitted.input_signature_ == InputSignature(tuple(BANDS), N_TIME, tuple(DATES.astype("datetime64[ns]")))
    assert input_signature(scene[2]).bands == ("B04", "B08", "B11")


def test_fit_model_without_dates_records_none(scene):
    _, _, samples = scene
    undated = dm.make_samples(samples.X.values, samples.label.values, samples.group.values, bands=BANDS)
    model = fit_model("sklearn.tree.DecisionTreeClassifier", undated)
    assert model.input_signature_.times is None and model.input_signature_.n_time == N_TIME


def test_fit_model_fits_in_place_and_passes_regions(scene):
    _, _, samples = scene
    model = make_model("rf", n_estimators=5, n_jobs=1, random_state=0)
    assert fit_model(model, samples) is model
    regional = samples.assign(region=("sample", np.arange(samples.sizes["sample"]) % 2))
    per_region = fit_model(RegionalClassifier(make_model("rf", n_estimators=5, n_jobs=1)), regional)
    assert sorted(per_region.estimators_) == [0, 1]
    with pytest.raises(ConfigError, match=r"per-region model needs the sample set's 'region' variable"):
        fit_model(RegionalClassifier(make_model("rf", n_estimators=5)), samples)


def test_selection_records_the_signature(scene):
    _, _, samples = scene
    found = search_hyperparameters({"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}, samples,
                                   {"max_depth": [2]}, folds=2, group_by=None)
    assert found.best_estimator.input_signature_.bands == tuple(BANDS)
    assert cross_validate(samples, {"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}, folds=2).folds


# --------------------------------------------------------------------------------------- bands in another order


def test_bands_in_another_order_are_read_by_name(scene, fitted):
    cube, truth, _ = scene
    expected, confidence = predict_cube(cube, fitted)
    np.testing.assert_array_equal(expected.values, truth)
    shuffled = cube.isel(band=[2, 0, 1])
    assert list(shuffled.band.values) == ["B11", "B04", "B08"]
    class_map, conf = predict_cube(shuffled, fitted, block=4)
    np.testing.assert_array_equal(class_map.values, truth)
    np.testing.assert_array_equal(conf.values, confidence.values)


def test_extra_bands_are_left_out(scene, fitted):
    cube, truth, _ = scene
    extra = cube.isel(band=[0, 1, 2, 0]).assign_coords(band=["B04", "B08", "B11", "B12"])
    class_map, _ = predict_cube(extra.isel(band=[3, 2, 1, 0]), fitted)
    np.testing.assert_array_equal(class_map.values, truth)


def test_without_a_signature_the_same_cube_gives_another_map(scene):
    """What the signature prevents: the same model, fitted on arrays, takes the bands by position."""
    cube, truth, samples = scene
    model = make_model("rf", n_estimators=10, n_jobs=1, random_state=0).fit(samples.X.values,
                                                                                 samples.label.values)
    class_map, _ = predict_cube(cube.isel(band=[2, 0, 1]), model)
    assert (class_map.values != truth).mean() > 0.5


# -------------------------------------------------------------------------------------------------- refusals


def test_missing_band_is_named_with_the_cube_bands(scene, fitted):
    cube, _, _ = scene
    with pytest.raises(BandError, match=r"the cube has no band\(s\) \['B11'\], which the model was fitted on .*"
                                        r"the cube's bands: \['B04', 'B08'\]"):
        predict_cube(cube.sel(band=["B04", "B08"]), fitted)


def test_renamed_band_is_refused(scene, fitted):
    cube, _, _ = scene
    renamed = cube.assign_coords(band=["B04", "B8A", "B12"])
    with pytest.raises(BandError, match=r"no band\(s\) \['B08', 'B11'\].*the cube's bands: \['B04', 'B8A', 'B12'\]"):
        predict_cube(renamed, fitted)


def test_another_number_of_dates_is_refused_with_both_counts(scene, fitted):
    cube, _, _ = scene
    with pytest.raises(DataModelError, match=r"the model was fitted on series of 4 dates; the cube has 3\. Gap-fill"):
        predict_cube(cube.isel(time=[0, 1, 2]), fitted)


def test_refused_before_any_block_runs(scene, fitted):
    """The check runs before the first block: a model that would fail on any block is never called."""
    cube, _, _ = scene

    class Spy:
        input_signature_ = fitted.input_signature_
        classes_ = fitted.classes_
        calls = 0

        def predict_proba(self, X):
            Spy.calls += 1
            return fitted.predict_proba(X)

    with pytest.raises(DataModelError):
        predict_cube(cube.isel(time=[0, 1]), Spy(), block=2)
    assert Spy.calls == 0


@pytest.mark.parametrize(("n_time", "n_band", "message"), [
    (3, 3, r"fitted on series of 4 dates x 3 bands; the cube has 3 dates x 3 bands"),
    (4, 2, r"fitted on series of 4 dates x 3 bands; the cube has 4 dates x 2 bands \(\['B04', 'B08'\]\)"),
    (6, 2, r"fitted on series of 4 dates x 3 bands; the cube has 6 dates x 2 bands"),  # same feature count, 12
])
def test_model_fitted_on_arrays_is_checked_by_its_series_shape(n_time, n_band, message):
    rng = np.random.default_rng(1)
    model = make_model("rf", n_estimators=3, n_jobs=1).fit(rng.random((10, 4, 3)), np.repeat([1, 2], 5))
    cube = dm.make_cube(rng.random((n_time, n_band, 2, 2)), DATES[0] + 10 * np.arange(n_time), BANDS[:n_band],
                        transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32632")
    with pytest.raises(DataModelError, match=message):
        predict_cube(cube, model)


def test_model_fitted_on_features_is_checked_by_its_feature_count():
    rng = np.random.default_rng(2)
    model = DummyClassifier().fit(rng.random((6, 5)), [1, 1, 2, 2, 2, 2])
    cube = dm.make_cube(rng.random((2, 2, 2, 2)), DATES[:2], BANDS[:2], transform=(10.0, 0, 0.0, 0, -10.0, 20.0),
                        crs="EPSG:32632")
    with pytest.raises(DataModelError, match=r"the model was fitted on 5 features; the cube gives 2 dates x 2 "
                                             r"bands = 4 per pixel"):
        predict_cube(cube, model)


# ----------------------------------------------------------------------------------- models with only predict


def test_model_without_predict_proba_gives_its_predictions_and_no_confidence(scene):
    cube, truth, samples = scene
    model = Pipeline([("features", SeriesFeatures(stats=())), ("model", LinearSVC(random_state=0))])
    model = fit_model(model, samples)
    assert not hasattr(model, "predict_proba")
    class_map, confidence = predict_cube(cube, model, block=4)
    pixels = cube.transpose("y", "x", "time", "band").values.reshape(-1, N_TIME, len(BANDS))
    np.testing.assert_array_equal(class_map.values, model.predict(pixels).reshape(HEIGHT, WIDTH))
    assert (class_map.values == truth).mean() > 0.9
    assert class_map.dtype == np.uint8 and np.isnan(confidence.values).all()


def test_predict_only_model_keeps_nan_pixels_unclassified(scene):
    cube, _, samples = scene
    model = fit_model(Pipeline([("features", SeriesFeatures(stats=())), ("model", LinearSVC())]), samples)
    holed = cube.copy()
    holed[0, 0, 1, 2] = np.nan
    class_map, confidence = predict_cube(holed, model)
    assert class_map.values[1, 2] == NO_CLASS and (class_map.values != NO_CLASS).sum() == HEIGHT * WIDTH - 1
    assert np.isnan(confidence.values).all()


# ------------------------------------------------------------------------------- dates: the same days of the year


def test_dates_on_other_days_of_the_year_are_refused(scene, fitted):  # audit #47
    cube, _, _ = scene
    shifted = cube.assign_coords(time=DATES + np.timedelta64(7, "D"))  # same count, 7 days later: tolerance 5
    with pytest.raises(DataModelError, match=r"^predict_cube: the cube's dates fall on other days of the year than "
                                             r"the model's: date 0 of the cube is 2021-04-08 \(day 98 of its year\), "
                                             r"the model's is 2021-04-01 \(day 91 of its year\), 7 days apart \(4 of "
                                             r"4 dates beyond the tolerance of 5 days: half the median spacing of "
                                             r"the model's dates, at least 1\)\. Gap-fill the cube onto the model's "
                                             r"dates"):
        predict_cube(shifted, fitted)
    one_off = cube.assign_coords(time=np.r_[DATES[:3], DATES[3] + np.timedelta64(30, "D")])
    with pytest.raises(DataModelError, match=r"date 3 of the cube is 2021-05-31 \(day 151 of its year\), the model's "
                                             r"is 2021-05-01 \(day 121 of its year\), 30 days apart \(1 of 4 dates"):
        predict_cube(one_off, fitted)


@pytest.mark.parametrize("start", ["2023-04-01", "2020-04-01", "2021-04-04"])  # another year, a leap year, 3 days
def test_the_same_days_of_another_year_pass(scene, fitted, start):
    """Temporal transfer: a model applied to another year on the same day-of-year grid classifies as before."""
    cube, truth, _ = scene
    moved = cube.assign_coords(time=np.datetime64(start) + 10 * np.arange(N_TIME))
    class_map, _ = predict_cube(moved, fitted)
    np.testing.assert_array_equal(class_map.values, truth)


def test_days_of_the_year_are_compared_around_new_year(scene):
    """31 December of a leap year (day 366) and 2 January (day 2) are 1 day apart, not 364."""
    cube, truth, samples = scene
    model_dates = np.datetime64("2020-12-31") + 10 * np.arange(N_TIME)
    model = fit_model(make_model("rf", n_estimators=10, n_jobs=1, random_state=0),
                      samples.assign_coords(time=model_dates))
    class_map, _ = predict_cube(cube.assign_coords(time=np.datetime64("2022-01-02") + 10 * np.arange(N_TIME)), model)
    np.testing.assert_array_equal(class_map.values, truth)


def test_without_dates_no_day_is_compared(scene):
    cube, truth, samples = scene
    undated = dm.make_samples(samples.X.values, samples.label.values, samples.group.values, bands=BANDS)
    model = fit_model(make_model("rf", n_estimators=10, n_jobs=1, random_state=0), undated)
    class_map, _ = predict_cube(cube.assign_coords(time=DATES + np.timedelta64(100, "D")), model)
    np.testing.assert_array_equal(class_map.values, truth)


# ------------------------------------------------------------------------------------ labels left out of a report


def test_labels_that_leave_out_a_class_are_refused():  # audit #52: was OA 1.0 on 2 of the 3 samples
    with pytest.raises(DataModelError, match=r"^assess_accuracy: labels \[1, 2\] miss class\(es\) \[3\] of y_true and "
                                             r"y_pred: their samples would drop out of every count and score"):
        assess_accuracy([1, 2, 3], [1, 2, 3], labels=[1, 2])
    with pytest.raises(DataModelError, match=r"labels \[2, 1\] miss class\(es\) \[3\] of y_pred:"):
        assess_accuracy([1, 2, 2], [1, 2, 3], labels=[2, 1])
    report = assess_accuracy([1, 2, 3], [1, 2, 3], labels=[3, 2, 1, 9])  # more classes than the data: fine
    assert report.confusion.sum() == 3 and report.labels == [3, 2, 1, 9]


def test_cross_validation_reports_every_sample(scene):
    _, _, samples = scene
    result = cross_validate(samples, {"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}, folds=2)
    assert int(result.confusion.sum()) == samples.sizes["sample"]


# --------------------------------------------------------------------------------- ±inf is missing, as NaN is


def _with(samples, value, rows=(0, 5, 9)):
    X = samples.X.values.copy()
    for k, row in enumerate(rows):
        X[row, k % N_TIME, k % len(BANDS)] = value
    return samples.copy(data={**{k: v.values for k, v in samples.data_vars.items()}, "X": X})


@pytest.mark.parametrize("name", ["rf", "lgbm"])
@pytest.mark.parametrize("infinite", [np.inf, -np.inf])
def test_infinite_values_are_fitted_as_missing(scene, name, infinite):  # audit #38, #39, #41
    """RF raised "Input X contains infinity"; LightGBM fitted silently, taking inf for a value. Both now see NaN."""
    _, _, samples = scene
    params = {"rf": {"n_estimators": 10}, "lgbm": {"n_estimators": 10, "min_child_samples": 2}}[name]
    with_inf, with_nan = _with(samples, infinite), _with(samples, np.nan)
    model_inf = fit_model(make_model(name, n_jobs=1, random_state=0, **params), with_inf)
    model_nan = fit_model(make_model(name, n_jobs=1, random_state=0, **params), with_nan)
    np.testing.assert_array_equal(model_inf.predict_proba(with_nan.X.values), model_nan.predict_proba(with_nan.X.values))
    np.testing.assert_array_equal(model_inf.predict_proba(with_inf.X.values), model_nan.predict_proba(with_nan.X.values))
    assert np.isinf(with_inf.X.values).sum() == 3  # the caller's samples are left as they were


def test_series_features_turn_infinity_into_nan_and_statistics_ignore_it():
    X = np.array([[[1.0], [np.inf], [3.0]], [[-np.inf], [2.0], [0.0]]], dtype="float32")
    out = SeriesFeatures(stats=["max", "min"]).fit_transform(X)
    np.testing.assert_array_equal(out, [[1.0, np.nan, 3.0, 3.0, 1.0], [np.nan, 2.0, 0.0, 2.0, 0.0]])
    assert np.isinf(X).sum() == 2


# ------------------------------------------------------------------------------------------------ sample_weight


@pytest.mark.parametrize("name", ["rf", "svm", "lgbm"])
def test_sample_weight_reaches_the_final_step(scene, name):  # audit #46: "Pipeline.fit does not accept ..."
    _, truth, samples = scene
    n = samples.sizes["sample"]
    params = {"rf": {"n_estimators": 10, "n_jobs": 1}, "svm": {}, "lgbm": {"n_estimators": 10, "n_jobs": 1}}[name]
    plain = fit_model(make_model(name, random_state=0, **params), samples)
    weighted = fit_model(make_model(name, random_state=0, **params), samples, sample_weight=np.ones(n))
    X = samples.X.values
    np.testing.assert_allclose(weighted.predict_proba(X), plain.predict_proba(X))  # weights of 1: the same model


def test_sample_weight_changes_the_model(scene):
    _, _, samples = scene
    label = samples.label.values
    weights = np.where(label == 3, 0.0, 1.0)  # class 3 weighs nothing: the forest never predicts it
    model = fit_model(make_model("rf", n_estimators=10, n_jobs=1, random_state=0), samples,
                      sample_weight=weights)
    assert 3 not in model.predict(samples.X.values)
    regional = samples.assign(region=("sample", np.arange(samples.sizes["sample"]) % 2))
    per_region = fit_model(RegionalClassifier(make_model("rf", n_estimators=10, n_jobs=1, random_state=0)),
                           regional, sample_weight=weights)
    assert 3 not in per_region.predict(regional.X.values, region=regional.region.values)
