"""The course machinery: self-checked exercises, notebook variants, the Jupyter Book.

The course is a set of notebooks kept as jupytext ``py:percent`` sources in ``course/NN_name.py``. Exercises are
cells tagged ``solution``; from each source, :mod:`labkit.course.build` makes two notebooks:

* the **solution** variant, as written (it builds the book, and ``make nbtest`` runs it);
* the **student** variant, where each ``solution`` cell is replaced by a stub that assigns ``...`` to every name
  the solution assigns (``make student``).

After each exercise a normal cell calls :func:`check`, which compares the learner's answer with a reference
computed from the same inputs (see :data:`EXERCISES`), says what differs (never the expected value itself), and
returns a correct value so that the notebook runs to the end in both variants. In the student variant, each
exercise cell starts with ``%%exercise NN.name`` (see :mod:`labkit.course.learner`): an error in the learner's
code is reported by the check, with its line, and the reference supplied, so that the later cells run. A check
run again after it supplied the reference says that the reference is in use, not "correct". :func:`hint` gives
hints one at a time, each more specific, :func:`solution` the solution, and :func:`progress` a table of the
exercises done.

Example
-------
>>> import numpy as np, xarray as xr
>>> from labkit.course import check
>>> mask = xr.DataArray(np.zeros((3, 1, 1), "uint8"), dims=("time", "y", "x"))  # 3 dates, 1 pixel, all valid
>>> total = check("00.pixel_clear_count", ..., mask=mask, iy=0, ix=0)  # doctest: +ELLIPSIS
… Exercise 00.pixel_clear_count (...): left unsolved (the answer is still `...`).
...
>>> total
3
"""

from __future__ import annotations

from .checking import (CheckResult, ExerciseInputError, ExerciseState, LearnerError, UnknownExerciseError, check,
                       get_exercise)
from .compare import compare_choice, compare_dates, compare_values, within
from .exercises import EXERCISES, Exercise
from .learner import hint, load_ipython_extension, progress, register_in_ipython, run_exercise_cell, solution

register_in_ipython()  # the %%exercise cell magic, when imported in IPython or Jupyter

__all__ = [
    "EXERCISES",
    "CheckResult",
    "Exercise",
    "ExerciseInputError",
    "ExerciseState",
    "LearnerError",
    "UnknownExerciseError",
    "check",
    "compare_choice",
    "compare_dates",
    "compare_values",
    "get_exercise",
    "hint",
    "load_ipython_extension",
    "progress",
    "run_exercise_cell",
    "solution",
    "within",
]
