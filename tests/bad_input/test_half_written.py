"""Class 2, half-written outputs: nothing incomplete is ever read as complete, nothing too big is started.

(The interrupts of a running command are in ``test_interrupts.py``.)
"""

from __future__ import annotations

import shutil

import dask.array as da
import numpy as np
import pytest
import zarr

import labkit.datamodel as dm
from labkit.cli import main
from labkit.errors import OutputError, ReadError
from labkit.io import read_dates, read_samples, read_zarr, write_zarr
from labkit.outputs import atomic_path


def _chunk_files(store, variable="cube"):
    return sorted(p for p in (store / variable).iterdir() if not p.name.startswith("."))


def test_a_missing_chunk_is_an_error_not_nan(store):
    _chunk_files(store)[1].unlink()
    with pytest.raises(ReadError, match=r"cube\.zarr: variable 'cube' misses 1 of its 4 chunks; the store is "
                                        r"incomplete or damaged"):
        read_zarr(store)


def test_a_missing_mask_chunk_is_an_error(store):
    _chunk_files(store, "mask")[0].unlink()
    read_zarr(store)  # the mask is not read: no error
    with pytest.raises(ReadError, match=r"variable 'mask' misses 1 of its 4 chunks"):
        read_zarr(store, with_mask=True)


def test_empty_chunks_are_written_so_that_missing_ones_can_be_told(tmp_path, cube):
    empty = cube.copy(data=np.full(cube.shape, np.nan, "float32")).chunk({"y": 32})
    path = write_zarr(empty, tmp_path / "nan.zarr")
    assert len(_chunk_files(path)) == 2  # every chunk exists, even all-NaN ones (the fill value)
    assert np.isnan(read_zarr(path).values).all()


def test_a_store_without_its_completion_mark_is_refused(store):
    group = zarr.open_group(store, mode="r+", zarr_format=2)
    del group.attrs["labkit_complete"]
    zarr.consolidate_metadata(store, zarr_format=2)
    with pytest.raises(ReadError, match=r"cube\.zarr is an incomplete store: its writer stopped before the end"):
        read_zarr(store)


def test_labkit_info_refuses_an_incomplete_store(store, capsys):
    group = zarr.open_group(store, mode="r+", zarr_format=2)
    del group.attrs["labkit_complete"]
    zarr.consolidate_metadata(store, zarr_format=2)
    assert main(["info", str(store)]) == 2
    err = capsys.readouterr().err
    assert "incomplete store" in err and "Traceback" not in err


@pytest.mark.parametrize("reader", ["read_zarr", "read_dates", "read_samples"])
def test_readers_refuse_a_temporary_by_its_name(store, date_files, samples_file, reader):
    sources = {"read_zarr": (read_zarr, store), "read_dates": (read_dates, date_files[0]),
               "read_samples": (read_samples, samples_file)}
    read, path = sources[reader]
    temporary = path.with_name(f".{path.name}.labkit-otherhost-12345-0123abcd.tmp{path.suffix}")
    (shutil.copytree if path.is_dir() else shutil.copy)(path, temporary)
    with pytest.raises(ReadError, match=r"is an incomplete output: a temporary of a labkit writer \(process 12345 on "
                                        r"otherhost\)"):
        read(temporary)


def test_a_scene_larger_than_the_disk_is_refused_before_anything_is_written(tmp_path, capsys):
    code = main(["synth", "--out", str(tmp_path / "tile.zarr"), "--size", "200000", "200000", "--dates", "73",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "tile.zarr: it needs about" in err and "TiB (estimated, uncompressed)" in err
    assert list(tmp_path.iterdir()) == []


def test_a_lazy_cube_larger_than_the_disk_is_refused(tmp_path):
    huge = da.zeros((73, 10, 100_000, 100_000), dtype="float32", chunks=(73, 10, 1024, 1024))
    cube = dm.make_cube(huge, np.datetime64("2021-01-01") + 5 * np.arange(73), [f"B{i}" for i in range(10)],
                        transform=(10, 0, 0, 0, -10, 0), crs="EPSG:32631")
    with pytest.raises(OutputError, match=r"cube\.zarr: it needs about .* but the disk holding .* has .* free"):
        write_zarr(cube, tmp_path / "cube.zarr")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_dask_write_leaves_no_temporary(tmp_path, cube):
    def fail(block):
        raise RuntimeError("a chunk failed")

    broken = cube.chunk({"y": 16})
    broken = broken.copy(data=da.map_blocks(fail, broken.data, dtype=broken.dtype))
    with pytest.raises(RuntimeError, match="a chunk failed"):
        write_zarr(broken, tmp_path / "new" / "cube.zarr")
    assert list(tmp_path.iterdir()) == []  # no store, no temporary, and the folder it created is gone


def test_folders_created_for_an_output_are_removed_when_it_fails(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with atomic_path(tmp_path / "a" / "b" / "out.txt") as tmp:
            tmp.write_text("half")
            _ = 1 / 0
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(Exception, match="wrote nothing"):
        with atomic_path(tmp_path / "out.txt"):
            pass
    assert list(tmp_path.iterdir()) == []
