"""Networks behind scikit-learn's API: :class:`DeepClassifier` and :class:`DeepRegressor`.

They take a sample set's arrays as every labkit model does — ``X (n_samples, n_time, n_band)`` — plus, as fit and
predict parameters, what a network can use and a forest cannot: ``doy`` (the date of each observation), ``valid``
(where observations are valid) and, in ``fit``, ``group`` (the polygon of each sample, so that the validation set
that stops training never shares a polygon with the training set). :func:`labkit.models.fit_model` and
:func:`labkit.models.cross_validate` pass them from the sample set by name.

What ``fit`` does, in order: checks the hyperparameters; holds out ``validation_fraction`` of the polygons (split
within each class); learns the per-band standardisation on the training part only (:class:`~.data.BandScaler`,
kept as ``scaler_``; for regression, the target's too); builds the network of :data:`~.networks.NETWORKS`; trains
it (:func:`~.training.train`: AdamW, schedule, early stopping on ``monitor`` with the best epoch's weights restored,
checkpoints); keeps ``history_`` (one dict per epoch) and the network on the CPU as ``network_``.

Example
-------
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(120, 8, 2)).astype("float32")
>>> y = np.repeat([3, 7], 60)
>>> X[y == 7, 4:, 0] += 2.0                                    # class 7 greens up late
>>> model = DeepClassifier("tempcnn", epochs=15, random_state=0).fit(X, y)
>>> model.classes_.tolist(), model.score(X, y) > 0.9
([3, 7], True)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ...errors import ConfigError, DataModelError
from .data import BandScaler, SeriesBatches, _is_lazy

__all__ = ["DeepClassifier", "DeepRegressor"]


def _network_class(name: str):
    from .networks import NETWORKS

    if name not in NETWORKS:
        import difflib

        close = difflib.get_close_matches(str(name), NETWORKS, n=1)
        raise ConfigError(f"network={name!r} is not a network" + (f" (did you mean {close[0]!r}?)" if close else "")
                          + f"; choose one of {sorted(NETWORKS)}.")
    return NETWORKS[name]


class _DeepEstimator(BaseEstimator):
    """What :class:`DeepClassifier` and :class:`DeepRegressor` share: parameters, checks, data, training."""

    _task = "classification"
    _parameter_constraints: dict = {}  # checked by _validate_params, which the registry calls when it builds one
    streams_input = True  # fit reads a lazy X block by block: labkit.models.fit_model passes a Zarr-backed set as is

    def __init__(self, network: str = "tempcnn", *, network_params: dict | None = None, epochs: int = 50,
                 batch_size: int = 128, learning_rate: float = 1e-3, weight_decay: float = 1e-4,
                 schedule: str = "cosine", validation_fraction: float = 0.1, monitor: str = "loss",
                 patience: int | None = 10, device: str = "auto", mixed_precision: bool | str = "auto",
                 checkpoint: str | None = None, resume: bool = False, random_state: int | None = None,
                 progress: bool = False):
        self.network = network
        self.network_params = network_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.validation_fraction = validation_fraction
        self.monitor = monitor
        self.patience = patience
        self.device = device
        self.mixed_precision = mixed_precision
        self.checkpoint = checkpoint
        self.resume = resume
        self.random_state = random_state
        self.progress = progress

    # ---------------------------------------------------------------------------------------------- checks

    def _validate_params(self) -> None:
        """Check every hyperparameter (the registry calls it when the model is built; ``fit`` again)."""
        from ..registry import _check_param_names
        from .training import check_training_params

        who = type(self).__name__
        cls = _network_class(self.network)
        if self.network_params is not None and not isinstance(self.network_params, dict):
            raise ConfigError(f"{who}: network_params must be a dict of the network's hyperparameters; got "
                              f"{type(self.network_params).__name__}.")
        _check_param_names(f"network {self.network!r} ({cls.__name__})", cls, self.network_params or {},
                           skip=("self", "n_bands", "n_outputs", "n_times"))
        check_training_params(self, who, self._task)

    @property
    def uses_dates(self) -> bool:
        """Whether the network reads the dates (``doy``) of the observations."""
        return bool(getattr(_network_class(self.network), "uses_dates", False))

    # -------------------------------------------------------------------------------------------------- fit

    def _targets(self, y) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _validation_rows(self, y, group, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows: ``validation_fraction`` of the polygons of each class held out (of the
        groups, stratified as well as they allow, where a group holds several classes: a site of several seasons)."""
        rows = np.arange(n)
        if not self.validation_fraction:
            return rows, rows[:0]
        from ...samples import PolygonSplit, SiteSplit

        groups = np.arange(n) if group is None else np.asarray(group)
        strata = np.asarray(y) if self._task == "classification" else np.zeros(n, int)
        one_class = len(set(zip(groups.tolist(), strata.tolist()))) == len(set(groups.tolist()))
        try:
            train, validation = next((PolygonSplit if one_class else SiteSplit)(
                train_size=1 - self.validation_fraction, random_state=seed).split(rows, strata, groups))
        except ConfigError as error:
            warnings.warn(f"{type(self).__name__}: no validation set ({error}); training for all {self.epochs} "
                          "epochs without early stopping.", stacklevel=4)
            return rows, rows[:0]
        return np.sort(train), np.sort(validation)

    def fit(self, X, y, *, group=None, doy=None, valid=None):
        """Train the network on ``X (n_samples, n_time, n_band)`` and ``y``.

        Parameters
        ----------
        X : array (n_samples, n_time, n_band)
            numpy, or lazy (dask, Zarr): read block by block (see :class:`~.data.SeriesBatches`).
        y : array (n_samples,)
        group : array (n_samples,), optional
            The polygon of each sample: the validation set holds whole polygons.
        doy : array (n_samples, n_time) or (n_time,), optional
            Dates of the observations (day of year, or days since a reference date).
        valid : array (n_samples, n_time) of bool, optional
            Where observations are valid (besides being finite).

        Returns
        -------
        self
        """
        import torch

        from .training import resolve_device, train

        self._validate_params()
        seed = 0 if self.random_state is None else int(self.random_state)
        if len(getattr(X, "shape", ())) != 3:
            raise DataModelError(f"{type(self).__name__}: X must be (n_samples, n_time, n_band); got shape "
                                 f"{np.shape(X)}.")
        targets, n_outputs = self._targets(np.asarray(y))
        data = SeriesBatches(X, targets, doy, valid, batch_size=self.batch_size, shuffle=True, random_state=seed)
        train_rows, val_rows = self._validation_rows(targets, group, data.n_samples, seed)
        training = data.subset(train_rows)
        self.scaler_ = BandScaler.fit(training)
        training = training.with_scaler(self.scaler_)
        validation = data.subset(val_rows, shuffle=False).with_scaler(self.scaler_) if len(val_rows) else None
        cls = _network_class(self.network)
        extra = {"n_times": data.n_time} if getattr(cls, "fixed_length", False) else {}
        torch.manual_seed(seed)
        self.device_ = resolve_device(self.device)
        network = cls(n_bands=data.n_band, n_outputs=n_outputs, **extra, **(self.network_params or {}))
        network = network.to(self.device_)
        self.history_ = train(lambda x, d, m: network(x, d, m), network, training, task=self._task,
                              n_outputs=n_outputs, validation=validation, epochs=self.epochs,
                              learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                              schedule=self.schedule, monitor=self.monitor, patience=self.patience,
                              class_weight=self._class_weight(targets[train_rows], n_outputs),
                              device=self.device_, mixed_precision=self._amp(), random_state=seed,
                              checkpoint=self.checkpoint, resume=self.resume, progress=self.progress,
                              description=f"{self.network}")
        self.network_ = network.to("cpu").eval()
        self.n_times_, self.n_bands_ = data.n_time, data.n_band
        self.dates_ = self._fit_dates(doy, data.n_time)
        self.n_features_in_ = data.n_time * data.n_band
        self.best_epoch_ = next((row["epoch"] for row in self.history_ if row.get("best")), None)
        return self

    def _fit_dates(self, doy, n_time: int):
        """What ``predict`` uses without ``doy``: the dates of fit when all samples shared them, else None."""
        self.fitted_with_dates_ = doy is not None
        if doy is not None and np.ndim(doy) == 1:
            return np.asarray(doy, np.float32)
        if doy is not None and not _is_lazy(doy):
            rows = np.asarray(doy, np.float32)
            if (rows == rows[:1]).all():
                return rows[0]
        return None

    def _dates(self, doy, n_time: int):
        """The dates for ``predict``: those given, else those of fit, else (for a model that reads them) an error."""
        if doy is not None or not (self.uses_dates and self.fitted_with_dates_):
            return doy
        if self.dates_ is not None and len(self.dates_) == n_time:
            return self.dates_
        raise ConfigError(f"{type(self).__name__} ({self.network}) reads the dates of the observations and was fitted "
                          f"with them: pass doy= (day of year of each observation) to predict, as in fit.")

    def _amp(self) -> bool:
        return self.device_.type == "cuda" and self.mixed_precision in ("auto", True)

    def _class_weight(self, targets, n_outputs):
        return None

    # ---------------------------------------------------------------------------------------------- predict

    def _outputs(self, X, doy=None, valid=None) -> np.ndarray:
        """The network's raw outputs for ``X``, batch by batch, on the device chosen at fit (or the CPU)."""
        import torch

        from .training import evaluate

        check_is_fitted(self, "network_")
        if len(getattr(X, "shape", ())) != 3 or X.shape[2] != self.n_bands_:
            raise DataModelError(f"{type(self).__name__}: X must be (n_samples, n_time, {self.n_bands_}) as in fit; "
                                 f"got shape {getattr(X, 'shape', None)}.")
        doy = self._dates(doy, X.shape[1])
        device = self.device_ if self.device_.type == "cpu" or torch.cuda.is_available() else torch.device("cpu")
        before = next(self.network_.parameters()).device
        network = self.network_.to(device).eval()
        data = SeriesBatches(X, None, doy, valid, batch_size=max(self.batch_size, 1024), scaler=self.scaler_)
        try:
            outputs, _ = evaluate(lambda x, d, m: network(x, d, m), data, device=device, task=self._task,
                                  mixed_precision=self._amp())
        finally:
            if before != device:  # left where it was: a map's blocks keep it on the GPU (labkit.inference)
                self.network_ = network.to(before)
        return outputs

    # ------------------------------------------------------------------------- what labkit.models.save_model keeps

    def _labkit_state(self) -> tuple[dict, dict]:
        """``(plain JSON state, the network's state_dict)``: what :func:`labkit.models.save_model` writes."""
        from ..persistence import _plain

        state = {"params": {k: _plain(v) for k, v in self.get_params(deep=False).items()},
                 "scaler": self.scaler_.to_dict(), "n_times": self.n_times_, "n_bands": self.n_bands_,
                 "history": self.history_, "best_epoch": self.best_epoch_,
                 "fitted_with_dates": self.fitted_with_dates_,
                 "dates": None if self.dates_ is None else self.dates_.tolist()}
        if hasattr(self, "target_mean_"):
            state["target"] = {"mean": self.target_mean_, "std": self.target_std_}
        return state, self.network_.state_dict()

    @classmethod
    def _from_labkit_state(cls, state: dict, weights: dict, classes):
        """The fitted model :meth:`_labkit_state` describes (:func:`labkit.models.load_model`)."""
        import torch

        model = cls(**state["params"])
        n_outputs = 1 if classes is None else len(classes)
        network_class = _network_class(model.network)
        extra = {"n_times": state["n_times"]} if getattr(network_class, "fixed_length", False) else {}
        network = network_class(n_bands=state["n_bands"], n_outputs=n_outputs, **extra, **(model.network_params or {}))
        network.load_state_dict(weights)
        model.network_ = network.eval()
        model.scaler_ = BandScaler.from_dict(state["scaler"])
        model.n_times_, model.n_bands_ = state["n_times"], state["n_bands"]
        model.n_features_in_ = model.n_times_ * model.n_bands_
        model.history_, model.best_epoch_ = state["history"], state["best_epoch"]
        model.fitted_with_dates_ = state["fitted_with_dates"]
        model.dates_ = None if state["dates"] is None else np.asarray(state["dates"], np.float32)
        model.device_ = torch.device("cpu")
        if classes is not None:
            model.classes_ = np.asarray(classes)
        if "target" in state:
            model.target_mean_, model.target_std_ = state["target"]["mean"], state["target"]["std"]
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing observations are what the mask is for
        tags.input_tags.three_d_array = True
        return tags


class DeepClassifier(ClassifierMixin, _DeepEstimator):
    """A network of :data:`~labkit.models.deep.networks.NETWORKS` as a scikit-learn classifier.

    Parameters
    ----------
    network : str, default "tempcnn"
        ``"mlp"``, ``"tempcnn"``, ``"ltae"``, ``"gru"`` or ``"transformer"``.
    network_params : dict, optional
        The network's own hyperparameters (e.g. ``{"dropout": 0.3}``), checked by name.
    epochs : int, default 50
        The most epochs; early stopping may end sooner.
    batch_size : int, default 128
    learning_rate, weight_decay : float, default 1e-3 and 1e-4
        Of the AdamW optimiser.
    schedule : {"cosine", "plateau", "constant"}, default "cosine"
        Learning-rate schedule.
    validation_fraction : float in [0, 1), default 0.1
        Share of each class's polygons (``group`` in ``fit``, else samples) held out to watch ``monitor``; 0 trains
        on everything, without early stopping.
    monitor : {"loss", "oa", "kappa", "macro_f1"}, default "loss"
        What early stopping watches on the validation set. On a validation set of a few polygons, the loss
        (cross-entropy) can be lowest at the first epoch, before the network tells the classes apart, since one
        polygon's confident errors outweigh the rest: watch ``"macro_f1"`` there.
    patience : int or None, default 10
        Epochs without improvement before stopping; None never stops early.
    class_weight : {"balanced"} or None, default None
        Weights of the classes in the loss (inverse of their frequency in the training set).
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``"auto"``: CUDA when present.
    mixed_precision : bool or "auto", default "auto"
        Float16 autocast on CUDA ("auto": on when training on CUDA).
    checkpoint : path, optional
        A file where training writes its state after every epoch; with ``resume=True``, ``fit`` continues from it.
    random_state : int, optional
        The same seed gives the same weights (on the CPU).
    progress : bool, default False
        A progress bar over the epochs with the loss and the monitored metric.

    Attributes
    ----------
    classes_ : array
    network_ : torch.nn.Module (on the CPU)
    scaler_ : BandScaler
    history_ : list of dict
        One row per epoch: ``train_loss``, ``learning_rate`` and the validation metrics (``val_loss``, ``val_oa``,
        ``val_kappa``, ``val_macro_f1``); ``best`` marks the epoch whose weights were kept.
    best_epoch_ : int

    Examples
    --------
    >>> X = np.random.default_rng(1).normal(size=(60, 6, 1)).astype("float32")
    >>> y = np.repeat(["crop", "forest"], 30)
    >>> X[30:] += 1.5
    >>> DeepClassifier("mlp", epochs=20, random_state=0).fit(X, y).predict(X[:2]).tolist()
    ['crop', 'crop']
    """

    _task = "classification"

    def __init__(self, network: str = "tempcnn", *, network_params: dict | None = None, epochs: int = 50,
                 batch_size: int = 128, learning_rate: float = 1e-3, weight_decay: float = 1e-4,
                 schedule: str = "cosine", validation_fraction: float = 0.1, monitor: str = "loss",
                 patience: int | None = 10, class_weight: str | None = None, device: str = "auto",
                 mixed_precision: bool | str = "auto", checkpoint: str | None = None, resume: bool = False,
                 random_state: int | None = None, progress: bool = False):
        super().__init__(network, network_params=network_params, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay, schedule=schedule,
                         validation_fraction=validation_fraction, monitor=monitor, patience=patience,
                         device=device, mixed_precision=mixed_precision, checkpoint=checkpoint, resume=resume,
                         random_state=random_state, progress=progress)
        self.class_weight = class_weight

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"DeepClassifier: class_weight must be None or 'balanced'; got {self.class_weight!r}.")

    def _targets(self, y):
        if y.ndim != 1:
            raise DataModelError(f"DeepClassifier: y must be one label per sample; got shape {y.shape}.")
        self.classes_, index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataModelError(f"DeepClassifier: y holds a single class ({self.classes_.tolist()}); a classifier "
                                 "needs at least two.")
        return index, len(self.classes_)

    def _class_weight(self, targets, n_outputs):
        if self.class_weight != "balanced":
            return None
        counts = np.bincount(targets, minlength=n_outputs).astype(float)
        return np.where(counts > 0, len(targets) / (n_outputs * np.maximum(counts, 1)), 0.0)

    def predict_proba(self, X, *, doy=None, valid=None) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, in the order of ``classes_``."""
        outputs = self._outputs(X, doy, valid)
        outputs = outputs - outputs.max(axis=1, keepdims=True)
        exp = np.exp(outputs)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X, *, doy=None, valid=None) -> np.ndarray:
        """The most probable class of each sample."""
        return self.classes_[self.predict_proba(X, doy=doy, valid=valid).argmax(axis=1)]


class DeepRegressor(RegressorMixin, _DeepEstimator):
    """A network of :data:`~labkit.models.deep.networks.NETWORKS` with one output, as a scikit-learn regressor.

    The same parameters as :class:`DeepClassifier` (without ``class_weight``); ``monitor`` is one of ``"loss"``,
    ``"rmse"``, ``"mae"``, ``"r2"``. The target is standardised on the training set (``target_mean_``,
    ``target_std_``) and predictions are in its units.

    Examples
    --------
    >>> X = np.random.default_rng(2).uniform(size=(200, 5, 2)).astype("float32")
    >>> y = 3 * X[:, :, 0].mean(axis=1) - X[:, :, 1].mean(axis=1)
    >>> model = DeepRegressor("mlp", epochs=60, random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.8
    True
    """

    _task = "regression"

    def _targets(self, y):
        y = np.asarray(y, np.float64)
        if y.ndim != 1 or not np.isfinite(y).all():
            raise DataModelError("DeepRegressor: y must be one finite number per sample.")
        self.target_mean_, self.target_std_ = float(y.mean()), float(y.std()) or 1.0
        return ((y - self.target_mean_) / self.target_std_).astype(np.float32), 1

    def predict(self, X, *, doy=None, valid=None) -> np.ndarray:
        """The predicted value of each sample, in the target's units."""
        return self._outputs(X, doy, valid)[:, 0] * self.target_std_ + self.target_mean_

