"""Exercises of notebook 09, from notebook to batch: the size of a run's plan, and which tasks a change redoes;
questions: how many tasks when the run goes from one tile to three, and which tasks a rerun does after a failure."""

from __future__ import annotations

from collections.abc import Mapping

from ..compare import within
from . import Exercise


def n_tasks(config) -> int:
    """The number of tasks of the plan of a run config (:func:`labkit.run.plan_run`).

    Example
    -------
    >>> import tempfile
    >>> from labkit.datasets.synthetic import write_synthetic_tiles
    >>> from labkit.run import to_config
    >>> written = write_synthetic_tiles(tempfile.mkdtemp(), n_tiles=2, size=16, dates=4)
    >>> n_tasks(to_config(tiles=written["tiles"], reference={"polygons": written["reference"], "n_runs": 1}))
    8
    """
    from ...run import plan_run

    return len(plan_run(config).tasks)


def redone_stages(configs: Mapping) -> dict[str, set[str]]:
    """For each changed config, the stages whose tasks its run would do again (the plan's ``todo``), after the
    runs already made in its outputs folder.

    Example
    -------
    >>> import tempfile
    >>> from labkit.datasets.synthetic import write_synthetic_tiles
    >>> from labkit.run import to_config
    >>> written = write_synthetic_tiles(tempfile.mkdtemp(), n_tiles=1, size=16, dates=4)
    >>> config = to_config(tiles=written["tiles"], reference={"polygons": written["reference"], "n_runs": 1})
    >>> sorted(redone_stages({"nothing run yet": config})["nothing run yet"])
    ['map', 'mosaic', 'report', 'samples', 'train', 'validation']
    """
    from ...run import plan_run

    plans = {name: plan_run(config) for name, config in configs.items()}
    return {name: {plan.tasks[key].stage for key in plan.todo} for name, plan in plans.items()}


def rerun_after_failure(config, failed: str) -> str:
    """Which tasks a rerun does after the task ``failed`` failed and the rest of the run went on, as a key of the
    question's choices: the failed task and every task that reads from it, directly or not (they were blocked),
    while the tasks that finished are skipped.

    The choices: ``"a"`` every task, ``"b"`` the failed task only, ``"c"`` it, the mosaics and the report, ``"d"``
    it, the validations, the mosaics and the report, ``"e"`` every map, the mosaics and the report.

    Example
    -------
    >>> import tempfile
    >>> from labkit.datasets.synthetic import write_synthetic_tiles
    >>> from labkit.run import to_config
    >>> written = write_synthetic_tiles(tempfile.mkdtemp(), n_tiles=2, size=16, dates=4)
    >>> config = to_config(tiles=written["tiles"], reference={"polygons": written["reference"], "n_runs": 1})
    >>> rerun_after_failure(config, failed="map/T01/rf/run-0")
    'c'
    """
    from ...run import plan_run

    plan = plan_run(config)
    blocked = {failed}
    for key, task in plan.tasks.items():  # in order: each task after those it reads from
        if blocked.intersection(task.deps):
            blocked.add(key)
    keys = {stage: {t.key for t in plan.by_stage(stage)} for stage in ("map", "validation", "mosaic", "report")}
    after_maps = keys["mosaic"] | keys["report"]
    choices = {"a": set(plan.tasks), "b": {failed}, "c": {failed} | after_maps,
               "d": {failed} | keys["validation"] | after_maps, "e": keys["map"] | after_maps}
    return next(choice for choice, tasks in choices.items() if tasks == blocked)


def compare_stage_sets(answer, expected: Mapping) -> str | None:
    """Compare ``{change: stages}`` answers as sets of stage names: which of the learner's stages are not redone,
    and how many are left out (not which: that is the answer).

    Example
    -------
    >>> compare_stage_sets({"a": ["map", "report"]}, {"a": {"map", "mosaic", "report"}})
    "for 'a': the run redoes 1 more stage."
    >>> compare_stage_sets({"a": {"validation", "map"}}, {"a": {"map", "mosaic", "report"}})
    "for 'a': it does not redo ['validation']: nothing they read has changed; the run redoes 2 more stages."
    >>> compare_stage_sets({"a": {"maps"}}, {"a": {"map"}})
    "for 'a': 'maps' is not a stage; the stages are samples, train, map, validation, mosaic, report."
    """
    from ...run.stages import STAGES  # here: labkit.course stays light to import

    if not isinstance(answer, Mapping):
        return (f"expected a dict {{change: set of stage names}} with keys {list(expected)}, got a "
                f"{type(answer).__name__}.")
    missing, extra = [k for k in expected if k not in answer], [k for k in answer if k not in expected]
    if missing or extra:
        parts = [f"missing keys {missing}"] * bool(missing) + [f"unexpected keys {extra}"] * bool(extra)
        return " and ".join(parts) + "."
    for change, stages in expected.items():
        given = answer[change]
        if isinstance(given, str) or not hasattr(given, "__iter__"):
            return f"for {change!r}: give a set of stage names, e.g. {{'map', 'report'}}; got {given!r}."
        given = set(given)
        unknown = sorted(str(s) for s in given - set(STAGES))
        if unknown:
            return f"for {change!r}: {unknown[0]!r} is not a stage; the stages are {', '.join(STAGES)}."
        left_out = len(set(stages) - given)
        too_many = [s for s in STAGES if s in given and s not in stages]
        parts = [f"it does not redo {too_many}: nothing they read has changed"] * bool(too_many)
        parts += [f"the run redoes {left_out} more stage{'s' * (left_out > 1)}"] * bool(left_out)
        if parts:
            return f"for {change!r}: " + "; ".join(parts) + "."
    return None


EXERCISES: dict[str, Exercise] = {
    "09.n_tasks": Exercise(
        reference=n_tasks,
        title="the number of tasks of a run's plan",
        hint="Count the tasks stage by stage: which stages have a task per tile, which per model and run, which "
             "per tile, model and run?",
        hints=(
            "A samples task per tile; per model and run, a train task, a map per tile, a validation and a mosaic; "
            "and one report. Then compare with len(plan_run(config).tasks).",
        ),
    ),
    "09.redone_stages": Exercise(
        reference=redone_stages,
        title="the stages a change of config redoes",
        hint="A task is redone when the part of the config it reads changes, or when a task it reads from is "
             "redone: for each change, find the first stage that reads it, then follow what reads that stage.",
        hints=(
            "samples read the inputs, masks, gapfill, features and how samples are drawn (not the split); train and "
            "validation read the model and the split; map reads the tile's chain again, the inference, the "
            "post-processing (but the mosaic) and the outputs; mosaic reads the maps; report the validations and "
            "the mosaics.",
            "Check with {plan.tasks[k].stage for k in plan_run(config).todo} for each config of `configs`.",
        ),
        compare=compare_stage_sets,
    ),
    "09.tasks_for_all_tiles": Exercise(
        reference=n_tasks,
        title="the number of tasks of the run over three tiles",
        hint="Which of the six stages work tile by tile, and which once for the whole run?",
        hints=("The samples and the maps are made tile by tile; the model is trained once from the samples of every "
               "tile, and one validation, one mosaic and one report cover all the tiles.",),
        compare=within(abs=1),
        explanation="Only the stages that work tile by tile grow with the tiles: a samples task and a map per tile. "
                    "The model is trained once, on the samples of every tile, and one validation, one mosaic and one "
                    "report cover them all. The run does not multiply by the tiles; its maps do (and, later, by the "
                    "models and runs).",
    ),
    "09.rerun_after_failure": Exercise(
        reference=rerun_after_failure,
        title="the tasks a rerun does after a failure",
        hint="Which tasks could not run because the map of T01 was missing? Follow what reads a map, and what reads "
             "that.",
        hints=("A failed task blocks only the tasks that read from it, directly or not; the others finish and are "
               "recorded. The validation reads the model and the test samples, not the maps.",),
        choices={"a": "every task of the run, from the samples on",
                 "b": "only the map of T01",
                 "c": "the map of T01, the mosaic and the report",
                 "d": "the map of T01, the validation, the mosaic and the report",
                 "e": "the three maps, the mosaic and the report"},
        explanation="Every task that finished was recorded, and a rerun skips it: the samples, the model, the maps "
                    "of T00 and T02 and the validation (which reads the model and the test samples, not the maps). "
                    "Left to do are the failed map and the tasks it blocked: the mosaic, which reads every map, and "
                    "the report, which reads the mosaic. A run over a country fails somewhere; this is why a rerun "
                    "costs minutes, not days.",
    ),
}
