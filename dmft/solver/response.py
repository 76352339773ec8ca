"""Estimators of the response kernel ``M_R(k, j) = alpha E[a(k) Gamma(k, j)]`` (``j < k``).

``Gamma(k, j) = d u(k) / d P(j)`` is the response of a path's field to a kick of its gap at an
earlier step (``docs/dmft-derivation.md`` section 4).  The march asks a
:class:`ResponseEstimator` for one row ``M_R(k, <k)`` per step and tells it when the paths
advance; three strategies are implemented:

* :class:`ProbeResponse` (``exact_lags = 0``): ``n_probes`` linearised copies ``y`` per path, driven by
  probe fields ``sigma`` with exactly orthogonal Walsh-Hadamard columns;
  ``M_R(k, j) ~ alpha/n sum_p a_p(k) y_p(k) sigma_p(j)``.  O(n T^2) in all; the copies'
  histories are swept together with the fields' (:func:`dmft.solver.kernels.fused_memory`).
* :class:`BandedProbeResponse` (``exact_lags``): the exact per-path response at the lags
  ``1 .. L`` and the probes, with that band removed from their signal, beyond it;
* :class:`BlockResponse` (``response = "blocks"``, the default for the quadratic hinge): the same
  exact band, and beyond it the exact
  sums of ``Gamma_p(k, j)`` over blocks of old steps ``j`` (one linearised copy per block, driven
  by the band's columns as they leave it), so that the far entries are block means with no
  estimator noise;
* :class:`ExactResponse`: the per-path response ``Gamma_p(k, j)`` itself, O(n T^3) time and
  O(n T^2) memory per replica: small grids only (checks of the probe estimator).

All four work for one and two replicas (each replica has its own ``M_R^a``; ``M_R^{12} = 0``).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.blockplan import BlockPlan
from . import kernels as kn

#: largest memory (bytes) the exact response may take
EXACT_MAX_BYTES = 4e9


def _next_pow2(x: int) -> int:
    return 1 << max(0, int(math.ceil(math.log2(max(1, x)))))


class ResponseEstimator:
    """Interface of a response estimator over ``nr`` replicas of ``n`` paths and ``T`` times.

    ``Y`` (nr, n_copies, T, n) are the histories of the linearised copies that the fused memory
    sweep reads (``n_copies = 0`` when there are none) and ``mem_y`` (nr, n_copies, n) receives
    their memory sums ``sum_m c_m y(m)``.
    """

    Y: np.ndarray
    mem_y: np.ndarray

    def begin_step(self, k: int) -> None:
        """Prepare step ``k`` (before :meth:`memory_row`)."""

    def memory_row(self, a: int, k: int, av: np.ndarray, out: np.ndarray) -> None:
        """Write ``M_R^a(k, j)`` for ``j < k`` into ``out`` (length k); ``av = a^a(k)`` per path."""
        raise NotImplementedError

    def store(self, a: int, k: int) -> None:
        """Record the copies' values at step ``k`` in the histories (before the memory sweep)."""

    def advance(self, a: int, k: int, A: float, c: np.ndarray, av: np.ndarray) -> None:
        """Step the copies of replica ``a`` to ``k + 1`` (projection ``A``, memory ``c``)."""
        raise NotImplementedError

    def grow(self, T: int) -> None:
        """Room for ``T`` steps, for a march continued to a longer horizon."""
        raise NotImplementedError(f"{type(self).__name__} cannot be continued")


class ProbeResponse(ResponseEstimator):
    """``n_probes`` linearised copies per path (derivation section 4).

    ``y(k+1) = A_k [ sum_m c_m y(m) - dt a(k) (sigma(k) + y(k)) ]``, ``y(0) = 0``; probe columns
    ``sigma_p(j) = eps_p eps'_j (-1)^popcount(p & c_j)`` with random signs and distinct random
    Walsh codes, the same design for both replicas (identical replicas stay identical).
    ``probe_signal = "dr"`` multiplies by ``sigma(k) + y(k)`` instead of ``y(k)``.
    """

    def __init__(self, nr: int, n: int, T: int, n_probes: int, dt: float, alpha: float,
                 rng: np.random.Generator, history_dtype, probe_signal: str = "y", history_rows: int = 0):
        self.nr, self.n, self.dt, self.alpha = nr, n, dt, alpha
        self.n_probes = n_probes
        self.signal = probe_signal
        self.rng = rng
        self.N2 = _next_pow2(n)
        self.eps_p = rng.choice([-1.0, 1.0], size=(n_probes, n))
        # the design of the probe columns, drawn an epoch of N2 steps at a time (so that it does not
        # depend on the horizon: a continued march uses the design of a single one)
        self.eps_t = np.zeros((n_probes, 0))
        self.codes = np.zeros((n_probes, 0), dtype=np.int64)
        self._design(T)
        # the copies' history: every step, or (a memory window) a buffer of history_rows steps
        # from the step ``base`` on (:func:`dmft.solver.state.slide`)
        self.window_rows = history_rows
        self.base = 0
        self.Y = np.zeros((nr, n_probes, history_rows or T, n), history_dtype)
        self.y = np.zeros((nr, n_probes, n))
        self.mem_y = np.zeros((nr, n_probes, n))
        self.sigma = np.zeros((n_probes, n))
        self.wh = np.zeros(self.N2)

    def _design(self, T: int) -> None:
        """Draw the probe design (signs ``eps'_j`` and distinct Walsh codes ``c_j``) for the steps
        below ``T``: per epoch of ``N2 = next_pow2(n)`` steps, the signs then one permutation of
        the codes per probe."""
        while self.eps_t.shape[1] < T:
            eps = self.rng.choice([-1.0, 1.0], size=(self.n_probes, self.N2))
            codes = np.stack([self.rng.permutation(self.N2) for _ in range(self.n_probes)]).astype(np.int64)
            self.eps_t = np.concatenate([self.eps_t, eps], axis=1)
            self.codes = np.concatenate([self.codes, codes], axis=1)

    def grow(self, T: int) -> None:
        """Room for ``T`` steps (a continued march): the design and the copies' histories."""
        self._design(T)
        if not self.window_rows and T > self.Y.shape[2]:
            Y = np.zeros(self.Y.shape[:2] + (T,) + self.Y.shape[3:], self.Y.dtype)
            Y[:, :, : self.Y.shape[2]] = self.Y
            self.Y = Y

    def begin_step(self, k: int) -> None:
        for r in range(self.n_probes):
            kn.probe_column(self.eps_p[r], self.eps_t[r, k], self.codes[r, k], self.sigma[r])

    def memory_row(self, a: int, k: int, av: np.ndarray, out: np.ndarray) -> None:
        signals = (self.y[a, r] if self.signal == "y" else self.y[a, r] + self.sigma[r]
                   for r in range(self.n_probes))
        self._probe_sums(av, signals, out)

    def _probe_sums(self, av: np.ndarray, signals, out: np.ndarray) -> None:
        """``out[j] = alpha/(n n_probes) sum_r sum_p a_p signal_{r,p} sigma_{r,p}(j)`` for the
        ``len(out)`` earliest steps ``j``: one Walsh-Hadamard transform per probe (``signals``
        yields one signal per probe)."""
        count = len(out)
        acc = np.zeros(count)
        for r, signal in enumerate(signals):
            self.wh[:] = 0.0
            self.wh[:self.n] = av * signal * self.eps_p[r]
            kn.fwht(self.wh)
            acc += self.eps_t[r, :count] * self.wh[self.codes[r, :count]]
        out[:] = self.alpha / (self.n * self.n_probes) * acc

    def store(self, a: int, k: int) -> None:
        self.Y[a, :, k - self.base] = self.y[a]

    def advance(self, a: int, k: int, A: float, c: np.ndarray, av: np.ndarray) -> None:
        ck = c[k]
        for r in range(self.n_probes):
            y = self.y[a, r]
            self.y[a, r] = A * (self.mem_y[a, r] + ck * y - self.dt * av * (self.sigma[r] + y))


class BandedProbeResponse(ProbeResponse):
    """Exact response at the lags ``1 .. L``, probes beyond (derivation section 4).

    Each path carries ``Gamma_p(k, k - lag)`` for ``lag <= L`` (:func:`dmft.solver.kernels.band_advance`,
    O(n L^2) per step, ``L^2 n`` numbers per replica in ``history_dtype``), so ``M_R(k, k - lag)`` is the plain path
    average ``alpha/n sum_p a_p(k) Gamma_p(k, k - lag)`` there.  Beyond the band the probe
    estimator uses the copy with its band part removed, ``y'(k) = y(k) - sum_{lag <= L}
    Gamma(k, k - lag) sigma(k - lag)``: the short-lag terms, which carry most of the variance of
    ``a Gamma``, no longer leak into the far entries as cross-probe noise.  Both parts are
    unbiased; the copies ``y`` evolve exactly as in :class:`ProbeResponse`.
    """

    def __init__(self, nr: int, n: int, T: int, n_probes: int, dt: float, alpha: float,
                 rng: np.random.Generator, history_dtype, band: int, history_rows: int = 0):
        super().__init__(nr, n, T, n_probes, dt, alpha, rng, history_dtype, "y", history_rows)
        self.L = band
        self.H = np.zeros((nr, band, band, n), history_dtype)
        self.S = np.zeros((n_probes, band + 1, n))
        self.y_far = np.zeros(n)

    def begin_step(self, k: int) -> None:
        super().begin_step(k)
        self.S[:, k % (self.L + 1)] = self.sigma

    def memory_row(self, a: int, k: int, av: np.ndarray, out: np.ndarray) -> None:
        near = min(self.L, k)
        band = np.zeros(near)
        kn.band_row(self.H[a], k, av, self.alpha / self.n, band)
        out[k - near:] = band[::-1]
        if k > near:
            self._probe_sums(av, self._far_signals(a, k), out[:k - near])

    def _far_signals(self, a: int, k: int):
        """The probe copies of replica ``a`` at step ``k`` without their band part, one per probe."""
        for r in range(self.n_probes):
            kn.band_subtract(self.H[a], self.S[r], k, self.y[a, r], self.y_far)
            yield self.y_far

    def advance(self, a: int, k: int, A: float, c: np.ndarray, av: np.ndarray) -> None:
        super().advance(a, k, A, c, av)
        kn.band_advance(self.H[a], c, k, A, self.dt, av)


class BlockResponse(ResponseEstimator):
    """Exact response at the lags ``1 .. L`` and exact block sums beyond (``response = "blocks"``).

    Each path carries the band ``Gamma_p(k, k - lag)``, ``lag <= L``, as
    :class:`BandedProbeResponse` does.  When the column of step ``j`` leaves the band (step
    ``k = j + L``) its whole history ``Gamma_p(m, j)``, ``m = j + 1 .. k``, is added to the copy of
    a block ``B`` of old steps (:class:`~dmft.core.blockplan.BlockPlan`),
    ``y_B(m) = sum_{j in B} Gamma_p(m, j)``, which from then on obeys the homogeneous recursion of
    the copies (no source: its steps are past),

        y_B(k+1) = A_k [ sum_m c_m y_B(m) - dt a(k) y_B(k) ],

    and merged blocks add their copies (linearity).  The far entries of a row are the block means

        M_R(k, j) = alpha / (n |B|) sum_p a_p(k) y_{B,p}(k),   j in B,

    exact sums over the paths, with no probe noise; what is approximated is only the shape of
    ``M_R(k, .)`` inside a block, at most a quarter of its lag and its first step long.

    Because the far part of the row is constant on each block, so is ``c_m = -dt M_R(k, m)``, and
    a copy's memory sum needs its history only through its sums over the blocks: each copy keeps
    its last ``L + 1`` steps (``ring``) and its sums ``S`` over the blocks of older steps (the
    blocks of row ``k``, which are the plan's of the step before).  That is the same sum, in
    another order: O(L + blocks) per copy and step, in time and memory, whatever the horizon.
    """

    def __init__(self, nr: int, n: int, T: int, dt: float, alpha: float, history_dtype, band: int,
                 ratio: float | None = None):
        if band < 1:
            raise ValueError("the block response needs an exact band of at least one lag")
        self.nr, self.n, self.dt, self.alpha, self.L, self.T = nr, n, dt, alpha, band, T
        self.plan = BlockPlan(band, ratio)
        self.ratio = self.plan.ratio
        self.H = np.zeros((nr, band, band, n), history_dtype)
        self.Y = np.zeros((nr, 0, T, n), history_dtype)   # no copies in the fused sweep
        self.mem_y = np.zeros((nr, 0, n))
        self._alloc(BlockPlan.most_slots(band, T, self.ratio))
        # the step entered last (once for every replica), the blocks of its row (the plan after
        # the step before) and the plan's actions of the step before and of that step
        self._k = -1
        self._row_blocks: list = []
        self._previous = self._current = None

    def _alloc(self, slots: int) -> None:
        """The copies' values ``b``, recent steps ``ring`` and block sums ``S`` for ``slots`` copies
        (what exists is kept)."""
        old = getattr(self, "b", None)
        n, nr, L = self.n, self.nr, self.L
        self.b = np.zeros((nr, slots, n))
        self.ring = np.zeros((nr, slots, L + 1, n), self.H.dtype)
        self.S = np.zeros((nr, slots, slots, n))
        self.mem = np.zeros((nr, slots, n))
        if old is not None:
            s = old.shape[1]
            self.b[:, :s], self.ring[:, :s], self.S[:, :s, :s] = old, self._ring_old, self._S_old

    def grow(self, T: int) -> None:
        """Room for ``T`` steps (a continued march): more copies if the plan needs them."""
        self._room(BlockPlan.most_slots(self.L, T, self.ratio))
        self.T = max(T, self.T)

    def _room(self, slots: int) -> None:
        """At least ``slots`` copies (the plan's count beyond its replayed horizon is an estimate)."""
        if slots > self.b.shape[1]:
            self._ring_old, self._S_old = self.ring, self.S
            self._alloc(slots)
            del self._ring_old, self._S_old

    def _enter(self, k: int) -> None:
        """Step ``k``, once for every replica: the blocks of row ``k`` (the plan after step
        ``k - 1``), the actions of step ``k - 1`` (which the block sums take up now) and those of
        step ``k`` (which the copies take up now)."""
        if self._k != k:
            self._k = k
            self._row_blocks = [tuple(b) for b in self.plan.blocks]
            self._previous, self._current = self._current, (self.plan.enter(k) if k >= self.L else None)
            self._room(self.plan.n_slots)

    def memory_row(self, a: int, k: int, av: np.ndarray, out: np.ndarray) -> None:
        near = min(self.L, k)
        band = np.zeros(near)
        kn.band_row(self.H[a], k, av, self.alpha / self.n, band)
        out[k - near:] = band[::-1]
        scale = self.alpha / self.n
        for start, end, slot in self.plan.blocks:
            out[start:end] = scale * float(av @ self.b[a, slot]) / (end - start)

    def store(self, a: int, k: int) -> None:
        """Step ``k``: the step ``k - 1 - L`` leaves the copies' recent steps for their block sums
        (and the blocks of those sums merge as the plan's did); the band's column ``k - L`` joins
        its copy, copies merge; the copies' values at ``k`` enter their recent steps."""
        self._enter(k)
        previous, current = self._previous, self._current
        L, ring, S, b = self.L, self.ring[a], self.S[a], self.b[a]
        copies = [slot for _, _, slot in self._row_blocks]
        if previous is not None:
            slot, opened, merges = previous
            old = (k - 1 - L) % (L + 1)
            if opened:
                S[:, slot] = 0.0
            for copy in copies:
                S[copy, slot] += ring[copy, old]
                for kept, released in merges:
                    S[copy, kept] += S[copy, released]
                    S[copy, released] = 0.0
        if current is not None:
            slot, opened, merges = current
            j = k - L
            column = self.H[a, j % L]                       # Gamma(j + 1 + l, j), l = 0 .. L - 1
            if opened:
                ring[slot], S[slot], b[slot] = 0.0, 0.0, 0.0
            rows = np.arange(j + 1, k) % (L + 1)
            ring[slot, rows] += column[:L - 1]
            b[slot] += column[L - 1]
            for kept, released in merges:
                ring[kept] += ring[released]
                S[kept] += S[released]
                b[kept] += b[released]
                ring[released], S[released], b[released] = 0.0, 0.0, 0.0
        for _, _, slot in self.plan.blocks:
            ring[slot, k % (L + 1)] = b[slot]

    def advance(self, a: int, k: int, A: float, c: np.ndarray, av: np.ndarray) -> None:
        L = self.L
        live = np.array([slot for _, _, slot in self.plan.blocks], dtype=np.int64)
        if live.size:
            wring = np.zeros(L + 1)
            recent = np.arange(max(0, k - L), k)
            wring[recent % (L + 1)] = c[recent]
            wsum = np.zeros(self.S.shape[2])
            for start, _, slot in self._row_blocks:          # c is constant on each of them
                wsum[slot] = c[start]
            kn.block_copy_memory(self.ring[a], wring, self.S[a], wsum, live, self.mem[a])
            y, mem = self.b[a, live], self.mem[a, live]
            self.b[a, live] = A * (mem + c[k] * y - self.dt * av * y)
        kn.band_advance(self.H[a], c, k, A, self.dt, av)


class ExactResponse(ResponseEstimator):
    """The exact per-path response ``G[a, m, j, p] = d u^a_p(m) / d P(j)`` (j < m):

    ``Gamma(k+1, j) = A_k [ sum_m c_m Gamma(m, j) - dt a(k) (delta_kj + Gamma(k, j)) ]``,
    ``M_R(k, j) = alpha/n sum_p a_p(k) Gamma_p(k, j)``.
    """

    @staticmethod
    def check_size(nr: int, n: int, T: int) -> None:
        """Refuse (ValueError) a grid whose response array would exceed EXACT_MAX_BYTES; called
        before anything is allocated."""
        need = nr * T * T * n * 8
        if need > EXACT_MAX_BYTES:
            raise ValueError(
                f"response='exact' needs {need / 1e9:.1f} GB (n_paths x T^2 per replica); "
                f"the limit is {EXACT_MAX_BYTES / 1e9:g} GB: use the probe estimator")

    def __init__(self, nr: int, n: int, T: int, dt: float, alpha: float):
        self.check_size(nr, n, T)
        self.n, self.dt, self.alpha = n, dt, alpha
        self.G = np.zeros((nr, T, T, n))
        self.Y = np.zeros((nr, 0, T, n))
        self.mem_y = np.zeros((nr, 0, n))

    def memory_row(self, a: int, k: int, av: np.ndarray, out: np.ndarray) -> None:
        out[:] = self.alpha / self.n * (self.G[a, k, :k] @ av)

    def advance(self, a: int, k: int, A: float, c: np.ndarray, av: np.ndarray) -> None:
        G = self.G[a]
        G1 = np.tensordot(c[:k + 1], G[:k + 1, :k + 1], axes=(0, 0))  # (k+1, n)
        G1[:k] -= self.dt * av * G[k, :k]
        G1[k] -= self.dt * av
        G[k + 1, :k + 1] = A * G1


def make_estimator(method, nr: int, n: int, T: int, dt: float, alpha: float,
                   rng: np.random.Generator, history_rows: int = 0) -> ResponseEstimator:
    """The estimator named by ``method.response``; ``history_rows``: the copies' history is a
    buffer of that many steps (a memory window), 0: every step."""
    if method.response == "exact":
        return ExactResponse(nr, n, T, dt, alpha)
    band = method.band(T - 1, dt)
    if method.response == "blocks":     # the march resolved the band: at least one lag
        return BlockResponse(nr, n, T, dt, alpha, np.dtype(method.history_dtype), band)
    if band > 0:
        return BandedProbeResponse(nr, n, T, method.n_probes, dt, alpha, rng,
                                   np.dtype(method.history_dtype), band, history_rows)
    return ProbeResponse(nr, n, T, method.n_probes, dt, alpha, rng, np.dtype(method.history_dtype),
                         method.probe_signal, history_rows)
