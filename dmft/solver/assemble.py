"""Assemble a :class:`~dmft.core.result.Result` from marches: one per replicate.

Two-time observables from the deterministic weight-side kernels::

    C[k, i]   = C(t_i, tw_k)                                   (NaN for t_i < tw_k)
    chi[k, i] = dt sum_{j=kw}^{i-1} R(i, j),  kw = tw_k / dt    (integrated response)

and, for teacher data, ``m(t)`` and ``gen_error = arccos(m/sqrt(C(t,t)))/pi`` (per replica and
replicate, then averaged) in ``extra``.

With ``replicates = K >= 2`` the solve is repeated with independent random streams (replicate
``r`` uses ``SeedSequence(seed).spawn(K)[r]``; the first replicate is the same for every K) and
the result holds the mean, the standard errors over replicates (``<name>_sem``) and the batch
means (one replicate per batch up to 10) for jackknife errors of non-linear estimators.  With a
second path count ``m = method.companion(params)`` (automatic by default) as many replicates of
``m`` paths follow, and the result is the ``n_paths -> infinity`` extrapolation of the two
(:mod:`dmft.core.extrapolation`, :func:`extrapolated`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..core.averaging import RepetitionAverage
from ..core.extrapolation import extrapolate_paths
from ..core.methods import DMFTMethod
from ..core.progress import progress_bar
from ..core.model import generalisation_error
from ..core.result import TEACHER_OBSERVABLES, Result
from ..core.status import Status
from .march import March, MarchOutput, march

#: full kernels are stored in the result when the grid has at most this many points
KERNELS_MAX_T = 600
#: ``meta["paths_bias"]`` of a result that was not extrapolated in the paths
NOT_ESTIMATED = ("not estimated: one path count (extrapolation_paths = 0, or too few paths for a second "
                 "count below n_paths / 2); the errors leave the finite-n_paths bias out. For the automatic "
                 "companion give n_paths >= 2 x replicas x steps (or a memory window), or set "
                 "--extrapolation-paths")
#: ``meta["window_bias"]`` of a result whose old steps entered through a memory window
#: (``meta["window_steps"]``, its width in steps; docs/long-horizons.md)
WINDOW_BIAS = ("the steps older than the memory window enter through block means, which biases x = C(t, tw) "
               "at long lags, and T_static, by +1.4 +- 0.2% at 1024 paths and +0.34 +- 0.09% at 4096 (canonical "
               "point, t = 100; +0.23 +- 0.05% at 16384 paths, t = 125), as 1/n_paths; the energy and chi by 0.05% "
               "or less (docs/long-horizons.md). ")
#: ... of an extrapolated result, or of one with a single path count
WINDOW_BIAS_REMOVED = WINDOW_BIAS + ("Removed with the finite-n_paths bias by the extrapolation: -0.02 +- 0.15% "
                                     "left, within its errors")
WINDOW_BIAS_KEPT = WINDOW_BIAS + "Not in the errors of a result with one path count"
#: observables averaged over replicates (and given standard errors)
AVERAGED = ("energy", "frac_unsat", "nu", "norm", "C", "chi")


def two_time(C: np.ndarray, R: np.ndarray, tw_index, dt: float):
    """(K, T) arrays C(t_i, tw_k) and chi(t_i, tw_k) from the kernels."""
    T = C.shape[0]
    Cout = np.full((len(tw_index), T), np.nan)
    chi = np.full((len(tw_index), T), np.nan)
    for row, kw in enumerate(tw_index):
        Cout[row, kw:] = C[kw:, kw]
        # chi(t_i) = dt sum_{j=kw}^{i-1} R(i, j)
        chi[row, kw] = 0.0
        for i in range(kw + 1, T):
            chi[row, i] = dt * R[i, kw:i].sum()
    return Cout, chi


def observables(params, out: MarchOutput) -> dict:
    """The observables of one march, replica-averaged, on the grid."""
    C = out.C.mean(0)
    Cout, chi = two_time(C, out.R.mean(0), params.tw_index, params.dt)
    steps = sorted(out.hists)
    n_bins = len(out.gap_edges) - 1
    obs = {"energy": out.energy, "frac_unsat": out.frac_unsat, "nu": out.nu, "norm": np.diag(C).copy(),
           "C": Cout, "chi": chi,
           "gap_hist": np.array([out.hists[k] for k in steps]) if steps else np.zeros((0, n_bins)),
           "proj_A": out.A[0]}
    if out.distance is not None:
        obs["distance"] = out.distance
    if out.m is not None:   # teacher data: overlap and generalisation error, replica-averaged
        norms = np.diagonal(out.C, axis1=1, axis2=2)
        obs["m"] = out.m.mean(0)
        obs["gen_error"] = generalisation_error(out.m, norms).mean(0)
    return obs


def kernels_of(out: MarchOutput) -> dict:
    kernels = {"C": out.C.mean(0), "R": out.R.mean(0), "M_C": out.M_C[0, 0], "M_R": out.M_R[0]}
    if out.C12 is not None:
        kernels["C12"] = out.C12
    return kernels


@dataclass(frozen=True)
class Replicate:
    """One independent solve (replicate ``index`` of a point): its observables (as
    :func:`observables` gives them), the averaged-only datasets ``aux`` (gap histograms,
    projection factors, kernels), and how it ended."""

    index: int
    obs: dict
    aux: dict
    t: np.ndarray
    gap_edges: np.ndarray
    status: Status
    message: str
    wall_time_s: float
    frozen_at: float | None = None


def replicate_root(seed: int, index: int, extrapolation_paths: int = 0) -> np.random.SeedSequence:
    """The root of replicate ``index``: ``SeedSequence(seed).spawn(K)[index]`` for every
    ``K > index``, so a replicate is the same whatever the number of replicates; those of the
    second path count ``m`` of an extrapolated solve (``DMFTMethod.extrapolation_paths``) come from
    ``SeedSequence((seed, m))`` likewise, independent of the first."""
    entropy = seed if not extrapolation_paths else (seed, extrapolation_paths)
    return np.random.SeedSequence(entropy=entropy, spawn_key=(index,))


def at_count(method: DMFTMethod, n_paths: int) -> DMFTMethod:
    """``method`` with ``n_paths`` paths and no extrapolation: one path count of an extrapolated
    solve."""
    return method.replace(n_paths=n_paths, extrapolation_paths=0)


def solve_replicate(params, method: DMFTMethod, index: int, store_kernels: bool = False,
                    progress=None, extrapolation_paths: int = 0, track: tuple = ()) -> Replicate:
    """Replicate ``index`` of the solve of ``params`` with ``method`` (``method.replicates`` and
    ``method.extrapolation_paths`` are not used); ``extrapolation_paths = m``: the replicate of the
    second path count, ``m`` paths; ``progress(k)`` after each step; ``track``: with a memory window,
    more steps whose columns are tracked (:class:`~dmft.solver.march.March`)."""
    if extrapolation_paths:
        method = at_count(method, extrapolation_paths)
    out = march(params, method, root=replicate_root(params.seed, index, extrapolation_paths), progress=progress,
                track=track)
    return replicate_of(params, index, out, store_kernels)


def replicate_of(params, index: int, out: MarchOutput, store_kernels: bool = False) -> Replicate:
    """The :class:`Replicate` ``index`` of a march's output (:func:`solve_replicate`, or a
    continued :class:`~dmft.solver.march.March`)."""
    obs = observables(params, out)
    aux = {"gap_hist": obs["gap_hist"], "proj_A": obs["proj_A"], **(kernels_of(out) if store_kernels else {})}
    return Replicate(index=index, obs=obs, aux=aux, t=out.t, gap_edges=out.gap_edges, status=out.status,
                     message=out.message, wall_time_s=out.wall_time_s, frozen_at=out.frozen_at)


def continuable_replicate(params, method: DMFTMethod, index: int, track: tuple = (),
                          extrapolation_paths: int = 0) -> March:
    """Replicate ``index`` as a :class:`~dmft.solver.march.March` that can be continued to a longer
    horizon (``March.extend``, then ``run``); :func:`replicate_of` of its output is the same as
    :func:`solve_replicate` at that horizon with the band width resolved at the first one (with a
    memory window: when its waiting times are among the ``track`` ed steps); ``extrapolation_paths
    = m``: the replicate of the second path count, as in :func:`solve_replicate`."""
    if extrapolation_paths:
        method = at_count(method, extrapolation_paths)
    return March(params, method, root=replicate_root(params.seed, index, extrapolation_paths), continuable=True,
                 track=track)


def combine(params, method: DMFTMethod, replicates) -> Result:
    """The :class:`Result` of ``replicates`` (in order; the method's ``replicates`` is set to their
    number): means, standard errors over replicates and batch means; a diverged replicate ends
    the list (its status and message are the result's)."""
    reps = []
    for rep in replicates:
        reps.append(rep)
        if rep.status != Status.OK:
            break
    K = len(reps)
    method = method.replace(replicates=K) if method.replicates != K else method
    names = (AVERAGED + (("distance",) if params.replicas == 2 else ())
             + (TEACHER_OBSERVABLES if params.teacher else ()))
    avg = RepetitionAverage(names, total=K)
    aux = RepetitionAverage(tuple(reps[0].aux), total=K, batched=())
    # the spread of the gap densities over replicates (their standard error, as simulations have)
    gaps = RepetitionAverage(("gap_hist",), total=K, batched=())
    status, messages, wall = Status.OK, [], 0.0
    for rep in reps:
        wall += rep.wall_time_s
        avg.add(rep.obs)
        aux.add(rep.aux)
        gaps.add({"gap_hist": rep.aux["gap_hist"]})
        if rep.status != Status.OK:
            status = rep.status
            messages.append(rep.message if K == 1 else f"replicate {rep.index}: {rep.message}")
    last = reps[-1]
    mean = {name: avg.mean(name) for name in names}
    steps = sorted(set(params.tw_index) | {params.n_steps})
    extra = {"norm": mean["norm"], "gap_t": np.array(steps) * params.dt, "gap_edges": last.gap_edges,
             "gap_hist": aux.mean("gap_hist"), "proj_A": aux.mean("proj_A"),
             **{name: mean[name] for name in names if name in TEACHER_OBSERVABLES}}
    kernels = {name: aux.mean(name) for name in aux.names if name not in ("gap_hist", "proj_A")}
    errors = avg.errors("replicates") if K >= 2 else None
    if errors is not None:
        errors = dataclasses.replace(errors, sem={**errors.sem, "gap_hist": gaps.errors("replicates").sem["gap_hist"]})
    meta = {"seed": params.seed, "wall_time_s": wall}
    if any(rep.frozen_at is not None for rep in reps):   # the time each replicate froze (NaN: it did not)
        meta["frozen_at"] = [float("nan") if rep.frozen_at is None else rep.frozen_at for rep in reps]
    if messages:
        meta["message"] = "; ".join(messages)
    return Result(
        params=params, method=method, status=status, t=last.t, energy=mean["energy"],
        frac_unsat=mean["frac_unsat"], nu=mean["nu"], tw=np.asarray(params.tw, dtype=float),
        C=mean["C"], chi=mean["chi"], distance=mean.get("distance"), errors=errors, extra=extra,
        kernels=kernels, meta=meta,
    )


def solve(params, method: DMFTMethod = DMFTMethod(), progress: bool = False,
          store_kernels: bool | None = None) -> Result:
    """Solve the discrete-time DMFT (``docs/dmft-derivation.md``) of ``params`` with ``method``.

    Non-finite values give ``status = diverged`` with ``meta["message"]``, never an exception
    (the replicates stop at the first diverged one).  ``store_kernels`` (default: T <= 600)
    keeps the full two-time kernels, averaged over replicates.  ``replicas = 2``: one-time
    observables, C and chi are averaged over the two replicas, ``distance`` is
    ``(C11(t,t) + C22(t,t))/2 - C12(t,t)`` (= 1 - C12 on the sphere).  Replicate ``r`` is
    :func:`solve_replicate` ``(params, method, r)``; :func:`combine` averages them.  With a
    second path count ``m = method.companion(params)`` (by default automatic: 1024-1250 paths at
    the default 16384 on grids up to 1250 steps) the replicates of ``m`` paths follow, and the result is the extrapolation of
    the two averages to ``n_paths -> infinity`` (:func:`extrapolated`; ``meta["companion_paths"]
    = m``, the corrections in ``extra["<name>_paths_bias"]``).
    """
    if not isinstance(method, DMFTMethod):
        raise TypeError(f"the DMFT solver needs a DMFTMethod, got {type(method).__name__}")
    K = method.replicates
    T = params.n_steps + 1
    store = T <= KERNELS_MAX_T if store_kernels is None else store_kernels
    m = method.companion(params)
    levels = (0, m) if m else (0,)
    bar = progress_bar(K * params.n_steps * len(levels), "dmft", progress)
    counts = []
    try:
        for level in levels:
            reps = []
            for r in range(K):
                reps.append(solve_replicate(params, method, r, store_kernels=store, extrapolation_paths=level,
                                            progress=lambda k: bar.update(1)))
                if reps[-1].status != Status.OK:
                    break
            counts.append(reps)
            if reps[-1].status != Status.OK:
                break
    finally:
        bar.close()
    return extrapolated(params, method, *counts, m=m)


def extrapolated(params, method: DMFTMethod, replicates, companions=(), m: int = 0) -> Result:
    """The result of ``method`` from its ``replicates`` of ``n_paths`` paths and the ``companions``
    of ``m`` paths (the second path count, :meth:`~dmft.core.methods.DMFTMethod.companion`):
    :func:`combine` of each, then their ``n_paths -> infinity`` extrapolation
    (:func:`~dmft.core.extrapolation.extrapolate_paths`; a diverged replicate's result is returned
    as it is).  Without companions the result's ``meta["paths_bias"]`` says that its errors leave
    the finite-path bias out; with a memory window ``meta["window_steps"]`` is its width and
    ``meta["window_bias"]`` what it does to the numbers."""
    result = combine(params, at_count(method, method.n_paths), replicates)
    method = method.replace(replicates=result.method.replicates)     # as many as were combined
    if result.status == Status.OK and companions:
        companion = combine(params, at_count(method, m), companions)
        if companion.status != Status.OK:     # a diverged companion ends the solve, and says which it was
            companion.meta["message"] = f"the companion count ({m} paths): {companion.meta.get('message', '')}"
            return companion.replace(method=method)
        result = extrapolate_paths([result, companion])
        result.meta["companion_paths"] = m
    elif result.status == Status.OK:
        result.meta["paths_bias"] = NOT_ESTIMATED
    window = method.window_at(params)
    if window:                          # the window used (automatic or set) and what it costs in accuracy
        result.meta["window_steps"] = window
        result.meta["window_bias"] = WINDOW_BIAS_REMOVED if "companion_paths" in result.meta else WINDOW_BIAS_KEPT
    return result.replace(method=method) if result.method != method else result
