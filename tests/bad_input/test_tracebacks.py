"""Class 3, tracebacks instead of errors: damaged files, reads larger than memory, outputs that cannot be written.

Each case gets a :class:`~labkit.errors.LabkitError` that names the file (and, where known, the date, band or
chunk), not a raw GDAL, codec, OS or memory error. (Bad parameters and options: ``test_parameters.py``.)
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from labkit.cli import main
from labkit.errors import OutputError, ReadError
from labkit.inputs import check_fits_in_memory, read_failure
from labkit.io import (
    describe,
    read_bands,
    read_dates,
    read_samples,
    read_zarr,
    write_bands,
    write_cog,
    write_json,
    write_samples,
    write_zarr,
)
from labkit.tiling import map_blocks

from .conftest import LABKIT
from .damage import truncate

DAMAGED = r"The file is damaged or truncated: write or download it again"


# ------------------------------------------------------------------------------------------- damaged rasters


@pytest.mark.parametrize("chunks", [None, 16])
def test_a_truncated_cog_names_the_file_and_what_was_read(cog, chunks):
    truncate(cog)
    cube = read_dates([cog], dates=["2021-01-01"], bands=["NDVI"], chunks=chunks) if chunks else None
    with pytest.raises(ReadError, match=rf"map\.tif: cannot read date 2021-01-01, band NDVI.* {DAMAGED}"):
        (cube if cube is not None else read_dates([cog], dates=["2021-01-01"], bands=["NDVI"])).values


def test_a_truncated_geotiff_of_a_series_is_named(date_files):
    truncate(date_files[2])
    with pytest.raises(ReadError, match=r"S2_2021-03-21\.tif is not a raster that GDAL can read, or is damaged or "
                                        r"truncated"):
        read_dates(date_files)


def test_a_damaged_band_file_names_the_band_and_dates(cube, tmp_path):
    files = write_bands(cube, tmp_path)
    lazy = read_bands(files, chunks=16)
    data = bytearray(files[1].read_bytes())
    data[len(data) // 2:] = b"\x00" * (len(data) - len(data) // 2)  # zeroed tiles: the header still reads
    files[1].write_bytes(bytes(data))
    with pytest.raises(ReadError, match=r"B08\.tif: cannot read band B08, dates 2021-03-01\.\.2021-04-20"):
        lazy.values


def test_describe_and_labkit_info_name_a_truncated_cog(cog, capsys):
    truncate(cog)
    with pytest.raises(ReadError, match=rf"map\.tif: cannot read its pixels .*{DAMAGED}"):
        describe(cog)
    assert main(["info", str(cog)]) == 2
    err = capsys.readouterr().err
    assert "map.tif" in err and "Traceback" not in err


def test_the_block_engine_names_a_truncated_file(cog):
    cube = read_dates([cog], dates=["2021-01-01"], bands=["NDVI"], chunks=16)
    truncate(cog, 0.3)
    with pytest.raises(ReadError, match=r"map\.tif: (cannot read|not a raster)"):
        map_blocks(lambda values: values * 2, cube).values


# ---------------------------------------------------------------------------------------- damaged stores


def _chunk(store, variable, index=1):
    return sorted(p for p in (store / variable).iterdir() if not p.name.startswith("."))[index]


@pytest.mark.parametrize("variable, names", [("cube", r"variable 'cube', dates 2021-03-01\.\.2021-04-20, bands "
                                                      r"B04\.\.B08, rows 0\.\.32"),
                                             ("mask", r"variable 'mask', dates 2021-03-01\.\.2021-04-20, rows 0\.\.32")])
def test_a_corrupted_zarr_chunk_names_the_store_variable_and_chunk(store, variable, names):
    _chunk(store, variable).write_bytes(b"not blosc" * 10)
    cube, mask = read_zarr(store, chunks={}, with_mask=True)
    with pytest.raises(ReadError, match=rf"cube\.zarr: cannot read {names}.*blosc.*{DAMAGED}"):
        (cube if variable == "cube" else mask).values


def test_a_corrupted_chunk_read_eagerly_is_named_too(store):
    _chunk(store, "cube", 0).write_bytes(b"\x00" * 16)
    with pytest.raises(ReadError, match=r"cube\.zarr: cannot read variable 'cube'"):
        read_zarr(store, chunks=None)


def test_a_truncated_sample_file_is_named(samples_file):
    truncate(samples_file, 0.6)
    with pytest.raises(ReadError, match=r"samples\.nc: cannot read as NetCDF"):
        read_samples(samples_file)


def test_an_unreadable_file_names_its_permissions(samples_file):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    samples_file.chmod(0)
    with pytest.raises(ReadError, match=r"samples\.nc: .*Check the file's permissions"):
        read_samples(samples_file)


# ---------------------------------------------------------------------------------------------- memory


def _huge_vrt(tmp_path, cog, size=400_000):
    """A VRT of ``size`` x ``size`` pixels over a small COG: its header says 640 GB of float32."""
    vrt = tmp_path / "huge_2021-05-01.vrt"
    vrt.write_text(f"""<VRTDataset rasterXSize="{size}" rasterYSize="{size}">
  <SRS>EPSG:32631</SRS>
  <GeoTransform>500000, 10, 0, 4000000, 0, -10</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1">
    <Description>NDVI</Description>
    <SimpleSource><SourceFilename relativeToVRT="0">{cog}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""")
    return vrt


def test_an_eager_read_larger_than_memory_is_refused_with_the_chunks_hint(tmp_path, cog):
    vrt = _huge_vrt(tmp_path, cog)
    with pytest.raises(ReadError, match=r"huge_2021-05-01\.vrt: reading it eagerly needs .* of memory but .* is "
                                        r"available\. Pass chunks= \(e\.g\. chunks=512\) to read it lazily"):
        read_dates([vrt])
    lazy = read_dates([vrt], chunks=4096)  # lazily it opens, and a small window reads
    assert lazy.sizes["x"] == 400_000 and lazy.isel(x=slice(0, 8), y=slice(0, 8)).compute().shape == (1, 1, 8, 8)


def test_memory_checks_and_memory_errors_name_the_source():
    with pytest.raises(ReadError, match=r"cube\.zarr: reading it eagerly needs 1024\.0 PiB"):
        check_fits_in_memory(2**60, "cube.zarr")
    error = read_failure(MemoryError(), "big.tif", "date 2021-05-01")
    assert str(error) == ("big.tif: out of memory while reading date 2021-05-01. Pass chunks= (e.g. chunks=512) to "
                          "read it lazily, or read a smaller window.")


# ------------------------------------------------------------------------------- outputs that cannot be written

NOT_WRITABLE = r"Cannot write /sys/labkit-test/.*: the folder /sys is not writable"


@pytest.mark.parametrize("writer", ["cog", "zarr", "json", "samples"])
def test_an_output_in_a_folder_that_cannot_be_written_fails_before_any_work(cube, samples, writer):
    """/sys refuses new files even to root (CI runs as root, for whom permissions do not apply)."""
    calls = {"cog": lambda: write_cog(cube.isel(time=0, band=0, drop=True), "/sys/labkit-test/map.tif"),
             "zarr": lambda: write_zarr(cube, "/sys/labkit-test/cube.zarr"),
             "json": lambda: write_json({}, "/sys/labkit-test/x.json"),
             "samples": lambda: write_samples(samples, "/sys/labkit-test/s.nc")}
    with pytest.raises(OutputError, match=NOT_WRITABLE):
        calls[writer]()


def test_a_read_only_folder_is_refused_for_a_user_who_is_not_root(tmp_path, cube):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; covered by the /sys cases")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"ro is not writable \(Permission denied\)"):
            write_json({}, folder / "x.json")
    finally:
        folder.chmod(0o755)


def test_labkit_cv_checks_its_json_output_before_cross_validating(samples_file):
    result = subprocess.run([LABKIT, "cv", str(samples_file), "--model", "rf", "--json", "/sys/labkit-test/cv.json"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""  # no score printed: refused before the cross-validation ran
    assert "Cannot write /sys/labkit-test/cv.json" in result.stderr and "Traceback" not in result.stderr


def test_a_parent_that_is_a_file_is_named(tmp_path, cube):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"Cannot write .*notes\.txt/map\.tif: .*notes\.txt is a file, not a folder"):
        write_cog(cube.isel(time=0, band=0, drop=True), tmp_path / "notes.txt" / "map.tif")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_read_failure_keeps_the_cause_when_rasterio_points_to_it():
    try:
        try:
            raise OSError("TIFFReadEncodedTile() failed")
        except OSError as cause:
            raise RuntimeError("Read failed. See previous exception for details.") from cause
    except RuntimeError as error:
        assert "TIFFReadEncodedTile() failed" in str(read_failure(error, "a.tif"))


def test_values_are_not_lost_when_a_reader_fails_half_way(date_files):
    """A damaged file in a lazy series fails only the chunks that read it, with its name."""
    lazy = read_dates(date_files, chunks=32)
    truncate(date_files[-1], 0.999)  # the header is intact; only the end of the data is missing
    first = lazy.isel(time=0).values
    assert np.isfinite(first).all()
