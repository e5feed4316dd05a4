"""Faster class maps from random forests: tensor trees (hummingbird-ml) on a GPU, scikit-learn's own code elsewhere.

A random forest's ``predict_proba`` is most of the cost of a classical map. :func:`accelerate` swaps the forest of
a fitted model (alone, or the last step of labkit's ``Pipeline([("features", SeriesFeatures), ("model", forest)])``)
for :class:`TensorForest`, the same trees compiled to torch tensors by hummingbird-ml, **only** when that is
faster and gives the same classes:

* **on a GPU** (``device="cuda"``), when hummingbird-ml is installed (``pip install labkit[fast-trees]``) and
  the tensor trees give the same class as scikit-learn on every pixel of a check sample;
* **never on a CPU** by default: measured on one core (``python bench/_trees.py``: 100 trees 23 deep, 370
  features, 200,000 pixels), scikit-learn's ``predict_proba`` was the fastest: hummingbird's tensor trees ran at
  0.16 to 0.20 x its speed, treelite's interpreter at 0.19 x, and tl2cgen's compiler did not finish a forest that
  deep in 120 s (nor in 10 minutes). The levers on a CPU are every core (``n_jobs=-1``, labkit's default) and a
  cheaper forest: fewer trees (50 instead of 100 or 200 cost the real sample sets less than their fold-to-fold
  spread in accuracy) or ``max_depth`` (see the tables of ``bench/_trees.py``).

Whatever it cannot or should not do, it returns the model unchanged; :func:`try_accelerate` says why. Before a
map on a machine with a GPU::

    result = try_accelerate(model, "cuda", check=pixels[:5000])  # pixels as the model takes them
    print(result.reason)  # "tensor trees (hummingbird-ml, torch) on cuda: the same classes as ..." or why not
    model = result.model  # predicts as before, on the GPU when accelerated

Two things make the tensor trees give scikit-learn's classes exactly, not nearly:

* **thresholds**: scikit-learn compares float32 features with float64 thresholds (midpoints between two float32
  values); tensor trees store float32 thresholds, and rounding a midpoint up sends a pixel whose value *is* the
  upper float32 value (reflectances are quantised, so training values recur) down the other branch. The tensor
  trees are built from a copy of the forest whose thresholds are rounded *down* to float32, which splits every
  float32 input the same way as the original.
* **ties**: averaging 100 trees in float32, in another order, can break a tie between two classes the other way.
  Pixels whose two best classes are within ``tie_tolerance``, and pixels with a missing value (NaN, which the
  forest routes as it learnt to), are computed by scikit-learn.

Example
-------
>>> from sklearn.ensemble import RandomForestClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 6)).astype("float32")
>>> y = (X[:, 0] > 0).astype(int)
>>> forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
>>> result = try_accelerate(forest, "cpu", check=X)  # the default backend keeps scikit-learn on a CPU
>>> result.accelerated, result.model is forest
(False, True)
>>> result.reason.startswith("on a CPU, scikit-learn's own predict_proba is the fastest")
True
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError

__all__ = ["BACKENDS", "FORESTS", "Acceleration", "TensorForest", "accelerate", "final_estimator", "float32_thresholds",
           "is_forest", "try_accelerate"]

FORESTS = ("RandomForestClassifier", "ExtraTreesClassifier")
"""The scikit-learn classifiers (class names, from :mod:`sklearn.ensemble`) that can become tensor trees: forests
that average the class probabilities of their trees."""

BACKENDS = ("auto", "hummingbird", "sklearn")
"""``auto``: tensor trees on a GPU only (the fastest measured on each device); ``hummingbird``: tensor trees on the
device given, a CPU included (to compare, or to test the GPU path on a CPU); ``sklearn``: the model unchanged."""

CPU_REASON = ("on a CPU, scikit-learn's own predict_proba is the fastest measured for a forest (bench/_trees.py: "
              "tensor trees and treelite ran at about 0.2 x its speed on one core); keep it, on every core "
              "(n_jobs=-1), with fewer trees or a max_depth for speed")
INSTALL_HINT = "hummingbird-ml is not installed (pip install 'labkit[fast-trees]')"


@dataclasses.dataclass(frozen=True)
class Acceleration:
    """What :func:`try_accelerate` did.

    Attributes
    ----------
    model : estimator
        What to predict with: a copy of the model with tensor trees in place of its forest, or the model given,
        unchanged (the same object).
    accelerated : bool
        Whether ``model`` holds tensor trees.
    reason : str
        Why (or why not), in one sentence.
    """

    model: Any
    accelerated: bool
    reason: str


# ------------------------------------------------------------------------------------------------- the forest


def final_estimator(model):
    """The estimator that makes the predictions: the last step of a pipeline (of nested pipelines), else the model.

    Example
    -------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> type(final_estimator(Pipeline([("s", StandardScaler()), ("m", DecisionTreeClassifier())]))).__name__
    'DecisionTreeClassifier'
    """
    steps = getattr(model, "steps", None)
    return final_estimator(steps[-1][1]) if isinstance(steps, list) and steps else model


def _with_final(model, estimator):
    """A shallow copy of ``model`` whose final estimator (see :func:`final_estimator`) is ``estimator``; the other
    steps, and attributes such as labkit's ``input_signature_``, are shared with ``model``."""
    steps = getattr(model, "steps", None)
    if not (isinstance(steps, list) and steps):
        return estimator
    changed = copy.copy(model)
    name, last = steps[-1]
    changed.steps = [*steps[:-1], (name, _with_final(last, estimator))]
    return changed


def is_forest(estimator) -> bool:
    """Whether ``estimator`` is a fitted scikit-learn forest classifier of :data:`FORESTS`.

    Example
    -------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> is_forest(RandomForestClassifier()), is_forest("rf")
    (False, False)
    """
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    return isinstance(estimator, RandomForestClassifier | ExtraTreesClassifier) and hasattr(estimator, "estimators_")


def float32_thresholds(forest):
    """A copy of a fitted forest whose split thresholds are float32 values that split float32 features exactly as
    the original's float64 thresholds do.

    scikit-learn casts features to float32 and tests ``x <= t`` with a float64 ``t``; for a float32 ``x`` that is
    ``x <= t32`` where ``t32`` is the largest float32 not above ``t``. Tensor trees, which keep float32 thresholds,
    then take the same branches (rounding ``t`` to the nearest float32 may round it up, past a training value).

    Example
    -------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> low = np.float32(1000.00006)  # two neighbouring float32 values, split at their float64 midpoint
    >>> X = np.array([[low], [np.nextafter(low, np.float32(2000))]])
    >>> tree = DecisionTreeClassifier().fit(X, [0, 1])
    >>> float(np.float32(tree.tree_.threshold[0])) > float(tree.tree_.threshold[0])  # to the nearest float32: up
    True
    >>> float(float32_thresholds(tree).tree_.threshold[0]) == float(low)  # rounded down: the lower value itself
    True
    """
    exact = copy.deepcopy(forest)
    for tree in getattr(exact, "estimators_", [exact]):
        state = tree.tree_.__getstate__()
        nodes = state["nodes"].copy()
        threshold = nodes["threshold"]
        rounded = threshold.astype(np.float32)
        above = rounded.astype(np.float64) > threshold
        rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
        nodes["threshold"] = rounded
        state["nodes"] = nodes
        tree.tree_.__setstate__(state)
    return exact


# --------------------------------------------------------------------------------------------- tensor trees


def _near_ties(proba: np.ndarray, tolerance: float) -> np.ndarray:
    """Rows whose two highest probabilities are within ``tolerance`` (every row when there is a single class)."""
    if proba.shape[1] < 2:
        return np.ones(len(proba), dtype=bool)
    top = np.partition(proba, -2, axis=1)[:, -2:]
    return (top[:, 1] - top[:, 0]) <= tolerance


class TensorForest(ClassifierMixin, BaseEstimator):
    """A fitted forest's trees as torch tensors (hummingbird-ml), with scikit-learn's ``predict_proba`` and
    ``predict``; rows with a missing value or a near tie are computed by the forest itself.

    Build it with :func:`accelerate` (which checks it against the forest); it needs hummingbird-ml. The tensor
    trees are made on first use on ``device`` and are not pickled (they are made again after loading).

    Parameters
    ----------
    forest : RandomForestClassifier or ExtraTreesClassifier
        Fitted (else :meth:`fit` fits a copy of it).
    device : str, default "cuda"
        A torch device: ``"cuda"``, ``"cuda:1"``, ``"cpu"``.
    batch_size : int, default 65536
        Pixels sent to the device at a time (memory: about ``batch_size x n_trees`` node indices).
    tie_tolerance : float, default 1e-4
        Pixels whose two best classes' probabilities differ by this much or less are computed by scikit-learn, so
        that a tie is broken its way (float32 sums in another order differ by about 1e-7).

    Example
    -------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X = np.random.default_rng(0).normal(size=(100, 4)).astype("float32")
    >>> forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, X[:, 0] > 0)
    >>> tensor = TensorForest(forest, device="cpu")
    >>> tensor
    TensorForest(RandomForestClassifier(n_estimators=5), device='cpu')
    >>> tensor.classes_.tolist(), tensor.n_features_in_
    ([False, True], 4)
    """

    def __init__(self, forest, device: str = "cuda", batch_size: int = 65536, tie_tolerance: float = 1e-4):
        self.forest = forest
        self.device = device
        self.batch_size = batch_size
        self.tie_tolerance = tie_tolerance
        self._tensors = None

    @property
    def classes_(self) -> np.ndarray:
        return self.forest.classes_

    @property
    def n_features_in_(self) -> int:
        return self.forest.n_features_in_

    def __sklearn_is_fitted__(self) -> bool:
        return is_forest(self.forest)

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_tensors": None}  # torch modules on a device: made again when used

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return (f"TensorForest({type(self.forest).__name__}(n_estimators={self.forest.n_estimators}), "
                f"device={self.device!r})")

    def fit(self, X, y, **fit_params):
        """Fit a copy of the forest (the one given is not changed); its tensor trees are made on next use."""
        self._check_params()
        self.forest, self._tensors = clone(self.forest).fit(X, y, **fit_params), None
        return self

    def _check_params(self) -> None:
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

        if not isinstance(self.forest, RandomForestClassifier | ExtraTreesClassifier):
            raise ConfigError(f"TensorForest: forest must be a {' or '.join(FORESTS)}; got "
                              f"{type(self.forest).__name__}.")
        if not (isinstance(self.batch_size, int) and self.batch_size > 0):
            raise ConfigError(f"TensorForest: batch_size must be a positive integer; got {self.batch_size!r}.")

    @property
    def tensors(self):
        """The hummingbird-ml model (torch backend) on ``device``, made on first use."""
        if self._tensors is None:
            from hummingbird.ml import constants, convert

            # N_THREADS None: hummingbird would otherwise set torch's threads (process-wide) to the physical cores
            self._tensors = convert(float32_thresholds(self.forest), "torch", device=str(self.device),
                                    extra_config={constants.N_THREADS: None})
        return self._tensors

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, ``(n_samples, n_classes)`` float64, in the order of ``classes_``."""
        self._check_params()
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        proba = np.empty((len(X), len(self.classes_)), dtype=np.float64)
        for start in range(0, len(X), self.batch_size):
            block = X[start:start + self.batch_size]
            proba[start:start + len(block)] = self.tensors.predict_proba(block)
        redo = ~np.isfinite(X).all(axis=1) | _near_ties(proba, self.tie_tolerance)
        if redo.any():
            proba[redo] = self.forest.predict_proba(X[redo])
        return proba

    def predict(self, X) -> np.ndarray:
        """Classes, as the forest's ``predict`` gives them (the first of equal probabilities)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# --------------------------------------------------------------------------------------------------- policy


def _check_choice(backend: str, device: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"accelerate: backend must be one of {BACKENDS}; got {backend!r}.")
    if not isinstance(device, str) or not (device in ("auto", "cpu") or device.startswith("cuda")):
        raise ConfigError(f"accelerate: device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")


def _hummingbird_installed() -> bool:
    return importlib.util.find_spec("hummingbird") is not None


def _resolve_device(device: str) -> tuple[str | None, str]:
    """The torch device to use, or None and why it cannot be used (no CUDA; torch absent)."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    cuda = torch.cuda.is_available()
    if device == "auto":
        return ("cuda" if cuda else "cpu"), ""
    if device.startswith("cuda") and not cuda:
        return None, f"device={device!r}, but this machine has no CUDA GPU (torch {torch.__version__})"
    return device, ""


def _blocker(model, device: str, backend: str, check) -> tuple[str | None, str]:
    """The device to accelerate on and '', or None and the reason not to."""
    if backend == "sklearn":
        return None, "backend='sklearn': the model is kept as it is"
    forest = final_estimator(model)
    if not is_forest(forest):
        return None, (f"{type(forest).__name__} is not a fitted {' or '.join(FORESTS)}: only forests of averaged "
                      "trees become tensor trees")
    where, why = _resolve_device(device)
    if where is None:
        return None, why
    if backend == "auto" and where == "cpu":
        return None, CPU_REASON
    if not _hummingbird_installed():
        return None, INSTALL_HINT
    if check is None or len(check) == 0:
        return None, ("no check sample: pass check=X (a few thousand pixels, as the model takes them) to compare "
                      "the tensor trees' classes with scikit-learn's")
    return where, ""


def _differences(model, accelerated, check) -> int:
    """How many pixels of ``check`` the two models classify differently."""
    expected = np.argmax(model.predict_proba(check), axis=1)
    return int((np.argmax(accelerated.predict_proba(check), axis=1) != expected).sum())


def try_accelerate(model, device: str = "cuda", *, check=None, backend: str = "auto",
                   batch_size: int = 65536, tie_tolerance: float = 1e-4) -> Acceleration:
    """The model to predict with on ``device``: with tensor trees in place of its forest when that is faster and
    gives the same classes, else unchanged; and why.

    Parameters
    ----------
    model : fitted estimator
        A random forest (:data:`FORESTS`) or a pipeline that ends with one (labkit's ``rf``: ``SeriesFeatures``
        then the forest; only the forest changes). Anything else comes back unchanged.
    device : {"cuda", "cuda:N", "cpu", "auto"}, default "cuda"
        Where the map is computed; ``"auto"``: CUDA when present, else the CPU.
    check : array, optional
        Pixels as ``model`` takes them (``(n, n_time, n_band)`` series for labkit's pipelines): the tensor trees
        are used only if they give scikit-learn's class on every one. Required to accelerate; a few thousand
        pixels of the map to come are a good check.
    backend : {"auto", "hummingbird", "sklearn"}, default "auto"
        See :data:`BACKENDS`. ``"auto"`` keeps scikit-learn on a CPU, where it is faster.
    batch_size, tie_tolerance : see :class:`TensorForest`.

    Returns
    -------
    Acceleration
        ``model`` (the same object when not accelerated), ``accelerated`` and ``reason``.

    Raises
    ------
    ConfigError
        An unknown ``backend`` or ``device``. Anything that goes wrong while converting or checking is a reason,
        not an error: the model comes back unchanged.

    Example
    -------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.random.default_rng(0).normal(size=(100, 4)).astype("float32")
    >>> linear = LogisticRegression().fit(X, X[:, 0] > 0)
    >>> try_accelerate(linear, "cuda", check=X).reason.split(":")[0]
    'LogisticRegression is not a fitted RandomForestClassifier or ExtraTreesClassifier'
    >>> try_accelerate(linear, "gpu")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: accelerate: device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'gpu'.
    """
    _check_choice(backend, device)
    where, reason = _blocker(model, device, backend, check)
    if where is None:
        return Acceleration(model, False, reason)
    tensor = TensorForest(final_estimator(model), device=where, batch_size=batch_size, tie_tolerance=tie_tolerance)
    accelerated = _with_final(model, tensor)
    try:
        differ = _differences(model, accelerated, check)
    except Exception as error:  # noqa: BLE001  (a converter or device failure: keep scikit-learn, say why)
        return Acceleration(model, False, f"hummingbird-ml failed on this forest: {type(error).__name__}: {error}")
    if differ:
        return Acceleration(model, False, f"tensor trees on {where} classify {differ} of {len(check)} check pixels "
                                          "differently from scikit-learn")
    return Acceleration(accelerated, True, f"tensor trees (hummingbird-ml, torch) on {where}: the same classes as "
                                           f"scikit-learn on {len(check)} check pixels")


def accelerate(model, device: str = "cuda", *, check=None, backend: str = "auto", **options):
    """The model to predict with on ``device``: :func:`try_accelerate`'s ``model`` (its reason is dropped).

    Example
    -------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X = np.random.default_rng(0).normal(size=(100, 4)).astype("float32")
    >>> forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, X[:, 0] > 0)
    >>> accelerate(forest, "cpu", check=X) is forest  # on a CPU scikit-learn is the fastest
    True
    >>> accelerate(forest, "sklearn")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: accelerate: device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'sklearn'.
    """
    return try_accelerate(model, device, check=check, backend=backend, **options).model
