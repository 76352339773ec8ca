"""A scan's inputs and folder (issue 23): it removes only its own temporary files, one point is
one file whatever its spelling, a FIFO is never read as a configuration or a manifest, and odd
configurations (not UTF-8, list-valued or string axes) are one line and exit 2."""

import csv
import json
import os
import threading
import time
from contextlib import contextmanager

import pytest

from dmft.app.cli import main
from dmft.app.scan import parse_config
from dmft.core.methods import DMFTMethod, point_hash
from dmft.core.params import Params

BASE = 'mode = "simulate"\n[base]\nn = 30\nn_samples = 1\nt_max = 1.0\n'


def _config(tmp_path, axes: str, base: str = BASE, name: str = "scan.toml") -> str:
    path = tmp_path / name
    path.write_text(base + "[axes]\n" + axes)
    return str(path)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ----------------------------------------------------------------------------- item 1
def test_scan_removes_only_its_own_temporaries(tmp_path, monkeypatch):
    """Every '.*.tmp' of the output folder was removed (with -o . a project's own files)."""
    cfg = _config(tmp_path, "alpha = [1.0, 2.0]\n")
    out = tmp_path / "out"
    out.mkdir()
    task = parse_config({"mode": "simulate", "base": {"n": 30, "n_samples": 1, "t_max": 1.0},
                         "axes": {"alpha": [1.0, 2.0]}}).tasks()[0]
    theirs = [".notes.tmp", ".draft.h5.abcd1234.tmp", ".0123456789abcdef.h5.abcd1234.tmp"]
    for name in theirs:
        (out / name).write_text("not the scan's")
    ours = out / f".{task.filename}.k3j_a9x0.tmp"   # left by a killed run of this scan
    ours.write_text("partial")
    monkeypatch.chdir(out)
    assert main(["scan", cfg, "-o", ".", "--workers", "1", "-q"]) == 0
    assert not ours.exists()
    for name in theirs:
        assert (out / name).read_text() == "not the scan's"


# ----------------------------------------------------------------------------- item 5
def test_minus_zero_has_the_hash_of_zero():
    assert point_hash(Params(delta=-0.0), DMFTMethod()) == point_hash(Params(delta=0.0), DMFTMethod())
    assert str(Params(delta=-0.0, temperature=-0.0).delta) == "0.0"


@pytest.mark.parametrize("axis", ["delta = [0.0, -0.0]", "alpha = [1, 1.0]",
                                  "alpha = { start = 1, stop = 1, num = 3 }"])
def test_one_point_is_one_file_one_row(tmp_path, capsys, axis):
    """delta = [0.0, -0.0] gave two hashes, two files, two computations of one point."""
    out = tmp_path / "out"
    cfg = _config(tmp_path, axis + "\n")
    assert main(["scan", cfg, "-o", str(out), "--workers", "1", "-q"]) == 0
    assert "1 files, 0 already finished, 1 computed" in capsys.readouterr().out
    assert len([n for n in os.listdir(out) if n.endswith(".h5")]) == 1
    manifest = json.loads((out / "scan.json").read_text())
    assert len(manifest["files"]) == 1 and len(next(iter(manifest["axes"].values()))) == 1
    assert main(["phase-diagram", str(out), "-o", str(tmp_path / "pd.png"), "--quantity", "energy"]) == 0
    with open(tmp_path / "pd.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 1


def test_a_folder_scanned_with_repeated_values_resumes(tmp_path, capsys):
    """A scan.json written when repeats were kept is the same configuration."""
    out = tmp_path / "out"
    cfg = _config(tmp_path, "alpha = [1.0, 1.0, 2.0]\n")
    assert main(["scan", cfg, "-o", str(out), "--workers", "1", "-q"]) == 0
    manifest = json.loads((out / "scan.json").read_text())
    manifest["axes"]["alpha"] = [1.0, 1.0, 2.0]
    (out / "scan.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["scan", cfg, "-o", str(out), "--workers", "1", "-q"]) == 0
    assert "2 already finished" in capsys.readouterr().out


# ----------------------------------------------------------------------------- item 6
@contextmanager
def _unblock(fifo, after: float = 20.0):
    """Opens ``fifo`` for writing after ``after`` s, so that a reader blocked on it (the bug)
    returns and the test fails instead of hanging; yields a list that says whether it had to."""
    done, hung = threading.Event(), []

    def rescue():
        if not done.wait(after):
            hung.append(True)
            fd = os.open(fifo, os.O_RDWR)
            time.sleep(1)
            os.close(fd)

    threading.Thread(target=rescue, daemon=True).start()
    try:
        yield hung
    finally:
        done.set()


def test_fifo_as_the_scan_config_is_refused(tmp_path, capsys):
    fifo = tmp_path / "cfg.toml"
    os.mkfifo(fifo)
    with _unblock(fifo) as hung:
        code = main(["scan", str(fifo), "-o", str(tmp_path / "out")])
    assert not hung and code == 2
    assert "not a regular file" in _one_line(capsys)


@pytest.mark.parametrize("command", ["scan", "phase-diagram"])
def test_fifo_as_scan_json_is_refused(tmp_path, capsys, command):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "scan.json")
    argv = (["scan", _config(tmp_path, "alpha = [1.0]\n"), "-o", str(out), "--workers", "1"] if command == "scan"
            else ["phase-diagram", str(out), "-o", str(tmp_path / "pd.png")])
    with _unblock(out / "scan.json") as hung:
        code = main(argv)
    assert not hung and code == 2
    assert "not a regular file" in _one_line(capsys)
    assert sorted(os.listdir(out)) == ["scan.json"]


# ----------------------------------------------------------------------------- item 12
def test_config_that_is_not_utf8(tmp_path, capsys):
    cfg = tmp_path / "scan.toml"
    cfg.write_bytes(BASE.encode() + b"# \xff\xfe caf\xe9\n[axes]\nalpha = [1.0]\n")
    assert main(["scan", str(cfg), "-o", str(tmp_path / "out")]) == 2
    assert "not UTF-8" in _one_line(capsys)
    assert not (tmp_path / "out").exists()


def test_list_valued_axis_is_refused(tmp_path, capsys):
    """tw = [[1, 2], [3]] was accepted by scan and crashed phase-diagram."""
    cfg = _config(tmp_path, "tw = [[0.2, 0.5], [0.7]]\n")
    assert main(["scan", cfg, "-o", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert "axis 'tw'" in line and "[base]" in line
    assert not (tmp_path / "out").exists()


def test_phase_diagram_of_a_folder_with_a_list_valued_axis(tmp_path, capsys):
    manifest = {"mode": "simulate", "base": {}, "axes": {"tw": [[0.2, 0.5], [0.7]]}, "files": []}
    (tmp_path / "scan.json").write_text(json.dumps(manifest))
    assert main(["phase-diagram", str(tmp_path), "-o", str(tmp_path / "pd.png")]) == 2
    assert "axis 'tw'" in _one_line(capsys)


def test_phase_diagram_over_a_string_axis_names_it(tmp_path, capsys):
    """It said 'could not convert string to float' without naming the axis."""
    out = tmp_path / "out"
    cfg = _config(tmp_path, 'dynamics = ["sgd", "gd"]\nalpha = [1.0, 2.0]\n')
    assert main(["scan", cfg, "-o", str(out), "--workers", "1", "-q"]) == 0
    capsys.readouterr()
    assert main(["phase-diagram", str(out), "-o", str(tmp_path / "pd.png"), "--quantity", "energy"]) == 2
    line = _one_line(capsys)
    assert "axis 'dynamics'" in line and "--slice dynamics=sgd" in line
    assert main(["phase-diagram", str(out), "-o", str(tmp_path / "pd.png"), "--quantity", "energy",
                 "--slice", "dynamics=gd"]) == 0
