"""``labkit doctor``: the set-up check a learner runs before the workshop.

:func:`diagnose` checks, one item at a time, what the course needs of the machine it runs on: the Python version
(labkit's ``Requires-Python``), the packages labkit requires (installed, at the versions of ``requirements.lock``
where the lock is found beside the package), the course's data (the embedded datasets load; the public files
the notebooks fetch are in the cache, or a mirror holds them), memory, free disk space, JupyterLab with a kernel
that runs this Python, ipywidgets' JupyterLab front end, and write access to the working folder. Each item gives a
:class:`Check`: ``ok`` (✓), ``warn`` (!: the course runs, with a caveat) or ``fail`` (✗: something to fix first),
with what to do. :func:`print_checks` prints one line per item, :func:`checks_as_json` the object instructors
collect. It takes a few seconds: it imports no heavy package (PyTorch is only looked up, never imported).

What the machine is asked goes through small probe functions (:func:`python_version`, :func:`installed_version`,
:func:`memory_bytes`, :func:`disk_free_bytes`...), so that a test can replace one with ``monkeypatch``.

Example
-------
>>> check = check_memory()
>>> check.item, check.status in STATUSES
('memory', True)
>>> print(format_check(Check("disk", "fail", "200 MB free in /tmp", fix="free some space")))
✗ disk            200 MB free in /tmp
                  → free some space
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import __version__
from ..outputs import format_bytes

STATUSES = ("ok", "warn", "fail")
"""A check's status: all right, a warning (the course runs, with a caveat), a problem to fix before the course."""
SYMBOLS = {"ok": "✓", "warn": "!", "fail": "✗"}
ASCII_SYMBOLS = {"ok": "+", "warn": "!", "fail": "x"}
"""The symbols where the terminal cannot print ✓ and ✗ (an old Windows console)."""

DISTRIBUTION = "labkit"
EXTRAS = ("course",)
"""The extras of labkit a learner installs (``pip install -e ".[course]"``): their packages are checked too."""
LOCK_FILE = Path(__file__).resolve().parents[2] / "requirements.lock"
"""The lock of a checkout of the repository, beside the ``labkit`` package (absent from an installed wheel)."""
INSTALL_COMMAND = 'python -m pip install -c requirements.lock -e ".[course]"'
"""The install of the course, run in the repository's folder (book/setup.md)."""

GIB = 1024**3
KERNEL_MEMORY = int(1.5 * GIB)
"""Memory a learner needs: notebook 09's peak, 1.3 GB (its kernel with 2 Dask workers, book/hub.md's sizing table),
with JupyterLab's server; the other notebooks need 300 to 700 MB."""
DISK_NEEDED = 1 * GIB
"""Free disk space a learner needs: the notebooks write their outputs (up to a few hundred MB) in temporary folders."""

COURSE_DATASETS = ("s2-bolzano-tiny", "sits-sinop")
"""The public datasets the notebooks fetch (notebook 00 parts of both, the capstone 10 all of sits-sinop)."""
FETCH_COMMAND = ("python -c \"from labkit.datasets import fetch; "
                 f"[fetch(name) for name in {COURSE_DATASETS!r}]\"")
"""Fetches them into the cache (0.5 MB), as hub/Dockerfile does."""
KERNEL_NAME = "python3"
"""The kernel every notebook of the course asks for."""


@dataclass(frozen=True)
class Check:
    """The result of one item of :func:`diagnose`.

    Parameters
    ----------
    item : str
        What was checked ("Python", "packages", "memory"...).
    status : {"ok", "warn", "fail"}
    message : str
        What was found, in one line.
    fix : str, default ""
        What to do when the status is not "ok" (a command where there is one).

    Example
    -------
    >>> Check("Python", "ok", "3.11.9").failed
    False
    """

    item: str
    status: str
    message: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Check status must be one of {STATUSES}, not {self.status!r}.")

    @property
    def failed(self) -> bool:
        """Whether this item must be fixed before the course (status "fail")."""
        return self.status == "fail"


# ------------------------------------------------------------------------------------ probes (replaceable in tests)


def python_version() -> tuple[int, int, int]:
    """The running Python's version, ``(major, minor, micro)``."""
    return tuple(sys.version_info[:3])


def labkit_metadata():
    """The installed labkit distribution's metadata (None when labkit runs from sources not installed)."""
    try:
        return importlib.metadata.metadata(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def lock_pins(path: Path = LOCK_FILE) -> dict[str, str] | None:
    """``{normalized name: version}`` of ``requirements.lock`` (None when there is no lock: an installed wheel)."""
    from packaging.utils import canonicalize_name

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return pins


def memory_bytes() -> tuple[int, int] | None:
    """``(total, available)`` memory in bytes (psutil, else ``/proc/meminfo``); None when it cannot be told."""
    try:
        import psutil
    except ImportError:
        try:
            fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
            return int(fields["MemTotal"].split()[0]) * 1024, int(fields["MemAvailable"].split()[0]) * 1024
        except (OSError, KeyError, ValueError):
            return None
    memory = psutil.virtual_memory()
    return memory.total, memory.available


def disk_free_bytes(folder: Path) -> int:
    """Free bytes on the disk of ``folder``."""
    return shutil.disk_usage(folder).free


def is_writable(folder: Path) -> bool:
    """Whether a file can be created (and removed) in ``folder``."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def module_found(name: str) -> bool:
    """Whether module ``name`` can be imported (looked up, not imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def kernel_specs() -> dict[str, dict]:
    """Jupyter's kernel specs, ``{name: {"resource_dir": ..., "spec": {...}}}`` (``jupyter_client.kernelspec``)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager().get_all_specs()


def load_embedded() -> list[str]:
    """Load the datasets embedded in labkit; return their names (raises what a loader raises)."""
    from ..datasets import load_bolzano, load_slovenia

    load_slovenia()
    load_bolzano()
    return ["Slovenia", "Bolzano"]


def missing_course_files() -> tuple[Path, list[str]]:
    """The cache folder, and the files of :data:`COURSE_DATASETS` missing from it (or of another size than registered)."""
    from ..datasets.remote import cache_folder, file_sizes, files_of

    cache = cache_folder()
    sizes = file_sizes()
    missing = []
    for name in COURSE_DATASETS:
        for file in files_of(name):
            path = cache / file
            if not path.is_file() or (file in sizes and path.stat().st_size != sizes[file]):
                missing.append(file)
    return cache, missing


def course_mirror() -> Path | str | None:
    """Where fetched files come from instead of GitHub: the local mirror folder, an URL, or None (the origin).

    Raises :class:`~labkit.errors.DatasetError` when ``$LABKIT_DATA_MIRROR`` names a folder that does not exist.
    """
    from ..datasets.remote import ORIGIN_URL, mirror_folder, source_url

    url = source_url()
    if url == ORIGIN_URL:
        return None
    return mirror_folder() or url


# ------------------------------------------------------------------------------------------------------ checks


def check_python() -> Check:
    """The running Python satisfies labkit's ``Requires-Python`` (3.11).

    Example
    -------
    >>> check_python().status
    'ok'
    """
    from packaging.specifiers import SpecifierSet

    version = ".".join(map(str, python_version()))
    metadata = labkit_metadata()
    needed = (metadata and metadata.get("Requires-Python")) or ">=3.11,<3.12"
    if SpecifierSet(needed).contains(version, prereleases=True):
        return Check("Python", "ok", f"{version} ({sys.executable})")
    return Check("Python", "fail", f"{version}, labkit needs Python {needed} ({sys.executable})",
                 fix="install Python 3.11 and make the course's environment with it (book/setup.md), "
                     "e.g. python3.11 -m venv .venv, or conda env create -f environment.yml")


def _requirements() -> list:
    """labkit's requirements, those of the base install and of :data:`EXTRAS`."""
    from packaging.requirements import Requirement

    metadata = labkit_metadata()
    wanted = []
    for line in (metadata.get_all("Requires-Dist") or []) if metadata else []:
        requirement = Requirement(line)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra}) for extra in EXTRAS):
            if requirement.name not in [r.name for r in wanted]:
                wanted.append(requirement)
    return wanted


def check_packages() -> Check:
    """Every package labkit (and its ``course`` extra) requires is installed, at the version of the lock.

    A missing package, or one whose version labkit does not accept, fails (with the pip command that installs the
    pinned versions); a version other than ``requirements.lock``'s is a warning.

    Example
    -------
    >>> check_packages().status in STATUSES
    True
    """
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    if labkit_metadata() is None:
        return Check("packages", "fail", "labkit is not installed in this Python",
                     fix=f"in the labkit folder: {INSTALL_COMMAND}")
    pins = lock_pins() or {}
    missing, unaccepted, drifted = [], [], []
    requirements = _requirements()
    for requirement in requirements:
        key = canonicalize_name(requirement.name)
        version = installed_version(requirement.name)
        pinned = pins.get(key) or next((s.version for s in requirement.specifier if s.operator == "=="), None)
        wanted = f"{requirement.name}=={pinned}" if pinned else requirement.name
        if version is None:
            missing.append(wanted)
        elif not requirement.specifier.contains(version, prereleases=True):
            unaccepted.append((f"{requirement.name} {version}", wanted))
        elif key in pins:
            try:
                if Version(version).public != Version(pins[key]).public:
                    drifted.append((f"{requirement.name} {version}", wanted))
            except InvalidVersion:
                drifted.append((f"{requirement.name} {version}", wanted))
    if missing or unaccepted:
        found = ([f"missing: {', '.join(missing)}"] if missing else []) + (
            [f"version not accepted by labkit: {', '.join(have for have, _ in unaccepted)}"] if unaccepted else [])
        wanted = [*missing, *(want for _, want in unaccepted)]
        return Check("packages", "fail", "; ".join(found),
                     fix=f"{sys.executable} -m pip install " + " ".join(f'"{w}"' for w in wanted)
                         + f" (or, in the labkit folder: {INSTALL_COMMAND})")
    where = "requirements.lock" if pins else "labkit's requirements"
    if drifted:
        return Check("packages", "warn", f"{len(requirements)} installed; not at the version of {where}: "
                     + ", ".join(f"{have} ({want})" for have, want in drifted),
                     fix=f"the course is tested with the lock's versions; in the labkit folder: {INSTALL_COMMAND}")
    return Check("packages", "ok", f"{len(requirements)} installed, at the versions of {where}")


def check_embedded_data() -> Check:
    """The datasets embedded in labkit load (most notebooks read them)."""
    try:
        names = load_embedded()
    except Exception as error:  # noqa: BLE001  (whatever breaks the loaders is reported, not raised)
        return Check("course data", "fail", f"the embedded datasets do not load ({type(error).__name__}: {error})",
                     fix=f"reinstall labkit, in the labkit folder: {INSTALL_COMMAND}")
    return Check("course data", "ok", f"the embedded datasets load ({', '.join(names)})")


def check_fetched_data() -> Check:
    """The public files the notebooks fetch are in the cache, or a local mirror holds them."""
    from ..errors import DatasetError
    from ..datasets.remote import MIRROR_VARIABLE, file_sizes

    cache, missing = missing_course_files()
    if not missing:
        return Check("fetched data", "ok", f"the files the notebooks fetch are in the cache ({cache})")
    try:
        mirror = course_mirror()
    except DatasetError as error:
        return Check("fetched data", "fail", str(error), fix=f"unset {MIRROR_VARIABLE}, or make it name the mirror")
    if isinstance(mirror, Path):
        absent = [file for file in missing if not (mirror / file).is_file()]
        if not absent:
            return Check("fetched data", "ok", f"{len(missing)} files the notebooks fetch will be copied from the "
                                               f"mirror {mirror}")
        return Check("fetched data", "fail", f"the mirror {mirror} lacks {len(absent)} files the notebooks fetch "
                                             f"(e.g. {absent[0]})",
                     fix=f"complete the mirror, or unset {MIRROR_VARIABLE} to download from GitHub")
    size = format_bytes(sum(file_sizes().get(file, 0) for file in missing))
    return Check("fetched data", "warn", f"{len(missing)} files the notebooks fetch are not in the cache ({cache}): "
                                         f"it downloads them ({size}) from {mirror or 'GitHub'}",
                 fix=f"fetch them now, while online: {FETCH_COMMAND}")


def check_memory() -> Check:
    """Total and available memory, against :data:`KERNEL_MEMORY`."""
    memory = memory_bytes()
    need = f"the course needs about {format_bytes(KERNEL_MEMORY)} (notebook 09)"
    if memory is None:
        return Check("memory", "warn", f"cannot tell the memory of this machine; {need}")
    total, available = memory
    found = f"{format_bytes(total)}, {format_bytes(available)} available; {need}"
    if total < KERNEL_MEMORY:
        return Check("memory", "fail", found, fix="this machine is too small for the course: use the workshop's "
                                                  "JupyterHub, or another machine")
    if available < KERNEL_MEMORY:
        return Check("memory", "warn", found, fix="close other programs before the workshop (browser tabs, IDEs)")
    return Check("memory", "ok", found)


def check_disk(folder: Path) -> Check:
    """Free disk space in ``folder``, against :data:`DISK_NEEDED`."""
    free = disk_free_bytes(folder)
    found = f"{format_bytes(free)} free in {folder}"
    if free < DISK_NEEDED:
        return Check("disk", "fail", f"{found}; the course needs {format_bytes(DISK_NEEDED)}", fix="free some disk space")
    return Check("disk", "ok", found)


def check_jupyter() -> Check:
    """JupyterLab is installed."""
    if not module_found("jupyterlab"):
        return Check("JupyterLab", "fail", "not installed", fix=f"in the labkit folder: {INSTALL_COMMAND}")
    return Check("JupyterLab", "ok", installed_version("jupyterlab") or "installed")


def _runs_this_python(spec: dict) -> bool:
    """Whether a kernel spec's command starts this Python (Jupyter runs ``python`` as the Python it runs in)."""
    argv = spec.get("spec", {}).get("argv") or [""]
    command = argv[0]
    if command in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        return True  # JupyterLab started from this environment (make lab) runs its own Python
    path = Path(command)
    return path.is_absolute() and path.parent.resolve() == Path(sys.executable).parent.resolve()


def check_kernel() -> Check:
    """Jupyter has a kernel :data:`KERNEL_NAME` that runs this Python (the notebooks ask for it)."""
    register = (f'{sys.executable} -m ipykernel install --user --name {KERNEL_NAME} '
                f'--display-name "Python 3 (labkit)"')
    if not module_found("ipykernel") or not module_found("jupyter_client"):
        return Check("kernel", "fail", "ipykernel is not installed", fix=f"in the labkit folder: {INSTALL_COMMAND}")
    specs = kernel_specs()
    if KERNEL_NAME not in specs:
        return Check("kernel", "fail", f"Jupyter has no kernel {KERNEL_NAME!r}", fix=register)
    if not _runs_this_python(specs[KERNEL_NAME]):
        argv = " ".join(specs[KERNEL_NAME].get("spec", {}).get("argv", [])[:1])
        return Check("kernel", "warn", f"the kernel {KERNEL_NAME!r} may run another Python ({argv}, in "
                                       f"{specs[KERNEL_NAME].get('resource_dir')})",
                     fix=f"start JupyterLab from this environment (make lab), or: {register}")
    return Check("kernel", "ok", f"{KERNEL_NAME!r} runs this Python")


def check_widgets() -> Check:
    """ipywidgets' JupyterLab front end (``jupyterlab_widgets``) is installed, so that sliders show."""
    version = installed_version("jupyterlab_widgets")
    if version is None:
        return Check("widgets", "fail", "ipywidgets' JupyterLab front end (jupyterlab_widgets) is not installed: "
                                        "sliders show as text", fix=f"in the labkit folder: {INSTALL_COMMAND}")
    return Check("widgets", "ok", f"jupyterlab_widgets {version} (ipywidgets in JupyterLab)")


def check_folder(folder: Path) -> Check:
    """The working folder can be written to (the learner's notebooks and outputs go there)."""
    if not folder.is_dir():
        return Check("working folder", "fail", f"{folder} is not a folder", fix="run labkit doctor in the course's "
                                                                                "folder")
    if not is_writable(folder):
        return Check("working folder", "fail", f"{folder} cannot be written to",
                     fix="work in a folder of your own (your home folder), or ask its owner for write access")
    return Check("working folder", "ok", f"{folder} is writable")


def diagnose(folder: str | os.PathLike = ".") -> list[Check]:
    """Check the machine for the course; one :class:`Check` per item, in the order they are printed.

    Parameters
    ----------
    folder : path, default "."
        The working folder: where the learner's notebooks go (write access, free disk space).

    Returns
    -------
    list of Check

    Example
    -------
    >>> checks = diagnose(".")
    >>> [c.item for c in checks][:3]
    ['Python', 'packages', 'course data']
    """
    folder = Path(folder).absolute()
    checks = [check_python(), check_packages(), check_embedded_data(), check_fetched_data(), check_memory()]
    checks.append(check_disk(folder) if folder.is_dir() else Check("disk", "warn", f"{folder} is not a folder"))
    return [*checks, check_jupyter(), check_kernel(), check_widgets(), check_folder(folder)]


# ------------------------------------------------------------------------------------------------------- output


def _symbols() -> dict[str, str]:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "".join(SYMBOLS.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_SYMBOLS
    return SYMBOLS


def format_check(check: Check, symbols: dict[str, str] = SYMBOLS) -> str:
    """One item as printed: its symbol, its name, what was found, and the fix on the next line when not ok.

    Example
    -------
    >>> print(format_check(Check("Python", "ok", "3.11.9")))
    ✓ Python          3.11.9
    """
    line = f"{symbols[check.status]} {check.item:<15} {check.message}"
    if check.fix and check.status != "ok":
        line += f"\n{'':18}→ {check.fix}" if symbols is SYMBOLS else f"\n{'':18}-> {check.fix}"
    return line


def summary(checks: list[Check]) -> str:
    """The last line: all is well, or how many problems and warnings.

    Example
    -------
    >>> summary([Check("a", "ok", ""), Check("b", "warn", "")])
    'Ready for the course (1 warning above).'
    """
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    warnings = f"{warned} warning{'s' if warned != 1 else ''}"
    if failed:
        return (f"{failed} problem{'s' if failed != 1 else ''} to fix before the course"
                + (f", and {warnings}" if warned else "") + ": see the lines marked ✗ above.")
    return "Ready for the course" + (f" ({warnings} above)." if warned else ".")


def print_checks(checks: list[Check], file=None) -> None:
    """Print one line per check (with its fix when not ok), then :func:`summary`."""
    file = file or sys.stdout
    symbols = _symbols()
    print(f"labkit {__version__} set-up check", file=file)
    for check in checks:
        print(format_check(check, symbols), file=file)
    text = summary(checks)
    print(text if symbols is SYMBOLS else text.replace(SYMBOLS["fail"], symbols["fail"]), file=file)


def checks_as_json(checks: list[Check]) -> str:
    """The checks as one JSON object, for an instructor who collects them: ``ok``, the machine, and each check.

    Example
    -------
    >>> json.loads(checks_as_json([Check("Python", "ok", "3.11.9")]))["ok"]
    True
    """
    report = {
        "ok": not any(c.failed for c in checks),
        "labkit": __version__,
        "python": ".".join(map(str, python_version())),
        "platform": platform.platform(),
        "checks": [asdict(c) for c in checks],
    }
    return json.dumps(report, ensure_ascii=False)
