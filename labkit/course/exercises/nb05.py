"""Exercises of notebook 05, classical classifiers and their validation; the questions: which class the forest
confuses with grassland (predict), which score to report for a tuned model (decide), where the first map is wrong
(interpret)."""

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


CONFUSED_WITH_GRASSLAND_CHOICES = {"a": "forest", "b": "shrubland", "c": "cultivated land", "d": "artificial surface"}


def confused_with_grassland(confusion, labels, class_names: dict) -> str:
    """The choice (a key of :data:`CONFUSED_WITH_GRASSLAND_CHOICES`) naming the class that grassland pixels are
    most often predicted as, when they are predicted wrong: the largest number off the diagonal in grassland's row.

    ``confusion[i, j]`` counts the samples of reference class ``labels[i]`` predicted as ``labels[j]``;
    ``class_names`` maps each code to its name.

    Example
    -------
    >>> confused_with_grassland([[5, 1, 0], [3, 9, 0], [0, 0, 4]], [2, 3, 4],
    ...                         {2: "forest", 3: "grassland", 4: "shrubland"})
    'a'
    """
    labels = list(labels)
    row = np.asarray(confusion, dtype=float)[[class_names[c] for c in labels].index("grassland")].copy()
    row[[class_names[c] for c in labels].index("grassland")] = -1
    mistaken_for = class_names[labels[int(np.argmax(row))]]
    return {name: key for key, name in CONFUSED_WITH_GRASSLAND_CHOICES.items()}[mistaken_for]


TUNED_SCORE_CHOICES = {
    "a": "search.best_score: the cross-validated score of the best settings",
    "b": "a score on folds the search never saw: a nested cross-validation, or a separate test set",
    "c": "the score of search.best_estimator on the samples it was refitted on",
}


def tuned_score() -> str:
    """The score to report for a tuned model: a conceptual question, its right key is fixed.

    Example
    -------
    >>> TUNED_SCORE_CHOICES[tuned_score()][:28]
    'a score on folds the search '
    """
    return "b"


MAP_ERRORS = {"a": ("forest", "shrubland"), "b": ("forest", "grassland"), "c": ("grassland", "forest"),
              "d": ("artificial surface", "grassland")}
"""The errors the map question offers, by key: (reference class, mapped class)."""

MAP_ERROR_CHOICES = {key: f"{reference} mapped as {mapped}" for key, (reference, mapped) in MAP_ERRORS.items()}


def largest_map_error(class_map, reference, class_names: dict) -> str:
    """The choice (a key of :data:`MAP_ERRORS`) whose error covers the most pixels: reference pixels of one class
    that the map gives to another.

    ``class_map`` and ``reference`` are class codes on the same grid; ``class_names`` maps codes to names.

    Example
    -------
    >>> names = {2: "forest", 3: "grassland", 4: "shrubland"}
    >>> largest_map_error(np.array([[2, 3], [3, 3]]), np.array([[2, 2], [2, 3]]), names)
    'b'
    """
    code_of = {name: code for code, name in class_names.items()}
    class_map, reference = np.asarray(class_map), np.asarray(reference)
    pixels = {key: int(((reference == code_of.get(truth, -1)) & (class_map == code_of.get(mapped, -1))).sum())
              for key, (truth, mapped) in MAP_ERRORS.items()}
    return max(pixels, key=pixels.get)


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
    "05.confused_with_grassland": Exercise(
        reference=confused_with_grassland,
        title="your prediction: the class the forest gives most often to grassland pixels it gets wrong",
        hint="Two things decide it: how alike two classes' NDVI over the year are, and how many training pixels "
             "each class has (the table of section 1).",
        choices=CONFUSED_WITH_GRASSLAND_CHOICES,
        explanation="Shrubland: open land covered by low vegetation, with an NDVI curve of the same shape as "
                    "grassland's, and the class with the most polygons (32). Cultivated land may look more "
                    "like grassland on the ground, but with 11 pixels from 4 fields the forest almost never predicts "
                    "it: a classifier's errors go to the classes it knows well.",
    ),
    "05.tuned_score": Exercise(
        reference=tuned_score,
        title="the score you report for the tuned forest",
        hint="The search chose its best settings because they scored best on these very folds. Would that score "
             "hold on folds the choice did not see?",
        choices=TUNED_SCORE_CHOICES,
        explanation="best_score is the best of several candidates on the same folds: part of its lead is luck on "
                    "those folds, so it is optimistic (the more candidates, the more so). An honest estimate tests the "
                    "tuned model on data that played no part in the choice: an outer loop of folds around the search "
                    "(nested cross-validation) or a test set kept aside. The score on the refitting samples is a "
                    "training score, the most optimistic of all.",
    ),
    "05.largest_map_error": Exercise(
        reference=largest_map_error,
        title="the error of the map that covers the most pixels",
        hint="Compare the two maps class by class: which colour of the reference is most often painted with "
             "another colour on the map?",
        hints=("Look at the forest of the reference (dark green): what does the map paint over part of it?",),
        choices=MAP_ERROR_CHOICES,
        explanation="Forest mapped as shrubland, about a fifth of the forest. Both are woody and keep some green in "
                    "winter, the season this forest relies on (section 7). And the training set undersells forest: "
                    "at 25 pixels per polygon, forest's 10 large parcels give fewer training pixels than shrubland's "
                    "32 small ones, while forest covers three quarters of the patch. Giving forest's pixels more "
                    "weight halves this error. Note that the map is compared here with the very polygons the "
                    "forest learned from: its accuracy on land it never saw is lower (notebook 08 estimates a map's "
                    "accuracy properly).",
    ),
}
