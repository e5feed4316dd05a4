"""Widget explorers with a static fallback (labkit.explore)."""

import base64
import sys

import numpy as np
import pytest

from labkit.datamodel import make_cube, make_mask
from labkit.errors import BandError, DataModelError
from labkit.explore import date_explorer, series_explorer


@pytest.fixture
def cube():
    values = np.arange(4 * 2 * 3 * 5, dtype=float).reshape(4, 2, 3, 5)
    return make_cube(values, times=["2020-01-01", "2020-03-01", "2020-06-01", "2020-09-01"], bands=["B04", "NDVI"],
                     transform=(10.0, 0, 0.0, 0, -10.0, 30.0), crs="EPSG:32633")


@pytest.fixture
def mask(cube):
    codes = np.zeros((4, 3, 5), np.uint8)
    codes[1] = 1  # a cloudy date
    codes[3, 0, :] = 2  # no data on the first row at the last date
    return make_mask(codes, cube)


def test_sliders_choose_the_pixel_of_the_series(cube, mask):
    explorer = series_explorer(cube, mask, band="NDVI")
    assert explorer.state == {"row": 1, "col": 2}
    before = explorer.picture.value
    explorer.controls["row"].value = 0  # what moving the slider does: its observe callback redraws
    explorer.controls["col"].value = 4
    assert explorer.state == {"row": 0, "col": 4}
    assert explorer.picture.value != before
    series_axes = explorer.figure().axes[1]
    all_dates, masked, valid = series_axes.lines[:3]
    np.testing.assert_array_equal(all_dates.get_ydata(), cube.sel(band="NDVI").values[:, 0, 4])
    assert len(masked.get_ydata()) == 2 and len(valid.get_ydata()) == 2  # dates 1 and 3 are masked there
    assert "0, column 4" in series_axes.get_title()
    assert explorer.update(row=2).controls["row"].value == 2  # and the controls follow a choice made in code


def test_date_slider_redraws(cube, mask):
    explorer = date_explorer(cube, mask, band="B04", date="2020-02-25")
    assert explorer.state == {"date": 1}
    assert explorer.figure().axes[0].get_title() == "B04 on 2020-03-01: 0% valid"
    before = explorer.picture.value
    explorer.controls["date"].value = 3
    assert explorer.picture.value != before
    assert explorer.figure().axes[0].get_title() == "B04 on 2020-09-01: 67% valid"


def test_bundle_holds_widget_and_picture(cube):
    bundle = series_explorer(cube)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"


def test_static_figure_without_ipywidgets(monkeypatch, cube, mask):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    explorer = series_explorer(cube, mask)
    assert explorer.widget is None and explorer.controls == {}
    bundle = explorer._repr_mimebundle_()
    assert sorted(bundle) == ["image/png", "text/plain"]
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    assert explorer.update(row=0).figure().axes[1].get_title() == "pixel row 0, column 2"


def test_bad_input(cube, mask):
    with pytest.raises(BandError, match="no band 'B08'"):
        series_explorer(cube, band="B08")
    with pytest.raises(DataModelError, match="not on the cube's dates"):
        date_explorer(cube, mask.isel(time=slice(0, 2)))
    with pytest.raises(DataModelError, match="outside"):
        series_explorer(cube, pixel=(3, 0))
