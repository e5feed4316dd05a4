# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From model to map: probabilities, uncertainty and post-processing
#
# Notebooks 05 and 06 trained classifiers and measured them on held-out polygons. A mapping project delivers
# something else: a **map**, every pixel of the area classified, usually with a few companion layers that say how
# much to trust it. Between the fitted model and the delivered map lie several steps that every operational chain
# (iota2, sits, the Copernicus land-cover services) takes in one form or another:
#
# 1. **predict** every pixel, block by block so that a Sentinel-2 tile of 120 million pixels fits in memory, and
#    keep the **class probabilities**, not only the winning class;
# 2. turn the probabilities into **confidence** and **uncertainty** layers, which show where the map is weak;
# 3. **post-process** the map: remove the salt-and-pepper noise of a pixel classifier (regularisation, Bayesian
#    smoothing) and apply a **minimum mapping unit**;
# 4. use the uncertainty to decide **where new reference samples would help most** (active learning);
# 5. **write** the products as Cloud-Optimized GeoTIFFs that a GIS opens with their class names and colours.
#
# This notebook does all five on the Slovenian patch, with `labkit.inference.predict_map`, the block engine of
# `labkit.tiling` and the post-processing of `labkit.postprocess`.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. predict a map with `predict_map` and explain each of its products: class map, probabilities, confidence,
#    uncertainty, valid count;
# 2. compute the entropy and margin uncertainties from the probabilities, and read an uncertainty map, on a
#    static figure and on an interactive web map;
# 3. explain how the block size follows from a memory budget, compute it, and show that a tiled prediction equals a
#    whole one;
# 4. regularise a map (majority filter), apply a minimum mapping unit (sieve) and smooth the probabilities before
#    labelling (Bayesian smoothing), and measure what each changes;
# 5. find the most uncertain areas of a map, as candidates for new reference samples, and say why they are not a
#    sample for accuracy assessment;
# 6. write the products as COGs and read the class map back with its class names.
#
# **Prerequisites**: notebooks 02 (gap-filling), 04 (sample sets, polygons) and 05 (random forest, validation by
# polygon).
#
# Notebook 08 (accuracy and area) does not need this one: a workshop can take the two in either order.
#
# **Time**: about 60 minutes: 40 teaching, 20 exercises.
#
# **Exercises**: three, marked *Exercise*, and two questions, marked *Question*, where you predict before the
# notebook computes. Write your code (or your answer) in the cell below each statement, in place of the
# `...`, then run the `check` cell that follows: it tells you whether your answer is right, and the notebook goes
# on with the right value either way.

# %%
import math
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from scipy import ndimage

from labkit.course import check, hint, progress, solution
from labkit.datamodel import NO_CLASS
from labkit.datasets import load_slovenia
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map, write_map
from labkit.io import tagged_class_names
from labkit.maps import WebMap, add_class_map, add_layer, add_shapes
from labkit.models import fit_model, make_model
from labkit.postprocess import bayesian_smoothing, label_probabilities, majority_filter, sieve, vectorize
from labkit.report import class_colors, plot_class_map
from labkit.samples import extract_samples, split_by_group
from labkit.tiling import DEFAULT_MEMORY, WORKING_FACTOR, block_shape, parse_memory

# %% [markdown]
# ## 1. A model, and its map
#
# As in notebook 05: the Slovenian NDVI cube gap-filled onto a date every 10 days, the pixels of the
# labelled polygons, split **by polygon** into 70 % for training and 30 % held out, at most 25 pixels per training
# polygon, and a random forest. The held-out polygons will tell us, later, whether the uncertainty of the map
# points at its errors.

# %%
data = load_slovenia()
filled, _ = fill_gaps(data.cube, data.mask, step=10)
samples = extract_samples(filled, data.polygons[data.polygons["class_id"] > 0])  # class 0: polygons with no label
train, held_out = split_by_group(samples, train_size=0.7, random_state=0)

rng = np.random.default_rng(0)
group = train.group.values
keep = np.concatenate([rng.permutation(np.flatnonzero(group == g))[:25] for g in np.unique(group)])
model = fit_model(make_model("rf", n_estimators=100, random_state=0), train.isel(sample=np.sort(keep)))
names = model.class_names_
print(f"trained on {len(keep)} pixels of {np.unique(group).size} polygons; classes: {names}")

# %% [markdown]
# `predict_map` classifies every pixel of a cube with a fitted model. It checks first that the cube is what the
# model was fitted on (the same band names, the same number of dates on the same days of the year), then walks the
# cube block by block (section 3) and returns the **map products**. We time it: the speed, in pixels per second,
# is what tells how long a whole tile would take.

# %%
start = time.perf_counter()
products = predict_map(filled, model)
seconds = time.perf_counter() - start
n_pixels = filled.sizes["y"] * filled.sizes["x"]
print(f"{n_pixels:,} pixels in {seconds:.1f} s: {n_pixels / seconds:,.0f} pixels per second; a Sentinel-2 tile "
      f"(10 980 x 10 980 pixels) would take about {10980**2 / (n_pixels / seconds) / 3600:.1f} hours on this machine")
products

# %% [markdown]
# One `xarray.Dataset` on the cube's grid (its coordinates and CRS), with five layers:
#
# | product | type | what it is |
# |---|---|---|
# | `class_map` | `(y, x)` uint8 | the most probable class; `NO_CLASS` (255) where a pixel has no valid value |
# | `probabilities` | `(class, y, x)` float32 | the model's probability of each class, summing to 1 at each pixel |
# | `confidence` | `(y, x)` float32 | the highest probability, the one of the mapped class |
# | `uncertainty` | `(y, x)` float32 | how spread the probabilities are: normalised **entropy**, or **margin** |
# | `valid_count` | `(y, x)` uint16 | how many valid observations the pixel had |
#
# `valid_count` is 90 everywhere here, because we gave `predict_map` a cube that was already gap-filled: every date
# has a value. Given the **raw** cube and its validity mask instead, `predict_map` runs the chain on the fly, block
# by block (mask, gap-filling onto the model's dates, model), so that the gap-filled cube is never held whole, and
# `valid_count` counts each pixel's clear observations: the layer that tells a cloudy region, with a poor series,
# from a well-observed one.

# %%
on_the_fly = predict_map(data.cube, model, mask=data.mask)
print("same class map as from the gap-filled cube:", bool((on_the_fly["class_map"] == products["class_map"]).all()))
print(f"clear observations per pixel: {int(on_the_fly['valid_count'].min())} to "
      f"{int(on_the_fly['valid_count'].max())} of {data.cube.sizes['time']} dates")
fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(on_the_fly["valid_count"], cmap="cividis", interpolation="nearest")
fig.colorbar(image, ax=ax, label=f"clear observations (of {data.cube.sizes['time']} dates)")
ax.set_title("valid_count, from the raw cube and its mask")
ax.set_axis_off()
plt.show()

# %% [markdown]
# The same map: the chain on the fly is the chain we ran by hand. The blocky pattern of the counts comes from the
# patch's cloud mask, which is coarser than its 10 m pixels. The class map carries its class names in its
# attributes:

# %%
class_map = products["class_map"]
print(class_map.attrs)
fig, axes = plt.subplots(1, len(model.classes_) + 1, figsize=(17, 3.2))
plot_class_map(class_map, names, ax=axes[0])
axes[0].get_legend().remove()
axes[0].set_title("class map")
for ax, code in zip(axes[1:], model.classes_):
    image = ax.imshow(products["probabilities"].sel({"class": code}), cmap="Greens", vmin=0, vmax=1,
                      interpolation="nearest")
    ax.set_title(f"P({names[code]})", fontsize=9)
    ax.set_axis_off()
fig.colorbar(image, ax=axes[1:], fraction=0.02)
plt.show()

# %% [markdown]
# The map is the *argmax* of the probabilities: each pixel takes the class of the panel where it is darkest. Forest
# covers most of the patch with high probabilities; grassland and shrubland share the open land, and their
# panels are pale: the model often hesitates between them. A random forest's probability is, in effect, the share
# of its trees that vote for the class (here 100 trees: probabilities are multiples of 0.01).
#
# ## 2. Confidence and uncertainty
#
# Take one pixel and look at its probabilities:

# %%
row, col = 20, 60
pixel = products["probabilities"][:, row, col]
print(pd.Series(pixel.values, index=[names[c] for c in model.classes_], name="probability").round(2).to_string())
print(f"class {names[int(class_map[row, col])]}, confidence {float(products['confidence'][row, col]):.2f}, "
      f"uncertainty (entropy) {float(products['uncertainty'][row, col]):.2f}")

# %% [markdown]
# The **confidence** is the highest probability. It says how strongly the model backs the mapped class, but not
# whether the rest of the probability goes to one rival or is spread over all the others. Two measures of
# **uncertainty** look at the whole distribution $p_1, \dots, p_K$ of the $K$ classes:
#
# - the **normalised entropy** $H = -\frac{1}{\log K}\sum_k p_k \log p_k$: 0 when one class takes all the
#   probability, 1 when all classes are equally probable. It counts every class.
# - the **margin** uncertainty $1 - (p_{(1)} - p_{(2)})$, from the best and second-best probabilities: 0 when the
#   best class wins by everything, 1 when the two best tie. It asks only "how close is the runner-up?", the
#   question that matters for a pixel on the border between two classes.
#
# `predict_map(..., uncertainty="entropy")` (the default) or `uncertainty="margin"` chooses the layer.
#
# ### Exercise 1: margin uncertainty
#
# From `probabilities` (a DataArray `(class, y, x)`), compute `margin`, a DataArray `(y, x)`:
# $1 - (p_{(1)} - p_{(2)})$ at each pixel.
#
# *Hint*: sort each pixel's probabilities: `xr.apply_ufunc(np.sort, ...)` with `input_core_dims=[["class"]]` applies
# `np.sort` along `class` and keeps a DataArray. Beware of ties: two classes may share the highest probability.

# %%
probabilities = products["probabilities"]

# %% tags=["solution"]
# margin: a DataArray (y, x), 1 - (highest probability - second highest probability) at each pixel.
ordered = xr.apply_ufunc(np.sort, probabilities, input_core_dims=[["class"]], output_core_dims=[["rank"]])
margin = 1 - (ordered.isel(rank=-1) - ordered.isel(rank=-2))

# %%
margin = check("07.margin", margin, probabilities=probabilities)
with_margin = predict_map(filled, model, uncertainty="margin", probabilities=False)
difference = float(np.abs(margin - with_margin["uncertainty"]).max())
print(f"largest difference with predict_map(..., uncertainty='margin'): {difference:.1e}")

# %% [markdown]
# ### Question 1 (predict): where is the map uncertain?
#
# The next figure maps the entropy of every pixel. Before you run it, predict: where will the uncertainty be
# highest?
#
# - a) inside the parcels, away from any other class;
# - b) on the borders between classes (pixels with a neighbour mapped as another class);
# - c) nowhere in particular: as high inside the parcels as on their borders.
#
# Give `uncertain_where`, the letter of your answer.

# %% tags=["solution"]
# uncertain_where: the letter of your answer, a string: "a", "b" or "c".
uncertain_where = "b"

# %%
uncertain_where = check("07.where_uncertain", uncertain_where, class_map=class_map,
                        uncertainty=products["uncertainty"])
border = ndimage.maximum_filter(class_map.values, 3) != ndimage.minimum_filter(class_map.values, 3)
print(f"mean entropy of the pixels on a border between classes ({border.mean():.0%} of the map): "
      f"{float(products['uncertainty'].values[border].mean()):.2f}; of the others: "
      f"{float(products['uncertainty'].values[~border].mean()):.2f}")

# %% [markdown]
# Entropy and margin agree on the broad picture but not pixel by pixel:

# %%
entropy = products["uncertainty"]
fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), gridspec_kw={"wspace": 0.4})
plot_class_map(class_map, names, ax=axes[0])
axes[0].get_legend().remove()
axes[0].set_title("class map")
for ax, (title, layer, cmap) in zip(axes[1:3], (("confidence", products["confidence"], "viridis"),
                                                 ("uncertainty: entropy", entropy, "magma"))):
    image = ax.imshow(layer, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, fraction=0.046)
axes[3].hist2d(entropy.values.ravel(), margin.values.ravel(), bins=40, cmap="Greys", cmin=1)
axes[3].set_xlabel("entropy")
axes[3].set_ylabel("margin")
axes[3].set_title("one point per pixel")
plt.show()
print(f"correlation of entropy and margin over the pixels: "
      f"{np.corrcoef(entropy.values.ravel(), margin.values.ravel())[0, 1]:.2f}")

# %% [markdown]
# Uncertainty is high along the borders between parcels (a 10 m pixel there mixes two covers), over the open land
# where grassland and shrubland look alike in NDVI, and on small parcels; it is lowest in the large meadows and in
# parts of the forest. The two measures are strongly related (the curve on the right), but they do not rank the
# pixels the same: two classes tied and nothing else, (0.5, 0.5, 0, 0, 0), give the highest margin uncertainty, 1,
# and a middling entropy, 0.43; a winner at 0.55 over three rivals at 0.15 gives a higher entropy, 0.73, and a lower
# margin uncertainty, 0.6. Use the margin when the question is "which pixels sit between two classes?", the
# entropy for "which pixels does the model know least about?".
#
# ### On a web map
#
# A map layer means more over a base map: is the uncertain strip a road, a hedge, a river? `labkit.maps` puts
# layers on an interactive `folium` map (zoom, pan, switch layers and base maps with the control at the top right:
# OpenStreetMap, or aerial imagery): `add_class_map` for a class map in the colours of the figures, `add_layer` for
# a continuous layer through a colormap. Layers added with `show=False` (here the class map and the confidence)
# stay off until you tick them in the control. The web map needs a browser with JavaScript and an internet
# connection for its base maps; so the output also holds a static picture of the layers shown, which a viewer
# shows when it cannot run the map (offline, a PDF), and which is all you get when folium is not installed.

# %%
web_map = add_class_map(WebMap("Uncertainty (entropy)"), class_map, names, show=False)
add_layer(web_map, products["confidence"], cmap="viridis", vmin=0, vmax=1, name="confidence", show=False)
add_layer(web_map, entropy, cmap="magma", vmin=0, vmax=1, name="uncertainty (entropy)")

# %% [markdown]
# ### Does the uncertainty point at the errors?
#
# An uncertainty layer is useful only if the map is wrong more often where it is high. This patch comes with a
# reference land-cover raster covering every pixel (`data.reference`, the source of the polygons; see notebook 08).
# On the pixels of the **held-out** polygons, which the model never saw, we compare the map with it, in five
# groups of pixels from the least to the most uncertain.

# %%
reference = data.reference.values
rows = filled.get_index("y").get_indexer(held_out.y.values)
cols = filled.get_index("x").get_indexer(held_out.x.values)
unseen = np.zeros(class_map.shape, bool)
unseen[rows, cols] = True
wrong = class_map.values != reference
print(f"{unseen.sum()} held-out pixels; the map agrees with the reference on {1 - wrong[unseen].mean():.1%} of them")
groups = pd.qcut(entropy.values[unseen], 5)
error_rate = pd.Series(wrong[unseen]).groupby(groups, observed=True).mean()
ax = error_rate.plot.bar(color="firebrick", figsize=(6, 3))
ax.set_xticklabels([f"{max(g.left, 0):.2f}-{g.right:.2f}" for g in error_rate.index], rotation=0, fontsize=8)
ax.set_xlabel("entropy of the pixel (five groups of equal size)")
ax.set_ylabel("share of pixels mapped wrong")
plt.show()

# %% [markdown]
# The least uncertain fifth of the held-out pixels is almost always right; in the most uncertain ones, about one
# pixel in two is wrong. The uncertainty is not a probability of error (a random forest's probabilities are not
# calibrated), but it ranks the pixels well: that ranking is what sections 4 and 5 use.
#
# ## 3. The block engine and memory
#
# The Slovenian patch fits in memory a thousand times over. A Sentinel-2 tile does not: 10 980 x 10 980 pixels,
# 10 bands, 36 dates (one every 10 days over a year) is 10980² x 36 x 10 x 4 bytes, about 175 GB of float32.
# `predict_map` never holds it: it cuts the grid into **blocks**, and only `workers` blocks (one per thread) are in
# memory at a time, each with its inputs, its outputs and the temporaries of the model. The block size follows
# from a **memory budget**:
#
# 1. what **one pixel** costs while its block is processed: its series (`n_time x n_band` float32 values, 4 bytes
#    each) and its output layers (class, confidence, uncertainty, valid count and one probability per class, counted
#    at 8 bytes each), times `WORKING_FACTOR` (3) for the temporaries;
# 2. each worker gets an equal share of the budget, `memory / workers` bytes;
# 3. a square block of side $s$ costs $s^2$ x bytes per pixel, so $s = \lfloor\sqrt{\text{share} / \text{bytes per
#    pixel}}\rfloor$, capped at the grid's size (the block is square unless the grid, or the rounding, leaves room
#    for a few more columns), then halved while there are fewer blocks than workers (so that none waits).
#
# `labkit.tiling.block_shape` does steps 2 and 3 (and rounds the side down to whole storage tiles when the cube
# is read from tiled files, so that each block decodes each tile once); `parse_memory` reads a budget written as
# text:

# %%
print(f"parse_memory('2GB') = {parse_memory('2GB'):,} bytes, parse_memory('512MiB') = {parse_memory('512MiB'):,}; "
      f"WORKING_FACTOR = {WORKING_FACTOR}")

# %% [markdown]
# ### Exercise 2: the block size of a memory budget
#
# You map a Sentinel-2 tile (`height = width = 10980`) from a gap-filled cube of `n_time = 36` dates and
# `n_band = 10` bands, with a model of `n_classes = 10` classes, on a machine of `workers = 4` cores with a budget of
# `memory = "4GB"`. Compute `answer`, a dict with
#
# - `"bytes_per_pixel"`: what one pixel costs (step 1 above), an int;
# - `"block"`: the block `(rows, columns)` that `predict_map` will use, two ints (steps 2 and 3).
#
# *Hint*: `parse_memory` turns `"4GB"` into bytes; `math.isqrt` takes the integer square root.

# %%
height = width = 10980
n_time, n_band, n_classes = 36, 10, 10
memory, workers = "4GB", 4

# %% tags=["solution"]
# answer: {"bytes_per_pixel": int, "block": (rows, columns)} of predict_map for this tile, budget and workers.
bytes_per_pixel = WORKING_FACTOR * (n_time * n_band * 4 + 8 * (4 + n_classes))
side = min(math.isqrt(int(parse_memory(memory) / workers / bytes_per_pixel)), height, width)
answer = {"bytes_per_pixel": bytes_per_pixel, "block": (side, side)}

# %%
answer = check("07.block_for_budget", answer, height=height, width=width, n_time=n_time, n_band=n_band,
               n_classes=n_classes, memory=memory, workers=workers)
n_tile_blocks = math.ceil(height / answer["block"][0]) * math.ceil(width / answer["block"][1])
print(f"{answer['bytes_per_pixel']:,} bytes per pixel; blocks of {answer['block'][0]} x {answer['block'][1]} "
      f"pixels: {n_tile_blocks:,} blocks for the tile")

# %% [markdown]
# The same tile under other budgets, from `block_shape`. The last column is for a cube read from COGs stored in
# tiles of 512 x 512 pixels: blocks are then made of whole tiles, or cut inside one tile when not even one fits.
# Rounding the rows down to whole tiles leaves part of the budget unused, so the columns take it: at 16 GB, one
# row of tiles, three tiles wide.

# %%
per_pixel = answer["bytes_per_pixel"]
budget_rows = []
for budget in ("512MB", "4GB", "16GB", "64GB"):
    block = block_shape(height, width, per_pixel, memory=budget, workers=workers)
    budget_rows.append({"memory": budget, "block": block,
                 "blocks in the tile": math.ceil(height / block[0]) * math.ceil(width / block[1]),
                 "block, 512-pixel COG tiles": block_shape(height, width, per_pixel, memory=budget, workers=workers,
                                                           tiles=(512, 512))})
pd.DataFrame(budget_rows).set_index("memory")

# %% [markdown]
# Each block adds a fixed cost (a task to schedule, a call of the model), so fewer, larger blocks are faster, up to
# the point where the machine starts to swap. Give the engine the memory you can spare: `predict_map(...,
# memory="16GB")`, or `labkit predict --memory 16GB` on the command line.
#
# On our patch: a lazy (dask) cube makes `predict_map` lazy too, so we can read the blocks it planned from the
# chunks of its result, without computing anything, and compare them with the formula.

# %%
our_pixel = WORKING_FACTOR * (filled.sizes["time"] * filled.sizes["band"] * 4 + 8 * (4 + len(model.classes_)))
grid = (filled.sizes["y"], filled.sizes["x"])
planned = predict_map(filled.chunk(), model, memory="4MB", workers=2)
print(f"block_shape for 4 MB and 2 workers: {block_shape(*grid, our_pixel, memory='4MB', workers=2)}; "
      f"predict_map's blocks: rows {planned['class_map'].chunks[0]}, columns {planned['class_map'].chunks[1]}")
print(f"with the default budget ({DEFAULT_MEMORY}), the patch would fit in one block, but every worker gets one: "
      f"{block_shape(*grid, our_pixel, memory=DEFAULT_MEMORY, workers=2)} for 2 workers")

# %% [markdown]
# ### A tiled prediction equals a whole one
#
# The map computed above was one block. Cut into blocks of 32 x 32 pixels, is it the same map? For a pixel model it
# must be, to the last bit: each pixel is classified from its own series alone, whatever block it falls in.

# %%
start = time.perf_counter()
tiled = predict_map(filled, model, block=(32, 32))
tiled_seconds = time.perf_counter() - start
n_blocks = math.ceil(filled.sizes["y"] / 32) * math.ceil(filled.sizes["x"] / 32)
same_map = bool((tiled["class_map"] == class_map).all())
largest = float(np.abs(tiled["probabilities"] - probabilities).max())
print(f"{n_blocks} blocks of 32 x 32: same class map: {same_map}; largest difference of probability: {largest}")
print(f"time: {tiled_seconds:.1f} s in {n_blocks} blocks, {seconds:.1f} s in one")

# %% [markdown]
# Identical. Operations that read a **neighbourhood** (the post-processing of the next section, a U-Net) are
# another matter: a pixel near a block's edge needs pixels of the next block. The engine gives each block a
# **halo**, a margin of neighbouring pixels read around it and cropped from the result, as wide as the operation
# reads (`labkit.tiling.map_blocks(..., halo=...)`): there are then no seams between blocks.
#
# ## 4. Post-processing: from a pixel map to a delivered map
#
# A pixel classifier knows nothing of space: each pixel is decided alone, so the map is speckled with isolated
# pixels of the wrong class (*salt and pepper*), mostly where the probabilities are close. A delivered map is
# cleaned up, in one of three ways (or a chain of them):
#
# - **majority filter** (iota2's *regularisation*, OTB's `ClassificationMapRegularization`): each pixel takes the
#   most frequent class of the window around it (3 x 3 here); ties keep the pixel's class;
# - **sieve**, a **minimum mapping unit** (MMU): patches of one class smaller than `min_size` pixels merge into a
#   neighbouring patch. Every map product has an MMU: CORINE Land Cover's is 25 ha; here 10 pixels, 0.1 ha;
# - **Bayesian smoothing** (sits' `sits_smooth`): acts on the *probabilities*, before the argmax. Each class's
#   probability is pulled towards the mean of its neighbourhood, strongly in a homogeneous neighbourhood, little on
#   a real border (where the neighbours disagree); then `label_probabilities` takes the most probable class.
#
# ### Question 2 (predict): what does a majority filter leave of a small class?
#
# Artificial surfaces (roads, houses) are the map's small, thin features. Before you run the filter, predict how
# many of their pixels a 3 x 3 majority filter will leave, as a share of the pixels they have now: `1` for as many,
# `0.5` for half, above 1 if you expect them to grow. Give `kept_share`, a number; within 0.2 of the actual share is
# right.

# %%
artificial = next(code for code, name in names.items() if name == "artificial surface")
print(f"{names[artificial]} (code {artificial}): {int((class_map == artificial).sum())} pixels of the pixel map")

# %% tags=["solution"]
# kept_share: a number, the pixels of artificial surfaces left by the filter / those of the pixel map.
kept_share = 0.7

# %%
kept_share = check("07.rare_class_after_filter", kept_share, class_map=class_map, code=artificial, window=3)
regularised = majority_filter(class_map, 3)
pd.DataFrame({title: pd.Series(layer.values.ravel()).value_counts()
              for title, layer in (("pixel map", class_map), ("majority filter 3 x 3", regularised))}
             ).fillna(0).astype(int).rename(index=names).rename_axis("pixels of")

# %%
sieved = sieve(class_map, 10)
smoothed = bayesian_smoothing(probabilities, 5)
bayes_map, bayes_confidence = label_probabilities(smoothed)

maps = {"pixel map": class_map, "majority filter 3 x 3": regularised, "sieve, MMU 10 pixels": sieved,
        "Bayesian smoothing 5 x 5": bayes_map}
fig, axes = plt.subplots(1, 4, figsize=(17, 4))
for ax, (title, layer) in zip(axes, maps.items()):
    plot_class_map(layer, names, ax=ax)
    ax.set_title(title)
    if ax is not axes[-1]:
        ax.get_legend().remove()
plt.show()

# %% [markdown]
# Look at the road, the thin red line in the middle of the pixel map. The majority filter and the sieve keep about
# half of it: where it is two pixels wide (the majority filter), or where its pixels form a patch of at least 10
# pixels (the sieve; pixels that touch only by a corner are not connected with `connectivity=4`, so a diagonal road
# falls apart into small pieces). The Bayesian smoothing erases it: a feature one or two pixels wide loses against
# the neighbourhood of a 5 x 5 window. Thin linear features (roads, rivers, hedges) are the usual victims of spatial
# smoothing; they are better taken from vector data than recovered from a smoothed classification.
#
# What each one changed: pixels that changed class, patches left (a patch is one polygon of the vectorised map), and
# agreement with the reference on the held-out pixels.

# %%
pd.DataFrame.from_dict({
    title: {"pixels changed": int((layer != class_map).sum()),
            "patches": len(vectorize(layer)),
            "agreement on held-out pixels": round(float((layer.values == reference)[unseen].mean()), 3)}
    for title, layer in maps.items()}, orient="index")

# %% [markdown]
# The majority filter and the sieve each change about a tenth of the pixels, the Bayesian smoothing about a fifth.
# The number of patches falls from several hundred to a few dozen with the sieve and the smoothing, closer to what a
# person would draw; the majority filter leaves more, since it removes isolated pixels but not small groups of
# them. All three also *improve* the agreement with the reference by a few points: most of what they removed was
# noise. That is typical, not guaranteed: a sieve also erases real small features (a pond, a house, a hedge) below
# the MMU, by design. Choose the MMU with the map's users, and the window with the size of the parcels in mind.
#
# Where did the changes happen? In red, the pixels each method changed, over the entropy of the pixel map (darker:
# more uncertain):

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, (title, layer) in zip(axes, list(maps.items())[1:]):
    ax.imshow(entropy, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax.imshow(np.ma.masked_equal((layer != class_map).values, False), cmap="autumn", interpolation="nearest")
    ax.set_title(f"{title}: changed pixels")
    ax.set_axis_off()
plt.show()
changed = (bayes_map != class_map).values
print(f"mean entropy of the pixels the Bayesian smoothing changed: {entropy.values[changed].mean():.2f}, "
      f"of the others: {entropy.values[~changed].mean():.2f}")

# %% [markdown]
# The changes fall where the map is uncertain, which is the point: a confident pixel keeps its class, a hesitant one
# follows its neighbours. The Bayesian smoothing uses this explicitly (it works on the probabilities), the majority
# filter and the sieve only implicitly (isolated pixels tend to be uncertain ones).
#
# These operations read neighbourhoods, so they run through the block engine with a halo (`window // 2` for the
# majority filter, twice the MMU for the sieve): on a lazy map cut in small blocks, they give the same result as on
# the whole map.

# %%
print("majority filter, blocks of 32 with a halo = whole map:",
      bool((majority_filter(class_map.chunk(32), 3).compute() == regularised).all()))
print("sieve, blocks of 32 with a halo = whole map:", bool((sieve(class_map.chunk(32), 10).compute() == sieved).all()))

# %% [markdown]
# A delivered map often chains them, then turns the result into **polygons** for a GIS: here the smoothed map,
# sieved, then vectorised with a simplification of 10 m (one pixel), which removes the staircase of the pixel edges
# while neighbouring polygons keep a common border.

# %%
delivered = sieve(bayes_map, 10)
polygons = vectorize(delivered, simplify=10, class_names=names)
colours = class_colors(sorted(names), names)
ax = polygons.plot(color=[np.array(colours[c]) / 255 for c in polygons["class"]], edgecolor="black",
                   linewidth=0.4, figsize=(6, 5))
ax.set_title(f"{len(polygons)} polygons, MMU 0.1 ha")
ax.set_axis_off()
plt.show()
polygons.groupby("class_name").agg(polygons=("area", "size"), hectares=("area", lambda a: a.sum() / 1e4)).round(2)

# %% [markdown]
# ## 5. Where would new samples help most?
#
# New reference samples cost time (photo-interpretation, field visits): put them where the model needs them.
# **Active learning** asks the model: the pixels it is most uncertain about are those where a label teaches it
# most. First, which classes does the model hesitate over?
#
# ### Exercise 3: reading the uncertainty map
#
# Compute `uncertain_share`: a dict `{class code: share of the pixels mapped as that class whose entropy is above
# threshold}`, for every class of `class_map` (leave out `NO_CLASS`, if any), with `threshold = 0.6`.

# %%
threshold = 0.6

# %% tags=["solution"]
# uncertain_share: a dict {class code (int): share (float) of that class's pixels with entropy above threshold}.
uncertain_share = {int(code): float((entropy.values[class_map.values == code] > threshold).mean())
                   for code in np.unique(class_map.values) if code != NO_CLASS}

# %%
uncertain_share = check("07.uncertain_share", uncertain_share, class_map=class_map, uncertainty=entropy,
                        threshold=threshold)
shares = pd.Series({names[c]: share for c, share in uncertain_share.items()}, name=f"share above {threshold}")
print(shares.sort_values(ascending=False).round(3).to_string())
print(f"over the whole map: {float((entropy > threshold).mean()):.1%} of the pixels")

# %% [markdown]
# The whole distribution of the entropy, class by class:

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
codes = [c for c in model.classes_ if (class_map == c).any()]
ax.boxplot([entropy.values[class_map.values == c] for c in codes], whis=(5, 95), showfliers=False)
ax.set_xticks(range(1, len(codes) + 1), [f"{names[c]}\n({int((class_map == c).sum())} px)" for c in codes],
              fontsize=8)
ax.axhline(threshold, color="firebrick", linestyle="--", linewidth=1)
ax.set_ylabel("entropy")
ax.set_title("Uncertainty of the pixels of each mapped class")
plt.show()

# %% [markdown]
# Artificial surfaces and shrubland are the most uncertain classes, as the confusion matrix of notebook 05 led us to
# expect: at 10 m, a built-up pixel mixes roofs and gardens, and shrubland sits between grassland and forest. Even
# forest, the best mapped class, has a good share of uncertain pixels, mostly along its edges. Grassland is split in
# two: the large meadows are certain, the rest is as uncertain as shrubland. (Cultivated land has almost no pixel
# in the map: notebook 05 showed that the model never learns it from 4 small polygons, a problem that more samples
# of the *other* classes will not solve.) New samples of the uncertain classes, in the places where the model
# hesitates most, are the first candidates.
#
# Picking the most uncertain *pixels* one by one would pile the picks up in one or two confused corners, next to
# each other: their labels would tell the model the same thing several times. We look for uncertain **areas**
# instead: the entropy averaged over 5 x 5 pixels, and 30 sites at least 6 pixels (60 m) apart, each taken at the
# highest remaining value.

# %%
def pick_sites(score: np.ndarray, n: int, spacing: int) -> pd.DataFrame:
    """The ``n`` highest values of ``score``, taken one at a time, each clearing the values within ``spacing``
    pixels around it: (row, col) of sites at least ``spacing`` + 1 pixels apart."""
    score = np.where(np.isfinite(score), score, -np.inf)
    sites = []
    for _ in range(n):
        r, c = np.unravel_index(np.argmax(score), score.shape)
        if not np.isfinite(score[r, c]):
            break
        sites.append((int(r), int(c)))
        score[max(r - spacing, 0):r + spacing + 1, max(c - spacing, 0):c + spacing + 1] = -np.inf
    return pd.DataFrame(sites, columns=["row", "col"])


area_entropy = ndimage.uniform_filter(entropy.fillna(0).values, size=5, mode="nearest")
sites = pick_sites(area_entropy, n=30, spacing=5)
sites["mapped as"] = [names[int(class_map[r, c])] for r, c in zip(sites["row"], sites["col"])]
sites["entropy of the area"] = area_entropy[sites["row"], sites["col"]].round(2)
sites.index = sites.index + 1
sites.head(10)

# %% [markdown]
# The sites on the web map, over the area's entropy, each dot in the colour of the class it is mapped as: switch to
# the aerial imagery to see what a photo-interpreter would see there.

# %%
site_points = gpd.GeoDataFrame(sites[["mapped as"]], crs=class_map.rio.crs,
                               geometry=gpd.points_from_xy(class_map.x.values[sites["col"]],
                                                           class_map.y.values[sites["row"]]))
web_map = add_class_map(WebMap("30 sites where a new sample would help most"), class_map, names, show=False)
add_layer(web_map, entropy.copy(data=area_entropy), cmap="magma", vmin=0, vmax=1, name="entropy over 5 x 5 pixels")
add_shapes(web_map, site_points, column="mapped as", class_names=names, name="sites")

# %% [markdown]
# In a real project each site goes to an interpreter, who labels it without looking at the map; the new samples
# join the training set, the model is retrained, and the loop starts again while the budget lasts. Here the
# reference raster plays the interpreter, so we can try one round: add the 30 sites to the training pixels, retrain
# the forest, and measure the map on the held-out pixels; then the same with 30 pixels drawn at random (three draws,
# averaged). Sites without a label in the reference (code 0) are skipped, as an interpreter would skip land that
# fits no class.

# %%
pixels = filled.transpose("y", "x", "time", "band").values  # every pixel's series, (y, x, time, band)
first = train.isel(sample=np.sort(keep))  # the training pixels of the map's model


def accuracy_after_adding(new: pd.DataFrame) -> float:
    """Agreement with the reference on the held-out pixels of a forest retrained with the pixels ``new`` (row, col)
    added to the training pixels, labelled from the reference raster."""
    r, c = new["row"].to_numpy(), new["col"].to_numpy()
    labelled = reference[r, c] > 0
    X = np.concatenate([first.X.values, pixels[r[labelled], c[labelled]]])
    y = np.concatenate([first.label.values, reference[r[labelled], c[labelled]]])
    retrained = make_model("rf", n_estimators=100, random_state=0).fit(X, y)
    test = unseen.copy()
    test[r, c] = False  # never score a pixel the model was given
    return float((retrained.predict(pixels[test]) == reference[test]).mean())


draws = [np.unravel_index(np.random.default_rng(seed).choice(class_map.size, len(sites), replace=False),
                          class_map.shape) for seed in range(3)]
pd.Series({
    "the map's model": float((class_map.values == reference)[unseen].mean()),
    f"+ {len(sites)} uncertain sites": accuracy_after_adding(sites),
    f"+ {len(sites)} random pixels (mean of 3 draws)": np.mean(
        [accuracy_after_adding(pd.DataFrame({"row": r, "col": c})) for r, c in draws]),
}, name="agreement on held-out pixels").round(3).to_frame()

# %% [markdown]
# Thirty labels are 4 % more training pixels, yet both sets raise the agreement by a few points (the new pixels
# come from places the model had not seen), and the uncertain sites raise it more than random pixels: they were
# chosen where the model needed them. One round on one split of one small patch is an anecdote, not a proof, and
# three cautions apply:
#
# - **Uncertainty sampling is biased** towards borders and confused classes. Labels there sharpen the borders, but
#   say little about a whole parcel the model gets wrong with confidence (low uncertainty, wrong class: section 2
#   showed that the confident fifth of the pixels still has a few errors), and a few borders can take the whole
#   budget. On other splits of this patch, random pixels sometimes do as well or better. Practice mixes uncertain
#   sites with sites drawn at random, and keeps the picks apart, as here (Tuia et al. 2011 review the strategies for
#   remote sensing).
# - **A border pixel is a mixed pixel**: its "true" class may be a matter of definition. Label areas the size of
#   the MMU, not single pixels.
# - These sites are chosen on purpose, so they are **not a sample for accuracy assessment**: an accuracy measured
#   on the hardest pixels is far too pessimistic. The map's accuracy and areas come from a probability sample,
#   drawn at random by strata (notebook 08).
#
# ## 6. Writing the products
#
# `write_map` writes each product as a **Cloud-Optimized GeoTIFF** (COG: internally tiled, with overviews, readable
# in part over HTTP), block by block and all-or-nothing (a failed run leaves no half-written file). The class map
# gets its class names and a colour table; the probabilities are stored as percentages in uint8 (a quarter of the
# size of float32), one band per class, named by its code.

# %%
out = Path(tempfile.mkdtemp()) / "map"
written = write_map(products, out)
for name, path in written.items():
    print(f"{path.name:<20} {path.stat().st_size / 1024:6.1f} KiB")

# %% [markdown]
# Any GIS opens these files. With rasterio, the class names are in the class map's metadata (the tag `CLASS_NAMES`,
# JSON, which `labkit.io.tagged_class_names` reads), next to its colour table:

# %%
with rasterio.open(written["class_map"]) as src:
    stored = src.read(1)
    stored_names = tagged_class_names(src.tags())
    print(f"{src.width} x {src.height} pixels, {src.dtypes[0]}, nodata {src.nodata}, {src.crs}")
    print("class names:", stored_names)
    print("colour of code 2:", src.colormap(1)[2])
with rasterio.open(written["probabilities"]) as src:
    print("probability bands:", src.descriptions, "scale:", src.tags()["SCALE"])
print("the class map read back equals the one computed:", bool((stored == class_map.values).all()))

fig, ax = plt.subplots(figsize=(6, 5))
plot_class_map(xr.DataArray(stored, dims=("y", "x")), stored_names, ax=ax)
ax.set_title("class_map.tif, read back with its class names")
plt.show()

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - `predict_map(cube, model)` maps every pixel and returns the products as one Dataset on the cube's grid: the
#   **class map** (uint8, `NO_CLASS` = 255 where a pixel cannot be classified), the class **probabilities**, the
#   **confidence** (the highest probability), an **uncertainty** layer and the **valid count**.
# - Uncertainty: the normalised **entropy** (the whole distribution, 0 to 1) or the **margin** $1 - (p_{(1)} -
#   p_{(2)})$ (how close the runner-up is). It does not give the probability of an error, but it ranks the pixels:
#   the map is wrong far more often where it is high.
# - The **block engine** cuts the grid into blocks that fit the **memory budget**: bytes per pixel = 3 x (series +
#   output layers), side = $\sqrt{\text{memory} / \text{workers} / \text{bytes per pixel}}$ (`block_shape`), whole
#   storage tiles when read from files. A tiled prediction equals a whole one; neighbourhood operations read a
#   **halo** around each block, so they have no seams either.
# - **Post-processing**: `majority_filter` (iota2's regularisation), `sieve` (a minimum mapping unit) and
#   `bayesian_smoothing` of the probabilities before `label_probabilities` remove the salt and pepper where the
#   model hesitates; `vectorize` turns the map into polygons for a GIS.
# - **Active learning**: the uncertain areas of the classes the model confuses are the first candidates for new
#   samples; pick them spread out, mix them with random ones (uncertainty misses confident errors), and never use
#   them to assess accuracy.
# - `write_map` writes COGs, with the class names (`CLASS_NAMES`) and colours in the class map.
#
# **Reference**: D. Tuia, M. Volpi, L. Copa, M. Kanevski, J. Muñoz-Marí (2011), "A survey of active learning
# algorithms for supervised remote sensing image classification", *IEEE Journal of Selected Topics in Signal
# Processing* 5(3): 606–617.
#
# ## What's next
#
# [08 Accuracy and area](08_accuracy_and_area.ipynb) assesses the accuracy of such a map and estimates the
# areas of its classes.
