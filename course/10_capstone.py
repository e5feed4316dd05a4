# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Capstone: a land-cover map of Sinop, Brazil
#
# Notebooks 00 to 09 built the chain step by step on a small patch of Slovenia, with Sentinel-2 at 10 m and
# reference polygons drawn on the patch itself. This capstone puts you in front of a new area, a new sensor and a
# new kind of reference data, and asks you to make a land-cover map with it, from start to finish, making the
# choices yourself.
#
# The area is around **Sinop**, in the state of Mato Grosso, Brazil: the southern edge of the Amazon forest,
# where forest, *Cerrado* savanna, pastures and large soybean and maize fields meet. The images are 12 MODIS
# MOD13Q1 NDVI composites of one agricultural year (September 2013 to August 2014) at 232 m; the training data are
# 1 218 labelled NDVI series collected by the R package sits across Mato Grosso over 16 years; 18 field points
# lie inside the images. All of it comes from sits's public repository (GPL-2 licence).
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. bring a new dataset into the chain and describe it: where it is, its grid, dates and gaps, its classes, and
#    how samples from other years line up with the images;
# 2. choose features, a model and a validation scheme for it, and justify each choice, the split above all;
# 3. produce a land-cover map of the whole area, post-processed, and say what it can and cannot show;
# 4. assess the map's accuracy honestly, with the limits of the reference data stated plainly;
# 5. estimate each class's area with an uncertainty, say what the estimate rests on, and design the sample that
#    would make it rigorous;
# 6. report the work so that a reader can judge it, against the rubric of this notebook.
#
# **Prerequisites**: notebooks 00 to 09: the data cube and its mask (00, 01), gap-filling (02), features (03),
# reference samples and honest splits (04), classifiers and cross-validation (05), from a model to a map (07),
# accuracy and area (08). Notebook 06 (deep learning) and notebook 09 (batch runs) are optional here.
#
# **Time**: about 150 minutes: 30 teaching, 120 exercises (the open task takes most of it; the baseline runs in
# under a minute).
#
# **Exercises**: this notebook is a project more than a lesson. Section 1 guides you through the data, with three
# questions and two short exercises; section 2 states the task, section 3 its rubric, and section 4 has one
# exercise cell per **deliverable**: your cross-validation, your map, your area estimate, and your report. Each
# `check` judges a deliverable by its form (folds that keep places whole, a map on the cube's grid, areas that add
# up with intervals), not against one right answer: any model, features or post-processing that meets the form is
# accepted, and the rubric judges the rest. When a deliverable is missing, the check supplies the notebook's
# **baseline**, so you can work on them in any order. Keep the first line of an exercise cell, `%%exercise ...`.
# `hint()` gives a hint on the exercise you are on, `solution()` shows the baseline's code, `progress()` lists
# what you have done.

# %%
import tempfile
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from shapely.geometry import box

from labkit.accuracy import (
    draw_stratified_sample,
    estimate_area,
    pixel_counts,
    plot_area_estimates,
    plot_confusion_matrix,
    stratified_sample_design,
)
from labkit.course import check, hint, progress, solution
from labkit.datamodel import class_names, label_codes
from labkit.datasets import fetch_dataset
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map
from labkit.io import read_samples, read_zarr, write_vector
from labkit.maps import locator_map
from labkit.models import cross_validate, fit_model, make_model
from labkit.postprocess import majority_filter

# %% [markdown]
# ## 1. The area and its data
#
# `fetch_dataset` (notebook 00) fetches the dataset by name, checks every file against its pinned checksum, and
# writes it in labkit's formats, with its licence and a README that says what each file is. On a machine without
# internet, the course's mirror stands in for GitHub (`LABKIT_DATA_MIRROR`).

# %%
workdir = Path(tempfile.mkdtemp(prefix="labkit-capstone-"))  # use a folder of your own to keep the results
files = fetch_dataset("sits-sinop", workdir)
print(files["README.txt"].read_text())

# %% [markdown]
# We use three of these files: the cube with its mask, the sample table `samples_modis_ndvi` and the field points.
# The cube is small (2 MB): we load it into memory.

# %%
cube, mask = read_zarr(files["cube.zarr"], with_mask=True)
cube, mask = cube.load(), mask.load()
points = gpd.read_file(files["points.gpkg"])

width, height = (abs(r) for r in cube.rio.resolution())
west, south, east, north = cube.rio.bounds()
footprint = gpd.GeoSeries([box(west, south, east, north)], crs=cube.rio.crs).to_crs("EPSG:4326")
centre = footprint.union_all().centroid
print(dict(cube.sizes), f"pixels of {width:.1f} m x {height:.1f} m")
print(f"{(east - west) / 1000:.0f} km x {(north - south) / 1000:.0f} km, centred on {abs(centre.y):.2f}° S, "
      f"{abs(centre.x):.2f}° W, in MODIS's sinusoidal projection")
print("dates:", ", ".join(np.datetime_as_string(cube.time.values, unit="D")))
print("valid share per date:", (mask == 0).mean(dim=("y", "x")).values.round(3))

# %% [markdown]
# Few gaps: MOD13Q1 is already a composite, the best observation of 16 days, so clouds rarely survive it (the gaps
# are pixels that no clear day reached). Two dates of the wet season and of the dry season show the landscape:
# the forest stays green all year; the Cerrado and the pastures dry out from May; the fields are bare in
# September, green from December to March, then bare again or green with a second crop (maize after soy).

# %%
names = {1: "Cerrado", 2: "Forest", 3: "Pasture", 4: "Soy_Corn"}  # the classes, as sits names them
colours = {"Cerrado": "#c49c5a", "Forest": "#1f6f1f", "Pasture": "#bde36b", "Soy_Corn": "#e8702a"}
extent = (west, east, south, north)
on_grid = points.to_crs(cube.rio.crs)

fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
for ax, day in zip(axes, ["2014-01-17", "2014-08-29"]):
    image = ax.imshow(cube.sel(time=day, band="NDVI"), cmap="RdYlGn", vmin=0, vmax=1, extent=extent)
    for label, group in on_grid.groupby("label"):
        ax.scatter(group.geometry.x, group.geometry.y, s=40, color=colours[label], edgecolor="black", label=label)
    ax.set(title=f"NDVI on {day}", xticks=[], yticks=[])
fig.colorbar(image, ax=axes, label="NDVI", fraction=0.03)
axes[0].legend(loc="upper center", bbox_to_anchor=(1.05, -0.03), ncol=4, fontsize=8, title="field points")
plt.show()

# %% [markdown]
# ### The training samples
#
# The 1 218 samples are not on this image: sits's authors collected them across Mato Grosso, in the seasons from
# 2000-01 to 2015-16, each a pixel's 12 NDVI values over one agricultural year. `read_samples` reads the sample set
# that `fetch_dataset` wrote (notebook 04 describes sample sets): `X (sample, time, band)`, a `label` per sample,
# its longitude and latitude in `x` and `y`, and the dates of each sample in `date (sample, time)`. Since the
# samples come from different years, `time` holds positions `0..11`, not dates.

# %%
samples = read_samples(files["samples_modis_ndvi.nc"])
assert class_names(samples) == names
seasons = pd.DatetimeIndex(samples.date.values[:, 0]).year
print(dict(samples.sizes))
print("samples per class:", pd.Series(samples.label.values).value_counts().sort_index().to_dict())
print("samples per season (first year):", pd.Series(seasons).value_counts().sort_index().to_dict())

fig, (ax_where, ax_series) = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})
for label in names.values():
    these = samples.label.values == label
    ax_where.scatter(samples.x.values[these], samples.y.values[these], s=6, color=colours[label], label=label)
    ndvi = samples.X.sel(band="NDVI").values[these]
    ax_series.plot(np.arange(12), ndvi.mean(axis=0), color=colours[label], lw=2, label=label)
    ax_series.fill_between(np.arange(12), *np.percentile(ndvi, [25, 75], axis=0), color=colours[label], alpha=0.2)
footprint.boundary.plot(ax=ax_where, color="black", lw=2)
ax_where.set(title="Samples across Mato Grosso; the cube in black", xlabel="longitude", ylabel="latitude")
ax_where.legend(fontsize=8, markerscale=2)
ax_series.set_xticks(np.arange(12), pd.DatetimeIndex(cube.time.values).strftime("%b"))
ax_series.set(title="NDVI of each class: mean and quartiles", ylabel="NDVI")
plt.show()

# %% [markdown]
# Where all this lies on Earth (zoom out on the web map, or switch to the aerial imagery): the cube, with the field
# points in it, and the box that holds the training samples.

# %%
locator_map({"the cube and the field points": cube, "the training samples": samples},
            title="Where the capstone's data lie")

# %% [markdown]
# The four classes differ mostly in *when* they are green: the forest all year, the fields in the wet season
# only, pastures and Cerrado in between, the Cerrado lower and more variable. The classes are unbalanced: three
# times fewer forest samples than Cerrado, although forest covers much of the area (the samples were not drawn at
# random over the land, and never are).
#
# **Question 1 (interpret).** The samples come from 16 different years; the cube covers 2013-14 only. A model
# fitted on the samples' 12 values will read the cube's 12 dates. How do they line up in time?
#
# - a) they cannot be used: a model must be trained on samples of the cube's own year;
# - b) position by position: each sample's 12 dates fall on the same 12 days of the year as the cube's, so the
#   i-th value of a sample and the i-th date of the cube are the same moment of the season;
# - c) only after gap-filling every sample onto the cube's dates (notebook 02), since their days of the year
#   differ.
#
# Look at `samples.date` and `cube.time` if you like, then answer with the letter.

# %% tags=["solution"]
# timing: the letter of your answer, as text.
timing = "b"

# %%
timing = check("10.same_season", timing, samples=samples, cube=cube)
doys = pd.DataFrame(samples.date.values[[0, 400, 800, 1200]]).apply(lambda c: pd.DatetimeIndex(c).day_of_year)
doys.loc["cube"] = pd.DatetimeIndex(cube.time.values).day_of_year
doys.index = [*(f"sample {i}, {seasons[i]}" for i in (0, 400, 800, 1200)), "cube"]
doys  # days of the year of each of the 12 dates

# %% [markdown]
# Had the days differed (another sensor, a season starting on another day), the way in would have been to
# gap-fill every series onto common days of the year (`fill_gaps(..., dates=...)`, notebook 02), as sits
# regularises its cubes. Here the composites' fixed calendar does it for us.
#
# ### Places sampled year after year
#
# Some places of Mato Grosso were sampled in several seasons, always with the same class. That matters for
# validation: the series of one place in two years are alike, so a model tested on a place it learnt in another
# year looks better than it is. The sample set's `group` is each sample's own number here (sits gives no polygons),
# so it cannot keep places whole; labkit's data model has a variable for that, the **site** (notebook 04): one
# number per place.
#
# ### Exercise 1: the site of each sample
#
# Compute `site`, an integer array along `sample`: samples at the same longitude and latitude (`samples.x`,
# `samples.y`) get the same number, places numbered `0, 1, 2...` in the order they first appear.
#
# *Hint*: `pd.factorize` numbers the distinct values of a sequence in the order they first appear.

# %% tags=["solution"]
# site: an integer numpy array (sample,), one number per place.
site = pd.factorize(pd.Series(list(zip(samples.x.values, samples.y.values))))[0]

# %%
site = check("10.site", site, samples=samples)
samples = samples.assign(site=("sample", site))
per_site = pd.Series(site).value_counts()
print(f"{per_site.size} places for {samples.sizes['sample']} samples; samples per place:",
      per_site.value_counts().sort_index().to_dict())
print(f"samples of places sampled more than once: {per_site[per_site > 1].sum() / per_site.sum():.0%}")

# %% [markdown]
# Most places hold a single sample, but a few dozen hold 5 to 15, and together these make over 40 % of the
# samples. Which split is honest, then?
#
# **Question 2 (decide).** You will report the accuracy of your model with a 5-fold cross-validation. How should
# the folds be made, for the score to say how the model does on places it has never seen, such as the pixels of
# the map?
#
# - a) folds of samples drawn at random (each sample on its own);
# - b) folds of places: all the samples of one site, whatever their year, in the same fold;
# - c) folds of years: the samples of one season in the same fold;
# - d) no folds: the accuracy of the model on the samples it was trained on, since they are so many.

# %% tags=["solution"]
# split: the letter of your answer, as text.
split = "b"

# %%
split = check("10.honest_split", split)

# %% [markdown]
# ## 2. The task
#
# Map the land cover of the area of the cube, 2013-14, in the four classes of the samples, and tell how much of
# each there is. Use the chain of notebooks 00 to 09 and make each choice yourself:
#
# - **features**: the 12 NDVI values, temporal statistics, phenological metrics (`labkit.features`), smoothed
#   series...;
# - **model**: a random forest, LightGBM, an SVM, a deep network (`labkit.models.model_names()`), and its
#   settings;
# - **validation**: how you measure the model's accuracy (the folds), and what the 18 field points add;
# - **post-processing**: majority filter, sieve, smoothing of the probabilities (notebook 07), or none;
# - **area**: how you correct the areas counted on the map, and how sure you are.
#
# **Deliverables**, in section 4, one exercise cell each:
#
# 1. `cv`: your cross-validation on all the samples (`cross_validate`), in folds that keep places whole;
# 2. `land_cover`: your class map `(y, x)` on the cube's grid, with the samples' class codes (1 to 4);
# 3. `estimate`: your area estimate of each class, in hectares, with a 95 % interval (`estimate_area` gives one);
# 4. your report: a few paragraphs that state and justify your choices, the map's accuracy and areas, and their
#    limits.
#
# Keep your work to a few minutes of computing: MODIS at 232 m is small, and a better map comes from better choices
# more than from more computing. The baseline of section 4 is a starting point to beat, not a model answer.
#
# ## 3. The rubric
#
# Your work is judged on six criteria, with equal weights. The baseline of section 4 is *good* on most of them,
# *needs work* on the choice of model (it compares none); an excellent project goes where the first column says.
#
# | Criterion | Excellent | Good | Needs work |
# |---|---|---|---|
# | **Data understanding** | Describes the grid, dates, gaps and classes; shows how samples of other years line up with the cube, and where the samples come from (region, years, class balance) compared with the area mapped; names what this means for the map. | Describes the cube and the samples correctly, with figures. | Uses the data without looking at it; misreads the dates, the units or the classes. |
# | **Honest validation** | Cross-validates in folds of places (or coarser: regions), compares with a leaky split and explains the gap; uses the field points as an independent check with their interval, and says what so few points can and cannot show. | Folds of places; reports overall accuracy, per-class scores and the confusion matrix. | Random folds of samples, or training accuracy; a single number without its spread. |
# | **Model choice justified** | Compares at least two feature sets or models under the same honest folds, and chooses by evidence (scores and their spread, cost, what the classes need); says why differences smaller than the spread do not count. | One model with settings that are explained. | A model used by default, with no reason given, or chosen by a leaky score. |
# | **Map quality and post-processing** | The map is complete (no unclassified pixels), its post-processing is justified by the pixel size and the size of the fields, and shown before and after; confidence or uncertainty shows where the map is weak; its errors are discussed with the field points and the images. | A complete map with a sensible post-processing and a legend. | Unclassified holes, stripes or speckle left unexplained; no figure. |
# | **Area estimate with uncertainty** | Areas corrected for the map's errors with 95 % intervals; states what the estimate assumes (here: that the samples' errors are the map's) and designs the probability sample that would make it rigorous (size, allocation, points to label). | Corrected areas with intervals, compared with the pixel counts. | Pixel counts reported as areas, without any uncertainty. |
# | **Communication** | A short report a reader can check: choices with reasons, results with uncertainties, limits stated; figures with titles, units and legends; the notebook runs from top to bottom. | The choices and results are stated; figures are readable. | Results without explanation; the notebook does not run from a fresh kernel. |
#
# ## 4. Your work, and a baseline
#
# Each deliverable has an exercise cell below. In the solution version of this notebook, these cells hold the
# **baseline**: a random forest of 100 trees on the 12 NDVI values and their temporal statistics (labkit's
# `"rf"`), folds of places, a 3 × 3 majority filter, and areas corrected with the cross-validation's error matrix.
# It takes well under a minute. Ideas to beat it: phenological features, another model, a search of
# hyperparameters (notebook 05), probabilities smoothed before labelling (notebook 07), several runs fused
# (notebook 08).
#
# ### Deliverable 1: the cross-validation
#
# Choose your features and model, and cross-validate them on all the samples, in folds that keep every place
# whole. Assign the result of `cross_validate` to `cv`.

# %% tags=["solution"]
# cv: the CVResult of labkit.models.cross_validate on all the samples, in folds of places (group_by="site").
model = make_model("rf", n_estimators=100, random_state=0)  # the 12 values + min, max, mean, std, amplitude, argmax
cv = cross_validate(samples, model, folds=5, group_by="site", random_state=0)
leaky = cross_validate(samples, model, folds=5, random_state=0)  # folds of single samples: for comparison only
print(f"folds of places:  overall accuracy {cv.mean['overall_accuracy']:.3f}, macro F1 {cv.mean['macro_f1']:.3f}")
print(f"folds of samples: overall accuracy {leaky.mean['overall_accuracy']:.3f} (optimistic: places seen in "
      "another year)")

# %%
cv = check("10.validation", cv, samples=samples)
scores = pd.DataFrame([{"overall accuracy": r.overall_accuracy, "macro F1": r.macro_f1} for r in cv.folds])
print("mean ± std over the folds:", ", ".join(f"{k} {scores[k].mean():.3f} ± {scores[k].std():.3f}"
                                                for k in scores))
ax = plot_confusion_matrix(cv.pooled)
ax.set_title("Out-of-fold predictions, folds of places")
plt.show()

# %% [markdown]
# Read the matrix before the map: which classes does the model confuse, and are they the ones you expected from
# the NDVI profiles above?
#
# ### Deliverable 2: the map
#
# Fit your model on all the samples and map every pixel of the cube: fill the few gaps first (notebook 02), predict
# (notebook 07), post-process. Assign the class map `(y, x)` to `land_cover`.

# %% tags=["solution"]
# land_cover: the class map (y, x) on the cube's grid, codes 1 to 4 (the samples' label codes).
filled = fill_gaps(cube, mask)[0]  # linear, on the cube's own dates: MOD13Q1's gaps are short
final_model = fit_model(make_model("rf", n_estimators=100, random_state=0), samples)
products = predict_map(filled, final_model)
land_cover = majority_filter(products["class_map"], 3)  # 3 x 3 pixels: 700 m, about one large field
changed = float((land_cover != products["class_map"]).mean())
print(f"the majority filter changed {changed:.1%} of the pixels; mean confidence "
      f"{float(products['confidence'].mean()):.2f}")

# %%
land_cover = check("10.land_cover", land_cover, cube=cube, mask=mask, samples=samples)
fig, ax = plt.subplots(figsize=(10, 5))
palette = ListedColormap([colours[names[c]] for c in names]).with_extremes(over="white")
ax.imshow(land_cover, cmap=palette, vmin=0.5, vmax=len(names) + 0.5, extent=extent, interpolation="nearest")
ax.scatter(on_grid.geometry.x, on_grid.geometry.y, s=50, c=[colours[label] for label in points["label"]],
           edgecolor="black")
ax.legend(handles=[Patch(color=colours[name], label=name) for name in names.values()], loc="upper left",
          bbox_to_anchor=(1.01, 1), frameon=False)
ax.set(title="Land cover 2013-14; field points in the colour of their class", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ### How far can 18 points go?
#
# The cross-validation tested the model on places of Mato Grosso in other years. The 18 field points are the only
# reference *inside* the map, in 2013-14, at least 4 km from any training sample: an independent check. But a
# small one.
#
# **Question 3 (predict).** Suppose the map is right at 80 % of the places. If you measure its accuracy at 18
# points, each right or wrong, how wide is the 95 % interval of that measurement? Give the half-width, the `x` of
# "accuracy ± x", as a number between 0 and 1 (within 0.06 counts as right).

# %% tags=["solution"]
# half_width: your prediction, a number between 0 and 1.
half_width = 0.2

# %%
half_width = check("10.interval_18", half_width, points=points)

# %% [markdown]
# ### Exercise 2: the map at the field points
#
# Compute `point_accuracy`, the share of the 18 points whose `label` is the class of `land_cover` at that point.
# The points are in longitude and latitude: reproject them to the map's CRS first, then read the pixel that holds
# each one, and turn its code into a name with `names`.
#
# *Hint*: `land_cover.sel(x=..., y=..., method="nearest")` with two DataArrays along a new dim, `"point"`, reads one
# pixel per point.

# %% tags=["solution"]
# point_accuracy: a float, the share of the field points that the map gets right.
xs = xr.DataArray(on_grid.geometry.x.values, dims="point")  # on_grid: the points in the map's CRS
ys = xr.DataArray(on_grid.geometry.y.values, dims="point")
codes_at_points = land_cover.sel(x=xs, y=ys, method="nearest").values
point_accuracy = float(np.mean([names[int(c)] == label for c, label in zip(codes_at_points, points["label"])]))

# %%
point_accuracy = check("10.point_accuracy", point_accuracy, class_map=land_cover, points=points, class_names=names)
n = len(points)
half = 1.96 * np.sqrt(point_accuracy * (1 - point_accuracy) / n)
print(f"{point_accuracy:.2f} ± {half:.2f} at the {n} field points; cross-validation: "
      f"{cv.mean['overall_accuracy']:.2f}")

# %% [markdown]
# Which points does the map miss, and as what? A cross-validated accuracy and an accuracy at 18 local points may
# differ by more than their intervals suggest when the area differs from the samples' average: other soils, other
# practices, another rainfall in 2013-14. Say in your report whether you see that here.
#
# ### Deliverable 3: the areas
#
# Counting the map's pixels gives areas biased by its errors (notebook 08). The rigorous remedy is a probability
# sample of the map, labelled by an interpreter: we have none. What we do have is an error matrix, the
# cross-validation's out-of-fold predictions against the labels. Used as if it were a sample of the map, in each
# map class, the share of the samples predicted in that class that truly belong to each class, it corrects the
# pixel counts the same way, with intervals. That rests on an **assumption** worth stating in your report: that
# the map's errors in Sinop are those the model makes on the samples of all Mato Grosso. The field points tell
# you how far to trust it.
#
# Assign to `estimate` your area estimate: an `AreaEstimate` (what `estimate_area` returns), or a DataFrame with a
# row per class and columns `area` and `area_ci` (the interval's half-width), in hectares.

# %% tags=["solution"]
# estimate: an AreaEstimate (labkit.accuracy.estimate_area), in hectares, adding up to the map's area.
pixel_ha = abs(np.prod(land_cover.rio.resolution())) / 10_000  # 5.4 ha
reference_codes = label_codes(samples)[0]  # the samples' labels as codes 1 to 4, as the map's
estimate = estimate_area(cv.predictions, reference_codes, pixel_counts(land_cover), pixel_area=pixel_ha, unit="ha",
                         class_names=names)

# %%
estimate = check("10.areas", estimate, class_map=land_cover, cv=cv, samples=samples)
table = estimate.to_frame() if hasattr(estimate, "to_frame") else estimate
table[[c for c in ("mapped_area", "area", "area_ci", "users_accuracy", "producers_accuracy") if c in table]].round(2)

# %%
if hasattr(estimate, "area_se"):
    ax = plot_area_estimates(estimate)
    ax.set_title("Areas: counted on the map, and corrected with the cross-validation's errors")
    plt.show()

# %% [markdown]
# The intervals are narrow because 1 218 samples are many: they measure the sampling error of the error matrix,
# not the doubt about the assumption, which is far larger. A rigorous estimate needs the sample of notebook 08:
# points drawn at random in each map class, labelled by an interpreter who does not see the map. With your
# cross-validated user's accuracies as the guesses, `stratified_sample_design` sizes it for a target standard error
# of overall accuracy; `draw_stratified_sample` draws the points, and `write_vector` saves them to label in a GIS
# on high-resolution images.

# %%
expected_users = dict(cv.pooled.precision)
design = stratified_sample_design(land_cover, target_se=0.02, expected_user_accuracy=expected_users,
                                  min_per_class=50, class_names=names)
to_label = draw_stratified_sample(land_cover, design, random_state=0)
path = write_vector(to_label.to_crs("EPSG:4326"), workdir / "points_to_label.gpkg")
print(f"{design.n_total} points to label (eq. 13 asks {design.n_required}, at least 50 per class): {path.name}")
design.to_frame().round(3)

# %% [markdown]
# ### Deliverable 4: your report
#
# In the cell below, write your report in a few paragraphs: the data and what it implies, your choices and why,
# the accuracy (with its honest split and its spread), the map and its post-processing, the areas with their
# intervals and what they assume, and the limits. Check it against the rubric.

# %% [markdown] tags=["solution"]
# **Baseline report.** *Data.* The cube holds 12 MOD13Q1 NDVI composites of 2013-14 at 232 m around Sinop
# (59 km × 34 km); its few gaps (at most 1.5 % of the pixels on any date) were filled linearly in time. The 1 218
# training samples come from all of Mato Grosso, 2000 to 2016, on the same 12 days of the year as the cube, so the
# model reads them position by position; it learns an average season, not 2013-14's. Forest is the rarest class
# in the samples (11 %) but covers about 40 % of the map.
#
# *Model and validation.* A random forest of 100 trees on the 12 values and their temporal statistics (labkit's
# `"rf"`), a robust default; no other model was compared, which is the baseline's main weakness. Many places were
# sampled in several seasons, so the folds keep places whole: overall accuracy 0.89 ± 0.03 over 5 folds, against
# 0.91 with folds of single samples (the leak is small because most places have one sample). Pasture and Cerrado
# are confused with each other; forest and soy/maize are almost never wrong in the samples.
#
# *Map.* Every pixel is classified; a 3 × 3 majority filter (700 m, about one large field) removed isolated pixels,
# changing about 10 % of them. At the 18 field points the map is right at 14 (0.78 ± 0.19), consistent with the
# cross-validation given so few points; the misses (a Cerrado point mapped as forest, two soy/maize points as
# pasture and forest, a pasture as soy/maize) say that the local landscape is not quite the samples' average.
#
# *Areas.* Corrected with the cross-validation's error matrix: forest about 83 000 ha, soy/maize 66 000, Cerrado
# 31 000, pasture 21 000 (up from 18 000 counted on the map), with intervals of 1 000 to 2 000 ha. These intervals
# assume that the map's errors are the samples', which the field points do not confirm: they are too narrow. A
# stratified sample of 200 points (saved for labelling, 50 per class) would give a design-based estimate.

# %%
progress()  # this notebook's exercises and deliverables: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - A new dataset first gets **looked at**: its grid, dates, gaps and classes, and where and when its samples come
#   from compared with the area to map.
# - Samples of other years can train a model for this year when they share its **days of the year**, position by
#   position, or after gap-filling both onto common dates; the model still learns the average year, not this one.
# - **Validation must keep places whole**: a place sampled in many seasons, split across folds, makes the score
#   optimistic. The `site` variable does it for `split_by_group`, `make_folds` and `cross_validate`
#   (`group_by="site"`).
# - A handful of field points inside the map is an **independent check**, but a coarse one: at 18 points, an
#   accuracy is known to about ± 0.2.
# - Areas need an **error matrix** to be corrected: from a probability sample of the map for a rigorous estimate
#   (notebook 08); from the cross-validation as a stop-gap, stating what it assumes.
# - A result is only as good as its **report**: choices with reasons, numbers with intervals, limits said plainly.
#
# ## What's next
#
# This is the end of the course. To map an area of your own, bring its images, masks and reference data in as the
# book's page *Bring your own data* shows ([own_data](../own_data.md) in the book), make the choices in a notebook
# as you did here, then write them as a run config (notebook 09) and let `labkit run` do the tiles. Instructors
# will find how to run the course as a workshop in the book's page *For instructors* ([instructors](../instructors.md)
# in the book).
