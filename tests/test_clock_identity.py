"""An exact identity between the two normalisations (docs/conventions.md section 2).

On the sphere at ``T = 0`` one step of ``normalization = sum`` at ``(b, dt)`` is
``w - dt sum_mu s_mu v'(h_mu) xi^mu / sqrt(N)``; one step of ``normalization = mean`` at
``(b, b dt)`` is ``w - b dt sum_mu (s_mu / b) v'(h_mu) xi^mu / sqrt(N)``: the same step.  With the
same selection variables per step (psgd: ``tau -> b tau``, the same switching probabilities
``dt / tau`` per step) the two runs are one run read on two clocks, ``t_mean = b t_sum``: every
one-time quantity, ``C`` and the replica distance agree step by step, and the integrated response
to a field added to the update as ``dt H`` is ``chi_mean = b chi_sum``, so ``T_eff`` of the mean
normalisation at step ``b dt`` is ``T_eff(sum) / b``.  The ``b-sum`` curve of the dense study is
therefore the ``b-mean`` curve at the learning rate ``b dt`` (docs/effective-noise.md).

Both methods are checked, the DMFT with settings counted in steps (``exact_lags`` explicit:
its default is a time, 6.4, and would differ between ``dt`` and ``b dt``)."""

import numpy as np
import pytest

import dmft
from dmft import DMFTMethod, Params, ParticleMethod

B, DT, T_MAX = 0.5, 0.1, 6.0

METHODS = {"simulation": ParticleMethod(n=200, n_samples=2),
           "dmft": DMFTMethod(n_paths=512, replicates=2, exact_lags=16, memory_window=0, extrapolation_paths=0)}


def on_two_clocks(**physics):
    s = Params(**{"alpha": 2.0, "delta": 0.5, "b": B, "dt": DT, "t_max": T_MAX, "seed": 5, **physics})
    scale = dict(dt=DT * B, t_max=T_MAX * B)
    if s.replicas == 1:
        scale["tw"] = tuple(B * tw for tw in s.tw)
    if s.dynamics == "psgd":
        scale["tau"] = s.tau * B
    return s, s.replace(normalization="mean", **scale)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dynamics", ["sgd", "psgd"])
def test_sum_at_dt_is_mean_at_b_dt(method, dynamics):
    ps, pm = on_two_clocks(dynamics=dynamics, tau=2.0, tw=(2.0, 3.0))
    rs, rm = dmft.run(ps, METHODS[method]), dmft.run(pm, METHODS[method])
    assert np.allclose(rm.t, B * rs.t, rtol=0, atol=1e-12)
    for name in ("energy", "frac_unsat"):
        assert np.array_equal(getattr(rs, name), getattr(rm, name)), name
    assert np.array_equal(rs.C, rm.C, equal_nan=True)
    # the field enters as dt H: the mean clock's response is b times the sum clock's; the
    # simulation's response is a finite difference (field_eps), exact to its rounding
    tol = 0.0 if method == "dmft" else 1e-7
    assert np.nanmax(np.abs(rs.chi)) > 0.5
    np.testing.assert_allclose(rm.chi, B * rs.chi, rtol=tol, atol=tol)
    # and a clock of another speed is another run: the identity is not a tautology of the test
    other = dmft.run(pm.replace(dt=DT * 0.6, t_max=T_MAX * 0.6, tw=tuple(0.6 * tw for tw in ps.tw)),
                     METHODS[method])
    assert not np.array_equal(other.energy, rs.energy)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_replica_distance_on_two_clocks(method):
    ps, pm = on_two_clocks(alpha=0.5, replicas=2)
    rs, rm = dmft.run(ps, METHODS[method]), dmft.run(pm, METHODS[method])
    assert np.nanmax(rs.distance) > 1e-4
    assert np.array_equal(rs.distance, rm.distance)
    assert np.array_equal(rs.energy, rm.energy)
