"""Reports a person can read: maps rendered as images, the confusion matrix plotted, scores in tables (Markdown).

:func:`write_report` writes the demo's report (maps, confusion matrix, scores); :func:`write_accuracy_report` the
report of an accuracy assessment: scores of one run or of several (mean ± std), and area estimates with their
confidence intervals from a stratified sample (tables, error matrix in area proportions, a bar chart).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

# Reports are files: draw with Agg, which needs no display, unless a backend was chosen already. A Jupyter kernel
# sets MPLBACKEND to its inline backend, and switching away from it would hide every figure of the notebook.
if not os.environ.get("MPLBACKEND") and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .accuracy import (  # noqa: E402
    AccuracyReport,
    AreaEstimate,
    RunsSummary,
    plot_area_estimates,
    plot_confusion_matrix,
)
from .errors import ConfigError, DataModelError  # noqa: E402
from .outputs import atomic_files  # noqa: E402


#: Conventional colours of common land-cover classes (CORINE-like), matched on lower-case class names.
LAND_COVER_COLORS = {
    "forest": (34, 119, 34), "grassland": (166, 216, 84), "shrubland": (140, 160, 60), "cropland": (240, 220, 80),
    "cultivated land": (240, 220, 80), "artificial surface": (220, 40, 40), "built-up": (220, 40, 40),
    "urban": (220, 40, 40), "water": (40, 110, 220), "bare soil": (190, 160, 120), "wetland": (120, 200, 200),
    "snow": (240, 240, 250),
}


def class_colors(codes, names: dict[int, str] | None = None) -> dict[int, tuple[int, int, int]]:
    """An RGB colour (0-255) for each class code: the conventional one for known names, else a distinct one.

    Example
    -------
    >>> class_colors([1, 2], {1: "Forest", 2: "my class"})
    {1: (34, 119, 34), 2: (255, 127, 14)}
    """
    names = names or {}
    palette = plt.get_cmap("tab10" if len(codes) <= 10 else "tab20").colors
    return {
        int(c): LAND_COVER_COLORS.get(str(names.get(c, "")).lower())
        or tuple(int(round(255 * v)) for v in palette[i % len(palette)][:3])
        for i, c in enumerate(codes)
    }


def plot_class_map(class_map: xr.DataArray, class_names: dict[int, str], ax=None, *, nodata: int | None = None):
    """Draw a class map with one colour per class and a legend.

    Example
    -------
    >>> import xarray as xr
    >>> ax = plot_class_map(xr.DataArray(np.array([[1, 2], [2, 1]]), dims=("y", "x")), {1: "a", 2: "b"})
    >>> len(ax.get_legend().get_texts())
    2
    >>> plt.close(ax.figure)
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    codes = sorted(class_names)
    colors = class_colors(codes, class_names)
    index = np.full(class_map.shape, -1)
    for i, code in enumerate(codes):
        index[class_map.values == code] = i
    cmap = ListedColormap([np.array(colors[c]) / 255 for c in codes]).with_extremes(under="white")
    ax.imshow(np.ma.masked_less(index, 0), cmap=cmap, norm=BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes)),
              interpolation="nearest")
    handles = [Patch(color=np.array(colors[c]) / 255, label=class_names[c]) for c in codes]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_axis_off()
    return ax


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(
    folder: str | Path,
    *,
    title: str,
    accuracy: AccuracyReport,
    class_map: xr.DataArray,
    confidence: xr.DataArray,
    facts: dict[str, str],
    overwrite: bool = False,
) -> Path:
    """Write ``report.md`` and its figures (class map, confidence, confusion matrix) into ``folder``.

    ``facts`` are shown as a two-column table at the top (data, parameters, timings...). The three files are
    written all-or-nothing (:func:`labkit.outputs.atomic_files`). They replace a report that labkit wrote there
    and nobody changed since; a file of the same name that is yours (or that you changed) is replaced only with
    ``overwrite=True``. The folder's other files are left alone.

    Example
    -------
    >>> import tempfile, xarray as xr
    >>> from labkit.accuracy import assess_accuracy
    >>> m = xr.DataArray(np.array([[1, 2]], "uint8"), dims=("y", "x"))
    >>> path = write_report(tempfile.mkdtemp(), title="t", accuracy=assess_accuracy([1, 2], [1, 2]),
    ...                     class_map=m, confidence=m.astype(float) / 2, facts={"data": "toy"})
    >>> path.name
    'report.md'
    """
    if not isinstance(accuracy, AccuracyReport):
        raise ConfigError(f"write_report: accuracy must be an AccuracyReport (labkit.accuracy.assess_accuracy); got "
                          f"{type(accuracy).__name__}.")
    _check_map(class_map, "class_map", "an integer class map", np.integer)
    _check_map(confidence, "confidence", "a confidence map", np.floating)
    with atomic_files(folder, overwrite=overwrite, expected=REPORT_FILES) as staging:
        _write_report_files(staging, title=title, accuracy=accuracy, class_map=class_map, confidence=confidence,
                            facts=facts)
    return Path(folder) / "report.md"


def _check_map(array, name: str, what: str, kind) -> None:
    """A map of a report: a (y, x) DataArray of ``kind`` (numpy's integer or floating)."""
    if not isinstance(array, xr.DataArray) or array.dims != ("y", "x") or not np.issubdtype(array.dtype, kind):
        got = f"dims {array.dims} of {array.dtype}" if isinstance(array, xr.DataArray) else type(array).__name__
        raise DataModelError(f"write_report: {name} must be {what}, a DataArray (y, x) of {kind.__name__} "
                             f"values; got {got}.")


REPORT_FILES = ("report.md", "maps.png", "confusion_matrix.png")
"""The files :func:`write_report` writes."""


def _write_report_files(folder: Path, *, title, accuracy, class_map, confidence, facts) -> None:
    names = {c: accuracy.name(c) for c in accuracy.labels}
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.25, 1]})
    plot_class_map(class_map, names, ax=axes[0])
    axes[0].set_title("class map")
    shown = axes[1].imshow(confidence.values, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    axes[1].set_title("confidence (highest class probability)")
    axes[1].set_axis_off()
    fig.colorbar(shown, ax=axes[1], fraction=0.046)
    fig.tight_layout()
    fig.savefig(folder / "maps.png", dpi=110)
    plt.close(fig)
    ax = plot_confusion_matrix(accuracy)
    ax.figure.tight_layout()
    ax.figure.savefig(folder / "confusion_matrix.png", dpi=110)
    plt.close(ax.figure)

    scores = accuracy.to_dict()
    per_class = [[name, v["code"], v["support"], f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}"]
                 for name, v in scores["per_class"].items()]
    text = "\n\n".join([
        f"# {title}",
        _table(["", ""], [[k, v] for k, v in facts.items()]),
        "## Accuracy on the validation polygons",
        f"Overall accuracy **{scores['overall_accuracy']:.3f}**, kappa **{scores['kappa']:.3f}**, macro F1 "
        f"**{scores['macro_f1']:.3f}** over {scores['n_samples']} validation pixels (polygons never seen in training).",
        _table(["class", "code", "validation pixels", "precision (user's)", "recall (producer's)", "F1"], per_class),
        "![confusion matrix](confusion_matrix.png)",
        "## Maps",
        "![class map and confidence](maps.png)",
    ])
    (folder / "report.md").write_text(text + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------ accuracy reports


def _number(value, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _area(value) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _save(ax, folder: Path, name: str) -> str:
    ax.figure.tight_layout()
    ax.figure.savefig(folder / name, dpi=110)
    plt.close(ax.figure)
    return name


def _matrix_table(matrix, names: list[str], cell, corner: str) -> str:
    """A square matrix with row and column totals, as a Markdown table."""
    matrix = np.asarray(matrix)
    rows = [[f"**{name}**", *[cell(v) for v in row], cell(row.sum())] for name, row in zip(names, matrix)]
    rows.append(["**total**", *[cell(v) for v in matrix.sum(axis=0)], cell(matrix.sum())])
    return _table([corner, *names, "total"], rows)


def _accuracy_section(report: AccuracyReport, folder: Path, figure: str) -> list[str]:
    scores = report.to_dict()
    names = [report.name(c) for c in report.labels]
    per_class = [[name, v["code"], v["support"], f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}"]
                 for name, v in scores["per_class"].items()]
    return [
        "## Accuracy on the validation samples",
        f"Overall accuracy **{scores['overall_accuracy']:.3f}**, kappa **{scores['kappa']:.3f}**, macro F1 "
        f"**{scores['macro_f1']:.3f}** over {scores['n_samples']} samples.",
        _table(["class", "code", "samples", "precision (user's)", "recall (producer's)", "F1"], per_class),
        "Confusion matrix (rows: reference, columns: predicted):",
        _matrix_table(report.confusion, names, lambda v: str(int(v)), "reference ↓ · predicted →"),
        f"![confusion matrix]({_save(plot_confusion_matrix(report), folder, figure)})",
    ]


def _runs_section(summary: RunsSummary, folder: Path, figure: str) -> list[str]:
    names = [summary.name(c) for c in summary.labels]
    per_class = [[summary.name(c), c, summary.f1[c].format(), summary.n_runs_with[c]] for c in summary.labels]
    return [
        f"## {summary.experiment + ': s' if summary.experiment else 'S'}cores over {summary.n_runs} runs (mean ± "
        "standard deviation)",
        _table(["score", "mean ± std"], [["overall accuracy", summary.overall_accuracy.format()],
                                         ["kappa", summary.kappa.format()],
                                         ["macro F1", summary.macro_f1.format()]]),
        _table(["class", "code", "F1", "runs"], per_class),
        "Confusion matrix summed over the runs (rows: reference, columns: predicted):",
        _matrix_table(summary.confusion, names, lambda v: str(int(v)), "reference ↓ · predicted →"),
        f"![summed confusion matrix]({_save(plot_confusion_matrix(summary), folder, figure)})",
    ]


def _area_section(estimate: AreaEstimate, folder: Path, figure: str) -> list[str]:
    z, unit = estimate.z, estimate.unit
    names = [estimate.name(c) for c in estimate.labels]
    level = "95 %" if round(z, 2) == 1.96 else f"z = {z:g}"
    rows = []
    for c, name, points in zip(estimate.labels, names, estimate.counts.sum(axis=1)):
        low, high = estimate.area_ci[c]
        rows.append([name, c, int(points), _area(estimate.mapped_area[c]), _area(estimate.area[c]),
                     "± " + _area(z * estimate.area_se[c]), f"{_area(low)} – {_area(high)}",
                     f"{_number(estimate.users_accuracy[c])} ± {_number(z * estimate.users_accuracy_se[c])}",
                     f"{_number(estimate.producers_accuracy[c])} ± {_number(z * estimate.producers_accuracy_se[c])}"])
    oa, oa_ci = estimate.overall_accuracy, z * estimate.overall_accuracy_se
    return [
        "## Area estimates from the stratified sample",
        f"Stratified estimators of Olofsson et al. (2014) on {estimate.n_samples} sample points (strata: the map "
        f"classes). Area-weighted overall accuracy **{oa:.3f} ± {oa_ci:.3f}** ({level} confidence interval). Areas "
        f"in {unit}; the map covers {_area(estimate.total_area)} {unit}. *Mapped* is what counting the map's pixels "
        "gives; *estimated* corrects it with the errors the sample found.",
        _table(["class", "code", "points", f"mapped ({unit})", f"estimated ({unit})", f"{level} CI",
                "CI range", "user's accuracy", "producer's accuracy"], rows),
        "Error matrix in area proportions, p_ij = W_i n_ij / n_i. (rows: map, columns: reference):",
        _matrix_table(estimate.proportions, names, lambda v: f"{v:.4f}", "map ↓ · reference →"),
        "Sample counts n_ij (rows: map, columns: reference):",
        _matrix_table(estimate.counts, names, lambda v: str(int(v)), "map ↓ · reference →"),
        f"![area estimates]({_save(plot_area_estimates(estimate), folder, figure)})",
    ]


def write_accuracy_report(
    folder: str | Path,
    results,
    *,
    title: str = "Accuracy assessment",
    facts: dict[str, str] | None = None,
    filename: str = "accuracy_report.md",
    overwrite: bool = False,
) -> Path:
    """Write a Markdown report of an accuracy assessment, with its figures, into ``folder``.

    Parameters
    ----------
    folder : path
        Created if needed; the report and its PNG figures are (over)written there.
    results : AccuracyReport, RunsSummary or AreaEstimate, or a sequence of them
        Each becomes a section, in order: scores with the confusion matrix (table and plot); mean ± std over runs
        with the summed confusion matrix; area estimates with confidence intervals, the error matrix in area
        proportions and a bar chart of mapped and estimated areas with error bars.
    title : str
    facts : optional ``{label: text}`` shown as a table under the title (data, map, sampling...).
    filename : str, default "accuracy_report.md"
    overwrite : bool, default False
        Replace files of the same names that are not an unchanged report of labkit's (yours, or changed since).
        A report that labkit wrote there is replaced anyway; the folder's other files are left alone; the files
        are written all-or-nothing (:func:`labkit.outputs.atomic_files`).

    Returns
    -------
    Path of the report.

    Raises
    ------
    ConfigError
        Nothing to report, or an object of another type.

    Example
    -------
    >>> import tempfile
    >>> from labkit.accuracy import estimate_area
    >>> path = write_accuracy_report(tempfile.mkdtemp(), estimate_area([1, 1, 2, 2], [1, 1, 2, 1], {1: 60, 2: 40}))
    >>> path.name, (path.parent / "area_estimates.png").is_file()
    ('accuracy_report.md', True)
    """
    items = list(results) if isinstance(results, (list, tuple)) else [results]
    if not items:
        raise ConfigError("write_accuracy_report: nothing to report; give an AccuracyReport, a RunsSummary or an "
                          "AreaEstimate (or a list of them).")
    sections = {AccuracyReport: ("confusion_matrix", _accuracy_section),
                RunsSummary: ("runs_confusion_matrix", _runs_section),
                AreaEstimate: ("area_estimates", _area_section)}
    for item in items:
        if type(item) not in sections:
            raise ConfigError(f"write_accuracy_report: cannot report a {type(item).__name__}; give AccuracyReport, "
                              "RunsSummary or AreaEstimate objects (labkit.accuracy).")
    if Path(filename).name != filename or not filename.strip():
        raise ConfigError(f"write_accuracy_report: filename must be a plain file name; got {filename!r}.")
    seen: dict[type, int] = {}
    figures = []
    for item in items:  # the figures' names, known before any work: checked with the report's
        stem = sections[type(item)][0]
        seen[type(item)] = seen.get(type(item), 0) + 1
        figures.append(f"{stem}.png" if seen[type(item)] == 1 else f"{stem}_{seen[type(item)]}.png")
    with atomic_files(folder, overwrite=overwrite, expected=[filename, *figures]) as staging:
        _write_accuracy_files(staging, items, sections, figures, title=title, facts=facts, filename=filename)
    return Path(folder) / filename


def _write_accuracy_files(folder: Path, items, sections, figures, *, title, facts, filename) -> None:
    parts = [f"# {title}"]
    if facts:
        parts.append(_table(["", ""], [[k, v] for k, v in facts.items()]))
    for item, figure in zip(items, figures):
        parts.extend(sections[type(item)][1](item, folder, figure))
    (folder / filename).write_text("\n\n".join(parts) + "\n", encoding="utf-8")
