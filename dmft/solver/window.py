"""The Gaussian fields of a march with a memory window: conditioning on the recent steps and on
block means of the older ones (derivation section 10).

Without a window the field ``omega^a_p(k)`` is drawn by one new row of the Cholesky factor of the
empirical ``M_C`` and a sweep over all earlier innovations: ``O(k^2)`` and ``O(n k)`` per step.
Equivalently it is the Gaussian regression on the earlier fields plus a fresh innovation,

    omega(k) = sum_f beta_f phi_f + s z(k),     G beta = t,     s^2 = M_C(k, k) - beta . t,

with ``phi`` the earlier fields, ``G`` their Gram matrix over paths and ``t`` the target
covariances ``M_C(k, .)``: the innovations are exactly orthonormal over paths and orthogonal to
everything drawn before (:mod:`dmft.solver.inputs`), so the new field has exactly the empirical
covariance ``t`` with every ``phi_f`` and the variance ``M_C(k, k)``.

With a window ``W`` the regressors ``phi`` are the fields of the last ``W`` steps and the *block
means* of the older fields (the blocks of :class:`~dmft.solver.blocks.BlockHistory`), and the
targets of a block are the block means of ``M_C(k, .)``, computed from the block means of the
forces.  The new field then has the exact covariance with every recent field and with the mean
of every old block; only its covariance with single old steps inside a block is the block's
mean.  ``G`` needs no sweep: every regressor was drawn with the covariances that were its targets,
and blocks only merge, so ``G`` is known from the targets and updated when blocks form or merge.
The cost per step is ``O(n d)`` and ``O(d^3)`` with ``d = nr (W + blocks)`` regressors, instead
of ``O(n k)`` and ``O(k^2)``.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels as kn
from .blocks import BlockHistory


class FieldWindow:
    """The regressors of the fields of ``nr`` replicas over ``n`` paths in a memory window.

    ``blocks`` holds, per block of old steps, the means of ``omega^b`` (groups ``0 .. nr-1``) and
    of the forces ``f^b`` (groups ``nr .. 2 nr - 1``).  The ``d`` regressors are kept as the
    triangular factor ``R`` of their Gram matrix, ``G = R^T R`` (the coordinates of each regressor,
    a column, in an orthonormal basis of their span), in the order they were made: regressor ``i``
    is the field of replica ``rb[i]`` at step ``rj[i]`` (``rlen[i] = 0``) or its mean over the
    block of ``rlen[i]`` steps from ``rj[i]``.  A new field appends its
    coordinates (the forward solve of its targets) and its innovation; a merge of two blocks
    deletes their columns (Givens rotations) and appends the mean of the two; so no step needs
    more than ``O(d^2)`` operations on ``R`` and the factor stays as accurate as the Cholesky
    rows of the full march.
    """

    def __init__(self, nr: int, n: int, rtol: float):
        self.nr, self.n, self.rtol = nr, n, float(rtol)
        self.blocks = BlockHistory(2 * nr, n)
        self.d = 0
        self.R = np.zeros((0, 0))
        self.rb = self.rj = self.rlen = np.zeros(0, dtype=np.int64)
        self.slot_of: dict = {}
        self.min_pivot2 = np.inf

    def _room(self, d: int) -> None:
        if d > len(self.rb):
            cap = max(2 * len(self.rb), d, 16)
            R = np.zeros((cap, cap))
            R[:self.d, :self.d] = self.R[:self.d, :self.d]
            self.R = R
            grow = cap - len(self.rb)
            self.rb, self.rj, self.rlen = (np.concatenate((x, np.zeros(grow, dtype=np.int64)))
                                           for x in (self.rb, self.rj, self.rlen))

    def _find(self, b: int, start: int, length: int) -> int:
        d = self.d
        hit = np.flatnonzero((self.rb[:d] == b) & (self.rj[:d] == start) & (self.rlen[:d] == length))
        return int(hit[0])

    # -- the block part -------------------------------------------------------------------------
    def push_until(self, m0: int, OM: np.ndarray, F: np.ndarray, base: int = 0) -> None:
        """Move the steps before ``m0`` from the recent regressors into the blocks (fields ``OM``
        (rows ``nr (j - base) + b``), forces ``F`` (nr, steps, n), from step ``base`` on); ``R``
        follows the blocks that merge."""
        nr = self.nr
        if self.blocks.end >= m0:
            return
        while self.blocks.end < m0:
            j = self.blocks.end
            i = j - base
            merges = self.blocks.push(np.concatenate((OM[nr * i:nr * i + nr], F[:, i])), j)
            for b in range(nr):        # the fields of step j become blocks of one step (same vectors)
                self.rlen[self._find(b, j, 0)] = 1
            for start, length, _, _ in merges:
                for b in range(nr):
                    self._merge(self._find(b, start, length), self._find(b, start + length, length))
        self.slot_of = dict(zip(self.blocks.blocks(), self.blocks.slots()))

    def _merge(self, i: int, j: int) -> None:
        """Regressors ``i`` and ``j`` (two blocks of equal length, ``j`` the later) are replaced by
        their mean, appended as the last regressor."""
        d, R = self.d, self.R
        c = 0.5 * (R[:d, i] + R[:d, j])
        b, start, length = self.rb[i], self.rj[i], 2 * self.rlen[i]
        for col in (max(i, j), min(i, j)):
            kn.tri_delete(R, d, col, c)
            for arr in (self.rb, self.rj, self.rlen):
                arr[col:d - 1] = arr[col + 1:d].copy()
            d -= 1
        # d == self.d - 2: c[:d] coordinates in the rotated basis, c[d], c[d + 1] outside the span
        R[:, d:d + 2] = 0.0
        R[d:d + 2, :] = 0.0
        R[:d, d] = c[:d]
        R[d, d] = np.hypot(c[d], c[d + 1])
        self.rb[d], self.rj[d], self.rlen[d] = b, start, length
        self.d = d + 1

    def block_gram(self, a: int, k: int, fa: np.ndarray, scale: float, MC_rows: np.ndarray) -> None:
        """Fill the entries of the old steps (before the window) of the rows ``M_C^{ab}(k, .)``
        (``MC_rows``: (nr, T), the rows of replica ``a``) with their block means
        ``scale sum_p f^a_p(k) fbar^b_p(B)``."""
        if not self.blocks.end:
            return
        nr = self.nr
        start, length, slot = self.blocks.arrays()
        slots = np.repeat(slot, nr)
        groups = np.tile(np.arange(nr, 2 * nr, dtype=np.int64), len(start))
        values = np.zeros(len(slots))
        kn.slot_gram(self.blocks.store, slots, groups, fa, scale, values)
        for b in range(nr):   # each block's value on each of its steps
            MC_rows[b, :start[-1] + length[-1]] = np.repeat(values[b::nr], length)

    def _parts(self) -> tuple:
        """``(old, slots, new)``: the regressors that are block means, their slots in the store,
        and those that are recent fields."""
        recent = self.rlen[:self.d] == 0
        old = np.flatnonzero(~recent)
        slots = np.array([self.slot_of[(self.rj[i], self.rlen[i])] for i in old], dtype=np.int64)
        return old, slots, np.flatnonzero(recent)

    def _combine(self, w: np.ndarray, OM: np.ndarray, base: int, out: np.ndarray, parts: tuple) -> None:
        """``out += sum_i w[i] phi_i`` over the regressors ``phi`` (the block means in the store,
        the recent fields in ``OM``; ``parts``: :meth:`_parts`)."""
        nr = self.nr
        old, slots, new = parts
        if len(old):
            kn.slot_combination(self.blocks.store, slots, self.rb[old], w[old], out)
        if len(new):
            rows = nr * self.rj[new] + self.rb[new]
            first = int(rows.min())
            weights = np.zeros(int(rows.max()) + 1 - first)
            weights[rows - first] = w[new]
            kn.row_combination(OM, first - nr * base, weights, out)

    def _orthogonal(self, z: np.ndarray, OM: np.ndarray, base: int, parts: tuple) -> np.ndarray:
        """``z`` (n,) minus its regression on the regressors, rescaled to ``mean_p z_p^2 = 1``.

        The inputs are exactly orthonormal within an epoch of ``n - 2`` (or ``n - 3``) vectors
        (:mod:`dmft.solver.inputs`); a march with a window may run longer than that, and an
        innovation of a later epoch is independent of, not orthogonal to, the fields already drawn:
        the new field would miss its targets by ``O(n^{-1/2})`` (measured: the Gram matrix kept in
        ``R`` left the regressors' by 2% after step ``n - 2`` at 1024 paths).  Projected, the
        innovation is again orthogonal to every regressor, as within an epoch.  ``parts``:
        :meth:`_parts`."""
        d, nr, n = self.d, self.nr, self.n
        g = np.zeros(d)
        old, slots, new = parts
        if len(old):
            vals = np.zeros(len(old))
            kn.slot_gram(self.blocks.store, slots, self.rb[old], z, 1.0 / n, vals)
            g[old] = vals
        if len(new):
            g[new] = OM[nr * (self.rj[new] - base) + self.rb[new]] @ z / n
        y, gamma = np.zeros(d), np.zeros(d)
        kn.tri_forward(self.R, d, g, y)
        kn.tri_backward(self.R, d, y, gamma)
        out = z.copy()
        self._combine(-gamma, OM, base, out, parts)
        norm = float(np.linalg.norm(out))
        if norm * norm < 1e-6 * n:   # the regressors span the paths (more than n - 2 of them): as drawn
            return z
        return out * (math.sqrt(n) / norm)

    # -- one field ------------------------------------------------------------------------------
    def draw(self, a: int, k: int, MC: np.ndarray, OM: np.ndarray, z: np.ndarray, out: np.ndarray,
             base: int = 0, project: bool = False) -> None:
        """Draw ``omega^a(k)`` into ``out`` (n,) and store it in ``OM`` (row ``v - nr base``, ``v =
        nr k + a``: the buffer starts at step ``base``): the regression on the current regressors
        with the targets of ``MC`` (nr, nr, T, T, rows ``<= k`` filled, old entries as block
        means), innovation ``z`` (n,); ``project``: make ``z`` orthogonal to the regressors first
        (:meth:`_orthogonal`; an innovation of a later epoch of the inputs)."""
        nr, v, d = self.nr, self.nr * k + a, self.d
        parts = self._parts() if d else None                 # the regressors, once for the draw
        if project and d:
            z = self._orthogonal(z, OM, base, parts)
        var = MC[a, a, k, k]
        t = MC[a, self.rb[:d], k, self.rj[:d]]
        y, beta = np.zeros(d), np.zeros(d)
        kn.tri_forward(self.R, d, t, y)
        kn.tri_backward(self.R, d, y, beta)
        piv2 = var - float(y @ y)
        # an innovation of at least rtol of the variance: no regressor is ever spanned by the
        # others (a zero pivot would make the factor singular), at a cost of rtol in the variance
        s = float(np.sqrt(max(piv2, self.rtol * var, 0.0)))
        if var > 0:
            self.min_pivot2 = min(self.min_pivot2, piv2 / var)
        out[:] = s * z
        if d:
            self._combine(beta, OM, base, out, parts)
        OM[v - nr * base] = out
        self._room(d + 1)                               # the new regressor: its coordinates
        self.R[:d, d] = y
        self.R[d, :d + 1] = 0.0
        self.R[d, d] = s
        self.rb[d], self.rj[d], self.rlen[d] = a, k, 0
        self.d = d + 1


class WeightWindow:
    """The block averages of the weight side of one replica in a memory window:
    ``Cbar[s, j]``, ``Rbar[s, j]`` (means over the steps of the block in slot ``s`` of the rows of
    ``C``, ``R``) and ``Rtil[i, s]`` (sums over them of the columns of ``R``), kept in step with
    the replica's :class:`~dmft.solver.blocks.BlockHistory` (its slots) for
    :func:`dmft.solver.kernels.weight_step_window`."""

    def __init__(self, T: int):
        self.Cbar = np.zeros((0, T))
        self.Rbar = np.zeros((0, T))
        self.Rtil = np.zeros((T, 0))

    def make_room(self, slots: int, T: int) -> None:
        """Room for ``slots`` block slots and ``T`` times (a grown store, a continued march)."""
        if slots > self.Cbar.shape[0] or T > self.Cbar.shape[1]:
            cap = max(slots, self.Cbar.shape[0])
            for name in ("Cbar", "Rbar"):
                old = getattr(self, name)
                new = np.zeros((cap, T))
                new[:old.shape[0], :old.shape[1]] = old
                setattr(self, name, new)
            new = np.zeros((T, cap))
            new[:self.Rtil.shape[0], :self.Rtil.shape[1]] = self.Rtil
            self.Rtil = new

    def entered(self, C: np.ndarray, R: np.ndarray, j: int, slot: int, merges: list, slots: int) -> None:
        """Step ``j`` entered the blocks in ``slot`` and caused ``merges`` (as returned by
        :meth:`BlockHistory.push`); ``slots``: the capacity of its store."""
        self.make_room(slots, C.shape[0])
        self.Cbar[slot] = C[j]
        self.Rbar[slot] = R[j]
        self.Rtil[:, slot] = R[:, j]
        for _, _, kept, freed in merges:
            self.Cbar[kept] = 0.5 * (self.Cbar[kept] + self.Cbar[freed])
            self.Rbar[kept] = 0.5 * (self.Rbar[kept] + self.Rbar[freed])
            self.Rtil[:, kept] += self.Rtil[:, freed]


class TrackedColumns:
    """Columns ``j`` of ``C`` (the waiting times) whose weight-side memory term keeps the exact
    ``M_C(k, l)`` of the ``W`` steps before ``j`` in a memory window.

    The column ``C(., j)`` grows by ``-dt A_k D(j)`` at every step ``k`` (derivation section 2), with
    ``D(j) = -dt sum_{l<j} R(j, l) M_C(k, l)`` dominated by the steps ``l`` just before ``j``, where
    ``R(j, l)`` is large.  A window replaces ``M_C(k, l)`` of an old ``l`` by its block mean; the
    empirical ``M_C(k, l)`` of a selection noise that is white in ``l`` varies from step to step, and
    its block mean breaks the match between the weight side and the paths: the far ``C(t, tw)``
    became two to four times noisier (``docs/long-horizons.md``).  With the forces of the steps
    ``[j - W, j)``, still in the window when the march is at ``j``, kept as one number per path,

        rho_p(j) = sum_{j-W <= l < j} R(j, l) f_p(l),
        D(j) = -dt [ sum_{l < j-W} R(j, l) M_C(k, l) + alpha/n sum_p f_p(k) rho_p(j) ],

    the second sum is exactly ``sum_{l in [j-W, j)} R(j, l) M_C(k, l)`` of the full march at every
    later ``k``: ``O(n)`` per tracked column and step, ``n`` numbers per column and replica.  A
    column is tracked when the march reaches it (the point's waiting times, or those a measurement
    will ask for later: :meth:`add` before the march gets there)."""

    def __init__(self, nr: int, n: int, window: int, steps=()):
        self.nr, self.n, self.window = int(nr), int(n), int(window)
        self.pending: set = set()
        self.cols = np.zeros(0, dtype=np.int64)   # the captured columns, in order of capture
        self.rho = np.zeros((self.nr, 0, self.n))
        self.add(steps, 0)

    def add(self, steps, first: int) -> None:
        """Track the columns ``steps`` that the march has not reached (``>= first``)."""
        self.pending.update(int(j) for j in steps if int(j) >= first and int(j) not in self.cols)

    def capture(self, k: int, R: np.ndarray, F: np.ndarray, base: int) -> None:
        """At step ``k``: ``rho^a(k)`` of a tracked column ``k`` from the rows ``R^a(k, .)`` and the
        force buffers ``F`` (replica, step - ``base``, path)."""
        if k not in self.pending:
            return
        self.pending.discard(k)
        e = max(0, k - self.window)
        if len(self.cols) == self.rho.shape[1]:
            grown = np.zeros((self.nr, max(8, 2 * len(self.cols)), self.n))
            grown[:, :len(self.cols)] = self.rho
            self.rho = grown
        i = len(self.cols)
        for a in range(self.nr):
            self.rho[a, i] = R[a, k, e:k] @ F[a, e - base:k - base].astype(np.float64)
        self.cols = np.append(self.cols, k)

    def memory_terms(self, a: int, k: int, R: np.ndarray, mc_row: np.ndarray, f: np.ndarray,
                     alpha_n: float, dt: float) -> tuple:
        """``(cols, D)``: the tracked columns ``j < k`` of replica ``a`` at step ``k`` and their
        ``D(j)``; ``R``: the replica's ``R``, ``mc_row``: ``M_C(k, .)``, ``f``: the forces at ``k``
        (as stored)."""
        m = len(self.cols)
        if not m:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        cols = self.cols
        near = alpha_n * (self.rho[a, :m] @ f)
        keep = cols < k
        vals = np.empty(m)
        for i, j in enumerate(self.cols):
            e = max(0, j - self.window)
            vals[i] = -dt * (R[j, :e] @ mc_row[:e] + near[i])
        return cols[keep], vals[keep]
