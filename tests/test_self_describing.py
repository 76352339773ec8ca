"""Result files describe themselves: named dimensions (HDF5 dimension scales), a short long name
and a description on every dataset (no units: the model is dimensionless), a tidy xarray Dataset; the Python object does too (short repr, per-field
help, to_xarray); old files still load."""

import glob
import os
import pydoc
from dataclasses import fields

import h5py
import numpy as np
import pytest

import dmft
from dmft.core.io import load, save
from dmft.core.schema import COORDINATES_ONLY, LONG_NAME_MAX

xr = pytest.importorskip("xarray")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def small_runs():
    p = dmft.Params(alpha=2, delta=0.5, t_max=3, tw=(1, 2), replicas=2)
    return {"dmft": dmft.solve(p, n_paths=32, replicates=2, store_kernels=True),
            "simulation": dmft.simulate(p, n=40, n_samples=2)}


@pytest.mark.parametrize("kind", ["dmft", "simulation"])
def test_file_opens_as_a_tidy_xarray_dataset(tmp_path, small_runs, kind):
    r = small_runs[kind]
    path = save(r, tmp_path / "r.h5")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert not [d for d in ds.dims if str(d).startswith("phony_dim")]
        assert {"t", "tw", "gap_t", "gap_bin", "gap_edges"} <= set(ds.coords)
        np.testing.assert_array_equal(ds["t"].values, r.t)
        np.testing.assert_array_equal(ds["tw"].values, r.tw)
        assert ds["energy"].dims == ("t",) and ds["C"].dims == ("tw", "t") and ds["chi_sem"].dims == ("tw", "t")
        assert ds["distance"].dims == ("t",)
        # gap_edges (B+1 values) has its own dimension; the histogram is on the bin centres
        assert ds["gap_hist"].dims == ("gap_t", "gap_bin") and ds["gap_edges"].dims == ("gap_edges",)
        assert ds.sizes["gap_edges"] == ds.sizes["gap_bin"] + 1
        np.testing.assert_allclose(ds["gap_bin"].values, 0.5 * (r.extra["gap_edges"][1:] + r.extra["gap_edges"][:-1]))
        for name, var in ds.variables.items():
            assert "units" not in var.attrs and var.attrs.get("description"), name
            assert 0 < len(var.attrs["long_name"]) <= LONG_NAME_MAX, name   # an axis label that does not wrap
        assert "time" in ds["t"].attrs["long_name"]
        assert ds.attrs["kind"] == kind and ds.attrs["alpha"] == 2.0
    with xr.open_dataset(path, engine="h5netcdf", group="batches") as b:
        assert b["energy"].dims == ("batch", "t") and b["C"].dims == ("batch", "tw", "t")
        assert b["batch_size"].dims == ("batch",) and "batch" in b.coords
        assert r.errors.source in b["energy"].attrs["description"]
    if kind == "dmft":
        with xr.open_dataset(path, engine="h5netcdf", group="kernels") as k:
            assert k["C"].dims == ("t", "s") and "s" in k.coords


def test_every_dataset_has_a_long_name_a_description_and_named_dimensions(tmp_path, small_runs):
    path = save(small_runs["dmft"], tmp_path / "r.h5")
    seen = []

    def check(name, obj):
        if isinstance(obj, h5py.Dataset):
            seen.append(name)
            assert "units" not in obj.attrs and obj.attrs["long_name"] and obj.attrs["description"], name
            for axis, dim in enumerate(obj.dims):
                assert obj.attrs.get("CLASS") == b"DIMENSION_SCALE" or len(dim) == 1, (name, axis)

    with h5py.File(path) as f:
        f.visititems(check)
    assert {"t", "energy", "C", "gap_hist", "batches/energy", "kernels/R"} <= set(seen)


def test_round_trip_does_not_pick_up_the_added_coordinates(tmp_path, small_runs):
    for r in small_runs.values():
        back = load(save(r, tmp_path / "a.h5"))
        again = load(save(back, tmp_path / "b.h5"))  # a loaded result saves again
        for res in (back, again):
            assert set(res.extra) == set(r.extra) and set(res.kernels) == set(r.kernels)
            assert set(res.errors.batches) == set(r.errors.batches)
            for name in COORDINATES_ONLY:
                assert name.split("/")[-1] not in res.extra
            np.testing.assert_array_equal(res.energy, r.energy)


def test_to_xarray_is_what_the_file_gives(tmp_path, small_runs):
    r = small_runs["simulation"]
    mem = r.to_xarray()
    with xr.open_dataset(save(r, tmp_path / "r.h5"), engine="h5netcdf") as ds:
        assert set(mem.data_vars) == set(ds.data_vars) and set(mem.coords) == set(ds.coords)
        for name in mem.variables:
            assert mem[name].dims == ds[name].dims, name
            assert mem[name].attrs["long_name"] == ds[name].attrs["long_name"], name
            np.testing.assert_array_equal(mem[name].values, ds[name].values)
    assert mem.attrs["dynamics"] == "sgd" and mem.attrs["n"] == 40
    assert float(mem["C"].sel(tw=2.0, t=3.0)) == pytest.approx(r.C[1, -1])


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "data", "*", "*.h5"))))
def test_old_and_reference_files_still_load(path):
    r = dmft.load(path)
    assert r.status == "ok" and len(r.t) > 100 and "gap_bin" not in r.extra
    assert len(repr(r)) < 1000


def test_repr_is_short(small_runs):
    for r in small_runs.values():
        text = repr(r)
        assert len(text) < 1000 and "array" not in text
        assert text.startswith("Result(kind=") and "alpha=2" in text


@pytest.mark.parametrize("cls", [dmft.Params, dmft.Result, dmft.DMFTMethod, dmft.ParticleMethod])
def test_help_documents_every_field(cls):
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for f in fields(cls):
        assert f"{f.name}: " in text, f.name


def test_load_and_save_are_exported():
    from dmft.core import io

    assert dmft.load is io.load and dmft.save is io.save
    assert {"load", "save", "Params", "Result", "run"} <= set(dmft.__all__)


def test_a_file_saved_from_python_says_so(tmp_path, make_result):
    r = load(save(make_result(), tmp_path / "r.h5"))
    assert r.meta["command_line"].startswith("python: ") and r.meta["command_line"].endswith("(API)")
    assert "pytest" in r.meta["command_line"] or "python" in r.meta["command_line"]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "data", "canonical", "*.h5"))))
def test_reference_files_open_in_xarray_with_named_dimensions(path):
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert not [d for d in ds.dims if str(d).startswith("phony_dim")]
        assert ds["C"].dims == ("tw", "t") and ds["energy"].attrs["long_name"]
