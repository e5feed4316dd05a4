# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Features: spectral indices and temporal statistics
#
# A classifier never sees a forest or a wheat field: it sees, for each pixel, a list of numbers, its
# **features**. The raw reflectances are features already, but a few well-chosen combinations of them say much
# more. A **spectral index** combines bands on each date (NDVI: how green; NDWI: how wet), and **temporal
# statistics** summarise a pixel's whole year in a few numbers (how green at the peak, when the peak came, how
# much the pixel changed). This notebook computes both with labkit, on real Sentinel-2 data, and looks at how well
# they tell land-cover classes apart.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. explain what a normalised-difference index measures, and compute one by hand from bands;
# 2. find an index in labkit's registry, with the bands it needs, and compute it with `compute_features`;
# 3. add your own features: an expression on band names, and a Python function on numpy arrays;
# 4. summarise a gap-filled time series with temporal statistics (maximum, amplitude, date of the maximum), as maps;
# 5. judge whether a feature separates land-cover classes, with box plots per class.
#
# **Prerequisites**: the data cube and its validity mask (notebook 00), and the idea of gap-filling: resampling
# each pixel's clear observations onto regular dates.
#
# **Time**: about 50 minutes: 30 teaching, 20 exercises.
#
# **Exercises**: three, marked *Exercise*, and two questions, marked *Question*, where you predict a result before
# the notebook shows it. Write your code (for a question, your answer: a number or a letter) in the cell below each
# statement, in place of the `...`, then run the `check` cell that follows.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labkit.course import check, hint, progress, solution
from labkit.datasets import load_bolzano, load_slovenia
from labkit.errors import BandError
from labkit.features import (
    available_indices,
    compute_features,
    date_of_max,
    index_table,
    temporal_features,
)
from labkit.gapfill import fill_gaps

# %% [markdown]
# ## 1. Spectral indices on real Sentinel-2 bands
#
# labkit ships a 2 km × 2 km crop of a Sentinel-2 L2A product near Bolzano, in the Italian Alps: twelve dates of
# June 2022, four bands at 10 m (B02 blue, B03 green, B04 red, B08 near infrared) as surface reflectance (0 to 1),
# and a validity mask from the product's scene classification.

# %%
bolzano = load_bolzano()
cube, mask = bolzano.cube, bolzano.mask
print(bolzano.description)
print(dict(cube.sizes), "bands:", cube.band.values.tolist())

# %% [markdown]
# Healthy leaves absorb red light (chlorophyll uses it) and reflect near infrared strongly (the cells of the leaf
# scatter it). Soil reflects both about equally; water absorbs near infrared almost completely. A **normalised
# difference** of two bands,
#
# $$\frac{a - b}{a + b},$$
#
# turns such contrasts into a number between −1 and 1 that does not depend much on the illumination (a shadow
# darkens both bands alike). With $a$ = near infrared and $b$ = red, it is the **NDVI**, high on green
# vegetation. With $a$ = green and $b$ = near infrared, it is McFeeters' **NDWI**, positive on open water.
#
# ### Exercise 1: NDWI by hand
#
# Compute `ndwi`: the NDWI of every date and pixel of `cube`, $(\mathrm{B03} - \mathrm{B08}) / (\mathrm{B03} +
# \mathrm{B08})$, as a DataArray with dims `(time, y, x)`.
#
# *Hint*: `cube.sel(band="B03")` is the green band, a DataArray `(time, y, x)`; arithmetic on DataArrays works
# value by value.

# %% tags=["solution"]
# ndwi: a DataArray (time, y, x), the NDWI of every date and pixel.
green, nir = cube.sel(band="B03"), cube.sel(band="B08")
ndwi = (green - nir) / (green + nir)

# %%
ndwi = check("03.ndwi", ndwi, cube=cube)

# %% [markdown]
# **Question 1 (predict).** The crop holds part of a town (roofs, streets, parks), a river and a forested slope.
# On 15 June, a clear date, what fraction of its pixels do you expect to have a **positive** NDWI? Answer with a
# number between 0 and 1 (within 0.05 counts as right); the maps below show the answer.

# %% tags=["solution"]
# ndwi_positive: your prediction, a number between 0 and 1.
ndwi_positive = 0.05

# %%
ndwi_positive = check("03.ndwi_positive", ndwi_positive, ndwi=ndwi, when="2022-06-15")

# %% [markdown]
# ### The registry of indices
#
# labkit knows the usual indices by name, each with its formula, the bands it needs, what it shows and where it
# comes from. `index_table(cube)` lists them, and says which ones this cube's four bands allow:

# %%
table = index_table(cube)
table[["formula", "bands", "available"]]

# %%
print("computable on this cube:", available_indices(cube))
print("EVI:", table.loc["EVI", "description"])
print("    ", table.loc["EVI", "reference"])

# %% [markdown]
# `compute_features` adds the indices to the cube as new bands; it returns two things, the cube with its new
# **time-indexed bands**, and the **time-less features** (none yet, see section 3). The NDWI it computes is the
# one of Exercise 1:

# %%
features = compute_features(cube, indices=["NDVI", "NDWI", "EVI"])
indexed = features.cube
print(indexed.band.values.tolist())
print("same as by hand:", bool(np.allclose(indexed.sel(band="NDWI"), ndwi, equal_nan=True)))

# %% [markdown]
# An index needs its bands: the moisture index NDMI needs the short-wave infrared band B11, which this crop lacks.
# labkit says so, before computing anything:

# %%
try:
    compute_features(cube, indices=["NDMI"])
except BandError as error:
    print(error)

# %% [markdown]
# Let us map the three indices on a clear date.

# %%
date = pd.Timestamp("2022-06-15")
left, bottom, right, top = cube.rio.bounds()
extent = (left, right, bottom, top)
print(f"valid pixels on {date:%d %B}: {float((mask.sel(time=date) == 0).mean()):.0%}")

fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), sharey=True)
for ax, name, cmap, limits in [(axes[0], "NDVI", "RdYlGn", (-0.2, 1)), (axes[1], "NDWI", "RdBu", (-0.8, 0.8)),
                               (axes[2], "EVI", "RdYlGn", (-0.2, 1))]:
    image = ax.imshow(indexed.sel(time=date, band=name), cmap=cmap, vmin=limits[0], vmax=limits[1], extent=extent)
    fig.colorbar(image, ax=ax, shrink=0.85)
    ax.set_title(f"{name}, {date:%d %B %Y}")
    ax.set(xticks=[], yticks=[])
plt.show()

# %% [markdown]
# The crop holds part of the town of Bolzano, a river and a forested slope (lower right). NDVI is high on the
# forest, along the river banks and in the parks and gardens, low on roofs and streets. The river is the only
# place where NDWI is positive (blue). EVI draws the same picture with a smaller range over the forest: it
# saturates less than NDVI over dense canopies.
#
# ## 2. Your own features
#
# ### An expression on band names
#
# Any formula of band names, numbers, `+ - * / **` and `sqrt`, `abs`, `log`, `exp` can be a new band. For example
# the green chlorophyll index of Gitelson et al. (2003), $\mathrm{GCI} = \mathrm{B08} / \mathrm{B03} - 1$:

# %%
gci = compute_features(cube, expressions={"GCI": "B08 / B03 - 1"}, keep_bands=False).cube
print(gci.band.values.tolist(), f"median on {date:%d %B}: {float(gci.sel(time=date).median()):.2f}")

# %% [markdown]
# An expression is parsed, never run as Python code: `"B08.values"` or `"__import__('os')"` are refused. A
# division by zero gives NaN, not infinity.
#
# ### A Python function
#
# When a formula is not enough (a condition, a sum over time, a threshold), write a **feature function**. labkit
# calls it with a `dict` that maps each band name to a numpy array `(time, y, x)` of a block of pixels (the cube's
# bands, and the indices computed in the same call), and the shape of what it returns says what it is:
#
# - `(time, y, x)`: a new band, one value per date;
# - `(y, x)`: one time-less feature, one value per pixel;
# - `(k, y, x)`: `k` time-less features.
#
# On a big cube held by dask, the function runs block by block, never on the whole cube at once. Here is a
# time-indexed one: the mean of the three visible bands, where clouds are bright.

# %%
def visible_brightness(bands):
    """Mean reflectance in the visible, (time, y, x): high under clouds."""
    return (bands["B02"] + bands["B03"] + bands["B04"]) / 3


brightness = compute_features(cube, functions={"visible": visible_brightness}, keep_bands=False).cube
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
for ax, when in zip(axes, ["2022-06-02", "2022-06-15"]):
    image = ax.imshow(brightness.sel(time=when, band="visible"), cmap="gray", vmin=0, vmax=0.5, extent=extent)
    ax.set(title=f"visible brightness, {pd.Timestamp(when):%d %B}", xticks=[], yticks=[])
fig.colorbar(image, ax=axes, shrink=0.85)
plt.show()

# %% [markdown]
# On 2 June, a cloud covers the upper left of the crop (the mask has only 42 % of its pixels valid that day): it
# shines in the visible. A feature function can compute anything numpy can; Exercise 3 writes one.
#
# ## 3. Temporal statistics
#
# Indices on one date are a snapshot. What tells a meadow from a field of maize is the **calendar**: when each
# turns green, how green it gets, when it is cut or harvested. Temporal statistics summarise a pixel's series
# in a few time-less features. They need a clean series, so we take the Slovenian NDVI cube of notebook 00 and
# fill its gaps onto a date every 10 days of 2016 (with `fill_gaps`, which interpolates between clear
# observations, also those of 2015 and 2017 around the year's edges).

# %%
slovenia = load_slovenia()
STEP = 10
filled, flags = fill_gaps(slovenia.cube, slovenia.mask, start="2016-01-01", end="2016-12-31", step=STEP)
print(dict(filled.sizes), f"{pd.Timestamp(filled.time.values[0]):%Y-%m-%d} .. "
      f"{pd.Timestamp(filled.time.values[-1]):%Y-%m-%d}", "flags:", np.unique(flags).tolist())
s_left, s_bottom, s_right, s_top = filled.rio.bounds()
s_extent = (s_left, s_right, s_bottom, s_top)

# %% [markdown]
# Every value is interpolated between two clear observations (flag 0 everywhere).
#
# ### Exercise 2: the amplitude map
#
# Compute `amplitude`: for each pixel, the difference between the largest and the smallest NDVI of 2016 in
# `filled`, a DataArray with dims `(y, x)`. A large amplitude means a pixel that changes a lot over the year.
#
# *Hint*: `filled.sel(band="NDVI")` has dims `(time, y, x)`; reduce it over `"time"`.

# %% tags=["solution"]
# amplitude: a DataArray (y, x), max minus min of each pixel's NDVI over time.
ndvi = filled.sel(band="NDVI")
amplitude = ndvi.max("time") - ndvi.min("time")

# %%
amplitude = check("03.amplitude", amplitude, filled=filled)

# %% [markdown]
# labkit computes such statistics for you, any number at once, with names `"{band}_{statistic}"`.
# `temporal_features` returns a DataArray `(feature, y, x)`; NaN values are ignored. The date of the maximum comes
# as a **day of the year** (1 to 366), a number a classifier can use:

# %%
stats = temporal_features(filled, ["max", "amplitude", "doy_of_max"])
print(stats.dims, stats.feature.values.tolist())
print("same amplitude as yours:", bool(np.allclose(stats.sel(feature="NDVI_amplitude"), amplitude)))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), sharey=True)
for ax, (name, cmap, limits, label) in zip(axes, [
    ("NDVI_max", "RdYlGn", (0.2, 1.0), "NDVI"),
    ("NDVI_amplitude", "magma", (0.0, 1.0), "NDVI"),
    ("NDVI_doy_of_max", "twilight", (1, 366), "day of year"),
]):
    image = ax.imshow(stats.sel(feature=name), cmap=cmap, vmin=limits[0], vmax=limits[1], extent=s_extent,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.85, label=label)
    ax.set(title=name, xticks=[], yticks=[])
plt.show()

# %% [markdown]
# The peak NDVI is high almost everywhere but on the road that crosses the patch: in summer, nearly all of it is
# green. The amplitude and the date of the peak tell more. The meadows (bright in the amplitude map) change a
# lot over the year as they grow and are mown, and many peak early (late May, about day 150, in blue); the
# forest changes less and peaks in August. For the dates themselves rather than days of the year, `date_of_max`
# returns real dates:

# %%
peak_dates = date_of_max(filled).sel(band="NDVI")
print("pixel (50, 54) peaks on", pd.Timestamp(peak_dates.values[50, 54]).date())

# %% [markdown]
# ### Exercise 3: write your own feature function
#
# How long a pixel stays green is a good feature: a forest is green for months, a crop only between sowing and
# harvest. Write a function `green_days(bands)` that returns, for each pixel, the number of **days** of 2016 with
# NDVI above 0.5: the number of dates above 0.5 times `STEP` (10 days between dates). `bands["NDVI"]` is a numpy
# array `(time, y, x)`, and the result must be `(y, x)`: one time-less feature. Then run it with
# `compute_features(filled, functions={"green_days": green_days}, keep_bands=False)`, and store in
# `green_season` the map, `.timeless.sel(feature="green_days")`.
#
# *Hint*: `ndvi > 0.5` is a boolean array; `.sum(axis=0)` counts the `True` values along time.

# %% tags=["solution"]
# green_days: a function of a dict {band name: numpy array (time, y, x)}, returning an array (y, x).
# green_season: a DataArray (y, x), its output for the gap-filled cube.
def green_days(bands):
    return (bands["NDVI"] > 0.5).sum(axis=0) * STEP


green_season = compute_features(filled, functions={"green_days": green_days}, keep_bands=False).timeless
green_season = green_season.sel(feature="green_days")

# %%
green_season = check("03.green_season", green_season, filled=filled, threshold=0.5)

# %%
fig, ax = plt.subplots(figsize=(5.5, 4.4))
image = ax.imshow(green_season, cmap="YlGn", vmin=0, vmax=366, extent=s_extent, interpolation="nearest")
fig.colorbar(image, ax=ax, label="days with NDVI > 0.5")
ax.set(title="Length of the green season, 2016", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ## 4. Do the features separate the classes?
#
# A feature is useful to a classifier if its values differ from class to class. The reference raster gives the
# class of every pixel (from the 88 reference polygons); let us gather each feature's values by class, leaving
# the unlabelled pixels out, and draw one box plot per class.
#
# **Question 2 (predict).** Before running the next cells: of the three temporal statistics of the maps above,
# which one will separate the **forest** from the **grassland** best?
#
# - a) peak NDVI;
# - b) NDVI amplitude;
# - c) day of the peak.
#
# Answer with the letter, as text, then compare with the box plots.

# %% tags=["solution"]
# forest_from_grassland: the letter of your answer, as text.
forest_from_grassland = "b"

# %%
forest_from_grassland = check("03.forest_from_grassland", forest_from_grassland, stats=stats,
                              reference=slovenia.reference, class_names=slovenia.class_names)

# %%
reference = slovenia.reference.values.ravel()
names = slovenia.class_names
by_class = pd.DataFrame({
    "peak NDVI": stats.sel(feature="NDVI_max").values.ravel(),
    "NDVI amplitude": stats.sel(feature="NDVI_amplitude").values.ravel(),
    "day of the peak": stats.sel(feature="NDVI_doy_of_max").values.ravel(),
    "green days": np.asarray(green_season).ravel(),
    "class": [names[int(code)] for code in reference],
})
by_class = by_class[by_class["class"] != "no label"]
classes = by_class["class"].value_counts().index.tolist()  # the biggest class first
print(by_class["class"].value_counts().to_string())

fig, axes = plt.subplots(1, 4, figsize=(17, 4.5))
for ax, feature in zip(axes, ["peak NDVI", "NDVI amplitude", "day of the peak", "green days"]):
    ax.boxplot([by_class.loc[by_class["class"] == c, feature] for c in classes], tick_labels=classes,
               showfliers=False)
    ax.set_title(feature)
    ax.tick_params(axis="x", labelrotation=60)
plt.show()

# %%
by_class.groupby("class").median().loc[classes].round(2)

# %% [markdown]
# No single feature separates everything, but each separates something:
#
# - the **amplitude** is large where the vegetation comes and goes (the grassland, mown several times a year, and
#   the crops) and smaller in the forest;
# - the **day of the peak** comes early for much of the grassland (before its first cut, in late May), in August
#   for the forest and the shrubland, in September for the cultivated land;
# - the **peak NDVI** is lower on artificial surfaces (roofs, roads) than anywhere else, but all the vegetated
#   classes reach about the same peak: alone, it tells them apart poorly;
# - the **green days** are the most for the forest and the fewest for the artificial surfaces, with much overlap.
#
# Together, as the columns of a sample table, they give a classifier a lot to work with. Note how few pixels some
# classes have (11 of cultivated land): a box plot of 11 values says little, and a classifier trained on them
# will not learn much about that class.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - A **spectral index** combines bands on each date; a normalised difference $(a - b)/(a + b)$ contrasts two
#   bands independently of the illumination: NDVI (near infrared vs red) for vegetation, NDWI (green vs near
#   infrared) for water.
# - labkit's **registry** (`index_table`, `available_indices`, `index_bands`) gives each index's formula, bands,
#   meaning and reference; a missing band is an error naming it.
# - `compute_features(cube, indices=..., expressions=..., functions=..., stats=...)` returns the cube with its
#   new **time-indexed bands** and the **time-less features** `(feature, y, x)`; it runs block by block on dask.
# - Your own features: an **expression** on band names, or a **Python function** of a dict of numpy arrays
#   `(time, y, x)` that returns `(time, y, x)` (a new band) or `(y, x)` (a time-less feature).
# - **Temporal statistics** of a gap-filled series (`temporal_features`: max, amplitude, day of year of the
#   peak...) summarise a pixel's year; box plots per class show which ones separate the classes.
#
# ## What's next
#
# [04 Reference samples](04_reference_samples.ipynb) samples the series in the reference polygons, to train and
# validate a classifier, and measures what an honest validation takes.
