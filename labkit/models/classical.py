"""Classical classifiers (random forest, SVM, LightGBM) behind one constructor, :func:`make_classifier`."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from ..features import STATS, temporal_stats
from ..inputs import finite_or_nan
from .registry import _build, register_model


class SeriesFeatures(TransformerMixin, BaseEstimator):
    """Flatten ``(n_samples, n_time, n_band)`` series to rows and append temporal statistics per band.

    ``+inf`` and ``-inf`` are missing values, as ``NaN`` is, everywhere in labkit: they come out as ``NaN`` (the input
    is not changed), so that the model after this step sees ``NaN`` only, and the statistics ignore them. Models that
    cannot take missing values (the SVM) refuse them by name.

    Parameters
    ----------
    stats : sequence of str, default ("min", "max", "mean", "std", "amplitude", "argmax")
        Statistics over time (see :func:`labkit.features.temporal_stats`); empty for the raw series only.

    Attributes
    ----------
    n_time_, n_band_ : int
        Shape of the series seen in ``fit``.

    Examples
    --------
    >>> X = np.arange(12, dtype=float).reshape(2, 3, 2)
    >>> SeriesFeatures(stats=["max"]).fit_transform(X).shape
    (2, 8)
    >>> SeriesFeatures(stats=["max"]).fit_transform(np.array([[1.0, np.inf, 3.0]])).tolist()
    [[1.0, nan, 3.0, 3.0]]
    """

    def __init__(self, stats: Sequence[str] = STATS):
        self.stats = stats

    def fit(self, X, y=None):
        X = self._as_3d(X)
        if self.stats:  # empty: the raw series only
            temporal_stats(X[:1], self.stats)  # checks the statistic names
        self.n_time_, self.n_band_ = X.shape[1:]
        self.n_features_in_ = X.shape[1] * X.shape[2]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = self._as_3d(X)
        if X.shape[1:] != (self.n_time_, self.n_band_):
            raise ConfigError(f"SeriesFeatures: fitted on series of {self.n_time_} dates x {self.n_band_} bands; "
                              f"got {X.shape[1]} x {X.shape[2]}.")
        if np.isinf(X).any():  # missing, as NaN is; on a copy, never in the caller's array
            X = finite_or_nan(X.copy())
        flat = X.reshape(len(X), -1)
        if not self.stats:
            return flat
        return np.concatenate([flat, temporal_stats(X, self.stats).reshape(len(X), -1)], axis=1)

    @staticmethod
    def _as_3d(X) -> np.ndarray:
        X = np.asarray(X, dtype="float32")
        if X.ndim == 2:
            return X[:, :, None]
        if X.ndim != 3:
            raise ConfigError(f"SeriesFeatures: X must be (n_samples, n_time, n_band); got {X.ndim} dims.")
        return X


def _random_forest(**params):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**{"n_estimators": 200, "n_jobs": -1, **params})


def _svm(**params):
    from sklearn.preprocessing import StandardScaler

    from .svm import CalibratedSVC

    return Pipeline([("scale", StandardScaler()), ("svc", CalibratedSVC(**params))])


def _lightgbm(**params):
    from lightgbm import LGBMClassifier

    # 63 histogram bins instead of 255: a series gives hundreds of features and sample sets are small, so the
    # histograms dominate the time; 63 bins is LightGBM's own advice for speed, and 3 to 4 times faster here.
    return LGBMClassifier(**{"n_estimators": 200, "max_bin": 63, "n_jobs": 1, "verbose": -1, **params})


CLASSIFIERS = {"rf": _random_forest, "svm": _svm, "lgbm": _lightgbm}

_ESTIMATORS = {"rf": "sklearn.ensemble.RandomForestClassifier", "svm": "labkit.models.svm.CalibratedSVC",
               "lgbm": "lightgbm.LGBMClassifier"}
"""The class that receives each classifier's hyperparameters (their names are checked against it)."""


def _pipeline(name: str, *, stats: Sequence[str] = STATS, **params) -> Pipeline:
    """:class:`SeriesFeatures` and the named model, unchecked: the registry's build function."""
    return Pipeline([("features", SeriesFeatures(stats=stats)), ("model", CLASSIFIERS[name](**params))])


def make_classifier(name: str, *, stats: Sequence[str] = STATS, **params) -> Pipeline:
    """A classical classifier for time series: :class:`SeriesFeatures` followed by the named model.

    Parameters
    ----------
    name : {"rf", "svm", "lgbm"}
        Random forest, RBF support-vector machine (:class:`~labkit.models.svm.CalibratedSVC`, after standard
        scaling), LightGBM. :func:`labkit.models.make_model` also takes dotted paths and configs.
    stats : temporal statistics appended to the series (see :class:`SeriesFeatures`).
    **params : hyperparameters of the model (``random_state``, ``n_estimators``, ``C``...).

    Raises
    ------
    ConfigError
        An unknown model, an unknown hyperparameter (with the closest name and the accepted ones) or a bad value
        (what is expected, what was given), before anything is fitted.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 5, 2)), np.repeat([1, 2], 20)
    >>> model = make_classifier("rf", n_estimators=10, random_state=0).fit(X + y[:, None, None], y)
    >>> model.predict(X[:3] + 1).tolist()
    [1, 1, 1]
    >>> make_classifier("rf", n_estimator=10)
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: model 'rf' (RandomForestClassifier) has no parameter(s) ['n_estimator'] (did you mean 'n_estimators'?); its parameters: [...].
    """
    if name not in CLASSIFIERS:
        raise ConfigError(f"Unknown model {name!r}; choose one of {sorted(CLASSIFIERS)}.")
    return _build(name, params, stats)


_DESCRIPTIONS = {
    "rf": "random forest (scikit-learn), 200 trees",
    "svm": "RBF support-vector machine after standard scaling, probabilities by cross-validated Platt scaling",
    "lgbm": "LightGBM gradient-boosted trees, 200 rounds, 63 histogram bins",
}
for _name, _description in _DESCRIPTIONS.items():
    register_model(_name, functools.partial(_pipeline, _name), description=_description,
                   estimator=_ESTIMATORS[_name])
