"""A SAT run stops marching once it is frozen (issue 20): no path of any replica has a violated
constraint, so every later step is the identity, and the rest of the grid is filled with the
frozen state.  The filled grid equals a full march to round-off.

Gradient descent with the quadratic hinge freezes only where something pushes its contacts across
``h = 0`` (with the block or the exact response they approach ``h = 0-`` for ever, as in the
simulations): the probe estimator's noise does (``docs/generalisation.md`` section 6), so these
checks of the mechanism use it."""

import numpy as np
import pytest

from dmft import DMFTMethod, Params
from dmft.solver import steps
from dmft.solver.assemble import solve

SAT_GD = Params(alpha=0.5, delta=0.5, dynamics="gd", dt=0.2, t_max=60.0, tw=(10.0, 20.0), replicas=2, seed=3)
METHOD = DMFTMethod(n_paths=512, replicates=2, exact_lags=8, response="probe")


@pytest.fixture(scope="module")
def runs():
    stopped = solve(SAT_GD, METHOD)
    original = steps.frozen
    steps.frozen = lambda state, k: False
    try:
        full = solve(SAT_GD, METHOD)
    finally:
        steps.frozen = original
    return stopped, full


def test_frozen_run_stops_and_says_when(runs):
    stopped, full = runs
    frozen_at = stopped.meta["frozen_at"]   # per replicate, NaN where it did not freeze by t_max
    assert len(frozen_at) == 2 and any(0 < t < SAT_GD.t_max for t in frozen_at)
    assert "frozen_at" not in full.meta
    if all(np.isfinite(frozen_at)):
        k = int(round(max(frozen_at) / SAT_GD.dt))
        assert stopped.energy[k] == 0.0 and stopped.frac_unsat[k] == 0.0


def test_filled_grid_equals_the_full_march(runs):
    stopped, full = runs
    for name in ("energy", "frac_unsat", "nu", "distance"):
        np.testing.assert_allclose(getattr(stopped, name), getattr(full, name), rtol=0, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(stopped.C, full.C, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stopped.chi, full.chi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stopped.extra["gap_hist"], full.extra["gap_hist"], rtol=0, atol=1e-12)
    for name in ("C", "R", "C12"):
        np.testing.assert_allclose(stopped.kernels[name], full.kernels[name], rtol=0, atol=1e-12, err_msg=name)


def test_a_violated_constraint_is_not_frozen():
    """SGD at the same point still has violated constraints at t = 10 (energy > 0): no stop."""
    r = solve(SAT_GD.replace(dynamics="sgd", b=0.5, t_max=10.0, tw=()), METHOD.replace(replicates=1))
    assert "frozen_at" not in r.meta and r.energy[-1] > 0
