"""labkit.report: report.md with its figures and its scores, the class-map plot and its colours, and the accuracy
report (scores, mean ± std over runs, area estimates with confidence intervals)."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from labkit.accuracy import assess_accuracy, estimate_area, summarize_runs
from labkit.errors import ConfigError
from labkit.report import LAND_COVER_COLORS, class_colors, plot_class_map, write_accuracy_report, write_report

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
    plt.close("all")  # figures another test left open are not the report's
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


# ------------------------------------------------------------------------------------- accuracy report

# Olofsson et al. (2014), section 5: sample counts (rows: map, columns: reference) and mapped pixels of 0.09 ha
COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
STRATA = {1: 200_000, 2: 150_000, 3: 3_200_000, 4: 6_450_000}
CHANGE = {1: "deforestation", 2: "forest gain", 3: "stable forest", 4: "stable non-forest"}


@pytest.fixture
def area_estimate():
    mapped, ref = np.nonzero(COUNTS)
    return estimate_area(np.repeat(mapped + 1, COUNTS[mapped, ref]), np.repeat(ref + 1, COUNTS[mapped, ref]), STRATA,
                         pixel_area=0.09, unit="ha", class_names=CHANGE)


def _rows(text: str, names) -> dict[str, list[str]]:
    """Table rows whose first cell is one of ``names``: {name: [the other cells]} (the last table wins)."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if cells and cells[0].strip("*") in names:
            rows[cells[0].strip("*")] = cells[1:]
    return rows


def test_accuracy_report_of_area_estimates(tmp_path, area_estimate):
    plt.close("all")  # figures another test left open are not the report's
    path = write_accuracy_report(tmp_path, area_estimate, title="Forest change", facts={"map": "toy"})
    assert path == tmp_path / "accuracy_report.md"
    text = path.read_text()
    assert text.startswith("# Forest change\n") and "| map | toy |" in text
    assert "Area-weighted overall accuracy **0.947 ± 0.018** (95 % confidence interval)" in text
    assert "on 640 sample points" in text and "the map covers 900,000 ha" in text
    area_table = text.split("## Area estimates")[1].split("Error matrix")[0]
    rows = _rows(area_table, CHANGE.values())
    # class | code | points | mapped | estimated | CI | range | UA | PA: the paper's figures (p. 54)
    assert rows["deforestation"][:6] == ["1", "75", "18,000", "21,158", "± 6,158", "15,000 – 27,315"]
    assert rows["stable non-forest"][3:5] == ["581,386", "± 16,282"]
    assert rows["forest gain"][6:] == ["0.733 ± 0.101", "0.847 ± 0.254"]
    proportions = _rows(text.split("area proportions")[1].split("Sample counts")[0], CHANGE.values())
    assert proportions["stable forest"] == ["0.0019", "0.0000", "0.2967", "0.0213", "0.3200"]
    counts = _rows(text.split("Sample counts")[1], list(CHANGE.values()) + ["total"])
    assert counts["deforestation"] == ["66", "0", "5", "4", "75"] and counts["total"][-1] == "640"
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text) == ["area_estimates.png"]
    assert (tmp_path / "area_estimates.png").read_bytes()[:8] == PNG
    assert plt.get_fignums() == []


def test_accuracy_report_with_every_section(tmp_path, area_estimate):
    one = assess_accuracy(Y_TRUE, Y_PRED, class_names=NAMES)
    two = assess_accuracy(Y_TRUE, Y_TRUE, class_names=NAMES)
    path = write_accuracy_report(tmp_path, [one, summarize_runs([one, two]), area_estimate, two],
                                 filename="assessment.md")
    text = path.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == ["Accuracy on the validation samples", "Scores over 2 runs (mean ± standard deviation)",
                        "Area estimates from the stratified sample", "Accuracy on the validation samples"]
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert figures == ["confusion_matrix.png", "runs_confusion_matrix.png", "area_estimates.png",
                       "confusion_matrix_2.png"]
    assert all((tmp_path / f).read_bytes()[:8] == PNG for f in figures)
    runs = text.split("## Scores over 2 runs")[1].split("## Area")[0]
    assert "| overall accuracy | 0.800 ± 0.200 |" in runs
    water_f1 = f"{(2 / 3 + 1) / 2:.3f} ± {(1 - 2 / 3) / 2:.3f}"
    assert _rows(runs.split("summed")[0], ["water"])["water"] == ["3", water_f1, "2"]
    summed = _rows(runs.split("summed over the runs")[1], NAMES.values())
    assert summed["crop"] == ["6", "1", "1", "8"]
    first = text.split("## Scores")[0]
    assert "Overall accuracy **0.600**, kappa **0.403**" in first
    assert _rows(first.split("Confusion matrix")[1], NAMES.values())["forest"] == ["1", "2", "0", "3"]


def test_accuracy_report_refuses_nothing_and_unknown_objects(tmp_path):
    with pytest.raises(ConfigError, match=r"write_accuracy_report: nothing to report"):
        write_accuracy_report(tmp_path, [])
    with pytest.raises(ConfigError, match=r"write_accuracy_report: cannot report a dict"):
        write_accuracy_report(tmp_path, [assess_accuracy([1], [1]), {"oa": 1}])
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_importing_report_keeps_a_chosen_backend():
    """A Jupyter kernel sets MPLBACKEND to its inline backend: importing labkit.report must not switch to Agg, or no
    figure of the notebook would show."""
    import os
    import subprocess
    import sys

    code = "import labkit.report, matplotlib; print(matplotlib.get_backend())"
    env = {**os.environ, "MPLBACKEND": "svg"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "svg"
