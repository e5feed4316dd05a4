# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reference samples and an honest validation
#
# A classifier learns land cover from examples: pixels whose class is known because they lie inside a
# reference polygon (a field surveyed on the ground, a parcel of a land register, a forest mapped by a photo
# interpreter). The same reference data also *validates* the map. How the pixels are drawn from the polygons, and
# how they are split between training and validation, decides whether the accuracy you report means anything.
# This notebook turns the Slovenian reference polygons into samples, looks at what they hold, and **measures**
# how much a careless split flatters a classifier.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. extract the pixels of reference polygons from a cube as a labkit *sample set*, and say what its `group` is;
# 2. count the pixels per class and per polygon, and recognise an unbalanced reference;
# 3. explain why pixels of one polygon must not be on both sides of a split, and measure that leakage;
# 4. split by polygon, class by class, with labkit and by hand;
# 5. compare the accuracy a random pixel split reports with the accuracy a polygon split reports, over several
#    random draws.
#
# **Prerequisites**: notebook 00 (the cube, the mask and the polygons of the Slovenian patch). We train a random
# forest here, but only as a black box: `fit` on training samples, `predict` on others.
#
# **Time**: about 45 minutes: 25 teaching, 20 exercises.
#
# **Exercises**: three, marked *Exercise*, and two *Questions* where you predict or decide before you read on.
# Write your code in the cell below each statement, in place of the
# `...`, then run the `check` cell that follows.

# %%
import matplotlib.pyplot as plt
import geopandas as gpd
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedShuffleSplit

from labkit.accuracy import assess_accuracy
from labkit.course import check, hint, progress, solution
from labkit.datamodel import class_names
from labkit.datasets import load_slovenia
from labkit.gapfill import fill_gaps
from labkit.maps import WebMap, add_shapes, reference_map
from labkit.models import make_model
from labkit.samples import PolygonSplit, balance_classes, extract_samples, split_by_group

# %% [markdown]
# ## 1. From polygons to samples
#
# A classifier needs one value per date for every pixel, with no cloud: we first fill the gaps of the cube
# (clouds masked, then linear interpolation onto a date every 10 days; notebook 02 explains the details).

# %%
data = load_slovenia()
filled, flags = fill_gaps(data.cube, data.mask, step=10)
print(f"{filled.sizes['time']} dates every 10 days, from {pd.Timestamp(filled.time.values[0]):%Y-%m-%d} "
      f"to {pd.Timestamp(filled.time.values[-1]):%Y-%m-%d}")

# %% [markdown]
# The reference comes as polygons with a class code. Four of them carry class 0, "no label": they cannot teach
# anything, so we leave them out.

# %%
polygons = data.polygons[data.polygons["class_id"] > 0]
print(f"{len(polygons)} labelled polygons")
print(polygons.groupby("class_name").size().to_string())

# %% [markdown]
# On a web map (zoom in, hover over a polygon for its class, switch to the aerial imagery at the top right): some
# polygons reach beyond the 1 km² of the cube, whose pixels are all we sample.

# %%
reference_map(polygons)

# %% [markdown]
# `extract_samples` burns the polygons into the cube's grid and takes every pixel whose centre lies inside one.
# The result is a **sample set**: an xarray `Dataset` with
#
# `X (sample, time, band)`
# : the series of each pixel, here NDVI on 90 dates;
#
# `label (sample)`
# : its class code (the names are in `class_name`);
#
# `group (sample)`
# : the id of the polygon it came from. This is what keeps a polygon together when we split;
#
# `x`, `y`
# : the pixel's centre, in the cube's CRS;
#
# `doy`, `valid (sample, time)`
# : when each observation was made (here in days since the first date, since the cube spans more than a year) and
#   whether it is valid. The classifiers of this notebook read only `X`; the deep networks of a later one read these.

# %%
samples = extract_samples(filled, polygons)
print(f"{samples.sizes['sample']} pixels from {np.unique(samples.group).size} polygons; "
      f"{samples.attrs['polygons_without_pixels']} polygons are too small or too thin to hold a pixel centre.")
samples

# %% [markdown]
# ### Exercise 1: pixels per class
#
# Compute `n_pixels`: a dict `{class name: number of pixels}` with one entry per class of the sample set.
#
# *Hint*: `np.unique(..., return_counts=True)` on the labels gives the codes and their counts; `names`, below,
# maps each code to its class name.

# %%
names = class_names(samples)  # {code: class name}
names

# %% tags=["solution"]
# n_pixels: a dict {class name: number of pixels of that class in `samples`}.
codes, counts = np.unique(samples["label"].values, return_counts=True)
n_pixels = {names[int(code)]: int(count) for code, count in zip(codes, counts)}

# %%
n_pixels = check("04.pixels_per_class", n_pixels, samples=samples)

# %%
per_class = pd.DataFrame({
    "pixels": pd.Series(n_pixels),
    "polygons": pd.Series({names[int(c)]: np.unique(samples.group.values[samples.label.values == c]).size
                           for c in np.unique(samples.label.values)}),
})
per_class["pixels per polygon"] = (per_class["pixels"] / per_class["polygons"]).round(1)
per_class["share of pixels"] = (per_class["pixels"] / per_class["pixels"].sum()).map("{:.1%}".format)
per_class

# %% [markdown]
# The reference is very unbalanced. Forest gives three quarters of the pixels, from 10 polygons; cultivated land
# gives 11 pixels from 4 small fields. A classifier trained on this learns forest well and the rare classes
# poorly, and its overall accuracy mostly says how it does on forest.
#
# How do the pixels spread over the polygons?

# %%
pixels_per_polygon = pd.Series(samples.group.values).value_counts()
fig, ax = plt.subplots(figsize=(10, 3))
ax.bar(np.arange(len(pixels_per_polygon)), pixels_per_polygon.values, color="tab:green")
ax.set_yscale("log")
ax.set_xlabel("polygons, from the largest to the smallest")
ax.set_ylabel("pixels (log scale)")
ax.set_title("Pixels per polygon")
plt.show()
largest = pixels_per_polygon.index[0]
print(f"The largest polygon ({names[int(samples.label.values[samples.group.values == largest][0])]}) holds "
      f"{pixels_per_polygon.iloc[0]} pixels, {pixels_per_polygon.iloc[0] / samples.sizes['sample']:.0%} of all.")

# %% [markdown]
# A few polygons hold most of the pixels. Keep this in mind: whichever side of a split the largest forest lands
# on, it weighs on the result.
#
# ## 2. Why a random pixel split leaks
#
# The usual reflex in machine learning is to shuffle the samples and keep, say, 30 % of them for validation. Here
# a sample is a pixel, and the pixels of one polygon are neighbours of the same field or forest: their series
# are nearly identical. Shuffle them, and most validation pixels have a twin in the training set.
#
# Let us draw such a split, stratified by class (scikit-learn's `StratifiedShuffleSplit`), and look.

# %%
labels, groups = samples["label"].values, samples["group"].values
pixel_split = StratifiedShuffleSplit(n_splits=1, train_size=0.7, random_state=0)
train_index, validation_index = next(pixel_split.split(samples["X"].values, labels))
print(f"{len(train_index)} training pixels, {len(validation_index)} validation pixels")

# %% [markdown]
# ### Exercise 2: how much does the random split leak?
#
# Compute `leaked`: the share (between 0 and 1) of the validation pixels whose polygon *also* gives pixels to the
# training set.
#
# *Hint*: `groups[train_index]` are the polygons of the training pixels; `np.isin(a, b)` says, for each element
# of `a`, whether it is in `b`. The mean of booleans is a share.

# %% tags=["solution"]
# leaked: a float, the share of validation pixels whose polygon also has pixels in training.
training_polygons = np.unique(groups[train_index])
leaked = float(np.isin(groups[validation_index], training_polygons).mean())

# %%
leaked = check("04.leaked_share", leaked, groups=groups, train_index=train_index,
               validation_index=validation_index)
print(f"{leaked:.1%} of the validation pixels have pixels of their own polygon in training.")

# %% [markdown]
# On the map, 500 pixels of this split drawn at random: training and validation pixels lie side by side in every
# polygon (hover over a dot for its polygon).

# %%
shown = np.random.default_rng(0).choice(len(labels), 500, replace=False)
pixels = gpd.GeoDataFrame({"side": np.where(np.isin(shown, train_index), "training", "validation"),
                           "polygon_id": groups[shown]},
                          geometry=gpd.points_from_xy(samples.x.values[shown], samples.y.values[shown]),
                          crs=filled.rio.crs)
split_map = add_shapes(WebMap("A random pixel split: 500 of its pixels"), polygons.clip(filled.rio.bounds()),
                       color="#999999", name="reference polygons")
add_shapes(split_map, pixels, column="side", name="pixels")

# %% [markdown]
# Nearly all of them. Such a validation does not ask "can the model recognise a forest it has never seen?", but
# "can it recognise pixels of forests it was shown?". Only the polygons with a single pixel escape.
#
# ## 3. Splitting by polygon
#
# The fix is to split **polygons**, not pixels: every polygon goes whole to one side. And to keep each class on
# both sides, the polygons are split class by class. `split_by_group` does this: within each class, it shuffles
# the polygons and sends the first 70 % to training, with at least one polygon on each side when the class has
# two or more.

# %%
train, validation = split_by_group(samples, train_size=0.7, random_state=0)
shared = set(train.group.values.tolist()) & set(validation.group.values.tolist())
print(f"training: {train.sizes['sample']} pixels from {np.unique(train.group).size} polygons")
print(f"validation: {validation.sizes['sample']} pixels from {np.unique(validation.group).size} polygons")
print("polygons on both sides:", shared or "none")

# %% [markdown]
# ### Exercise 3: a polygon split by hand
#
# Choose the validation polygons yourself: for each class, draw at random `round(validation_size * n)` of its
# `n` polygons (at least one when the class has two polygons or more, none when it has only one). Collect their
# ids in `my_validation_polygons`, a set. Use the random generator `rng`.
#
# *Hint*: loop over `np.unique(labels)`; the polygons of class `code` are `np.unique(groups[labels == code])`;
# `rng.choice(polygon_ids, size=k, replace=False)` draws `k` of them.

# %%
validation_size = 0.3
rng = np.random.default_rng(42)

# %% tags=["solution"]
# my_validation_polygons: a set of polygon ids, about validation_size of the polygons of each class.
# polygons_of: {class code: the ids of its polygons}, then draw validation_size of each class's polygons
# (at least one, and at least one left for training; a class with a single polygon stays in training).
polygons_of = {code: np.unique(groups[labels == code]) for code in np.unique(labels)}
my_validation_polygons = {
    int(i)
    for ids in polygons_of.values()
    for i in rng.choice(ids, size=0 if len(ids) == 1 else min(max(1, round(validation_size * len(ids))), len(ids) - 1),
                        replace=False)
}

# %%
my_validation_polygons = check("04.validation_polygons", my_validation_polygons, samples=samples,
                               validation_size=validation_size, random_state=42)
in_validation = np.isin(groups, list(my_validation_polygons))
print(f"{in_validation.sum()} validation pixels from {len(my_validation_polygons)} polygons; "
      f"{(~in_validation).sum()} training pixels")

# %% [markdown]
# ## 4. What the leakage does to the accuracy: a measurement
#
# Now the experiment. We train the same model, a random forest of 50 trees, on the training side of each split
# and compute the overall accuracy (OA, the share of validation pixels classified right) and Cohen's kappa
# (agreement beyond chance) on the validation side. To keep training fast and stop forest from swamping the other
# classes, each training set is capped at 500 pixels per class, drawn in turn from every polygon
# (`balance_classes`); validation uses all its pixels.
#
# One split is one random draw; the score changes from draw to draw. So we repeat it five times for each kind of
# split: `StratifiedShuffleSplit(n_splits=5)` for pixels, and labkit's `PolygonSplit(n_runs=5)` for polygons.
# Both follow scikit-learn's convention: `split(X, y, groups)` yields the indices of each run.
#
# ### Question 1 (predict): how much does the leak flatter the model?
#
# **Before running the experiment**, predict `predicted_gap`: how much higher the mean overall accuracy of the
# five random pixel splits will be than that of the five polygon splits, as a difference of OA (OA goes from 0 to 1:
# `0.02` means two points higher, `0` no difference). Commit to a number; the `check` after the results tells you
# how close you were.

# %% tags=["solution"]
# predicted_gap: your prediction, a number (random pixel split's mean OA minus the polygon split's).
predicted_gap = 0.15

# %%
def evaluate(train_index, validation_index, random_state):
    """Train on the capped training pixels, predict the validation pixels; return OA, kappa and the leakage."""
    training = balance_classes(samples.isel(sample=train_index), max_per_class=500, random_state=random_state)
    model = make_model("rf", n_estimators=50, random_state=0)
    model.fit(training["X"].values, training["label"].values)
    report = assess_accuracy(labels[validation_index], model.predict(samples["X"].values[validation_index]))
    leak = np.isin(groups[validation_index], groups[train_index]).mean()
    return {"OA": report.overall_accuracy, "kappa": report.kappa, "leaked": leak,
            "validation pixels": len(validation_index)}


X = samples["X"].values
runs = {
    "random pixels": StratifiedShuffleSplit(n_splits=5, train_size=0.7, random_state=0).split(X, labels),
    "polygons": PolygonSplit(n_runs=5, train_size=0.7, random_state=0).split(X, labels, groups),
}
rows = []
for name, splits in runs.items():
    for run, (train_index, validation_index) in enumerate(splits):
        rows.append({"split": name, "run": run, **evaluate(train_index, validation_index, random_state=run)})
results = pd.DataFrame(rows)
predicted_gap = check("04.split_gap", predicted_gap, results=results)
scores = ["OA", "kappa", "leaked", "validation pixels"]
results.round(3).pivot(index="run", columns="split", values=scores).convert_dtypes()

# %%
summary = results.groupby("split")[["OA", "kappa"]].agg(["mean", "std"]).round(3)
summary

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=False)
for ax, score in zip(axes, ["OA", "kappa"]):
    for position, (name, colour) in enumerate([("random pixels", "tab:red"), ("polygons", "tab:blue")]):
        values = results.loc[results["split"] == name, score]
        ax.scatter(np.full(len(values), position), values, color=colour, s=40, alpha=0.8)
        ax.hlines(values.mean(), position - 0.25, position + 0.25, color=colour, linewidth=2)
    ax.set_xticks([0, 1], ["random pixels", "polygons"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(0, 1)
    ax.set_title(f"{score} on the validation pixels (5 runs)")
plt.show()

# %%
gap = summary.loc["random pixels", ("OA", "mean")] - summary.loc["polygons", ("OA", "mean")]
print(f"The random pixel split reports an OA {gap:.2f} higher than the polygon split "
      f"({summary.loc['random pixels', ('OA', 'mean')]:.2f} against {summary.loc['polygons', ('OA', 'mean')]:.2f}), "
      f"and a kappa of {summary.loc['random pixels', ('kappa', 'mean')]:.2f} against "
      f"{summary.loc['polygons', ('kappa', 'mean')]:.2f}.")

# %% [markdown]
# ### Question 2 (decide): which accuracy do you report?
#
# You describe this model in a paper, with one accuracy figure. Which do you report? Set `reported` to the letter.
#
# - a) the random pixel split: its scores barely change from run to run, so they are the more precise;
# - b) the polygon split: the mean and the standard deviation over the runs;
# - c) the polygon split's best run: it shows what the model can do;
# - d) the mean of the two kinds of split, to be neither optimistic nor pessimistic.

# %% tags=["solution"]
# reported: the letter of your choice.
reported = "b"

# %%
reported = check("04.reported_split", reported)

# %% [markdown]
# The model is the same; only the split differs. With a random pixel split almost every validation pixel has a
# twin in training (the `leaked` column) and the scores are high and stable: they measure memory. With a polygon
# split nothing leaks, the scores drop, and they vary much more from run to run. The spread is real information:
# with fewer than 80 polygons, much depends on which forests and meadows happen to be validated: the validation set
# holds from about 900 to 5 700 pixels depending on the draw, most of them from the largest forest (a third of all
# pixels) when it is drawn for validation. This is why iota2 repeats its splits ("runs") and reports the mean and
# the spread.
#
# The polygon split is not pessimistic: it asks the question a map answers, "what is the class of land the
# model has never seen?". It is still optimistic in one way: validation polygons are neighbours of training
# polygons in this 1 km² patch. On a real map, validation data should be spread over the whole area, and an
# accuracy estimate for a map needs a probability sample (notebook 08).
#
# ## 5. More tools for samples
#
# labkit has the other splits iota2 and sits use, all keeping polygons whole:
#
# - `split_runs(samples, n_runs)` yields `(train, validation)` sample sets of several runs, and
#   `PolygonKFold` / `split_folds` make a k-fold cross-validation by polygon, stratified by class;
# - `assign_regions(samples, regions, field=...)` sets a region (an eco-climatic zone, a tile) for each sample
#   from a layer of polygons, and `by_region=True` splits each region within itself;
# - `balance_classes(samples, max_per_class=..., oversample=True)` caps the large classes and duplicates the
#   small ones: on the training side only, *after* splitting, or the duplicates leak too.

# %%
capped = balance_classes(samples, max_per_class=500, random_state=0)
pd.DataFrame({"before": pd.Series(n_pixels), "after capping at 500": pd.Series(
    {names[int(c)]: int(n) for c, n in zip(*np.unique(capped.label.values, return_counts=True))})})

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - `extract_samples(cube, polygons)` returns a **sample set**: the series of every pixel inside a reference
#   polygon, its class (`label`) and its polygon (`group`). Points work too (one pixel each).
# - The Slovenian reference is **unbalanced**: forest is three quarters of the pixels, and a few large polygons
#   hold most of them.
# - A **random pixel split leaks**: nearly every validation pixel has pixels of its own polygon in training.
#   Measured on five runs with the same random forest, it reports a much higher OA and kappa than a split by
#   polygon, and hides how much the score depends on which polygons are validated.
# - **Split by polygon, class by class** (`split_by_group`, `PolygonSplit`, `split_runs`, `PolygonKFold`), repeat
#   the split, and report the mean and the spread.
#
# ## What's next
#
# [05 Classical classifiers](05_classifiers.ipynb) trains and compares classifiers on these samples, validated
# by polygon.
