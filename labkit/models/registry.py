"""The one model registry: every model labkit builds, classical or deep, by name; and the one builder, make_model.

A model is named in three ways, all turned into an unfitted estimator by :func:`make_model`:

* a **registered name**: ``"rf"``, ``"svm"``, ``"lgbm"``, ``"tempcnn"``, ``"ltae"``... (see :data:`MODELS` and
  :func:`describe_models`; :mod:`.classical` and :mod:`.deep` register theirs with :func:`register_model`);
* a **dotted path** to any scikit-learn classifier (or regressor) class, ``"sklearn.ensemble.ExtraTreesClassifier"``,
  which gets the same :class:`~labkit.models.series.SeriesFeatures` step in front as the registered classical models;
* a **config**, a mapping checked by :class:`ModelConfig`: ``{"model": ..., "params": {...}, "stats": [...],
  "per_region": false}`` (what a YAML or JSON file holds).

Each entry declares what its model consumes (pixel series ``(sample, time, band)`` or image patches), whether it
reads the acquisition dates, whether it can run on a GPU, and its task (classification or regression). Every model
follows scikit-learn's API; hyperparameters are checked by name (with a "did you mean") and value before anything
is fitted.

Example
-------
>>> import labkit.models  # registers the classical and deep models
>>> MODELS["tempcnn"].inputs, MODELS["ltae"].uses_dates, MODELS["rf"].gpu
('series', True, False)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import ConfigError
from ..features import STATS
from ..params import seed
from . import _lightgbm


INPUTS = ("series", "patches", "scenes")
"""What a model consumes: pixel ``series`` ``(sample, time, band)`` of a sample set; image ``patches`` cut from a
cube against a reference raster (``fit(cube, reference)``: :class:`~labkit.models.deep.spatial.SpatialClassifier`);
or whole ``scenes`` with each band at its native resolution (``fit(scenes)``:
:class:`~labkit.models.deep.superres.SuperResolution`)."""

TASKS = ("classification", "regression", "super-resolution")


@dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Parameters
    ----------
    name : str
        What configs and ``labkit cv --model`` call it.
    build : callable
        ``build(**params)`` returns an unfitted estimator that takes ``X (n_samples, n_time, n_band)``. When
        ``takes_stats`` is true it also takes ``stats`` (the temporal statistics of its features step).
    description : str
        One line, shown in listings.
    takes_stats : bool, default True
        Whether the model starts with :class:`~labkit.models.series.SeriesFeatures` (classical models do; a network
        that reads the raw series does not).
    estimator : str, optional
        Dotted import path of the class whose ``__init__`` receives the hyperparameters (``"lightgbm.LGBMClassifier"``):
        unknown names are refused by that class's parameters, with a "did you mean". Without it, by the parameters
        of ``build`` when it names them all.
    inputs : {"series", "patches"}, default "series"
        What the model consumes (:data:`INPUTS`).
    uses_dates : bool, default False
        Whether the model reads the acquisition dates (day of year) of each observation, so that it runs on series
        that were not gap-filled and on samples whose dates differ.
    gpu : bool, default False
        Whether the model can run on a GPU (``device="cuda"``).
    task : {"classification", "regression", "super-resolution"}, default "classification"
    """

    name: str
    build: Callable[..., Any]
    description: str
    takes_stats: bool = True
    estimator: str | None = None
    inputs: str = "series"
    uses_dates: bool = False
    gpu: bool = False
    task: str = "classification"


MODELS: dict[str, ModelEntry] = {}
"""The registered models, by name."""


def register_model(name: str, build: Callable[..., Any], *, description: str, takes_stats: bool = True,
                   estimator: str | None = None, inputs: str = "series", uses_dates: bool = False,
                   gpu: bool = False, task: str = "classification", replace: bool = False) -> ModelEntry:
    """Register a model under ``name``, so that :func:`make_model`, configs and ``labkit cv`` know it.

    See :class:`ModelEntry` for the parameters.

    Raises
    ------
    ConfigError
        The name is taken (and ``replace`` is False) or looks like a dotted path.

    Example
    -------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> entry = register_model("rf-demo", lambda stats=STATS, **p: make_model("rf", stats=stats, **p),
    ...                        description="an example")
    >>> "rf-demo" in model_names()
    True
    >>> del MODELS["rf-demo"]
    """
    if not re.fullmatch(r"[A-Za-z][\w-]*", name):
        raise ConfigError(f"register_model: {name!r} is not a valid model name (letters, digits, '-' and '_'; no "
                          "dots, which mark import paths).")
    if name in MODELS and not replace:
        raise ConfigError(f"register_model: a model named {name!r} is already registered; pass replace=True.")
    if inputs not in INPUTS or task not in TASKS:
        raise ConfigError(f"register_model: inputs must be one of {INPUTS} and task one of {TASKS}; got "
                          f"{inputs!r} and {task!r}.")
    MODELS[name] = entry = ModelEntry(name, build, description, takes_stats, estimator, inputs, uses_dates, gpu, task)
    return entry


def model_names(task: str | None = None) -> list[str]:
    """The registered model names, sorted; only those of ``task`` when given.

    Example
    -------
    >>> import labkit.models
    >>> "rf-regressor" in model_names("regression"), "rf" in model_names("regression")
    (True, False)
    """
    return sorted(name for name, entry in MODELS.items() if task is None or entry.task == task)


def describe_models() -> list[dict[str, object]]:
    """One row per registered model: name, task, inputs, dates, GPU, description (``labkit models`` prints them).

    Example
    -------
    >>> import labkit.models
    >>> [row for row in describe_models() if row["name"] == "rf"][0]["task"]
    'classification'
    """
    return [{"name": e.name, "task": e.task, "inputs": e.inputs, "dates": e.uses_dates, "gpu": e.gpu,
             "description": e.description} for e in sorted(MODELS.values(), key=lambda e: (e.task, e.name))]


# ---------------------------------------------------------------------------------------------- dotted paths

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
DOTTED_EXAMPLE = "sklearn.ensemble.ExtraTreesClassifier"


_OTHER_NAMES = {"randomforest": "rf", "randomforestclassifier": "rf", "lightgbm": "lgbm", "lgbmclassifier": "lgbm",
                "svc": "svm", "multilayerperceptron": "mlp", "lighttae": "ltae"}
"""Names other tools give labkit's models (lower case, without ``-``, ``_`` or spaces): a "did you mean"."""


def _unknown_name_message(name: str) -> str:
    other = _OTHER_NAMES.get(re.sub(r"[-_ ]", "", name.lower()))
    close = [other] if other in model_names() else difflib.get_close_matches(name, model_names(), n=1)
    return (f"unknown model {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; choose a registered model ({', '.join(model_names())}) or the dotted import path of a scikit-learn "
            f"estimator, such as {DOTTED_EXAMPLE!r}")


def resolve_estimator_class(path: str) -> type:
    """The classifier (or regressor) class at a dotted import path, checked to follow scikit-learn's API.

    Raises
    ------
    ConfigError
        The module or the attribute does not exist, or it is not an estimator class with ``fit``, ``get_params``
        and ``predict`` or ``predict_proba``.

    Example
    -------
    >>> resolve_estimator_class("sklearn.ensemble.ExtraTreesClassifier").__name__
    'ExtraTreesClassifier'
    >>> resolve_estimator_class("sklearn.ensemble.ExtraTreeClassifier")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: module 'sklearn.ensemble' has no attribute 'ExtraTreeClassifier' (did you mean 'ExtraTreesClassifier'?).
    """
    if not _DOTTED.fullmatch(path):
        raise ConfigError(f"{path!r} is not a dotted import path (module.Class), e.g. {DOTTED_EXAMPLE!r}.")
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"cannot import module {module_name!r} (from {path!r}): {error}.") from None
    if not hasattr(module, attribute):
        public = [a for a in dir(module) if not a.startswith("_")]
        close = difflib.get_close_matches(attribute, public, n=1)
        raise ConfigError(f"module {module_name!r} has no attribute {attribute!r}"
                          + (f" (did you mean {close[0]!r}?)" if close else "") + ".")
    cls = getattr(module, attribute)
    if not inspect.isclass(cls):
        raise ConfigError(f"{path!r} is a {type(cls).__name__}, not an estimator class.")
    missing = [m for m in ("fit", "get_params", "set_params") if not callable(getattr(cls, m, None))]
    if not (callable(getattr(cls, "predict_proba", None)) or callable(getattr(cls, "predict", None))):
        missing.append("predict or predict_proba")
    if missing:
        raise ConfigError(f"{path!r} is not a scikit-learn estimator: it has no {' / '.join(missing)} method.")
    return cls


def task_of(model) -> str:
    """``"classification"``, ``"regression"`` or ``"super-resolution"``: what a model name, dotted path, config or
    estimator does.

    Example
    -------
    >>> import labkit.models
    >>> task_of("rf"), task_of("sklearn.linear_model.Ridge")
    ('classification', 'regression')
    """
    from sklearn.base import RegressorMixin, is_regressor

    if isinstance(model, ModelConfig | Mapping):
        model = parse_model_config(model).model
    if isinstance(model, str):
        if model in MODELS:
            return MODELS[model].task
        cls = resolve_estimator_class(model)
        try:
            return "regression" if is_regressor(cls()) else "classification"
        except Exception:  # noqa: BLE001  (a class that needs parameters: judge by its bases)
            return "regression" if issubclass(cls, RegressorMixin) else "classification"
    steps = getattr(model, "steps", None)
    final = steps[-1][1] if isinstance(steps, list) and steps else model  # a Pipeline's last step
    if getattr(final, "task", None) in TASKS:  # a model that says its task (SuperResolution)
        return final.task
    return "regression" if is_regressor(final) else "classification"


def _signature_names(target, skip: tuple[str, ...] = ()) -> list[str]:
    """The named parameters of a class's ``__init__`` or of a function, in order (not ``*args``/``**kwargs``)."""
    return [p.name for p in inspect.signature(target).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip]


def _param_names(target, *, skip: tuple[str, ...] = ()) -> list[str] | None:
    """The hyperparameter names ``target`` (an estimator class or a build function) takes, in its signature's order
    (a LightGBM class: also LightGBM's own parameters and aliases); None when it takes any name (``**kwargs``)."""
    if inspect.isclass(target) and _lightgbm.is_lightgbm(target):
        return _lightgbm.param_names(target)
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(target).parameters.values()):
        return None
    return _signature_names(target, skip)


def _did_you_mean(unknown: list[str], names: list[str]) -> str:
    """`` (did you mean 'n_estimators'?)`` for the unknown names that are close to a known one ('' if none is)."""
    lowered = {name.lower(): name for name in names}
    close = {}
    for name in unknown:
        match = [lowered[name.lower()]] if name.lower() in lowered else difflib.get_close_matches(name, names, n=1)
        if match:
            close[name] = match[0]
    if not close:
        return ""
    if len(unknown) == 1:
        return f" (did you mean {close[unknown[0]]!r}?)"
    return " (did you mean " + ", ".join(f"{v!r} for {k!r}" for k, v in close.items()) + "?)"


def _check_param_names(owner: str, target, params: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> None:
    """Refuse hyperparameters that ``target`` (an estimator class or a build function) does not take: a
    :class:`ConfigError` naming them, the closest known names and the accepted ones. The one check of names, for
    registered models and dotted paths alike."""
    names = _param_names(target, skip=skip)
    unknown = [] if names is None else [p for p in params if p not in names]
    if not unknown:
        return
    shown, more = names, ""
    if inspect.isclass(target) and _lightgbm.is_lightgbm(target):
        shown = _signature_names(target)
        more = f", and LightGBM's own parameters and their aliases (see {_lightgbm.DOCS})"
    raise ConfigError(f"{owner} has no parameter(s) {unknown}{_did_you_mean(unknown, names)}; its parameters: "
                      f"{shown}{more}.")


def _check_estimator_params(estimator) -> None:
    """Check hyperparameter values now, for every step of ``estimator``: scikit-learn's constraints (which otherwise
    run in ``fit``) and LightGBM's (see :mod:`labkit.models._lightgbm`). Raises a :class:`ConfigError`."""
    from sklearn.base import BaseEstimator
    from sklearn.utils._param_validation import InvalidParameterError

    steps = [estimator, *[v for v in estimator.get_params(deep=True).values() if isinstance(v, BaseEstimator)]]
    for step in steps:
        if _lightgbm.is_lightgbm(step):
            _lightgbm.check_params(step)
        elif hasattr(type(step), "_parameter_constraints") and hasattr(step, "_validate_params"):
            try:
                step._validate_params()
            except InvalidParameterError as error:
                raise ConfigError(str(error)) from None


# -------------------------------------------------------------------------------------------------- configs


class ModelConfig(BaseModel):
    """A model as a config names it, checked field by field.

    Parameters
    ----------
    model : str
        A registered name (:func:`model_names`) or the dotted import path of a scikit-learn classifier.
    params : dict, default {}
        Hyperparameters of the model (not of its features step); checked against the estimator's parameters.
    stats : list of str, optional
        Temporal statistics appended by :class:`~labkit.models.SeriesFeatures` (default: all of
        :data:`labkit.features.STATS`); not for models that read the raw series.
    per_region : bool, default False
        Wrap the model in :class:`~labkit.models.RegionalClassifier` (one model per ``region`` of the samples).

    Use :func:`parse_model_config` to get a :class:`~labkit.errors.ConfigError` naming each bad field.

    Example
    -------
    >>> config = ModelConfig(model="sklearn.ensemble.ExtraTreesClassifier", params={"n_estimators": 20})
    >>> type(config.build().named_steps["model"]).__name__
    'ExtraTreesClassifier'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    params: dict[str, Any] = {}
    stats: tuple[str, ...] | None = None
    per_region: bool = False

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        value = value.strip()
        if value in MODELS:
            return value
        if "." not in value:
            raise ValueError(_unknown_name_message(value))
        try:
            resolve_estimator_class(value)
        except ConfigError as error:
            raise ValueError(str(error).rstrip(".")) from None
        return value

    @field_validator("stats")
    @classmethod
    def _known_stats(cls, value, info):
        if value is None:
            return value
        name = info.data.get("model")
        if name in MODELS and not MODELS[name].takes_stats:
            raise ValueError(f"model {name!r} reads the raw series: it takes no 'stats'")
        unknown = [s for s in value if s not in STATS]
        if unknown:
            raise ValueError(f"unknown temporal statistic(s) {unknown}; choose among {list(STATS)}")
        return tuple(value)

    @field_validator("params")
    @classmethod
    def _accepted_params(cls, value: dict, info) -> dict:
        name = info.data.get("model")
        if name is None:  # the model itself is wrong: said once, under 'model'
            return value
        try:
            _build(name, value, None)
        except ConfigError as error:
            raise ValueError(str(error).rstrip(".")) from None
        except ValueError as error:  # scikit-learn's InvalidParameterError: "The 'C' parameter of SVC must be..."
            raise ValueError(str(error).rstrip(".")) from None
        return value

    def build(self, random_state: int | None = None):
        """The unfitted estimator this config describes.

        ``random_state`` seeds every ``random_state`` parameter left unset (None) in the model; it is checked first
        (:func:`labkit.params.seed`).
        """
        random_state = seed(random_state, "ModelConfig.build", generator=False)
        estimator = _build(self.model, self.params, self.stats)
        if self.per_region:
            from .regional import RegionalClassifier

            estimator = RegionalClassifier(estimator)
        return seed_estimator(estimator, random_state)


def _build_registered(entry: ModelEntry, params: dict, stats):
    if stats is not None and not entry.takes_stats:
        raise ConfigError(f"model {entry.name!r} reads the raw series: it takes no 'stats'.")
    if entry.estimator is not None:
        cls = resolve_estimator_class(entry.estimator)
        owner = f"model {entry.name!r} ({cls.__name__})"
        _check_param_names(owner, cls, params)
    else:
        owner = f"model {entry.name!r}"
        _check_param_names(owner, entry.build, params, skip=("stats",))
    try:
        return entry.build(**params, **({"stats": stats} if stats is not None else {}))
    except TypeError as error:  # a build function that takes **params and passes a wrong one on
        raise ConfigError(f"{owner}: {error}.") from None


def _build_dotted(path: str, params: dict, stats):
    from sklearn.pipeline import Pipeline

    from .series import SeriesFeatures

    cls = resolve_estimator_class(path)
    _check_param_names(cls.__name__, cls, params)
    try:
        model = cls(**params)
    except TypeError as error:
        raise ConfigError(f"{cls.__name__}(...): {error}.") from None
    return Pipeline([("features", SeriesFeatures(stats=STATS if stats is None else stats)), ("model", model)])


def _build(name: str, params: Mapping[str, Any], stats):
    """The unfitted estimator named ``name`` with ``params``, every hyperparameter's name and value checked first
    (:class:`ConfigError`). The one builder behind :func:`make_model` and configs."""
    params = dict(params)
    estimator = _build_registered(MODELS[name], params, stats) if name in MODELS else _build_dotted(name, params, stats)
    if "random_state" in params:  # a seed as every labkit function takes it (LightGBM's own check takes any int)
        seed(params["random_state"], f"model {name!r}")
    _check_estimator_params(estimator)
    return estimator


def _field_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field; the fields are {list(ModelConfig.model_fields)}"
        elif item["type"] == "missing":
            message = "required, and missing"
        parts.append(f"field '{where}': {message}")
    return "; ".join(parts)


def parse_model_config(data: ModelConfig | Mapping[str, Any]) -> ModelConfig:
    """Check a model config (a mapping, as read from YAML or JSON) and return it as a :class:`ModelConfig`.

    Raises
    ------
    ConfigError
        Naming each bad field and saying what is wrong with it.

    Example
    -------
    >>> parse_model_config({"model": "rf", "params": {"n_estimators": 10}}).params
    {'n_estimators': 10}
    >>> parse_model_config({"model": "sklearn.ensemble.ExtraTreesClassifier", "params": {"n_trees": 10}})
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: Invalid model config: field 'params': ExtraTreesClassifier has no parameter(s) ['n_trees']; its parameters: [...].
    """
    if isinstance(data, ModelConfig):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"Invalid model config: expected a mapping with a 'model' field; got {type(data).__name__}.")
    try:
        return ModelConfig.model_validate(dict(data))
    except ValidationError as error:
        raise ConfigError(f"Invalid model config: {_field_errors(error)}.") from None


def seed_estimator(estimator, random_state: int | None):
    """Set every ``random_state`` parameter of ``estimator`` (and its steps) that is None to ``random_state``.

    Returns the estimator (changed in place); ``random_state=None`` changes nothing.

    Raises
    ------
    ConfigError
        ``random_state`` is not None, an integer from 0 to 2**32 - 1 or a numpy RandomState.

    Example
    -------
    >>> seed_estimator(make_model("rf"), 7).get_params()["model__random_state"]
    7
    >>> seed_estimator(make_model("rf"), -1)
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: seed_estimator: random_state must be None or an integer from 0 to 4294967295; got -1.
    """
    random_state = seed(random_state, "seed_estimator", generator=False)
    if random_state is None:
        return estimator
    unset = {key: random_state for key, value in estimator.get_params(deep=True).items()
             if (key == "random_state" or key.endswith("__random_state")) and value is None}
    return estimator.set_params(**unset) if unset else estimator


def make_model(model, *, random_state: int | None = None, stats=None, **params):
    """An unfitted model from a name, a dotted path, a config or an estimator: labkit's one model builder.

    Parameters
    ----------
    model : str, mapping, ModelConfig or estimator
        A registered name (``"rf"``, ``"svm"``, ``"lgbm"``, ``"tempcnn"``...; see :func:`describe_models`), the
        dotted path of a scikit-learn classifier or regressor, a config (see :class:`ModelConfig`), or an estimator
        (cloned, so the one given is never fitted).
    random_state : int, optional
        Seeds every ``random_state`` parameter left unset; checked before the model is built (an integer from 0 to
        2**32 - 1, as scikit-learn takes).
    stats : list of str, optional
        With a name or a dotted path of a classical model: the temporal statistics of its features step
        (:class:`~labkit.models.series.SeriesFeatures`; default all of :data:`labkit.features.STATS`).
    **params : hyperparameters, with a name or a dotted path only.

    Returns
    -------
    estimator with scikit-learn's API, taking ``X (n_samples, n_time, n_band)``.

    Raises
    ------
    ConfigError
        Unknown name (listing the registered ones), bad path, unknown or invalid hyperparameter, bad
        ``random_state``.

    Example
    -------
    >>> make_model("sklearn.ensemble.ExtraTreesClassifier", n_estimators=5).named_steps["model"].n_estimators
    5
    >>> make_model("xgb")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: Invalid model config: field 'model': unknown model 'xgb'; choose a registered model (...) or the dotted import path of a scikit-learn estimator, such as 'sklearn.ensemble.ExtraTreesClassifier'.
    """
    from sklearn.base import clone

    random_state = seed(random_state, "make_model", generator=False)
    if isinstance(model, str):
        return parse_model_config({"model": model, "params": params, "stats": stats}).build(random_state)
    if stats is not None:
        raise ConfigError("make_model: stats go with a model name or a dotted path; for a config put them in its "
                          "'stats'.")
    if params:
        raise ConfigError(f"make_model: hyperparameters {sorted(params)} go with a model name or a dotted path; "
                          "for a config put them in its 'params', for an estimator use set_params.")
    if isinstance(model, ModelConfig | Mapping):
        return parse_model_config(model).build(random_state)
    if callable(getattr(model, "fit", None)) and callable(getattr(model, "get_params", None)):
        return seed_estimator(clone(model), random_state)
    raise ConfigError(f"make_model: expected a model name, a config or an estimator; got {type(model).__name__}.")


def describe_model(model) -> str:
    """A short name for a model given to :func:`make_model` (for reports).

    Example
    -------
    >>> describe_model("rf"), describe_model({"model": "svm", "params": {"C": 10}})
    ('rf', 'svm')
    """
    if isinstance(model, str):
        return model
    if isinstance(model, ModelConfig):
        return model.model + (" per region" if model.per_region else "")
    if isinstance(model, Mapping):
        return str(model.get("model", "?")) + (" per region" if model.get("per_region") else "")
    return type(model).__name__
