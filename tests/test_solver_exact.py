"""Exact checks of the DMFT solver (dmft.solver): linear dynamics, structure, determinism."""

import numpy as np
import pytest

import dmft
from dmft import DMFTMethod, Params
from dmft.solver.march import march

F64 = dict(history_dtype="float64")


def mp_response(alpha, lam, dt, lags, drift=1.0, nq=4000):
    """R(k, j) = int rho_MP(mu) (1 - dt (lam + drift mu))^(k-j-1) dmu for lag = k-j-1 = 0..lags-1.

    rho_MP: spectrum of X^T X / N with P = alpha N rows, edges (1 +- sqrt(alpha))^2, an atom
    1 - alpha at 0 when alpha < 1.  Midpoint rule in mu = c + r cos(theta) (spectrally accurate).
    """
    lp, lm = (1 + np.sqrt(alpha)) ** 2, (1 - np.sqrt(alpha)) ** 2
    c, r = (lp + lm) / 2, (lp - lm) / 2
    th = (np.arange(nq) + 0.5) * np.pi / nq
    mu = c + r * np.cos(th)
    w = r * r * np.sin(th) ** 2 / (2 * np.pi * mu) * (np.pi / nq)
    lag = np.arange(lags)
    g = (w[None, :] * (1 - dt * (lam + drift * mu[None, :])) ** lag[:, None]).sum(1)
    if alpha < 1:
        g += (1 - alpha) * (1 - dt * lam) ** lag
    return g, w.sum() + max(0.0, 1 - alpha)


@pytest.mark.parametrize("alpha", [3.0, 0.5])
def test_ridge_square_gd_response_is_marchenko_pastur(alpha):
    p = Params(alpha=alpha, delta=0.3, loss="square", constraint="ridge", ridge=0.5, dynamics="gd",
               dt=0.1, t_max=5.0, seed=3, tw=(1.0,))
    r = dmft.solve(p, n_paths=1024, **F64)
    assert r.status == "ok"
    R = r.kernels["R"]
    T = R.shape[0]
    g, mass = mp_response(alpha, 0.5, 0.1, T)
    assert abs(mass - 1) < 1e-12
    k, j = np.tril_indices(T, -1)
    np.testing.assert_allclose(R[k, j], g[k - j - 1], rtol=0, atol=1e-11)
    # chi(t, tw) = dt sum_j R
    kw = p.tw_index[0]
    chi_exact = np.array([0.1 * g[: i - kw].sum() for i in range(kw + 1, T)])
    np.testing.assert_allclose(r.chi[0, kw + 1:], chi_exact, atol=1e-11)
    assert np.all(r.nu == 0.5)


def test_ridge_square_sgd_response_mean_drift():
    """SGD (sum normalisation): the averaged response is that of gd with drift b X^T X / N."""
    b = 0.5
    p = Params(alpha=3.0, loss="square", constraint="ridge", ridge=0.5, dynamics="sgd", b=b,
               dt=0.1, t_max=3.0, seed=1)
    r = dmft.solve(p, n_paths=8192, **F64)
    R = r.kernels["R"]
    T = R.shape[0]
    g, _ = mp_response(3.0, 0.5, 0.1, T, drift=b)
    k, j = np.tril_indices(T, -1)
    assert np.max(np.abs(R[k, j] - g[k - j - 1])) < 0.02


def test_weight_process_sample_reproduces_C_and_u_form():
    """With orthonormal inputs, a sampled copy g of the weight process (same omega) has empirical
    covariance equal to the deterministic C, and u(k) = g(k) - dt sum_l R(k,l) f(l)."""
    p = Params(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=3.0, seed=2)
    m = DMFTMethod(n_paths=512, **F64)
    o = march(p, m, keep_histories=True)
    h = o.histories
    U, F, Z, L, C, R, MR, A = h.U[0], h.F[0], h.Z, h.L, o.C[0], o.R[0], o.M_R[0], o.A[0]
    K = p.n_steps
    dt = p.dt
    omega = L[:K, :K] @ Z[:K]          # omega[k] = sum_j L(k,j) z(j)
    g = np.zeros((K + 1, m.n_paths))
    g[0] = U[0]
    for k in range(K):
        c = -dt * MR[k, : k + 1]
        c[k] += 1.0
        g[k + 1] = A[k] * (c @ g[: k + 1] - dt * omega[k])
    emp = g @ g.T / m.n_paths
    np.testing.assert_allclose(emp, C, atol=1e-10)
    # the last u is not stored; compare up to K-1
    for k in range(1, K):
        uk = g[k] - dt * R[k, :k] @ F[:k]
        np.testing.assert_allclose(uk, U[k], atol=1e-10)


def test_result_structure():
    p = Params(alpha=3.0, delta=0.0, dynamics="psgd", b=0.5, tau=1.0, dt=0.1, t_max=4.0,
               tw=(1.0, 2.0), seed=5)
    r = dmft.solve(p, n_paths=512)
    T = p.n_steps + 1
    assert r.kind == "dmft" and r.status == "ok"
    assert r.C.shape == (2, T) and r.chi.shape == (2, T)
    assert np.isnan(r.C[1, :20]).all() and np.isnan(r.chi[1, :20]).all()
    np.testing.assert_allclose(r.C[:, [10, 20]].diagonal(), 1.0, atol=1e-12)
    assert r.chi[0, 10] == 0.0 and np.all(np.diff(r.chi[0, 10:]) > 0)
    np.testing.assert_allclose(r.extra["norm"], 1.0, atol=1e-12)
    assert np.all(r.nu < 0)
    np.testing.assert_allclose(r.energy[0], 3.0 * 0.25, rtol=0.02)
    G, B = r.extra["gap_hist"].shape
    assert G == 3 and len(r.extra["gap_edges"]) == B + 1
    np.testing.assert_allclose(r.extra["gap_t"], [1.0, 2.0, 4.0])
    mass = (r.extra["gap_hist"] * np.diff(r.extra["gap_edges"])).sum(1)
    np.testing.assert_allclose(mass, 1.0, atol=1e-3)
    assert set(r.kernels) == {"C", "R", "M_C", "M_R"} and "proj_A" in r.extra
    assert r.meta["seed"] == 5 and r.meta["wall_time_s"] > 0


def test_same_seed_identical_and_sgd_b1_is_gd():
    p = Params(alpha=2.0, dynamics="sgd", b=0.6, dt=0.1, t_max=3.0, tw=(1.0,), seed=11)
    m = DMFTMethod(n_paths=256)
    r1, r2 = dmft.solve(p, m), dmft.solve(p, m)
    for name in ("energy", "frac_unsat", "nu", "C", "chi"):
        np.testing.assert_array_equal(getattr(r1, name), getattr(r2, name))
    r3 = dmft.solve(p.replace(seed=12), m)
    assert not np.array_equal(r1.energy, r3.energy)
    gd = dmft.solve(p.replace(dynamics="gd"), m)
    sgd1 = dmft.solve(p.replace(b=1.0), m)
    np.testing.assert_array_equal(gd.energy, sgd1.energy)
    np.testing.assert_array_equal(gd.C, sgd1.C)


def test_blow_up_gives_diverged_status():
    p = Params(alpha=3.0, loss="square", constraint="ridge", ridge=0.5, dynamics="gd", dt=2.0,
               t_max=400.0, seed=0, tw=(10.0,))
    r = dmft.solve(p, n_paths=256)
    assert r.status == "diverged"
    assert "ran away" in r.meta["message"]
    assert np.isnan(r.energy[-1])


def test_two_replicas_gd_and_sgd_b1_have_zero_distance():
    for changes in (dict(dynamics="gd"), dict(dynamics="sgd", b=1.0)):
        p = Params(alpha=3.0, replicas=2, dt=0.1, t_max=4.0, tw=(1.0,), seed=2, **changes)
        r = dmft.solve(p, n_paths=512, replicates=1)
        assert r.status == "ok" and r.distance is not None
        assert np.max(np.abs(r.distance)) < 1e-10, np.max(np.abs(r.distance))


def test_two_replicas_sgd_distance_and_sampled_overlap():
    """sgd b = 0.5: the replicas separate (0 < d < 1, d(0) = 0); sampled copies g^1, g^2 of the two
    weight processes (joint omega) have empirical E[g^1(k) g^2(j)] equal to C12(k, j)."""
    p = Params(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, replicas=2, dt=0.1, t_max=3.0, seed=4)
    m = DMFTMethod(n_paths=512, **F64)
    o = march(p, m, keep_histories=True)
    d = o.distance
    assert abs(d[0]) < 1e-12 and np.all(d[1:] > 1e-3) and np.all(d < 1) and d[-1] > d[5]
    K, dt, nr = p.n_steps, p.dt, 2
    Z, L, A, MR, X = o.histories.Z, o.histories.L, o.A, o.M_R, o.C12
    g = np.zeros((nr, K + 1, m.n_paths))
    g[:, 0] = o.histories.U[:, 0]
    for a in range(nr):
        omega = L[a::nr][:K, : nr * K] @ Z[: nr * K]
        for k in range(K):
            c = -dt * MR[a, k, : k + 1]
            c[k] += 1.0
            g[a, k + 1] = A[a, k] * (c @ g[a, : k + 1] - dt * omega[k])
    emp = g[0] @ g[1].T / m.n_paths
    np.testing.assert_allclose(emp, X, atol=1e-10)
    for a in range(nr):
        np.testing.assert_allclose(g[a] @ g[a].T / m.n_paths, o.C[a], atol=1e-10)


def test_gaussian_inputs_have_exact_empirical_moments():
    from dmft.solver.inputs import GaussianInputs, stratified_normal

    rng = np.random.default_rng(0)
    n = 300
    u0 = stratified_normal(rng, n)
    assert abs(u0.mean()) < 1e-12 and abs(u0 @ u0 / n - 1) < 1e-12
    Z = GaussianInputs(rng, n, 400, base=u0).generate(400)   # > n - 3: two epochs
    m = n - 3
    first = Z[:m]
    np.testing.assert_allclose(first @ first.T / n, np.eye(m), atol=1e-10)
    np.testing.assert_allclose(first.mean(1), 0.0, atol=1e-12)
    np.testing.assert_allclose(first @ u0 / n, 0.0, atol=1e-10)
    second = Z[m:]
    np.testing.assert_allclose(second @ second.T / n, np.eye(len(second)), atol=1e-10)
