"""``labkit run``: the whole chain over many tiles, from one declarative config, on Dask distributed.

The config (:mod:`labkit.run.config`) has one section per stage, whose keys are the stage functions' keyword
arguments; :func:`load_config` checks it before any work and reports every problem at once, by key path;
:func:`example_config` is the commented example ``labkit config init`` writes. :func:`plan_run` lists the tasks
(:mod:`labkit.run.plan`: per tile, model and run, each stage of :mod:`labkit.run.stages`) and those an earlier run
left (:mod:`labkit.run.state`); :func:`run_config` runs them on a Dask cluster (:mod:`labkit.run.execute`).

Example
-------
>>> config = load_config({"tiles": {"bboxes": {"T1": [1.0, 43.0, 1.1, 43.1]}}, "inputs": {"kind": "stac"},
...                       "reference": {"polygons": "."}})
>>> list(config.tile_inputs()), [m.model for m in config.models]
(['T1'], ['rf'])
"""

from .config import INPUT_KINDS, RunConfig
from .example import example_config, example_values
from .execute import RunResult, run_config
from .export import save_config, to_config
from .load import load_config
from .plan import Plan, plan_run
from .stages import STAGES

__all__ = ["INPUT_KINDS", "STAGES", "Plan", "RunConfig", "RunResult", "example_config", "example_values",
           "load_config", "plan_run", "run_config", "save_config", "to_config"]
