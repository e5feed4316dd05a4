"""Class 2, half-written outputs: a running ``labkit synth`` stopped by SIGTERM, SIGINT or SIGKILL.

Each test starts a real ``labkit synth`` in a subprocess, waits until its temporary store holds chunks, sends the
signal, and checks what is left: nothing after SIGTERM and SIGINT (temporaries removed after the writer threads have
stopped); after SIGKILL, an orphan that every reader refuses and that the next run removes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.errors import OutputExistsError, ReadError
from labkit.io import describe, read_zarr

LABKIT = [str(Path(sys.executable).with_name("labkit"))]
# About 300 MB of uncompressed cube in 128-pixel chunks: long enough (several seconds) to be caught mid-write.
BIG = ["--size", "768", "768", "--dates", "36", "--chunks", "128", "--no-progress"]
SMALL = ["--size", "32", "32", "--dates", "4", "--chunks", "32", "--no-progress"]


def _default_sigint() -> None:
    """In the child: SIGINT as an interactive shell leaves it (a suite started in the background, ``make test &``,
    hands its children SIGINT ignored, and Python keeps an inherited SIG_IGN)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([*LABKIT, "synth", "--out", str(out), *BIG], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=out.parent, preexec_fn=_default_sigint)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".labkit-" in p.name]


def _wait_for_chunks(process: subprocess.Popen, folder: Path, timeout: float = 120) -> Path:
    """The temporary store of the running process, once it holds at least two chunk files of the cube."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"labkit synth ended early: {process.communicate()}"
        for temp in _temporaries(folder):
            cube = next(iter(temp.rglob("cube")), None)
            if cube is not None and sum(1 for _ in cube.iterdir()) >= 3:  # .zarray + 2 chunks
                return temp
        time.sleep(0.05)
    process.kill()
    pytest.fail("labkit synth wrote no chunk in time")


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, said", [(signal.SIGTERM, 143, "stopped by SIGTERM"),
                                                 (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_sigint_leave_nothing(tmp_path, signum, code, said):
    out = tmp_path / "scene.zarr"
    process = _start(out)
    _wait_for_chunks(process, tmp_path)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert said in err and "outputs being written were removed" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no output, no temporary, no folder left
    time.sleep(0.5)
    assert list(tmp_path.iterdir()) == []  # and no writer thread recreated one after the clean-up


@pytest.mark.slow
def test_sigkill_leaves_an_orphan_that_readers_refuse_and_the_next_run_removes(tmp_path, capsys):
    out = tmp_path / "scene.zarr"
    process = _start(out)
    orphan = _wait_for_chunks(process, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not out.exists() and orphan.exists()
    # Readers refuse the orphan by its name...
    with pytest.raises(ReadError, match=r"is an incomplete output: a temporary of a labkit writer \(process \d+"):
        read_zarr(orphan)
    info = subprocess.run([*LABKIT, "info", str(orphan)], capture_output=True, text=True)
    assert info.returncode == 2 and "incomplete output" in info.stderr and "Traceback" not in info.stderr
    # ... and by its content, once renamed: no completion mark.
    renamed = orphan.rename(tmp_path / "renamed.zarr")
    with pytest.raises(ReadError, match=r"renamed\.zarr is an incomplete store: its writer stopped before the end"):
        read_zarr(renamed)
    with pytest.raises(ReadError, match="incomplete store"):
        describe(renamed)
    renamed.rename(orphan)
    # The next run removes the orphan (its process is gone) and writes the store.
    rerun = subprocess.run([*LABKIT, "synth", "--out", str(out), *SMALL], capture_output=True, text=True,
                           cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"removed {orphan}" in rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.gpkg", "scene.zarr"]
    assert read_zarr(out).sizes["x"] == 32


def test_a_temporary_of_a_running_process_is_left_alone(tmp_path):
    from labkit.io import atomic_path
    from labkit.outputs import _HOST

    alive = tmp_path / f".map.tif.labkit-{_HOST}-{os.getppid()}-0123abcd.tmp.tif"
    alive.write_text("being written by our parent")
    with pytest.warns(UserWarning, match=r"is being written by process \d+ .* it was left in place"):
        with atomic_path(tmp_path / "map.tif") as tmp:
            tmp.write_text("map")
    assert alive.read_text() == "being written by our parent"
    assert (tmp_path / "map.tif").read_text() == "map"


def test_an_old_version_set_aside_by_a_killed_replacement_is_restored(tmp_path):
    from labkit.io import write_zarr
    from labkit.outputs import _HOST

    import labkit.datamodel as dm
    import numpy as np

    cube = dm.make_cube(np.ones((1, 1, 2, 2), "float32"), ["2021-05-01"], ["NDVI"],
                        transform=(10, 0, 0, 0, -10, 20), crs="EPSG:32631")
    store = write_zarr(cube, tmp_path / "cube.zarr")
    aside = tmp_path / f".cube.zarr.labkit-{_HOST}-999999999-0123abcd.old.zarr"
    store.rename(aside)  # as if killed between the two renames of a replacement
    with pytest.warns(UserWarning, match=r"restored .*cube\.zarr"):
        with pytest.raises(OutputExistsError, match="already exists"):  # checked after the restore: it is back
            write_zarr(cube, tmp_path / "cube.zarr")
    assert float(read_zarr(tmp_path / "cube.zarr").sum()) == 4.0
