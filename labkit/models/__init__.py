"""Models: every classifier labkit trains follows scikit-learn's API (``fit``/``predict``/``predict_proba``).

Models take ``X`` as a sample set's array ``(n_samples, n_time, n_band)`` (or already flat, ``(n_samples,
n_features)``). Classical models are scikit-learn pipelines that start with :class:`SeriesFeatures`, which flattens
the series and appends temporal statistics. Comes after :mod:`labkit.samples`, before :mod:`labkit.inference`.

* build: :func:`make_model` (a registered name, a dotted path to a scikit-learn classifier, a :class:`ModelConfig`),
  :func:`make_classifier` (``"rf"``, ``"svm"``, ``"lgbm"``), :func:`register_model` for new kinds of model;
* fit: :func:`fit_model` fits on a sample set and records the bands and dates the model reads
  (:class:`InputSignature`), which :func:`labkit.inference.predict_cube` checks;
* estimators: :class:`SeriesFeatures`, :class:`CalibratedSVC`, :class:`RegionalClassifier` (one model per region);
* select: :func:`cross_validate` (:class:`CVResult`), :func:`search_hyperparameters` (:class:`SearchResult`),
  :func:`make_folds` — folds grouped by polygon.
"""

from .classical import CLASSIFIERS, SeriesFeatures, make_classifier
from .regional import RegionalClassifier
from .registry import (
    MODELS,
    ModelConfig,
    ModelEntry,
    describe_model,
    make_model,
    model_names,
    parse_model_config,
    register_model,
    resolve_estimator_class,
    seed_estimator,
)
from .selection import CVResult, SearchResult, cross_validate, make_folds, search_hyperparameters
from .svm import CalibratedSVC
from .training import InputSignature, fit_model, input_signature

__all__ = [
    "CLASSIFIERS",
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
    "fit_model",
    "input_signature",
    "make_classifier",
    "make_folds",
    "make_model",
    "model_names",
    "parse_model_config",
    "register_model",
    "resolve_estimator_class",
    "search_hyperparameters",
    "seed_estimator",
]
