"""Odd files and odd configurations (issue 11, class 7): every command that reads a file answers
a damaged or foreign one with exit 2 and one line naming the file and the problem, never a
traceback or a silent result; odd TOML ranges likewise."""

import json
import os
import shutil

import h5py
import numpy as np
import pytest

from dmft import DMFTMethod, Params, ParticleMethod, run
from dmft.app.cli import main
from dmft.app.scan import parse_config
from dmft.core.io import save

POINT = Params(t_max=4.0, tw=(1.0, 2.0), replicas=2)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small simulation (with batches) and a small DMFT file (with kernels)."""
    folder = tmp_path_factory.mktemp("good")
    sim = save(run(POINT, ParticleMethod(n=30, n_samples=4)), folder / "sim.h5")
    th = save(run(POINT, DMFTMethod(n_paths=64, replicates=2)), folder / "th.h5")
    return {"simulation": sim, "dmft": th}


def _attr(name, value):
    def change(f):
        f.attrs[name] = value
    return change


def _delete(name):
    def change(f):
        del f[name]
    return change


def _dataset(name, value):
    def change(f):
        del f[name]
        if isinstance(value, str):
            f.create_group(name)
        else:
            f.create_dataset(name, data=value)
    return change


#: name -> (change, words the error line must hold)
DAMAGE = {
    "config_json not JSON": (_attr("config_json", "{not json"), "invalid settings"),
    "config_json a list": (_attr("config_json", "[1, 2]"), "invalid settings"),
    "unknown kind": (_attr("kind", "foo"), "unknown kind 'foo'"),
    "no status": (lambda f: f.attrs.__delitem__("status"), "no status"),
    "newer format": (_attr("format_version", 99), "format_version 99"),
    "energy wrong shape": (_dataset("energy", np.zeros(5)), "energy must have shape (41,)"),
    "C wrong shape": (_dataset("C", np.zeros(41)), "C must have shape (2, 41)"),
    "tw two-dimensional": (_dataset("tw", np.zeros((1, 2))), "tw"),
    "tw other values": (_dataset("tw", np.array([1.0, 3.0])), "differs from the parameter tw"),
    "t not the grid": (_dataset("t", np.arange(41) * 0.2), "is not the grid"),
    "t missing": (_delete("t"), "lacks the dataset(s) t"),
    "energy a group": (_dataset("energy", "group"), "'/energy' is a group"),
    "energy as text": (_dataset("energy", np.array([b"x"] * 41)), "energy"),
    "batches wrong count": (_dataset("batches/energy", np.zeros((7, 41))), "batch"),
    "gap_hist wrong shape": (_dataset("gap_hist", np.zeros((2, 2))), "gap_hist"),
    "errors_source unknown": (_attr("errors_source", "guesses"), "source must be one of"),
}


def _damaged(good, tmp_path, kind, damage):
    path = str(tmp_path / f"{kind}.h5")
    shutil.copy(good[kind], path)
    with h5py.File(path, "a") as f:
        DAMAGE[damage][0](f)
    return path


def _exit_and_line(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return code, err[0]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", ["info", "teff", "compare", "phase-diagram"])
def test_damaged_file_exit_2_one_line_naming_it(good, tmp_path, capsys, command, damage):
    kind = "dmft" if command == "compare" else "simulation"
    path = _damaged(good, tmp_path, kind, damage)
    if command == "compare":
        argv = ["compare", path, good["simulation"], "-o", str(tmp_path / "fig.png")]
    elif command == "phase-diagram":
        manifest = {"mode": "simulate", "base": {}, "axes": {"alpha": [3.0]},
                    "files": [{"file": "simulation.h5", "kind": "simulation", "coords": {"alpha": 3.0}}]}
        (tmp_path / "scan.json").write_text(json.dumps(manifest))
        argv = ["phase-diagram", str(tmp_path), "-o", str(tmp_path / "pd.png"), "--quantity", "energy"]
    else:
        argv = [command, path]
    code, line = _exit_and_line(capsys, argv)
    assert code == 2 and path in line and DAMAGE[damage][1] in line, line
    assert not any(name.startswith(("fig", "pd")) for name in os.listdir(tmp_path))


def test_scan_resume_refuses_a_damaged_point(tmp_path, capsys):
    cfg = tmp_path / "scan.toml"
    cfg.write_text('mode = "simulate"\n[base]\nn = 30\nn_samples = 2\nt_max = 1.0\n[axes]\nalpha = [1.0, 2.0]\n')
    out = tmp_path / "out"
    assert main(["scan", str(cfg), "-o", str(out), "--workers", "1"]) == 0
    capsys.readouterr()
    name = parse_config({"mode": "simulate", "base": {"n": 30, "n_samples": 2, "t_max": 1.0},
                         "axes": {"alpha": [1.0, 2.0]}}).tasks()[0].filename
    with h5py.File(out / name, "a") as f:    # header intact, a dataset of the wrong shape
        _dataset("energy", np.zeros(3))(f)
    code, line = _exit_and_line(capsys, ["scan", str(cfg), "-o", str(out), "--workers", "1"])
    assert code == 2 and name in line and "damaged" in line and "energy must have shape" in line


def test_phase_diagram_refuses_a_file_that_is_not_its_listed_point(good, tmp_path, capsys):
    shutil.copy(good["simulation"], tmp_path / "x.h5")     # alpha = 3 in the file
    manifest = {"mode": "simulate", "base": {}, "axes": {"alpha": [1.0]},
                "files": [{"file": "x.h5", "kind": "simulation", "coords": {"alpha": 1.0}}]}
    (tmp_path / "scan.json").write_text(json.dumps(manifest))
    code, line = _exit_and_line(capsys, ["phase-diagram", str(tmp_path), "-o", str(tmp_path / "pd.png"),
                                         "--quantity", "energy"])
    assert code == 2 and "x.h5" in line and "alpha = 4.0, listed as 1.0" in line
    assert not (tmp_path / "pd.png").exists()


def test_teff_at_a_non_finite_tw(good, capsys):
    code, line = _exit_and_line(capsys, ["teff", good["simulation"], "--tw", "nan"])
    assert code == 2 and "--tw" in line


@pytest.mark.parametrize("axis, words", [
    ("{ start = 0.5, stop = 1.0, num = -3 }", "'num'"),
    ("{ start = 0.5, stop = 1.0, step = 0 }", "'step'"),
    ('{ start = "a", stop = 1.0, num = 3 }', "'start'"),
    ("{ start = -1e308, stop = 1e308, step = 1 }", "values, more than"),   # was an OverflowError
    ("{ start = 2.0, stop = 1.0, step = 1 }", "empty range"),
    ("{ start = 1.0 }", "range needs"),
])
def test_odd_ranges_exit_2(tmp_path, capsys, axis, words):
    cfg = tmp_path / "scan.toml"
    cfg.write_text(f'mode = "simulate"\n[axes]\nalpha = {axis}\n')
    code, line = _exit_and_line(capsys, ["scan", str(cfg), "-o", str(tmp_path / "out")])
    assert code == 2 and words in line
    assert not (tmp_path / "out").exists()
