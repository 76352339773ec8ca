"""Error bars of any statistic of a result: delete-one-batch jackknife over repetitions.

A result with :class:`~dmft.core.result.Errors` carries, besides its means, the same
observables averaged over ``B`` contiguous batches of its repetitions (simulation samples or
DMFT replicates).  :func:`estimate` evaluates a statistic on the means and on each
leave-one-batch-out average, and returns the value with its jackknife standard error

    err^2 = (B - 1)/B sum_j (f_(-j) - mean_j f_(-j))^2,

which keeps every correlation between times and between observables (a ratio of C and chi at
the same lag, a plateau average, a difference of two waiting times).  Without batches the error
is NaN: the caller says so (a single DMFT solve has no error bar; use ``replicates >= 2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

#: observables a statistic may use (the names of the result's datasets)
NAMES = ("energy", "frac_unsat", "nu", "norm", "C", "chi", "distance")


@dataclass(frozen=True)
class Curves:
    """The observables of one (mean or leave-one-out) average, by name; ``None`` if absent."""

    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    norm: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    distance: Optional[np.ndarray]


def curves(result) -> Curves:
    """The mean observables of ``result``."""
    return Curves(energy=np.asarray(result.energy, float), frac_unsat=np.asarray(result.frac_unsat, float),
                  nu=np.asarray(result.nu, float), norm=np.asarray(result.norm(), float),
                  C=np.asarray(result.C, float), chi=np.asarray(result.chi, float),
                  distance=None if result.distance is None else np.asarray(result.distance, float))


def n_batches(result) -> int:
    errors = result.errors
    return 0 if errors is None else errors.n_batches


def leave_one_out(result) -> Optional[list]:
    """The ``B`` leave-one-batch-out averages (sample-size weighted), or None without batches.

    Observables without batches (e.g. ``norm`` of a sphere run, which is 1) keep their mean."""
    errors = result.errors
    if errors is None or errors.n_batches < 2:
        return None
    sizes = np.asarray(errors.batch_size, dtype=float)
    total = sizes.sum()
    base = curves(result)
    out = []
    for j in range(len(sizes)):
        fields = {}
        for name in NAMES:
            batches = errors.batches.get(name)
            mean = getattr(base, name)
            if batches is None or mean is None or np.shape(batches)[1:] != np.shape(mean):
                fields[name] = mean
                continue
            b = np.asarray(batches, dtype=float)
            fields[name] = (np.tensordot(sizes, b, axes=(0, 0)) - sizes[j] * b[j]) / (total - sizes[j])
        out.append(Curves(**fields))
    return out


def jackknife_error(values) -> np.ndarray | float:
    """Jackknife standard error of leave-one-out values (first axis: the B leave-outs)."""
    v = np.asarray(values, dtype=float)
    B = v.shape[0]
    with np.errstate(invalid="ignore"):
        return np.sqrt((B - 1) / B * np.sum((v - v.mean(axis=0)) ** 2, axis=0))


def estimate(result, stat: Callable[[Curves], object], loo: Optional[list] = None):
    """(value, error) of ``stat`` (a float or an array) over ``result``; error NaN without
    batches.  ``loo`` may pass precomputed :func:`leave_one_out` averages."""
    value = stat(curves(result))
    loo = leave_one_out(result) if loo is None else loo
    if not loo:
        nan = np.full_like(np.asarray(value, dtype=float), np.nan)
        return value, (float(nan) if np.ndim(nan) == 0 else nan)
    err = jackknife_error([stat(c) for c in loo])
    return value, (float(err) if np.ndim(err) == 0 else err)


def exceeds(change: float, err: float, tol: float) -> bool:
    """Whether a relative ``change`` is significantly larger than ``tol``: by more than 2 of its
    (jackknife) errors ``err`` (``tol`` alone when the error is unknown).  The plateau rule of
    ``T_static`` and ``d_inf``."""
    return bool(abs(change) > tol + (2 * err if math.isfinite(err) else 0.0))


def error_method(result) -> str:
    """How the error bars of ``result``'s estimates are obtained, in words."""
    e = result.errors
    if e is None or e.n_batches < 2:
        return "none"
    return f"jackknife over {e.n_batches} batches of the {e.count} {e.source}"
