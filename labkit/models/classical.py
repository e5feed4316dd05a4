"""Classical models (random forest, SVM, LightGBM), registered by name in the one registry of :mod:`.registry`.

Each is a scikit-learn pipeline: :class:`~labkit.models.series.SeriesFeatures` (the series plus temporal statistics),
then the estimator. Build them with :func:`labkit.models.make_model` (``make_model("rf", n_estimators=100)``).
Classifiers and their regression twins (``rf-regressor``, ``lgbm-regressor``) share the features step.

Example
-------
>>> from labkit.models import make_model
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(40, 5, 2)), np.repeat([1, 2], 20)
>>> model = make_model("rf", n_estimators=10, random_state=0).fit(X + y[:, None, None], y)
>>> model.predict(X[:3] + 1).tolist()
[1, 1, 1]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np  # noqa: F401  (the module example uses it)
from sklearn.pipeline import Pipeline

from ..features import STATS
from .registry import register_model
from .series import SeriesFeatures


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


def _random_forest_regressor(**params):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**{"n_estimators": 200, "n_jobs": -1, **params})


def _lightgbm_regressor(**params):
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**{"n_estimators": 200, "max_bin": 63, "n_jobs": 1, "verbose": -1, **params})


def _pipeline(model: Callable, *, stats: Sequence[str] = STATS, **params) -> Pipeline:
    """:class:`SeriesFeatures` and ``model(**params)``: the build function of every classical entry."""
    return Pipeline([("features", SeriesFeatures(stats=stats)), ("model", model(**params))])


_CLASSICAL = {  # name: (estimator factory, class that takes its hyperparameters, task, description)
    "rf": (_random_forest, "sklearn.ensemble.RandomForestClassifier", "classification",
           "random forest (scikit-learn), 200 trees"),
    "svm": (_svm, "labkit.models.svm.CalibratedSVC", "classification",
            "RBF support-vector machine after standard scaling, probabilities by cross-validated Platt scaling"),
    "lgbm": (_lightgbm, "lightgbm.LGBMClassifier", "classification",
             "LightGBM gradient-boosted trees, 200 rounds, 63 histogram bins"),
    "rf-regressor": (_random_forest_regressor, "sklearn.ensemble.RandomForestRegressor", "regression",
                     "random forest regression (scikit-learn), 200 trees"),
    "lgbm-regressor": (_lightgbm_regressor, "lightgbm.LGBMRegressor", "regression",
                       "LightGBM gradient-boosted regression trees, 200 rounds, 63 histogram bins"),
}
for _name, (_factory, _estimator, _task, _description) in _CLASSICAL.items():
    register_model(_name, functools.partial(_pipeline, _factory), description=_description, estimator=_estimator,
                   task=_task)
