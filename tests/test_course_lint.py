"""Tests of the course's lint (labkit.course.lint, ``labkit course lint``): the real course passes, and each rule
fails on a small course written to tmp_path with one defect."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from labkit.cli import course as course_cli
from labkit.course.lint import Problem, lint_course, parse_time

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS = {0: "00_first", 1: "01_second", 2: "02_third"}
TITLES = {0: "The first", 1: "The second", 2: "The third"}
PREREQUISITES = {0: "Python.", 1: "notebook 00 (the first).", 2: "notebooks 00 and 01 (the [second](01_second.ipynb))."}
WHATS_NEXT = {0: "[01 The second](01_second.ipynb) goes on.", 1: "[02 The third](02_third.ipynb) ends it.",
              2: "This is the end of the course."}


def _source(number: int, *, intro: str | None = None, body: str = "A body.", end: str | None = None) -> str:
    """A notebook source that follows every rule, but for what ``intro``, ``body`` or ``end`` replace."""
    if intro is None:
        intro = (f"# {TITLES[number]}\n\nWhat it is about.\n\n## Learning objectives\n\n1. one thing;\n2. another.\n\n"
                 f"**Prerequisites**: {PREREQUISITES[number]}\n\n"
                 "**Time**: about 30 minutes: 20 teaching, 10 exercises (with a remark).\n\n**Exercises**: one.")
    if end is None:
        end = f"## Key points\n\n- a point;\n- another.\n\n## What's next\n\n{WHATS_NEXT[number]}"
    cells = [("markdown", intro), ("code", "import numpy as np"), ("markdown", body),
             ("solution", f'total = np.sum([{number}, 1])'), ("code", f'check("{number:02d}.total", total)'),
             ("markdown", end)]
    text = ""
    for kind, source in cells:
        marker = {"markdown": "# %% [markdown]", "code": "# %%", "solution": '# %% tags=["solution"]'}[kind]
        lines = [f"# {line}".rstrip() for line in source.splitlines()] if kind == "markdown" else source.splitlines()
        text += marker + "\n" + "\n".join(lines) + "\n\n"
    return text


def _toc(names) -> str:
    return "format: jb-book\nroot: intro\nparts:\n  - caption: Course\n    chapters:\n" + "".join(
        f"      - file: notebooks/{name}\n" for name in names)


@pytest.fixture
def course(tmp_path) -> tuple[Path, Path]:
    """A three-notebook course that follows every rule, and its book's TOC."""
    src, book = tmp_path / "course", tmp_path / "book"
    src.mkdir()
    book.mkdir()
    for number, name in NOTEBOOKS.items():
        (src / f"{name}.py").write_text(_source(number), encoding="utf-8")
    (book / "_toc.yml").write_text(_toc(NOTEBOOKS.values()), encoding="utf-8")
    return src, book


def _with(course, number: int, **parts) -> list[Problem]:
    """The problems of the course once notebook ``number`` is rewritten with ``parts``."""
    src, book = course
    (src / f"{NOTEBOOKS[number]}.py").write_text(_source(number, **parts), encoding="utf-8")
    return lint_course(src, book)


def _messages(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def test_the_real_course_passes():
    assert _messages(lint_course(ROOT / "course", ROOT / "book")) == ""


def test_the_fixture_course_passes(course):
    assert lint_course(*course) == []


def _intro(**replace) -> str:
    intro = (f"# {TITLES[1]}\n\nAbout.\n\n## Learning objectives\n\n1. one thing;\n2. another.\n\n"
             f"**Prerequisites**: {PREREQUISITES[1]}\n\n**Time**: about 30 minutes: 20 teaching, 10 exercises.")
    for old, new in replace.items():
        old = {"title": f"# {TITLES[1]}\n", "objectives": "## Learning objectives",
               "prerequisites": "**Prerequisites**", "time": "**Time**"}.get(old, old)
        intro = intro.replace(old, new)
    return intro


@pytest.mark.parametrize("part, expected", [
    ("title", 'must start with the title, "# Title"'),
    ("objectives", 'no "## Learning objectives" section: add it, with a numbered list'),
    ("prerequisites", 'no "**Prerequisites**:" paragraph'),
    ("time", 'no "**Time**" paragraph: add "**Time**: about N minutes: T teaching, E exercises"'),
])
def test_a_missing_section_of_the_introduction(course, part, expected):
    problems = _with(course, 1, intro=_intro(**{part: ""}))
    assert len(problems) == 1 and expected in problems[0].message
    assert problems[0].path == course[0] / "01_second.py" and problems[0].line == 2  # the line after `# %%`


def test_objectives_must_be_a_numbered_list(course):
    problems = _with(course, 1, intro=_intro(**{"1. one thing;\n2. another.": "- one thing;\n- another."}))
    assert [p.message for p in problems] == ['"## Learning objectives" must be a numbered list, 1. 2. 3. ... in '
                                             "order (found no numbered item)."]


def test_time_must_have_its_form_and_add_up(course):
    problems = _with(course, 1, intro=_intro(**{"about 30 minutes: 20 teaching, 10 exercises": "about 30 minutes"}))
    assert len(problems) == 1
    assert problems[0].message.startswith('**Time** must read "about N minutes: T teaching, E exercises"')
    assert problems[0].line == 13  # the **Time** paragraph
    problems = _with(course, 1, intro=_intro(**{"10 exercises": "15 exercises"}))
    assert [p.message for p in problems] == ["**Time** says about 30 minutes, but 20 teaching + 15 exercises make 35: "
                                             "make the parts add up to the total."]
    assert parse_time("**Time**: about 45 minutes: 25 teaching, 20 exercises") == (45, 25, 20)
    with pytest.raises(ValueError, match="must read"):
        parse_time("**Time**: 45 minutes, 25 teaching and 20 exercises")


@pytest.mark.parametrize("end, expected", [
    (f"## Summary\n\n- a point.\n\n## What's next\n\n{WHATS_NEXT[1]}",
     'no "## Key points" section: rename "## Summary" (line 30) to "## Key points".'),
    ("## Key points\n\n- a point.", 'no "## What\'s next" section: add it after "## Key points", with a link to the '
                                    "next notebook, [02 The third](02_third.ipynb)."),
    (f"## Key points\n\nA point.\n\n## What's next\n\n{WHATS_NEXT[1]}", '"## Key points" must be a list of points'),
    (f"## What's next\n\n{WHATS_NEXT[1]}\n\n## Key points\n\n- a point.", '"## What\'s next" must come after'),
])
def test_the_end_of_a_notebook(course, end, expected):
    problems = _with(course, 1, end=end)
    assert len(problems) == 1 and expected in problems[0].message, problems


def test_no_code_after_the_key_points(course):
    src, book = course
    path = src / "01_second.py"
    path.write_text(path.read_text().replace("# - another.\n", "# - another.\n\n# %%\nx = 1\n\n# %% [markdown]\n"))
    assert [p.message for p in lint_course(src, book)] == ['a code cell comes after "## Key points": the key points '
                                                           'and "## What\'s next" end the notebook.']


def test_whats_next_must_link_the_next_notebook(course):
    end = "## Key points\n\n- a point.\n\n## What's next\n\n[02 The third](02_third.ipynb), after this one."
    problems = _with(course, 0, end=end)
    assert [str(p) for p in problems] == [
        f"{course[0]}/00_first.py:34: \"## What's next\" must link to the next notebook, 01: write "
        "[01 The second](01_second.ipynb)."]


def test_the_next_notebook_is_the_next_in_numeric_order_even_with_a_gap(course):
    src, book = course
    (src / "02_third.py").rename(src / "05_third.py")  # a gap: 01's next one is now 05
    (book / "_toc.yml").write_text(_toc(["00_first", "01_second", "05_third"]))
    problems = lint_course(src, book)
    assert any("must link to the next notebook, 05: write [05 The third](05_third.ipynb)" in p.message
               for p in problems), problems
    assert any("(02_third.ipynb) points at a notebook that does not exist" in p.message for p in problems)


def test_a_stale_notebook_number(course):
    problems = _with(course, 1, body="As notebook 12 showed, and notebooks 00 and 13 (twice) too.")
    assert [(p.line, p.message) for p in problems] == [
        (21, '"notebook 12": there is no notebook 12 (the course has 00, 01, 02): name one that exists.'),
        (21, '"notebooks 00 and 13 (twice)": there is no notebook 13 (the course has 00, 01, 02): name one that '
             "exists."),
    ]


@pytest.mark.parametrize("body, fails", [
    ("Gap-filling? A later notebook explains it.", True),
    ("A future notebook will tell.", True),
    ("As the previous notebook showed.", True),  # in notebook 01: it must name 00
    ("As the previous notebook (notebook 00) showed.", False),
    ("The next notebook, notebook 02, goes on.", False),
    ("The next notebook, [notebook 02](02_third.ipynb), goes on.", False),
    ("The next notebook goes on. Notebook 02 is about it.", True),  # named in another sentence
    ("Gap-filling, which a later notebook (notebook 00) explains.", True),  # 00 is not later
    ("See the first notebook.", True),
    ("This notebook, like notebook 00, is short.", False),
])
def test_a_vague_reference(course, body, fails):
    problems = _with(course, 1, body=body)
    assert bool(problems) == fails, problems
    if fails:
        assert len(problems) == 1 and "does not say which notebook" in problems[0].message
        assert problems[0].message.endswith('name it in the same sentence, as "notebook NN" or a link '
                                            "[NN Title](NN_name.ipynb).")


def test_this_first_notebook_is_fine_in_the_first_one_only(course):
    assert _with(course, 0, body="This first notebook is a tour.") == []
    problems = _with(course, 1, body="This first notebook is a tour.")
    assert [p.message for p in problems] == ['"This first notebook": this notebook is notebook 01; say so by its '
                                             "number."]


def test_prerequisites_cite_only_earlier_notebooks(course):
    problems = _with(course, 1, intro=_intro(**{PREREQUISITES[1]: "notebooks 00 (the first) and 02."}))
    assert [p.message for p in problems] == ["**Prerequisites** cites notebook 02, which does not come before this one "
                                             "(01): cite only earlier notebooks, and say elsewhere how the two relate."]
    problems = _with(course, 1, intro=_intro(**{PREREQUISITES[1]: "[the third](02_third.ipynb)."}))
    assert len(problems) == 1 and "cites notebook 02" in problems[0].message


@pytest.mark.parametrize("body, expected", [
    ("See [the fourth](04_fourth.ipynb).",
     "the link (04_fourth.ipynb) points at a notebook that does not exist: there is no {src}/04_fourth.py."),
    ("See [the third](../student/02_third.ipynb).",
     "the link (../student/02_third.ipynb) names a folder: link a notebook by its file alone, e.g. (02_third.ipynb)."),
    ("See [00 The third](02_third.ipynb).", 'the link "[00 The third](02_third.ipynb)" says notebook 00 but points '
                                            "at 02_third.ipynb: make them agree."),
])
def test_a_link_to_a_notebook(course, body, expected):
    problems = _with(course, 1, body=body)
    assert [p.message for p in problems] == [expected.format(src=course[0])]


def test_web_links_and_anchors_are_fine(course):
    assert _with(course, 1, body="See [a](https://example.org/x.ipynb) and [b](00_first.ipynb#section).") == []


def test_every_notebook_is_in_the_toc_and_every_toc_notebook_exists(course):
    src, book = course
    (book / "_toc.yml").write_text(_toc(["00_first", "02_third", "03_gone"]))
    assert [str(p) for p in lint_course(src, book)] == [
        f"{book}/_toc.yml:8: notebooks/03_gone is listed but the course has no {src}/03_gone.py: remove the line, or "
        "add the notebook.",
        f"{src}/01_second.py:1: not in {book}/_toc.yml: add '- file: notebooks/01_second' to its course part, in "
        "course order.",
    ]
    (book / "_toc.yml").write_text(_toc(["00_first", "02_third", "01_second"]))
    problems = lint_course(src, book)
    assert len(problems) == 1 and "put them in course order" in problems[0].message
    (book / "_toc.yml").unlink()
    problems = lint_course(src, book)
    assert len(problems) == 1 and problems[0].path == book / "_toc.yml" and "cannot be read" in problems[0].message


def test_an_unreadable_source_is_a_problem_not_a_crash(course):
    src, book = course
    (src / "01_second.py").write_text("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n")
    problems = lint_course(src, book)
    assert any(p.path == src / "01_second.py" and "no cell is tagged 'solution'" in p.message for p in problems)


def test_cli_prints_one_line_per_problem_and_exits_1(course, capsys):
    src, book = course
    parser = argparse.ArgumentParser()
    course_cli.configure(parser)
    args = parser.parse_args(["lint", "--src", str(src), "--book", str(book)])
    assert course_cli.run(args) == 0
    assert "has every section" in capsys.readouterr().out
    (src / "01_second.py").write_text(_source(1, body="A later notebook and notebook 12."))
    assert course_cli.run(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{src}/01_second.py:21: ") for line in lines)
