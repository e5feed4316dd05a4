"""``check``: the self-correction of the course's exercises, and what this session knows of each exercise.

In a notebook, an exercise is a cell the learner fills in, followed by a check::

    %%exercise 00.valid_fraction
    valid_fraction = ...  # your answer

    valid_fraction = check("00.valid_fraction", valid_fraction, mask=mask)

:func:`check` computes the reference result from the inputs, compares, shows a short message and returns the
learner's answer when it is right, the reference otherwise, so that the rest of the notebook always runs on a
correct value, whether the exercise was solved or not.

What happened to each exercise in this Python session is kept in :data:`SESSION` (one
:class:`ExerciseState` per exercise id): the last check's outcome, the reference it supplied, the runs of the
learner's ``%%exercise`` cell (:mod:`labkit.course.learner`) and the error the latest one raised. So a check run
again after it supplied the reference says that the reference is in use (not "correct": the value it checks is
its own), and a check after a cell that raised reports the learner's error and line.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
class LearnerError:
    """An exception raised by the learner's code in an ``%%exercise`` cell: where, and what.

    Attributes
    ----------
    line : int
        The line of the cell, as the learner sees it (1 is the ``%%exercise`` line); 0 when unknown.
    code : str
        The text of that line.
    kind, message : str
        The exception's class name and message.

    Example
    -------
    >>> str(LearnerError(3, "total = n / 0", "ZeroDivisionError", "division by zero"))
    'line 3 of your cell, `total = n / 0`: ZeroDivisionError: division by zero'
    """

    line: int
    code: str
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line} of your cell, `{self.code.strip()}`" if self.line else "your cell"
        return f"{where}: {self.kind}: {self.message}" if self.message else f"{where}: {self.kind}"


_NOTHING = object()
_SHARED_VALUES = (bool, int, str, bytes, type(None), np.bool_)
"""Types whose equal values may be one shared object (small ints, interned text): for them, being the very object
that a check returned does not show that a value is that check's reference."""


@dataclass
class ExerciseState:
    """What happened to one exercise in this session.

    Attributes
    ----------
    last : str
        The status of the last check that judged the learner's answer: ``"correct"``, ``"wrong"``,
        ``"unsolved"`` or ``"error"``; ``""`` before any.
    checks : int
        How many times the exercise was checked.
    runs : int
        How many times the learner's ``%%exercise`` cell ran.
    error : LearnerError or None
        The error the latest run of that cell raised.
    hints : int
        How many hints :func:`labkit.course.hint` gave.
    solution_shown : bool
        Whether :func:`labkit.course.solution` showed the solution.

    Example
    -------
    >>> state, reference = ExerciseState(), [1.0, 2.0]
    >>> state.record("wrong", reference)  # a check returned the reference
    >>> state.reference_in_use(reference), state.reference_in_use([1.0, 2.0]), state.progress
    (True, False, 'reference in use')
    """

    last: str = ""
    checks: int = 0
    runs: int = 0
    error: LearnerError | None = None
    hints: int = 0
    solution_shown: bool = False
    supplied: Any = field(default=_NOTHING, repr=False)
    supplied_at_run: int = 0

    def reference_in_use(self, answer: Any) -> bool:
        """Whether ``answer`` is the reference that the last check supplied, not an answer of the learner's: the
        very object it returned, and the learner's cell has not run since (without a ``%%exercise`` cell, only
        objects that cannot be shared count, see :data:`_SHARED_VALUES`)."""
        if self.supplied is _NOTHING or answer is not self.supplied or self.runs != self.supplied_at_run:
            return False
        return self.runs > 0 or not isinstance(answer, _SHARED_VALUES)

    def record(self, status: str, supplied: Any = _NOTHING) -> None:
        """Record a check: its status and, unless correct, the reference it returned."""
        self.checks += 1
        if status != "reference":
            self.last = status
        self.supplied, self.supplied_at_run = supplied, self.runs

    @property
    def progress(self) -> str:
        """``"done"``, ``"reference in use"`` or ``"to do"``."""
        return {"correct": "done", "": "to do"}.get(self.last, "reference in use")


class Session:
    """The :class:`ExerciseState` of every exercise met in this Python session, and the current exercise.

    Example
    -------
    >>> session = Session()
    >>> session.state("00.valid_fraction").runs, session.current
    (0, '00.valid_fraction')
    """

    def __init__(self) -> None:
        self.states: dict[str, ExerciseState] = {}
        self.current: str | None = None

    def state(self, exercise_id: str) -> ExerciseState:
        """The state of ``exercise_id`` (created when new), which becomes the current exercise."""
        self.current = exercise_id
        return self.states.setdefault(exercise_id, ExerciseState())

    def clear(self) -> None:
        """Forget everything (a fresh session)."""
        self.states.clear()
        self.current = None


SESSION = Session()
"""This Python session's record of the exercises (see :class:`Session`)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :func:`check`: shown as text, and as a coloured box in Jupyter.

    Attributes
    ----------
    exercise_id, title : str
    status : {"correct", "wrong", "unsolved", "error", "reference"}
        ``"error"``: the learner's cell raised; ``"reference"``: the value checked is the reference that an
        earlier check supplied (the check was run again, not the learner's cell).
    detail : str
        What differs (``"wrong"``), the learner's error (``"error"``) or why the reference is in use.
    hint : str
        The first hint (not shown when correct or when the reference is in use).
    explanation : str
        A question's explanation, shown when the answer is right.
    choices : dict
        A multiple-choice question's choices, listed when it was left unsolved.
    """

    exercise_id: str
    title: str
    status: str
    detail: str = ""
    hint: str = ""
    explanation: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)

    _SYMBOL = {"correct": "✓", "wrong": "✗", "unsolved": "…", "error": "✗", "reference": "↺"}
    _COLOUR = {"correct": ("#e8f5e9", "#2e7d32"), "wrong": ("#fdecea", "#c62828"),
               "unsolved": ("#fff8e1", "#ef6c00"), "error": ("#fdecea", "#c62828"),
               "reference": ("#e3f2fd", "#1565c0")}
    _HEADLINE = {"correct": "correct, well done!", "wrong": "not quite.",
                 "unsolved": "left unsolved (the answer is still `...`).", "error": "your code raised an error.",
                 "reference": "the reference result is in use, not your answer."}
    _USING_REFERENCE = "The reference result is used from here on, so that the rest of the notebook runs."

    def lines(self) -> list[str]:
        """The message, one string per line (the first is the headline)."""
        lines = [f"{self._SYMBOL[self.status]} Exercise {self.exercise_id} ({self.title}): "
                 f"{self._HEADLINE[self.status]}"]
        if self.status == "correct" and self.explanation:
            return lines + [f"Why: {self.explanation}"]
        if self.status in ("correct", "reference"):
            return lines + ([self.detail] if self.detail else [])
        if self.status == "wrong":
            lines.append(f"What differs: {self.detail}")
        elif self.status == "error":
            lines.append(f"Error: {self.detail}")
        elif self.choices:
            lines.append("Choices: " + "; ".join(f"{key}) {text}" for key, text in self.choices.items()))
        lines.append(f"Hint: {self.hint}")
        lines.append(f'More help: hint("{self.exercise_id}") gives the next hint, solution("{self.exercise_id}") '
                     "the solution.")
        return lines + [self._USING_REFERENCE]

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


def show(message: Any) -> None:
    """Show a message: rich output (its ``_repr_html_``) in a Jupyter kernel, printed elsewhere.

    Example
    -------
    >>> show(CheckResult("00.x", "a title", "correct"))
    ✓ Exercise 00.x (a title): correct, well done!
    """
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # IPython is not installed: plain Python
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(message)
    else:
        print(message)


_WHY_REFERENCE = {"wrong": "your answer was not right", "unsolved": "the exercise was left unsolved",
                  "error": "your cell raised an error"}


def check(exercise_id: str, answer: Any, /, **inputs: Any) -> Any:
    """Check the answer to an exercise, say whether it is right, and return a value to go on with.

    The message never shows the expected value: it says what differs (see :mod:`labkit.course.compare`), gives a
    first hint, and how to get more (:func:`labkit.course.hint`, :func:`labkit.course.solution`). When the
    learner's ``%%exercise`` cell raised an error, the check reports it (line and message) and supplies the
    reference. When the answer is the reference that this check supplied before (the check cell was run again,
    not the learner's cell), it says that the reference is in use, never "correct".

    A **question** (an exercise with ``choices`` or an ``explanation``, see :class:`~labkit.course.Exercise`) is
    checked the same way: the learner's answer is a choice's key or a numeric prediction; a right answer shows the
    explanation, an unsolved multiple choice lists the choices.

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
        ``answer`` when it is right, the reference result otherwise (wrong, unsolved, error, or the reference
        already in use), so that the notebook goes on with a correct value.

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
    >>> fraction = check("00.valid_fraction", ..., mask=mask)  # doctest: +ELLIPSIS
    … Exercise 00.valid_fraction (fraction of valid observations per date): left unsolved (...).
    Hint: ...
    >>> fraction = check("00.valid_fraction", fraction, mask=mask)  # run again: the value is check's own
    ↺ Exercise 00.valid_fraction (fraction of valid observations per date): the reference result is in use, not your answer.
    The check supplied it because the exercise was left unsolved; run your cell above again, then this check.
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
    state = SESSION.state(exercise_id)
    about = {"explanation": exercise.explanation, "choices": exercise.choices}
    if state.reference_in_use(answer):
        why = _WHY_REFERENCE.get(state.last, "your answer was not checked")
        result = CheckResult(exercise_id, exercise.title, "reference",
                             detail=f"The check supplied it because {why}; run your cell above again, then this "
                                    "check.")
    elif state.error is not None:
        result = CheckResult(exercise_id, exercise.title, "error", detail=str(state.error), hint=exercise.hint)
    elif answer is Ellipsis:
        result = CheckResult(exercise_id, exercise.title, "unsolved", hint=exercise.hint, **about)
    else:
        try:
            problem = exercise.judge(answer, expected)
        except Exception as error:  # a comparator must not crash the learner's notebook
            problem = f"the answer could not be compared with the expected result ({type(error).__name__}: {error})."
        if problem is None:
            result = CheckResult(exercise_id, exercise.title, "correct", **about)
        else:
            result = CheckResult(exercise_id, exercise.title, "wrong", detail=problem, hint=exercise.hint)
    show(result)
    if result.status == "correct":
        state.record("correct")
        return answer
    state.record(result.status, expected)
    return expected
