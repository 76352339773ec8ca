"""Causal march of the discrete-time DMFT: pattern-side paths + deterministic weight side.

Notation (docs/dmft-derivation.md).  Step k = 0 .. K-1, K = params.n_steps, t_k = k dt.
Per path p (n paths), u_p(k) is the pattern's field (gap h = u - Delta):

    f_p(k) = s_p(k) v'(u_p(k) - Delta),      a_p(k) = s_p(k) v''(u_p(k) - Delta)
    M_C(k, j) = alpha/n sum_p f_p(k) f_p(j)                   (empirical, PSD)
    M_R(k, k) = alpha/n sum_p a_p(k)                          (exact)
    M_R(k, j) = alpha/n sum_p a_p(k) y_p(k) sigma_p(j),  j<k  (probe estimator, mean over probes)
    c_m = -dt M_R(k, m) (m<k),   c_k = 1 - dt lambda - dt M_R(k, k)
    omega_p(k) = sum_{j<=k} L(k, j) z_p(j),   L L^T = M_C (Cholesky extended one row per step)
    u_p(k+1) = A_k [ sum_m c_m u_p(m) - dt omega_p(k) - dt f_p(k) + sqrt(2 T dt) eta_p(k) ]
    y_p(k+1) = A_k [ sum_m c_m y_p(m) - dt a_p(k) (sigma_p(k) + y_p(k)) ],   y_p(0) = 0

with A_k, C and R from :func:`dmft.solver.kernels.weight_step`.  Probe columns
sigma_.(j) = eps_p eps'_j (-1)^popcount(p & c_j) (distinct codes c_j) are exactly orthogonal over
paths when n is a power of two >= number of steps; the sum over p for all j at once is one fast
Walsh-Hadamard transform.  ``response="exact"`` replaces the estimator by the exact per-path
response (O(n K^3), small K only), ``probe_signal="dr"`` uses sigma(k) + y(k) instead of y(k).

Two replicas (``replicas = 2``): state arrays carry a leading replica axis; omega^1, omega^2 of a
path are drawn jointly (Cholesky of the interleaved sequence, covariance
M_C^{ab}(k,j) = alpha/n sum_p f^a_p(k) f^b_p(j)), M_R^{12} = 0, and the overlap
X(k,j) = E[w^1(k) w^2(j)] follows from :func:`dmft.solver.kernels.cross_step`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import kernels as kn
from .noise import GaussianInputs, stratified_normal
from ..result import gap_edges
from ..selection import make_selection



class Diverged(Exception):
    pass


def _next_pow2(x: int) -> int:
    return 1 << max(0, int(math.ceil(math.log2(max(1, x)))))


def _loss_derivs(loss: str, h: np.ndarray):
    """v(h), v'(h), v''(h)."""
    if loss == "square":
        return 0.5 * h * h, h, np.ones_like(h)
    neg = h < 0
    vp = np.where(neg, h, 0.0)
    return 0.5 * vp * vp, vp, neg.astype(np.float64)


def march(params, progress=False, history_dtype=np.float32, response="probe",
          probe_signal="y", orthogonal_inputs=True, chol_rtol=1e-8, keep_histories=False,
          stream_seeds=None):
    """Run the causal march; returns a dict of arrays (see :func:`dmft.solver.solve`).

    With ``params.replicas == 2`` two replicas share u(0) (same w(0)) and the patterns (their
    cavity fields omega^1, omega^2 of one path are jointly Gaussian with covariance
    M_C^{ab}(k,j) = alpha E[f^a(k) f^b(j)], drawn with one Cholesky factor of the interleaved
    sequence omega^1(0), omega^2(0), omega^1(1), ...), with independent selection and thermal
    noise; M_R^{12} = 0 and the cross-correlation C12 follows from :func:`kernels.cross_step`.
    """
    t0 = time.time()
    p = params
    nr = int(p.replicas)
    n = int(p.n_paths)
    K = p.n_steps
    T = K + 1
    dt, alpha, delta = p.dt, p.alpha, p.delta
    temp = p.temperature
    sphere = p.constraint == "sphere"
    lam = p.ridge if not sphere else 0.0
    nprobe = int(p.n_probes)
    hd = np.dtype(history_dtype)
    exact = response == "exact"
    if exact and nr != 1:
        raise NotImplementedError("response='exact' is implemented for one replica only")
    if exact and T * T * n * 8 > 4e9:
        raise ValueError("response='exact' stores n T^2 floats: too large here (use the probes)")

    ss = np.random.SeedSequence(p.seed)
    names = ("init", "selection", "omega", "thermal", "probe")
    children = dict(zip(names, ss.spawn(len(names))))
    for name, sd in (stream_seeds or {}).items():  # debugging: vary one stream only
        children[name] = np.random.SeedSequence(sd)
    rng_init, rng_sel, rng_z, rng_eta, rng_probe = [np.random.default_rng(children[x]) for x in names]
    # replica 1 gets its own selection stream (replica 0 keeps the one-replica stream)
    rng_sels = [rng_sel] + [np.random.default_rng(c) for c in children["selection"].spawn(nr - 1)]

    # weight side, per replica a: C[a] = C^{aa}, R[a], M_R[a]; M_C[a, b] rows E[f^a(k) f^b(j)]
    C = np.zeros((nr, T, T))
    R = np.zeros((nr, T, T))
    MR = np.zeros((nr, T, T))
    MC = np.zeros((nr, nr, T, T))
    X = np.zeros((T, T)) if nr == 2 else None   # X(k, j) = E[w^1(k) w^2(j)]
    L = np.zeros((nr * T, nr * T))              # joint Cholesky factor (interleaved order)
    C[:, 0, 0] = 1.0
    if X is not None:
        X[0, 0] = 1.0
    Dbuf, Gbuf = np.zeros(T), np.zeros(T)
    cbuf = np.zeros((nr, T))
    Avec = np.full((nr, T), np.nan)
    crow = np.zeros(nr * T)

    # pattern side
    U = np.zeros((nr, T, n), hd)
    F = np.zeros((nr, T, n), hd)
    Z = np.zeros((nr * T, n), hd)
    if orthogonal_inputs:
        u0 = stratified_normal(rng_init, n)
    else:
        u0 = rng_init.standard_normal(n)
    u = np.array([u0] * nr)
    # all Gaussian inputs are drawn before the march (rows of Z; ETA for temperature > 0)
    GaussianInputs(rng_z, n, nr * K, base=u0, orthogonal=orthogonal_inputs).generate(nr * K, out=Z[:nr * K])
    ETA = (GaussianInputs(rng_eta, n, nr * K, base=None, orthogonal=orthogonal_inputs).generate(nr * K)
           if temp > 0 else None)
    sels = [make_selection(p, n, rng_sels[a]) for a in range(nr)]

    if exact:
        Gx = np.zeros((T, T, n))  # Gx[m, j, p] = d u_p(m) / d P(j)
        Y = np.zeros((nr, 0, T, n), hd)
        y = np.zeros((nr, 0, n))
    else:
        N2 = _next_pow2(max(n, T))
        Y = np.zeros((nr, nprobe, T, n), hd)
        y = np.zeros((nr, nprobe, n))
        eps_p = np.zeros((nr, nprobe, n))
        eps_t = np.zeros((nr, nprobe, T))
        codes = np.zeros((nr, nprobe, T), np.int64)
        # the same probe design for both replicas (identical replicas stay identical)
        eps_p[:] = rng_probe.choice([-1.0, 1.0], size=(nprobe, n))
        eps_t[:] = rng_probe.choice([-1.0, 1.0], size=(nprobe, T))
        codes[:] = np.stack([rng_probe.permutation(N2)[:T] for _ in range(nprobe)])
        wh = np.zeros(N2)
        sig = np.zeros((nr, nprobe, n))
    mem_y = np.zeros((nr, Y.shape[1], n))
    mem_u = np.zeros((nr, n))
    omega = np.zeros((nr, n))

    energy = np.full(T, np.nan)
    frac = np.full(T, np.nan)
    nu = np.full(T, np.nan)
    distance = np.full(T, np.nan) if nr == 2 else None
    hist_idx = sorted(set(p.tw_index) | {K})
    hists = {}
    edges = gap_edges(delta)
    status, message = "ok", ""
    min_piv2 = np.inf

    it = range(T)
    if progress:
        try:
            from tqdm import tqdm
            it = tqdm(it, desc="dmft", unit="step")
        except ImportError:  # pragma: no cover
            pass
    k_done = 0
    f = np.zeros((nr, n))
    av = np.zeros((nr, n))
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for k in it:
                ev, fr, nuv = 0.0, 0.0, 0.0
                hk = []
                for a in range(nr):
                    s = sels[a].next()
                    if s is None:  # full batch: s = 1
                        s = 1.0
                    h = u[a] - delta
                    v, vp, vpp = _loss_derivs(p.loss, h)
                    f[a] = s * vp
                    av[a] = s * vpp
                    ev += alpha * v.mean() / nr
                    fr += (h < 0).mean() / nr
                    nuv += (lam if not sphere else -alpha * np.mean(f[a] * u[a])) / nr
                    hk.append(h)
                energy[k], frac[k], nu[k] = ev, fr, nuv
                if distance is not None:
                    distance[k] = 0.5 * (C[0, k, k] + C[1, k, k]) - X[k, k]
                if k in hist_idx:
                    hists[k] = sum(np.histogram(h, bins=edges)[0] for h in hk) / (nr * n * np.diff(edges))
                k_done = k
                if k == K:
                    break
                for a in range(nr):
                    U[a, k] = u[a]
                    F[a, k] = f[a]
                f_used = F[:, k].astype(np.float64)
                for a in range(nr):
                    for b in range(nr):
                        kn.gram_row(F[b], f_used[a], k + 1, alpha / n, MC[a, b, k])
                    MR[a, k, k] = alpha * av[a].mean()
                if not exact:
                    for a in range(nr):
                        for r in range(nprobe):
                            kn.probe_column(eps_p[a, r], eps_t[a, r, k], codes[a, r, k], sig[a, r])
                if k > 0:
                    if exact:
                        # M_R(k, j) = alpha E[a(k) Gamma(k, j)], Gamma(k, j) = d u(k)/d P(j), j < k
                        MR[0, k, :k] = alpha / n * (Gx[k, :k] @ av[0])
                    else:
                        for a in range(nr):
                            acc = np.zeros(k)
                            for r in range(nprobe):
                                sigk = y[a, r] if probe_signal == "y" else y[a, r] + sig[a, r]
                                wh[:] = 0.0
                                wh[:n] = av[a] * sigk * eps_p[a, r]
                                kn.fwht(wh)
                                acc += eps_t[a, r, :k] * wh[codes[a, r, :k]]
                            MR[a, k, :k] = alpha / (n * nprobe) * acc
                # joint Cholesky rows of omega^a(k), variable index nr*j + b
                for a in range(nr):
                    idx = nr * k + a
                    for b in range(nr):
                        crow[b:nr * (k + 1):nr] = MC[a, b, k, :k + 1]
                    piv2 = kn.chol_extend(L, crow, idx, chol_rtol)
                    if MC[a, a, k, k] > 0:
                        min_piv2 = min(min_piv2, piv2 / MC[a, a, k, k])
                A = np.zeros(nr)
                for a in range(nr):
                    A[a], eb2 = kn.weight_step(C[a], R[a], MR[a], MC[a, a], k, dt, lam, temp, sphere,
                                               Dbuf, Gbuf, cbuf[a])
                    Avec[a, k] = A[a]
                    if not (math.isfinite(A[a]) and math.isfinite(eb2) and eb2 > 0
                            and abs(C[a, k + 1, k + 1]) < 1e60):
                        raise Diverged(f"weight side blew up at step {k + 1} (t = {(k + 1) * dt:g}): "
                                       f"E[B^2] = {eb2:.3g}, C(t,t) = {C[a, k + 1, k + 1]:.3g}")
                if X is not None:
                    kn.cross_step(X, R[0], R[1], MC[0, 1], MC[1, 0], cbuf[0], cbuf[1], A[0], A[1],
                                  k, dt, Dbuf, Gbuf)
                    if not math.isfinite(X[k + 1, k + 1]):
                        raise Diverged(f"replica overlap not finite at step {k + 1}")
                for a in range(nr):
                    ck = cbuf[a, k]
                    for r in range(Y.shape[1]):
                        Y[a, r, k] = y[a, r]
                    # one sweep: omega = L(row, .) z,  mem_u = sum_{m<k} c_m u(m),  mem_y likewise
                    idx = nr * k + a
                    kn.fused_memory(Z, L[idx], idx + 1, U[a], cbuf[a], k, Y[a], omega[a], mem_u[a], mem_y[a])
                    unew = mem_u[a] + ck * u[a] - dt * omega[a] - dt * f[a]
                    if temp > 0:
                        unew += math.sqrt(2.0 * temp * dt) * ETA[nr * k + a]
                    unew *= A[a]
                    if exact:
                        # d u(k+1)/d P(j) = A [ sum_m c_m Gx[m, j] - dt a(k) Gamma(k, j) ]
                        G1 = np.tensordot(cbuf[0, :k + 1], Gx[:k + 1, :k + 1], axes=(0, 0))  # (k+1, n)
                        G1[:k] -= dt * av[0] * Gx[k, :k]
                        G1[k] -= dt * av[0]
                        Gx[k + 1, :k + 1] = A[0] * G1
                    else:
                        for r in range(nprobe):
                            y[a, r] = A[a] * (mem_y[a, r] + ck * y[a, r] - dt * av[a] * (sig[a, r] + y[a, r]))
                    u[a] = unew
                    if not np.all(np.isfinite(unew)) or np.max(np.abs(unew)) > 1e30:
                        raise Diverged(f"effective process blew up at step {k + 1} (t = {(k + 1) * dt:g})")
    except Diverged as exc:
        status, message = "diverged", str(exc)
        last = k_done + 1
        for arr in (energy, frac, nu) + ((distance,) if distance is not None else ()):
            arr[last:] = np.nan
        C[:, last + 1:, :] = np.nan
        C[:, :, last + 1:] = np.nan
        R[:, last + 1:, :] = np.nan
    finally:
        if progress and hasattr(it, "close"):
            it.close()

    out = dict(
        t=np.arange(T) * dt, energy=energy, frac_unsat=frac, nu=nu,
        C=C.mean(0), R=R.mean(0), M_C=MC[0, 0], M_R=MR[0], A=Avec[0],
        distance=distance, hists=hists, gap_edges=edges, status=status, message=message,
        wall_time_s=time.time() - t0, min_pivot2=min_piv2,
    )
    if nr == 2:
        out.update(C12=X, C_replicas=C, R_replicas=R, A_replicas=Avec, M_R_replicas=MR)
    if keep_histories:
        out.update(U=U[0], F=F[0], Z=Z, L=L)
        if nr == 2:
            out.update(U_replicas=U, F_replicas=F)
    return out
