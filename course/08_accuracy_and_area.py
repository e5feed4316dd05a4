# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Accuracy and area: how much land cover, and how sure are we?
#
# A land-cover map is often made to answer a question of *area*: how many hectares of forest, of grassland, of
# new buildings? The obvious answer, counting the pixels of each class, is wrong by exactly the map's errors: if
# the classifier calls some shrubland "forest" and little forest "shrubland", forest is overestimated and
# shrubland underestimated, however good the overall accuracy looks. The remedy, now standard practice, is to
# **collect reference labels on a probability sample of the map** and use them both to assess the map's accuracy
# and to correct its areas, with confidence intervals (Olofsson et al. 2014, *Good practices for estimating area
# and assessing accuracy of land change*, Remote Sensing of Environment 148: 42–57).
#
# This notebook makes a map of the Slovenian patch, then goes through the whole practice on it.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. explain why counting a map's pixels gives biased areas;
# 2. size a stratified random sample for a target precision (Olofsson's eq. 13) and allocate it to the map
#    classes, and draw it with `labkit.accuracy`;
# 3. compute the error matrix in area proportions, the area-weighted overall accuracy and each class's area
#    share from the sample counts;
# 4. report accuracies and areas with 95 % confidence intervals, and check by simulation what "95 %" means;
# 5. fuse the maps of several runs (majority vote, mean of probabilities) and report scores as mean ± std over runs.
#
# **Prerequisites**: the tour of the data cube (notebook 00); what a confusion matrix, user's and producer's
# accuracies are; a little pandas (`DataFrame`, `.loc`, `.sum(axis=...)`).
#
# **Time**: about 60 minutes: 35 teaching, 25 exercises.
#
# **Exercises**: four, marked *Exercise*, and two questions, marked *Question*, where you predict before the
# notebook computes. Write your code (or your answer) in the cell below each statement, in place of the
# `...`, then run the `check` cell that follows: it tells you whether your answer is right, and the notebook
# goes on with the right value either way.

# %%
import math
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from labkit.accuracy import (
    assess_accuracy,
    draw_stratified_sample,
    estimate_area,
    pixel_counts,
    plot_area_estimates,
    stratified_sample_design,
    summarize_runs,
)
from labkit.course import check, hint, progress, solution
from labkit.datamodel import NO_CLASS, UNDECIDED
from labkit.datasets import load_slovenia
from labkit.features import STATS
from labkit.gapfill import fill_gaps
from labkit.inference import predict_cube
from labkit.models import make_model
from labkit.postprocess import fuse_class_maps, fuse_probabilities
from labkit.report import plot_class_map, write_accuracy_report
from labkit.samples import extract_samples, split_by_group

# %% [markdown]
# ## 1. A map to assess
#
# We run the chain of `labkit demo` on the embedded patch: gap-filled NDVI series, samples from the reference
# polygons split by polygon, a random forest, a prediction of every pixel. We train three models, with three
# random seeds (each seed also draws another training/validation split of the polygons): the first map is *the*
# map we assess; all three serve at the end, to fuse runs. We also keep each model's class probabilities.

# %%
data = load_slovenia()
names = data.class_names
filled, _ = fill_gaps(data.cube, data.mask, step=10, method="linear")
samples = extract_samples(filled, data.polygons[data.polygons["class_id"] > 0])  # class 0: polygons with no label


def class_probabilities(model, cube):
    """The model's probability of each class at each pixel: a (class, y, x) DataArray."""
    pixels = cube.transpose("y", "x", "time", "band").values
    proba = model.predict_proba(pixels.reshape(-1, *pixels.shape[2:]))
    return xr.DataArray(proba.T.reshape(len(model.classes_), *pixels.shape[:2]), dims=("class", "y", "x"),
                        coords={"class": model.classes_, "y": cube.y, "x": cube.x})


runs = []
for seed in (0, 1, 2):
    train, validation = split_by_group(samples, train_size=0.7, random_state=seed)
    model = make_model("rf", stats=STATS, n_estimators=40, random_state=seed)
    model.fit(train["X"].values, train["label"].values)
    run_map, _ = predict_cube(filled, model)
    scores = assess_accuracy(validation["label"].values, model.predict(validation["X"].values),
                             labels=list(model.classes_), class_names=names)
    runs.append({"map": run_map, "probs": class_probabilities(model, filled), "scores": scores})
    print(f"seed {seed}: overall accuracy on the validation polygons {scores.overall_accuracy:.3f}")

class_map = runs[0]["map"]
fig, ax = plt.subplots(figsize=(7, 5))
plot_class_map(class_map, {c: names[c] for c in runs[0]["scores"].labels}, ax=ax)
ax.set_title("The map to assess (seed 0)")
plt.show()

# %% [markdown]
# The accuracy printed above is measured on the validation polygons: a handful of parcels, chosen for training
# data, not at random. It says how the model does on parcels like those, not how accurate the *map* is over the
# patch, and it says nothing about areas. For that we need a sample of the map drawn at random.
#
# ## 2. Areas by counting pixels
#
# Each pixel covers a little under 100 m²; `rio.resolution()` gives its size in metres.

# %%
width, height = class_map.rio.resolution()
pixel_area_ha = abs(width * height) / 10_000
print(f"one pixel: {abs(width):.2f} m x {abs(height):.2f} m = {pixel_area_ha:.6f} ha")

# %% [markdown]
# ### Exercise 1: the mapped area of each class
#
# Compute `mapped_area`: a dict `{class code: area in hectares}` of every class of `class_map`, from its number
# of pixels. Leave out unclassified pixels (`NO_CLASS`, 255), if any.
#
# *Hint*: `np.unique(values, return_counts=True)` returns the distinct values and how many times each occurs.

# %% tags=["solution"]
# mapped_area: a dict {class code (int): hectares (float)}, by counting the pixels of each class.
mapped_area = {int(code): float(n * pixel_area_ha)
               for code, n in zip(*np.unique(class_map.values, return_counts=True)) if code != NO_CLASS}

# %%
mapped_area = check("08.mapped_area", mapped_area, class_map=class_map, pixel_area_ha=pixel_area_ha)

# %% [markdown]
# This patch is unusual: it comes with a **reference land-cover raster** covering every pixel
# (`data.reference`, the land-use data the polygons were taken from). In real life such a layer does not exist,
# or it would not be worth making the map. Here it lets us see the truth we are after, and play the
# photo-interpreter later. Its code 0 ("no label") marks land that the reference leaves unclassified: our
# classifier never predicts it, so every such pixel is a map error of a kind.

# %%
reference = data.reference
true_pixels = {int(c): int(n) for c, n in zip(*np.unique(reference.values, return_counts=True))}
areas = pd.DataFrame({
    "mapped (ha)": pd.Series(mapped_area),
    "true (ha)": pd.Series(true_pixels) * pixel_area_ha,
}).fillna(0.0)
areas["mapped - true"] = areas["mapped (ha)"] - areas["true (ha)"]
areas.index = [names[c] for c in areas.index]
areas.round(2)

# %% [markdown]
# Some classes are overestimated, others underestimated: the classifier's confusions go one way more than the
# other, so they do not cancel. Counting pixels gives a *biased* estimate of area, and nothing in the map alone
# tells us how biased. A reference sample does.
#
# ## 3. Designing a stratified random sample
#
# We will check the map at a few hundred points, chosen at random. Rare classes matter (they are often what a
# study is about) but a simple random sample would put almost no point on them. So we **stratify**: the map's
# classes are the strata, and each gets its own random sample. Two questions: how many points in all, and how
# many in each class?
#
# **How many?** Olofsson et al. (2014), eq. 13, gives the total sample size $n$ for a target standard error
# $S(\hat O)$ of the overall accuracy:
#
# $$ n = \left( \frac{\sum_i W_i S_i}{S(\hat O)} \right)^2, \qquad S_i = \sqrt{U_i (1 - U_i)} $$
#
# where $W_i$ is the share of the map in class $i$ and $U_i$ a guess of its user's accuracy (the share of the
# pixels mapped as $i$ that really are $i$): a class we expect to be well mapped needs fewer points.

# %%
strata = pixel_counts(class_map)  # {code: pixels}, the strata's sizes
codes = list(strata)
weights = np.array([strata[c] for c in codes]) / sum(strata.values())
guess = {1: 0.7, 2: 0.95, 3: 0.85, 4: 0.7, 8: 0.7}  # conjectured user's accuracies
users = np.array([guess[c] for c in codes])
target_se = 0.01
pd.DataFrame({"pixels": [strata[c] for c in codes], "W_i": weights.round(4), "U_i": users},
             index=[names[c] for c in codes])

# %% [markdown]
# ### Exercise 2: the total sample size
#
# Compute `n_required`, the sample size of eq. 13 for these `weights` ($W_i$), `users` ($U_i$) and `target_se`
# ($S(\hat O)$), rounded **up** to a whole number of points.

# %% tags=["solution"]
# n_required: an int, eq. 13 rounded up.
n_required = math.ceil((np.sum(weights * np.sqrt(users * (1 - users))) / target_se) ** 2)

# %%
n_required = check("08.sample_size", n_required, weights=weights, users=users, target_se=target_se)
print(f"{n_required} points for a standard error of {target_se} on overall accuracy")

# %% [markdown]
# **How many in each class?** In proportion to the classes' areas, forest would take most points and the rare
# classes a handful. Olofsson et al. recommend a compromise: a minimum per class, the rest in proportion.
# `stratified_sample_design` does both steps; with `min_per_class=50` the small classes get 50 points, or all
# their pixels when they have fewer.

# %%
design = stratified_sample_design(class_map, target_se=target_se, expected_user_accuracy=guess, min_per_class=50,
                                  class_names=names)
print(f"eq. 13: {design.n_required} points; allocated: {design.n_total}; expected standard error of overall "
      f"accuracy with this allocation: {design.expected_se:.4f}")
design.to_frame().round(3)

# %% [markdown]
# The minimum per class moves points away from forest, where they counted most for overall accuracy: the
# expected standard error is a little above the target. That is the price of a precise user's accuracy for the
# rare classes. Now we draw the points: `draw_stratified_sample` picks, in each class, the allocated number of
# distinct pixels at random (reproducibly, from the seed).

# %%
points = draw_stratified_sample(class_map, design, random_state=0)
print(points["map_class"].value_counts().sort_index().to_dict())

fig, ax = plt.subplots(figsize=(7, 5))
plot_class_map(class_map, {c: names[c] for c in codes}, ax=ax)
ax.scatter(points["col"], points["row"], s=9, facecolor="white", edgecolor="black", linewidth=0.6)
ax.set_title(f"{len(points)} sample points, stratified by map class")
plt.show()

# %% [markdown]
# ## 4. Collecting the reference labels
#
# In a real assessment, an interpreter now looks at each point on very high resolution images, field photos or
# time series, and writes down its true class, *without looking at the map* (so as not to be swayed by it). We
# simulate this by reading the reference raster at each point. Some points fall in the polygons that trained the
# model; that is as it should be: we assess the map as it is, everywhere, not the model's skill on new parcels.

# %%
points["reference"] = reference.values[points["row"], points["col"]]
counts = pd.crosstab(points["map_class"], points["reference"])
counts = counts.reindex(columns=sorted(set(counts.columns) | set(codes)), fill_value=0)  # a column per map class
counts.index.name, counts.columns.name = "map", "reference"
counts

# %% [markdown]
# This is the error matrix in **sample counts** $n_{ij}$: rows are the strata (map classes), columns the
# reference classes. Its diagonal is where map and reference agree. It is *not* a picture of the map's errors
# yet: each row has the number of points we chose for that class, not the class's share of the map.
#
# ### Question 1 (predict): the share of correct points
#
# The simplest accuracy is the share of correct points: the diagonal of `counts` over its total. Before Exercise 3
# computes the map's overall accuracy, predict: will this plain share be
#
# - a) lower than the area-weighted overall accuracy;
# - b) higher than the area-weighted overall accuracy;
# - c) the same: both count the same correct points?
#
# Think of which strata got more points than their share of the map (the design's table, above), and how well they
# are mapped (their rows). Give `plain_vs_weighted`, the letter of your answer.

# %% tags=["solution"]
# plain_vs_weighted: the letter of your answer, a string: "a", "b" or "c".
plain_vs_weighted = "a"

# %%
plain_vs_weighted = check("08.plain_versus_weighted", plain_vs_weighted, counts=counts,
                          weights=dict(zip(codes, weights)))

# %% [markdown]
# ### Exercise 3: the area-weighted overall accuracy
#
# The share of correct points in stratum $i$, $n_{ii}/n_{i\cdot}$, estimates the accuracy of that class; the
# map's overall accuracy is their mean weighted by the strata's areas:
# $\hat O = \sum_i W_i \, n_{ii} / n_{i\cdot}$.
# Compute `overall_accuracy` from `counts` and `strata_weights` (a dict `{map class: W_i}`).

# %%
strata_weights = dict(zip(codes, weights))

# %% tags=["solution"]
# overall_accuracy: a float, sum over the map classes c of W_c x (correct points of c / points of c).
overall_accuracy = sum(strata_weights[c] * counts.loc[c, c] / counts.loc[c].sum() for c in counts.index)

# %%
overall_accuracy = check("08.area_weighted_oa", overall_accuracy, counts=counts, weights=strata_weights)
naive = sum(counts.loc[c, c] for c in counts.index) / counts.values.sum()
print(f"area-weighted: {overall_accuracy:.3f}; share of correct points (wrong here): {naive:.3f}")

# %% [markdown]
# The plain share of correct points gives too much weight to the small classes, which we sampled heavily and
# which are harder to map.
#
# ### Question 2 (predict): the area of artificial surfaces
#
# The map counts the area of artificial surfaces printed below. Read their row and their column in `counts`: some
# points of their stratum are something else (commissions, which take area away), some points of the other strata
# are artificial surfaces (omissions, which add area), and a point stands for more hectares in a large stratum than
# in a small one. Before Exercise 4 computes it, predict the area of artificial surfaces that the sample estimates:
# `artificial_ha`, a number of hectares; within 25 % of the estimate is right.

# %%
artificial = next(code for code, name in names.items() if name == "artificial surface")
total_area = sum(mapped_area.values())  # hectares
print(f"{names[artificial]} (code {artificial}): {mapped_area[artificial]:.2f} ha mapped, of {total_area:.1f} ha")

# %% tags=["solution"]
# artificial_ha: a number, your prediction of the estimated area of artificial surfaces, in hectares.
artificial_ha = 2.2  # its stratum's wrong points take some area away; the forest points labelled artificial add more

# %%
artificial_ha = check("08.artificial_area", artificial_ha, counts=counts, weights=dict(zip(codes, weights)),
                      code=artificial, total_area=total_area)

# %% [markdown]
# ### Exercise 4: the area share of each class
#
# The same weighting turns the sample into areas. Each cell becomes an **area proportion**
# $\hat p_{ij} = W_i \, n_{ij} / n_{i\cdot}$ (the error matrix in area proportions); the share of the area that
# truly is class $k$ is its column sum, $\hat p_{\cdot k} = \sum_i W_i \, n_{ik} / n_{i\cdot}$.
# Compute `area_shares`, a pandas Series indexed by reference class, from `counts` and `strata_weights`.

# %% tags=["solution"]
# area_shares: a pandas Series {reference class: estimated share of the area}, summing to 1.
area_shares = counts.div(counts.sum(axis=1), axis=0).mul(pd.Series(strata_weights), axis=0).sum(axis=0)

# %%
area_shares = check("08.area_proportions", area_shares, counts=counts, weights=strata_weights)
print(f"the shares sum to {area_shares.sum():.6f}; {names[artificial]}: {area_shares[artificial] * total_area:.2f} ha "
      f"estimated, {mapped_area[artificial]:.2f} ha mapped")

# %% [markdown]
# ## 5. Estimates with confidence intervals
#
# `estimate_area` computes all of this at once, with the standard errors of Olofsson et al. (2014) and 95 %
# confidence intervals (estimate ± 1.96 standard errors), from the map class and reference class of each point
# and the strata's sizes. (It is tested against the worked example of the paper.)

# %%
estimate = estimate_area(points["map_class"], points["reference"], strata, pixel_area=pixel_area_ha, unit="ha",
                         class_names=names)
table = estimate.to_frame()
table["true"] = [true_pixels.get(c, 0) * pixel_area_ha for c in estimate.labels]
table["CI holds true"] = (table["area"] - table["area_ci"] <= table["true"]) & (table["true"] <= table["area"] +
                                                                                table["area_ci"])
table[["points", "mapped_area", "area", "area_ci", "true", "CI holds true", "users_accuracy", "users_accuracy_ci",
       "producers_accuracy", "producers_accuracy_ci"]].round(3)

# %% [markdown]
# Read a row as "class, estimated area ± `area_ci` hectares". Compare the *mapped* area, the *estimated* area and
# its interval with the *true* area, which a real study would not know. The estimate is the map's area corrected
# by the errors the sample found: the commissions seen in a class's own stratum take area away, the omissions
# seen in the other strata add some. One sample is one draw: its estimate is off by a random error, of the
# order of its standard error, and the interval may miss the truth (the next section tells how often). The
# user's accuracy (of the pixels mapped as a class, the share that truly is that class) and the producer's
# accuracy (of the area truly in a class, the share mapped as such) come with their intervals too. The producer's
# accuracy of a rare class is the least reliable: the points that reveal its omissions fall in the other, large
# strata, where a few hundred points catch few of them, or none.

# %%
true_accuracy = float((class_map.values == reference.values).mean())
low, high = estimate.ci(estimate.overall_accuracy, estimate.overall_accuracy_se)
where = "inside" if low <= true_accuracy <= high else "outside"
print(f"overall accuracy {estimate.overall_accuracy:.3f} ± {1.96 * estimate.overall_accuracy_se:.3f} (95 % CI); "
      f"over every pixel of the patch it is {true_accuracy:.3f}: {where} the interval")
ax = plot_area_estimates(estimate)
ax.scatter(np.arange(len(estimate.labels)) + 0.2, table["true"], marker="_", s=300, color="crimson", zorder=3,
           label="true (reference raster)")
ax.legend(fontsize=8, frameon=False)
plt.show()

# %% [markdown]
# ### What does "95 %" mean?
#
# Another seed would draw other points and give other estimates. Two promises stand behind the method: on
# average over samples the estimate is right (it is *unbiased*, which pixel counting is not), and a 95 %
# confidence interval covers the true value in 95 % of the samples. With the reference raster we can check both:
# draw 200 samples of the same design, and look at the mean of their estimates and at how often each interval
# holds the truth.

# %%
n_repeats = 200
estimates = {c: [] for c in estimate.labels}
covered = {c: 0 for c in estimate.labels}
accuracy_covered = 0
for seed in range(n_repeats):
    sample = draw_stratified_sample(class_map, design, random_state=1000 + seed)
    again = estimate_area(sample["map_class"], reference.values[sample["row"], sample["col"]], strata,
                          pixel_area=pixel_area_ha, labels=estimate.labels)
    for c in estimate.labels:
        low, high = again.area_ci[c]
        estimates[c].append(again.area[c])
        covered[c] += low <= table.loc[names[c], "true"] <= high
    low, high = again.ci(again.overall_accuracy, again.overall_accuracy_se)
    accuracy_covered += low <= true_accuracy <= high
print(f"overall accuracy: its interval held the truth in {accuracy_covered / n_repeats:.0%} of the samples")
pd.DataFrame({"mapped (ha)": table["mapped_area"].values, "true (ha)": table["true"].values,
              f"mean of {n_repeats} estimates (ha)": [np.mean(estimates[c]) for c in estimate.labels],
              "intervals holding the truth": [covered[c] / n_repeats for c in estimate.labels]},
             index=table.index).round(3)

# %% [markdown]
# The mean of the estimates lands close to the true areas, where the mapped areas are off: the bias of pixel
# counting is gone. The intervals hold the truth in close to 95 % of the samples for the larger classes, often
# a little less: "± 1.96 SE" is a normal approximation, optimistic when the errors are rare events that a sample
# of this size catches a few times or not at all. For a tiny class it breaks down: a stratum whose points all
# agree with the map gets a standard error of 0, and an interval of zero width misses whenever the truth differs
# at all. Rare classes need more points, and their intervals are only indicative.
#
# ## 6. Several runs: fusion and mean ± std
#
# One run of a chain depends on its seed: which polygons trained the model, how the trees were grown. Two
# standard answers: report the scores of several runs as **mean ± standard deviation**, and **fuse** the runs'
# maps into one.

# %%
summary = summarize_runs([run["scores"] for run in runs])
print(f"over {summary.n_runs} runs: overall accuracy {summary.overall_accuracy.format()}, "
      f"kappa {summary.kappa.format()}, macro F1 {summary.macro_f1.format()}")
pd.Series({names[c]: summary.f1[c].format() for c in summary.labels}, name="F1 (mean ± std)").to_frame()

# %% [markdown]
# `fuse_class_maps` is a majority vote, pixel by pixel, as in iota2: the class with the most votes wins, and a
# pixel where classes tie gets the *undecided* code (254), rather than one of them at random. With three runs, a
# tie means the three runs disagree entirely. `fuse_probabilities` averages the runs' class probabilities
# instead; the class of highest mean wins, and that mean is the pixel's confidence.

# %%
voted = fuse_class_maps([run["map"] for run in runs])
averaged, confidence = fuse_probabilities([run["probs"] for run in runs])
changed = int((voted != class_map).sum())
undecided = int((voted == UNDECIDED).sum())
print(f"the vote changes {changed} pixels of the seed-0 map; {undecided} are undecided")
print(f"vote and mean of probabilities agree on {float((voted == averaged).mean()):.1%} of the pixels")
for label, fused in (("seed-0 map", class_map), ("vote", voted), ("mean of probabilities", averaged)):
    print(f"{label:>22}: {(fused.values == reference.values).mean():.3f} of the pixels agree with the reference")

fig, (ax_map, ax_confidence) = plt.subplots(1, 2, figsize=(13, 4.5))
plot_class_map(averaged, {c: names[c] for c in codes}, ax=ax_map)
ax_map.set_title("Fused map (mean of probabilities)")
image = ax_confidence.imshow(confidence, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
ax_confidence.set_title("Confidence: highest mean probability")
ax_confidence.set_axis_off()
fig.colorbar(image, ax=ax_confidence, fraction=0.046)
plt.show()

# %% [markdown]
# Fusing removes some of one run's quirks; low confidence marks the pixels worth a second look, typically along
# parcel edges and in the classes the model confuses. The fused map can be assessed exactly like the first one:
# design, sample, estimate.
#
# ## 7. A report
#
# `write_accuracy_report` writes the tables and figures of an assessment as a Markdown file: here the runs'
# summary and the area estimates.

# %%
out = Path(tempfile.mkdtemp()) / "assessment"
path = write_accuracy_report(out, [summary, estimate], title="Slovenian patch: accuracy and area",
                             facts={"map": "random forest, seed 0", "sample": f"{len(points)} points, stratified"})
print(sorted(p.name for p in out.iterdir()))
print("\n".join(path.read_text().splitlines()[:12]))

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - **Counting pixels** gives areas biased by the map's errors, which do not cancel out.
# - A **stratified random sample** of the map (strata = map classes) is sized with eq. 13 of Olofsson et al.
#   (2014) for a target standard error of overall accuracy, and allocated in proportion to the classes' areas
#   with a minimum per class: `stratified_sample_design`, then `draw_stratified_sample`.
# - Each point gets a **reference label**, from a source better than the map, collected without looking at it.
# - Weighting the sample counts by the strata's areas, $\hat p_{ij} = W_i n_{ij} / n_{i\cdot}$, gives the error
#   matrix in area proportions, the **area-weighted overall accuracy** $\sum_i \hat p_{ii}$ and each class's
#   **area** $\hat p_{\cdot k} \times$ total area: `estimate_area`, with standard errors and 95 % confidence
#   intervals (± 1.96 SE), which do cover the truth about 95 % of the time, less for tiny classes.
# - Several runs are reported as **mean ± std** (`summarize_runs`) and **fused** by majority vote with an undecided
#   code on ties (`fuse_class_maps`) or by the mean of probabilities (`fuse_probabilities`).
#
# **Reference**: P. Olofsson, G. M. Foody, M. Herold, S. V. Stehman, C. E. Woodcock, M. A. Wulder (2014), "Good
# practices for estimating area and assessing accuracy of land change", *Remote Sensing of Environment* 148:
# 42–57, doi:10.1016/j.rse.2014.02.015.
#
# ## What's next
#
# [09 From notebook to batch](09_notebook_to_batch.ipynb) turns the choices made in these notebooks into a run
# config, and runs the whole chain over many tiles, on a laptop or a cluster.
