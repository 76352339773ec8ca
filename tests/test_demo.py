"""The default job runs end to end (at reduced sizes) and writes what it promises."""

import json
import math
import os

import pytest

from dmft.analysis import fit_teff
from dmft.app.demo import DEMO_POINTS, report, run_demo
from dmft.core import progress
from dmft.core.io import load

SMALL_POINTS = {
    "unsat": {**DEMO_POINTS["unsat"], "t_max": 40.0, "tw": (20.0, 30.0)},
    "sat": {**DEMO_POINTS["sat"], "t_max": 25.0},
}
SMALL_METHODS = {"dmft": dict(n_paths=512, replicates=3), "simulation": dict(n=200, n_samples=4)}


def _same(stored, value) -> bool:
    """JSON keeps NaN as null."""
    return (stored is None and math.isnan(value)) or stored == pytest.approx(value, rel=1e-12)


def test_demo_small(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.02)  # shorter than starting a worker process
    caplog.set_level("INFO", logger="dmft")
    out = run_demo(str(tmp_path), points=SMALL_POINTS, methods=SMALL_METHODS)
    printed = "\n".join(report(out, str(tmp_path)))
    assert "[4/4]" in caplog.text  # a line per finished run, through logging
    assert "tasks: 0/4 finished" in caplog.text  # and a heartbeat while the workers compute
    assert set(out) == set(DEMO_POINTS)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name, entry in out.items():
        theory, sim = load(entry["theory"]), load(entry["simulation"])
        assert theory.kind == "dmft" and sim.kind == "simulation"
        assert theory.params == sim.params and theory.params.dynamics == "sgd"
        assert theory.errors is not None and theory.errors.source == "replicates"
        assert os.path.getsize(entry["figure"]) > 20_000
        for kind, r in (("dmft", theory), ("simulation", sim)):
            if len(r.tw):  # the summary holds exactly what fit_teff gives for the written file
                t = summary[name][kind]["teff"]
                est = fit_teff(r, warn=False)
                assert t["stationary"] == est.stationary and t["tw"] == est.tw
                for key in ("T_eff", "T_short", "T_static"):
                    assert _same(t[key], getattr(est, key)), key
                for key in ("T_eff", "T_eff_err", "tw", "window", "definition", "stationary", "T_short",
                            "T_short_err", "T_static", "T_static_err"):
                    assert key in t
            if r.distance is not None:
                assert "d_inf" in summary[name][kind]["distance"]
    assert os.path.exists(tmp_path / "gaps.png")
    # each run is written once: the readable names are second names of the cached files
    cached = {os.stat(tmp_path / "runs" / f).st_ino for f in os.listdir(tmp_path / "runs") if f.endswith(".h5")}
    assert {os.stat(entry[k]).st_ino for entry in out.values() for k in ("theory", "simulation")} == cached
    assert "T_eff" in printed and "d_inf" in printed and "summary.json" in printed
