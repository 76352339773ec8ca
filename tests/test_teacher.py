"""Teacher-student data (``data = teacher``): labels, the teacher variables of the DMFT, exact
limits (m(0) = 0, eps_g(0) = 1/2, the linear square-loss/ridge/gd dynamics through the
Marchenko-Pastur law), files, and DMFT against simulations (docs/dmft-derivation.md section 9)."""

import math

import numpy as np
import pytest

import dmft
from dmft import Params
from dmft.core.io import load, save
from dmft.core.model import generalisation_error
from dmft.simulations.particles import label_with_teacher
from dmft.solver.inputs import orthogonal_to, stratified_normal, teacher_law_quantile, teacher_variables

F64 = dict(history_dtype="float64")
ONE_TIME = ("energy", "frac_unsat", "m", "gen_error")


def series(r, name):
    return r.extra[name] if name in ("m", "gen_error") else getattr(r, name)


def mp_teacher(alpha, lam, dt, delta, label_noise, steps, nq=4000):
    """Exact m(t_k) and C(t_k, t_k) of square loss + ridge + gd on teacher data, N -> infinity.

    The update is linear, w(k+1) = B w(k) + dt Delta b with B = 1 - dt (lam + S), S = X^T X/N,
    b = sum_mu y_mu x^mu/sqrt(N) (the labels enter only through b: (u - Delta) xi = (x.w) x/sqrt(N)
    - Delta y x).  With q_k(S) = dt sum_{j<k} B^j = (1 - B^k)/(lam + S) and y = kappa v + r
    (v = X w*/sqrt(N), kappa = E[y v] = (1 - 2 eps) sqrt(2/pi), r uncorrelated with v):

        m(k)   = Delta kappa int rho(mu) mu q_k(mu)
        C(k,k) = int rho B^{2k} + Delta^2 int rho [kappa^2 mu^2 + (1 - kappa^2) mu] q_k(mu)^2

    rho the Marchenko-Pastur law of S (edges (1 +- sqrt(alpha))^2, an atom 1 - alpha at 0 when
    alpha < 1), midpoint rule in mu = c + r cos(theta).
    """
    lp, lm = (1 + math.sqrt(alpha)) ** 2, (1 - math.sqrt(alpha)) ** 2
    c, r = (lp + lm) / 2, (lp - lm) / 2
    th = (np.arange(nq) + 0.5) * np.pi / nq
    mu = c + r * np.cos(th)
    w = r * r * np.sin(th) ** 2 / (2 * np.pi * mu) * (np.pi / nq)
    if alpha < 1:
        mu, w = np.append(mu, 0.0), np.append(w, 1 - alpha)
    kappa = (1 - 2 * label_noise) * math.sqrt(2 / math.pi)
    B = (1 - dt * (lam + mu))[None, :] ** np.arange(steps + 1)[:, None]
    q = (1 - B) / (lam + mu)[None, :]
    m = delta * kappa * (w * mu * q).sum(1)
    C = (w * B * B).sum(1) + delta ** 2 * (w * (kappa ** 2 * mu ** 2 + (1 - kappa ** 2) * mu) * q * q).sum(1)
    return m, C


# ---------------------------------------------------------------- data and teacher variables
@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_teacher_labels_and_flips(eps):
    rng = np.random.default_rng(5)
    P, N = 4000, 50
    X = rng.standard_normal((P, N))
    x = X.copy()
    wstar = label_with_teacher(np.random.default_rng(6), X, eps)
    assert np.dot(wstar, wstar) == pytest.approx(N)
    t = X @ wstar / math.sqrt(N)                   # = y v: negative exactly for the flipped labels
    assert np.allclose(np.abs(X), np.abs(x)) and np.allclose(np.abs(t), np.abs(x @ wstar) / math.sqrt(N))
    flipped = np.mean(t < 0)
    assert abs(flipped - eps) <= 4 * math.sqrt(max(eps * (1 - eps), 1e-12) / P)
    if eps == 0:
        assert flipped == 0


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_teacher_variables_have_exact_moments_and_the_right_law(eps):
    n = 4096
    t = teacher_variables(np.random.default_rng(2), n, eps)
    kappa = (1 - 2 * eps) * math.sqrt(2 / math.pi)
    assert t.mean() == pytest.approx(kappa, abs=1e-12)
    assert np.mean(t * t) == pytest.approx(1.0, abs=1e-12)
    u0 = orthogonal_to(stratified_normal(np.random.default_rng(1), n), t)
    assert abs(np.dot(t, u0)) < 1e-9 * n and abs(u0.mean()) < 1e-12 and np.mean(u0 * u0) == pytest.approx(1.0)
    # law: P(t < 0) = eps (none negative without noise) and P(|t| < 1) = 2 Phi(1) - 1, for the
    # stratified sample (to a path or two) and the iid draw (4 binomial standard errors)
    iid = teacher_variables(np.random.default_rng(3), 200_000, eps, exact=False)
    for sample, tol in ((t, 2.0 / n), (iid, 4 * 0.5 / math.sqrt(len(iid)))):
        assert abs(np.mean(sample < 0) - eps) <= tol
        assert abs(np.mean(np.abs(sample) < 1) - 0.682689492) <= tol
    # the median of |v| is Phi^-1(3/4); with eps = 1/2, t is N(0,1)
    assert teacher_law_quantile(np.array([0.5]), 0.0)[0] == pytest.approx(0.6744897501960817, abs=1e-12)
    assert teacher_law_quantile(np.array([0.3]), 0.5)[0] == pytest.approx(-0.5244005127080407, abs=1e-12)


def test_generalisation_error_formula():
    assert generalisation_error(0.0, 1.0) == pytest.approx(0.5)
    assert generalisation_error(1.0, 1.0) == pytest.approx(0.0)
    assert generalisation_error(-2.0, 4.0) == pytest.approx(1.0)
    assert generalisation_error(0.5, 1.0) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- exact limits
@pytest.mark.parametrize("alpha, eps", [(3.0, 0.0), (0.5, 0.2), (2.0, 0.5)])
def test_square_ridge_gd_teacher_dmft_is_marchenko_pastur(alpha, eps):
    """The march is exact for linear dynamics (exact empirical moments of u(0), z, t): m(t) and
    C(t,t) equal the random-matrix prediction (measured: m to 1e-16, C to 2e-8, the Cholesky
    pivot cut-off), so eps_g(t) does too; m(0) = 0 and eps_g(0) = 1/2 exactly."""
    p = Params(alpha=alpha, delta=0.7, loss="square", constraint="ridge", ridge=0.3, dynamics="gd",
               dt=0.1, t_max=5.0, seed=4, data="teacher", label_noise=eps)
    r = dmft.solve(p, n_paths=1024, **F64)
    assert r.ok
    m, C = mp_teacher(alpha, 0.3, 0.1, 0.7, eps, p.n_steps)
    np.testing.assert_allclose(r.extra["m"], m, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.norm(), C, rtol=0, atol=1e-7)
    np.testing.assert_allclose(r.extra["gen_error"], generalisation_error(m, C), rtol=0, atol=1e-7)
    assert r.extra["m"][0] == 0 and r.extra["gen_error"][0] == 0.5
    if eps == 0.5:       # pure label noise: nothing to learn
        assert np.all(m == 0)
    else:                # the check is not vacuous: the student learns
        assert m[-1] > 0.1 and r.extra["gen_error"][-1] < 0.45


@pytest.mark.parametrize("alpha, eps", [(3.0, 0.0), (0.5, 0.2)])
def test_square_ridge_gd_teacher_simulation_is_marchenko_pastur(alpha, eps):
    """Simulations (N = 1000, 16 samples) against the same prediction: within 4.5 standard errors
    of the sample mean at every time (the largest of 51 correlated times, with the standard error
    itself estimated from 16 samples; measured at N = 500-2000: at most 3.1)."""
    p = Params(alpha=alpha, delta=0.7, loss="square", constraint="ridge", ridge=0.3, dynamics="gd",
               dt=0.1, t_max=5.0, seed=4, data="teacher", label_noise=eps)
    s = dmft.simulate(p, n=1000, n_samples=16)
    m, C = mp_teacher(alpha, 0.3, 0.1, 0.7, eps, p.n_steps)
    assert np.all(np.abs(s.extra["m"] - m) <= 4.5 * s.sem["m"])
    assert np.all(np.abs(s.norm() - C) <= 4.5 * s.sem["norm"])
    assert abs(s.extra["gen_error"][0] - 0.5) <= 4 * s.sem["gen_error"][0]
    assert m[-1] - s.extra["m"][0] > 10 * s.sem["m"][-1]    # m moves by far more than the errors


def test_random_data_has_no_teacher_observables(tmp_path):
    p = Params(alpha=2.0, dynamics="gd", dt=0.1, t_max=1.0)
    for r in (dmft.solve(p, n_paths=256), dmft.simulate(p, n=40, n_samples=2)):
        assert "m" not in r.extra and "gen_error" not in r.extra and "m" not in r.sem
        assert "m" not in load(save(r, tmp_path / f"{r.kind}.h5")).extra


def test_teacher_files_round_trip(tmp_path):
    p = Params(alpha=2.0, dynamics="sgd", dt=0.1, t_max=2.0, data="teacher", label_noise=0.1)
    for r in (dmft.solve(p, n_paths=512, replicates=2), dmft.simulate(p, n=60, n_samples=3)):
        q = load(save(r, tmp_path / f"{r.kind}.h5"))
        assert q.params == r.params and q.params.data == "teacher"
        for name in ("m", "gen_error"):
            np.testing.assert_array_equal(q.extra[name], r.extra[name])
            np.testing.assert_array_equal(q.sem[name], r.sem[name])
            assert q.sem[name].shape == r.t.shape and np.all(q.sem[name][1:] > 0)
        ds = q.to_xarray()
        assert "teacher overlap" in ds["m"].attrs["long_name"]


def test_gd_two_replicas_stay_together_with_a_teacher():
    p = Params(alpha=2.0, delta=0.2, dynamics="gd", dt=0.1, t_max=3.0, data="teacher", replicas=2)
    r = dmft.solve(p, n_paths=1024)
    assert np.max(np.abs(r.distance)) < 1e-10 and r.extra["m"][-1] > 0.2


# ---------------------------------------------------------------- DMFT against simulations
def compare(th, sim, names=ONE_TIME, every=5):
    """Largest |theory - simulation| / combined standard error over the times ``::every`` (from
    the second point: at t = 0 the DMFT has m = 0 exactly and no error)."""
    out = {}
    for name in names:
        a, b = series(th, name)[every::every], series(sim, name)[every::every]
        err = np.hypot(th.sem[name][every::every], sim.sem[name][every::every])
        out[name] = float(np.max(np.abs(a - b) / err))
    return out


@pytest.mark.parametrize("dynamics", ["gd", "sgd"])
def test_teacher_dmft_matches_small_simulation(dynamics):
    """Hinge loss, margin 0.2, 10% label noise, two replicas: DMFT (4096 paths x 2 replicates) and
    simulations (N = 500, 6 samples) within 4 combined standard errors in energy, frac_unsat, m,
    gen_error (measured at N = 1000: at most 3.5, frac_unsat)."""
    p = Params(alpha=2.0, delta=0.2, dynamics=dynamics, b=0.5, dt=0.1, t_max=5.0, seed=3,
               data="teacher", label_noise=0.1, replicas=2)
    th = dmft.solve(p, n_paths=4096, replicates=2)
    sim = dmft.simulate(p, n=500, n_samples=6)
    assert th.ok and sim.ok
    z = compare(th, sim)
    assert max(z.values()) < 4, z
    assert th.extra["m"][-1] > 0.3   # learning happened: m is far from 0 on both sides


@pytest.mark.slow
@pytest.mark.parametrize("dynamics", ["gd", "sgd", "psgd"])
def test_teacher_dmft_matches_simulation_at_growing_n(dynamics):
    """N = 500, 1000, 2000 (8 samples) against DMFT (16384 paths x 4 replicates): within 4
    combined standard errors everywhere (+ 1% for the finite-N bias of frac_unsat at N = 500),
    and the mean gap over times shrinks from N = 500 to N = 2000."""
    p = Params(alpha=2.0, delta=0.2, dynamics=dynamics, b=0.5, tau=1.0, dt=0.1, t_max=10.0, seed=5,
               data="teacher", label_noise=0.1, replicas=2)
    th = dmft.solve(p, n_paths=16384, replicates=4)
    assert th.ok
    gaps = []
    for N in (500, 1000, 2000):
        sim = dmft.simulate(p, n=N, n_samples=8)
        gap = 0.0
        for name in ONE_TIME + ("distance",):
            a, b = series(th, name)[5::5], series(sim, name)[5::5]
            err = np.hypot(th.sem[name][5::5], sim.sem[name][5::5])
            # (+ 1e-12: gd's distance is 0 on both sides, up to the DMFT's round-off)
            assert np.all(np.abs(a - b) <= 4 * err + 0.01 * np.abs(b) + 1e-12), (N, name, np.max(np.abs(a - b) / err))
            gap += np.mean(np.abs(a - b) / np.maximum(np.abs(a), 1e-3))
        gaps.append(gap)
    assert gaps[2] < gaps[0], gaps
