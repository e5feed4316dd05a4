"""Messages of the validation and sampling stages: missing labels and points without coordinates, named.

Issue 7. ``assess_accuracy`` and ``estimate_area`` say how many labels are missing, in which argument and where;
``extract_samples`` says which rows have no coordinates (None, empty, NaN or infinite x/y) instead of calling them
"outside the cube".
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from labkit.accuracy import assess_accuracy, estimate_area
from labkit.errors import ConfigError, DataModelError
from labkit.samples import extract_samples

NAN = float("nan")

# ---------------------------------------------------------------------------------------------- missing labels


@pytest.mark.parametrize(("y_true", "y_pred", "message"), [
    ([1.0, NAN, 2.0, 2.0], [1, 2, 2, 1], r"1 of the 4 labels in y_true is missing \(NaN or None\), at positions \[1\]"),
    ([1, 2, 2, 1], [1.0, 2.0, NAN, NAN], r"2 of the 4 labels in y_pred are missing \(NaN or None\), at positions "
                                         r"\[2, 3\]"),
    ([1, None, 2], [1, 2, 2], r"1 of the 3 labels in y_true is missing \(NaN or None\), at positions \[1\]"),
    (np.r_[np.full(7, NAN), 1.0], np.ones(8), r"7 of the 8 labels in y_true are missing \(NaN or None\), at positions "
                                              r"\[0, 1, 2, 3, 4\] \.\.\."),
])
def test_missing_labels_are_counted_located_and_the_fix_given(y_true, y_pred, message):
    with pytest.raises(DataModelError, match=r"^assess_accuracy: " + message + r"\. Drop the unlabelled samples from "
                                             r"both arguments first, e\.g\. keep = pandas\.notna\(y_true\) & "
                                             r"pandas\.notna\(y_pred\)\.$"):
        assess_accuracy(y_true, y_pred)


def test_missing_code_in_labels_argument():
    # labels is a parameter, not data: NaN there is a bad class code (a ConfigError), named as such
    with pytest.raises(ConfigError, match=r"^assess_accuracy: labels must hold integer class codes; got nan at "
                                          r"position 1"):
        assess_accuracy([1, 2], [1, 2], labels=[1, NAN])


@pytest.mark.parametrize(("y_true", "message"), [
    ([1.5, 2.0], r"y_true must hold integer class codes; got 1\.5 at position 0 \(1 value\(s\) not a whole number\)"),
    ([1.0, np.inf], r"y_true must hold integer class codes; got inf at position 1"),
    # names are labels too (text labels), but not against codes: the message says how to get names from a model
    (["crop", "water"], r"y_pred holds class codes \(int64 values\) but y_true class names \(text, such as "
                        r"\['crop'\]\); give both as names or both as codes\. .*model\.class_names_"),
])
def test_labels_that_are_not_codes_are_refused(y_true, message):
    with pytest.raises(ConfigError, match=r"^assess_accuracy: " + message):
        assess_accuracy(y_true, [1, 2])


def test_whole_float_labels_still_work():
    report = assess_accuracy(np.array([1.0, 2.0, 2.0]), [1, 2, 1])
    assert report.labels == [1, 2] and report.confusion.tolist() == [[1, 0], [1, 1]]


@pytest.mark.parametrize(("mapped", "reference", "name"), [
    ([1.0, 1.0, NAN, 2.0, 2.0], [1, 1, 2, 2, 2], "map_classes"),
    ([1, 1, 2, 2], [1.0, NAN, 2.0, 2.0], "reference_classes"),
])
def test_estimate_area_names_missing_classes(mapped, reference, name):
    position = int(np.flatnonzero(np.isnan(np.asarray(mapped if name == "map_classes" else reference, float)))[0])
    with pytest.raises(DataModelError, match=rf"^estimate_area: 1 of the \d labels in {name} is missing \(NaN or "
                                             rf"None\), at positions \[{position}\]\. .*pandas\.notna\(map_classes\) "
                                             r"& pandas\.notna\(reference_classes\)"):
        estimate_area(mapped, reference, {1: 10, 2: 10})


# --------------------------------------------------------------------------------- points without coordinates

X0, Y0 = 500000.0, 4000000.0


@pytest.fixture
def cube(make_cube):
    return make_cube(n_time=2, bands=("B04",), height=6, width=6)


def _points(third, crs="EPSG:32631"):
    return gpd.GeoDataFrame({"polygon_id": [11, 12, 13], "class_id": [1, 2, 1]},
                            geometry=[Point(X0 + 15, Y0 - 15), third, Point(X0 + 35, Y0 - 25)], crs=crs)


@pytest.mark.parametrize(("geometry", "reason"), [
    (None, r"1 without geometry \(None\)"),
    (Point(), r"1 empty"),
    (Point(NAN, NAN), r"1 with NaN or infinite x/y"),
    (Point(X0 + 5, NAN), r"1 with NaN or infinite x/y"),
    (Point(np.inf, Y0 - 5), r"1 with NaN or infinite x/y"),
])
def test_point_without_coordinates_is_named_not_called_outside(cube, geometry, reason):
    with pytest.raises(DataModelError, match=r"^extract_samples: 1 geometry has no coordinates \(polygon_id \[12\], "
                                             rf"rows \[1\]\): {reason}\. Drop them first") as error:
        extract_samples(cube, _points(geometry))
    assert "outside" not in str(error.value)


def test_rows_are_named_without_an_id_field_and_on_outside_drop(cube):
    points = _points(Point(NAN, NAN)).set_index(np.array([5, 6, 7]))
    with pytest.raises(DataModelError, match=r"1 geometry has no coordinates \(rows \[6\]\): 1 with NaN"):
        extract_samples(cube, points, id_field=None, on_outside="drop")  # not dropped silently as "outside"


@pytest.mark.filterwarnings("ignore:invalid value encountered in linearrings:RuntimeWarning")  # making the NaN ring
def test_every_reason_is_counted(cube):
    reference = gpd.GeoDataFrame(
        {"polygon_id": [1, 2, 3, 4, 5], "class_id": [1, 1, 2, 2, 1]},
        geometry=[box(X0 + 2, Y0 - 28, X0 + 28, Y0 - 2), None, Polygon(), Point(NAN, 1.0),
                  Polygon([(X0, Y0), (X0 + NAN, Y0 - 30), (X0 + 30, Y0)])], crs="EPSG:32631")
    with pytest.raises(DataModelError, match=r"4 geometries have no coordinates \(polygon_id \[2, 3, 4, 5\], rows "
                                             r"\[1, 2, 3, 4\]\): 1 without geometry \(None\), 1 empty, 2 with NaN or "
                                             r"infinite x/y\."):
        extract_samples(cube, reference)
