"""labkit.models.fast_trees: tensor trees give scikit-learn's classes exactly (thresholds rounded down to float32,
ties and missing values left to the forest), and every model that cannot or should not be accelerated comes back
unchanged with the reason. The hummingbird-ml assertions are skipped where the fast-trees extra is not installed;
the GPU one where there is no CUDA."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import labkit.datamodel as dm
from labkit.errors import ConfigError
from labkit.models import fast_trees, fit_model, make_model
from labkit.models.fast_trees import TensorForest, accelerate, float32_thresholds, try_accelerate


@pytest.fixture(scope="module")
def data():
    """Quantised, three-class pixels (reflectance steps of 1e-4, as in Sentinel-2 products: values recur)."""
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(600, 8)), 4).astype("float32")
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=600), [-0.5, 0.5]) + 1
    return X, y


@pytest.fixture(scope="module")
def forest(data):
    X, y = data
    return RandomForestClassifier(n_estimators=15, random_state=0, n_jobs=1).fit(X[:400], y[:400])


@pytest.fixture(scope="module")
def pipeline():
    """labkit's "rf" (SeriesFeatures then the forest), fitted by fit_model on a small sample set."""
    rng = np.random.default_rng(1)
    y = np.repeat([1, 2, 3], 40)
    X = (rng.normal(size=(120, 5, 2)) + y[:, None, None] * 0.7).astype("float32")
    samples = dm.make_samples(X, y, np.arange(120) // 4, bands=["B04", "B08"])
    return fit_model(make_model("rf", n_estimators=10, n_jobs=1, random_state=0), samples), X


@pytest.fixture
def hummingbird(one_torch_thread):
    return pytest.importorskip("hummingbird.ml")


def adjacent_float32_pair() -> np.ndarray:
    """Two neighbouring float32 values whose float64 midpoint rounds *up* to the upper one."""
    low = np.float32(1000.0)
    while int(low.view(np.int32)) % 2 == 0:  # an odd last bit: the midpoint rounds to the even neighbour, above
        low = np.nextafter(low, np.float32(2000))
    return np.array([[low], [np.nextafter(low, np.float32(2000))]], dtype="float32")


def on_thresholds(forest) -> np.ndarray:
    """Pixels whose every feature sits on a split threshold of the forest: the nearest float32, the float32 below
    and the float32 above each threshold (the values where float32 rounding could change a branch)."""
    splits = np.concatenate([est.tree_.threshold[est.tree_.feature >= 0] for est in forest.estimators_])
    nearest = splits.astype("float32")
    below, above = np.nextafter(nearest, np.float32(-np.inf)), np.nextafter(nearest, np.float32(np.inf))
    values = np.concatenate([nearest, below, above])
    return np.repeat(values[:, None], forest.n_features_in_, axis=1)


class ReorderedTrees:
    """Stands for hummingbird's model: the forest's probabilities, nudged by float32-sized noise (which breaks exact
    ties either way), and a wrong, confident class for rows with a missing value."""

    def __init__(self, forest):
        self.forest = forest

    def predict_proba(self, X):
        noise = np.random.default_rng(0).uniform(-1e-6, 1e-6, size=(len(X), len(self.forest.classes_)))
        proba = np.nan_to_num(self.forest.predict_proba(X)) + noise
        proba[~np.isfinite(X).all(axis=1)] = np.eye(len(self.forest.classes_))[-1]
        return proba.astype("float32")


# ------------------------------------------------------------------------------------ unchanged, with a reason


def test_a_model_that_is_not_a_forest_comes_back_unchanged(data):
    X, y = data
    linear = LogisticRegression().fit(X, y)
    result = try_accelerate(linear, "cuda", check=X, backend="hummingbird")
    assert result.model is linear and not result.accelerated
    assert "LogisticRegression is not a fitted RandomForestClassifier" in result.reason
    assert accelerate(linear, "cpu", check=X, backend="hummingbird") is linear


def test_a_pipeline_without_a_forest_and_an_unfitted_forest_come_back_unchanged(pipeline, data):
    X, y = data
    svm = make_model("svm")
    assert try_accelerate(svm, "cpu", check=X, backend="hummingbird").model is svm
    unfitted = RandomForestClassifier()
    result = try_accelerate(unfitted, "cpu", check=X, backend="hummingbird")
    assert result.model is unfitted and "not a fitted" in result.reason


def test_on_a_cpu_the_default_keeps_scikit_learn(forest, data):
    result = try_accelerate(forest, "cpu", check=data[0])
    assert result.model is forest and not result.accelerated
    assert result.reason == fast_trees.CPU_REASON


def test_backend_sklearn_keeps_the_model(forest, data):
    result = try_accelerate(forest, "cuda", check=data[0], backend="sklearn")
    assert result.model is forest and "backend='sklearn'" in result.reason


def test_cuda_asked_without_a_gpu_keeps_the_model(forest, data, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:1"):
        result = try_accelerate(forest, device, check=data[0], backend="hummingbird")
        assert result.model is forest and "no CUDA GPU" in result.reason
    assert try_accelerate(forest, "auto", check=data[0]).reason == fast_trees.CPU_REASON  # auto: the CPU here


def test_without_hummingbird_the_model_is_kept_and_the_extra_named(forest, data, monkeypatch):
    monkeypatch.setattr(fast_trees, "_hummingbird_installed", lambda: False)
    result = try_accelerate(forest, "cpu", check=data[0], backend="hummingbird")
    assert result.model is forest and not result.accelerated
    assert "hummingbird-ml is not installed" in result.reason and "fast-trees" in result.reason


def test_without_a_check_sample_the_model_is_kept(forest, monkeypatch):
    monkeypatch.setattr(fast_trees, "_hummingbird_installed", lambda: True)
    for check in (None, np.empty((0, 8), "float32")):
        result = try_accelerate(forest, "cpu", check=check, backend="hummingbird")
        assert result.model is forest and "no check sample" in result.reason


def test_a_failing_conversion_keeps_the_model(forest, data, monkeypatch):
    def broken(self):
        raise RuntimeError("no kernel for this device")

    monkeypatch.setattr(fast_trees, "_hummingbird_installed", lambda: True)
    monkeypatch.setattr(TensorForest, "tensors", property(broken))
    result = try_accelerate(forest, "cpu", check=data[0], backend="hummingbird")
    assert result.model is forest
    assert result.reason == "hummingbird-ml failed on this forest: RuntimeError: no kernel for this device"


def test_different_classes_on_the_check_sample_keep_the_model(forest, data, monkeypatch):
    monkeypatch.setattr(fast_trees, "_hummingbird_installed", lambda: True)
    monkeypatch.setattr(TensorForest, "predict_proba", lambda self, X: self.forest.predict_proba(X)[:, ::-1])
    X = data[0][400:]
    proba = forest.predict_proba(X)
    differ = int((np.argmax(proba, axis=1) != np.argmax(proba[:, ::-1], axis=1)).sum())
    result = try_accelerate(forest, "cpu", check=X, backend="hummingbird")
    assert differ > 0 and result.model is forest
    assert result.reason == (f"tensor trees on cpu classify {differ} of {len(X)} check pixels differently from "
                             "scikit-learn")


@pytest.mark.parametrize("backend, device", [("fast", "cuda"), ("auto", "gpu"), ("auto", 0)])
def test_unknown_backend_or_device_is_a_config_error(forest, backend, device):
    with pytest.raises(ConfigError, match="accelerate: (backend|device) must be"):
        try_accelerate(forest, device, backend=backend)


# ------------------------------------------------------------------------- exact classes, without hummingbird


def test_float32_thresholds_split_float32_values_as_the_forest_does(forest, data):
    pair = adjacent_float32_pair()
    tree = RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0).fit(np.repeat(pair, 5, 0),
                                                                                        [0, 1] * 5)
    threshold = tree.estimators_[0].tree_.threshold[0]
    assert np.float32(threshold) > threshold  # the trap: to the nearest float32, the threshold is the upper value
    exact = float32_thresholds(tree)
    assert float(exact.estimators_[0].tree_.threshold[0]) == float(pair[0, 0])
    assert tree.estimators_[0].tree_.threshold[0] == threshold  # the forest given is not changed
    rounded = float32_thresholds(forest)
    splits = np.concatenate([est.tree_.threshold[est.tree_.feature >= 0] for est in rounded.estimators_])
    assert np.array_equal(splits, splits.astype("float32").astype("float64"))
    for values in (data[0], on_thresholds(forest)):
        assert np.array_equal(rounded.predict_proba(values), forest.predict_proba(values))
    assert np.array_equal(exact.predict(pair), tree.predict(pair)) and tree.predict(pair).tolist() == [0, 1]


def test_ties_and_missing_values_are_left_to_the_forest(forest, data):
    X = data[0].copy()
    X[::7, 3] = np.nan
    tensor = TensorForest(forest, device="cpu", batch_size=64)
    tensor._tensors = ReorderedTrees(forest)
    expected = forest.predict_proba(X)
    top = np.sort(expected, axis=1)
    assert (top[:, -1] == top[:, -2]).sum() > 5  # 15 trees: ties between two classes happen
    assert np.array_equal(tensor.predict(X), forest.predict(X))
    assert np.allclose(tensor.predict_proba(X), expected, atol=1e-5)
    assert np.array_equal(tensor.predict_proba(X[::7]), expected[::7])  # missing values: the forest's own


def test_tensor_forest_checks_its_arguments_and_fits_a_copy(forest, pipeline, data):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    X, y = data
    with pytest.raises(ConfigError, match="forest must be a RandomForestClassifier or ExtraTreesClassifier"):
        TensorForest(pipeline[0]).predict_proba(X)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        TensorForest(forest, batch_size=0).predict_proba(X)
    unfitted = clone(TensorForest(forest, device="cpu"))  # clones the forest too: unfitted
    with pytest.raises(NotFittedError):
        unfitted.predict_proba(X)
    refitted = unfitted.fit(X[:300], y[:300])
    assert refitted.forest is not forest and len(forest.estimators_) == 15  # the forest given is not refitted
    assert refitted.classes_.tolist() == [1, 2, 3] and refitted.n_features_in_ == 8


# ----------------------------------------------------------------------------- with hummingbird-ml, on a CPU


def test_tensor_trees_give_the_forest_s_classes(hummingbird, forest, data):
    import torch

    X = data[0]
    result = try_accelerate(forest, "cpu", check=X[400:500], backend="hummingbird")
    assert result.accelerated, result.reason
    assert torch.get_num_threads() == 1  # one_torch_thread's: converting does not reset torch's threads
    assert result.reason == "tensor trees (hummingbird-ml, torch) on cpu: the same classes as scikit-learn on 100 " \
                            "check pixels"
    fast = result.model
    assert isinstance(fast, TensorForest) and fast.forest is forest
    assert np.array_equal(fast.predict(X), forest.predict(X))
    assert np.allclose(fast.predict_proba(X), forest.predict_proba(X), atol=1e-6)


def test_exact_float32_values_take_the_forest_s_branch(hummingbird, forest):
    pair = adjacent_float32_pair()
    tree = RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0).fit(np.repeat(pair, 5, 0),
                                                                                        [0, 1] * 5)
    fast = accelerate(tree, "cpu", check=pair, backend="hummingbird")
    assert isinstance(fast, TensorForest)
    assert fast.predict(pair).tolist() == tree.predict(pair).tolist() == [0, 1]
    values = on_thresholds(forest)
    assert np.array_equal(TensorForest(forest, "cpu").predict(values), forest.predict(values))


def test_a_pipeline_gets_tensor_trees_for_its_forest_only(hummingbird, pipeline):
    model, X = pipeline
    result = try_accelerate(model, "cpu", check=X[:60], backend="hummingbird")
    assert result.accelerated, result.reason
    fast = result.model
    assert fast is not model and isinstance(fast.named_steps["model"], TensorForest)
    assert isinstance(model.named_steps["model"], RandomForestClassifier)  # the model given is not changed
    assert fast.named_steps["features"] is model.named_steps["features"]
    assert fast.input_signature_ == model.input_signature_ and fast.class_names_ == model.class_names_
    assert np.array_equal(fast.predict(X), model.predict(X))
    assert np.array_equal(fast.classes_, model.classes_)


def test_extra_trees_and_a_pickled_tensor_forest(hummingbird, data):
    X, y = data
    extra = ExtraTreesClassifier(n_estimators=10, random_state=0).fit(X[:400], y[:400])
    fast = accelerate(extra, "cpu", check=X[400:], backend="hummingbird")
    assert isinstance(fast, TensorForest)
    again = pickle.loads(pickle.dumps(fast))
    assert again._tensors is None
    assert np.array_equal(again.predict(X), extra.predict(X))


def test_a_forest_hummingbird_cannot_convert_is_kept(hummingbird):
    X = np.zeros((20, 3), dtype="float32")  # constant features: every tree is a single leaf
    stumps = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, [0, 1] * 10)
    result = try_accelerate(stumps, "cpu", check=X, backend="hummingbird")
    assert result.model is stumps and not result.accelerated
    assert result.reason.startswith("hummingbird-ml failed on this forest")


def test_on_a_gpu_the_default_uses_tensor_trees(hummingbird, pipeline):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    model, X = pipeline
    fast = accelerate(model, "cuda", check=X)
    assert isinstance(fast.named_steps["model"], TensorForest)
    assert np.array_equal(fast.predict(X), model.predict(X))
