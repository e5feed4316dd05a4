"""Exercises of notebook 04, reference samples: pixels per class, leakage of a random split, a polygon split; the
questions: how much a random pixel split flatters the accuracy (predict), and which split to report (decide)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from ...datamodel import class_names
from ...samples import split_by_group
from ..compare import within
from . import Exercise


def pixels_per_class(samples: xr.Dataset) -> dict[str, int]:
    """How many pixels (samples) each class has: ``{class name: count}``.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((3, 1, 1)), [2, 2, 8], [1, 1, 2], bands=["NDVI"], class_names={2: "forest",
    ...                     8: "artificial surface"})
    >>> pixels_per_class(s)
    {'forest': 2, 'artificial surface': 1}
    """
    names = class_names(samples)
    codes, counts = np.unique(samples["label"].values, return_counts=True)
    return {names[int(c)]: int(n) for c, n in zip(codes, counts)}


def leaked_share(groups, train_index, validation_index) -> float:
    """The share of validation pixels whose polygon also gives pixels to training (0: no leakage).

    Example
    -------
    >>> leaked_share(np.array([1, 1, 2, 2, 3]), train_index=[0, 2], validation_index=[1, 3, 4])
    0.6666666666666666
    """
    groups = np.asarray(groups)
    seen = np.unique(groups[np.asarray(train_index)])
    return float(np.isin(groups[np.asarray(validation_index)], seen).mean())


class ValidationPolygons(frozenset):
    """A set of validation polygon ids that also knows what any right answer must satisfy.

    ``class_of`` maps every polygon id to its class name; ``allowed`` maps each class name to the numbers of
    validation polygons accepted for it.
    """

    class_of: dict
    allowed: dict

    def __new__(cls, ids, class_of: dict, allowed: dict):
        self = super().__new__(cls, ids)
        self.class_of, self.allowed = class_of, allowed
        return self


def _allowed(n_polygons: int, validation_size: float) -> set[int]:
    """How many of a class's ``n_polygons`` may go to validation: the share, rounded either way, and at least one on
    each side when the class has two polygons or more (none when it has one)."""
    if n_polygons == 1:
        return {0}
    share = validation_size * n_polygons
    return {min(max(1, k), n_polygons - 1) for k in (math.floor(share), math.ceil(share))}


def validation_polygons(samples: xr.Dataset, validation_size: float, random_state: int) -> ValidationPolygons:
    """A valid choice of validation polygons: ``validation_size`` of each class's polygons (labkit's own draw).

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((5, 1, 1)), [1, 1, 1, 2, 2], [10, 11, 12, 20, 21], bands=["NDVI"])
    >>> chosen = validation_polygons(s, 0.3, random_state=0)
    >>> len(chosen), chosen.allowed
    (2, {'1': {1}, '2': {1}})
    """
    _, validation = split_by_group(samples, train_size=1 - validation_size, random_state=random_state)
    names = class_names(samples)
    label, group = samples["label"].values, samples["group"].values
    class_of = {int(g): names[int(c)] for g, c in zip(group, label)}
    allowed = {names[int(c)]: _allowed(np.unique(group[label == c]).size, validation_size) for c in np.unique(label)}
    return ValidationPolygons(np.unique(validation["group"].values).tolist(), class_of, allowed)


def compare_polygon_choice(answer, expected: ValidationPolygons) -> str | None:
    """Right when the answer is a collection of known polygon ids with an accepted number per class.

    Example
    -------
    >>> expected = ValidationPolygons([1], {1: "a", 2: "a", 3: "b"}, {"a": {1}, "b": {0}})
    >>> compare_polygon_choice({2}, expected) is None
    True
    >>> compare_polygon_choice([1, 2], expected)
    "class 'a': 2 validation polygon(s), expected 1 (of its 2)."
    """
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        return f"expected a set (or list) of polygon ids, got {type(answer).__name__}."
    try:
        ids = {int(i) for i in answer}
    except (TypeError, ValueError):
        return "expected polygon ids (integers, the values of samples.group)."
    unknown = sorted(ids - set(expected.class_of))
    if unknown:
        return f"{len(unknown)} id(s) are not polygons of the samples: {unknown[:5]}."
    for name, accepted in expected.allowed.items():
        n_class = sum(1 for c in expected.class_of.values() if c == name)
        chosen = sum(1 for i in ids if expected.class_of[i] == name)
        if chosen not in accepted:
            wanted = " or ".join(map(str, sorted(accepted)))
            return f"class {name!r}: {chosen} validation polygon(s), expected {wanted} (of its {n_class})."
    return None


def split_gap(results: pd.DataFrame) -> float:
    """How much higher the mean overall accuracy of the random pixel splits is than that of the polygon splits.

    ``results`` has one row per run: its ``split`` (``"random pixels"`` or ``"polygons"``) and its ``OA``.

    Example
    -------
    >>> runs = pd.DataFrame({"split": ["random pixels", "random pixels", "polygons", "polygons"],
    ...                      "OA": [0.9, 0.8, 0.6, 0.7]})
    >>> round(split_gap(runs), 6)
    0.2
    """
    mean = results.groupby("split")["OA"].mean()
    return float(mean["random pixels"] - mean["polygons"])


REPORTED_SPLIT_CHOICES = {
    "a": "the random pixel split: its scores barely change from run to run, so they are the more precise",
    "b": "the polygon split: the mean and the standard deviation over the runs",
    "c": "the polygon split's best run: it shows what the model can do",
    "d": "the mean of the two kinds of split, to be neither optimistic nor pessimistic",
}


def reported_split() -> str:
    """The split whose accuracy goes into a paper: a conceptual question, its right key is fixed.

    Example
    -------
    >>> REPORTED_SPLIT_CHOICES[reported_split()][:19]
    'the polygon split: '
    """
    return "b"


EXERCISES: dict[str, Exercise] = {
    "04.pixels_per_class": Exercise(
        reference=pixels_per_class,
        title="number of pixels of each class",
        hint="Count the samples of each label code, then turn each code into its class name.",
        hints=(
            "np.unique(samples.label.values, return_counts=True) gives the codes and their counts; "
            "labkit.datamodel.class_names(samples) maps each code to its name. Build {name: count}.",
        ),
    ),
    "04.leaked_share": Exercise(
        reference=leaked_share,
        title="share of validation pixels whose polygon is also in training",
        hint="A validation pixel leaks when its polygon (its group) also has pixels in training.",
        hints=(
            "First the set of training polygons, from groups[train_index]; then, for each validation pixel, "
            "whether its group is in that set (np.isin).",
            "The training polygons are np.unique(groups[train_index]); np.isin(groups[validation_index], those) "
            "says, for each validation pixel, whether its polygon trains too. Take the mean.",
        ),
    ),
    "04.validation_polygons": Exercise(
        reference=validation_polygons,
        title="a validation split by polygon, class by class",
        hint="Work class by class, and split polygons, not pixels: about validation_size of each class's polygons "
             "go to validation.",
        hints=(
            "For each class, np.unique of the groups of its samples gives its polygons; draw some of them without "
            "replacement with a random generator (np.random.default_rng).",
            "For each class code in np.unique(samples.label.values): its polygons are "
            "np.unique(samples.group.values[samples.label.values == code]); draw round(validation_size * n) of "
            "them (at least 1, none when the class has a single polygon) with rng.choice(..., replace=False), and "
            "collect the ids in a set.",
        ),
        compare=compare_polygon_choice,
    ),
    "04.split_gap": Exercise(
        reference=split_gap,
        title="your prediction: how much higher the random pixel split's overall accuracy is than the polygon split's",
        hint="Think of what a leaked validation pixel is: a near copy of a training pixel. How much easier is it to "
             "classify than a pixel of a forest the model has never seen?",
        compare=within(abs=0.05),
        explanation="Nearly every validation pixel of a random split has twins from its own polygon in training, so "
                    "the forest recognises it from memory; a polygon split asks about land the model never saw. On "
                    "this patch the difference is of the order of 0.15 in overall accuracy, and twice that in kappa, "
                    "for the same model and the same samples.",
    ),
    "04.reported_split": Exercise(
        reference=reported_split,
        title="the accuracy you report in a paper",
        hint="Which question does the map's user ask: how well the model recognises pixels it was shown, or land it "
             "has never seen? And what does the spread between runs tell them?",
        choices=REPORTED_SPLIT_CHOICES,
        explanation="The polygon split measures what a map needs: the accuracy on land the model never saw. The "
                    "random split's small spread is not precision: it measures the wrong thing (memory) very "
                    "consistently. Report the mean over the runs with its standard deviation: the spread says how "
                    "much the figure depends on which polygons were validated; the best run alone is as optimistic as "
                    "the leak. For the accuracy of a map (rather than of a model), notebook 08 draws a probability "
                    "sample.",
    ),
}
