"""A support-vector machine with class probabilities: :class:`CalibratedSVC`.

scikit-learn 1.9 deprecates ``SVC(probability=True)`` (removed in 1.11) in favour of
``CalibratedClassifierCV(SVC(), ensemble=False)``: Platt scaling (a sigmoid per class, one-vs-rest) fitted on
cross-validated decision values, then one SVM fitted on all the data. That calibration needs at least as many
samples of every class as it has folds, which small reference classes (a few polygons, a few pixels) do not always
have. :class:`CalibratedSVC` makes the choice explicit:

* the calibration uses ``min(calibration_folds, smallest class size)`` stratified folds;
* when a class has a single training sample, no fold can hold it out: the sigmoids are fitted on the SVM's own
  (in-sample) decision values. Probabilities are then over-confident, predictions are not affected much; the
  attribute ``calibration_`` says which was done.

An SVM cannot take missing values: a sample with NaN (or ±inf, which labkit reads as missing) in ``X`` is refused,
in ``fit`` and in ``predict``, with a :class:`~labkit.errors.DataModelError` that counts them and gives the fix
(gap-fill the cube before sampling). :func:`labkit.inference.predict_cube` leaves such pixels unclassified.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import DataModelError
from .training import _refuse_missing

PREDICT_FIX = ("Gap-fill them (labkit.gapfill.fill_gaps), or leave them out: labkit.inference.predict_cube leaves "
               "such pixels unclassified.")

SVC_PARAMS = ("C", "kernel", "degree", "gamma", "coef0", "shrinking", "tol", "cache_size", "class_weight", "max_iter")


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """Support-vector classifier whose ``predict_proba`` comes from cross-validated Platt scaling.

    Replaces ``SVC(probability=True)`` (deprecated in scikit-learn 1.9). ``predict`` returns the class of highest
    probability, so that it always agrees with ``predict_proba``.

    Parameters
    ----------
    C, kernel, degree, gamma, coef0, shrinking, tol, cache_size, class_weight, max_iter
        Those of :class:`sklearn.svm.SVC`, with the same defaults.
    calibration_folds : int, default 5
        Stratified folds used to fit the sigmoids on held-out decision values; reduced to the size of the smallest
        class when a class has fewer samples. A class with a single sample: the sigmoids are fitted in-sample.
    n_jobs : int, optional
        Folds fitted in parallel.
    random_state : int, optional
        Seed of the calibration folds' shuffling.

    Raises
    ------
    DataModelError
        In ``fit``: samples with missing values (NaN, ±inf) in ``X`` (how many, where, and the fix), a single
        class. In ``predict``, ``predict_proba`` and ``decision_function``: samples with missing values.

    Attributes
    ----------
    classes_ : ndarray
        The class codes seen in ``fit``.
    calibrated_ : sklearn.calibration.CalibratedClassifierCV
        The SVM fitted on all the data and its sigmoids.
    calibration_ : str
        ``"5-fold"`` (cross-validated, with the number of folds used) or ``"in-sample"``.
    n_iter_ : ndarray
        Iterations of the SVM's solver, per pair of classes (see :class:`sklearn.svm.SVC`).

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV, sklearn.svm.SVC

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(4, 1, (20, 2)), [[8.0, 8.0], [8.5, 8.0]]]
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int), [2, 2]]
    >>> model = CalibratedSVC(random_state=0).fit(X, y)
    >>> model.calibration_  # the smallest class has 2 samples
    '2-fold'
    >>> model.predict([[0.0, 0.0], [4.0, 4.0]]).tolist(), model.predict_proba(X).shape
    ([0, 1], (42, 3))
    >>> model.predict([[0.0, np.nan]])
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: CalibratedSVC.predict: 1 of the 1 samples to classify holds missing values (NaN or ±inf) in X, at positions [0], and this model cannot take them. Gap-fill them (labkit.gapfill.fill_gaps), or leave them out: labkit.inference.predict_cube leaves such pixels unclassified.
    """

    _parameter_constraints: dict = {
        **{name: SVC._parameter_constraints[name] for name in SVC_PARAMS},
        "calibration_folds": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(self, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0, shrinking=True, tol=1e-3,
                 cache_size=200, class_weight=None, max_iter=-1, calibration_folds=5, n_jobs=None,
                 random_state=None):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.shrinking = shrinking
        self.tol = tol
        self.cache_size = cache_size
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.calibration_folds = calibration_folds
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the SVM on all of ``X`` and its probability calibration; return ``self``."""
        X, y = validate_data(self, X, y, ensure_all_finite=False)
        _refuse_missing(X, "CalibratedSVC.fit")
        check_classification_targets(y)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise DataModelError(f"CalibratedSVC.fit: y holds a single class ({classes[0]}: {counts[0]} samples); "
                                 "an SVM needs samples of at least two classes.")
        svc = SVC(**{name: getattr(self, name) for name in SVC_PARAMS})
        folds = int(min(self.calibration_folds, counts.min()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=cv, ensemble=False, n_jobs=self.n_jobs)
            self.calibration_ = f"{folds}-fold"
        else:  # a class of one sample cannot be held out: calibrate on the fitted SVM's own decision values
            everything = np.arange(len(y))
            frozen = FrozenEstimator(svc.fit(X, y, sample_weight=sample_weight))
            calibrated = CalibratedClassifierCV(frozen, method="sigmoid", cv=[(everything, everything)])
            self.calibration_ = "in-sample"
        self.calibrated_ = calibrated.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.calibrated_.classes_
        self.n_iter_ = self.calibrated_.calibrated_classifiers_[0].estimator.n_iter_
        return self

    def _validate_X(self, X, who: str):
        """``X`` checked against ``fit``'s (features), without missing values."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite=False)
        _refuse_missing(X, f"CalibratedSVC.{who}", what="samples to classify", fix=PREDICT_FIX)
        return X

    def predict_proba(self, X):
        """Probability of each class (columns in the order of ``classes_``), rows summing to 1."""
        X = self._validate_X(X, "predict_proba")
        return self.calibrated_.predict_proba(X)

    def predict(self, X):
        """The class of highest probability."""
        X = self._validate_X(X, "predict")
        proba = self.calibrated_.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def decision_function(self, X):
        """The SVM's decision values (one-vs-rest, as :meth:`sklearn.svm.SVC.decision_function`)."""
        X = self._validate_X(X, "decision_function")
        return self.calibrated_.calibrated_classifiers_[0].estimator.decision_function(X)
