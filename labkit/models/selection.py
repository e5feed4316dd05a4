"""Model selection on a sample set: k-fold cross-validation and hyperparameter search, grouped by polygon.

Neighbouring pixels of one polygon are nearly identical: a model tested on pixels of polygons it was trained on
looks far better than it is on a map. So folds are made of whole groups (``group_by="group"``: polygons; any
variable along ``sample`` works, e.g. ``"region"``) with scikit-learn's :class:`~sklearn.model_selection.
StratifiedGroupKFold`, which also keeps the classes' shares similar from fold to fold; without ``group_by``, plain
:class:`~sklearn.model_selection.StratifiedKFold` (each sample its own group). A regression (a model whose
:func:`~labkit.models.task_of` is ``"regression"``, fitted on the set's ``target``) has no classes to stratify by:
its folds are plain :class:`~sklearn.model_selection.KFold`, or :class:`~sklearn.model_selection.GroupKFold` when
grouped, and it is scored by RMSE, MAE and R² instead of overall accuracy, kappa and macro F1.

* :func:`make_folds` — the ``(train, test)`` index arrays (:class:`labkit.samples.PolygonKFold` when grouped),
  checked: every class in enough groups;
* :func:`cross_validate` — scores of a model over the folds (:class:`CVResult`), with
  :func:`labkit.accuracy.assess_accuracy` (or :func:`~labkit.accuracy.assess_regression`) on each fold;
* :func:`search_hyperparameters` — grid or random search over those folds (:class:`SearchResult`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..accuracy import (AccuracyReport, MeanStd, RegressionReport, RunsSummary, _mean_std, assess_accuracy,
                        assess_regression, summarize_runs)
from ..datamodel import class_names as _class_names
from ..datamodel import validate, with_label_codes
from ..errors import ConfigError
from ..params import flag, integer, seed
from . import _lightgbm
from .registry import describe_model, make_model, task_of
from .training import _check_training_set, _names_of, _sample_kwargs, fit_model, input_signature

METRICS = {"overall_accuracy": "overall accuracy", "kappa": "kappa", "macro_f1": "macro F1"}
"""The scores reported for each fold of a classification, and how they are printed."""

REGRESSION_METRICS = {"rmse": "RMSE", "mae": "MAE", "r2": "R²"}
"""The scores reported for each fold of a regression, and how they are printed."""


# ------------------------------------------------------------------------------------------------------ folds


def _groups(samples: xr.Dataset, group_by: str | None, where: str) -> np.ndarray:
    if group_by is None:
        return np.arange(samples.sizes["sample"])
    along_sample = [name for name, var in samples.data_vars.items() if var.dims == ("sample",) and name != "label"]
    known = isinstance(group_by, Hashable) and group_by in samples.variables
    if not known or samples[group_by].dims != ("sample",):
        raise ConfigError(f"{where}: the sample set has no variable {group_by!r} along 'sample' to group by; "
                          f"variables along 'sample': {along_sample}.")
    return samples[group_by].values


def make_folds(
    samples: xr.Dataset, folds: int = 5, *, group_by: str | None = None, random_state: int | None = 0,
    stratify: bool | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` sample indices of k folds, grouped by a variable and stratified by class.

    Parameters
    ----------
    samples : sample set
        Its labels, codes or names (text), are what the folds are stratified by.
    folds : int, default 5
        Number of folds (at least 2).
    group_by : str, optional
        A variable along ``sample`` (``"group"``, ``"region"``...) whose values never straddle training and test
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`). None: each sample is its own group
        (:class:`~sklearn.model_selection.StratifiedKFold`).
    random_state : int, optional
        Seed of the shuffling of groups (samples) before they are dealt to folds.
    stratify : bool, optional
        Keep the classes' shares similar from fold to fold (the default when the set has ``label``). False (the
        default for a set with only ``target``, and what :func:`cross_validate` asks for a regression): plain
        :class:`~sklearn.model_selection.KFold`, or :class:`~sklearn.model_selection.GroupKFold` with ``group_by``.

    Returns
    -------
    list of (train, test) integer arrays
        Every sample is in exactly one test fold.

    Raises
    ------
    ConfigError
        Fewer than 2 folds, a bad seed or ``stratify``, no such variable, fewer groups (samples) than folds, a
        class present in fewer groups than there are folds (some fold would not test that class and one would not
        learn it); stratified folds of a set without ``label``.
    DataModelError
        A sample set without samples or, stratified, with a single class.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((8, 1, 1)), [1, 1, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 2, 2, 3, 3], bands=["NDVI"])
    >>> [sorted(set(s.group.values[test].tolist())) for _, test in make_folds(s, 2, group_by="group")]
    [[1, 2], [0, 3]]
    >>> make_folds(s, 3, group_by="group")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: make_folds: class 1 has samples in only 2 groups of 'group', fewer than the 3 folds (so do classes [2]): some fold would not test it and one would not learn it. Use 2 folds or fewer, or merge or drop the class.
    >>> lai = dm.make_samples(np.zeros((6, 1, 1)), target=np.arange(6.0), bands=["NDVI"])
    >>> [test.tolist() for _, test in make_folds(lai, 3)]
    [[2, 5], [1, 3], [0, 4]]
    """
    from sklearn.model_selection import StratifiedKFold

    from ..samples import PolygonKFold

    folds = integer(folds, "folds", "make_folds", low=2)
    random_state = seed(random_state, "make_folds", generator=False)
    validate(samples, "samples")
    stratify = ("label" in samples) if stratify is None else flag(stratify, "stratify", "make_folds")
    if not stratify:
        return _unstratified_folds(samples, folds, group_by, random_state)
    samples = with_label_codes(samples)
    _check_training_set(samples, None, "make_folds")
    groups = _groups(samples, group_by, "make_folds")
    labels = samples["label"].values
    names = _class_names(samples)
    per_class = pd.DataFrame({"label": labels, "group": groups}).groupby("label")["group"].nunique()
    short = per_class[per_class < folds]
    if len(short):
        code, count = int(short.index[0]), int(short.iloc[0])
        unit = f"groups of {group_by!r}" if group_by else "samples"
        name = f" ({names[code]!r})" if names.get(code, str(code)) != str(code) else ""
        others = f" (so do classes {[int(c) for c in short.index[1:]]})" if len(short) > 1 else ""
        raise ConfigError(
            f"make_folds: class {code}{name} has samples in only {count} {unit}, fewer than the {folds} "
            f"folds{others}: some fold would not test it and one would not learn it. Use {int(short.min())} folds "
            "or fewer, or merge or drop the class."
        )
    if group_by is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=random_state).split(groups, labels)
    else:  # scikit-learn's StratifiedGroupKFold, shuffled
        splits = PolygonKFold(folds, stratify=True, shuffle=True, random_state=random_state).split(None, labels, groups)
    return list(splits)


def _unstratified_folds(samples: xr.Dataset, folds: int, group_by: str | None,
                        random_state: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds that ignore the classes (a regression's): :class:`~sklearn.model_selection.KFold` over samples, or
    :class:`labkit.samples.PolygonKFold` (``GroupKFold``) over the values of ``group_by``; both shuffled."""
    from sklearn.model_selection import KFold

    from ..samples import PolygonKFold

    if samples.sizes["sample"] == 0:
        _check_training_set(samples, None, "make_folds")
    groups = _groups(samples, group_by, "make_folds")
    n_groups = np.unique(groups).size
    if n_groups < folds:
        unit = f"groups of {group_by!r}" if group_by else "samples"
        raise ConfigError(f"make_folds: {folds} folds need at least {folds} {unit}; the sample set has {n_groups}. "
                          f"Use {max(n_groups, 2)} folds or fewer.")
    if group_by is None:
        splits = KFold(folds, shuffle=True, random_state=random_state).split(groups)
    else:
        splits = PolygonKFold(folds, stratify=False, shuffle=True, random_state=random_state).split(
            None, np.zeros(len(groups), int), groups)
    return list(splits)


# ------------------------------------------------------------------------------------------ cross-validation


@dataclass(frozen=True)
class CVResult:
    """Scores of a model over the folds of a cross-validation.

    Attributes
    ----------
    model : str
        The model's name (as given, or its class name).
    folds : list of AccuracyReport, or of RegressionReport for a regression
        One report per fold, on that fold's test samples (see :func:`labkit.accuracy.assess_accuracy` and
        :func:`~labkit.accuracy.assess_regression`).
    pooled : AccuracyReport or RegressionReport
        All the out-of-fold predictions together: for a classification, its ``confusion`` is the sum of the folds'
        confusion matrices.
    predictions, fold : arrays (n_samples,)
        Each sample's out-of-fold prediction, and the fold that tested it.
    group_by, random_state : how the folds were made.
    fit_seconds : list of float
        Training time of each fold.
    task : {"classification", "regression"}, default "classification"
        What the model does: its scores are :data:`METRICS` (overall accuracy, kappa, macro F1) or
        :data:`REGRESSION_METRICS` (RMSE, MAE, R²).
    """

    model: str
    folds: list[AccuracyReport] | list[RegressionReport]
    pooled: AccuracyReport | RegressionReport
    predictions: np.ndarray
    fold: np.ndarray
    group_by: str | None = None
    random_state: int | None = 0
    fit_seconds: list[float] = field(default_factory=list)
    task: str = "classification"

    @property
    def metrics(self) -> dict[str, str]:
        """The scores of this task and how they are printed (:data:`METRICS` or :data:`REGRESSION_METRICS`)."""
        return REGRESSION_METRICS if self.task == "regression" else METRICS

    def _n_test(self, report) -> int:
        return report.n if self.task == "regression" else int(report.confusion.sum())

    @property
    def scores(self) -> pd.DataFrame:
        """One row per fold: each score (overall accuracy, kappa, macro F1; or RMSE, MAE, R²) and the number of
        test samples."""
        rows = [{**{k: getattr(r, k) for k in self.metrics}, "n_test": self._n_test(r)} for r in self.folds]
        return pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="fold"))

    def _classes_only(self, what: str) -> None:
        if self.task == "regression":
            raise ConfigError(f"CVResult.{what}: a regression ({self.model}) has no classes; see .mean, .std, "
                              ".scores and .summary() for RMSE, MAE and R².")

    @property
    def runs(self) -> RunsSummary:
        """The folds' scores as mean ± std, per class too (see :func:`labkit.accuracy.summarize_runs`);
        classification only."""
        self._classes_only("runs")
        return summarize_runs(self.folds)

    def _over_folds(self, key: str) -> MeanStd:
        if self.task == "regression":
            return _mean_std(getattr(r, key) for r in self.folds)
        return getattr(self.runs, key)

    @property
    def mean(self) -> dict[str, float]:
        """Mean of each score over the folds."""
        return {k: self._over_folds(k).mean for k in self.metrics}

    @property
    def std(self) -> dict[str, float]:
        """Standard deviation of each score over the folds (population, ``ddof=0``, as scikit-learn reports)."""
        return {k: self._over_folds(k).std for k in self.metrics}

    @property
    def confusion(self) -> np.ndarray:
        """The summed confusion matrix (rows: reference, columns: predicted), classes in ``pooled.labels``;
        classification only."""
        self._classes_only("confusion")
        return self.pooled.confusion

    def summary(self) -> str:
        """The scores as ``mean ± std`` lines.

        Example
        -------
        >>> print(CVResult("rf", [assess_accuracy([1, 2], [1, 2]), assess_accuracy([1, 2], [1, 1])],
        ...                assess_accuracy([1, 2, 1, 2], [1, 2, 1, 1]), np.zeros(4), np.zeros(4)).summary())
        overall accuracy  0.750 ± 0.250
        kappa             0.500 ± 0.500
        macro F1          0.667 ± 0.333
        >>> folds = [assess_regression([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]), assess_regression([1.0, 2.0], [1.0, 2.0])]
        >>> pooled = assess_regression([1, 2, 3, 1, 2], [1, 2, 4, 1, 2])
        >>> print(CVResult("rf-regressor", folds, pooled, np.zeros(5), np.zeros(5), task="regression").summary())
        RMSE  0.289 ± 0.289
        MAE   0.167 ± 0.167
        R²    0.750 ± 0.250
        """
        metrics = self.metrics
        width = max(map(len, metrics.values()))
        return "\n".join(f"{label:<{width}}  {self.mean[key]:.3f} ± {self.std[key]:.3f}"
                         for key, label in metrics.items())

    @property
    def per_class(self) -> pd.DataFrame:
        """Scores of each class, one row per class name: from the summed confusion matrix (all the out-of-fold
        predictions together) its ``code``, ``support``, ``precision``, ``recall`` and ``f1``; then ``f1_mean`` and
        ``f1_std``, over the folds that test or predict the class.

        Example
        -------
        >>> result = CVResult("rf", [assess_accuracy([1, 2], [1, 2]), assess_accuracy([1, 2], [1, 1])],
        ...                   assess_accuracy([1, 2, 1, 2], [1, 2, 1, 1], class_names={1: "crop", 2: "water"}),
        ...                   np.zeros(4), np.zeros(4))
        >>> result.per_class["recall"].to_dict()
        {'crop': 1.0, 'water': 0.5}
        """
        self._classes_only("per_class")
        pooled, runs = self.pooled, self.runs
        rows = [{"class": pooled.name(c), "code": c, "support": pooled.support[c], "precision": pooled.precision[c],
                 "recall": pooled.recall[c], "f1": pooled.f1[c],
                 "f1_mean": runs.f1[c].mean if c in runs.f1 else np.nan,
                 "f1_std": runs.f1[c].std if c in runs.f1 else np.nan} for c in pooled.labels]
        return pd.DataFrame(rows).set_index("class")

    def per_class_summary(self) -> str:
        """The per-class scores as a table: support, precision, recall and F1 of each class, by name, from the summed
        confusion matrix (all the out-of-fold predictions together; see :attr:`per_class`).

        Example
        -------
        >>> print(CVResult("rf", [assess_accuracy([1, 2], [1, 2]), assess_accuracy([1, 2], [1, 1])],
        ...                assess_accuracy([1, 2, 1, 2], [1, 2, 1, 1], class_names={1: "crop", 2: "water"}),
        ...                np.zeros(4), np.zeros(4)).per_class_summary())
        per class (summed confusion matrix of the 2 folds):
        class  support  precision  recall     F1
        crop         2      0.667   1.000  0.800
        water        2      1.000   0.500  0.667
        """
        table = self.per_class
        width = max(len("class"), *(len(str(name)) for name in table.index))
        lines = [f"per class (summed confusion matrix of the {len(self.folds)} folds):",
                 f"{'class':<{width}}  support  precision  recall     F1"]
        lines += [f"{name:<{width}}  {row.support:>7d}  {row.precision:>9.3f}  {row.recall:>6.3f}  {row.f1:>5.3f}"
                  for name, row in zip(table.index, table.itertuples())]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready results: scores per fold with mean and std; for a classification also the summed confusion
        matrix and per-class scores, for a regression the pooled RMSE, MAE, R² and bias.

        ``pooled`` and ``per_class`` are computed from all the out-of-fold predictions together (for a
        classification, the summed confusion matrix).

        Example
        -------
        >>> folds = [assess_regression([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]), assess_regression([1.0, 2.0], [1.0, 2.0])]
        >>> report = CVResult("rf-regressor", folds, assess_regression([1, 2, 3, 1, 2], [1, 2, 4, 1, 2]), np.zeros(5),
        ...                   np.zeros(5), task="regression").to_dict()
        >>> report["task"], report["scores"]["r2"], report["pooled"]["rmse"]
        ('regression', {'mean': 0.75, 'std': 0.25, 'folds': [0.5, 1.0]}, 0.4472)
        """
        pooled = self.pooled.to_dict()
        common = {
            "model": self.model,
            "task": self.task,
            "n_samples": int(len(self.predictions)),
            "n_folds": len(self.folds),
            "group_by": self.group_by,
            "random_state": self.random_state,
            "scores": {key: {"mean": _rounded(self.mean[key]), "std": _rounded(self.std[key]),
                             "folds": [_rounded(getattr(r, key)) for r in self.folds]} for key in self.metrics},
            "n_test": [self._n_test(r) for r in self.folds],
            "fit_seconds": [round(s, 3) for s in self.fit_seconds],
        }
        if self.task == "regression":
            return {**common, "pooled": {k: pooled[k] for k in ("rmse", "mae", "r2", "bias")}}
        return {
            **common,
            "pooled": {k: pooled[k] for k in ("overall_accuracy", "kappa", "macro_f1")},
            "labels": pooled["labels"],
            "class_names": pooled["class_names"],
            "confusion_matrix": pooled["confusion_matrix"],
            "per_class": pooled["per_class"],
        }


def _rounded(value: float) -> float | None:
    """``value`` rounded to 4 decimals for JSON; None for NaN (R² of a fold whose reference is constant)."""
    return round(float(value), 4) if np.isfinite(value) else None


def cross_validate(
    samples: xr.Dataset, model, folds: int = 5, group_by: str | None = None, random_state: int | None = 0, *,
    progress: bool = False,
) -> CVResult:
    """k-fold cross-validation of a model on a sample set, grouped when asked.

    For each fold a fresh model is fitted on the other folds (:func:`~labkit.models.fit_model`) and assessed on this
    one with :func:`labkit.accuracy.assess_accuracy`. Text labels are fitted and scored as the codes of
    :func:`labkit.datamodel.label_codes`, taken once on the whole set; every report names the classes. A regression
    model (:func:`~labkit.models.task_of` is ``"regression"``: ``rf-regressor``, ``mlp-regressor``...) is fitted on
    the set's ``target`` instead, on folds that are not stratified (:func:`make_folds` with ``stratify=False``), and
    scored with :func:`labkit.accuracy.assess_regression`: RMSE, MAE and R².

    Parameters
    ----------
    samples : sample set (``time`` may hold dates or positions; labels codes or names)
        Its optional ``group``, ``doy``, ``valid`` and ``region`` reach the model's ``fit`` (training rows) and
        ``predict`` (test rows) when these name them (see :func:`~labkit.models.training.accepted_variables`).
    model : str, mapping, ModelConfig or estimator
        Anything :func:`~labkit.models.make_model` takes: ``"rf"``, ``"svm"``, ``"lgbm"``, a dotted path, a config,
        an estimator (cloned for each fold). A per-region model gets the samples' ``region``.
    folds : int, default 5
    group_by : str, optional
        Variable along ``sample`` whose values never straddle training and test (``"group"`` for polygons). None:
        stratified k-fold over samples (plain k-fold for a regression).
    random_state : int, optional
        Seeds the folds and every unset ``random_state`` of the model.
    progress : bool, default False
        Show a progress bar over the folds (tqdm, on stderr), with the overall accuracy (RMSE) of the last fold.

    Returns
    -------
    CVResult
        ``result.mean``, ``result.std``, ``result.summary()``, ``result.per_class`` (classification),
        ``result.to_dict()``.

    Raises
    ------
    ConfigError
        Unknown model or group variable, bad ``folds``, ``random_state`` or ``progress``, too many folds for a class
        (see :func:`make_folds`), an unknown or bad hyperparameter (before any fold is fitted), a classifier on a set
        without ``label`` or a regressor on a set without ``target``, a per-region model without ``region``, LightGBM
        refusing one while fitting.
    DataModelError
        A sample set without samples or with a single class, or with missing values (NaN, ±inf) in ``X`` for a
        model that cannot take them (the SVM): before any fold is fitted.

    See Also
    --------
    make_folds, search_hyperparameters, labkit.accuracy.assess_accuracy

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["crop", "water"], 30)
    >>> X = rng.normal(size=(60, 4, 1)) + (y == "water")[:, None, None]
    >>> s = dm.make_samples(X, y, np.arange(60) // 3, bands=["NDVI"])
    >>> result = cross_validate(s, {"model": "rf", "params": {"n_estimators": 20, "n_jobs": 1}}, folds=3,
    ...                         group_by="group")
    >>> len(result.folds), int(result.confusion.sum()), result.mean["overall_accuracy"] > 0.7
    (3, 60, True)
    >>> result.per_class.index.tolist()
    ['crop', 'water']
    >>> lai = dm.make_samples(X, target=X.mean(axis=(1, 2)) * 2 + 1, bands=["NDVI"])
    >>> fitted = cross_validate(lai, {"model": "rf-regressor", "params": {"n_estimators": 20, "n_jobs": 1}}, folds=3)
    >>> list(fitted.mean), fitted.mean["r2"] > 0.5
    (['rmse', 'mae', 'r2'], True)
    """
    from sklearn.base import clone
    from tqdm.auto import tqdm

    folds = integer(folds, "folds", "cross_validate", low=2)
    random_state = seed(random_state, "cross_validate", generator=False)
    progress = flag(progress, "progress", "cross_validate")
    validate(samples, "samples")
    estimator = make_model(model, random_state=random_state)
    task = task_of(estimator)
    regression = task == "regression"
    samples = samples if regression else with_label_codes(samples)
    _check_training_set(samples, estimator, "cross_validate")
    splits = make_folds(samples, folds, group_by=group_by, random_state=random_state, stratify=not regression)
    X, y = samples["X"].values, samples["target" if regression else "label"].values
    names = _class_names(samples)
    score = assess_regression if regression else functools.partial(assess_accuracy, class_names=names)
    predictions = np.empty(len(y), dtype=np.float64) if regression else np.empty_like(y)
    fold_of = np.empty(len(y), dtype=int)
    reports, seconds = [], []
    bar = tqdm(total=len(splits), desc=f"cv {describe_model(model)}", unit="fold", disable=not progress)
    for number, (train, test) in enumerate(splits):
        start = time.perf_counter()
        fitted = fit_model(clone(estimator), samples.isel(sample=train))
        seconds.append(time.perf_counter() - start)
        predicted = fitted.predict(X[test], **_sample_kwargs(fitted, "predict", samples, test))
        predictions[test], fold_of[test] = predicted, number
        reports.append(score(y[test], predicted))
        last = f"RMSE {reports[-1].rmse:.3g}" if regression else f"OA {reports[-1].overall_accuracy:.3f}"
        bar.set_postfix_str(last, refresh=False)
        bar.update()
    bar.close()
    if regression:
        pooled = assess_regression(y, predictions)
    else:
        labels = [int(c) for c in np.union1d(y, predictions)]
        pooled = assess_accuracy(y, predictions, labels=labels, class_names=names)
    return CVResult(describe_model(model), reports, pooled, predictions, fold_of, group_by, random_state, seconds,
                    task)


# -------------------------------------------------------------------------------------- hyperparameter search


def _scorer(scoring):
    """scikit-learn scorers, with labkit's choices: no warning for a class never predicted in a fold (F1 = 0)."""
    from sklearn.metrics import cohen_kappa_score, f1_score, make_scorer

    if scoring == "f1_macro":
        return make_scorer(f1_score, average="macro", zero_division=0.0)
    if scoring == "kappa":
        return make_scorer(cohen_kappa_score)
    return scoring


def _resolve_keys(estimator, grid: Mapping[str, object]) -> dict[str, str]:
    """Map each key of a grid to a parameter of ``estimator``: as given, or the one unique parameter ending in
    ``__key`` (``max_depth`` -> ``model__max_depth``, ``C`` -> ``model__svc__C``)."""
    params = estimator.get_params(deep=True)
    resolved = {}
    for key in grid:
        if key in params:
            resolved[key] = key
            continue
        matches = [p for p in params if p.endswith(f"__{key}")]
        if len(matches) != 1:
            problem = f"matches several ({matches})" if matches else "is not a parameter of the model"
            raise ConfigError(f"search_hyperparameters: {key!r} {problem}; give its full name among "
                              f"{sorted(p for p in params if '__' in p)[:40]}.")
        resolved[key] = matches[0]
    return resolved


def _check_candidates(estimator, grids: list[dict], short: dict[str, str]) -> None:
    """Check every candidate of a grid before any is fitted (as :func:`~labkit.models.make_model` checks one);
    ``short`` maps the estimator's parameter names to those given in the grid, for the message."""
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    from .registry import _check_estimator_params

    for candidate in ParameterGrid(grids):
        try:
            _check_estimator_params(clone(estimator).set_params(**candidate))
        except ConfigError as error:
            given = {short.get(k, k): v for k, v in candidate.items()}
            raise ConfigError(f"search_hyperparameters: candidate {given}: {error}") from None


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search_hyperparameters`.

    Attributes
    ----------
    best_estimator : estimator
        The model with the best parameters, refitted on all the samples.
    best_params : dict
        The best parameters, under the names given in the grid.
    best_score : float
        Its mean score over the folds.
    results : pandas.DataFrame
        One row per candidate, best first: a column per parameter, ``mean_score``, ``std_score``, ``rank``,
        ``fit_seconds`` (mean per fold).
    splits : list of (train, test)
        The folds every candidate was scored on (see :func:`make_folds`).
    search : the fitted :class:`~sklearn.model_selection.GridSearchCV` or ``RandomizedSearchCV``.
    """

    best_estimator: object
    best_params: dict
    best_score: float
    results: pd.DataFrame
    splits: list
    search: object


def search_hyperparameters(
    model,
    samples: xr.Dataset,
    param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
    *,
    folds: int = 5,
    group_by: str | None = "group",
    scoring: str | None = None,
    n_iter: int | None = None,
    random_state: int | None = 0,
    n_jobs: int | None = None,
) -> SearchResult:
    """Grid (or random) search of hyperparameters, scored on folds grouped by polygon.

    Parameters
    ----------
    model : anything :func:`~labkit.models.make_model` takes (``"rf"``, a dotted path, a config, an estimator).
    samples : sample set
    param_grid : dict (or list of dicts) of parameter name -> values (or a scipy distribution with ``n_iter``)
        Names are the estimator's parameters (``model__max_depth``, ``features__stats``); a bare name that ends
        exactly one of them (``max_depth``, ``C``) is taken for it.
    folds : int, default 5
    group_by : str or None, default "group"
        As in :func:`make_folds`: polygons never straddle the folds.
    scoring : str, optional
        A scikit-learn scoring name, or ``"kappa"``. Default: ``"f1_macro"`` for a classifier, which counts a class
        never predicted in a fold as F1 = 0, without a warning; ``"r2"`` for a regressor (fitted on ``target``, on
        folds that are not stratified).
    n_iter : int, optional
        Try ``n_iter`` random candidates (:class:`~sklearn.model_selection.RandomizedSearchCV`) instead of the whole
        grid (:class:`~sklearn.model_selection.GridSearchCV`).
    random_state : int, optional
        Seeds the folds, the random candidates and every unset ``random_state`` of the model.
    n_jobs : int, optional
        Candidates x folds fitted in parallel.

    Returns
    -------
    SearchResult
        Its ``best_estimator`` carries the sample set's ``input_signature_`` and ``class_names_`` (a regressor's:
        ``target_name_``; see :func:`~labkit.models.fit_model`). Text labels are fitted as the codes of
        :func:`labkit.datamodel.label_codes`; ``group``, ``doy``, ``valid`` reach the model's ``fit`` when it names
        them, but scoring calls ``predict`` without them (scikit-learn's search passes nothing to it).

    Raises
    ------
    ConfigError
        As :func:`make_folds`; bad ``n_iter``, ``random_state`` or ``n_jobs``; a grid key that is no parameter of
        the model; a per-region model (tune its ``estimator`` on each region's samples instead); LightGBM refusing a
        candidate's hyperparameter.
    DataModelError
        As :func:`cross_validate`: no samples, a single class, missing values for a model that cannot take them.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([1, 2], 30)
    >>> s = dm.make_samples(rng.normal(size=(60, 4, 1)) + y[:, None, None], y, np.arange(60) // 3, bands=["NDVI"])
    >>> found = search_hyperparameters({"model": "rf", "params": {"n_estimators": 10, "n_jobs": 1}}, s,
    ...                                {"max_depth": [1, 3]}, folds=3)
    >>> list(found.results.columns[:3]), sorted(found.results["max_depth"].tolist())
    (['max_depth', 'mean_score', 'std_score'], [1, 3])
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from .regional import RegionalClassifier

    who = "search_hyperparameters"
    folds = integer(folds, "folds", who, low=2)
    n_iter = None if n_iter is None else integer(n_iter, "n_iter", who, low=1)
    random_state = seed(random_state, who, generator=False)
    if n_jobs is not None and integer(n_jobs, "n_jobs", who) == 0:
        raise ConfigError(f"{who}: n_jobs must be None or a non-zero integer (-1: every processor); got 0.")
    validate(samples, "samples")
    estimator = make_model(model, random_state=random_state)
    if isinstance(estimator, RegionalClassifier):
        raise ConfigError("search_hyperparameters: a per-region model cannot be tuned as one; tune its estimator on "
                          "each region's samples, then wrap the best in RegionalClassifier.")
    grids = [param_grid] if isinstance(param_grid, Mapping) else list(param_grid)
    if not grids or not all(isinstance(g, Mapping) and g for g in grids):
        raise ConfigError("search_hyperparameters: param_grid must be a non-empty dict (or list of dicts) of "
                          "parameter name -> values.")
    names = [_resolve_keys(estimator, g) for g in grids]
    full_grids = [{names[i][k]: v for k, v in g.items()} for i, g in enumerate(grids)]
    short = {full: given for mapping in names for given, full in mapping.items()}
    if n_iter is None:
        _check_candidates(estimator, full_grids, short)
    regression = task_of(estimator) == "regression"
    scoring = scoring if scoring is not None else ("r2" if regression else "f1_macro")
    samples = samples if regression else with_label_codes(samples)
    _check_training_set(samples, estimator, who)
    splits = make_folds(samples, folds, group_by=group_by, random_state=random_state, stratify=not regression)
    common = {"scoring": _scorer(scoring), "cv": splits, "n_jobs": n_jobs, "refit": True, "error_score": "raise"}
    if n_iter is None:
        search = GridSearchCV(estimator, full_grids, **common)
    else:
        search = RandomizedSearchCV(estimator, full_grids, n_iter=n_iter, random_state=random_state, **common)
    with _lightgbm.fit_errors(describe_model(model)):  # fit variables are cut to each fold's training rows
        search.fit(samples["X"].values, samples["target" if regression else "label"].values,
                   **_sample_kwargs(estimator, "fit", samples))
    search.best_estimator_.input_signature_ = input_signature(samples)
    if regression:
        search.best_estimator_.target_name_ = str(samples["target"].attrs.get("variable", "target"))
    else:
        search.best_estimator_.class_names_ = _names_of(search.best_estimator_, samples)
    cv = search.cv_results_
    table = pd.DataFrame([{short[k]: v for k, v in params.items()} for params in cv["params"]])
    table["mean_score"] = cv["mean_test_score"]
    table["std_score"] = cv["std_test_score"]
    table["rank"] = cv["rank_test_score"]
    table["fit_seconds"] = cv["mean_fit_time"]
    table = table.sort_values(["rank", "mean_score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    best = {short[k]: v for k, v in search.best_params_.items()}
    return SearchResult(search.best_estimator_, best, float(search.best_score_), table, splits, search)
