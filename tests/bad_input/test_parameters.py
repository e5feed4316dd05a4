"""Bad hyperparameters and bad command-line options: refused before any work, with a message that names them.

Issue 7. Unknown hyperparameters of every kind of model (registered, dotted path, through ``make_classifier``,
``make_model``, a config or ``labkit cv --params``) give a ConfigError with "did you mean" and the accepted names;
LightGBM's values are checked when the model is built; a LightGBMError raised while fitting becomes a ConfigError;
every numeric option of every command is checked by argparse.
"""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest

import labkit.datamodel as dm
from labkit.cli import build_parser, main
from labkit.cli._options import fraction, int_in
from labkit.errors import ConfigError
from labkit.io import write_samples
from labkit.models import cross_validate, make_classifier, make_model, parse_model_config, search_hyperparameters

# ------------------------------------------------------------------------------------ unknown hyperparameters


@pytest.mark.parametrize(("model", "params", "owner", "close", "accepted"), [
    ("rf", {"n_estimator": 10}, r"model 'rf' \(RandomForestClassifier\)", "n_estimators", "max_depth"),
    ("rf", {"maxdepth": 3}, r"model 'rf' \(RandomForestClassifier\)", "max_depth", "n_estimators"),
    ("svm", {"c": 10}, r"model 'svm' \(CalibratedSVC\)", "C", "calibration_folds"),
    ("svm", {"gamme": 0.1}, r"model 'svm' \(CalibratedSVC\)", "gamma", "kernel"),
    ("lgbm", {"num_leave": 7}, r"model 'lgbm' \(LGBMClassifier\)", "num_leaves", "learning_rate"),
    ("lgbm", {"learning_rat": 0.1}, r"model 'lgbm' \(LGBMClassifier\)", "learning_rate", "num_leaves"),
    ("sklearn.ensemble.ExtraTreesClassifier", {"n_estimator": 5}, "ExtraTreesClassifier", "n_estimators",
     "criterion"),
    ("sklearn.neighbors.KNeighborsClassifier", {"n_neighbour": 3}, "KNeighborsClassifier", "n_neighbors", "weights"),
])
def test_unknown_hyperparameter_names_the_closest_and_the_accepted(model, params, owner, close, accepted):
    (name,) = params
    message = (rf"{owner} has no parameter\(s\) \['{name}'\] \(did you mean '{close}'\?\); its parameters: "
               rf"\[.*'{accepted}'")
    with pytest.raises(ConfigError, match=message):
        make_model(model, **params)
    with pytest.raises(ConfigError, match=r"^Invalid model config: field 'params': " + message):
        parse_model_config({"model": model, "params": params})


@pytest.mark.parametrize(("name", "params", "close"), [("rf", {"n_estimator": 10}, "n_estimators"),
                                                       ("svm", {"C": 1.0, "kernal": "linear"}, "kernel"),
                                                       ("lgbm", {"num_leave": 3}, "num_leaves")])
def test_make_classifier_goes_through_the_same_check(name, params, close):
    with pytest.raises(ConfigError, match=rf"^model '{name}' .* has no parameter\(s\) .*did you mean '{close}'\?"):
        make_classifier(name, **params)


def test_several_unknown_names_each_get_their_suggestion():
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['n_estimator', 'maxdepth'\] \(did you mean "
                                          r"'n_estimators' for 'n_estimator', 'max_depth' for 'maxdepth'\?\)"):
        make_model("rf", n_estimator=10, maxdepth=3)


def test_lightgbm_aliases_are_accepted_and_listed_in_the_message():
    model = make_model("lgbm", feature_fraction=0.5, min_data_in_leaf=3)  # LightGBM's own names, through **kwargs
    assert model.get_params()["model__feature_fraction"] == 0.5
    with pytest.raises(ConfigError, match=r"and LightGBM's own parameters and their aliases \(see https://lightgbm"):
        make_model("lgbm", feature_fractio=0.5)


# ------------------------------------------------------------------------------------------- LightGBM values


@pytest.mark.parametrize(("params", "message"), [
    ({"num_leaves": "many"}, r"'num_leaves' parameter of LGBMClassifier must be an int in the range \(1, 131072\]\. "
                             r"Got 'many' instead"),
    ({"learning_rate": "fast"}, r"'learning_rate' parameter of LGBMClassifier must be a float in the range "
                                r"\(0\.0, inf\)\. Got 'fast' instead"),
    ({"n_estimators": -3}, r"'n_estimators' parameter of LGBMClassifier must be an int in the range \[0, inf\)\. "
                           r"Got -3 instead"),
    ({"max_depth": 1.5}, r"'max_depth' parameter of LGBMClassifier must be an int .*Got 1\.5 instead"),
    ({"subsample": 2}, r"'subsample' parameter of LGBMClassifier must be a float in the range \(0\.0, 1\.0\]\. "
                       r"Got 2 instead"),
    ({"bagging_fraction": 0}, r"'bagging_fraction' parameter of LGBMClassifier must be a float in the range "
                              r"\(0\.0, 1\.0\]\. Got 0 instead"),  # an alias of subsample: the same range
    ({"boosting_type": 3}, r"'boosting_type' parameter of LGBMClassifier must be an instance of 'str'\. Got 3 "
                           r"instead"),  # from the signature's type hint
])
def test_lightgbm_values_are_checked_when_the_model_is_built(params, message):
    with pytest.raises(ConfigError, match=message):
        make_model("lgbm", **params)
    with pytest.raises(ConfigError, match=message):
        make_classifier("lgbm", **params)


def _samples(n_per_class=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2], n_per_class)
    X = rng.normal(size=(len(y), 3, 1)) + y[:, None, None]
    return dm.make_samples(X, y, np.arange(len(y)) // 3, bands=["NDVI"])


def test_lightgbm_error_while_fitting_becomes_a_config_error():
    config = {"model": "lgbm", "params": {"objective": "no-such-objective", "n_estimators": 3}}
    with pytest.raises(ConfigError, match=r"fitting model 'LGBMClassifier' failed in LightGBM: Unknown objective "
                                          r"type name: no-such-objective\. Check its hyperparameters"):
        cross_validate(_samples(), config, folds=2)


def test_search_checks_every_candidate_before_fitting():
    with pytest.raises(ConfigError, match=r"search_hyperparameters: candidate \{'num_leaves': 1\}: The "
                                          r"'num_leaves' parameter of LGBMClassifier must be an int in the range"):
        search_hyperparameters({"model": "lgbm", "params": {"n_estimators": 3}}, _samples(), {"num_leaves": [1, 4]},
                               folds=2)


def test_search_turns_a_lightgbm_error_into_a_config_error():
    with pytest.raises(ConfigError, match=r"fitting model 'lgbm' failed in LightGBM: Unknown objective type name"):
        search_hyperparameters({"model": "lgbm", "params": {"n_estimators": 3}}, _samples(),
                               {"objective": ["no-such-objective"]}, folds=2)


# ------------------------------------------------------------------------------------------- the command line


def _exit_code(argv, capsys) -> tuple[int, str]:
    code = main(argv)  # argparse's exit is turned into a return code
    return code, capsys.readouterr().err


CV = ["cv", "samples.nc", "--model", "rf"]
SYNTH = ["synth", "--out", "scene.zarr"]


@pytest.mark.parametrize(("argv", "option", "expected"), [
    ([*CV, "--folds", "1"], "--folds", "an integer >= 2"),
    ([*CV, "--folds", "two"], "--folds", "an integer >= 2"),
    ([*CV, "--seed", "-1"], "--seed", "an integer from 0 to 4294967295"),
    ([*CV, "--seed", str(2**32)], "--seed", "an integer from 0 to 4294967295"),
    ([*SYNTH, "--size", "0", "64"], "--size", "an integer >= 1"),
    ([*SYNTH, "--size", "64", "-5"], "--size", "an integer >= 1"),
    ([*SYNTH, "--dates", "0"], "--dates", "an integer from 1 to 73"),
    ([*SYNTH, "--dates", "74"], "--dates", "an integer from 1 to 73"),
    ([*SYNTH, "--seed", "-1"], "--seed", "an integer from 0 to 9223372036854775807"),
    ([*SYNTH, "--chunks", "0"], "--chunks", "an integer >= 1"),
    ([*SYNTH, "--cloud-cover", "1.5"], "--cloud-cover", "a number from 0 to 1"),
    ([*SYNTH, "--cloud-cover", "nan"], "--cloud-cover", "a number from 0 to 1"),
    ([*SYNTH, "--n-classes", "1"], "--n-classes", "an integer from 2 to 8"),
    ([*SYNTH, "--n-classes", "9"], "--n-classes", "an integer from 2 to 8"),
    (["demo", "--step", "0"], "--step", "an integer >= 1"),
    (["demo", "--train-size", "1"], "--train-size", "a number strictly between 0 and 1"),
    (["demo", "--train-size", "0"], "--train-size", "a number strictly between 0 and 1"),
    (["demo", "--trees", "0"], "--trees", "an integer >= 1"),
    (["demo", "--seed", "-3"], "--seed", "an integer from 0 to 4294967295"),
])
def test_bad_numeric_options_are_refused_by_argparse(argv, option, expected, capsys):
    code, err = _exit_code(argv, capsys)
    value = argv[argv.index(option) + 1:][:2]
    bad = next(v for v in value if v != "64")
    assert code == 2
    assert err.splitlines()[-1] == f"labkit {argv[0]}: error: argument {option}: expected {expected}, got {bad!r}"
    assert "Traceback" not in err


def _numeric_options(parser: argparse.ArgumentParser):
    """``(command, option)`` of every option of every command (and sub-command) whose type converts to a number."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for sub in subparsers:
        for name, command in sub.choices.items():
            for action in command._actions:
                if action.type in (int, float):
                    yield name, action.option_strings
            for inner in _numeric_options(command):
                yield (f"{name} {inner[0]}", inner[1])


def test_no_numeric_option_is_left_unchecked():
    assert list(_numeric_options(build_parser())) == []  # every one uses a converter of labkit.cli._options


def test_cli_ranges_match_the_library():
    from labkit.datasets.synthetic import _N_REVISITS, CLASS_NAMES

    dates, classes = (next(a for a in _synth_actions() if "--" + name in a.option_strings) for name in
                      ("dates", "n-classes"))
    assert dates.type(str(_N_REVISITS)) == _N_REVISITS and classes.type(str(len(CLASS_NAMES))) == len(CLASS_NAMES)
    for action, value in ((dates, _N_REVISITS + 1), (classes, len(CLASS_NAMES) + 1)):
        with pytest.raises(argparse.ArgumentTypeError):
            action.type(str(value))


def _synth_actions():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["synth"]._actions


def test_params_with_an_unknown_name_give_one_line(tmp_path, capsys):
    path = write_samples(_samples(), tmp_path / "s.nc")
    code = main(["cv", str(path), "--model", "rf", "--params", '{"n_estimator": 10}'])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(r"has no parameter\(s\) \['n_estimator'\] \(did you mean 'n_estimators'\?\)", err), err


@pytest.mark.parametrize(("converter", "good", "bad"), [
    (int_in(0), ["0", "7"], ["-1", "1.5", "x", ""]),
    (int_in(None, 3), ["-4", "3"], ["4"]),
    (fraction(closed="both"), ["0", "1", "0.5"], ["-0.1", "1.01", "inf", "nan"]),
    (fraction(closed="left"), ["0"], ["1"]),
    (fraction(closed="right"), ["1"], ["0"]),
])
def test_converters(converter, good, bad):
    for text in good:
        assert converter(text) == float(text)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=rf"^expected .*, got {re.escape(repr(text))}$"):
            converter(text)


@pytest.mark.parametrize(("argv", "said"), [
    (["cv", "s.nc", "--model", "rf", "--seeds", "3"], "labkit cv: error: unrecognized arguments: --seeds (did you "
                                                      "mean --seed?) 3"),
    (["synth", "--out", "a.zarr", "--cloudcover", "0.1"], "--cloudcover (did you mean --cloud-cover?)"),
    (["course", "build", "--outt", "x"], "--outt (did you mean --out?)"),
    (["demo", "--tres", "5"], "--tres (did you mean --trees?)"),
])
def test_a_misspelt_option_gets_a_did_you_mean(argv, said, capsys):
    code, err = _exit_code(argv, capsys)
    assert code == 2 and said in err and "Traceback" not in err
