"""Accuracy assessment: how well a map agrees with reference data.

Takes reference and predicted class codes (validation pixels or a class map sampled at reference points) and
returns the confusion matrix with the scores the field reports: overall accuracy, Cohen's kappa, per-class
precision (user's accuracy), recall (producer's accuracy) and F1, and macro F1. The last stage of the chain.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from .errors import ConfigError


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


def assess_accuracy(y_true, y_pred, *, labels=None, class_names: dict[int, str] | None = None) -> AccuracyReport:
    """Confusion matrix, overall accuracy, kappa and per-class scores.

    Parameters
    ----------
    y_true, y_pred : sequences of class codes of the same length
    labels : class codes to report, in order (default: every code in either)
    class_names : optional ``{code: name}``

    Example
    -------
    >>> report = assess_accuracy([1, 1, 2, 2], [1, 2, 2, 2])
    >>> report.confusion.tolist(), report.overall_accuracy, round(report.kappa, 2)
    ([[1, 1], [0, 2]], 0.75, 0.5)
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ConfigError(f"assess_accuracy: {y_true.size} reference labels but {y_pred.size} predictions.")
    if y_true.size == 0:
        raise ConfigError("assess_accuracy: no samples to assess.")
    labels = [int(c) for c in (np.union1d(y_true, y_pred) if labels is None else labels)]
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
        class_names=dict(class_names or {}),
    )


def plot_confusion_matrix(report: AccuracyReport, ax=None, *, normalize: bool = True):
    """Plot the confusion matrix (rows: reference, columns: predicted), row-normalised by default.

    Example
    -------
    >>> ax = plot_confusion_matrix(assess_accuracy([1, 2, 2], [1, 2, 1]))
    >>> ax.get_ylabel()
    'reference'
    """
    import matplotlib.pyplot as plt

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
    ax.set_title(f"OA {report.overall_accuracy:.3f} · kappa {report.kappa:.3f}")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, label="share of reference row" if normalize else "count")
    return ax
