"""labkit.models: SeriesFeatures' columns checked one by one, the three classifiers on separable series, the
scikit-learn API (clone, get_params, set_params, check_estimator)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from labkit.errors import ConfigError
from labkit.features import STATS
from labkit.models import CLASSIFIERS, SeriesFeatures, make_classifier

# scikit-learn 1.9 deprecates SVC(probability=True), which make_classifier("svm") uses (removed in 1.11; the
# requirements pin 1.9.1). Its advised replacement, CalibratedClassifierCV(SVC(), ensemble=False), fails on a class
# with a single training sample, so the switch is left to the models' owner. Every other FutureWarning is an error.
SVC_PROBABILITY_DEPRECATED = "ignore:The `probability` parameter was deprecated:FutureWarning"
pytestmark = pytest.mark.filterwarnings(SVC_PROBABILITY_DEPRECATED)

FAST = {"rf": {"n_estimators": 10, "n_jobs": 1}, "svm": {}, "lgbm": {"n_estimators": 20, "n_jobs": 1}}


def separable_series(n_per_class=40, n_time=8, n_band=2, seed=0):
    """Three classes with distinct seasonal curves (shifted phase and level) plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time) / n_time
    X, y = [], []
    for k, code in enumerate([2, 5, 9]):
        curve = 0.3 * np.sin(2 * np.pi * (t + k / 3))[:, None] + 0.2 * k + 0.05 * np.arange(n_band)
        X.append(curve + rng.normal(0, 0.03, (n_per_class, n_time, n_band)))
        y.append(np.full(n_per_class, code))
    return np.concatenate(X).astype("float32"), np.concatenate(y)


# --------------------------------------------------------------------------------------------- SeriesFeatures


def test_series_features_columns_one_by_one():
    rng = np.random.default_rng(1)
    n, n_time, n_band = 5, 4, 3
    X = rng.random((n, n_time, n_band)).astype("float32")
    numpy_stats = {"min": np.min, "max": np.max, "mean": np.mean, "std": np.std,
                   "amplitude": lambda v: np.max(v) - np.min(v), "argmax": np.argmax}
    assert set(numpy_stats) == set(STATS)  # a new statistic needs its line here
    stats = list(STATS)
    out = SeriesFeatures().fit(X).transform(X)  # the default: every statistic, in STATS order
    assert out.shape == (n, n_time * n_band + n_band * len(stats))
    for i in range(n):
        # The series first, date by date, the bands of a date side by side.
        for t in range(n_time):
            for b in range(n_band):
                assert out[i, t * n_band + b] == X[i, t, b]
        # Then the statistics, band by band.
        for b in range(n_band):
            for s, name in enumerate(stats):
                expected = numpy_stats[name](X[i, :, b].astype("float64"))
                assert out[i, n_time * n_band + b * len(stats) + s] == pytest.approx(expected, rel=1e-6)


def test_series_features_learned_attributes():
    X = np.zeros((3, 7, 2))
    features = SeriesFeatures()
    assert features.fit(X) is features
    assert (features.n_time_, features.n_band_, features.n_features_in_) == (7, 2, 14)


def test_two_dimensional_input_is_one_band():
    X = np.random.default_rng(2).random((6, 5))
    features = SeriesFeatures(stats=["max", "argmax"]).fit(X)
    assert (features.n_time_, features.n_band_) == (5, 1)
    out = features.transform(X)
    np.testing.assert_array_equal(out[:, :5], X.astype("float32"))
    np.testing.assert_allclose(out[:, 5], X.astype("float32").max(axis=1))
    np.testing.assert_array_equal(out[:, 6], X.argmax(axis=1))


def test_no_statistics_gives_the_flat_series():
    X = np.arange(24, dtype="float32").reshape(2, 4, 3)
    np.testing.assert_array_equal(SeriesFeatures(stats=()).fit_transform(X), X.reshape(2, 12))


def test_unknown_statistic_is_refused_in_fit():
    with pytest.raises(ConfigError, match=r"Unknown temporal statistic\(s\) \['median'\]"):
        SeriesFeatures(stats=["median"]).fit(np.zeros((2, 3, 1)))


def test_series_of_another_shape_is_refused():
    features = SeriesFeatures().fit(np.zeros((2, 3, 2)))
    with pytest.raises(ConfigError, match=r"fitted on series of 3 dates x 2 bands; got 4 x 2"):
        features.transform(np.zeros((2, 4, 2)))


def test_four_dimensional_input_is_refused():
    with pytest.raises(ConfigError, match=r"X must be \(n_samples, n_time, n_band\); got 4 dims"):
        SeriesFeatures().fit(np.zeros((2, 3, 2, 1)))


def test_transform_before_fit_is_refused():
    with pytest.raises(NotFittedError):
        SeriesFeatures().transform(np.zeros((2, 3, 2)))


EXPECTED_FAILED_CHECKS = {
    # labkit's own messages, in labkit's words (and error class, ConfigError, a ValueError): the checks look for
    # scikit-learn's wording. The behaviour itself is tested above.
    "check_n_features_in_after_fitting": "transform refuses other shapes, with labkit's message (dates x bands)",
    "check_fit2d_predict1d": "1-D input raises ConfigError 'X must be (n_samples, n_time, n_band)'",
    # On purpose: series have gaps; the statistics ignore NaN and LightGBM handles missing values.
    "check_estimators_nan_inf": "NaN is a valid input (missing observation)",
    # Series are dense arrays; sparse or complex input is not a use case, and it is not checked for.
    "check_estimator_sparse_tag": "sparse input fails, without scikit-learn's wording",
    "check_estimator_sparse_array": "sparse input fails, without scikit-learn's wording",
    "check_estimator_sparse_matrix": "sparse input fails, without scikit-learn's wording",
    "check_complex_data": "complex input is cast to float, not refused",
    "check_estimators_empty_data_messages": "an empty X is not refused in fit",
}


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # only in the expected-failed complex check
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks([SeriesFeatures()],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_series_features_passes_sklearn_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------------- classifiers


@pytest.mark.filterwarnings("error::FutureWarning", "error::DeprecationWarning", SVC_PROBABILITY_DEPRECATED)
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_separates_separable_series(name):
    X, y = separable_series(seed=0)
    X_test, y_test = separable_series(n_per_class=20, seed=1)
    model = make_classifier(name, random_state=0, **FAST[name]).fit(X, y)
    assert model.classes_.tolist() == [2, 5, 9]
    assert (model.predict(X_test) == y_test).mean() >= 0.95
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)][y_test == 5] == 5,
                                  model.predict(X_test)[y_test == 5] == 5)


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_is_a_pipeline_starting_with_series_features(name):
    model = make_classifier(name, stats=("max", "mean"), **FAST[name])
    assert [step for step, _ in model.steps] == ["features", "model"]
    assert isinstance(model.named_steps["features"], SeriesFeatures)
    assert model.get_params()["features__stats"] == ("max", "mean")


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_clone_and_params(name):
    model = make_classifier(name, random_state=3, **FAST[name])
    copy = clone(model)
    assert copy is not model and copy.named_steps["model"] is not model.named_steps["model"]
    params, copied = model.get_params(), copy.get_params()
    for key, value in params.items():
        if not hasattr(value, "get_params") and not key.endswith("steps"):  # estimators: through their own params
            assert copied[key] == value or (value != value and copied[key] != copied[key]), key
    X, y = separable_series(n_per_class=25)
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), model.fit(X, y).predict(X))


def test_hyperparameters_reach_the_model():
    rf = make_classifier("rf", n_estimators=7, max_depth=3, random_state=0)
    assert (rf.named_steps["model"].n_estimators, rf.named_steps["model"].max_depth) == (7, 3)
    svm = make_classifier("svm", C=4.0)
    assert svm.get_params()["model__svc__C"] == 4.0
    assert svm.get_params()["model__svc__probability"]  # predict_proba needs it
    lgbm = make_classifier("lgbm", n_estimators=9, num_leaves=5)
    assert (lgbm.named_steps["model"].n_estimators, lgbm.named_steps["model"].num_leaves) == (9, 5)


def test_set_params_changes_the_features():
    X, y = separable_series(n_per_class=10)
    model = make_classifier("rf", **FAST["rf"]).set_params(features__stats=("max",))
    model.fit(X, y)
    assert model.named_steps["model"].n_features_in_ == 8 * 2 + 2


def test_sample_set_arrays_go_straight_in():
    import labkit.datamodel as dm

    X, y = separable_series(n_per_class=15)
    samples = dm.make_samples(X, y, np.arange(len(y)), bands=["B04", "B08"])
    model = make_classifier("rf", random_state=0, **FAST["rf"]).fit(samples.X.values, samples.label.values)
    assert set(model.predict(samples.X.values[:5]).tolist()) <= {2, 5, 9}


def test_unknown_model_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"Unknown model 'xgb'; choose one of \['lgbm', 'rf', 'svm'\]"):
        make_classifier("xgb")


def test_unknown_hyperparameter_is_refused():
    with pytest.raises(ConfigError, match=r"make_classifier\('rf'\): .*unexpected keyword argument 'n_trees'"):
        make_classifier("rf", n_trees=10)
