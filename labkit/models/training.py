"""Training on a sample set: :func:`fit_model`, which also records what the model reads (:class:`InputSignature`).

A model fitted on arrays knows only their shape: applied to a cube whose bands come in another order, or with
other dates, it classifies without a word, and wrongly. :func:`fit_model` fits any estimator on a sample set and
stores the bands (names, in order), the number of dates and the dates on the fitted model as ``input_signature_``;
:func:`labkit.inference.predict_cube` then reads the cube's bands by name in that order, and refuses a cube that
lacks a band or has another number of dates, before classifying anything.

Before anything is fitted, the sample set is checked (:func:`_check_training_set`, used by :func:`fit_model`,
:func:`~labkit.models.cross_validate` and :func:`~labkit.models.search_hyperparameters`): it has samples, what the
model fits (a classifier: ``label``, with at least two classes; a regressor: ``target``), and no missing value (NaN,
or ±inf, which labkit reads as missing) when the model cannot take them.

Classifiers are fitted on integer class codes (text labels as the codes of :func:`labkit.datamodel.label_codes`), and
``class_names_`` records their names; regressors (:func:`~labkit.models.task_of` says which) on ``target``. A
sample set's optional variables (:data:`SAMPLE_VARIABLES`: ``group``, ``doy``, ``valid``, ``region``) reach a
model's ``fit``, ``predict`` and ``predict_proba`` when these name them (:func:`accepted_variables`); one helper,
:func:`_sample_kwargs`, does this routing for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..datamodel import class_names, observation_days, validate, with_label_codes
from ..errors import ConfigError, DataModelError
from . import _lightgbm

__all__ = ["SAMPLE_VARIABLES", "InputSignature", "accepted_variables", "fit_model", "input_signature"]


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
    doy_reference : str, optional
        How the sample set's ``doy`` counted days: None for the day of year, or the reference date
        (``"YYYY-MM-DD"``) of days counted since it (:func:`labkit.datamodel.observation_days`). A model that reads
        dates is given a cube's dates counted the same way (:func:`cube_days`).
    """

    bands: tuple[str, ...]
    n_time: int
    times: tuple[np.datetime64, ...] | None = None
    doy_reference: str | None = None

    def cube_days(self, times) -> np.ndarray:
        """The ``doy`` of a cube's dates, counted as the samples' were (day of year, or days since the reference).

        Example
        -------
        >>> InputSignature(("B04",), 2).cube_days(np.array(["2022-01-02", "2022-02-01"], "datetime64[D]")).tolist()
        [2.0, 32.0]
        >>> InputSignature(("B04",), 2, doy_reference="2021-12-31").cube_days(
        ...     np.array(["2022-01-02", "2022-02-01"], "datetime64[D]")).tolist()
        [2.0, 32.0]
        """
        times = np.asarray(times)
        if not np.issubdtype(times.dtype, np.datetime64):
            return np.arange(len(times), dtype=np.float32)
        if self.doy_reference is None:
            return pd.DatetimeIndex(times).day_of_year.to_numpy().astype(np.float32)
        days, _ = observation_days(times, reference=self.doy_reference)
        return days

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
    InputSignature(bands=('B04', 'B08'), n_time=3, times=None, doy_reference=None)
    """
    validate(samples, "samples")
    time = samples["time"].values
    dated = np.issubdtype(time.dtype, np.datetime64)
    reference = samples["doy"].attrs.get("reference") if "doy" in samples else None
    return InputSignature(tuple(str(b) for b in samples["band"].values), int(samples.sizes["time"]),
                          tuple(time) if dated else None, reference)


SAMPLE_VARIABLES = ("group", "doy", "valid", "region")
"""The optional variables of a sample set that a model's ``fit``, ``predict`` or ``predict_proba`` gets when it names
them as keyword parameters (see :func:`accepted_variables`)."""


def _final_step(model, method: str) -> tuple[object, str]:
    """The estimator whose ``method`` gets the variables, and the prefix its names take in ``model.method``: through
    nested pipelines, ``stepname__`` for ``fit`` (scikit-learn's pipelines route fit parameters so), none for
    ``predict``/``predict_proba`` (a pipeline passes their parameters to its last step as they are)."""
    from sklearn.pipeline import Pipeline

    prefix = ""
    while isinstance(model, Pipeline):
        name, model = model.steps[-1]
        prefix += f"{name}__" if method == "fit" else ""
    return model, prefix


def _keywords(method) -> set[str]:
    """The names ``method`` takes as keyword parameters (``**kwargs`` does not count: it names nothing)."""
    import inspect

    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # builtins and C extensions without a signature
        return set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in kinds}


def accepted_variables(model, method: str = "fit") -> tuple[str, ...]:
    """Which of the sample set's optional variables (:data:`SAMPLE_VARIABLES`) ``model.method`` takes, by name.

    A variable is passed when the method names it as a keyword parameter: for a scikit-learn pipeline, the method of
    its final step (nested pipelines too); for a :class:`~labkit.models.RegionalClassifier`, ``region`` and, at
    ``fit``, what its ``estimator`` takes (it hands them on, split by region).

    Example
    -------
    >>> from labkit.models import RegionalClassifier, make_model
    >>> accepted_variables(make_model("rf")), accepted_variables(RegionalClassifier(make_model("rf")), "predict")
    ((), ('region',))
    """
    from .regional import RegionalClassifier

    final, _ = _final_step(model, method)
    names = _keywords(getattr(final, method, None))
    if isinstance(final, RegionalClassifier) and method == "fit":
        names |= set(accepted_variables(final.estimator, "fit"))
    return tuple(v for v in SAMPLE_VARIABLES if v in names)


def _sample_kwargs(model, method: str, samples: xr.Dataset, rows: np.ndarray | None = None) -> dict:
    """The sample set's optional variables that ``model.method`` takes (:func:`accepted_variables`), for ``rows``
    (default all), named as ``model.method`` wants them (``stepname__doy`` for a pipeline's ``fit``).

    The one routing of ``group`` (the samples' ``site`` where the set has one), ``doy``, ``valid`` and ``region`` to
    models, used by :func:`fit_model`, :func:`~labkit.models.cross_validate` and
    :func:`~labkit.models.search_hyperparameters`. A variable the sample set lacks is not passed (the model's
    default applies).

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> class Dated:
    ...     def fit(self, X, y, *, doy=None, valid=None): return self
    >>> s = dm.make_samples(np.zeros((3, 2, 1)), [1, 2, 1], [0, 1, 2], bands=["NDVI"], doy=[10, 20])
    >>> {k: v.tolist() for k, v in _sample_kwargs(Dated(), "fit", s, np.array([2])).items()}
    {'doy': [[10.0, 20.0]]}
    """
    _, prefix = _final_step(model, method)
    # A model's own held-out split (the deep models' early stopping) keeps whole sites, not only whole polygons, so
    # that seasons of one place never sit on both sides: ``site`` goes as ``group`` where the set has it.
    source = {"group": "site"} if "site" in samples else {}
    taken = [v for v in accepted_variables(model, method) if v in samples]
    values = {v: samples[source.get(v, v)].values for v in taken}
    return {prefix + v: (column if rows is None else column[rows]) for v, column in values.items()}


def _check_regions(model, samples: xr.Dataset, who: str) -> None:
    """Refuse a per-region model (:class:`~labkit.models.RegionalClassifier`) on samples without ``region``."""
    from .regional import RegionalClassifier

    if isinstance(_final_step(model, "fit")[0], RegionalClassifier) and "region" not in samples:
        raise ConfigError(f"{who}: a per-region model needs the sample set's 'region' variable, and this one has "
                          "none. Set it with labkit.samples.assign_regions(samples, regions, field=...).")


def _final_estimator(model):
    """The estimator that gets the features: the last step of a pipeline (nested ones too), the ``estimator`` of a
    per-region model."""
    from sklearn.pipeline import Pipeline

    from .regional import RegionalClassifier

    while True:
        if isinstance(model, Pipeline):
            model = model.steps[-1][1]
        elif isinstance(model, RegionalClassifier):
            model = model.estimator
        else:
            return model


def _takes_missing(model) -> bool:
    """Whether a model takes missing values (NaN) in X, as its final estimator's scikit-learn tags say
    (``allow_nan``: True for trees, forests and LightGBM, False for the SVM); True when it has no tags (it decides)."""
    from sklearn.utils import get_tags

    final = _final_estimator(model)
    if not hasattr(final, "__sklearn_tags__"):
        return True
    try:
        return bool(get_tags(final).input_tags.allow_nan)
    except Exception:  # noqa: BLE001  (tags that cannot be read: let the model decide)
        return True


GAP_FILL_FIX = ("Gap-fill the cube before sampling (labkit.gapfill.fill_gaps), or drop those samples: "
                "samples.isel(sample=numpy.isfinite(samples.X).all(['time', 'band'])).")
"""How to get rid of missing values in a sample set (said by every refusal of them)."""


def _refuse_missing(X, who: str, *, what: str = "samples", fix: str = GAP_FILL_FIX) -> None:
    """Refuse rows of ``X`` (samples first) that hold a missing value, NaN or ±inf: a :class:`DataModelError` naming
    how many, where, and ``fix``. For models that cannot take missing values (see :func:`_takes_missing`).

    Example
    -------
    >>> _refuse_missing(np.array([[1.0, 2.0], [np.inf, 0.0]]), "CalibratedSVC")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: CalibratedSVC: 1 of the 2 samples holds missing values (NaN or ±inf) in X, at positions [1], and this model cannot take them. Gap-fill the cube before sampling (labkit.gapfill.fill_gaps), or drop those samples: samples.isel(sample=numpy.isfinite(samples.X).all(['time', 'band'])).
    """
    X = np.asarray(X)
    if X.dtype.kind not in "fc" or X.size == 0:
        return
    missing = ~np.isfinite(X.reshape(len(X), -1)).all(axis=1)
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    verb = "holds" if len(rows) == 1 else "hold"
    raise DataModelError(f"{who}: {len(rows)} of the {len(X)} {what} {verb} missing values (NaN or ±inf) in X, at "
                         f"positions {rows[:5].tolist()}{' ...' if len(rows) > 5 else ''}, and this model cannot take "
                         f"them. {fix}")


def _task(model, task: str | None = None) -> str:
    """``task`` when given, else what ``model`` does (:func:`~labkit.models.task_of`); a classifier when None."""
    from .registry import task_of

    if task is not None:
        return task
    return "classification" if model is None else task_of(model)


def _check_target(samples: xr.Dataset, model, who: str) -> None:
    """Refuse a regression on a sample set without ``target`` (a :class:`ConfigError` naming the fix)."""
    if "target" not in samples:
        what = f"{_name(_final_estimator(model))} is a regression model" if model is not None else "a regression"
        raise ConfigError(f"{who}: {what} and fits the sample set's 'target' (a number per sample), but this sample "
                          "set has none (only 'label', classes). Use a classifier (rf, lgbm, tempcnn...) for classes, "
                          "or add the numbers: samples.assign(target=('sample', values)).")


def _check_classes(samples: xr.Dataset, model, who: str) -> None:
    """Refuse a classification on a sample set without ``label`` (:class:`ConfigError`) or with a single class
    (:class:`DataModelError`)."""
    if "label" not in samples:
        what = f"{_name(_final_estimator(model))} is a classifier" if model is not None else "a classification"
        raise ConfigError(f"{who}: {what} and fits the sample set's 'label' (classes), but this sample set has none "
                          "(only 'target', for regression). Use a regression model (rf-regressor, lgbm-regressor, "
                          "mlp-regressor...) for a numeric target, or add labels.")
    classes, counts = np.unique(samples["label"].values, return_counts=True)
    if len(classes) < 2:
        single = f"code {classes[0]}" if np.issubdtype(classes.dtype, np.integer) else repr(str(classes[0]))
        raise DataModelError(f"{who}: the sample set holds a single class in 'label' ({single}: {counts[0]} "
                             "samples); a classifier needs samples of at least 2 classes. Add reference samples of "
                             "other classes, or check how the samples were selected.")


def _check_training_set(samples: xr.Dataset, model, who: str, *, task: str | None = None) -> None:
    """Refuse a sample set that cannot train ``model``: no sample; for a classifier, no ``label`` or fewer than two
    classes (codes or names); for a regressor (``task``, default what ``model`` does, a classifier for None), no
    ``target``; missing values in ``X`` for a model that cannot take them, or no ``region`` for a per-region model
    (``model`` None: neither is checked). Raises :class:`DataModelError` (:class:`ConfigError` for ``region`` and for
    what the task needs) naming the counts, before anything is fitted.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> one_class = dm.make_samples(np.zeros((3, 1, 1)), [4, 4, 4], [0, 1, 2], bands=["NDVI"])
    >>> _check_training_set(one_class, None, "fit_model")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: fit_model: the sample set holds a single class in 'label' (code 4: 3 samples); a classifier needs samples of at least 2 classes. Add reference samples of other classes, or check how the samples were selected.
    """
    kind = getattr(model, "input_kind", "series")
    if kind != "series":
        reads = {"patches": "image patches (a cube and a reference raster)",
                 "scenes": "whole scenes with each band at its native resolution"}.get(kind, kind)
        how = {"patches": "model.fit(cube, reference)", "scenes": "model.fit(scenes)"}.get(kind, "model.fit")
        raise ConfigError(f"{who}: {_name(model)} reads {reads}, not a sample set's pixel series: fit it with "
                          f"{how}.")
    if samples.sizes["sample"] == 0:
        raise DataModelError(f"{who}: the sample set has no samples (its 'sample' dimension is empty); there is "
                             "nothing to train on. Check how it was made (extract_samples, a split or a selection "
                             "that kept nothing).")
    task = _task(model, task)
    (_check_target if task == "regression" else _check_classes)(samples, model, who)
    if model is None:
        return
    _check_regions(model, samples, who)
    if not _takes_missing(model):
        _refuse_missing(samples["X"].values, f"{who} ({_name(_final_estimator(model))})")


def _route_fit_params(model, fit_params: dict) -> dict:
    """``fit_params`` as ``model.fit`` takes them: for a pipeline, a plain name (``sample_weight``) goes to its final
    step (``model__sample_weight``, through nested pipelines too); names with ``__`` and other models: unchanged.

    Example
    -------
    >>> from labkit.models import make_model
    >>> _route_fit_params(make_model("svm"), {"sample_weight": [1.0]})
    {'model__svc__sample_weight': [1.0]}
    """
    _, prefix = _final_step(model, "fit")
    if not prefix:
        return dict(fit_params)
    return {(key if "__" in key else prefix + key): value for key, value in fit_params.items()}


def _check_fit_params(model, fit_params: dict, who: str) -> None:
    """Refuse a keyword that the model's ``fit`` does not take, before any work: a hyperparameter given there (as
    ``fit_model("rf", s, random_state=0)``) is said to belong to :func:`~labkit.models.make_model`."""
    import inspect

    final, _ = _final_step(model, "fit")
    try:
        parameters = inspect.signature(final.fit).parameters.values()
    except (TypeError, ValueError):  # no signature to check against: the model's fit will say
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    taken = _keywords(final.fit)
    for key in fit_params:
        name = key.rsplit("__", 1)[-1]
        if name in taken:
            continue
        estimator = type(final).__name__
        if name in final.get_params():
            raise ConfigError(f"{who}: {name!r} is a hyperparameter of {estimator}, not an argument of its fit(): "
                              f"build the model with it: {who}(make_model(<model name>, {name}=...), samples).")
        raise ConfigError(f"{who}: {estimator}.fit() takes no {name!r}; it takes {sorted(taken - {'X', 'y'})}.")


def _check_sample_weight(fit_params: dict, n: int, who: str) -> None:
    """``sample_weight``, when given: one finite number >= 0 per sample."""
    if fit_params.get("sample_weight") is None:
        return
    weight = np.asarray(fit_params["sample_weight"])
    if weight.shape != (n,) or weight.dtype.kind not in "iuf":
        raise ConfigError(f"{who}: sample_weight must give one number per sample ({n}); got "
                          f"{weight.dtype} values of shape {weight.shape}.")
    bad = ~np.isfinite(weight) | (weight < 0) if weight.dtype.kind == "f" else weight < 0
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"{who}: sample_weight must hold finite numbers >= 0; got {weight[first].item()!r} at "
                          f"position {first} ({int(bad.sum())} such value(s)).")


def _name(model) -> str:
    """The class name of the model's LightGBM step, else of the model (for messages)."""
    steps = [model, *getattr(model, "get_params", dict)(deep=True).values()]
    return next((type(s).__name__ for s in steps if _lightgbm.is_lightgbm(s)), type(model).__name__)


def _names_of(model, samples: xr.Dataset) -> dict[int, str]:
    """``{code: name}`` of the classes a fitted model predicts (``classes_``), from the (coded) sample set's names;
    every named class of the set when the model has no ``classes_``."""
    names = class_names(samples)
    classes = getattr(model, "classes_", None)
    if classes is None or np.asarray(classes).dtype.kind not in "iu":
        return names
    return {int(c): names.get(int(c), str(c)) for c in np.asarray(classes)}


def _training_values(model, X: xr.DataArray):
    """``X`` as ``model.fit`` gets it: lazy (dask) for a model that streams its input (``streams_input``, the deep
    models: one block of samples at a time), else in memory (refused when it does not fit)."""
    if hasattr(X.data, "dask"):
        if getattr(_final_estimator(model), "streams_input", False):
            return X.data
        from ..inputs import check_fits_in_memory

        check_fits_in_memory(int(X.nbytes), "the sample set's X", what=f"fitting {_name(model)}, which reads it "
                             "whole,")
    return X.values


def fit_model(model, samples: xr.Dataset, **fit_params):
    """Fit a model on a sample set and record its :class:`InputSignature` and class names on it.

    Parameters
    ----------
    model : estimator, or anything :func:`~labkit.models.make_model` takes
        An estimator with scikit-learn's API taking ``X (n_samples, n_time, n_band)``, fitted in place (as ``fit``
        does); a name (``"rf"``), a dotted path or a config is built first with :func:`~labkit.models.make_model`.
    samples : sample set
        ``X`` and, for a classifier, the labels are fitted on: integer codes, or text labels as the codes of
        :func:`labkit.datamodel.label_codes` (1..n in sorted order of the names), so that ``model.classes_`` are
        integers, as a class map needs; for a regressor (``task_of(model) == "regression"``: ``rf-regressor``,
        ``mlp-regressor``...), ``target``. The optional variables ``group``, ``doy``, ``valid`` and ``region`` go to
        the model's ``fit`` when it names them (see :func:`accepted_variables`): ``region`` to a
        :class:`~labkit.models.RegionalClassifier`, dates and validity to the deep models. ``X`` may be lazy (a
        Zarr store read with :func:`labkit.io.read_samples` and ``chunks``): a deep model streams it block by block;
        other models read it whole.
    **fit_params : passed to the model's ``fit`` (``sample_weight=...``); for a pipeline, a plain name goes to its
        final step (``sample_weight`` as ``model__sample_weight``), as scikit-learn's pipelines need. They win over
        the sample set's variables of the same name.

    Returns
    -------
    the fitted model, with ``input_signature_`` (its bands in order, its number of dates and its dates, which
    :func:`labkit.inference.predict_cube` checks a cube against) and, for a classifier, ``class_names_``,
    ``{code: name}`` of its classes (the codes themselves, as text, where the sample set names none); for a
    regressor, ``target_name_``, what it estimates (``target.attrs["variable"]``, e.g. ``"lai"``; else
    ``"target"``).

    Raises
    ------
    ConfigError
        A bad model; a keyword the model's ``fit`` does not take (a hyperparameter: give it to
        :func:`~labkit.models.make_model`); a classifier and samples without ``label``, a regressor and samples without ``target``; a
        per-region model and samples without ``region``; a ``sample_weight`` that does not give one finite number
        >= 0 per sample; LightGBM refusing a hyperparameter.
    DataModelError
        ``samples`` is not a sample set, has no sample or a single class, or holds missing values (NaN, ±inf) in
        ``X`` for a model that cannot take them (the SVM), each before anything is fitted.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.arange(8.0).reshape(4, 1, 2), [1, 1, 2, 2], [0, 1, 2, 3], bands=["B04", "B08"])
    >>> model = fit_model("sklearn.tree.DecisionTreeClassifier", s)
    >>> model.input_signature_.bands, model.predict(s.X.values).tolist()
    (('B04', 'B08'), [1, 1, 2, 2])
    >>> text = s.assign(label=("sample", ["wet", "wet", "dry", "dry"]))
    >>> named = fit_model("sklearn.tree.DecisionTreeClassifier", text)
    >>> named.classes_.tolist(), named.class_names_
    ([1, 2], {1: 'dry', 2: 'wet'})
    >>> lai = dm.make_samples(np.arange(8.0).reshape(4, 1, 2), target=[0.5, 1.5, 2.5, 3.5], bands=["B04", "B08"])
    >>> fit_model("sklearn.linear_model.LinearRegression", lai).predict(lai.X.values).round(2).tolist()
    [0.5, 1.5, 2.5, 3.5]
    """
    from .registry import make_model

    signature = input_signature(samples)
    if not callable(getattr(model, "fit", None)):
        model = make_model(model)
    regression = _task(model) == "regression"
    coded = samples if regression else with_label_codes(samples)
    _check_training_set(coded, model, "fit_model")
    _check_fit_params(model, fit_params, "fit_model")
    _check_sample_weight(fit_params, coded.sizes["sample"], "fit_model")
    X, y = _training_values(model, coded["X"]), coded["target" if regression else "label"].values
    kwargs = {**_sample_kwargs(model, "fit", coded), **_route_fit_params(model, fit_params)}
    with _lightgbm.fit_errors(_name(model)):
        model.fit(X, y, **kwargs)
    model.input_signature_ = signature
    if regression:
        model.target_name_ = str(coded["target"].attrs.get("variable", "target"))
    else:
        model.class_names_ = _names_of(model, coded)
    return model
