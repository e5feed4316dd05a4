"""labkit.sample_tables: wide CSV tables and sits R data files, read into sample sets (synthetic tables whose layout
is known by construction, then the real files of the mirror)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit import sample_tables
from labkit.errors import BandError, ConfigError, ReadError
from labkit.io import read_samples, write_samples
from labkit.sample_tables import read_csv_wide, read_sits_rda

VICTORIA = "charlotte-pel/igarss2019-dl4sits/836d7fbd4d75eae602f6595c666b56b3bbc9a5ae"
FORMOSAT = "charlotte-pel/temporalCNN/d081da2f6eef19f36b5517549eab3bbbedd18598"
RONDONIA = "e-sensing/in-situ/772e0dda670d7bb5afcf68473b124287387be87a/data/samples_S2_T20LKP_2018_2019.rda"
SINOP = "e-sensing/sits/60e37332f346a1d0f0a1b9b16bd36b473788698f/data"


def _series(n_samples=5, n_dates=4, n_bands=3):
    """Values that say where they belong: sample * 100 + date * 10 + band."""
    s, d, b = np.meshgrid(np.arange(n_samples), np.arange(n_dates), np.arange(n_bands), indexing="ij")
    return (s * 100 + d * 10 + b).astype(float)


def _write(path: Path, X, labels, groups=None, *, order="date-major", header=True, label_name="class",
           group_name="polygon"):
    flat = X.reshape(len(X), -1) if order == "date-major" else X.transpose(0, 2, 1).reshape(len(X), -1)
    table = pd.DataFrame(flat, columns=[f"v{k}" for k in range(flat.shape[1])])
    if groups is not None:
        table.insert(0, group_name, groups)
    table.insert(0, label_name, labels)
    table.to_csv(path, index=False, header=header)
    return path


@pytest.fixture
def table(tmp_path):
    return _write(tmp_path / "table.csv", _series(), [1, 1, 2, 2, 3], [10, 10, 11, 12, 13])


# -------------------------------------------------------------------------------------------------- read_csv_wide


@pytest.mark.parametrize("order", ["date-major", "band-major"])
def test_both_layouts_read_back_the_series(tmp_path, order):
    X = _series()
    path = _write(tmp_path / "t.csv", X, [1, 1, 2, 2, 3], [10, 10, 11, 12, 13], order=order)
    samples = read_csv_wide(path, label_column="class", group_column="polygon", bands=["B", "G", "R"], order=order)
    assert dm.validate(samples) == "samples"
    np.testing.assert_array_equal(samples.X.values, X)
    assert samples.X.dtype == np.float32
    assert samples.label.values.tolist() == [1, 1, 2, 2, 3] and samples.group.values.tolist() == [10, 10, 11, 12, 13]
    assert samples.time.values.tolist() == [0, 1, 2, 3] and samples.band.values.tolist() == ["B", "G", "R"]
    assert samples.attrs["source"] == str(path)


def test_the_wrong_layout_scrambles_dates_and_bands(table):
    wrong = read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"],
                          order="band-major")
    assert not np.array_equal(wrong.X.values, _series())


def test_headerless_file_by_position_with_dates_scale_and_names(tmp_path):
    X = _series(n_samples=3, n_dates=2, n_bands=2)
    path = _write(tmp_path / "t.csv", X, [4, 5, 4], [7, 8, 9], header=False)
    dates = ["2020-01-01", "2020-02-01"]
    samples = read_csv_wide(path, label_column=0, group_column=1, bands=["red", "nir"], dates=dates, scale=0.001,
                            class_names={4: "wheat", 5: "water"})
    np.testing.assert_allclose(samples.X.values, X / 1000, rtol=1e-6)
    np.testing.assert_array_equal(samples.time.values, pd.to_datetime(dates).values)
    assert dm.class_names(samples) == {4: "wheat", 5: "water"}
    no_group = _write(tmp_path / "n.csv", X, [4, 5, 4], header=False)
    alone = read_csv_wide(no_group, label_column=0, bands=["red", "nir"], n_dates=2, header=False)
    assert alone.group.values.tolist() == [0, 1, 2]  # without a group column, each row is its own group


def test_number_of_dates_is_inferred_from_the_columns(table):
    assert read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"]).sizes["time"] == 4
    samples = read_csv_wide(table, label_column="class", bands=[f"b{k}" for k in range(13)])  # group as a value
    assert dict(samples.sizes) == {"sample": 5, "time": 1, "band": 13}


def test_empty_values_are_nan(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("c,g,a,b\n1,1,0.5,\n2,2,,0.25\n")
    samples = read_csv_wide(path, label_column="c", group_column="g", bands=["a", "b"])
    assert np.isnan(samples.X.values[0, 0, 1]) and np.isnan(samples.X.values[1, 0, 0])


def test_round_trip_table_to_netcdf(table, tmp_path):
    samples = read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"],
                            dates=["2021-01-01", "2021-01-11", "2021-01-21", "2021-01-31"],
                            class_names={1: "a", 2: "b", 3: "c"})
    back = read_samples(write_samples(samples, tmp_path / "s.nc"))
    xr.testing.assert_identical(back, samples)


# ------------------------------------------------------------------------------------------- CSV errors


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ReadError, match=r"nothing\.csv: no such file"):
        read_csv_wide(tmp_path / "nothing.csv", label_column=0, bands=["a"])


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ReadError, match=r"e\.csv: the file is empty"):
        read_csv_wide(tmp_path / "e.csv", label_column=0, bands=["a"])
    (tmp_path / "h.csv").write_text("c,a,b\n")
    with pytest.raises(ReadError, match=r"h\.csv: no samples"):
        read_csv_wide(tmp_path / "h.csv", label_column="c", bands=["a"])


def test_a_row_with_another_number_of_fields_is_named(table):
    lines = table.read_text().splitlines()
    lines[3] += ",42"
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReadError, match=r"table\.csv: line 4 has 15 fields, but the header has 14\. The file is "
                                        r"truncated"):
        read_csv_wide(table, label_column="class", bands=["a"])


def test_a_layout_that_does_not_match_the_columns_is_explained(table):
    with pytest.raises(ConfigError, match=r"table\.csv: the layout 5 dates x 3 bands needs 15 value columns, but the "
                                          r"file has 12 besides label 'class' and group 'polygon'"):
        read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"], n_dates=5)
    with pytest.raises(ConfigError, match=r"12 value columns \(besides label 'class' and group 'polygon'\) cannot "
                                          r"hold whole series of 5 bands"):
        read_csv_wide(table, label_column="class", group_column="polygon", bands=list("abcde"))
    with pytest.raises(ConfigError, match=r"n_dates=3 but 4 dates were given"):
        read_csv_wide(table, label_column="class", bands=["B"], n_dates=3,
                      dates=["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"])


@pytest.mark.parametrize("bad, shown", [("1.5", "1.5"), ("wheat", "'wheat'"), ("", r"nothing \(an empty field\)")])
def test_a_label_that_is_not_an_integer_is_named_with_its_line(table, bad, shown):
    lines = table.read_text().splitlines()
    lines[3] = bad + lines[3][1:]
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReadError, match=rf"table\.csv, line 4: the label \(column 'class'\) must be an integer; found "
                                        rf"({shown}) \(1 row\(s\) like this\)"):
        read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"])


def test_integer_labels_written_as_floats_are_accepted(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1.0,7,0.5\n2.0,8,0.25\n")
    assert read_csv_wide(path, label_column=0, group_column=1, bands=["a"]).label.values.tolist() == [1, 2]


def test_a_column_of_class_names_gives_text_labels_and_dates_give_doy(tmp_path):
    X = _series(n_samples=3, n_dates=2, n_bands=1)
    X[1, 1, 0] = np.nan
    path = _write(tmp_path / "named.csv", X, [" wheat", "water", "wheat"], [1, 2, 3])
    samples = read_csv_wide(path, label_column="class", group_column="polygon", bands=["NDVI"],
                            dates=["2020-12-31", "2021-01-10"])
    assert samples.label.values.tolist() == ["wheat", "water", "wheat"]  # names, stripped of spaces
    assert dm.class_names(samples) == {1: "water", 2: "wheat"}
    assert samples.doy.values.tolist() == [[366, 10]] * 3 and samples.valid.values[1].tolist() == [True, False]
    assert "doy" not in read_csv_wide(path, label_column="class", group_column="polygon", bands=["NDVI"])
    with pytest.raises(ConfigError, match=r"class_names names integer class codes, but the labels in 'class' are "
                                          r"class names"):
        read_csv_wide(path, label_column="class", bands=["NDVI"], n_dates=3, class_names={1: "wheat"})
    blank = _write(tmp_path / "blank.csv", X, ["wheat", " ", "water"], [1, 2, 3])
    with pytest.raises(ReadError, match=r"blank\.csv, line 3: the label \(column 'class'\) is empty; every sample "
                                        r"needs a class name \(1 row\(s\) like this\)"):
        read_csv_wide(blank, label_column="class", group_column="polygon", bands=["NDVI"])


def test_a_group_that_is_not_an_integer_is_named(table):
    text = table.read_text().replace("\n2,11,", "\n2,p11,", 1)
    table.write_text(text)
    with pytest.raises(ReadError, match=r"line 4: the group \(column 'polygon'\) must be an integer; found 'p11'"):
        read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"])


def test_a_value_that_is_not_a_number_is_named_with_line_and_column(table):
    lines = table.read_text().splitlines()
    fields = lines[2].split(",")
    fields[5] = "n/a?"
    lines[2] = ",".join(fields)
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReadError, match=r"table\.csv, line 3, column 'v3': 'n/a\?' is not a number \(1 column\(s\) "
                                        r"hold text\)"):
        read_csv_wide(table, label_column="class", group_column="polygon", bands=["B", "G", "R"])


def test_columns_are_checked(table, tmp_path):
    with pytest.raises(ConfigError, match=r"no column 'label' \(label_column\); columns: \['class', 'polygon', 'v0'"):
        read_csv_wide(table, label_column="label", bands=["a"])
    with pytest.raises(ConfigError, match=r"group_column 20 is not a column position; the file has 14 columns"):
        read_csv_wide(table, label_column=0, group_column=20, bands=["a"])
    with pytest.raises(ConfigError, match=r"label_column and group_column are the same column \('class'\)"):
        read_csv_wide(table, label_column="class", group_column=0, bands=["a"])
    headerless = _write(tmp_path / "n.csv", _series(), [1, 1, 2, 2, 3], header=False)
    with pytest.raises(ConfigError, match=r"label_column 'class' is a name, but the file has no header; give the "
                                          r"column's position"):
        read_csv_wide(headerless, label_column="class", bands=["a"])


def test_options_are_checked(table):
    with pytest.raises(ConfigError, match=r"order must be one of \('date-major', 'band-major'\); got 'time-major'"):
        read_csv_wide(table, label_column=0, bands=["a"], order="time-major")
    with pytest.raises(ConfigError, match=r"bands is empty"):
        read_csv_wide(table, label_column=0, bands=[])


# -------------------------------------------------------------------------------------------- real CSV files


@pytest.mark.mirror
def test_victoria_file_is_date_major_reflectance(mirror):
    path = mirror / VICTORIA / "train_dataset.csv"
    bands = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    samples = read_csv_wide(path, label_column="lc_id", group_column="objectid", bands=bands, scale=1e-4)
    assert dict(samples.sizes) == {"sample": 400, "time": 73, "band": 10}
    assert np.unique(samples.label.values, return_counts=True)[1].tolist() == [50] * 8
    assert 0 <= float(samples.X.min()) and 0.5 < float(samples.X.max()) < 2
    first = pd.read_csv(path, nrows=1).iloc[0, 2:12].to_numpy(dtype=float)
    np.testing.assert_allclose(samples.X.values[0, 0], first * 1e-4, rtol=1e-6)  # README: date1.B2 ... date1.B12
    # Measured, not only read in the README: read date-major, each band's series is smooth in time (consecutive
    # dates are close); read band-major, "consecutive dates" would be unrelated bands and dates.
    wrong = read_csv_wide(path, label_column="lc_id", group_column="objectid", bands=bands, scale=1e-4,
                          order="band-major")
    jump = float(np.nanmedian(np.abs(np.diff(samples.X.values, axis=1))))
    assert jump < 0.5 * float(np.nanmedian(np.abs(np.diff(wrong.X.values, axis=1))))


@pytest.mark.mirror
def test_formosat_file_has_no_header_and_nir_red_green(mirror):
    path = mirror / FORMOSAT / "example" / "train_dataset.csv"
    samples = read_csv_wide(path, label_column=0, group_column=1, bands=["NIR", "R", "G"])
    assert dict(samples.sizes) == {"sample": 260, "time": 149, "band": 3}
    assert np.unique(samples.label.values).size == 13
    # NIR above red over vegetation: the first band of each date is NIR for the deciduous class (code 9)
    forest = samples.X.values[samples.label.values == 9]
    assert (np.median(forest[..., 0]) > 3 * np.median(forest[..., 1]))


# ------------------------------------------------------------------------------------------------- sits .rda


@pytest.mark.mirror
def test_rondonia_samples(mirror, tmp_path):
    samples = read_sits_rda(mirror / RONDONIA)
    assert dict(samples.sizes) == {"sample": 481, "time": 36, "band": 11}
    assert sorted(samples.band.values.tolist()) == sorted(
        ["B02", "B03", "B07", "B08", "B8A", "B11", "B12", "NDVI", "EVI", "NDMI", "SAVI"])
    counts = dict(zip(*np.unique(samples.label.values, return_counts=True)))  # text labels, as in sits
    assert counts == {"NonForest": 295, "Forest": 144, "Deforestation": 42}
    assert dm.class_names(samples) == {1: "Deforestation", 2: "Forest", 3: "NonForest"}  # codes of label_codes
    assert str(samples.time.values[0])[:10] == "2018-08-12" and str(samples.time.values[-1])[:10] == "2019-07-28"
    # 2018-08-12 .. 2019-07-28 spans less than a year: days of year, across 1 January
    assert "reference" not in samples.doy.attrs and samples.doy.values[0, [0, 14, 15]].tolist() == [224, 364, 9]
    assert samples.valid.values.all()
    assert samples.group.values.tolist() == list(range(481))  # each sample its own group
    assert -67 < samples.x.min() and samples.x.max() < -60 and -14 < samples.y.min() and samples.y.max() < -8
    from pyproj import CRS

    assert CRS.from_wkt(samples.attrs["crs"]).to_epsg() == 4326 and samples.attrs["cube"] == "S2-brick"
    reflectance = samples.X.sel(band=["B02", "B03", "B07", "B08", "B8A", "B11", "B12"]).values
    assert 0 <= reflectance.min() and reflectance.max() <= 1
    chosen = read_sits_rda(mirror / RONDONIA, bands=["NDVI", "B02"])
    assert chosen.band.values.tolist() == ["NDVI", "B02"]
    np.testing.assert_array_equal(chosen.X.values[..., 1], samples.X.sel(band="B02").values)
    xr.testing.assert_identical(read_samples(write_samples(samples, tmp_path / "r.nc")), samples)


@pytest.mark.mirror
def test_sinop_samples_of_several_years_keep_their_dates(mirror, tmp_path):
    samples = read_sits_rda(mirror / SINOP / "samples_modis_ndvi.rda")
    assert dict(samples.sizes) == {"sample": 1218, "time": 12, "band": 1}
    assert dm.class_names(samples) == {1: "Cerrado", 2: "Forest", 3: "Pasture", 4: "Soy_Corn"}
    assert samples.time.values.tolist() == list(range(12))  # positions: the years differ
    assert samples.date.dims == ("sample", "time") and np.unique(samples.date.values[:, 0]).size > 1
    assert str(samples.date.values[0, 0])[:10] == "2013-09-14"
    assert np.all(np.diff(samples.date.values, axis=1) > np.timedelta64(0))
    # each sample's own days of year: samples of different years line up by season
    expected = pd.DatetimeIndex(samples.date.values.ravel()).day_of_year.to_numpy().reshape(samples.date.shape)
    np.testing.assert_array_equal(samples.doy.values, expected)
    assert "reference" not in samples.doy.attrs and samples.doy.values[0, 0] == 257
    xr.testing.assert_identical(read_samples(write_samples(samples, tmp_path / "s.nc")), samples)
    two = read_sits_rda(mirror / SINOP / "cerrado_2classes.rda")
    assert dict(two.sizes) == {"sample": 746, "time": 23, "band": 2}


def test_rda_errors_name_the_problem(tmp_path):
    not_rda = tmp_path / "x.rda"
    not_rda.write_text("hello")
    with pytest.raises(ReadError, match=r"x\.rda: cannot be read as an R data file"):
        read_sits_rda(not_rda)
    with pytest.raises(ReadError, match=r"none\.rda: no such file"):
        read_sits_rda(tmp_path / "none.rda")


def _sits_table(n=3, *, bands=("NDVI", "EVI"), lengths=None, start=17000):
    series = []
    for k in range(n):
        length = (lengths or [4] * n)[k]
        ts = pd.DataFrame({"Index": start + 16 * np.arange(length)})
        for b in bands if not isinstance(bands[0], tuple) else bands[k]:
            ts[b] = np.linspace(0, 1, length) + k
        series.append(ts)
    return pd.DataFrame({"longitude": -55.0 + np.arange(n), "latitude": -10.0 - np.arange(n),
                         "label": ["b", "a", "b"][:n], "cube": "MOD13Q1", "time_series": series})


def _unlabelled_table():
    table = _sits_table()
    table.loc[1, "label"] = None
    return table


@pytest.mark.parametrize("objects, message", [
    ({"x": pd.DataFrame({"a": [1]})}, r"no sits sample table\(s\) .* objects: \['x'\]"),
    ({"x": _sits_table(), "y": _sits_table()}, r"several sits sample table\(s\) .* \['x', 'y'\]\. Choose one with "
                                               r"name"),
    ({"x": _sits_table().drop(columns="label")}, r"object 'x' is not a sits sample table: no column\(s\) \['label'\]"),
    ({"x": _sits_table().iloc[:0]}, r"object 'x' holds no samples"),
    ({"x": _sits_table(lengths=[4, 4, 5])}, r"sample 2 has 5 dates, sample 0 has 4; sample sets need one number"),
    ({"x": _sits_table(bands=[("NDVI",), ("NDVI",), ("EVI",)])}, r"sample 2 has bands \['EVI'\], sample 0 has "
                                                                 r"\['NDVI'\]"),
    ({"x": _unlabelled_table()}, r"1 sample\(s\) have no label \(NA or empty\), e\.g\. samples \[1\]"),
])
def test_malformed_sits_tables_are_explained(tmp_path, monkeypatch, objects, message):
    path = tmp_path / "t.rda"
    path.write_bytes(b"")
    monkeypatch.setattr(sample_tables, "_read_rda", lambda _: objects)
    with pytest.raises(ReadError, match=message):
        read_sits_rda(path)


def test_unknown_bands_and_objects_are_named(tmp_path, monkeypatch):
    path = tmp_path / "t.rda"
    path.write_bytes(b"")
    monkeypatch.setattr(sample_tables, "_read_rda", lambda _: {"samples": _sits_table(), "n": 3})
    with pytest.raises(BandError, match=r"band\(s\) \['B04'\] not in the samples; they have \['NDVI', 'EVI'\]"):
        read_sits_rda(path, bands=["B04", "NDVI"])
    with pytest.raises(ReadError, match=r"no object 'sample'; it holds \['n', 'samples'\]"):
        read_sits_rda(path, name="sample")
    with pytest.raises(ReadError, match=r"object 'n' is a int, not a sits sample table"):
        read_sits_rda(path, name="n")


def test_a_sits_table_in_memory_is_converted(tmp_path, monkeypatch):
    path = tmp_path / "t.rda"
    path.write_bytes(b"")
    monkeypatch.setattr(sample_tables, "_read_rda", lambda _: {"samples": _sits_table(), "other": 3})
    samples = read_sits_rda(path)
    assert samples.label.values.tolist() == ["b", "a", "b"] and dm.validate(samples) == "samples"
    assert dm.class_names(samples) == {1: "a", 2: "b"} and dm.label_codes(samples)[0].tolist() == [2, 1, 2]
    assert str(samples.time.values[0])[:10] == "2016-07-18"  # R dates count days from 1970-01-01: 17000
    assert samples.doy.values[0].tolist() == [200, 216, 232, 248]  # 2016-07-18 is day 200 of a leap year
    np.testing.assert_allclose(samples.X.sel(band="EVI").values[1], np.linspace(0, 1, 4) + 1)
    assert samples.x.values.tolist() == [-55.0, -54.0, -53.0]
