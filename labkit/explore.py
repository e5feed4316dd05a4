"""Explorers of a cube: ipywidgets controls over pictures, that degrade to a static figure without a widget front end.

* :func:`series_explorer` — an image of the cube; sliders choose a pixel, whose time series shows beside it, with
  the dates its validity mask hides marked;
* :func:`date_explorer` — a date slider over the images of one band, with each date's share of valid pixels.

Each returns an :class:`Explorer`: end a notebook cell with it. With a widget front end (JupyterLab, a live kernel)
it shows the widgets; its display data also holds a static PNG of the same figure for the current choice, which a
viewer without widgets shows (a terminal, a PDF, a page whose widget state was not saved); without ipywidgets
installed it is only that picture.

The widgets follow the course's rule for interactive figures (book/instructors.md): each control's ``observe``
callback redraws a PNG into an ``ipywidgets.Image``; no ``interact``, no ``Output`` widget (under nbclient, which
builds the book, ``Output`` widget updates race with the cell's reply).

Example
-------
>>> import numpy as np
>>> from labkit.datamodel import make_cube
>>> cube = make_cube(np.random.default_rng(0).random((4, 1, 5, 6)), times=["2020-01-01", "2020-02-01",
...                  "2020-03-01", "2020-04-01"], bands=["NDVI"], transform=(10.0, 0, 0.0, 0, -10.0, 50.0),
...                  crs="EPSG:32633")
>>> explorer = series_explorer(cube)
>>> explorer.state
{'row': 2, 'col': 3}
>>> sorted(explorer._repr_mimebundle_())[:2]
['application/vnd.jupyter.widget-view+json', 'image/png']
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from .datamodel import Validity
from .errors import BandError, DataModelError

_DPI = 80


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


class Explorer:
    """Widgets (``widget``) and the static picture of their current state (``figure()``, ``png()``).

    ``controls`` are the ipywidgets controls by name (empty without ipywidgets); ``state`` what they choose now;
    ``update(**state)`` changes the choice (as moving the controls does) and redraws.

    Example
    -------
    >>> from matplotlib.figure import Figure
    >>> def draw(value):
    ...     fig = Figure(figsize=(2, 1))
    ...     fig.suptitle(str(value))
    ...     return fig
    >>> explorer = Explorer(draw, {"value": 1}, {})
    >>> explorer.update(value=2).state
    {'value': 2}
    """

    def __init__(self, draw: Callable[..., Figure], state: dict, controls: dict):
        self._draw = draw
        self.state = dict(state)
        self.controls = controls
        self.widget = None
        self.picture = None
        try:
            import ipywidgets as widgets
        except ImportError:
            return
        self.picture = widgets.Image(value=self.png(), format="png")
        for name, control in controls.items():
            control.observe(self._on_change(name), names="value")
        self.widget = widgets.VBox([widgets.HBox(list(controls.values())), self.picture])

    def _on_change(self, name: str):
        def changed(change):
            if not self._syncing:
                self.update(**{name: change["new"]})

        return changed

    _syncing = False

    def update(self, **state) -> Explorer:
        """Choose ``state`` (the controls follow) and redraw the picture; return the explorer."""
        self.state.update(state)
        self._syncing = True
        try:
            for name, value in state.items():
                if name in self.controls:
                    self.controls[name].value = value
        finally:
            self._syncing = False
        if self.picture is not None:
            self.picture.value = self.png()
        return self

    def figure(self) -> Figure:
        """The figure of the current choice (not registered with pyplot: nothing is shown twice)."""
        return self._draw(**self.state)

    def png(self) -> bytes:
        """The figure of the current choice as PNG bytes."""
        return _png(self.figure())

    def __repr__(self) -> str:
        return f"<Explorer {self.state}>"

    def _repr_png_(self) -> bytes:
        return self.png()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": repr(self), "image/png": base64.b64encode(self.png()).decode("ascii")}
        if self.widget is not None:
            bundle.update({k: v for k, v in self.widget._repr_mimebundle_().items() if k != "text/plain"})
        return bundle


def _band(cube: xr.DataArray, band: str | None, who: str) -> str:
    names = [str(b) for b in cube["band"].values]
    if band is None:
        return names[0]
    if band not in names:
        raise BandError(f"{who}: no band {band!r} in the cube; its bands are {names}.")
    return band


def _check(cube: xr.DataArray, mask: xr.DataArray | None, who: str) -> None:
    if not isinstance(cube, xr.DataArray) or set(cube.dims) != {"time", "band", "y", "x"}:
        raise DataModelError(f"{who}: expected a cube, a DataArray (time, band, y, x); got "
                             f"{getattr(cube, 'dims', type(cube).__name__)}.")
    if mask is not None and (mask.sizes.get("time"), mask.sizes.get("y"), mask.sizes.get("x")) != (
            cube.sizes["time"], cube.sizes["y"], cube.sizes["x"]):
        raise DataModelError(f"{who}: the mask {dict(mask.sizes)} is not on the cube's dates and grid "
                             f"{dict(cube.sizes)}; give the mask of this cube.")


def _controls(specs: dict) -> dict:
    """ipywidgets controls from {name: (kind, options)}; {} without ipywidgets."""
    try:
        import ipywidgets as widgets
    except ImportError:
        return {}
    made = {}
    for name, (kind, options) in specs.items():
        made[name] = getattr(widgets, kind)(description=name, continuous_update=False, **options)
    return made


def series_explorer(cube: xr.DataArray, mask: xr.DataArray | None = None, *, band: str | None = None,
                    date=None, pixel: tuple[int, int] | None = None, cmap: str = "RdYlGn") -> Explorer:
    """An image of the cube beside the time series of one pixel, chosen with row and column sliders.

    Parameters
    ----------
    cube : xarray.DataArray (time, band, y, x)
    mask : xarray.DataArray (time, y, x), optional
        Validity codes: the dates where the pixel is not valid are marked on its series.
    band : str, optional
        The band shown (default: the first).
    date : date-like, optional
        The date of the image (default: the median over time of each pixel, a cloud-free summary).
    pixel : (row, col), optional
        The pixel shown first (default: the centre).

    Example
    -------
    >>> import numpy as np
    >>> from labkit.datamodel import make_cube
    >>> cube = make_cube(np.arange(24.0).reshape(2, 1, 3, 4), times=["2020-01-01", "2020-06-01"], bands=["NDVI"],
    ...                  transform=(10.0, 0, 0.0, 0, -10.0, 30.0), crs="EPSG:32633")
    >>> explorer = series_explorer(cube, pixel=(0, 1))
    >>> explorer.update(row=2).state
    {'row': 2, 'col': 1}
    >>> explorer.figure().axes[1].lines[0].get_ydata().tolist()
    [9.0, 21.0]
    """
    _check(cube, mask, "series_explorer")
    band = _band(cube, band, "series_explorer")
    values = cube.sel(band=band)
    if date is None:
        image = (values if mask is None else values.where(mask == Validity.VALID)).median("time", skipna=True)
        image_title = f"{band}: median over the {'valid ' if mask is not None else ''}dates"
    else:
        image = values.sel(time=np.datetime64(pd.Timestamp(date)), method="nearest")
        image_title = f"{band} on {pd.Timestamp(image['time'].values):%Y-%m-%d}"
    image = image.values
    finite = values.values[np.isfinite(values.values)]
    vmin, vmax = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
    dates = pd.DatetimeIndex(cube["time"].values)
    n_rows, n_cols = cube.sizes["y"], cube.sizes["x"]
    row, col = pixel if pixel is not None else (n_rows // 2, n_cols // 2)
    if not (0 <= row < n_rows and 0 <= col < n_cols):
        raise DataModelError(f"series_explorer: pixel {(row, col)} is outside the cube's {n_rows} rows and "
                             f"{n_cols} columns.")

    def draw(row: int, col: int) -> Figure:
        fig = Figure(figsize=(11, 4))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.18, top=0.9)
        ax_image, ax_series = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.8], "wspace": 0.3})
        shown = ax_image.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax_image.plot(col, row, marker="s", markersize=9, markerfacecolor="none", markeredgecolor="black")
        ax_image.set(title=image_title, xlabel="column", ylabel="row")
        fig.colorbar(shown, ax=ax_image, fraction=0.046)
        series = values.values[:, row, col]
        ax_series.plot(dates, series, color="tab:green", marker=".", linewidth=1, label="all dates")
        if mask is not None:
            hidden = np.asarray(mask.values[:, row, col]) != Validity.VALID
            ax_series.plot(dates[hidden], series[hidden], linestyle="none", marker="x", color="grey",
                           label=f"masked ({int(hidden.sum())} of {len(dates)} dates)")
            ax_series.plot(dates[~hidden], series[~hidden], color="black", linewidth=1.5, label="valid dates")
            ax_series.legend(fontsize=8, loc="best")
        ax_series.set(title=f"pixel row {row}, column {col}", ylabel=band, ylim=(vmin - 0.1 * abs(vmax - vmin),
                                                                                vmax + 0.1 * abs(vmax - vmin)))
        ax_series.tick_params(axis="x", labelrotation=30)
        return fig

    controls = _controls({"row": ("IntSlider", {"min": 0, "max": n_rows - 1, "value": row}),
                          "col": ("IntSlider", {"min": 0, "max": n_cols - 1, "value": col})})
    return Explorer(draw, {"row": row, "col": col}, controls)


def date_explorer(cube: xr.DataArray, mask: xr.DataArray | None = None, *, band: str | None = None, date=None,
                  cmap: str = "RdYlGn", vmin: float | None = None, vmax: float | None = None) -> Explorer:
    """The image of one band on a date chosen with a slider; with a mask, the share of valid pixels in the title.

    Example
    -------
    >>> import numpy as np
    >>> from labkit.datamodel import make_cube, make_mask
    >>> cube = make_cube(np.zeros((2, 1, 2, 2)), times=["2020-01-01", "2020-06-01"], bands=["NDVI"],
    ...                  transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> explorer = date_explorer(cube, make_mask(np.array([[[0, 0], [0, 1]], [[1, 1], [1, 1]]]), cube))
    >>> explorer.figure().axes[0].get_title()
    'NDVI on 2020-01-01: 75% valid'
    """
    _check(cube, mask, "date_explorer")
    band = _band(cube, band, "date_explorer")
    values = cube.sel(band=band)
    finite = values.values[np.isfinite(values.values)]
    low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    vmin = low if vmin is None else vmin
    vmax = high if vmax is None else vmax
    dates = pd.DatetimeIndex(cube["time"].values)
    first = 0 if date is None else int(dates.get_indexer([pd.Timestamp(date)], method="nearest")[0])
    valid = None if mask is None else (mask == Validity.VALID).mean(("y", "x")).values

    def draw(date: int) -> Figure:
        fig = Figure(figsize=(5.5, 4.5))
        fig.subplots_adjust(left=0.12, right=0.95, bottom=0.1, top=0.92)
        ax = fig.subplots()
        shown = ax.imshow(values.values[date], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        fig.colorbar(shown, ax=ax, label=band)
        title = f"{band} on {dates[date]:%Y-%m-%d}"
        ax.set(title=title if valid is None else f"{title}: {valid[date]:.0%} valid", xlabel="column", ylabel="row")
        return fig

    options = [(f"{d:%Y-%m-%d %H:%M}", i) for i, d in enumerate(dates)]
    controls = _controls({"date": ("SelectionSlider", {"options": options, "value": first})})
    if controls:
        controls["date"].layout.width = "95%"
    return Explorer(draw, {"date": first}, controls)
