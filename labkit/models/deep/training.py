"""The training loop of every network: epochs, validation, early stopping, learning-rate schedule, checkpoints.

:func:`train` is what :class:`~labkit.models.deep.estimator.DeepClassifier` and
:class:`~labkit.models.deep.estimator.DeepRegressor` call in ``fit``; it is written once for both tasks:

* **validation** on a held-out :class:`~.data.SeriesBatches` (split by polygon by the estimator), with a metric
  (:data:`METRICS`) computed after every epoch; **early stopping** when it has not improved for ``patience`` epochs,
  and the weights of the best epoch restored at the end;
* **learning-rate schedule**: cosine annealing over the epochs, reduce-on-plateau of the monitored metric, or
  constant;
* **checkpoints**: with ``checkpoint``, the state (weights, optimiser, schedule, epoch, history, best weights) is
  written atomically after every epoch, and ``resume`` continues from it — to the same weights as an uninterrupted
  run, because the order of the batches and the dropout depend only on the seed and the epoch;
* **devices**: ``cuda`` when asked (or ``"auto"`` and present), with mixed precision there; CPU otherwise. On CPU the
  same seed gives the same weights.

Example
-------
>>> import torch
>>> from labkit.models.deep.data import SeriesBatches
>>> X = np.random.default_rng(0).normal(size=(64, 4, 1)).astype("float32")
>>> y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
>>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
>>> history = train(lambda x, doy, mask: net(x), net, SeriesBatches(X, y, batch_size=16, shuffle=True),
...                 task="classification", n_outputs=2, epochs=3, progress=False)
>>> [round(row["epoch"]) for row in history]
[1, 2, 3]
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ... import params
from ...errors import ConfigError
from ...outputs import atomic_path
from .data import SeriesBatches

__all__ = ["METRICS", "SCHEDULES", "resolve_device", "train"]

METRICS = {
    "classification": {"loss": "min", "oa": "max", "kappa": "max", "macro_f1": "max"},
    "regression": {"loss": "min", "rmse": "min", "mae": "min", "r2": "max"},
}
"""What early stopping can watch, per task, and whether smaller or larger is better."""

SCHEDULES = ("cosine", "plateau", "constant")


def check_training_params(estimator, who: str, task: str) -> None:
    """Check the training hyperparameters every labkit network shares (:func:`train`'s): ``epochs``,
    ``batch_size``, ``learning_rate``, ``weight_decay``, ``validation_fraction``, ``patience``, ``schedule``,
    ``monitor`` (one of :data:`METRICS` of ``task``), ``resume``, ``progress``, ``mixed_precision``, ``device``,
    ``checkpoint`` and ``random_state``. Raises a :class:`~labkit.errors.ConfigError` naming the first bad one.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> hyper = dict(epochs=0, batch_size=8, learning_rate=1e-3, weight_decay=0.0, validation_fraction=0.1,
    ...              patience=None, schedule="cosine", monitor="loss", resume=False, progress=False,
    ...              mixed_precision="auto", device="cpu", checkpoint=None, random_state=0)
    >>> check_training_params(SimpleNamespace(**hyper), "Net", "classification")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: Net: epochs must be an integer >= 1; got 0.
    """
    params.integer(estimator.epochs, "epochs", who, low=1)
    params.integer(estimator.batch_size, "batch_size", who, low=1)
    params.number(estimator.learning_rate, "learning_rate", who, low=0, closed="neither")
    params.number(estimator.weight_decay, "weight_decay", who, low=0)
    params.number(estimator.validation_fraction, "validation_fraction", who, low=0, high=1, closed="left")
    if estimator.patience is not None:
        params.integer(estimator.patience, "patience", who, low=1)
    params.flag(estimator.resume, "resume", who)
    params.flag(estimator.progress, "progress", who)
    params.seed(estimator.random_state, who, generator=False)
    if estimator.schedule not in SCHEDULES:
        raise ConfigError(f"{who}: schedule must be one of {SCHEDULES}; got {estimator.schedule!r}.")
    if estimator.monitor not in METRICS[task]:
        raise ConfigError(f"{who}: monitor must be one of {list(METRICS[task])}; got {estimator.monitor!r}.")
    if estimator.mixed_precision != "auto":
        params.flag(estimator.mixed_precision, "mixed_precision", who)
    if not isinstance(estimator.device, str):
        raise ConfigError(f"{who}: device must be 'auto', 'cpu' or 'cuda'; got {estimator.device!r}.")
    checkpoint = estimator.checkpoint
    if checkpoint is not None and not isinstance(checkpoint, str | bytes) and not hasattr(checkpoint, "__fspath__"):
        raise ConfigError(f"{who}: checkpoint must be a file path; got {type(checkpoint).__name__}.")


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when present, else the CPU; ``"cuda"`` without a GPU is an error that says so.

    Example
    -------
    >>> resolve_device("cpu").type
    'cpu'
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r}, but this machine has no CUDA GPU (torch {torch.__version__}); use "
                          "device='cpu' or 'auto'.")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ConfigError(f"device={device!r} is not a torch device ('cpu', 'cuda', 'cuda:1' or 'auto').") from error


def _metrics(task: str, outputs: np.ndarray, targets: np.ndarray, loss: float) -> dict[str, float]:
    """The validation metrics of an epoch (see :data:`METRICS`)."""
    if task == "classification":
        from sklearn.metrics import cohen_kappa_score, f1_score

        predicted = outputs.argmax(axis=1)
        return {"loss": loss, "oa": float((predicted == targets).mean()),
                "kappa": float(cohen_kappa_score(targets, predicted)) if len(np.unique(targets)) > 1 else 0.0,
                "macro_f1": float(f1_score(targets, predicted, average="macro", zero_division=0))}
    error = outputs[:, 0] - targets
    variance = float(np.var(targets))
    return {"loss": loss, "rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error))),
            "r2": float(1 - np.mean(error**2) / variance) if variance > 0 else 0.0}


def _to_device(array: np.ndarray, device) -> torch.Tensor:
    """A numpy array on ``device``; to a GPU through pinned (page-locked) memory, asynchronously."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def _tensors(batch, device, task: str):
    x, doy, mask, y = batch
    tensors = [_to_device(a, device) for a in (x, doy, mask)]
    if y is not None:
        target = torch.from_numpy(np.asarray(y, np.int64 if task == "classification" else np.float32))
        tensors.append(target.to(device))
    return tensors


def evaluate(forward: Callable, data: SeriesBatches, *, device, task: str, loss_fn=None,
             mixed_precision: bool = False) -> tuple[np.ndarray, float]:
    """The outputs of every batch of ``data`` (in order), and their mean loss when ``loss_fn`` is given.

    On a GPU, batches travel through pinned memory, and ``mixed_precision`` runs the network in float16 autocast.
    """
    outputs, total, count = [], 0.0, 0
    amp = bool(mixed_precision) and torch.device(device).type == "cuda"
    with torch.no_grad():
        for batch in data.batches(0):
            x, doy, mask, *target = _tensors(batch, device, task)
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                out = forward(x, doy, mask)
            out = out.float()
            if loss_fn is not None and target:
                total += float(loss_fn(out if task == "classification" else out[:, 0], target[0])) * len(x)
                count += len(x)
            outputs.append(out.cpu().numpy())
    return np.concatenate(outputs) if outputs else np.empty((0, 0)), (total / count if count else math.nan)


def _scheduler(optimizer, schedule: str, epochs: int, mode: str):
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=0.5, patience=3)
    return None


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (a damaged checkpoint: say so)
        raise ConfigError(f"{path}: not a readable checkpoint ({type(error).__name__}); delete it to start "
                          "again.") from None


def train(forward: Callable, network: torch.nn.Module, data: SeriesBatches, *, task: str, n_outputs: int,
          validation: SeriesBatches | None = None, epochs: int = 50, learning_rate: float = 1e-3,
          weight_decay: float = 1e-4, schedule: str = "cosine", monitor: str = "loss", patience: int | None = 10,
          class_weight: np.ndarray | None = None, device="cpu", mixed_precision: bool = False, random_state: int = 0,
          checkpoint: str | Path | None = None, resume: bool = False, progress: bool = True,
          description: str = "train") -> list[dict]:
    """Train ``network`` (in place) through ``forward(x, doy, mask)``; return the history, one dict per epoch.

    Parameters
    ----------
    forward : callable
        ``forward(x, doy, mask) -> outputs (batch, n_outputs)`` (the network's call, with anything around it).
    network : torch.nn.Module
        Its parameters are optimised (AdamW); it must already be on ``device``.
    data, validation : SeriesBatches
        Training batches (shuffled by the estimator), and optional validation batches.
    task : {"classification", "regression"}
        Cross-entropy (with ``class_weight``) or mean squared error.
    epochs, learning_rate, weight_decay, schedule, monitor, patience
        See :class:`~labkit.models.deep.estimator.DeepClassifier`. ``patience=None`` never stops early.
    device : torch.device
    mixed_precision : bool
        Autocast to float16 with a gradient scaler (CUDA only).
    random_state : int
        Seeds the weights' updates (dropout) of every epoch, with the epoch number: the same ``random_state`` gives
        the same run.
    checkpoint : path, optional
        A file written after every epoch; with ``resume``, training continues from it when it exists.
    progress : bool
        A tqdm bar over the epochs with the loss and the monitored metric.

    Returns
    -------
    list of dict
        ``epoch``, ``train_loss``, ``learning_rate`` and, with validation, the metrics of :data:`METRICS` (prefixed
        ``val_``); ``best`` marks the epoch whose weights were kept.
    """
    from tqdm.auto import tqdm

    if monitor not in METRICS[task]:
        raise ConfigError(f"monitor={monitor!r} is not a metric of {task}; choose one of {list(METRICS[task])}.")
    mode = METRICS[task][monitor]
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    scheduler = _scheduler(optimizer, schedule, epochs, mode)
    weight = None if class_weight is None else torch.as_tensor(class_weight, dtype=torch.float32, device=device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight) if task == "classification" else torch.nn.MSELoss()
    amp = bool(mixed_precision) and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    history: list[dict] = []
    best_value, best_state, waited, first_epoch = None, None, 0, 1
    path = None if checkpoint is None else Path(checkpoint)
    state = _load_checkpoint(path) if (path is not None and resume) else None
    if state is not None:
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        history, best_state = list(state["history"]), state.get("best")
        best_value, waited, first_epoch = state.get("best_value"), int(state["waited"]), int(state["epoch"]) + 1
    bar = tqdm(range(first_epoch, epochs + 1), desc=description, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        if patience is not None and waited >= patience:
            break
        torch.manual_seed(random_state * 100_003 + epoch)  # dropout of this epoch: the same on a resumed run
        network.train()
        total, count = 0.0, 0
        for batch in data.batches(epoch):
            x, doy, mask, target = _tensors(batch, device, task)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16) if amp else contextlib.nullcontext():
                out = forward(x, doy, mask)
                loss = loss_fn(out.float() if task == "classification" else out.float()[:, 0], target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.detach().item() * len(x)
            count += len(x)
        row = {"epoch": epoch, "train_loss": total / max(count, 1), "learning_rate": optimizer.param_groups[0]["lr"]}
        network.eval()
        if validation is not None and validation.n_samples:
            outputs, val_loss = evaluate(forward, validation, device=device, task=task, loss_fn=loss_fn)
            targets = np.asarray(validation.y)[validation.rows]
            row.update({f"val_{k}": v for k, v in _metrics(task, outputs, targets, val_loss).items()})
            value = row[f"val_{monitor}"]
        else:
            value = row["train_loss"] if monitor == "loss" else None
        improved = value is not None and (best_value is None or (value < best_value if mode == "min"
                                                                  else value > best_value))
        if improved or value is None:
            best_value, waited = value, 0
            best_state = copy.deepcopy(network.state_dict())
        else:
            waited += 1
        history.append(row)
        if scheduler is not None:
            if schedule == "plateau":
                scheduler.step(value if value is not None else row["train_loss"])
            else:
                scheduler.step()
        bar.set_postfix({"loss": f"{row['train_loss']:.3f}",
                         **({monitor: f"{value:.3f}"} if value is not None and monitor != "loss" else {})})
        if path is not None:
            _save_checkpoint(path, {"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                                    "scheduler": scheduler.state_dict() if scheduler is not None else {},
                                    "history": history, "best": best_state, "best_value": best_value,
                                    "waited": waited, "epoch": epoch})
    bar.close()
    if best_state is not None:
        network.load_state_dict(best_state)
    best_epoch = _best_epoch(history, monitor, mode)
    for row in history:
        row["best"] = row["epoch"] == best_epoch
    return history


def _best_epoch(history: list[dict], monitor: str, mode: str) -> int | None:
    key = f"val_{monitor}" if any(f"val_{monitor}" in row for row in history) else "train_loss"
    values = [(row[key], row["epoch"]) for row in history if key in row]
    if not values:
        return None
    if mode == "min":  # the earliest of equal values: the one early stopping kept
        return min(values, key=lambda v: (v[0], v[1]))[1]
    return max(values, key=lambda v: (v[0], -v[1]))[1]
