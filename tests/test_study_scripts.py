"""The study scripts run end to end at --quick sizes and write what their docstrings promise
(their numbers are meaningless at these sizes; docs/effective-noise.md has the real run)."""

import os

from dmft.app.studies import effective_noise


def test_effective_noise_quick(tmp_path):
    data = effective_noise.run(str(tmp_path), quick=True, workers=1)
    for name in ("tables.md", "results.csv", "map.csv", "calibration.csv", "calibration_runs.csv",
                 "dt_runs.csv", "unsat_summary.png", "fdt_ratio.png", "sat_distance.png", "map.png",
                 "dt_limit.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    assert {r["phase"] for r in data["scans"]} == {"unsat", "sat"}
    assert {r["noise_class"] for r in data["scans"]} == {"bernoulli", "gaussian"}
    # a re-run computes nothing (every point is cached by its hash)
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    effective_noise.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes


def test_precision_study_tiny(tmp_path, monkeypatch, capsys):
    """The precision study at a tiny point: every part runs, prints its tables, caches each run,
    and a re-run computes nothing."""
    from dmft.app.studies import precision

    tiny = dict(params=dict(alpha=1.0, delta=0.0, dynamics="sgd", b=0.7, dt=0.1, t_max=2.0, tw=(1.0,),
                            replicas=2), lags=(0.5,), times=(1.0, 2.0), n_paths=256)
    monkeypatch.setitem(precision.POINTS, "tiny", tiny)
    monkeypatch.setitem(precision.SIMS, "tiny", [(50, 2)])
    monkeypatch.setattr(precision, "N_SEEDS", 3)
    args = ["-o", str(tmp_path), "--points", "tiny", "--parts", "seeds,budget,sims,bias", "--runs", "2"]
    precision.main(args)
    out = capsys.readouterr().out
    assert "3 seeds at the tiny point" in out and "gain at equal time" in out
    assert "budget at the tiny point" in out and "probe varies" in out
    assert "simulations at the tiny point" in out and "d@1" in out
    assert "bias at the tiny point" in out and "combined error" in out
    runs = sorted(os.listdir(tmp_path / "runs"))
    assert len(runs) == 2 * 3 + 2 * 5 * 2 + 1
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in runs}
    precision.main(args)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in runs} == mtimes
