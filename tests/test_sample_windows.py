"""Samples with dates of their own (sits: a field visited over one season), and splits that keep sites whole.

Real data: sits' MODIS MOD13Q1 NDVI cube of Sinop (12 dates, 2013-09-14..2014-08-29) and its 18 labelled points.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Point, box

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError
from labkit.samples import (
    SiteSplit,
    extract_samples,
    split_balance,
    split_by_group,
    split_folds,
    split_runs,
)

SITS = "e-sensing/sits/60e37332f346a1d0f0a1b9b16bd36b473788698f/inst/extdata"
SINOP_DATES = ["2013-09-14", "2013-10-16", "2013-11-17", "2013-12-19", "2014-01-17", "2014-02-18", "2014-03-22",
               "2014-04-23", "2014-05-25", "2014-06-26", "2014-07-28", "2014-08-29"]
# Days from 2013-09-14 to each date, counted by hand: 32 + 32 + 32 + 29 (Dec 19 -> Jan 17) + 32 + 32 + 32 + 32 ...
SINOP_DAYS = [0, 32, 64, 96, 125, 157, 189, 221, 253, 285, 317, 349]


# ------------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def sinop():
    """The Sinop cube and its points, or a skip where the mirror is absent."""
    from conftest import MIRROR

    from labkit.io import read_dates

    root = MIRROR / SITS
    if not root.is_dir():
        pytest.skip(f"no local data mirror at {MIRROR}")
    cube = read_dates(str(root / "raster/mod13q1/*.jp2"), bands=["NDVI"], scale=1e-4)
    table = pd.read_csv(root / "samples/samples_sinop_crop.csv")
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table.longitude, table.latitude), crs="EPSG:4326")
    return cube, points


def _seasons(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The points with other windows for a few of them, and point id 1 again for the next season, as Pasture."""
    points = points.copy()
    points.loc[[0, 1, 2], ["start_date", "end_date"]] = ["2013-11-01", "2014-04-30"]
    points.loc[3, ["start_date", "end_date"]] = ["2014-01-17", "2014-01-17"]  # one day: both ends count
    points.loc[0, "end_date"] = "2014-02-18"
    again = points.iloc[[0]].assign(id=100, start_date="2014-02-19", end_date="2014-08-29", label="Pasture")
    return pd.concat([points, again], ignore_index=True)


def _cube_values(cube, points, rows):
    """The cube's series under the points of ``rows``, read through xarray's nearest pixel (not labkit's code)."""
    to_cube = Transformer.from_crs("EPSG:4326", cube.rio.crs, always_xy=True)
    x, y = to_cube.transform(points.longitude.to_numpy()[rows], points.latitude.to_numpy()[rows])
    return np.stack([cube.sel(x=xi, y=yi, method="nearest").isel(band=0).values for xi, yi in zip(x, y)])


@pytest.mark.mirror
def test_sinop_points_take_the_dates_of_their_own_windows(sinop):
    cube, points = sinop
    points = _seasons(points)
    s = extract_samples(cube, points, class_field="label", id_field="id", start="start_date", end="end_date")
    assert dm.validate(s) == "samples" and s.sizes["sample"] == 19 and s.time.values.tolist() == list(range(12))
    series = _cube_values(cube, points, np.arange(19))

    # Sample 0: 2013-11-01..2014-02-18 holds the 3rd to 6th dates.
    dates = np.datetime_as_string(s.date.values, unit="D")
    assert dates[0, :4].tolist() == SINOP_DATES[2:6] and np.isnat(s.date.values[0, 4:]).all()
    assert s.doy.values[0, :4].tolist() == [0, 32, 61, 93]  # Nov 17 -> Dec 19 -> Jan 17 -> Feb 18
    assert s.valid.values[0].tolist() == [True] * 4 + [False] * 8
    np.testing.assert_array_equal(s.X.values[0, :4, 0], series[0, 2:6])
    assert np.isnan(s.X.values[0, 4:]).all() and np.isnan(s.doy.values[0, 4:]).all()
    # Samples 1 and 2: 2013-11-01..2014-04-30, six dates.
    assert dates[1, :6].tolist() == SINOP_DATES[2:8] and int(s.valid.values[2].sum()) == 6
    np.testing.assert_array_equal(s.X.values[2, :6, 0], series[2, 2:8])
    # Sample 3: a window of one day, on a cube date.
    assert dates[3, 0] == "2014-01-17" and s.doy.values[3, 0] == 0 and int(s.valid.values[3].sum()) == 1
    # Every other sample: the whole year.
    assert dates[4].tolist() == SINOP_DATES and s.doy.values[4].tolist() == SINOP_DAYS
    np.testing.assert_array_equal(s.X.values[4:18, :, 0], series[4:18])
    # The same point, next season, another class: its own window, from the 7th date; the same site.
    assert dates[18, :6].tolist() == SINOP_DATES[6:] and s.doy.values[18, :6].tolist() == [0, 32, 64, 96, 128, 160]
    np.testing.assert_array_equal(s.X.values[18, :6, 0], series[18, 6:])
    assert s.group.values[[0, 18]].tolist() == [1, 100] and s.site.values[0] == s.site.values[18]
    assert len(set(s.site.values[:18].tolist())) == 18  # 18 different places
    names = dm.class_names(s)
    assert [names[c] for c in s.label.values[[0, 18]]] == ["Pasture", "Pasture"]

    assert s.doy.attrs == {"reference": "start"}
    assert np.datetime_as_string(s.start.values[[0, 3]], unit="D").tolist() == ["2013-11-01", "2014-01-17"]
    assert np.datetime_as_string(s.end.values[[0, 4]], unit="D").tolist() == ["2014-02-18", "2014-08-29"]
    assert s.attrs["window_lengths"].tolist() == [1, 12]


@pytest.mark.mirror
@pytest.mark.usefixtures("one_torch_thread")
def test_sinop_windows_train_and_apply_a_dated_deep_model(sinop, tmp_path):
    from labkit.inference import predict_cube
    from labkit.io import read_samples, write_samples
    from labkit.models import fit_model, load_model, make_model, save_model

    cube, points = sinop
    s = extract_samples(cube, _seasons(points), class_field="label", id_field="id", start="start_date",
                        end="end_date")
    saved = read_samples(write_samples(s, tmp_path / "seasons.nc"))
    assert saved.doy.attrs["reference"] == "start" and saved.attrs["window_lengths"].tolist() == [1, 12]
    assert np.array_equal(saved.date.values, s.date.values, equal_nan=True)
    model = fit_model(make_model("ltae", epochs=2, batch_size=8, validation_fraction=0, random_state=0,
                                 network_params={"d_model": 32, "n_head": 4}, progress=False), saved)
    predicted = model.predict(saved.X.values, doy=saved.doy.values, valid=saved.valid.values)
    assert predicted.shape == (19,) and set(predicted.tolist()) <= set(saved.label.values.tolist())
    # A cube's dates are counted as the samples' were: days since its first date.
    assert model.input_signature_.doy_reference == "start"
    assert model.input_signature_.cube_days(cube.time.values).tolist() == SINOP_DAYS
    save_model(model, tmp_path / "ltae.labkit")
    class_map, _ = predict_cube(cube.isel(x=slice(0, 6), y=slice(0, 5)), load_model(tmp_path / "ltae.labkit"))
    assert class_map.shape == (5, 6) and set(np.unique(class_map.values).tolist()) <= set(dm.class_names(s))


@pytest.mark.mirror
def test_sinop_windows_outside_the_cube_dates_are_named_or_dropped(sinop):
    cube, points = sinop
    points = points.copy()
    points.loc[[2, 5], ["start_date", "end_date"]] = ["2012-09-14", "2013-08-29"]
    with pytest.raises(DataModelError, match=r"extract_samples: 2 windows hold no date of the cube \(id \[3, 6\], rows "
                                             r"\[2, 5\]; e\.g\. 2012-09-14 to 2013-08-29\): the cube's 12 dates run "
                                             r"from 2013-09-14 to 2014-08-29\. .*on_outside='drop'"):
        extract_samples(cube, points, class_field="label", id_field="id", start="start_date", end="end_date")
    kept = extract_samples(cube, points, class_field="label", id_field="id", start="start_date", end="end_date",
                           on_outside="drop")
    assert kept.sizes["sample"] == 16 and kept.attrs["windows_outside"] == 2 and 3 not in kept.group.values


# ----------------------------------------------------------------------------------------------- synthetic

X0, Y0 = 500000.0, 4000000.0


def _cube(days, height=4, width=5, seed=0):
    rng = np.random.default_rng(seed)
    times = np.datetime64("2020-01-01", "D") + np.asarray(days)
    data = rng.random((len(days), 2, height, width)).astype("float32")
    return dm.make_cube(data, times, ["B04", "B08"], transform=(10.0, 0, X0, 0, -10.0, Y0), crs="EPSG:32631")


@st.composite
def dated_points(draw):
    days = sorted(draw(st.sets(st.integers(0, 500), min_size=1, max_size=12)))
    n = draw(st.integers(1, 8))
    windows = []
    for _ in range(n):
        first = draw(st.sampled_from(days))
        start = first - draw(st.integers(0, 20))
        end = max(first, start + draw(st.integers(0, 400)))
        windows.append((start, end))
    cells = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=n, max_size=n))
    labels = draw(st.lists(st.sampled_from(["crop", "fallow"]), min_size=n, max_size=n))
    return days, windows, cells, labels


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dated_points())
def test_every_valid_observation_lies_in_its_window(case):
    days, windows, cells, labels = case
    cube = _cube(days)
    origin = np.datetime64("2020-01-01", "D")
    points = gpd.GeoDataFrame(
        {"label": labels, "start": [str(origin + a) for a, _ in windows], "end": [origin + b for _, b in windows]},
        geometry=[Point(X0 + 10 * c + 5, Y0 - 10 * r - 5) for r, c in cells], crs="EPSG:32631")
    s = extract_samples(cube, points, class_field="label", id_field=None, start="start", end="end")
    cube_days = np.asarray(days)
    for k, (start, end) in enumerate(windows):
        inside = cube_days[(cube_days >= start) & (cube_days <= end)]
        n = inside.size
        assert int(s.valid.values[k].sum()) == n and s.valid.values[k, :n].all()  # all valid: no mask, no NaN
        observed = (s.date.values[k, :n].astype("datetime64[D]") - origin).astype(int)
        assert observed.tolist() == inside.tolist()
        assert s.doy.values[k, :n].tolist() == (inside - inside[0]).tolist()
        r, c = cells[k]
        positions = np.searchsorted(cube_days, inside)
        np.testing.assert_array_equal(s.X.values[k, :n], cube.values[positions, :, r, c])
        assert np.isnat(s.date.values[k, n:]).all() and np.isnan(s.X.values[k, n:]).all()
    assert s.sizes["time"] == max(int(((cube_days >= a) & (cube_days <= b)).sum()) for a, b in windows)
    same_cell = {cell: {int(s.site.values[k]) for k in range(len(cells)) if cells[k] == cell} for cell in cells}
    assert all(len(sites) == 1 for sites in same_cell.values())  # one pixel, one site
    assert len(set(same_cell[c].pop() for c in same_cell)) == len(same_cell)


def test_polygons_of_two_seasons_keep_their_pixels_and_share_a_site():
    """The same field, one row per season: each season rasterised on its own (no row hides the other)."""
    cube = _cube([0, 30, 60, 200, 230, 260])
    field = box(X0 + 2, Y0 - 18, X0 + 18, Y0 - 2)  # 2 x 2 pixels, top left
    polygons = gpd.GeoDataFrame(
        {"polygon_id": [7, 8, 9], "class_id": [1, 2, 1],
         "start": pd.to_datetime(["2020-01-01", "2020-07-01", "2020-01-01"]),
         "end": pd.to_datetime(["2020-03-31", "2020-12-31", "2020-03-31"])},
        geometry=[field, field, box(X0 + 32, Y0 - 38, X0 + 48, Y0 - 22)], crs="EPSG:32631")
    s = extract_samples(cube, polygons, start="start", end="end")
    assert np.unique(s.group.values, return_counts=True)[1].tolist() == [4, 4, 4]  # 2 x 2 pixels each
    first, second = s.group.values == 7, s.group.values == 8
    assert (s.doy.values[first] == [0, 30, 60]).all() and (s.doy.values[second] == [0, 30, 60]).all()
    days = (s.date.values[second].astype("datetime64[D]") - np.datetime64("2020-01-01", "D")).astype(int)
    assert (days == [200, 230, 260]).all()
    assert len(set(s.site.values[first | second].tolist())) == 1 and s.site.values[~(first | second)][0] != \
        s.site.values[first][0]
    assert (s.start.values[second] == np.datetime64("2020-07-01")).all()


def test_masked_observations_stay_invalid_inside_a_window():
    cube = _cube([0, 10, 20, 30])
    codes = np.zeros((4, 4, 5), "uint8")
    codes[2, 0, 0] = 1  # cloud over the first pixel on day 20
    mask = dm.make_mask(codes, like=cube)
    points = gpd.GeoDataFrame({"class_id": [1, 2], "start": ["2020-01-11", "2020-01-01"], "end": ["2020-01-31"] * 2},
                              geometry=[Point(X0 + 5, Y0 - 5), Point(X0 + 15, Y0 - 5)], crs="EPSG:32631")
    s = extract_samples(cube, points, id_field=None, mask=mask, start="start", end="end")
    assert s.valid.values.tolist() == [[True, False, True, False], [True, True, True, True]]
    assert not np.isnan(s.X.values[0, 1]).any()  # masked, not erased
    assert s.attrs["window_lengths"].tolist() == [3, 4]


def test_without_windows_nothing_changes_but_the_site():
    cube = _cube([0, 10, 20])
    points = gpd.GeoDataFrame({"class_id": [1, 2, 1], "polygon_id": [4, 5, 6]},
                              geometry=[Point(X0 + 5, Y0 - 5), Point(X0 + 6, Y0 - 6), Point(X0 + 25, Y0 - 5)],
                              crs="EPSG:32631")
    s = extract_samples(cube, points)
    assert s.time.values.dtype.kind == "M" and "date" not in s and "start" not in s
    assert s.site.values.tolist() == [0, 0, 1]  # two points in one pixel: one place


# ---------------------------------------------------------------------------------------------------- errors


def _points(**fields):
    columns = {"class_id": [1, 2, 1], "start": ["2020-01-01"] * 3, "end": ["2020-02-01"] * 3, **fields}
    return gpd.GeoDataFrame(columns, geometry=[Point(X0 + 5 + 10 * i, Y0 - 5) for i in range(3)], crs="EPSG:32631",
                            index=[10, 11, 12])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"start": "start"}, ConfigError, r"extract_samples: start and end name the fields of each sample's first and "
                                      r"last day; give both \(got start='start', end=None\)"),
    ({"start": "begin", "end": "end"}, ConfigError, r"the polygons have no field 'begin' \(start\); fields: "
                                                    r"\['class_id', 'start', 'end'\]"),
])
def test_window_fields_must_be_named_both_and_exist(kwargs, error, message):
    with pytest.raises(error, match=message):
        extract_samples(_cube([0, 10]), _points(), id_field=None, **kwargs)


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"start": ["2020-01-01", "soon", None]}, ConfigError,
     r"extract_samples: 2 rows have no date in the start field 'start' \(rows \[11, 12\]\): 'soon', missing\. Write "
     r"dates as '2013-09-14'\.$"),
    ({"end": [20200201] * 3}, ConfigError, r"the end field 'end' must hold dates \(datetime64, or text such as "
                                           r"'2013-09-14'\); got int64"),
    ({"end": ["2020-02-01", "2019-12-31", "2020-02-01"]}, DataModelError,
     r"extract_samples: 1 window ends before it starts \(rows \[11\]; e\.g\. start 2020-01-01, end 2019-12-31\)"),
    ({"start": ["2020-01-05"] * 3, "end": ["2020-01-08"] * 3}, DataModelError,
     r"no window holds a date of the cube \(rows \[10, 11, 12\]; e\.g\. 2020-01-05 to 2020-01-08\): the cube's 2 "
     r"dates run from 2020-01-01 to 2020-01-11"),
])
def test_bad_windows_are_refused_naming_the_rows(fields, error, message):
    with pytest.raises(error, match=message):
        extract_samples(_cube([0, 10]), _points(**fields), id_field=None, start="start", end="end")


def test_the_data_model_checks_sites_windows_and_days_since_the_start():
    s = dm.make_samples(np.zeros((2, 3, 1)), [1, 2], [0, 1], bands=["NDVI"], doy=[[0, 5, 9], [0, 3, np.nan]],
                        doy_reference="start", valid=np.array([[True] * 3, [True, True, False]]), site=[4, 4])
    assert s.doy.attrs == {"reference": "start"} and s.site.values.tolist() == [4, 4]
    with pytest.raises(DataModelError, match=r"'doy' counts days since each series' first date \(reference "
                                             r"'start'\) but holds negative days \(e\.g\. \(sample, time\) "
                                             r"\[\(0, 0\), \(1, 0\)\]\)"):
        dm.validate(s.assign(doy=s.doy - 1))
    with pytest.raises(DataModelError, match=r"'site' must hold integers \(an id per place\); got dtype float64"):
        dm.validate(s.assign(site=("sample", [0.5, 1.0])))
    windows = s.assign(start=("sample", pd.to_datetime(["2020-01-01", "2020-03-01"]).values),
                       end=("sample", pd.to_datetime(["2020-02-01", "2020-02-01"]).values))
    with pytest.raises(DataModelError, match=r"'end' is before 'start' for 1 samples \(e\.g\. samples \[1\]\)"):
        dm.validate(windows)
    with pytest.raises(DataModelError, match=r"'start' must hold dates \(datetime64\); got dtype <U10"):
        dm.validate(s.assign(start=("sample", ["2020-01-01"] * 2)))
    days, reference = dm.observation_days(np.array(["2020-03-01", "2020-03-11"], "datetime64[D]"), reference="start")
    assert reference == "start" and days.tolist() == [0, 10]


# ---------------------------------------------------------------------------------------------- site splits


@st.composite
def seasons_of_sites(draw):
    n_sites = draw(st.integers(2, 25))
    seasons = draw(st.lists(st.integers(1, 3), min_size=n_sites, max_size=n_sites))
    site = np.repeat(np.arange(n_sites), seasons)
    label = np.asarray(draw(st.lists(st.integers(1, 4), min_size=site.size, max_size=site.size)))
    return site, label, draw(st.floats(0.2, 0.8)), draw(st.integers(0, 2**16))


def _one_sided(label, site, train, validation):
    """Classes with two sites or more that are on one side only."""
    several = [c for c in np.unique(label) if np.unique(site[label == c]).size >= 2]
    return [c for c in several if not (c in label[train] and c in label[validation])]


@settings(max_examples=60, deadline=None)
@given(seasons_of_sites())
def test_a_site_split_never_leaks_a_site_and_keeps_classes_on_both_sides(case):
    site, label, train_size, seed = case
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train, validation = next(SiteSplit(train_size=train_size, random_state=seed).split(None, label, site))
    assert np.sort(np.concatenate([train, validation])).tolist() == list(range(site.size))
    assert not set(site[train]) & set(site[validation])
    one_sided = _one_sided(label, site, train, validation)
    if one_sided:  # only where no single site could cross: and then the user is told
        assert any(str(one_sided[0]) in str(w.message) for w in caught)
    pure = np.array([np.unique(label[site == k]).size == 1 for k in np.unique(site)])
    if pure.all():  # sites of one class each: always possible
        assert one_sided == []


def test_a_site_split_is_stratified_on_many_sites():
    rng = np.random.default_rng(1)
    site = np.repeat(np.arange(300), 3)  # 300 fields, 3 seasons each, a class each season
    label = rng.choice([1, 2, 3, 4], size=site.size, p=[0.4, 0.3, 0.2, 0.1])
    s = dm.make_samples(np.zeros((site.size, 1, 1)), label, np.arange(site.size), bands=["NDVI"], site=site)
    train, validation = split_by_group(s, train_size=0.7, random_state=0, group_by="site")
    balance = split_balance(train, validation, group_by="site")
    assert not set(train.site.values.tolist()) & set(validation.site.values.tolist())
    assert balance.index.tolist() == [1, 2, 3, 4]
    assert (balance.validation_share - 0.3).abs().max() < 0.02  # every class close to 30 % in validation
    assert (balance.train_units > 0).all() and (balance.validation_units > 0).all()


def test_runs_and_folds_by_site_keep_sites_whole():
    from labkit.models.selection import make_folds

    site = np.repeat(np.arange(12), 2)
    label = np.tile([1, 2], 12)[np.random.default_rng(0).permutation(24)]
    s = dm.make_samples(np.zeros((24, 1, 1)), label, np.arange(24), bands=["NDVI"], site=site)
    runs = list(split_runs(s, 3, train_size=0.6, group_by="site"))
    assert len({tuple(sorted(set(v.site.values.tolist()))) for _, v in runs}) == 3
    for train, validation in runs:
        assert not set(train.site.values.tolist()) & set(validation.site.values.tolist())
    tested = [int(k) for _, validation in split_folds(s, 3, group_by="site") for k in validation.site.values]
    assert sorted(set(tested)) == list(range(12)) and len(tested) == 24  # each site tested once, whole
    for train, test in make_folds(s, 3, group_by="site"):  # labkit.models' cross-validation takes sites as well
        assert not set(site[train]) & set(site[test])


def test_groups_of_several_classes_are_still_refused_and_told_to_split_by_site():
    s = dm.make_samples(np.zeros((4, 1, 1)), [1, 2, 1, 2], [0, 0, 1, 2], bands=["NDVI"], site=[0, 0, 1, 2])
    with pytest.raises(DataModelError, match=r"split_by_group: polygons \[0\] hold pixels of several classes; give "
                                             r"each polygon a single class, or, .* split by site \(group_by='site'"):
        split_by_group(s)
    with pytest.raises(ConfigError, match=r"split_by_group: group_by must name a variable along 'sample' .* no "
                                          r"'place', its variables along 'sample' are \['group', 'site'\]"):
        split_by_group(s, group_by="place")
    with pytest.raises(ConfigError, match=r"no 'site'.*extract_samples gives each sample its site"):
        split_by_group(s.drop_vars("site"), group_by="site")
    train, validation = split_by_group(s, train_size=0.5, group_by="site")
    assert not set(train.site.values.tolist()) & set(validation.site.values.tolist())


@pytest.mark.usefixtures("one_torch_thread")
def test_rows_sharing_an_id_over_seasons_are_one_site_and_a_deep_model_still_holds_out_whole_ones():
    """An id shared by the seasons of a field (its class changing): one group of several classes, one site."""
    from labkit.models import fit_model, make_model

    cube = _cube([0, 40, 80, 200, 240, 280], height=4, width=6)
    cells = [(r, c) for r in range(4) for c in range(6)]
    points = gpd.GeoDataFrame(
        {"polygon_id": np.repeat(np.arange(24), 2), "class_id": np.tile([1, 2], 24),
         "start": ["2020-01-01", "2020-07-01"] * 24, "end": ["2020-06-30", "2020-12-31"] * 24},
        geometry=[Point(X0 + 10 * c + 5, Y0 - 10 * r - 5) for r, c in cells for _ in range(2)], crs="EPSG:32631")
    s = extract_samples(cube, points, start="start", end="end")
    assert (s.site.values == np.repeat(np.arange(24), 2)).all() and s.sizes["time"] == 3
    with pytest.raises(DataModelError, match=r"polygons \[0, 1, 2, .* hold pixels of several classes"):
        split_by_group(s)
    train, validation = split_by_group(s, group_by="site")
    assert not set(train.group.values.tolist()) & set(validation.group.values.tolist())
    model = fit_model(make_model("tempcnn", epochs=2, validation_fraction=0.25, random_state=0, progress=False), s)
    assert len(model.history_) == 2 and "val_loss" in model.history_[0]  # a validation set of whole sites


def test_a_model_s_own_held_out_split_gets_the_sites_as_groups():
    """fit_model routes ``site`` (not only the polygon) to a model's ``group``: the deep models' early-stopping split
    then keeps every season of one place on one side."""
    from labkit.models.training import _sample_kwargs

    class Grouped:
        def fit(self, X, y, *, group=None):
            return self

    s = dm.make_samples(np.zeros((4, 2, 1)), [1, 2, 1, 2], [10, 11, 12, 13], bands=["NDVI"], site=[0, 0, 1, 1])
    assert _sample_kwargs(Grouped(), "fit", s)["group"].tolist() == [0, 0, 1, 1]
    assert _sample_kwargs(Grouped(), "fit", s.drop_vars("site"))["group"].tolist() == [10, 11, 12, 13]
