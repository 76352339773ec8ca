"""Scans refuse what they cannot do before writing anything (issue 11): another run in the
folder, a foreign file under a point's name, a scan.json of another configuration or of the wrong
shape, an output that is not a folder, an unreachable Dask scheduler; Dask task keys are unique
per run and a point whose file did not appear is a failure."""

import fcntl
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from dmft.app import runner
from dmft.app.cli import main
from dmft.app.scan import parse_config, run_scan

TINY = {"dynamics": "sgd", "n": 30, "n_samples": 1, "t_max": 1.0, "dt": 0.1}
CONFIG = 'mode = "simulate"\n[base]\nn = 30\nn_samples = 1\nt_max = 1.0\n[axes]\nalpha = [1.0, 2.0]\n'


def _scan(tmp_path, text=CONFIG, name="scan.toml"):
    cfg = tmp_path / name
    cfg.write_text(text)
    return str(cfg)


def _err_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _snapshot(folder):
    return {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in os.listdir(folder)}


def test_worker_whose_parent_is_gone_exits_at_start():
    """A worker still starting when the scan was killed is re-parented; it must end, not compute."""
    code = "from dmft.app.runner import _die_with_parent; _die_with_parent(1); print('alive')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "alive" not in r.stdout and "Traceback" not in r.stderr, r.stderr


def test_second_run_in_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as a running scan holds it
        assert main(["scan", _scan(tmp_path), "-o", str(out), "--workers", "1"]) == 2
    finally:
        os.close(fd)
    assert "another run" in _err_line(capsys)
    assert os.listdir(out) == []


def test_foreign_file_under_a_points_name_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = _scan(tmp_path)
    assert main(["scan", cfg, "-o", str(out), "--workers", "1"]) == 0
    a, b = [t.filename for t in parse_config({"mode": "simulate", "base": TINY,
                                               "axes": {"alpha": [1.0, 2.0]}}).tasks()]
    os.replace(out / a, out / b)          # the alpha = 1 result under the alpha = 2 name
    (out / a).write_text("not a result")  # and garbage under the alpha = 1 name
    capsys.readouterr()
    before = _snapshot(out)
    assert main(["scan", cfg, "-o", str(out), "--workers", "1"]) == 2
    line = _err_line(capsys)
    assert "2 file(s)" in line and a in line
    assert _snapshot(out) == before, "nothing may be written or recomputed"


def test_scan_json_of_another_config_or_wrong_shape_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["scan", _scan(tmp_path), "-o", str(out), "--workers", "1"]) == 0
    other = _scan(tmp_path, CONFIG.replace("t_max = 1.0", "t_max = 2.0"), "other.toml")
    capsys.readouterr()
    before = _snapshot(out)
    assert main(["scan", other, "-o", str(out), "--workers", "1"]) == 2
    line = _err_line(capsys)
    assert "another configuration" in line and "base.t_max" in line and "--force" in line
    assert _snapshot(out) == before
    for text in ('{"axes": [1], "files": 3}', "[1, 2]", "not json"):
        (out / "scan.json").write_text(text)
        assert main(["scan", _scan(tmp_path), "-o", str(out), "--workers", "1"]) == 2
        assert "scan.json" in _err_line(capsys)
        assert (out / "scan.json").read_text() == text
    # told explicitly, the scan replaces scan.json and computes its own points
    assert main(["scan", other, "-o", str(out), "--workers", "1", "--force"]) == 0
    assert json.loads((out / "scan.json").read_text())["base"]["t_max"] == 2.0


@pytest.mark.parametrize("make", ["file", "empty"])
def test_scan_output_that_is_not_a_folder(tmp_path, capsys, make):
    if make == "file":
        out = tmp_path / "f"
        out.write_text("x")
    else:
        out = ""
    assert main(["scan", _scan(tmp_path), "-o", str(out), "--workers", "1"]) == 2
    assert "folder" in _err_line(capsys)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["nonsense", "tcp://127.0.0.1:{port}"])
def test_unreachable_dask_scheduler_exit_2_at_once_nothing_written(tmp_path, capsys, address):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "out"
    start = time.perf_counter()
    code = main(["scan", _scan(tmp_path), "-o", str(out), "--dask", address.format(port=_closed_port())])
    assert code == 2
    assert time.perf_counter() - start < runner.DASK_TIMEOUT + 5
    assert "Dask scheduler" in _err_line(capsys)
    assert not out.exists()


def test_dask_keys_unique_per_run_and_missing_files_fail(tmp_path, monkeypatch, capsys):
    distributed = pytest.importorskip("dask.distributed")
    keys = []
    submit = distributed.Client.submit

    def recording_submit(self, *args, **kw):
        keys.append(kw.get("key"))
        return submit(self, *args, **kw)

    monkeypatch.setattr(distributed.Client, "submit", recording_submit)
    cfg = parse_config({"mode": "simulate", "base": TINY, "axes": {"alpha": [1.0, 2.0]}})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        first = run_scan(cfg, str(tmp_path / "a"), dask_address=address, log=None)
        second = run_scan(cfg, str(tmp_path / "b"), dask_address=address, log=None)
        assert first.done == second.done == 2
        assert len(set(keys)) == 4, "two runs of one grid must not share task keys"
        assert sorted(os.listdir(tmp_path / "a")) == sorted(os.listdir(tmp_path / "b"))
        # workers that do not share the folder: the files never appear
        monkeypatch.setattr(runner, "save", lambda result, path, **kw: path)
        capsys.readouterr()
        assert main(["scan", _scan(tmp_path), "-o", str(tmp_path / "c"), "--dask", address]) == 1
    out = capsys.readouterr().out
    assert "2 failed" in out and "no finished file appeared" in out
