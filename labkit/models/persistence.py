"""Save and load every model, classical or deep, with what it reads: :func:`save_model` and :func:`load_model`.

A model file is one zip archive (written atomically) holding:

* ``labkit-model.json``: the format, labkit's version, the task, the model's kind, its **input signature** (band
  names in order, number of dates and the dates it was fitted on: see :class:`~labkit.models.InputSignature`), its
  classes and class names, and the SHA-256 of the payload;
* the payload:

  - a **deep model** (:class:`~labkit.models.deep.estimator.DeepClassifier`, ``DeepRegressor``, the U-Net's
    :class:`~labkit.models.deep.spatial.SpatialClassifier`, the super-resolution network's
    :class:`~labkit.models.deep.superres.SuperResolution`): its hyperparameters, standardisation and history in the
    JSON (each class says what in ``_labkit_state``), and the network's weights in ``network.pt``, a plain tensor
    file loaded with ``torch.load(weights_only=True)``: loading it runs no code from the file, and only these
    classes are built;
  - a **scikit-learn model** (RF, SVM, LightGBM, pipelines...): ``estimator.joblib``. joblib files are pickles:
    loading one can run code that its author put there. :func:`load_model` checks the payload against the
    SHA-256 of the archive's JSON (so a damaged or swapped payload is refused), but **load only model files you
    made or trust**, as with any pickle.

A reloaded model predicts identically, and :func:`labkit.inference.predict_cube` checks a cube against its
signature as it does for the model that was saved.

Example
-------
>>> import tempfile, labkit.datamodel as dm
>>> from labkit.models import fit_model
>>> s = dm.make_samples(np.arange(16.0).reshape(8, 1, 2), [1, 1, 1, 1, 2, 2, 2, 2], np.arange(8), bands=["B04", "B08"])
>>> model = fit_model("sklearn.tree.DecisionTreeClassifier", s)
>>> path = save_model(model, tempfile.mkdtemp() + "/tree.labkit")
>>> back = load_model(path)
>>> back.input_signature_.bands, (back.predict(s.X.values) == model.predict(s.X.values)).all()
(('B04', 'B08'), np.True_)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError, ReadError
from ..outputs import atomic_path

__all__ = ["FORMAT", "load_model", "save_model"]

FORMAT = "labkit-model-1"
_META = "labkit-model.json"


_DEEP_CLASSES = ("DeepClassifier", "DeepRegressor", "SpatialClassifier", "SuperResolution")
"""The deep models :func:`save_model` stores as weights (their classes define ``_labkit_state``)."""


_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""The date of the archive's members: fixed, so that saving a model twice gives the same file, byte for byte."""


def _is_deep(model) -> bool:
    return callable(getattr(model, "_labkit_state", None))


def _signature_dict(model) -> dict | None:
    signature = getattr(model, "input_signature_", None)
    if signature is None:
        return None
    times = None if signature.times is None else [str(np.datetime64(t, "s")) for t in signature.times]
    return {"bands": list(signature.bands), "n_time": int(signature.n_time), "times": times,
            "doy_reference": signature.doy_reference}


def _signature_from(data: dict | None):
    if data is None:
        return None
    from .training import InputSignature

    times = None if data["times"] is None else tuple(np.datetime64(t, "ns") for t in data["times"])
    return InputSignature(tuple(data["bands"]), int(data["n_time"]), times, data.get("doy_reference"))


def _plain(value):
    """A JSON value for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _torch_payload(model) -> tuple[dict, bytes]:
    """``(JSON state naming the class, the weights as a torch file of tensors)`` of a model with ``_labkit_state``."""
    import torch

    state, weights = model._labkit_state()
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return {"class": f"{type(model).__module__}.{type(model).__name__}", **state}, buffer.getvalue()


def save_model(model, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save a fitted model, with its input signature and classes, to one file (see the module's documentation).

    Parameters
    ----------
    model : fitted estimator
        Any fitted scikit-learn-style model; fitted with :func:`labkit.models.fit_model`, it carries its
        input signature, which is saved with it.
    path : path
        The file (``model.labkit`` by convention).
    overwrite : bool, default False

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        The model is not fitted.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError):
        raise ConfigError(f"save_model: the model ({type(model).__name__}) is not fitted; fit it first (e.g. "
                          "labkit.models.fit_model(model, samples)).") from None
    from .registry import task_of

    classes = getattr(model, "classes_", None)
    meta = {"format": FORMAT, "labkit_version": __version__, "task": task_of(model),
            "model": type(model).__name__, "signature": _signature_dict(model),
            "classes": None if classes is None else _plain(np.asarray(classes)),
            "class_names": {str(k): v for k, v in (getattr(model, "class_names_", None) or {}).items()}}
    if _is_deep(model):
        meta["kind"], name = "deep", "network.pt"
        meta["deep"], payload = _torch_payload(model)
    else:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        meta["kind"], name, payload = "sklearn", "estimator.joblib", buffer.getvalue()
    meta["payload"] = {"file": name, "sha256": hashlib.sha256(payload).hexdigest()}
    text = json.dumps(meta, indent=1, default=_plain)
    with atomic_path(path, overwrite=overwrite, nbytes=len(payload)) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in ((_META, text), (name, payload)):  # a fixed date: the same model, the same bytes
                archive.writestr(zipfile.ZipInfo(member, date_time=_ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return Path(path)


def _read_archive(path) -> tuple[dict, bytes]:
    from ..outputs import refuse_temporary

    path = Path(path)
    if not path.is_file():
        raise ReadError(f"{path}: no such model file.")
    refuse_temporary(path)
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read(_META))
            payload = archive.read(meta["payload"]["file"])
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ReadError(f"{path} is not a labkit model file ({type(error).__name__}: {error}); save models with "
                        "labkit.models.save_model.") from None
    if meta.get("format") != FORMAT:
        raise ReadError(f"{path}: model format {meta.get('format')!r}, but this labkit ({__version__}) reads "
                        f"{FORMAT!r}.")
    if hashlib.sha256(payload).hexdigest() != meta["payload"]["sha256"]:
        raise ReadError(f"{path}: the model's payload does not match its checksum: the file is damaged or was "
                        "changed. It is not loaded.")
    return meta, payload


def _load_deep(meta: dict, payload: bytes, path):
    """A deep model from its JSON state and weights; only labkit's own deep classes are built."""
    import importlib

    import torch

    state = dict(meta["deep"])
    module, _, name = state.pop("class").rpartition(".")
    known = module.startswith("labkit.models.deep.") and name in _DEEP_CLASSES
    cls = getattr(importlib.import_module(module), name, None) if known else None
    if cls is None or not hasattr(cls, "_from_labkit_state"):
        raise ReadError(f"{path}: unknown deep model class {module + '.' + name!r}; this labkit reads "
                        f"{', '.join(_DEEP_CLASSES)}.")
    weights = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    return cls._from_labkit_state(state, weights, meta["classes"])


def load_model(path: str | os.PathLike):
    """Load a model saved by :func:`save_model`, with its input signature and class names.

    A deep model's weights are read without running code from the file; a scikit-learn model is unpickled with
    joblib after its checksum is verified: load only model files you made or trust.

    Raises
    ------
    labkit.errors.ReadError
        Not a model file, another format version, or a payload that does not match its checksum.
    """
    meta, payload = _read_archive(path)
    if meta["kind"] == "deep":
        model = _load_deep(meta, payload, path)
    else:
        import joblib

        model = joblib.load(io.BytesIO(payload))
    signature = _signature_from(meta.get("signature"))
    if signature is not None:
        model.input_signature_ = signature
    if meta.get("class_names"):
        model.class_names_ = {_code(k): v for k, v in meta["class_names"].items()}
    return model


def _code(key: str):
    return int(key) if key.lstrip("-").isdigit() else key
