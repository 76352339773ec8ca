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
