"""Checked numeric options: argparse ``type=`` converters that refuse a bad value before any work.

argparse prints their message after the option's name and exits with code 2, e.g.
``labkit cv: error: argument --random-state: expected an integer from 0 to 4294967295, got '-1'``. The ranges match what
the library functions take (a seed: what numpy and scikit-learn accept).

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit cv")
>>> _ = parser.add_argument("--folds", type=int_in(2), default=5)
>>> parser.parse_args(["--folds", "3"]).folds
3
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable

SEED_MAX = 2**32 - 1
"""The largest seed numpy's legacy generators, hence scikit-learn's ``random_state``, take."""


def _integer_range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"an integer from {lo} to {hi}"
    if lo is not None:
        return f"an integer >= {lo}"
    return f"an integer <= {hi}" if hi is not None else "an integer"


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """A converter to an integer in ``[lo, hi]`` (None: no bound).

    Example
    -------
    >>> int_in(1, 73)("12")
    12
    >>> int_in(1, 73)("80")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer from 1 to 73, got '80'
    """
    expected = _integer_range(lo, hi)

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    convert.__name__ = expected  # what argparse names the type in other messages
    return convert


non_negative_int = int_in(0)
"""An integer >= 0."""

positive_int = int_in(1)
"""An integer >= 1."""

seed = int_in(0, SEED_MAX)
"""A ``--random-state``, as scikit-learn takes it: an integer from 0 to 2**32 - 1."""


def fraction(lo: float = 0.0, hi: float = 1.0, *, closed: str = "both") -> Callable[[str], float]:
    """A converter to a finite number between ``lo`` and ``hi``.

    Parameters
    ----------
    lo, hi : float, default 0 and 1
    closed : {"both", "neither", "left", "right"}, default "both"
        Which bounds are allowed.

    Example
    -------
    >>> fraction(closed="neither")("0.7")
    0.7
    >>> fraction(closed="neither")("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number strictly between 0 and 1, got '1'
    """
    if closed not in ("both", "neither", "left", "right"):
        raise ValueError(f"fraction: closed must be 'both', 'neither', 'left' or 'right'; got {closed!r}")
    low_ok = closed in ("both", "left")
    high_ok = closed in ("both", "right")
    expected = {"both": f"a number from {lo:g} to {hi:g}", "neither": f"a number strictly between {lo:g} and {hi:g}",
                "left": f"a number >= {lo:g} and < {hi:g}", "right": f"a number > {lo:g} and <= {hi:g}"}[closed]

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        inside = math.isfinite(value) and (lo < value or (low_ok and value == lo)) and \
            (value < hi or (high_ok and value == hi))
        if not inside:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    convert.__name__ = expected
    return convert


probability = fraction(0.0, 1.0)
"""A number from 0 to 1, bounds included (a share, a probability)."""


def number_above(lo: float | None = None) -> Callable[[str], float]:
    """A converter to a finite number, strictly above ``lo`` when it is given (coordinates, resolutions).

    Example
    -------
    >>> number_above(0)("10"), number_above()("-5.5")
    (10.0, -5.5)
    >>> number_above(0)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number > 0, got '0'
    """
    expected = "a finite number" if lo is None else f"a number > {lo:g}"

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or (lo is not None and value <= lo):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    convert.__name__ = expected
    return convert


def model_params(text: str | None) -> dict:
    """The ``--params`` option: a model's hyperparameters as a JSON object (``{}`` when not given).

    Example
    -------
    >>> model_params('{"n_estimators": 50}'), model_params(None)
    ({'n_estimators': 50}, {})
    """
    from ..errors import ConfigError

    if text is None:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--params is not valid JSON ({error.msg} at character {error.pos}): {text!r}.") from None
    if not isinstance(params, dict):
        raise ConfigError(f"--params must be a JSON object of hyperparameters, e.g. '{{\"C\": 10}}'; got {text!r}.")
    return params


def memory_size(text: str) -> str:
    """The ``--memory`` option: a size such as ``2GB`` or ``512MiB`` (checked now, kept as given).

    Example
    -------
    >>> memory_size("2GB")
    '2GB'
    """
    from ..errors import ConfigError
    from ..tiling import parse_memory

    try:
        parse_memory(text)
    except ConfigError:
        raise argparse.ArgumentTypeError(f"expected a size such as 2GB or 512MiB, got {text!r}") from None
    return text


def takes_param(model: str, name: str) -> bool:
    """Whether the registered model ``model`` has the hyperparameter ``name`` (``progress`` for the networks' bar
    over epochs, ``random_state``...); False for a name that is not registered.

    Example
    -------
    >>> takes_param("tempcnn", "progress"), takes_param("rf", "progress"), takes_param("rf", "random_state")
    (True, False, True)
    """
    from ..models import MODELS
    from ..models.registry import _param_names, resolve_estimator_class

    entry = MODELS.get(model)
    if entry is None or entry.estimator is None:
        return False
    return name in (_param_names(resolve_estimator_class(entry.estimator)) or ())
