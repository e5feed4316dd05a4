"""The exercises of the course: for each id, how to compute the reference result and how to compare.

An exercise id is ``"NN.name"``: ``NN`` is the notebook's number (``course/NN_*.py``), ``name`` what the learner
computes. A notebook calls ``labkit.course.check("NN.name", answer, **inputs)``; :func:`labkit.course.check`
looks the id up in :data:`EXERCISES`, calls ``reference(**inputs)`` and compares with the exercise's comparator.
The reference functions take the same inputs as the learner had, so ``check`` never needs the notebook's state.

Each notebook's exercises live in their own module, ``exercises/nbNN.py``, which defines ``EXERCISES`` (its ids
all start with ``"NN."``). To add an exercise: write its reference function there, add one entry to that module's
``EXERCISES``, and use the id in a notebook (``tests/test_course.py`` fails on an id used in ``course/`` that is not registered here, and on a
registered exercise that no notebook uses).

Example
-------
>>> sorted(EXERCISES)[:2]
['00.clear_dates', '00.pixel_clear_count']
>>> EXERCISES["00.valid_fraction"].title
'fraction of valid observations per date'
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


from ..compare import Comparator, compare_choice, compare_values


@dataclass(frozen=True)
class Exercise:
    """One self-checked exercise.

    Parameters
    ----------
    reference : callable
        ``reference(**inputs)`` returns the right answer from the exercise's inputs.
    title : str
        A few words saying what is computed, shown in the messages of :func:`labkit.course.check`.
    hint : str
        The first hint, shown by :func:`labkit.course.check` when the answer is wrong, missing or raised an
        error: where to look, never the solution.
    compare : callable, default :func:`~labkit.course.compare.compare_values`
        ``compare(answer, expected)`` returns ``None`` when right, else a sentence saying what differs (never the
        expected value itself).
    hints : tuple of str, default ()
        The next hints, each more specific than the one before, given one at a time by
        :func:`labkit.course.hint`; the last may come close to the solution (:func:`labkit.course.solution` shows
        it).
    choices : dict of str to str, default {}
        For a multiple-choice **question**: the choices by key (``{"a": "forest", "b": "grassland"}``). The learner
        answers with a key (or a choice's text); ``reference`` returns the right key, computed from the data when
        the answer depends on it. Compared by :func:`~labkit.course.compare.compare_choice`.
    explanation : str, default ""
        For a **question** (predict, interpret or decide): why the right answer is right, shown once the learner
        answered it right, and by :func:`labkit.course.solution`. A numeric prediction is a question with an
        explanation and a tolerant comparator (:func:`~labkit.course.compare.within`).

    Example
    -------
    >>> ex = Exercise(reference=lambda a, b: a + b, title="a sum", hint="Add them.", hints=("Use +.",))
    >>> ex.compare(ex.reference(a=1, b=2), 3) is None
    True
    >>> ex.ladder, ex.is_question
    (('Add them.', 'Use +.'), False)
    >>> q = Exercise(reference=lambda: "b", title="the wettest class", hint="Think of the leaves.",
    ...              choices={"a": "bare soil", "b": "forest"}, explanation="Leaves hold water.")
    >>> q.is_question, q.judge("a", q.reference())
    (True, "'a' (bare soil) is not the right choice.")
    """

    reference: Callable[..., Any]
    title: str
    hint: str
    compare: Comparator = field(default=compare_values)
    hints: tuple[str, ...] = ()
    choices: Mapping[str, str] = field(default_factory=dict)
    explanation: str = ""

    @property
    def ladder(self) -> tuple[str, ...]:
        """Every hint, the most general first: ``(hint, *hints)``."""
        return (self.hint, *self.hints)

    @property
    def is_question(self) -> bool:
        """Whether the learner predicts, interprets or decides (choices or an explanation) rather than codes."""
        return bool(self.choices or self.explanation)

    def judge(self, answer: Any, expected: Any) -> str | None:
        """``None`` when ``answer`` is right, else what differs: by the choices for a multiple-choice question,
        else by :attr:`compare`."""
        if self.choices:
            return compare_choice(answer, expected, self.choices)
        return self.compare(answer, expected)


NOTEBOOK_MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("nb")))
"""The modules of this package that hold exercises, one per notebook (found by name: ``nbNN``)."""


def _collect() -> dict[str, Exercise]:
    exercises: dict[str, Exercise] = {}
    for name in NOTEBOOK_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for exercise_id, exercise in module.EXERCISES.items():
            if not exercise_id.startswith(name[2:] + "."):
                raise ValueError(f"{module.__name__}: exercise id {exercise_id!r} must start with {name[2:]!r}.")
            if exercise_id in exercises:
                raise ValueError(f"exercise id {exercise_id!r} is defined twice.")
            exercises[exercise_id] = exercise
    return exercises


EXERCISES: dict[str, Exercise] = _collect()
"""Every exercise of the course, by id ``"NN.name"``."""
