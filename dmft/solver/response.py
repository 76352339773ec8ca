"""Estimators of the response kernel ``M_R(k, j) = alpha E[a(k) Gamma(k, j)]`` (``j < k``).

``Gamma(k, j) = d u(k) / d P(j)`` is the response of a path's field to a kick of its gap at an
earlier step (``docs/dmft-derivation.md`` section 4).  The march asks a
:class:`ResponseEstimator` for one row ``M_R(k, <k)`` per step and tells it when the paths
advance; three strategies are implemented:

* :class:`ProbeResponse` (``exact_lags = 0``): ``n_probes`` linearised copies ``y`` per path, driven by
  probe fields ``sigma`` with exactly orthogonal Walsh-Hadamard columns;
  ``M_R(k, j) ~ alpha/n sum_p a_p(k) y_p(k) sigma_p(j)``.  O(n T^2) in all; the copies'
  histories are swept together with the fields' (:func:`dmft.solver.kernels.fused_memory`).
* :class:`BandedProbeResponse` (default, ``exact_lags``): the exact per-path response at the
  lags ``1 .. L`` and the probes, with that band removed from their signal, beyond it;
* :class:`ExactResponse`: the per-path response ``Gamma_p(k, j)`` itself, O(n T^3) time and
  O(n T^2) memory per replica: small grids only (checks of the probe estimator).

All three work for one and two replicas (each replica has its own ``M_R^a``; ``M_R^{12} = 0``).
"""

from __future__ import annotations

import math

import numpy as np

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
    if band > 0:
        return BandedProbeResponse(nr, n, T, method.n_probes, dt, alpha, rng,
                                   np.dtype(method.history_dtype), band, history_rows)
    return ProbeResponse(nr, n, T, method.n_probes, dt, alpha, rng, np.dtype(method.history_dtype),
                         method.probe_signal, history_rows)
