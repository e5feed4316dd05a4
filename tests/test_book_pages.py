"""The examples of the book's pages run, so that the pages never fall behind the code.

A code block of a page under ``book/`` is **tested** when it is written as a MyST ``code-block`` directive with the
class ``tested``::

    ```{code-block} python
    :class: tested

    from labkit.datasets import fetch
    ```

(``bash`` instead of ``python`` runs the block's commands in a shell, where ``labkit`` is this environment's
command.) Sphinx renders it as any code block; the class does not show. Plain fences (```` ```python ````,
```` ```bash ````) are shown only: examples that need the network (STAC searches) or files only the reader has.

The tested blocks of a page run in the page's order, the Python ones in one namespace (a later block uses what an
earlier one made), in a new temporary folder that is the current directory, with ``LABKIT_DATA_MIRROR`` set to
the local data mirror and ``LABKIT_CACHE`` to a temporary cache. Before them, the folder holds what pages read that
no public dataset provides: ``products/``, two Theia/MAJA L2A and two Sentinel-2 L2A SAFE product folders
(``tests/_product_fixtures.py``). A failing block is reported with its page and line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from _product_fixtures import write_safe, write_theia

BOOK = Path(__file__).resolve().parents[1] / "book"

TESTED_CLASS = "tested"
"""The class (``:class: tested``) that marks a code block to run."""

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{code-block\}\s+(?P<language>\S+)\s*$")
_OPTION = re.compile(r"^:(?P<name>[\w-]+):\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Block:
    """One tested code block of a page: its language, its code and the line where the code starts."""

    language: str
    code: str
    line: int


def marked_blocks(text: str) -> list[Block]:
    """The code blocks of a MyST page marked ``:class: tested``, in the page's order."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        options = {}
        while index < len(lines) and (option := _OPTION.match(lines[index])):
            options[option["name"]] = option["value"].split()
            index += 1
        if index < len(lines) and not lines[index].strip():
            index += 1  # the blank line between the options and the code
        start = index
        fence = opening["fence"]
        while index < len(lines) and lines[index].strip() != fence:
            index += 1
        if index == len(lines):
            raise ValueError(f"line {start}: a code block that is never closed (by {fence}).")
        if TESTED_CLASS in options.get("class", []):
            blocks.append(Block(opening["language"], "\n".join(lines[start:index]) + "\n", start + 1))
        index += 1
    return blocks


PAGES = sorted(path for path in BOOK.glob("*.md") if marked_blocks(path.read_text(encoding="utf-8")))


def test_tested_blocks_are_found_with_their_options_and_lines():
    page = "\n".join([
        "# Title", "", "```{code-block} python", ":class: tested", "", "x = 1", "```", "",
        "```python", "shown_only = True", "```", "",
        "```{code-block} bash", ":class: other tested", ":linenos:", "labkit --help", "```", "",
        "```{code-block} python", "untested = 1", "```",
    ])
    assert marked_blocks(page) == [Block("python", "x = 1\n", 6), Block("bash", "labkit --help\n", 16)]
    with pytest.raises(ValueError, match="never closed"):
        marked_blocks("```{code-block} python\n:class: tested\n\nx = 1\n")


def test_the_own_data_page_has_tested_examples():
    assert BOOK / "own_data.md" in PAGES  # a page whose marks were lost would silently run nothing


def _write_products(folder: Path) -> None:
    for index, date in enumerate(("2018-06-01T10:54:16", "2018-06-11T10:54:16")):
        write_theia(folder, date, date_index=index)
    for index, date in enumerate(("2022-06-02T10:16:11", "2022-06-07T10:16:11")):
        write_safe(folder, date, date_index=index)


@pytest.mark.mirror
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_tested_examples_of_a_page_run(page, mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    work = tmp_path / "work"
    _write_products(work / "products")
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__book_page__"}
    for block in marked_blocks(page.read_text(encoding="utf-8")):
        where = f"{page.name}, the block at line {block.line}"
        if block.language == "python":
            try:
                exec(compile(block.code, f"{page.name}:{block.line}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"{where} fails: {type(error).__name__}: {error}") from error
        elif block.language in ("bash", "shell", "console"):
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, f"{where} fails (exit {done.returncode}):\n{done.stderr[-2000:]}"
        else:
            raise AssertionError(f"{where}: tested blocks are python or bash, not {block.language!r}.")
