"""The answer key (labkit.course.answers) lists every exercise with its solution's code, and questions' answers."""

import functools

import pytest

from labkit.course import EXERCISES, Exercise
from labkit.course import answers
from labkit.course.build import course_sources, read_source, solution_cells

COURSE = course_sources("course")[0].parent


@pytest.fixture(scope="module")
def key():
    return answers.answer_key(COURSE)


@functools.cache
def _solutions():
    """{exercise id: solution code}, each notebook read once."""
    found = {}
    for path in course_sources(COURSE):
        nb = read_source(path)
        found.update({i: nb.cells[index].source for i, index in solution_cells(nb).items()})
    return found


def test_the_key_holds_every_exercise_and_its_solution_code(key):
    solutions = _solutions()
    assert len(solutions) > len(EXERCISES) / 2
    for exercise_id, exercise in EXERCISES.items():
        assert f"### `{exercise_id}`: {exercise.title}" in key
        if exercise_id in solutions:  # else no notebook uses it yet (tests/test_course.py fails on that)
            assert solutions[exercise_id].rstrip() in key, exercise_id
        else:
            assert "*No solution cell in the notebooks.*" in key.split(f"### `{exercise_id}`")[1].split("###")[0]


def test_notebooks_come_in_course_order_with_their_exercises_under_them(key):
    headings = [line for line in key.splitlines() if line.startswith("## ")]
    notebooks = [p.stem for p in course_sources(COURSE)]
    assert [h.split(":")[0][3:] for h in headings[:len(notebooks)]] == notebooks
    for exercise_id in _solutions():
        notebook = next(h for h in headings if h[3:5] == exercise_id[:2])
        assert key.index(notebook) < key.index(f"`{exercise_id}`")


def test_a_question_gives_its_choices_the_right_one_and_why(monkeypatch):
    question = Exercise(reference=lambda: "b", title="the wettest class", hint="Think of the leaves.",
                        choices={"a": "bare soil", "b": "forest"}, explanation="Leaves hold water.")
    from_data = Exercise(reference=lambda scores: "a", title="chosen from the data", hint="Look.",
                         choices={"a": "one", "b": "two"})
    assert answers._question(question) == ["Choices:", "", "- **a**: bare soil", "- **b**: forest ← the right one",
                                           "", "**Why**: Leaves hold water.", ""]
    assert "computed from the notebook's data" in "\n".join(answers._question(from_data))
    code_only = Exercise(reference=lambda: 1, title="a number", hint="Count.")
    assert answers._question(code_only) == []


def test_the_page_is_written_atomically_and_replaced_when_the_toc_lists_it(tmp_path, monkeypatch, key):
    monkeypatch.setattr(answers, "answer_key", lambda src: key)
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/00_tiny\n")
    assert answers.write_answer_key(tmp_path, COURSE) is None  # a book without the page (tests' tiny books)
    toc.write_text("format: jb-book\nroot: intro\nparts:\n  - caption: Reference\n    chapters:\n"
                   "      - file: answers.md\n")
    path = answers.write_answer_key(tmp_path, COURSE)
    assert path == tmp_path / "answers.md" and path.read_text(encoding="utf-8").startswith("% Generated")
    path.write_text("stale", encoding="utf-8")
    answers.write_answer_key(tmp_path, COURSE)
    assert path.read_text(encoding="utf-8") == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_toc.yml", "answers.md"]


def test_the_book_lists_the_answer_key_and_git_ignores_it():
    assert "answers" in answers._toc_pages(COURSE.parent / "book")
    ignored = (COURSE.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "book/answers.md" in ignored


def test_fences_outlast_backticks_in_the_code():
    assert answers._fence("x = 1") == "```"
    assert answers._fence('s = """```"""') == "````"
