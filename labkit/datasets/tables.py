"""Public labelled sample sets, fetched (see :func:`labkit.datasets.fetch`) and read as labkit sample sets.

* :func:`load_victoria` — dl4sits (Pelletier et al., IGARSS 2019): Sentinel-2 pixel series in Victoria, Australia,
  400 + 400 samples, 8 classes, 73 dates x 10 bands;
* :func:`load_formosat` — TempCNN (Pelletier et al., Remote Sensing 2019): Formosat-2 series, 260 + 260 samples,
  13 classes, 149 dates x NIR, R, G;
* :func:`load_rondonia` — sits in-situ samples (Rondonia, Brazil): 481 Sentinel-2 samples, 3 classes, 36 dates x
  7 bands and 4 indices.

The files come from their origin or a local mirror (``mirror``, or ``$LABKIT_DATA_MIRROR``) and are checked against
pinned checksums; they are GPL-licensed (see :data:`labkit.datasets.DATASETS`). :func:`read_victoria`,
:func:`read_formosat` and :func:`read_rondonia` read the same from files already fetched (:func:`fetch`'s folder).
The two CSV sets hold no dates: their ``time`` is the position ``0..n-1``. Comes before :mod:`labkit.samples`
(splits) and :mod:`labkit.models`.

Example
-------
>>> victoria = load_victoria("train")  # doctest: +SKIP
>>> dict(victoria.sizes)  # doctest: +SKIP
{'sample': 400, 'time': 73, 'band': 10, 'class': 8}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..bands import SENTINEL2_BANDS
from ..errors import ConfigError
from ..sample_tables import read_csv_wide, read_sits_rda
from .remote import fetch

SPLITS = ("train", "test", "all")
VICTORIA_BANDS = SENTINEL2_BANDS
FORMOSAT_BANDS = ("NIR", "R", "G")
RONDONIA_BANDS = ("B02", "B03", "B07", "B08", "B8A", "B11", "B12", "NDVI", "EVI", "NDMI", "SAVI")


def read_class_map(path: str | os.PathLike) -> pd.DataFrame:
    """The ``map/class_map.txt`` of the dl4sits and TempCNN repositories: columns ``value, class, colour``.

    The colour may itself hold commas (``rgb(145, 130, 105)``), unquoted: each line is split on its first two.

    Example
    -------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "class_map.txt"
    >>> _ = path.write_text("value,class,colour\\n1,Bare Ground,rgb(145, 130, 105)\\n2,barley,#ffffdc\\n")
    >>> read_class_map(path).values.tolist()
    [[1, 'Bare Ground', 'rgb(145, 130, 105)'], [2, 'barley', '#ffffdc']]
    """
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = [f.strip() for f in line.split(",", 2)]
        if len(fields) < 2 or not fields[0].lstrip("-").isdigit():
            raise ConfigError(f"{path}, line {number}: expected 'value,class,colour'; got {line!r}.")
        rows.append((int(fields[0]), fields[1], fields[2] if len(fields) > 2 else ""))
    return pd.DataFrame(rows, columns=["value", "class", "colour"])


def _names_by_position(class_map: pd.DataFrame, codes: np.ndarray) -> tuple[dict[int, str], np.ndarray]:
    """The files' labels are ``0..n-1``, the rows of the class map in order (the n-th row names label n)."""
    n = len(class_map)
    if codes.min() < 0 or codes.max() >= n:
        raise ConfigError(f"labels {np.unique(codes).tolist()} do not all index the {n} rows of the class map.")
    names = {k: str(name).strip() for k, name in enumerate(class_map["class"])}
    return names, class_map["value"].to_numpy(dtype=np.int64)


def _with_map_values(samples: xr.Dataset, values: np.ndarray) -> xr.Dataset:
    samples["map_value"] = ("class", values[samples["class"].values])
    samples["map_value"].attrs["description"] = "the class's value in the repository's maps (map/class_map.txt)"
    return samples


@dataclass(frozen=True)
class _CsvPair:
    """A dataset of two CSV files (train, test) and a class map, and how to read them."""

    who: str
    dataset: str
    files: dict[str, str]
    layout: dict


_VICTORIA = _CsvPair(
    "victoria", "dl4sits-victoria", {"train": "train_dataset.csv", "test": "test_dataset.csv"},
    {"label_column": "lc_id", "group_column": "objectid", "bands": VICTORIA_BANDS, "n_dates": 73,
     "order": "date-major", "scale": 1e-4},
)
_FORMOSAT = _CsvPair(
    "formosat", "tempcnn-formosat", {"train": "example/train_dataset.csv", "test": "example/test_dataset.csv"},
    {"label_column": 0, "group_column": 1, "bands": FORMOSAT_BANDS, "n_dates": 149, "order": "date-major",
     "scale": 1e-3, "header": False},
)
RONDONIA_FILE = "data/samples_S2_T20LKP_2018_2019.rda"


def _check_split(who: str, split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"{who}: split must be one of {SPLITS}; got {split!r}.")


def _wanted(pair: _CsvPair, split: str, who: str) -> list[str]:
    _check_split(who, split)
    return list(pair.files.values()) if split == "all" else [pair.files[split]]


def _read_csv_pair(pair: _CsvPair, root, split: str, who: str) -> xr.Dataset:
    wanted = _wanted(pair, split, who)
    root = Path(root)
    class_map = read_class_map(root / "map/class_map.txt")
    parts = []
    for name in ("train", "test") if split == "all" else (split,):
        part = read_csv_wide(root / pair.files[name], **pair.layout)
        names, values = _names_by_position(class_map, part["label"].values)
        part = part.drop_vars(["class_name", "class"], errors="ignore")
        if split == "all":
            part["subset"] = ("sample", np.full(part.sizes["sample"], name))
        parts.append((part, names, values))
    samples = xr.concat([p for p, _, _ in parts], dim="sample") if len(parts) > 1 else parts[0][0]
    samples = samples.assign_coords(sample=np.arange(samples.sizes["sample"]))
    names, values = parts[0][1], parts[0][2]
    present = sorted(set(np.unique(samples["label"].values).tolist()))
    samples["class_name"] = xr.DataArray([names[c] for c in present], dims="class", coords={"class": present})
    samples = _with_map_values(samples, values)
    samples.attrs = {"source": f"{pair.dataset}: {', '.join(wanted)}", "dataset": pair.dataset, "split": split}
    return samples


def _load_csv_pair(pair: _CsvPair, split: str, mirror, cache_dir) -> xr.Dataset:
    who = f"load_{pair.who}"
    root = fetch(pair.dataset, (*_wanted(pair, split, who), "map/class_map.txt"), mirror=mirror, cache_dir=cache_dir)
    return _read_csv_pair(pair, root, split, who)


def read_victoria(root: str | os.PathLike, split: str = "train") -> xr.Dataset:
    """:func:`load_victoria` from the files already fetched: ``root`` is ``fetch("dl4sits-victoria")``.

    Example
    -------
    >>> from labkit.datasets import fetch
    >>> read_victoria(fetch("dl4sits-victoria"), "test").sizes["sample"]  # doctest: +SKIP
    400
    """
    return _read_csv_pair(_VICTORIA, root, split, "read_victoria")


def read_formosat(root: str | os.PathLike, split: str = "train") -> xr.Dataset:
    """:func:`load_formosat` from the files already fetched: ``root`` is ``fetch("tempcnn-formosat")``.

    Example
    -------
    >>> from labkit.datasets import fetch
    >>> read_formosat(fetch("tempcnn-formosat"), "test").sizes["sample"]  # doctest: +SKIP
    260
    """
    return _read_csv_pair(_FORMOSAT, root, split, "read_formosat")


def read_rondonia(root: str | os.PathLike) -> xr.Dataset:
    """:func:`load_rondonia` from the file already fetched: ``root`` is ``fetch("insitu-rondonia")``.

    Example
    -------
    >>> from labkit.datasets import fetch
    >>> read_rondonia(fetch("insitu-rondonia")).sizes["sample"]  # doctest: +SKIP
    481
    """
    samples = read_sits_rda(Path(root) / RONDONIA_FILE, bands=RONDONIA_BANDS)
    samples.attrs.update({"source": f"insitu-rondonia: {RONDONIA_FILE}", "dataset": "insitu-rondonia"})
    return samples


def load_victoria(
    split: str = "train", *, mirror: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The dl4sits Sentinel-2 samples of Victoria (Australia), as a sample set.

    400 training and 400 test pixels, 8 classes of 50 (bare ground, canola, cereals, legumes, forest, grassland,
    water, urban), 73 dates x 10 bands (B02 B03 B04 B05 B06 B07 B08 B8A B11 B12), surface reflectance stored as
    integers x 10 000 and returned in 0–1. The files hold no dates nor coordinates: ``time`` is ``0..72``.

    ``group`` is the file's ``objectid`` (the polygon a pixel was taken from). **38 objectids occur in both files**:
    the published train/test split leaks. ``split="all"`` merges both (800 samples, with a ``subset`` variable
    saying where each came from) so that you can split by polygon yourself (:func:`labkit.samples.split_by_group`).

    Labels are the files' codes ``0..7``; the n-th row of the repository's ``map/class_map.txt`` names label n (its
    value, used by the published maps, is in ``map_value``; the repository does not state the correspondence, the
    spectra agree with it: label 4, forest, is the darkest in the visible bands, label 6, water, in the infrared).

    Parameters
    ----------
    split : {"train", "test", "all"}, default "train"
    mirror, cache_dir : where to fetch from and cache (see :func:`labkit.datasets.fetch`).

    Example
    -------
    >>> victoria = load_victoria("all")  # doctest: +SKIP
    >>> victoria.sizes["sample"], int(np.unique(victoria.group).size)  # doctest: +SKIP
    (800, 182)
    """
    return _load_csv_pair(_VICTORIA, split, mirror, cache_dir)


def load_formosat(
    split: str = "train", *, mirror: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The TempCNN Formosat-2 samples (south-west France), as a sample set.

    260 training and 260 test pixels, 13 classes of 20 (wheat, barley, rapeseed, corn, soy, sunflower, sorghum, pea,
    grassland, deciduous, conifer, water, urban), 149 dates x 3 bands (NIR, R, G; the README's layout
    ``date1.NIR, date1.R, date1.G, date2.NIR...``). ``group`` is the polygon id; train and test share no polygon.

    Values are divided by 1000. The README gives no unit; the values (up to about 540, with gap-filled decimals)
    fit surface reflectance x 1000, and once divided, forest has red ≈ 0.03 and NIR ≈ 0.2. Labels are the files'
    codes ``0..12``, named by the rows of ``map/class_map.txt`` in order (``map_value`` = label + 1).

    Parameters
    ----------
    split : {"train", "test", "all"}, default "train"
    mirror, cache_dir : where to fetch from and cache (see :func:`labkit.datasets.fetch`).

    Example
    -------
    >>> dict(load_formosat().sizes)  # doctest: +SKIP
    {'sample': 260, 'time': 149, 'band': 3, 'class': 13}
    """
    return _load_csv_pair(_FORMOSAT, split, mirror, cache_dir)


def load_rondonia(
    *, mirror: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The sits in-situ Sentinel-2 samples of tile T20LKP (Rondonia, Brazil), as a sample set.

    481 points with their longitude and latitude (``x``, ``y``, EPSG:4326), 3 classes (NonForest 295, Forest 144,
    Deforestation 42), labelled by name as in sits (their codes for models and scores,
    :func:`labkit.datamodel.label_codes`, are 1, 2, 3 in alphabetical order: Deforestation, Forest, NonForest), 36
    ten-day composites from 2018-08-12 to 2019-07-28 (real dates; ``doy`` their days of year), bands B02 B03 B07
    B08 B8A B11 B12 and indices NDVI EVI NDMI SAVI, reflectance 0–1. Every sample is its own ``group`` (sits gives
    no polygon ids): a spatially independent validation would need spatial blocks (see
    :func:`labkit.samples.assign_regions`).

    Parameters
    ----------
    mirror, cache_dir : where to fetch from and cache (see :func:`labkit.datasets.fetch`).

    Example
    -------
    >>> from labkit.datamodel import class_names
    >>> rondonia = load_rondonia()  # doctest: +SKIP
    >>> class_names(rondonia)  # doctest: +SKIP
    {1: 'Deforestation', 2: 'Forest', 3: 'NonForest'}
    """
    return read_rondonia(fetch("insitu-rondonia", (RONDONIA_FILE,), mirror=mirror, cache_dir=cache_dir))
