"""The default job runs end to end (at reduced sizes) and writes what it promises."""

import os

from dmft.app.demo import DEMO_POINTS, run_demo
from dmft.core.io import load


def test_demo_small(tmp_path, capsys):
    small = dict(n=200, n_samples=2, n_paths=512, t_max=12.0, tw=(4.0, 8.0))
    out = run_demo(str(tmp_path), base=small)
    printed = capsys.readouterr().out
    assert set(out) == set(DEMO_POINTS)
    for name, entry in out.items():
        theory, sim = load(entry["theory"]), load(entry["simulation"])
        assert theory.kind == "dmft" and sim.kind == "simulation"
        assert theory.params == sim.params and theory.params.dynamics == name
        assert os.path.getsize(entry["figure"]) > 20_000
    assert os.path.exists(tmp_path / "gaps.png")
    assert "T_eff" in printed and "compare.png" in printed
