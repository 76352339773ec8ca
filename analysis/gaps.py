"""The width of the decision boundary from the final gap distribution (SAT phase).

A SAT solution has every gap ``h_mu = w . xi^mu / sqrt(N) - delta`` at or above zero; the gaps
that the dynamics pushed up to the boundary sit at ``h = 0`` (approached from below: the force
vanishes there, so they end at ``0-`` by less than a step).  A *wider* decision boundary leaves
fewer patterns close to it and a larger mean gap.  :func:`boundary_width` reads both from the
final density ``p(h)`` (``gap_hist``, bins of width 0.1 with ``h = 0`` on an edge,
``dmft.core.model.gap_edges``):

* ``near``: the fraction of the gaps with ``|h| < 0.1``, the two bins next to ``h = 0`` (the
  contacts at ``0-`` and the gaps in ``[0, 0.1)``);
* ``mean``: the mean gap, bin centres, the bin ``[-0.1, 0)`` counted at ``h = 0`` (its gaps are
  contacts; at its centre they would shift the mean by ``-0.05`` times their fraction).

Errors: the per-bin standard errors ``gap_hist_sem`` (over the replicates of a DMFT result or
the samples of a simulation) without the bins' covariance, which the files do not keep; the
error of a sum is bounded by the sum of the terms' errors (``sqrt(var(sum a_i x_i)) <=
sum |a_i| sd(x_i)``, whatever the correlations), and that bound is what is quoted: it may
overstate the error, it cannot understate it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: gaps closer to the boundary than this count as ``near`` (one bin of the gap histogram)
NEAR = 0.1


@dataclass(frozen=True)
class BoundaryWidth:
    """``near`` (fraction of the gaps with ``|h| < NEAR``, the contacts at ``h = 0-`` included)
    and ``mean`` (mean gap, the contacts at ``h = 0``) at the final ``time``, each with its error:
    the per-bin standard errors summed (an upper bound, the bins' covariance being unknown); NaN
    without ``gap_hist_sem``."""

    near: float
    near_err: float
    mean: float
    mean_err: float
    time: float

    def to_dict(self) -> dict:
        return {"gap_near": self.near, "gap_near_err": self.near_err, "gap_mean": self.mean,
                "gap_mean_err": self.mean_err, "time": self.time}


def boundary_width(result) -> BoundaryWidth:
    """:class:`BoundaryWidth` of the final gap density of ``result`` (module docstring)."""
    edges = np.asarray(result.extra["gap_edges"], dtype=float)
    hist = np.asarray(result.extra["gap_hist"], dtype=float)[-1]
    sem = result.sem.get("gap_hist") if result.errors is not None else None
    sem = np.full_like(hist, np.nan) if sem is None else np.asarray(sem, dtype=float)[-1]
    width = np.diff(edges)
    lo, hi = edges[:-1], edges[1:]
    tol = 1e-9 * NEAR
    near = (lo >= -NEAR - tol) & (hi <= NEAR + tol)
    centres = np.where((lo >= -NEAR - tol) & (hi <= tol), 0.0, 0.5 * (lo + hi))
    mass, mass_err = hist * width, sem * width
    total = float(mass.sum())
    mean = float((centres * mass).sum() / total)
    # d mean / d mass_i = (c_i - mean) / total: the bound of the module docstring, term by term
    mean_err = float(np.sum(np.abs(centres - mean) * mass_err) / total)
    return BoundaryWidth(near=float(mass[near].sum() / total), near_err=float(mass_err[near].sum() / total),
                         mean=mean, mean_err=mean_err if math.isfinite(mean_err) else math.nan,
                         time=float(np.asarray(result.extra["gap_t"])[-1]))
