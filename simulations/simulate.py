"""Direct simulation of the N-dimensional dynamics, averaged over independent systems.

:func:`simulate` integrates ``method.n_samples`` independent systems (own ``P = round(alpha N)``
patterns, own ``w(0)``, own noise; model and update of ``docs/conventions.md`` sections 1-2, see
:mod:`dmft.simulations.particles`) and returns a :class:`dmft.Result` with ``kind = "simulation"``:

* ``energy(t) = H/N``, ``frac_unsat(t) = #{h_mu < 0}/P``,
  ``nu(t) = -w.(sum_mu s_mu v'(h_mu) xi^mu/sqrt(N))/N`` (sphere; the stored value is this
  drift term only -- with a temperature the full Ito multiplier, from ``d|w|^2 = 0``, is
  ``nu + T``) or ``lambda`` (ridge);
* ``C[k, i] = w(t_i).w(tw_k)/N``, ``chi[k, i] = int_{tw_k}^{t_i} R(t_i, s) ds`` (random field
  ``eps H``, identical selection and thermal noise; see :mod:`dmft.simulations.particles`);
* with ``data = teacher``: ``extra['m'] = w.w*/N`` (teacher overlap) and
  ``extra['gen_error'] = arccos(m/sqrt(C(t,t)))/pi`` (per replica, then averaged), with standard
  errors and batches like the other observables; random data has neither;
* ``distance(t) = (C11 + C22)/2 - C12`` (equal times), i.e. ``1 - w1.w2/N`` on the sphere, when
  ``replicas = 2``;
* ``extra['norm'] = C(t,t) = |w|^2/N``; ``extra['gap_t']`` (G,), ``extra['gap_edges']``
  (n_bins + 1,), ``extra['gap_hist']`` (G, n_bins): the density of the gaps ``h_mu`` at the times ``gap_t`` (each
  waiting time and the final time), over all patterns, replicas and samples.  Bins have width
  0.1 and cover ``-delta +- 5``, widened to multiples of 0.1 so that ``h = 0`` is a bin edge;
  the density is normalised by the total number of gaps, so gaps outside the range (rare)
  are simply missing from its integral (and for a diverged run, times after the divergence
  miss that sample); ``gap_hist_sem``, the standard error of the densities over samples;
* ``errors``: standard error of the mean over samples for every observable above
  (``errors.sem``), and the same averages over B = min(n_samples, 10) contiguous batches of
  samples (``errors.batches``), so that errors of non-linear estimators (the T_eff fit) can be
  obtained by a jackknife that keeps the correlations between times.

Every observable is first averaged over the replicas of a sample, then over samples.

Randomness: ``SeedSequence(seed)`` has one child per sample, and each sample child has the
children (:data:`STREAMS`) ``data`` (patterns then ``w(0)``), ``field`` (H),
``selection_r``/``thermal_r`` for replica ``r = 0, 1`` and ``teacher`` (``w*`` and the label
flips of teacher data; the inputs ``x`` and ``w(0)`` are the random-data patterns and start).
Hence the same seed reproduces a run bit for bit (on the same machine and BLAS thread
setting), ``sgd`` with ``b = 1`` equals ``gd``, and replica 0 sees the same streams whether or not a second
replica runs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from ..core.averaging import RepetitionAverage
from ..core.methods import ParticleMethod
from ..core.model import gap_edges
from ..core.params import Params
from ..core.progress import progress_bar
from ..core.result import TEACHER_OBSERVABLES, Errors, Result
from ..core.selection import make_selection
from ..core.status import Status
from .particles import draw_field, draw_system, label_with_teacher, n_patterns, run_sample

#: Names of the per-sample random streams, in SeedSequence spawn order.
STREAMS = ("data", "field", "selection_0", "thermal_0", "selection_1", "thermal_1", "teacher")


def sample_streams(seed: int, sample: int) -> Dict[str, np.random.Generator]:
    """Generators of sample ``sample``: identical to
    ``SeedSequence(seed).spawn(n_samples)[sample].spawn(len(STREAMS))``, built directly."""
    out = {}
    for j, name in enumerate(STREAMS):
        ss = np.random.SeedSequence(entropy=seed, spawn_key=(sample, j))
        out[name] = np.random.default_rng(ss)
    return out


@dataclass(frozen=True)
class Sample:
    """One simulated system (sample ``index`` of a point): its trajectory's observables, its gap
    counts and the number of patterns ``P``."""

    index: int
    obs: dict
    gap_counts: np.ndarray
    P: int
    diverged_at: Optional[int]
    diverged_why: str
    wall_time_s: float


def observable_names(params: Params) -> list:
    """The observables averaged over samples (and given standard errors)."""
    return (["energy", "frac_unsat", "nu", "norm", "C", "chi"] + (["distance"] if params.replicas == 2 else [])
            + (list(TEACHER_OBSERVABLES) if params.teacher else []))


def simulate_sample(params: Params, method: ParticleMethod, index: int, on_step=None) -> Sample:
    """Sample ``index`` of the simulation of ``params`` with ``method`` (its own streams,
    :func:`sample_streams`; ``method.n_samples`` is not used); ``on_step(i)`` after each step."""
    start = time.perf_counter()
    N = method.n
    P = n_patterns(params.alpha, N)
    R = params.replicas
    gap_index = sorted(set(params.tw_index) | {params.n_steps})
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            threadpool_limits(limits=method.threads, user_api="blas"):
        rngs = sample_streams(params.seed, index)
        X, w0 = draw_system(rngs["data"], P, N, params.constraint)
        wstar = label_with_teacher(rngs["teacher"], X, params.label_noise) if params.teacher else None
        field = draw_field(rngs["field"], N)
        selections = [make_selection(params, P, rngs[f"selection_{r}"]) for r in range(R)]
        noises = [rngs[f"thermal_{r}"] for r in range(R)]
        traj = run_sample(params, X, w0, field, selections, noises, gap_index=gap_index,
                          gap_edges=gap_edges(params.delta), eps=method.field_eps, on_step=on_step,
                          teacher=wstar)
    return Sample(index=index, obs={name: getattr(traj, name) for name in observable_names(params)},
                  gap_counts=traj.gap_counts, P=P, diverged_at=traj.diverged_at, diverged_why=traj.diverged_why,
                  wall_time_s=time.perf_counter() - start)


def combine(params: Params, method: ParticleMethod, samples) -> Result:
    """The :class:`Result` of ``samples`` (in order; the method's ``n_samples`` is set to their
    number): means over samples, standard errors and batch means; a diverged sample ends the list
    (``status = diverged``, ``meta["message"]`` says where)."""
    done = []
    for s in samples:
        done.append(s)
        if s.diverged_at is not None:
            break
    count = len(done)
    method = method.replace(n_samples=count) if method.n_samples != count else method
    R = params.replicas
    t = np.arange(params.n_steps + 1) * params.dt
    gap_index = sorted(set(params.tw_index) | {params.n_steps})
    edges = gap_edges(params.delta)
    widths = np.diff(edges)
    names = observable_names(params)
    avg = RepetitionAverage(names, total=count)
    gap_total = np.zeros((len(gap_index), len(edges) - 1))
    # the spread of the gap densities over samples (their mean is gap_total's, summed in counts)
    gap_spread = RepetitionAverage(["gap_hist"], total=count, batched=())
    status, message, wall = Status.OK, None, 0.0
    for s in done:
        avg.add(s.obs)
        gap_total += s.gap_counts
        gap_spread.add({"gap_hist": s.gap_counts / (R * s.P * widths)[None, :]})
        wall += s.wall_time_s
        if s.diverged_at is not None:
            status = Status.DIVERGED
            message = (f"{s.diverged_why} at t = {t[s.diverged_at]:g} (step {s.diverged_at}) in sample "
                       f"{s.index}; try a smaller dt")
    P = done[0].P
    gap_hist = gap_total / (count * R * P * widths)[None, :]
    extra = {
        "norm": avg.mean("norm"),
        "gap_t": t[gap_index],
        "gap_edges": edges,
        "gap_hist": gap_hist,
        **{name: avg.mean(name) for name in names if name in TEACHER_OBSERVABLES},
    }
    meta = {"seed": params.seed, "wall_time_s": wall, "n_patterns": P, "n_samples_done": count}
    if message:
        meta["message"] = message
    return Result(
        params=params, method=method, status=status, t=t, energy=avg.mean("energy"),
        frac_unsat=avg.mean("frac_unsat"), nu=avg.mean("nu"), tw=np.asarray(params.tw, dtype=float),
        C=avg.mean("C"), chi=avg.mean("chi"), distance=avg.mean("distance") if R == 2 else None,
        errors=_with_gap_errors(avg.errors("samples"), gap_spread), extra=extra, meta=meta,
    )


def _with_gap_errors(errors: Errors, gap_spread: RepetitionAverage) -> Errors:
    """``errors`` with the standard error of the gap densities over samples (``gap_hist_sem``)."""
    if not gap_spread.count:
        return errors
    sem = {**errors.sem, "gap_hist": gap_spread.errors("samples").sem["gap_hist"]}
    return dataclasses.replace(errors, sem=sem)


def simulate(params: Params, method: ParticleMethod = ParticleMethod(), progress: bool = False) -> Result:
    """Simulate ``method.n_samples`` systems of size ``N = method.n`` and average them.

    Never raises for a diverging run: if the weights become non-finite or the energy runs away
    (the solver's rule, :mod:`dmft.core.divergence`) the result has ``status = diverged``,
    ``meta["message"]`` says where and why, and the observables are NaN from that time on.  ``progress`` shows a tqdm bar over samples x steps.  The matrix products run
    on ``method.threads`` BLAS threads (default 1: these thin products gain little from more,
    and lose much when another process shares the cores); independent runs parallelise better
    as separate processes.  Sample ``s`` is :func:`simulate_sample` ``(params, method, s)``;
    :func:`combine` averages them.
    """
    if not isinstance(params, Params):
        raise TypeError("simulate expects a dmft.Params")
    if not isinstance(method, ParticleMethod):
        raise TypeError(f"simulate needs a ParticleMethod, got {type(method).__name__}")
    start = time.perf_counter()
    bar = progress_bar(method.n_samples * params.n_steps, "simulate", progress)
    samples = []
    try:
        for index in range(method.n_samples):
            samples.append(simulate_sample(params, method, index, on_step=lambda i: bar.update(1)))
            if samples[-1].diverged_at is not None:
                break
    finally:
        bar.close()
    result = combine(params, method, samples)
    result.meta["wall_time_s"] = time.perf_counter() - start
    return result.replace(method=method) if result.method != method else result
