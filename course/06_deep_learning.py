# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Deep learning on pixel time series
#
# Notebook 05 fed classical classifiers a **gap-filled** series: every cloudy date replaced by an interpolated value,
# then flattened into one row of numbers. Deep networks can read the series as a sequence instead, and some of them
# (the **attention** models) can read it *as it was observed*: the clear observations only, each with its date,
# without gap-filling. This notebook builds what a network reads from a pixel, trains two networks of the
# literature, **TempCNN** (Pelletier et al. 2019) on the gap-filled series and **L-TAE** (Sainte Fare Garnot &
# Landrieu 2020) on the raw, cloudy one, watches them learn, compares them with the random forest, and looks at
# what L-TAE attends to.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. turn a pixel's series into a network's input: standardised values, a mask of missing observations, the
#    dates;
# 2. train a network through the same interface as any labkit model (`make_model`, `fit_model`), with a validation
#    set of whole polygons and early stopping;
# 3. read learning curves, and say when a network has stopped learning;
# 4. compare networks with a random forest on the same split, and judge the difference;
# 5. run an attention model on cloudy series, hide observations from it, and read its attention weights.
#
# **Prerequisites**: notebooks 02 (gap-filling), 04 (sample sets, polygons) and 05 (classifiers, validation by
# polygon). No PyTorch is needed: labkit's networks follow scikit-learn's interface.
#
# **Time**: about 45 minutes: 30 teaching, 15 exercises (the networks train in seconds here: small networks, few
# epochs; set `LONG_RUN = True` below for longer training).
#
# **Exercises**: three, marked *Exercise*; the second asks you to **predict** an outcome before you measure it. Two
# *Questions* ask you to interpret and to predict before you read on.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from labkit.accuracy import assess_accuracy, plot_confusion_matrix
from labkit.course import check, hint, progress, solution
from labkit.datamodel import class_names
from labkit.datasets import load_slovenia
from labkit.gapfill import fill_gaps
from labkit.models import fit_model, make_model
from labkit.models.deep.data import SeriesBatches
from labkit.samples import extract_samples, split_by_group

LONG_RUN = False  # True: more epochs and pixels (minutes instead of seconds)
EPOCHS = 60 if LONG_RUN else 20
PIXELS_PER_POLYGON = 40 if LONG_RUN else 20
torch.set_num_threads(2)

# %% [markdown]
# ## 1. Two sample sets from the same pixels
#
# The Slovenian NDVI cube has 68 dates over two and a half years, with its cloud mask (notebook 00). We take the
# pixels of the labelled polygons twice:
#
# - **raw**: the observed values, with the cloudy ones as they are; `extract_samples` with the mask also gives each
#   sample a `valid` array (True where the observation is clear) and a `doy` array (the date of each observation,
#   counted in days);
# - **gap-filled**: the cube first filled onto a date every 10 days (notebook 02), then sampled.

# %%
data = load_slovenia()
polygons = data.polygons[data.polygons["class_id"] > 0]
raw = extract_samples(data.cube, polygons, mask=data.mask)
filled_cube, _ = fill_gaps(data.cube, data.mask, step=10)
filled = extract_samples(filled_cube, polygons)
names = class_names(raw)
print(f"raw: {dict(raw.X.sizes)}, {float(raw.valid.mean()):.0%} of the observations clear; "
      f"gap-filled: {dict(filled.X.sizes)}")
print("doy of the first dates:", raw.doy.values[0, :5], "counted from", raw.doy.attrs.get("reference", "1 January"))

# %% [markdown]
# The series span more than a year, so `doy` counts days since the first date (`reference`) rather than the day of
# the year, which would give two observations of one series the same day.
#
# As in notebook 05, neighbouring pixels of one polygon are nearly copies: we keep a few per polygon, the same
# pixels in both sets, and split them **by polygon** into training and validation.

# %%
rng = np.random.default_rng(0)
group = raw.group.values
keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(group == g))[:PIXELS_PER_POLYGON]
                               for g in np.unique(group)]))
raw, filled = raw.isel(sample=keep), filled.isel(sample=keep)
train, validation = split_by_group(raw, train_size=0.7, random_state=0)
train_filled, validation_filled = filled.sel(sample=train.sample), filled.sel(sample=validation.sample)
print(f"{train.sizes['sample']} training pixels from {np.unique(train.group).size} polygons, "
      f"{validation.sizes['sample']} validation pixels from {np.unique(validation.group).size} others")

# %% [markdown]
# ## 2. What a network reads
#
# A network takes three arrays per pixel, one value per date:
#
# - `x`: the values, **standardised** with the mean and standard deviation of the training set, so that every
#   band is centred on 0 with a spread of 1 (networks train badly on raw reflectances or indices);
# - `mask`: True where the observation is valid, False where it is missing (cloud, no acquisition);
# - `doy`: the date of each observation, which attention models encode as a *positional encoding*.
#
# A missing observation's value is set to **0**, after standardisation: whatever a cloud left there (0.1, 0.9,
# NaN) never reaches the network, and the mask says it is not an observation.
#
# ### Exercise 1: a pixel's input
#
# For the first training pixel, `series` holds its NDVI (NaN on dates with no value) and `valid` its clear dates.
# With the training set's `mean` and `std`, compute `pixel`: a dict `{"x": ..., "mask": ...}` where `mask` is
# True on the observations that are valid **and** finite, and `x` is `(series - mean) / std` there, 0 elsewhere.
#
# *Hint*: `np.isfinite`, `np.where`.

# %%
series, valid = train.X.values[0, :, 0], train.valid.values[0]
clear = train.X.values[..., 0][train.valid.values & np.isfinite(train.X.values[..., 0])]
mean, std = float(clear.mean()), float(clear.std())
print(f"training set: NDVI mean {mean:.3f}, std {std:.3f}")

# %% tags=["solution"]
# pixel: {"x": the standardised series with 0 where missing, "mask": True where the observation is usable}
mask = valid & np.isfinite(series)
pixel = {"x": np.where(mask, (np.where(mask, series, 0) - mean) / std, 0.0), "mask": mask}

# %%
pixel = check("06.network_input", pixel, series=series, valid=valid, mean=mean, std=std)
fig, ax = plt.subplots(figsize=(10, 2.8))
dates = pd.DatetimeIndex(raw.time.values)
ax.plot(dates, series, "o", color="0.7", label="NDVI as observed (cloudy ones too)")
ax.plot(dates[pixel["mask"]], pixel["x"][pixel["mask"]] * std + mean, "o", color="green", label="what the network reads")
ax.legend(fontsize=8)
ax.set_title("One pixel: the clear observations are the input, the rest is masked")
plt.show()

# %% [markdown]
# labkit does this for you, batch by batch (`SeriesBatches`), with the standardisation learned on the training set
# and saved with the model. A batch of four pixels:

# %%
batch_x, batch_doy, batch_mask, _ = next(SeriesBatches(train.X.values, doy=train.doy.values,
                                                       valid=train.valid.values, batch_size=4).batches())
print("x", batch_x.shape, "doy", batch_doy.shape, "mask", batch_mask.shape, "- valid per pixel:",
      batch_mask.sum(axis=1))

# %% [markdown]
# ## 3. Training two networks
#
# Networks are labkit models like the others: `make_model("tempcnn")`, `make_model("ltae")`, fitted on a sample
# set by `fit_model`, which passes them what they can use: the polygons (`group`: the network's own validation set,
# which decides when to stop, holds whole polygons), the dates (`doy`) and the clear observations (`valid`).
#
# - **TempCNN** slides convolutions along time: it needs a regular series, so it gets the **gap-filled** one.
# - **L-TAE** attends to the observations it has, wherever they fall: it gets the **raw** series, clouds masked.
#
# Early stopping watches a score on the network's own validation polygons: here `monitor="macro_f1"`, not the
# loss (the default), for a reason the learning curves below show.

# %%
common = dict(epochs=EPOCHS, batch_size=32, patience=5, monitor="macro_f1", random_state=0)
tempcnn = fit_model(make_model("tempcnn", network_params={"filters": 32}, **common), train_filled)
ltae = fit_model(make_model("ltae", network_params={"d_model": 64, "n_head": 8}, **common), train)
print(f"TempCNN kept epoch {tempcnn.best_epoch_}, L-TAE epoch {ltae.best_epoch_}")

# %% [markdown]
# Each model keeps its **learning curves** in `history_`: the training loss of each epoch, and the loss and scores
# on its own validation polygons (held out inside `fit`, not our `validation` set: 10 % of each class's polygons,
# here one polygon per class).

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, (name, model) in zip(axes, (("TempCNN (gap-filled)", tempcnn), ("L-TAE (raw, cloudy)", ltae))):
    history = pd.DataFrame(model.history_)
    ax.plot(history.epoch, history.train_loss, label="training loss")
    ax.plot(history.epoch, history.val_loss, label="validation loss")
    ax.plot(history.epoch, history.val_macro_f1, label="validation macro F1")
    ax.axvline(model.best_epoch_, color="0.6", ls="--", label="kept")
    ax.set_title(name)
    ax.set_xlabel("epoch")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Question 1 (interpret): why not the last epoch?
#
# Early stopping keeps the weights of the epoch with the best **validation** score (dashed line), not those of the
# last epoch, where the training loss is lowest. Why? Set `why_stop` to the letter.
#
# - a) the weights of the last epoch are not kept;
# - b) after that epoch the network fits its training pixels better but other polygons worse: it overfits;
# - c) the training loss is measured on fewer pixels than the validation loss, so it is less reliable.

# %% tags=["solution"]
# why_stop: the letter of your answer.
why_stop = "b"

# %%
why_stop = check("06.why_early_stopping", why_stop)

# %% [markdown]
# The training loss goes down as the network fits its training pixels; the validation score goes up as long as
# what it learns carries over to other polygons, then flattens or falls: from there the network learns its
# training pixels by heart (**overfitting**). Early stopping keeps the weights of the epoch with the best
# validation score (dashed line), and stops after `patience` epochs without progress.
#
# Why not the validation **loss**, the default (`monitor="loss"`)? Look at L-TAE's: it is lowest at epoch 1, where
# the network has learnt almost nothing, gives every class nearly the same probability and predicts grassland
# everywhere. The loss (cross-entropy) prefers such a cautious network to one that is right, and confident, on most
# pixels and confidently wrong on a few; here the validation polygons are one per class, so a single polygon's
# errors outweigh the rest. Watching the loss, L-TAE kept epoch 1 and an overall accuracy of 0.33 on our
# validation pixels. On a validation set of a few polygons, watch a score of the predictions (`"macro_f1"`,
# `"kappa"`, `"oa"`); with many polygons the loss is a fine guide too.
#
# ## 4. Against the random forest
#
# The same training polygons, the same validation polygons: the random forest of notebook 05 on the gap-filled
# series, and the two networks.
#
# ### Question 2 (predict): the cloudy series against the gap-filled one
#
# **Before running the next cell**: how will the overall accuracy of L-TAE, fed the raw **cloudy** series, compare
# with that of the random forest, fed the **gap-filled** one? Set `ltae_vs_forest` to the letter: a) L-TAE more
# than 0.10 lower than the forest; b) within 0.10 of each other; c) L-TAE more than 0.10 higher than the forest.

# %% tags=["solution"]
# ltae_vs_forest: the letter of your prediction.
ltae_vs_forest = "b"

# %%
forest = fit_model(make_model("rf", n_estimators=100, random_state=0), train_filled)
predictions = {
    "random forest (gap-filled)": forest.predict(validation_filled.X.values),
    "TempCNN (gap-filled)": tempcnn.predict(validation_filled.X.values),
    "L-TAE (raw, cloudy)": ltae.predict(validation.X.values, doy=validation.doy.values,
                                        valid=validation.valid.values),
}
reports = {name: assess_accuracy(validation.label.values, predicted, class_names=names)
           for name, predicted in predictions.items()}
ltae_vs_forest = check("06.ltae_against_forest", ltae_vs_forest, label=validation.label.values,
                       forest_predicted=predictions["random forest (gap-filled)"],
                       ltae_predicted=predictions["L-TAE (raw, cloudy)"])
pd.DataFrame({name: {"overall accuracy": r.overall_accuracy, "kappa": r.kappa, "macro F1": r.macro_f1}
              for name, r in reports.items()}).T.round(3)

# %% [markdown]
# Read this table as notebook 05 taught: it rests on one split of a 1 km² patch, a few polygons per class, NDVI
# only. Differences of a few points are within the noise of the split. What it does show is that L-TAE, given the
# **cloudy** series and no gap-filling at all, comes within a few points of models fed a carefully gap-filled one. On
# larger sample sets with all ten bands, networks usually do better than a random forest; `bench/deep_results.py`
# measures it on three public sets (see the README).
#
# ## 5. Predict, then measure: hiding observations
#
# L-TAE reads whichever observations it is given. We can hide some of them at prediction time, by marking them
# missing in `valid`, and see what the model loses: as if the sky had been cloudier.
#
# ### Exercise 2: predict before you run
#
# **Before running the cell after next**, decide: if we hide **half** of the clear observations of every
# validation pixel, drawn at random, does L-TAE's overall accuracy drop by **more than 0.15**? Set
# `hiding_hurts` to `True` or `False`.

# %% tags=["solution"]
# hiding_hurts: your prediction, True or False, made before running the measurement below.
hiding_hurts = False

# %%
hidden = np.random.default_rng(1).random(validation.valid.shape) < 0.5  # (pixel, date): the observations to hide
with_all = (ltae.predict(validation.X.values, doy=validation.doy.values, valid=validation.valid.values)
            == validation.label.values).mean()
with_half = (ltae.predict(validation.X.values, doy=validation.doy.values, valid=validation.valid.values & ~hidden)
             == validation.label.values).mean()
print(f"overall accuracy with every clear observation {with_all:.3f}, with half of them {with_half:.3f}")
hiding_hurts = check("06.hiding_hurts", hiding_hurts, model=ltae, X=validation.X.values, doy=validation.doy.values,
                     valid=validation.valid.values, label=validation.label.values, hidden=hidden)

# %% [markdown]
# L-TAE loses about 0.1 of overall accuracy, less than losing half of its data might suggest: each head averages
# the observations it has, with weights that sum to 1 over them, so half of a season's observations tell it much of
# what all of them do. A network fed a gap-filled series would instead get interpolated values, and a flattened
# series (random forest, MLP) needs every date. This is also what lets L-TAE classify a pixel whose winter was
# cloudy, with no retraining and no new gap-filling.
#
# ## 6. Errors, and attention
#
# Which classes does L-TAE confuse? Its confusion matrix on the validation pixels:

# %%
plot_confusion_matrix(reports["L-TAE (raw, cloudy)"])
plt.show()

# %% [markdown]
# L-TAE computes, for each of its attention **heads**, a weight per observation (the weights of a head sum to 1
# over the clear observations; masked ones get 0), then sums the observations with these weights. The network
# gives its weights of the last call on request (`return_attention=True`). We feed it the validation forest pixels
# exactly as `predict` does:

# %%
forest_code = next(code for code, name in names.items() if name == "forest")
is_forest = validation.label.values == forest_code
forest_batches = SeriesBatches(validation.X.values[is_forest], doy=validation.doy.values[is_forest],
                               valid=validation.valid.values[is_forest], batch_size=10_000, scaler=ltae.scaler_)
x, doy, mask, _ = next(forest_batches.batches())
with torch.no_grad():
    _, attention = ltae.network_(torch.from_numpy(x), torch.from_numpy(doy), torch.from_numpy(mask),
                                 return_attention=True)
weights = attention.numpy()  # (pixel, head, date)
print("attention weights:", weights.shape)

# %% [markdown]
# ### Exercise 3: where does L-TAE look?
#
# Compute `top_date`: the date (a value of `dates`) whose observations get the largest attention weight, averaged
# over the forest pixels and the heads.
#
# *Hint*: average `weights` over its first two axes.

# %% tags=["solution"]
# top_date: the date with the largest mean attention weight over pixels and heads.
top_date = dates.values[np.argmax(weights.mean(axis=(0, 1)))]

# %%
top_date = check("06.most_attended_date", top_date, weights=weights, dates=dates.values)
fig, ax = plt.subplots(figsize=(10, 2.8))
ax.bar(dates, weights.mean(axis=(0, 1)), width=8, color="0.5")
ax.set_title(f"Mean attention of L-TAE over the validation forest pixels (largest: {pd.Timestamp(top_date):%d %b %Y})")
ax.set_ylabel("weight")
plt.show()

# %% [markdown]
# Attention weights say where the network **looked**, not why it decided: a weight multiplies an observation's
# features, which the network then combines. Still, a model that spreads its attention over the clear winter dates
# of a forest is consistent with what the random forest's importances showed in notebook 05.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - A network reads a pixel as **values** (standardised on the training set), a **mask** of valid observations
#   (missing ones set to 0) and the **dates** of the observations.
# - Networks are labkit models: `make_model("tempcnn")`, `make_model("ltae")` (also `"mlp"`, `"gru"`,
#   `"transformer"`), `fit_model`, `predict`, `labkit cv --model ltae`; `fit_model` passes them the polygons, the
#   dates and the valid observations of the sample set.
# - Training holds out whole polygons to decide when to stop (**early stopping**); the learning curves in
#   `history_` show when a network stops learning and starts overfitting. On a few validation polygons, watch a
#   score of the predictions (`monitor="macro_f1"`): the loss can be lowest before the network has learnt anything.
# - **Attention** models (L-TAE) read cloudy series without gap-filling, lose less than one might expect when
#   observations are hidden, and can be asked what they predict without some of them.
# - One split of a small patch cannot rank models: compare them with grouped cross-validation on larger sets.
#
# ## What's next
#
# [07 From model to map](07_model_to_map.ipynb) maps a whole cube with any of these models, block by block.
