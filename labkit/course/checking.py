"""``check``: the self-correction of the course's exercises.

In a notebook, an exercise is a cell the learner fills in (``valid_fraction = ...``) followed by::

    valid_fraction = check("00.valid_fraction", valid_fraction, mask=mask)

:func:`check` computes the reference result from the inputs, compares, shows a short message and returns the
learner's answer when it is right, the reference otherwise, so that the rest of the notebook always runs on a
correct value, whether the exercise was solved or not.
"""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass
from typing import Any

from ..errors import LabkitError
from .exercises import EXERCISES, Exercise


class UnknownExerciseError(LabkitError, LookupError):
    """``check`` was called with an exercise id that is not registered in :data:`labkit.course.EXERCISES`."""


class ExerciseInputError(LabkitError, TypeError):
    """``check`` was given inputs that do not match what the exercise's reference function takes."""


def get_exercise(exercise_id: str) -> Exercise:
    """The registered exercise ``exercise_id``.

    Raises
    ------
    UnknownExerciseError
        Listing the known ids.

    Example
    -------
    >>> get_exercise("00.valid_fraction").title
    'fraction of valid observations per date'
    >>> get_exercise("00.nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labkit.course.checking.UnknownExerciseError: Unknown exercise id '00.nope'. Known ids: 00.clear_dates, ...
    """
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        known = ", ".join(sorted(EXERCISES))
        raise UnknownExerciseError(
            f"Unknown exercise id {exercise_id!r}. Known ids: {known}. "
            "Register new exercises in labkit/course/exercises.py."
        ) from None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :func:`check`: shown as text, and as a coloured box in Jupyter.

    Attributes
    ----------
    exercise_id, title : str
    status : {"correct", "wrong", "unsolved"}
    detail : str
        What differs (empty when correct or unsolved).
    hint : str
    """

    exercise_id: str
    title: str
    status: str
    detail: str = ""
    hint: str = ""

    _SYMBOL = {"correct": "✓", "wrong": "✗", "unsolved": "…"}
    _COLOUR = {"correct": ("#e8f5e9", "#2e7d32"), "wrong": ("#fdecea", "#c62828"), "unsolved": ("#fff8e1", "#ef6c00")}
    _USING_REFERENCE = "The reference result is used from here on, so that the rest of the notebook runs."

    def lines(self) -> list[str]:
        """The message, one string per line (the first is the headline)."""
        head = f"{self._SYMBOL[self.status]} Exercise {self.exercise_id} ({self.title}): "
        if self.status == "correct":
            return [head + "correct, well done!"]
        if self.status == "unsolved":
            return [head + "left unsolved (the answer is still `...`).", f"Hint: {self.hint}", self._USING_REFERENCE]
        return [head + "not quite.", f"What differs: {self.detail}", f"Hint: {self.hint}", self._USING_REFERENCE]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        background, colour = self._COLOUR[self.status]
        head, *rest = (html.escape(line) for line in self.lines())
        body = "".join(f"<div>{line}</div>" for line in rest)
        return (f'<div class="labkit-check labkit-check-{self.status}" style="background:{background};'
                f'border-left:4px solid {colour};padding:0.4em 0.8em;margin:0.3em 0;color:#222">'
                f'<strong style="color:{colour}">{head}</strong>{body}</div>')


def _show(result: CheckResult) -> None:
    """Display rich output in a Jupyter kernel, print elsewhere."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # IPython is not installed: plain Python
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(result)
    else:
        print(result)


def check(exercise_id: str, answer: Any, /, **inputs: Any) -> Any:
    """Check the answer to an exercise, say whether it is right, and return a value to go on with.

    Parameters
    ----------
    exercise_id : str
        The exercise's id, ``"NN.name"`` (see :data:`labkit.course.EXERCISES`).
    answer : object
        The learner's result; ``...`` (Ellipsis) when the exercise was left unsolved.
    **inputs
        What the exercise starts from (the cube, the mask, a pixel's position...), passed to the exercise's
        reference function.

    Returns
    -------
    object
        ``answer`` when it is right, the reference result otherwise (wrong or unsolved), so that the notebook
        goes on with a correct value.

    Raises
    ------
    UnknownExerciseError
        The id is not registered; the message lists the known ones.
    ExerciseInputError
        The inputs are not those the exercise takes.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 1]], [[0, 0]]], "uint8"), dims=("time", "y", "x"))
    >>> n = check("00.pixel_clear_count", 2, mask=mask, iy=0, ix=0)
    ✓ Exercise 00.pixel_clear_count (number of clear observations of one pixel): correct, well done!
    >>> n = check("00.pixel_clear_count", ..., mask=mask, iy=0, ix=1)  # doctest: +ELLIPSIS
    … Exercise 00.pixel_clear_count (number of clear observations of one pixel): left unsolved (...).
    Hint: ...
    >>> n
    1
    """
    exercise = get_exercise(exercise_id)
    try:
        inspect.signature(exercise.reference).bind(**inputs)
    except TypeError as error:
        wanted = ", ".join(inspect.signature(exercise.reference).parameters)
        raise ExerciseInputError(
            f"check({exercise_id!r}, ...) takes the inputs ({wanted}); got ({', '.join(inputs)}): {error}."
        ) from None
    expected = exercise.reference(**inputs)
    if answer is Ellipsis:
        result = CheckResult(exercise_id, exercise.title, "unsolved", hint=exercise.hint)
    else:
        try:
            problem = exercise.compare(answer, expected)
        except Exception as error:  # a comparator must not crash the learner's notebook
            problem = f"the answer could not be compared with the expected result ({type(error).__name__}: {error})."
        if problem is None:
            result = CheckResult(exercise_id, exercise.title, "correct")
        else:
            result = CheckResult(exercise_id, exercise.title, "wrong", detail=problem, hint=exercise.hint)
    _show(result)
    return answer if result.status == "correct" else expected
