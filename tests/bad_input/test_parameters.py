"""Bad hyperparameters, bad parameters and bad command-line options: refused before any work, with a message that
names them.

Issue 7. Unknown hyperparameters of every kind of model (registered, dotted path, through ``make_model``,
``make_model``, a config or ``labkit cv --params``) give a ConfigError with "did you mean" and the accepted names;
LightGBM's values are checked when the model is built; a LightGBMError raised while fitting becomes a ConfigError;
every numeric option of every command is checked by argparse; every seed, number and flag of the models, inference,
accuracy, samples and post-processing stages is checked by :mod:`labkit.params`.
"""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.accuracy import (
    assess_accuracy,
    draw_stratified_sample,
    estimate_area,
    pixel_counts,
    stratified_sample_design,
)
from labkit.cli import build_parser, main
from labkit.cli._options import fraction, int_in
from labkit.errors import ConfigError
from labkit.inference import predict_cube
from labkit.io import write_samples
from labkit.models import (
    cross_validate,
    fit_model,
    make_folds,
    make_model,
    parse_model_config,
    search_hyperparameters,
    seed_estimator,
)
from labkit.postprocess import fuse_class_maps, fuse_probabilities
from labkit.samples import (
    PolygonKFold,
    PolygonSplit,
    assign_regions,
    balance_classes,
    extract_samples,
    split_by_group,
    split_folds,
    split_runs,
)

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
def test_make_model_goes_through_the_same_check(name, params, close):
    with pytest.raises(ConfigError, match=rf"model '{name}' .* has no parameter\(s\) .*did you mean '{close}'\?"):
        make_model(name, **params)


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
        make_model("lgbm", **params)


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
    ([*CV, "--random-state", "-1"], "--random-state", "an integer from 0 to 4294967295"),
    ([*CV, "--random-state", str(2**32)], "--random-state", "an integer from 0 to 4294967295"),
    (["train", "s.nc", "--model", "rf", "--out", "m.zip", "--random-state", "-2"], "--random-state",
     "an integer from 0 to 4294967295"),
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
    (["demo", "--random-state", "-3"], "--random-state", "an integer from 0 to 4294967295"),
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
    (["cv", "s.nc", "--model", "rf", "--random-states", "3"], "labkit cv: error: unrecognized arguments: "
                                                               "--random-states (did you mean --random-state?) 3"),
    (["cv", "s.nc", "--model", "rf", "--seed", "3"], "labkit cv: error: unrecognized arguments: --seed 3"),
    (["synth", "--out", "a.zarr", "--cloudcover", "0.1"], "--cloudcover (did you mean --cloud-cover?)"),
    (["course", "build", "--outt", "x"], "--outt (did you mean --out?)"),
    (["demo", "--tres", "5"], "--tres (did you mean --trees?)"),
])
def test_a_misspelt_option_gets_a_did_you_mean(argv, said, capsys):
    code, err = _exit_code(argv, capsys)
    assert code == 2 and said in err and "Traceback" not in err


# ------------------------------------------------------------------------------- library parameters (issue 7)
# Every number, flag and seed a public function of the models, inference, accuracy, samples and post-processing
# stages takes is checked by labkit.params before any work: a ConfigError "WHO: NAME must be EXPECTED; got VALUE."


RF = {"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}}
SEED_WORDS = r"random_state must be None or an integer from 0 to 4294967295; got "
SEED_CALLS = {  # (who, call(samples, seed)): every public function of these stages that takes a random_state
    "split_by_group": lambda s, seed: split_by_group(s, random_state=seed),
    "split_runs": lambda s, seed: split_runs(s, 2, random_state=seed),
    "split_folds": lambda s, seed: split_folds(s, 3, random_state=seed),
    "balance_classes": lambda s, seed: balance_classes(s, max_per_class=4, random_state=seed),
    "PolygonSplit": lambda s, seed: PolygonSplit(random_state=seed).split(None, s.label.values, s.group.values),
    "PolygonKFold": lambda s, seed: PolygonKFold(3, random_state=seed).split(None, s.label.values, s.group.values),
    "make_folds": lambda s, seed: make_folds(s, 3, random_state=seed),
    "cross_validate": lambda s, seed: cross_validate(s, RF, folds=3, random_state=seed),
    "search_hyperparameters": lambda s, seed: search_hyperparameters(RF, s, {"max_depth": [2]}, folds=3,
                                                                     random_state=seed),
    "make_model": lambda s, seed: make_model("rf", random_state=seed),
    "ModelConfig.build": lambda s, seed: parse_model_config(RF).build(seed),
    "seed_estimator": lambda s, seed: seed_estimator(make_model("rf"), seed),
    "draw_stratified_sample": lambda s, seed: draw_stratified_sample(
        _class_map(), {1: 1}, random_state=seed),
}


@pytest.mark.parametrize("bad", ["abc", -1, -5, 2**32, 1.5, True])
@pytest.mark.parametrize("who", SEED_CALLS)
def test_bad_seeds_are_refused_by_name_before_any_work(samples, who, bad):  # audit #31-36
    with pytest.raises(ConfigError, match=rf"^{re.escape(who)}: {SEED_WORDS}{re.escape(repr(bad))}\.$"):
        SEED_CALLS[who](samples, bad)


SKLEARN_SEEDED = ["split_folds", "PolygonKFold", "make_folds", "cross_validate", "search_hyperparameters",
                  "make_model", "ModelConfig.build", "seed_estimator"]


@pytest.mark.parametrize("who", SEED_CALLS)
def test_a_numpy_generator_seeds_numpy_draws_but_not_scikit_learn(samples, who):
    generator = np.random.default_rng(0)
    if who not in SKLEARN_SEEDED:
        SEED_CALLS[who](samples, generator)
        return
    with pytest.raises(ConfigError, match=rf"^{re.escape(who)}: random_state must be None, an integer from 0 to "
                                          r"4294967295 or a numpy RandomState \(scikit-learn takes no numpy "
                                          r"Generator\); got Generator"):
        SEED_CALLS[who](samples, generator)


def test_make_model_seed_was_accepted_and_failed_only_at_fit(samples):  # audit #35-36: now refused at once
    with pytest.raises(ConfigError, match=r"^make_model: random_state .* got -1\.$"):
        make_model("rf", random_state=-1)
    assert make_model("rf", random_state=4294967295).get_params()["model__random_state"] == 4294967295


@pytest.mark.parametrize(("kwargs", "name", "expected"), [
    ({"folds": 1}, "folds", "an integer >= 2"),
    ({"folds": "3"}, "folds", "an integer >= 2"),
    ({"folds": 2.0}, "folds", "an integer >= 2"),
])
def test_cross_validate_checks_folds(samples, kwargs, name, expected):
    with pytest.raises(ConfigError, match=rf"^cross_validate: {name} must be {expected}; got "):
        cross_validate(samples, RF, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_iter": 0}, r"n_iter must be an integer >= 1; got 0\."),
    ({"n_iter": "5"}, r"n_iter must be an integer >= 1; got '5'\."),
    ({"n_jobs": 1.5}, r"n_jobs must be an integer; got 1\.5\."),
    ({"n_jobs": 0}, r"n_jobs must be None or a non-zero integer \(-1: every processor\); got 0\."),
    ({"folds": 1}, r"folds must be an integer >= 2; got 1\."),
])
def test_search_checks_its_numbers(samples, kwargs, message):
    with pytest.raises(ConfigError, match=rf"^search_hyperparameters: {message}$"):
        search_hyperparameters(RF, samples, {"max_depth": [2]}, **kwargs)


def test_sample_weight_must_give_one_finite_weight_per_sample(samples):
    n = samples.sizes["sample"]
    with pytest.raises(ConfigError, match=rf"^fit_model: sample_weight must give one number per sample \({n}\); got "
                                          r"float64 values of shape \(3,\)\.$"):
        fit_model(make_model(RF), samples, sample_weight=np.ones(3))
    weights = np.ones(n)
    weights[5] = np.nan
    with pytest.raises(ConfigError, match=r"^fit_model: sample_weight must hold finite numbers >= 0; got nan at "
                                          r"position 5"):
        fit_model(make_model(RF), samples, sample_weight=weights)


# ------------------------------------------------------------------------------------------------ inference


@pytest.mark.parametrize("block", ["64", 2.5, 0, -3, True, (4,), (4, 0), (4, 2.5), (4, 4, 4)])
def test_predict_cube_block_must_be_a_side_or_a_pair(cube, samples, block):  # audit #48-50
    model = fit_model(make_model(RF), samples.isel(time=[0, 1, 2, 3]))
    with pytest.raises(ConfigError, match=r"^predict_cube: block must be None \(chosen from the memory budget\), an "
                                          r"integer >= 1 \(a square block's side\) or a \(rows, columns\) pair of "
                                          rf"them; got {re.escape(repr(block))}\.$"):
        predict_cube(cube, model, block=block)


@pytest.mark.parametrize("memory", ["lots", 0, -1, True])
def test_predict_cube_memory_must_be_a_size(cube, samples, memory):
    model = fit_model(make_model(RF), samples.isel(time=[0, 1, 2, 3]))
    with pytest.raises(ConfigError, match=r"^predict_cube: the memory budget must be a size such as '2GB'"):
        predict_cube(cube, model, block=4, memory=memory)


def test_predict_cube_progress_must_be_a_flag(cube):
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(np.zeros((2, 12)), [1, 2])
    with pytest.raises(ConfigError, match=r"^predict_cube: progress must be True or False; got 'no'\.$"):
        predict_cube(cube, model, progress="no")


# ------------------------------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("class_names", ["abc", ["crop", "water"], 3])
def test_class_names_must_be_a_mapping_of_codes(class_names):  # audit #53
    message = (r"class_names must be a mapping \{class code: name\}, such as \{1: 'crop', 2: 'forest'\}; got "
               + re.escape(repr(class_names)))
    with pytest.raises(ConfigError, match=r"^assess_accuracy: " + message):
        assess_accuracy([1, 2, 3], [1, 2, 3], class_names=class_names)
    with pytest.raises(ConfigError, match=r"^estimate_area: " + message):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], {1: 10, 2: 10}, class_names=class_names)
    with pytest.raises(ConfigError, match=r"^stratified_sample_design: " + message):
        stratified_sample_design({1: 10, 2: 10}, class_names=class_names)


def test_class_names_keys_must_be_codes():
    with pytest.raises(ConfigError, match=r"^assess_accuracy: class_names' keys must hold integer class codes; got "
                                          r"<U4 values such as 'crop'"):
        assess_accuracy([1, 2], [1, 2], class_names={"crop": 1})
    assert assess_accuracy([1, 2], [1, 2], class_names={1: "crop"}).name(1) == "crop"


NOT_STRATA = "not strata"  # would be refused by the strata check: a parameter check that comes first wins


@pytest.mark.parametrize(("kwargs", "name", "expected", "got"), [
    ({"pixel_area": "100"}, "pixel_area", "a finite number > 0", "'100'"),  # audit #54
    ({"pixel_area": 0}, "pixel_area", "a finite number > 0", "0.0"),
    ({"pixel_area": float("inf")}, "pixel_area", "a finite number > 0", "inf"),
    ({"z": "95%"}, "z", "a finite number > 0", "'95%'"),  # audit #55
    ({"z": -1.96}, "z", "a finite number > 0", "-1.96"),  # audit #57: would give low > high
    ({"z": float("nan")}, "z", "a finite number > 0", "nan"),  # audit #58: would give NaN intervals
    ({"z": 0}, "z", "a finite number > 0", "0.0"),
    ({"nodata": "255"}, "nodata", "an integer", "'255'"),
])
def test_estimate_area_checks_its_numbers_first(kwargs, name, expected, got):
    with pytest.raises(ConfigError, match=rf"^estimate_area: {name} must be {expected}; got {re.escape(got)}\.$"):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], NOT_STRATA, **kwargs)


@pytest.mark.parametrize(("labels", "message"), [
    ([1, float("nan")], r"labels must hold integer class codes; got nan at position 1"),  # audit #56
    ([1, 2.5], r"labels must hold integer class codes; got 2\.5 at position 1"),
    (["crop", "water"], r"labels must hold integer class codes; got <U5 values such as 'crop'"),
])
def test_estimate_area_checks_labels_first(labels, message):
    with pytest.raises(ConfigError, match=rf"^estimate_area: {message}"):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], NOT_STRATA, labels=labels)
    with pytest.raises(ConfigError, match=rf"^assess_accuracy: {message}"):
        assess_accuracy([1, 2], [1, 2], labels=labels)


def test_estimate_area_unit_is_a_name():
    with pytest.raises(ConfigError, match=r"^estimate_area: unit must be None or the name of the area unit"):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], NOT_STRATA, unit=100)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target_se": "0.01"}, r"target_se must be a finite number > 0 and < 1; got '0\.01'\."),
    ({"target_se": float("nan")}, r"target_se must be a finite number > 0 and < 1; got nan\."),
    ({"n_total": "100"}, r"n_total must be an integer >= 1; got '100'\."),
    ({"n_total": 0}, r"n_total must be an integer >= 1; got 0\."),
    ({"min_per_class": 1.5}, r"min_per_class must be an integer >= 0; got 1\.5\."),
    ({"expected_user_accuracy": "0.8"}, r"expected_user_accuracy must be a finite number from 0 to 1; got '0\.8'\."),
    ({"expected_user_accuracy": {1: 0.9, 2: -0.1}}, r"expected_user_accuracy\[2\] must be a finite number from 0 to "
                                                    r"1; got -0\.1\."),
    ({"expected_user_accuracy": {"crop": 0.9}}, r"a class code of expected_user_accuracy must be an integer; got "
                                                r"'crop'\."),
    ({"nodata": 2.5}, r"nodata must be an integer; got 2\.5\."),
])
def test_sample_design_checks_its_numbers_before_counting_the_map(kwargs, message):
    with pytest.raises(ConfigError, match=rf"^stratified_sample_design: {message}$"):
        stratified_sample_design(NOT_STRATA, **kwargs)


@pytest.mark.parametrize(("allocation", "message"), [
    ({1: 2.5}, r"the number of points of class 1 must be an integer >= 0; got 2\.5\."),
    ({1: "3"}, r"the number of points of class 1 must be an integer >= 0; got '3'\."),
    ({"crop": 3}, r"a class code of allocation must be an integer; got 'crop'\."),
])
def test_draw_checks_the_allocation(allocation, message):
    class_map = _class_map()
    with pytest.raises(ConfigError, match=rf"^draw_stratified_sample: {message}$"):
        draw_stratified_sample(class_map, allocation, random_state=0)
    with pytest.raises(ConfigError, match=r"^draw_stratified_sample: nodata must be an integer; got 'x'\.$"):
        draw_stratified_sample(class_map, {1: 1}, random_state=0, nodata="x")


def test_pixel_counts_checks_nodata():
    with pytest.raises(ConfigError, match=r"^pixel_counts: nodata must be an integer; got 254\.5\.$"):
        pixel_counts(xr.DataArray(np.ones((2, 2), "uint8"), dims=("y", "x")), nodata=254.5)


# ------------------------------------------------------------------------------------------- post-processing


def _class_map(value=1):
    return xr.DataArray(np.full((2, 3), value, "uint8"), dims=("y", "x"), coords={"y": [15.0, 5.0],
                                                                                    "x": [5.0, 15.0, 25.0]})


@pytest.mark.parametrize(("kwargs", "name", "got"), [
    ({"undecided": "254"}, "undecided", "'254'"),
    ({"undecided": 253.5}, "undecided", "253.5"),
    ({"nodata": None}, "nodata", "None"),
])
def test_fuse_class_maps_codes_are_integers(kwargs, name, got):
    with pytest.raises(ConfigError, match=rf"^fuse_class_maps: {name} must be an integer; got {re.escape(got)}\.$"):
        fuse_class_maps([_class_map(), _class_map(2)], **kwargs)


def test_fusions_take_a_sequence_of_runs_not_one_array():
    with pytest.raises(ConfigError, match=r"^fuse_class_maps: maps must be a sequence of class maps \(y, x\), one per "
                                          r"run \(a list\); got a DataArray\.$"):
        fuse_class_maps(_class_map())
    probs = xr.DataArray(np.full((2, 2, 3), 0.5), dims=("class", "y", "x"),
                         coords={"class": [1, 2], "y": [15.0, 5.0], "x": [5.0, 15.0, 25.0]})
    with pytest.raises(ConfigError, match=r"^fuse_probabilities: probs_list must be a sequence of probabilities"):
        fuse_probabilities(probs)
    with pytest.raises(ConfigError, match=r"^fuse_probabilities: nodata must be an integer; got '255'\.$"):
        fuse_probabilities([probs], nodata="255")


# --------------------------------------------------------------------------------------------------- samples


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: split_by_group(s, train_size="0.7"), r"split_by_group: train_size must be a finite number > 0 and < 1; "
                                                    r"got '0\.7'\."),
    (lambda s: split_by_group(s, train_size=float("nan")), r"split_by_group: train_size must be a finite number > 0 "
                                                           r"and < 1; got nan\."),
    (lambda s: split_by_group(s, by_region="yes"), r"split_by_group: by_region must be True or False; got 'yes'\."),
    (lambda s: split_runs(s, "2"), r"split_runs: n_runs must be an integer >= 1; got '2'\."),
    (lambda s: split_folds(s, 1), r"split_folds: n_splits must be an integer >= 2; got 1\."),
    (lambda s: split_folds(s, 3, stratify="no"), r"split_folds: stratify must be True or False; got 'no'\."),
    (lambda s: split_folds(s, 3, shuffle=1), r"split_folds: shuffle must be True or False; got 1\."),
    (lambda s: list(PolygonKFold(2.5).split(None, s.label.values, s.group.values)),
     r"PolygonKFold: n_splits must be an integer >= 2; got 2\.5\."),
    (lambda s: list(PolygonSplit(train_size=1).split(None, s.label.values, s.group.values)),
     r"PolygonSplit: train_size must be a finite number > 0 and < 1; got 1\.0\."),
    (lambda s: balance_classes(s, max_per_class=2.5), r"balance_classes: max_per_class must be an integer >= 1; got "
                                                      r"2\.5\."),
    (lambda s: balance_classes(s, min_per_class="3", oversample=True), r"balance_classes: min_per_class must be an "
                                                                       r"integer >= 1; got '3'\."),
    (lambda s: balance_classes(s, oversample="no"), r"balance_classes: oversample must be True or False; got 'no'\."),
])
def test_splitters_and_balancing_check_their_parameters(samples, call, message):
    with pytest.raises(ConfigError, match=rf"^{message}$"):
        call(samples)


def test_extract_samples_checks_its_numbers_and_flags_first(cube):
    with pytest.raises(ConfigError, match=r"^extract_samples: min_samples_per_class must be an integer >= 0; got "
                                          r"1\.5\.$"):
        extract_samples(cube, None, min_samples_per_class=1.5)  # before the polygons are looked at
    with pytest.raises(ConfigError, match=r"^extract_samples: all_touched must be True or False; got 'yes'\.$"):
        extract_samples(cube, None, all_touched="yes")


def test_assign_regions_field_that_cannot_name_a_column(samples):
    import geopandas as gpd
    from shapely.geometry import box

    located = samples.assign(x=("sample", np.full(24, 5.0)), y=("sample", np.full(24, 5.0)))
    located.attrs["crs"] = "EPSG:32631"
    zones = gpd.GeoDataFrame({"zone": [1]}, geometry=[box(0, 0, 10, 10)], crs=32631)
    with pytest.raises(ConfigError, match=r"^assign_regions: the regions have no field \['zone'\]; fields: "
                                          r"\['zone'\]\.$"):
        assign_regions(located, zones, field=["zone"])


def test_read_pixels_refuses_positions_outside_the_cube(cube):
    from labkit.samples import read_pixels

    with pytest.raises(ConfigError, match=r"^read_pixels: iy must hold positions from 0 to 63; got -1 at position 1 "
                                          r"\(1 outside\)\.$"):
        read_pixels(cube, [0, -1], [0, 0])  # a negative row would silently be read from the bottom
    with pytest.raises(ConfigError, match=r"^read_pixels: ix must hold positions from 0 to 63; got 64 at position 0"):
        read_pixels(cube, [0], [64])
    with pytest.raises(ConfigError, match=r"^read_pixels: iy must hold integer pixel positions; got float64 values "
                                          r"such as 1\.5\.$"):
        read_pixels(cube, [1.5], [0])
    with pytest.raises(ConfigError, match=r"^read_pixels: iy and ix must give one row and one column per pixel; got "
                                          r"2 rows and 1 columns\.$"):
        read_pixels(cube, [0, 1], [0])


def test_a_seed_among_the_hyperparameters_is_checked_too():
    with pytest.raises(ConfigError, match=r"^make_model: random_state must be None or an integer from 0 to "
                                          r"4294967295; got -1\.$"):
        make_model("lgbm", random_state=-1)  # LightGBM's own check takes any integer
    with pytest.raises(ConfigError, match=r"model 'lgbm': random_state must be None or an integer from 0 to "
                                          r"4294967295; got -1\.$"):
        make_model({"model": "lgbm", "params": {"random_state": -1}})
    with pytest.raises(ConfigError, match=r"^Invalid model config: field 'params': model 'rf': random_state must be "
                                          r"None or an integer from 0 to 4294967295; got 'x'\.$"):
        make_model({"model": "rf", "params": {"random_state": "x"}})


def test_other_numbers_and_flags_of_the_stages(samples):
    from labkit.accuracy import MeanStd, plot_confusion_matrix

    with pytest.raises(ConfigError, match=r"^plot_confusion_matrix: normalize must be True or False; got 'no'\.$"):
        plot_confusion_matrix(assess_accuracy([1, 2], [1, 2]), normalize="no")
    with pytest.raises(ConfigError, match=r"^MeanStd\.format: digits must be an integer >= 0; got -1\.$"):
        MeanStd(0.9, 0.1).format(-1)
    with pytest.raises(ConfigError, match=r"^PolygonSplit: train_size must be a finite number > 0 and < 1; got 2\.0"):
        PolygonSplit(train_size=2).n_distinct_splits([1, 2], [1, 2])
    with pytest.raises(ConfigError, match=r"^make_folds: the sample set has no variable \['group'\] along 'sample' to "
                                          r"group by"):
        make_folds(samples, 3, group_by=["group"])


def test_fit_model_says_where_a_hyperparameter_goes():
    from labkit.models import fit_model

    s = dm.make_samples(np.arange(8.0).reshape(4, 1, 2), [1, 1, 2, 2], [0, 1, 2, 3], bands=["B04", "B08"])
    with pytest.raises(ConfigError, match=r"fit_model: 'random_state' is a hyperparameter of RandomForestClassifier, "
                                          r"not an argument of its fit\(\): build the model with it: "
                                          r"fit_model\(make_model\(<model name>, random_state=\.\.\.\), samples\)"):
        fit_model("rf", s, random_state=0)
    with pytest.raises(ConfigError, match=r"RandomForestClassifier\.fit\(\) takes no 'bogus'; it takes "
                                          r"\['sample_weight'\]"):
        fit_model("rf", s, bogus=1)
    assert fit_model("rf", s, sample_weight=np.ones(4)).predict(s.X.values).shape == (4,)
