"""Sample sets that carry their dates (``doy``), validity (``valid``) and text labels, through every stage that takes
a sample set: the data model, NetCDF, extraction from a cube, splits, models, cross-validation, accuracy and
``labkit cv``; and the routing of a sample set's optional variables to a model's ``fit`` and ``predict``."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Point, box
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import labkit.datamodel as dm
from labkit.accuracy import assess_accuracy
from labkit.cli import main
from labkit.errors import ConfigError, DataModelError
from labkit.io import read_samples, write_samples
from labkit.models import RegionalClassifier, cross_validate, fit_model, make_folds, search_hyperparameters
from labkit.models.training import SAMPLE_VARIABLES, accepted_variables
from labkit.samples import (
    PolygonKFold,
    balance_classes,
    extract_samples,
    split_by_group,
    split_by_region,
    split_folds,
    split_runs,
)

NAMES = np.array(["water", "crop", "forest"])
RF = {"model": "rf", "params": {"n_estimators": 10, "n_jobs": 1}}


def _text_set(n_groups=6, pixels=3, n_time=4, seed=0, **extra):
    """Three named classes with distinct levels, ``pixels`` samples per polygon, with doy and valid."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(NAMES, n_groups * pixels)
    level = np.repeat(np.arange(3), n_groups * pixels)
    X = rng.normal(0, 0.3, (len(labels), n_time, 2)) + level[:, None, None]
    group = np.arange(len(labels)) // pixels
    valid = rng.random((len(labels), n_time)) > 0.2
    return dm.make_samples(X, labels, group, bands=["B04", "B08"], doy=10.0 + 30 * np.arange(n_time), valid=valid,
                           **extra)


# ------------------------------------------------------------------------------------------------- data model


def test_validate_accepts_doy_valid_and_text_labels():
    s = _text_set()
    assert dm.validate(s) == "samples"
    assert s.label.dtype.kind == "U" and s.doy.dtype == np.float32 and s.valid.dtype == bool
    assert s.doy.dims == s.valid.dims == ("sample", "time")
    # doy may be anything where the observation is not valid, and days since a reference may exceed 366
    assert dm.validate(s.assign(doy=s.doy.where(s.valid))) == "samples"
    since = s.assign(doy=s.doy + 700)
    since["doy"].attrs["reference"] = "2019-01-01"
    assert dm.validate(since) == "samples"
    objects = s.assign(label=("sample", s.label.values.astype(object)))  # Python str objects, as NetCDF gives
    assert dm.validate(objects) == "samples"


def _with(s, name, values, dims=("sample", "time"), attrs=None):
    out = s.assign({name: (dims, values)})
    out[name].attrs.update(attrs or {})
    return out


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: _with(s, "doy", s.doy.values[:, 0], ("sample",)),
     r"optional variable 'doy' must have dims \('sample', 'time'\); got \('sample',\)"),
    (lambda s: _with(s, "doy", s.doy.values.astype("int32")),
     r"'doy' must hold floats \(days\); got dtype int32\. Use samples\['doy'\]\.astype\('float32'\)"),
    (lambda s: _with(s, "doy", np.where(np.arange(4) == 2, np.nan, s.doy.values).astype("float32")).drop_vars("valid"),
     r"'doy' is not finite \(NaN or ±inf\) for 54 observations \(e\.g\. \(sample, time\) \[\(0, 2\), \(1, 2\), "
     r"\(2, 2\)\]\)\. Give every observation its day, or add 'valid'"),
    (lambda s: _with(s, "doy", np.full(s.doy.shape, np.inf, "float32")),
     r"'doy' is not finite \(NaN or ±inf\) for \d+ valid observations .* or set 'valid' False there"),
    (lambda s: _with(s, "doy", s.doy.values + 300),
     r"'doy' holds days of year outside 1\.\.366 \(found 310\.\.400; .*need doy\.attrs\['reference'\] = "
     r"'YYYY-MM-DD'"),
    (lambda s: _with(s, "doy", s.doy.values - 10),
     r"'doy' holds days of year outside 1\.\.366 \(found 0\.\.90"),
    (lambda s: _with(s, "doy", s.doy.values, attrs={"reference": "2020-13-01"}),
     r"'doy' attribute 'reference' must be a date 'YYYY-MM-DD' .*got '2020-13-01'"),
    (lambda s: _with(s, "valid", s.valid.values.astype("uint8")),
     r"'valid' must hold True/False \(True where the observation is valid\); got dtype uint8\. From a labkit "
     r"validity mask: valid = \(mask == 0\)"),
    (lambda s: _with(s, "valid", s.valid.values.T, ("time", "sample")),
     r"optional variable 'valid' must have dims \('sample', 'time'\); got \('time', 'sample'\)"),
    (lambda s: _with(s, "label", np.where(np.arange(54) == 5, "  ", s.label.values), ("sample",)),
     r"'label' holds empty class names for 1 of 54 samples \(e\.g\. samples \[5\]\)"),
    (lambda s: _with(s, "label", np.where(np.arange(54) < 2, None, s.label.values.astype(object)), ("sample",)),
     r"'label' is missing \(NaN or None\) for 2 of 54 samples \(e\.g\. samples \[0, 1\]\)\. Drop them first"),
    (lambda s: _with(s, "label", np.where(np.arange(54) == 3, 7, s.label.values.astype(object)), ("sample",)),
     r"'label' must hold integers \(class codes\) or text \(class names\); got dtype object \(such as 7, of type "
     r"int\)"),
    (lambda s: s.assign(class_name=xr.DataArray(["a"], dims="class", coords={"class": [1]})),
     r"'class_name' names integer class codes, but the labels are text"),
])
def test_validate_refuses_bad_doy_valid_and_labels_naming_the_variable(change, message):
    with pytest.raises(DataModelError, match=r"^sample set: " + message):
        dm.validate(change(_text_set()))


def test_make_samples_takes_doy_per_sample_or_for_all_and_checks_them():
    X = np.zeros((2, 3, 1))
    one_row = dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], doy=[5, 15, 25], valid=[True, False, True])
    assert one_row.doy.values.tolist() == [[5, 15, 25]] * 2 and one_row.valid.values.sum() == 4
    since = dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], doy=[[0, 400, 800], [10, 410, 810]],
                            doy_reference=pd.Timestamp("2018-03-01"))
    assert since.doy.attrs == {"reference": "2018-03-01"} and since.doy.values[1, 2] == 810
    with pytest.raises(DataModelError, match=r"make_samples: doy must be \(sample, time\) = \(2, 3\), or \(time,\) "
                                             r"for every sample; got shape \(2,\)"):
        dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], doy=[1, 2])
    with pytest.raises(DataModelError, match=r"make_samples: valid must hold True/False .*got int64"):
        dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], valid=[1, 0, 1])
    with pytest.raises(DataModelError, match=r"doy_reference is the date doy counts from; give doy too"):
        dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], doy_reference="2020-01-01")
    with pytest.raises(ConfigError, match=r"make_samples: doy_reference\[0\] = 'soon' is not a date"):
        dm.make_samples(X, [1, 2], [0, 1], bands=["NDVI"], doy=[1, 2, 3], doy_reference="soon")
    with pytest.raises(DataModelError, match=r"class_names names integer class codes, but the labels are text"):
        dm.make_samples(X, ["a", "b"], [0, 1], bands=["NDVI"], class_names={1: "a"})


def test_observation_days_day_of_year_unless_a_series_spans_a_year():
    season = np.array([["2019-11-20", "2020-01-05", "2020-03-01"], ["2020-11-20", "2021-01-05", "2021-03-01"]],
                      dtype="datetime64[D]")
    days, reference = dm.observation_days(season)
    assert reference is None and days.tolist() == [[324, 5, 61], [325, 5, 60]]  # 2020 is a leap year
    long, reference = dm.observation_days(np.array(["2019-11-20", "2020-11-20"], dtype="datetime64[ns]"))
    assert reference == "2019-11-20" and long.tolist() == [0, 366]
    given, reference = dm.observation_days(season[0], reference="2019-01-01")
    assert reference == "2019-01-01" and given.tolist() == [323, 369, 425]
    missing, _ = dm.observation_days(np.array(["2020-01-02", "NaT"], dtype="datetime64[D]"))
    assert missing[0] == 2 and np.isnan(missing[1])


def test_text_labels_doy_and_valid_round_trip_through_netcdf(tmp_path):
    s = _text_set(region=np.arange(54) % 2, x=np.arange(54.0), y=np.zeros(54), crs="EPSG:32631")
    s["doy"].attrs["reference"] = "2020-01-01"
    back = read_samples(write_samples(s, tmp_path / "text.nc"))
    xr.testing.assert_identical(back, s)
    assert back.label.dtype.kind == "U" and back.valid.dtype == bool and back.doy.dtype == np.float32
    coded = dm.make_samples(np.ones((2, 2, 1)), [3, 5], [0, 1], bands=["NDVI"], class_names={3: "a", 5: "b"},
                            doy=[100, 200], valid=[True, False])
    xr.testing.assert_identical(read_samples(write_samples(coded, tmp_path / "codes.nc")), coded)


def test_label_codes_and_class_names_for_both_kinds_of_labels():
    text = dm.make_samples(np.zeros((4, 1, 1)), ["water", "crop", "water", "bare"], [0, 1, 2, 3], bands=["NDVI"])
    codes, names = dm.label_codes(text)
    assert codes.tolist() == [3, 2, 3, 1] and names == {1: "bare", 2: "crop", 3: "water"}
    assert dm.class_names(text) == names
    coded = dm.with_label_codes(text)
    assert coded.label.values.tolist() == [3, 2, 3, 1] and dm.class_names(coded) == names
    assert dm.with_label_codes(coded) is coded  # integer labels: as they are
    ints = dm.make_samples(np.zeros((3, 1, 1)), [7, 2, 7], [0, 1, 2], bands=["NDVI"], class_names={2: "crop",
                                                                                                 7: "water"})
    codes, names = dm.label_codes(ints)
    assert codes.tolist() == [7, 2, 7] and names == {2: "crop", 7: "water"}
    assert dm.label_codes(ints.drop_vars(["class_name", "class"]))[1] == {2: "2", 7: "7"}  # unnamed: the codes
    # the codes of a part come from all the names given
    assert dm.encode_labels(["water"], names=["bare", "crop", "water"])[0].tolist() == [3]
    with pytest.raises(DataModelError, match=r"class name\(s\) \['sand'\] are not among the names"):
        dm.encode_labels(["sand"], names=["bare", "crop"])


# -------------------------------------------------------------------------------------------------- extraction


@pytest.fixture
def reference():
    """Two polygons (classes by name) and a point on a 5 x 4 grid of 10 m pixels from (500000, 4000000)."""
    shapes = [box(500000, 3999970, 500020, 4000000), box(500020, 3999960, 500040, 3999990), Point(500005, 3999955)]
    return gpd.GeoDataFrame({"polygon_id": [1, 2, 3], "class_id": ["crop", "water", "crop"]}, geometry=shapes,
                            crs="EPSG:32631")


def test_extract_samples_fills_doy_and_valid_without_a_mask(make_cube, reference):
    cube = make_cube(n_time=4, start="2021-12-22", step_days=5)  # 22 Dec .. 6 Jan: across 1 January
    data = cube.values.copy()
    data[1, 0, 0, 0] = np.nan  # pixel (0, 0) misses band B04 on the second date
    data[3, 1, 0, 0] = np.inf  # ... and B08 (±inf is missing) on the fourth
    samples = extract_samples(cube.copy(data=data), reference)
    assert samples.doy.values[0].tolist() == [356, 361, 1, 6] and "reference" not in samples.doy.attrs
    first = np.flatnonzero((samples.x.values == 500005) & (samples.y.values == 3999995))[0]
    assert samples.valid.values[first].tolist() == [True, False, True, False]
    assert samples.valid.values.sum() == samples.valid.size - 2
    assert dm.class_names(samples) == {1: "crop", 2: "water"}  # names through the one mapping, codes 1..n


def test_extract_samples_reads_validity_from_a_mask(make_cube, reference):
    cube = make_cube(n_time=3, chunks={"y": 2, "x": 2})  # dask: the mask is read block by block too
    codes = np.zeros((3, 5, 4), "uint8")
    codes[0, 0, 0], codes[2, 0, 1] = 1, 2
    mask = dm.make_mask(codes, like=cube).chunk({"y": 2, "x": 2})
    samples = extract_samples(cube, reference, mask=mask)
    cells = {(float(x), float(y)): v.tolist() for x, y, v in zip(samples.x.values, samples.y.values,
                                                                 samples.valid.values)}
    assert cells[(500005.0, 3999995.0)] == [False, True, True] and cells[(500015.0, 3999995.0)] == [True, True, False]
    assert samples.valid.values.sum() == samples.valid.size - 2
    with pytest.raises(DataModelError, match=r"extract_samples: the mask is not on the grid of the cube: the 'x' "
                                             r"coordinates differ"):
        extract_samples(cube, reference, mask=mask.assign_coords(x=mask.x + 10))
    with pytest.raises(DataModelError, match=r"extract_samples: the mask: codes must be 0 \(valid\), 1 .* found \[7\]"):
        extract_samples(cube, reference, mask=mask.where(mask == 0, 7).astype("uint8"))


# -------------------------------------------------------------------------------- splits with text labels


def test_text_labels_go_through_every_split_and_balancing():
    s = _text_set(region=np.repeat([0, 1], 27))
    train, validation = split_by_group(s, train_size=0.5, random_state=0)
    assert not set(train.group.values) & set(validation.group.values)
    assert set(train.label.values) == set(validation.label.values) == set(NAMES)  # stratified by name
    folds = list(PolygonKFold(3, random_state=0).split(None, s.label.values, s.group.values))
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(54))
    assert all(set(s.label.values[test]) == set(NAMES) for _, test in folds)
    assert len(list(split_folds(s, 3))) == 3 and len(list(split_runs(s, 2))) == 2
    assert len(list(split_runs(s, 2, by_region=True))) == 2
    assert sorted(split_by_region(s)) == [0, 1]
    capped = balance_classes(s.isel(sample=np.arange(40)), max_per_class=5)
    assert dict(zip(*np.unique(capped.label.values, return_counts=True))) == {"crop": 5, "forest": 4, "water": 5}
    codes = [test.tolist() for _, test in make_folds(dm.with_label_codes(s), 3, group_by="group")]
    assert [test.tolist() for _, test in make_folds(s, 3, group_by="group")] == codes  # names or codes: same folds


# ------------------------------------------------------------------------------- models, folds and accuracy


def test_fit_model_on_text_labels_fits_codes_and_keeps_the_names():
    model = fit_model({"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}, _text_set())
    assert model.classes_.dtype.kind == "i" and model.classes_.tolist() == [1, 2, 3]
    assert model.class_names_ == {1: "crop", 2: "forest", 3: "water"}
    ints = dm.make_samples(np.arange(8.0).reshape(4, 2, 1), [3, 3, 9, 9], [0, 1, 2, 3], bands=["NDVI"],
                           class_names={3: "crop", 9: "water"})
    assert fit_model("sklearn.tree.DecisionTreeClassifier", ints).class_names_ == {3: "crop", 9: "water"}
    unnamed = ints.drop_vars(["class_name", "class"])
    assert fit_model("sklearn.tree.DecisionTreeClassifier", unnamed).class_names_ == {3: "3", 9: "9"}


def test_cross_validate_reports_classes_by_name():
    result = cross_validate(_text_set(), RF, folds=3, group_by="group")
    assert result.per_class.index.tolist() == ["crop", "forest", "water"]
    assert result.per_class["support"].tolist() == [18, 18, 18] and result.per_class["code"].tolist() == [1, 2, 3]
    report = result.to_dict()
    assert report["class_names"] == ["crop", "forest", "water"] and set(report["per_class"]) == set(NAMES)
    assert "crop" in result.per_class_summary() and result.runs.class_names == {1: "crop", 2: "forest", 3: "water"}
    searched = search_hyperparameters(RF, _text_set(), {"max_depth": [2]}, folds=3)
    assert searched.best_estimator.class_names_ == {1: "crop", 2: "forest", 3: "water"}


def test_assess_accuracy_takes_text_labels_and_reports_by_name():
    report = assess_accuracy(["crop", "crop", "water", "bare"], ["crop", "water", "water", "bare"])
    assert report.labels == [1, 2, 3] and report.class_names == {1: "bare", 2: "crop", 3: "water"}
    assert report.to_dict()["per_class"]["crop"]["recall"] == 0.5 and report.confusion.sum() == 4
    ordered = assess_accuracy(["b", "a"], ["b", "b"], labels=["b", "a", "c"])  # names may add classes
    assert [ordered.name(c) for c in ordered.labels] == ["b", "a", "c"]
    with pytest.raises(DataModelError, match=r"labels \['a'\] miss class\(es\) \['b'\] of y_true and y_pred"):
        assess_accuracy(["b", "a"], ["b", "b"], labels=["a"])
    with pytest.raises(ConfigError, match=r"y_pred holds class codes \(int64 values\) but y_true class names"):
        assess_accuracy(["b", "a"], [1, 2])
    with pytest.raises(ConfigError, match=r"class_names names integer class codes, but the labels are text"):
        assess_accuracy(["b", "a"], ["b", "a"], class_names={1: "a"})
    with pytest.raises(ConfigError, match=r"labels must hold class names \(text\), as y_true and y_pred do"):
        assess_accuracy(["b", "a"], ["b", "a"], labels=[1, 2])
    with pytest.raises(DataModelError, match=r"1 of the 2 labels in y_pred is missing \(NaN or None\)"):
        assess_accuracy(["b", "a"], np.array(["b", None], dtype=object))


def test_labkit_cv_on_a_netcdf_with_text_labels(tmp_path, capsys):
    path = write_samples(_text_set(), tmp_path / "named.nc")
    code = main(["cv", str(path), "--model", "rf", "--params", '{"n_estimators": 10, "n_jobs": 1}', "--folds", "3",
                 "--group-by", "group", "--json", str(tmp_path / "cv.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("rf on named.nc: 54 samples, 3 classes, 3 folds")
    table = lines[lines.index("per class (summed confusion matrix of the 3 folds):") + 2:][:3]
    assert [line.split()[0] for line in table] == ["crop", "forest", "water"]
    assert [int(line.split()[1]) for line in table] == [18, 18, 18]
    assert "fold/s" in err and "3/3" in err and "fold/s" not in out  # progress on stderr only
    report = json.loads((tmp_path / "cv.json").read_text())
    assert report["class_names"] == ["crop", "forest", "water"] and set(report["per_class"]) == set(NAMES)


# ------------------------------------------------------------------------- routing of the optional variables


class Recorder(ClassifierMixin, BaseEstimator):
    """Predicts the first class; records what its ``fit`` and ``predict`` receive (in the class: clones too)."""

    calls: list[tuple[str, np.ndarray, dict]] = []

    def __init__(self, level: int = 0):
        self.level = level

    def fit(self, X, y, *, group=None, doy=None, valid=None, sample_weight=None):
        given = {"group": group, "doy": doy, "valid": valid, "sample_weight": sample_weight}
        Recorder.calls.append(("fit", np.asarray(X), {k: v for k, v in given.items() if v is not None}))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X, *, doy=None, valid=None):
        given = {"doy": doy, "valid": valid}
        Recorder.calls.append(("predict", np.asarray(X), {k: v for k, v in given.items() if v is not None}))
        return np.full(len(X), self.classes_[0])


@pytest.fixture
def recorded():
    Recorder.calls.clear()
    yield Recorder.calls
    Recorder.calls.clear()


def _numbered_set():
    """X[i, 0, 0] = i and doy[i, :] = i + 1: a model can tell which rows it received."""
    n, n_time = 30, 3
    X = np.zeros((n, n_time, 1))
    X[:, 0, 0] = np.arange(n)
    doy = np.repeat(np.arange(1.0, n + 1)[:, None], n_time, axis=1)
    valid = (np.arange(n * n_time).reshape(n, n_time) % 4) != 0
    return dm.make_samples(X, np.repeat(["a", "b"], n // 2), np.arange(n) // 2, bands=["NDVI"], doy=doy, valid=valid,
                           region=np.arange(n) % 2)


def _check_rows(X, received, samples):
    """The variables a model received belong to the rows of X it received."""
    rows = X[:, 0, 0].astype(int)
    np.testing.assert_array_equal(received["doy"], samples.doy.values[rows])
    np.testing.assert_array_equal(received["valid"], samples.valid.values[rows])
    if "group" in received:
        np.testing.assert_array_equal(received["group"], samples.group.values[rows])


def test_accepted_variables_reads_the_signatures():
    assert SAMPLE_VARIABLES == ("group", "doy", "valid", "region")
    assert accepted_variables(Recorder()) == ("group", "doy", "valid")
    assert accepted_variables(Recorder(), "predict") == ("doy", "valid")
    piped = Pipeline([("identity", FunctionTransformer()), ("model", Recorder())])
    assert accepted_variables(piped) == ("group", "doy", "valid")
    regional = RegionalClassifier(piped)
    assert accepted_variables(regional) == ("group", "doy", "valid", "region")
    assert accepted_variables(regional, "predict") == ("region",)


def test_fit_model_routes_the_variables_a_model_names(recorded):
    samples = _numbered_set()
    fit_model(Recorder(), samples)
    (kind, X, received), = recorded
    assert kind == "fit" and set(received) == {"group", "doy", "valid"}  # region: not named by this fit
    _check_rows(X, received, samples)
    recorded.clear()
    fit_model(Pipeline([("identity", FunctionTransformer()), ("model", Recorder())]), samples,
              sample_weight=np.ones(30))  # a pipeline: model__doy..., next to the fit parameters
    assert set(recorded[0][2]) == {"group", "doy", "valid", "sample_weight"}
    recorded.clear()
    fit_model(Recorder(), samples.drop_vars(["doy", "valid"]), group=np.zeros(30, int))  # given ones win
    assert set(recorded[0][2]) == {"group"} and not recorded[0][2]["group"].any()


def test_cross_validate_passes_training_and_test_rows(recorded):
    samples = _numbered_set()
    cross_validate(samples, Recorder(), folds=3, group_by="group")
    fits = [(X, r) for kind, X, r in recorded if kind == "fit"]
    predictions = [(X, r) for kind, X, r in recorded if kind == "predict"]
    assert len(fits) == len(predictions) == 3
    for X, received in fits + predictions:
        _check_rows(X, received, samples)
    tested = np.concatenate([X[:, 0, 0] for X, _ in predictions]).astype(int)
    assert sorted(tested.tolist()) == list(range(30))  # each test row once, with its own doy and valid
    recorded.clear()
    cross_validate(samples, Pipeline([("identity", FunctionTransformer()), ("model", Recorder())]), folds=3)
    assert [set(r) for kind, _, r in recorded if kind == "predict"] == [{"doy", "valid"}] * 3  # through a pipeline


def test_regional_models_get_regions_and_search_gets_the_folds_rows(recorded):
    samples = _numbered_set()
    fitted = fit_model(RegionalClassifier(Recorder()), samples)
    assert sorted(fitted.estimators_) == [0, 1]
    for _, X, received in recorded:  # each region's model gets its own rows' dates and validity
        _check_rows(X, received, samples)
    with pytest.raises(ConfigError, match=r"per-region model needs the sample set's 'region' variable"):
        fit_model(RegionalClassifier(Recorder()), samples.drop_vars("region"))
    recorded.clear()
    search_hyperparameters(Recorder(), samples, {"level": [0, 1]}, folds=3)  # scikit-learn cuts them per fold
    fits = [(X, r) for kind, X, r in recorded if kind == "fit"]
    assert len(fits) == 2 * 3 + 1 and sorted(len(X) for X, _ in fits)[-1] == 30  # the refit on every row
    for X, received in fits:
        _check_rows(X, received, samples)


# ------------------------------------------------------------------------------------- numeric targets (regression)


def _regression_set(n=24, seed=0, **extra):
    """``n`` samples of two bands whose target is a noisy linear function of them; pairs of samples share a group."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 1, 2))
    target = 3 * X[:, 0, 1] - X[:, 0, 0] + rng.normal(0, 0.05, n)
    return dm.make_samples(X, target=target, group=np.arange(n) // 2, bands=["B04", "B08"], **extra)


def test_a_sample_set_may_hold_a_target_instead_of_labels():
    samples = _regression_set()
    assert dm.validate(samples) == "samples" and "label" not in samples
    assert samples["target"].dtype == np.float64 and samples["group"].values.tolist()[:4] == [0, 0, 1, 1]
    both = dm.make_samples(np.zeros((3, 1, 1)), ["a", "b", "a"], [0, 1, 2], target=[1, 2, 3], bands=["NDVI"])
    assert both["target"].values.tolist() == [1.0, 2.0, 3.0] and both["label"].values.tolist() == ["a", "b", "a"]
    own_groups = dm.make_samples(np.zeros((3, 1, 1)), target=np.array([1.0, 2.0, 3.0], "float32"), bands=["NDVI"])
    assert own_groups["group"].values.tolist() == [0, 1, 2] and own_groups["target"].dtype == np.float32
    assert dm.class_names(samples) == {} and dm.with_label_codes(samples) is samples
    with pytest.raises(DataModelError, match=r"label_codes: the sample set has no 'label'.*numeric target"):
        dm.label_codes(samples)


def test_a_target_must_be_finite_floats_and_a_set_needs_labels_or_a_target():
    samples = _regression_set(n=4)
    with pytest.raises(DataModelError, match=r"'target' is not finite \(NaN or ±inf\) for 2 of 4 samples \(e\.g\. "
                                             r"samples \[1, 3\]\)"):
        dm.validate(samples.assign(target=("sample", [1.0, np.nan, 2.0, np.inf])))
    with pytest.raises(DataModelError, match=r"'target' must hold floats .*got dtype int64.*astype\('float64'\)"):
        dm.validate(samples.assign(target=("sample", np.arange(4))))
    with pytest.raises(DataModelError, match=r"missing variable 'label' \('sample',\).*or 'target'"):
        dm.validate(samples.drop_vars("target"))
    with pytest.raises(DataModelError, match=r"variable 'target' must have dims \('sample',\)"):
        dm.validate(samples.assign(target=(("sample", "time"), np.ones((4, 1)))))
    with pytest.raises(DataModelError, match=r"make_samples: give label .* or target"):
        dm.make_samples(np.zeros((2, 1, 1)), bands=["NDVI"])
    with pytest.raises(DataModelError, match=r"target must hold numbers.*pass them as label"):
        dm.make_samples(np.zeros((2, 1, 1)), target=["low", "high"], bands=["NDVI"])
    with pytest.raises(DataModelError, match=r"'class_name' names class codes, but the sample set has no 'label'"):
        dm.validate(samples.assign(class_name=xr.DataArray(["a"], dims="class", coords={"class": [1]})))


def test_a_target_survives_netcdf(tmp_path):
    samples = _regression_set(n=6)
    samples["target"].attrs.update(variable="lai", units="m2 m-2")
    back = read_samples(write_samples(samples, tmp_path / "lai.nc"))
    assert back.identical(samples) and back["target"].attrs["variable"] == "lai"


def test_regressors_fit_the_target_and_classifiers_the_labels():
    samples = _regression_set()
    model = fit_model({"model": "rf-regressor", "params": {"n_estimators": 10, "n_jobs": 1}}, samples)
    assert model.target_name_ == "target" and not hasattr(model, "class_names_")
    assert np.corrcoef(model.predict(samples.X.values), samples.target.values)[0, 1] > 0.9
    with pytest.raises(ConfigError, match=r"fit_model: RandomForestClassifier is a classifier .* has none \(only "
                                          r"'target', for regression\)\. Use a regression model \(rf-regressor"):
        fit_model(RF, samples)
    labelled = _text_set()
    with pytest.raises(ConfigError, match=r"fit_model: RandomForestRegressor is a regression model .* 'target'.*has "
                                          r"none \(only 'label', classes\)"):
        fit_model("rf-regressor", labelled)


def test_folds_of_a_regression_are_not_stratified_and_keep_groups_apart():
    samples = _regression_set(n=30)
    plain = make_folds(samples, 3)
    assert sorted(np.concatenate([test for _, test in plain]).tolist()) == list(range(30))
    grouped = make_folds(samples, 5, group_by="group")
    for train, test in grouped:
        assert not set(samples.group.values[train]) & set(samples.group.values[test])
    with pytest.raises(ConfigError, match=r"make_folds: 16 folds need at least 16 groups of 'group'; the sample set "
                                          r"has 15"):
        make_folds(samples, 16, group_by="group")
    with pytest.raises(ConfigError, match=r"make_folds: a classification .* has none \(only 'target'"):
        make_folds(samples, 3, stratify=True)
    labelled = _text_set()  # labels and a target: a regression's folds ignore the classes when asked
    both = labelled.assign(target=("sample", np.arange(labelled.sizes["sample"], dtype=float)))
    assert len(make_folds(both, 3, stratify=False)) == 3


def test_cross_validate_scores_a_regression_by_rmse_mae_and_r2():
    samples = _regression_set(n=40)
    result = cross_validate(samples, {"model": "rf-regressor", "params": {"n_estimators": 20, "n_jobs": 1}},
                            folds=4, group_by="group")
    assert result.task == "regression" and list(result.mean) == ["rmse", "mae", "r2"]
    assert result.mean["r2"] > 0.6 and 0 < result.mean["mae"] <= result.mean["rmse"]
    assert list(result.scores.columns) == ["rmse", "mae", "r2", "n_test"] and result.scores["n_test"].sum() == 40
    assert result.predictions.dtype == np.float64 and np.isfinite(result.predictions).all()
    pooled = result.pooled
    assert pooled.n == 40 and np.isclose(pooled.rmse, np.sqrt(np.mean((result.predictions - samples.target) ** 2)))
    assert [line.split()[0] for line in result.summary().splitlines()] == ["RMSE", "MAE", "R²"]
    report = json.loads(json.dumps(result.to_dict()))
    assert report["task"] == "regression" and set(report["scores"]) == {"rmse", "mae", "r2"}
    assert len(report["scores"]["r2"]["folds"]) == 4 and set(report["pooled"]) == {"rmse", "mae", "r2", "bias"}
    assert "confusion_matrix" not in report
    with pytest.raises(ConfigError, match=r"CVResult.per_class: a regression .* has no classes"):
        result.per_class  # noqa: B018


def test_cross_validate_refuses_a_task_the_sample_set_cannot_train_before_any_fold(monkeypatch):
    import labkit.models.selection as selection

    monkeypatch.setattr(selection, "make_folds", lambda *a, **k: pytest.fail("folds made before the check"))
    with pytest.raises(ConfigError, match=r"cross_validate: RandomForestClassifier is a classifier"):
        cross_validate(_regression_set(), RF, folds=3)
    with pytest.raises(ConfigError, match=r"cross_validate: RandomForestRegressor is a regression model"):
        cross_validate(_text_set(), "rf-regressor", folds=3)


def test_search_hyperparameters_tunes_a_regressor_on_r2():
    samples = _regression_set(n=30)
    found = search_hyperparameters({"model": "rf-regressor", "params": {"n_estimators": 10, "n_jobs": 1}}, samples,
                                   {"max_depth": [1, 4]}, folds=3)
    assert found.best_params == {"max_depth": 4} and found.best_estimator.target_name_ == "target"
    assert found.search.scoring == "r2" and found.best_estimator.input_signature_.bands == ("B04", "B08")


def test_labkit_cv_on_a_target_prints_rmse_mae_and_r2(tmp_path, capsys):
    path = write_samples(_regression_set(n=30), tmp_path / "lai.nc")
    out_json = tmp_path / "cv.json"
    code = main(["cv", str(path), "--model", "rf-regressor", "--params", '{"n_estimators": 10, "n_jobs": 1}',
                 "--folds", "3", "--no-progress", "--json", str(out_json)])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0].startswith("rf-regressor on lai.nc: 30 samples, target ") and lines[0].endswith(
        "3 folds of samples (k-fold, not grouped by polygon, seed 0)")
    for line, label in zip(lines[1:4], ["RMSE", "MAE", "R²"]):
        assert re.fullmatch(rf"{label} +-?\d+\.\d{{3}} ± \d+\.\d{{3}}", line), line
    assert "per class" not in out and len(lines) == 5 and "pooled RMSE, MAE, R² and bias" in lines[4]
    report = json.loads(out_json.read_text())
    assert report["task"] == "regression" and report["n_samples"] == 30 and "labels" not in report
    code = main(["cv", str(path), "--model", "rf", "--folds", "3", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "is a classifier" in err


def test_a_sample_set_round_trips_through_zarr_lazily(tmp_path):
    import dask.array as da

    from labkit.errors import ReadError
    from labkit.io import read_samples, write_samples

    samples = dm.make_samples(np.random.default_rng(0).random((50, 4, 2)).astype("float32"),
                              np.repeat(["crop", "water"], 25), np.arange(50) // 5, bands=["B04", "B08"],
                              times=np.datetime64("2021-01-01") + 10 * np.arange(4), doy=[1, 11, 21, 31],
                              valid=np.ones((50, 4), bool))
    path = write_samples(samples, tmp_path / "s.zarr")
    lazy = read_samples(path, chunks=20)
    assert isinstance(lazy["X"].data, da.Array) and lazy["X"].data.chunks[0] == (20, 20, 10)
    xr.testing.assert_identical(lazy.compute(), samples)
    xr.testing.assert_identical(read_samples(path), samples)
    with pytest.raises(ReadError, match=r"is not a sample set's Zarr store"):
        read_samples(write_zarr_cube(tmp_path))


def write_zarr_cube(tmp_path):
    from labkit.io import write_zarr

    cube = dm.make_cube(np.zeros((1, 1, 2, 2), "float32"), ["2021-01-01"], ["B04"], transform=(10, 0, 0, 0, -10, 20),
                        crs="EPSG:32631")
    return write_zarr(cube, tmp_path / "cube.zarr")
