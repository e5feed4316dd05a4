"""labkit.samples: pixels inside polygons (checked with shapely point-in-polygon tests), splits without leakage."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError
from labkit.samples import extract_samples, split_by_group

X0, Y0 = 500000.0, 4000000.0  # upper-left corner of the conftest cubes (10 m pixels, EPSG:32631)


@pytest.fixture
def cube(make_cube):
    return make_cube(n_time=4, bands=("B04", "B08"), height=10, width=12, seed=3)


def _polygons(crs="EPSG:32631"):
    """Five polygons with edges 2-3 m away from any pixel centre (centres sit at 5, 15, 25... m)."""
    shapes = [
        box(X0 + 12, Y0 - 42, X0 + 48, Y0 - 2),  # 4 x 4 pixels
        Polygon([(X0 + 62, Y0 - 12), (X0 + 116, Y0 - 12), (X0 + 62, Y0 - 60)]),  # a triangle
        box(X0 + 2, Y0 - 98, X0 + 28, Y0 - 62),
        box(X0 + 42, Y0 - 98, X0 + 58, Y0 - 72),
        box(X0 + 92, Y0 - 98, X0 + 118, Y0 - 78),
    ]
    return gpd.GeoDataFrame(
        {"polygon_id": [101, 102, 201, 202, 301], "class_id": [1, 1, 2, 2, 3],
         "class_name": ["crop", "crop", "forest", "forest", "water"]},
        geometry=shapes, crs=crs,
    )


def test_polygon_edges_stay_clear_of_pixel_centres(cube):
    """The premise of the exact comparisons below: no pixel centre lies within 1 m of a polygon's edge."""
    centres = [Point(x, y) for x in cube.x.values for y in cube.y.values]
    assert min(g.exterior.distance(c) for g in _polygons().geometry for c in centres) > 1.0


def _expected_pixels(cube, polygons):
    """``{(x, y): row}`` of every pixel centre strictly inside a polygon, by shapely."""
    found = {}
    for x in cube.x.values:
        for y in cube.y.values:
            for row, geometry in enumerate(polygons.geometry):
                if geometry.contains(Point(x, y)):
                    found[(float(x), float(y))] = row
    return found


# --------------------------------------------------------------------------------------------------- extract


def test_samples_are_the_pixels_inside_the_polygons(cube):
    polygons = _polygons()
    samples = extract_samples(cube, polygons)
    assert dm.validate(samples) == "samples"
    expected = _expected_pixels(cube, polygons)
    got = {(float(x), float(y)): int(g) for x, y, g in zip(samples.x.values, samples.y.values, samples.group.values)}
    assert set(got) == set(expected) and len(got) == samples.sizes["sample"]  # no pixel twice
    for where, row in expected.items():
        assert got[where] == polygons.polygon_id[row]
    assert samples.attrs["polygons_without_pixels"] == 0


def test_sample_values_are_the_cube_values_at_the_pixel_centres(cube):
    samples = extract_samples(cube, _polygons())
    for s in range(samples.sizes["sample"]):
        pixel = cube.sel(x=samples.x.values[s], y=samples.y.values[s])  # exact coordinates: no tolerance
        np.testing.assert_array_equal(samples.X.values[s], pixel.transpose("time", "band").values)
    np.testing.assert_array_equal(samples.time.values, cube.time.values)
    assert samples.band.values.tolist() == ["B04", "B08"]


def test_each_group_is_one_polygon_with_its_class(cube):
    polygons = _polygons()
    samples = extract_samples(cube, polygons)
    by_id = polygons.set_index("polygon_id")
    for group in np.unique(samples.group.values):
        rows = samples.group.values == group
        geometry = by_id.geometry[group]
        assert all(geometry.contains(Point(x, y)) for x, y in zip(samples.x.values[rows], samples.y.values[rows]))
        assert set(samples.label.values[rows].tolist()) == {by_id.class_id[group]}
    assert dm.class_names(samples) == {1: "crop", 2: "forest", 3: "water"}
    assert pd.Series(samples.group.values).value_counts()[101] == 16  # 4 x 4 pixels, by construction


def test_samples_carry_the_cube_crs(cube):
    from pyproj import CRS

    samples = extract_samples(cube, _polygons())
    assert CRS.from_wkt(samples.attrs["crs"]).to_epsg() == 32631


def test_polygons_in_another_crs_give_the_same_samples(cube):
    polygons = _polygons()
    xr.testing.assert_identical(extract_samples(cube, polygons.to_crs("EPSG:4326")), extract_samples(cube, polygons))


def test_slovenian_polygons_in_wgs84_give_the_same_samples():
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    labelled = data.polygons[data.polygons.class_id > 0]
    samples = extract_samples(data.cube, labelled)
    xr.testing.assert_identical(extract_samples(data.cube, labelled.to_crs("EPSG:4326")), samples)
    # Real data: every sample is the cube's pixel at its centre, inside its polygon.
    rng = np.random.default_rng(0)
    by_id = labelled.set_index("polygon_id")
    for s in rng.choice(samples.sizes["sample"], 50, replace=False):
        x, y, group = samples.x.values[s], samples.y.values[s], samples.group.values[s]
        np.testing.assert_array_equal(samples.X.values[s], data.cube.sel(x=x, y=y).values)
        assert by_id.geometry[group].contains(Point(x, y))
        assert samples.label.values[s] == by_id.class_id[group]
    assert set(np.unique(samples.label.values)) <= set(labelled.class_id)


def test_dask_cube_gives_the_same_samples(cube):
    xr.testing.assert_identical(extract_samples(cube.chunk({"y": 3, "x": 5}), _polygons()),
                                extract_samples(cube, _polygons()))


def test_id_field_none_numbers_the_rows(cube):
    samples = extract_samples(cube, _polygons().drop(columns="polygon_id"), id_field=None)
    assert set(np.unique(samples.group.values).tolist()) == {0, 1, 2, 3, 4}


def test_small_polygon_needs_all_touched(cube):
    tiny = box(X0 + 101, Y0 - 9, X0 + 104, Y0 - 6)  # 3 m x 3 m inside one pixel, off its centre
    polygons = pd.concat([_polygons(), gpd.GeoDataFrame(
        {"polygon_id": [401], "class_id": [4], "class_name": ["hut"]}, geometry=[tiny], crs="EPSG:32631")],
        ignore_index=True)
    samples = extract_samples(cube, polygons)
    assert samples.attrs["polygons_without_pixels"] == 1 and 401 not in samples.group.values
    touched = extract_samples(cube, polygons, all_touched=True)
    rows = touched.group.values == 401
    assert rows.sum() == 1
    assert (touched.x.values[rows][0], touched.y.values[rows][0]) == (X0 + 105, Y0 - 5)


# ---------------------------------------------------------------------------------------------- bad polygons


def test_not_a_geodataframe_is_refused(cube):
    with pytest.raises(ConfigError, match="polygons must be a GeoDataFrame; got DataFrame"):
        extract_samples(cube, pd.DataFrame(_polygons().drop(columns="geometry")))


def test_missing_class_field_is_named(cube):
    with pytest.raises(ConfigError, match=r"the polygons have no field 'landcover' \(class_field\); fields: "
                                          r"\['polygon_id', 'class_id', 'class_name'\]"):
        extract_samples(cube, _polygons(), class_field="landcover")


def test_missing_id_field_is_named(cube):
    with pytest.raises(ConfigError, match=r"no field 'polygon_id' \(id_field\)"):
        extract_samples(cube, _polygons().drop(columns="polygon_id"))


def test_polygons_without_crs_are_refused(cube):
    with pytest.raises(ConfigError, match=r"the polygons have no CRS\. Set it with polygons\.set_crs"):
        extract_samples(cube, _polygons().set_crs(None, allow_override=True))


def test_empty_geometries_are_counted_and_listed(cube):
    polygons = _polygons()
    polygons.loc[1, "geometry"] = None
    polygons.loc[3, "geometry"] = Polygon()
    with pytest.raises(DataModelError, match=r"2 empty geometries \(rows \[1, 3\]\)\. Drop them first"):
        extract_samples(cube, polygons)


def test_invalid_geometry_is_counted_with_the_repair(cube):
    polygons = _polygons()
    polygons.loc[2, "geometry"] = Polygon([(X0, Y0), (X0 + 50, Y0 - 50), (X0 + 50, Y0), (X0, Y0 - 50)])  # bow tie
    with pytest.raises(DataModelError, match=r"1 invalid geometry \(rows \[2\]\)\. Repair them with "
                                             r"polygons\.make_valid\(\)"):
        extract_samples(cube, polygons)


def test_non_integer_classes_are_refused(cube):
    polygons = _polygons().astype({"class_id": "float64"})
    with pytest.raises(ConfigError, match=r"the class field 'class_id' must hold integer codes; got float64"):
        extract_samples(cube, polygons)


def test_polygons_outside_the_cube_are_refused(cube):
    polygons = _polygons()
    far = polygons.set_geometry(polygons.translate(xoff=50_000))
    with pytest.raises(DataModelError, match=r"none of the 5 polygons covers a pixel centre of the cube \(cube "
                                             r"bounds .*Check their CRS and location, or use all_touched=True"):
        extract_samples(cube, far)


def test_polygons_in_a_wrongly_declared_crs_are_refused(cube):
    wrong = _polygons().set_crs("EPSG:32633", allow_override=True)  # same numbers, another UTM zone
    with pytest.raises(DataModelError, match="none of the 5 polygons covers a pixel centre"):
        extract_samples(cube, wrong)


def test_cube_is_validated(cube):
    with pytest.raises(DataModelError, match="cube: dims must be"):
        extract_samples(cube.transpose("band", "time", "y", "x"), _polygons())


# ------------------------------------------------------------------------------------------------------ split


def _samples(labels_of_groups, pixels_of_groups):
    label = np.repeat(labels_of_groups, pixels_of_groups)
    group = np.repeat(np.arange(len(labels_of_groups)) * 10 + 7, pixels_of_groups)
    X = np.arange(len(label) * 2, dtype=float).reshape(-1, 2, 1)
    return dm.make_samples(X, label, group, bands=["NDVI"], x=np.arange(len(label)), y=-np.arange(len(label)))


layouts = st.integers(1, 14).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, 4), min_size=n, max_size=n), st.lists(st.integers(1, 5), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(layout=layouts, train_size=st.floats(0.05, 0.95), random_state=st.integers(0, 1000))
def test_split_keeps_polygons_whole_and_every_class_on_both_sides(layout, train_size, random_state):
    samples = _samples(*layout)
    train, val = split_by_group(samples, train_size=train_size, random_state=random_state)
    train_groups, val_groups = set(train.group.values.tolist()), set(val.group.values.tolist())
    assert not train_groups & val_groups
    # Every sample lands on exactly one side, unchanged.
    assert sorted(train.sample.values.tolist() + val.sample.values.tolist()) == list(range(samples.sizes["sample"]))
    xr.testing.assert_identical(samples.isel(sample=train.sample.values), train)
    for code in np.unique(samples.label.values):
        groups = set(samples.group.values[samples.label.values == code].tolist())
        n_train = len(groups & train_groups)
        if len(groups) == 1:
            assert n_train == 1  # a lone polygon trains
        else:
            assert 1 <= n_train <= len(groups) - 1  # both sides
            share = round(train_size * len(groups))
            if 1 <= share <= len(groups) - 1:
                assert n_train == share
    again = split_by_group(samples, train_size=train_size, random_state=random_state)
    xr.testing.assert_identical(again[0], train)


def test_split_depends_on_random_state():
    samples = _samples([1] * 20, [2] * 20)
    splits = {tuple(split_by_group(samples, random_state=seed)[0].group.values.tolist()) for seed in range(5)}
    assert len(splits) > 1


def test_split_keeps_the_optional_variables():
    samples = _samples([1, 1, 2, 2], [3, 2, 1, 4])
    train, val = split_by_group(samples, train_size=0.5)
    assert {"x", "y"} <= set(val.data_vars)
    np.testing.assert_array_equal(val.x.values, samples.x.values[val.sample.values])


def test_polygon_with_several_classes_is_refused():
    samples = dm.make_samples(np.zeros((5, 1, 1)), [1, 1, 2, 2, 2], [4, 4, 4, 5, 6], bands=["NDVI"])
    with pytest.raises(DataModelError, match=r"polygons \[4\] hold pixels of several classes; give each polygon a "
                                             r"single class"):
        split_by_group(samples)


@pytest.mark.parametrize("train_size", [0, 1, 1.5, -0.2])
def test_train_size_out_of_range_is_refused(train_size):
    with pytest.raises(ConfigError, match=rf"train_size must be in \(0, 1\); got {train_size}"):
        split_by_group(_samples([1, 1], [1, 1]), train_size=train_size)


def test_split_validates_its_input():
    with pytest.raises(DataModelError, match="sample set: missing variable 'group'"):
        split_by_group(_samples([1, 1], [1, 1]).drop_vars("group"))
