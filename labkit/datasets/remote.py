"""Public datasets fetched from their origin (or a local mirror of it), checked against pinned checksums.

Every file lives at ``{base_url}/OWNER/REPO/COMMIT/PATH``. The base URL is, in this order: the ``base_url``
argument, the ``LABKIT_DATA_URL`` environment variable, or ``https://raw.githubusercontent.com``. A local folder laid
out the same way (a *mirror*, such as ``../shared/data/mirror/github``) works unchanged: give its path (or a
``file://`` URL) as the base URL. Files are cached in ``LABKIT_CACHE`` (default: pooch's user cache folder) and
verified with the SHA-256 sums in ``registry.txt``.

Example
-------
>>> sorted(DATASETS)[:4]
['bigearthnet-s2', 'bigearthnet-s2-example', 'dl4sits-victoria', 'dsen2-crops']
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

import pooch

from ..errors import DatasetError

ORIGIN_URL = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class RemoteDataset:
    """A public dataset: where it comes from and which of its files labkit uses."""

    repo: str
    """``OWNER/REPO@COMMIT``."""
    paths: tuple[str, ...]
    """Files or folders inside the repository."""
    licence: str
    description: str

    @property
    def root(self) -> str:
        """``OWNER/REPO/COMMIT``, the prefix of every file of the dataset."""
        return self.repo.replace("@", "/")


DATASETS: dict[str, RemoteDataset] = {
    "eolearn-slovenia": RemoteDataset(
        "sentinel-hub/eo-learn@303e75855880531d519264f847e7c6b2fb97104d",
        ("example_data/TestEOPatch", "LICENSE"),
        "MIT",
        "Sentinel-2 NDVI, 68 dates 2015-07-11..2017-12-22, 101 x 100 px at 10 m (EPSG:32633), cloud mask and "
        "88 land-cover polygons (eo-learn's TestEOPatch).",
    ),
    "s2-bolzano": RemoteDataset(
        "Open-EO/openeo-processes-dask@83bcd03b5909a0a56c9968861ac87946b680401e",
        ("tests/data/stac/S2_L2A_sample.zarr", "tests/data/stac/s2_l2a_test_item.json", "LICENSE"),
        "Apache-2.0",
        "Sentinel-2 L2A cube (zarr v2), 12 dates in June 2022, 705 x 935 px at 10 m, B02 B03 B04 B08 and SCL, "
        "near Bolzano (EPSG:32632).",
    ),
    "dl4sits-victoria": RemoteDataset(
        "charlotte-pel/igarss2019-dl4sits@836d7fbd4d75eae602f6595c666b56b3bbc9a5ae",
        ("train_dataset.csv", "test_dataset.csv", "map/class_map.txt", "LICENSE"),
        "GPL-3.0",
        "Labelled Sentinel-2 pixel series, Victoria (Australia): 400 + 400 samples, 8 classes, 73 dates x 10 bands.",
    ),
    "tempcnn-formosat": RemoteDataset(
        "charlotte-pel/temporalCNN@d081da2f6eef19f36b5517549eab3bbbedd18598",
        ("example", "map/class_map.txt", "LICENSE"),
        "GPL-3.0",
        "Labelled Formosat-2 series, 260 + 260 samples, 13 classes, 149 dates x NIR, R, G; a 16 x 16 px test image.",
    ),
    "insitu-rondonia": RemoteDataset(
        "e-sensing/in-situ@772e0dda670d7bb5afcf68473b124287387be87a",
        ("data/samples_S2_T20LKP_2018_2019.rda",),
        "GPL-2.0",
        "481 Sentinel-2 samples (Rondonia, Brazil), 3 classes, 36 ten-day composites, 7 bands + 4 indices (sits).",
    ),
    "sits-sinop": RemoteDataset(
        "e-sensing/sits@60e37332f346a1d0f0a1b9b16bd36b473788698f",
        ("inst/extdata/raster/mod13q1", "inst/extdata/samples/samples_sinop_crop.csv", "data", "DESCRIPTION"),
        "GPL-2.0",
        "MODIS MOD13Q1 NDVI cube (12 dates, 255 x 147 px, sinusoidal) with labelled points and sample tables (sits).",
    ),
    "ucr-crop-train": RemoteDataset(
        "ChangWeiTan/MultiRocket@3ccaa4f8ed11769b904af885e17018c39c89a2ac",
        ("data/sample/Crop/Crop_TRAIN.tsv",),
        "UCR archive (repository GPL-3.0)",
        "Training split of the UCR Crop set: 7 200 Formosat-2 NDVI series x 46 dates, 24 classes.",
    ),
    "dsen2-crops": RemoteDataset(
        "lanha/DSen2@38d7209d38a298d5d4c4856e02d5dcefa94a192a",
        ("data/S2A_MSIL1C_20170527_T33UUB.mat", "data/S2B_MSIL1C_20171022_T49JGM.mat", "data/LICENSE.md", "LICENSE"),
        "CC-BY-4.0 (data, Copernicus/ESA); code GPL-3.0",
        "Two Sentinel-2 L1C crops (6 x 6 km, Germany and Western Australia), every band at its native resolution, "
        "MATLAB v7.3 (HDF5): DSen2's super-resolution examples (Lanaras et al. 2018).",
    ),
    "bigearthnet-s2": RemoteDataset(
        "kai-tub/bigearthnet_common@ab529a045ab93438d8a34e8ff693fced0485ce9d",
        ("nbs/datasets/tiny", "LICENSE"),
        "Apache-2.0 (repository); BigEarthNet's terms for the imagery",
        "11 BigEarthNet Sentinel-2 L2A patches (1.2 x 1.2 km, 2017-2018, five countries): one uint16 GeoTIFF per band "
        "at its native resolution, and a labels JSON.",
    ),
    "bigearthnet-s2-example": RemoteDataset(
        "kai-tub/bigearthnet_common@2010779b6efc97eaf0f189d2cbdf8a3af75b71ba",
        ("src/bigearthnet_common/BigEarthNet-S2-Example.tar.bz2", "LICENSE"),
        "Apache-2.0 (repository); BigEarthNet's terms for the imagery",
        "6 BigEarthNet Sentinel-2 L2A patches in one tar.bz2 (3 of them also in bigearthnet-s2).",
    ),
}


@cache
def registry() -> dict[str, str]:
    """``{"OWNER/REPO/COMMIT/PATH": "sha256:..."}`` for every file labkit may fetch.

    Example
    -------
    >>> any(name.endswith("LULC.gpkg") for name in registry())
    True
    """
    text = resources.files(__package__).joinpath("registry.txt").read_text()
    entries = (line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {name: digest for name, digest in entries}


def data_url(base_url: str | None = None) -> str:
    """The base URL in force: ``base_url``, else ``$LABKIT_DATA_URL``, else the origin.

    Example
    -------
    >>> data_url("/data/mirror/github/")
    '/data/mirror/github'
    """
    return (base_url or os.environ.get("LABKIT_DATA_URL") or ORIGIN_URL).rstrip("/")


def _local_folder(base: str) -> Path | None:
    parsed = urlparse(base)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme in ("", ) or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(base)
    return None


def _copy_from(folder: Path):
    """A pooch downloader that copies from a local mirror instead of downloading."""

    def copy(url: str, output_file, pooch_obj) -> None:
        source = folder / url.split("::", 1)[1]
        if not source.is_file():
            raise DatasetError(f"{source} is missing from the local mirror {folder}.")
        shutil.copyfile(source, output_file)

    return copy


def fetch(
    dataset: str,
    paths: tuple[str, ...] | None = None,
    *,
    base_url: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Path:
    """Fetch (or find in the cache) the files of a public dataset; return the local folder that holds them.

    Parameters
    ----------
    dataset : str
        A key of :data:`DATASETS` (``"eolearn-slovenia"``, ``"dl4sits-victoria"``...).
    paths : tuple of str, optional
        Files or folders inside the dataset's repository; default: all of the dataset's.
    base_url : str, optional
        Where the files are: an URL or a local mirror folder (see the module docstring).
    cache_dir : path, optional
        Default ``$LABKIT_CACHE`` or pooch's cache folder for ``labkit``.
    progress : bool
        Show a progress bar per file while downloading.

    Returns
    -------
    pathlib.Path
        The folder that mirrors ``OWNER/REPO/COMMIT``: ``fetch(...) / "LICENSE"`` is the dataset's LICENSE file.

    Raises
    ------
    labkit.errors.DatasetError
        Unknown dataset or path, a file missing at the source, or a checksum that does not match.

    Example
    -------
    >>> root = fetch("eolearn-slovenia", ("LICENSE",))  # doctest: +SKIP
    >>> (root / "LICENSE").read_text()[:3]  # doctest: +SKIP
    'MIT'
    """
    if dataset not in DATASETS:
        raise DatasetError(f"Unknown dataset {dataset!r}; known: {sorted(DATASETS)}.")
    spec = DATASETS[dataset]
    base = data_url(base_url)
    cache_root = Path(cache_dir or os.environ.get("LABKIT_CACHE") or pooch.os_cache("labkit"))
    wanted = paths or spec.paths
    files = {}
    for path in wanted:
        prefix = f"{spec.root}/{path.strip('/')}"
        found = {n: h for n, h in registry().items() if n == prefix or n.startswith(prefix + "/")}
        if not found:
            raise DatasetError(f"{path!r} is not a registered file or folder of dataset {dataset!r}.")
        files.update(found)
    folder = _local_folder(base)
    for name, digest in sorted(files.items()):
        target = cache_root / name
        url = f"{base}/{name}" if folder is None else f"mirror::{name}"
        try:
            pooch.retrieve(
                url,
                known_hash=digest,
                fname=target.name,
                path=target.parent,
                downloader=None if folder is None else _copy_from(folder),
                progressbar=progress,
            )
        except DatasetError:
            raise
        except ValueError as error:  # pooch's checksum mismatch
            raise DatasetError(f"{name}: {error}") from error
        except Exception as error:  # network and HTTP errors
            raise DatasetError(
                f"Could not fetch {name} from {base}: {error}. Set LABKIT_DATA_URL to a reachable mirror."
            ) from error
    return cache_root / spec.root
