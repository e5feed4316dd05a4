"""Accuracy assessment: how well a map agrees with reference data, and how much area each class covers.

The validation stage, last in the chain (after :mod:`labkit.inference` and :mod:`labkit.postprocess`). It takes
reference and predicted class codes, or a class map ``(y, x)`` with reference labels at sample points, and returns:

* :func:`assess_accuracy`: the confusion matrix with the scores the field reports: overall accuracy, Cohen's
  kappa, per-class precision (user's accuracy), recall (producer's accuracy) and F1, macro F1
  (:class:`AccuracyReport`); :func:`summarize_runs` gives their mean and standard deviation over several runs
  (seeds, folds) as a :class:`RunsSummary`;
* :func:`assess_regression`: for a numeric variable (a regression, such as an LAI map), RMSE, MAE, R² and bias
  against reference values (:class:`RegressionReport`);
* :func:`stratified_sample_design` and :func:`draw_stratified_sample`: where to collect reference labels, a
  stratified random sample of the map's pixels (the map classes are the strata), sized and allocated as
  Olofsson et al. (2014) recommend;
* :func:`estimate_area`: from that sample, the error matrix in area proportions, overall, user's and producer's
  accuracies with their standard errors, and each class's area with a confidence interval
  (:class:`AreaEstimate`): the *stratified estimator* of Olofsson et al. (2014). Counting a map's pixels gives
  biased areas, since omission and commission errors do not cancel; the sample corrects them.

Reference: P. Olofsson, G. M. Foody, M. Herold, S. V. Stehman, C. E. Woodcock, M. A. Wulder (2014), "Good practices
for estimating area and assessing accuracy of land change", *Remote Sensing of Environment* 148: 42-57,
doi:10.1016/j.rse.2014.02.015.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from .datamodel import encode_labels, is_text, validate
from ._hashing import splitmix64
from .errors import ConfigError, DataModelError
from .datamodel import NO_CLASS
from .params import flag, integer, number, seed


@dataclass(frozen=True)
class AccuracyReport:
    """Scores of a classification against reference labels.

    ``confusion[i, j]`` counts samples of reference class ``labels[i]`` predicted as ``labels[j]``.
    """

    labels: list[int]
    confusion: np.ndarray
    overall_accuracy: float
    kappa: float
    precision: dict[int, float]
    recall: dict[int, float]
    f1: dict[int, float]
    support: dict[int, int]
    class_names: dict[int, str] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-class F1 scores."""
        return float(np.mean(list(self.f1.values())))

    def name(self, code: int) -> str:
        """The name of a class code (the code itself when unnamed)."""
        return self.class_names.get(code, str(code))

    def to_dict(self) -> dict:
        """JSON-ready scores.

        Example
        -------
        >>> assess_accuracy([1, 1, 2], [1, 2, 2]).to_dict()["overall_accuracy"]
        0.6667
        """
        per_class = {
            self.name(c): {"code": c, "precision": round(self.precision[c], 4), "recall": round(self.recall[c], 4),
                           "f1": round(self.f1[c], 4), "support": self.support[c]}
            for c in self.labels
        }
        return {
            "overall_accuracy": round(self.overall_accuracy, 4),
            "kappa": round(self.kappa, 4),
            "macro_f1": round(self.macro_f1, 4),
            "n_samples": int(self.confusion.sum()),
            "labels": self.labels,
            "class_names": [self.name(c) for c in self.labels],
            "confusion_matrix": self.confusion.tolist(),
            "per_class": per_class,
        }


def _check_missing(values: np.ndarray, name: str, who: str, pair: tuple[str, str] = ("y_true", "y_pred")) -> None:
    """Refuse missing labels (NaN, None, NaT) in the argument ``name`` of ``pair``: how many, where, and the fix."""
    if values.dtype.kind not in "fcOmM":
        return
    missing = pd.isna(values)
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    raise DataModelError(
        f"{who}: {len(rows)} of the {values.size} labels in {name} {'is' if len(rows) == 1 else 'are'} missing (NaN "
        f"or None), at positions {rows[:5].tolist()}{' ...' if len(rows) > 5 else ''}. Drop the unlabelled samples "
        f"from both arguments first, e.g. keep = pandas.notna({pair[0]}) & pandas.notna({pair[1]})."
    )


def _class_codes(values, name: str, who: str, *, data: bool = True) -> np.ndarray:
    """``values`` as a flat array of integer class codes: missing labels in data (``data=True``) are a
    :class:`DataModelError`, anything else than whole numbers (NaN too, in a parameter such as ``labels``) a
    :class:`ConfigError`.

    Example
    -------
    >>> _class_codes([1.0, 2.0], "y_true", "assess_accuracy").tolist()
    [1, 2]
    """
    values = np.asarray(values).ravel()
    if data:
        _check_missing(values, name, who)
    if values.dtype.kind in "iu":
        return values
    try:
        numeric = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{who}: {name} must hold integer class codes; got {values.dtype} values such as "
                          f"{values[:1].tolist()[0]!r}.") from None
    whole = np.isfinite(numeric) & (numeric == np.round(numeric))
    if not whole.all():
        bad = np.flatnonzero(~whole)
        raise ConfigError(f"{who}: {name} must hold integer class codes; got {float(numeric[bad[0]])!r} at position "
                          f"{bad[0]} ({len(bad)} value(s) not a whole number).")
    return numeric.astype(np.int64)


def _report_labels(labels, found: Mapping[str, np.ndarray], who: str, names: Mapping[int, str] | None = None
                   ) -> list[int]:
    """The class codes to report: every code ``found`` in the data (``{argument: codes}``) by default, in order; or
    ``labels``, checked (integer codes, each once) and refused when it misses a class of the data, whose samples would
    silently drop out of every count: a :class:`DataModelError` naming those classes and where they are (by name
    when ``names``, ``{code: name}``, is given: labels that were text).

    Example
    -------
    >>> _report_labels([2, 1, 9], {"y_true": np.array([1, 2])}, "assess_accuracy")
    [2, 1, 9]
    >>> _report_labels([1, 2], {"y_true": np.array([1, 2, 3]), "y_pred": np.array([1, 2, 2])}, "assess_accuracy")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: assess_accuracy: labels [1, 2] miss class(es) [3] of y_true: their samples would drop out of every count and score. Add them to labels, or leave labels out (every class of the data).
    """
    present = {name: sorted(set(np.unique(codes).tolist())) for name, codes in found.items()}
    if labels is None:
        return sorted(set().union(*present.values()))
    labels = [int(c) for c in _class_codes(labels, "labels", who, data=False)]
    shown = (lambda codes: [names[c] for c in codes]) if names else list  # noqa: E731
    repeated = sorted({c for c in labels if labels.count(c) > 1})
    if repeated:
        raise ConfigError(f"{who}: labels must list each class once; {shown(repeated)} repeat in {shown(labels)}.")
    missing = {name: [c for c in codes if c not in labels] for name, codes in present.items()}
    missing = {name: codes for name, codes in missing.items() if codes}
    if missing:
        classes = sorted(set().union(*missing.values()))
        where = " and ".join(missing)
        raise DataModelError(f"{who}: labels {shown(labels)} miss class(es) {shown(classes)} of {where}: their samples "
                             "would drop out of every count and score. Add them to labels, or leave labels out (every "
                             "class of the data).")
    return labels


def _text_as_codes(y_true: np.ndarray, y_pred: np.ndarray, labels, class_names, who: str):
    """Class names (text) in ``y_true``, ``y_pred`` and ``labels`` as the codes of
    :func:`labkit.datamodel.encode_labels` over all the names given, with ``{code: name}``. Both arguments must be
    text, and ``labels`` too when given; ``class_names`` is refused (text labels are their own names).

    Example
    -------
    >>> codes_true, codes_pred, labels, names = _text_as_codes(np.array(["b", "a"]), np.array(["b", "c"]), None, None,
    ...                                                        "assess_accuracy")
    >>> codes_true.tolist(), codes_pred.tolist(), names
    ([2, 1], [2, 3], {1: 'a', 2: 'b', 3: 'c'})
    """
    sides = {"y_true": y_true, "y_pred": y_pred}
    codes = [name for name, values in sides.items() if not is_text(values)]
    if codes:
        other = "y_pred" if codes[0] == "y_true" else "y_true"
        raise ConfigError(f"{who}: {codes[0]} holds class codes ({sides[codes[0]].dtype} values) but {other} class "
                          f"names (text, such as {sides[other][:1].tolist()}); give both as names or both as codes. A "
                          "model fitted by labkit predicts codes: model.class_names_ gives their names.")
    if class_names is not None:
        raise ConfigError(f"{who}: class_names names integer class codes, but the labels are text (their own names). "
                          "Leave class_names out.")
    given = None if labels is None else np.asarray(labels).ravel()
    if given is not None and not is_text(given):
        raise ConfigError(f"{who}: labels must hold class names (text), as y_true and y_pred do; got {given.dtype} "
                          f"values such as {given[:1].tolist()[0]!r}.")
    parts = [y_true, y_pred] if given is None else [y_true, y_pred, given]
    universe = sorted(set().union(*(set(np.asarray(p).astype(str).tolist()) for p in parts)))
    codes_true, names = encode_labels(y_true, universe)
    codes_labels = None if given is None else encode_labels(given, universe)[0]
    return codes_true, encode_labels(y_pred, universe)[0], codes_labels, names


def _names(class_names, who: str) -> dict[int, str]:
    """``class_names`` checked: None, or a mapping of integer class codes to names (as ``{code: str(name)}``).

    Example
    -------
    >>> _names({1: "crop", 2: "water"}, "assess_accuracy")
    {1: 'crop', 2: 'water'}
    >>> _names("abc", "assess_accuracy")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: assess_accuracy: class_names must be a mapping {class code: name}, such as {1: 'crop', 2: 'forest'}; got 'abc'.
    """
    if class_names is None:
        return {}
    if isinstance(class_names, pd.Series):
        class_names = class_names.to_dict()
    if not isinstance(class_names, Mapping):
        raise ConfigError(f"{who}: class_names must be a mapping {{class code: name}}, such as {{1: 'crop', 2: "
                          f"'forest'}}; got {class_names!r}.")
    codes = _class_codes(list(class_names), "class_names' keys", who, data=False) if class_names else []
    return {int(code): str(name) for code, name in zip(codes, class_names.values())}


def assess_accuracy(y_true, y_pred, *, labels=None, class_names: dict[int, str] | None = None) -> AccuracyReport:
    """Confusion matrix, overall accuracy, kappa and per-class scores.

    Parameters
    ----------
    y_true, y_pred : sequences of class codes, or of class names, of the same length
        Integers (or whole floats), or both text: names are scored as the codes of
        :func:`labkit.datamodel.encode_labels` (1..n in sorted order of all the names), which the report names.
        No missing label.
    labels : class codes (names, for text labels) to report, in order (default: every class in either)
        It may add classes absent from the data, never leave out one that is present.
    class_names : optional ``{code: name}``, for integer codes

    Raises
    ------
    DataModelError
        Missing labels (NaN, None) in ``y_true`` or ``y_pred``: how many, and where; ``labels`` that leave out a
        class of ``y_true`` or ``y_pred`` (its samples would silently drop out of the scores).
    ConfigError
        Different lengths, no sample, labels that are not integer codes (NaN in ``labels`` included) or repeat,
        ``class_names`` that is not a mapping of codes to names; codes on one side and names on the other, names
        with ``class_names``.

    Example
    -------
    >>> report = assess_accuracy([1, 1, 2, 2], [1, 2, 2, 2])
    >>> report.confusion.tolist(), report.overall_accuracy, round(report.kappa, 2)
    ([[1, 1], [0, 2]], 0.75, 0.5)
    >>> assess_accuracy([1, 2, float("nan")], [1, 2, 2])
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: assess_accuracy: 1 of the 3 labels in y_true is missing (NaN or None), at positions [2]. Drop the unlabelled samples from both arguments first, e.g. keep = pandas.notna(y_true) & pandas.notna(y_pred).
    >>> assess_accuracy(["crop", "crop", "water"], ["crop", "water", "water"]).to_dict()["per_class"]["water"]["recall"]
    1.0
    """
    who = "assess_accuracy"
    names = _names(class_names, who)
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    text = None
    if is_text(y_true) or is_text(y_pred):
        _check_missing(y_true, "y_true", who)
        _check_missing(y_pred, "y_pred", who)
        y_true, y_pred, labels, text = _text_as_codes(y_true, y_pred, labels, class_names, who)
        names = text
    y_true, y_pred = _class_codes(y_true, "y_true", who), _class_codes(y_pred, "y_pred", who)
    if y_true.shape != y_pred.shape:
        raise ConfigError(f"assess_accuracy: {y_true.size} reference labels but {y_pred.size} predictions.")
    if y_true.size == 0:
        raise ConfigError("assess_accuracy: no samples to assess.")
    labels = _report_labels(labels, {"y_true": y_true, "y_pred": y_pred}, who, text)
    with warnings.catch_warnings():
        # A single class on both sides is a valid (if dull) assessment: no advice to pass labels, which we do.
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        confusion = confusion_matrix(y_true, y_pred, labels=labels)
        # Kappa is undefined (0/0) when both sides put every sample in one and the same class: full agreement.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        kappa = cohen_kappa_score(y_true, y_pred, labels=labels, replace_undefined_by=1.0) if len(labels) > 1 else 1.0
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0.0
    )
    return AccuracyReport(
        labels=labels,
        confusion=confusion,
        overall_accuracy=float(np.trace(confusion) / confusion.sum()),
        kappa=float(kappa),
        precision=dict(zip(labels, map(float, precision))),
        recall=dict(zip(labels, map(float, recall))),
        f1=dict(zip(labels, map(float, f1))),
        support=dict(zip(labels, map(int, support))),
        class_names=names,
    )


@dataclass(frozen=True)
class RegressionReport:
    """Scores of estimated numbers (LAI, biomass...) against reference values.

    Attributes
    ----------
    rmse, mae : float
        Root mean square error and mean absolute error, in the target's units.
    r2 : float
        Coefficient of determination, ``1 - SSE / SST`` (scikit-learn's ``r2_score``): 1 is perfect, 0 is no better
        than the reference mean, negative is worse. NaN when the reference is constant.
    bias : float
        Mean of ``predicted - reference``.
    n : int
        Number of samples.
    """

    rmse: float
    mae: float
    r2: float
    bias: float
    n: int

    def to_dict(self) -> dict:
        """JSON-ready scores, rounded to 4 decimals (NaN as None).

        Example
        -------
        >>> assess_regression([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]).to_dict()
        {'rmse': 0.5774, 'mae': 0.3333, 'r2': 0.5, 'bias': 0.3333, 'n_samples': 3}
        """
        def rounded(value: float):
            return None if not math.isfinite(value) else round(value, 4)

        return {"rmse": rounded(self.rmse), "mae": rounded(self.mae), "r2": rounded(self.r2),
                "bias": rounded(self.bias), "n_samples": self.n}


def assess_regression(y_true, y_pred) -> RegressionReport:
    """RMSE, MAE, R² and bias of estimated numbers against reference values.

    Parameters
    ----------
    y_true, y_pred : sequences of numbers of the same length, finite

    Returns
    -------
    RegressionReport

    Raises
    ------
    DataModelError
        A missing value (NaN, ±inf) in either: how many, and where.
    ConfigError
        Different lengths, no sample, values that are not numbers.

    Example
    -------
    >>> report = assess_regression([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.0])
    >>> round(report.rmse, 3), report.mae, report.r2, report.bias
    (0.354, 0.25, 0.9, 0.0)
    """
    who = "assess_regression"
    values = {}
    for name, given in (("y_true", y_true), ("y_pred", y_pred)):
        array = np.asarray(given).ravel()
        if array.dtype.kind not in "iuf":
            raise ConfigError(f"{who}: {name} must hold numbers; got dtype {array.dtype}.")
        array = array.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise DataModelError(f"{who}: {bad.size} of the {array.size} values in {name} are not finite (NaN or "
                                 f"±inf), at positions {bad[:5].tolist()}{' ...' if bad.size > 5 else ''}. Drop "
                                 "those samples from both arguments first.")
        values[name] = array
    truth, predicted = values["y_true"], values["y_pred"]
    if truth.shape != predicted.shape:
        raise ConfigError(f"{who}: {truth.size} reference values but {predicted.size} predictions.")
    if truth.size == 0:
        raise ConfigError(f"{who}: no samples to assess.")
    error = predicted - truth
    total = float(((truth - truth.mean()) ** 2).sum())
    r2 = 1.0 - float((error ** 2).sum()) / total if total > 0 else float("nan")
    return RegressionReport(rmse=float(np.sqrt((error ** 2).mean())), mae=float(np.abs(error).mean()), r2=r2,
                            bias=float(error.mean()), n=int(truth.size))

def plot_confusion_matrix(report: AccuracyReport | RunsSummary, ax=None, *, normalize: bool = True):
    """Plot the confusion matrix (rows: reference, columns: predicted), row-normalised by default.

    Given a :class:`RunsSummary`, the runs' summed confusion matrix, titled with the mean ± std overall accuracy.

    Example
    -------
    >>> ax = plot_confusion_matrix(assess_accuracy([1, 2, 2], [1, 2, 1]))
    >>> ax.get_ylabel()
    'reference'
    """
    import matplotlib.pyplot as plt

    normalize = flag(normalize, "normalize", "plot_confusion_matrix")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 0.7 * len(report.labels), 1 + 0.6 * len(report.labels)))
    counts = report.confusion
    with np.errstate(invalid="ignore", divide="ignore"):
        shown = counts / counts.sum(axis=1, keepdims=True) if normalize else counts
    image = ax.imshow(np.nan_to_num(shown), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    names = [report.name(c) for c in report.labels]
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for (i, j), n in np.ndenumerate(counts):
        light = np.nan_to_num(shown[i, j]) > (0.5 if normalize else counts.max() / 2)
        ax.text(j, i, str(n), ha="center", va="center", color="white" if light else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    if isinstance(report, RunsSummary):
        ax.set_title(f"{report.n_runs} runs, summed · OA {report.overall_accuracy.format()}")
    else:
        ax.set_title(f"OA {report.overall_accuracy:.3f} · kappa {report.kappa:.3f}")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, label="share of reference row" if normalize else "count")
    return ax


# ------------------------------------------------------------------------------------------- several runs


class MeanStd(NamedTuple):
    """A score's mean and standard deviation over runs."""

    mean: float
    std: float

    def format(self, digits: int = 3) -> str:
        """``"0.912 ± 0.013"``.

        Example
        -------
        >>> MeanStd(0.91234, 0.0129).format()
        '0.912 ± 0.013'
        """
        digits = integer(digits, "digits", "MeanStd.format", low=0)
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def _mean_std(values) -> MeanStd:
    values = np.asarray(list(values), dtype=float)
    if np.all(values == values[0]):  # identical runs: exactly no spread (np.std may leave a rounding residue)
        return MeanStd(float(values[0]), 0.0)
    return MeanStd(float(values.mean()), float(values.std()))


@dataclass(frozen=True)
class RunsSummary:
    """Scores of several runs (seeds, folds) of one experiment: mean and standard deviation of each.

    ``confusion`` is the sum of the runs' confusion matrices over ``labels`` (rows: reference, columns: predicted).
    ``f1[c]`` is over the runs that report class ``c`` (``n_runs_with[c]`` of them).
    """

    n_runs: int
    labels: list[int]
    overall_accuracy: MeanStd
    kappa: MeanStd
    macro_f1: MeanStd
    f1: dict[int, MeanStd]
    n_runs_with: dict[int, int]
    confusion: np.ndarray
    class_names: dict[int, str] = field(default_factory=dict)
    experiment: str = ""
    """What the runs are of (a model's name), shown in reports."""

    def name(self, code: int) -> str:
        """The name of a class code (the code itself when unnamed)."""
        return self.class_names.get(code, str(code))

    def to_dict(self) -> dict:
        """JSON-ready summary, means and standard deviations rounded to 4 decimals.

        Example
        -------
        >>> runs = [assess_accuracy([1, 1, 2], [1, 2, 2]), assess_accuracy([1, 1, 2], [1, 1, 2])]
        >>> summarize_runs(runs).to_dict()["overall_accuracy"]
        {'mean': 0.8333, 'std': 0.1667}
        """
        def pair(value: MeanStd) -> dict:
            return {"mean": round(value.mean, 4), "std": round(value.std, 4)}

        return {
            "n_runs": self.n_runs,
            "overall_accuracy": pair(self.overall_accuracy),
            "kappa": pair(self.kappa),
            "macro_f1": pair(self.macro_f1),
            "labels": self.labels,
            "class_names": [self.name(c) for c in self.labels],
            "per_class": {self.name(c): {"code": c, "f1": pair(self.f1[c]), "n_runs": self.n_runs_with[c]}
                          for c in self.labels},
            "confusion_matrix": self.confusion.tolist(),
        }


def summarize_runs(reports: Sequence[AccuracyReport]) -> RunsSummary:
    """Mean ± standard deviation of the scores of several runs, and their summed confusion matrix.

    Report the spread over runs (random seeds, cross-validation folds), not one lucky run. The standard deviation
    is the population one (``numpy.std``, ``ddof=0``), as scikit-learn reports over folds: 0 for identical runs.

    Parameters
    ----------
    reports : sequence of :class:`AccuracyReport`
        One per run. Their classes may differ (a class missing from a fold): the summary covers the union, a
        class's F1 is averaged over the runs that report it, and the confusion matrices are aligned on the union.

    Returns
    -------
    RunsSummary

    Raises
    ------
    ConfigError
        No report, or something else than an :class:`AccuracyReport`.

    Example
    -------
    >>> runs = [assess_accuracy([1, 1, 2, 2], [1, 2, 2, 2]), assess_accuracy([1, 1, 2, 2], [1, 1, 2, 2])]
    >>> summary = summarize_runs(runs)
    >>> summary.overall_accuracy.format(), summary.confusion.tolist()
    ('0.875 ± 0.125', [[3, 1], [0, 4]])
    """
    reports = list(reports)
    if not reports:
        raise ConfigError("summarize_runs: no report to summarize; pass one AccuracyReport per run.")
    for i, report in enumerate(reports):
        if not isinstance(report, AccuracyReport):
            raise ConfigError(f"summarize_runs: report {i} is a {type(report).__name__}, not an AccuracyReport "
                              "(from labkit.accuracy.assess_accuracy).")
    labels = sorted({c for r in reports for c in r.labels})
    position = {c: k for k, c in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for report in reports:
        where = [position[c] for c in report.labels]
        confusion[np.ix_(where, where)] += report.confusion
    names: dict[int, str] = {}
    for report in reports:
        names.update(report.class_names)
    f1 = {c: [r.f1[c] for r in reports if c in r.f1] for c in labels}
    return RunsSummary(
        n_runs=len(reports),
        labels=labels,
        overall_accuracy=_mean_std(r.overall_accuracy for r in reports),
        kappa=_mean_std(r.kappa for r in reports),
        macro_f1=_mean_std(r.macro_f1 for r in reports),
        f1={c: _mean_std(v) for c, v in f1.items()},
        n_runs_with={c: len(v) for c, v in f1.items()},
        confusion=confusion,
        class_names=names,
    )


# -------------------------------------------------------------------------------- blocks of a class map


def _over_blocks(class_map: xr.DataArray, func, combine):
    """``combine([func(block, y0, x0), ...])`` over the blocks of a class map, through the block engine
    (:func:`labkit.tiling.reduce_blocks`): only a few blocks are in memory at a time."""
    from . import tiling

    return tiling.reduce_blocks(func, combine, class_map, desc="class map")


def _sum_counts(parts: list[dict]) -> dict[int, int]:
    total: dict[int, int] = {}
    for part in parts:
        for code, n in part.items():
            total[code] = total.get(code, 0) + n
    return dict(sorted(total.items()))


def _check_codes(class_map, what: str) -> None:
    """A (y, x) DataArray of integer codes (coordinates not needed to count pixels)."""
    if not isinstance(class_map, xr.DataArray) or class_map.dims != ("y", "x"):
        got = class_map.dims if isinstance(class_map, xr.DataArray) else type(class_map).__name__
        raise ConfigError(f"{what}: needs a class map, a DataArray (y, x) of class codes; got {got}.")
    if not np.issubdtype(class_map.dtype, np.integer):
        raise ConfigError(f"{what}: a class map holds integer codes; got dtype {class_map.dtype}.")


def pixel_counts(class_map: xr.DataArray, *, nodata: int | None = NO_CLASS) -> dict[int, int]:
    """How many pixels of each class a map holds (``nodata`` left out): the map's areas, in pixels.

    Works block by block on a dask-backed map, without loading it whole.

    Example
    -------
    >>> m = xr.DataArray(np.array([[1, 1, 2], [255, 2, 2]], "uint8"), dims=("y", "x"))
    >>> pixel_counts(m)
    {1: 2, 2: 3}
    """
    _check_codes(class_map, "pixel_counts")
    nodata = _nodata(nodata, "pixel_counts")

    def count(block, y0, x0):
        codes, n = np.unique(np.asarray(block), return_counts=True)
        return {int(c): int(k) for c, k in zip(codes, n) if nodata is None or c != nodata}

    return _over_blocks(class_map, count, _sum_counts)


def _nodata(nodata, who: str) -> int | None:
    """``nodata`` checked: None or an integer code."""
    return None if nodata is None else integer(nodata, "nodata", who)


def _strata_counts(strata, what: str, nodata) -> dict[int, int]:
    """Pixel counts per stratum from a class map or a ``{code: count}`` mapping."""
    if isinstance(strata, xr.DataArray):
        return pixel_counts(strata, nodata=nodata)
    if isinstance(strata, pd.Series):
        strata = strata.to_dict()
    if not isinstance(strata, Mapping):
        raise ConfigError(f"{what}: the strata must be a class map (y, x) or a mapping {{class code: number of "
                          f"pixels}}; got a {type(strata).__name__}.")
    counts = {}
    for code, n in strata.items():
        if not (isinstance(n, (int, float, np.integer, np.floating)) and np.isfinite(n) and n >= 0):
            raise ConfigError(f"{what}: the pixel count of class {code} must be a number >= 0; got {n!r}.")
        counts[int(code)] = n
    if not any(n > 0 for n in counts.values()):
        raise ConfigError(f"{what}: every stratum is empty (no pixel in any class).")
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------------ sampling design


@dataclass(frozen=True)
class SampleDesign:
    """A stratified random sampling design: how many reference points to collect in each map class.

    Attributes
    ----------
    labels : the strata (map classes with at least one pixel), in order.
    strata_pixels : ``{code: pixels}`` mapped in each stratum; ``weights`` the same as shares of the map, ``W_i``.
    expected_user_accuracy : ``{code: U_i}`` conjectured user's accuracy of each class.
    target_se : the standard error of overall accuracy aimed at (None when ``n_total`` was given).
    n_required : the total sample size from Olofsson et al. (2014) eq. 13 (or the ``n_total`` given).
    allocation : ``{code: n_i}`` points per stratum; their sum (:attr:`n_total`) may exceed ``n_required``
        when the minimum per class asks for more.
    min_per_class : the minimum points per stratum asked for (fewer only where a stratum has fewer pixels).
    """

    labels: list[int]
    strata_pixels: dict[int, int]
    weights: dict[int, float]
    expected_user_accuracy: dict[int, float]
    target_se: float | None
    n_required: int
    allocation: dict[int, int]
    min_per_class: int
    class_names: dict[int, str] = field(default_factory=dict)

    @property
    def n_total(self) -> int:
        """The number of points to collect: the sum of the allocation."""
        return int(sum(self.allocation.values()))

    @property
    def expected_se(self) -> float:
        """The standard error of overall accuracy this allocation should give if the user's accuracies are as
        conjectured: ``sqrt(sum W_i² U_i (1 - U_i) / (n_i - 1))``."""
        variance = sum(self.weights[c] ** 2 * u * (1 - u) / (self.allocation[c] - 1)
                       for c, u in self.expected_user_accuracy.items() if self.allocation[c] > 1)
        return math.sqrt(variance)

    def name(self, code: int) -> str:
        """The name of a class code (the code itself when unnamed)."""
        return self.class_names.get(code, str(code))

    def to_frame(self) -> pd.DataFrame:
        """One row per stratum: pixels, weight, conjectured user's accuracy, proportional share and points."""
        return pd.DataFrame(
            {"code": self.labels,
             "pixels": [self.strata_pixels[c] for c in self.labels],
             "weight": [self.weights[c] for c in self.labels],
             "expected_user_accuracy": [self.expected_user_accuracy[c] for c in self.labels],
             "proportional": [self.weights[c] * self.n_required for c in self.labels],
             "points": [self.allocation[c] for c in self.labels]},
            index=pd.Index([self.name(c) for c in self.labels], name="class"),
        )


def _allocate(weights: dict[int, float], n_total: int, minimum: int, capacity: dict[int, int]) -> dict[int, int]:
    """Proportional allocation of ``n_total`` points with at least ``minimum`` (and at most ``capacity``) each.

    Strata whose proportional share falls below the minimum (or above their number of pixels) are set to it; the
    rest of the points go to the other strata in proportion to their weights, again until nothing changes; the
    shares are rounded by largest remainder, so that the free strata get exactly what is left.
    """
    fixed: dict[int, int] = {}
    while True:
        free = [c for c in weights if c not in fixed]
        if not free:
            return {c: fixed[c] for c in weights}
        remaining = max(n_total - sum(fixed.values()), 0)
        total_weight = sum(weights[c] for c in free)
        share = {c: remaining * weights[c] / total_weight for c in free}
        changed = False
        for c in free:
            low = min(minimum, capacity[c])
            if share[c] < low:
                fixed[c], changed = low, True
            elif share[c] > capacity[c]:
                fixed[c], changed = capacity[c], True
        if not changed:
            break
    counts = {c: math.floor(share[c]) for c in free}
    left = remaining - sum(counts.values())
    by_remainder = sorted(free, key=lambda c: (-(share[c] - counts[c]), -weights[c], c))
    for c in by_remainder[:left]:
        counts[c] += 1
    return {c: fixed.get(c, counts.get(c)) for c in weights}


def stratified_sample_design(
    class_map,
    *,
    target_se: float | None = None,
    n_total: int | None = None,
    expected_user_accuracy: float | Mapping[int, float] = 0.8,
    min_per_class: int = 50,
    class_names: dict[int, str] | None = None,
    nodata: int | None = NO_CLASS,
) -> SampleDesign:
    """Size and allocate a stratified random sample of a map to assess its accuracy and estimate areas.

    The strata are the map classes. The total sample size comes from Olofsson et al. (2014) eq. 13 (Cochran's
    formula for stratified random sampling): ``n = (sum_i W_i S_i / S(O))²`` with ``W_i`` the share of the map in
    class ``i``, ``S_i = sqrt(U_i (1 - U_i))`` for a conjectured user's accuracy ``U_i`` and ``S(O)`` the target
    standard error of overall accuracy. The points are then allocated in proportion to the strata's areas, with
    at least ``min_per_class`` in each (the paper's advice: proportional allocation leaves rare classes, often the
    ones of interest, with too few points to estimate their accuracy), and never more than a stratum's pixels.

    Parameters
    ----------
    class_map : class map (y, x) or mapping ``{class code: number of pixels}``
        The map to assess; numpy or dask (counted block by block).
    target_se : float, default 0.01
        Target standard error of the overall accuracy. Give either this or ``n_total``.
    n_total : int, optional
        The total sample size, when the budget sets it rather than a target precision.
    expected_user_accuracy : float or mapping ``{code: U_i}``, default 0.8
        Conjectured user's accuracies, in [0, 1] (a mapping must give every class).
    min_per_class : int, default 50
        Minimum number of points per stratum.
    class_names : optional ``{code: name}``.
    nodata : int or None, default :data:`~labkit.datamodel.NO_CLASS`
        The code of unclassified pixels, never a stratum.

    Returns
    -------
    SampleDesign
        With the allocation ``{code: points}`` to pass to :func:`draw_stratified_sample`.

    Raises
    ------
    ConfigError
        Both sizes, a ``target_se`` not strictly between 0 and 1, ``n_total`` not an integer >= 1,
        ``min_per_class`` not an integer >= 0, a user's accuracy that is not a number from 0 to 1, a class without
        one; all but the last before the map is counted.

    Example
    -------
    Olofsson et al. (2014), section 5.1: four strata of 200 000, 150 000, 3 200 000 and 6 450 000 pixels, user's
    accuracies conjectured at 0.7, 0.6, 0.9 and 0.95, a target standard error of 0.01, 75 points at least:

    >>> design = stratified_sample_design({1: 200_000, 2: 150_000, 3: 3_200_000, 4: 6_450_000}, target_se=0.01,
    ...                                   expected_user_accuracy={1: 0.7, 2: 0.6, 3: 0.9, 4: 0.95}, min_per_class=75)
    >>> design.n_required, design.allocation
    (641, {1: 75, 2: 75, 3: 163, 4: 328})
    """
    what = "stratified_sample_design"
    if target_se is not None and n_total is not None:
        raise ConfigError(f"{what}: give either target_se or n_total, not both.")
    if n_total is None and target_se is None:
        target_se = 0.01
    if target_se is not None:  # a standard error of overall accuracy, such as 0.01
        target_se = number(target_se, "target_se", what, low=0, high=1, closed="neither")
    if n_total is not None:
        n_total = integer(n_total, "n_total", what, low=1)
    min_per_class = integer(min_per_class, "min_per_class", what, low=0)
    nodata = _nodata(nodata, what)
    names = _names(class_names, what)
    if isinstance(expected_user_accuracy, Mapping):
        given = {integer(c, "a class code of expected_user_accuracy", what):
                 number(u, f"expected_user_accuracy[{c}]", what, low=0, high=1)
                 for c, u in expected_user_accuracy.items()}
    else:
        given = number(expected_user_accuracy, "expected_user_accuracy", what, low=0, high=1)
    counts = {c: n for c, n in _strata_counts(class_map, what, nodata).items() if n > 0 and c != nodata}
    labels = list(counts)
    if isinstance(given, dict):
        missing = [c for c in labels if c not in given]
        if missing:
            raise ConfigError(f"{what}: expected_user_accuracy gives no value for classes {missing} of the map.")
        users = {c: given[c] for c in labels}
    else:
        users = {c: given for c in labels}
    total = sum(counts.values())
    weights = {c: counts[c] / total for c in labels}
    if n_total is None:
        spread = sum(weights[c] * math.sqrt(users[c] * (1 - users[c])) for c in labels)
        n_required = max(1, math.ceil(round((spread / target_se) ** 2, 9)))
    else:
        n_required = n_total
    allocation = _allocate(weights, n_required, min_per_class, {c: int(counts[c]) for c in labels})
    return SampleDesign(labels=labels, strata_pixels=counts, weights=weights, expected_user_accuracy=users,
                        target_se=target_se, n_required=n_required, allocation=allocation,
                        min_per_class=min_per_class, class_names=names)


def _seed(random_state) -> np.uint64:
    """The 64-bit key of the draw, from a seed checked by :func:`labkit.params.seed`."""
    random_state = seed(random_state, "draw_stratified_sample")
    if random_state is None:
        return np.uint64(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(random_state, np.random.Generator):
        return np.uint64(random_state.integers(0, 2**63))
    if isinstance(random_state, np.random.RandomState):
        return np.uint64(random_state.randint(0, 2**63, dtype=np.int64))
    return np.uint64(random_state)


def draw_stratified_sample(
    class_map: xr.DataArray,
    allocation,
    random_state=None,
    *,
    nodata: int | None = NO_CLASS,
):
    """Draw sample points at random within each stratum (map class) of a class map.

    Each stratum gets exactly its allocated number of distinct pixels, a simple random sample without replacement
    of the stratum's pixels; unclassified pixels (``nodata``) are never drawn. The draw is reproducible: each pixel
    gets a pseudo-random key from its position and the seed, and each stratum keeps its pixels with the smallest
    keys. So the same seed gives the same points whether the map is in memory or a dask array, however chunked;
    a dask-backed map is read block by block (one pass) and never loaded whole.

    Parameters
    ----------
    class_map : class map (y, x)
        Numpy or dask; integer codes.
    allocation : :class:`SampleDesign` or mapping ``{class code: points}``
    random_state : int, numpy Generator or None
        The seed (an integer from 0 to 2**32 - 1); None draws a different sample each time.
    nodata : int or None, default :data:`~labkit.datamodel.NO_CLASS`

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point, sorted by stratum then row and column: ``map_class``, ``row`` and ``col`` (positions in
        the map), ``x`` and ``y`` (pixel centres, map coordinates) and the point geometry, in the map's CRS.

    Raises
    ------
    ConfigError
        A bad ``random_state`` or ``nodata``; an allocation whose codes or numbers of points are not integers (>= 0),
        that asks for more points than a stratum has pixels, or for the ``nodata`` code.

    Example
    -------
    >>> m = xr.DataArray(np.array([[1, 1, 2], [2, 2, 255]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0, 25.0]})
    >>> points = draw_stratified_sample(m, {1: 1, 2: 2}, random_state=0)
    >>> points["map_class"].tolist(), len(points)
    ([1, 2, 2], 3)
    """
    import geopandas as gpd

    what = "draw_stratified_sample"
    key = _seed(random_state)
    nodata = _nodata(nodata, what)
    validate(class_map, "class_map")
    if isinstance(allocation, SampleDesign):
        allocation = allocation.allocation
    if not isinstance(allocation, Mapping):
        raise ConfigError(f"{what}: allocation must be a SampleDesign or a mapping {{class code: points}}; got a "
                          f"{type(allocation).__name__}.")
    wanted = {}
    for code, n in allocation.items():
        code = integer(code, "a class code of allocation", what)
        n = integer(n, f"the number of points of class {code}", what, low=0)
        if nodata is not None and code == nodata:
            raise ConfigError(f"{what}: the allocation asks for points in class {code}, the code of unclassified "
                              "pixels (nodata); sample points must fall on classified pixels.")
        if n > 0:
            wanted[code] = n
    salt = splitmix64(np.array([key]))[0]
    width = class_map.sizes["x"]

    def candidates(block, y0, x0):
        block = np.asarray(block)
        flat = np.ravel(block)
        found = {}
        for code, n in wanted.items():
            where = np.flatnonzero(flat == code)
            rows, cols = np.divmod(where, block.shape[1])
            index = (rows + y0).astype(np.uint64) * np.uint64(width) + (cols + x0).astype(np.uint64)
            keys = splitmix64(index ^ salt)
            if keys.size > n:
                keep = np.argpartition(keys, n - 1)[:n]
                keys, index = keys[keep], index[keep]
            found[code] = (where.size, keys, index)
        return found

    def merge(parts):
        chosen = {}
        for code, n in wanted.items():
            available = sum(p[code][0] for p in parts)
            if available < n:
                raise ConfigError(f"{what}: class {code} has {available} pixels in the map, fewer than the {n} "
                                  "points asked for; lower its allocation (stratified_sample_design caps it).")
            keys = np.concatenate([p[code][1] for p in parts])
            index = np.concatenate([p[code][2] for p in parts])
            order = np.lexsort((index, keys))[:n]
            chosen[code] = np.sort(index[order])
        return chosen

    chosen = _over_blocks(class_map, candidates, merge)
    codes = np.concatenate([np.full(len(v), c, dtype=class_map.dtype) for c, v in chosen.items()] or
                           [np.zeros(0, class_map.dtype)])
    index = np.concatenate(list(chosen.values()) or [np.zeros(0, np.uint64)]).astype(np.int64)
    rows, cols = np.divmod(index, width)
    x, y = class_map["x"].values[cols], class_map["y"].values[rows]
    crs = class_map.rio.crs
    points = gpd.GeoDataFrame(
        {"map_class": codes, "row": rows, "col": cols, "x": x, "y": y},
        geometry=gpd.points_from_xy(x, y), crs=crs,
    )
    points.index.name = "point"
    return points


# ------------------------------------------------------------------------------------- area estimation


@dataclass(frozen=True)
class AreaEstimate:
    """Accuracy and area estimated from a stratified sample (Olofsson et al. 2014).

    Rows of ``counts`` and ``proportions`` are map classes (strata), columns reference classes, both in the order
    of ``labels``. Every ``*_se`` is a standard error; confidence intervals are the estimate ``± z SE``
    (``z = 1.96``: 95 %). Accuracies of a class that no sample supports are NaN.

    Attributes
    ----------
    counts : (k, k) int array, ``n_ij`` sample points mapped ``i`` with reference ``j``
    proportions : (k, k) float array, ``p_ij = W_i n_ij / n_i.``, the error matrix in area proportions (sums to 1)
    strata_pixels : ``{code: N_i}`` pixels mapped in each class; ``weights`` the same as shares ``W_i``
    overall_accuracy, overall_accuracy_se : area-weighted overall accuracy ``sum_j p_jj``
    users_accuracy, producers_accuracy (+ ``_se``) : ``{code: value}``
    area_proportion (+ ``_se``) : ``{code: p_.j}``, each class's share of the area, estimated from the sample
    area (+ ``_se``) : ``{code: A_j}`` in ``unit``: ``p_.j`` times the map's total area
    mapped_area : ``{code: A_m,j}`` in ``unit``: what counting the map's pixels gives
    """

    labels: list[int]
    counts: np.ndarray
    proportions: np.ndarray
    strata_pixels: dict[int, float]
    weights: dict[int, float]
    overall_accuracy: float
    overall_accuracy_se: float
    users_accuracy: dict[int, float]
    users_accuracy_se: dict[int, float]
    producers_accuracy: dict[int, float]
    producers_accuracy_se: dict[int, float]
    area_proportion: dict[int, float]
    area_proportion_se: dict[int, float]
    area: dict[int, float]
    area_se: dict[int, float]
    mapped_area: dict[int, float]
    pixel_area: float = 1.0
    unit: str = "pixels"
    z: float = 1.96
    class_names: dict[int, str] = field(default_factory=dict)

    def name(self, code: int) -> str:
        """The name of a class code (the code itself when unnamed)."""
        return self.class_names.get(code, str(code))

    @property
    def total_area(self) -> float:
        """The map's total area, in ``unit``."""
        return float(sum(self.strata_pixels.values()) * self.pixel_area)

    @property
    def n_samples(self) -> int:
        """The number of sample points."""
        return int(self.counts.sum())

    def ci(self, value: float, se: float) -> tuple[float, float]:
        """The confidence interval ``value ± z se``."""
        return value - self.z * se, value + self.z * se

    @property
    def area_ci(self) -> dict[int, tuple[float, float]]:
        """``{code: (low, high)}``: each class's confidence interval of area, in ``unit``."""
        return {c: self.ci(self.area[c], self.area_se[c]) for c in self.labels}

    def to_frame(self) -> pd.DataFrame:
        """One row per class: sample points, mapped and estimated area with its confidence interval (half-width
        ``area_ci``), user's and producer's accuracies with theirs.

        Example
        -------
        >>> est = estimate_area([1, 1, 2, 2], [1, 1, 2, 1], {1: 60, 2: 40})
        >>> est.to_frame().loc["1", ["mapped_area", "area"]].tolist()
        [60.0, 80.0]
        """
        z = self.z
        return pd.DataFrame(
            {"code": self.labels,
             "points": self.counts.sum(axis=1).tolist(),
             "mapped_area": [self.mapped_area[c] for c in self.labels],
             "area": [self.area[c] for c in self.labels],
             "area_se": [self.area_se[c] for c in self.labels],
             "area_ci": [z * self.area_se[c] for c in self.labels],
             "users_accuracy": [self.users_accuracy[c] for c in self.labels],
             "users_accuracy_ci": [z * self.users_accuracy_se[c] for c in self.labels],
             "producers_accuracy": [self.producers_accuracy[c] for c in self.labels],
             "producers_accuracy_ci": [z * self.producers_accuracy_se[c] for c in self.labels]},
            index=pd.Index([self.name(c) for c in self.labels], name="class"),
        )

    def to_dict(self) -> dict:
        """JSON-ready estimates (NaN as None).

        Example
        -------
        >>> est = estimate_area([1, 1, 2, 2], [1, 1, 2, 1], {1: 60, 2: 40})
        >>> est.to_dict()["per_class"]["1"]["area"]
        80.0
        """
        def num(value):
            return None if value is None or not np.isfinite(value) else float(value)

        per_class = {}
        for c in self.labels:
            low, high = self.area_ci[c]
            per_class[self.name(c)] = {
                "code": c, "points": int(self.counts[self.labels.index(c)].sum()),
                "mapped_area": num(self.mapped_area[c]), "area": num(self.area[c]), "area_se": num(self.area_se[c]),
                "area_ci": [num(low), num(high)],
                "area_proportion": num(self.area_proportion[c]), "area_proportion_se": num(self.area_proportion_se[c]),
                "users_accuracy": num(self.users_accuracy[c]), "users_accuracy_se": num(self.users_accuracy_se[c]),
                "producers_accuracy": num(self.producers_accuracy[c]),
                "producers_accuracy_se": num(self.producers_accuracy_se[c]),
            }
        return {
            "overall_accuracy": num(self.overall_accuracy), "overall_accuracy_se": num(self.overall_accuracy_se),
            "z": self.z, "unit": self.unit, "pixel_area": self.pixel_area, "total_area": self.total_area,
            "n_samples": self.n_samples, "labels": self.labels, "class_names": [self.name(c) for c in self.labels],
            "sample_counts": self.counts.tolist(),
            "area_proportions": [[num(v) for v in row] for row in self.proportions],
            "per_class": per_class,
        }


def estimate_area(
    map_classes,
    reference_classes,
    strata_pixel_counts,
    *,
    pixel_area: float = 1.0,
    unit: str | None = None,
    labels=None,
    class_names: dict[int, str] | None = None,
    z: float = 1.96,
    nodata: int | None = NO_CLASS,
) -> AreaEstimate:
    """Area-weighted accuracy and area of each class, with standard errors, from a stratified random sample.

    The stratified estimators of Olofsson et al. (2014), strata being the map classes: with ``N_i`` pixels mapped
    in class ``i`` (weight ``W_i = N_i / N``), ``n_i.`` sample points in it, ``n_ij`` of them with reference class
    ``j``:

    * error matrix in area proportions ``p_ij = W_i n_ij / n_i.``;
    * overall accuracy ``O = sum_j p_jj``, user's ``U_i = p_ii / p_i.``, producer's ``P_j = p_jj / p_.j``, with
      variances ``V(O) = sum_i W_i² U_i (1 - U_i) / (n_i. - 1)``, ``V(U_i) = U_i (1 - U_i) / (n_i. - 1)`` and
      ``V(P_j) = [N_j.² (1 - P_j)² U_j (1 - U_j) / (n_j. - 1) + P_j² sum_{i≠j} N_i.² (n_ij / n_i.)(1 - n_ij / n_i.)
      / (n_i. - 1)] / N_.j²`` where ``N_.j = sum_i N_i. n_ij / n_i.``;
    * area proportion of class ``k`` ``p_.k = sum_i W_i n_ik / n_i.``, with ``V(p_.k) = sum_i W_i² (n_ik / n_i.)
      (1 - n_ik / n_i.) / (n_i. - 1)``; area ``A_k = A p_.k`` and ``SE(A_k) = A SE(p_.k)``, ``A`` the map's area;
    * confidence intervals: estimate ``± z SE``.

    The estimated areas sum to the map's area; a sample whose reference always agrees with the map gives back the
    mapped areas with zero standard error.

    Parameters
    ----------
    map_classes, reference_classes : sequences of class codes, one per sample point
        The map's class at each point (its stratum) and the reference class observed there.
    strata_pixel_counts : mapping ``{code: pixels}`` or class map (y, x)
        The number of pixels mapped in each class (a class map is counted with :func:`pixel_counts`).
    pixel_area : float, default 1
        The area of one pixel, in ``unit`` (``100`` for 10 m pixels in m², ``0.09`` for 30 m pixels in ha).
    unit : str, optional
        The name of the area unit, for reports (default "pixels" when ``pixel_area`` is 1, else "area units").
    labels : class codes to report, in order (default: every code of the strata and the sample)
    class_names : optional ``{code: name}``
    z : float, default 1.96
        Normal quantile of the confidence intervals (1.96: 95 %, as in the paper).
    nodata : code of unclassified pixels, not a stratum (when counting a class map).

    Returns
    -------
    AreaEstimate

    Raises
    ------
    DataModelError
        Missing classes (NaN, None) in ``map_classes`` or ``reference_classes``: how many, and where; ``labels``
        that leave out a class of the strata or the reference.
    ConfigError
        Checked first: ``pixel_area`` or ``z`` not a finite number > 0, ``labels`` that are not integer codes (NaN
        included) or repeat, bad ``class_names``, ``unit`` or ``nodata``. Then: different lengths, no sample, a point
        in a class the map does not hold, a stratum with pixels but fewer than 2 points (its variance cannot be
        estimated).

    Example
    -------
    Olofsson et al. (2014), section 5: 75, 75, 165 and 325 points in strata of 200 000, 150 000, 3 200 000 and
    6 450 000 Landsat pixels (0.09 ha):

    >>> n = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])  # rows: map, columns: ref.
    >>> mapped, ref = np.nonzero(n)
    >>> est = estimate_area(np.repeat(mapped + 1, n[mapped, ref]), np.repeat(ref + 1, n[mapped, ref]),
    ...                     {1: 200_000, 2: 150_000, 3: 3_200_000, 4: 6_450_000}, pixel_area=0.09, unit="ha")
    >>> round(est.area[1]), round(est.z * est.area_se[1]), round(est.overall_accuracy, 2)
    (21158, 6158, 0.95)
    """
    what = "estimate_area"
    pixel_area = number(pixel_area, "pixel_area", what, low=0, closed="neither")
    z = number(z, "z", what, low=0, closed="neither")
    if unit is not None and not isinstance(unit, str):
        raise ConfigError(f"{what}: unit must be None or the name of the area unit, such as 'ha'; got {unit!r}.")
    nodata = _nodata(nodata, what)
    names = _names(class_names, what)
    if labels is not None:  # their form now; whether they cover the data's classes once the strata are counted
        labels = [int(c) for c in _class_codes(labels, "labels", what, data=False)]
    mapped = np.asarray(map_classes).ravel()
    reference = np.asarray(reference_classes).ravel()
    if mapped.shape != reference.shape:
        raise ConfigError(f"{what}: {mapped.size} map classes but {reference.size} reference classes; give one of "
                          "each per sample point.")
    if mapped.size == 0:
        raise ConfigError(f"{what}: no sample point.")
    for name, values in (("map", mapped), ("reference", reference)):
        _check_missing(values, f"{name}_classes", what, ("map_classes", "reference_classes"))
        if not np.issubdtype(values.dtype, np.integer):
            raise ConfigError(f"{what}: {name} classes must be integer codes; got dtype {values.dtype}.")
    strata = {c: n for c, n in _strata_counts(strata_pixel_counts, what, nodata).items() if n > 0}
    outside = sorted(set(np.unique(mapped).tolist()) - set(strata))
    if outside:
        raise ConfigError(f"{what}: sample points fall in map classes {outside}, of which the map has no pixel "
                          f"(strata: {list(strata)}). Give the pixel count of every class the points were drawn in.")
    labels = _report_labels(labels, {"strata_pixel_counts": np.array(list(strata), dtype=np.int64),
                                     "reference_classes": reference}, what)
    k = len(labels)
    position = {c: i for i, c in enumerate(labels)}
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, ([position[c] for c in mapped.tolist()], [position[c] for c in reference.tolist()]), 1)
    N = np.array([float(strata.get(c, 0)) for c in labels])
    n_row = counts.sum(axis=1)
    unsampled = [c for c in labels if strata.get(c, 0) > 0 and n_row[position[c]] < 2]
    if unsampled:
        detail = ", ".join(f"{c} ({n_row[position[c]]} point(s))" for c in unsampled)
        raise ConfigError(f"{what}: every stratum needs at least 2 sample points to estimate variances; strata "
                          f"{detail} have fewer. Draw more points there (see stratified_sample_design).")
    W = N / N.sum()
    sampled = n_row > 0
    safe_n = np.where(sampled, n_row, 1).astype(float)
    frac = counts / safe_n[:, None]  # n_ij / n_i., 0 in rows of empty strata
    proportions = W[:, None] * frac
    diag_frac = np.diag(frac)
    col = proportions.sum(axis=0)  # p_.j
    with np.errstate(invalid="ignore", divide="ignore"):
        users = np.where(sampled, diag_frac, np.nan)
        producers = np.where(col > 0, np.diag(proportions) / np.where(col > 0, col, 1), np.nan)
    dof = np.where(n_row > 1, n_row - 1, 1).astype(float)
    oa = float(np.trace(proportions))
    var_oa = float(np.sum(np.where(sampled, W**2 * diag_frac * (1 - diag_frac) / dof, 0.0)))
    var_users = np.where(sampled, diag_frac * (1 - diag_frac) / dof, np.nan)
    cell_var = np.where(sampled[:, None], frac * (1 - frac) / dof[:, None], 0.0)  # per stratum and class
    var_prop = (W[:, None] ** 2 * cell_var).sum(axis=0)
    N_col = (N[:, None] * frac).sum(axis=0)  # N_.j, estimated pixels of reference class j
    var_producers = np.full(k, np.nan)
    for j in range(k):
        if col[j] <= 0:
            continue
        P, U = producers[j], (users[j] if sampled[j] else 0.0)
        own = N[j] ** 2 * (1 - P) ** 2 * U * (1 - U) / dof[j] if sampled[j] else 0.0
        others = sum(N[i] ** 2 * cell_var[i, j] for i in range(k) if i != j)
        var_producers[j] = (own + P**2 * others) / N_col[j] ** 2
    total_area = N.sum() * pixel_area

    def per_class(values) -> dict[int, float]:
        return {c: float(v) for c, v in zip(labels, values)}

    return AreaEstimate(
        labels=labels,
        counts=counts,
        proportions=proportions,
        strata_pixels={c: strata.get(c, 0) for c in labels},
        weights=per_class(W),
        overall_accuracy=oa,
        overall_accuracy_se=math.sqrt(var_oa),
        users_accuracy=per_class(users),
        users_accuracy_se=per_class(np.sqrt(var_users)),
        producers_accuracy=per_class(producers),
        producers_accuracy_se=per_class(np.sqrt(var_producers)),
        area_proportion=per_class(col),
        area_proportion_se=per_class(np.sqrt(var_prop)),
        area=per_class(col * total_area),
        area_se=per_class(np.sqrt(var_prop) * total_area),
        mapped_area=per_class(N * pixel_area),
        pixel_area=pixel_area,
        unit=unit or ("pixels" if pixel_area == 1 else "area units"),
        z=z,
        class_names=names,
    )


def plot_area_estimates(estimate: AreaEstimate, ax=None):
    """Bar chart of each class's area: counted on the map, and estimated from the sample with its confidence
    interval as an error bar.

    Example
    -------
    >>> ax = plot_area_estimates(estimate_area([1, 1, 2, 2], [1, 1, 2, 1], {1: 60, 2: 40}))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['mapped (pixel count)', 'estimated (sample), 95 % CI']
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 1.1 * len(estimate.labels), 4))
    positions = np.arange(len(estimate.labels))
    mapped = [estimate.mapped_area[c] for c in estimate.labels]
    area = [estimate.area[c] for c in estimate.labels]
    half = [estimate.z * estimate.area_se[c] for c in estimate.labels]
    level = {1.96: "95 %", 1.645: "90 %", 2.576: "99 %"}.get(round(estimate.z, 3), f"z = {estimate.z:g}")
    ax.bar(positions - 0.2, mapped, width=0.4, color="0.7", label="mapped (pixel count)")
    ax.bar(positions + 0.2, area, width=0.4, color="tab:blue", yerr=half, capsize=4,
           label=f"estimated (sample), {level} CI")
    ax.set_xticks(positions, [estimate.name(c) for c in estimate.labels], rotation=30, ha="right")
    ax.set_ylabel(f"area ({estimate.unit})")
    oa, half_width = estimate.overall_accuracy, estimate.z * estimate.overall_accuracy_se
    ax.set_title(f"Area per class · OA {oa:.3f} ± {half_width:.3f}")
    ax.legend(fontsize=8, frameon=False)
    return ax
