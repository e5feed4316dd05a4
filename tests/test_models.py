"""labkit.models: SeriesFeatures' columns checked one by one, the classifiers on separable series, the
scikit-learn API (clone, get_params, set_params, check_estimator on every labkit estimator), the SVM's probabilities
without scikit-learn 1.9's FutureWarning, models named in configs (ModelConfig, dotted paths, the registry),
grouped folds, cross-validation, the grouped hyperparameter search, and per-region models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

import labkit.datamodel as dm
from labkit.errors import ConfigError
from labkit.features import STATS


from labkit.models import (
    MODELS,
    CalibratedSVC,
    ModelConfig,
    RegionalClassifier,
    SeriesFeatures,
    cross_validate,
    make_folds,
    make_model,
    model_names,
    parse_model_config,
    register_model,
    search_hyperparameters,
    seed_estimator,
)

# scikit-learn 1.9 deprecates SVC(probability=True); make_model("svm") no longer uses it (see CalibratedSVC).
# Any FutureWarning or DeprecationWarning raised here is an error.
pytestmark = pytest.mark.filterwarnings("error::FutureWarning", "error::DeprecationWarning")

FAST = {"rf": {"n_estimators": 10, "n_jobs": 1}, "svm": {}, "lgbm": {"n_estimators": 20, "n_jobs": 1}}

CLASSIFIERS = ["lgbm", "rf", "svm"]  # the registered classical classifiers


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


SERIES_INPUT_CHECKS = {
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
PIPELINE_CHECKS = {
    **{k: v for k, v in SERIES_INPUT_CHECKS.items() if k != "check_complex_data"},
    # scikit-learn's own Pipeline fits the estimators of its `steps` in place, which these two checks see as a
    # change of the `steps` parameter.
    "check_estimators_overwrite_params": "Pipeline fits its steps in place (scikit-learn's behaviour)",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place (scikit-learn's behaviour)",
}
CALIBRATED_SVC_CHECKS = {
    # Probabilities come from sigmoids fitted on cross-validated decision values: the folds of weighted samples and
    # of repeated samples differ, and a zero weight can leave a class out of a fold's SVM.
    "check_sample_weight_equivalence_on_dense_data": "calibration folds differ between weights and repeats",
    # predict is the argmax of the calibrated probabilities (so that it agrees with predict_proba); the calibration
    # undoes much of the shift that class_weight gives the SVM's decision values.
    "check_class_weight_classifiers": "predict follows the calibrated probabilities, not the weighted decision",
}


def _expected_failures(estimator):
    if isinstance(estimator, SeriesFeatures):
        return SERIES_INPUT_CHECKS
    if isinstance(estimator, CalibratedSVC):
        return CALIBRATED_SVC_CHECKS
    if isinstance(estimator, RegionalClassifier):
        return {}
    failures = dict(PIPELINE_CHECKS)  # the classical models' pipelines: SeriesFeatures' choices, plus the model's
    model = estimator.named_steps["model"]
    if type(model).__name__ == "LGBMClassifier":
        failures["check_supervised_y_no_nan"] = "LightGBM fits on a target with inf (LightGBM's behaviour)"
    return failures


LABKIT_ESTIMATORS = [
    SeriesFeatures(),
    CalibratedSVC(calibration_folds=2, random_state=0),
    RegionalClassifier(LogisticRegression()),  # without region: one model for all samples
    make_model("rf", n_estimators=5, n_jobs=1, random_state=0),
    make_model("lgbm", n_estimators=5, n_jobs=1, random_state=0),
]  # make_model("svm") is scikit-learn's StandardScaler and CalibratedSVC in a Pipeline, both checked already


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # only in the expected-failed complex check
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # warnings the checks provoke on purpose
@parametrize_with_checks(LABKIT_ESTIMATORS, expected_failed_checks=_expected_failures)
def test_labkit_estimators_pass_sklearn_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------------- classifiers


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_separates_separable_series(name):
    X, y = separable_series(seed=0)
    X_test, y_test = separable_series(n_per_class=20, seed=1)
    model = make_model(name, random_state=0, **FAST[name]).fit(X, y)
    assert model.classes_.tolist() == [2, 5, 9]
    assert (model.predict(X_test) == y_test).mean() >= 0.95
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)][y_test == 5] == 5,
                                  model.predict(X_test)[y_test == 5] == 5)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_is_a_pipeline_starting_with_series_features(name):
    model = make_model(name, stats=("max", "mean"), **FAST[name])
    assert [step for step, _ in model.steps] == ["features", "model"]
    assert isinstance(model.named_steps["features"], SeriesFeatures)
    assert model.get_params()["features__stats"] == ("max", "mean")


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_clone_and_params(name):
    model = make_model(name, random_state=3, **FAST[name])
    copy = clone(model)
    assert copy is not model and copy.named_steps["model"] is not model.named_steps["model"]
    params, copied = model.get_params(), copy.get_params()
    for key, value in params.items():
        if not hasattr(value, "get_params") and not key.endswith("steps"):  # estimators: through their own params
            assert copied[key] == value or (value != value and copied[key] != copied[key]), key
    X, y = separable_series(n_per_class=25)
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), model.fit(X, y).predict(X))


def test_hyperparameters_reach_the_model():
    rf = make_model("rf", n_estimators=7, max_depth=3, random_state=0)
    assert (rf.named_steps["model"].n_estimators, rf.named_steps["model"].max_depth) == (7, 3)
    svm = make_model("svm", C=4.0, calibration_folds=3)
    assert svm.get_params()["model__svc__C"] == 4.0
    assert isinstance(svm.named_steps["model"].named_steps["svc"], CalibratedSVC)  # predict_proba without the
    assert "model__svc__probability" not in svm.get_params()  # deprecated SVC(probability=True)
    lgbm = make_model("lgbm", n_estimators=9, num_leaves=5)
    assert (lgbm.named_steps["model"].n_estimators, lgbm.named_steps["model"].num_leaves) == (9, 5)


def test_set_params_changes_the_features():
    X, y = separable_series(n_per_class=10)
    model = make_model("rf", **FAST["rf"]).set_params(features__stats=("max",))
    model.fit(X, y)
    assert model.named_steps["model"].n_features_in_ == 8 * 2 + 2


def test_sample_set_arrays_go_straight_in():
    import labkit.datamodel as dm

    X, y = separable_series(n_per_class=15)
    samples = dm.make_samples(X, y, np.arange(len(y)), bands=["B04", "B08"])
    model = make_model("rf", random_state=0, **FAST["rf"]).fit(samples.X.values, samples.label.values)
    assert set(model.predict(samples.X.values[:5]).tolist()) <= {2, 5, 9}


def test_unknown_model_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"unknown model 'xgb'; choose a registered model \(.*lgbm, .*rf, .*svm"):
        make_model("xgb")
    with pytest.raises(ConfigError, match=r"unknown model 'ltea' \(did you mean 'ltae'\?\)"):
        make_model("ltea")
    for other, ours in (("randomforest", "rf"), ("Random_Forest", "rf"), ("LightGBM", "lgbm"), ("SVC", "svm")):
        with pytest.raises(ConfigError, match=rf"unknown model '{other}' \(did you mean '{ours}'\?\)"):
            make_model(other)


def test_unknown_hyperparameter_is_refused():
    with pytest.raises(ConfigError, match=r"model 'rf' \(RandomForestClassifier\) has no parameter\(s\) \['n_trees'\]; "
                                          r"its parameters: \['n_estimators'"):
        make_model("rf", n_trees=10)


# ------------------------------------------------------------------------------------- SVM probabilities


def _blobs(counts, seed=0):
    """Well-separated 2-D blobs, ``counts[k]`` samples of class ``k + 1``."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(4 * k, 0.5, (n, 2)) for k, n in enumerate(counts)])
    return X, np.repeat(np.arange(1, len(counts) + 1), counts)


@pytest.mark.parametrize(("counts", "calibration"), [((20, 20, 20), "5-fold"), ((20, 20, 3), "3-fold"),
                                                     ((20, 20, 1), "in-sample")])
def test_svm_probabilities_with_small_classes(counts, calibration):
    X, y = _blobs(counts)
    model = CalibratedSVC(random_state=0).fit(X, y)  # no FutureWarning: this module turns them into errors
    assert model.calibration_ == calibration
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])  # predict agrees
    assert (model.predict(X) == y).mean() >= 0.95


def test_svm_hyperparameters_reach_the_svc():
    X, y = _blobs((10, 10))
    model = CalibratedSVC(C=3.0, kernel="linear", random_state=0).fit(X, y)
    svc = model.calibrated_.calibrated_classifiers_[0].estimator
    assert (svc.C, svc.kernel) == (3.0, "linear")
    assert model.decision_function(X).shape == (20,)


def test_svm_calibration_folds_must_be_two_or_more():
    with pytest.raises(ValueError, match=r"The 'calibration_folds' parameter of CalibratedSVC must be an int in the "
                                         r"range \[2, inf\)\. Got 1 instead"):
        CalibratedSVC(calibration_folds=1).fit(*_blobs((5, 5)))


def test_svm_pipeline_emits_no_future_warning():
    X, y = separable_series(n_per_class=6)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        make_model("svm", random_state=0).fit(X, y).predict_proba(X)


# --------------------------------------------------------------------------- models by name, path and config


def test_registered_names_are_the_classical_models():
    assert {"rf", "svm", "lgbm"} <= set(model_names()) and model_names() == sorted(MODELS)
    for name in CLASSIFIERS:
        assert type(make_model(name)) is type(make_model(name))


def test_dotted_path_model_gets_the_features_step_and_params():
    model = make_model("sklearn.ensemble.ExtraTreesClassifier", n_estimators=15, random_state=1)
    assert [step for step, _ in model.steps] == ["features", "model"]
    assert type(model.named_steps["model"]).__name__ == "ExtraTreesClassifier"
    assert model.get_params()["model__n_estimators"] == 15
    X, y = separable_series(n_per_class=15)
    assert (model.fit(X, y).predict(X) == y).mean() > 0.95
    config = parse_model_config({"model": "sklearn.neighbors.KNeighborsClassifier", "params": {"n_neighbors": 3},
                                 "stats": ["max"]})
    knn = config.build()
    assert knn.get_params()["features__stats"] == ("max",) and knn.get_params()["model__n_neighbors"] == 3
    assert knn.fit(X, y).predict_proba(X).shape == (len(y), 3)


def test_config_per_region_wraps_the_model():
    model = parse_model_config({"model": "rf", "params": {"n_estimators": 5}, "per_region": True}).build()
    assert isinstance(model, RegionalClassifier)
    assert model.get_params()["estimator__model__n_estimators"] == 5


@pytest.mark.parametrize(("config", "message"), [
    ({"model": "xgb"}, r"field 'model': unknown model 'xgb'; choose a registered model \(.*lgbm, .*rf, .*svm.*\) or "
                       r"the dotted import path of a scikit-learn estimator, such as 'sklearn\.ensemble\."),
    ({"model": "rff"}, r"field 'model': unknown model 'rff' \(did you mean 'rf'\?\)"),
    ({"model": "sklearn.ensemble.ExtraTreeClassifier"},
     r"field 'model': module 'sklearn\.ensemble' has no attribute 'ExtraTreeClassifier' \(did you mean "
     r"'ExtraTreesClassifier'\?\)"),
    ({"model": "sklearn.ensembl.ExtraTreesClassifier"}, r"field 'model': cannot import module 'sklearn\.ensembl'"),
    ({"model": "sklearn.preprocessing.StandardScaler"},
     r"field 'model': 'sklearn\.preprocessing\.StandardScaler' is not a scikit-learn estimator: it has no "
     r"predict or predict_proba method"),
    ({"model": "sklearn.metrics.f1_score"}, r"field 'model': 'sklearn\.metrics\.f1_score' is a function, not an "
                                            r"estimator class"),
    ({"model": "sklearn.ensemble.ExtraTreesClassifier", "params": {"n_trees": 5}},
     r"field 'params': ExtraTreesClassifier has no parameter\(s\) \['n_trees'\]; its parameters: \['n_estimators'"),
    ({"model": "sklearn.ensemble.ExtraTreesClassifier", "params": {"n_estimators": 0}},
     r"field 'params': The 'n_estimators' parameter of ExtraTreesClassifier must be an int in the range \[1, inf\)"),
    ({"model": "rf", "params": {"n_trees": 5}}, r"field 'params': model 'rf' \(RandomForestClassifier\) has no "
                                                r"parameter\(s\) \['n_trees'\]"),
    ({"model": "svm", "params": {"C": -1.0}}, r"field 'params': The 'C' parameter of CalibratedSVC must be a float "
                                              r"in the range \(0\.0, inf\]"),
    ({"model": "rf", "params": [1, 2]}, r"field 'params': Input should be a valid dictionary"),
    ({"model": "rf", "stats": ["median"]}, r"field 'stats': unknown temporal statistic\(s\) \['median'\]"),
    ({"model": "rf", "parms": {}}, r"field 'parms': unknown field; the fields are \['model', 'params', 'stats', "
                                   r"'per_region'\]"),
    ({"params": {}}, r"field 'model': required, and missing"),
    ({"model": 3}, r"field 'model': Input should be a valid string"),
])
def test_bad_model_configs_name_the_field(config, message):
    with pytest.raises(ConfigError, match=r"^Invalid model config: " + message):
        parse_model_config(config)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ConfigError, match=r"field 'model': unknown model 'xgb'.*; field 'stats': unknown"):
        parse_model_config({"model": "xgb", "stats": ["median"]})


def test_make_model_takes_estimators_and_configs():
    tree = DecisionTreeClassifier()
    copy = make_model(tree, random_state=4)
    assert copy is not tree and copy.random_state == 4 and tree.random_state is None
    assert make_model(ModelConfig(model="lgbm", params={"n_estimators": 3})).get_params()["model__n_estimators"] == 3
    with pytest.raises(ConfigError, match=r"hyperparameters \['max_depth'\] go with a model name"):
        make_model(tree, max_depth=3)
    with pytest.raises(ConfigError, match=r"expected a model name, a config or an estimator; got int"):
        make_model(3)


def test_seed_fills_only_unset_random_states():
    model = seed_estimator(make_model("svm", random_state=None), 11)
    assert model.get_params()["model__svc__random_state"] == 11
    assert seed_estimator(make_model("rf", random_state=2), 11).get_params()["model__random_state"] == 2


class _RawSeriesModel(ClassifierMixin, BaseEstimator):
    """What a deep model looks like to the registry: reads (n, time, band) directly, no SeriesFeatures."""

    def __init__(self, width=1):
        self.width = width

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.stack([np.asarray(X)[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        distances = ((np.asarray(X)[:, None] - self.means_[None]) ** 2).sum(axis=(2, 3))
        return self.classes_[distances.argmin(axis=1)]


@pytest.fixture
def raw_model():
    register_model("raw-demo", _RawSeriesModel, description="nearest class mean", takes_stats=False)
    yield "raw-demo"
    del MODELS["raw-demo"]


def test_registered_model_is_known_everywhere(raw_model):
    assert raw_model in model_names()
    assert isinstance(make_model(raw_model, width=2), _RawSeriesModel)
    assert parse_model_config({"model": raw_model}).build().width == 1
    result = cross_validate(_sample_set(), raw_model, folds=3, group_by="group")
    assert result.model == raw_model and result.mean["overall_accuracy"] > 0.9
    with pytest.raises(ConfigError, match=r"field 'stats': model 'raw-demo' reads the raw series: it takes no "
                                          r"'stats'"):
        parse_model_config({"model": raw_model, "stats": ["max"]})
    with pytest.raises(ConfigError, match=r"a model named 'raw-demo' is already registered; pass replace=True"):
        register_model(raw_model, _RawSeriesModel, description="again")
    with pytest.raises(ConfigError, match=r"'my\.model' is not a valid model name"):
        register_model("my.model", _RawSeriesModel, description="dotted")


# -------------------------------------------------------------------------------- folds and cross-validation


def _sample_set(n_groups_per_class=6, pixels=5, seed=0, times=None, region=False):
    """Three classes of separable series, ``pixels`` samples per polygon (group ids shared by no two classes)."""
    rng = np.random.default_rng(seed)
    X, y = separable_series(n_per_class=n_groups_per_class * pixels, n_time=6, seed=seed)
    group = np.arange(len(y)) // pixels
    order = rng.permutation(len(y))  # shuffled, as real sample sets are not sorted
    regions = None
    if region:
        regions = np.where(group[order] % 2 == 0, 10, 20)
    return dm.make_samples(X[order], y[order], group[order] * 7 + 100, times=times, bands=["B04", "B08"],
                           region=regions, class_names={2: "crop", 5: "forest", 9: "water"})


@pytest.mark.parametrize("group_by", ["group", None])
def test_folds_partition_the_samples_and_keep_groups_whole(group_by):
    samples = _sample_set()
    folds = make_folds(samples, 4, group_by=group_by, random_state=3)
    tested = np.concatenate([test for _, test in folds])
    assert len(folds) == 4 and sorted(tested.tolist()) == list(range(samples.sizes["sample"]))
    group, label = samples.group.values, samples.label.values
    for train, test in folds:
        assert not set(train) & set(test)
        assert set(label[test]) == {2, 5, 9} and set(label[train]) == {2, 5, 9}
        if group_by:
            assert not set(group[train]) & set(group[test])
    if group_by is None:  # plain stratified folds split polygons: that is what grouping prevents
        assert any(set(group[train]) & set(group[test]) for train, test in folds)


def test_folds_are_reproducible_by_seed():
    samples = _sample_set()
    first, again = make_folds(samples, 3, group_by="group", random_state=1), make_folds(samples, 3, group_by="group",
                                                                                        random_state=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))


def test_too_many_folds_for_a_class_is_refused():
    with pytest.raises(ConfigError, match=r"class 2 \('crop'\) has samples in only 3 groups of 'group', fewer than "
                                          r"the 4 folds \(so do classes \[5, 9\]\).*Use 3 folds or fewer"):
        make_folds(_sample_set(n_groups_per_class=3), 4, group_by="group")
    with pytest.raises(ConfigError, match=r"class 2 \('crop'\) has samples in only 6 samples, fewer than the 7"):
        make_folds(_sample_set(n_groups_per_class=3, pixels=2), 7)


def test_bad_fold_arguments_are_refused():
    samples = _sample_set()
    with pytest.raises(ConfigError, match=r"no variable 'polygon' along 'sample' to group by; variables along "
                                          r"'sample': \['group'\]"):
        make_folds(samples, 3, group_by="polygon")
    with pytest.raises(ConfigError, match=r"^make_folds: folds must be an integer >= 2; got 1\.$"):
        make_folds(samples, 1)


@pytest.mark.parametrize("times", [None, pd.date_range("2021-03-01", periods=6, freq="10D")])
def test_cross_validate_scores_and_summed_confusion(times):
    samples = _sample_set(times=times)
    result = cross_validate(samples, {"model": "rf", "params": {"n_estimators": 10, "n_jobs": 1}}, folds=3,
                            group_by="group", random_state=0)
    n = samples.sizes["sample"]
    assert len(result.folds) == 3 and len(result.fit_seconds) == 3
    summed = sum(report.confusion for report in result.folds)  # every fold tests every class here
    np.testing.assert_array_equal(result.confusion, summed)
    assert result.confusion.sum() == n and result.pooled.labels == [2, 5, 9]
    assert result.pooled.overall_accuracy == pytest.approx(np.trace(summed) / n)
    np.testing.assert_array_equal(result.predictions == samples.label.values,
                                  result.pooled.overall_accuracy * n > 0 and result.predictions == samples.label.values)
    scores = result.scores
    assert list(scores.columns) == ["overall_accuracy", "kappa", "macro_f1", "n_test"]
    assert result.mean["kappa"] == pytest.approx(scores["kappa"].mean())
    assert result.std["macro_f1"] == pytest.approx(scores["macro_f1"].std(ddof=0))
    assert result.mean["overall_accuracy"] > 0.9
    group = samples.group.values
    for k in range(3):  # the fold that tested a polygon tested all of it
        assert not set(group[result.fold == k]) & set(group[result.fold != k])
    report = result.to_dict()
    assert report["confusion_matrix"] == summed.tolist() and report["class_names"] == ["crop", "forest", "water"]
    assert report["scores"]["overall_accuracy"]["folds"] == [round(r.overall_accuracy, 4) for r in result.folds]
    assert set(report["per_class"]) == {"crop", "forest", "water"}


def test_cross_validate_is_reproducible_and_clones_the_model():
    samples = _sample_set()
    forest = make_model("rf", n_estimators=5, n_jobs=1)
    first = cross_validate(samples, forest, folds=3, group_by="group", random_state=5)
    again = cross_validate(samples, forest, folds=3, group_by="group", random_state=5)
    np.testing.assert_array_equal(first.predictions, again.predictions)  # the seed reached the unseeded forest
    assert not hasattr(forest.named_steps["model"], "estimators_") and first.model == "Pipeline"
    assert forest.get_params()["model__random_state"] is None


def test_cross_validate_a_regional_model_uses_the_regions():
    samples = _sample_set(region=True)
    result = cross_validate(samples, {"model": "sklearn.tree.DecisionTreeClassifier", "per_region": True}, folds=3,
                            group_by="group")
    assert result.model == "sklearn.tree.DecisionTreeClassifier per region" and result.confusion.sum() == 90
    with pytest.raises(ConfigError, match=r"per-region model needs the sample set's 'region' variable"):
        cross_validate(_sample_set(), {"model": "rf", "per_region": True}, folds=3)


# ------------------------------------------------------------------------------------ hyperparameter search

_RECORD: list[tuple[str, frozenset]] = []


class _GroupRecorder(ClassifierMixin, BaseEstimator):
    """Records the polygons it is fitted on and asked about (their id is in the series' first value)."""

    def __init__(self, alpha=0):
        self.alpha = alpha

    def fit(self, X, y):
        _RECORD.append(("fit", frozenset(np.asarray(X)[:, 0, 0].astype(int).tolist())))
        self.classes_ = np.unique(y)
        self.first_ = {int(g): label for g, label in zip(np.asarray(X)[:, 0, 0], y)}
        return self

    def predict(self, X):
        _RECORD.append(("predict", frozenset(np.asarray(X)[:, 0, 0].astype(int).tolist())))
        return np.full(len(X), self.classes_[0])


def test_search_never_tests_a_polygon_it_trained_on():
    samples = _sample_set()
    X = samples.X.values.copy()
    X[:, 0, 0] = samples.group.values  # each series carries its polygon's id
    samples = samples.assign(X=(samples.X.dims, X))
    _RECORD.clear()
    found = search_hyperparameters(_GroupRecorder(), samples, {"alpha": [0, 1]}, folds=3, group_by="group")
    fits = [i for i, (kind, _) in enumerate(_RECORD) if kind == "fit"]
    pairs = [(_RECORD[i][1], _RECORD[i + 1][1]) for i in fits if i + 1 < len(_RECORD)]
    assert len(pairs) == 2 * 3  # 2 candidates x 3 folds, then the refit on all samples
    assert all(not train & test for train, test in pairs)
    assert _RECORD[-1] == ("fit", frozenset(samples.group.values.tolist()))
    group = samples.group.values
    assert len(found.splits) == 3 and all(not set(group[tr]) & set(group[te]) for tr, te in found.splits)


def test_search_results_table_and_best_model():
    samples = _sample_set()
    found = search_hyperparameters({"model": "rf", "params": {"n_estimators": 10, "n_jobs": 1}}, samples,
                                   {"max_depth": [1, 4], "max_features": ["sqrt", None]}, folds=3, random_state=0)
    table = found.results
    assert list(table.columns) == ["max_depth", "max_features", "mean_score", "std_score", "rank", "fit_seconds"]
    assert len(table) == 4 and table["rank"].is_monotonic_increasing
    assert found.best_score == pytest.approx(table["mean_score"].iloc[0])
    assert set(found.best_params) == {"max_depth", "max_features"}
    assert found.best_estimator.get_params()["model__max_depth"] == found.best_params["max_depth"]
    assert set(found.best_estimator.predict(samples.X.values[:5])) <= {2, 5, 9}  # refitted on all samples


def test_search_resolves_bare_names_and_samples_at_random():
    svm = {"model": "svm", "params": {"calibration_folds": 2}}
    found = search_hyperparameters(svm, _sample_set(), {"C": [0.1, 1.0, 10.0, 100.0]}, folds=3, n_iter=2,
                                   scoring="kappa", random_state=0)
    assert len(found.results) == 2 and set(found.results["C"]) <= {0.1, 1.0, 10.0, 100.0}
    assert found.search.best_estimator_.get_params()["model__svc__C"] == found.best_params["C"]


def test_search_refuses_unknown_parameters_and_regional_models():
    with pytest.raises(ConfigError, match=r"'n_trees' is not a parameter of the model; give its full name among"):
        search_hyperparameters("rf", _sample_set(), {"n_trees": [1, 2]}, folds=3)
    bagging = {"model": "sklearn.ensemble.BaggingClassifier", "params": {"estimator": DecisionTreeClassifier()}}
    with pytest.raises(ConfigError, match=r"'random_state' matches several \(\['model__estimator__random_state', "
                                          r"'model__random_state'\]\); give its full name"):
        search_hyperparameters(bagging, _sample_set(), {"random_state": [0]}, folds=3)
    with pytest.raises(ConfigError, match=r"a per-region model cannot be tuned as one"):
        search_hyperparameters({"model": "rf", "per_region": True}, _sample_set(region=True), {"max_depth": [1]})
    with pytest.raises(ConfigError, match=r"no variable 'polygon' along 'sample'"):
        search_hyperparameters("rf", _sample_set(), {"max_depth": [1]}, group_by="polygon")


# ------------------------------------------------------------------------------------------ regional models


def _regional_data(seed=0):
    """The same feature means opposite classes in regions 'A' and 'B'; region 'C' only ever holds class 3."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (90, 1)).astype(float)
    region = np.repeat(["A", "B", "C"], 30)
    y = np.where(x[:, 0] > 0.5, 1, 2)
    y[30:60] = 3 - y[30:60]
    y[60:] = 3
    return x, y, region


def test_regional_classifier_fits_one_model_per_region():
    X, y, region = _regional_data()
    base = DecisionTreeClassifier(random_state=0)
    model = RegionalClassifier(base).fit(X, y, region=region)
    assert not hasattr(base, "tree_")  # clones only
    assert model.regions_.tolist() == ["A", "B", "C"] and model.classes_.tolist() == [1, 2, 3]
    assert set(model.estimators_) == {"A", "B", "C"}
    assert isinstance(model.estimators_["C"], DummyClassifier)  # a region of a single class
    assert model.estimators_["A"] is not model.estimators_["B"]
    assert (model.predict(X, region=region) == y).all()
    single = clone(base).fit(X, y)
    assert (single.predict(X) == y).mean() < 0.8  # one model for all cannot learn opposite meanings
    proba = model.predict_proba(X, region=region)
    assert proba.shape == (90, 3)
    np.testing.assert_array_equal(proba[60:], np.tile([0.0, 0.0, 1.0], (30, 1)))  # region C: class 3 only
    np.testing.assert_array_equal(proba[:60, 2], 0.0)  # regions A and B never saw class 3
    assert model.score(X, y, region=region) == 1.0


def test_regional_classifier_errors():
    X, y, region = _regional_data()
    model = RegionalClassifier(DecisionTreeClassifier()).fit(X, y, region=region)
    with pytest.raises(ConfigError, match=r"region\(s\) \['D'\] were not seen in fit, so no model covers them "
                                          r"\(fitted regions: \['A', 'B', 'C'\]\)"):
        model.predict(X[:2], region=["A", "D"])
    with pytest.raises(ConfigError, match=r"fitted per region \(\['A', 'B', 'C'\]\); pass region="):
        model.predict(X)
    with pytest.raises(ConfigError, match=r"region must give one value per sample \(90\); got shape \(3,\)"):
        RegionalClassifier(DecisionTreeClassifier()).fit(X, y, region=["A", "B", "C"])
    with pytest.raises(NotFittedError):
        RegionalClassifier(DecisionTreeClassifier()).predict(X, region=region)


def test_regional_classifier_takes_series_and_params():
    X, y = separable_series(n_per_class=10)
    region = np.tile([1, 2], 15)
    model = RegionalClassifier(make_model("rf", n_estimators=5, n_jobs=1, random_state=0))
    assert model.get_params()["estimator__model__n_estimators"] == 5
    model.set_params(estimator__model__n_estimators=7).fit(X, y, region=region)
    assert model.estimators_[1].named_steps["model"].n_estimators == 7
    assert (model.predict(X, region=region) == y).mean() > 0.9


@pytest.mark.parametrize("estimator", [*LABKIT_ESTIMATORS, make_model("svm")], ids=lambda e: type(e).__name__)
def test_html_display_emits_no_warning(estimator):
    # Jupyter shows an estimator with its HTML repr, which parses the docstrings (numpydoc): the book fails on any
    # warning a cell prints.
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        assert "<div" in estimator._repr_html_()
