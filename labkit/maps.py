"""Web maps of labkit's data that still show something offline: reference polygons, samples, class maps, and where
the course's datasets lie.

A :class:`WebMap` holds layers (polygons, points, images) and displays itself in a notebook as an interactive
``folium`` map (zoom, pan, base maps OpenStreetMap and aerial imagery, a layer control) **with a static matplotlib
picture of the same layers** beneath it:

* in JupyterLab, online, the folium map shows (it covers the picture);
* where Leaflet (folium's JavaScript, loaded from a CDN) or the base-map tiles cannot be loaded, as in the offline
  book, the map hides itself and the picture beneath shows, rather than an empty grey box; so does a viewer that
  drops the map's frame (an untrusted notebook) or runs no JavaScript;
* without folium installed, and for viewers that prefer pictures (PDF), the picture alone (``image/png``).

The functions build a map and return it; they never display anything: end a cell with the map.

* :func:`reference_map` — reference polygons coloured by class, with a legend and a tooltip;
* :func:`samples_map` — samples (a sample set or a GeoDataFrame of points) coloured by class;
* :func:`add_class_map`, :func:`add_layer` — a class map, or a continuous layer (confidence...), as an image layer;
* :func:`locator_map` and :func:`footprint` — where each dataset lies, from its CRS and bounds.

Class colours are those of labkit's figures (:func:`labkit.report.class_colors`, as in
:func:`labkit.report.plot_class_map`).

Example
-------
>>> from labkit.datasets import load_slovenia
>>> data = load_slovenia()
>>> m = add_class_map(reference_map(data.polygons), data.reference, data.class_names)
>>> [layer.name for layer in m.layers]
['reference polygons', 'class map']
>>> bundle = m._repr_mimebundle_()
>>> sorted(bundle)
['image/png', 'text/html', 'text/plain']
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from pyproj import Transformer
from rasterio.enums import Resampling
from shapely.geometry import Point, box

from .datamodel import NO_CLASS, label_codes
from .errors import DataModelError
from .report import class_colors

DEGREES = "EPSG:4326"
"""Longitude and latitude: the CRS of folium's inputs."""

WEB_MERCATOR = "EPSG:3857"
"""The CRS of web maps: the static picture is drawn in it, so that it looks like the web map."""

AERIAL_TILES = "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}"
AERIAL_ATTRIBUTION = "Esri, Maxar, Earthstar Geographics"

PICTURE_SIZE = (720, 480)
"""Width and height, in pixels, of a map's static picture."""

_DPI = 96
_FALLBACK_NOTE = "static picture: the interactive map needs a connection to load its JavaScript and base maps"

# Runs inside the map's frame: hide the map, so that the static picture beneath shows through the (transparent)
# frame, while Leaflet is missing or no base-map tile has loaded; show it again once tiles arrive.
_FALLBACK_SCRIPT = """<script>
(function () {
  function check() {
    var box = document.querySelector(".folium-map");
    if (!box) { return; }
    var leaflet = typeof L !== "undefined" && box.classList.contains("leaflet-container");
    var tiles = document.querySelectorAll(".leaflet-tile").length;
    var loaded = document.querySelectorAll(".leaflet-tile-loaded").length;
    var shown = leaflet && (loaded > 0 || tiles === 0) ? "visible" : "hidden";
    document.querySelectorAll(".folium-map, .labkit-legend").forEach(function (e) { e.style.visibility = shown; });
  }
  window.addEventListener("load", function () {
    if (typeof L === "undefined") { check(); }
    [4000, 10000, 30000].forEach(function (delay) { setTimeout(check, delay); });
  });
})();
</script>"""


@dataclass
class MapLayer:
    """One layer of a :class:`WebMap`: shapes (``frame``, in degrees) or an RGBA ``image`` with its ``bounds``."""

    name: str
    frame: gpd.GeoDataFrame | None = None
    """Polygons or points in EPSG:4326, with a ``color`` column (hex) and the columns shown in the tooltip."""
    tooltip: list[str] = field(default_factory=list)
    image: np.ndarray | None = None
    """(height, width, 4) floats in [0, 1], on a Web Mercator grid."""
    bounds: tuple[float, float, float, float] | None = None
    """The image's (left, bottom, right, top) in Web Mercator metres."""
    legend: dict[str, str] = field(default_factory=dict)
    """{label: hex colour}."""
    opacity: float = 0.7
    labels: bool = False
    """Write each shape's first tooltip column beside it on the static picture (locator maps)."""
    show: bool = True
    """Shown when the map opens; False: off until ticked in the layer control, and left out of the static picture."""


class WebMap:
    """A web map of layers, shown as an interactive folium map over a static picture of the same layers.

    Build one with :func:`reference_map`, :func:`samples_map`, :func:`locator_map`, or ``WebMap()`` and the
    ``add_*`` functions; end a notebook cell with it to show it. ``to_folium()`` gives the folium map to customise,
    ``figure()`` the static picture, ``save(path)`` a stand-alone HTML page.

    Example
    -------
    >>> m = WebMap("nothing yet")
    >>> m.layers
    []
    >>> m._repr_png_()[:4]
    b'\\x89PNG'
    """

    def __init__(self, title: str = "", *, height: int = 480, world: bool = False):
        self.title = title
        self.height = height
        self.world = world
        self.layers: list[MapLayer] = []

    def __repr__(self) -> str:
        return f"<WebMap {self.title!r}: {', '.join(layer.name for layer in self.layers) or 'no layers'}>"

    # ----------------------------------------------------------------------------------------------- extent

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees of all the layers (the whole world when there is none).

        Example
        -------
        >>> WebMap().bounds()
        (-180.0, -80.0, 180.0, 80.0)
        """
        parts = []
        for layer in self.layers:
            if layer.frame is not None and len(layer.frame):
                parts.append(tuple(layer.frame.total_bounds))
            elif layer.bounds is not None:
                parts.append(_to_degrees_bounds(layer.bounds))
        if not parts:
            return (-180.0, -80.0, 180.0, 80.0)
        west, south, east, north = np.array(parts).T
        return float(west.min()), float(south.min()), float(east.max()), float(north.max())

    # ----------------------------------------------------------------------------------------------- folium

    def to_folium(self):
        """The interactive map: a ``folium.Map`` with OpenStreetMap and aerial base maps, the layers and a control.

        Raises ``ImportError`` when folium is not installed.

        Example
        -------
        >>> type(WebMap().to_folium()).__name__
        'Map'
        """
        import folium

        west, south, east, north = self.bounds()
        web = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, control_scale=True)
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(web)
        folium.TileLayer(AERIAL_TILES, attr=AERIAL_ATTRIBUTION, name="aerial imagery (Esri)").add_to(web)
        for layer in self.layers:
            _folium_layer(layer).add_to(web)
        folium.LayerControl(collapsed=False).add_to(web)
        web.fit_bounds([[south, west], [north, east]])
        legend = {label: colour for layer in self.layers for label, colour in layer.legend.items()}
        if legend:
            web.get_root().html.add_child(folium.Element(_legend_html(legend)))
        return web

    def html(self) -> str | None:
        """The map as HTML for a notebook: the folium map in a frame over the static picture (None without folium).

        Example
        -------
        >>> page = WebMap().html()
        >>> "<iframe" in page and "data:image/png;base64," in page
        True
        """
        try:
            web = self.to_folium()
        except ImportError:
            return None
        root = web.get_root()
        root.header.add_child(_element("<style>html, body {background: transparent;}</style>"))
        root.html.add_child(_element(_FALLBACK_SCRIPT))
        document = html.escape(root.render())
        picture = base64.b64encode(self.png()).decode("ascii")
        fill = "position:absolute;top:0;left:0;width:100%;height:100%;"
        return (f'<div class="labkit-web-map" style="position:relative;width:100%;height:{self.height}px;">'
                f'<img alt="{html.escape(self.title or "map")}: {_FALLBACK_NOTE}" '
                f'src="data:image/png;base64,{picture}" style="{fill}object-fit:contain;">'
                f'<iframe srcdoc="{document}" style="{fill}border:none;" allowfullscreen></iframe></div>')

    # ------------------------------------------------------------------------------------------------ static

    def figure(self) -> Figure:
        """The static picture of the layers, in Web Mercator, with a legend (a figure not registered with pyplot).

        Example
        -------
        >>> WebMap("empty").figure().get_size_inches().tolist()
        [7.5, 5.0]
        """
        fig = Figure(figsize=(PICTURE_SIZE[0] / _DPI, PICTURE_SIZE[1] / _DPI), dpi=_DPI)
        ax = fig.add_axes((0.01, 0.06, 0.98, 0.86))
        west, south, east, north = _padded(self.bounds(), world=self.world)
        left, bottom, right, top = _to_mercator_bounds((west, south, east, north))
        if self.world:
            _draw_world(ax)
        shown = [layer for layer in self.layers if layer.show]
        for layer in shown:
            _draw_layer(ax, layer)
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        ax.set_aspect("equal", adjustable="box")
        ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
        legend = {label: colour for layer in shown for label, colour in layer.legend.items()}
        if legend:
            ax.legend(handles=[Patch(color=c, label=label) for label, c in legend.items()], loc="best", fontsize=8,
                      framealpha=0.85)
        fig.suptitle(self.title, fontsize=11)
        fig.text(0.01, 0.01, f"{_FALLBACK_NOTE}; lon {west:.3f} to {east:.3f}, lat {south:.3f} to {north:.3f}",
                 fontsize=7, color="dimgrey")
        return fig

    def png(self) -> bytes:
        """The static picture as PNG bytes, :data:`PICTURE_SIZE` pixels.

        Example
        -------
        >>> WebMap().png()[:4]
        b'\\x89PNG'
        """
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", dpi=_DPI)
        return buffer.getvalue()

    # --------------------------------------------------------------------------------------------- display

    def _repr_png_(self) -> bytes:
        return self.png()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": repr(self), "image/png": base64.b64encode(self.png()).decode("ascii")}
        page = self.html()
        if page is not None:
            bundle["text/html"] = page
        return bundle

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the map as a stand-alone HTML page (written atomically; the picture shows when offline).

        Example
        -------
        >>> import tempfile
        >>> page = WebMap("saved").save(Path(tempfile.mkdtemp()) / "map.html")
        >>> "data:image/png;base64," in page.read_text()
        True
        """
        from .outputs import atomic_paths

        page = self.html()
        if page is None:
            picture = base64.b64encode(self.png()).decode("ascii")
            page = f'<img alt="{html.escape(self.title)}" src="data:image/png;base64,{picture}">'
        path = Path(path)
        with atomic_paths([path], overwrite=overwrite) as (staging,):
            staging.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(self.title)}"
                               f"</title></head><body>{page}</body></html>\n", encoding="utf-8")
        return path


# -------------------------------------------------------------------------------------------------- building maps


def reference_map(polygons: gpd.GeoDataFrame, *, column: str = "class_name", class_names: dict[int, str] | None = None,
                  name: str = "reference polygons", title: str = "Reference polygons") -> WebMap:
    """A web map of reference polygons coloured by class, with a legend and a tooltip (class, id).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Polygons with a CRS, such as ``load_slovenia().polygons``.
    column : str, default "class_name"
        The column holding each polygon's class (names or codes).
    class_names : dict, optional
        ``{code: name}`` when ``column`` holds codes; the class names then choose the colours.

    Example
    -------
    >>> from labkit.datasets import load_slovenia
    >>> m = reference_map(load_slovenia().polygons)
    >>> len(m.layers[0].frame), sorted(m.layers[0].legend)[:2]
    (88, ['artificial surface', 'cultivated land'])
    """
    return add_shapes(WebMap(title), polygons, column=column, class_names=class_names, name=name)


def samples_map(samples, *, column: str = "label", class_names: dict[int, str] | None = None, name: str = "samples",
                title: str = "Samples") -> WebMap:
    """A web map of samples, one dot per sample coloured by class.

    Parameters
    ----------
    samples : xarray.Dataset or geopandas.GeoDataFrame
        A sample set with ``x``, ``y`` (sample) and its CRS in ``attrs["crs"]``, or points with a CRS and a
        ``column`` of classes.

    Example
    -------
    >>> import numpy as np
    >>> from labkit.datamodel import make_samples
    >>> s = make_samples(np.zeros((2, 1, 1)), ["crop", "forest"], [0, 1], bands=["NDVI"], x=[500000.0, 500100.0],
    ...                  y=[5e6, 5e6], crs="EPSG:32633")
    >>> samples_map(s).layers[0].legend
    {'crop': '#1f77b4', 'forest': '#227722'}
    """
    if isinstance(samples, xr.Dataset):
        if "x" not in samples or "y" not in samples or not samples.attrs.get("crs"):
            raise DataModelError("samples_map: the sample set has no coordinates: it needs x and y (sample) and its CRS "
                                 "in attrs['crs']; sample sets from extract_samples have them.")
        codes, names = label_codes(samples)
        labels = [names.get(int(c), str(c)) for c in codes]
        samples = gpd.GeoDataFrame({column: labels, "sample": np.arange(samples.sizes["sample"])},
                                   geometry=gpd.points_from_xy(samples["x"].values, samples["y"].values),
                                   crs=samples.attrs["crs"])
        class_names = names
    return add_shapes(WebMap(title), samples, column=column, class_names=class_names, name=name)


def add_shapes(m: WebMap, shapes: gpd.GeoDataFrame, *, column: str | None = None,
               class_names: dict[int, str] | None = None, color: str = "#1f77b4", name: str = "shapes") -> WebMap:
    """Add polygons or points to a map, coloured by the class in ``column`` (or all in ``color``); return the map.

    Example
    -------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> points = gpd.GeoDataFrame({"site": ["a"]}, geometry=[Point(14.5, 46.0)], crs="EPSG:4326")
    >>> add_shapes(WebMap(), points, name="sites").layers[0].frame["color"].tolist()
    ['#1f77b4']
    """
    _need_crs(shapes, name)
    frame = shapes.to_crs(DEGREES)
    tooltip = [c for c in (column, "polygon_id", "class_id") if c and c in frame.columns]
    legend = {}
    if column is None:
        colours = [color] * len(frame)
    else:
        if column not in frame.columns:
            raise DataModelError(f"{name}: no column {column!r} to colour the shapes by; the columns are "
                                 f"{list(frame.columns)}: pass column= one of them.")
        values = frame[column]
        if class_names is None and column == "class_name" and "class_id" in frame.columns:
            class_names = {int(c): str(n) for c, n in zip(frame["class_id"], frame["class_name"])}
        if class_names is None:  # codes 1..n in sorted order of the names, as labkit numbers text labels
            class_names = dict(enumerate(sorted({str(v) for v in values}), start=1))
        elif len(values) and not isinstance(values.iloc[0], str):
            values = values.map(lambda v: class_names.get(int(v), str(v)))
        codes = sorted(class_names)
        palette = {str(class_names[c]): _hex(rgb) for c, rgb in class_colors(codes, class_names).items()}
        unknown = sorted({str(v) for v in values} - set(palette))
        if unknown:
            raise DataModelError(f"{name}: classes {unknown} of column {column!r} are not in class_names "
                                 f"{class_names}: add them, or leave class_names out.")
        colours = [palette[str(v)] for v in values]
        legend = {label: colour for label, colour in palette.items() if label in set(map(str, values))}
    frame = gpd.GeoDataFrame({c: frame[c].astype(str) for c in tooltip} | {"color": colours},
                             geometry=frame.geometry.values, crs=DEGREES)
    m.layers.append(MapLayer(name, frame=frame, tooltip=tooltip, legend=legend))
    return m


def add_class_map(m: WebMap, class_map: xr.DataArray, class_names: dict[int, str], *, name: str = "class map",
                  opacity: float = 0.75, show: bool = True) -> WebMap:
    """Add a class map ``(y, x)`` with a CRS as an image layer, in the colours of ``plot_class_map``; return the map.

    Pixels whose code is not in ``class_names`` (``NO_CLASS``...) are transparent. ``show=False`` leaves the layer
    off until ticked in the layer control, and out of the static picture (where image layers would cover each other).

    Example
    -------
    >>> import numpy as np
    >>> from labkit.datamodel import make_cube
    >>> grid = make_cube(np.zeros((1, 1, 2, 2)), times=["2020-01-01"], bands=["NDVI"],
    ...                  transform=(10.0, 0, 500000.0, 0, -10.0, 5000000.0), crs="EPSG:32633")
    >>> codes = grid.isel(time=0, band=0, drop=True).copy(data=np.array([[1, 2], [2, 1]], np.uint8))
    >>> layer = add_class_map(WebMap(), codes, {1: "forest", 2: "water"}).layers[0]
    >>> layer.legend
    {'forest': '#227722', 'water': '#286edc'}
    """
    codes = sorted(class_names)
    colours = class_colors(codes, class_names)
    grid = _on_web_grid(class_map, name, nodata=NO_CLASS, resampling=Resampling.nearest)
    values = grid.values
    image = np.zeros((*values.shape, 4))
    for code in codes:
        image[values == code] = (*(np.array(colours[code]) / 255), 1.0)
    legend = {class_names[c]: _hex(colours[c]) for c in codes if (values == c).any()}
    m.layers.append(MapLayer(name, image=image, bounds=grid.rio.bounds(), legend=legend, opacity=opacity, show=show))
    return m


def add_layer(m: WebMap, layer: xr.DataArray, *, cmap: str = "viridis", vmin: float | None = None,
              vmax: float | None = None, name: str | None = None, opacity: float = 0.75,
              show: bool = True) -> WebMap:
    """Add a continuous layer ``(y, x)`` with a CRS (confidence, uncertainty, NDVI...) through a colormap.

    NaN pixels are transparent; ``vmin`` and ``vmax`` default to the layer's range; ``show`` as in
    :func:`add_class_map`. Returns the map.

    Example
    -------
    >>> import numpy as np
    >>> from labkit.datamodel import make_cube
    >>> cube = make_cube(np.array([[[[0.2, np.nan], [0.4, 0.8]]]]), times=["2020-01-01"], bands=["NDVI"],
    ...                  transform=(10.0, 0, 500000.0, 0, -10.0, 5000000.0), crs="EPSG:32633")
    >>> add_layer(WebMap(), cube.isel(time=0, band=0), cmap="RdYlGn", name="NDVI").layers[0].legend
    {'NDVI: 0.2 to 0.8 (RdYlGn)': '#888888'}
    """
    grid = _on_web_grid(layer.astype("float64"), name or str(layer.name), nodata=np.nan,
                        resampling=Resampling.bilinear)
    values = grid.values
    low = float(np.nanmin(layer.values)) if vmin is None else vmin
    high = float(np.nanmax(layer.values)) if vmax is None else vmax
    image = plt.get_cmap(cmap)(np.clip((values - low) / ((high - low) or 1.0), 0, 1))
    image[~np.isfinite(values)] = 0
    name = name or str(layer.name)
    m.layers.append(MapLayer(name, image=image, bounds=grid.rio.bounds(), opacity=opacity, show=show,
                             legend={f"{name}: {low:.3g} to {high:.3g} ({cmap})": "#888888"}))
    return m


def footprint(obj):
    """The area an object covers, as a shapely geometry in longitude and latitude (EPSG:4326).

    ``obj`` is a dataset (:class:`labkit.datasets.EOData`), a cube or raster with a CRS, a sample set with ``x``,
    ``y`` and ``attrs["crs"]``, a GeoDataFrame or GeoSeries (their bounding box), a ``(west, south, east, north)``
    box or a ``(lon, lat)`` point in degrees.

    Example
    -------
    >>> from labkit.datasets import load_slovenia
    >>> [round(v, 2) for v in footprint(load_slovenia()).bounds]
    [14.55, 45.87, 14.56, 45.88]
    >>> footprint((14.5, 46.0)).geom_type
    'Point'
    """
    if hasattr(obj, "cube") and isinstance(getattr(obj, "cube"), xr.DataArray):
        obj = obj.cube
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        _need_crs(obj, "footprint")
        return box(*obj.to_crs(DEGREES).total_bounds)
    if isinstance(obj, xr.Dataset) and "sample" in obj.dims:
        if "x" not in obj or "y" not in obj or not obj.attrs.get("crs"):
            raise DataModelError("footprint: the sample set has no coordinates (x, y and attrs['crs']).")
        points = gpd.GeoSeries(gpd.points_from_xy(obj["x"].values, obj["y"].values), crs=obj.attrs["crs"])
        return box(*points.to_crs(DEGREES).total_bounds)
    if isinstance(obj, (xr.DataArray, xr.Dataset)):
        if obj.rio.crs is None:
            raise DataModelError("footprint: the raster has no CRS; give it one with obj.rio.write_crs(...).")
        return box(*gpd.GeoSeries([box(*obj.rio.bounds())], crs=obj.rio.crs).to_crs(DEGREES).total_bounds)
    values = np.asarray(obj, dtype=float) if isinstance(obj, (tuple, list)) else None
    if values is not None and values.shape == (2,):
        return Point(*values)
    if values is not None and values.shape == (4,):
        return box(*values)
    raise DataModelError(f"footprint: cannot tell where a {type(obj).__name__} lies: give a dataset, a cube, a sample "
                         "set with coordinates, a GeoDataFrame, (west, south, east, north) or (lon, lat) in degrees.")


def locator_map(places: dict, *, title: str = "Where the datasets lie") -> WebMap:
    """A web map of where each dataset lies: its footprint and a labelled dot, over a world outline when static.

    Parameters
    ----------
    places : dict
        ``{name: anything footprint() takes}``: datasets, cubes, sample sets, GeoDataFrames, boxes or points.

    Example
    -------
    >>> m = locator_map({"Slovenia": (14.56, 45.87), "Bolzano": (11.33, 46.48, 11.36, 46.50)})
    >>> m.layers[0].frame["dataset"].tolist()
    ['Slovenia', 'Bolzano']
    """
    names = list(places)
    shapes = [footprint(places[n]) for n in names]
    colours = [_hex(rgb) for rgb in class_colors(range(len(names))).values()]
    footprints = gpd.GeoDataFrame({"dataset": names, "color": colours}, geometry=shapes, crs=DEGREES)
    m = WebMap(title, world=True)
    m.layers.append(MapLayer("datasets", frame=footprints, tooltip=["dataset"], legend=dict(zip(names, colours)),
                             labels=True))
    return m


# ----------------------------------------------------------------------------------------------------- internals


def _need_crs(shapes, who: str) -> None:
    if shapes.crs is None:
        raise DataModelError(f"{who}: the shapes have no CRS; set it with frame.set_crs(...) (the CRS of their "
                             "coordinates) before mapping them.")


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


def _element(text: str):
    import folium

    return folium.Element(text)


def _on_web_grid(raster: xr.DataArray, who: str, *, nodata, resampling) -> xr.DataArray:
    """A (y, x) raster reprojected onto a Web Mercator grid (an image there lines up with the web map exactly)."""
    if set(raster.dims) != {"y", "x"}:
        raise DataModelError(f"{who}: a map layer must have dims (y, x), not {raster.dims}; select one time and band "
                             "first (layer.isel(time=0, band=0)).")
    if raster.rio.crs is None:
        raise DataModelError(f"{who}: the layer has no CRS, so it cannot be placed on a map; give it the cube's "
                             "(layer.rio.write_crs(cube.rio.crs)).")
    return raster.transpose("y", "x").rio.write_nodata(nodata).rio.reproject(WEB_MERCATOR, resampling=resampling)


_TO_DEGREES = Transformer.from_crs(WEB_MERCATOR, DEGREES, always_xy=True)
_TO_MERCATOR = Transformer.from_crs(DEGREES, WEB_MERCATOR, always_xy=True)


def _to_degrees_bounds(bounds) -> tuple[float, float, float, float]:
    return _TO_DEGREES.transform_bounds(*bounds)


def _to_mercator_bounds(bounds) -> tuple[float, float, float, float]:
    west, south, east, north = bounds
    return _TO_MERCATOR.transform_bounds(west, max(south, -85.0), east, min(north, 85.0))


def _padded(bounds, *, world: bool) -> tuple[float, float, float, float]:
    west, south, east, north = bounds
    pad = max(east - west, north - south) * (0.3 if world else 0.05)
    pad = max(pad, 2.0) if world else max(pad, 1e-4)
    return max(west - pad, -180.0), max(south - pad, -85.0), min(east + pad, 180.0), min(north + pad, 85.0)


def _world_outline() -> gpd.GeoDataFrame | None:
    """Natural Earth's countries at 1:110 m, where an installed package ships them (pyogrio's test data)."""
    try:
        from importlib import resources

        path = resources.files("pyogrio").joinpath("tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp")
        if not path.is_file():
            return None
        world = gpd.read_file(str(path))
    except Exception:  # an optional backdrop: the map is complete without it
        return None
    return world.clip_by_rect(-180, -80, 180, 84).to_crs(WEB_MERCATOR)


def _draw_world(ax) -> None:
    world = _world_outline()
    if world is not None:
        world.plot(ax=ax, color="whitesmoke", edgecolor="darkgrey", linewidth=0.5)
    ax.set_facecolor("aliceblue")


def _draw_layer(ax, layer: MapLayer) -> None:
    if layer.image is not None:
        left, bottom, right, top = layer.bounds
        ax.imshow(layer.image, extent=(left, right, bottom, top), alpha=layer.opacity, interpolation="nearest")
        return
    frame = layer.frame.to_crs(WEB_MERCATOR)
    points = frame.geom_type == "Point"
    if (~points).any():
        shapes = frame[~points]
        shapes.plot(ax=ax, color=shapes["color"], alpha=0.5, edgecolor=shapes["color"], linewidth=1)
        shapes.boundary.plot(ax=ax, color=shapes["color"], linewidth=1)
    if points.any():
        dots = frame[points]
        ax.scatter(dots.geometry.x, dots.geometry.y, s=18, c=dots["color"].tolist(), edgecolor="black", linewidth=0.4,
                   zorder=3)
    if layer.labels:
        centres = frame.geometry.centroid
        ax.scatter(centres.x, centres.y, s=30, c=frame["color"].tolist(), edgecolor="black", zorder=4)
        for x, y, text in zip(centres.x, centres.y, frame[layer.tooltip[0]]):
            ax.annotate(text, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8)


def _folium_layer(layer: MapLayer):
    import folium

    if layer.image is not None:
        west, south, east, north = _to_degrees_bounds(layer.bounds)
        return folium.raster_layers.ImageOverlay(layer.image, bounds=[[south, west], [north, east]],
                                                 opacity=layer.opacity, name=layer.name, mercator_project=False,
                                                 show=layer.show)
    group = folium.FeatureGroup(name=layer.name, show=layer.show)

    def style(feature):
        colour = feature["properties"]["color"]
        return {"color": colour, "fillColor": colour, "weight": 1.5, "fillOpacity": 0.45}

    folium.GeoJson(layer.frame, style_function=style, marker=folium.CircleMarker(radius=5, fill=True),
                   tooltip=folium.GeoJsonTooltip(layer.tooltip) if layer.tooltip else None).add_to(group)
    if layer.labels:
        for (_, row), centre in zip(layer.frame.iterrows(), layer.frame.to_crs(WEB_MERCATOR).centroid.to_crs(DEGREES)):
            folium.CircleMarker([centre.y, centre.x], radius=6, color="black", fill=True, fill_color=row["color"],
                                fill_opacity=1, tooltip=str(row[layer.tooltip[0]])).add_to(group)
    return group


def _legend_html(legend: dict[str, str]) -> str:
    rows = "".join(f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:4px;'
                   f'background:{colour};"></span>{html.escape(label)}</div>' for label, colour in legend.items())
    return ('<div class="labkit-legend" style="position:absolute;bottom:24px;left:8px;z-index:1000;background:white;'
            f'padding:4px 6px;font:12px sans-serif;border-radius:4px;opacity:0.9;">{rows}</div>')
