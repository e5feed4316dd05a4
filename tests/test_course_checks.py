"""Tests of the self-checks a learner can trust (issue 12, item 2) and of ``make student``'s care for their work.

* a check run again after it supplied the reference says the reference is in use, never "correct";
* an exception in the learner's ``%%exercise`` cell is reported by the check with the learner's line, and the
  reference is supplied, so that the later cells run (also end to end, in a real Jupyter kernel);
* messages say what differs (shape, dims, scale, range, dates) without showing the expected value;
* hints come one at a time, more specific each time, and ``solution()`` shows the solution;
* ``progress()`` shows which exercises are done;
* ``make_student`` never overwrites a notebook the learner changed.
"""

from __future__ import annotations

import json

import nbformat
import nbformat.v4 as v4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from labkit.course import (
    EXERCISES,
    Exercise,
    LearnerError,
    UnknownExerciseError,
    check,
    compare_dates,
    compare_values,
    hint,
    progress,
    run_exercise_cell,
    solution,
)
from labkit.course import build
from labkit.course.build import make_student, read_source, solution_cells, stub_source, to_student
from labkit.course.checking import SESSION


@pytest.fixture(autouse=True)
def fresh_session():
    SESSION.clear()
    yield
    SESSION.clear()


@pytest.fixture
def mask() -> xr.DataArray:
    # 3 dates, 1 x 2 pixels: pixel (0, 0) clear on every date, pixel (0, 1) clear once
    codes = np.array([[[0, 1]], [[0, 1]], [[0, 0]]], dtype="uint8")
    times = pd.date_range("2020-01-01", periods=3, freq="10D")
    return xr.DataArray(codes, dims=("time", "y", "x"), coords={"time": times})


def _status(capsys) -> str:
    return capsys.readouterr().out


# ----------------------------------------------------------------------------- the reference is not "correct"


def test_a_check_run_again_after_the_fallback_says_the_reference_is_in_use(mask, capsys):
    fraction = check("00.valid_fraction", ..., mask=mask)
    assert "left unsolved" in _status(capsys)
    fraction = check("00.valid_fraction", fraction, mask=mask)  # the check cell run again, not the learner's
    out = _status(capsys)
    assert out.startswith("↺ Exercise 00.valid_fraction") and "reference result is in use, not your answer" in out
    assert "correct" not in out and "because the exercise was left unsolved" in out
    np.testing.assert_allclose(fraction.values, [0.5, 0.5, 1.0])  # still the reference, to go on with
    check("00.valid_fraction", fraction, mask=mask)  # and again, and again
    assert "reference result is in use" in _status(capsys)
    mine = (mask == 0).mean(dim=("y", "x"))  # the learner's own right answer: correct
    assert check("00.valid_fraction", mine, mask=mask) is mine
    assert "correct, well done" in _status(capsys)


def test_after_a_wrong_answer_the_reason_is_given(mask, capsys):
    fraction = check("00.valid_fraction", (mask == 1).mean(dim=("y", "x")), mask=mask)
    check("00.valid_fraction", fraction, mask=mask)
    assert "because your answer was not right" in _status(capsys).splitlines()[-1]


def test_with_the_exercise_cell_even_a_small_integer_reference_is_told_apart(mask, capsys):
    namespace = {"mask": mask}
    run_exercise_cell("00.pixel_clear_count", "n_clear = ...", namespace)
    n_clear = check("00.pixel_clear_count", namespace["n_clear"], mask=mask, iy=0, ix=1)
    assert n_clear == 1 and "left unsolved" in _status(capsys)
    # the check run again with the value it returned (1, a shared small int): the reference, not "correct"
    check("00.pixel_clear_count", n_clear, mask=mask, iy=0, ix=1)
    assert "reference result is in use" in _status(capsys)
    # the learner's cell run again, with the right code: now it is the learner's answer, checked
    run_exercise_cell("00.pixel_clear_count", "n_clear = int((mask.isel(y=0, x=1) == 0).sum())", namespace)
    check("00.pixel_clear_count", namespace["n_clear"], mask=mask, iy=0, ix=1)
    assert "correct, well done" in _status(capsys)
    run_exercise_cell("00.pixel_clear_count", "n_clear = 2", namespace)
    check("00.pixel_clear_count", namespace["n_clear"], mask=mask, iy=0, ix=1)
    assert "not quite" in _status(capsys)


# ------------------------------------------------------------------------------ an error in the learner's cell


def test_an_error_in_the_learners_cell_is_reported_by_the_check_with_its_line(mask, capsys):
    namespace = {"mask": mask}
    cell = "# the task\nn_clear = int((mask.isel(y=0, x=0) == 0).sum())\nn_clear = n_clear / 0\nlater = 1"
    error = run_exercise_cell("00.pixel_clear_count", cell, namespace)
    assert error == LearnerError(4, "n_clear = n_clear / 0", "ZeroDivisionError", "division by zero")
    shown = _status(capsys)
    assert 'File "<exercise 00.pixel_clear_count>", line 4' in shown and "n_clear = n_clear / 0" in shown
    assert "run_exercise_cell" not in shown  # the traceback starts in the learner's code
    assert namespace["later"] is Ellipsis  # not reached: defined, so that the cells below run
    n_clear = check("00.pixel_clear_count", namespace["n_clear"], mask=mask, iy=0, ix=0)
    assert n_clear == 3  # the reference, so that the later cells run
    out = _status(capsys)
    assert out.startswith("✗ Exercise 00.pixel_clear_count") and "your code raised an error" in out
    assert "Error: line 4 of your cell, `n_clear = n_clear / 0`: ZeroDivisionError: division by zero" in out
    assert "reference result is used from here on" in out
    check("00.pixel_clear_count", n_clear, mask=mask, iy=0, ix=0)  # the check again: the reference is in use
    assert "because your cell raised an error" in _status(capsys)
    run_exercise_cell("00.pixel_clear_count", "n_clear = 3", namespace)  # fixed: the error is forgotten
    check("00.pixel_clear_count", namespace["n_clear"], mask=mask, iy=0, ix=0)
    assert "correct" in _status(capsys)


def test_an_error_inside_a_function_of_the_cell_points_at_the_line_in_the_function(capsys):
    cell = "def f(x):\n    return x[10]\n\nvalue = f([1, 2])"
    error = run_exercise_cell("00.pixel_clear_count", cell, {})
    assert (error.line, error.code, error.kind) == (3, "    return x[10]", "IndexError")


def test_a_syntax_error_is_reported_and_the_names_still_defined(capsys):
    namespace: dict = {}
    error = run_exercise_cell("00.pixel_clear_count", "n_clear = (1 +\nother: int = 2", namespace)
    assert error.kind == "SyntaxError" and error.line in (2, 3)
    assert namespace == {"n_clear": ..., "other": ...}


def test_the_cell_keeps_what_it_assigns_and_shows_its_last_expression(capsys):
    namespace: dict = {}
    assert run_exercise_cell("00.pixel_clear_count", "n_clear = 2\nn_clear + 1", namespace) is None
    assert namespace["n_clear"] == 2 and _status(capsys).strip() == "3"
    with pytest.raises(UnknownExerciseError):
        run_exercise_cell("00.nope", "x = 1", namespace)


def test_the_student_stub_starts_with_the_exercise_magic():
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("# Count.\nn = 3", metadata={"tags": ["solution"]}),
        v4.new_code_cell("print('between')"),
        v4.new_code_cell('n = check("00.pixel_clear_count", n, mask=mask, iy=0, ix=0)'),
        v4.new_code_cell("m = 1", metadata={"tags": ["solution"]}),  # no check follows: a plain stub
    ])
    assert solution_cells(nb) == {"00.pixel_clear_count": 0}
    student = to_student(nb)
    assert student.cells[0].source.splitlines()[:2] == ["%%exercise 00.pixel_clear_count", "# Count."]
    assert student.cells[3].source == stub_source("m = 1")
    assert not student.cells[3].source.startswith("%%")


def test_a_learners_error_does_not_stop_the_notebook_in_a_real_kernel(tmp_path):
    """End to end: a student notebook whose exercise cell raises runs to the end in a Jupyter kernel."""
    from nbclient import NotebookClient

    nb = v4.new_notebook(cells=[
        v4.new_code_cell("import numpy as np, xarray as xr\nfrom labkit.course import check, progress\n"
                         "mask = xr.DataArray(np.zeros((3, 1, 1), 'uint8'), dims=('time', 'y', 'x'))"),
        v4.new_code_cell("%%exercise 00.pixel_clear_count\n# the task\nn_clear = undefined_name + 1"),
        v4.new_code_cell('n_clear = check("00.pixel_clear_count", n_clear, mask=mask, iy=0, ix=0)'),
        v4.new_code_cell("print('later cell', n_clear + 1)"),
        v4.new_code_cell('n_clear = check("00.pixel_clear_count", n_clear, mask=mask, iy=0, ix=0)'),
        v4.new_code_cell("print(progress().loc['00.pixel_clear_count', 'status'])"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    def text(cell) -> str:
        return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)

    assert "NameError" in text(nb.cells[1]) and "line 3" in text(nb.cells[1])
    assert "Error: line 3 of your cell, `n_clear = undefined_name + 1`: NameError" in text(nb.cells[2])
    assert "later cell 4" in text(nb.cells[3])
    assert "reference result is in use" in text(nb.cells[4])
    assert "reference in use" in text(nb.cells[5])
    html = next(o for o in nb.cells[2].outputs if "text/html" in o.get("data", {}))["data"]["text/html"]
    assert "labkit-check-error" in html


# ------------------------------------------------------------------------- messages that do not give the answer


@pytest.mark.parametrize(
    "answer, expected, says, hidden",
    [
        (26, 42, "got 26, too low.", "42"),
        (43, 42, "off by one (one too many)", "42"),
        (2600.0, 0.26, "10 000 times too large", "0.26"),
        (45.0, 0.45, "100 times too large. A percentage where a fraction", "0.45"),
        (-0.3125, 0.3125, "the opposite sign", None),
        (0.7, 0.7031, "slightly too low (by less than 1%)", "0.7031"),
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.5]), "2 of 3 values differ; the first at index (1,) "
         "(yours: 2); all those that differ are too low.", "2.5"),
        (np.array([1000.0, 2500, 3000]), np.array([0.1, 0.25, 0.3]), "your values are 10 000 times too large",
         "0.25"),
        (np.array([0.5, -1.5, 0.25]), np.array([0.5, 0.75, 0.125]), "your values range from -1.5 to 0.5, beyond "
         "the range of the expected ones", "0.75"),
        (np.array([np.nan, 0.3125]), np.array([0.875, 0.3125]), "1 NaN where a value is expected", "0.875"),
        (np.zeros((3, 2)), np.zeros((2, 3)), "shape differs: expected (2, 3), got (3, 2) (transposed?)", None),
        (np.tile([0, 1, 1], 10), np.tile([0, 1, 2], 10), "10 of 30 values differ: 1 where 2 is expected (10 times)",
         None),
        ("forest", "grassland", "got 'forest', which is not the expected text.", "grassland"),
        ("2016", 2016, "expected a number (int64), got the text '2016'.", None),
        ({"a": 1, "b": 37}, {"a": 1, "b": 52}, "for key 'b': got 37, too low.", "52"),
    ],
)
def test_messages_say_what_differs_without_the_expected_value(answer, expected, says, hidden):
    problem = compare_values(answer, expected)
    assert problem is not None and says in problem, problem
    if hidden is not None:
        assert hidden not in problem, problem


def test_dims_and_dataarrays_are_described():
    expected = xr.DataArray(np.arange(3.0), dims="time")
    assert "dims differ: expected ('time',), got ('x',)" in compare_values(expected.rename(time="x"), expected)
    assert "keep the DataArray" in compare_values(expected.values, expected)


def test_date_messages_never_list_an_expected_date():
    expected = np.array(["2016-07-20T10:00:12", "2016-08-09T10:04:27", "2016-09-08T10:00:00"], "datetime64[ns]")
    problem = compare_dates(expected[1:2], expected)
    assert problem == "2 dates are missing (1 before your first date, 1 after your last date)."
    problem = compare_dates(["2016-07-20", "2016-08-09T10:04:27", "2016-09-08T10:00:00", "2017-01-01"], expected)
    assert problem == ("1 of your dates is on the right day at another time of day (yours: 2016-07-20); 1 of your "
                       "dates should not be there: 2017-01-01.")
    assert "10:00:12" not in problem
    assert compare_dates([], expected) == "you have no date, 3 are expected."


def test_no_check_message_of_a_wrong_number_shows_the_reference(mask, capsys):
    check("00.pixel_clear_count", 2, mask=mask, iy=0, ix=0)  # the reference is 3
    out = _status(capsys)
    assert "What differs: got 2: off by one (one too few)." in out and "3" not in out.split("Hint")[0]


# ---------------------------------------------------------------------------------------- hints and solutions


def test_hints_come_one_at_a_time_each_more_specific(capsys):
    ladder = EXERCISES["02.regular_grid"].ladder
    assert len(ladder) >= 2 and ladder[0] != ladder[-1]
    for number, text in enumerate(ladder, start=1):
        hint("02.regular_grid")
        out = _status(capsys)
        assert f"Hint {number} of {len(ladder)} for exercise 02.regular_grid" in out and text in out
    assert 'solution("02.regular_grid") shows the solution' in out  # after the last hint
    hint("02.regular_grid")
    assert "No more hints" in _status(capsys)
    hint("02.regular_grid", number=1)
    assert ladder[0] in _status(capsys)
    with pytest.raises(ValueError, match="has hints 1 to"):
        hint("02.regular_grid", number=99)


def test_hint_without_an_id_is_about_the_exercise_at_hand(mask, capsys):
    with pytest.raises(ValueError, match="Which exercise"):
        hint()
    check("00.pixel_clear_count", ..., mask=mask, iy=0, ix=0)
    _status(capsys)
    hint()
    assert "exercise 00.pixel_clear_count" in _status(capsys)


def test_every_first_hint_is_shown_by_check_and_ladders_grow_more_specific():
    for exercise_id, exercise in EXERCISES.items():
        assert exercise.ladder[0] == exercise.hint
        assert len(set(exercise.ladder)) == len(exercise.ladder), exercise_id


def test_solution_shows_the_notebooks_solution_cell(capsys):
    solution("02.held_count")
    out = _status(capsys)
    assert out.startswith("Solution of exercise 02.held_count") and "n_held = int((pixel_flags == 1).sum())" in out
    assert SESSION.states["02.held_count"].solution_shown


def test_without_the_course_sources_solution_shows_the_reference_function(monkeypatch, capsys):
    monkeypatch.setattr(build, "solution_source", lambda exercise_id: None)
    solution("02.held_count")
    out = _status(capsys)
    assert "not installed here" in out and "def held_count(pixel_mask" in out


def test_solution_source_pairs_each_exercise_with_its_solution_cell():
    nb = read_source(build.COURSE_FOLDER / "02_gap_filling.py")
    assert sorted(solution_cells(nb)) == ["02.held_count", "02.interpolate_by_hand", "02.longest_gap",
                                          "02.overshoot", "02.regular_grid"]
    assert "pd.date_range" in build.solution_source("02.regular_grid")
    assert build.solution_source("02.nope") is None


# ----------------------------------------------------------------------------------------------- progress


def test_progress_shows_which_exercises_are_done(mask, monkeypatch, capsys):
    check("00.pixel_clear_count", 3, mask=mask, iy=0, ix=0)
    check("00.valid_fraction", ..., mask=mask)
    hint("00.valid_fraction")
    _status(capsys)
    table = progress()
    assert "1 of 6 exercise(s) done." in _status(capsys)
    assert list(table.index) == [i for i in EXERCISES if i.startswith("00.")]  # only the notebook met
    assert table.loc["00.pixel_clear_count", "status"] == "done"
    assert table.loc["00.valid_fraction", "status"] == "reference in use"
    assert table.loc["00.clear_dates", "status"] == "to do"
    assert table.loc["00.valid_fraction", "hints"] == 1 and table.loc["00.valid_fraction", "checks"] == 1
    assert set(progress(2).index) == {i for i in EXERCISES if i.startswith("02.")}
    with pytest.raises(ValueError, match="No exercise in notebook"):
        progress(77)


def test_progress_before_any_exercise_lists_them_all(capsys):
    assert len(progress()) == len(EXERCISES)


# ----------------------------------------------------------------------------- make student keeps the learner's work


SOURCE = '''# %% [markdown]
# # A test notebook

# %% tags=["solution"]
# The task.
n = 3

# %%
n = check("00.pixel_clear_count", n, mask=mask, iy=0, ix=0)
'''


def test_make_student_never_overwrites_a_notebook_the_learner_changed(tmp_path, capsys):
    src, out = tmp_path / "course", tmp_path / "student"
    src.mkdir()
    (src / "00_a.py").write_text(SOURCE, encoding="utf-8")
    (src / "01_b.py").write_text(SOURCE.replace("# The task.", "# Another task."), encoding="utf-8")
    assert [p.name for p in make_student(src, out)] == ["00_a.ipynb", "01_b.ipynb"]
    learner = nbformat.read(out / "00_a.ipynb", as_version=4)
    learner.cells[1].source = learner.cells[1].source.replace("n = ...", "n = 3  # mine")
    nbformat.write(learner, out / "00_a.ipynb")
    mine = (out / "00_a.ipynb").read_bytes()
    (src / "01_b.py").write_text(SOURCE.replace("# The task.", "# A changed task."), encoding="utf-8")
    capsys.readouterr()

    written = make_student(src, out)
    assert [p.name for p in written] == ["00_a.new.ipynb", "01_b.ipynb"]
    assert (out / "00_a.ipynb").read_bytes() == mine  # the learner's work, untouched
    assert "Kept your changed notebook(s) 00_a.ipynb" in capsys.readouterr().out
    assert "# A changed task." in (out / "01_b.ipynb").read_text()  # unchanged by the learner: refreshed
    fresh = nbformat.read(out / "00_a.new.ipynb", as_version=4)
    assert fresh.cells[1].source.startswith("%%exercise 00.pixel_clear_count")

    assert [p.name for p in make_student(src, out)] == ["00_a.new.ipynb", "01_b.ipynb"]  # .new is labkit's own
    (out / "00_a.new.ipynb").write_text(json.dumps({"learner": "works here too"}))
    assert [p.name for p in make_student(src, out)] == ["00_a.new2.ipynb", "01_b.ipynb"]
    assert json.loads((out / "00_a.new.ipynb").read_text()) == {"learner": "works here too"}


def test_make_student_keeps_a_notebook_labkit_did_not_write(tmp_path, capsys):
    src, out = tmp_path / "course", tmp_path / "student"
    src.mkdir()
    out.mkdir()
    (src / "00_a.py").write_text(SOURCE, encoding="utf-8")
    (out / "00_a.ipynb").write_text("{}")  # copied there by hand: not labkit's, so not replaced
    assert [p.name for p in make_student(src, out)] == ["00_a.new.ipynb"]
    assert (out / "00_a.ipynb").read_text() == "{}"


def test_an_exercise_registered_by_a_test_works_with_the_ladder(monkeypatch, capsys):
    monkeypatch.setitem(EXERCISES, "99.sum", Exercise(reference=lambda a, b: a + b, title="a sum", hint="Add.",
                                                      hints=("Use +.",)))
    assert check("99.sum", 4, a=1, b=2) == 3
    out = _status(capsys)
    assert "Hint: Add." in out and 'hint("99.sum") gives the next hint' in out and "Use +." not in out


# ------------------------------------------------------------------------- questions (issue 12, item 3)

def _confused_with(confusion, names, target):
    """The class (a key of CHOICES) that the model confuses most often with ``target``."""
    confusion = np.asarray(confusion)
    row = confusion[names.index(target)].copy()
    row[names.index(target)] = -1
    return {"forest": "a", "cultivated": "b", "water": "c"}[names[int(np.argmax(row))]]


CHOICES = {"a": "forest", "b": "cultivated land", "c": "water"}


@pytest.fixture
def question(monkeypatch):
    """A multiple-choice question whose right choice is computed from the data, registered for the test."""
    exercise = Exercise(reference=_confused_with, title="the class confused with grassland",
                        hint="Read the grassland row.", hints=("Which is the largest number off the diagonal?",),
                        choices=CHOICES, explanation="Young crops look like grass in spring.")
    monkeypatch.setitem(EXERCISES, "99.confused", exercise)
    names = ["grassland", "forest", "cultivated", "water"]
    return {"confusion": [[50, 2, 9, 0], [1, 40, 0, 0], [7, 0, 30, 0], [0, 0, 0, 10]], "names": names,
            "target": "grassland"}


def test_a_question_answered_right_shows_its_explanation(question, capsys):
    assert check("99.confused", "B", **question) == "B"
    out = _status(capsys)
    assert "correct" in out and "Why: Young crops look like grass in spring." in out


def test_a_question_answered_wrong_names_the_learners_choice_only(question, capsys):
    assert check("99.confused", "a", **question) == "b"  # the right key is supplied for what follows
    out = _status(capsys)
    assert "'a' (forest) is not the right choice." in out and "Hint: Read the grassland row." in out
    assert "cultivated" not in out and "Young crops" not in out  # neither the answer nor its explanation


def test_the_right_choice_follows_the_data(question, capsys):
    question["confusion"][0] = [50, 12, 9, 0]  # now grassland is mostly confused with forest
    assert check("99.confused", "forest", **question) == "forest"
    assert "correct" in _status(capsys)


def test_an_unsolved_question_lists_its_choices_and_an_answer_outside_them_is_named(question, capsys):
    check("99.confused", ..., **question)
    assert "Choices: a) forest; b) cultivated land; c) water" in _status(capsys)
    check("99.confused", "d", **question)
    assert 'one of "a", "b", "c" (got \'d\')' in _status(capsys)


def test_solution_of_a_question_gives_its_explanation(question, capsys):
    solution("99.confused")
    assert "Why: Young crops look like grass in spring." in capsys.readouterr().out


def test_a_numeric_prediction_is_judged_within_its_tolerance(monkeypatch, capsys):
    from labkit.course import within

    monkeypatch.setitem(EXERCISES, "99.dates_left", Exercise(
        reference=lambda mask: int((np.asarray(mask) == 0).any(axis=(1, 2)).sum()), title="dates left",
        hint="Count the clear dates.", compare=within(rel=0.25), explanation="Most dates have some clear pixel."))
    mask = np.zeros((20, 2, 2), "uint8")
    mask[:4] = 1  # 16 dates keep a clear pixel
    assert check("99.dates_left", 18, mask=mask) == 18
    assert "Why: Most dates have some clear pixel." in _status(capsys)
    assert check("99.dates_left", 30, mask=mask) == 16
    assert "your prediction, 30, is too high: 1.9 times the actual value." in _status(capsys)
    with pytest.raises(ValueError, match="positive rel or abs"):
        within()


def test_the_stub_of_a_question_asks_for_an_answer_not_code(question):
    stub = stub_source('grass_confusion = "b"', "99.confused")
    assert build.QUESTION_TODO in stub and build.STUB_TODO not in stub
    assert stub.endswith("grass_confusion = ...  # your answer")
    assert build.STUB_TODO in stub_source("total = 1 + 2", "00.pixel_clear_count")
