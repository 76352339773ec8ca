"""HDF5 layout (docs/conventions.md section 5), round trip and atomic writes."""

import os

import h5py
import numpy as np
import pytest

from dmft.core.io import FileFormatError, load, save
from dmft.core.params import PARAM_NAMES


def test_layout_and_provenance(tmp_path, make_result):
    r = make_result(replicas=2)
    path = save(r, tmp_path / "run.h5")
    with h5py.File(path) as f:
        for key in ("format_version", "kind", "package_version", "git_commit", "created_utc",
                    "command_line", "config_json", "seed", "status", "wall_time_s"):
            assert key in f.attrs, key
        for name in PARAM_NAMES:
            assert name in f.attrs, name
        assert f.attrs["kind"] == "simulation"
        for name in ("t", "energy", "frac_unsat", "nu", "tw", "C", "chi", "distance", "energy_sem", "C_sem"):
            assert name in f, name
        T = len(f["t"])
        assert f["C"].shape == (2, T) and f["chi"].shape == (2, T)
        assert np.isnan(f["C"][1, 0])


def test_round_trip(tmp_path, make_result):
    r = make_result(replicas=2)
    q = load(save(r, tmp_path / "run.h5"))
    assert q.params == r.params and q.kind == r.kind and q.status == r.status
    for name in ("t", "energy", "frac_unsat", "nu", "tw", "C", "chi", "distance"):
        np.testing.assert_array_equal(getattr(q, name), getattr(r, name))
    np.testing.assert_array_equal(q.sem["energy"], r.sem["energy"])
    assert q.meta["seed"] == r.params.seed


def test_killed_write_leaves_nothing(tmp_path, make_result, monkeypatch):
    import dmft.core.io as io

    def boom(result, f):
        f.create_dataset("t", data=np.arange(3.0))
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(io, "write_h5", boom)
    with pytest.raises(KeyboardInterrupt):
        io.save(make_result(), tmp_path / "run.h5")
    assert os.listdir(tmp_path) == []


def test_failed_rewrite_keeps_the_old_file(tmp_path, make_result, monkeypatch):
    import dmft.core.io as io

    path = save(make_result(teff=0.5), tmp_path / "run.h5")
    before = open(path, "rb").read()
    monkeypatch.setattr(io, "write_h5", lambda r, f: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        io.save(make_result(teff=0.7), path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["run.h5"]


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(FileFormatError):
        load(bad)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(FileFormatError):
        load(other)


def test_file_permissions_follow_umask(tmp_path, make_result):
    old = os.umask(0o022)
    try:
        path = save(make_result(), tmp_path / "run.h5")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_method_and_errors_round_trip(tmp_path, make_result):
    """The file stores how it was computed (the method) and the typed errors; the point hash
    attribute covers both the problem and the method."""
    from dmft.core.methods import ParticleMethod, point_hash

    r = make_result(replicas=2).replace(method=ParticleMethod(n=321, n_samples=7, field_eps=1e-6))
    path = save(r, tmp_path / "run.h5")
    q = load(path)
    assert q.method == r.method and q.kind == "simulation"
    assert q.errors.source == "samples" and set(q.errors.sem) == set(r.errors.sem)
    with h5py.File(path) as f:
        assert f.attrs["point_hash"] == point_hash(r.params, r.method)
        assert f.attrs["n"] == 321 and f.attrs["field_eps"] == 1e-6


@pytest.mark.parametrize("attr, value, match", [
    ("format_version", 99, "format_version 99"),
    ("status", "running", "status"),
    ("kind", "experiment", "kind"),
    ("config_json", "{not json", "invalid settings"),
])
def test_format_version_status_and_kind_are_checked(tmp_path, make_result, attr, value, match):
    path = save(make_result(), tmp_path / "run.h5")
    with h5py.File(path, "a") as f:
        f.attrs[attr] = value
    with pytest.raises(FileFormatError, match=match):
        load(path)
