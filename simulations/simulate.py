"""Direct simulation of the N-dimensional dynamics, averaged over independent systems.

:func:`simulate` integrates ``params.n_samples`` independent systems (own ``P = round(alpha N)``
patterns, own ``w(0)``, own noise; model and update of SPEC sections 1-2, see
:mod:`simulations.particles`) and returns a :class:`dmft.Result` with ``kind = "simulation"``:

* ``energy(t) = H/N``, ``frac_unsat(t) = #{h_mu < 0}/P``,
  ``nu(t) = -w.(sum_mu s_mu v'(h_mu) xi^mu/sqrt(N))/N`` (sphere; the stored value is this
  drift term only -- with a temperature the full Ito multiplier, from ``d|w|^2 = 0``, is
  ``nu + T``) or ``lambda`` (ridge);
* ``C[k, i] = w(t_i).w(tw_k)/N``, ``chi[k, i] = int_{tw_k}^{t_i} R(t_i, s) ds`` (random field
  ``eps H``, identical selection and thermal noise; see :mod:`simulations.particles`);
* ``distance(t) = (C11 + C22)/2 - C12`` (equal times), i.e. ``1 - w1.w2/N`` on the sphere, when
  ``replicas = 2``;
* ``extra['norm'] = C(t,t) = |w|^2/N``; ``extra['gap_t']`` (G,), ``extra['gap_edges']``
  (n_bins + 1,), ``extra['gap_hist']`` (G, n_bins): the density of the gaps ``h_mu`` at the times ``gap_t`` (each
  waiting time and the final time), over all patterns, replicas and samples.  Bins have width
  0.1 and cover ``-delta +- 5``, widened to multiples of 0.1 so that ``h = 0`` is a bin edge;
  the density is normalised by the total number of gaps, so gaps outside the range (rare)
  are simply missing from its integral (and for a diverged run, times after the divergence
  miss that sample);
* ``sem[name]``: standard error of the mean over samples for every observable above;
* ``extra['C_batches']``, ``extra['chi_batches']`` (B, K, T) (and ``extra['norm_batches']``
  (B, T) for ridge), ``extra['batch_size']`` (B,): the same averages over B = min(n_samples,
  :data:`N_BATCHES`) contiguous batches of samples, so that errors of non-linear estimators
  (the T_eff fit) can be obtained by a jackknife that keeps the correlations between times.

Every observable is first averaged over the replicas of a sample, then over samples.

Randomness: ``SeedSequence(seed)`` has one child per sample, and each sample child has the
children (:data:`STREAMS`) ``data`` (patterns then ``w(0)``), ``field`` (H), and
``selection_r``/``thermal_r`` for replica ``r = 0, 1``.  Hence the same seed reproduces a run
bit for bit (on the same machine and BLAS thread setting, see :mod:`simulations.blas`), ``sgd``
with ``b = 1`` equals ``gd``, and replica 0 sees the same streams whether or not a second
replica runs.
"""

from __future__ import annotations

import time
from typing import Dict, Optional

import numpy as np

from dmft.params import Params
from dmft.result import Result, gap_edges
from dmft.selection import make_selection

from .averaging import RunningMean
from .blas import DEFAULT_THREADS, blas_threads
from .particles import FIELD_EPS, draw_field, draw_system, n_patterns, run_sample

#: Names of the per-sample random streams, in SeedSequence spawn order.
STREAMS = ("data", "field", "selection_0", "thermal_0", "selection_1", "thermal_1")

#: Samples are also averaged in up to this many contiguous batches (for jackknife errors of
#: non-linear estimators such as the T_eff fit, which need the time-correlations of the noise).
N_BATCHES = 10


def sample_streams(seed: int, sample: int) -> Dict[str, np.random.Generator]:
    """Generators of sample ``sample``: identical to
    ``SeedSequence(seed).spawn(n_samples)[sample].spawn(len(STREAMS))``, built directly."""
    out = {}
    for j, name in enumerate(STREAMS):
        ss = np.random.SeedSequence(entropy=seed, spawn_key=(sample, j))
        out[name] = np.random.default_rng(ss)
    return out


def simulate(params: Params, progress: bool = False, eps: float = FIELD_EPS,
             threads: Optional[int] = DEFAULT_THREADS) -> Result:
    """Simulate ``params.n_samples`` systems of size ``N = params.n`` and average them.

    Never raises for a diverging run: if the weights become non-finite the result has
    ``status = "diverged"``, ``meta["message"]`` says where, and the observables are NaN from
    that time on.  ``progress`` shows a tqdm bar over samples x steps.  ``eps`` is the
    amplitude of the probe field for chi.  ``threads`` caps the BLAS threads (default 1, see
    :mod:`simulations.blas`; ``None`` leaves the BLAS setting alone -- faster for large N on an
    idle multi-core machine, much slower on a shared one).  Independent runs parallelise better
    as separate processes.
    """
    if not isinstance(params, Params):
        raise TypeError("simulate expects a dmft.Params")
    start = time.perf_counter()
    N = params.n
    P = n_patterns(params.alpha, N)
    R = params.replicas
    n = params.n_steps
    t = np.arange(n + 1) * params.dt
    gap_index = sorted(set(params.tw_index) | {n})
    edges = gap_edges(params.delta)
    widths = np.diff(edges)

    names = ["energy", "frac_unsat", "nu", "norm", "C", "chi"] + (["distance"] if R == 2 else [])
    acc = {name: RunningMean() for name in names}
    gap_total = np.zeros((len(gap_index), len(edges) - 1))
    K = len(params.tw)
    B = min(params.n_samples, N_BATCHES) if (K and params.n_samples >= 2) else 0
    batch_names = ["C", "chi"] + (["norm"] if params.constraint == "ridge" else [])
    batch_sum = {name: None for name in batch_names}
    batch_count = np.zeros(B, dtype=int)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=params.n_samples * n, unit="step", desc="simulate")
    on_step = None
    if bar is not None:
        chunk = 50

        def on_step(i, _bar=bar):  # update the bar in chunks: tqdm costs ~us per call
            if (i + 1) % chunk == 0:
                _bar.update(chunk)
            elif i + 1 == n:
                _bar.update(n % chunk)

    status, message, done = "ok", None, 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), blas_threads(threads):
            for sample in range(params.n_samples):
                rngs = sample_streams(params.seed, sample)
                X, w0 = draw_system(rngs["data"], P, N, params.constraint)
                field = draw_field(rngs["field"], N)
                selections = [make_selection(params, P, rngs[f"selection_{r}"]) for r in range(R)]
                noises = [rngs[f"thermal_{r}"] for r in range(R)]
                traj = run_sample(
                    params, X, w0, field, selections, noises,
                    gap_index=gap_index, gap_edges=edges, eps=eps, on_step=on_step,
                )
                for name in names:
                    acc[name].add(getattr(traj, name))
                gap_total += traj.gap_counts
                if B:
                    j = sample * B // params.n_samples
                    batch_count[j] += 1
                    for name in batch_names:
                        x = getattr(traj, name)
                        if batch_sum[name] is None:
                            batch_sum[name] = np.zeros((B,) + x.shape)
                        batch_sum[name][j] += x
                done += 1
                if traj.diverged_at is not None:
                    status = "diverged"
                    message = (
                        f"weights became non-finite at t = {t[traj.diverged_at]:g} "
                        f"(step {traj.diverged_at}) in sample {sample}; try a smaller dt"
                    )
                    break
    finally:
        if bar is not None:
            bar.close()

    gap_hist = gap_total / (done * R * P * widths)[None, :] if done else gap_total
    mean = {name: acc[name].mean for name in names}
    sem = {name: acc[name].sem for name in names}
    extra = {
        "norm": mean["norm"],
        "gap_t": t[gap_index],
        "gap_edges": edges,
        "gap_hist": gap_hist,
    }
    used = batch_count > 0
    if B and used.sum() >= 2:
        for name in batch_names:
            extra[f"{name}_batches"] = batch_sum[name][used] / batch_count[used].reshape((-1,) + (1,) * (batch_sum[name].ndim - 1))
        extra["batch_size"] = batch_count[used]
    meta = {
        "seed": params.seed,
        "wall_time_s": time.perf_counter() - start,
        "n_patterns": P,
        "field_eps": eps,
        "n_samples_done": done,
    }
    if message:
        meta["message"] = message
    return Result(
        params=params,
        kind="simulation",
        status=status,
        t=t,
        energy=mean["energy"],
        frac_unsat=mean["frac_unsat"],
        nu=mean["nu"],
        tw=np.asarray(params.tw, dtype=float),
        C=mean["C"],
        chi=mean["chi"],
        distance=mean.get("distance"),
        sem=sem,
        extra=extra,
        meta=meta,
    )
