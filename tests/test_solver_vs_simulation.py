"""DMFT against direct simulations (slow): gd, sgd (b = 0.5), psgd at alpha = 3, Delta = 0."""

import numpy as np
import pytest

import dmft
from dmft import Params, simulate


@pytest.mark.slow
@pytest.mark.parametrize("dynamics", ["gd", "sgd", "psgd"])
def test_dmft_matches_simulation(dynamics):
    base = dict(alpha=3.0, delta=0.0, dynamics=dynamics, b=0.5, tau=1.0, dt=0.1, t_max=20.0,
                tw=(5.0,), seed=3)
    sim = simulate(Params(**base), n=2000, n_samples=4)
    th = dmft.solve(Params(**base), n_paths=16384)
    assert th.status == "ok"
    idx = [10, 50, 100, 200]
    rel = np.abs(th.energy[idx] / sim.energy[idx] - 1)
    # finite N = 2000 and sampling of both sides: a few percent
    assert np.all(rel < 0.08), rel
    m = ~np.isnan(sim.C[0])
    assert np.max(np.abs(th.C[0, m] - sim.C[0, m])) < 0.03
    j = np.arange(60, 201)  # t - tw >= 1
    assert np.max(np.abs(th.chi[0, j] / sim.chi[0, j] - 1)) < 0.08


@pytest.mark.slow
@pytest.mark.parametrize("dynamics", ["sgd", "psgd"])
def test_replica_distance_matches_simulation(dynamics):
    base = dict(alpha=3.0, delta=0.0, dynamics=dynamics, b=0.5, tau=1.0, dt=0.1, t_max=20.0,
                replicas=2, seed=1)
    sim = simulate(Params(**base), n=2000, n_samples=2)
    th = dmft.solve(Params(**base), n_paths=16384)
    assert th.status == "ok"
    idx = [5, 10, 20, 50, 100]
    rel = np.abs(th.distance[idx] / sim.distance[idx] - 1)
    assert np.all(rel < 0.12), rel


@pytest.mark.parametrize("delta", [-0.5, 0.5])
def test_nonzero_margin_matches_simulation(delta):
    """Fast guard on the sign conventions of the margin: DMFT (8192 paths x 4 replicates) and
    simulation (N = 2000, 6 samples) at Delta != 0 agree within 3 combined standard errors
    (measured at Delta = -0.5: 1.4-1.5 sigma, energies 4-7% apart with 2.5-4.5% errors)."""
    base = dict(alpha=2.0, delta=delta, dynamics="sgd", b=0.5, dt=0.1, t_max=5.0, seed=2)
    th = dmft.solve(Params(**base), n_paths=8192)
    sim = simulate(Params(**base), n=2000, n_samples=6)
    idx = [10, 30, 50]
    for name in ("energy", "frac_unsat"):
        a, b = getattr(th, name)[idx], getattr(sim, name)[idx]
        err = np.hypot(th.sem[name][idx], sim.sem[name][idx])
        assert np.all(np.abs(a - b) < 3 * err), (name, a, b, err)
    # the margin moves the fraction of violated constraints a lot: a wrong sign cannot pass
    assert abs(th.frac_unsat[0] - sim.frac_unsat[0]) < 0.02
