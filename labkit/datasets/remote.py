"""Public datasets fetched from their origin (or a local mirror of it), checked against pinned checksums.

Every file of a dataset is the raw file ``PATH`` of a public GitHub repository at a pinned commit, that is
``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH``; ``registry.txt`` (pooch's registry format) holds its
SHA-256 and ``sizes.txt`` its size in bytes (both written by ``data-fetch/build_registry.py``).

**Mirror.** Files come from the origin unless a *mirror* is given: the ``mirror`` argument (``--mirror`` on the
command line), else the ``LABKIT_DATA_MIRROR`` environment variable. A mirror is a folder laid out like
raw.githubusercontent.com (``MIRROR/OWNER/REPO/COMMIT/PATH``, such as the project's ``../shared/data/mirror/github``;
its parent, a folder holding ``github/``, works too), a ``file://`` URL of one, or the URL of a web server laid out
the same way. Files are copied from a mirror folder, downloaded from an URL.

**Cache.** Files land in ``cache_dir``, else ``$LABKIT_CACHE``, else pooch's user cache folder for ``labkit``
(:func:`cache_folder`), under the same ``OWNER/REPO/COMMIT/PATH``; a cached file whose checksum still matches is not
fetched again. A file whose checksum does not match (corrupted, truncated, changed at the source) is never used nor
kept: :class:`~labkit.errors.DatasetError` names it, with both checksums.

Example
-------
>>> sorted(DATASETS)[:4]
['bigearthnet-s2', 'bigearthnet-s2-example', 'dl4sits-victoria', 'dsen2-crops']
>>> DATASETS["s2-bolzano"].licence, DATASETS["s2-bolzano"].kind
('Apache-2.0', 'cube')
"""

from __future__ import annotations

import contextlib
import difflib
import logging
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
"""Where every dataset file comes from when no mirror is given."""

MIRROR_VARIABLE = "LABKIT_DATA_MIRROR"
"""The environment variable naming a mirror (a folder or an URL) when no ``mirror`` argument is given."""

CACHE_VARIABLE = "LABKIT_CACHE"
"""The environment variable naming the cache folder when no ``cache_dir`` argument is given."""

KINDS = ("cube", "samples", "reference", "files")
"""What a dataset gives once converted (:func:`labkit.datasets.fetch_dataset`): a cube (Zarr), sample sets (NetCDF),
reference layers (GeoPackage), or its raw files."""


@dataclass(frozen=True)
class RemoteDataset:
    """A public dataset: where it comes from, which of its files labkit uses, its licence and what it holds."""

    repo: str
    """``OWNER/REPO@COMMIT``."""
    paths: tuple[str, ...]
    """Files or folders inside the repository."""
    licence: str
    """The licence's short name (SPDX identifier where there is one)."""
    description: str
    """One line: what the data is."""
    kinds: tuple[str, ...]
    """What :func:`labkit.datasets.fetch_dataset` makes of it (:data:`KINDS`)."""
    licence_files: tuple[str, ...] = ()
    """Files of ``paths`` that hold licence texts."""
    licence_note: str = ""
    """What else users must know about the terms (other terms for the imagery...)."""

    @property
    def root(self) -> str:
        """``OWNER/REPO/COMMIT``, the prefix of every file of the dataset."""
        return self.repo.replace("@", "/")

    @property
    def origin(self) -> str:
        """The repository at its pinned commit, on GitHub."""
        owner_repo, commit = self.repo.split("@")
        return f"https://github.com/{owner_repo}/tree/{commit}"

    @property
    def kind(self) -> str:
        """``kinds`` as one word: ``"cube"``, ``"cube+reference"``...

        Example
        -------
        >>> DATASETS["eolearn-slovenia"].kind
        'cube+reference'
        """
        return "+".join(self.kinds)


_OPENEO = "Open-EO/openeo-processes-dask"
_BIGEARTHNET_TERMS = "BigEarthNet's own terms apply to the imagery (CDLA-Permissive-1.0, unconfirmed)."

DATASETS: dict[str, RemoteDataset] = {
    "s2-bolzano": RemoteDataset(
        f"{_OPENEO}@83bcd03b5909a0a56c9968861ac87946b680401e",
        ("tests/data/stac/S2_L2A_sample.zarr", "tests/data/stac/s2_l2a_test_item.json", "LICENSE"),
        "Apache-2.0",
        "Sentinel-2 L2A near Bolzano, 12 dates in June 2022, 705 x 935 px at 10 m, B02 B03 B04 B08 + SCL clouds",
        ("cube",),
        licence_files=("LICENSE",),
    ),
    "s2-bolzano-tiny": RemoteDataset(
        f"{_OPENEO}@7c39308073bf658d82d6fd325a6821032070eb4d",
        ("tests/data/s2_l2a_zarr_sample.zarr",),
        "Apache-2.0",
        "the top-left 10 x 10 px of s2-bolzano: 12 dates, B02 B03 B04 B08 + SCL (unit-test size)",
        ("cube",),
    ),
    "eolearn-slovenia": RemoteDataset(
        "sentinel-hub/eo-learn@303e75855880531d519264f847e7c6b2fb97104d",
        ("example_data/TestEOPatch", "LICENSE"),
        "MIT",
        "Sentinel-2 NDVI in Slovenia, 68 dates 2015-2017, 101 x 100 px, cloud mask, 88 land-cover polygons",
        ("cube", "reference"),
        licence_files=("LICENSE",),
    ),
    "dl4sits-victoria": RemoteDataset(
        "charlotte-pel/igarss2019-dl4sits@836d7fbd4d75eae602f6595c666b56b3bbc9a5ae",
        ("train_dataset.csv", "test_dataset.csv", "map/class_map.txt", "README.md", "LICENSE"),
        "GPL-3.0",
        "labelled Sentinel-2 pixel series, Victoria (Australia): 400 + 400, 8 classes, 73 dates x 10 bands",
        ("samples",),
        licence_files=("LICENSE",),
    ),
    "tempcnn-formosat": RemoteDataset(
        "charlotte-pel/temporalCNN@d081da2f6eef19f36b5517549eab3bbbedd18598",
        ("example/train_dataset.csv", "example/test_dataset.csv", "example/test_img.tif", "map/class_map.txt",
         "README.md", "LICENSE"),
        "GPL-3.0",
        "labelled Formosat-2 series (France): 260 + 260, 13 classes, 149 dates x NIR R G; a 16 x 16 px image",
        ("samples",),
        licence_files=("LICENSE",),
    ),
    "insitu-rondonia": RemoteDataset(
        "e-sensing/in-situ@772e0dda670d7bb5afcf68473b124287387be87a",
        ("data/samples_S2_T20LKP_2018_2019.rda",),
        "GPL-2.0",
        "481 Sentinel-2 samples in Rondonia (Brazil), 3 classes, 36 ten-day dates x 7 bands + 4 indices",
        ("samples",),
    ),
    "sits-sinop": RemoteDataset(
        "e-sensing/sits@60e37332f346a1d0f0a1b9b16bd36b473788698f",
        ("inst/extdata/raster/mod13q1", "inst/extdata/samples/samples_sinop_crop.csv",
         "data/samples_modis_ndvi.rda", "data/cerrado_2classes.rda", "data/samples_l8_rondonia_2bands.rda",
         "DESCRIPTION"),
        "GPL-2.0",
        "MODIS NDVI cube at Sinop (Brazil), 12 dates, 255 x 147 px; 18 labelled points; 3 sits sample tables",
        ("cube", "samples", "reference"),
        licence_note="sits states its licence in its DESCRIPTION file (License: GPL-2).",
    ),
    "ucr-crop-train": RemoteDataset(
        "ChangWeiTan/MultiRocket@3ccaa4f8ed11769b904af885e17018c39c89a2ac",
        ("data/sample/Crop/Crop_TRAIN.tsv",),
        "UCR archive",
        "UCR Crop training split: 7 200 Formosat-2 NDVI series x 46 dates, 24 classes",
        ("samples",),
        licence_note="The UCR time series archive's terms apply (cite Dau et al. 2019); the repository is GPL-3.0.",
    ),
    "dsen2-crops": RemoteDataset(
        "lanha/DSen2@38d7209d38a298d5d4c4856e02d5dcefa94a192a",
        ("data/S2A_MSIL1C_20170527_T33UUB.mat", "data/S2B_MSIL1C_20171022_T49JGM.mat", "data/LICENSE.md", "LICENSE"),
        "CC-BY-4.0",
        "two Sentinel-2 L1C crops (6 x 6 km), every band at its native resolution, MATLAB v7.3 (super-resolution)",
        ("files",),
        licence_files=("data/LICENSE.md", "LICENSE"),
        licence_note="CC BY 4.0 (Copernicus/ESA) for the data (LICENSE.md); DSen2's code is GPL-3.0 (LICENSE).",
    ),
    "bigearthnet-s2": RemoteDataset(
        "kai-tub/bigearthnet_common@ab529a045ab93438d8a34e8ff693fced0485ce9d",
        ("nbs/datasets/tiny", "LICENSE"),
        "Apache-2.0",
        "11 BigEarthNet Sentinel-2 L2A patches, one GeoTIFF per band at its native resolution (super-resolution)",
        ("files",),
        licence_files=("LICENSE",),
        licence_note=_BIGEARTHNET_TERMS,
    ),
    "bigearthnet-s2-example": RemoteDataset(
        "kai-tub/bigearthnet_common@2010779b6efc97eaf0f189d2cbdf8a3af75b71ba",
        ("src/bigearthnet_common/BigEarthNet-S2-Example.tar.bz2", "LICENSE"),
        "Apache-2.0",
        "6 BigEarthNet Sentinel-2 L2A patches in one tar.bz2 (3 of them also in bigearthnet-s2)",
        ("files",),
        licence_files=("LICENSE",),
        licence_note=_BIGEARTHNET_TERMS,
    ),
}
"""Every public dataset labkit knows, by name (``labkit fetch --list``)."""


def _resource(name: str):
    return resources.files(__package__).joinpath(name)


def find_dataset(name: str) -> RemoteDataset:
    """The dataset called ``name``; an unknown name is refused with the closest known names.

    Example
    -------
    >>> find_dataset("s2-bolzano").root
    'Open-EO/openeo-processes-dask/83bcd03b5909a0a56c9968861ac87946b680401e'
    >>> find_dataset("victoria")
    Traceback (most recent call last):
    ...
    labkit.errors.DatasetError: Unknown dataset 'victoria'. Did you mean 'dl4sits-victoria'? Known datasets: ...
    """
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name), DATASETS, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise DatasetError(f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(DATASETS))} "
                       "('labkit fetch --list' describes them).")


# -------------------------------------------------------------------------------------------- registry and sizes


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache in force: ``cache_dir``, else ``$LABKIT_CACHE``, else pooch's user cache folder for ``labkit``.

    Example
    -------
    >>> cache_folder("/tmp/labkit-cache")
    PosixPath('/tmp/labkit-cache')
    """
    return Path(cache_dir or os.environ.get(CACHE_VARIABLE) or pooch.os_cache("labkit")).expanduser()


@cache
def _pooch(base: str, cache_root: str) -> pooch.Pooch:
    """One pooch per source and cache, its registry loaded from ``registry.txt``."""
    fetcher = pooch.create(path=cache_root, base_url=base + "/", registry=None)
    with _resource("registry.txt").open(encoding="utf-8") as registry_file:
        fetcher.load_registry(registry_file)
    return fetcher


def registry() -> dict[str, str]:
    """``{"OWNER/REPO/COMMIT/PATH": "sha256:..."}`` for every file labkit may fetch.

    Example
    -------
    >>> any(name.endswith("LULC.gpkg") for name in registry())
    True
    """
    return dict(_pooch(ORIGIN_URL, "").registry)


@cache
def file_sizes() -> dict[str, int]:
    """``{"OWNER/REPO/COMMIT/PATH": bytes}`` for every file of the registry (``sizes.txt``).

    Example
    -------
    >>> file_sizes()["sentinel-hub/eo-learn/303e75855880531d519264f847e7c6b2fb97104d/LICENSE"]
    1745
    """
    text = _resource("sizes.txt").read_text(encoding="utf-8")
    entries = (line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {name: int(size) for name, size in entries}


def files_of(name: str, paths: tuple[str, ...] | None = None) -> dict[str, str]:
    """The registered files (``{OWNER/REPO/COMMIT/PATH: "sha256:..."}``) of dataset ``name``, or of some of its
    files and folders.

    Raises
    ------
    labkit.errors.DatasetError
        Unknown dataset, or a path that is not one of its files or folders.

    Example
    -------
    >>> len(files_of("sits-sinop", ("inst/extdata/raster/mod13q1",)))
    12
    """
    spec = find_dataset(name)
    files: dict[str, str] = {}
    for path in paths or spec.paths:
        prefix = f"{spec.root}/{path.strip('/')}"
        found = {n: h for n, h in registry().items() if n == prefix or n.startswith(prefix + "/")}
        if not found:
            raise DatasetError(f"{path!r} is not a registered file or folder of dataset {name!r}; its files and "
                               f"folders are {list(spec.paths)}.")
        files.update(found)
    return dict(sorted(files.items()))


def dataset_size(name: str) -> int:
    """Bytes of all the files of dataset ``name``.

    Example
    -------
    >>> dataset_size("s2-bolzano-tiny") < dataset_size("s2-bolzano")
    True
    """
    sizes = file_sizes()
    return sum(sizes.get(file, 0) for file in files_of(name))


def list_datasets():
    """The datasets labkit fetches by name, as a table: licence, size in bytes, what they give, description.

    What ``labkit fetch --list`` prints.

    Example
    -------
    >>> table = list_datasets()
    >>> table.loc["s2-bolzano", ["licence", "gives"]].tolist()
    ['Apache-2.0', 'cube']
    """
    import pandas as pd

    rows = [(name, spec.licence, dataset_size(name), "raw files" if spec.kinds == ("files",) else spec.kind,
             spec.description) for name, spec in sorted(DATASETS.items())]
    return pd.DataFrame(rows, columns=["name", "licence", "size", "gives", "description"]).set_index("name")


# ------------------------------------------------------------------------------------------------------- sources


def _local_folder(base: str) -> Path | None:
    """The folder of a mirror given as a path or ``file://`` URL; None for a web URL."""
    parsed = urlparse(base)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):  # a path (C:\\ on Windows)
        return Path(base).expanduser()
    return None


def _mirror_root(folder: Path, given: str) -> Path:
    """The folder whose children are the repositories' owners: ``folder``, or its ``github/``."""
    if not folder.is_dir():
        raise DatasetError(f"The mirror {given} is not a folder. Give a folder laid out like raw.githubusercontent.com "
                           f"(OWNER/REPO/COMMIT/PATH) or an URL, with --mirror or {MIRROR_VARIABLE}; unset it to "
                           "download from the origin.")
    owners = {name.split("/", 1)[0] for name in registry()}
    if not any((folder / owner).is_dir() for owner in owners) and (folder / "github").is_dir():
        return folder / "github"
    return folder


def source_url(mirror: str | os.PathLike | None = None) -> str:
    """Where files come from: ``mirror``, else ``$LABKIT_DATA_MIRROR``, else the origin.

    A mirror folder is returned as a ``file://`` URL (its ``github/`` sub-folder when given the folder above it).

    Raises
    ------
    labkit.errors.DatasetError
        A mirror given as a path (or ``file://`` URL) that is not a folder.

    Example
    -------
    >>> source_url()  # doctest: +SKIP
    'https://raw.githubusercontent.com'
    >>> source_url("https://example.org/mirror/")
    'https://example.org/mirror'
    """
    given = os.fspath(mirror) if mirror is not None else os.environ.get(MIRROR_VARIABLE) or ""
    if not given:
        return ORIGIN_URL
    folder = _local_folder(given)
    if folder is None:
        return given.rstrip("/")
    return _mirror_root(folder, given).resolve().as_uri()


def mirror_folder(mirror: str | os.PathLike | None = None) -> Path | None:
    """The local folder files come from (see :func:`source_url`); None when they are downloaded from an URL.

    Example
    -------
    >>> import tempfile, pathlib
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> (parent / "github").mkdir()
    >>> mirror_folder(parent) == (parent / "github").resolve()
    True
    """
    return _local_folder(source_url(mirror))


class _CopyFromMirror:
    """A pooch downloader that copies a file from a mirror folder instead of downloading it."""

    def __init__(self, folder: Path, base: str):
        self.folder, self.base = folder, base

    def __call__(self, url: str, output_file, pooch_obj) -> None:
        source = self.folder / url[len(self.base) + 1:]
        if not source.is_file():
            raise DatasetError(f"{source} is missing from the local mirror {self.folder}. Complete the mirror, or "
                               f"unset {MIRROR_VARIABLE} (drop --mirror) to download from the origin.")
        shutil.copyfile(source, output_file)


class _Checked:
    """A downloader that checks the SHA-256 of what it fetched, to say exactly which file is bad and what to do."""

    def __init__(self, download, name: str, expected: str, where: str):
        self.download, self.name, self.expected, self.where = download, name, expected, where

    def __call__(self, url: str, output_file, pooch_obj) -> None:
        self.download(url, output_file, pooch_obj)
        actual = "sha256:" + pooch.file_hash(output_file)
        if actual != self.expected:
            got, size = os.path.getsize(output_file), file_sizes().get(self.name)
            sizes = f"{got} bytes" + (f", expected {size}" if size is not None and size != got else "")
            raise DatasetError(
                f"{_local_folder(url) or url}: checksum mismatch, the file is corrupted or truncated ({sizes}): its "
                f"SHA-256 is {actual.removeprefix('sha256:')}, the registry expects "
                f"{self.expected.removeprefix('sha256:')}. "
                f"It was not used nor kept in the cache. {self.where}"
            )


@contextlib.contextmanager
def _quiet_pooch():
    """Pooch logs every file it fetches: a dataset of 400 files would flood the terminal; labkit shows a bar."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _drop_if_corrupted(path: Path, digest: str) -> None:
    """Remove a cached file whose checksum does not match (pooch keeps it when fetching its replacement fails)."""
    if path.is_file() and "sha256:" + pooch.file_hash(path) != digest:
        path.unlink()


def fetch(
    dataset: str,
    paths: tuple[str, ...] | None = None,
    *,
    mirror: str | os.PathLike | None = None,
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
    mirror : str or path, optional
        A mirror folder or URL (see the module docstring); default ``$LABKIT_DATA_MIRROR``, else the origin.
    cache_dir : path, optional
        Default ``$LABKIT_CACHE``, else pooch's cache folder for ``labkit``.
    progress : bool
        Show a progress bar (bytes of the dataset's files) on stderr.

    Returns
    -------
    pathlib.Path
        The folder that mirrors ``OWNER/REPO/COMMIT``: ``fetch(...) / "LICENSE"`` is the dataset's LICENSE file.

    Raises
    ------
    labkit.errors.DatasetError
        Unknown dataset or path, a mirror that is not a folder, a file missing at the source or unreachable, or a
        file whose checksum does not match (naming the file and both checksums).

    Example
    -------
    >>> root = fetch("eolearn-slovenia", ("LICENSE",))  # doctest: +SKIP
    >>> (root / "LICENSE").read_text()[:3]  # doctest: +SKIP
    'MIT'
    """
    from tqdm.auto import tqdm

    spec = find_dataset(dataset)
    files = files_of(dataset, paths)
    base = source_url(mirror)
    cache_root = cache_folder(cache_dir)
    fetcher = _pooch(base, str(cache_root))
    folder = _local_folder(base)
    if folder is None:
        where = ("Fetch it again later (a download may have been cut); if it keeps failing, the origin changed: "
                 "report it to labkit."
                 if base == ORIGIN_URL else f"Repair the mirror {base}, or unset {MIRROR_VARIABLE} (drop --mirror) "
                 "to download from the origin.")
    else:
        where = (f"Repair the mirror (python data-fetch/build_registry.py --check --mirror {folder} lists the files "
                 f"that differ), or unset {MIRROR_VARIABLE} (drop --mirror) to download from the origin.")
    sizes = file_sizes()
    with _quiet_pooch(), tqdm(total=sum(sizes.get(n, 0) for n in files), unit="B", unit_scale=True,
                              desc=dataset, disable=not progress, leave=False) as bar:
        for name, digest in files.items():
            download = pooch.HTTPDownloader() if folder is None else _CopyFromMirror(folder, base)
            try:
                fetcher.fetch(name, downloader=_Checked(download, name, digest, where))
            except DatasetError:
                _drop_if_corrupted(cache_root / name, digest)
                raise
            except Exception as error:  # noqa: BLE001  (requests, the OS and pooch raise many types: all are named)
                _drop_if_corrupted(cache_root / name, digest)
                raise DatasetError(
                    f"Could not fetch {name} from {base} ({type(error).__name__}: {error}). Check the connection, "
                    f"or point {MIRROR_VARIABLE} (--mirror) at a reachable mirror."
                ) from error
            bar.update(sizes.get(name, 0))
    return cache_root / spec.root
