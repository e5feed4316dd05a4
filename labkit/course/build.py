"""Build the course: notebook sources → solution and student notebooks → the Jupyter Book.

Takes the jupytext ``py:percent`` sources ``course/NN_name.py``; returns ``.ipynb`` files (never committed):

* :func:`build_notebooks` writes both variants, ``out/solution/NN_name.ipynb`` and ``out/student/NN_name.ipynb``;
* :func:`make_student` writes the learner's copy (the student variant alone, no outputs);
* :func:`build_book` copies the solution notebooks into ``book/notebooks/`` and runs ``jupyter-book build``,
  which executes every notebook and fails on any error or warning. This module is also the book's Sphinx
  extension (:func:`setup`): the book serves MathJax and the widgets' JavaScript itself (fetched into
  ``build/book-static`` by ``make book-static``), and each notebook page gets a button that opens it on a hub
  (:func:`hub_launch_link`, set by ``LABKIT_HUB_URL`` and ``LABKIT_COURSE_REPO``).

The learner's variant replaces each cell tagged ``solution`` by a stub (see :func:`stub_source`): the solution's
leading comment lines (the task, written for the learner), its top-level imports, and ``name = ...  # your
answer`` for every top-level name it assigns (see :func:`assigned_names`). A stub whose answer is checked (the
next ``check("NN.name", ...)`` after it, see :func:`solution_cells`) starts with ``%%exercise NN.name``, the cell
magic of :mod:`labkit.course.learner` that reports an error in the learner's code to the check instead of
stopping the notebook. The stub is tagged ``exercise`` instead of ``solution``; every other cell is kept as it is.
These are the ``labkit course`` commands.

Example
-------
>>> print(stub_source("# Fraction of valid pixels per date.\\nvalid = (mask == 0).mean(('y', 'x'))"))
# Fraction of valid pixels per date.
# TODO: replace each `...` below by your code, then run this cell and the check below.
valid = ...  # your answer
"""

from __future__ import annotations

import ast
import copy
import os
import re
import subprocess
import sys
from pathlib import Path

from ..errors import LabkitError
from ..outputs import atomic_files, check_destination, is_own_output

SOLUTION_TAG = "solution"
"""Cells with this tag hold the solution of an exercise."""
EXERCISE_TAG = "exercise"
"""The tag of the stub that replaces a solution cell in the student variant."""
BOOK_HIDE_TAG = "hide-input"
"""Added to solution cells in the book, so that readers see the result and reveal the code on demand."""
SOURCE_PATTERN = "[0-9][0-9]_*.py"
"""The notebook sources in the course folder: ``NN_name.py``."""
COURSE_FOLDER = Path(__file__).resolve().parents[2] / "course"
"""The course's sources beside the labkit package, in a checkout of the repository."""
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
STUB_TODO = "# TODO: replace each `...` below by your code, then run this cell and the check below."
QUESTION_TODO = ("# TODO: replace `...` below by your answer (a choice's letter, as text, or a number), then run this "
                 "cell and the check below.")
EXERCISE_MAGIC = "%%exercise"
"""The first line of a checked stub, followed by the exercise id (see :mod:`labkit.course.learner`)."""
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")
"""A call of :func:`labkit.course.check` in a cell; group 1 is the exercise id."""
HUB_URL_VARIABLE = "LABKIT_HUB_URL"
"""The environment variable that names the JupyterHub the book's launch buttons open (see :func:`hub_launch_link`)."""
COURSE_REPO_VARIABLE = "LABKIT_COURSE_REPO"
"""The environment variable that names the course's repository, whose ``student`` branch the launch buttons pull."""
BOOK_STATIC = "../build/book-static"
"""Where the book finds MathJax and the widgets' JavaScript (``make book-static``), relative to the book's folder;
the Sphinx setting ``labkit_book_static`` changes it. Its content is copied into the built book's ``_static/``."""


class CourseSourceError(LabkitError, ValueError):
    """A notebook source cannot be read or does not follow the course's conventions."""


class BookBuildError(LabkitError, RuntimeError):
    """The Jupyter Book could not be built: a notebook failed, or Sphinx reported a warning or an error."""


# ------------------------------------------------------------------------------------------- reading sources


def course_sources(src: str | os.PathLike = "course") -> list[Path]:
    """The notebook sources ``NN_name.py`` of the course folder ``src``, in course order.

    Raises
    ------
    CourseSourceError
        When ``src`` holds none.

    Example
    -------
    >>> [p.name for p in course_sources("course")][:1]  # doctest: +SKIP
    ['00_data_cube.py']
    """
    src = Path(src)
    sources = sorted(src.glob(SOURCE_PATTERN))
    if not sources:
        raise CourseSourceError(f"No notebook sources {SOURCE_PATTERN} in {src}/ (looked in {src.resolve()}).")
    return sources


def _python_of(cell_source: str) -> str:
    """A cell's code as plain Python: IPython magics (``%matplotlib``, ``!cmd``) turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython absent: magics will show up as syntax errors
        return cell_source
    return TransformerManager().transform_cell(cell_source)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def read_source(path: str | os.PathLike):
    """Read one ``py:percent`` source as a notebook, checking it follows the course's conventions.

    Every code cell must parse, and at least one cell must be tagged ``solution``. Cell ids are made
    deterministic (``cell-0``, ``cell-1``...) so that built notebooks do not change from one build to the next;
    a ``python3`` kernelspec is set when the source has none.

    Parameters
    ----------
    path : path of the ``.py`` source.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    CourseSourceError
        Naming the file (and the line) when it cannot be read, a cell does not parse, or it has no exercise.
    """
    import jupytext

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        nb = jupytext.reads(text, fmt="py:percent")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CourseSourceError(f"{path}: cannot be read as a jupytext py:percent notebook ({error}).") from error
    _check_cells(nb, path, text)
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.nbformat, nb.nbformat_minor = 4, 5
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
    return nb


def _source_line(text: str, cell_source: str) -> int:
    """The line in the ``.py`` file where a cell's source starts (1 if it cannot be told)."""
    first = next((line for line in cell_source.splitlines() if line.strip()), None)
    if first is None:
        return 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line == first or line == f"# {first}":
            return number
    return 1


def _check_cells(nb, path: Path, text: str) -> None:
    n_solutions = 0
    for cell in nb.cells:
        is_solution = SOLUTION_TAG in _tags(cell)
        n_solutions += is_solution
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(_python_of(cell.source))
        except SyntaxError as error:
            line = _source_line(text, cell.source) + (error.lineno or 1) - 1
            kind = "solution cell" if is_solution else "code cell"
            raise CourseSourceError(f"{path}:{line}: this {kind} does not parse: {error.msg}.") from None
    if n_solutions == 0:
        raise CourseSourceError(
            f"{path}: no cell is tagged {SOLUTION_TAG!r}, so this notebook has no exercise. Mark the cell that "
            f'holds the solution of an exercise with `# %% tags=["{SOLUTION_TAG}"]`.'
        )


# ---------------------------------------------------------------------------------------------- the stubs


class _Bindings(ast.NodeVisitor):
    """Collect the names bound at module scope, in order of first binding (not inside functions or lambdas)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def _add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._add(node.id)

    def visit_FunctionDef(self, node) -> None:  # the name is bound here; the body is another scope
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def _visit_comprehension(self, node) -> None:  # only a walrus leaks out of a comprehension
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr):
                self._add(child.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Import(self, node) -> None:  # a nested import (in an if, a try...) binds a name too
        for alias in node.names:
            self._add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:  # `as e` is unbound after the handler
        for child in node.body:
            self.visit(child)

    def visit_MatchAs(self, node) -> None:
        if node.name:
            self._add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node) -> None:
        if node.name:
            self._add(node.name)

    def visit_MatchMapping(self, node) -> None:
        if node.rest:
            self._add(node.rest)
        self.generic_visit(node)


def _split(code: str) -> tuple[list[str], list[str], list[str]]:
    """(leading comment lines, top-level import lines, names assigned by the rest)."""
    python = _python_of(code)
    tree = ast.parse(python)
    imports = [ast.get_source_segment(python, node) or ast.unparse(node)
               for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    bindings = _Bindings()
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.visit(node)
    leading = []
    for line in code.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        leading.append(line)
    while leading and not leading[-1].strip():
        leading.pop()
    return leading, imports, bindings.names


def assigned_names(code: str) -> list[str]:
    """The names a cell binds at top level (module scope), in order of first binding; imports excluded.

    Counts assignments of every kind (``=``, ``+=``, annotated, tuple unpacking, ``for`` and ``with`` targets,
    the walrus, even inside a comprehension), ``def`` and ``class`` names; not the names local to a function,
    a lambda or a comprehension, nor ``except ... as e``.

    Example
    -------
    >>> assigned_names("a, (b, *c) = f()\\nd += 1\\nfor i in range(3):\\n    e: int = i\\n"
    ...                "def g(x):\\n    h = x\\n[j for j in k if (m := j)]")
    ['a', 'b', 'c', 'd', 'i', 'e', 'g', 'm']
    """
    return _split(code)[2]


def stub_source(code: str, exercise_id: str | None = None) -> str:
    """The learner's stub for a solution cell's code.

    Keeps the solution's leading comment lines (write the task there, not the answer), then a TODO line, the
    solution's top-level imports, and ``name = ...  # your answer`` for each name in :func:`assigned_names`.
    Given the id of the exercise the cell answers, the stub starts with ``%%exercise ID``, so that an error in the
    learner's code is reported by the check (see :mod:`labkit.course.learner`).

    Example
    -------
    >>> print(stub_source("import numpy as np\\nn_clear = int(np.sum(valid))", "00.pixel_clear_count"))
    %%exercise 00.pixel_clear_count
    # TODO: replace each `...` below by your code, then run this cell and the check below.
    import numpy as np
    n_clear = ...  # your answer

    A question (an exercise with choices or an explanation: a prediction, a decision) asks for an answer, not code.
    """
    from .exercises import EXERCISES

    leading, imports, names = _split(code)
    exercise = EXERCISES.get(exercise_id) if exercise_id else None
    lines = [f"{EXERCISE_MAGIC} {exercise_id}"] if exercise_id else []
    lines += [*leading, QUESTION_TODO if exercise is not None and exercise.is_question else STUB_TODO, *imports]
    lines += [f"{name} = ...  # your answer" for name in names]
    return "\n".join(lines)


def solution_cells(nb) -> dict[str, int]:
    """``{exercise id: index of its solution cell}``: each code cell tagged ``solution`` answers the first
    exercise checked (``check("NN.name", ...)``) in the code cells after it, up to the next solution cell.

    Example
    -------
    >>> import nbformat.v4 as v4
    >>> nb = v4.new_notebook(cells=[v4.new_code_cell("n = 3", metadata={"tags": ["solution"]}),
    ...                             v4.new_code_cell("print(n)"), v4.new_code_cell('n = check("00.n", n)')])
    >>> solution_cells(nb)
    {'00.n': 0}
    """
    found: dict[str, int] = {}
    solution = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if SOLUTION_TAG in _tags(cell):
            solution = index
        elif solution is not None and (call := CHECK_CALL.search(cell.source)):
            found.setdefault(call.group(1), solution)
            solution = None
    return found


def to_student(nb):
    """The student variant of a notebook: a copy where every ``solution`` cell is replaced by its stub.

    A code solution becomes the code of :func:`stub_source` (with ``%%exercise ID`` when a check follows, see
    :func:`solution_cells`), a markdown solution (a written answer) becomes
    "*Write your answer here.*". The stub keeps the cell's metadata and tags, with ``exercise`` in place of
    ``solution``. All outputs are cleared; every other cell is kept as it is.

    Example
    -------
    >>> import nbformat.v4 as v4
    >>> nb = v4.new_notebook(cells=[v4.new_markdown_cell("Count."),
    ...                             v4.new_code_cell("n = 3", metadata={"tags": ["solution"]})])
    >>> student = to_student(nb)
    >>> student.cells[1].source.splitlines()[-1], student.cells[1].metadata["tags"]
    ('n = ...  # your answer', ['exercise'])
    """
    student = copy.deepcopy(nb)
    checked = {index: exercise_id for exercise_id, index in solution_cells(nb).items()}
    for index, cell in enumerate(student.cells):
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            if cell.cell_type == "code":
                cell.source = stub_source(cell.source, checked.get(index))
            else:
                cell.source = "*Write your answer here.*"
            cell.metadata["tags"] = [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in tags]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return student


# ----------------------------------------------------------------------------------------- the notebooks


def _write_notebooks(notebooks: dict[str, object], folder: Path, *, overwrite: bool, stale: bool) -> list[Path]:
    """Write ``{file name: notebook}`` into ``folder`` all-or-nothing (:func:`labkit.outputs.atomic_files`).

    With ``stale``, the folder's other notebooks that labkit wrote there and nobody changed since are removed
    (their source is gone); nothing else is ever removed.
    """
    import nbformat

    old = sorted(p.name for p in folder.glob("*.ipynb")) if stale and folder.is_dir() else []
    with atomic_files(folder, overwrite=overwrite, expected=list(notebooks),
                      stale=[n for n in old if n not in notebooks]) as staging:
        for name, nb in notebooks.items():
            nbformat.write(nb, staging / name)
    return [folder / name for name in notebooks]


def build_notebooks(
    src: str | os.PathLike = "course", out: str | os.PathLike = "build/course"
) -> dict[str, list[Path]]:
    """Build both variants of every notebook: ``out/solution/NN_name.ipynb`` and ``out/student/NN_name.ipynb``.

    Every source is read and checked before anything is written; the notebooks of an earlier build whose source is
    gone are removed (only those labkit wrote and nobody changed since: see :func:`labkit.outputs.atomic_files`).
    Nothing is executed (``make nbtest`` and the book do that).

    Parameters
    ----------
    src : path, default "course"
        The folder of the ``NN_name.py`` sources.
    out : path, default "build/course"

    Returns
    -------
    dict
        ``{"solution": [paths], "student": [paths]}``, in course order.

    Raises
    ------
    CourseSourceError
        Naming the source that cannot be read or has no exercise.

    Example
    -------
    >>> built = build_notebooks("course", "build/course")  # doctest: +SKIP
    >>> [p.name for p in built["student"]]  # doctest: +SKIP
    ['00_data_cube.ipynb']
    """
    out = Path(out)
    notebooks = {f"{path.stem}.ipynb": read_source(path) for path in course_sources(src)}
    for variant in ("solution", "student"):  # before anything is written
        check_destination(out / variant, kind="folder")
    return {"solution": _write_notebooks(notebooks, out / "solution", overwrite=True, stale=True),
            "student": _write_notebooks({name: to_student(nb) for name, nb in notebooks.items()}, out / "student",
                                        overwrite=True, stale=True)}


def _fresh_name(folder: Path, stem: str) -> str:
    """Where the fresh copy of notebook ``stem`` goes in the learner's ``folder``: ``stem.ipynb``, unless the
    learner changed it (or wrote it); then beside it, ``stem.new.ipynb`` (``stem.new2.ipynb``... when the learner
    changed that one too)."""
    for suffix in ("", ".new", *(f".new{n}" for n in range(2, 1000))):
        path = folder / f"{stem}{suffix}.ipynb"
        if not path.exists() or is_own_output(path):
            return path.name
    raise CourseSourceError(f"{folder}/ holds {stem}.new2.ipynb to {stem}.new999.ipynb: move them away.")


def make_student(src: str | os.PathLike = "course", out: str | os.PathLike = "student") -> list[Path]:
    """Write the learner's copy of the course: the student variant of every notebook, without outputs.

    A learner's work is never overwritten: labkit records the checksum of each notebook it writes
    (:func:`labkit.outputs.atomic_files`), and replaces only those that nobody changed since. A notebook the learner
    changed (or one labkit did not write) is kept, and its fresh copy is written beside it as ``NN_name.new.ipynb``
    (``NN_name.new2.ipynb``, ... when the learner changed that one too); a message names them.

    Parameters
    ----------
    src : path, default "course"
    out : path, default "student"
        Created if needed. Nothing there is ever removed.

    Returns
    -------
    list of Path
        The notebooks written, in course order.

    Example
    -------
    >>> [p.name for p in make_student("course", "student")][:1]  # doctest: +SKIP
    ['00_data_cube.ipynb']
    >>> [p.name for p in make_student("course", "student")][:1]  # after the learner worked in 00  # doctest: +SKIP
    Kept your changed notebook(s) 00_data_cube.ipynb in student/; the fresh copies are beside them: 00_data_cube.new.ipynb.
    ['00_data_cube.new.ipynb']
    """
    out = check_destination(out, kind="folder")
    sources = course_sources(src)
    notebooks = {_fresh_name(out, path.stem): to_student(read_source(path)) for path in sources}
    kept = [f"{path.stem}.ipynb" for path in sources if f"{path.stem}.ipynb" not in notebooks]
    if kept:
        beside = [name for name in notebooks if name.split(".")[0] + ".ipynb" in kept]
        print(f"Kept your changed notebook(s) {', '.join(kept)} in {out}/; the fresh copies are beside them: "
              f"{', '.join(beside)}.")
    return _write_notebooks(notebooks, out, overwrite=False, stale=False)


def solution_source(exercise_id: str, src: str | os.PathLike = COURSE_FOLDER) -> str | None:
    """The code of the solution cell of exercise ``exercise_id`` in the course sources ``src`` (``None`` when no
    source there answers it: a learner's install without the course's sources).

    Example
    -------
    >>> print(solution_source("02.held_count"))  # doctest: +SKIP
    # n_held: an integer, the number of dates of wide_grid where the pixel's value is held.
    n_held = int((pixel_flags == 1).sum())
    """
    number = exercise_id.split(".", 1)[0]
    for path in sorted(Path(src).glob(f"{number}_*.py")):
        nb = read_source(path)
        index = solution_cells(nb).get(exercise_id)
        if index is not None:
            return nb.cells[index].source
    return None


# -------------------------------------------------------------------------------------------------- the book


def _toc_files(entry) -> list[str]:
    """Every ``file:`` of a ``_toc.yml``, depth first, in order."""
    found: list[str] = []
    if isinstance(entry, dict):
        if isinstance(entry.get("root"), str):
            found.append(entry["root"])
        if isinstance(entry.get("file"), str):
            found.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            for child in entry.get(key, []) or []:
                found += _toc_files(child)
    elif isinstance(entry, list):
        for child in entry:
            found += _toc_files(child)
    return found


def toc_notebooks(book: str | os.PathLike = "book") -> list[str]:
    """The notebook names (``NN_name``) the book's ``_toc.yml`` lists under ``notebooks/``, in order.

    Example
    -------
    >>> toc_notebooks("book")  # doctest: +SKIP
    ['00_data_cube']
    """
    import yaml

    path = Path(book) / "_toc.yml"
    try:
        toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise BookBuildError(f"{path}: cannot be read ({error}).") from error
    files = [str(Path(f).with_suffix("")) if f.endswith((".ipynb", ".md")) else f for f in _toc_files(toc)]
    return [f.split("/", 1)[1] for f in files if f.startswith("notebooks/")]


def check_toc(book: str | os.PathLike, names: list[str]) -> None:
    """Check that the book's ``_toc.yml`` lists exactly the notebooks ``names`` (``NN_name``), in this order.

    Raises
    ------
    BookBuildError
        Saying which notebooks are missing from the TOC, or listed but not built, and the line to add.
    """
    listed = toc_notebooks(book)
    missing = [n for n in names if n not in listed]
    unknown = [n for n in listed if n not in names]
    toc = Path(book) / "_toc.yml"
    if missing or unknown:
        parts = []
        if missing:
            lines = " ".join(f"'- file: notebooks/{n}'" for n in missing)
            parts.append(f"these notebooks are missing from it: {missing} (add {lines} to the course part)")
        if unknown:
            parts.append(f"it lists notebooks that the course does not have: {unknown} (remove them)")
        raise BookBuildError(f"{toc} does not match the course: " + "; ".join(parts) + ".")
    if listed != list(names):
        raise BookBuildError(f"{toc} lists the notebooks in the order {listed}; put them in course order {names}.")


def _book_copy(nb):
    """The book's copy of a solution notebook: solution cells get ``hide-input`` (reveal the code on demand)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        tags = _tags(cell)
        if SOLUTION_TAG in tags and cell.cell_type == "code" and BOOK_HIDE_TAG not in tags:
            cell.metadata["tags"] = [*tags, BOOK_HIDE_TAG]
    return nb


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE): |ExecutionError: |Exception occurred")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)(: .*)?$")


def summarize_log(lines: list[str], *, max_lines: int = 60) -> str:
    """The lines of a jupyter-book build log that say what went wrong.

    Keeps the Sphinx warnings and errors, the name of a notebook that failed, and the failing cell with its
    exception (the block that starts at ``CellExecutionError``); falls back on the end of the log.

    Example
    -------
    >>> print(summarize_log(["reading sources...", "/b/intro.md:3: WARNING: undefined label: 'x'", "done"]))
    /b/intro.md:3: WARNING: undefined label: 'x'
    """
    kept: list[str] = []
    in_cell = False
    for line in lines:
        if line.startswith("[IPKernelApp]"):  # the kernel's own log (e.g. its note on TCP transport)
            continue
        if "CellExecutionError:" in line and not in_cell and not any("CellExecutionError:" in k for k in kept):
            in_cell = True
        if in_cell:
            kept.append(line)
            if _EXCEPTION.match(line.strip()) and "CellExecutionError" not in line:
                in_cell = False
        elif _PROBLEM.search(line) and line not in kept:
            kept.append(line)
    if not kept:
        kept = lines[-max_lines:]
    if len(kept) > max_lines:
        kept = kept[:max_lines] + [f"... ({len(kept) - max_lines} more lines: see the build log above)"]
    return "\n".join(kept)


def run_jupyter_book(book: str | os.PathLike = "book", *, builder: str = "html", echo: bool = True) -> Path:
    """Run ``jupyter-book build`` on ``book`` from scratch, with warnings as errors; return the output folder.

    The build is run with ``--all`` (a fresh environment: warnings of unchanged pages are reported again),
    ``--warningiserror`` and ``--keep-going`` (all warnings are listed, then the build fails). Executing the
    notebooks, their timeout and the failure on a cell error are set in ``book/_config.yml``.

    Parameters
    ----------
    book : path, default "book"
    builder : str, default "html"
    echo : bool, default True
        Print the build log as it goes (else it is only kept for the error message).

    Raises
    ------
    BookBuildError
        When jupyter-book exits with an error; the message lists the warnings, errors and failed cells of the
        build log (see :func:`summarize_log`).
    """
    book = Path(book).resolve()
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(book),
               "--all", "--warningiserror", "--keep-going", "--builder", builder]
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel's inline backend shows the figures; Agg would warn on plt.show()
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets the debugger's note on frozen modules
    log: list[str] = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(_ANSI.sub("", line.rstrip("\n")))
            if echo:
                print(line, end="", flush=True)
        code = process.wait()
    if code != 0:
        raise BookBuildError(f"jupyter-book build {book} failed (exit code {code}):\n{summarize_log(log)}")
    return book / "_build" / builder


_SCRIPT_SRC = re.compile(r"""<script\b[^>]*?\bsrc=["']([^"'?#]+)""")


def missing_scripts(html: str | os.PathLike) -> dict[str, list[str]]:
    """The scripts that the pages of a built book load from the book itself but that are not there.

    Looks at every page but the theme's templates (under ``_static/``). Returns ``{script's path in the book: [pages that load it]}``; a script from another host is not looked at.

    Example
    -------
    >>> import tempfile
    >>> html = Path(tempfile.mkdtemp())
    >>> _ = (html / "page.html").write_text('<script src="_static/mathjax/tex-mml-chtml.js?v=1"></script>')
    >>> missing_scripts(html)
    {'_static/mathjax/tex-mml-chtml.js': ['page.html']}
    """
    html = Path(html).resolve()
    missing: dict[str, list[str]] = {}
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.relative_to(html).parts:  # the theme's templates
            continue
        for src in _SCRIPT_SRC.findall(page.read_text(encoding="utf-8", errors="replace")):
            if "//" in src or src.startswith("/"):
                continue
            script = (page.parent / src).resolve()
            if not script.is_file():
                name = script.relative_to(html).as_posix() if script.is_relative_to(html) else src
                missing.setdefault(name, []).append(page.relative_to(html).as_posix())
    return missing


def hub_launch_link(page: str, environ=None) -> str | None:
    """The link of a notebook page's launch button: it opens the notebook on the course's JupyterHub.

    The hub is named by the environment variable ``LABKIT_HUB_URL``, the course's repository by
    ``LABKIT_COURSE_REPO``; the link is :func:`labkit.course.publish.nbgitpuller_link`'s, which pulls the student
    branch (``labkit course publish``) and opens the learner's copy of the notebook. With neither variable set,
    or for a page that is not a notebook (``notebooks/NN_name``), there is no button: None.

    Parameters
    ----------
    page : str
        The page's name in the book, e.g. ``"notebooks/00_data_cube"``.
    environ : mapping, optional
        Where to read the two variables (default: ``os.environ``).

    Raises
    ------
    labkit.errors.ConfigError
        When only one of the two variables is set, or one is not an http(s) URL.

    Example
    -------
    >>> env = {"LABKIT_HUB_URL": "https://hub.example.org", "LABKIT_COURSE_REPO": "https://github.com/org/labkit"}
    >>> print(hub_launch_link("notebooks/00_data_cube", env))
    https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Forg%2Flabkit&branch=student&urlpath=lab%2Ftree%2Flabkit%2F00_data_cube.ipynb
    >>> hub_launch_link("notebooks/00_data_cube", {}), hub_launch_link("intro", env)
    (None, None)
    """
    from ..errors import ConfigError
    from .publish import _checked_url, nbgitpuller_link

    environ = os.environ if environ is None else environ
    hub, repo = environ.get(HUB_URL_VARIABLE, ""), environ.get(COURSE_REPO_VARIABLE, "")
    if not hub and not repo:
        return None
    if not hub or not repo:
        unset = HUB_URL_VARIABLE if not hub else COURSE_REPO_VARIABLE
        raise ConfigError(f"The book's launch buttons need both {HUB_URL_VARIABLE} (the hub's URL) and "
                          f"{COURSE_REPO_VARIABLE} (the course repository's URL), but {unset} is not set: set "
                          "both (make book HUB=https://hub.example.org REPO=https://github.com/ORG/labkit), or "
                          "neither for a book without launch buttons.")
    for name, value in ((HUB_URL_VARIABLE, hub), (COURSE_REPO_VARIABLE, repo)):
        _checked_url(value, f"The environment variable {name}", name)
    folder, name = Path(page).parent.as_posix(), Path(page).name
    if folder != "notebooks":
        return None
    return nbgitpuller_link(hub, repo, notebook=f"{name}.ipynb")


def build_book(notebooks: str | os.PathLike = "build/course/solution", book: str | os.PathLike = "book", *,
               builder: str = "html", echo: bool = True) -> Path:
    """Build the Jupyter Book: copy the solution notebooks into ``book/notebooks/``, then execute and render all.

    The TOC is checked first (:func:`check_toc`: every notebook is listed, in course order, nothing else).
    ``book/notebooks/`` is emptied of old notebooks, then gets a copy of each one, where solution cells are
    tagged ``hide-input``. Then :func:`run_jupyter_book` executes every notebook and fails on any error or
    warning. Last, every script that a page loads from the book must be in it (:func:`missing_scripts`): MathJax
    and the widgets' JavaScript are served by the book, never by a CDN.

    With the environment variables ``LABKIT_HUB_URL`` and ``LABKIT_COURSE_REPO`` set, each notebook page gets a
    launch button that opens it on that hub (:func:`hub_launch_link`).

    Parameters
    ----------
    notebooks : path, default "build/course/solution"
        The built solution notebooks (``labkit course build``).
    book : path, default "book"
        The book's folder, with ``_config.yml`` and ``_toc.yml``.
    builder : str, default "html"
    echo : bool, default True
        Print the build log as it goes.

    Returns
    -------
    Path
        The output folder, ``book/_build/html``.

    Raises
    ------
    BookBuildError
        No notebook to copy, a TOC that does not match, a notebook that fails, any Sphinx warning, or a script
        missing from the built book (MathJax and the widgets' JavaScript: ``make book-static`` fetches them).
    labkit.errors.ConfigError
        When only one of ``LABKIT_HUB_URL`` and ``LABKIT_COURSE_REPO`` is set, or one is not an http(s) URL.

    Example
    -------
    >>> build_book("build/course/solution", "book")  # doctest: +SKIP
    PosixPath('book/_build/html')
    """
    import nbformat

    notebooks, book = Path(notebooks), Path(book)
    if not (book / "_config.yml").is_file():
        raise BookBuildError(f"{book}/ is not a Jupyter Book: no _config.yml there.")
    sources = sorted(notebooks.glob("*.ipynb"))
    if not sources:
        raise BookBuildError(f"No notebooks in {notebooks}/: build them first with `labkit course build`.")
    check_toc(book, [p.stem for p in sources])
    hub_launch_link("notebooks/00", os.environ)  # a launch button's settings are checked before the long build
    target = check_destination(book / "notebooks", kind="folder")
    copies = {}
    for path in sources:  # every notebook read before anything is written
        try:
            copies[path.name] = _book_copy(nbformat.read(path, as_version=4))
        except Exception as error:  # noqa: BLE001  (nbformat raises several types for a damaged notebook)
            raise BookBuildError(f"{path}: not a readable notebook ({type(error).__name__}: "
                                 f"{str(error).splitlines()[0] if str(error) else ''}). Build it again with "
                                 "`labkit course build`.") from None
    _write_notebooks(copies, target, overwrite=True, stale=True)
    from .answers import write_answer_key  # (answers imports this module)

    write_answer_key(book)  # book/answers.md, generated from the course's sources
    html = run_jupyter_book(book, builder=builder, echo=echo)
    if missing := missing_scripts(html):
        listed = "; ".join(f"{script} (loaded by {', '.join(pages[:3])}{', ...' if len(pages) > 3 else ''})"
                           for script, pages in missing.items())
        static = (book / BOOK_STATIC).resolve()
        raise BookBuildError(f"The book in {html} loads scripts it does not have: {listed}. MathJax and the widgets' "
                             f"JavaScript are copied into the book from {static}/: fetch them with `make "
                             "book-static` (npm), then build the book again.")
    return html


# ------------------------------------------------------------------------------- the book's Sphinx extension


def setup(app) -> dict:
    """The book's Sphinx extension: ``labkit.course.build`` in ``book/_config.yml``'s ``extra_extensions``.

    * The folder ``labkit_book_static`` (a Sphinx setting, default :data:`BOOK_STATIC`, relative to the book's
      folder), when it exists, is added to the book's static files: MathJax and the widgets' JavaScript that the
      book's ``mathjax_path`` and ``nb_ipywidgets_js`` name. Where it is missing, :func:`build_book` says so.
    * Each notebook page gets a launch button in the page's header (the theme's rocket menu), whose link is
      :func:`hub_launch_link`'s, when ``LABKIT_HUB_URL`` and ``LABKIT_COURSE_REPO`` are set.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> registered = []
    >>> app = SimpleNamespace(add_config_value=lambda *a: registered.append(a[0]),
    ...                       connect=lambda event, *a, **k: registered.append(event))
    >>> _ = setup(app); registered
    ['labkit_book_static', 'builder-inited', 'html-page-context']
    """
    app.add_config_value("labkit_book_static", BOOK_STATIC, "html")
    app.connect("builder-inited", _add_book_static)
    app.connect("html-page-context", _add_launch_button, priority=502)  # after the theme makes its header buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _add_book_static(app) -> None:
    folder = Path(app.confdir, app.config.labkit_book_static).resolve()
    if folder.is_dir() and str(folder) not in app.config.html_static_path:
        app.config.html_static_path.append(str(folder))


def _add_launch_button(app, pagename, templatename, context, doctree) -> None:
    link = hub_launch_link(pagename)
    if link is None or "header_buttons" not in context:
        return
    tooltip = "Open this notebook on the course's JupyterHub"
    context["header_buttons"].append({
        "type": "group", "tooltip": tooltip, "icon": "fas fa-rocket", "label": "launch-buttons",
        "buttons": [{"type": "link", "text": "JupyterHub", "tooltip": tooltip, "url": link,
                     "icon": "_static/images/logo_jupyterhub.svg"}],
    })
