"""The run config of ``labkit run``: its sections cannot drift from the stage functions, and its errors are precise."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
import yaml
from pydantic import BaseModel

from labkit.cli import main
from labkit.errors import ConfigError
from labkit.run import RunConfig, example_values, load_config
from labkit.run.config import Section
from labkit.run.load import _models_in

RUNNER_OWN = {"RunConfig", "TilesSection", "PostprocessSection", "ExecutionSection"}


def _sections(model=RunConfig, seen=None) -> set[type[BaseModel]]:
    seen = set() if seen is None else seen
    seen.add(model)
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            if inner not in seen:
                _sections(inner, seen)
    return seen


def _stage(dotted: str):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _keywords(target) -> set[str]:
    if isinstance(target, type) and issubclass(target, BaseModel):  # a config model of the library (ModelConfig)
        return set(target.model_fields)
    return {name for name, p in inspect.signature(target).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


@pytest.mark.parametrize("section", sorted(_sections(), key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_each_section_s_keys_are_keyword_arguments_of_its_stage_functions(section):
    assert issubclass(section, Section) and section.model_config["extra"] == "forbid"
    if section.__name__ in RUNNER_OWN:
        assert section.stages == ()
        return
    assert section.stages, f"{section.__name__} names no stage function"
    accepted = set().union(*(_keywords(_stage(s)) for s in section.stages))
    keys = set(section.model_fields) - {"kind"}
    assert keys <= accepted, f"{section.__name__}: {sorted(keys - accepted)} are not arguments of {section.stages}"


def test_the_models_section_is_the_registry_s_model_config():
    from labkit.models.registry import ModelConfig
    from labkit.run.config import ModelSection

    assert list(ModelSection.model_fields) == list(ModelConfig.model_fields)


def test_the_config_uses_labkit_s_one_name_per_concept():
    keys = {key for section in _sections() for key in section.model_fields}
    assert {"random_state", "block", "memory", "workers"} <= keys
    assert not keys & {"seed", "block_size", "blocksize", "n_jobs", "chunk_size", "memory_limit"}


@pytest.fixture()
def folder(tmp_path):
    for tile in example_values()["tiles"]["paths"]:
        (tmp_path / tile).mkdir(parents=True)
    (tmp_path / example_values()["reference"]["polygons"]).write_text("{}")
    return tmp_path


def test_the_written_example_loads_back_as_the_defaults(folder, capsys):
    path = folder / "run.yaml"
    assert main(["config", "init", str(path)]) == 0
    text = path.read_text()
    assert "# the seed of the split (and of the models) [default: 0]\n  random_state: 0" in text
    config = load_config(path)
    assert config == RunConfig.model_validate(example_values(), context={"base": folder})
    defaults = RunConfig.model_validate({"tiles": example_values()["tiles"], "reference": {"polygons": "reference.gpkg"}},
                                        context={"base": folder})
    assert config == defaults
    assert config.outputs.folder == folder / "outputs" and config.reference.polygons == folder / "reference.gpkg"
    assert list(config.tile_inputs()) == ["T31TCJ", "T31TDJ"]
    assert main(["config", "init", str(path)]) == 2  # no overwrite
    capsys.readouterr()
    assert main(["config", "check", str(path)]) == 0
    assert "2 tiles of zarr inputs (T31TCJ, T31TDJ), 1 model (rf) x 5 runs" in capsys.readouterr().out


def test_a_full_config_round_trips_through_yaml(folder):
    data = example_values()
    data.update(inputs={"kind": "files", "files": "S2_*.tif", "bands": ["B04", "B08"], "chunks": 256},
                gapfill={"method": "whittaker", "step": 10, "start": "2021-01-01", "lambda_": 1000.0},
                models=[{"model": "rf", "params": {"n_estimators": 20}},
                        {"model": "sklearn.ensemble.ExtraTreesClassifier", "stats": ["mean"]}],
                inference={"memory": "2GB", "block": [256, 512], "workers": 2},
                postprocess={"sieve": {"min_size": 4, "connectivity": 8}, "mosaic": None},
                execution={"scheduler": "slurm", "workers": 10, "cores": 8, "memory": "32GB", "walltime": "02:00:00"})
    data["reference"].update(n_runs=2, random_state=7)
    path = folder / "full.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    assert config.gapfill.start == "2021-01-01" and config.inference.block == [256, 512]
    assert config.postprocess.mosaic is None and config.execution.walltime == "02:00:00"
    again = folder / "again.yaml"
    again.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    assert load_config(again) == config


def _errors(data, folder) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(data, base=folder)
    return str(caught.value).splitlines()[1:]


def test_every_error_is_reported_at_once_by_key_path(folder):
    data = example_values()
    data["inputs"] = {"kind": "files", "chunk": 3, "nodata": "x"}
    data["reference"].update(polygons="missing.gpkg", seed=1)
    data["models"] = [{"model": "rf", "params": {"n_estimators": "many"}}, {"model": "rf", "params": {"n_estimatorz": 1}}]
    data["inference"] = {"block_size": 256}
    data["tiles"]["paths"].append("tiles/T31TEJ.zarr")
    del data["outputs"]
    data["execution"] = {"walltime": "1:00:00"}
    lines = _errors(data, folder)
    assert len(lines) == 9
    assert "  inputs.chunk: unknown key (did you mean 'chunks'?); the keys of inputs (files) are [" in lines[1] + lines[0]
    assert "  inputs.nodata: expected a number, got \"x\"" in lines
    assert f"  tiles.paths[2]: no such file or folder: '{folder / 'tiles/T31TEJ.zarr'}'" in "\n".join(lines)
    assert f"  reference.polygons: no such file or folder: '{folder / 'missing.gpkg'}'" in "\n".join(lines)
    assert any(line.startswith("  reference.seed: unknown key (did you mean 'random_state'?)") for line in lines)
    assert any(line.startswith("  inference.block_size: unknown key (did you mean 'block'?)") for line in lines)
    assert any(line.startswith("  execution: ['walltime'] go with scheduler slurm or pbs") for line in lines)
    assert ("  models[0].params.n_estimators: The 'n_estimators' parameter of RandomForestClassifier must be an int "
            "in the range [1, inf). Got 'many' instead.") in lines
    assert any(line.startswith("  models[1].params.n_estimatorz: model 'rf' (RandomForestClassifier) has no "
                               "parameter(s) ['n_estimatorz'] (did you mean 'n_estimators'?)") for line in lines)


def test_feature_names_and_expressions_are_checked_with_the_file(folder):
    data = example_values()
    data["features"] = {"indices": ["NDVI", "ndmi", "NDMI2"],
                        "expressions": {"ratio": "B08 / B04", "bad": "B08 +", "flat": "2 * 3", "call": "open(B04)"}}
    lines = _errors(data, folder)
    assert len(lines) == 2, lines
    assert lines[0].startswith("  features.indices: Unknown index name(s) ['ndmi', 'NDMI2'] ('ndmi': did you mean "
                               "'NDMI'?; 'NDMI2': did you mean 'NDMI'?); known: ['NDVI'"), lines[0]
    assert lines[1].startswith("  features.expressions: bad: Cannot parse the expression 'B08 +'"), lines[1]
    data["features"]["expressions"] = {"flat": "2 * 3"}
    assert "flat: The expression '2 * 3' uses no band" in _errors(data, folder)[-1]
    data["features"] = {"indices": ["NDMI"], "expressions": {"call": "open(B04)"}}
    assert _errors(data, folder) == ["  features.expressions: call: The expression 'open(B04)' uses 'open(B04)', "
                                     "which is not allowed: use numbers, band names, + - * / ** and ['abs', 'exp', "
                                     "'log', 'sqrt']."]


def test_wrong_types_missing_keys_and_kinds(folder):
    lines = _errors({"inputs": {"kind": "zar"}, "reference": {"n_runs": "two"}, "models": [{"params": {}}],
                     "gapfill": {"step": 0}, "outputs": {"format": "tif"}}, folder)
    assert lines == [
        "  inputs.kind: expected one of ['zarr', 'files', 'stac', 'theia', 'safe'], got \"zar\"",
        "  tiles: required, and missing",
        "  gapfill.step: expected a number of days (an integer > 0) or 'auto', got 0",
        "  reference.polygons: required, and missing",
        "  reference.n_runs: expected an integer, got \"two\"",
        "  models[0].model: required, and missing",
        "  outputs.format: expected 'cog' or 'zarr', got \"tif\"",
    ]


def test_a_bad_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such run config .*labkit config init"):
        load_config(tmp_path / "run.yaml")
    (tmp_path / "bad.yaml").write_text("inputs: [zarr\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- inputs\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: a run config is a mapping of sections"):
        load_config(tmp_path / "list.yaml")


def test_a_tile_pattern_that_matches_nothing_names_the_key(folder):
    data = example_values()
    data["tiles"] = {"glob": "tile/*.zarr"}
    assert _errors(data, folder) == [f"  tiles: glob: the pattern 'tile/*.zarr' matches nothing in '{folder}'"]


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    (tmp_path / "twice.yaml").write_text("outputs: {folder: out}\ntiles: {glob: 'tiles/*.zarr'}\n"
                                         "outputs: {folder: elsewhere}\n")
    with pytest.raises(ConfigError, match=r"twice\.yaml, line 3: the key 'outputs' is given twice in one section "
                                          r"\(first on line 1\); the first would be dropped"):
        load_config(tmp_path / "twice.yaml")
    (tmp_path / "inner.yaml").write_text("models:\n  - model: rf\n    params:\n      n_estimators: 10\n"
                                         "      n_estimators: 50\n")
    with pytest.raises(ConfigError, match=r"inner\.yaml, line 5: the key 'n_estimators' is given twice"):
        load_config(tmp_path / "inner.yaml")


def test_config_check_prints_the_errors_with_the_file_name_and_exits_2(folder, capsys):
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump({"tiles": {"glob": "tiles/*.zarr"}, "reference": {"polygons": "reference.gpkg"},
                                    "execution": {"scheduler": "slurm", "memroy": "2GB"}}))
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"labkit config: error: {path} has 1 error:\n  execution.memroy: unknown key (did you mean 'memory'?)" in err


def test_stac_inputs_take_bounding_boxes(folder):
    config = load_config({"inputs": {"kind": "stac", "dates": "2021-05"}, "tiles": {"bboxes": {"A": [1, 43, 2, 44]}},
                          "reference": {"polygons": "reference.gpkg"}}, base=folder)
    assert config.tile_inputs() == {"A": (1.0, 43.0, 2.0, 44.0)}
    lines = _errors({"inputs": {"kind": "stac"}, "tiles": {"glob": "tiles/*"},
                     "reference": {"polygons": "reference.gpkg"}}, folder)
    assert lines == ["  config: STAC inputs take tiles.bboxes; the other inputs take tiles.paths or tiles.glob "
                     "(inputs.kind is 'stac')"]


def test_building_the_cli_parser_stays_light():
    code = ("import sys, labkit.cli; labkit.cli.build_parser(); "
            "print(sorted(m for m in ('sklearn', 'torch', 'dask.array', 'pydantic', 'labkit.run') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_cli_s_stage_names_are_the_runner_s():
    from labkit.cli import run as cli_run
    from labkit.run import STAGES

    assert cli_run.STAGES == STAGES  # written out in the CLI so that its parser imports nothing heavy


def test_the_balance_of_the_training_samples_is_checked_with_the_config(folder):
    data = example_values()
    data["reference"].update(min_per_class=50)
    assert _errors(data, folder) == ["  reference: min_per_class goes with oversample: true (it is the size small "
                                     "classes are brought to)"]
    data["reference"].update(min_per_class=50, max_per_class=20, oversample=True)
    assert _errors(data, folder) == ["  reference: min_per_class (50) is above max_per_class (20)"]
