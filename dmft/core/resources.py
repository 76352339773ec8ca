"""Memory and run time of one run, estimated before anything is allocated.

With ``T = n_steps + 1`` grid times, ``nr`` replicas (1 or 2) and ``K`` waiting times:

**DMFT** (:class:`~dmft.core.methods.DMFTMethod`: ``n`` paths, ``p`` probes, exact band of
``L`` lags (``method.band``), history dtype of ``h`` bytes; replicates run one after the other,
so one march is in memory)::

    memory = 8 T^2 (3 nr + 2 nr^2 + [nr = 2])          weight side: C, R, M_R, M_C, L, C12
           + h nr T n (3 + p)                           path histories U, F, Z and probe copies Y
           + (h nr L^2 + 8 p (L + 1)) n                 the exact band and its probe columns
           + 8 nr T n [T > 0]                           thermal inputs
           + 8 n min(n, nr T)                           the orthogonal-input basis
           + 16 nr T^2 n [response = exact]             the exact per-path response (and a copy)
    work   = replicates n T (T / 2 (2 nr^2 + nr (4 + 2 p)) + nr L^2)
             (+ replicates nr 2 n T^3 / 3 with response = exact)
             times (1 + m / n) with a second path count m (``extrapolation_paths``)

With ``response = "blocks"`` there are no probes (``p = 0`` above, no probe columns) and the
block copies take, with ``s`` copies at most and ``s_k`` alive at step ``k``
(:func:`dmft.core.blockplan.footprint`)::

    memory += nr n s (h (L + 1) + 8 s + 16)             recent steps, block sums, values
    work   += replicates n sum_k 2 nr s_k (L + 1 + s)

With a memory window of ``W`` steps (``memory_window``; ``H = 2 W + 2`` steps of history kept,
``d = W + B`` regressors with ``B = 14 log2 T`` blocks at most) no Cholesky factor is kept, the
histories ``U``, ``F``, ``Y`` are buffers of ``H`` steps, the fields a float64 buffer, and the
block means and block averages are added::

    memory = 8 T^2 (3 nr + nr^2 + [nr = 2])  + h nr n (T + H (2 + p)) + 8 nr H n
           + 8 B n nr (3 + p) + 24 B T nr    + (band, thermal inputs, basis as above)
    work   = replicates sum_k [n d (nr^2 + nr (2 + p)) + nr L^2 n + nr k d]

**Simulation** (:class:`~dmft.core.methods.ParticleMethod`: ``N`` weights, ``P = alpha N``
patterns, ``m = nr (1 + K)`` weight copies, ``B = min(n_samples, 10)`` batches)::

    memory = 8 (P N + m N (2 + K) + 6 m P)               patterns (one sample at a time), copies,
                                                       gaps, forces
           + 8 T (5 + 2 K) (5 + 2 B)                   stored observables, their sums and batches
           + 8 n_samples T (5 + 2 K)                   each sample's observables (kept, so that
                                                       a measurement can add samples)
    work   = n_samples n_steps 4 m P N                  two matrix products per step

The terms are the arrays the code allocates (checked against the measured peak in
``tests/test_resources.py``); the two-time kernels a small DMFT grid keeps (``T <= 600``) add at
most 45 MB and are left out.  A work count becomes seconds at :data:`FLOP_RATE`, an optimistic rate, so the time is a lower
bound.  :func:`check` refuses (:class:`ResourceError`) a run whose memory exceeds the memory
available now (``MemAvailable`` of ``/proc/meminfo``, within a cgroup's limit) or whose time
exceeds :data:`MAX_SECONDS`; the CLI's ``--allow-large`` skips the check, and a run estimated to
take more than :data:`NOTICE_SECONDS` is announced with its estimate (:func:`describe`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from . import blockplan
from .methods import n_patterns, window_blocks

#: floating-point operations per second assumed for the time estimate (optimistic)
FLOP_RATE = 1e10
#: longest estimated run time accepted without ``--allow-large`` (one week)
MAX_SECONDS = 7 * 24 * 3600.0
#: runs estimated to take longer than this are announced with their estimate
NOTICE_SECONDS = 600.0


class ResourceError(ValueError):
    """A run that cannot fit in memory or time (the CLI exits with status 2)."""


@dataclass(frozen=True)
class Estimate:
    """Memory (bytes) and work (floating-point operations) of one run; ``what`` names it."""

    what: str
    memory: float
    work: float

    def __post_init__(self) -> None:
        if not (self.memory >= 0 and self.work >= 0):
            raise ValueError(f"an estimate is non-negative (got memory {self.memory}, work {self.work})")

    @property
    def seconds(self) -> float:
        """Lower bound of the run time at :data:`FLOP_RATE`."""
        return self.work / FLOP_RATE


def estimate(params, method) -> Estimate:
    """The :class:`Estimate` of ``params`` computed with ``method`` (formulas in the module text)."""
    T = params.n_steps + 1
    nr = params.replicas
    if method.kind == "dmft":
        n, p = method.n_paths, _probes(params, method)
        h = 4 if method.history_dtype == "float32" else 8
        L = _band(params, method)
        rest = ((h * nr * L * L + 8.0 * p * (L + 1)) * n * (L > 0)
                + 8.0 * nr * T * n * (params.temperature > 0) + 8.0 * n * min(n, nr * T))
        if method.estimator(params) == "blocks":
            slots, live = blockplan.footprint(L, T, blockplan.BLOCK_RATIO)
            rest += nr * n * slots * (h * (L + 1) + 8.0 * slots + 16.0)
        if method.window_at(params):
            W, B = _window_sizes(method, params)
            H = 2 * W + 2
            memory = (8.0 * T * T * (3 * nr + nr * nr + (nr == 2)) + h * nr * n * (T + H * (2 + p))
                      + 8.0 * nr * H * n + 8.0 * B * n * nr * (3 + p) + 24.0 * B * T * nr + rest)
            work = method.replicates * float(np.sum(_window_step_work(np.arange(T - 1, dtype=float), W, B,
                                                                      n, nr, p, L)))
            work *= 1.0 + method.companion(params) / n
            return Estimate(f"the DMFT ({method.n_paths} paths, {T} times, memory window {W})", memory, work)
        memory = (8.0 * T * T * (3 * nr + 2 * nr * nr + (nr == 2)) + h * nr * T * n * (3 + p) + rest)
        work = method.replicates * n * T * (T / 2 * (2 * nr * nr + nr * (4 + 2 * p)) + nr * L * L)
        if method.estimator(params) == "blocks":
            work += method.replicates * n * float(np.sum(_block_step_work(params, method, L)))
        if method.estimator(params) == "exact":
            memory += 16.0 * nr * T * T * n
            work += method.replicates * nr * 2.0 * n * T ** 3 / 3
        work *= 1.0 + method.companion(params) / n     # the second path count, one march at a time
        return Estimate(f"the DMFT ({method.n_paths} paths, {T} times)", memory, work)
    N, K = method.n, len(params.tw)
    P = n_patterns(params.alpha, N)
    m = nr * (1 + K)
    B = min(method.n_samples, 10)
    S = method.n_samples
    memory = (8.0 * (P * N + m * N * (2 + K) + 6 * m * P) + 8.0 * T * (5 + 2 * K) * (5 + 2 * B)
              + 8.0 * S * T * (5 + 2 * K))
    work = 4.0 * method.n_samples * params.n_steps * m * P * N
    return Estimate(f"the simulation (N = {N}, P = {P}, {method.n_samples} samples, {T} times)", memory, work)


def _probes(params, method) -> int:
    """Probe copies per path: none with the block or the exact response."""
    return method.n_probes if method.estimator(params) == "probe" else 0


def _band(params, method) -> int:
    """The exact band of the response estimator (0 with the exact response, at least 1 with blocks)."""
    return method.band_at(params) if method.estimator(params) != "exact" else 0


def _block_step_work(params, method, L: int) -> np.ndarray:
    """Work per path of the block copies at each step ``k = 0 .. T - 2``: ``2 nr s_k (L + 1 + s)``."""
    slots, live = blockplan.footprint(L, params.n_steps + 1, blockplan.BLOCK_RATIO)
    return 2.0 * params.replicas * live * (L + 1 + slots)


def _window_sizes(method, params) -> tuple:
    """The window ``W`` and the most blocks ``B`` of a march with a memory window at ``params``."""
    return method.window_at(params), window_blocks(params.n_steps + 1)


def _window_step_work(k: np.ndarray, W: int, B: int, n: int, nr: int, p: int, L: int) -> np.ndarray:
    """The work of the steps ``k`` of a march with a memory window: ``d = min(k, W) + min(k, B)``
    regressors and memory terms per path, the band, and the weight side's ``k d``."""
    d = np.minimum(k, W) + np.minimum(k, B)
    return n * d * (nr * nr + nr * (2 + p)) + nr * L * L * n + nr * k * d


def step_costs(params, method):
    """The relative cost of each step of a run, in the order its progress bar counts them
    (:func:`dmft.core.progress.unit_costs`), or None when every step costs the same
    (simulations).  DMFT: step ``k`` of each replicate sweeps the ``k`` earlier times, so it costs
    ``k (2 nr^2 + nr (4 + 2 p)) + nr L^2`` (the terms of :func:`estimate`, whose sum over ``k``
    is the work above)."""
    if method.kind != "dmft":
        return None

    nr, p = params.replicas, _probes(params, method)
    L = _band(params, method)
    k = np.arange(1, params.n_steps + 1, dtype=float)
    if method.window_at(params):
        W, B = _window_sizes(method, params)
        per = _window_step_work(k, W, B, method.n_paths, nr, p, L) / method.n_paths
    else:
        per = k * (2 * nr * nr + nr * (4 + 2 * p)) + nr * L * L
    if method.estimator(params) == "exact":
        per = per + nr * 2.0 * k * k
    if method.estimator(params) == "blocks":
        per = per + _block_step_work(params, method, L)
    m = method.companion(params)
    if m:   # the replicates of the second path count follow, cheaper per path
        return np.concatenate([np.tile(per * method.n_paths, method.replicates), np.tile(per * m, method.replicates)])
    return np.tile(per, method.replicates)


def available_memory() -> float | None:
    """Bytes of memory available now (``MemAvailable``; within the cgroup v2 limit), or None."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as fh:
                avail = min(avail, float(limit) - float(fh.read()))
    except (OSError, ValueError):
        pass
    return max(avail, 0.0)


def memory_limit_note() -> str:
    """`` (the address-space limit, ulimit -v, is X)`` when the process has one, else empty: what
    to say beside an out-of-memory failure."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return ""
    if limit == resource.RLIM_INFINITY:
        return ""
    return f" (the address-space limit, ulimit -v, is {_size(limit)}; raise it)"


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e9:.3g} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.3g} MB"


def _duration(seconds: float) -> str:
    for unit, length in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= length:
            return f"{seconds / length:.3g} {unit}"
    return f"{seconds:.3g} s"


def describe(est: Estimate) -> str:
    """One line: the estimated memory and the lower bound of the run time."""
    return (f"{est.what} needs about {_size(est.memory)} of memory and at least "
            f"{_duration(est.seconds)} (estimate at {FLOP_RATE:g} operations/s)")


def check(est: Estimate, copies: int = 1, memory_limit: float | None = None,
          max_seconds: float = MAX_SECONDS) -> None:
    """:class:`ResourceError` (one line: the estimate and the limit) when ``copies`` runs like
    ``est`` at once need more than ``memory_limit`` (default :func:`available_memory`) or one
    takes longer than ``max_seconds``."""
    limit = available_memory() if memory_limit is None else memory_limit
    need = est.memory * copies
    if limit is not None and need > limit:
        who = f"{copies} runs of {est.what} at once need" if copies > 1 else f"{est.what} needs"
        raise ResourceError(f"{who} about {_size(need)} of memory, more than the {_size(limit)} available; "
                            "--allow-large runs it anyway")
    if est.seconds > max_seconds:
        raise ResourceError(f"{est.what} takes at least {_duration(est.seconds)} ({est.work:.3g} operations at "
                            f"{FLOP_RATE:g}/s), more than the limit of {_duration(max_seconds)}; "
                            "--allow-large runs it anyway")
