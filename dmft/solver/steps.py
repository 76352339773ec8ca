"""One step ``k`` of the causal march, in the order of ``docs/dmft-derivation.md`` section 7.

Per path ``p`` and replica ``a``, with ``u`` the pattern's field (gap ``h = u - Delta``)::

    f_p(k) = s_p(k) v'(u_p(k) - Delta),      a_p(k) = s_p(k) v''(u_p(k) - Delta)
    M_C^{ab}(k, j) = alpha/n sum_p f^a_p(k) f^b_p(j)          (empirical, PSD)
    M_R(k, k) = alpha/n sum_p a_p(k),   M_R(k, j < k) from the response estimator
    c_m = -dt M_R(k, m) (m < k),   c_k = 1 - dt lambda - dt M_R(k, k)
    omega_p(k) = sum_j L(k, j) z_p(j),   L L^T = M_C (one Cholesky row per step)
    u_p(k+1) = A_k [ sum_m c_m u_p(m) - dt omega_p(k) - dt f_p(k) + sqrt(2 T dt) eta_p(k) ]

with ``A_k``, ``C`` and ``R`` from the weight side (:func:`dmft.solver.kernels.weight_step`).
Each function reads and writes the :class:`~dmft.solver.state.MarchState` in place;
:class:`Diverged` stops the march.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.divergence import runaway
from ..core.model import gap_counts
from . import kernels as kn
from .response import ResponseEstimator
from .state import MarchState, slide

#: a path field beyond this is a runaway (the fields are O(1) in any sane run)
PATH_RUNAWAY = 1e30


class Diverged(Exception):
    """The march blew up; the message says where."""


def observe(state: MarchState, k: int) -> None:
    """1. Draw ``s(k)``; forces ``f``, curvatures ``a``; one-time observables, replica distance
    and gap histograms at step ``k``."""
    paths, obs, model, w = state.paths, state.obs, state.model, state.weights
    h = paths.u - model.delta                      # (nr, n)
    if paths.t is not None:                        # teacher data: the field is m t + u
        h += w.m[:, k, None] * paths.t[None, :]
    dv = model.force(h)
    curv = model.curvature(h)
    for a, selection in enumerate(paths.selections):
        s = selection.next()
        if s is None:                              # full batch: s = 1
            paths.f[a] = dv[a]
            paths.a[a] = curv[a]
        else:
            paths.f[a] = s * dv[a]
            paths.a[a] = s * curv[a]
    o = model.observables(h, paths.f, dv)
    obs.energy[k], obs.frac_unsat[k], obs.nu[k] = o.energy, o.frac_unsat, o.nu
    why = runaway(state.params, o.energy, obs.energy[0])   # the rule shared with the simulations
    if why:
        raise Diverged(f"{why} at step {k} (t = {k * state.params.dt:g})")
    if obs.distance is not None:
        obs.distance[k] = 0.5 * (w.C[0, k, k] + w.C[1, k, k]) - w.X[k, k]
        if w.m is not None:                        # C, X are the parts orthogonal to the teacher
            obs.distance[k] += 0.5 * (w.m[0, k] - w.m[1, k]) ** 2
    if k in obs.hist_steps:
        widths = np.diff(obs.gap_edges)
        obs.hists[k] = gap_counts(h, obs.gap_edges) / (h.size * widths)


def memory_kernels(state: MarchState, k: int, estimator: ResponseEstimator) -> None:
    """2. Store ``u(k)``, ``f(k)``; the rows ``M_C(k, <=k)`` (one pass over the force history),
    ``M_R(k, k)`` (exact) and ``M_R(k, <k)`` (the estimator)."""
    paths, w, n = state.paths, state.weights, state.n
    alpha = state.params.alpha
    base = state.base                              # first step held in the history buffers
    paths.U[:, k - base] = paths.u
    paths.F[:, k - base] = paths.f
    f_used = paths.F[:, k - base].astype(np.float64)   # the stored (possibly rounded) forces
    m0 = max(0, k - state.window) if state.window else 0   # exact from step m0, block means before
    for a in range(state.nr):
        for b in range(state.nr):
            kn.gram_row(paths.F[b, m0 - base:], f_used[a], k + 1 - m0, alpha / n, w.M_C[a, b, k, m0:])
        if m0:
            state.field.block_gram(a, k, f_used[a], alpha / n, w.M_C[a, :, k])
        w.M_R[a, k, k] = alpha * paths.a[a].mean()
    if state.tracked is not None:
        state.tracked.capture(k, w.R, paths.F, base)
    estimator.begin_step(k)
    if k > 0:
        for a in range(state.nr):
            estimator.memory_row(a, k, paths.a[a], w.M_R[a, k, :k])
            if m0:           # the old steps enter the memory sums through block means: so does M_R
                start, length, _ = state.blocks[a].arrays()
                kn.block_average(w.M_R[a, k], start, length)


def enter_blocks(state: MarchState, k: int, estimator: ResponseEstimator) -> None:
    """0. (memory window) The steps that left the window ``[k - W, k)`` enter the blocks: the
    fields and forces (:class:`~dmft.solver.window.FieldWindow`), ``u`` and the probe copies of
    each replica (:class:`~dmft.solver.blocks.BlockHistory`)."""
    m0 = max(0, k - state.window)
    paths, base = state.paths, state.base
    state.field.push_until(m0, paths.OM, paths.F, base)
    w = state.weights
    for a, blocks in enumerate(state.blocks):
        U, Y = paths.U[a], estimator.Y[a]
        while blocks.end < m0:
            j = blocks.end
            merges = blocks.push(np.concatenate((U[j - base][None], Y[:, j - base])), j)
            state.weight_blocks[a].entered(w.C[a], w.R[a], j, blocks.last_slot, merges, blocks.store.shape[0])
    slide(state, estimator, k, m0)


def window_fields(state: MarchState, k: int) -> None:
    """3a. (memory window) The fields ``omega^a(k)``: regression on the recent fields and the
    block means of the older ones, with the innovations ``z`` of the Cholesky draw."""
    paths, w, field = state.paths, state.weights, state.field
    for a in range(state.nr):
        v = state.nr * k + a
        field.draw(a, k, w.M_C, paths.OM, paths.Z[v].astype(np.float64), paths.omega[a], state.base,
                   project=v >= state.input_epoch)   # a later epoch: not orthogonal to them
    w.min_pivot2 = min(w.min_pivot2, field.min_pivot2)


def extend_cholesky(state: MarchState, k: int, rtol: float) -> None:
    """3a. Cholesky rows of ``omega^a(k)`` in the joint factor (variable index ``nr j + b``)."""
    w, nr = state.weights, state.nr
    for a in range(nr):
        idx = nr * k + a
        for b in range(nr):
            w.chol_row[b:nr * (k + 1):nr] = w.M_C[a, b, k, :k + 1]
        piv2 = kn.chol_extend(w.L, w.chol_row, idx, rtol)
        if w.M_C[a, a, k, k] > 0:
            w.min_pivot2 = min(w.min_pivot2, piv2 / w.M_C[a, a, k, k])


def step_weight_side(state: MarchState, k: int) -> None:
    """3b. The deterministic recursion for ``C``, ``R`` (and ``C12``) to step ``k + 1``."""
    p, w = state.params, state.weights
    sphere = state.model.sphere
    for a in range(state.nr):
        if w.m is None:
            A, eb2 = _weight_step(state, a, k, sphere)
        else:
            A, eb2 = teacher_weight_step(state, a, k)
        w.A[a, k] = A
        norm = w.C[a, k + 1, k + 1]
        if not (math.isfinite(A) and math.isfinite(eb2) and eb2 > 0 and math.isfinite(norm)):
            raise Diverged(f"weight side blew up at step {k + 1} (t = {(k + 1) * p.dt:g}): "
                           f"E[B^2] = {eb2:.3g}, C(t,t) = {norm:.3g}")
    if w.X is not None:
        kn.cross_step(w.X, w.R[0], w.R[1], w.M_C[0, 1], w.M_C[1, 0], w.c[0], w.c[1], w.A[0, k],
                      w.A[1, k], k, p.dt, w.D_buf, w.G_buf)
        if not math.isfinite(w.X[k + 1, k + 1]):
            raise Diverged(f"replica overlap not finite at step {k + 1}")


def _weight_step(state: MarchState, a: int, k: int, sphere: bool):
    """The weight-side recursion of replica ``a`` at step ``k``: :func:`kernels.weight_step`, or in a
    memory window with blocks :func:`kernels.weight_step_window`, the tracked columns' memory terms
    from the exact ``M_C`` of the steps before them."""
    p, w = state.params, state.weights
    lam = state.model.ridge
    blocks = state.blocks[a] if state.window else None
    if blocks is None or not blocks.end:
        return kn.weight_step(w.C[a], w.R[a], w.M_R[a], w.M_C[a, a], k, p.dt, lam, p.temperature, sphere,
                              w.D_buf, w.G_buf, w.c[a])
    ww = state.weight_blocks[a]
    ww.make_room(blocks.store.shape[0], state.T)
    start, length, slot = blocks.arrays()
    cols, dvals = state.tracked.memory_terms(a, k, w.R[a], w.M_C[a, a, k], state.paths.F[a, k - state.base],
                                             p.alpha / state.n, p.dt)
    return kn.weight_step_window(w.C[a], w.R[a], w.M_R[a], w.M_C[a, a], k, p.dt, lam, p.temperature, sphere,
                                 w.D_buf, w.G_buf, w.c[a], blocks.end, start, length, slot,
                                 ww.Cbar, ww.Rbar, ww.Rtil, cols, dvals)


def teacher_weight_step(state: MarchState, a: int, k: int):
    """3b with teacher data (derivation §9): the component orthogonal to the teacher follows the
    recursion of random data (``C``, ``R`` of ``weight_step``, unprojected), the overlap

        B_m = (1 - dt lambda) m(k) - dt alpha mean_p f_p(k) t_p,     m(k+1) = A_k B_m,

    and the projection normalises both: ``A_k = (E[B_perp^2] + B_m^2)^{-1/2}`` (sphere).
    Returns ``(A_k, E[B^2])`` with ``E[B^2] = E[B_perp^2] + B_m^2``."""
    p, w, paths = state.params, state.weights, state.paths
    lam = state.model.ridge
    eb2_perp = _weight_step(state, a, k, False)[1]
    b_m = (1.0 - p.dt * lam) * w.m[a, k] - p.dt * p.alpha * float(np.mean(paths.f[a] * paths.t))
    eb2 = eb2_perp + b_m * b_m
    if state.model.sphere:
        A = 1.0 / math.sqrt(eb2) if eb2 > 0 else math.nan
        w.C[a, k + 1, :k + 1] *= A
        w.C[a, :k + 1, k + 1] *= A
        w.C[a, k + 1, k + 1] *= A * A
        w.R[a, k + 1, :k + 1] *= A
    else:
        A = 1.0
    w.m[a, k + 1] = A * b_m
    return A, eb2


def frozen(state: MarchState, k: int) -> bool:
    """Whether the run is frozen at step ``k``: a state on the sphere without temperature in which
    no path of any replica has a violated constraint (quadratic hinge, every gap ``h >= 0``), so
    that every force ``f`` and curvature ``a`` vanish whatever the selection.  Then a step is the
    identity: ``M_C(k, .) = 0`` so ``omega(k) = 0``, ``M_R(k, .) = 0`` so ``c_k = 1`` and
    ``c_m = 0``, ``E[B^2] = C(k, k) = 1`` so ``A_k = 1`` (derivation section 7), and so is every
    later step."""
    p, model = state.params, state.model
    if k == 0 or p.temperature > 0 or not model.sphere or not model.hinge:
        return False
    h = state.paths.u - model.delta
    if state.paths.t is not None:
        h = h + state.weights.m[:, k, None] * state.paths.t[None, :]
    return bool(np.all(h >= 0.0))


def freeze(state: MarchState, k: int) -> None:
    """Fill every step after ``k`` with the frozen state: ``w(k') = w(k)``, so ``C(k', j) = C(k, j)``
    (``j <= k``) and ``C(k)`` beyond, ``R(k', j) = R(k, j)`` (``j < k``) and ``1`` for ``k <= j < k'``
    (a kick along a flat direction of the sphere persists), the cross-correlation likewise, ``M_C``,
    ``M_R`` zero, ``A = 1``, the teacher overlap and every one-time observable constant, the gap
    histograms those of step ``k``."""
    w, obs, K = state.weights, state.obs, state.K
    if k >= K:
        return
    for a in range(state.nr):
        C, R = w.C[a], w.R[a]
        C[k + 1:, :k + 1] = C[k, :k + 1]
        C[:k + 1, k + 1:] = C[:k + 1, k][:, None]
        C[k + 1:, k + 1:] = C[k, k]
        R[k + 1:, :k] = R[k, :k]
        R[k + 1:, k:] = _frozen_response(K - k)
        w.A[a, k:] = 1.0
        w.M_R[a, k + 1:] = 0.0
        if w.m is not None:
            w.m[a, k + 1:] = w.m[a, k]
    w.M_C[:, :, k + 1:] = 0.0
    if w.X is not None:
        X = w.X
        X[k + 1:, :k + 1] = X[k, :k + 1]
        X[:k + 1, k + 1:] = X[:k + 1, k][:, None]
        X[k + 1:, k + 1:] = X[k, k]
    for arr in (obs.energy, obs.frac_unsat, obs.nu) + ((obs.distance,) if obs.distance is not None else ()):
        arr[k + 1:] = arr[k]
    last = obs.hists.get(k)
    if last is None:
        h = state.paths.u - state.model.delta
        if state.paths.t is not None:
            h = h + w.m[:, k, None] * state.paths.t[None, :]
        last = gap_counts(h, obs.gap_edges) / (h.size * np.diff(obs.gap_edges))
    for step in obs.hist_steps:
        if step > k:
            obs.hists[step] = last.copy()
    state.k_done = K


def _frozen_response(n: int) -> np.ndarray:
    """``R(k + i, k + j)`` for ``i = 1..n``, ``j = 0..n``: 1 for ``j < i`` (a kick at a frozen step
    persists), 0 from the diagonal on (causality)."""
    return np.tril(np.ones((n, n + 1)))


def _add_block_sums(state: MarchState, a: int, m0: int, estimator: ResponseEstimator) -> None:
    """The memory sums of replica ``a`` over the steps before its window ``m0`` (in the blocks
    since :func:`enter_blocks`): ``sum_B c_B ubar(B)``, and of the copies, are added."""
    blocks = state.blocks[a]
    extra = np.zeros((blocks.groups, state.n))
    blocks.add_sums(state.weights.c[a], extra)
    state.paths.mem_u[a] += extra[0]
    estimator.mem_y[a] += extra[1:]


def advance_paths(state: MarchState, k: int, estimator: ResponseEstimator) -> None:
    """4. One fused sweep over the histories per replica (``omega = L z`` and the memory sums of
    ``u`` and of the estimator's copies, over the memory window if there is one, the block means
    of the older steps added), then ``u(k+1)`` and the copies at ``k + 1``."""
    p, w, paths, nr = state.params, state.weights, state.paths, state.nr
    noise = math.sqrt(2.0 * p.temperature * p.dt) if p.temperature > 0 else 0.0
    m0 = max(0, k - state.window) if state.window else 0   # memory sums exact from step m0 on
    for a in range(nr):
        estimator.store(a, k)
        idx = nr * k + a
        mz = 0 if state.window else idx + 1        # in a window the field is drawn already
        lrow = w.L[idx] if mz else w.c[a]              # (not read in a window)
        lo, hi = m0 - state.base, k - state.base      # the steps m0 .. k - 1 in the buffers
        kn.fused_memory(paths.Z, lrow, mz, paths.U[a, lo:hi], w.c[a, m0:k], 0, k - m0,
                        estimator.Y[a][:, lo:hi], paths.omega[a], paths.mem_u[a], estimator.mem_y[a])
        if m0 > 0:
            _add_block_sums(state, a, m0, estimator)
        unew = paths.mem_u[a] + w.c[a, k] * paths.u[a] - p.dt * paths.omega[a] - p.dt * paths.f[a]
        if noise:
            unew += noise * paths.ETA[idx]
        unew *= w.A[a, k]
        estimator.advance(a, k, w.A[a, k], w.c[a], paths.a[a])
        paths.u[a] = unew
        if not np.all(np.isfinite(unew)) or np.max(np.abs(unew)) > PATH_RUNAWAY:
            raise Diverged(f"effective process blew up at step {k + 1} (t = {(k + 1) * p.dt:g})")
