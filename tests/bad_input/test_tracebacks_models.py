"""Class 3, tracebacks instead of errors, in the models: raw scikit-learn and numpy errors that became labkit errors.

Issue 7. Samples with missing values (NaN, or ±inf, which labkit reads as missing) for the SVM, which cannot take
them; sample sets without samples or with a single class; a model whose classes are text applied to a cube. Each
gets a :class:`~labkit.errors.LabkitError` that names the field (``X``, ``label``, ``y``, ``classes_``), the counts
and the fix, before anything is fitted or classified. (Bad parameters: ``test_parameters.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import ConfigError, DataModelError, LabkitError
from labkit.inference import predict_cube
from labkit.models import (
    CalibratedSVC,
    cross_validate,
    fit_model,
    make_folds,
    make_model,
    search_hyperparameters,
)

RF = {"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}
GAP_FILL = r"Gap-fill the cube before sampling \(labkit\.gapfill\.fill_gaps\), or drop those samples"


def _holed(samples, value=np.nan, rows=(3, 10)):
    X = samples.X.values.copy()
    X[list(rows), 1, 0] = value
    return samples.copy(data={**{k: v.values for k, v in samples.data_vars.items()}, "X": X})


# ----------------------------------------------------------------------------------- missing values and the SVM


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_svm_refuses_missing_values_at_fit_by_count_and_fix(samples, value):  # audit #37, #40
    with pytest.raises(DataModelError, match=rf"^fit_model \(CalibratedSVC\): 2 of the 24 samples hold missing values "
                                             rf"\(NaN or ±inf\) in X, at positions \[3, 10\], and this model cannot "
                                             rf"take them\. {GAP_FILL}"):
        fit_model(make_model("svm"), _holed(samples, value))


def test_svm_pipeline_and_estimator_refuse_missing_values_themselves(samples):
    """Used without fit_model: the SVM's own check, before scikit-learn's "Input X contains NaN"."""
    holed = _holed(samples, np.inf)
    with pytest.raises(DataModelError, match=rf"^CalibratedSVC\.fit: 2 of the 24 samples hold missing values \(NaN or "
                                             rf"±inf\) in X, at positions \[3, 10\].*{GAP_FILL}"):
        make_model("svm").fit(holed.X.values, holed.label.values)  # SeriesFeatures turns inf into NaN first
    flat = holed.X.values.reshape(24, -1)
    with pytest.raises(DataModelError, match=r"^CalibratedSVC\.fit: 2 of the 24 samples hold missing values"):
        CalibratedSVC().fit(flat, holed.label.values)


def test_svm_refuses_missing_values_at_predict(samples):
    model = make_model("svm").fit(samples.X.values, samples.label.values)
    holed = _holed(samples).X.values
    for method in ("predict", "predict_proba"):
        with pytest.raises(DataModelError, match=rf"^CalibratedSVC\.{method}: 2 of the 24 samples to classify hold "
                                                 r"missing values \(NaN or ±inf\) in X, at positions \[3, 10\], and "
                                                 r"this model cannot take them\. Gap-fill them .*predict_cube leaves "
                                                 r"such pixels unclassified"):
            getattr(model, method)(holed)
    svc = CalibratedSVC().fit(samples.X.values.reshape(24, -1), samples.label.values)
    with pytest.raises(DataModelError, match=r"^CalibratedSVC\.decision_function: 2 of the 24 samples to classify"):
        svc.decision_function(holed.reshape(24, -1))


def test_cross_validation_and_search_refuse_missing_values_before_any_fold(samples, monkeypatch):
    fits = []
    monkeypatch.setattr(CalibratedSVC, "fit", lambda self, *a, **k: fits.append(1))
    holed = _holed(samples)
    with pytest.raises(DataModelError, match=rf"^cross_validate \(CalibratedSVC\): 2 of the 24 samples hold missing "
                                             rf"values \(NaN or ±inf\) in X.*{GAP_FILL}"):
        cross_validate(holed, "svm", folds=3)
    with pytest.raises(DataModelError, match=r"^search_hyperparameters \(CalibratedSVC\): 2 of the 24 samples hold "
                                             r"missing values"):
        search_hyperparameters("svm", holed, {"C": [1.0, 10.0]}, folds=3)
    assert fits == []


def test_models_that_take_missing_values_still_do(samples):
    holed = _holed(samples)
    for model in (RF, {"model": "lgbm", "params": {"n_estimators": 5, "n_jobs": 1}},
                  "sklearn.ensemble.HistGradientBoostingClassifier"):
        assert fit_model(make_model(model), holed).predict(holed.X.values).shape == (24,)


def test_a_dotted_path_model_that_cannot_take_missing_values_is_refused_by_its_tags(samples):
    with pytest.raises(DataModelError, match=r"^fit_model \(LogisticRegression\): 2 of the 24 samples hold missing "
                                             r"values \(NaN or ±inf\) in X"):
        fit_model("sklearn.linear_model.LogisticRegression", _holed(samples))


# ------------------------------------------------------------------------------ empty and one-class sample sets


def test_an_empty_sample_set_is_refused_before_fitting(samples):  # audit #43, #44
    empty = samples.isel(sample=[])
    message = r"the sample set has no samples \(its 'sample' dimension is empty\); there is nothing to train on"
    with pytest.raises(DataModelError, match=rf"^fit_model: {message}"):
        fit_model(make_model("rf"), empty)  # was a raw reshape ValueError
    with pytest.raises(DataModelError, match=rf"^cross_validate: {message}"):
        cross_validate(empty, RF, folds=3)
    with pytest.raises(DataModelError, match=rf"^search_hyperparameters: {message}"):
        search_hyperparameters(RF, empty, {"max_depth": [2]}, folds=3)
    with pytest.raises(DataModelError, match=rf"^make_folds: {message}"):
        make_folds(empty, 3)


def test_a_single_class_is_refused_before_fitting(samples):  # audit #45
    one_class = samples.isel(sample=np.flatnonzero(samples.label.values == 2))
    message = (r"the sample set holds a single class in 'label' \(code 2: 8 samples\); a classifier needs samples of "
               r"at least 2 classes")
    for model in ("rf", "svm", "lgbm"):
        with pytest.raises(DataModelError, match=rf"^fit_model: {message}"):
            fit_model(make_model(model), one_class)
    with pytest.raises(DataModelError, match=rf"^cross_validate: {message}"):
        cross_validate(one_class, RF, folds=2)


def test_calibrated_svc_on_one_class_raises_a_labkit_error():
    with pytest.raises(DataModelError, match=r"^CalibratedSVC\.fit: y holds a single class \(1: 4 samples\); an SVM "
                                             r"needs samples of at least two classes\.$") as error:
        CalibratedSVC().fit(np.arange(8.0).reshape(4, 2), [1, 1, 1, 1])
    assert isinstance(error.value, LabkitError) and isinstance(error.value, ValueError)  # scikit-learn's contract


# ---------------------------------------------------------------------------------------- text classes, a cube


def test_a_model_with_text_classes_is_refused_before_classifying(cube, samples):  # audit #51: was UFuncTypeError
    names = np.array(["crop", "forest", "water"])[samples.label.values - 1]
    model = make_model(RF).fit(samples.X.values, names)
    with pytest.raises(ConfigError, match=r"^predict_cube: the model's classes_ must be integer class codes for a "
                                          r"class map; got \['crop', 'forest', 'water'\] \(<U6\)\. Fit the model on "
                                          r"integer codes: extract_samples and the sample-table readers map text "
                                          r"labels to codes"):
        predict_cube(cube.isel(time=[0, 1, 2, 3]), model)


def test_whole_float_classes_still_classify(cube, samples):
    model = make_model(RF).fit(samples.X.values, samples.label.values.astype(float))
    class_map, _ = predict_cube(cube.isel(time=[0, 1, 2, 3]), model)
    assert set(np.unique(class_map.values)) <= {1, 2, 3}
