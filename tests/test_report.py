"""labkit.report: report.md with its figures and its scores, the class-map plot and its colours."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from labkit.accuracy import assess_accuracy
from labkit.report import LAND_COVER_COLORS, class_colors, plot_class_map, write_report

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"

# Reference 1 1 1 1 2 2 2 3 3 3 against 1 1 2 3 2 2 1 3 3 2: OA 0.6, kappa 27/67 = 0.403, F1 4/7 4/7 2/3 (macro 0.603)
Y_TRUE = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
Y_PRED = [1, 1, 2, 3, 2, 2, 1, 3, 3, 2]
NAMES = {1: "crop", 2: "forest", 3: "water"}


@pytest.fixture
def maps():
    codes = np.array([[1, 2, 3, 255], [3, 2, 1, 1]], "uint8")
    class_map = xr.DataArray(codes, dims=("y", "x"), coords={"y": [15.0, 5.0], "x": [5.0, 15.0, 25.0, 35.0]})
    confidence = xr.DataArray(np.where(codes == 255, np.nan, 0.25 * (np.arange(8).reshape(2, 4) % 4 + 1)),
                              dims=("y", "x"), coords=class_map.coords)
    return class_map, confidence


@pytest.fixture
def report_path(tmp_path, maps):
    class_map, confidence = maps
    accuracy = assess_accuracy(Y_TRUE, Y_PRED, class_names=NAMES)
    return write_report(tmp_path, title="Toy land cover", accuracy=accuracy, class_map=class_map,
                        confidence=confidence, facts={"data": "toy cube", "model": "rf, 10 trees"})


def test_report_and_its_figures_are_written(report_path, tmp_path):
    assert report_path == tmp_path / "report.md"
    text = report_path.read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(linked) == ["confusion_matrix.png", "maps.png"]
    for name in linked:
        figure = tmp_path / name
        assert figure.read_bytes()[:8] == PNG and figure.stat().st_size > 1000
    assert plt.get_fignums() == []  # every figure closed


def test_report_holds_title_facts_and_scores(report_path):
    text = report_path.read_text()
    assert text.startswith("# Toy land cover\n")
    assert "| data | toy cube |" in text and "| model | rf, 10 trees |" in text
    assert f"Overall accuracy **{0.6:.3f}**" in text
    assert f"kappa **{27 / 67:.3f}**" in text
    assert f"macro F1 **{(4 / 7 + 4 / 7 + 2 / 3) / 3:.3f}**" in text
    assert "over 10 validation pixels" in text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ") and line.split("|")[1].strip() in NAMES.values()}
    # class | code | validation pixels | precision | recall | F1
    assert rows["crop"] == ["1", "4", f"{2 / 3:.3f}", f"{1 / 2:.3f}", f"{4 / 7:.3f}"]
    assert rows["forest"] == ["2", "3", f"{1 / 2:.3f}", f"{2 / 3:.3f}", f"{4 / 7:.3f}"]
    assert rows["water"] == ["3", "3", f"{2 / 3:.3f}", f"{2 / 3:.3f}", f"{2 / 3:.3f}"]


def test_report_folder_is_created(tmp_path, maps):
    class_map, confidence = maps
    folder = tmp_path / "runs" / "first"
    path = write_report(folder, title="t", accuracy=assess_accuracy([1, 2], [1, 2]), class_map=class_map,
                        confidence=confidence, facts={})
    assert path.is_file() and (folder / "maps.png").is_file() and (folder / "confusion_matrix.png").is_file()


def test_report_overwrites_a_previous_one(report_path, tmp_path, maps):
    class_map, confidence = maps
    write_report(tmp_path, title="Second run", accuracy=assess_accuracy([1, 2], [1, 2]), class_map=class_map,
                 confidence=confidence, facts={})
    text = report_path.read_text()
    assert text.startswith("# Second run") and "Toy land cover" not in text and "**1.000**" in text


# ------------------------------------------------------------------------------------------------------ plots


def test_class_colors_are_distinct_stable_rgb():
    codes = [1, 2, 3, 8, 12]
    colors = class_colors(codes)
    assert list(colors) == codes
    assert len(set(colors.values())) == len(codes)
    assert all(len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c) for c in colors.values())
    assert class_colors(codes) == colors
    many = class_colors(list(range(15)))  # past ten classes: another palette, still distinct
    assert len(set(many.values())) == 15


def test_known_land_cover_names_get_their_conventional_colour():
    colors = class_colors([1, 2, 3], {1: "Forest", 2: "my class", 3: "WATER"})
    assert colors[1] == LAND_COVER_COLORS["forest"] and colors[3] == LAND_COVER_COLORS["water"]
    assert colors[2] == class_colors([1, 2, 3])[2]  # an unknown name keeps the palette colour of its position


def test_class_map_plot_draws_each_class_in_its_colour(maps):
    class_map, _ = maps
    ax = plot_class_map(class_map, NAMES)
    image = ax.images[0]
    shown = image.get_array()
    assert shown.mask.tolist() == (class_map.values == 255).tolist()  # unnamed codes (no data) are left blank
    colors = class_colors(sorted(NAMES), NAMES)
    rgba = image.to_rgba(shown)
    for (i, j), code in np.ndenumerate(class_map.values):
        if code in NAMES:
            np.testing.assert_allclose(rgba[i, j, :3] * 255, colors[code], atol=0.51)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["crop", "forest", "water"]
    plt.close("all")
