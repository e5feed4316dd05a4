"""One model per region: :class:`RegionalClassifier`.

Land covers look different from one eco-climatic zone to the next (a crop's calendar shifts with the climate), so
iota2 trains one classifier per zone and classifies each pixel with the model of its zone. The sample set's
optional ``region`` variable (see :mod:`labkit.datamodel`) says which zone each sample lies in.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..errors import ConfigError


class RegionalClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit one clone of ``estimator`` per region; predict each sample with the model of its region.

    Parameters
    ----------
    estimator : classifier
        Any classifier with scikit-learn's API (``make_model("rf")``, a dotted-path model...). Cloned once per
        region, never fitted itself.

    Attributes
    ----------
    classes_ : ndarray
        Every class seen in ``fit``, over all regions. ``predict_proba`` has one column per class, 0 where a
        region's model never saw the class.
    regions_ : ndarray
        The regions seen in ``fit`` (``[None]`` when fitted without ``region``: one model for all samples).
    estimators_ : dict
        The fitted model of each region. A region whose samples all have one class gets a constant classifier
        (:class:`sklearn.dummy.DummyClassifier`): many models cannot be fitted on a single class.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.array([[0.0], [1.0], [0.0], [1.0]])
    >>> y = np.array([1, 2, 2, 1])  # the same feature means opposite things in the two regions
    >>> model = RegionalClassifier(DecisionTreeClassifier()).fit(X, y, region=["north", "north", "south", "south"])
    >>> model.predict([[0.0], [0.0]], region=["north", "south"]).tolist()
    [1, 2]
    >>> model.predict([[0.0]], region=["east"])
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: RegionalClassifier: region(s) ['east'] were not seen in fit, so no model covers them (fitted regions: ['north', 'south']). Add training samples of these regions, or assign them to a fitted region.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, region=None, **fit_params):
        """Fit one clone of ``estimator`` on the samples of each region; return ``self``.

        Parameters
        ----------
        X : array (n_samples, ...)
            Anything the estimator takes (series ``(n, time, band)`` or features ``(n, features)``).
        y : array (n_samples,)
        region : array (n_samples,), optional
            The region of each sample; None fits a single model on all samples.
        **fit_params : passed to each model's ``fit`` (sample-aligned arrays are split by region); for a pipeline, a
            plain name (``sample_weight``) goes to its final step.
        """
        from .training import _route_fit_params

        if y is None:
            raise ValueError("RegionalClassifier requires y to be passed, but the target y is None.")
        X, y = self._as_array(X), column_or_1d(y, warn=True)
        if X.ndim < 2:
            raise ValueError(f"Expected a 2D array or more, got a {X.ndim}D array instead: reshape your data.")
        if len(X) != len(y):
            raise ValueError(f"RegionalClassifier.fit: X has {len(X)} samples but y has {len(y)}.")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self.regions_ = np.array([None], dtype=object) if region is None else np.unique(self._regions(region, len(y)))
        self.estimators_ = {}
        for value, rows in self._rows(region, len(y)):
            params = {k: (np.asarray(v)[rows] if np.ndim(v) and len(v) == len(y) else v) for k, v in fit_params.items()}
            single_class = len(np.unique(y[rows])) == 1
            model = DummyClassifier(strategy="most_frequent") if single_class else clone(self.estimator)
            self.estimators_[value] = model.fit(X[rows], y[rows], **_route_fit_params(model, params))
        first = next(iter(self.estimators_.values()))
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        return self

    @staticmethod
    def _as_array(X) -> np.ndarray:
        if issparse(X):
            raise TypeError("RegionalClassifier does not support sparse input; pass a dense array (X.toarray()).")
        return np.asarray(X)

    @staticmethod
    def _regions(region, n: int) -> np.ndarray:
        region = np.asarray(region)
        if region.ndim != 1 or len(region) != n:
            raise ConfigError(f"RegionalClassifier: region must give one value per sample ({n}); got shape "
                              f"{region.shape}.")
        return region

    def _rows(self, region, n: int):
        """``(region value, sample rows)`` for each region present in ``region`` (None: all rows, one model)."""
        if region is None:
            return [(None, np.arange(n))]
        region = self._regions(region, n)
        values, inverse = np.unique(region, return_inverse=True)
        return [(value.item() if isinstance(value, np.generic) else value, np.flatnonzero(inverse == i))
                for i, value in enumerate(values)]

    def _models(self, X, region) -> list:
        """``(model, rows)`` pairs that cover ``X``, after checking every region was seen in fit."""
        check_is_fitted(self)
        pairs = self._rows(region, len(X))
        if region is None and None not in self.estimators_:
            raise ConfigError(f"RegionalClassifier: the model was fitted per region ({self.regions_.tolist()}); "
                              "pass region=... with one value per sample.")
        unseen = [value for value, _ in pairs if value not in self.estimators_]
        if unseen:
            raise ConfigError(
                f"RegionalClassifier: region(s) {unseen} were not seen in fit, so no model covers them (fitted "
                f"regions: {self.regions_.tolist()}). Add training samples of these regions, or assign them to a "
                "fitted region."
            )
        return [(self.estimators_[value], rows) for value, rows in pairs]

    def predict(self, X, region=None):
        """The class of each sample, predicted by the model of its region."""
        X = self._as_array(X)
        out = np.empty(len(X), dtype=self.classes_.dtype) if hasattr(self, "classes_") else None
        for model, rows in self._models(X, region):
            out[rows] = model.predict(X[rows])
        return out

    def predict_proba(self, X, region=None):
        """Probabilities ``(n_samples, n_classes)`` in the order of ``classes_``, by the model of each region."""
        X = self._as_array(X)
        out = np.zeros((len(X), len(getattr(self, "classes_", []))))
        for model, rows in self._models(X, region):
            out[np.ix_(rows, np.searchsorted(self.classes_, model.classes_))] = model.predict_proba(X[rows])
        return out

    def score(self, X, y, region=None, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` (with each sample's region) against ``y``."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, region=region), sample_weight=sample_weight)
