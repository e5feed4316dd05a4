"""`labkit demo` end to end on the embedded data: outputs exist, are georeferenced, and the scores are plausible."""

import json

import numpy as np
import pytest
import rasterio

from labkit.cli import main
from labkit.datasets import load_slovenia
from labkit.errors import ConfigError, OutputExistsError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out), "--no-progress", "--trees", "100"]) == 0
    return out


def test_outputs_are_written(demo):
    names = {p.name for p in demo.iterdir()}
    assert {"class_map.tif", "confidence.tif", "metrics.json", "report.md", "maps.png", "confusion_matrix.png"} <= names
    assert not [p for p in demo.parent.iterdir() if p.name.startswith(".")], "a temporary output was left behind"


def test_maps_are_cogs_on_the_cube_grid(demo):
    cube = load_slovenia().cube
    for name in ("class_map.tif", "confidence.tif"):
        with rasterio.open(demo / name) as src:
            assert src.crs.to_epsg() == 32633
            assert (src.height, src.width) == (cube.sizes["y"], cube.sizes["x"])
            assert np.allclose(tuple(src.transform)[:6], tuple(cube.rio.transform())[:6])
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    with rasterio.open(demo / "class_map.tif") as src:
        classes = src.read(1)
        assert set(np.unique(classes)) <= {1, 2, 3, 4, 8}
        assert src.colormap(1)[2] != src.colormap(1)[3]  # a legend colour per class
    with rasterio.open(demo / "confidence.tif") as src:
        confidence = src.read(1)
        assert np.nanmin(confidence) > 0 and np.nanmax(confidence) <= 1


def test_metrics_are_consistent_and_plausible(demo):
    metrics = json.loads((demo / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.sum() == metrics["summary"]["n_validation_pixels"] > 500
    assert metrics["overall_accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum(), abs=1e-4)
    # forest dominates the patch: a map worse than "all forest" (~0.6 of validation pixels) would be broken.
    assert 0.7 <= metrics["overall_accuracy"] <= 1
    assert 0.3 <= metrics["kappa"] <= 1
    assert metrics["per_class"]["forest"]["f1"] > 0.8
    report = (demo / "report.md").read_text()
    assert f"{metrics['overall_accuracy']:.3f}" in report and "confusion_matrix.png" in report


def test_demo_refuses_to_replace_a_foreign_folder(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    (precious / "report.md").write_text("my report")
    from labkit.demo import run_demo

    with pytest.raises(OutputExistsError, match="report.md already exists and is not an unchanged output of labkit"):
        run_demo(precious, n_estimators=5, progress=False)
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert (precious / "report.md").read_text() == "my report"


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "metrics.json").write_text("{}")
    assert main(["demo", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "labkit demo: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [(["--trees", "0"], "argument --trees: expected an integer >= 1, got '0'"),
     (["--step", "-3"], "argument --step: expected an integer >= 1, got '-3'"),
     (["--train-size", "1.5"], "argument --train-size: expected a number strictly between 0 and 1, got '1.5'")],
)
def test_cli_refuses_bad_parameters_before_running(tmp_path, capsys, args, message):
    assert main(["demo", "--out", str(tmp_path / "out"), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_file_as_output(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path / "notes.txt"), "--no-progress"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unpacking_hint_when_a_pair_is_passed_as_a_cube():
    from labkit.datamodel import validate
    from labkit.errors import DataModelError
    from labkit.gapfill import fill_gaps

    data = load_slovenia()
    with pytest.raises(DataModelError, match=r"unpack it first \(filled, flags = fill_gaps"):
        validate(fill_gaps(data.cube, data.mask, step=30), "cube")
