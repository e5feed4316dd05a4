"""`labkit cv`: the printed scores, the JSON report (consistent with itself), grouped folds that never share a
polygon, and one-line errors with exit code 2 on bad inputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.cli import main
from labkit.io import write_samples

RF = ["--params", '{"n_estimators": 10, "n_jobs": 1}']
SCORE_LINE = r"{label:<16}  (\d\.\d{{3}}) ± (\d\.\d{{3}})"


def _samples(n_groups=6, pixels=4, n_time=5, seed=0, dated=True, region=False):
    """Three classes with distinct mean levels, ``pixels`` samples per polygon."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([1, 4, 7], n_groups * pixels)
    X = rng.normal(0, 0.3, (len(labels), n_time, 2)) + labels[:, None, None] / 3
    group = np.arange(len(labels)) // pixels + 1000
    times = pd.date_range("2020-04-01", periods=n_time, freq="12D") if dated else None
    regions = (group % 2) if region else None
    return dm.make_samples(X, labels, group, times=times, bands=["B04", "B08"], region=regions,
                           class_names={1: "crop", 4: "grass", 7: "water"})


@pytest.fixture
def samples_file(tmp_path):
    return write_samples(_samples(), tmp_path / "samples.nc")


def _run(args, capsys):
    code = main(["cv", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


PER_CLASS_LINE = r"(\w+) +(\d+) +(\d\.\d{3}) +(\d\.\d{3}) +(\d\.\d{3})"


@pytest.mark.parametrize("dated", [True, False])
def test_prints_mean_and_std_of_each_score_and_a_table_per_class(tmp_path, capsys, dated):
    path = write_samples(_samples(dated=dated), tmp_path / "s.nc")
    code, out, err = _run([path, "--model", "rf", "--folds", "3", "--group-by", "group", "--random-state", "2", *RF,
                           "--no-progress"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ("rf on s.nc: 72 samples, 3 classes, 3 folds grouped by 'group' (stratified group k-fold, "
                        "seed 2)")
    for line, label in zip(lines[1:4], ["overall accuracy", "kappa", "macro F1"]):
        mean, std = map(float, re.fullmatch(SCORE_LINE.format(label=label), line).groups())
        assert 0 <= std <= mean <= 1
    assert lines[4] == "per class (summed confusion matrix of the 3 folds):"
    assert lines[5].split() == ["class", "support", "precision", "recall", "F1"]
    rows = [re.fullmatch(PER_CLASS_LINE, line).groups() for line in lines[6:]]
    assert [r[0] for r in rows] == ["crop", "grass", "water"] and [int(r[1]) for r in rows] == [24, 24, 24]
    assert all(0 <= float(v) <= 1 for r in rows for v in r[2:])
    assert len(lines) == 9


def test_progress_goes_to_stderr_one_step_per_fold(samples_file, capsys):
    code, out, err = _run([samples_file, "--model", "rf", "--folds", "3", *RF], capsys)
    assert code == 0 and "3/3" in err and "fold/s" in err
    assert "fold/s" not in out and "\r" not in out and out.splitlines()[1].startswith("overall accuracy")


def test_json_report_is_consistent(samples_file, tmp_path, capsys):
    out_path = tmp_path / "reports" / "cv.json"
    code, out, _ = _run([samples_file, "--model", "rf", "--folds", "4", "--group-by", "group", "--json", out_path,
                         *RF], capsys)
    assert code == 0 and f"in {out_path}" in out.splitlines()[-1]
    report = json.loads(out_path.read_text())
    assert [p.name for p in out_path.parent.iterdir()] == ["cv.json"]  # no temporary file left behind
    confusion = np.array(report["confusion_matrix"])
    assert confusion.shape == (3, 3) and confusion.sum() == report["n_samples"] == 72
    assert report["pooled"]["overall_accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum(), abs=1e-4)
    assert sum(report["n_test"]) == 72 and report["n_folds"] == 4 == len(report["n_test"])
    assert report["labels"] == [1, 4, 7] and report["class_names"] == ["crop", "grass", "water"]
    assert report["model"] == "rf" and report["group_by"] == "group" and report["params"]["n_estimators"] == 10
    for key in ("overall_accuracy", "kappa", "macro_f1"):
        folds = report["scores"][key]["folds"]
        assert len(folds) == 4
        assert report["scores"][key]["mean"] == pytest.approx(np.mean(folds), abs=1e-4)
        assert report["scores"][key]["std"] == pytest.approx(np.std(folds), abs=1e-4)
    assert f"{report['scores']['overall_accuracy']['mean']:.3f} ± " in out
    per_class = report["per_class"]
    assert set(per_class) == {"crop", "grass", "water"}
    for i, name in enumerate(["crop", "grass", "water"]):
        assert per_class[name]["support"] == confusion[i].sum()
        assert per_class[name]["recall"] == pytest.approx(confusion[i, i] / confusion[i].sum(), abs=1e-4)


def _twins(tmp_path):
    """Polygons of identical pixels whose class is random: only a model that saw the polygon can get it right."""
    rng = np.random.default_rng(1)
    n_groups, pixels = 45, 4
    series = np.repeat(rng.normal(size=(n_groups, 3, 1)), pixels, axis=0)
    labels = np.repeat(np.tile([1, 2, 3], n_groups // 3), pixels)
    samples = dm.make_samples(series, labels, np.repeat(np.arange(n_groups), pixels), bands=["NDVI"])
    return write_samples(samples, tmp_path / "twins.nc")


def test_grouped_folds_never_share_a_polygon(tmp_path, capsys):
    path = _twins(tmp_path)
    knn = ["--model", "sklearn.neighbors.KNeighborsClassifier", "--params", '{"n_neighbors": 1}', "--folds", "5"]
    _run([path, *knn, "--json", tmp_path / "plain.json"], capsys)
    _run([path, *knn, "--group-by", "group", "--json", tmp_path / "grouped.json"], capsys)
    plain, grouped = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("plain", "grouped"))
    # Ungrouped, every test pixel has an identical twin in training; grouped, none has: chance level (1/3).
    assert plain["pooled"]["overall_accuracy"] == 1.0
    assert grouped["pooled"]["overall_accuracy"] < 0.6
    assert all(n % 4 == 0 for n in grouped["n_test"])  # whole polygons of 4 pixels in each test fold


def test_dotted_model_and_per_region(tmp_path, capsys):
    path = write_samples(_samples(region=True), tmp_path / "regions.nc")
    code, out, _ = _run([path, "--model", "sklearn.tree.DecisionTreeClassifier", "--per-region", "--folds", "3",
                         "--group-by", "group"], capsys)
    assert code == 0 and out.startswith("sklearn.tree.DecisionTreeClassifier per region on regions.nc: 72 samples")


def _not_samples(tmp_path):
    path = tmp_path / "cube.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["missing.nc", "--model", "rf"], r"missing\.nc: no such file"),
    (["{not_samples}", "--model", "rf"], r"cube\.nc does not hold a labkit sample set: sample set: missing variable "
                                         r"'X'"),
    (["{samples}", "--model", "rf", "--group-by", "polygon"],
     r"no variable 'polygon' along 'sample' to group by; variables along 'sample': \['group'\]"),
    (["{samples}", "--model", "rf", "--group-by", "group", "--folds", "7"],
     r"class 1 \('crop'\) has samples in only 6 groups of 'group', fewer than the 7 folds \(so do classes \[4, 7\]\)"
     r".*Use 6 folds or fewer"),
    (["{samples}", "--model", "rf", "--folds", "30"], r"class 1 \('crop'\) has samples in only 24 samples, fewer "
                                                      r"than the 30 folds"),
    (["{samples}", "--model", "xgboost"], r"unknown model 'xgboost'; choose a registered model \(.*lgbm, .*rf, .*svm"),
    (["{samples}", "--model", "sklearn.ensemble.NoSuchForest"], r"module 'sklearn\.ensemble' has no attribute "
                                                                 r"'NoSuchForest'"),
    (["{samples}", "--model", "rf", "--params", "{n_estimators: 5}"], r"--params is not valid JSON"),
    (["{samples}", "--model", "rf", "--params", '{"n_trees": 5}'], r"field 'params': .*'n_trees'"),
    (["{samples}", "--model", "rf", "--per-region"], r"per-region model needs the sample set's 'region' variable"),
])
def test_bad_inputs_give_one_line_and_exit_code_2(samples_file, tmp_path, capsys, args, message):
    # Bad numeric options (--folds 1, --random-state -1) are refused by argparse: tests/bad_input/test_parameters.py
    places = {"{samples}": str(samples_file), "{not_samples}": str(_not_samples(tmp_path))}
    args = [places.get(a, a) for a in args]
    code, out, err = _run([*args, "--json", tmp_path / "never.json"], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("labkit cv: error: "), err
    assert re.search(message, err), err
    assert not (tmp_path / "never.json").exists()


def test_existing_json_needs_overwrite(samples_file, tmp_path, capsys):
    target = tmp_path / "cv.json"
    target.write_text("{}")
    code, _, err = _run([samples_file, "--model", "rf", "--folds", "3", "--json", target, *RF], capsys)
    assert code == 2 and "cv.json already exists. Pass overwrite=True (--overwrite) to replace it" in err
    assert target.read_text() == "{}"
    code, _, _ = _run([samples_file, "--model", "rf", "--folds", "3", "--json", target, "--overwrite", *RF], capsys)
    assert code == 0 and json.loads(target.read_text())["n_folds"] == 3


def test_missing_model_is_an_argparse_error(samples_file, capsys):
    assert main(["cv", str(samples_file)]) == 2 and "--model" in capsys.readouterr().err
