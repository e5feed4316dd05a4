"""Reports a person can read: maps rendered as images, the confusion matrix plotted, scores in tables (Markdown)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .accuracy import AccuracyReport, plot_confusion_matrix  # noqa: E402


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
) -> Path:
    """Write ``report.md`` and its figures (class map, confidence, confusion matrix) into ``folder``.

    ``facts`` are shown as a two-column table at the top (data, parameters, timings...).

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
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
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
    path = folder / "report.md"
    path.write_text(text + "\n")
    return path
