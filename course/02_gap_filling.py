# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Filling the gaps
#
# After masking, every pixel's time series has holes: the dates when a cloud hid the ground. And the dates
# themselves are irregular, different from one tile to the next. A classifier, though, needs the same features for
# every pixel: one value per band on each date of *one shared grid*. **Gap-filling** resamples each pixel's clear
# observations onto such a grid: the core preprocessing step of chains like CESBIO's iota2. This notebook does it
# on the real Sentinel-2 NDVI of Slovenia, and compares three ways of doing it.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. build a regular grid of dates, by hand and from the data's own revisit interval;
# 2. interpolate a cloudy value by hand between its two clear neighbours, and check it against `fill_gaps`;
# 3. compare linear interpolation, the nearest clear value and the Whittaker smoother on one pixel, and say what
#    each one does with a cloud that the mask missed;
# 4. read the flags of a gap-filled cube: values held at the ends of a series, pixels without any clear date;
# 5. map a gap-filled date next to the raw, cloudy image.
#
# **Prerequisites**: the data cube and its validity mask (notebook 00); what a validity mask is made from
# (notebook 01) helps but is not needed.
#
# **Time**: about 40 minutes: 25 teaching, 15 exercises.
#
# **Exercises**: three, marked *Exercise*, and two questions, marked *Question*, where you read or predict a result
# before the notebook shows it. Write your code (for a question, your answer: a number or a letter) in the cell
# below each statement, in place of the `...`, then run the `check` cell that follows: it tells you whether your
# answer is right, and the notebook goes on with the right value either way.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labkit.course import check, hint, progress, solution
from labkit.datamodel import Validity
from labkit.datasets import load_slovenia
from labkit.gapfill import fill_gaps, regular_dates, revisit_step

# %% [markdown]
# ## 1. A cloudy pixel
#
# We take the pixel of notebook 00, a meadow at row 50, column 54, and mark its cloudy dates.

# %%
data = load_slovenia()
cube, mask = data.cube, data.mask
iy, ix = 50, 54
series = cube.sel(band="NDVI").isel(y=iy, x=ix)
pixel_mask = mask.isel(y=iy, x=ix)
valid = pixel_mask == Validity.VALID
print(f"{int(valid.sum())} clear and {int((~valid).sum())} cloudy dates out of {cube.sizes['time']}")


def plot_raw(ax, series, valid, label=True):
    """The raw series of one pixel: clear dates as green dots, cloudy ones as red crosses."""
    ax.scatter(series.time[valid], series[valid], color="tab:green", s=16, zorder=3,
               label="clear" if label else None)
    ax.scatter(series.time[~valid], series[~valid], color="tab:red", marker="x", s=28, zorder=3,
               label="cloudy" if label else None)
    ax.set_ylabel("NDVI")
    ax.set_ylim(-0.1, 1.0)


fig, ax = plt.subplots(figsize=(11, 3.5))
ax.plot(series.time, series, color="0.75", linewidth=1, zorder=1)
plot_raw(ax, series, valid)
ax.set_title(f"Raw NDVI of the pixel at row {iy}, column {ix}")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# The grey line joins every observation, clear or not: it plunges to about 0 at each cloud. Gap-filling keeps
# the green dots and replaces the red crosses by values made from the green dots around them.
#
# **Question 1 (interpret).** Read the plot: how many days long is the longest stretch between two consecutive clear
# observations of this pixel, the longest gap that gap-filling will have to bridge? Answer with a number (within
# 25 % counts as right).

# %% tags=["solution"]
# longest_gap: your reading, a number of days.
longest_gap = 100

# %%
longest_gap = check("02.longest_gap", longest_gap, pixel_mask=pixel_mask)

# %% [markdown]
# ## 2. A regular grid of dates
#
# The acquisition dates are irregular (and they differ from one Sentinel-2 tile to another):

# %%
times = pd.DatetimeIndex(cube.time.values)
gaps = np.diff(times.normalize().unique()).astype("timedelta64[D]").astype(int)
print(f"{len(times)} dates from {times[0]} to {times[-1]}")
print(f"days between acquisition days: shortest {gaps.min()}, median {np.median(gaps):.0f}, longest {gaps.max()}")

# %% [markdown]
# The target of gap-filling is a *regular* grid: a date every `step` days. iota2 uses 10 days for Sentinel-2;
# here too, 10 days is the median interval between two acquisition days.
#
# ### Exercise 1: the regular grid
#
# Compute `grid`: the dates every 10 days from **midnight** of the first acquisition day to the last acquisition
# (the last grid date is the last one on or before it).
#
# *Hint*: `pd.date_range(start, end, freq="10D")`; `pd.Timestamp(times[0]).normalize()` is midnight of the first
# date.

# %% tags=["solution"]
# grid: the dates (a DatetimeIndex or an array of dates) every 10 days from midnight of the first date to the last.
grid = pd.date_range(times[0].normalize(), times[-1], freq="10D")

# %%
grid = check("02.regular_grid", grid, times=cube.time.values, step=10)
print(f"{len(grid)} grid dates, from {pd.Timestamp(grid[0]).date()} to {pd.Timestamp(grid[-1]).date()}")

# %% [markdown]
# labkit does the same with `regular_dates(start, end, step)`, and `fill_gaps(..., step="auto")` takes the step
# from the data: the median interval between acquisition days, rounded to whole days (`revisit_step`).

# %%
print("regular_dates gives the same grid:", bool((regular_dates(times[0], times[-1], 10) == grid).all()))
print("step='auto' would take", revisit_step(cube.time.values), "days")

# %% [markdown]
# ## 3. Linear interpolation, by hand
#
# The simplest gap-filling draws a straight line in time between the clear observations just before and just
# after each target date. Take the cloudy date of 26 April 2016 of our pixel, and its two clear neighbours:

# %%
when = pd.Timestamp(cube.time.values[16])
clear = series[valid.values]
before = clear.sel(time=slice(None, when)).isel(time=-1)
after = clear.sel(time=slice(when, None)).isel(time=0)
t_before, v_before = before.time.values, float(before)
t_after, v_after = after.time.values, float(after)
print(f"cloudy date {when}: raw NDVI {float(series.sel(time=when)):.3f} (a cloud)")
print(f"clear before: {pd.Timestamp(t_before)}, NDVI {v_before:.3f}")
print(f"clear after:  {pd.Timestamp(t_after)}, NDVI {v_after:.3f}")

# %% [markdown]
# ### Exercise 2: one value by hand
#
# Compute `by_hand`: the NDVI at `when`, on the straight line from (`t_before`, `v_before`) to (`t_after`,
# `v_after`). A number.
#
# *Hint*: the fraction of the way from `t_before` to `t_after` is `(when - t_before) / (t_after - t_before)`;
# with numpy dates, dividing two time differences gives a plain number (use `np.datetime64(when)`).

# %% tags=["solution"]
# by_hand: a float, the NDVI interpolated linearly in time at `when`.
fraction = (np.datetime64(when) - t_before) / (t_after - t_before)
by_hand = v_before + fraction * (v_after - v_before)

# %%
by_hand = check("02.interpolate_by_hand", by_hand, series=series, valid=valid, when=when)

# %% [markdown]
# `fill_gaps` does this for every pixel and every target date at once. Given no grid, it fills the cube's own
# dates: the clear values stay as they are, and the cloudy ones are replaced.

# %%
filled_own, _ = fill_gaps(cube, mask)
print(f"fill_gaps at {when.date()}: {float(filled_own.sel(band='NDVI', time=when)[iy, ix]):.4f}, "
      f"by hand: {float(by_hand):.4f}")

# %% [markdown]
# ## 4. Three ways to fill the gaps
#
# `fill_gaps` has three methods:
#
# `linear` (the default)
# : the straight line between the two clear neighbours, as above;
#
# `nearest`
# : the clear observation closest in time;
#
# `whittaker`
# : the **Whittaker smoother** (Eilers, 2003), the standard for NDVI series: the smooth curve that stays close to
#   the clear observations while penalising its own roughness. `lambda_` sets the balance: the larger, the
#   smoother. As a rule of thumb, details shorter than about $2\pi\lambda^{1/4}$ days are smoothed out (35 days for
#   the default, $\lambda = 1000$).
#
# We fill our pixel onto the 10-day grid with each of them.
#
# **Question 2 (predict).** Before running the next cell: which method can give, on a date between two clear
# observations, a value above both of them, or below both (an *overshoot*)?
#
# - a) linear;
# - b) nearest;
# - c) whittaker;
# - d) none of them.
#
# Answer with the letter, as text, then look at the plot.

# %% tags=["solution"]
# overshoot: the letter of your answer, as text.
overshoot = "c"

# %%
overshoot = check("02.overshoot", overshoot, cube=cube, mask=mask, grid=grid, iy=iy, ix=ix)

# %%
one_pixel = {"y": [iy], "x": [ix]}
methods = {"linear": {}, "nearest": {}, "whittaker": {"lambda_": 1000.0}}
colours = {"linear": "tab:blue", "nearest": "tab:orange", "whittaker": "tab:purple"}
curves, flags = {}, None
for name, options in methods.items():
    filled, flags = fill_gaps(cube.isel(one_pixel), mask.isel(one_pixel), dates=grid, method=name, **options)
    curves[name] = filled.sel(band="NDVI").isel(y=0, x=0)

fig, ax = plt.subplots(figsize=(11, 4))
plot_raw(ax, series, valid)
for name, curve in curves.items():
    ax.plot(curve.time, curve, color=colours[name], linewidth=1.4, label=name,
            drawstyle="steps-mid" if name == "nearest" else "default")
ax.set_title("One pixel gap-filled onto a date every 10 days, three ways")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# * **linear** goes through every clear observation, with corners: honest, and what iota2 uses by default.
# * **nearest** copies clear values: a staircase, which keeps every value real but moves events in time by up to
#   half a gap.
# * **whittaker** gives a smooth curve that passes *near* the clear observations rather than through them: it
#   also smooths the noise of the clear dates (a thin veil the mask missed, a slightly wet field).
#
# How smooth? Three values of `lambda_`:

# %%
fig, ax = plt.subplots(figsize=(11, 3.5))
plot_raw(ax, series, valid, label=False)
for lambda_, shade in [(10.0, "0.65"), (1000.0, "tab:purple"), (1e5, "black")]:
    smooth, _ = fill_gaps(cube.isel(one_pixel), mask.isel(one_pixel), dates=grid, method="whittaker",
                          lambda_=lambda_)
    ax.plot(smooth.time, smooth.isel(band=0, y=0, x=0), color=shade, label=f"lambda_ = {lambda_:g}")
ax.set_title("The Whittaker smoother: the larger lambda_, the smoother")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# ## 5. A cloud the mask missed
#
# Masks are not perfect. What if the cloud of 25 July 2016 (NDVI 0.02 in the middle of summer) had been left
# unmasked? We mark it valid in a copy of the mask, and fill the pixel again with each method.

# %%
missed = pd.Timestamp(cube.time.values[23])
leaky_mask = mask.copy()
leaky_mask.loc[{"time": missed}] = Validity.VALID
print(f"{missed.date()}: NDVI {float(series.sel(time=missed)):.3f}, now marked valid")

summer = slice("2016-05-01", "2016-09-30")
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
for ax, (title, which) in zip(axes, [("cloud masked", mask), ("cloud left unmasked", leaky_mask)]):
    pixel_valid = which.isel(y=iy, x=ix) == Validity.VALID
    plot_raw(ax, series.sel(time=summer), pixel_valid.sel(time=summer), label=False)
    for name, options in methods.items():
        filled, _ = fill_gaps(cube.isel(one_pixel), which.isel(one_pixel), dates=grid, method=name, **options)
        curve = filled.isel(band=0, y=0, x=0).sel(time=summer)
        ax.plot(curve.time, curve, color=colours[name], label=name,
                drawstyle="steps-mid" if name == "nearest" else "default")
        if which is leaky_mask:
            print(f"{name:>9}: lowest summer value {float(curve.min()):.2f}")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
axes[1].legend(loc="lower right")
plt.show()

# %% [markdown]
# With the cloud masked, all three methods bridge the gap at about 0.75. Left unmasked, the cloud is *data*:
# linear interpolation dives to it; nearest copies it onto the grid dates around it; the smoother cannot dive
# that fast, so the dip is shallower, but it is spread over weeks before and after. No method can tell a cloud from
# a harvest: a good mask comes first, and the smoother only softens what the mask missed.
#
# ## 6. The ends of a series: held values and flags
#
# Between two clear dates, gap-filling interpolates. Before a pixel's first clear date, or after its last one,
# there is nothing to interpolate *between*: `fill_gaps` **holds** the first (or last) clear value, and never
# invents a trend: the smoother holds its own value there too. It says so in a second output, the **flags**, a
# validity mask on the target dates:
#
# * `0`: between two clear dates (interpolated or observed);
# * `1`: held, before the first or after the last clear date;
# * `2`: the pixel has no clear date at all (the value is `NaN`).
#
# Our pixel's last two dates are cloudy. Let us extend the grid a month beyond the data on each side:

# %%
wide_grid = regular_dates("2015-06-01", "2018-01-31", 10)
wide, wide_flags = fill_gaps(cube.isel(one_pixel), mask.isel(one_pixel), dates=wide_grid)
pixel_flags = wide_flags.isel(y=0, x=0)

fig, ax = plt.subplots(figsize=(11, 3.5))
plot_raw(ax, series, valid)
curve = wide.isel(band=0, y=0, x=0)
ax.plot(curve.time, curve, color="tab:blue", linewidth=1, label="linear")
held = pixel_flags == 1
ax.scatter(curve.time[held], curve[held], s=40, facecolor="none", edgecolor="black", zorder=4,
           label="held (flag 1)")
ax.set_title("Held values at the ends of the series")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# ### Exercise 3: how many values are held?
#
# Compute `n_held`: on how many dates of `wide_grid` the pixel's value is held (flag 1). A whole number.
#
# *Hint*: `pixel_flags` holds the flags of the pixel on `wide_grid`.

# %% tags=["solution"]
# n_held: an integer, the number of dates of wide_grid where the pixel's value is held.
n_held = int((pixel_flags == 1).sum())

# %%
n_held = check("02.held_count", n_held, pixel_mask=pixel_mask, grid=wide_grid)
first_clear, last_clear = series.time.values[valid.values][[0, -1]]
print(f"clear from {pd.Timestamp(first_clear).date()} to {pd.Timestamp(last_clear).date()}: "
      f"{n_held} of {len(wide_grid)} values held")

# %% [markdown]
# Keep the flags: a classifier can be told to trust held values less, and a map of them shows where the series
# were short. On this patch every pixel has clear dates, so no flag is 2; on a larger area (a mountain under
# snow, the edge of a swath), some would be.
#
# ## 7. The whole image
#
# Gap-filling works on every pixel at once. Here is a partly cloudy date, raw and gap-filled (onto the cube's own
# dates, computed in section 3).

# %%
date = pd.Timestamp(cube.time.values[26])
left, bottom, right, top = cube.rio.bounds()
extent = (left, right, bottom, top)
cloudy = mask.sel(time=date) == Validity.INVALID

fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
for ax, title, image in [(axes[0], f"raw NDVI, {float(cloudy.mean()):.0%} cloudy", cube.sel(time=date, band="NDVI")),
                         (axes[2], "gap-filled NDVI", filled_own.sel(time=date, band="NDVI"))]:
    ndvi_image = ax.imshow(image, cmap="RdYlGn", vmin=-0.2, vmax=1.0, extent=extent)
    ax.set_title(f"{title}, {date:%d %B %Y}")
axes[1].imshow(cloudy, cmap="Reds", vmin=0, vmax=1.5, extent=extent, interpolation="nearest")
axes[1].set_title("validity mask (red: cloudy)")
for ax in axes:
    ax.set(xticks=[], yticks=[])
fig.colorbar(ndvi_image, ax=axes, label="NDVI", shrink=0.85)
plt.show()

# %% [markdown]
# Under the cloud, the raw image is meaningless (NDVI near 0 over forest); the gap-filled image continues the
# fields and the forest from the clear dates before and after. The blocky outline of the mask still shows, though:
# the part of this date that the mask calls clear is paler than the filled part around it, probably a thin haze the
# mask did not flag. Gap-filling trusts the mask; it fills, it does not observe.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - **Gap-filling** resamples every pixel's clear observations onto one **regular grid** of dates, so that every
#   pixel has the same features: `fill_gaps(cube, mask, step=10)` (or `dates=...`, or `step="auto"`, the
#   median revisit interval).
# - **linear** (the default) joins clear observations with straight lines; **nearest** copies the closest clear
#   value; the **Whittaker** smoother (`method="whittaker"`, `lambda_`) fits a smooth curve that also damps noise.
# - No method removes a cloud the mask missed: linear follows it, the smoother spreads it. Masks come first.
# - Before the first and after the last clear date, values are **held**, never extrapolated, and **flagged 1**;
#   a pixel without any clear date is `NaN`, flagged 2.
#
# ## What's next
#
# [03 Features](03_features.ipynb) computes spectral indices and temporal statistics from the gap-filled series.
