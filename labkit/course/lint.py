"""The course's lint: every notebook has its sections, and every cross-reference points at a notebook that exists.

:func:`lint_course` reads each notebook source ``course/NN_name.py`` (:func:`labkit.course.build.read_source`)
and returns a :class:`Problem` per rule broken; ``labkit course lint`` prints one line per problem,
``course/04_reference_samples.py:56: ...``, and exits with 1 when there is any. The rules:

**The introduction** (the first markdown cell) has

* a title, ``# Title``, on its first line;
* a ``## Learning objectives`` section with a numbered list (``1.``, ``2.``... in order);
* a ``**Prerequisites**:`` paragraph, which may cite only notebooks with a lower number than this one;
* a ``**Time**:`` paragraph that starts with exactly ``**Time**: about N minutes: T teaching, E exercises``
  (more may follow, e.g. a parenthesis), where ``T + E = N`` (see :func:`parse_time`).

**The end** of the notebook has a ``## Key points`` section with a list (``- ...``), then a ``## What's next``
section; no code cell comes after the ``## Key points`` heading. The ``## What's next`` section links to the next
notebook in numeric order by its file, ``[05 Classifiers](05_classifiers.ipynb)``; the last notebook has no next
one, and its section says in words where to go from the course.

**Cross-references**, in every markdown cell:

* ``notebook NN``, ``notebooks NN and MM``, ``notebooks NN, MM and KK``, ``notebooks NN to MM`` (a parenthesis may
  follow each number) name notebooks that exist;
* a link to a notebook, ``[text](NN_name.ipynb)``, names the file alone (no folder: the notebooks sit side by
  side, in the book's ``notebooks/`` as in the learner's folder), and ``course/NN_name.py`` exists; when the link's
  text starts with a number (``05 ...`` or ``notebook 05``), it is the file's;
* a notebook named by its position (``a later notebook``, ``the next notebook``, ``an earlier notebook``, ``the
  previous notebook``, ``the first notebook``, ``the last notebook``, ``other notebooks``; also with ``future``,
  ``coming``, ``upcoming``, ``subsequent``, ``following``, ``preceding``) must be named in the same sentence, by
  ``notebook NN`` or a link, and that notebook must be the one the word says: *next* / *following* the next one in
  numeric order, *previous* / *preceding* the one before, *later* (and its synonyms) one with a higher number,
  *earlier* one with a lower number, *first* / *last* the first / last of the course, *other* any other one.
  ``this first notebook`` (``this last notebook``) is accepted in the first (last) notebook.

**The book**: every notebook is listed in ``book/_toc.yml`` and every notebook listed there exists, in course order
(:func:`labkit.course.build.toc_notebooks`, :func:`labkit.course.build.check_toc`).

Only markdown cells are read: comments in code cells are not checked.

Example
-------
>>> parse_time("**Time**: about 50 minutes: 35 teaching, 15 exercises.")
(50, 35, 15)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .build import BookBuildError, CourseSourceError, check_toc, course_sources, read_source, toc_notebooks

TIME_FORM = "**Time**: about N minutes: T teaching, E exercises"
"""How the ``**Time**`` paragraph starts; N = T + E."""
_TIME = re.compile(r"\*\*Time\*\*: about (\d+) minutes: (\d+) teaching, (\d+) exercises\b")

KEY_POINTS = "## Key points"
WHATS_NEXT = "## What's next"
OBJECTIVES = "## Learning objectives"

_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)
_LABEL = re.compile(r"^\*\*[^*\n]+\*\*:", re.M)  # a paragraph that starts with a bold label: **Time**: ...
_NOTEBOOK_REF = re.compile(
    r"\b[Nn]otebooks?\s+(\d{1,2}\b(?:\s*\([^()]*\))?"
    r"(?:\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|to\s+|through\s+|[–-]\s*)\d{1,2}\b(?:\s*\([^()]*\))?)*)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_NUMBERED_TEXT = re.compile(r"^\s*(?:[Nn]otebook\s+)?(\d{1,2})\b")
_POSITION = re.compile(
    r"\b(?:(this)\s+)?(later|future|coming|upcoming|subsequent|next|following|earlier|previous|preceding|first|"
    r"last|other)\s+notebooks?\b", re.I)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(*_`])|\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)")


@dataclass(frozen=True, order=True)
class Problem:
    """A rule the course breaks: the file (a notebook source, or the book's TOC), the line, what to write."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def parse_time(paragraph: str) -> tuple[int, int, int]:
    """The (total, teaching, exercises) minutes of a ``**Time**`` paragraph, as :data:`TIME_FORM` says.

    Raises
    ------
    ValueError
        When the paragraph does not start with that form, saying what to write.

    Example
    -------
    >>> parse_time("**Time**: about 60 minutes: 40 teaching, 20 exercises (section 8 takes 15 of them).")
    (60, 40, 20)
    """
    found = _TIME.match(paragraph.strip())
    if found is None:
        start = " ".join(paragraph.split())[:60]
        raise ValueError(f'**Time** must read "about N minutes: T teaching, E exercises" (e.g. "**Time**: about 50 '
                         'minutes: 35 teaching, 15 exercises"; count about 5 to 8 minutes per exercise), not '
                         f'"{start}...".')
    return int(found[1]), int(found[2]), int(found[3])


# ------------------------------------------------------------------------------------------ reading sources


@dataclass
class _Cell:
    kind: str
    source: str
    line: int  # the line of the .py file where the cell's source starts


@dataclass
class _Notebook:
    path: Path
    number: int
    stem: str
    cells: list[_Cell]

    def markdown(self) -> list[_Cell]:
        return [cell for cell in self.cells if cell.kind == "markdown"]

    @property
    def title(self) -> str:
        first = next((c.source for c in self.markdown()), "")
        found = re.match(r"#\s+(.+)", first.strip())
        return found[1].strip() if found else self.stem


def _cell_lines(text: str, cells) -> list[int]:
    """The line of the ``.py`` file where each cell's source starts: the line after its ``# %%`` marker."""
    markers = [number for number, line in enumerate(text.splitlines(), start=1) if re.match(r"# %%(\s|$)", line)]
    if len(markers) == len(cells):
        return [marker + 1 for marker in markers]
    lines = text.splitlines()  # a source that does not start with a marker: find each cell's first line
    found = []
    for cell in cells:
        first = next((line for line in cell.source.splitlines() if line.strip()), None)
        found.append(next((n for n, line in enumerate(lines, start=1) if first and line in (first, f"# {first}")), 1))
    return found


def _read(path: Path) -> _Notebook:
    nb = read_source(path)
    text = path.read_text(encoding="utf-8")
    cells = [_Cell(cell.cell_type, cell.source, line) for cell, line in zip(nb.cells, _cell_lines(text, nb.cells))]
    return _Notebook(path, int(path.name[:2]), path.stem, cells)


def _at(cell: _Cell, position: int) -> int:
    return cell.line + cell.source.count("\n", 0, position)


# ------------------------------------------------------------------------------------------ cross-references


def _numbers(text: str) -> list[int]:
    """The notebook numbers that ``notebook NN`` phrases of ``text`` name, in order."""
    found = []
    for ref in _NOTEBOOK_REF.finditer(text):
        found += [int(n) for n in re.findall(r"\d{1,2}", re.sub(r"\([^()]*\)", "", ref[1]))]
    return found


def _notebook_links(text: str):
    """``(match, file name)`` of each link to a ``.ipynb`` file of ``text`` (web links excluded)."""
    for link in _LINK.finditer(text):
        target = link[2].split("#", 1)[0]
        if target.endswith(".ipynb") and not _SCHEME.match(target):
            yield link, target


def _linked_numbers(text: str) -> list[int]:
    return [int(name[:2]) for _, name in _notebook_links(text) if re.match(r"\d{2}_", name)]


def _sentence_at(text: str, position: int) -> str:
    start, end = 0, len(text)
    for brk in _SENTENCE_BREAK.finditer(text):
        if brk.end() <= position:
            start = brk.end()
        elif brk.start() >= position:
            end = brk.start()
            break
    return text[start:end]


def _fits(word: str, number: int, nb: _Notebook, course: dict[int, _Notebook]) -> bool:
    order = sorted(course)
    index = order.index(nb.number)
    after = order[index + 1] if index + 1 < len(order) else None
    before = order[index - 1] if index > 0 else None
    word = word.lower()
    if word in ("next", "following"):
        return number == after
    if word in ("previous", "preceding"):
        return number == before
    if word in ("later", "future", "coming", "upcoming", "subsequent"):
        return number > nb.number
    if word == "earlier":
        return number < nb.number
    if word == "first":
        return number == order[0]
    if word == "last":
        return number == order[-1]
    return number != nb.number  # other


def _check_references(nb: _Notebook, course: dict[int, _Notebook], src: Path) -> list[Problem]:
    problems = []
    known = ", ".join(f"{n:02d}" for n in sorted(course))
    for cell in nb.markdown():
        text = cell.source
        for ref in _NOTEBOOK_REF.finditer(text):
            for number in _numbers(ref[0]):
                if number not in course:
                    problems.append(Problem(nb.path, _at(cell, ref.start()),
                                            f'"{" ".join(ref[0].split())}": there is no notebook {number:02d} '
                                            f"(the course has {known}): name one that exists."))
        for link, name in _notebook_links(text):
            line = _at(cell, link.start())
            source = src / Path(name).with_suffix(".py").name
            if "/" in name or "\\" in name:
                problems.append(Problem(nb.path, line, f"the link ({link[2]}) names a folder: link a notebook by "
                                                       f"its file alone, e.g. ({Path(name).name})."))
            elif not source.is_file():
                problems.append(Problem(nb.path, line, f"the link ({link[2]}) points at a notebook that does not "
                                                       f"exist: there is no {source}."))
            elif (text_number := _NUMBERED_TEXT.match(link[1])) and int(text_number[1]) != int(name[:2]):
                problems.append(Problem(nb.path, line, f'the link "[{link[1]}]({link[2]})" says notebook '
                                                       f"{text_number[1]} but points at {name}: make them agree."))
        for vague in _POSITION.finditer(text):
            this, word = vague[1], vague[2]
            line = _at(cell, vague.start())
            phrase = " ".join(vague[0].split())
            if this:
                order = sorted(course)
                if (word.lower(), nb.number) in (("first", order[0]), ("last", order[-1])):
                    continue
                problems.append(Problem(nb.path, line, f'"{phrase}": this notebook is notebook {nb.number:02d}; '
                                                       "say so by its number."))
                continue
            sentence = _sentence_at(text, vague.start())
            named = [n for n in _numbers(sentence) + _linked_numbers(sentence) if n in course]
            if any(_fits(word, number, nb, course) for number in named):
                continue
            but = (f" (this sentence names {', '.join(f'{n:02d}' for n in named)}, which is not the {word.lower()} "
                   "one)" if named else "")
            problems.append(Problem(nb.path, line, f'"{phrase}" does not say which notebook{but}: name it in the '
                                                   'same sentence, as "notebook NN" or a link '
                                                   "[NN Title](NN_name.ipynb)."))
    return problems


# ------------------------------------------------------------------------------------------------ sections


def _paragraph(text: str, label: str) -> re.Match | None:
    """The paragraph of ``text`` that starts with ``**label**``, up to the next blank line."""
    return re.search(rf"^\*\*{re.escape(label)}\*\*.*?(?=\n[ \t]*\n|\Z)", text, re.M | re.S)


def _section_end(text: str, start: int) -> int:
    ends = [m.start() for pattern in (_HEADING, _LABEL) if (m := pattern.search(text, start))]
    return min(ends, default=len(text))


def _check_introduction(nb: _Notebook, course: dict[int, _Notebook]) -> list[Problem]:
    markdown = nb.markdown()
    if not markdown:
        return [Problem(nb.path, 1, "no markdown cell: start the notebook with a markdown cell with its title, "
                                    f'"{OBJECTIVES}", "**Prerequisites**:" and "{TIME_FORM}".')]
    intro = markdown[0]
    text, problems = intro.source, []
    if not re.match(r"#\s+\S", text.lstrip()):
        problems.append(Problem(nb.path, intro.line, 'the first markdown cell must start with the title, "# Title".'))
    objectives = re.search(rf"^{re.escape(OBJECTIVES)}\s*$", text, re.M)
    if objectives is None:
        problems.append(Problem(nb.path, intro.line, f'the first markdown cell has no "{OBJECTIVES}" section: add it, '
                                                     "with a numbered list (1. ..., 2. ...) of what the learner will "
                                                     "be able to do."))
    else:
        section = text[objectives.end():_section_end(text, objectives.end())]
        numbers = [int(n) for n in re.findall(r"^(\d+)\.\s+\S", section, re.M)]
        if not numbers or numbers != list(range(1, len(numbers) + 1)):
            problems.append(Problem(nb.path, _at(intro, objectives.start()),
                                    f'"{OBJECTIVES}" must be a numbered list, 1. 2. 3. ... in order (found '
                                    f"{numbers or 'no numbered item'})."))
    prerequisites = _paragraph(text, "Prerequisites")
    if prerequisites is None or not prerequisites[0].startswith("**Prerequisites**:"):
        problems.append(Problem(nb.path, intro.line, 'the first markdown cell has no "**Prerequisites**:" paragraph: '
                                                     "add it, citing the earlier notebooks (\"notebook NN\") and the "
                                                     "knowledge the notebook assumes."))
    else:
        cited = _numbers(prerequisites[0]) + _linked_numbers(prerequisites[0])
        for number in sorted({n for n in cited if n >= nb.number}):
            problems.append(Problem(nb.path, _at(intro, prerequisites.start()),
                                    f"**Prerequisites** cites notebook {number:02d}, which does not come before this "
                                    f"one ({nb.number:02d}): cite only earlier notebooks, and say elsewhere how the "
                                    "two relate."))
    time = _paragraph(text, "Time")
    if time is None:
        problems.append(Problem(nb.path, intro.line, f'the first markdown cell has no "**Time**" paragraph: add '
                                                     f'"{TIME_FORM}" (N = T + E).'))
    else:
        try:
            total, teaching, exercises = parse_time(time[0])
        except ValueError as error:
            problems.append(Problem(nb.path, _at(intro, time.start()), str(error)))
        else:
            if teaching + exercises != total:
                problems.append(Problem(nb.path, _at(intro, time.start()),
                                        f"**Time** says about {total} minutes, but {teaching} teaching + {exercises} "
                                        f"exercises make {teaching + exercises}: make the parts add up to the total."))
    return problems


def _find_heading(nb: _Notebook, heading: str) -> tuple[int, re.Match] | None:
    """(index in nb.cells, match) of the last markdown cell that has the heading."""
    found = None
    for index, cell in enumerate(nb.cells):
        if cell.kind == "markdown" and (match := re.search(rf"^{re.escape(heading)}\s*$", cell.source, re.M)):
            found = index, match
    return found


def _section_text(nb: _Notebook, index: int, match: re.Match) -> str:
    """The text of a ``##`` section: after its heading, up to the next heading, across markdown cells."""
    cell = nb.cells[index]
    rest = cell.source[match.end():]
    if heading := _HEADING.search(rest):
        return rest[:heading.start()]
    parts = [rest]
    for following in nb.cells[index + 1:]:
        if following.kind != "markdown":
            break
        if heading := _HEADING.search(following.source):
            parts.append(following.source[:heading.start()])
            break
        parts.append(following.source)
    return "\n\n".join(parts)


def _check_end(nb: _Notebook, course: dict[int, _Notebook]) -> list[Problem]:
    problems = []
    last_line = nb.cells[-1].line if nb.cells else 1
    key_points, whats_next = _find_heading(nb, KEY_POINTS), _find_heading(nb, WHATS_NEXT)
    if key_points is None:
        summary = _find_heading(nb, "## Summary")
        where = (f'rename "## Summary" (line {_at(nb.cells[summary[0]], summary[1].start())}) to "{KEY_POINTS}"'
                 if summary else f'add a last markdown cell "{KEY_POINTS}" with a list ("- ...") of what to remember')
        problems.append(Problem(nb.path, last_line, f'no "{KEY_POINTS}" section: {where}.'))
    else:
        index, match = key_points
        line = _at(nb.cells[index], match.start())
        if any(cell.kind != "markdown" for cell in nb.cells[index:]):
            problems.append(Problem(nb.path, line, f'a code cell comes after "{KEY_POINTS}": the key points and '
                                                   f'"{WHATS_NEXT}" end the notebook.'))
        if not re.search(r"^[-*+]\s+\S", _section_text(nb, index, match), re.M):
            problems.append(Problem(nb.path, line, f'"{KEY_POINTS}" must be a list of points ("- ...").'))
    order = sorted(course)
    position = order.index(nb.number)
    after = course[order[position + 1]] if position + 1 < len(order) else None
    link = f"[{after.stem[:2]} {after.title}]({after.stem}.ipynb)" if after else None
    if whats_next is None:
        what = f"with a link to the next notebook, {link}" if link else "saying where to go from the course"
        problems.append(Problem(nb.path, last_line, f'no "{WHATS_NEXT}" section: add it after "{KEY_POINTS}", {what}.'))
        return problems
    index, match = whats_next
    line = _at(nb.cells[index], match.start())
    if key_points is not None and (key_points[0], key_points[1].start()) > (index, match.start()):
        problems.append(Problem(nb.path, line, f'"{WHATS_NEXT}" must come after "{KEY_POINTS}".'))
    text = _section_text(nb, index, match)
    if after is not None and f"{after.stem}.ipynb" not in [Path(name).name for _, name in _notebook_links(text)]:
        problems.append(Problem(nb.path, line, f'"{WHATS_NEXT}" must link to the next notebook, {after.stem[:2]}: '
                                               f"write {link}."))
    elif not text.strip():
        problems.append(Problem(nb.path, line, f'"{WHATS_NEXT}" is empty: say where to go from the course.'))
    return problems


# ------------------------------------------------------------------------------------------------ the book


def _check_book(sources: list[Path], book: Path, src: Path) -> list[Problem]:
    toc = book / "_toc.yml"
    names = [p.stem for p in sources]
    try:
        listed = toc_notebooks(book)
    except BookBuildError as error:
        return [Problem(toc, 1, str(error))]
    lines = toc.read_text(encoding="utf-8").splitlines()
    problems = [Problem(path, 1, f"not in {toc}: add '- file: notebooks/{path.stem}' to its course part, in "
                                 "course order.") for path in sources if path.stem not in listed]
    for name in listed:
        if name not in names:
            line = next((n for n, text in enumerate(lines, start=1) if f"notebooks/{name}" in text), 1)
            problems.append(Problem(toc, line, f"notebooks/{name} is listed but the course has no {src / name}.py: "
                                               "remove the line, or add the notebook."))
    if not problems:
        try:
            check_toc(book, names)
        except BookBuildError as error:
            problems.append(Problem(toc, 1, str(error)))
    return problems


def lint_course(src: str | os.PathLike = "course", book: str | os.PathLike = "book") -> list[Problem]:
    """Check the course's notebooks against the rules of this module; return the problems found, in file order.

    Parameters
    ----------
    src : path, default "course"
        The folder of the ``NN_name.py`` sources.
    book : path, default "book"
        The Jupyter Book, whose ``_toc.yml`` must list every notebook.

    Returns
    -------
    list of Problem
        Empty when the course follows every rule. A source that cannot be read is one problem.

    Raises
    ------
    CourseSourceError
        When ``src`` holds no notebook source.

    Example
    -------
    >>> from labkit.course.build import COURSE_FOLDER
    >>> lint_course(COURSE_FOLDER, COURSE_FOLDER.parent / "book")
    []
    """
    src, book = Path(src), Path(book)
    sources = course_sources(src)
    course: dict[int, _Notebook] = {}
    problems: list[Problem] = []
    for path in sources:
        try:
            nb = _read(path)
        except CourseSourceError as error:
            found = re.match(rf"{re.escape(str(path))}:(?:(\d+):)?\s*(.*)", str(error), re.S)
            problems.append(Problem(path, int(found[1] or 1), found[2]) if found else Problem(path, 1, str(error)))
            continue
        if nb.number in course:
            problems.append(Problem(path, 1, f"two notebooks have the number {nb.number:02d}: "
                                             f"{course[nb.number].path.name} and {path.name}; renumber one."))
            continue
        course[nb.number] = nb
    for nb in course.values():
        problems += _check_introduction(nb, course)
        problems += _check_end(nb, course)
        problems += _check_references(nb, course, src)
    problems += _check_book(sources, book, src)
    return sorted(set(problems), key=lambda p: (str(p.path), p.line, p.message))
