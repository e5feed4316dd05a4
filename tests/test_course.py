"""Tests of the course machinery (labkit.course, labkit.cli.course) and of the course's sources and book.

Executing the notebooks themselves is ``make test``'s nbval run on the student variant and its book build, which
executes the solution variant (``make nbtest``: nbval on both); here, only
cheap checks: check() and the comparators, the student variant, the builds, the conventions every notebook
source must follow, and that the book's build fails on a notebook error, a warning or a broken reference.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from labkit.cli import course as course_cli
from labkit.course import (
    EXERCISES,
    CheckResult,
    Exercise,
    ExerciseInputError,
    UnknownExerciseError,
    check,
    compare_dates,
    compare_values,
)
from labkit.course import build
from labkit.course.build import (
    BookBuildError,
    CourseSourceError,
    assigned_names,
    build_book,
    build_notebooks,
    check_toc,
    make_student,
    read_source,
    stub_source,
    summarize_log,
    to_student,
    toc_notebooks,
)
from labkit.errors import LabkitError

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
BOOK = ROOT / "book"
SOURCES = sorted(COURSE.glob("[0-9][0-9]_*.py"))
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")



@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts with no exercise checked: the course's session state is per process."""
    from labkit.course.checking import SESSION

    SESSION.clear()
    yield
    SESSION.clear()

def _mask(codes) -> xr.DataArray:
    codes = np.asarray(codes, dtype="uint8")
    times = pd.date_range("2020-01-01", periods=codes.shape[0], freq="10D")
    return xr.DataArray(codes, dims=("time", "y", "x"), coords={"time": times})


@pytest.fixture
def mask() -> xr.DataArray:
    # 3 dates, 2 x 2 pixels: date 0 all valid, date 1 half cloudy, date 2 one pixel without acquisition
    return _mask([[[0, 0], [0, 0]], [[1, 0], [1, 0]], [[0, 2], [0, 0]]])


# ----------------------------------------------------------------------------------------------- check()


def test_check_correct_returns_the_answer(mask, capsys):
    answer = (mask == 0).mean(dim=("y", "x"))
    result = check("00.valid_fraction", answer, mask=mask)
    assert result is answer
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 00.valid_fraction")
    assert "correct" in out


def test_check_wrong_returns_the_reference_and_says_what_differs(mask, capsys):
    wrong = (mask == 1).mean(dim=("y", "x"))
    result = check("00.valid_fraction", wrong, mask=mask)
    np.testing.assert_allclose(result.values, [1.0, 0.5, 0.75])
    out = capsys.readouterr().out
    assert out.startswith("✗ Exercise 00.valid_fraction")
    assert "not quite" in out
    assert "2 of 3 values differ; the first at index (0,) (yours: 0)" in out
    assert "Hint: " + EXERCISES["00.valid_fraction"].hint in out
    assert "reference result is used" in out


def test_check_unsolved_returns_the_reference(mask, capsys):
    result = check("00.pixel_clear_count", ..., mask=mask, iy=1, ix=1)
    assert result == 3
    out = capsys.readouterr().out
    assert "left unsolved" in out and "reference result is used" in out and "Hint:" in out


def test_check_unknown_id_lists_the_known_ones(mask):
    with pytest.raises(UnknownExerciseError, match=r"Unknown exercise id '00\.nope'.*00\.valid_fraction"):
        check("00.nope", 1, mask=mask)
    assert issubclass(UnknownExerciseError, LabkitError)


def test_check_bad_inputs_name_what_the_exercise_takes(mask):
    with pytest.raises(ExerciseInputError, match=r"takes the inputs \(mask, iy, ix\); got \(mask\)"):
        check("00.pixel_clear_count", 3, mask=mask)


def test_check_survives_a_comparator_that_crashes(monkeypatch, capsys):
    def broken(answer, expected):
        raise RuntimeError("boom")

    monkeypatch.setitem(EXERCISES, "99.broken", Exercise(reference=lambda: 1, title="t", hint="h", compare=broken))
    assert check("99.broken", 2) == 1
    assert "could not be compared" in capsys.readouterr().out


def test_check_result_has_a_rich_html_form():
    result = CheckResult("00.x", "a title", "wrong", detail="a < b", hint="look")
    html = result._repr_html_()
    assert "labkit-check-wrong" in html and "a &lt; b" in html
    assert repr(result) == str(result) and str(result).splitlines()[0].startswith("✗")


def test_check_displays_rich_output_in_a_kernel(monkeypatch, mask):
    shown = []
    fake_shell = type("Shell", (), {"kernel": object()})()
    monkeypatch.setattr("IPython.get_ipython", lambda: fake_shell)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    check("00.pixel_clear_count", 3, mask=mask, iy=1, ix=1)
    assert len(shown) == 1 and isinstance(shown[0], CheckResult) and shown[0].status == "correct"


def test_exercise_references_on_a_known_mask(mask):
    np.testing.assert_allclose(EXERCISES["00.valid_fraction"].reference(mask=mask).values, [1.0, 0.5, 0.75])
    assert list(EXERCISES["00.clear_dates"].reference(mask=mask)) == [np.datetime64("2020-01-01", "ns")]
    assert EXERCISES["00.pixel_clear_count"].reference(mask=mask, iy=0, ix=1) == 2


# ------------------------------------------------------------------------------------------- comparators


@pytest.mark.parametrize(
    "answer, expected",
    [
        (1 / 3, 0.333333333),
        (3, 3.0),  # int and float: one family
        (np.int32(7), 7),
        ([1.0, np.nan], np.array([1.0, np.nan])),  # NaN equals NaN
        (np.float32(0.1), 0.1),
        (pd.Series([1, 2]), np.array([1, 2])),
        ("forest", "forest"),
        ({"a": 1, "b": [1, 2]}, {"a": 1.0, "b": np.array([1, 2])}),
        (pd.Timestamp("2016-07-20T10:00"), np.datetime64("2016-07-20T10:00", "ns")),
        (np.array([True, False]), np.array([True, False])),
    ],
)
def test_compare_values_accepts(answer, expected):
    assert compare_values(answer, expected) is None


@pytest.mark.parametrize(
    "answer, expected, message",
    [
        (None, 1, "your answer is None"),
        (0.3, 1 / 3, "got 0.3, too low."),
        (np.zeros((2, 3)), np.zeros(6), "shape differs: expected (6,), got (2, 3) (the same number of values"),
        (np.zeros(5), np.zeros(6), "shape differs: expected (6,), got (5,)."),
        (np.zeros(3), 0.0, "expected a single value, got an array of shape (3,)"),
        (np.array([1, 0]), np.array([True, False]),
         "expected an array of True/False values (bool), got an array of numbers"),
        ("2016", 2016, "expected a number (int64), got the text '2016'."),
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.5]),
         "2 of 3 values differ; the first at index (1,) (yours: 2)"),
        (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "1 of 2 values differ"),
        (len, 3, "expected a number (int64), got a builtin_function_or_method (len)"),
        ({"a": 1}, {"a": 1, "b": 2}, "missing keys ['b']"),
        ({"a": 1, "b": 3}, {"a": 1, "b": 2}, "for key 'b': got 3: off by one (one too many)."),
        ([1, 2], {"a": 1}, "expected a dict"),
    ],
)
def test_compare_values_says_what_differs(answer, expected, message):
    problem = compare_values(answer, expected)
    assert problem is not None and message in problem, problem


def test_compare_values_tolerance():
    assert compare_values(1.0001, 1.0) is not None
    assert compare_values(1.0001, 1.0, rtol=1e-3) is None
    assert compare_values(1e-9, 0.0) is None  # atol


def test_compare_values_dataarrays():
    expected = xr.DataArray([1.0, 2.0], dims="time")
    assert compare_values(expected.copy(), expected) is None
    problem = compare_values(np.array([1.0, 2.0]), expected)
    assert "expected an xarray DataArray with dims ('time',), got a numpy array: keep the DataArray" in problem
    assert "dims differ: expected ('time',), got ('x',)" in compare_values(expected.rename(time="x"), expected)
    # a DataArray answer to a plain expected value is compared by value, 0-d included
    assert compare_values(xr.DataArray(3), 3) is None


def test_compare_dates():
    expected = np.array(["2016-07-20T10:00:12", "2016-08-09T10:04:27"], dtype="datetime64[ns]")
    assert compare_dates(expected[::-1], expected) is None  # order does not matter
    assert compare_dates(xr.DataArray(expected, dims="time"), expected) is None
    assert compare_dates(pd.DatetimeIndex(expected), expected) is None
    assert compare_dates(["2016-07-20T10:00:12", "2016-08-09T10:04:27"], expected) is None  # ISO strings
    assert compare_dates(expected[1:], expected) == "1 date is missing (before your first date)."
    problem = compare_dates(["2016-07-20", "2016-08-09T10:04:27"], expected)  # times matter: the cube has them
    assert problem == "1 of your dates is on the right day at another time of day (yours: 2016-07-20)."
    assert compare_dates(expected[:0], expected[:0]) is None
    assert "expected dates" in compare_dates(object(), expected)
    assert compare_dates(np.array([1.5, 2.0]), expected) == "expected dates, got a numpy array: array([1.5, 2. ])."


# ------------------------------------------------------------------------------------ stubs and variants


@pytest.mark.parametrize(
    "code, names",
    [
        ("a = 1", ["a"]),
        ("a = b = f()", ["a", "b"]),
        ("a, (b, *c) = x", ["a", "b", "c"]),
        ("a += 1\nb: int = 2\nc: int", ["a", "b", "c"]),
        ("for i, j in pairs:\n    total = i + j", ["i", "j", "total"]),
        ("with open(p) as f:\n    text = f.read()", ["f", "text"]),
        ("if x:\n    y = 1\nelse:\n    z = 2", ["y", "z"]),
        ("try:\n    v = 1\nexcept ValueError as e:\n    w = 2", ["v", "w"]),
        ("def f(x):\n    inner = x\n    return inner", ["f"]),
        ("@decorate\nclass C:\n    attr = 1", ["C"]),
        ("squares = [k * k for k in range(3)]", ["squares"]),
        ("[m for k in ks if (m := k)]", ["m"]),
        ("g = lambda q: (r := q)", ["g"]),
        ("x.attr = 1\nd['k'] = 2\ndel e", []),
        ("import numpy as np\nfrom os import path\nn = np.sum(1)", ["n"]),
        ("if True:\n    import json", ["json"]),
        ("total = 0\ntotal += 1", ["total"]),
        ("%matplotlib inline\na = 1", ["a"]),  # IPython magics are understood
    ],
)
def test_assigned_names(code, names):
    assert assigned_names(code) == names


def test_stub_keeps_leading_comments_and_imports_and_stubs_every_name():
    code = "# Compute the two things.\n# (a DataArray)\n\nimport numpy as np\nx, y = np.divmod(7, 2)\nz = x + y\n"
    stub = stub_source(code)
    assert stub.splitlines() == [
        "# Compute the two things.",
        "# (a DataArray)",
        build.STUB_TODO,
        "import numpy as np",
        "x = ...  # your answer",
        "y = ...  # your answer",
        "z = ...  # your answer",
    ]
    namespace: dict = {}
    exec(stub, namespace)  # the stub runs, and leaves every name at ...
    assert all(namespace[name] is Ellipsis for name in "xyz")


SOURCE = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A test notebook
#
# ## Learning objectives
#
# Nothing.

# %%
import numpy as np

# %% tags=["solution", "keep-me"]
# The task: make an array and its sum.
values = np.arange(4)
total = int(values.sum())

# %% tags=["hide-input"]
print(values, total)

# %% tags=["solution"]
for i in range(2):
    last = i

# %% [markdown] tags=["solution"]
# A written answer.

# %% [markdown]
# ## Summary
'''


@pytest.fixture
def source_dir(tmp_path) -> Path:
    src = tmp_path / "course"
    src.mkdir()
    (src / "00_test.py").write_text(SOURCE, encoding="utf-8")
    return src


def test_student_replaces_exactly_the_solution_cells(source_dir):
    solution = read_source(source_dir / "00_test.py")
    student = to_student(solution)
    assert len(student.cells) == len(solution.cells)
    for before, after in zip(solution.cells, student.cells):
        tags = before.metadata.get("tags", [])
        if "solution" not in tags:
            assert after == before  # source, metadata and tags untouched
            continue
        assert after.cell_type == before.cell_type and after.id == before.id
        assert after.metadata["tags"] == ["exercise" if t == "solution" else t for t in tags]
        if before.cell_type == "code":
            stub_names = [n.targets[0].id for n in ast.parse(after.source).body if isinstance(n, ast.Assign)]
            assert stub_names == assigned_names(before.source)
            assert all(line.endswith("= ...  # your answer") for line in after.source.splitlines()
                       if not line.startswith(("#", "import", "from")))
        else:
            assert after.source == "*Write your answer here.*"
    code = [c.source for c in student.cells if "exercise" in c.metadata.get("tags", []) and c.cell_type == "code"]
    assert code[0].startswith("# The task: make an array and its sum.\n")
    assert "np.arange" not in "".join(code)
    assert solution.cells[2].source.startswith("# The task")  # the solution notebook is not changed


def test_read_source_metadata_and_ids(source_dir):
    nb = read_source(source_dir / "00_test.py")
    assert nb.metadata.kernelspec.name == "python3"
    assert "jupytext" not in nb.metadata
    assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(len(nb.cells))]
    nbformat.validate(nb)


def test_a_source_without_exercise_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "01_none.py"
    path.write_text("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n", encoding="utf-8")
    with pytest.raises(CourseSourceError, match=r"01_none\.py: no cell is tagged 'solution'"):
        read_source(path)


def test_an_unparsable_cell_is_an_error_naming_the_file_and_line(tmp_path):
    path = tmp_path / "02_bad.py"
    path.write_text('# %%\nx = 1\n\n# %% tags=["solution"]\ny = (1,\n', encoding="utf-8")
    with pytest.raises(CourseSourceError, match=r"02_bad\.py:5: this solution cell does not parse"):
        read_source(path)


def test_build_notebooks_writes_both_variants_and_removes_stale_ones(source_dir, tmp_path):
    out = tmp_path / "build"
    (out / "student").mkdir(parents=True)
    (out / "student" / "my_notes.ipynb").write_text("{}")  # the user's: never removed
    (source_dir / "99_gone.py").write_text((source_dir / "00_test.py").read_text())
    build_notebooks(source_dir, out)
    (source_dir / "99_gone.py").unlink()  # its notebooks are now stale: labkit's own, unchanged, so removed
    with pytest.warns(UserWarning, match=r"my_notes\.ipynb is no longer an output, but it is yours"):
        built = build_notebooks(source_dir, out)
    assert [p.name for p in built["solution"]] == ["00_test.ipynb"]
    assert sorted(p.name for p in (out / "student").glob("*.ipynb")) == ["00_test.ipynb", "my_notes.ipynb"]
    assert sorted(p.name for p in (out / "solution").glob("*.ipynb")) == ["00_test.ipynb"]
    solution = nbformat.read(out / "solution" / "00_test.ipynb", as_version=4)
    student = nbformat.read(out / "student" / "00_test.ipynb", as_version=4)
    nbformat.validate(solution)
    nbformat.validate(student)
    assert "np.arange" in solution.cells[2].source and "np.arange" not in student.cells[2].source
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    # deterministic: a second build writes the same bytes
    first = (out / "student" / "00_test.ipynb").read_bytes()
    build_notebooks(source_dir, out)
    assert (out / "student" / "00_test.ipynb").read_bytes() == first


def test_build_stops_on_a_bad_source_before_writing(source_dir, tmp_path):
    (source_dir / "01_bad.py").write_text("# %%\nx = 1\n", encoding="utf-8")
    with pytest.raises(CourseSourceError, match="01_bad.py"):
        build_notebooks(source_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_no_sources_is_an_error(tmp_path):
    with pytest.raises(CourseSourceError, match=r"No notebook sources"):
        build_notebooks(tmp_path, tmp_path / "out")


def test_cli_build_and_student(source_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    course_cli.configure(parser)
    args = parser.parse_args(["build", "--src", str(source_dir), "--out", str(tmp_path / "b")])
    assert course_cli.run(args) == 0
    assert (tmp_path / "b" / "solution" / "00_test.ipynb").is_file()
    args = parser.parse_args(["student", "--src", str(source_dir), "--out", str(tmp_path / "s")])
    assert course_cli.run(args) == 0
    assert [p.name for p in (tmp_path / "s").glob("*.ipynb")] == ["00_test.ipynb"]
    assert "1 learner notebook(s)" in capsys.readouterr().out
    assert make_student(source_dir, tmp_path / "s")[0].name == "00_test.ipynb"
    args = parser.parse_args(["book"])
    assert (args.notebooks, args.book) == ("build/course/solution", "book")


# --------------------------------------------------------------------------------- the course's sources


def test_the_course_has_notebooks():
    assert SOURCES, "no notebook source in course/"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_notebook_follows_the_course_conventions(path):
    nb = read_source(path)  # parses, has at least one solution cell
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # the sections and cross-references: labkit.course.lint, tested in tests/test_course_lint.py
    ids = CHECK_CALL.findall(code)
    assert ids, "no exercise checked with check(...)"
    number = path.name[:2]
    assert all(i.startswith(f"{number}.") for i in ids), f"exercise ids must start with {number}."
    assert len(ids) == len(set(ids)), "an exercise is checked twice"
    # every solution cell is followed by a check of a name it assigns
    for index, cell in enumerate(nb.cells):
        if "solution" in cell.metadata.get("tags", []) and cell.cell_type == "code":
            names = assigned_names(cell.source)
            following = next(c for c in nb.cells[index + 1:] if c.cell_type == "code")
            assert CHECK_CALL.search(following.source), f"cell {index}: the cell after a solution must call check"
            assert any(re.search(rf"check\([^,]+,\s*{n}\b", following.source) for n in names)


def test_every_check_id_in_the_course_is_registered_and_every_exercise_is_used():
    used = {i for path in SOURCES for i in CHECK_CALL.findall(path.read_text(encoding="utf-8"))}
    assert used - set(EXERCISES) == set(), "check() ids used in course/ but not registered in EXERCISES"
    assert set(EXERCISES) - used == set(), "exercises registered but used by no notebook"


def test_the_toc_lists_every_notebook_in_order():
    assert toc_notebooks(BOOK) == [p.stem for p in SOURCES]
    check_toc(BOOK, [p.stem for p in SOURCES])


def test_check_toc_says_what_to_fix(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: notebooks/01_b\n"
                                       "- file: notebooks/00_a\n- file: notebooks/07_old\n")
    with pytest.raises(BookBuildError, match=r"missing from it: \['02_c'\].*'- file: notebooks/02_c'.*\['07_old'\]"):
        check_toc(tmp_path, ["00_a", "01_b", "02_c"])
    with pytest.raises(BookBuildError, match="course order"):
        check_toc(tmp_path, ["00_a", "01_b", "07_old"])


def test_summarize_log_keeps_warnings_and_the_failing_cell():
    log = [
        "reading sources... [100%] notebooks/00_x",
        "[IPKernelApp] WARNING | Kernel is running over TCP",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:",
        "------------------",
        "1/0",
        "------------------",
        "ZeroDivisionError                         Traceback (most recent call last)",
        "ZeroDivisionError: division by zero",
        "The above exception was the direct cause of the following exception:",
        "/b/intro.md:3: WARNING: undefined label: 'x'",
    ]
    summary = summarize_log(log).splitlines()
    assert summary[0].startswith("nbclient.exceptions.CellExecutionError")
    assert "1/0" in summary and "ZeroDivisionError: division by zero" in summary
    assert summary[-1] == "/b/intro.md:3: WARNING: undefined label: 'x'"
    assert not any("IPKernelApp" in line or line.startswith("  File") for line in summary)
    assert summarize_log(["a", "b"]) == "a\nb"  # nothing recognised: the end of the log


# ------------------------------------------------------------------------------ the book fails when it must


def _tiny_book(tmp_path: Path, *, markdown: str = "Fine.", code: str = "x = 1") -> tuple[Path, Path]:
    """A one-notebook book with the real book's _config.yml, and its built notebook."""
    book, notebooks = tmp_path / "book", tmp_path / "built"
    book.mkdir()
    notebooks.mkdir()
    shutil.copy(BOOK / "_config.yml", book / "_config.yml")
    shutil.copy(BOOK / "references.bib", book / "references.bib")  # _config.yml's bibtex_bibfiles
    static = tmp_path / "build" / "book-static"  # _config.yml's labkit_book_static (make book-static fills the real one)
    for script in ("mathjax/tex-mml-chtml.js", "widgets/require.js", "widgets/embed-amd.js"):
        (static / script).parent.mkdir(parents=True, exist_ok=True)
        (static / script).write_text("// a stand-in: this tiny book is never opened in a browser\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/00_tiny\n")
    (book / "intro.md").write_text("# Tiny book\n\nSee [the notebook](notebooks/00_tiny.ipynb).\n")
    nb = v4.new_notebook(cells=[v4.new_markdown_cell(f"# Tiny\n\n{markdown}"),
                                v4.new_code_cell(code, metadata={"tags": ["solution"]})])
    nb.metadata.kernelspec = dict(build.KERNELSPEC)
    nbformat.write(nb, notebooks / "00_tiny.ipynb")
    return book, notebooks


def test_book_builds_and_executes_the_notebooks(tmp_path):
    book, notebooks = _tiny_book(tmp_path, code="print('executed', 6 * 7)")
    html = build_book(notebooks, book, echo=False)
    page = (html / "notebooks" / "00_tiny.html").read_text(encoding="utf-8")
    assert "executed 42" in page  # run at build time: the built notebook had no output
    copied = nbformat.read(book / "notebooks" / "00_tiny.ipynb", as_version=4)
    assert copied.cells[1].metadata["tags"] == ["solution", "hide-input"]


def test_book_fails_on_a_notebook_that_raises(tmp_path):
    book, notebooks = _tiny_book(tmp_path, code="x = 1\nraise ValueError('a broken notebook')")
    with pytest.raises(BookBuildError, match=r"(?s)failed \(exit code \d+\).*ValueError: a broken notebook"):
        build_book(notebooks, book, echo=False)


def test_book_fails_on_a_broken_cross_reference_or_a_warning_in_a_cell(tmp_path):
    book, notebooks = _tiny_book(tmp_path, markdown="See {ref}`no-such-label` and [that](missing.md).",
                                 code="import warnings\nwarnings.warn('careful')")
    with pytest.raises(BookBuildError) as error:
        build_book(notebooks, book, echo=False)
    message = str(error.value)
    assert "undefined label: 'no-such-label'" in message
    assert "cross-reference target not found: 'missing.md'" in message
    assert "stderr was found in the cell outputs" in message


def test_book_refuses_a_toc_that_does_not_list_the_notebooks(tmp_path):
    book, notebooks = _tiny_book(tmp_path)
    nbformat.write(nbformat.read(notebooks / "00_tiny.ipynb", as_version=4), notebooks / "01_more.ipynb")
    with pytest.raises(BookBuildError, match=r"missing from it: \['01_more'\]"):
        build_book(notebooks, book, echo=False)
    with pytest.raises(BookBuildError, match="No notebooks in"):
        build_book(tmp_path / "nothing", book, echo=False)


# ------------------------------------------------------------------------------------------------- doctests


@pytest.mark.parametrize("module", ["labkit.course", "labkit.course.checking", "labkit.course.compare",
                                    "labkit.course.exercises", "labkit.course.build", "labkit.cli.course"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
