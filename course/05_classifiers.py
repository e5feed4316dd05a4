# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Classical classifiers and their validation
#
# With a sample set in hand (notebook 04), we can train classifiers: a **random forest**, a **support-vector
# machine** (SVM) and **gradient-boosted trees** (LightGBM), the three workhorses of land-cover mapping before deep
# learning, and still strong baselines. Training is the easy part. The hard part is an honest answer to "how good
# is this model on land it has never seen?", good enough to choose between models and settings. This notebook
# trains the three models through one interface, then validates and compares them with **cross-validation grouped
# by polygon**, tunes one, and looks inside: at its confusion matrix and at the dates it relies on.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# 1. train a random forest, an SVM and LightGBM (or any scikit-learn classifier) on a sample set through one
#    interface, and get class probabilities;
# 2. cross-validate a model with folds that keep each polygon whole, and report its scores as mean ± standard
#    deviation over the folds;
# 3. compare models on the same folds, and judge whether a difference is larger than the spread;
# 4. tune hyperparameters with a grouped search, and read its table of results;
# 5. read a confusion matrix, and compute the overall accuracy and Cohen's kappa from it by hand;
# 6. find which dates of the series a random forest relies on.
#
# **Prerequisites**: notebook 04 (sample sets, `group`, why a random pixel split leaks). A little pandas.
#
# **Time**: about 50 minutes: 30 teaching, 20 exercises.
#
# **Exercises**: three, marked *Exercise*, and three *Questions* where you predict, decide or interpret before you
# read on. Write your code in the cell below each statement, in place of the
# `...`, then run the `check` cell that follows: it tells you whether your answer is right, and the notebook
# goes on with the right value either way.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labkit.accuracy import assess_accuracy, plot_confusion_matrix
from labkit.course import check, hint, progress, solution
from labkit.datamodel import class_names
from labkit.datasets import load_slovenia
from labkit.errors import ConfigError
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map
from labkit.maps import add_class_map, reference_map
from labkit.models import cross_validate, make_folds, make_model, search_hyperparameters
from labkit.report import plot_class_map
from labkit.samples import extract_samples, split_by_group

# %% [markdown]
# ## 1. The samples
#
# As in notebook 04: the Slovenian NDVI cube, gap-filled onto a date every 10 days, and the pixels of the labelled
# reference polygons.

# %%
data = load_slovenia()
filled, flags = fill_gaps(data.cube, data.mask, step=10)
samples = extract_samples(filled, data.polygons[data.polygons["class_id"] > 0])
names = class_names(samples)
dates = pd.DatetimeIndex(samples.time.values)

per_class = pd.DataFrame({"class": [names[c] for c in samples.label.values], "polygon": samples.group.values})
per_class.groupby("class").agg(pixels=("polygon", "size"), polygons=("polygon", "nunique"))

# %% [markdown]
# Two things to keep in mind. The classes are very unbalanced (forest: three quarters of the pixels), and what a
# classifier can learn about a class depends on its number of **polygons** more than on its pixels: the 7 601
# forest pixels come from 10 parcels, the 11 pixels of cultivated land from 4.
#
# Neighbouring pixels of one parcel are nearly copies of each other, so we keep at most 25 pixels per polygon,
# drawn at random. The models learn as much, and train several times faster, which matters when we fit dozens of
# them below.

# %%
rng = np.random.default_rng(0)
group = samples.group.values
keep = np.concatenate([rng.permutation(np.flatnonzero(group == g))[:25] for g in np.unique(group)])
thin = samples.isel(sample=np.sort(keep))
X, y = thin.X.values, thin.label.values
print(f"{thin.sizes['sample']} samples from {np.unique(thin.group).size} polygons; X is {X.shape} "
      "(samples, dates, bands)")

# %% [markdown]
# ## 2. Three classifiers, one interface
#
# `make_model(name)` returns an untrained model that follows scikit-learn's interface: `fit(X, y)`, then
# `predict(X)` and `predict_proba(X)`. `X` is the sample set's array, one series per sample. Each model is a
# scikit-learn `Pipeline` of two steps:

# %%
model = make_model("rf", random_state=0)
model

# %% [markdown]
# `features` (`SeriesFeatures`) turns each series into one row of numbers: the 90 NDVI values, then six
# statistics over time (minimum, maximum, mean, standard deviation, amplitude, and the position of the maximum).
# `model` is the classifier proper: here scikit-learn's `RandomForestClassifier` with 200 trees. For the SVM, the
# `model` step scales each feature first (an SVM measures distances, so features must be on comparable scales),
# and its class probabilities come from a calibration on held-out data (Platt scaling).
#
# A first try: train each model on the polygons of a 70 % split (by polygon, class by class, as in notebook 04)
# and score it on the others.

# %%
train, validation = split_by_group(thin, train_size=0.7, random_state=0)
first_try = {}
for name in ("rf", "svm", "lgbm"):
    fitted = make_model(name, random_state=0).fit(train.X.values, train.label.values)
    report = assess_accuracy(validation.label.values, fitted.predict(validation.X.values))
    first_try[name] = {"overall accuracy": report.overall_accuracy, "kappa": report.kappa, "macro F1": report.macro_f1}
pd.DataFrame(first_try).T.round(3)

# %% [markdown]
# The last model fitted is LightGBM. Its class probabilities for three validation pixels, one column per class:

# %%
proba = fitted.predict_proba(validation.X.values[:3])
pd.DataFrame(proba, columns=[names[c] for c in fitted.classes_]).round(3)

# %% [markdown]
# Any scikit-learn classifier works the same way, named by its import path (in Python, or in a configuration
# file): `make_model("sklearn.ensemble.ExtraTreesClassifier", n_estimators=100)` puts the same `features` step in
# front of it.
#
# How far can we trust the table above? It rests on **one** draw of validation polygons, a handful per class: for
# cultivated land, a single polygon of a few pixels. Another draw gives other numbers.
#
# ## 3. Cross-validation grouped by polygon
#
# **k-fold cross-validation** uses every sample for validation exactly once: the polygons are dealt into *k*
# folds; each fold in turn is the validation set of a model trained on the other *k* - 1. Dealing **polygons**,
# not pixels, keeps every polygon on one side, as in notebook 04; dealing them class by class (*stratified*) gives
# each fold a share of every class. `make_folds` returns the folds as arrays of sample positions:

# %%
folds = make_folds(thin, 4, group_by="group", random_state=0)
pd.DataFrame({f"fold {k}": pd.Series([names[c] for c in y[test]]).value_counts()
              for k, (_, test) in enumerate(folds)}).fillna(0).astype(int)

# %% [markdown]
# Why 4 folds and not the usual 5 or 10? Cultivated land has only 4 polygons: with 5 folds one fold could not test
# it and one model would never see it. labkit refuses, and says so:

# %%
try:
    make_folds(thin, 5, group_by="group")
except ConfigError as error:
    print(error)

# %% [markdown]
# `cross_validate` runs the whole loop: for each fold, a fresh model is trained on the other folds and assessed on
# this one. It returns the scores of each fold, their mean and standard deviation, and the confusion matrix summed
# over the folds.

# %%
rf_cv = cross_validate(thin, "rf", folds=4, group_by="group", random_state=0)
print(rf_cv.summary())
rf_cv.scores.round(3)

# %% [markdown]
# The scores change from fold to fold: they depend on which polygons are tested. That is why a score should come
# with its standard deviation. And without `group_by`, the folds are made of pixels, so most test pixels have
# neighbours from their own polygon in training: the leak of notebook 04, measured again.

# %%
leaky = cross_validate(thin, "rf", folds=4, random_state=0)  # no group_by: folds of pixels
pd.DataFrame({"folds of polygons": rf_cv.mean, "folds of pixels (leaky)": leaky.mean}).round(3)

# %% [markdown]
#
# ### Exercise 1: a grouped cross-validation of your own
#
# The *k*-nearest-neighbours classifier labels a pixel with the majority class of the *k* training pixels whose
# series are closest. It is not in labkit's list of models, but scikit-learn has it, and a model **config** names
# it: `knn`, below, uses the raw NDVI series (`"stats": []`: no statistics appended) and 5 neighbours.
#
# Compute `knn_macro_f1`: the mean macro F1 of `knn` over a cross-validation of `thin` in 4 folds grouped by
# polygon, with `random_state=0`.
#
# *Hint*: `cross_validate` takes a config wherever it takes a model name; its result has a `.mean` dict.

# %%
knn = {"model": "sklearn.neighbors.KNeighborsClassifier", "params": {"n_neighbors": 5}, "stats": []}

# %% tags=["solution"]
# knn_macro_f1: a float, the mean over the 4 grouped folds of the macro F1 of knn on thin.
knn_macro_f1 = cross_validate(thin, knn, folds=4, group_by="group", random_state=0).mean["macro_f1"]

# %%
knn_macro_f1 = check("05.grouped_cv_macro_f1", knn_macro_f1, samples=thin, model=knn, folds=4, random_state=0)
print(f"k-nearest neighbours: mean macro F1 {knn_macro_f1:.3f}")

# %% [markdown]
# ## 4. Comparing models
#
# To compare models, cross-validate them **on the same folds** (the same `random_state`), so that each fold poses
# the same question to every model.

# %%
results = {name: cross_validate(thin, name, folds=4, group_by="group", random_state=0)
           for name in ("rf", "svm", "lgbm")}
pd.DataFrame({name: {label: f"{result.mean[key]:.3f} ± {result.std[key]:.3f}"
                     for key, label in (("overall_accuracy", "overall accuracy"), ("kappa", "kappa"),
                                        ("macro_f1", "macro F1"))}
              for name, result in results.items()}).T

# %% [markdown]
# On NDVI alone, tested on polygons they never saw, the three models reach about the same overall accuracy, near
# 0.6. Macro F1, the mean of the per-class F1 scores, weighs every class alike, so it is much lower: cultivated
# land (4 small polygons) is never recognised, and artificial surfaces seldom (the confusion matrix below shows
# it). Note also that the single split of section 2 did not rank the models in the same order. Plotting each fold
# shows more than the means:

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for k in range(4):
    ax.plot(list(results), [results[name].folds[k].macro_f1 for name in results], marker="o", label=f"fold {k}")
ax.set_ylabel("macro F1")
ax.set_title("The same folds, three models")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# The differences between the models are smaller than the differences between folds, and the models do not even
# agree on which fold is the hardest: with 4 folds of a 1 km² patch, none of the three clearly wins, and the
# ranking of a single split means nothing. A fair verdict needs many more polygons, over a larger area (labkit's
# `bench/classical_results.py` runs this comparison on two public sample sets from much larger areas).
#
# ## 5. Tuning hyperparameters
#
# Each model has settings chosen before training (*hyperparameters*): for a random forest, how many features each
# split considers (`max_features`) and how few samples a leaf may hold (`min_samples_leaf`). A **grid search**
# cross-validates every combination on the same grouped folds and keeps the best. We use 50 trees to go faster.

# %%
search = search_hyperparameters(
    {"model": "rf", "params": {"n_estimators": 50}}, thin,
    {"max_features": ["sqrt", 0.5], "min_samples_leaf": [1, 10]},
    folds=4, group_by="group", scoring="f1_macro", random_state=0,
)
print("best:", search.best_params, f"mean macro F1 {search.best_score:.3f}")
search.results.round(3)

# %% [markdown]
# ### Question 1 (decide): which score do you report?
#
# You will map with the tuned forest, and must say how accurate it is. Which score do you report? Set
# `reported_score` to the letter.
#
# - a) `search.best_score`: the cross-validated score of the best settings;
# - b) a score on folds the search never saw: a nested cross-validation, or a separate test set;
# - c) the score of `search.best_estimator` on the samples it was refitted on.

# %% tags=["solution"]
# reported_score: the letter of your choice.
reported_score = "b"

# %%
reported_score = check("05.tuned_score", reported_score)

# %% [markdown]
# Read the `std_score` column before the `rank`: here the best candidates are within one standard deviation of
# each other. And the best score is **optimistic**: it was chosen as the best of four on these very folds. An unbiased
# estimate of the tuned model would need folds it did not see during the search (*nested* cross-validation, or a
# separate test set). `search.best_estimator` is the best model, refitted on all the samples.
#
# ## 6. The confusion matrix
#
# Scores summarise; the **confusion matrix** shows which classes are mistaken for which. Rows are the reference
# classes, columns the predicted ones; here it is summed over the 4 folds of the random forest, so each sample is
# counted once, predicted by the model that did not see its polygon.
#
# ### Question 2 (predict): what is grassland mistaken for?
#
# **Before running the next cell**: when the forest gets a grassland pixel wrong, which class does it give it most
# often? Set `grassland_mistaken_for` to the letter: a) forest; b) shrubland; c) cultivated land; d) artificial
# surface.

# %% tags=["solution"]
# grassland_mistaken_for: the letter of your prediction.
grassland_mistaken_for = "b"

# %%
plot_confusion_matrix(results["rf"].pooled)
plt.show()
pooled = results["rf"].pooled
grassland_mistaken_for = check("05.confused_with_grassland", grassland_mistaken_for, confusion=pooled.confusion,
                               labels=pooled.labels, class_names=names)

# %% [markdown]
# Read it row by row. Cultivated land is taken for grassland; grassland and shrubland are confused both ways, and
# shrubland with forest too; artificial surfaces mostly look like grassland (at 10 m, a built-up pixel mixes roofs
# and roads with gardens and verges). Some of these classes differ by their structure or their use more than by their NDVI over time.

# %% [markdown]
# ### Exercise 2: overall accuracy and kappa by hand
#
# From the summed confusion matrix `confusion` (a numpy array, rows: reference, columns: predicted), compute
# `scores`, a dict `{"overall_accuracy": ..., "kappa": ...}`:
#
# - the **overall accuracy** $p_o$ is the share of samples on the diagonal;
# - **Cohen's kappa** compares it with the agreement $p_e$ expected by chance, if the predictions were drawn at
#   random with the same class totals: $p_e = \sum_i \frac{r_i\, c_i}{n^2}$, with $r_i$ and $c_i$ the totals of row
#   and column $i$ and $n$ the number of samples; then $\kappa = \frac{p_o - p_e}{1 - p_e}$.
#
# *Hint*: `np.trace`, and `.sum(axis=1)` / `.sum(axis=0)` for the row and column totals.

# %%
confusion = results["rf"].confusion

# %% tags=["solution"]
# scores: a dict with the overall accuracy and Cohen's kappa of the confusion matrix `confusion`.
n = confusion.sum()
p_observed = np.trace(confusion) / n
p_chance = (confusion.sum(axis=1) * confusion.sum(axis=0)).sum() / n**2
scores = {"overall_accuracy": p_observed, "kappa": (p_observed - p_chance) / (1 - p_chance)}

# %%
scores = check("05.accuracy_by_hand", scores, confusion=confusion)
print(f"overall accuracy {scores['overall_accuracy']:.3f}, kappa {scores['kappa']:.3f}")

# %% [markdown]
# Kappa is lower than the overall accuracy: it discounts the agreement that predictions drawn at random, with the
# same class totals, would reach.
#
# ## 7. Which dates matter?
#
# A random forest measures how much each feature helps its splits (*impurity importance*). Our first 90 features
# are the NDVI of the 90 dates, the last 6 the statistics: we train a forest on all the samples and plot the
# importance of each date, over the mean NDVI curve of each class.

# %%
forest = make_model("rf", random_state=0).fit(X, y)
importances = forest.named_steps["model"].feature_importances_

fig, ax = plt.subplots(figsize=(10, 3.5))
ax.bar(dates, importances[: len(dates)], width=8, color="0.6", label="importance of the date")
ax.set_ylabel("importance")
curves = ax.twinx()
for code in np.unique(y):
    curves.plot(dates, X[y == code, :, 0].mean(axis=0), label=names[code])
curves.set_ylabel("mean NDVI")
curves.legend(loc="upper left", bbox_to_anchor=(1.08, 1), fontsize=8)
ax.set_title("Importance of each date for the forest, and the classes' mean NDVI")
plt.show()
statistics = forest.named_steps["features"].stats
pd.Series(importances[len(dates):], index=list(statistics), name="importance").round(3)

# %% [markdown]
# ### Exercise 3: the date that matters most
#
# Compute `top_date`: the date (a `datetime64` value from `dates`) whose NDVI has the largest importance.
#
# *Hint*: only the first `len(dates)` importances belong to dates; `np.argmax` gives the position of the largest.

# %% tags=["solution"]
# top_date: the date whose NDVI the forest relies on most.
top_date = dates.values[np.argmax(importances[: len(dates)])]

# %%
top_date = check("05.most_important_date", top_date, importances=importances, dates=dates.values)
print(f"The forest relies most on the NDVI of {pd.Timestamp(top_date):%d %B %Y}.")

# %% [markdown]
# Read the peaks as **seasons** more than as single dates: neighbouring dates of a gap-filled series are strongly
# correlated, so the forest could use one or the other, and impurity importance shares the credit among them. The
# important season here is **winter** (December, January): the forest keeps an NDVI of about 0.3 while grassland
# and fields, bare or under snow, fall close to 0. In summer every vegetated class is green, and NDVI alone tells
# them apart poorly. (The very last date is partly extrapolated: after a pixel's last clear observation, its value
# is held, see `flags`.)
#
# ## 8. A first map
#
# A classifier is trained to make a map. `predict_map` classifies every pixel of a cube with a fitted model (it
# checks first that the cube has the bands and dates the model was trained on), and `plot_class_map` draws the
# result. Here: the forest of section 7 on the whole gap-filled patch, beside the reference polygons.

# %%
products = predict_map(filled, forest, probabilities=False)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
plot_class_map(products["class_map"], names, ax=axes[0])
axes[0].get_legend().remove()
axes[0].set_title("The forest's map")
plot_class_map(data.reference, names, ax=axes[1])
axes[1].set_title("The reference polygons (white: no label)")
plt.show()

# %% [markdown]
# The same map on a web map, over aerial imagery (base maps and layers at the top right; untick the class map to
# see the reference polygons beneath it):

# %%
labelled = data.polygons[data.polygons["class_id"] > 0]
add_class_map(reference_map(labelled, title="The forest's map over the reference polygons"), products["class_map"],
              names)

# %% [markdown]
# ### Question 3 (interpret): where is the map wrong?
#
# Compare the two maps. Which of these errors covers the most pixels? Set `map_error` to the letter: a) forest
# mapped as shrubland; b) forest mapped as grassland; c) grassland mapped as forest; d) artificial surface mapped as
# grassland.

# %% tags=["solution"]
# map_error: the letter of your answer.
map_error = "a"

# %%
map_error = check("05.largest_map_error", map_error, class_map=products["class_map"].values,
                  reference=data.reference.values, class_names=names)

# %% [markdown]
# The map is only a first look. Notebook 07 gives the full treatment: the probabilities of each class and the
# uncertainty of each pixel, post-processing, maps of cubes larger than memory, and Cloud-Optimized GeoTIFFs;
# notebook 08 estimates the accuracy and the class areas of a map from a proper sample.

# %%
progress()  # this notebook's exercises: done, reference in use, or to do

# %% [markdown]
# ## Key points
#
# - labkit's classical models (`make_model("rf" | "svm" | "lgbm")`, or any scikit-learn classifier by its
#   import path with `make_model`) share scikit-learn's interface: `fit`, `predict`, `predict_proba`. A first step
#   turns each series into features: the values of every date plus temporal statistics.
# - **Cross-validate by polygon** (`cross_validate(samples, model, folds, group_by="group")`): every polygon is
#   tested once by a model that never saw it. Report the **mean ± standard deviation** over the folds; the number
#   of folds is limited by the class with the fewest polygons.
# - Compare models **on the same folds**; a difference smaller than the spread between folds is no evidence.
# - `search_hyperparameters` runs a grid search on grouped folds; the best score it reports is optimistic.
# - The **confusion matrix** shows which classes are confused; overall accuracy is its diagonal share, and kappa
#   discounts the agreement expected by chance.
# - A forest's feature importances point to the **seasons** that separate the classes.
#
# ## What's next
#
# [06 Deep learning](06_deep_learning.ipynb) trains networks on the raw series, behind the same interface and
# the same `labkit cv`.
