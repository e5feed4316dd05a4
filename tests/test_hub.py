"""The course on a JupyterHub: the image's recipe (hub/Dockerfile), the student branch and its nbgitpuller links.

Docker is not needed: the Dockerfile is parsed, what it copies and installs is checked against the repository, and
its kernel and data commands run here as written (with the environment variables they read pointed at temporary
folders). The published folder goes through git and nbgitpuller for real, on a Jupyter server started from this
environment with the hub's settings.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import requests

from labkit.course.build import SOLUTION_TAG, course_sources
from labkit.course.publish import README, clone_folder, nbgitpuller_link, publish_student
from labkit.errors import ConfigError, OutputExistsError
from labkit.outputs import MANIFEST

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"
BIN = Path(sys.executable).parent
COURSE = ROOT / "course"


# ------------------------------------------------------------------------------------------------- the Dockerfile


def dockerfile_instructions(path: Path = HUB / "Dockerfile") -> list[tuple[str, str]]:
    """``[(INSTRUCTION, arguments)]`` of a Dockerfile: comments dropped, continued lines joined."""
    instructions, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        keyword, _, arguments = current.strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        current = ""
    assert not current, "the Dockerfile ends in a continued line"
    return instructions


INSTRUCTIONS = dockerfile_instructions()


def runs(containing: str) -> list[str]:
    """The shell commands of the RUN instructions that contain ``containing`` (without their --mount options)."""
    found = [re.sub(r"^(--\S+\s+)+", "", args) for keyword, args in INSTRUCTIONS
             if keyword == "RUN" and containing in args]
    assert found, f"no RUN instruction of hub/Dockerfile contains {containing!r}"
    return found


def run_as_in_the_image(command: str, **env: str) -> subprocess.CompletedProcess:
    """Run one of the Dockerfile's commands in bash, with this environment's commands first and ``env`` set."""
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], capture_output=True, text=True, env=environment,
                          timeout=120, cwd=ROOT)


def test_the_image_starts_from_python_311_and_runs_as_a_user():
    keywords = [keyword for keyword, _ in INSTRUCTIONS]
    assert INSTRUCTIONS[0][0] == "FROM" and re.fullmatch(r"python:3\.11(\.\d+)?-slim-\w+", INSTRUCTIONS[0][1])
    users = [args for keyword, args in INSTRUCTIONS if keyword == "USER"]
    assert users == ["${NB_USER}"] and keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert ("ARG", "NB_UID=1000") in INSTRUCTIONS
    assert json.loads(dict(INSTRUCTIONS)["CMD"]) == ["jupyterhub-singleuser"]


def test_the_image_copies_files_of_the_repository_and_nothing_the_dockerignore_drops():
    ignored = {line for line in (HUB / "Dockerfile.dockerignore").read_text().splitlines()
               if line and not line.startswith("#")}
    for keyword, args in INSTRUCTIONS:
        if keyword == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), f"hub/Dockerfile copies {source}, which the repository lacks"
                assert source not in ignored and source.split("/")[0] not in ignored
    for needed in (".venv", "build", "student", ".git"):  # large or local: never in the build context
        assert needed in ignored


def test_the_image_installs_labkit_from_the_lock_with_the_course_and_hub_extras():
    (install,) = runs("pip install -c")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "-c requirements.lock" in install
    chosen = re.search(r'-e "\.\[([a-z,-]+)\]"', install)
    assert chosen and set(chosen[1].split(",")) == {"course", "hub"}
    assert {"jupyterlab", "nbconvert", "jupytext", "nbgitpuller"} <= {r.split("==")[0] for r in extras["course"]}
    assert [r.split("==")[0] for r in extras["hub"]] == ["jupyterhub"]
    env = " ".join(args for keyword, args in INSTRUCTIONS if keyword == "ENV")
    assert "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" in env  # torch==...+cpu of the lock
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^torch==[\d.]+\+cpu$", lock, re.M)


def test_the_kernel_command_registers_python3_with_the_labkit_cache(tmp_path):
    (command,) = runs("ipykernel install")
    done = run_as_in_the_image(command, VIRTUAL_ENV=str(tmp_path / "venv"), LABKIT_CACHE="/opt/labkit/cache")
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "venv/share/jupyter/kernels/python3/kernel.json").read_text())
    assert spec["display_name"] == "Python 3 (labkit)" and spec["language"] == "python"
    assert spec["env"] == {"LABKIT_CACHE": "/opt/labkit/cache"}
    from labkit.course.build import KERNELSPEC

    assert KERNELSPEC["name"] == "python3"  # the kernel the notebooks ask for is the one registered
    copied = [args for keyword, args in INSTRUCTIONS if keyword == "COPY" and "jupyter_server_config.py" in args]
    assert copied == ["hub/jupyter_server_config.py ${VIRTUAL_ENV}/etc/jupyter/jupyter_server_config.py"]


def _course_fetches() -> list[tuple]:
    """The arguments of every ``fetch(...)`` and ``fetch_dataset(...)`` call of the course's sources."""
    calls = []
    for source in course_sources(COURSE):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("fetch", "fetch_dataset"):
                first = ast.literal_eval(node.args[0])
                paths = ast.literal_eval(node.args[1]) if node.func.id == "fetch" and len(node.args) > 1 else None
                calls.append((source.name, first, paths))
    return calls


@pytest.mark.mirror
def test_the_prefetch_command_caches_all_the_data_the_notebooks_fetch(mirror, tmp_path):
    (command,) = runs("labkit.datasets import fetch")
    cache = tmp_path / "cache"
    done = run_as_in_the_image(command, LABKIT_CACHE=str(cache), LABKIT_DATA_MIRROR=str(mirror))
    assert done.returncode == 0, done.stderr
    assert oct(cache.stat().st_mode)[-3:] == "777"
    from labkit.datasets import fetch

    calls = _course_fetches()
    assert {name for _, name, _ in calls} >= {"s2-bolzano-tiny", "sits-sinop"}
    empty = tmp_path / "no-mirror"  # every file must come from the cache: nothing to download from
    empty.mkdir()
    for notebook, name, paths in calls:
        try:
            fetch(name, paths, mirror=empty, cache_dir=cache)
        except Exception as error:
            raise AssertionError(f"{notebook} fetches {name} {paths or ''}, which the image does not pre-fetch: "
                                 f"add it to the fetch command of hub/Dockerfile ({error})") from error


# -------------------------------------------------------------------------------------- the student branch


def test_nbgitpuller_link_format():
    link = nbgitpuller_link("https://hub.example.org/", "https://github.com/org/labkit-course.git", branch="v2",
                            notebook="03_features.ipynb")
    assert link.startswith("https://hub.example.org/hub/user-redirect/git-pull?")
    assert parse_qs(urlsplit(link).query) == {"repo": ["https://github.com/org/labkit-course.git"],
                                              "branch": ["v2"],
                                              "urlpath": ["lab/tree/labkit-course.git/03_features.ipynb"]}
    assert clone_folder("https://example.org/a/b/") == "b"
    with pytest.raises(ConfigError, match="--hub"):
        nbgitpuller_link("hub.example.org", "https://github.com/org/labkit")
    with pytest.raises(ConfigError, match="--repo"):
        nbgitpuller_link("https://hub.example.org", "git@github.com:org/labkit.git")


def _two_sources(folder: Path) -> Path:
    folder.mkdir()
    for source in course_sources(COURSE)[:2]:
        shutil.copy(source, folder)
    return folder


def test_publish_writes_the_student_notebooks_and_a_readme_with_the_links(tmp_path):
    src = _two_sources(tmp_path / "src")
    out = tmp_path / "labkit-course"
    (out / ".git").mkdir(parents=True)  # a worktree's git folder: never touched
    paths = publish_student(out, src, hub="https://hub.example.org", repo="https://github.com/org/labkit-course")
    names = [p.name for p in paths]
    assert names == [f"{p.stem}.ipynb" for p in course_sources(src)] + [README]
    for path in paths[:-1]:
        nb = nbformat.read(path, as_version=4)
        assert not any(SOLUTION_TAG in cell.metadata.get("tags", []) for cell in nb.cells)
        assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    readme = (out / README).read_text()
    for name in names[:-1]:
        assert nbgitpuller_link("https://hub.example.org", "https://github.com/org/labkit-course",
                                notebook=name) in readme
    assert sorted(p.name for p in out.iterdir()) == sorted([".git", MANIFEST, *names])


def test_publish_again_replaces_its_files_removes_stale_notebooks_and_keeps_others(tmp_path):
    src = _two_sources(tmp_path / "src")
    out = tmp_path / "branch"
    first, second = (p.name for p in publish_student(out, src)[:2])
    (out / "notes.txt").write_text("the maintainer's")
    (src / f"{Path(first).stem}.py").unlink()
    assert [p.name for p in publish_student(out, src)] == [second, README]
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, second, README, "notes.txt"])


def test_publish_refuses_a_file_it_did_not_write(tmp_path):
    src = _two_sources(tmp_path / "src")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / README).write_text("# my project")
    with pytest.raises(OutputExistsError, match="README.md"):
        publish_student(tmp_path / "repo", src)
    assert (tmp_path / "repo" / README).read_text() == "# my project"
    assert not list((tmp_path / "repo").glob("*.ipynb"))
    with pytest.raises(ConfigError, match="--hub and --repo"):
        publish_student(tmp_path / "other", src, hub="https://hub.example.org")


def test_the_cli_publishes_and_prints_the_links(tmp_path):
    src = _two_sources(tmp_path / "src")
    done = subprocess.run([str(BIN / "labkit"), "course", "publish", "--src", str(src), "--out", str(tmp_path / "b"),
                           "--hub", "https://hub.example.org", "--repo", "https://github.com/org/labkit"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    links = [line for line in done.stdout.splitlines() if line.startswith("https://")]
    assert links == [nbgitpuller_link("https://hub.example.org", "https://github.com/org/labkit", notebook=p.name)
                     for p in sorted((tmp_path / "b").glob("*.ipynb"))]


# ------------------------------------------------------------------------------ nbgitpuller, for real


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_server(tmp_path):
    """A Jupyter server of this environment with the hub's settings, serving ``tmp_path/home``: (URL, session)."""
    home, port = tmp_path / "home", _free_port()
    home.mkdir()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "HOME": str(home)}
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [str(BIN / "jupyter"), "server", f"--config={HUB / 'jupyter_server_config.py'}", "--no-browser",
         f"--port={port}", "--ServerApp.port_retries=0", "--ip=127.0.0.1", f"--ServerApp.root_dir={home}",
         "--IdentityProvider.token=labkit-test", "--allow-root"],  # CI runs as root
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url, session = f"http://127.0.0.1:{port}", requests.Session()
    session.headers["Authorization"] = "token labkit-test"
    try:
        for _ in range(300):
            try:
                if session.get(f"{url}/api/status", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
            assert server.poll() is None, (tmp_path / "server.log").read_text()
        yield url, session, home
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    text = (tmp_path / "server.log").read_text()
    assert "not recognized" not in text and "Config option" not in text, text  # every setting of the hub's exists


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=labkit", "-c", "user.email=labkit@example.org", *args], cwd=folder,
                   check=True, capture_output=True, timeout=60)


def _pull(url: str, session: requests.Session, link: str, repo: Path) -> None:
    """Do what the page of an nbgitpuller link does: call its API with the link's repository and branch."""
    query = parse_qs(urlsplit(link).query)
    answer = session.get(f"{url}/git-pull/api", params={"repo": str(repo), "branch": query["branch"][0]},
                         stream=True, timeout=60)
    events = [json.loads(line[len("data:"):]) for line in answer.iter_lines(decode_unicode=True)
              if line.startswith("data:")]
    assert events and events[-1]["phase"] == "finished", events


def test_a_learner_pulls_the_published_branch_and_keeps_their_work(jupyter_server, tmp_path):
    url, session, home = jupyter_server
    src = _two_sources(tmp_path / "src")
    branch = tmp_path / "srv" / "labkit-course"  # the published repository, named as its clone will be
    publish_student(branch, src)
    _git(branch, "init", "--quiet", "--initial-branch=student")
    _git(branch, "add", "--all")
    _git(branch, "commit", "--quiet", "-m", "the student notebooks")
    first, second = sorted(p.name for p in branch.glob("*.ipynb"))
    link = nbgitpuller_link("https://hub.example.org", "https://github.com/org/labkit-course", notebook=first)
    page = session.get(f"{url}/git-pull", params={k: v[0] for k, v in parse_qs(urlsplit(link).query).items()})
    assert page.ok and "labkit-course" in page.text  # the extension answers the link's query

    _pull(url, session, link, branch)
    urlpath = parse_qs(urlsplit(link).query)["urlpath"][0]
    opened = session.get(f"{url}/api/contents/{urlpath.removeprefix('lab/tree/')}", timeout=10)
    assert opened.ok and opened.json()["type"] == "notebook"  # the link's page opens the notebook it names

    mine = home / "labkit-course" / first  # the learner's work...
    nb = nbformat.read(mine, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("my notes"))
    nbformat.write(nb, mine)
    source = src / f"{Path(second).stem}.py"  # ...and the course's update of another notebook
    source.write_text(source.read_text(encoding="utf-8") + "\n# %% [markdown]\n# An update of the course.\n",
                      encoding="utf-8")
    publish_student(branch, src)
    _git(branch, "commit", "--quiet", "--all", "-m", "an update")

    _pull(url, session, link, branch)
    assert nbformat.read(mine, as_version=4).cells[-1].source == "my notes"
    assert "An update of the course." in (home / "labkit-course" / second).read_text()


# ------------------------------------------------------------------------------------ the hub admin's guide


def test_the_guide_has_a_sizing_row_for_every_notebook():
    text = (ROOT / "book" / "hub.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d\d_\w+)` \| (\d+) s \| (\d+) s \| (\d+) MB \|", text, re.M)
    assert [row[0] for row in rows] == [p.stem for p in course_sources(COURSE)], "measure the new notebooks"
    assert all(int(seconds) > 0 and int(cpu) > 0 and 100 < int(mb) < 4000 for _, seconds, cpu, mb in rows)
    assert "/hub/user-redirect/git-pull?repo=" in text and "docker build -f hub/Dockerfile" in text
