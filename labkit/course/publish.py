"""Publish the learner's notebooks for a JupyterHub: a folder for the course's ``student`` branch, and the links
that hand them out.

A hub gives each learner the course with `nbgitpuller <https://nbgitpuller.readthedocs.io>`_: a link opens the
learner's server, clones (then, on later clicks, updates) a branch of a git repository into their home folder, and
opens a notebook. Learners' changes are kept: nbgitpuller merges the branch's updates around them. That branch
holds the student notebooks alone (no solutions, no outputs, no labkit sources):

* :func:`publish_student` writes them into a folder, a git worktree of that branch (``labkit course publish --out
  DIR``, ``make publish``), with a README for the learners; the maintainer commits and pushes the branch (book page
  *Serving the course on a JupyterHub*);
* :func:`nbgitpuller_link` makes the link of a notebook:
  ``https://HUB/hub/user-redirect/git-pull?repo=REPO&branch=BRANCH&urlpath=lab/tree/FOLDER/NN_name.ipynb``
  (each value URL-encoded), where ``FOLDER``, the clone in the learner's home, is the repository's name.

Example
-------
>>> print(nbgitpuller_link("https://hub.example.org", "https://github.com/org/labkit", notebook="00_data_cube.ipynb"))
https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Forg%2Flabkit&branch=student&urlpath=lab%2Ftree%2Flabkit%2F00_data_cube.ipynb
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

from .. import __version__
from ..errors import ConfigError
from ..outputs import atomic_files
from .build import course_sources, read_source, to_student

DEFAULT_BRANCH = "student"
"""The branch of the course's repository that holds the published student notebooks."""
README = "README.md"
"""The learners' README that :func:`publish_student` writes beside the notebooks."""


def _checked_url(url: str, what: str, option: str) -> str:
    """``url`` without a trailing slash, when it is an http(s) URL."""
    parsed = urlparse(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{what} {url!r} is not an http(s) URL: give {option} as https://HOST/...")
    return str(url).rstrip("/")


def clone_folder(repo: str) -> str:
    """The folder into which nbgitpuller clones ``repo`` in the learner's home: the repository's name.

    Example
    -------
    >>> clone_folder("https://github.com/org/labkit-course/")
    'labkit-course'
    """
    return str(repo).rstrip("/").split("/")[-1]


def nbgitpuller_link(hub: str, repo: str, *, branch: str = DEFAULT_BRANCH, notebook: str | None = None) -> str:
    """The nbgitpuller link that pulls ``branch`` of ``repo`` into a learner's home on ``hub`` and opens ``notebook``.

    Parameters
    ----------
    hub : str
        The hub's URL, e.g. ``https://hub.example.org`` (with its base path, if any).
    repo : str
        The git repository's URL, as ``git clone`` takes it (public, or readable by the hub).
    branch : str, default "student"
    notebook : str, optional
        A notebook of the branch (``NN_name.ipynb``), opened in JupyterLab; default: the folder of the clone.

    Raises
    ------
    labkit.errors.ConfigError
        ``hub`` or ``repo`` not an http(s) URL.

    Example
    -------
    >>> nbgitpuller_link("https://hub.example.org/", "https://github.com/org/labkit", branch="v1")
    'https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Forg%2Flabkit&branch=v1&urlpath=lab%2Ftree%2Flabkit'
    """
    hub = _checked_url(hub, "The hub's URL", "--hub")
    repo = _checked_url(repo, "The repository's URL", "--repo")
    path = "/".join(part for part in ("lab/tree", clone_folder(repo), notebook) if part)
    query = urlencode({"repo": repo, "branch": branch, "urlpath": path}, quote_via=quote, safe="")
    return f"{hub}/hub/user-redirect/git-pull?{query}"


def _readme(names: list[str], hub: str | None, repo: str | None, branch: str) -> str:
    """The learners' README of the published folder (with a link per notebook when ``hub`` and ``repo`` are known)."""
    if hub and repo:
        rows = [f"| [{Path(name).stem}]({nbgitpuller_link(hub, repo, branch=branch, notebook=name)}) |"
                for name in names]
        table = ["| open on the hub |", "|---|", *rows]
    else:
        table = [f"- `{name}`" for name in names]
    return "\n".join([
        "# labkit course: your notebooks",
        "",
        "The notebooks of the labkit course (land-cover mapping from satellite image time series), with the",
        "exercises left for you to write. Work through them in order; after each exercise, the check cell says what",
        "differs from the expected answer, `hint()` helps, and `solution()` shows the solution.",
        "",
        *table,
        "",
        "Each link opens the notebook on the hub; clicking it again later brings the course's updates without",
        "touching the notebooks you changed. On your own machine: install labkit (its README), then `make lab`.",
        "",
        f"Generated by `labkit course publish` (labkit {__version__}) from the course's sources: do not edit here,",
        "edit the sources and publish again.",
        "",
    ])


def publish_student(out: str | os.PathLike, src: str | os.PathLike = "course", *, hub: str | None = None,
                    repo: str | None = None, branch: str = DEFAULT_BRANCH, overwrite: bool = False) -> list[Path]:
    """Write the learner's notebooks and their README into ``out``, the folder published as the ``student`` branch.

    The notebooks are the student variant of every source (:func:`labkit.course.build.to_student`: solutions
    replaced by stubs, no outputs), ``NN_name.ipynb``; ``README.md`` lists them, with their nbgitpuller links when
    ``hub`` and ``repo`` are given. All are written or none (:func:`labkit.outputs.atomic_files`, which records them
    in ``out/.labkit-outputs.json``: commit it with them). The next publication replaces them, and removes the
    notebooks whose source is gone; nothing else in ``out`` is touched (a ``.git`` of a worktree stays).

    Parameters
    ----------
    out : path
        The folder (created if needed): a worktree of the branch, e.g. ``build/student-branch``.
    src : path, default "course"
        The folder of the ``NN_name.py`` sources.
    hub, repo : str, optional
        The hub's URL and the repository's, for the README's links (see :func:`nbgitpuller_link`).
    branch : str, default "student"
    overwrite : bool, default False
        Replace files of the same names that labkit did not write, or that were changed since.

    Returns
    -------
    list of Path
        The notebooks written, in course order, then the README.

    Raises
    ------
    labkit.errors.OutputExistsError
        ``out`` holds a file of the same name (``README.md``...) that is not an unchanged output of labkit: choose an
        empty folder, or pass ``overwrite=True`` (``--overwrite``).
    labkit.errors.ConfigError
        Only one of ``hub`` and ``repo`` given, or not an http(s) URL.

    Example
    -------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "student-branch"
    >>> [p.name for p in publish_student(out, "course")][-2:]  # doctest: +SKIP
    ['09_notebook_to_batch.ipynb', 'README.md']
    """
    import nbformat

    if (hub is None) != (repo is None):
        raise ConfigError("Give both the hub's URL and the repository's (--hub and --repo) for the README's links, "
                          "or neither.")
    if hub is not None:
        nbgitpuller_link(hub, repo, branch=branch)  # checked before anything is written
    notebooks = {f"{path.stem}.ipynb": to_student(read_source(path)) for path in course_sources(src)}
    out = Path(out)
    old = sorted(p.name for p in out.glob("[0-9][0-9]_*.ipynb")) if out.is_dir() else []
    with atomic_files(out, overwrite=overwrite, expected=[*notebooks, README],
                      stale=[name for name in old if name not in notebooks]) as staging:
        for name, nb in notebooks.items():
            nbformat.write(nb, staging / name)
        (staging / README).write_text(_readme(list(notebooks), hub, repo, branch), encoding="utf-8")
    return [out / name for name in [*notebooks, README]]
