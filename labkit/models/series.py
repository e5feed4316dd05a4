"""The first step of every classical model: a pixel's series as one row of features.

:class:`SeriesFeatures` flattens ``(n_samples, n_time, n_band)`` series and appends temporal statistics per band, so
that any scikit-learn estimator reads a sample set's array. Registered classical models (:mod:`.classical`) and
dotted-path models (:mod:`.registry`) start with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from ..features import STATS, temporal_stats
from ..inputs import finite_or_nan

__all__ = ["SeriesFeatures"]


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
