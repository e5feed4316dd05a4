"""Web maps with a static fallback (labkit.maps)."""

import base64
import io
import sys

import folium
import numpy as np
import pytest
from PIL import Image

from labkit.datamodel import make_cube, make_samples
from labkit.datasets import load_slovenia
from labkit.errors import DataModelError
from labkit.maps import (PICTURE_SIZE, WebMap, add_class_map, add_layer, footprint, locator_map, reference_map,
                         samples_map)
from labkit.report import class_colors


@pytest.fixture(scope="module")
def slovenia():
    return load_slovenia()


def _grid(values):
    values = np.asarray(values, dtype=float)
    return make_cube(values[None, None], times=["2020-01-01"], bands=["v"], crs="EPSG:32633",
                     transform=(10.0, 0, 465000.0, 0, -10.0, 5080000.0)).isel(time=0, band=0, drop=True)


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).size


def test_one_folium_layer_per_input_and_fallback_picture(slovenia):
    m = add_class_map(reference_map(slovenia.polygons), slovenia.reference, slovenia.class_names)
    web = m.to_folium()
    overlays = [c for c in web._children.values()
                if isinstance(c, (folium.FeatureGroup, folium.raster_layers.ImageOverlay))]
    assert [o.layer_name for o in overlays] == ["reference polygons", "class map"]
    tiles = [c.tile_name for c in web._children.values() if isinstance(c, folium.TileLayer)]
    assert tiles[0] == "OpenStreetMap" and "aerial" in tiles[1]

    bundle = m._repr_mimebundle_()
    assert _png_size(base64.b64decode(bundle["image/png"])) == PICTURE_SIZE
    page = bundle["text/html"]
    # the picture lies under the map's frame; the frame's script hides the map when Leaflet or its tiles are missing
    assert page.index("data:image/png;base64,") < page.index("<iframe")
    embedded = page.split('src="data:image/png;base64,')[1].split('"')[0]
    assert _png_size(base64.b64decode(embedded)) == PICTURE_SIZE
    assert "typeof L" in page and "leaflet-tile-loaded" in page
    assert "artificial surface" in page  # legend and tooltips name the classes


def test_class_colours_match_the_class_figures(slovenia):
    values = np.array([[1, 2], [8, 255]])
    names = {1: "cultivated land", 2: "forest", 8: "artificial surface"}
    layer = add_class_map(WebMap(), _grid(values).astype("uint8"), names).layers[0]
    expected = class_colors(sorted(names), names)
    colours = {tuple(int(round(255 * v)) for v in px[:3]) for px in layer.image.reshape(-1, 4) if px[3] > 0}
    assert colours == set(expected.values())
    assert (layer.image[..., 3] == 0).any()  # NO_CLASS is transparent
    # the reference polygons of a class take the colour of that class on the class map
    polygons = reference_map(slovenia.polygons).layers[0].legend
    on_map = add_class_map(WebMap(), slovenia.reference, slovenia.class_names).layers[0].legend
    assert {k: polygons[k] for k in on_map} == on_map


def test_static_picture_without_folium(monkeypatch, slovenia):
    monkeypatch.setitem(sys.modules, "folium", None)  # import folium now raises ImportError
    m = reference_map(slovenia.polygons)
    bundle = m._repr_mimebundle_()
    assert "text/html" not in bundle
    assert _png_size(base64.b64decode(bundle["image/png"])) == PICTURE_SIZE


def test_samples_and_locator(slovenia):
    samples = make_samples(np.zeros((3, 1, 1)), ["forest", "crop", "forest"], [0, 1, 2], bands=["NDVI"],
                           x=[465500.0, 465600.0, 465700.0], y=[5079500.0] * 3, crs="EPSG:32633")
    layer = samples_map(samples).layers[0]
    assert len(layer.frame) == 3 and layer.frame["color"].nunique() == 2
    with pytest.raises(DataModelError, match="no coordinates"):
        samples_map(samples.drop_vars(["x", "y"]))

    where = footprint(slovenia)
    assert where.contains(footprint(slovenia.polygons.iloc[:1]).centroid)
    lon, lat = where.centroid.x, where.centroid.y
    assert 14.5 < lon < 14.6 and 45.8 < lat < 45.9  # the patch lies in Slovenia, in UTM zone 33N
    m = locator_map({"Slovenia": slovenia, "a point": (11.3, 46.5)})
    assert m.layers[0].frame["dataset"].tolist() == ["Slovenia", "a point"]
    assert "Slovenia" in m.html()


def test_continuous_layer_and_bad_input(tmp_path):
    layer = add_layer(WebMap(), _grid([[0.0, np.nan], [0.5, 1.0]]), cmap="magma", name="uncertainty").layers[0]
    assert layer.image.shape[-1] == 4 and (layer.image[..., 3] == 0).any()  # NaN is transparent
    no_crs = _grid([[1, 2]]).drop_vars("spatial_ref")
    no_crs.attrs.clear()
    with pytest.raises(DataModelError, match="no CRS"):
        add_class_map(WebMap(), no_crs, {1: "a", 2: "b"})
    with pytest.raises(DataModelError, match="no column 'kind'"):
        reference_map(load_slovenia().polygons, column="kind")
    with pytest.raises(DataModelError, match="cannot tell where"):
        footprint("Slovenia")
    page = WebMap("saved").save(tmp_path / "map.html")
    assert "data:image/png;base64," in page.read_text()


def test_hidden_layer_is_off_on_the_web_map_and_out_of_the_picture():
    below = add_class_map(WebMap(), _grid([[1, 2], [2, 1]]), {1: "forest", 2: "water"}, show=False)
    m = add_layer(below, _grid([[0.0, 0.5], [0.5, 1.0]]), cmap="magma", name="uncertainty")
    assert [layer.show for layer in m.layers] == [False, True]
    overlays = [child for child in m.to_folium()._children.values()
                if isinstance(child, folium.raster_layers.ImageOverlay)]
    assert [overlay.show for overlay in overlays] == [False, True]
    legend = m.figure().axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["uncertainty: 0 to 1 (magma)"]
    assert len(m.figure().axes[0].images) == 1  # the hidden class map does not cover the layer on the picture
