# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tour of the data cube
#
# A satellite image time series is a stack of images of the same place taken on many dates. labkit holds it
# as a **data cube**: one array with four dimensions, *time*, *band*, *y* and *x*, and a **validity mask**
# that says, for each date and pixel, whether the value can be trusted or was hidden by a cloud. Every step of
# a land-cover mapping chain starts from these two objects, so this first notebook is a guided tour of them,
# on real Sentinel-2 data over a small patch of Slovenia.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. open labkit's embedded dataset and explain each dimension and coordinate of its cube;
# 2. select data by date, by band and by pixel, by label (`.sel`) and by position (`.isel`);
# 3. read the validity mask and compute how much of the data is usable, per date and per pixel;
# 4. plot an NDVI image with a colour bar, and the NDVI time series of one pixel with its cloudy dates;
# 5. overlay the reference polygons that will later train and validate a classifier;
# 6. bring your own data in: fetch a public dataset by name, open a Zarr store written by another tool, read a
#    series of image files with their dates, derive a validity mask, read field points, and know how to load your
#    own area from a STAC catalogue.
#
# **Prerequisites**: Python and a little numpy (arrays, boolean masks). No remote sensing background is needed.
#
# **Time**: about 60 minutes: 40 teaching, 20 exercises (section 8, *Bring your own data*, takes 15 of them).
#
# **Exercises**: four, marked *Exercise*, and two questions, marked *Question*, where you predict a result before
# the notebook shows it. Write your code (for a question, your answer: a number or a letter) in the cell below each
# statement, in place of the `...`, then run the `check` cell that follows: it tells you whether your answer is
# right, and the notebook goes on with the right value either way. Keep the first line of an exercise cell,
# `%%exercise ...`: if your code raises an error, the check reports it and the notebook still goes on. Stuck?
# `hint()` gives a hint on the exercise you are on, a more specific one at each call, and `solution()` shows the
# solution; `progress()` lists the exercises you have done.

# %%
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D

from labkit.course import check, hint, progress, solution
from labkit.datamodel import Validity, validate
from labkit.datasets import load_slovenia

# %% [markdown]
# ## 1. Open the dataset
#
# labkit ships a small real dataset, so that the course runs anywhere, offline. `load_slovenia()` returns an
# object that holds the cube, its mask, reference data and a description of where it all comes from.

# %%
data = load_slovenia()
print(data.description)

# %% [markdown]
# Where are the course's data? The Slovenian patch of this notebook and most others, the Alpine scene near Bolzano
# of notebooks 01 and 03, and the MODIS cube of Sinop (Mato Grosso, Brazil) that section 8 fetches and notebook 10
# maps. Zoom and pan on the map (its base maps need a connection; without one, a static picture of the same places
# shows instead).

# %%
from labkit.datasets import load_bolzano
from labkit.maps import locator_map

locator_map({"Slovenia": data, "Bolzano": load_bolzano(), "Sinop": (-55.50, -11.65)})

# %% [markdown]
# ## 2. The cube
#
# Let us look at the cube. In Jupyter, an xarray object shows its dimensions, coordinates and attributes; click
# on the icons on the right to unfold them.

# %%
cube = data.cube
cube

# %% [markdown]
# Each of the four dimensions has a coordinate, an array of labels along it:
#
# `time` (68)
# : the acquisition dates, as `datetime64` values, strictly increasing. Sentinel-2 passes over a place every 5
#   days (10 days before 2017, with one satellite), but not every pass is kept, so the dates are **irregular**.
#
# `band` (1)
# : the names of the spectral bands or indices. Here a single one, `"NDVI"`, the *normalised difference
#   vegetation index* $\mathrm{NDVI} = (\mathrm{NIR} - \mathrm{red}) / (\mathrm{NIR} + \mathrm{red})$, computed
#   from Sentinel-2's bands B08 (near infrared) and B04 (red). It is close to 0 on bare soil, water or clouds,
#   and rises towards 0.8–0.9 over dense green vegetation.
#
# `y`, `x` (101 × 100)
# : the coordinates of the pixel **centres**, in metres, in the cube's coordinate reference system (CRS):
#   UTM zone 33 North (EPSG:32633). `x` grows eastwards; `y` *decreases* down the rows, because row 0 is the
#   northern edge of the image. Pixels are 10 m wide (9.99 m, to be exact), so the patch covers about 1 km².
#
# The `spatial_ref` coordinate carries the CRS and the grid's affine transform; the `rio` accessor (from
# rioxarray) reads them back:

# %%
print("CRS:", cube.rio.crs)
print("pixel size (x, y) in metres:", cube.rio.resolution())
print("bounds (left, bottom, right, top):", cube.rio.bounds())
print("shape:", dict(cube.sizes))
print("values:", cube.dtype, f"from {float(cube.min()):.2f} to {float(cube.max()):.2f}")
print("this is a labkit", validate(cube))

# %% [markdown]
# How regular is the time axis? The gaps between consecutive dates:

# %%
gaps = np.diff(cube.time.values).astype("timedelta64[D]").astype(int)
print(f"{cube.sizes['time']} dates from {pd.Timestamp(cube.time.values[0]):%Y-%m-%d} "
      f"to {pd.Timestamp(cube.time.values[-1]):%Y-%m-%d}")
print(f"gaps between dates: shortest {gaps.min()} days, median {np.median(gaps):.0f}, longest {gaps.max()}")

# %% [markdown]
# The longest gap, in the autumn of 2015, is a stretch with no usable acquisition; a gap of 0 days is two
# acquisitions on the same day, minutes apart. Later steps of the chain (gap filling) resample
# such series onto a regular grid of dates.
#
# ### Selecting: by label and by position
#
# `.sel` selects by coordinate labels, `.isel` by integer positions. Dates can be given as strings, and a
# partial date selects a whole month or year:

# %%
july_2016 = cube.sel(time="2016-07", band="NDVI")  # every date of July 2016
first_image = cube.isel(time=0, band=0)  # the first date, the first band
one_pixel = cube.sel(band="NDVI").isel(y=50, x=54)  # row 50, column 54: a series of 68 values
print("July 2016:", dict(july_2016.sizes))
print("first image:", dict(first_image.sizes), "on", pd.Timestamp(first_image.time.values).date())
print("one pixel:", dict(one_pixel.sizes))

# %% [markdown]
# ## 3. The validity mask
#
# Clouds hide the ground on many dates; the values under them are not NDVI of the land. The **validity mask**
# has the cube's dates and grid, dims `(time, y, x)`, and one code per observation, `uint8`.
#
# **Question 1 (predict).** Before running the next cells: what fraction of all the observations of this cube
# (dates × pixels) do you expect clouds to hide? The patch is in Slovenia, the dates span two and a half years,
# winters included, and Sentinel-2 records every pass, whatever the weather. Answer with a number between 0 and 1
# in the cell below (a guess within 0.15 of the truth counts as right), then run the check.

# %% tags=["solution"]
# share_cloudy: your prediction, a number between 0 and 1.
share_cloudy = 0.4

# %%
share_cloudy = check("00.share_cloudy", share_cloudy, mask=data.mask)
print(f"clouds hide {float((data.mask == 1).mean()):.0%} of the observations of this cube")

# %% [markdown]
# The codes of the mask, and how many observations have each:

# %%
mask = data.mask
for code in Validity:
    print(f"{code.value} = {code.name}: {int((mask == code).sum())} observations")
print("mask dims:", mask.dims, mask.dtype)

# %% [markdown]
# This patch has no code 2 (*no acquisition*): every date covers it entirely. Code 1 comes from the cloud mask
# of the Sentinel-2 product.
#
# ### Exercise 1: the fraction of valid observations per date
#
# Compute `valid_fraction`: for each date, the fraction of the patch's pixels that are valid (code 0). It is a
# DataArray with one value per date, between 0 and 1.
#
# *Hint*: `mask == 0` is a boolean DataArray, and the mean of booleans is the fraction of `True` values. Which
# dims should the mean run over?

# %% tags=["solution"]
# valid_fraction: a DataArray (time,), the fraction of valid pixels on each date.
valid_fraction = (mask == 0).mean(dim=("y", "x"))

# %%
valid_fraction = check("00.valid_fraction", valid_fraction, mask=mask)

# %%
fig, ax = plt.subplots(figsize=(10, 3))
ax.bar(valid_fraction.time.values, valid_fraction.values, width=np.timedelta64(6, "D"), color="tab:green")
ax.set_ylabel("fraction of valid pixels")
ax.set_ylim(0, 1)
ax.set_title("How much of the patch is clear on each date")
plt.show()

# %% [markdown]
# Many dates are entirely cloudy, and many are entirely clear: on a patch of 1 km², a cloud tends to cover
# everything or nothing.
#
# ### Exercise 2: the cloud-free dates
#
# Compute `clear_dates`: the dates on which *every* pixel is valid, as an array of dates.
#
# *Hint*: `valid_fraction == 1` is a boolean array with one value per date; use it to index the time coordinate.

# %% tags=["solution"]
# clear_dates: the dates (datetime64 values) with no cloud at all on the patch.
clear_dates = valid_fraction.time[valid_fraction == 1].values

# %%
clear_dates = check("00.clear_dates", clear_dates, mask=mask)
print(f"{len(clear_dates)} cloud-free dates out of {mask.sizes['time']}")

# %% [markdown]
# ## 4. An NDVI image
#
# Let us plot the cube on a cloud-free summer date: the first one of 2016 after mid-June.

# %%
clear = pd.DatetimeIndex(clear_dates)
date = clear[clear >= "2016-06-15"][0]
left, bottom, right, top = cube.rio.bounds()
extent = (left, right, bottom, top)  # what imshow needs to draw the image in map coordinates


def show_ndvi(ax, when):
    """Draw the NDVI image of date `when` on `ax`, in map coordinates; return the image for a colour bar."""
    when = pd.Timestamp(when)
    image = ax.imshow(cube.sel(time=when, band="NDVI"), cmap="RdYlGn", vmin=-0.2, vmax=1.0, extent=extent)
    ax.set_title(f"NDVI on {when.day} {when:%B %Y}")
    ax.set_xlabel("x (m, UTM 33N)")
    ax.set_ylabel("y (m, UTM 33N)")
    ax.ticklabel_format(useOffset=False, style="plain")  # full coordinates, not an offset
    ax.locator_params(nbins=4)
    return image


fig, ax = plt.subplots(figsize=(6, 5))
image = show_ndvi(ax, date)
fig.colorbar(image, ax=ax, label="NDVI")
ax.plot(float(cube.x[54]), float(cube.y[50]), marker="o", markersize=8, markerfacecolor="none", color="black")
plt.show()

# %% [markdown]
# Forest covers most of the patch (NDVI around 0.8); the paler shapes are meadows, fields and buildings. The
# black circle is the pixel at row 50, column 54, whose time series comes next.
#
# ## 5. One pixel through time
#
# The series of one pixel is the cube at fixed `y` and `x`. We mark each date with the pixel's validity code.
#
# **Question 2 (predict).** The pixel is in a meadow. On a date when a thick cloud hides it, what NDVI,
# $(\mathrm{NIR} - \mathrm{red}) / (\mathrm{NIR} + \mathrm{red})$, does the cube hold there?
#
# - a) about the same as on clear dates: clouds let the near infrared through;
# - b) close to 0, whatever the land below;
# - c) strongly negative (below -0.3), as over water.
#
# Answer with the letter, as text (`"a"`, `"b"` or `"c"`), then look at the plot that follows.

# %% tags=["solution"]
# under_cloud: the letter of your answer, as text.
under_cloud = "b"

# %%
under_cloud = check("00.under_cloud", under_cloud, cube=cube, mask=mask)

# %%
iy, ix = 50, 54
series = cube.sel(band="NDVI").isel(y=iy, x=ix)
pixel_mask = mask.isel(y=iy, x=ix)
cloudy = pixel_mask == Validity.INVALID
land_cover = data.class_names[int(data.reference[iy, ix])]

fig, ax = plt.subplots(figsize=(10, 3.5))
ax.plot(series.time, series, color="0.6", linewidth=1, zorder=1)
ax.scatter(series.time[~cloudy], series[~cloudy], color="tab:green", s=18, label="valid", zorder=2)
ax.scatter(series.time[cloudy], series[cloudy], color="tab:red", marker="x", s=30, label="cloudy", zorder=2)
ax.set_ylabel("NDVI")
ax.set_title(f"NDVI of the pixel at row {iy}, column {ix} ({land_cover})")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# The valid dates draw the seasons of a meadow: NDVI high in summer, low in winter, with dips where the grass
# is cut. The cloudy dates fall anywhere below: to about 0 under a thick cloud, in between under a thin veil or
# at a cloud's edge. Those values say nothing about the meadow, and a classifier fed with them would learn
# clouds. This is why the chain masks them and fills the gaps before anything else.
#
# ### Exercise 3: the clear observations of one pixel
#
# Compute `n_clear`: on how many dates the pixel at row `iy`, column `ix` is valid (code 0). A whole number.
#
# *Hint*: select the pixel by position in the mask, compare with 0, and sum over time.

# %% tags=["solution"]
# n_clear: an integer, the number of valid observations of the pixel (iy, ix).
n_clear = int((mask.isel(y=iy, x=ix) == 0).sum())

# %%
n_clear = check("00.pixel_clear_count", n_clear, mask=mask, iy=iy, ix=ix)
print(f"The pixel was seen clear on {int(n_clear)} of {mask.sizes['time']} dates.")

# %% [markdown]
# Over the whole patch, the number of clear observations varies little from pixel to pixel (clouds cover all
# or nothing); on larger areas it varies a lot, and it is one of the first maps to look at.
#
# Other pixels tell other stories. Move the sliders to choose a pixel on the image (the median NDVI of its clear
# dates): its series is drawn below it, with its cloudy dates marked. Try a forest, a field, the river. (Without a
# widget front end, a static figure of the first pixel shows instead.)

# %%
from labkit.explore import series_explorer

series_explorer(cube, mask, band="NDVI", pixel=(iy, ix))
#
# ## 6. Browse the dates
#
# Move the slider to see the image of each date. Cloudy dates look almost uniformly orange-red: NDVI near 0.
#
# The slider is an ipywidgets `SelectionSlider`; each time its value changes, the function given to `observe`
# draws the image of the new date into a PNG and shows it in an `Image` widget. (`ipywidgets.interact` does the
# same in one line, but it draws into an `Output` widget, which some tools that run notebooks unattended handle
# badly.)

# %%
dates = pd.DatetimeIndex(cube.time.values)


def ndvi_png(index):
    """The NDVI image of date number `index`, with its colour bar, as PNG bytes."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    image = show_ndvi(ax, dates[index])
    fig.colorbar(image, ax=ax, label="NDVI")
    ax.set_title(f"{ax.get_title()}: {float(valid_fraction[index]):.0%} valid")
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    plt.close(fig)  # drawn into the PNG only, not shown below the cell
    return png.getvalue()


slider = widgets.SelectionSlider(
    options=[(f"{d:%Y-%m-%d %H:%M}", i) for i, d in enumerate(dates)],
    value=int(dates.get_loc(date)),
    description="date",
    continuous_update=False,
    layout=widgets.Layout(width="95%"),
)
picture = widgets.Image(value=ndvi_png(slider.value), format="png")
slider.observe(lambda change: setattr(picture, "value", ndvi_png(change["new"])), names="value")
widgets.VBox([slider, picture])

# %% [markdown]
# (In the book, the slider needs a running kernel.) Here are four cloud-free dates of 2016, one per season:

# %%
seasons = [clear[clear.normalize() == day][0] for day in ["2016-01-17", "2016-05-26", "2016-08-14", "2016-12-12"]]
fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharey=True)
for ax, when in zip(axes, seasons):
    image = show_ndvi(ax, when)
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
fig.colorbar(image, ax=axes, label="NDVI", shrink=0.8)
plt.show()

# %% [markdown]
# In winter the NDVI is low everywhere, though these dates are cloud-free: the deciduous trees are bare, and
# the darkest patches are probably snow. *Valid* means "not hidden by a cloud", not "green".

# %% [markdown]
# ## 7. The reference data
#
# A classifier learns from examples whose class is known. This dataset has two versions of the same reference:
# `polygons`, 88 land parcels with their land-cover class (a GeoDataFrame in the cube's CRS), and `reference`,
# the same classes burnt into a raster on the cube's grid.

# %%
polygons = data.polygons
print(polygons.crs, f"{len(polygons)} polygons")
print(polygons["class_name"].value_counts().to_string())
polygons.head()

# %%
colours = {"no label": "lightgrey", "cultivated land": "gold", "forest": "darkgreen", "grassland": "yellowgreen",
           "shrubland": "peru", "artificial surface": "crimson"}

fig, (ax_image, ax_reference) = plt.subplots(1, 2, figsize=(13, 5))
image = show_ndvi(ax_image, date)
fig.colorbar(image, ax=ax_image, label="NDVI")
for name, group in polygons.groupby("class_name"):
    group.boundary.plot(ax=ax_image, color=colours[name], linewidth=1.5)
ax_image.set_xlim(left, right)  # parcels that cross the patch's edge go on beyond it
ax_image.set_ylim(bottom, top)
ax_image.legend(handles=[Line2D([], [], color=colours[n], linewidth=2, label=n) for n in sorted(colours)],
                loc="lower left", fontsize=8, framealpha=0.9)
ax_image.set_title("Reference polygons over the NDVI image")

codes = sorted(data.class_names)
positions = np.searchsorted(codes, data.reference.values)  # class code -> 0, 1, 2... for a colour map
reference_image = ax_reference.imshow(positions, cmap=ListedColormap([colours[data.class_names[c]] for c in codes]),
                                      vmin=-0.5, vmax=len(codes) - 0.5, extent=extent, interpolation="nearest")
bar = fig.colorbar(reference_image, ax=ax_reference, ticks=range(len(codes)))
bar.ax.set_yticklabels([data.class_names[c] for c in codes])
ax_reference.set_title("Reference land-cover raster")
ax_reference.set_xlabel("x (m, UTM 33N)")
ax_reference.ticklabel_format(useOffset=False, style="plain")
ax_reference.locator_params(nbins=4)
plt.show()

# %% [markdown]
# The polygons follow the field and forest edges visible in the image. They are few and unbalanced (mostly
# shrubland and grassland, 4 cultivated fields): keep it in mind when we sample pixels from them to train a
# classifier, and split training and validation data *by polygon*, so that neighbouring pixels of one parcel do
# not end up on both sides.

# %% [markdown]
# ## 8. Bring your own data
#
# The Slovenian patch ships with labkit. Your own data will come in other shapes: files of a public dataset, a
# Zarr store written by another tool (openEO, odc-stac), one image file per date, field points from a survey, or
# scenes of your own area from a catalogue. labkit reads each of them into the same two objects, a cube and a
# validity mask, so that everything in this course applies to them unchanged. This section tries each way in on
# two small public datasets (under 1 MB together).
#
# ### Public datasets by name
#
# `labkit.datasets.list_datasets()` lists the public datasets labkit knows by name (on the command line:
# `labkit fetch --list`): where each comes from, its licence, its size, and what it gives.

# %%
import tempfile
from pathlib import Path

import geopandas as gpd
import xarray as xr

import labkit
from labkit.bands import to_common_names
from labkit.datasets import fetch, fetch_dataset, list_datasets
from labkit.datasets.remote import source_url
from labkit.io import describe, read_dates, read_zarr
from labkit.masks import mask_from_nodata, mask_from_scl
from labkit.samples import extract_samples

datasets = list_datasets()
datasets.assign(size=(datasets["size"] / 2**20).map("{:.1f} MB".format))

# %% [markdown]
# Every file of these datasets is a file of a public GitHub repository at a pinned commit, checked against its
# SHA-256 when it arrives; a file that does not match is refused, never used. Files are downloaded once, then kept
# in a cache folder. Where there is no internet (a training room, a cluster node), a **mirror**, a folder holding
# copies of the files, replaces the download: set the environment variable `LABKIT_DATA_MIRROR` to it (this
# course's own build does).
#
# `fetch_dataset(NAME, DEST)` (`labkit fetch NAME --dest DEST`) fetches a dataset and writes it in labkit's formats
# into `DEST/NAME/`, with its licence and a README that says where it comes from. Here, the top-left 10 × 10 pixels
# of a Sentinel-2 cube near Bolzano, with its clouds:

# %%
workdir = Path(tempfile.mkdtemp(prefix="labkit-own-data-"))  # use a folder of your own, e.g. "labkit-data"
print("files come from", source_url())
files = fetch_dataset("s2-bolzano-tiny", workdir)
print(files["README.txt"].read_text())
tiny, tiny_mask = read_zarr(files["cube.zarr"], with_mask=True)
print(dict(tiny.sizes), "mask:", dict(tiny_mask.sizes))

# %% [markdown]
# ### A Zarr store written by another tool
#
# That cube was converted from a Zarr store written by openEO. Other tools lay their stores out their own way:
# here, one variable per band, a time dim called `t`, digital numbers (reflectance × 10 000) and the scene
# classification layer `SCL`. `fetch(NAME)` gets a dataset's files as they are, and `describe` (the command
# `labkit info PATH`) says what a file or store holds, and how labkit reads it:

# %%
root = fetch("s2-bolzano-tiny")  # the folder of the origin's files, in the cache
store = root / "tests/data/s2_l2a_zarr_sample.zarr"
for key, value in describe(store).items():
    print(f"{key:>17}: {value}")
xr.open_zarr(store)

# %% [markdown]
# `labkit.as_cube` turns such an xarray object into a labkit cube: it renames and orders the dims, stacks the
# bands, finds the CRS, applies the scale. `read_zarr` does it for a store in another layout:

# %%
bands = ["B02", "B03", "B04", "B08"]
s2 = read_zarr(store, bands=bands, scale=1e-4)  # the same as labkit.as_cube(xr.open_zarr(store), bands=..., scale=...)
print("a labkit", validate(s2), dict(s2.sizes), str(s2.rio.crs))
print("the same values as fetch_dataset's cube:", bool(s2.identical(tiny)))

# %% [markdown]
# The product's own quality layer gives the validity mask: for Sentinel-2 L2A, the scene classification (SCL),
# whose clouds, shadows and cirrus are invalid (notebook 01 looks at it closely):

# %%
scl = labkit.as_cube(xr.open_zarr(store), bands=["SCL"]).isel(band=0, drop=True)
s2_mask = mask_from_scl(scl)
print("fraction of valid pixels per date:", (s2_mask == 0).mean(dim=("y", "x")).values.round(2))

# %% [markdown]
# Bands have each sensor's names (`B04` here, `SR_B4` on Landsat 8, `sur_refl_b01` on MODIS), and also a
# **common name** shared by every sensor: `red`, `nir`... With common names, the same formula works on any sensor:

# %%
common = to_common_names(s2)
print(s2.band.values, "->", common.band.values)
red, nir = common.sel(band="red"), common.sel(band="nir")
s2_ndvi = (nir - red) / (nir + red)
print("mean NDVI on the valid observations:", round(float(s2_ndvi.where(s2_mask == 0).mean()), 2))

# %% [markdown]
# ### Image files: one raster per date
#
# Many series come as one image file per date, the date in the file's name. The R package sits ships one: 12
# MODIS MOD13Q1 NDVI composites of 16 days at Sinop (Brazil), 231.7 m pixels in MODIS's sinusoidal projection,
# stored as integers × 10 000 in JPEG 2000 files. `fetch` can take part of a dataset: here the images and a table
# of field points.

# %%
sinop = fetch("sits-sinop", ("inst/extdata/raster/mod13q1", "inst/extdata/samples/samples_sinop_crop.csv"))
images = sorted((sinop / "inst/extdata/raster/mod13q1").glob("*.jp2"))
print(len(images), "files:", images[0].name, "...", images[-1].name)
modis = read_dates(images, bands=["NDVI"], scale=1e-4)  # dates from the names; NDVI = stored value x 1e-4
print(dict(modis.sizes), f"pixels of {modis.rio.resolution()[0]:.1f} m")
print("dates:", np.datetime_as_string(modis.time.values, unit="D"))

# %% [markdown]
# When file names carry no date, a **date list** gives them: a text file with one date a line, in the order of
# the files (sits and iota2 call it a *timeline*). `read_bands` reads the other common layout, one multi-layer
# file per band with one layer per date, and takes the same `dates=`.

# %%
timeline = workdir / "dates.txt"
timeline.write_text("".join(f"{day}\n" for day in np.datetime_as_string(modis.time.values, unit="D")))
same = read_dates(images, bands=["NDVI"], scale=1e-4, dates=timeline)
print("read with the date list:", bool(same.identical(modis)))

# %% [markdown]
# These files come without a quality layer (MOD13Q1 has one, the *pixel reliability*, which
# `labkit.masks.mask_from_modis` turns into a mask), but they do have gaps: MODIS writes -3000 where it has no
# value, and the lossy compression of these files blurred it to values around -0.3, below NDVI's valid range for
# MOD13Q1 (-0.2 to 1). `mask_from_nodata` makes the validity mask from the missing values themselves: `NaN`, a
# `nodata` value, or any value outside a `valid_range`; 2 (no acquisition) where every band is missing, 1 where only
# some are.

# %%
modis_mask = mask_from_nodata(modis, valid_range=(-0.2, 1.0))  # outside: MODIS's fill value, not an NDVI
modis = modis.where(modis_mask == 0)  # for the pictures: the fill as NaN
for code in Validity:
    print(f"{code.value} = {code.name}: {int((modis_mask == code).sum())} observations")
worst = int((modis_mask == Validity.NO_DATA).sum(dim=("y", "x")).argmax(dim="time"))
print("the date with most gaps:", np.datetime_as_string(modis.time.values[worst], unit="D"))

# %% [markdown]
# ### Reference data: field points with dates
#
# The table that came with the images lists field points: a longitude, a latitude, a class, and the first and last
# day the field was observed in that class (`start_date`, `end_date`). geopandas turns it into points; they are in
# longitude/latitude (EPSG:4326), and labkit reprojects them to the cube's CRS wherever it uses them.

# %%
table = pd.read_csv(sinop / "inst/extdata/samples/samples_sinop_crop.csv")
points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["longitude"], table["latitude"]),
                          crs="EPSG:4326")
points.head()

# %%
fig, (ax_ndvi, ax_gaps) = plt.subplots(1, 2, figsize=(13, 4))
west, south, east, north = modis.rio.bounds()
modis_extent = (west, east, south, north)  # what imshow needs
image = ax_ndvi.imshow(modis.isel(time=4, band=0), cmap="RdYlGn", vmin=-0.2, vmax=1.0, extent=modis_extent)
fig.colorbar(image, ax=ax_ndvi, label="NDVI")
on_grid = points.to_crs(modis.rio.crs)  # longitude/latitude -> the cube's sinusoidal projection, in metres
point_colours = {"Cerrado": "tab:purple", "Forest": "black", "Pasture": "tab:blue", "Soy_Corn": "white"}
for name, group in on_grid.groupby("label"):
    ax_ndvi.scatter(group.geometry.x, group.geometry.y, s=40, color=point_colours[name], edgecolor="black",
                    label=name)
ax_ndvi.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4, fontsize=8)
ax_ndvi.set_title(f"MODIS NDVI on {np.datetime_as_string(modis.time.values[4], unit='D')}, field points")
ax_gaps.imshow(modis_mask.isel(time=worst), cmap=ListedColormap(["tab:green", "tab:red", "black"]), vmin=0, vmax=2,
               extent=modis_extent, interpolation="nearest")
ax_gaps.set_title(f"mask on {np.datetime_as_string(modis.time.values[worst], unit='D')}: no data in black")
for ax in (ax_ndvi, ax_gaps):
    ax.set(xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ### Exercise 4: the classes of the field points
#
# Before training anything on reference data, count its classes. Compute `points_per_class`: a dict that maps each
# class of the column `label` to its number of points.
#
# *Hint*: a column's `.value_counts()` counts each of its values.

# %% tags=["solution"]
# points_per_class: a dict {class name: number of points}.
points_per_class = points["label"].value_counts().to_dict()

# %%
points_per_class = check("00.points_per_class", points_per_class, points=points)
print(points_per_class)

# %% [markdown]
# 18 points in 4 classes, 3 of them for forest: enough to try the chain, far too few to train a classifier.
#
# `extract_samples` (notebook 04) reads the cube under each point into a sample set. Given the fields of each row's
# first and last day (`start=`, `end=`), each sample keeps only the dates inside its own window, as sits does: the
# same field may come back in another row for another season, with another class.

# %%
samples = extract_samples(modis, points, class_field="label", id_field="id", start="start_date", end="end_date",
                          mask=modis_mask)
print(dict(samples.sizes), "classes:", samples.class_name.values)
print("valid observations per sample:", samples.valid.sum(dim="time").values)

# %% [markdown]
# ### Your own area, from a STAC catalogue
#
# Sentinel-2 images of any place and season are public, described by STAC catalogues such as Element 84's *Earth
# Search* or Microsoft's *Planetary Computer*. `search_stac` finds the scenes over an area (a box in degrees, or a
# vector file) between two dates, under a cloud cover; `load_stac` loads their bands as a lazy cube of reflectance,
# with the validity mask from their SCL layer, and can write both to a Zarr store that `read_zarr` opens later.
# This needs an internet connection, so the code is shown here, not run:
#
# ```python
# from labkit.sources import load_stac, search_stac
#
# items = search_stac("earth-search", bbox=(11.30, 46.45, 11.36, 46.50), dates="2022-06-01/2022-08-31",
#                     max_cloud=40)
# cube, mask = load_stac(items, bands=["B02", "B03", "B04", "B08", "B11"], resolution=10, out="my_area.zarr")
# cube, mask = read_zarr("my_area.zarr", with_mask=True)  # later, without the network
# ```
#
# On the command line, `labkit stac earth-search --bbox 11.30 46.45 11.36 46.50 --dates 2022-06-01/2022-08-31
# --max-cloud 40 --out my_area.zarr` does the same, and `labkit info my_area.zarr` tells what was written. The
# book's *Bring your own data* page covers every way in: product folders (Theia/MAJA, SAFE), Landsat and MODIS
# bands, each product's mask, polygons and sample tables.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - A labkit **cube** is an xarray `DataArray` with dims `(time, band, y, x)`: dates, band names, and pixel-centre
#   coordinates in a CRS (`cube.rio.crs`), 10 m pixels here. Select with `.sel` (labels) and `.isel` (positions).
# - The **validity mask** `(time, y, x)` says which observations are usable: 0 valid, 1 cloud, 2 no acquisition.
#   On this patch, about 40 % of the observations are cloudy, and under a cloud NDVI drops to about 0.
# - Counting valid observations per date and per pixel is a one-liner: compare the mask with 0, then take a mean
#   or a sum over the right dims.
# - The **reference** comes as polygons (to sample and split by parcel) and as a raster on the cube's grid.
# - **Your own data** becomes the same cube and mask: public datasets by name (`fetch_dataset`, `fetch`, checked
#   and cached, from a mirror where `LABKIT_DATA_MIRROR` says so), other tools' Zarr stores and xarray objects
#   (`read_zarr`, `labkit.as_cube`), one file per date (`read_dates`, dates from the names or a date list), masks
#   from the product's quality layer or from the missing values (`mask_from_nodata`), field points with their
#   dates, and any area from a STAC catalogue (`search_stac`, `load_stac`). `labkit info PATH` says what a file
#   holds.
#
# ## What's next
#
# [01 Clouds and validity masks](01_clouds_and_masks.ipynb) shows where the validity mask comes from and the
# choices hidden in it; [02 Filling the gaps](02_gap_filling.ipynb) then fills the gaps the clouds leave, to turn
# this irregular, cloudy series into a clean one.
