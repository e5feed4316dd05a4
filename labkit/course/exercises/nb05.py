"""Exercises of notebook 05, classical classifiers and their validation."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from ..compare import compare_dates, compare_values
from . import Exercise


def accuracy_by_hand(confusion) -> dict[str, float]:
    """Overall accuracy and Cohen's kappa of a confusion matrix (rows: reference, columns: predicted).

    Example
    -------
    >>> accuracy_by_hand([[1, 1], [0, 2]])
    {'overall_accuracy': 0.75, 'kappa': 0.5}
    """
    confusion = np.asarray(confusion, dtype=float)
    total = confusion.sum()
    observed = np.trace(confusion) / total
    expected = (confusion.sum(axis=1) * confusion.sum(axis=0)).sum() / total**2
    return {"overall_accuracy": float(observed), "kappa": float((observed - expected) / (1 - expected))}


def grouped_cv_macro_f1(samples: xr.Dataset, model: str, folds: int, random_state: int) -> float:
    """Mean macro F1 of ``model`` over a cross-validation in ``folds`` folds grouped by polygon, seeded by
    ``random_state``.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> y = np.repeat([1, 2], 6)
    >>> s = dm.make_samples(y[:, None, None] + np.zeros((12, 3, 1)), y, np.arange(12) // 2, bands=["NDVI"])
    >>> grouped_cv_macro_f1(s, "sklearn.neighbors.KNeighborsClassifier", folds=3, random_state=0)
    1.0
    """
    from ...models import cross_validate

    return cross_validate(samples, model, folds=folds, group_by="group", random_state=random_state).mean["macro_f1"]


def most_important_date(importances, dates) -> np.datetime64:
    """The date whose value matters most to the forest: ``importances`` starts with one value per date.

    Example
    -------
    >>> dates = np.array(["2016-01-01", "2016-02-01"], dtype="datetime64[ns]")
    >>> most_important_date([0.1, 0.3, 0.6], dates)  # the 0.6 is a statistic, not a date
    np.datetime64('2016-02-01T00:00:00.000000000')
    """
    dates = np.asarray(dates)
    return dates[int(np.argmax(np.asarray(importances)[: len(dates)]))]


EXERCISES: dict[str, Exercise] = {
    "05.accuracy_by_hand": Exercise(
        reference=accuracy_by_hand,
        title="overall accuracy and kappa from a confusion matrix",
        hint="Overall accuracy is the share of the confusion matrix on its diagonal; kappa corrects it for the "
             "agreement expected by chance.",
        hints=(
            "OA is the diagonal's sum over the total (np.trace). Kappa compares OA with the agreement expected by "
            "chance, the sum over classes of (row total x column total) / total², as (OA - chance) / (1 - chance).",
        ),
        compare=functools.partial(compare_values, rtol=1e-6, atol=1e-9),
    ),
    "05.grouped_cv_macro_f1": Exercise(
        reference=grouped_cv_macro_f1,
        title="mean macro F1 of a grouped cross-validation",
        hint="labkit.models has a cross-validation function that can group the folds by polygon.",
        hints=(
            "cross_validate(samples, model, folds=folds, group_by='group', random_state=random_state) returns a "
            "CVResult; its .mean is a dict of mean scores over the folds.",
        ),
        compare=functools.partial(compare_values, rtol=1e-9, atol=1e-12),
    ),
    "05.most_important_date": Exercise(
        reference=most_important_date,
        title="the date that matters most to the forest",
        hint="The forest's feature importances start with one value per date: find the largest of those.",
        hints=(
            "The first len(dates) importances are the dates' values (one band here), the rest are statistics: take "
            "np.argmax over importances[:len(dates)] and index dates with it.",
        ),
        compare=compare_dates,
    ),
}
