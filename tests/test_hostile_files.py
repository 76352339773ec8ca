"""Damaged and hostile result files (issue 23): a flipped bit never loads as other numbers, and
files built to break the reader (deep JSON, a link loop, a huge declared dataset, a fractional
format_version, a teacher file without m) are one line and exit 2, in every command and through a
scan resume."""

import json
import os
import random
import shutil

import h5py
import numpy as np
import pytest

from dmft import Params, ParticleMethod, run
from dmft.app.cli import main
from dmft.app.scan import parse_config
from dmft.core.io import FileFormatError, load, save

POINT = Params(t_max=2.0, tw=(1.0,), replicas=2)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small simulation with errors, batches and gap histograms."""
    folder = tmp_path_factory.mktemp("good")
    return save(run(POINT, ParticleMethod(n=30, n_samples=4)), folder / "sim.h5")


def _numbers(r) -> dict:
    """Everything numeric a result holds (provenance text left out)."""
    out = {"params": r.params, "method": r.method, "status": r.status}
    for name in ("t", "energy", "frac_unsat", "nu", "tw", "C", "chi", "distance"):
        out[name] = getattr(r, name)
    out.update({f"extra/{k}": v for k, v in r.extra.items()})
    out.update({f"sem/{k}": v for k, v in r.errors.sem.items()})
    out.update({f"batches/{k}": v for k, v in r.errors.batches.items()})
    out["batch_size"] = r.errors.batch_size
    return out


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True):
                return False
        elif x != y:
            return False
    return True


def test_single_bit_flips_never_load_as_other_numbers(good, tmp_path):
    """3 of 10 single-byte flips loaded with changed nu_sem, batches/nu, gap_hist (exit 0).  Now
    the data carry fletcher32 checksums and the headers and chunk indices the checksums of the
    HDF5 1.10 format: a flip is refused, or it changed nothing that is read."""
    data = open(good, "rb").read()
    ref = _numbers(load(good))
    rng = random.Random(23)
    path = tmp_path / "flipped.h5"
    silent = []
    for _ in range(400):
        pos, bit = rng.randrange(len(data)), 1 << rng.randrange(8)
        flipped = bytearray(data)
        flipped[pos] ^= bit
        path.write_bytes(bytes(flipped))
        try:
            r = load(path)
        except FileFormatError:
            continue
        if not _same(ref, _numbers(r)):
            silent.append(pos)
    assert not silent, f"flips at bytes {silent} loaded as other numbers"


def _without_checksums(src: str, dst: str) -> None:
    """``src`` rewritten as a file of a version before checksums: every dataset without the
    fletcher32 filter, attributes unchanged."""
    with h5py.File(src) as a, h5py.File(dst, "w") as b:
        def copy(group_a, group_b):
            group_b.attrs.update(dict(group_a.attrs))
            for name, item in group_a.items():
                if isinstance(item, h5py.Group):
                    copy(item, group_b.create_group(name))
                else:
                    group_b.create_dataset(name, data=item[()])
                    group_b[name].attrs.update(dict(item.attrs))
        copy(a, b)


def test_old_files_without_checksums_still_load(good, tmp_path):
    old = str(tmp_path / "old.h5")
    _without_checksums(good, old)
    with h5py.File(good) as f:
        assert f["energy"].fletcher32 is True
    with h5py.File(old) as f:
        assert f["energy"].fletcher32 is False
    assert _same(_numbers(load(good)), _numbers(load(old)))
    assert load(old).status == "ok"


def test_ok_file_with_an_all_nan_energy_is_refused(good, tmp_path, capsys):
    path = str(tmp_path / "nan.h5")
    shutil.copy(good, path)
    with h5py.File(path, "a") as f:
        del f["energy"]
        f["energy"] = np.full(21, np.nan)
    assert main(["info", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and "NaN at every time" in err[0]


def _deep_json(f):
    f.attrs["config_json"] = "[" * 100000


def _self_link(f):
    del f["nu"]
    f["nu"] = h5py.SoftLink("/nu")


def _huge(f):
    """A dataset declaring 10^12 values with nothing stored (reading it would allocate 8 TB)."""
    del f["norm"]
    f.create_dataset("norm", shape=(10**12,), dtype="f8", chunks=(4096,))


def _fractional_version(f):
    f.attrs["format_version"] = 2.5


HOSTILE = {
    "config_json of '[' x 100000": (_deep_json, "invalid settings"),   # was RecursionError
    "a soft link to itself": (_self_link, "nu"),                        # was RuntimeError
    "a declared 10^12-value dataset": (_huge, "declares"),              # was MemoryError
    "format_version 2.5": (_fractional_version, "format_version"),      # was read as 2
}


def _hostile(good, tmp_path, name):
    path = str(tmp_path / "hostile.h5")
    shutil.copy(good, path)
    with h5py.File(path, "a") as f:
        HOSTILE[name][0](f)
    return path


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("command", ["info", "teff"])
def test_hostile_file_exit_2_one_line(good, tmp_path, capsys, command, name):
    path = _hostile(good, tmp_path, name)
    assert main([command, path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and HOSTILE[name][1] in err[0], err


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_under_a_points_name_stops_the_resume(good, tmp_path, capsys, name):
    cfg = tmp_path / "scan.toml"
    cfg.write_text('mode = "simulate"\n[base]\nn = 30\nn_samples = 4\nt_max = 2.0\nreplicas = 2\ntw = [1.0]\n'
                   '[axes]\nalpha = [3.0]\n')
    out = tmp_path / "out"
    out.mkdir()
    task = parse_config({"mode": "simulate", "base": {"n": 30, "n_samples": 4, "t_max": 2.0, "replicas": 2,
                                                      "tw": [1.0]}, "axes": {"alpha": [3.0]}}).tasks()[0]
    shutil.copy(_hostile(good, tmp_path, name), out / task.filename)
    assert main(["scan", str(cfg), "-o", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and task.filename in err[0], err


def test_teacher_file_without_m_says_m_is_missing(tmp_path, capsys):
    """It was reported as a shape error of batches/m."""
    path = save(run(Params(t_max=1.0, data="teacher"), ParticleMethod(n=30, n_samples=2)), tmp_path / "t.h5")
    with h5py.File(path, "a") as f:
        del f["m"]
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'m' is missing" in err[0], err


def test_written_files_carry_checksums(good):
    with h5py.File(good) as f:
        assert f["energy"].fletcher32 and f["batches/energy"].fletcher32 and f["gap_hist"].fletcher32
        assert json.loads(f.attrs["config_json"])["alpha"] == POINT.alpha
