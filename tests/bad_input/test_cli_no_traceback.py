"""No command ever prints a Python traceback for a bad input: one line that says what is wrong, exit code 2.

Every case runs a command of ``labkit`` on a bad input (missing, damaged or wrong files, outputs that cannot be
written, bad options); ``labkit --debug`` shows the traceback when asked.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import zarr

from labkit.cli import main
from labkit.io import write_samples

from .conftest import LABKIT
from .damage import copy_of, truncate


@pytest.fixture
def files(tmp_path, cog, store, samples, samples_file):
    """Paths of bad inputs, by name."""
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "empty.nc").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "mine.txt").write_text("mine")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "report.md").write_text("my report")
    broken = truncate(copy_of(cog, "broken.tif"))
    incomplete = tmp_path / "incomplete.zarr"
    shutil.copytree(store, incomplete)
    group = zarr.open_group(incomplete, mode="r+", zarr_format=2)
    del group.attrs["labkit_complete"]
    zarr.consolidate_metadata(incomplete, zarr_format=2)
    temporary = tmp_path / ".x.tif.labkit-host-1-0123abcd.tmp.tif"
    temporary.write_bytes(cog.read_bytes())
    damaged_samples = truncate(copy_of(samples_file, "damaged.nc"))
    holed = samples.copy(deep=True)
    holed["X"].values[[2, 9], 1, 0] = np.nan  # an SVM cannot take missing values
    nan_samples = write_samples(holed, tmp_path / "nan_samples.nc")
    empty_samples = write_samples(samples.isel(sample=[]), tmp_path / "empty_samples.nc")
    return {"tmp": tmp_path, "text": tmp_path / "notes.txt", "empty": tmp_path / "empty.nc",
            "folder": tmp_path / "folder", "taken": tmp_path / "taken", "broken": broken, "incomplete": incomplete, "temporary": temporary,
            "samples": samples_file, "damaged_samples": damaged_samples, "store": store, "nan_samples": nan_samples,
            "empty_samples": empty_samples}


CASES = {
    "info: missing file": ["info", "{tmp}/nothere.tif"],
    "info: text file": ["info", "{text}"],
    "info: empty NetCDF": ["info", "{empty}"],
    "info: truncated COG": ["info", "{broken}"],
    "info: incomplete store": ["info", "{incomplete}"],
    "info: temporary": ["info", "{temporary}"],
    "info: damaged sample set": ["info", "{damaged_samples}"],
    "synth: not .zarr": ["synth", "--out", "{tmp}/scene.nc"],
    "synth: existing store": ["synth", "--out", "{store}", "--size", "8", "8"],
    "synth: folder of the user's": ["synth", "--out", "{folder}", "--size", "8", "8", "--overwrite"],
    "synth: bigger than the disk": ["synth", "--out", "{tmp}/big.zarr", "--size", "900000", "900000"],
    "synth: not writable": ["synth", "--out", "/sys/labkit-test/s.zarr", "--size", "8", "8"],
    "synth: parent is a file": ["synth", "--out", "{text}/s.zarr", "--size", "8", "8"],
    "synth: size not a number": ["synth", "--out", "{tmp}/s.zarr", "--size", "big", "8"],
    "synth: negative seed": ["synth", "--out", "{tmp}/s.zarr", "--seed", "-1"],
    "cv: missing samples": ["cv", "{tmp}/nothere.nc", "--model", "rf"],
    "cv: not NetCDF": ["cv", "{text}", "--model", "rf"],
    "cv: damaged samples": ["cv", "{damaged_samples}", "--model", "rf"],
    "cv: a store as samples": ["cv", "{store}", "--model", "rf"],
    "cv: unknown model": ["cv", "{samples}", "--model", "forest"],
    "cv: misspelt hyperparameter": ["cv", "{samples}", "--model", "rf", "--params", '{{"n_estimator": 10}}'],
    "cv: LightGBM value": ["cv", "{samples}", "--model", "lgbm", "--params", '{{"num_leaves": "many"}}'],
    "cv: params not JSON": ["cv", "{samples}", "--model", "rf", "--params", "{{n_estimators: 10}}"],
    "cv: unknown group variable": ["cv", "{samples}", "--model", "rf", "--group-by", "polygon"],
    "cv: too many folds": ["cv", "{samples}", "--model", "rf", "--folds", "50"],
    "cv: negative random state": ["cv", "{samples}", "--model", "rf", "--random-state", "-1"],
    "cv: json on a folder": ["cv", "{samples}", "--model", "rf", "--json", "{folder}", "--overwrite"],
    "cv: json not writable": ["cv", "{samples}", "--model", "rf", "--json", "/sys/labkit-test/cv.json"],
    "cv: NaN samples with svm": ["cv", "{nan_samples}", "--model", "svm"],
    "cv: empty sample set": ["cv", "{empty_samples}", "--model", "rf"],
    "demo: out is a file": ["demo", "--out", "{text}"],
    "demo: a report of the user's": ["demo", "--out", "{taken}"],
    "demo: not writable": ["demo", "--out", "/sys/labkit-test/demo"],
    "demo: zero trees": ["demo", "--out", "{tmp}/demo", "--trees", "0"],
    "course: no sources": ["course", "build", "--src", "{folder}", "--out", "{tmp}/built"],
    "course: build into a file": ["course", "build", "--out", "{text}"],
    "course: build not writable": ["course", "build", "--out", "/sys/labkit-test/course"],
    "course: student into a file": ["course", "student", "--out", "{text}"],
    "course: book without notebooks": ["course", "book", "--notebooks", "{folder}"],
}


@pytest.mark.parametrize("case", CASES)
def test_no_command_prints_a_traceback(files, capsys, case):
    argv = [part.format(**files) for part in CASES[case]]
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and "unexpected error" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"labkit {argv[0]}: error: ") and len(last) > 40, err
    assert (files["folder"] / "mine.txt").read_text() == "mine"  # and nothing of the user's was touched


def test_the_installed_command_answers_the_same(files):
    result = subprocess.run([LABKIT, "info", str(files["broken"])], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("labkit info: error: ") and "broken.tif" in result.stderr


def test_debug_shows_the_traceback(files):
    result = subprocess.run([LABKIT, "--debug", "cv", str(files["text"]), "--model", "rf"], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("labkit cv: error: ")


def test_an_unexpected_error_is_one_line_with_the_way_to_report_it(monkeypatch, capsys):
    import labkit.cli.info as info

    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(info, "run", bug)
    assert main(["info", "x"]) == 1
    err = capsys.readouterr().err
    assert err == ("labkit info: unexpected error (ZeroDivisionError: division by zero). This is a bug of labkit or an "
                   "input it does not check yet: run 'labkit --debug info ...' for the traceback and report it.\n")
