"""The built book, checked as a reader sees it: in headless Chromium, with no network but the book's own server.

Run by `make book-check` (after `make book`; see conftest.py). The book is served over HTTP on 127.0.0.1, and
Chromium resolves no other host name, so a script that the book loaded from a CDN would fail here as it would offline.
Checked: every internal link and anchor of every page resolves, no page loads a script or a style sheet from another
host; on the home page, the bibliography and every notebook page, the equations are typeset by MathJax (no raw
``\\(`` or ``$$`` left), every image loads, the notebooks' tables and widgets are shown. Screenshots of the home page
and of a notebook page go to LABKIT_SCREENSHOTS (build/screenshots).
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .chromium import Chromium

HTML = Path(os.environ.get("LABKIT_BOOK_HTML", "book/_build/html"))
SCREENSHOTS = Path(os.environ.get("LABKIT_SCREENSHOTS", "build/screenshots"))
NOTEBOOK_SHOT = "02_gap_filling"
"""The notebook page whose screenshots are saved (it has equations and figures)."""


def built_pages() -> list[Path]:
    """The book's HTML pages (not the theme's templates under _static/)."""
    if not (HTML / "intro.html").is_file():
        pytest.fail(f"No built book in {HTML}/: run `make book` first.")
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.relative_to(HTML).parts)


def notebook_pages() -> list[str]:
    return [p.relative_to(HTML).as_posix() for p in built_pages() if p.parent.name == "notebooks"]


# ------------------------------------------------------------------------------------------ the HTML files


class _Page(HTMLParser):
    """The links (href/src) and the ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.external_assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.links.append((tag, attrs[key]))
        asset = attrs.get("src") if tag == "script" else attrs.get("href") if (
            tag == "link" and "stylesheet" in (attrs.get("rel") or "")) else None
        if asset and (urlsplit(asset).scheme or asset.startswith("//")):
            self.external_assets.append(f"<{tag}> {asset}")


@functools.cache
def parsed(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_internal_link_and_anchor_resolves():
    broken = []
    for page in built_pages():
        for tag, url in parsed(page).links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or not (parts.path or parts.fragment):
                continue  # another host, mailto:, data:, javascript:; or a bare "#"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(HTML)}: <{tag}> {url}"
            if not target.is_file():
                broken.append(f"{where}: no file {target}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parsed(target).ids:
                broken.append(f"{where}: no id {parts.fragment!r} in {target.relative_to(HTML)}")
    assert not broken, f"{len(broken)} broken internal link(s):\n" + "\n".join(broken[:40])


def test_no_page_loads_a_script_or_a_style_sheet_from_another_host():
    external = {f"{page.relative_to(HTML)}: {asset}" for page in built_pages()
                for asset in parsed(page).external_assets}
    assert not external, "\n".join(sorted(external))


def test_the_book_has_every_notebook_page():
    names = [Path(p).stem for p in notebook_pages()]
    sources = sorted(p.stem for p in (Path(__file__).parents[2] / "course").glob("[0-9][0-9]_*.py"))
    assert names == sources


# ----------------------------------------------------------------------------------------- in the browser

PAGE_REPORT = r"""
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const main = document.querySelector("main") || document.body;
  // ipywidgets' HTML manager puts a .widget-subarea before each view it renders
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = (view) => {
    const area = view.previousElementSibling;
    return !!(area && area.classList.contains("widget-subarea") && area.children.length);
  };
  for (let i = 0; i < 100 && !views.every(rendered); i++) await sleep(100);
  const images = [...main.querySelectorAll("img")];
  images.forEach((img) => { img.loading = "eager"; });
  for (let i = 0; i < 100 && !images.every((img) => img.complete); i++) await sleep(100);
  const rawTex = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("pre, code, script, style, textarea, mjx-container")) continue;
    if (/\\\(|\\\[|\$\$/.test(node.textContent)) rawTex.push(node.textContent.trim().slice(0, 80));
  }
  const maths = [...main.querySelectorAll(".math")];
  return {
    mathjax: !!(window.MathJax && MathJax.version),
    maths: maths.length,
    typeset: maths.filter((m) => m.querySelector("mjx-container")).length,
    texErrors: main.querySelectorAll("mjx-merror").length,
    rawTex,
    images: images.length,
    brokenImages: images.filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src),
    tables: main.querySelectorAll("table").length,
    views: views.length,
    renderedViews: views.filter(rendered).length,
  };
})()
"""


HARMLESS_ERRORS = {
    "Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe's inline script, included twice by the "
                                                          "theme (thebe is off)",
    "reading 'Queue'": "ipywidgets' HTML manager calls MathJax 2's MathJax.Hub.Queue; the book's MathJax is 3 "
                       "(the widget itself is shown: see the widgets' test)",
    "L is not defined": "in a folium map's frame: Leaflet comes from a CDN, which an offline reader lacks",
}
"""Uncaught JavaScript errors that do not stop the book from showing its content offline, and why."""


@pytest.fixture(scope="module")
def book_url():
    """The built book served over HTTP on 127.0.0.1 (a thread of this process), for the tests of this module."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    with Chromium(offline=True) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def reports(book_url, browser):
    """``{page: (report of PAGE_REPORT, requests to other hosts, uncaught JS exceptions)}`` for the home page,
    the bibliography and every notebook page; screenshots saved on the way."""
    found = {}
    for page in ["intro.html", "bibliography.html", *notebook_pages()]:
        browser.open(f"{book_url}/{page}")
        report = browser.evaluate(PAGE_REPORT)
        outside = [r for r in browser.requests if not r["url"].startswith((book_url, "data:", "blob:", "about:"))]
        found[page] = report, outside, list(browser.exceptions)
        if page == "intro.html":
            browser.screenshot(SCREENSHOTS / "home.png")
        elif Path(page).stem == NOTEBOOK_SHOT:
            browser.screenshot(SCREENSHOTS / f"notebook-{NOTEBOOK_SHOT[:2]}.png")
            browser.evaluate("document.querySelector('.math mjx-container')?.scrollIntoView({block: 'center'})")
            browser.screenshot(SCREENSHOTS / f"notebook-{NOTEBOOK_SHOT[:2]}-equations.png")
    return found


def test_equations_are_typeset_by_the_books_own_mathjax(reports):
    problems = []
    for page, (report, _, _) in reports.items():
        if report["maths"] and not report["mathjax"]:
            problems.append(f"{page}: MathJax did not load")
        if report["typeset"] != report["maths"] or report["rawTex"] or report["texErrors"]:
            problems.append(f"{page}: {report['typeset']} of {report['maths']} equations typeset, "
                            f"{report['texErrors']} TeX errors, raw TeX left: {report['rawTex'][:3]}")
    assert not problems, "\n".join(problems)
    assert sum(report["maths"] for report, _, _ in reports.values()) > 0, "no equation in the whole book"


def test_figures_load_and_tables_are_shown(reports):
    broken = [f"{page}: {src}" for page, (report, _, _) in reports.items() for src in report["brokenImages"]]
    assert not broken, "images that do not load:\n" + "\n".join(broken)
    notebooks = {page: report for page, (report, _, _) in reports.items() if page.startswith("notebooks/")}
    without_output = [page for page, report in notebooks.items() if not (report["images"] or report["tables"])]
    assert not without_output, f"notebook pages with neither a figure nor a table: {without_output}"
    assert sum(report["images"] for report in notebooks.values()) >= len(notebooks)
    assert sum(report["tables"] > 0 for report in notebooks.values()) >= 2


def test_widgets_are_rendered_by_the_books_own_widget_manager(reports):
    views = {page: report for page, (report, _, _) in reports.items() if report["views"]}
    unrendered = [f"{page}: {r['renderedViews']} of {r['views']}" for page, r in views.items()
                  if r["renderedViews"] != r["views"]]
    assert not unrendered, "widgets not rendered:\n" + "\n".join(unrendered)


def test_pages_need_no_other_host_and_raise_no_javascript_error(reports):
    outside = [f"{page}: {r['type']} {r['url']}" for page, (_, requests, _) in reports.items()
               for r in requests if r["frame"] is None]
    assert not outside, "requests to other hosts:\n" + "\n".join(outside)
    errors = [f"{page}: {error.splitlines()[0]}" for page, (_, _, exceptions) in reports.items()
              for error in exceptions if not any(known in error for known in HARMLESS_ERRORS)]
    assert not errors, "uncaught JavaScript errors:\n" + "\n".join(errors)


def test_screenshots_are_saved(reports):
    for name in ("home.png", f"notebook-{NOTEBOOK_SHOT[:2]}.png"):
        shot = SCREENSHOTS / name
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
