"""Deep models behind labkit's one registry: learning, determinism, early stopping, checkpoints and resume, streaming
from Zarr, regression, save/load with the signature, and classification of a cube."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit.datamodel as dm
from labkit.errors import ConfigError, ReadError
from labkit.datamodel import NO_CLASS
from labkit.inference import predict_cube
from labkit.models import MODELS, DeepClassifier, DeepRegressor, fit_model, load_model, make_model, save_model
from labkit.models.deep import training as deep_training
from labkit.models.deep.data import BLOCK_SAMPLES, BandScaler, SeriesBatches

NETWORKS = ["mlp", "tempcnn", "ltae", "gru", "transformer"]
FAST = {"epochs": 40, "batch_size": 32, "learning_rate": 3e-3, "patience": None, "validation_fraction": 0.0,
        "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def peaks(n_per_class=60, n_time=16, missing=0.3, seed=0):
    """Three classes whose series peak on different days, with ``missing`` of the observations NaN."""
    rng = np.random.default_rng(seed)
    days = np.linspace(0, 360, n_time)
    y = np.repeat([1, 4, 9], n_per_class)
    centre = np.select([y == 1, y == 4], [60, 180], 300)
    X = np.exp(-0.5 * ((days[None] - centre[:, None]) / 40) ** 2)[:, :, None]
    X = np.concatenate([X, 0.5 * X], axis=2) + rng.normal(0, 0.05, (len(y), n_time, 2))
    X[rng.random((len(y), n_time)) < missing] = np.nan
    return X.astype("float32"), y, days


def as_samples(X, y, days=None):
    groups = np.arange(len(y)) // 3 + 1000 * (y // 4)
    times = None if days is None else np.datetime64("2021-01-01") + days.astype("timedelta64[D]")
    return dm.make_samples(X, y, groups, times=times, bands=["B04", "B08"])


# ------------------------------------------------------------------------------------------------ registry


def test_every_network_is_registered_for_both_tasks():
    for name in NETWORKS:
        for registered, task in ((name, "classification"), (f"{name}-regressor", "regression")):
            entry = MODELS[registered]
            assert (entry.task, entry.inputs, entry.gpu, entry.takes_stats) == (task, "series", True, False)
            assert entry.uses_dates == (name in ("ltae", "transformer"))
    model = make_model("ltae", epochs=3, network_params={"n_head": 4})
    assert isinstance(model, DeepClassifier) and model.get_params()["network_params"] == {"n_head": 4}
    assert isinstance(make_model("tempcnn-regressor"), DeepRegressor)


@pytest.mark.parametrize("params, message", [
    ({"epoch": 3}, r"has no parameter\(s\) \['epoch'\] \(did you mean 'epochs'\?\)"),
    ({"network_params": {"filter": 3}}, r"network 'tempcnn' \(TempCNN\) has no parameter\(s\) \['filter'\] \(did "
                                        r"you mean 'filters'\?\)"),
    ({"monitor": "f1"}, r"monitor must be one of \['loss', 'oa', 'kappa', 'macro_f1'\]; got 'f1'"),
    ({"learning_rate": 0}, r"learning_rate must be a finite number > 0; got 0"),
    ({"validation_fraction": 1}, r"validation_fraction must be a finite number >= 0 and < 1"),
    ({"schedule": "linear"}, r"schedule must be one of \('cosine', 'plateau', 'constant'\)"),
    ({"class_weight": "equal"}, r"class_weight must be None or 'balanced'"),
])
def test_bad_hyperparameters_are_refused_when_the_model_is_built(params, message):
    with pytest.raises(ConfigError, match=message):
        make_model("tempcnn", **params)


def test_a_device_that_is_absent_is_named():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    X, y, _ = peaks(n_per_class=5)
    with pytest.raises(ConfigError, match=r"device='cuda', but this machine has no CUDA GPU"):
        DeepClassifier("mlp", epochs=1, device="cuda").fit(X, y)


# ------------------------------------------------------------------------------------------------ learning


@pytest.mark.parametrize("network", NETWORKS)
def test_each_network_learns_a_toy_problem_with_missing_observations(network):
    X, y, days = peaks()
    smaller = {"gru": {"learning_rate": 1e-2, "network_params": {"hidden_size": 32, "num_layers": 1}},  # defaults:
               "transformer": {"learning_rate": 1e-3,                                # sizes for real sets
                               "network_params": {"d_model": 32, "num_layers": 2, "dim_feedforward": 64}}}
    params = dict(FAST, **smaller.get(network, {}))
    model = DeepClassifier(network, **params).fit(X, y, doy=days)
    assert model.score(X, y) >= 0.9
    assert model.classes_.tolist() == [1, 4, 9]
    proba = model.predict_proba(X[:5], doy=days)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_the_mlp_learns_gap_filled_series():
    X, y, _ = peaks(missing=0.0)
    assert DeepClassifier("mlp", **FAST).fit(X, y).score(X, y) >= 0.95


def test_text_labels_are_classes():
    X, y, _ = peaks(n_per_class=30, missing=0.0)
    names = np.array(["crop", "forest", "water"])[np.searchsorted([1, 4, 9], y)]
    model = DeepClassifier("tempcnn", **dict(FAST, epochs=15)).fit(X, names)
    assert model.classes_.tolist() == ["crop", "forest", "water"] and set(model.predict(X[:10])) <= set(names)


def test_the_same_seed_gives_the_same_weights_on_cpu():
    X, y, days = peaks(n_per_class=20)
    runs = [DeepClassifier("ltae", epochs=4, batch_size=16, random_state=3).fit(X, y, doy=days) for _ in range(2)]
    for a, b in zip(runs[0].network_.state_dict().values(), runs[1].network_.state_dict().values()):
        assert torch.equal(a, b)
    other = DeepClassifier("ltae", epochs=4, batch_size=16, random_state=4).fit(X, y, doy=days)
    assert not all(torch.equal(a, b) for a, b in zip(runs[0].network_.state_dict().values(),
                                                       other.network_.state_dict().values()))


def test_early_stopping_keeps_the_best_epoch():
    X, y, days = peaks(n_per_class=40)
    model = DeepClassifier("tempcnn", epochs=60, batch_size=16, learning_rate=0.02, patience=3, monitor="oa",
                           validation_fraction=0.3, random_state=0).fit(X, y, group=np.arange(len(y)) // 2,
                                                                     doy=days)
    history = model.history_
    assert len(history) < 60  # stopped early
    best = [row for row in history if row["best"]]
    assert len(best) == 1 and best[0]["epoch"] == model.best_epoch_
    assert best[0]["val_oa"] == max(row["val_oa"] for row in history)
    assert {"val_loss", "val_oa", "val_kappa", "val_macro_f1", "learning_rate"} <= set(history[0])


def test_the_validation_set_holds_whole_polygons(monkeypatch):
    seen = {}
    original = deep_training.train

    def spy(*args, **kwargs):
        seen["train"], seen["validation"] = args[2].rows, kwargs["validation"].rows
        return original(*args, **kwargs)

    monkeypatch.setattr(deep_training, "train", spy)
    X, y, _ = peaks(n_per_class=30)
    group = np.arange(len(y)) // 5
    DeepClassifier("mlp", epochs=1, validation_fraction=0.3, random_state=0).fit(X, y, group=group)
    assert len(seen["validation"]) and not set(group[seen["train"]]) & set(group[seen["validation"]])
    assert set(y[seen["validation"]]) == {1, 4, 9}  # every class is validated


def test_balanced_class_weights_follow_the_class_frequencies():
    X, y, _ = peaks(n_per_class=20)
    keep = np.r_[np.arange(20), np.arange(20, 30), np.arange(40, 45)]
    model = DeepClassifier("mlp", class_weight="balanced")
    model.classes_ = np.array([1, 4, 9])
    weights = model._class_weight(np.searchsorted([1, 4, 9], y[keep]), 3)
    np.testing.assert_allclose(weights, len(keep) / (3 * np.array([20, 10, 5])))


def test_an_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    X, y, days = peaks(n_per_class=20)
    params = dict(network="tempcnn", epochs=6, batch_size=16, validation_fraction=0.2, patience=None,
                  random_state=1)
    group = np.arange(len(y)) // 2
    straight = DeepClassifier(**params).fit(X, y, group=group, doy=days)
    saves = []
    original = deep_training._save_checkpoint

    def save_then_crash(path, state):
        original(path, state)
        saves.append(state["epoch"])
        if state["epoch"] == 3:
            raise KeyboardInterrupt  # the run is killed after its third epoch was saved

    checkpoint = tmp_path / "training.pt"
    monkeypatch.setattr(deep_training, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        DeepClassifier(**params, checkpoint=str(checkpoint)).fit(X, y, group=group, doy=days)
    monkeypatch.setattr(deep_training, "_save_checkpoint", original)
    resumed = DeepClassifier(**params, checkpoint=str(checkpoint), resume=True).fit(X, y, group=group, doy=days)
    assert saves == [1, 2, 3] and [row["epoch"] for row in resumed.history_] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(straight.network_.state_dict().values(), resumed.network_.state_dict().values()):
        assert torch.equal(a, b)
    np.testing.assert_allclose([r["val_loss"] for r in resumed.history_], [r["val_loss"] for r in straight.history_])


def test_a_damaged_checkpoint_is_named(tmp_path):
    checkpoint = tmp_path / "training.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    X, y, _ = peaks(n_per_class=5)
    with pytest.raises(ConfigError, match=r"training\.pt: not a readable checkpoint"):
        DeepClassifier("mlp", epochs=1, checkpoint=str(checkpoint), resume=True).fit(X, y)


# ----------------------------------------------------------------------------------------- data, streaming


def test_standardisation_uses_valid_observations_of_the_training_set_only():
    X = np.array([[[1.0], [np.nan], [3.0]], [[2.0], [4.0], [1e9]]], "float32")
    valid = np.array([[True, True, True], [True, True, False]])
    scaler = BandScaler.fit(SeriesBatches(X, valid=valid, batch_size=2))
    assert scaler.mean[0] == pytest.approx(2.5) and scaler.std[0] == pytest.approx(np.std([1, 3, 2, 4]))


class CountingArray:
    """A lazy array (as a Zarr array is) that records the largest read."""

    def __init__(self, values):
        self.values, self.shape, self.dtype, self.largest = values, values.shape, values.dtype, 0

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        self.largest = max(self.largest, len(rows))
        return self.values[rows]


def test_a_lazy_sample_set_is_read_block_by_block(monkeypatch):
    import labkit.models.deep.data as data

    monkeypatch.setattr(data, "BLOCK_SAMPLES", 32)
    X, y, days = peaks(n_per_class=40, missing=0.1)
    lazy = CountingArray(X)
    model = DeepClassifier("tempcnn", **dict(FAST, epochs=20)).fit(lazy, y, doy=days)
    assert lazy.largest <= 32  # never more than a block in memory
    assert model.score(X, y) >= 0.9
    assert BLOCK_SAMPLES >= 1024  # the real block size stays large enough to read efficiently


def test_a_zarr_backed_sample_set_trains(tmp_path):
    import zarr

    X, y, days = peaks(n_per_class=20)
    store = zarr.open_array(tmp_path / "X.zarr", mode="w", shape=X.shape, chunks=(16, 16, 2), dtype="float32")
    store[:] = X
    model = DeepClassifier("tempcnn", **dict(FAST, epochs=10)).fit(store, y, doy=days)
    assert model.predict(X[:3], doy=days).shape == (3,)


# ------------------------------------------------------------------------------------------------ regression


def test_a_regressor_learns_in_the_targets_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 8, 2)).astype("float32")
    lai = 6 * X[:, :, 0].mean(axis=1) + 2
    model = DeepRegressor("tempcnn", **dict(FAST, epochs=25)).fit(X, lai)
    assert model.score(X, lai) > 0.8
    assert abs(model.predict(X).mean() - lai.mean()) < 0.3
    with pytest.raises(Exception, match="one finite number per sample"):
        DeepRegressor("mlp", epochs=1).fit(X, np.full(300, np.nan))


# --------------------------------------------------------------------------------------------- save and load


@pytest.mark.parametrize("name", ["tempcnn", "ltae", "mlp-regressor", "rf"])
def test_a_saved_model_predicts_identically(tmp_path, name):
    X, y, days = peaks(n_per_class=20)
    samples = as_samples(np.nan_to_num(X) if name == "rf" else X, y, days)
    model = make_model(name, **({"epochs": 3, "random_state": 0} if name != "rf" else
                                {"n_estimators": 5, "random_state": 0}))
    if "regressor" in name:  # a numeric target: fitted on arrays (no signature)
        model.fit(samples["X"].values, y * 0.5, doy=days)
    else:
        fit_model(model, samples)
    path = save_model(model, tmp_path / "model.labkit")
    back = load_model(path)
    assert getattr(back, "input_signature_", None) == getattr(model, "input_signature_", None)
    extra = {"doy": days} if name != "rf" else {}
    data = samples["X"].values
    np.testing.assert_array_equal(back.predict(data, **extra), model.predict(data, **extra))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(back.predict_proba(data, **extra), model.predict_proba(data, **extra))


def test_saving_a_model_twice_gives_the_same_bytes(tmp_path):
    import time

    X, y, days = peaks(n_per_class=10)
    model = fit_model(make_model("rf", n_estimators=3, random_state=0), as_samples(np.nan_to_num(X), y, days))
    first = save_model(model, tmp_path / "a.labkit").read_bytes()
    time.sleep(2.1)  # a zip member's date has a resolution of 2 s
    assert save_model(model, tmp_path / "b.labkit").read_bytes() == first


def test_a_changed_model_file_is_refused(tmp_path):
    import zipfile

    X, y, _ = peaks(n_per_class=10, missing=0.0)
    path = save_model(DeepClassifier("mlp", epochs=1).fit(X, y), tmp_path / "m.labkit")
    with zipfile.ZipFile(path) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    items["network.pt"] = items["network.pt"][:-10] + b"0123456789"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)
    with pytest.raises(ReadError, match=r"m\.labkit: the model's payload does not match its checksum"):
        load_model(path)
    (tmp_path / "x.labkit").write_text("hello")
    with pytest.raises(ReadError, match=r"x\.labkit is not a labkit model file"):
        load_model(tmp_path / "x.labkit")


def test_a_deep_model_file_naming_another_class_is_refused(tmp_path):
    import json
    import zipfile

    X, y, _ = peaks(n_per_class=10, missing=0.0)
    path = save_model(DeepClassifier("mlp", epochs=1).fit(X, y), tmp_path / "m.labkit")
    with zipfile.ZipFile(path) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(items["labkit-model.json"])
    meta["deep"]["class"] = "subprocess.Popen"  # the JSON may name only labkit's own deep classes
    items["labkit-model.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)
    with pytest.raises(ReadError, match=r"m\.labkit: unknown deep model class 'subprocess\.Popen'; this labkit reads "
                                        r"DeepClassifier, DeepRegressor, SpatialClassifier, SuperResolution"):
        load_model(path)


def test_an_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ConfigError, match=r"save_model: the model \(DeepClassifier\) is not fitted"):
        save_model(DeepClassifier(), tmp_path / "m.labkit")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- a cube, mapped


def test_a_date_aware_model_maps_a_cloudy_cube_it_was_not_gap_filled_for():
    X, y, days = peaks(n_per_class=40)
    samples = as_samples(X, y, days)
    model = fit_model(DeepClassifier("ltae", **FAST), samples)
    height = width = 6
    pixels = X[: height * width]  # the first 36 samples, with their clouds, as a 6 x 6 image
    cube = dm.make_cube(pixels.reshape(height, width, len(days), 2).transpose(2, 3, 0, 1), samples.time.values,
                        ["B04", "B08"], transform=(10, 0, 0, 0, -10, 60), crs="EPSG:32631")
    class_map, confidence = predict_cube(cube, model, block=4)
    expected = model.predict(pixels, doy=samples.time.dt.dayofyear.values.astype("float32"))
    np.testing.assert_array_equal(class_map.values.ravel(), expected)  # every pixel mapped, clouds and all
    assert (class_map.values != NO_CLASS).all() and np.isfinite(confidence.values).all()


# ------------------------------------------------------------------------- in pipelines, folds and searches


def test_a_network_works_in_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, _ = peaks(n_per_class=30, missing=0.0)
    pipeline = make_pipeline(FunctionTransformer(lambda values: values * 10.0), DeepClassifier("mlp", **FAST))
    assert pipeline.fit(X, y).score(X, y) >= 0.9


def test_a_network_in_grouped_cross_validation_and_search_with_text_labels():
    from labkit.models import cross_validate, search_hyperparameters

    X, y, days = peaks(n_per_class=24)
    names = np.array(["crop", "forest", "water"])[np.searchsorted([1, 4, 9], y)]
    samples = dm.make_samples(X, names, np.arange(len(y)) // 3, times=np.datetime64("2021-01-01")
                              + days.astype("timedelta64[D]"), bands=["B04", "B08"])
    model = {"model": "tempcnn", "params": {"epochs": 8, "batch_size": 16, "validation_fraction": 0.0}}
    result = cross_validate(samples, model, folds=3, group_by="group", random_state=0)
    assert result.mean["overall_accuracy"] > 0.7
    assert list(result.per_class.index) == ["crop", "forest", "water"]
    search = search_hyperparameters(model, samples, {"learning_rate": [1e-3, 3e-3]}, folds=3, random_state=0)
    assert set(search.results["learning_rate"]) == {1e-3, 3e-3} and 0 <= search.best_score <= 1


def test_a_sample_set_in_a_zarr_store_streams_into_a_network(tmp_path, monkeypatch):
    """The set is written to Zarr, read lazily, and fit_model hands the network the lazy X, read block by block."""
    import dask.array as da

    import labkit.models.deep.data as data
    from labkit.io import read_samples, write_samples

    X, y, days = peaks(n_per_class=30)
    path = write_samples(as_samples(X, y, days), tmp_path / "samples.zarr")
    lazy = read_samples(path, chunks=16)
    assert isinstance(lazy["X"].data, da.Array)
    seen = {}
    original = DeepClassifier.fit

    def spy(self, X, y, **kwargs):
        seen["X"] = X
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(DeepClassifier, "fit", spy)
    monkeypatch.setattr(data, "BLOCK_SAMPLES", 16)
    model = fit_model(DeepClassifier("tempcnn", **dict(FAST, epochs=25)), lazy)
    assert isinstance(seen["X"], da.Array)  # never loaded whole by fit_model
    assert (model.predict(X, doy=days) == y).mean() >= 0.9
