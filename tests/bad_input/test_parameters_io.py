"""Class 3, parameters of readers, writers and preprocessing stages: a ConfigError naming the parameter, before any
work, instead of a numpy, GDAL or Python error (or a crash: ``write_cog(cog_tile=0)`` used to abort the process).

(Models, splits, accuracy and the command line: ``test_parameters.py``.)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from labkit.errors import ConfigError, DataModelError
from labkit.features import compute_features
from labkit.gapfill import fill_gaps
from labkit.io import read_bands, read_dates, write_bands, write_cog, write_dates, write_json, write_vector
from labkit.masks import dilate_mask, mask_from_scl
from labkit.sample_tables import read_csv_wide


def _map(cube):
    return (cube.isel(time=0, band=0, drop=True) * 10).astype("uint8")


WRITERS = {
    "write_dates dtype": (lambda c, t: write_dates(c, t, dtype="floot32"), r"write_dates: dtype must be a numeric "
                                                                           r"type .*; got 'floot32'"),
    "write_dates offset": (lambda c, t: write_dates(c, t, offset="abc"), r"write_dates: offset must be a finite "
                                                                         r"number; got 'abc'"),
    "write_dates scale 0": (lambda c, t: write_dates(c, t, dtype="int16", scale=0, nodata=-1),
                            r"write_dates: scale must be a finite, non-zero number; got 0"),
    "write_dates nodata": (lambda c, t: write_dates(c, t, dtype="int16", nodata="none"),
                           r"write_dates: nodata must be a number; got 'none'"),
    "write_dates prefix": (lambda c, t: write_dates(c, t, prefix="../escape_"), r"prefix '\.\./escape_' cannot be "
                                                                                  r"used in a file name"),
    "write_bands prefix": (lambda c, t: write_bands(c, t, prefix="a/b"), r"prefix 'a/b' cannot be used"),
    "write_cog cog_tile 0": (lambda c, t: write_cog(_map(c), t / "m.tif", cog_tile=0),
                             r"write_cog: cog_tile must be an integer from 128 to 4096; got 0"),
    "write_cog cog_tile -16": (lambda c, t: write_cog(_map(c), t / "m.tif", cog_tile=-16), r"cog_tile must be"),
    "write_cog cog_tile 200": (lambda c, t: write_cog(_map(c), t / "m.tif", cog_tile=200),
                               r"write_cog: cog_tile must be a multiple of 16"),
    "write_cog nodata nan int": (lambda c, t: write_cog(_map(c).astype("int32"), t / "m.tif", nodata=float("nan")),
                                 r"write_cog: nodata=nan does not fit dtype"),
    "write_cog nodata text": (lambda c, t: write_cog(_map(c), t / "m.tif", nodata="none"),
                              r"write_cog: nodata must be a finite number; got 'none'"),
    "write_cog nodata out of type": (lambda c, t: write_cog(_map(c), t / "m.tif", dtype="uint8", nodata=-1),
                                     r"write_cog: nodata=-1(\.0)? does not fit dtype uint8"),
    "write_cog dtype": (lambda c, t: write_cog(_map(c), t / "m.tif", dtype="banana"),
                        r"write_cog: dtype must be a numeric type"),
    "write_cog colour as text": (lambda c, t: write_cog(_map(c), t / "m.tif", colormap={0: "red"}),
                                 r"colormap: the colour of code 0 must be \(r, g, b\) or \(r, g, b, a\)"),
    "write_cog code as text": (lambda c, t: write_cog(_map(c), t / "m.tif", colormap={"forest": (1, 2, 3)}),
                               r"colormap: code 'forest' is not a class code of a uint8 map"),
    "write_cog colormap list": (lambda c, t: write_cog(_map(c), t / "m.tif", colormap=[(1, 2, 3)]),
                                r"write_cog: colormap must be a dict"),
}


@pytest.mark.parametrize("case", WRITERS)
def test_a_bad_writer_parameter_is_named_and_nothing_is_written(cube, tmp_path, case):
    call, message = WRITERS[case]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError, match=message):
        call(cube, out)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"nodata": "abc"}, r"read_dates: nodata must be a finite number; got 'abc'"),
    ({"scale": 0}, r"read_dates: scale must be a finite, non-zero number; got 0"),
    ({"offset": float("inf")}, r"read_dates: offset must be a finite number; got inf"),
    ({"dates": ["2021-01-01"] * 5 + ["banana"]}, r"read_dates: dates\[5\] = 'banana' is not a date"),
])
def test_a_bad_reader_parameter_is_named(date_files, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        read_dates(date_files, **kwargs)


def test_read_bands_checks_its_parameters_too(cube, tmp_path):
    files = write_bands(cube, tmp_path)
    with pytest.raises(ConfigError, match=r"read_bands: scale must be a finite number; got '1e-4'"):
        read_bands(files, scale="1e-4")


@pytest.mark.parametrize("kwargs, message", [
    ({"step": float("nan")}, r"fill_gaps: step must be a positive number of days or 'auto'; got nan"),
    ({"step": float("inf")}, r"fill_gaps: step must be a positive number of days or 'auto'; got inf"),
    ({"dates": ["2021-04-01", "2021-04-01"]}, r"fill_gaps: dates must be strictly increasing; dates\[1\]"),
    ({"dates": ["2021-04-11", "2021-04-01"]}, r"fill_gaps: dates must be strictly increasing"),
])
def test_fill_gaps_parameters(cube, mask, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        fill_gaps(cube, mask, **kwargs)


def test_a_dilation_too_wide_to_compute_is_refused(mask, cube):
    with pytest.raises(ConfigError, match=r"dilate_mask: dilate must be a whole number of pixels from 0 to 1000; "
                                          r"got 1000000"):
        dilate_mask(mask, 10**6)
    scl = (cube.isel(band=0, drop=True) * 0 + 4).astype("uint8")
    with pytest.raises(ConfigError, match=r"mask_from_scl: dilate must be"):
        mask_from_scl(scl, dilate=5000)


def test_a_flag_is_a_bool_not_a_string(cube):
    with pytest.raises(ConfigError, match=r"compute_features: keep_bands must be True or False; got 'no'"):
        compute_features(cube, keep_bands="no")


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text("class,d1.red,d1.nir,d2.red,d2.nir\n1,0.1,0.5,0.2,0.6\n2,0.3,0.2,inf,-inf\n")
    return path


@pytest.mark.parametrize("kwargs, message", [
    ({"scale": "abc"}, r"read_csv_wide: scale must be a finite number; got 'abc'"),
    ({"dates": ["2020-01-01", "banana"]}, r"read_csv_wide: dates\[1\] = 'banana' is not a date"),
    ({"dates": ["2020-01-01", "2020-01-01"]}, r"read_csv_wide: dates must be strictly increasing; dates\[1\]"),
])
def test_sample_table_parameters(csv, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        read_csv_wide(csv, label_column="class", bands=["red", "nir"], **kwargs)


@pytest.mark.parametrize("name, message", [
    ("v.shp", r"cannot write .*v\.shp \(a shapefile is several files"),
    ("v.xyz", r"cannot write .*v\.xyz; use one of \['\.fgb', '\.geojson', '\.gpkg', '\.json'\]"),
])
def test_write_vector_writes_single_file_formats_only(tmp_path, name, message):
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(ConfigError, match=message):
        write_vector(frame, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["v.gpkg", "v.geojson", "v.fgb"])
def test_write_vector_names_the_layer_after_the_file(tmp_path, name):
    import pyogrio

    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    path = write_vector(frame, tmp_path / name)
    assert pyogrio.list_layers(path)[0][0] == "v"  # not the temporary's name
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_write_json_writes_valid_json_or_refuses(tmp_path):
    import json

    path = write_json({"oa": float("nan"), "ci": [np.inf, 0.5], "n": np.int64(3)}, tmp_path / "m.json")
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"not JSON: {c}")) == {
        "oa": None, "ci": [None, 0.5], "n": "3"}
    with pytest.raises(ConfigError, match=r"write_json: .*bad\.json: the data cannot be written as JSON \(keys must"):
        write_json({(1, 2): 3}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_describe_reports_an_unreadable_crs_attribute(samples, tmp_path):
    from labkit.io import describe, write_samples

    path = write_samples(samples.assign_attrs(crs="not a crs"), tmp_path / "s.nc")
    assert describe(path)["crs"].startswith("unreadable attribute 'crs'")


def test_report_writers_check_what_they_are_given(tmp_path, cube):
    from labkit.accuracy import assess_accuracy
    from labkit.report import write_report

    class_map = _map(cube)
    with pytest.raises(ConfigError, match=r"write_report: accuracy must be an AccuracyReport"):
        write_report(tmp_path, title="t", accuracy=None, class_map=class_map, confidence=class_map * 0.1, facts={})
    with pytest.raises(DataModelError, match=r"write_report: class_map must be an integer class map"):
        write_report(tmp_path, title="t", accuracy=assess_accuracy([1], [1]), class_map=class_map.astype(str),
                     confidence=class_map * 0.1, facts={})
    assert list(tmp_path.iterdir()) == []
