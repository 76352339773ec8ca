"""The loss side of the perceptron, shared by the DMFT solver and the particle simulations.

Gaps ``h = w.xi/sqrt(N) - Delta`` (``docs/conventions.md`` section 1); per-pattern loss ``v(h)``:

==================  ======================  ==============  ==============
loss                ``v(h)``                ``v'(h)``       ``v''(h)``
==================  ======================  ==============  ==============
``quadratic-hinge``  ``h^2 theta(-h) / 2``  ``min(h, 0)``   ``theta(-h)``
``square``          ``h^2 / 2``             ``h``           ``1``
==================  ======================  ==============  ==============

and the one-time observables of one step (section 3), computed from the gaps of a set of
patterns: the ``P`` patterns of a simulated system (``load = P/N``), or the ``n`` sampled
patterns of the DMFT effective process (``load = alpha``; each path is one pattern):

    energy     = H/N        = load * mean_mu v(h_mu)
    frac_unsat = #{h < 0}/P = mean_mu [h_mu < 0]
    nu         = -w.(sum_mu f_mu xi^mu/sqrt(N))/N = -load * mean_mu f_mu (h_mu + Delta)   (sphere)
               = lambda                                                            (ridge)

with ``f_mu = s_mu v'(h_mu)`` the selected forces.  With teacher data (``xi = y x``, labels
``y = sign(w*.x/sqrt(N))``) the generalisation error follows from the teacher overlap
(:func:`generalisation_error`).  Arrays of any shape are averaged over all
their entries (several replicas at once give the replica average).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Gap-histogram bins: width GAP_BIN over ``-delta +- GAP_HALF_RANGE``.
GAP_BIN = 0.1
GAP_HALF_RANGE = 5.0


@dataclass(frozen=True)
class StepObservables:
    """One-time observables of one step: ``energy = H/N``, ``frac_unsat``, ``nu``."""

    energy: float
    frac_unsat: float
    nu: float


@dataclass(frozen=True)
class Perceptron:
    """Loss ``v`` of the gaps, margin ``delta``, load ``P/N`` and constraint of one problem."""

    loss: str
    delta: float
    load: float
    sphere: bool
    ridge: float

    @classmethod
    def of(cls, params, load: float | None = None) -> "Perceptron":
        """The model of ``params``; ``load`` is ``P/N`` (default ``params.alpha``)."""
        sphere = params.constraint == "sphere"
        return cls(loss=params.loss, delta=params.delta,
                   load=params.alpha if load is None else float(load), sphere=sphere,
                   ridge=0.0 if sphere else params.ridge)

    @property
    def hinge(self) -> bool:
        return self.loss == "quadratic-hinge"

    def potential(self, h: np.ndarray) -> np.ndarray:
        """``v(h)``."""
        dv = self.force(h)
        return 0.5 * dv * dv

    def force(self, h: np.ndarray) -> np.ndarray:
        """``v'(h)`` (a new array)."""
        return np.minimum(h, 0.0) if self.hinge else np.array(h, dtype=float, copy=True)

    def curvature(self, h: np.ndarray) -> np.ndarray:
        """``v''(h)``."""
        return (h < 0.0).astype(float) if self.hinge else np.ones_like(h, dtype=float)

    def observables(self, h: np.ndarray, f: np.ndarray, dv: np.ndarray | None = None) -> StepObservables:
        """Energy, fraction of violated constraints and multiplier of the gaps ``h`` with
        selected forces ``f`` (``dv = v'(h)`` may be passed to save recomputing it)."""
        dv = self.force(h) if dv is None else dv
        energy = self.load * 0.5 * float(np.mean(dv * dv))
        frac = float(np.count_nonzero(h < 0.0)) / h.size
        if self.sphere:
            nu = -self.load * float(np.mean(f * (h + self.delta)))
        else:
            nu = self.ridge
        return StepObservables(energy, frac, nu)


def generalisation_error(m, norm):
    """``eps_g = arccos(m / sqrt(C(t,t))) / pi``: the probability that the student ``w`` and the
    teacher ``w*`` (``|w*|^2 = N``) label a fresh Gaussian input differently, from the overlap
    ``m = w.w*/N`` and the squared norm ``C(t,t) = |w|^2/N`` (the clean teacher labels: the
    test error against labels flipped with probability ``eps`` is ``eps + (1 - 2 eps) eps_g``)."""
    ratio = np.asarray(m, dtype=float) / np.sqrt(np.asarray(norm, dtype=float))
    return np.arccos(np.clip(ratio, -1.0, 1.0)) / math.pi


def gap_edges(delta: float) -> np.ndarray:
    """Edges of the gap histograms, the same for DMFT and simulations so that they overlay:
    width ``GAP_BIN``, covering ``-delta +- GAP_HALF_RANGE``, with ``h = 0`` on an edge."""
    lo = math.floor((-delta - GAP_HALF_RANGE) / GAP_BIN + 1e-9)
    hi = math.ceil((-delta + GAP_HALF_RANGE) / GAP_BIN - 1e-9)
    return np.round(np.arange(lo, hi + 1) * GAP_BIN, 10)


def gap_counts(h: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram counts of all entries of ``h`` in the bins ``edges``."""
    return np.histogram(np.ravel(h), bins=edges)[0]
