"""Training on a sample set: :func:`fit_model`, which also records what the model reads (:class:`InputSignature`).

A model fitted on arrays knows only their shape: applied to a cube whose bands come in another order, or with
other dates, it classifies without a word, and wrongly. :func:`fit_model` fits any estimator on a sample set and
stores the bands (names, in order), the number of dates and the dates on the fitted model as ``input_signature_``;
:func:`labkit.inference.predict_cube` then reads the cube's bands by name in that order, and refuses a cube that
lacks a band or has another number of dates, before classifying anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..datamodel import validate
from ..errors import ConfigError
from . import _lightgbm

__all__ = ["InputSignature", "fit_model", "input_signature"]


@dataclass(frozen=True)
class InputSignature:
    """What a model was fitted on: the layout of the series it reads.

    Attributes
    ----------
    bands : tuple of str
        Band (or feature) names, in the order of the model's input.
    n_time : int
        Number of dates (time steps) of each series.
    times : tuple of numpy.datetime64, optional
        The dates, when the sample set had dates (None when its ``time`` holds positions).
    """

    bands: tuple[str, ...]
    n_time: int
    times: tuple[np.datetime64, ...] | None = None

    def describe(self) -> str:
        """``"12 dates x bands ['B04', 'B08']"``, for messages.

        Example
        -------
        >>> InputSignature(("B04", "B08"), 12).describe()
        "12 dates x bands ['B04', 'B08']"
        """
        return f"{self.n_time} dates x bands {list(self.bands)}"


def input_signature(samples: xr.Dataset) -> InputSignature:
    """The :class:`InputSignature` of a sample set: its band names, number of dates and dates.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((2, 3, 2)), [1, 2], [0, 1], bands=["B04", "B08"])
    >>> input_signature(s)
    InputSignature(bands=('B04', 'B08'), n_time=3, times=None)
    """
    validate(samples, "samples")
    time = samples["time"].values
    dated = np.issubdtype(time.dtype, np.datetime64)
    return InputSignature(tuple(str(b) for b in samples["band"].values), int(samples.sizes["time"]),
                          tuple(time) if dated else None)


def _region_kwargs(model, samples: xr.Dataset, rows: np.ndarray | None = None) -> dict:
    """``region=`` for models that take it (:class:`~labkit.models.RegionalClassifier`), for ``rows`` (default all)."""
    from .regional import RegionalClassifier

    if not isinstance(model, RegionalClassifier):
        return {}
    if "region" not in samples:
        raise ConfigError("A per-region model needs the sample set's 'region' variable, and this one has none.")
    region = samples["region"].values
    return {"region": region if rows is None else region[rows]}


def _name(model) -> str:
    """The class name of the model's LightGBM step, else of the model (for messages)."""
    steps = [model, *getattr(model, "get_params", dict)(deep=True).values()]
    return next((type(s).__name__ for s in steps if _lightgbm.is_lightgbm(s)), type(model).__name__)


def fit_model(model, samples: xr.Dataset, **fit_params):
    """Fit a model on a sample set and record its :class:`InputSignature` as ``model.input_signature_``.

    Parameters
    ----------
    model : estimator, or anything :func:`~labkit.models.make_model` takes
        An estimator with scikit-learn's API taking ``X (n_samples, n_time, n_band)``, fitted in place (as ``fit``
        does); a name (``"rf"``), a dotted path or a config is built first with :func:`~labkit.models.make_model`.
    samples : sample set
        ``X`` and ``label`` are fitted on; a per-region model (:class:`~labkit.models.RegionalClassifier`) also
        gets ``region``.
    **fit_params : passed to the model's ``fit`` (``sample_weight=...``).

    Returns
    -------
    the fitted model, with ``input_signature_``: its bands in order, its number of dates and its dates, which
    :func:`labkit.inference.predict_cube` checks a cube against.

    Raises
    ------
    ConfigError
        A bad model; a per-region model and samples without ``region``; LightGBM refusing a hyperparameter.
    DataModelError
        ``samples`` is not a sample set.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.arange(8.0).reshape(4, 1, 2), [1, 1, 2, 2], [0, 1, 2, 3], bands=["B04", "B08"])
    >>> model = fit_model("sklearn.tree.DecisionTreeClassifier", s)
    >>> model.input_signature_.bands, model.predict(s.X.values).tolist()
    (('B04', 'B08'), [1, 1, 2, 2])
    """
    from .registry import make_model

    signature = input_signature(samples)
    if not callable(getattr(model, "fit", None)):
        model = make_model(model)
    X, y = samples["X"].values, samples["label"].values
    with _lightgbm.fit_errors(_name(model)):
        model.fit(X, y, **_region_kwargs(model, samples), **fit_params)
    model.input_signature_ = signature
    return model
