# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Clouds and validity masks
#
# An optical satellite sees the ground only where the sky is clear. On a given date, part of an image (or all of
# it) shows clouds, their shadows, or haze; a land-cover classifier fed with those values would learn the weather,
# not the land. Every processing chain therefore starts by deciding, for each date and pixel, whether the
# observation can be used: that is the **validity mask** you met in notebook 00. This notebook shows where
# it comes from, the choices hidden in it, and how much they matter, on real Sentinel-2 data from the Alps.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. recognise clear, cloudy and hazy dates in true-colour images, and explain why clouds must be masked;
# 2. read Sentinel-2's scene classification (SCL) and turn it into a validity mask, choosing which classes are
#    invalid;
# 3. measure how much of each date is usable, and find the dates hidden by clouds;
# 4. widen cloud masks by dilation, and count what it costs;
# 5. map the number of clear observations per pixel;
# 6. turn a cloud probability into a mask with a threshold, and compare it with a product's own mask.
#
# **Prerequisites**: notebook 00 (the cube, the mask, `.sel`, comparisons and means over dims).
#
# **Time**: about 50 minutes: 30 teaching, 20 exercises.
#
# **Exercises**: four, marked *Exercise*, and two questions, marked *Question*, where you predict a result before
# the notebook shows it. Write your code (for a question, your answer: a number or a letter) in the cell below each
# statement, in place of the `...`, then run the `check` cell that follows: it tells you whether your answer is
# right, and the notebook goes on with the right value either way.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from labkit.course import check, hint, progress, solution
from labkit.datamodel import Validity
from labkit.datasets import load_bolzano, load_slovenia
from labkit.masks import (
    SCL_CLASSES,
    SCL_INVALID,
    SCL_NO_DATA,
    combine_masks,
    count_valid,
    dilate_mask,
    mask_from_cloud_probability,
    mask_from_scl,
    valid_fraction_per_date,
)

# %% [markdown]
# ## 1. Twelve dates over the Alps
#
# `load_bolzano()` returns a 2 km × 2 km crop of a Sentinel-2 **Level-2A** cube near Bolzano (Italy): 12 dates
# in June 2022, four bands at 10 m (B02 blue, B03 green, B04 red, B08 near infrared) as surface reflectance, and
# the product's scene classification, `SCL`, which we use below.

# %%
data = load_bolzano()
print(data.description)
cube, scl = data.cube, data.extra["scl"]
print("cube:", dict(cube.sizes), "bands", cube.band.values.tolist())
print("SCL:", dict(scl.sizes), scl.dtype)
dates = pd.DatetimeIndex(cube.time.values)

# %% [markdown]
# ### True colour
#
# A **true-colour** image puts the red, green and blue bands (B04, B03, B02) in the red, green and blue channels
# of the screen. Reflectance of land is mostly below 0.3, while clouds reflect up to 1: we map 0–0.3 to the
# screen's full range and let clouds saturate to white. The same stretch on every date keeps them comparable.
# Pixels where a band is missing (NaN) are painted magenta, so that they are not mistaken for clouds.

# %%
def true_colour(when, top=0.3):
    """The true-colour image of date `when`, as an (y, x, 3) array in [0, 1], magenta where a band is NaN."""
    rgb = cube.sel(time=when, band=["B04", "B03", "B02"]).transpose("y", "x", "band").values
    image = np.clip(rgb / top, 0, 1) ** 0.8  # a slight gamma brightens the shadows
    image[np.isnan(rgb).any(axis=-1)] = (1.0, 0.0, 1.0)
    return image


xmin, ymin, xmax, ymax = cube.rio.bounds()
extent = (xmin, xmax, ymin, ymax)  # what imshow needs to draw the image in map coordinates

fig, axes = plt.subplots(2, 6, figsize=(15, 5.6))
for ax, when in zip(axes.flat, dates):
    ax.imshow(true_colour(when), extent=extent)
    ax.set_title(f"{when:%d %B}")
    ax.set(xticks=[], yticks=[])  # no ticks, but a frame: a white image is still an image
fig.suptitle("Bolzano, June 2022, true colour (B04, B03, B02)")
plt.show()

# %% [markdown]
# The crop shows the city of Bolzano: streets and roofs, a river, a stadium, and a forested slope on the right.
# Seven dates look clear. Three (5, 7 and 22 June) are entirely cloudy. On 2 June, clouds and haze cover part of
# the crop. 17 June and 27 June look clear, but the blue band is missing in places (magenta): the product has no
# value there, mostly over dark forest. Which of these observations may a classifier use? Someone, or something,
# has to decide, pixel by pixel.
#
# ## 2. The scene classification (SCL)
#
# ESA's Level-2A processor (Sen2Cor) classifies every pixel of every image into one of 12 classes, delivered as a
# band of the product, SCL:

# %%
for code, name in SCL_CLASSES.items():
    print(f"{code:2d}  {name}")

# %% [markdown]
# The SCL is a **categorical** layer: its values are labels, not quantities (9 is not "more" than 8). To draw it,
# give each class its own colour with a `ListedColormap` and a legend, rather than a colour bar. The colours below
# are the ones ESA and most viewers use.

# %%
SCL_COLOURS = ["#000000", "#ff0000", "#2f2f2f", "#643200", "#00a000", "#ffe65a", "#0000ff", "#808080",
               "#c0c0c0", "#ffffff", "#64c8ff", "#ff96ff"]
scl_cmap = ListedColormap(SCL_COLOURS)


def show_scl(ax, when):
    """Draw the SCL of date `when` on `ax`."""
    ax.imshow(scl.sel(time=when), cmap=scl_cmap, vmin=-0.5, vmax=11.5, interpolation="nearest", extent=extent)
    ax.set_title(f"SCL, {pd.Timestamp(when):%d %B}")
    ax.set_axis_off()


examples = ["2022-06-02", "2022-06-10", "2022-06-17"]
fig, axes = plt.subplots(2, 3, figsize=(12, 8.5))
for column, when in enumerate(examples):
    axes[0, column].imshow(true_colour(when), extent=extent)
    axes[0, column].set_title(f"true colour, {pd.Timestamp(when):%d %B}")
    axes[0, column].set_axis_off()
    show_scl(axes[1, column], when)
handles = [Patch(facecolor=colour, edgecolor="0.5", label=f"{code} {SCL_CLASSES[code]}")
           for code, colour in enumerate(SCL_COLOURS)]
fig.legend(handles=handles, loc="center right", title="SCL class", frameon=False)
fig.subplots_adjust(right=0.78, wspace=0.05, hspace=0.12)
plt.show()

# %% [markdown]
# On 2 June, Sen2Cor found clouds of medium (8) and high (9) probability and thin cirrus (10) over the top and the
# right of the crop. On the clear 10 June, the classes describe the land: vegetation (4), "not vegetated" (5, the
# city), water (6) and a few dark areas (2) along the river. On 17 June, Sen2Cor flags 80 % of the crop as thin
# cirrus, although the true-colour image looks almost clear: its cirrus test (on band B10, which sees only high
# clouds) is sensitive. Notice also the blocky look: SCL is computed at 20 m, and resampled to the 10 m grid. The
# share of each class on each date, in percent:

# %%
shares = pd.DataFrame({f"{d:%d %b}": np.bincount(scl.sel(time=d).values.ravel(), minlength=12) / scl[0].size * 100
                       for d in dates}, index=[f"{c} {n}" for c, n in SCL_CLASSES.items()])
shares.round(1)

# %% [markdown]
# ## 3. From classes to a validity mask
#
# A validity mask keeps only three codes: **0** valid, **1** invalid (cloud, shadow, saturated), **2** no
# acquisition. Going from SCL to a mask means choosing which classes are invalid. `labkit.masks.mask_from_scl`
# uses the usual choice by default:

# %%
print("invalid by default:", [f"{c} {SCL_CLASSES[c]}" for c in SCL_INVALID])
print("no acquisition:", [f"{c} {SCL_CLASSES[c]}" for c in SCL_NO_DATA])
mask = mask_from_scl(scl)
print("the same as the dataset's mask:", bool((mask == data.mask).all()))
for code in Validity:
    print(f"{code.value} = {code.name}: {float((mask == code).mean()):.1%} of the observations")

# %% [markdown]
# **Question 1 (predict).** Look again at the twelve true-colour images and at the table of SCL shares. With these
# invalid classes, on how many of the 12 dates are **more than half** of the pixels valid? Answer with a whole
# number, then run the check: it shows the dates.

# %% tags=["solution"]
# dates_kept: your prediction, a whole number from 0 to 12.
dates_kept = 7

# %%
dates_kept = check("01.dates_kept", dates_kept, mask=mask)
print("more than half valid:", [f"{d:%d %B}" for d in dates[(valid_fraction_per_date(mask) > 0.5).values]])

# %% [markdown]
# Snow (11) is valid by default: it is a state of the land, not an obstacle between the satellite and the ground,
# and a snowy winter date still tells a forest from a field. Other choices are debatable: dark areas (2) are often
# shadows (of buildings, of mountains, or of clouds that Sen2Cor missed), and unclassified pixels (7) are those
# Sen2Cor could not make sense of, often at the edges of clouds. The other way round, thin cirrus (10) is invalid
# by default, though a veil of cirrus changes the reflectances only a little.
#
# ### Missing values
#
# The SCL is not the only source of "no data": the bands themselves may be missing, as on 17 and 27 June. A
# chain should mark those observations too. `combine_masks` merges two masks, the worst code of each observation
# winning (2 over 1 over 0):

# %%
missing = xr.where(cube.isnull().any(dim="band"), Validity.NO_DATA, Validity.VALID).astype("uint8")
complete_mask = combine_masks(mask, missing)
overlooked = (mask == Validity.VALID) & (complete_mask == Validity.NO_DATA)
print(f"observations valid in the SCL mask but with a band missing: {int(overlooked.sum())}")
print(overlooked.sum(dim=("y", "x")).to_series().loc[lambda n: n > 0].rename("per date").to_string())

# %% [markdown]
# We keep studying the SCL mask alone below, `mask`; a chain would go on with `complete_mask`.
#
# ### Exercise 1: a stricter mask
#
# Build `strict_mask`, the validity mask of `scl` in which the classes listed in `strict_invalid` are invalid
# (code 1) and the classes in `SCL_NO_DATA` are no acquisition (code 2); every other pixel is valid (0). Write it
# yourself with xarray rather than calling `mask_from_scl`.
#
# *Hint*: `scl.isin([3, 8])` is `True` where the class is 3 or 8, and `xr.where(condition, a, b)` takes `a` where
# the condition holds and `b` elsewhere. No acquisition wins over invalid.

# %%
strict_invalid = sorted(SCL_INVALID + (2, 7))
print("strict choice:", [f"{c} {SCL_CLASSES[c]}" for c in strict_invalid])

# %% tags=["solution"]
# strict_mask: a DataArray (time, y, x) of codes 0, 1 and 2.
strict_mask = xr.where(scl.isin(strict_invalid), 1, 0)
strict_mask = xr.where(scl.isin(SCL_NO_DATA), 2, strict_mask)

# %%
strict_mask = check("01.strict_mask", strict_mask, scl=scl, invalid=strict_invalid, no_data=SCL_NO_DATA)

# %% [markdown]
# How much does the choice matter? `valid_fraction_per_date` gives the share of valid pixels of each date; we
# compare the strict choice, the default, and a lenient one that keeps thin cirrus:

# %%
lenient_invalid = [c for c in SCL_INVALID if c != 10]
comparison = pd.DataFrame({
    "strict (+ dark areas, unclassified)": valid_fraction_per_date(strict_mask).values,
    "default": valid_fraction_per_date(mask).values,
    "lenient (thin cirrus valid)": valid_fraction_per_date(mask_from_scl(scl, invalid=lenient_invalid)).values,
}, index=dates.strftime("%d %b"))

ax = comparison.plot.bar(figsize=(11, 3.4), color=["tab:olive", "tab:green", "tab:cyan"], width=0.8, rot=0)
ax.set_ylabel("fraction of valid pixels")
ax.set_ylim(0, 1)
ax.set_title("Valid pixels per date, for three choices of SCL classes")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()
(comparison.mean() * 100).round(1).rename("valid observations (%)")

# %% [markdown]
# The strict choice costs about 1.5 % of every clear date: the dark areas sit along the river, in the same places
# on every date, so that those pixels would never be seen. The lenient choice wins back most of 17 June. This is
# the trade-off behind every mask: each class you add removes some bad observations *and* some good ones. The
# defaults are a good start; check them on your own area, looking at the images.
#
# ### Exercise 2: the dates hidden by clouds
#
# Compute `cloudy_dates`: the dates of `mask` on which at most `max_valid` (5 %) of the pixels are valid.
#
# *Hint*: start from the fraction of valid pixels per date, then index `mask.time` with a boolean array.

# %%
max_valid = 0.05

# %% tags=["solution"]
# cloudy_dates: the dates (datetime64 values) with at most max_valid of valid pixels.
cloudy_dates = mask.time[(mask == 0).mean(dim=("y", "x")) <= max_valid].values

# %%
cloudy_dates = check("01.cloudy_dates", cloudy_dates, mask=mask, max_valid=max_valid)
print("dates hidden by clouds:", [f"{pd.Timestamp(d):%d %B}" for d in cloudy_dates])

# %% [markdown]
# 17 June is not among them: 10 % of its pixels escape the cirrus. Whether to trust them is another question: a
# pixel surrounded by haze is often hazy itself.
#
# ## 4. Dilation: a safety margin around clouds
#
# Cloud edges are fuzzy: thin cloud around a detected one goes undetected, the shadow is offset from its cloud,
# and Sentinel-2's bands do not see a cloud at exactly the same place (each band is observed from a slightly
# different angle). Operational chains therefore **dilate** the invalid pixels: every valid pixel within a few
# pixels of an invalid one becomes invalid too (s2cloudless pads its clouds by 2 pixels by default, Fmask by 3).
# `dilate_mask` does it date by date with a disk-shaped neighbourhood; it never touches code 2.

# %%
dilated = dilate_mask(mask, 3)  # 3 pixels = 30 m

when = "2022-06-02"
mask_cmap = ListedColormap(["#1b9e77", "#d95f02", "#252525"])  # valid, invalid, no acquisition
fig, axes = plt.subplots(1, 3, figsize=(14, 4.8))
axes[0].imshow(true_colour(when), extent=extent)
axes[0].set_title(f"true colour, {pd.Timestamp(when):%d %B}")
for ax, layer, title in ((axes[1], mask, "mask from SCL"), (axes[2], dilated, "dilated by 3 pixels")):
    ax.imshow(layer.sel(time=when), cmap=mask_cmap, vmin=-0.5, vmax=2.5, interpolation="nearest", extent=extent)
    ax.set_title(title)
for ax in axes:
    ax.set_axis_off()
fig.legend(handles=[Patch(facecolor=c, label=n) for c, n in zip(mask_cmap.colors, ["valid", "invalid", "no data"])],
           loc="lower center", ncol=3, frameon=False)
plt.show()

# %% [markdown]
# The dilation fills the small clear holes between clouds and pushes their edges outwards. It cannot do more:
# look at the bottom left of the true-colour image, where small puffs of cloud, with coloured fringes (the bands
# see them at slightly different places), were classified as city and stay valid. No mask is perfect.
#
# What did the dilation cost?
#
# ### Exercise 3: observations lost to the dilation
#
# Compute `n_added`: how many observations (pixels × dates) are valid in `mask` but invalid in `dilated`. A
# whole number.

# %% tags=["solution"]
# n_added: an integer, the number of observations that the dilation turned from valid (0) to invalid (1).
n_added = int(((mask == 0) & (dilated == 1)).sum())

# %%
n_added = check("01.dilation_added", n_added, mask=mask, dilated=dilated)
print(f"The dilation removed {int(n_added)} observations, {int(n_added) / int((mask == 0).sum()):.1%} of the "
      "valid ones.")

# %% [markdown]
# **Question 2 (predict).** Which dates will lose valid observations to a dilation, whatever its radius?
#
# - a) every date that has valid pixels, a little each;
# - b) only the dates that are partly cloudy;
# - c) the entirely cloudy dates, most of all.
#
# Answer with the letter, as text, then look at the table that follows.

# %% tags=["solution"]
# dilation_dates: the letter of your answer, as text.
dilation_dates = "b"

# %%
dilation_dates = check("01.dilation_dates", dilation_dates, mask=mask, dilated=dilated)

# %% [markdown]
# How does the cost grow with the radius? The share of each date's pixels, in percent, that the dilation turns
# invalid, for the dates that lose any:

# %%
radii = [0, 1, 2, 3, 5, 8]
lost = pd.DataFrame({r: ((mask == 0) & (dilate_mask(mask, r) == 1)).mean(dim=("y", "x")).values for r in radii},
                    index=dates.strftime("%d %b"))
lost.columns.name = "radius (pixels)"
(lost.loc[(lost > 0).any(axis=1)] * 100).round(1)

# %% [markdown]
# Only the two partly cloudy dates lose anything (the others are all clear or all cloudy), and the loss grows
# steadily with the radius, roughly in proportion to the length of the cloud edges. A few pixels are cheap
# insurance against the edges of clouds; many pixels eat into the clear sky.
#
# ## 5. How many clear observations per pixel?
#
# The number of valid dates per pixel, `count_valid`, is the first map to look at before a classification: a
# pixel seen clear only a few times will be classified mostly from gap-filled (interpolated) values.

# %%
counts = {"default mask": count_valid(mask), "dilated by 3 pixels": count_valid(dilated),
          "strict SCL classes": count_valid(strict_mask)}
low, high = min(int(c.min()) for c in counts.values()), max(int(c.max()) for c in counts.values())
count_cmap = plt.get_cmap("viridis", high - low + 1)

fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
for ax, (title, count) in zip(axes, counts.items()):
    image = ax.imshow(count, cmap=count_cmap, vmin=low - 0.5, vmax=high + 0.5, interpolation="nearest",
                      extent=extent)
    ax.set_title(f"{title}: {float(count.mean()):.2f} on average")
    ax.set_axis_off()
fig.colorbar(image, ax=axes, ticks=range(low, high + 1), label=f"clear dates (of {mask.sizes['time']})", shrink=0.85)
plt.show()

# %% [markdown]
# With the default mask, almost every pixel has 7 or 8 clear dates: the 7 clear dates, plus 2 June or 17 June
# where the clouds left it visible. Dilation takes away part of the gain of 2 June. The strict classes punch
# holes along the river, down to no clear date at all: those pixels are not cloudy, they are dark, and the strict
# mask throws their information away.
#
# ## 6. A second product: cloud probability
#
# Not every product comes with classes. Cloud detectors such as **s2cloudless** (Sentinel Hub) give a
# **probability** of cloud per pixel, and the user chooses the threshold. The Slovenian dataset of notebook 00
# has both its cloud probability, in percent, and the mask that eo-learn derived from it.

# %%
slovenia = load_slovenia()
prob = slovenia.extra["cloud_probability"]
print(dict(prob.sizes), prob.dtype, prob.attrs)

# %% [markdown]
# ### Exercise 4: a mask from the probability
#
# Compute `prob_mask`: 1 where the cloud probability is strictly above `threshold` (a probability, 0.4), 0
# elsewhere, as a DataArray `(time, y, x)`. Mind the units: `prob` is in percent.

# %%
threshold = 0.4

# %% tags=["solution"]
# prob_mask: a DataArray (time, y, x) of 0 (clear) and 1 (cloudy).
prob_mask = xr.where(prob / 100 > threshold, 1, 0)

# %%
prob_mask = check("01.probability_mask", prob_mask, prob=prob, threshold=threshold)

# %% [markdown]
# `mask_from_cloud_probability(prob, threshold)` does the same, reading the units from `prob.attrs`. How close
# does it come to eo-learn's mask, for other thresholds, with and without a dilation of 2 pixels?

# %%
thresholds = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
agreement = pd.DataFrame({
    f"dilate={d}": [float((mask_from_cloud_probability(prob, t, dilate=d) == slovenia.mask).mean()) for t in thresholds]
    for d in (0, 2)
}, index=pd.Index(thresholds, name="threshold"))
(agreement * 100).round(1)

# %% [markdown]
# The best agreement, 97 %, comes with s2cloudless' defaults: a threshold of 0.4 and a dilation of 2 pixels.
# The rest of the difference is in the details of eo-learn's processing; here is the date where the two differ
# most:

# %%
differences = (mask_from_cloud_probability(prob, 0.4) != slovenia.mask).sum(dim=("y", "x"))
date = pd.Timestamp(prob.time.values[int(np.argmax(differences.values))])
sl_left, sl_bottom, sl_right, sl_top = prob.rio.bounds()
sl_extent = (sl_left, sl_right, sl_bottom, sl_top)

fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
image = axes[0].imshow(prob.sel(time=date), cmap="Blues", vmin=0, vmax=100, extent=sl_extent)
fig.colorbar(image, ax=axes[0], label="cloud probability (%)", shrink=0.85)
axes[0].set_title(f"cloud probability, {date:%d %B %Y}")
for ax, layer, title in ((axes[1], mask_from_cloud_probability(prob, 0.4), "probability > 0.4"),
                         (axes[2], slovenia.mask, "eo-learn's cloud mask")):
    ax.imshow(layer.sel(time=date), cmap=mask_cmap, vmin=-0.5, vmax=2.5, interpolation="nearest", extent=sl_extent)
    ax.set_title(title)
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# eo-learn's mask comes in blocks of a coarser grid, while the probability was interpolated smoothly. When two
# masks disagree and neither is clearly right, the cautious choice is to combine them, with `combine_masks`:

# %%
cautious = combine_masks(slovenia.mask, mask_from_cloud_probability(prob, 0.4))
for name, layer in (("eo-learn's mask", slovenia.mask), ("probability > 0.4", mask_from_cloud_probability(prob, 0.4)),
                    ("both combined", cautious)):
    print(f"{name:>18}: {float((layer == 0).mean()):.1%} of the observations valid")

# %% [markdown]
# ### Other products
#
# Other producers encode the same information differently, and labkit reads them into the same mask:
#
# | product | quality layers | function |
# | --- | --- | --- |
# | Sentinel-2 L2A (ESA) | SCL classes | `mask_from_scl` |
# | Sentinel-2 L2A (Theia, MAJA) | CLM, SAT, EDG bit masks | `mask_from_maja` |
# | Landsat Collection 2 (USGS) | QA_PIXEL, QA_RADSAT bit masks | `mask_from_landsat_qa` |
# | s2cloudless, other detectors | cloud probability | `mask_from_cloud_probability` |
# | any | a cloud mask (and a data mask) | `mask_from_cloud` |
#
# A **bit mask** packs several yes/no flags into one integer, one per bit. Landsat's QA_PIXEL value 22280, for
# instance, reads in binary:

# %%
value = 22280
print(f"{value} = {value:016b} in binary")
flags = {0: "fill", 1: "dilated cloud", 2: "cirrus", 3: "cloud", 4: "cloud shadow", 5: "snow", 6: "clear", 7: "water"}
for bit, name in flags.items():
    print(f"bit {bit} ({name}): {(value >> bit) & 1}")
print("cloud confidence (bits 8-9):", (value >> 8) & 3, "(3 = high)")

# %% [markdown]
# A cloud, with high confidence: `mask_from_landsat_qa` marks it invalid (1).

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - Clouds, their shadows and haze hide the ground; their values must not reach a classifier. A **validity mask**
#   `(time, y, x)` says which observations to use: 0 valid, 1 invalid, 2 no acquisition.
# - Products describe clouds in their own ways: Sentinel-2's **SCL** classes, bit masks (MAJA, Landsat), cloud
#   probabilities. Turning them into a mask is a **choice**: which classes, bits or threshold count as invalid.
#   The defaults (clouds, shadows, cirrus, saturation; snow kept) are a good start; check them on your area.
# - `valid_fraction_per_date` tells which dates are usable; on this crop, three dates of twelve are lost entirely.
# - **Dilation** adds a safety margin around clouds, at the cost of valid observations near cloud edges.
# - `count_valid` maps the clear observations per pixel: the first check of a mask before a classification.
# - Two masks can be merged with `combine_masks`, the worst code winning: a product's mask with the missing values
#   of the bands, or the masks of two cloud detectors.
#
# ## What's next
#
# [02 Filling the gaps](02_gap_filling.ipynb) fills the gaps the masks leave, to turn these irregular, holed
# series into complete ones.
