"""Numba hot loops of the DMFT solver.

Histories are stored time-major, ``X[m, p]`` = value on path ``p`` at step ``m`` (rows
contiguous), possibly in float32; all sums accumulate in float64.  The per-step cost of the
solver is a few passes over such histories:

* :func:`gram_row`:      ``out[j] = scale * sum_p F[j, p] f[p]``           (M_C(k, j) = alpha E[f(k) f(j)])
* :func:`fused_memory`:  one chunked sweep giving ``omega = L z`` and the memory sums
                         ``sum_m M_R(k, m) u(m)`` (and of the linearised copies), over all
                         steps or a memory window (:func:`slot_sums` adds the block means)
* :func:`fwht`:          unnormalised Walsh-Hadamard transform,
                         ``X[c] = sum_p x[p] (-1)^popcount(p & c)``       (probe estimator of M_R)
* :func:`weight_step`:   the deterministic weight-side recursion for C and R (O(k^2) per step)
* :func:`chol_extend`:   one new row of the Cholesky factor of the empirical M_C.

All functions are compiled with ``error_model='numpy'`` and without fastmath so that
non-finite values propagate and can be detected.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_JIT = dict(cache=True, error_model="numpy")

#: paths per chunk in the parallel loops over paths
CHUNK = 512


LANES = 8


@njit(**_JIT)
def _n_chunks(n):
    return (n + CHUNK - 1) // CHUNK


@njit(**_JIT)
def _chunk(c, n):
    """First path and width of chunk ``c`` of ``n`` paths."""
    p0 = c * CHUNK
    return p0, min(n, p0 + CHUNK) - p0


@njit(**_JIT)
def _dot(row, f, n):
    """float64 dot product of a history row with f, 8 independent partial sums (vectorisable)."""
    part = np.zeros(LANES)
    n8 = n - n % LANES
    for p in range(0, n8, LANES):
        for q in range(LANES):
            part[q] += np.float64(row[p + q]) * f[p + q]
    acc = 0.0
    for q in range(LANES):
        acc += part[q]
    for p in range(n8, n):
        acc += np.float64(row[p]) * f[p]
    return acc


@njit(parallel=True, **_JIT)
def gram_row(F, f, m, scale, out):
    """``out[j] = scale * sum_p F[j, p] * f[p]`` for ``j < m`` (float64 accumulation)."""
    n = f.shape[0]
    for j in prange(m):
        out[j] = scale * _dot(F[j], f, n)


@njit(parallel=True, **_JIT)
def fused_memory(Z, lrow, mz, U, crow, m0, mu, Y, out_z, out_u, out_y):
    """One chunked sweep over the histories of one step:

        out_z[p]    = sum_{j<mz} lrow[j] Z[j, p]        (omega = L z)
        out_u[p]    = sum_{m0<=m<mu} crow[m] U[m, p]    (memory of u)
        out_y[r, p] = sum_{m0<=m<mu} crow[m] Y[r, m, p] (memory of the linearised copies)

    ``m0 = 0`` for the full memory; ``m0 > 0`` in a memory window (the older steps through block
    means, :mod:`dmft.solver.blocks`), where ``mz = 0``: the field is drawn by
    :class:`dmft.solver.window.FieldWindow`.
    """
    n = out_u.shape[0]
    nr = Y.shape[0]
    for c in prange(_n_chunks(n)):
        p0, w = _chunk(c, n)
        az = np.zeros(CHUNK)
        au = np.zeros(CHUNK)
        ay = np.zeros((nr, CHUNK))
        for j in range(max(mz, mu)):
            if j < mz:
                lj = lrow[j]
                zr = Z[j, p0:p0 + w]
                for q in range(w):
                    az[q] += lj * zr[q]
            if m0 <= j < mu:
                cj = crow[j]
                ur = U[j, p0:p0 + w]
                for q in range(w):
                    au[q] += cj * ur[q]
                for r in range(nr):
                    yr = Y[r, j, p0:p0 + w]
                    for q in range(w):
                        ay[r, q] += cj * yr[q]
        for q in range(w):
            if mz > 0:
                out_z[p0 + q] = az[q]
            out_u[p0 + q] = au[q]
        for r in range(nr):
            for q in range(w):
                out_y[r, p0 + q] = ay[r, q]


@njit(**_JIT)
def fwht(a):
    """In-place unnormalised fast Walsh-Hadamard transform of ``a`` (length a power of two)."""
    n = a.shape[0]
    h = 1
    while h < n:
        for i in range(0, n, 2 * h):
            for j in range(i, i + h):
                x = a[j]
                y = a[j + h]
                a[j] = x + y
                a[j + h] = x - y
        h *= 2


@njit(**_JIT)
def popparity(x):
    """(-1)^popcount(x) for a non-negative int64."""
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return 1.0 - 2.0 * (x & 1)


@njit(**_JIT)
def probe_column(eps_p, eps_t, code, out):
    """``out[p] = eps_p[p] * eps_t * (-1)^popcount(p & code)``: one probe column sigma_.(j)."""
    n = out.shape[0]
    for p in range(n):
        out[p] = eps_p[p] * eps_t * popparity(p & code)


@njit(**_JIT)
def chol_extend(L, row, k, rtol):
    """Append row ``k`` to the lower Cholesky factor ``L`` of a PSD matrix.

    ``row[j] = M(k, j)`` for ``j <= k``.  Solves ``L[:k,:k] x = row[:k]`` by forward
    substitution; a pivot ``L(j,j) = 0`` (a direction already spanned) gives ``x_j = 0``.
    The new pivot is ``sqrt(max(M(k,k) - |x|^2, 0))``, set to 0 below ``rtol * M(k,k)``.
    Returns the squared pivot before clamping (negative = round-off).
    """
    for j in range(k):
        acc = row[j]
        for i in range(j):
            acc -= L[k, i] * L[j, i]
        d = L[j, j]
        L[k, j] = acc / d if d > 0.0 else 0.0
    s = 0.0
    for j in range(k):
        s += L[k, j] * L[k, j]
    piv2 = row[k] - s
    if piv2 > rtol * row[k] and piv2 > 0.0:
        L[k, k] = math.sqrt(piv2)
    else:
        L[k, k] = 0.0
    return piv2


@njit(**_JIT)
def weight_step(C, R, MR, MC, k, dt, lam, temp, sphere, Dbuf, Gbuf, cbuf):
    """One step of the deterministic single-weight recursion (discrete algorithm).

    The weight process is
        w(k+1) = A_k [ sum_{m<=k} c_m w(m) - dt omega(k) + dt H(k) + sqrt(2 T dt) eta(k) ],
        c_m = -dt M_R(k, m) (m < k),  c_k = 1 - dt lam - dt M_R(k, k),
    omega Gaussian with covariance M_C.  With D(m) = E[omega(k) w(m)]
    = -dt sum_{l<m} R(m, l) M_C(k, l):
        E[B^2]     = c^T C c - 2 dt c.D + dt^2 M_C(k,k) + 2 T dt,
        A_k        = E[B^2]^{-1/2} (sphere) or 1 (ridge),
        C(k+1, j)  = A_k [ sum_m c_m C(m, j) - dt D(j) ]  (j <= k),
        C(k+1,k+1) = A_k^2 E[B^2],
        R(k+1, k)  = A_k,  R(k+1, j) = A_k sum_{m=j+1}^{k} c_m R(m, j)  (j < k).
    Fills row/column k+1 of C and row k+1 of R; returns (A_k, E[B^2]).  It is
    :func:`weight_step_window` without blocks (the same sums in the same order).
    """
    none = np.zeros(0, dtype=np.int64)
    return weight_step_window(C, R, MR, MC, k, dt, lam, temp, sphere, Dbuf, Gbuf, cbuf, 0, none, none, none,
                              np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), none, np.zeros(0))


@njit(**_JIT)
def cross_step(X, R1, R2, M12, M21, c1, c2, A1, A2, k, dt, D1, D2):
    """Cross-replica correlation X(k, j) = E[w^1(k) w^2(j)]: fills row and column k+1.

    With D12(j) = E[omega^1(k) w^2(j)] = -dt sum_{l<j} R2(j,l) M12(k,l) and
    D21(j) = E[omega^2(k) w^1(j)] = -dt sum_{l<j} R1(j,l) M21(k,l)
    (M12(k,l) = alpha E[f^1(k) f^2(l)], M21(k,l) = alpha E[f^2(k) f^1(l)]):
        X(k+1, j)   = A1 [ sum_m c1_m X(m, j) - dt D12(j) ]            (j <= k)
        X(j, k+1)   = A2 [ sum_m c2_m X(j, m) - dt D21(j) ]            (j <= k)
        X(k+1, k+1) = A1 A2 [ c1^T X c2 - dt c2.D12 - dt c1.D21 + dt^2 M12(k,k) ]
    (independent thermal noise; c^a as in :func:`weight_step`, M_R^{12} = 0).
    """
    for j in range(k + 1):
        a1 = 0.0
        a2 = 0.0
        for l in range(j):
            a1 += R2[j, l] * M12[k, l]
            a2 += R1[j, l] * M21[k, l]
        D1[j] = -dt * a1
        D2[j] = -dt * a2
    # row: sum_m c1_m X(m, j);  column: sum_m c2_m X(j, m)
    xc2 = np.zeros(k + 1)   # (X c2)(j) = sum_m X(j, m) c2_m
    c1x = np.zeros(k + 1)   # (c1^T X)(j) = sum_m c1_m X(m, j)
    for m in range(k + 1):
        cm = c1[m]
        for j in range(k + 1):
            c1x[j] += cm * X[m, j]
    for j in range(k + 1):
        acc = 0.0
        for m in range(k + 1):
            acc += X[j, m] * c2[m]
        xc2[j] = acc
    diag = 0.0
    t2 = 0.0
    t1 = 0.0
    for j in range(k + 1):
        diag += c1[j] * xc2[j]
        t2 += c2[j] * D1[j]
        t1 += c1[j] * D2[j]
    for j in range(k + 1):
        X[k + 1, j] = A1 * (c1x[j] - dt * D1[j])
        X[j, k + 1] = A2 * (xc2[j] - dt * D2[j])
    X[k + 1, k + 1] = A1 * A2 * (diag - dt * t2 - dt * t1 + dt * dt * M12[k, k])


@njit(parallel=True, **_JIT)
def band_advance(H, crow, k, A, dt, av):
    """Exact per-path response at short lags, one step (``docs/dmft-derivation.md`` section 4).

    ``H[s, l, p] = Gamma_p(j + 1 + l, j)`` (lag ``l + 1``) for the step ``j`` with ``j % L = s``,
    ``L = H.shape[0]`` the band width.  With ``Gamma(k, j)`` known for the lags ``1 .. L`` this
    fills ``Gamma(k + 1, j)`` for ``j = k - l``, ``l = 0 .. L - 1``:

        Gamma(k+1, j) = A_k [ sum_{m=j+1}^{k} c_m Gamma(m, j) - dt a(k) (delta_kj + Gamma(k, j)) ]

    Every term lies inside the band, so the band is exact (no truncation of its own).
    """
    L = H.shape[0]
    n = H.shape[2]
    lmax = min(L, k + 1)
    for ch in prange(_n_chunks(n)):
        p0, w = _chunk(ch, n)
        acc = np.zeros(CHUNK)
        for l in range(lmax):
            j = k - l
            s = j % L
            for q in range(w):
                acc[q] = 0.0
            for i in range(l):
                cm = crow[j + 1 + i]
                hr = H[s, i, p0:p0 + w]
                for q in range(w):
                    acc[q] += cm * hr[q]
            if l == 0:
                for q in range(w):
                    H[s, 0, p0 + q] = A * (acc[q] - dt * av[p0 + q])
            else:
                hr = H[s, l - 1, p0:p0 + w]
                for q in range(w):
                    H[s, l, p0 + q] = A * (acc[q] - dt * av[p0 + q] * hr[q])


@njit(parallel=True, **_JIT)
def block_copy_memory(ring, wring, S, wsum, live, out):
    """``out[r, p] = sum_i wring[i] ring[r, i, p] + sum_s wsum[s] S[r, s, p]`` for the copies ``r``
    in ``live``: the memory sums of the block copies of the response
    (:class:`dmft.solver.response.BlockResponse`), over their recent steps one by one (``ring``)
    and over the older ones through their sums on the blocks where the memory row is constant
    (``S``)."""
    n = out.shape[1]
    for c in prange(_n_chunks(n)):
        p0, w = _chunk(c, n)
        acc = np.zeros(CHUNK)
        for ir in range(live.shape[0]):
            r = live[ir]
            for q in range(w):
                acc[q] = 0.0
            for i in range(wring.shape[0]):
                wi = wring[i]
                row = ring[r, i, p0:p0 + w]
                for q in range(w):
                    acc[q] += wi * row[q]
            for s in range(wsum.shape[0]):
                ws = wsum[s]
                srow = S[r, s, p0:p0 + w]
                for q in range(w):
                    acc[q] += ws * srow[q]
            for q in range(w):
                out[r, p0 + q] = acc[q]


@njit(parallel=True, **_JIT)
def band_row(H, k, av, scale, out):
    """``out[lag - 1] = scale * sum_p av[p] Gamma_p(k, k - lag)`` for ``lag = 1 .. min(L, k)``."""
    L = H.shape[0]
    n = av.shape[0]
    for lag in prange(1, min(L, k) + 1):
        out[lag - 1] = scale * _dot(H[(k - lag) % L, lag - 1], av, n)


@njit(parallel=True, **_JIT)
def band_subtract(H, S, k, y, out):
    """The probe copy without its band part: ``out[p] = y[p] - sum_{lag=1}^{min(L,k)}
    Gamma_p(k, k - lag) sigma_p(k - lag)``, with ``S[j % (L + 1), p] = sigma_p(j)``."""
    L = H.shape[0]
    n = y.shape[0]
    for ch in prange(_n_chunks(n)):
        p0, w = _chunk(ch, n)
        acc = np.zeros(CHUNK)
        for q in range(w):
            acc[q] = y[p0 + q]
        for lag in range(1, min(L, k) + 1):
            j = k - lag
            hr = H[j % L, lag - 1, p0:p0 + w]
            sr = S[j % (L + 1), p0:p0 + w]
            for q in range(w):
                acc[q] -= hr[q] * sr[q]
        for q in range(w):
            out[p0 + q] = acc[q]


@njit(parallel=True, **_JIT)
def slot_sums(store, slots, w, out):
    """``out[g, p] += sum_i w[i] store[slots[i], g, p]`` (the block part of a windowed memory sum,
    :class:`dmft.solver.blocks.BlockHistory`), one pass over the slots per chunk of paths."""
    groups, n = out.shape
    for c in prange(_n_chunks(n)):
        p0, width = _chunk(c, n)
        for g in range(groups):
            for i in range(slots.shape[0]):
                wi = w[i]
                row = store[slots[i], g]
                for q in range(width):
                    out[g, p0 + q] += wi * row[p0 + q]


@njit(parallel=True, **_JIT)
def slot_combination(store, slots, groups, w, out):
    """``out[p] += sum_i w[i] store[slots[i], groups[i], p]`` (the block regressors of a field,
    :class:`dmft.solver.window.FieldWindow`)."""
    n = out.shape[0]
    for c in prange(_n_chunks(n)):
        p0, width = _chunk(c, n)
        for i in range(slots.shape[0]):
            wi = w[i]
            row = store[slots[i], groups[i]]
            for q in range(width):
                out[p0 + q] += wi * row[p0 + q]


@njit(parallel=True, **_JIT)
def row_combination(X, first, w, out):
    """``out[p] += sum_i w[i] X[first + i, p]`` (float64 accumulation; the recent regressors of a
    field, rows of the field history)."""
    n = out.shape[0]
    for c in prange(_n_chunks(n)):
        p0, width = _chunk(c, n)
        acc = np.zeros(CHUNK)
        for i in range(w.shape[0]):
            wi = w[i]
            row = X[first + i, p0:p0 + width]
            for q in range(width):
                acc[q] += wi * row[q]
        for q in range(width):
            out[p0 + q] += acc[q]


@njit(parallel=True, **_JIT)
def slot_gram(store, slots, groups, f, scale, out):
    """``out[i] = scale * sum_p store[slots[i], groups[i], p] f[p]`` (the block entries of a row
    of ``M_C`` in a memory window)."""
    n = f.shape[0]
    for i in prange(slots.shape[0]):
        out[i] = scale * _dot(store[slots[i], groups[i]], f, n)


@njit(**_JIT)
def tri_forward(R, d, t, out):
    """``out = R^{-T} t`` for the upper-triangular ``R[:d, :d]`` (Gram ``G = R^T R`` of the
    regressors of a field, :class:`dmft.solver.window.FieldWindow`); a zero diagonal (a
    regressor that is the zero vector) gives ``out_j = 0``."""
    for j in range(d):
        acc = t[j]
        for i in range(j):
            acc -= R[i, j] * out[i]
        r = R[j, j]
        out[j] = acc / r if r > 0.0 else 0.0


@njit(**_JIT)
def tri_backward(R, d, y, out):
    """``out = R^{-1} y`` for the upper-triangular ``R[:d, :d]`` (zero diagonals: ``out_j = 0``)."""
    for j in range(d - 1, -1, -1):
        acc = y[j]
        for i in range(j + 1, d):
            acc -= R[j, i] * out[i]
        r = R[j, j]
        out[j] = acc / r if r > 0.0 else 0.0


@njit(**_JIT)
def tri_delete(R, d, j, c):
    """Remove column ``j`` of the upper-triangular ``R[:d, :d]`` and make it triangular again with
    Givens rotations of the rows ``j .. d-1`` (applied to the column vector ``c`` (d,) too): on
    return ``R[:d-1, :d-1]`` is the factor without regressor ``j``, ``R[d-1, :]`` holds what is
    left of the last row (zero for the columns) and ``c`` is in the rotated coordinates."""
    for col in range(j, d - 1):
        for r in range(d):
            R[r, col] = R[r, col + 1]
    for r in range(d):
        R[r, d - 1] = 0.0
    for r in range(j, d - 1):
        a, b = R[r, r], R[r + 1, r]
        if b == 0.0:
            if a < 0.0:                           # keep the diagonal >= 0
                for col in range(r, d - 1):
                    R[r, col] = -R[r, col]
                c[r] = -c[r]
            continue
        h = math.hypot(a, b)
        cs, sn = a / h, b / h
        for col in range(r, d - 1):
            x, y = R[r, col], R[r + 1, col]
            R[r, col] = cs * x + sn * y
            R[r + 1, col] = -sn * x + cs * y
        x, y = c[r], c[r + 1]
        c[r] = cs * x + sn * y
        c[r + 1] = -sn * x + cs * y
        R[r + 1, r] = 0.0


@njit(**_JIT)
def weight_step_window(C, R, MR, MC, k, dt, lam, temp, sphere, Dbuf, Gbuf, cbuf, m0, bstart, blen, bslot,
                       Cbar, Rbar, Rtil, dcols, dvals):
    """:func:`weight_step` in a memory window (derivation section 10): the steps ``m >= m0`` exactly,
    the older ones through blocks (``bstart``, ``blen``, ``bslot``: start, length and slot of each,
    oldest first), on whose steps ``M_R(k, .)`` and ``M_C(k, .)`` are constant (block means).
    With the block sums ``c_B`` and the block averages kept per slot,

        Cbar[s, j] = mean_{m in B} C(m, j),   Rbar[s, j] = mean_{m in B} R(m, j),
        Rtil[i, s] = sum_{l in B} R(i, l),

    the sums over old steps are sums over blocks:

        sum_{m<m0} c_m C(m, j)     = sum_B c_B Cbar(B, j)
        sum_{l<m0} R(m, l) M_C(k, l) = sum_B M_C(k, B) Rtil(m, B)
        sum_{m<m0} c_m R(m, j)     = sum_B c_B Rbar(B, j)

    so a step costs ``O(k (W + blocks))`` instead of ``O(k^2)``.  ``D(j)`` of the tracked columns
    ``j = dcols[i]`` is ``dvals[i]`` (computed with the exact ``M_C(k, l)`` of the steps before
    ``j``: :class:`dmft.solver.window.TrackedColumns`).  Fills row/column ``k + 1`` of
    ``C``, row ``k + 1`` of ``R`` and the new entries of ``Cbar`` and ``Rtil``; returns
    ``(A_k, E[B^2])``.
    """
    nb = bstart.shape[0]
    for m in range(k):
        cbuf[m] = -dt * MR[k, m]
    cbuf[k] = 1.0 - dt * lam - dt * MR[k, k]
    cB = np.zeros(nb)
    mcB = np.zeros(nb)
    for i in range(nb):
        acc = 0.0
        for m in range(bstart[i], bstart[i] + blen[i]):
            acc += cbuf[m]
        cB[i] = acc
        mcB[i] = MC[k, bstart[i]]
    # D(m) = -dt sum_{l<m} R(m, l) M_C(k, l)
    for m in range(k + 1):
        acc = 0.0
        for i in range(nb):
            acc += mcB[i] * Rtil[m, bslot[i]]
        for l in range(m0, m):
            acc += R[m, l] * MC[k, l]
        Dbuf[m] = -dt * acc
    for i in range(dcols.shape[0]):
        Dbuf[dcols[i]] = dvals[i]
    # G(j) = sum_m c_m C(m, j)
    for j in range(k + 1):
        Gbuf[j] = 0.0
    for i in range(nb):
        ci = cB[i]
        row = Cbar[bslot[i]]
        for j in range(k + 1):
            Gbuf[j] += ci * row[j]
    for m in range(m0, k + 1):
        cm = cbuf[m]
        if cm == 0.0:
            continue
        for j in range(k + 1):
            Gbuf[j] += cm * C[m, j]
    eb2 = 0.0
    cd = 0.0
    for j in range(k + 1):
        eb2 += cbuf[j] * Gbuf[j]
        cd += cbuf[j] * Dbuf[j]
    eb2 += -2.0 * dt * cd + dt * dt * MC[k, k] + 2.0 * temp * dt
    if sphere:
        A = 1.0 / math.sqrt(eb2) if eb2 > 0.0 else np.nan
    else:
        A = 1.0
    for j in range(k + 1):
        v = A * (Gbuf[j] - dt * Dbuf[j])
        C[k + 1, j] = v
        C[j, k + 1] = v
    C[k + 1, k + 1] = A * A * eb2
    # response: R(k+1, j) = A sum_{m>j} c_m R(m, j)
    for j in range(k + 1):
        R[k + 1, j] = 0.0
    for i in range(nb):
        ci = cB[i]
        row = Rbar[bslot[i]]
        for j in range(k):
            R[k + 1, j] += ci * row[j]
    for m in range(max(1, m0), k + 1):
        cm = cbuf[m]
        if cm == 0.0:
            continue
        for j in range(m):
            R[k + 1, j] += cm * R[m, j]
    for j in range(k):
        R[k + 1, j] *= A
    R[k + 1, k] = A
    # the block averages of the new row
    for i in range(nb):
        s = bslot[i]
        accC = 0.0
        accR = 0.0
        for m in range(bstart[i], bstart[i] + blen[i]):
            accC += C[k + 1, m]
            accR += R[k + 1, m]
        Cbar[s, k + 1] = accC / blen[i]
        Rtil[k + 1, s] = accR
    return A, eb2


@njit(**_JIT)
def block_average(row, starts, lengths):
    """Replace ``row`` on each block ``[starts[i], starts[i] + lengths[i])`` by its mean (the old
    entries of ``M_R(k, .)`` in a memory window)."""
    for i in range(starts.shape[0]):
        s, L = starts[i], lengths[i]
        acc = 0.0
        for m in range(s, s + L):
            acc += row[m]
        acc /= L
        for m in range(s, s + L):
            row[m] = acc
