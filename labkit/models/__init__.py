"""Models: every model labkit trains, classical or deep, follows scikit-learn's API and goes through one registry.

Models take ``X`` as a sample set's array ``(n_samples, n_time, n_band)`` (or already flat, ``(n_samples,
n_features)``). Classical models are scikit-learn pipelines that start with :class:`SeriesFeatures`, which flattens
the series and appends temporal statistics; deep models (:mod:`labkit.models.deep`) read the series, its dates and
its missing observations. Comes after :mod:`labkit.samples`, before :mod:`labkit.inference`.

* build: :func:`make_model` (a registered name, a dotted path to a scikit-learn estimator, a :class:`ModelConfig`),
  :func:`describe_models` (what is registered), :func:`register_model` for new kinds of model;
* fit: :func:`fit_model` fits on a sample set and records the bands and dates the model reads
  (:class:`InputSignature`), which :func:`labkit.inference.predict_cube` checks;
* estimators: :class:`SeriesFeatures`, :class:`CalibratedSVC`, :class:`RegionalClassifier` (one model per region),
  :class:`DeepClassifier` and :class:`DeepRegressor` (the networks of :mod:`labkit.models.deep`);
* keep: :func:`save_model` and :func:`load_model`, one file with the model's input signature and classes;
* select: :func:`cross_validate` (:class:`CVResult`), :func:`search_hyperparameters` (:class:`SearchResult`),
  :func:`make_folds` — folds grouped by polygon. Classifiers fit a sample set's ``label`` and are scored by OA,
  kappa and F1; regressors (:func:`task_of`) fit its ``target`` and are scored by RMSE, MAE and R².
"""

from . import classical  # noqa: F401  (registers rf, svm, lgbm and their regression twins)
from . import deep  # noqa: F401  (registers the networks; torch is imported when one is built)
from .persistence import load_model, save_model
from .regional import RegionalClassifier
from .registry import (
    MODELS,
    ModelConfig,
    ModelEntry,
    describe_model,
    describe_models,
    make_model,
    model_names,
    parse_model_config,
    register_model,
    resolve_estimator_class,
    seed_estimator,
    task_of,
)
from .selection import CVResult, SearchResult, cross_validate, make_folds, search_hyperparameters
from .series import SeriesFeatures
from .svm import CalibratedSVC
from .training import InputSignature, fit_model, input_signature

__all__ = [
    "DeepClassifier",
    "DeepRegressor",
    "MODELS",
    "CVResult",
    "CalibratedSVC",
    "InputSignature",
    "ModelConfig",
    "ModelEntry",
    "RegionalClassifier",
    "SearchResult",
    "SeriesFeatures",
    "cross_validate",
    "describe_model",
    "describe_models",
    "fit_model",
    "input_signature",
    "load_model",
    "make_folds",
    "make_model",
    "model_names",
    "parse_model_config",
    "register_model",
    "resolve_estimator_class",
    "save_model",
    "search_hyperparameters",
    "seed_estimator",
    "task_of",
]


def __getattr__(name: str):
    """:class:`DeepClassifier` and :class:`DeepRegressor`, imported on first use (they import torch)."""
    if name in ("DeepClassifier", "DeepRegressor"):
        from .deep import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
