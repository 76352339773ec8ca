"""The limit ``n_paths -> infinity`` of DMFT results solved at several path counts.

A DMFT observable averaged over replicates of ``n`` paths is biased, not only noisy: the kernels
are empirical averages over the paths, the march responds to their fluctuations non-linearly, and

    E[v_n] = v_inf + beta / n + O(1 / n^2)

(docs/precision.md: the energy at the slow point, T_static at the canonical point).  Replicates at
one ``n`` cannot see ``beta``.  With means ``v_i`` at path counts ``n_i`` (``R_i`` replicates
each), the weighted least-squares line in ``x = 1/n`` evaluated at ``x = 0`` is a fixed linear
combination (Richardson extrapolation)::

    v_inf = sum_i c_i v_i,   c_i = w_i (S_xx - x_i S_x) / (S S_xx - S_x^2),   w_i = n_i R_i

(``S = sum w_i``, ``S_x = sum w_i x_i``, ``S_xx = sum w_i x_i^2``; ``w_i`` is the inverse variance
of a mean over ``R_i`` replicates of ``n_i`` paths up to a common factor); ``sum c_i = 1``,
``sum c_i x_i = 0``.  Two counts give ``v_inf = (n_1 v_1 - n_2 v_2) / (n_1 - n_2)``.

:func:`extrapolate_paths` applies it to every averaged dataset of the results, to their standard
errors (``sqrt(sum c_i^2 sem_i^2)``, independent replicates) and batch by batch to their batch
means, so that the jackknife errors of non-linear estimators (``T_eff``, ``d_inf``) include the
uncertainty of the correction.  The correction itself, ``v_{n_1} - v_inf`` at the largest count,
is kept as ``<name>_paths_bias`` in ``extra`` (:func:`at_largest_paths` rebuilds that result).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np

from .result import Errors, Result
from .status import Status

#: suffix of the finite-n_paths correction of an observable in ``Result.extra``
BIAS_SUFFIX = "_paths_bias"
#: datasets of ``extra`` that are coordinates, not averages (kept from the largest count)
NOT_AVERAGED = ("gap_t", "gap_edges")
#: the averaged observables that are fields of a :class:`~dmft.core.result.Result`
FIELDS = ("energy", "frac_unsat", "nu", "C", "chi", "distance")


def richardson_coefficients(n_paths: Sequence[int], replicates: Sequence[int]) -> np.ndarray:
    """The coefficients ``c_i`` of ``v_inf = sum_i c_i v_i`` (module docstring) for means over
    ``replicates[i]`` replicates of ``n_paths[i]`` paths; at least two distinct counts."""
    n = np.asarray(n_paths, dtype=float)
    r = np.asarray(replicates, dtype=float)
    if n.ndim != 1 or len(n) < 2 or len(r) != len(n) or len(set(n.tolist())) < 2:
        raise ValueError(f"the n_paths extrapolation needs at least two distinct path counts (got {list(n_paths)})")
    if np.any(n < 1) or np.any(r < 1):
        raise ValueError("path counts and replicate counts must be positive")
    x, w = 1.0 / n, n * r
    S, Sx, Sxx = w.sum(), (w * x).sum(), (w * x * x).sum()
    return w * (Sxx - x * Sx) / (S * Sxx - Sx * Sx)


def extrapolate_paths(results: Sequence[Result]) -> Result:
    """The ``n_paths -> infinity`` extrapolation of DMFT ``results`` of the same point at distinct
    path counts (module docstring): every averaged observable, its standard error and its batch
    means combined with :func:`richardson_coefficients`, the correction ``<name>_paths_bias``
    (value at the largest count minus the extrapolation) added to ``extra``.  The returned result
    carries the method and metadata of the largest count (the caller records how it was made); a
    result that is not ``ok`` is returned as it is (its status and message say why)."""
    if len(results) < 2:
        raise ValueError("the n_paths extrapolation needs results at two path counts at least")
    order = sorted(results, key=lambda r: -r.method.n_paths)
    for r in order:
        if r.kind != "dmft":
            raise ValueError(f"only DMFT results are extrapolated in n_paths (got a {r.kind} result)")
        if r.status != Status.OK:
            return r
    first = order[0]
    for r in order[1:]:
        if r.params != first.params or r.t.shape != first.t.shape or r.tw.shape != first.tw.shape:
            raise ValueError("the n_paths extrapolation needs results of the same point and grid")
    counts = [r.errors.count if r.errors is not None else r.method.replicates for r in order]
    c = richardson_coefficients([r.method.n_paths for r in order], counts)

    def combine(arrays):
        return sum(ci * np.asarray(a, dtype=float) for ci, a in zip(c, arrays))

    fields = {name: combine([getattr(r, name) for r in order]) for name in FIELDS if getattr(first, name) is not None}
    extra = {}
    for name, value in first.extra.items():
        if name in NOT_AVERAGED or not all(name in r.extra and np.shape(r.extra[name]) == np.shape(value)
                                           for r in order):
            extra[name] = value
        else:
            extra[name] = combine([r.extra[name] for r in order])
            extra[name + BIAS_SUFFIX] = np.asarray(value, dtype=float) - extra[name]
    for name, value in fields.items():
        extra[name + BIAS_SUFFIX] = np.asarray(getattr(first, name), dtype=float) - value
    kernels = {name: combine([r.kernels[name] for r in order]) for name in first.kernels
               if all(name in r.kernels for r in order)}
    errors = _combined_errors([r.errors for r in order], c)
    wall = sum(float(r.meta.get("wall_time_s", 0.0)) for r in order)
    return first.replace(**fields, errors=errors, extra=extra, kernels=kernels,
                         meta={**first.meta, "wall_time_s": wall})


def at_largest_paths(result: Result) -> Result:
    """The result at the largest path count that :func:`extrapolate_paths` started from: the
    extrapolation plus its ``<name>_paths_bias``, batch means shifted alike (the standard errors
    stay those of the extrapolation, larger than the plain count's); ``result`` itself when it was
    not extrapolated."""
    bias = {name[: -len(BIAS_SUFFIX)]: np.asarray(value, dtype=float)
            for name, value in result.extra.items() if name.endswith(BIAS_SUFFIX)}
    if not bias:
        return result
    fields = {name: np.asarray(getattr(result, name), dtype=float) + bias[name]
              for name in FIELDS if name in bias}
    extra = {name: value for name, value in result.extra.items() if not name.endswith(BIAS_SUFFIX)}
    for name, value in bias.items():
        if name in extra:
            extra[name] = np.asarray(extra[name], dtype=float) + value
    errors = result.errors
    if errors is not None and errors.batches:
        batches = {name: value + bias[name][None] if name in bias else value for name, value in errors.batches.items()}
        errors = dataclasses.replace(errors, batches=batches)
    return result.replace(**fields, extra=extra, errors=errors)


def paths_corrections(result: Result, estimate: Callable[[Result], Mapping[str, float]]) -> dict:
    """``{name: value at the largest path count - extrapolated value}`` of the numbers that
    ``estimate(result)`` returns (e.g. ``T_static`` of ``fit_teff``), for an extrapolated result;
    empty for one that was not extrapolated."""
    plain = at_largest_paths(result)
    if plain is result:
        return {}
    at_inf, at_n = estimate(result), estimate(plain)
    return {name: float(at_n[name]) - float(value) for name, value in at_inf.items()}


def _combined_errors(errors: Sequence[Errors | None], c: np.ndarray) -> Errors | None:
    """Standard errors ``sqrt(sum c_i^2 sem_i^2)`` and batch means combined batch by batch (the
    batches of every count regrouped to the fewest among them), or None without errors at some
    count."""
    if any(e is None for e in errors):
        return None
    names = [name for name in errors[0].sem if all(name in e.sem for e in errors)]
    sem = {name: np.sqrt(sum((ci * np.asarray(e.sem[name], dtype=float)) ** 2 for ci, e in zip(c, errors)))
           for name in names}
    batches, batch_size = {}, None
    if all(e.n_batches >= 2 for e in errors):
        B = min(e.n_batches for e in errors)
        grouped = [_regroup(e, B) for e in errors]
        batch_size = grouped[0][1]
        for name in errors[0].batches:
            if all(name in g[0] for g in grouped):
                batches[name] = sum(ci * g[0][name] for ci, g in zip(c, grouped))
    return Errors(source=errors[0].source, count=min(e.count for e in errors), sem=sem, batches=batches,
                  batch_size=batch_size if batches else None)


def _regroup(errors: Errors, B: int):
    """The batch means of ``errors`` in ``B`` contiguous groups (weighted by the batch sizes), and
    the group sizes."""
    sizes = np.asarray(errors.batch_size, dtype=float)
    group = np.arange(len(sizes)) * B // len(sizes)
    new_sizes = np.array([sizes[group == j].sum() for j in range(B)])
    out = {}
    for name, value in errors.batches.items():
        value = np.asarray(value, dtype=float)
        w = sizes.reshape((-1,) + (1,) * (value.ndim - 1))
        out[name] = np.stack([(value[group == j] * w[group == j]).sum(0) / new_sizes[j] for j in range(B)])
    return out, new_sizes.astype(int)
