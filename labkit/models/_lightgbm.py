"""LightGBM's hyperparameters, checked before fitting as scikit-learn checks its own.

:class:`lightgbm.LGBMClassifier` declares no ``_parameter_constraints``: a wrong name is taken silently (it goes to
LightGBM through ``**kwargs``) and a wrong value only fails inside ``fit``, as a long ``LightGBMError`` traceback.
This module gives the registry (:mod:`labkit.models.registry`) what it needs to refuse both when the model is built:

* :func:`param_names`: every name LightGBM takes (the estimator's own parameters, LightGBM's parameters and their
  aliases);
* :func:`check_params`: the values of a LightGBM estimator, against constraints derived from its signature's type
  hints, narrowed by :data:`RANGES` (LightGBM's documented ranges) for the common parameters, with scikit-learn's
  messages ("The 'num_leaves' parameter of LGBMClassifier must be an int in the range (1, 131072]. Got 'many'
  instead.");
* :func:`fit_errors`: a backstop, turning a ``LightGBMError`` raised while fitting into a
  :class:`~labkit.errors.ConfigError` that names the model.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import re
import types
import typing
from contextlib import contextmanager
from numbers import Integral, Real

from ..errors import ConfigError

DOCS = "https://lightgbm.readthedocs.io/en/latest/Parameters.html"

RANGES: dict[str, tuple[type, float | None, float | None, str]] = {
    "num_iterations": (Integral, 0, None, "left"),  # n_estimators, num_trees, ...
    "learning_rate": (Real, 0, None, "neither"),
    "num_leaves": (Integral, 1, 131072, "right"),
    "max_depth": (Integral, None, None, "neither"),  # <= 0: no limit
    "min_data_in_leaf": (Integral, 0, None, "left"),  # min_child_samples
    "min_sum_hessian_in_leaf": (Real, 0, None, "left"),  # min_child_weight
    "min_gain_to_split": (Real, 0, None, "left"),  # min_split_gain
    "bagging_fraction": (Real, 0, 1, "right"),  # subsample
    "bagging_freq": (Integral, None, None, "neither"),  # subsample_freq; 0 disables bagging
    "feature_fraction": (Real, 0, 1, "right"),  # colsample_bytree
    "lambda_l1": (Real, 0, None, "left"),  # reg_alpha
    "lambda_l2": (Real, 0, None, "left"),  # reg_lambda
    "max_bin": (Integral, 1, None, "neither"),
    "bin_construct_sample_cnt": (Integral, 0, None, "neither"),  # subsample_for_bin
}
"""LightGBM's documented ranges (see :data:`DOCS`) of its common parameters, by canonical name: ``(type, low,
high, closed)`` as :class:`sklearn.utils._param_validation.Interval` takes them. They apply under every alias."""


def is_lightgbm(obj) -> bool:
    """Whether ``obj`` (a class or an estimator) is one of LightGBM's scikit-learn estimators, without importing it.

    Example
    -------
    >>> from lightgbm import LGBMClassifier
    >>> is_lightgbm(LGBMClassifier), is_lightgbm(LGBMClassifier()), is_lightgbm(dict)
    (True, True, False)
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    return any(base.__module__.startswith("lightgbm.") and base.__name__ == "LGBMModel" for base in cls.__mro__)


@functools.cache
def _aliases() -> dict[str, str]:
    """``{name or alias: canonical name}`` of every LightGBM parameter (empty if this LightGBM cannot say)."""
    try:
        from lightgbm.basic import _ConfigAliases

        table = _ConfigAliases._get_all_param_aliases()
    except Exception:  # noqa: BLE001  (a private API: without it, names are not checked)
        return {}
    return {alias: name for name, aliases in table.items() for alias in (name, *aliases)}


def param_names(cls) -> list[str] | None:
    """Every hyperparameter name a LightGBM estimator class takes: its own and LightGBM's, aliases included.

    None when this LightGBM does not list its parameters (then any name is taken, as LightGBM does).

    Example
    -------
    >>> from lightgbm import LGBMClassifier
    >>> names = param_names(LGBMClassifier)
    >>> "num_leaves" in names, "feature_fraction" in names, "num_leave" in names
    (True, True, False)
    """
    aliases = _aliases()
    if not aliases:
        return None
    own = [p.name for p in inspect.signature(cls).parameters.values() if p.kind is not p.VAR_KEYWORD]
    return own + sorted(set(aliases) - set(own))


def _interval(kind: type, low=None, high=None, closed: str = "neither"):
    from sklearn.utils._param_validation import Interval

    return Interval(kind, low, high, closed=closed)


def _hint_constraints(hint) -> list | None:
    """scikit-learn constraints for a type hint (``int``, ``float``, ``Optional[int]``, ``Union[str, Callable]``...);
    None when the hint says nothing checkable (``Any``, no hint)."""
    if hint is inspect.Parameter.empty or hint is typing.Any:
        return None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_hint_constraints(arg) for arg in typing.get_args(hint)]
        return None if any(p is None for p in parts) else [c for p in parts for c in p]
    if hint is type(None):
        return [None]
    simple = {bool: ["boolean"], int: [_interval(Integral)], float: [_interval(Real)]}
    if hint in simple:
        return simple[hint]
    hint = typing.get_origin(hint) or hint  # Dict[str, int] -> dict, Callable[...] -> collections.abc.Callable
    if hint is collections.abc.Callable:
        return [callable]
    return [hint] if inspect.isclass(hint) else None


def _signature_constraints(cls) -> dict[str, list]:
    """Constraints of ``cls``'s parameters from its signature: the type hint, or else the type of a number default."""
    constraints = {}
    for name, parameter in inspect.signature(cls).parameters.items():
        hint = parameter.annotation
        if hint is inspect.Parameter.empty and type(parameter.default) in (int, float):
            hint = type(parameter.default)
        found = _hint_constraints(hint)
        if found is not None:
            constraints[name] = found
    return constraints


def _constraints(estimator, names) -> dict[str, list]:
    """Constraints of the parameters ``names`` of a LightGBM estimator: :data:`RANGES` (under any alias), else the
    signature's types."""
    from_signature = _signature_constraints(type(estimator))
    aliases = _aliases()
    constraints = {}
    for name in names:
        canonical = aliases.get(name, name)
        if canonical in RANGES:
            kind, low, high, closed = RANGES[canonical]
            constraints[name] = [_interval(kind, low, high, closed)]
        elif name in from_signature:
            constraints[name] = from_signature[name]
    return constraints


def check_params(estimator) -> None:
    """Check the hyperparameter values of a LightGBM estimator now, not in ``fit``.

    Raises
    ------
    ConfigError
        Naming the parameter, what it must be and what it is (scikit-learn's wording).

    Example
    -------
    >>> from lightgbm import LGBMClassifier
    >>> check_params(LGBMClassifier(num_leaves=15, feature_fraction=0.5))
    >>> check_params(LGBMClassifier(subsample=2))
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: The 'subsample' parameter of LGBMClassifier must be a float in the range (0.0, 1.0]. Got 2 instead.
    """
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    params = estimator.get_params(deep=False)
    try:
        validate_parameter_constraints(_constraints(estimator, params), params, caller_name=type(estimator).__name__)
    except InvalidParameterError as error:
        raise ConfigError(str(error)) from None


@contextmanager
def fit_errors(model: str):
    """Turn a ``LightGBMError`` raised inside the block into a :class:`~labkit.errors.ConfigError` naming ``model``.

    The backstop for what :func:`check_params` cannot see (an unknown objective, a value out of a range it does not
    know); the message keeps LightGBM's first line.

    Example
    -------
    >>> from lightgbm.basic import LightGBMError
    >>> with fit_errors("lgbm"):
    ...     raise LightGBMError("Check failed: (num_leaves) > (1) at /src/io/config_auto.cpp, line 352 .")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: fitting model 'lgbm' failed in LightGBM: Check failed: (num_leaves) > (1). Check its hyperparameters (see https://lightgbm.readthedocs.io/en/latest/Parameters.html).
    """
    try:
        yield
    except Exception as error:
        if not (type(error).__name__ == "LightGBMError" and type(error).__module__.startswith("lightgbm")):
            raise
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        first = re.sub(r"\s+at \S+, line \d+\s*\.?\s*$", "", first).strip().rstrip(".")  # C++ source position
        raise ConfigError(f"fitting model {model!r} failed in LightGBM: {first}. Check its hyperparameters (see "
                          f"{DOCS}).") from None
