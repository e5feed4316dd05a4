"""What a learner uses besides ``check``: the ``%%exercise`` cell, ``hint()``, ``solution()`` and ``progress()``.

* ``%%exercise NN.name``, the first line of each exercise cell of the student notebooks (see
  :func:`labkit.course.build.stub_source`), runs the learner's code so that an exception does not stop the
  notebook: the error is shown with the learner's line, kept for the check below (:func:`run_exercise_cell`), and
  every name the cell should define exists (``...`` when the code did not get to it), so the check reports the
  error and supplies the reference, and the later cells run. The magic is registered when :mod:`labkit.course` is
  imported in IPython (or with ``%load_ext labkit.course``).
* :func:`hint` gives the hints of an exercise one at a time, each more specific than the one before;
  :func:`solution` shows the solution's code.
* :func:`progress` is a table of the exercises of the notebook(s) met in this session: done, reference in use, or
  to do.

Example
-------
>>> namespace = {"mask": None}
>>> error = run_exercise_cell("00.pixel_clear_count", "n_clear = 1 / 0", namespace)  # doctest: +ELLIPSIS
Traceback (most recent call last):
  File "<exercise 00.pixel_clear_count>", line 2, in <module>
    n_clear = 1 / 0
...
ZeroDivisionError: division by zero
Your code raised an error on line 2 (above). ...
>>> str(error), namespace["n_clear"]
('line 2 of your cell, `n_clear = 1 / 0`: ZeroDivisionError: division by zero', Ellipsis)
"""

from __future__ import annotations

import ast
import html
import inspect
import linecache
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .checking import SESSION, LearnerError, get_exercise, show
from .exercises import EXERCISES

MAGIC_NAME = "exercise"
"""The name of the cell magic: ``%%exercise NN.name``."""


# ----------------------------------------------------------------------------------------- the exercise cell


def _filename(exercise_id: str) -> str:
    return f"<exercise {exercise_id}>"


def _learner_error(error: BaseException, filename: str, lines: list[str]) -> LearnerError:
    """Where in the learner's cell ``error`` was raised: the deepest line of the traceback in the cell."""
    line = 0
    if isinstance(error, SyntaxError) and error.filename == filename:
        line = error.lineno or 0
    for frame, number in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            line = number
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    code = lines[line - 1] if 0 < line <= len(lines) else ""
    return LearnerError(line, code.rstrip("\n"), type(error).__name__, message)


def _names_of(cell: str) -> list[str]:
    """The names a cell assigns at top level; on a syntax error, those of its ``name = ...`` lines."""
    from .build import assigned_names

    try:
        return assigned_names(cell)
    except SyntaxError:
        return re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)", cell, flags=re.M)


def _print_error(error: BaseException, filename: str, learner: LearnerError) -> None:
    """The traceback from the learner's code on (not labkit's frames that ran it), and what happens next."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if isinstance(error, SyntaxError) or tb is None:
        text = "".join(traceback.format_exception_only(type(error), error))
    else:
        text = "".join(traceback.format_exception(type(error), error, tb))
    where = f"on line {learner.line}" if learner.line else "in this cell"
    print(f"{text.rstrip()}\nYour code raised an error {where} (above). Fix it and run this cell again. "
          "Meanwhile the check below reports it and supplies the reference result, so that the rest of the "
          "notebook runs.", file=sys.stdout)


def run_exercise_cell(exercise_id: str, cell: str, namespace: dict, *,
                      transform: Callable[[str], str] | None = None) -> LearnerError | None:
    """Run the learner's code of exercise ``exercise_id`` (the body of an ``%%exercise`` cell) in ``namespace``.

    The run is recorded in :data:`labkit.course.checking.SESSION`. An exception (``KeyboardInterrupt`` aside) does
    not propagate: it is printed (the traceback from the learner's code on), kept for the next
    :func:`~labkit.course.check` of the exercise, which reports it and supplies the reference, and every name the
    cell assigns at top level that is still undefined is set to ``...``, so that the check cell can run. A
    last expression is displayed, as in any cell. Line numbers are those the learner sees (line 1 is the
    ``%%exercise`` line).

    Parameters
    ----------
    exercise_id : str
        A registered exercise id.
    cell : str
        The learner's code.
    namespace : dict
        Where it runs (IPython's ``user_ns``).
    transform : callable, optional
        Turns the cell into plain Python (IPython's ``transform_cell``, for magics inside the cell).

    Returns
    -------
    LearnerError or None
        The error raised, if any.

    Raises
    ------
    UnknownExerciseError
        ``exercise_id`` is not registered.

    Example
    -------
    >>> namespace = {}
    >>> run_exercise_cell("00.pixel_clear_count", "n_clear = 2", namespace) is None, namespace["n_clear"]
    (True, 2)
    """
    get_exercise(exercise_id)
    state = SESSION.state(exercise_id)
    state.runs += 1
    state.error = None
    filename = _filename(exercise_id)
    lines = [f"%%{MAGIC_NAME} {exercise_id}\n", *cell.splitlines(keepends=True)]
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)  # tracebacks show the learner's code
    try:
        tree = ast.parse("\n" + (transform(cell) if transform else cell), filename)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, filename, "exec", dont_inherit=True), namespace)
        if last is not None:  # shown like the last expression of a cell
            exec(compile(ast.Interactive([last]), filename, "single", dont_inherit=True), namespace)
    except Exception as error:  # noqa: BLE001  (any error of the learner's: reported by the check)
        state.error = _learner_error(error, filename, lines)
        for name in _names_of(cell):
            namespace.setdefault(name, ...)
        _print_error(error, filename, state.error)
    return state.error


def _exercise_magic(line: str, cell: str) -> None:
    """``%%exercise NN.name``: run the cell as the learner's answer to exercise ``NN.name``."""
    from IPython import get_ipython

    shell = get_ipython()
    run_exercise_cell(line.strip(), cell, shell.user_ns, transform=shell.transform_cell)


def load_ipython_extension(shell) -> None:
    """Register the ``%%exercise`` cell magic in an IPython shell (``%load_ext labkit.course``).

    Example
    -------
    >>> from IPython import get_ipython  # doctest: +SKIP
    >>> load_ipython_extension(get_ipython())  # doctest: +SKIP
    """
    shell.register_magic_function(_exercise_magic, magic_kind="cell", magic_name=MAGIC_NAME)


def register_in_ipython() -> None:
    """Register the ``%%exercise`` magic in the running IPython shell, if any (done on importing labkit.course).

    Example
    -------
    >>> register_in_ipython()  # in plain Python: nothing to do
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        load_ipython_extension(shell)


# ------------------------------------------------------------------------------------------ hints, solutions


@dataclass(frozen=True)
class Note:
    """A message to the learner (a hint, a solution), shown as text, and as a box in Jupyter."""

    headline: str
    text: str = ""
    code: str = ""

    def __str__(self) -> str:
        return "\n".join(part for part in (self.headline, self.text, self.code) if part)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        code = f"<pre style='margin:0.3em 0'>{html.escape(self.code)}</pre>" if self.code else ""
        text = f"<div>{html.escape(self.text)}</div>" if self.text else ""
        return ('<div class="labkit-note" style="background:#e3f2fd;border-left:4px solid #1565c0;'
                f'padding:0.4em 0.8em;margin:0.3em 0;color:#222"><strong style="color:#1565c0">'
                f"{html.escape(self.headline)}</strong>{text}{code}</div>")


def _which(exercise_id: str | None) -> str:
    """The exercise meant: ``exercise_id``, else the last one run or checked."""
    if exercise_id is None:
        exercise_id = SESSION.current
        if exercise_id is None:
            raise ValueError('Which exercise? Give its id, e.g. hint("02.regular_grid"): it is the first argument '
                             "of the check below the exercise.")
    get_exercise(exercise_id)
    return exercise_id


def hint(exercise_id: str | None = None, number: int | None = None) -> None:
    """Show the next hint of an exercise: the first call the most general, each next one more specific.

    Parameters
    ----------
    exercise_id : str, optional
        The exercise; by default the last one run or checked.
    number : int, optional
        Show this hint again (1 is the first) instead of the next one.

    Example
    -------
    >>> hint("00.pixel_clear_count", number=1)  # doctest: +ELLIPSIS
    Hint 1 of ... for exercise 00.pixel_clear_count (number of clear observations of one pixel):
    ...
    """
    exercise_id = _which(exercise_id)
    exercise, state = EXERCISES[exercise_id], SESSION.state(exercise_id)
    ladder = exercise.ladder
    if number is None:
        if state.hints >= len(ladder):
            show(Note(f"No more hints for exercise {exercise_id}: you have seen all {len(ladder)}.",
                      f'hint("{exercise_id}", number=1) shows the first again; solution("{exercise_id}") shows '
                      "the solution."))
            return
        state.hints += 1
        number = state.hints
    if not 1 <= number <= len(ladder):
        raise ValueError(f"Exercise {exercise_id} has hints 1 to {len(ladder)}; got number={number}.")
    after = (f'More: hint("{exercise_id}") gives the next hint.' if number < len(ladder) else
             f'That was the last hint: solution("{exercise_id}") shows the solution.')
    show(Note(f"Hint {number} of {len(ladder)} for exercise {exercise_id} ({exercise.title}):",
              f"{ladder[number - 1]}\n{after}"))


def solution(exercise_id: str | None = None) -> None:
    """Show the solution of an exercise: the code of its solution cell in the course's sources.

    Where the sources are not installed, the reference function that :func:`~labkit.course.check` uses is shown
    instead (the same computation, from the check's inputs).

    Parameters
    ----------
    exercise_id : str, optional
        The exercise; by default the last one run or checked.

    Example
    -------
    >>> solution("02.held_count")  # doctest: +ELLIPSIS
    Solution of exercise 02.held_count (number of values held at the ends of the series):
    ...
    """
    from .build import CourseSourceError, solution_source

    exercise_id = _which(exercise_id)
    exercise, state = EXERCISES[exercise_id], SESSION.state(exercise_id)
    state.solution_shown = True
    try:
        code = solution_source(exercise_id)
    except CourseSourceError:
        code = None
    text = "Copy it into your exercise cell, below its first line (%%exercise), run it, then the check."
    if code is None:
        code = inspect.getsource(exercise.reference)
        text = ("The notebook's solution is not installed here; this is the function the check computes the "
                "reference with, from the check's inputs.")
    if exercise.explanation:
        text = f"Why: {exercise.explanation}\n{text}"
    show(Note(f"Solution of exercise {exercise_id} ({exercise.title}):", text, code))


# ----------------------------------------------------------------------------------------------- progress


def progress(notebook: str | int | None = None) -> pd.DataFrame:
    """Which exercises are done: a table of the exercises of the notebook(s) met in this session.

    Parameters
    ----------
    notebook : str or int, optional
        Only this notebook's exercises (``2`` or ``"02"``); by default those of every notebook whose exercises
        were run or checked in this session (every notebook when none was).

    Returns
    -------
    pandas.DataFrame
        Indexed by exercise id, with the columns ``status`` (``"done"``: the learner's answer was
        right; ``"reference in use"``: wrong, unsolved or raised, so the reference was supplied; ``"to do"``:
        not checked yet), ``title``, ``checks``, ``hints`` (how many were shown) and ``solution shown``.

    Example
    -------
    >>> progress("02")[["status"]]  # doctest: +SKIP
                                    status
    exercise
    02.regular_grid                   done
    02.interpolate_by_hand  reference in use
    02.held_count                    to do
    """
    if notebook is not None:
        numbers = {f"{int(notebook):02d}"}
    else:
        met = {i.split(".")[0] for i, state in SESSION.states.items() if state.checks or state.runs}
        numbers = met or {i.split(".")[0] for i in EXERCISES}
    rows = []
    for exercise_id, exercise in EXERCISES.items():
        if exercise_id.split(".")[0] not in numbers:
            continue
        state = SESSION.states.get(exercise_id)
        rows.append({"exercise": exercise_id, "status": state.progress if state else "to do",
                     "title": exercise.title, "checks": state.checks if state else 0,
                     "hints": state.hints if state else 0, "solution shown": bool(state and state.solution_shown)})
    if not rows:
        raise ValueError(f"No exercise in notebook {notebook!r}; the notebooks with exercises are "
                         f"{sorted({i.split('.')[0] for i in EXERCISES})}.")
    table = pd.DataFrame(rows).set_index("exercise")
    done = int((table["status"] == "done").sum())
    print(f"{done} of {len(table)} exercise(s) done.")
    return table
