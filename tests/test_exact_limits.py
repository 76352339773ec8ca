"""Known exact limits, as one table of cases, each run against both methods.

| case | exact statement |
|---|---|
| `langevin_fdt` | Langevin dynamics at temperature T is in equilibrium: T(s) = (1 - C)/chi = T at every lag (as dt -> 0) |
| `b_one_no_distance` | b = 1 removes the selection noise: two replicas stay at distance 0 |
| `square_ridge_mp` | square loss + ridge + gd is linear: chi(t, tw) = dt sum_j int rho_MP(mu) (1 - dt(lambda + mu))^j |
| `first_order_in_dt` | the update is a first-order scheme: the energy error at fixed t halves with dt |

Each case gives the problem, the settings of both methods and a check of the result that
states its tolerance against the method's own error (the simulations' standard errors, the
DMFT's sampling error at its number of paths, measured as noted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from dmft import DMFTMethod, Params, ParticleMethod, run
from dmft.analysis import fit_teff


@dataclass(frozen=True)
class ExactCase:
    name: str
    params: Params
    methods: dict          # kind -> method
    check: Callable        # check(results: list, kind) raises AssertionError
    variants: tuple = ()   # extra Params changes run with the same methods (their results follow)


def mp_chi(alpha: float, lam: float, dt: float, lags: int, nq: int = 4000) -> np.ndarray:
    """chi(tw + s dt, tw) for s = 0..lags of the linear dynamics, from the Marchenko-Pastur law
    of X^T X / N (edges (1 +- sqrt(alpha))^2, atom 1 - alpha at 0 for alpha < 1)."""
    lp, lm = (1 + np.sqrt(alpha)) ** 2, (1 - np.sqrt(alpha)) ** 2
    c, r = (lp + lm) / 2, (lp - lm) / 2
    th = (np.arange(nq) + 0.5) * np.pi / nq
    mu = c + r * np.cos(th)
    w = r * r * np.sin(th) ** 2 / (2 * np.pi * mu) * (np.pi / nq)
    R = (w[None, :] * (1 - dt * (lam + mu[None, :])) ** np.arange(lags)[:, None]).sum(1)
    if alpha < 1:
        R += (1 - alpha) * (1 - dt * lam) ** np.arange(lags)
    return np.concatenate([[0.0], dt * np.cumsum(R)])


def check_langevin(results, kind):
    """The discrete algorithm at dt has T(s) = T (1 + O(dt)) (measured at T = 0.2, dt = 0.05: 0.216
    at the shortest lags, 0.208 at dt = 0.025); the Richardson extrapolation 2 T_{dt/2}(s) - T_dt(s) removes the
    first order and must equal T within 3 jackknife errors (plus 0.5%) at every stationary lag."""
    T = results[0].params.temperature
    coarse, fine = (fit_teff(r, warn=False) for r in results)
    assert coarse.stationary and fine.stationary, (coarse.stationarity, fine.stationarity)
    a, b = coarse.curve, fine.curve
    assert len(a.lags) >= 50 and np.all(np.isfinite(a.ratio_err)) and np.all(np.isfinite(b.ratio_err))
    T0 = 2 * np.interp(a.lags, b.lags, b.ratio) - a.ratio
    err = np.hypot(2 * np.interp(a.lags, b.lags, b.ratio_err), a.ratio_err)
    assert np.all(np.abs(T0 - T) <= 3 * err + 0.005 * T), np.max(np.abs(T0 - T) / (3 * err + 0.005 * T))
    if kind == "dmft":  # precise enough to see the first-order error itself (the check is not vacuous)
        assert a.ratio[0] - T > 3 * a.ratio_err[0] and abs(b.ratio[0] - T) < abs(a.ratio[0] - T)


def check_no_distance(results, kind):
    tol = 1e-10 if kind == "dmft" else 1e-12
    for r in results[:-1]:
        assert r.ok and np.max(np.abs(r.distance)) < tol, (r.params, np.max(np.abs(r.distance)))
    assert results[-1].distance[-1] > 1e-4   # b = 0.5 does separate them: the check is not vacuous


def check_mp(results, kind):
    r = results[0]
    p = r.params
    kw = p.tw_index[0]
    exact = mp_chi(p.alpha, p.ridge, p.dt, len(r.t) - kw - 1)
    got = r.chi[0, kw:]
    if kind == "dmft":
        np.testing.assert_allclose(got, exact, atol=1e-11)   # exact to round-off
    else:   # finite N: the sample average of H.A.H/N, within 4 sem plus an O(1/N) spectral bias
        # (N = 1000, 16 samples: deviation 0.24 of this tolerance; a 10% error in lambda gives 1.3)
        sem = r.sem["chi"][0, kw:]
        assert np.all(np.abs(got - exact) <= 4 * sem + 0.002 * exact + 1e-12), np.max(np.abs(got - exact) / exact[1:].min())


def check_first_order(results, kind):
    energy = [r.energy[-1] for r in results]   # dt = 0.2, 0.1, 0.05 and the reference 0.025
    err = [abs(e - energy[-1]) for e in energy[:-1]]
    r1, r2 = err[0] / err[1], err[1] / err[2]
    assert 1.4 < r1 < 3.0 and 1.4 < r2 < 3.0, (err, r1, r2)


CASES = [
    ExactCase(
        "langevin_fdt",
        Params(alpha=4.0, delta=0.5, dynamics="langevin", temperature=0.2, dt=0.05, t_max=14.0,
               tw=(7.0, 10.0), replicas=2, seed=2),
        {"dmft": DMFTMethod(n_paths=1024, replicates=4), "simulation": ParticleMethod(n=100, n_samples=48)},
        check_langevin,
        variants=(dict(dt=0.025),)),
    ExactCase(
        "b_one_no_distance",
        Params(alpha=3.0, dynamics="sgd", b=1.0, replicas=2, dt=0.1, t_max=4.0, tw=(1.0,), seed=2),
        {"dmft": DMFTMethod(n_paths=512, replicates=1), "simulation": ParticleMethod(n=80, n_samples=2)},
        check_no_distance,
        variants=(dict(noise_class="gaussian"), dict(dynamics="psgd", tau=1.0), dict(b=0.5))),
    ExactCase(
        "square_ridge_mp",
        Params(alpha=3.0, delta=0.3, loss="square", constraint="ridge", ridge=0.5, dynamics="gd",
               dt=0.1, t_max=5.0, tw=(1.0,), seed=3),
        {"dmft": DMFTMethod(n_paths=1024, history_dtype="float64"),
         "simulation": ParticleMethod(n=1000, n_samples=16)},
        check_mp),
    ExactCase(
        "first_order_in_dt",
        Params(alpha=3.0, delta=0.0, dynamics="gd", dt=0.2, t_max=2.0, seed=0),
        {"dmft": DMFTMethod(n_paths=16384, replicates=1), "simulation": ParticleMethod(n=500, n_samples=1)},
        check_first_order,
        variants=(dict(dt=0.1), dict(dt=0.05), dict(dt=0.025))),
]


#: (case, kind) pairs that take minutes: marked slow (the DMFT's Langevin FDT also runs, shorter,
#: in tests/test_solver_physics.py::test_langevin_fdt_teff_equals_temperature)
SLOW = {("langevin_fdt", "dmft")}


@pytest.mark.parametrize("case, kind", [
    pytest.param(case, kind, id=f"{case.name}-{kind}", marks=[pytest.mark.slow] if (case.name, kind) in SLOW else [])
    for case in CASES for kind in ("dmft", "simulation")])
def test_exact_limit(case, kind):
    method = case.methods[kind]
    results = [run(case.params, method)] + [run(case.params.replace(**v), method) for v in case.variants]
    assert all(r.kind == kind for r in results)
    case.check(results, kind)
