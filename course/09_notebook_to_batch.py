# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From notebook to batch: one config, many tiles, a cluster
#
# Notebooks 00 to 08 built the chain step by step, on one patch, in a notebook: the right place to look at the
# data, try a gap-filling step, compare models. A mapping project then runs the chain over **many tiles**: a
# country is tens to hundreds of Sentinel-2 tiles of 110 km a side, each hours of work. That is no longer a
# notebook's job: it needs a **batch run** that uses a cluster, survives failures, and can be rerun months later.
# Operational chains such as iota2 work this way: the chain is described once, in a **configuration file**, and
# a runner executes it tile by tile.
#
# The difficulty is the passage from one to the other: the choices made in the notebook must reach the batch run
# unchanged, or the map delivered is not the map that was checked. labkit makes the passage explicit:
# `labkit.run.to_config` turns the keyword arguments given to the stage functions into a **run config**,
# `save_config` writes it as the YAML file that `labkit run` reads, and the run calls the same functions with the
# same arguments. This notebook goes through it on three small synthetic tiles, and checks that the batch run gives
# the notebook's map **bit for bit**.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. build the chain on one tile and name the config key of each choice (which keyword argument of which function
#    it is);
# 2. export these choices as a run config (`to_config`, `save_config`) and read its YAML file;
# 3. run a config with `labkit run` (`run_config` in Python) and check that it reproduces the notebook's map;
# 4. plan a run over many tiles (`--dry-run`), read its tasks, and predict which of them a change of the config
#    redoes;
# 5. resume a run, force a stage, and write the execution section for a Slurm cluster or a Dask gateway.
#
# **Prerequisites**: notebooks 02 (gap-filling), 04 (samples, split by polygon), 05 (random forest) and 07
# (`predict_map`, COGs). What a YAML file looks like.
#
# **Time**: about 40 minutes: 25 teaching, 15 exercises.
#
# **Exercises**: two, marked *Exercise*, and two questions, marked *Question*, where you predict or decide before
# the notebook computes. Write your code (or your answer) in the cell below each statement, in place of the `...`,
# then run the `check` cell that follows: it tells you whether your answer is right, and the notebook goes on with
# the right value either way. Keep the first line of an exercise cell, `%%exercise ...`: if your code raises an
# error, the check reports it and the notebook still goes on. Stuck? `hint()` gives a hint on the exercise you are
# on, a more specific one at each call, and `solution()` shows the solution; `progress()` lists the exercises you
# have done.

# %%
import tempfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import rasterio
import xarray as xr
from distributed import Client, LocalCluster

from labkit.accuracy import assess_accuracy
from labkit.course import check, hint, progress, solution
from labkit.datasets.synthetic import write_synthetic_tiles
from labkit.errors import ConfigError
from labkit.features import compute_features
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map
from labkit.io import read_zarr, tagged_class_names
from labkit.masks import dilate_mask
from labkit.models import fit_model, make_model
from labkit.report import plot_class_map
from labkit.run import STAGES, load_config, plan_run, run_config, save_config, to_config
from labkit.run.execute import cluster_options
from labkit.samples import extract_samples, split_runs

# %% [markdown]
# ## 1. Three tiles to map
#
# `write_synthetic_tiles` writes synthetic Sentinel-2-like scenes side by side, as the tiles of a project: fields
# of four land-cover classes, each with its own phenology, seen on 12 dates of 2021 through clouds (see
# `labkit.datasets.synthetic`). Each tile is a Zarr store (`tiles/T00.zarr`...) with its cube, its validity mask
# and, since the scenes are synthetic, the true class of every pixel; the reference polygons of all the tiles are in
# one GeoPackage. The tiles are small (96 x 96 pixels) so that this notebook runs in seconds: the batch run does not
# care, it would run the same on 10 980 x 10 980.

# %%
work = Path(tempfile.mkdtemp(prefix="labkit-batch-"))  # use a folder of your own, e.g. "labkit-batch"
written = write_synthetic_tiles(work, n_tiles=3, size=96, dates=12, n_classes=4, random_state=0)
names = written["class_names"]
polygons = gpd.read_file(written["reference"])
print(f"in {work}:")
for path in written["tiles"]:
    print("  ", path.relative_to(work))
print("  ", written["reference"].relative_to(work), f"({len(polygons)} polygons; classes {names})")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, path in zip(axes, written["tiles"]):
    truth = xr.open_zarr(path)["class_map"]
    plot_class_map(truth, names, ax=ax)
    polygons.boundary.plot(ax=ax, color="black", linewidth=0.8)
    ax.set_title(f"{path.stem}: true classes and reference polygons", fontsize=9)
plt.show()

# %% [markdown]
# ## 2. The chain, on one tile
#
# We build the chain interactively on tile `T00`, as in notebooks 01 to 07. Each call's comment names the key of the
# run config that holds the choice made there: the config's sections are named after the stages, and their keys
# are the keyword arguments of the stage functions. We read only the red and near-infrared bands (all that NDVI
# needs), widen the clouds by a pixel, gap-fill onto a date every 10 days, and add NDVI to the two bands.

# %%
cube, mask = read_zarr(written["tiles"][0], with_mask=True, bands=["B04", "B08"])  # inputs: {bands: [B04, B08]}
cloudy = float((mask == 1).mean())
mask = dilate_mask(mask, 1)  # masks: {dilate: 1}
print(f"T00: {dict(cube.sizes)}; cloudy observations {cloudy:.1%}, {float((mask == 1).mean()):.1%} once the clouds "
      "are widened by one pixel")

filled, _ = fill_gaps(cube, mask, step=10)  # gapfill: {step: 10}
features = compute_features(filled, indices=["NDVI"]).cube  # features: {indices: [NDVI]}
print(f"gap-filled onto {filled.sizes['time']} dates, every 10 days from {str(filled.time.values[0])[:10]}; "
      f"features: {features.band.values.tolist()}")

# %% [markdown]
# The reference file holds the polygons of all the tiles: those over other tiles are left out (`on_outside="drop"`,
# which is the run's default, since every tile sees only its own). One split by polygon, 70 % of each class's
# polygons for training, and a random forest seeded with the same number. (The synthetic classes are easy to tell
# apart: the forest gets them all right. Accuracy is not today's topic; notebooks 05 and 08 are about it.)

# %%
samples = extract_samples(features, polygons, on_outside="drop")  # reference: {on_outside: drop}
train, test = next(split_runs(samples, n_runs=1, train_size=0.7, random_state=0))  # reference: {n_runs: 1, ...}
model = fit_model(make_model({"model": "rf", "params": {"n_estimators": 50}}, random_state=0), train)  # models
scores = assess_accuracy(test["label"].values, model.predict(test["X"].values), class_names=names)
print(f"{samples.sizes['sample']} samples from {np.unique(samples.group).size} polygons; overall accuracy "
      f"{scores.overall_accuracy:.3f} on the {np.unique(test.group).size} test polygons")

# %%
products = predict_map(features, model)  # inference: the defaults
class_map = products["class_map"].values
truth = xr.open_zarr(written["tiles"][0])["class_map"].values
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
plot_class_map(products["class_map"], names, ax=axes[0])
axes[0].set_title("T00: the notebook's map")
plot_class_map(xr.DataArray(truth, dims=("y", "x")), names, ax=axes[1])
axes[1].set_title(f"the truth ({(class_map == truth).mean():.1%} of the pixels agree)")
plt.show()

# %% [markdown]
# ## 3. The choices, as a run config
#
# `to_config` takes the same choices, section by section: for each, the keyword arguments given to its function.
# The reference section gathers the polygons' file and the keywords of `extract_samples` and `split_runs`; the
# models section is a list of what `make_model` took (seeded by the split's `reference.random_state`). Two sections
# are the runner's own: `outputs` (where the products go) and `execution` (where the tasks run, section 8).
#
# | in the notebook | in the config |
# |---|---|
# | `read_zarr(path, with_mask=True, bands=["B04", "B08"])` | `tiles: {paths: [...]}`, `inputs: {bands: [B04, B08]}` |
# | `dilate_mask(mask, 1)` | `masks: {dilate: 1}` |
# | `fill_gaps(cube, mask, step=10)` | `gapfill: {step: 10}` |
# | `compute_features(filled, indices=["NDVI"])` | `features: {indices: [NDVI]}` |
# | `extract_samples(features, polygons, on_outside="drop")` | `reference: {polygons: ..., on_outside: drop}` |
# | `split_runs(samples, n_runs=1, train_size=0.7, random_state=0)` | `reference: {n_runs: 1, train_size: 0.7, ...}` |
# | `make_model({"model": "rf", "params": {...}}, random_state=0)` | `models: [{model: rf, params: {...}}]` |
# | `predict_map(features, model)` | `inference: {}` |

# %%
reference = {"polygons": written["reference"], "on_outside": "drop", "n_runs": 1, "train_size": 0.7,
             "random_state": 0}
choices = {
    "inputs": {"kind": "zarr", "bands": ["B04", "B08"]},
    "masks": {"dilate": 1},
    "gapfill": {"step": 10},
    "features": {"indices": ["NDVI"]},
    "models": [{"model": "rf", "params": {"n_estimators": 50}}],
    "outputs": {"folder": "outputs"},
    "execution": {"workers": 2, "cores": 1, "memory": "2GB"},
}
config = to_config(tiles=[written["tiles"][0]], reference=reference, base=work, **choices)
path = save_config(config, work / "run.yaml")
print(path.read_text())

# %% [markdown]
# The file holds only what differs from the defaults (`on_outside: drop`, a 70 % split and seed 0 are the run's
# defaults, so they are not written), with paths relative to the file's folder: the folder can be moved or copied
# to a cluster as it is. `labkit config init` writes a commented file with every key and its default, and `labkit
# config check run.yaml` checks a file without running anything.
#
# The config is checked as it is built, as the file is when loaded: before any work, every problem at once, each
# named by its key path. A misspelt key, for instance:

# %%
try:
    to_config(tiles=[written["tiles"][0]], reference=reference, gapfill={"stpe": 10}, base=work)
except ConfigError as error:
    print(error)

# %% [markdown]
# ## 4. The same map, from the batch run
#
# From a terminal, the run is one command: `labkit run run.yaml`. In Python it is `run_config`. The run cuts the
# chain into **tasks** (the samples of a tile, a model, the map of a tile...) and runs them on a **Dask cluster**:
# by default the one the `execution` section describes, started for the run and closed after it. In a notebook we
# start that cluster once, and hand it to every run of the notebook (`client=`): a cluster takes a few seconds to
# start. Its **dashboard**, at the link printed, shows the workers, their memory and the tasks as they run.

# %%
cluster = LocalCluster(**cluster_options(config.execution))
client = Client(cluster)
print("Dask dashboard:", client.dashboard_link)

# %%
result = run_config(load_config(work / "run.yaml"), client=client, config_path="run.yaml")
print(result.summary())

# %% [markdown]
# The run wrote each product where its task says: the samples, the model, the tile's map products (as in notebook
# 07, Cloud-Optimized GeoTIFFs), the accuracy of the model on its test polygons, a mosaic of the tiles' maps and a
# report. Now the test that matters: is the run's map of T00 **the notebook's map**?

# %%
outputs = work / "outputs"
print(sorted(str(p.relative_to(outputs)) for p in outputs.rglob("*") if p.is_file() and ".labkit-run" not in p.parts
             and "logs" not in p.parts))
with rasterio.open(outputs / "tiles" / "T00" / "rf" / "run-0" / "class_map.tif") as src:
    from_run = src.read(1)
same = np.array_equal(from_run, class_map)
print(f"the run's class map of T00 equals the notebook's, bit for bit: {same}")
assert same

# %% [markdown]
# Bit for bit, not approximately: the run called the same functions with the same arguments (`read_zarr`, the mask
# dilated by one pixel, `fill_gaps` onto the same 10-day dates, `compute_features`, `extract_samples`, the first
# split of `split_runs`, `make_model` seeded by `reference.random_state`, `predict_map`), and every one of them is
# deterministic for a given seed. This check is worth keeping in a project: when it fails, the config does not say
# what the notebook did (a forgotten option, another seed), and the run's maps are not the ones that were checked.
#
# ## 5. All the tiles
#
# The config scales by its `tiles` section alone: a list of paths, or a pattern. Before a long run, look at its
# **plan**: `labkit run run.yaml --dry-run` prints it and runs nothing; in Python, `plan_run(config).describe()`.

# %%
config_all = to_config(tiles="tiles/*.zarr", reference=reference, base=work, **choices)
save_config(config_all, work / "run.yaml", overwrite=True)

# %% [markdown]
# ### Question 1 (predict): from one tile to three
#
# The run of section 4 made 6 tasks for one tile, one per stage (its summary, above): samples, train, map,
# validation, mosaic and report. Before you look at the plan, predict how many tasks the run over the three tiles
# has: `tasks_all_tiles`, a number (within 1 is right).

# %% tags=["solution"]
# tasks_all_tiles: a number, your prediction of the number of tasks of the plan of config_all.
tasks_all_tiles = 10  # a samples task and a map per tile (6), one train, validation, mosaic and report (4)

# %%
tasks_all_tiles = check("09.tasks_for_all_tiles", tasks_all_tiles, config=config_all)

# %%
plan = plan_run(config_all)
print(plan.describe())

# %% [markdown]
# Each stage has its tasks: a `samples` task per tile, a `train` task per model and run, a `map` per tile, model and
# run, a `validation` per model and run, a `mosaic` per model and run, one `report`. The tiles are gap-filled onto
# **one time grid**, so that one model reads them all. One task is already done: the samples of T00, since the
# earlier run made them from the same tile, grid and sections. Each finished task left a record with a
# **fingerprint** of what it read (its part of the config, and the records of the tasks it reads from); a task is
# to do when its record is missing or its fingerprint changed, or when a task it reads from is to do. The model
# changes (it now learns from the samples of three tiles), so every map is to do, T00's too.

# %%
result = run_config(config_all, client=client, config_path="run.yaml")
print(result.summary())

# %% [markdown]
# The mosaic puts the tiles' maps side by side in one COG, and the report sums up the accuracy of each model over
# its runs (here one run; with `n_runs: 5`, mean ± standard deviation over five splits, as in notebook 08).

# %%
with rasterio.open(outputs / "mosaic" / "rf" / "run-0" / "class_map.tif") as src:
    mosaic = xr.DataArray(src.read(1), dims=("y", "x"))
    mosaic_names = tagged_class_names(src.tags()) or names
fig, ax = plt.subplots(figsize=(12, 4))
plot_class_map(mosaic, mosaic_names, ax=ax)
ax.set_title("mosaic/rf/run-0/class_map.tif: the three tiles' maps")
plt.show()
print("\n".join((outputs / "report" / "report.md").read_text(encoding="utf-8").splitlines()[:16]))

# %% [markdown]
# ## 6. Resuming a run
#
# A run over a country takes hours or days, and something always fails: a worker runs out of memory, a job hits
# its time limit, a file is corrupt. labkit's run is built for it. A task writes its output under a temporary name
# and renames it when complete, then records it; a failed task does not stop the others (those that read from it
# are *blocked*), and the summary says what failed and the command that retries it.
#
# ### Question 2 (decide): what a rerun does after a failure
#
# Suppose the map of T01 had failed in the run above (its worker ran out of memory) and the rest of the run had gone
# on. You give the workers more memory and run the same config again. Which tasks does the rerun do?
#
# - a) every task of the run, from the samples on;
# - b) only the map of T01;
# - c) the map of T01, the mosaic and the report;
# - d) the map of T01, the validation, the mosaic and the report;
# - e) the three maps, the mosaic and the report.
#
# Give `rerun`, the letter of your answer.

# %% tags=["solution"]
# rerun: the letter of your answer, a string: "a" to "e".
rerun = "c"

# %%
rerun = check("09.rerun_after_failure", rerun, config=config_all, failed="map/T01/rf/run-0")

# %% [markdown]
# The **rerun does only what is left**: the tasks that failed or were blocked. Run the same config again, now that
# every task is done:

# %%
again = run_config(config_all, client=client, config_path="run.yaml")
print(again.summary())

# %% [markdown]
# Nothing to do: every task is skipped (and `labkit run` would not even start a cluster). The records are in
# `outputs/.labkit-run/`, the log of each run in `outputs/logs/`. To redo a stage on purpose (after changing a
# library, or to time it), **force** it: `labkit run run.yaml --force map`. The stages that read its outputs are
# redone too.

# %%
forced = run_config(config_all, client=client, force=["map"], config_path="run.yaml")
print(forced.summary())
print({stage: sum(r.get("stage") == stage for r in forced.of("done")) for stage in ("map", "mosaic", "report")})

# %% [markdown]
# ## 7. Predicting a plan
#
# The plan decides how long a run takes, so it pays to know it before running.
#
# ### Exercise 1: the size of a plan
#
# A project compares two models, the random forest and LightGBM, over the three tiles, with **three runs** (three
# splits of the polygons, a model each) to report mean ± standard deviation. Compute `n_tasks`, the number of tasks
# of the plan of `bigger`, from its numbers of tiles, models and runs (without calling `plan_run`: the check
# does).

# %%
bigger = to_config(tiles="tiles/*.zarr", reference={**reference, "n_runs": 3}, base=work,
                   **{**choices, "models": [choices["models"][0], {"model": "lgbm", "params": {"n_estimators": 100}}]})

# %% tags=["solution"]
# n_tasks: an int, the number of tasks of the plan of `bigger` (count them stage by stage).
n_tiles, n_models, n_runs = len(bigger.tile_inputs()), len(bigger.models), bigger.reference.n_runs
per_model_and_run = 1 + n_tiles + 1 + 1  # train, a map per tile, validation, mosaic
n_tasks = n_tiles + n_models * n_runs * per_model_and_run + 1  # plus the samples of each tile, and the report

# %%
n_tasks = check("09.n_tasks", n_tasks, config=bigger)
print(plan_run(bigger).describe())

# %% [markdown]
# The maps dominate: tiles x models x runs. Over a country of 100 tiles, the same project makes 600 maps (100 x 2
# x 3): this is where the cluster earns its keep, and where a choice such as five runs instead of three weighs most.
#
# ### Exercise 2: what a change redoes
#
# After the runs above, every task of `config_all` is done. Here are three changes of it. For each, which stages
# would the run redo? Give `redone`, a dict `{change: set of stage names}` (the stages are `samples`, `train`,
# `map`, `validation`, `mosaic` and `report`). Think first, from what each task reads; the check compares with the
# plan of each changed config.

# %%
changed = {
    "a majority filter on the maps": to_config(tiles="tiles/*.zarr", reference=reference, base=work,
                                               postprocess={"majority_filter": {"window": 3}}, **choices),
    "60 % of the polygons for training": to_config(tiles="tiles/*.zarr", reference={**reference, "train_size": 0.6},
                                                   base=work, **choices),
    "a date every 15 days, not 10": to_config(tiles="tiles/*.zarr", reference=reference, base=work,
                                              **{**choices, "gapfill": {"step": 15}}),
}

# %% tags=["solution"]
# redone: a dict {change: set of the stages the run would redo}, one entry per key of `changed`.
redone = {
    "a majority filter on the maps": {"map", "mosaic", "report"},
    "60 % of the polygons for training": {"train", "validation", "map", "mosaic", "report"},
    "a date every 15 days, not 10": {"samples", "train", "validation", "map", "mosaic", "report"},
}

# %%
redone = check("09.redone_stages", redone, configs=changed)
for change, changed_config in changed.items():
    plan = plan_run(changed_config)
    counts = Counter(plan.tasks[key].stage for key in plan.todo)
    print(f"{change:>34}: {len(plan.todo)} tasks to do: " + ", ".join(f"{counts[s]} {s}" for s in STAGES if counts[s]))

# %% [markdown]
# Three lessons hide in these answers. The majority filter redoes the maps, but not the `validation` stage: the
# accuracy in the report is the model's, on the test polygons' samples, not the post-processed map's (notebook 08
# assesses a map as delivered). A new split reuses the samples: they are drawn once, and the `reference` keys of the
# split are kept apart from those of the samples. And a change at the start of the chain, such as the time grid,
# redoes everything: settle those choices on one tile, in a notebook, before the long run.
#
# We are done with the local cluster:

# %%
client.close()
cluster.close()

# %% [markdown]
# ## 8. On a cluster
#
# Nothing above depends on the machine: the same file runs on a laptop, on a computing centre's cluster or on a
# JupyterHub, by its `execution` section alone. The **Dask workers** (`workers` of them, each with `cores` threads
# and `memory`) share out the tasks: the tiles in parallel, the training once the samples of every tile are in, the
# maps once their model is.
#
# **A Slurm cluster** (a computing centre, a university's HPC): the run starts one Slurm job per worker, through
# dask-jobqueue. Run `labkit run run.yaml` on a login node (or in a small job of its own); the jobs need the same
# paths as it does, so keep the tiles and the outputs on the shared file system.
#
# ```yaml
# execution:
#   scheduler: slurm      # or pbs
#   workers: 20           # jobs, one Dask worker each
#   cores: 8              # threads per worker: the cores of one job
#   memory: 32GB          # per job
#   walltime: "04:00:00"  # a job's time limit: a task cut by it fails, and the rerun does it again
#   queue: normal         # the Slurm partition
#   account: my-project   # the account charged
# ```
#
# These keys become the arguments of dask-jobqueue's `SLURMCluster` (`cluster_options` shows them, without
# submitting anything):

# %%
slurm = {"scheduler": "slurm", "workers": 20, "cores": 8, "memory": "32GB", "walltime": "04:00:00",
         "queue": "normal", "account": "my-project"}
on_slurm = to_config(tiles="tiles/*.zarr", reference=reference, base=work, **{**choices, "execution": slurm})
print(cluster_options(on_slurm.execution))

# %% [markdown]
# **A running Dask cluster**, such as a JupyterHub's Dask Gateway: give its scheduler's address, and the run joins
# it instead of starting one.
#
# ```yaml
# execution:
#   address: tls://dask-gateway.example.org:8786   # the scheduler of a running cluster
# ```
#
# With a gateway, the simplest is to start the cluster from the notebook and hand its client to the run, as we
# did in section 4:
#
# ```python
# from dask_gateway import Gateway
#
# gateway = Gateway()
# cluster = gateway.new_cluster()
# cluster.scale(10)
# result = run_config(load_config("run.yaml"), client=cluster.get_client())
# ```
#
# The workers must be able to read the tiles and write the outputs at the paths of the config: a file system they
# share with the notebook's server.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - A notebook is where the chain's choices are made and checked, on one tile; a **batch run** applies them to
#   every tile, on a cluster, and survives failures.
# - A **run config** has one section per stage, whose keys are the keyword arguments of the stage functions:
#   `to_config(tiles=..., reference=..., gapfill={...}, features={...}, models=[...])` builds it from the
#   notebook's choices, `save_config` writes the YAML file that `labkit run` reads (only what differs from the
#   defaults, paths relative to the file), and both are checked before any work, every error named by its key path.
# - The run calls the same functions with the same arguments: on the notebook's tile, **the same map, bit for
#   bit**. Check it once in a project: it proves the config says what the notebook did.
# - `labkit run run.yaml --dry-run` (`plan_run(config).describe()`) shows the **plan**: a samples task per tile, a
#   train task per model and run, a map per tile, model and run, validations, mosaics, a report.
# - A run records each finished task with a fingerprint of what it read: a **rerun does only what is left** or what
#   a change of the config touches; `--force STAGE` redoes a stage and those that read it.
# - The `execution` section says where the tasks run: a local Dask cluster, **Slurm or PBS** jobs (`scheduler`,
#   `workers`, `cores`, `memory`, `walltime`, `queue`, `account`), or a running cluster by its `address`.
#
# **Reference**: J. Inglada, A. Vincent, M. Arias, B. Tardy, D. Morin, I. Rodes (2017), "Operational high
# resolution land cover map production at the country scale using satellite image time series", *Remote Sensing*
# 9(1): 95, doi:10.3390/rs9010095 (iota2's chain, run over the whole of France).
#
# ## What's next
#
# [10 Capstone: a land-cover map of Sinop, Brazil](10_capstone.ipynb) puts the whole chain in your hands on a new
# area, a new sensor and a new kind of reference data: an open task, with a rubric. After it, to map an area of
# your own, write the run config of this notebook for it and let `labkit run` do the tiles.
