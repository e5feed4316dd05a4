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
from labkit.samples import (
    PolygonKFold,
    PolygonSplit,
    assign_regions,
    balance_classes,
    extract_samples,
    split_by_group,
    split_by_region,
    split_folds,
    split_runs,
)

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


def test_each_polygon_is_a_site_and_a_point_inside_one_joins_it(cube):
    polygons = _polygons()
    inside = gpd.GeoDataFrame({"polygon_id": [900], "class_id": [3]}, geometry=[Point(X0 + 25, Y0 - 25)],
                               crs="EPSG:32631")  # a point on a pixel of polygon 101
    samples = extract_samples(cube, pd.concat([polygons, inside], ignore_index=True))
    site_of = pd.DataFrame({"group": samples.group.values, "site": samples.site.values}).drop_duplicates()
    assert site_of.group.is_unique and site_of.site.tolist() == [0, 1, 2, 3, 4, 0]  # 101 and 900: one place
    assert site_of.group.tolist() == [101, 102, 201, 202, 301, 900]


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
    with pytest.raises(DataModelError, match=r"1 class has fewer than 1 samples: 4 \(hut\) with \[0\] pixels\. "
                                             r"Add reference data, use all_touched=True"):
        extract_samples(cube, polygons)
    samples = extract_samples(cube, polygons, min_samples_per_class=0)
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
    with pytest.raises(DataModelError, match=r"2 geometries have no coordinates \(polygon_id \[102, 202\], rows \[1, 3\]\): "
                                             r"1 without geometry \(None\), 1 empty\. Drop them first"):
        extract_samples(cube, polygons)
    with pytest.raises(DataModelError, match=r"2 geometries have no coordinates \(rows \[1, 3\]\)"):
        extract_samples(cube, polygons, id_field=None)


def test_invalid_geometry_is_counted_with_the_repair(cube):
    polygons = _polygons()
    polygons.loc[2, "geometry"] = Polygon([(X0, Y0), (X0 + 50, Y0 - 50), (X0 + 50, Y0), (X0, Y0 - 50)])  # bow tie
    with pytest.raises(DataModelError, match=r"1 invalid geometry \(polygon_id \[201\]\)\. Repair them with "
                                             r"polygons\.make_valid\(\)"):
        extract_samples(cube, polygons)


def test_non_integer_classes_are_refused(cube):
    polygons = _polygons().astype({"class_id": "float64"})
    with pytest.raises(ConfigError, match=r"the class field 'class_id' must hold integer codes or class names; got "
                                          r"float64"):
        extract_samples(cube, polygons)


def test_polygons_outside_the_cube_are_refused(cube):
    polygons = _polygons()
    far = polygons.set_geometry(polygons.translate(xoff=50_000))
    with pytest.raises(DataModelError, match=r"none of the 5 polygons or points overlaps the cube \(cube bounds "
                                             r"\(500000\.0, 3999900\.0, 500120\.0, 4000000\.0\) in EPSG:32631; theirs "
                                             r"\(550002\.0, .*Check their CRS and location"):
        extract_samples(cube, far)


def test_polygons_in_a_wrongly_declared_crs_are_refused(cube):
    wrong = _polygons().set_crs("EPSG:32633", allow_override=True)  # same numbers, another UTM zone
    with pytest.raises(DataModelError, match="none of the 5 polygons or points overlaps the cube"):
        extract_samples(cube, wrong)


def test_cube_is_validated(cube):
    with pytest.raises(DataModelError, match="cube: dims must be"):
        extract_samples(cube.transpose("band", "time", "y", "x"), _polygons())


def test_partly_outside_geometries_are_named_or_dropped(cube):
    polygons = _polygons()
    moved = polygons.geometry.translate(xoff=10_000)
    polygons.loc[[3, 4], "geometry"] = moved[[3, 4]]
    with pytest.raises(DataModelError, match=r"2 geometries lie outside the cube \(polygon_id \[202, 301\]\)\. Check "
                                             r"their CRS, or pass on_outside='drop'"):
        extract_samples(cube, polygons)
    kept = extract_samples(cube, polygons, on_outside="drop")
    assert set(np.unique(kept.group.values).tolist()) == {101, 102, 201}
    assert kept.attrs["geometries_outside"] == 2 and dm.class_names(kept) == {1: "crop", 2: "forest"}


def test_bad_options_are_refused(cube):
    with pytest.raises(ConfigError, match=r"on_outside must be one of \('raise', 'drop'\); got 'skip'"):
        extract_samples(cube, _polygons(), on_outside="skip")
    with pytest.raises(ConfigError, match=r"on_too_few must be one of"):
        extract_samples(cube, _polygons(), on_too_few="ignore")
    with pytest.raises(ConfigError, match=r"min_samples_per_class must be an integer >= 0; got -1"):
        extract_samples(cube, _polygons(), min_samples_per_class=-1)


def test_a_class_with_too_few_samples_is_named_with_its_count(cube):
    # class 3 (water) has one polygon of 3 x 2 pixels (centres at x = 95, 105, 115 m and y = -85, -95 m).
    samples = extract_samples(cube, _polygons())
    assert (samples.label.values == 3).sum() == 6
    with pytest.raises(DataModelError, match=r"1 class has fewer than 7 samples: 3 \(water\) with \[6\] pixels.*"
                                             r"or pass on_too_few='drop'"):
        extract_samples(cube, _polygons(), min_samples_per_class=7)
    n_forest = int((samples.label.values == 2).sum())
    with pytest.raises(DataModelError, match=rf"2 classes have fewer than {n_forest + 1} samples: 2 \(forest\), "
                                             rf"3 \(water\) with \[{n_forest}, 6\] pixels"):
        extract_samples(cube, _polygons(), min_samples_per_class=n_forest + 1)
    dropped = extract_samples(cube, _polygons(), min_samples_per_class=7, on_too_few="drop")
    assert 3 not in dropped.label.values and dropped.attrs["dropped_classes"].tolist() == [3]
    assert dm.class_names(dropped) == {1: "crop", 2: "forest"}
    assert "class_name" in dropped and dropped["class"].values.tolist() == [1, 2]
    with pytest.raises(DataModelError, match="every class has fewer than 1000 samples"):
        extract_samples(cube, _polygons(), min_samples_per_class=1000, on_too_few="drop")


def test_class_names_as_the_class_field_get_codes_in_alphabetical_order(cube):
    polygons = _polygons().drop(columns="class_id")
    samples = extract_samples(cube, polygons, class_field="class_name")
    assert dm.class_names(samples) == {1: "crop", 2: "forest", 3: "water"}
    xr.testing.assert_identical(samples, extract_samples(cube, _polygons()))


def test_missing_class_and_non_integer_ids_are_refused(cube):
    polygons = _polygons().astype({"class_id": "Int64"})
    polygons.loc[2, "class_id"] = pd.NA
    with pytest.raises(ConfigError, match=r"1 geometry has no class in 'class_id' \(polygon_id \[201\]\)"):
        extract_samples(cube, polygons)
    named = _polygons().astype({"polygon_id": str})
    with pytest.raises(ConfigError, match=r"the id field 'polygon_id' must hold integers .* got \w+\. Pass "
                                          r"id_field=None"):
        extract_samples(cube, named)


def test_lines_are_refused_with_the_way_out(cube):
    from shapely.geometry import LineString

    polygons = _polygons()
    polygons.loc[0, "geometry"] = LineString([(X0 + 5, Y0 - 5), (X0 + 45, Y0 - 45)])
    with pytest.raises(ConfigError, match=r"1 geometry is neither polygons nor points \(\['LineString'\]: "
                                          r"polygon_id \[101\]\)\. Buffer lines"):
        extract_samples(cube, polygons)


def test_empty_reference_is_refused(cube):
    with pytest.raises(ConfigError, match="no polygons or points were given"):
        extract_samples(cube, _polygons().iloc[:0])


# ----------------------------------------------------------------------------------------------------- points


def _points(crs="EPSG:32631"):
    from shapely.geometry import MultiPoint

    geometries = [Point(X0 + 3, Y0 - 3), Point(X0 + 117, Y0 - 51), MultiPoint([(X0 + 55, Y0 - 95), (X0 + 61, Y0 - 95)])]
    return gpd.GeoDataFrame({"point_id": [7, 8, 9], "class_id": [2, 1, 2]}, geometry=geometries, crs=crs)


def test_points_give_the_pixel_that_holds_them(cube):
    samples = extract_samples(cube, _points(), id_field="point_id")
    assert samples.group.values.tolist() == [7, 8, 9, 9]
    assert samples.label.values.tolist() == [2, 1, 2, 2]
    assert list(zip(samples.x.values - X0, samples.y.values - Y0)) == [(5, -5), (115, -55), (55, -95), (65, -95)]
    np.testing.assert_array_equal(samples.X.values[1], cube.isel(y=5, x=11).transpose("time", "band").values)
    xr.testing.assert_identical(extract_samples(cube, _points().to_crs("EPSG:4326"), id_field="point_id"), samples)


def test_points_and_polygons_together(cube):
    both = pd.concat([_polygons().rename(columns={"polygon_id": "fid"}),
                      _points().rename(columns={"point_id": "fid"})], ignore_index=True)
    samples = extract_samples(cube, both, id_field="fid", name_field=None)
    polygon_samples = extract_samples(cube, _polygons(), name_field=None)
    n = polygon_samples.sizes["sample"]
    np.testing.assert_array_equal(samples.X.values[:n], polygon_samples.X.values)
    assert samples.group.values[n:].tolist() == [7, 8, 9, 9]


def test_a_point_outside_the_cube_is_named(cube):
    points = _points()
    points.loc[1, "geometry"] = Point(X0 + 121, Y0 - 51)  # 1 m east of the cube's edge
    with pytest.raises(DataModelError, match=r"1 geometry lies outside the cube \(point_id \[8\]\)"):
        extract_samples(cube, points, id_field="point_id")


# ------------------------------------------------------------------------------------ only the blocks needed


class _RecordingArray:
    """An array-like that records the windows dask reads from it."""

    def __init__(self, data):
        self.data, self.shape, self.dtype, self.ndim = data, data.shape, data.dtype, data.ndim
        self.reads = []

    def __getitem__(self, key):
        if all(not isinstance(k, slice) or k.stop is None or k.stop > (k.start or 0) for k in key):
            self.reads.append(key)
        return self.data[key]


def test_dask_cube_reads_only_the_chunks_that_hold_samples(cube):
    import dask.array as da

    source = _RecordingArray(cube.values)
    lazy = cube.copy(data=da.from_array(source, chunks=(2, 1, 3, 5)))  # 2 x 2 x 4 x 3 = 48 chunks
    points = _points()
    samples = extract_samples(lazy, points, id_field="point_id")
    xr.testing.assert_identical(samples, extract_samples(cube, points, id_field="point_id"))
    read_blocks = {(k[2].start // 3, k[3].start // 5) for k in source.reads}
    pixels = {((Y0 - y) // 10, (x - X0) // 10) for x, y in zip(samples.x.values, samples.y.values)}
    assert read_blocks == {(int(r) // 3, int(c) // 5) for r, c in pixels} == {(0, 0), (1, 2), (3, 1)}
    assert len(source.reads) == 3 * 2 * 2  # each of the 3 blocks once, for every (time, band) chunk


def test_blocks_without_samples_are_never_computed(cube):
    import dask.array as da

    samples = extract_samples(cube, _polygons())
    holding = {(int((Y0 - y) // 10) // 4, int((x - X0) // 10) // 4) for x, y in zip(samples.x.values, samples.y.values)}
    assert len(holding) < 9  # the premise: some of the 3 x 3 blocks hold no sample

    def guard(block, block_info=None):
        where = tuple(block_info[0]["chunk-location"][2:])
        if where not in holding:
            raise AssertionError(f"block {where} holds no sample but was computed")
        return block

    lazy = cube.copy(data=da.from_array(cube.values, chunks=(4, 2, 4, 4)).map_blocks(guard, dtype=cube.dtype))
    xr.testing.assert_identical(extract_samples(lazy, _polygons()), samples)


def test_lazily_loaded_cube_is_read_by_windows(cube, monkeypatch):
    import labkit.samples as module
    from xarray.core.indexing import LazilyIndexedArray

    monkeypatch.setattr(module, "LAZY_BLOCK", 4)
    lazy = cube.copy(data=LazilyIndexedArray(cube.values.copy()))
    assert not isinstance(lazy.variable._data, np.ndarray) and lazy.chunks is None
    xr.testing.assert_identical(extract_samples(lazy, _polygons()), extract_samples(cube, _polygons()))


def test_read_pixels_of_every_kind_of_cube_agree(cube):
    from labkit.samples import read_pixels

    rng = np.random.default_rng(1)
    iy, ix = rng.integers(0, 10, 30), rng.integers(0, 12, 30)
    expected = cube.values[:, :, iy, ix].transpose(2, 0, 1)
    np.testing.assert_array_equal(read_pixels(cube, iy, ix), expected)
    np.testing.assert_array_equal(read_pixels(cube.chunk({"time": 1, "y": 4, "x": 7}), iy, ix), expected)
    assert read_pixels(cube, [], []).shape == (0, 4, 2)


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
    with pytest.raises(ConfigError, match=rf"^split_by_group: train_size must be a finite number > 0 and < 1; got "
                                          rf"{float(train_size)}\.$"):
        split_by_group(_samples([1, 1], [1, 1]), train_size=train_size)


def test_split_validates_its_input():
    with pytest.raises(DataModelError, match="sample set: missing variable 'group'"):
        split_by_group(_samples([1, 1], [1, 1]).drop_vars("group"))


# ------------------------------------------------------------------------------------------ runs (iota2's runs)


def _sides(samples, train, val):
    return set(samples.group.values[train].tolist()), set(samples.group.values[val].tolist())


@settings(max_examples=60, deadline=None)
@given(layout=layouts, train_size=st.floats(0.05, 0.95), random_state=st.integers(0, 1000), n_runs=st.integers(1, 6))
def test_runs_keep_polygons_whole_differ_and_are_reproducible(layout, train_size, random_state, n_runs):
    samples = _samples(*layout)
    splitter = PolygonSplit(n_runs, train_size=train_size, random_state=random_state)
    y, groups = samples.label.values, samples.group.values
    if n_runs > splitter.n_distinct_splits(y, groups):
        with pytest.raises(ConfigError, match=rf"{n_runs} runs were asked, but these polygons allow only \d+ "):
            splitter.split(samples.X.values, y, groups)
        return
    runs = list(splitter.split(samples.X.values, y, groups))
    assert len(runs) == n_runs == splitter.get_n_splits()
    for train, val in runs:
        train_groups, val_groups = _sides(samples, train, val)
        assert not train_groups & val_groups
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
        for code in np.unique(y):
            class_groups = set(groups[y == code].tolist())
            assert class_groups & train_groups  # every class trains
            if len(class_groups) >= 2:
                assert class_groups & val_groups  # and is validated when it can be
    trains = [tuple(train) for train, _ in runs]
    assert len(set(trains)) == n_runs  # runs differ from each other
    again = list(PolygonSplit(n_runs, train_size=train_size, random_state=random_state).split(None, y, groups))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(runs, again))
    # the first run is split_by_group's split
    first_train, _ = split_by_group(samples, train_size=train_size, random_state=random_state)
    np.testing.assert_array_equal(first_train.sample.values, runs[0][0])


def test_split_runs_yields_sample_sets():
    samples = _samples([1] * 6 + [2] * 5, [3] * 11)
    runs = list(split_runs(samples, 5, train_size=0.7, random_state=0))
    assert len(runs) == 5
    for train, val in runs:
        assert dm.validate(train) == dm.validate(val) == "samples"
        assert not set(train.group.values.tolist()) & set(val.group.values.tolist())
        assert train.sizes["sample"] + val.sizes["sample"] == 33
    assert len({tuple(val.group.values.tolist()) for _, val in runs}) == 5
    assert [v.group.values.tolist() for _, v in split_runs(samples, 5)] == [v.group.values.tolist() for _, v in runs]
    assert [v.group.values.tolist() for _, v in split_runs(samples, 5, random_state=1)] != \
        [v.group.values.tolist() for _, v in runs]


def test_split_runs_checks_its_arguments_at_the_call():
    samples = _samples([1, 1, 2, 2], [1, 1, 1, 1])
    with pytest.raises(ConfigError, match=r"5 runs were asked, but these polygons allow only 4 different split\(s\)"):
        split_runs(samples, 5, train_size=0.5)
    with pytest.raises(ConfigError, match=r"^split_runs: n_runs must be an integer >= 1; got 0\.$"):
        split_runs(samples, 0)
    with pytest.raises(ConfigError, match=r"^split_runs: train_size must be a finite number > 0 and < 1; got 1\.2\.$"):
        split_runs(samples, 2, train_size=1.2)
    with pytest.raises(ConfigError, match=r"^PolygonSplit: n_runs must be an integer >= 1; got 0\.$"):
        list(PolygonSplit(0).split(None, [1, 2], [1, 2]))


def test_splitters_check_y_and_groups():
    with pytest.raises(ConfigError, match=r"PolygonSplit\.split needs the class of each sample \(y\) and its polygon "
                                          r"\(groups\); got groups=None"):
        PolygonSplit().split(None, [1, 2], None)
    with pytest.raises(ConfigError, match=r"X, y and groups must have one entry per sample; got 3, 2 and 2"):
        PolygonKFold(2).split(np.zeros((3, 2)), [1, 2], [1, 2])
    with pytest.raises(ConfigError, match="no samples to split"):
        PolygonSplit().split(None, [], [])


def test_splitters_work_with_scikit_learn():
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import cross_val_score

    samples = _samples([1] * 6 + [2] * 6, [2] * 12)
    X, y, groups = samples.X.values[:, :, 0], samples.label.values, samples.group.values
    for cv in (PolygonSplit(3, random_state=0), PolygonKFold(3, random_state=0)):
        scores = cross_val_score(DummyClassifier(), X, y, groups=groups, cv=cv)
        assert len(scores) == 3
    assert "n_runs=3" in repr(PolygonSplit(3)) and "n_splits=4" in repr(PolygonKFold(4))


# -------------------------------------------------------------------------------------------------- k-fold


@settings(max_examples=40, deadline=None)
@given(layout=layouts, n_splits=st.integers(2, 5), stratify=st.booleans(), random_state=st.integers(0, 100))
def test_folds_put_each_polygon_in_exactly_one_validation_fold(layout, n_splits, stratify, random_state):
    samples = _samples(*layout)
    y, groups = samples.label.values, samples.group.values
    splitter = PolygonKFold(n_splits, stratify=stratify, random_state=random_state)
    if np.unique(groups).size < n_splits:
        with pytest.raises(ConfigError, match=rf"{n_splits} folds need at least {n_splits} polygons; these samples "
                                              r"come from \d+"):
            splitter.split(None, y, groups)
        return
    folds = list(splitter.split(None, y, groups))
    assert len(folds) == n_splits == splitter.get_n_splits()
    validated = []
    for train, val in folds:
        train_groups, val_groups = _sides(samples, train, val)
        assert not train_groups & val_groups
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
        validated.extend(val_groups)
    assert sorted(validated) == sorted(np.unique(groups).tolist())  # each polygon validated exactly once
    again = list(PolygonKFold(n_splits, stratify=stratify, random_state=random_state).split(None, y, groups))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))


def test_stratified_folds_spread_each_class_over_the_folds():
    samples = _samples([1] * 10 + [2] * 5 + [3] * 3, [4] * 18)
    for train, val in split_folds(samples, 3, random_state=0):
        assert set(np.unique(val.label.values).tolist()) == {1, 2, 3}
        assert set(np.unique(train.label.values).tolist()) == {1, 2, 3}
        assert not set(train.group.values.tolist()) & set(val.group.values.tolist())
    classes_per_fold = [np.unique(v.label.values).size for _, v in split_folds(samples, 3, stratify=False)]
    assert len(classes_per_fold) == 3


# ------------------------------------------------------------------------------------------------- regions


def _regional_samples():
    """Two regions side by side (x < 100: west, 1; x >= 100: east, 2), two classes, four polygons per class and
    region; polygon 99 straddles the border with 3 pixels east and 1 west."""
    rows = []
    for region, x0 in ((1, 0), (2, 100)):
        for code in (1, 2):
            for k in range(4):
                group = region * 100 + code * 10 + k
                rows += [(code, group, x0 + 10 * k + 1 + j, 5.0) for j in range(3)]
    rows += [(1, 99, 95.0, 5.0), (1, 99, 101.0, 5.0), (1, 99, 102.0, 5.0), (1, 99, 103.0, 5.0)]
    label, group, x, y = map(np.asarray, zip(*rows))
    return dm.make_samples(np.zeros((len(rows), 2, 1)), label, group, bands=["NDVI"], x=x, y=y, crs="EPSG:32631")


def _zones(crs="EPSG:32631"):
    return gpd.GeoDataFrame({"zone": [1, 2], "name": ["west", "east"]},
                            geometry=[box(0, 0, 100, 10), box(100, 0, 200, 10)], crs=crs).to_crs("EPSG:4326")


def test_assign_regions_by_group_keeps_polygons_whole():
    samples = _regional_samples()
    regional = assign_regions(samples, _zones(), field="zone")
    assert regional.region.values[samples.group.values == 99].tolist() == [2, 2, 2, 2]  # the majority
    assert (regional.region.values[(samples.group.values != 99)] == np.where(samples.x.values < 100, 1, 2)[
        samples.group.values != 99]).all()
    by_pixel = assign_regions(samples, _zones(), field="zone", by="sample")
    assert by_pixel.region.values[samples.group.values == 99].tolist() == [1, 2, 2, 2]
    names = assign_regions(samples, _zones(), field="name")
    assert set(names.region.values.tolist()) == {"west", "east"}
    assert "region" not in samples  # a new object


def test_split_by_region_and_splits_within_each_region():
    samples = assign_regions(_regional_samples(), _zones(), field="zone")
    parts = split_by_region(samples)
    assert list(parts) == [1, 2]
    assert parts[1].sizes["sample"] + parts[2].sizes["sample"] == samples.sizes["sample"]
    assert set(parts[1].region.values.tolist()) == {1}
    for train, val in split_runs(samples, 4, train_size=0.5, random_state=3, by_region=True):
        assert not set(train.group.values.tolist()) & set(val.group.values.tolist())
        for region in (1, 2):
            for code in (1, 2):
                def polygons(s):
                    return set(s.group.values[(s.region.values == region) & (s.label.values == code)].tolist())
                assert polygons(train) and polygons(val)  # every (region, class) on both sides
    for train, val in split_folds(samples, 2, by_region=True):
        assert not set(train.group.values.tolist()) & set(val.group.values.tolist())
    train, val = split_by_group(samples, train_size=0.5, by_region=True)
    assert {(r, c) for r, c in zip(val.region.values, val.label.values)} == {(1, 1), (1, 2), (2, 1), (2, 2)}


def test_a_polygon_in_two_regions_cannot_be_split_by_region():
    samples = assign_regions(_regional_samples(), _zones(), field="zone", by="sample")
    with pytest.raises(DataModelError, match=r"polygons \[99\] hold pixels of several regions; assign whole polygons "
                                             r"to regions: assign_regions\(samples, regions, by='group'\)"):
        split_by_group(samples, by_region=True)


def test_region_errors_say_what_to_do():
    samples = _regional_samples()
    with pytest.raises(DataModelError, match=r"by_region=True needs a 'region' variable; set it with assign_regions"):
        split_by_group(samples, by_region=True)
    with pytest.raises(DataModelError, match=r"split_by_region: the samples have no 'region' variable"):
        split_by_region(samples)
    west_only = _zones().iloc[:1]
    with pytest.raises(DataModelError, match=r"24 samples lie in no region \(polygons \[210, 211, 212, 213, 220, 221, "
                                             r"222, 223\]\)\. Check the CRS of both, or pass on_outside='drop'"):
        assign_regions(samples, west_only, field="zone")
    kept = assign_regions(samples, west_only, field="zone", on_outside="drop")
    # polygon 99 has one pixel in the west and none in another region: it goes west whole
    assert set(kept.region.values.tolist()) == {1} and kept.sizes["sample"] == 24 + 4
    with pytest.raises(ConfigError, match=r"the regions have no field 'eco'; fields: \['zone', 'name'\]"):
        assign_regions(samples, _zones(), field="eco")
    with pytest.raises(ConfigError, match=r"by must be 'group' or 'sample'; got 'pixel'"):
        assign_regions(samples, _zones(), field="zone", by="pixel")
    with pytest.raises(ConfigError, match=r"the regions have no CRS"):
        assign_regions(samples, _zones().set_crs(None, allow_override=True), field="zone")
    with pytest.raises(ConfigError, match=r"regions must be a GeoDataFrame; got DataFrame"):
        assign_regions(samples, pd.DataFrame({"zone": [1]}), field="zone")
    with pytest.raises(ConfigError, match=r"the samples have no 'x'/'y' coordinates"):
        assign_regions(samples.drop_vars(["x", "y"]), _zones(), field="zone")
    no_crs = samples.copy()
    no_crs.attrs = {}
    with pytest.raises(ConfigError, match=r"the samples have no CRS \(attrs\['crs'\]\)"):
        assign_regions(no_crs, _zones(), field="zone")


# ----------------------------------------------------------------------------------------------- balancing


@settings(max_examples=50, deadline=None)
@given(layout=layouts, cap=st.integers(1, 12), random_state=st.integers(0, 100))
def test_capping_takes_pixels_fairly_across_polygons(layout, cap, random_state):
    samples = _samples(*layout)
    capped = balance_classes(samples, max_per_class=cap, random_state=random_state)
    assert np.all(np.diff(capped.sample.values) > 0)  # a subset, in the original order
    xr.testing.assert_identical(samples.isel(sample=capped.sample.values), capped)
    label, group = samples.label.values, samples.group.values
    for code in np.unique(label):
        n_class = (label == code).sum()
        kept = capped.group.values[capped.label.values == code]
        assert len(kept) == min(n_class, cap)
        sizes = pd.Series(group[label == code]).value_counts()
        taken = pd.Series(kept).value_counts().reindex(sizes.index, fill_value=0)
        unfinished = taken[taken < sizes]  # polygons that still had pixels to give
        if len(unfinished):
            assert taken.max() - unfinished.min() <= 1  # none got more than one pixel above those left short
    again = balance_classes(samples, max_per_class=cap, random_state=random_state)
    xr.testing.assert_identical(again, capped)


def test_oversampling_duplicates_small_classes_to_the_minimum():
    samples = _samples([1, 1, 1, 2, 3], [5, 5, 5, 2, 1])
    balanced = balance_classes(samples, max_per_class=6, oversample=True, random_state=0)
    assert np.unique(balanced.label.values, return_counts=True)[1].tolist() == [6, 6, 6]
    small = balanced.sample.values[balanced.label.values == 2]
    assert np.unique(small, return_counts=True)[1].tolist() == [3, 3]  # every sample once before any twice
    assert (balanced.sample.values[balanced.label.values == 3] == 17).all()
    floor = balance_classes(samples, min_per_class=4, oversample=True)
    assert np.unique(floor.label.values, return_counts=True)[1].tolist() == [15, 4, 4]
    largest = balance_classes(samples, oversample=True)
    assert np.unique(largest.label.values, return_counts=True)[1].tolist() == [15, 15, 15]


def test_balance_options_are_checked():
    samples = _samples([1, 2], [3, 1])
    with pytest.raises(ConfigError, match=r"min_per_class=2 needs oversample=True"):
        balance_classes(samples, min_per_class=2)
    with pytest.raises(ConfigError, match=r"min_per_class \(5\) is larger than max_per_class \(3\)"):
        balance_classes(samples, max_per_class=3, min_per_class=5, oversample=True)
    with pytest.raises(ConfigError, match=r"^balance_classes: max_per_class must be an integer >= 1; got 0\.$"):
        balance_classes(samples, max_per_class=0)


def test_stratified_folds_fall_back_to_group_folds_when_no_class_can_be_spread():
    # found by hypothesis: 5 folds over classes of 4 and 1 pixels; scikit-learn refuses to stratify those.
    y, groups = np.array([1, 1, 1, 1, 2]), np.array([7, 17, 27, 37, 47])
    folds = list(PolygonKFold(5, stratify=True, random_state=0).split(None, y, groups))
    assert sorted(int(groups[val][0]) for _, val in folds) == [7, 17, 27, 37, 47]
