"""Running scans: files per point, resume after kill -9, diverged points, Dask, phase diagrams."""

import csv
import glob
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dmft.analysis.phase_diagram import phase_diagram
from dmft.app.scan import parse_config, run_scan
from dmft.core.io import load

TINY = {"dynamics": "sgd", "n": 40, "n_samples": 1, "t_max": 2.0, "dt": 0.1, "tw": [1.0]}


def _mtimes(folder):
    return {p: os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(folder, "*.h5"))}


def test_scan_writes_one_file_per_point_and_resumes(tmp_path):
    cfg = parse_config({"mode": "simulate", "base": TINY, "axes": {"alpha": [1.0, 3.0], "b": [0.5, 1.0]}})
    out = tmp_path / "scan"
    s1 = run_scan(cfg, str(out), workers=2)
    assert (s1.total, s1.done, s1.failed, s1.skipped) == (4, 4, 0, 0)
    files = sorted(os.listdir(out))
    assert files == sorted([t.name for t in cfg.tasks()] + ["scan.json"])
    for t in cfg.tasks():
        r = load(out / t.name)
        assert r.params == t.params and r.method == t.method and r.status == "ok"
    before = _mtimes(out)
    s2 = run_scan(cfg, str(out), workers=2)
    assert (s2.skipped, s2.done) == (4, 0)
    assert _mtimes(out) == before


def test_diverged_point_is_recorded_and_scan_goes_on(tmp_path):
    base = dict(TINY, loss="square", constraint="ridge", dynamics="gd", tw=[], t_max=3000.0)
    cfg = parse_config({"mode": "simulate", "base": base, "axes": {"dt": [0.1, 10.0]}})
    s = run_scan(cfg, str(tmp_path), workers=1)
    assert s.failed == 0 and s.done == 2 and s.diverged == 1
    statuses = sorted(load(tmp_path / t.name).status for t in cfg.tasks())
    assert statuses == ["diverged", "ok"]
    again = run_scan(cfg, str(tmp_path), workers=1)
    assert again.skipped == 2 and again.done == 0


def test_kill_minus_nine_then_resume(tmp_path):
    config = tmp_path / "scan.toml"
    config.write_text(textwrap.dedent("""
        mode = "simulate"
        [base]
        dynamics = "sgd"
        n = 500
        n_samples = 2
        t_max = 20.0
        dt = 0.1
        tw = [5.0]
        [axes]
        alpha = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
        b = [0.5]
    """))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dmft", "scan", str(config), "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(glob.glob(str(out / "*.h5"))) < 1:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = _mtimes(out)
    assert 1 <= len(first) < 6, "the kill should land mid-scan"
    for p in first:  # whatever exists under a final name is complete
        assert load(p).status == "ok"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = _mtimes(out)
    assert len(after) == 6
    assert all(after[p] == m for p, m in first.items()), "finished points were redone"
    assert not glob.glob(str(out / ".*.tmp"))
    assert f"{len(first)} already finished" in done.stdout


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    cfg = parse_config({"mode": "simulate", "base": TINY, "axes": {"b": [0.4, 0.8]}})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        s = run_scan(cfg, str(tmp_path), dask_address=cluster.scheduler_address)
    assert s.done == 2 and s.failed == 0
    for t in cfg.tasks():
        assert load(tmp_path / t.name).status == "ok"


def test_phase_diagram_figure_and_table(tmp_path):
    base = dict(TINY, t_max=3.0, replicas=2)
    cfg = parse_config({"mode": "simulate", "base": base, "axes": {"alpha": [1.0, 3.0], "delta": [0.0, 0.5]}})
    run_scan(cfg, str(tmp_path / "scan"), workers=2)
    fig, table = phase_diagram(str(tmp_path / "scan"), str(tmp_path / "pd.png"), quantity="energy")
    assert os.path.getsize(fig) > 10_000
    with open(table) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    for row in rows:
        r = load(tmp_path / "scan" / row["file"])
        assert float(row["energy"]) == pytest.approx(r.energy[-1])
        assert float(row["alpha"]) == r.params.alpha
    # runs this short have no long-time distance anywhere: refused, not drawn empty
    with pytest.raises(ValueError, match="no finite value of distance.*run longer"):
        phase_diagram(str(tmp_path / "scan"), str(tmp_path / "pd2.png"), quantity="distance")
    assert not glob.glob(str(tmp_path / "pd2.*"))


def test_solve_scan_files_have_no_kernels(tmp_path):
    dmft_base = {k: v for k, v in TINY.items() if k not in ("n", "n_samples")}
    cfg = parse_config({"mode": "solve", "base": dict(dmft_base, n_paths=256), "axes": {"b": [0.5]}})
    s = run_scan(cfg, str(tmp_path), workers=1)
    assert s.done == 1 and s.failed == 0
    r = load(tmp_path / cfg.tasks()[0].name)
    assert r.kind == "dmft" and r.status == "ok" and r.kernels == {}


def test_phase_diagram_and_compare_of_teacher_data(tmp_path, monkeypatch):
    """--quantity gen_error / m map the teacher observables at t_max (the same numbers as the
    files); random data has none (refused, not drawn empty); compare adds the eps_g and m panels."""
    from dmft.analysis import figures
    from dmft.app.cli import main

    base = dict(TINY, t_max=3.0, data="teacher")
    cfg = parse_config({"mode": "simulate", "base": base, "axes": {"alpha": [1.0, 3.0], "delta": [0.0, 0.5]}})
    run_scan(cfg, str(tmp_path / "scan"), workers=1)
    for quantity in ("gen_error", "m"):
        _, table = phase_diagram(str(tmp_path / "scan"), str(tmp_path / f"{quantity}.png"), quantity=quantity)
        with open(table) as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 4
        for row in rows:
            r = load(tmp_path / "scan" / row["file"])
            assert float(row[quantity]) == pytest.approx(r.extra[quantity][-1])
    rnd = parse_config({"mode": "simulate", "base": dict(TINY, t_max=3.0), "axes": {"alpha": [1.0, 3.0],
                                                                                 "delta": [0.0, 0.5]}})
    run_scan(rnd, str(tmp_path / "random"), workers=1)
    with pytest.raises(ValueError, match="no finite value of gen_error"):
        phase_diagram(str(tmp_path / "random"), str(tmp_path / "r.png"), quantity="gen_error")

    # the injected-noise strength is a scan axis like any parameter (a plane noise_var x alpha)
    inj = parse_config({"mode": "solve", "base": dict(t_max=2.0, dt=0.2, n_paths=256, data="teacher",
                                                      dynamics="injected", b=1.0, noise_class="gamma"),
                        "axes": {"alpha": [1.0, 3.0], "noise_var": [0.0, 2.0]}})
    run_scan(inj, str(tmp_path / "inj"), workers=1)
    _, table = phase_diagram(str(tmp_path / "inj"), str(tmp_path / "inj.png"), quantity="gen_error")
    with open(table) as fh:
        rows = list(csv.DictReader(fh))
    assert sorted((float(r["alpha"]), float(r["noise_var"])) for r in rows) == [(1, 0), (1, 2), (3, 0), (3, 2)]
    assert {load(tmp_path / "inj" / r["file"]).params.noise_var for r in rows} == {0.0, 2.0}

    p = dict(alpha=2.0, delta=0.2, data="teacher", dynamics="sgd", b=0.5, dt=0.1, t_max=2.0, tw=(1.0,))
    assert main(["solve", *_flags(p), "--n-paths", "256", "--replicates", "2", "-o", str(tmp_path / "th.h5")]) == 0
    assert main(["simulate", *_flags(p), "--n", "50", "--n-samples", "2", "-o", str(tmp_path / "sm.h5")]) == 0
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path, dpi: drawn.append(fig) or path)
    assert main(["compare", str(tmp_path / "th.h5"), str(tmp_path / "sm.h5"), "-o", str(tmp_path / "c.png")]) == 0
    labels = [ax.get_ylabel() for ax in drawn[0].axes]
    assert any("generalisation error" in y for y in labels) and any("teacher overlap" in y for y in labels)


def _flags(p: dict) -> list:
    out = []
    for key, value in p.items():
        flag = "--" + key.replace("_", "-")
        out += [flag, ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    return out
