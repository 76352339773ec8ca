"""Divergence is a result, detected alike by the solver and the simulations (issue 11, class 5):
a non-finite or runaway energy (dmft.core.divergence) gives status = diverged with a message."""

import math

import numpy as np
import pytest

from dmft import DMFTMethod, Params, ParticleMethod, run
from dmft.app.cli import main
from dmft.core.divergence import RUNAWAY_FACTOR, energy_limit, runaway

#: the issue's reproducer: gradient descent on the square loss with ridge, dt far above stability
UNSTABLE = Params(constraint="ridge", loss="square", dt=5.0, t_max=400.0, tw=(5.0,))


def test_runaway_rule():
    p = Params(alpha=2.0, delta=1.0)
    assert energy_limit(p, 0.0) == pytest.approx(RUNAWAY_FACTOR * 2.0)    # alpha (1 + delta^2)/2 = 2
    assert energy_limit(p, 10.0) == pytest.approx(RUNAWAY_FACTOR * 10.0)
    assert runaway(p, 1.9e6, 0.0) is None
    assert "ran away" in runaway(p, 2.1e6, 0.0)
    assert "not finite" in runaway(p, math.inf, 0.0) and "not finite" in runaway(p, math.nan, 0.0)


def test_unstable_simulation_is_diverged_not_ok():
    """It was stored as status = ok with energy 9.9e196 and inf in energy_sem."""
    r = run(UNSTABLE, ParticleMethod(n=100, n_samples=2))
    assert r.status == "diverged"
    assert "ran away" in r.meta["message"] and "t = 15" in r.meta["message"]
    stop = int(np.argmax(np.isnan(r.energy)))
    assert 0 < stop < 10 and np.all(np.isfinite(r.energy[:stop])) and np.all(np.isnan(r.energy[stop:]))
    assert not np.any(np.isinf(r.sem["energy"]))


def test_unstable_solve_is_diverged_before_overflow():
    """With t_max = 40 it ended ok with energy 5.6e41 (the old threshold was C(t,t) > 1e60)."""
    r = run(UNSTABLE.replace(t_max=40.0), DMFTMethod(n_paths=256, replicates=1))
    assert r.status == "diverged" and "ran away" in r.meta["message"]
    assert np.nanmax(r.energy) < energy_limit(UNSTABLE, r.energy[0])


@pytest.mark.parametrize("method", [DMFTMethod(n_paths=256, replicates=1), ParticleMethod(n=100, n_samples=1)],
                         ids=["dmft", "simulation"])
def test_stable_run_with_the_same_physics_is_ok(method):
    r = run(UNSTABLE.replace(dt=0.1, t_max=20.0), method)
    assert r.status == "ok"


def test_cli_reports_diverged_and_teff_says_so(tmp_path, capsys):
    out = str(tmp_path / "o.h5")
    assert main(["simulate", "--constraint", "ridge", "--loss", "square", "--dt", "5", "--t-max", "400",
                 "--n", "100", "--n-samples", "2", "--tw", "5", "-o", out]) == 0   # a result, not an error
    assert "status=diverged" in capsys.readouterr().out
    assert main(["teff", out]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "math domain" not in err and len(err.strip().splitlines()) == 1
