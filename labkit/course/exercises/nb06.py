"""Exercises of notebook 06, deep learning on pixel time series; the questions: why early stopping keeps an earlier
epoch (interpret), L-TAE on the cloudy series against the forest on the gap-filled one (predict), what hiding
observations costs L-TAE (predict)."""

from __future__ import annotations

import functools

import numpy as np

from ..compare import compare_dates, compare_values
from . import Exercise


def network_input(series, valid, mean: float, std: float) -> dict[str, np.ndarray]:
    """What a network reads of one pixel's series: ``x`` standardised with 0 where missing, and ``mask``.

    An observation is missing where ``valid`` is False or the value is not finite.

    Example
    -------
    >>> network_input([0.2, np.nan, 0.6], [True, True, False], mean=0.4, std=0.2)
    {'x': array([-1.,  0.,  0.], dtype=float32), 'mask': array([ True, False, False])}
    """
    series = np.asarray(series, dtype=np.float64)
    mask = np.asarray(valid, bool) & np.isfinite(series)
    x = np.where(mask, (np.where(mask, series, 0.0) - mean) / std, 0.0).astype(np.float32)
    return {"x": x, "mask": mask}


def hiding_hurts(model, X, doy, valid, label, hidden) -> bool:
    """Whether hiding the observations ``hidden`` (a boolean per observation) lowers the model's overall accuracy
    by more than 0.15.

    Example
    -------
    >>> class Majority:  # predicts class 1 unless it sees a valid observation
    ...     def predict(self, X, *, doy=None, valid=None):
    ...         return np.where(valid.any(axis=1), 2, 1)
    >>> valid = np.ones((4, 2), bool)
    >>> hiding_hurts(Majority(), np.zeros((4, 2, 1)), None, valid, np.array([2, 2, 2, 2]), np.ones((4, 2), bool))
    True
    """
    def accuracy(visible) -> float:
        return float((model.predict(X, doy=doy, valid=visible) == label).mean())

    return accuracy(valid) - accuracy(valid & ~np.asarray(hidden, bool)) > 0.15


def most_attended_date(weights, dates) -> np.datetime64:
    """The date that receives the most attention on average: ``weights`` is ``(pixel, head, time)``.

    Example
    -------
    >>> dates = np.array(["2016-01-01", "2016-02-01"], dtype="datetime64[ns]")
    >>> most_attended_date(np.array([[[0.2, 0.8], [0.4, 0.6]]]), dates)
    np.datetime64('2016-02-01T00:00:00.000000000')
    """
    return np.asarray(dates)[int(np.argmax(np.asarray(weights).mean(axis=(0, 1))))]


def _same_boolean(answer, expected) -> str | None:
    if answer is ...:
        return "no answer yet"
    if not isinstance(answer, bool | np.bool_):
        return f"the answer is a prediction, True or False; got {type(answer).__name__}"
    if bool(answer) == bool(expected):
        return None
    return ("the measurement below says otherwise: compare the two accuracies it prints, and ask what the model "
            "lost")


EARLY_STOPPING_CHOICES = {
    "a": "the weights of the last epoch are not kept",
    "b": "after that epoch the network fits its training pixels better but other polygons worse: it overfits",
    "c": "the training loss is measured on fewer pixels than the validation loss, so it is less reliable",
}


def why_early_stopping() -> str:
    """Why early stopping keeps the epoch of the lowest validation loss: a conceptual question, its key is fixed.

    Example
    -------
    >>> EARLY_STOPPING_CHOICES[why_early_stopping()][:16]
    'after that epoch'
    """
    return "b"


LTAE_AGAINST_FOREST_CHOICES = {
    "a": "L-TAE more than 0.10 lower than the forest",
    "b": "within 0.10 of each other",
    "c": "L-TAE more than 0.10 higher than the forest",
}


def ltae_against_forest(label, forest_predicted, ltae_predicted) -> str:
    """How L-TAE's overall accuracy compares with the forest's, as a key of :data:`LTAE_AGAINST_FOREST_CHOICES`
    (a difference of exactly 0.10 counts as within).

    Example
    -------
    >>> label = np.array([1, 1, 2, 2, 2])
    >>> ltae_against_forest(label, forest_predicted=label, ltae_predicted=np.array([1, 1, 2, 2, 1]))
    'a'
    >>> ltae_against_forest(label, forest_predicted=label, ltae_predicted=label)
    'b'
    """
    label = np.asarray(label)
    difference = float((np.asarray(ltae_predicted) == label).mean() - (np.asarray(forest_predicted) == label).mean())
    if difference < -0.10:
        return "a"
    return "c" if difference > 0.10 else "b"


EXERCISES: dict[str, Exercise] = {
    "06.network_input": Exercise(
        reference=network_input,
        title="a pixel's series as a network reads it",
        hint="Two steps: standardise the values with mean and std, then mark which observations can be used.",
        hints=(
            "An observation is missing where valid is False or the value is NaN (np.isfinite). Standardise with "
            "(value - mean) / std, then put 0 where it is missing; mask is True where it is not.",
        ),
        compare=functools.partial(compare_values, rtol=1e-5, atol=1e-6),
    ),
    "06.hiding_hurts": Exercise(
        reference=hiding_hurts,
        title="your prediction: does hiding half of the clear observations cost L-TAE more than 0.15 of accuracy?",
        hint="An attention model sums the observations it is given, with weights that sum to 1 over them: what "
             "happens to that sum when half of them, drawn at random, are gone?",
        compare=_same_boolean,
        explanation="Each attention head sums the observations it is given, with weights that sum to 1 over "
                    "them: half of a season's observations, drawn at random, tell it nearly what all of them do. A "
                    "model that reads a flattened series (a random forest, an MLP) needs a value on every date "
                    "instead, and would need the series gap-filled again.",
    ),
    "06.most_attended_date": Exercise(
        reference=most_attended_date,
        title="the date L-TAE attends to most",
        hint="Average the attention weights over pixels and heads, then find the date with the largest average.",
        hints=(
            "weights is (pixel, head, time): average over the first two axes (axis=(0, 1)), then np.argmax gives "
            "the position of the date in dates.",
        ),
        compare=compare_dates,
    ),
    "06.why_early_stopping": Exercise(
        reference=why_early_stopping,
        title="why early stopping keeps the epoch with the best validation score",
        hint="The validation loss is measured on polygons the network does not train on. What does it mean when it "
             "rises while the training loss still falls?",
        choices=EARLY_STOPPING_CHOICES,
        explanation="The training loss keeps falling as long as the network can fit its own training pixels better, "
                    "down to their noise; the validation score, on polygons it does not train on, improves only "
                    "while what it learns carries over. From the epoch where it stops improving, the network learns "
                    "its training pixels by heart: it overfits. Early stopping keeps that epoch's weights and stops after "
                    "`patience` epochs without progress.",
    ),
    "06.ltae_against_forest": Exercise(
        reference=ltae_against_forest,
        title="your prediction: L-TAE on the cloudy series against the forest on the gap-filled one",
        hint="L-TAE reads only the clear observations, with their dates, and learns from a few hundred pixels; the "
             "forest reads a complete, interpolated series. Which matters more on one small split?",
        choices=LTAE_AGAINST_FOREST_CHOICES,
        explanation="The table below gives the numbers. L-TAE gets no interpolated value at all, only the 60 % of "
                    "observations that are clear, with their dates; the forest gets a complete series. On one split "
                    "of 23 validation polygons, a difference under 0.10 is within the noise (notebook 05); a larger "
                    "one says as much about how the network trained (the epoch it kept, its learning curve) as about "
                    "the model.",
    ),
}
