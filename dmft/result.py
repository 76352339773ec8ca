"""The result object returned by the DMFT solver and by the particle simulations.

Both produce a :class:`Result` with the same fields, so theory and simulation are
interchangeable in analysis code.  Layout (SPEC section 5): ``t`` (T,), ``energy``,
``frac_unsat``, ``nu`` (T,), ``tw`` (K,), ``C`` and ``chi`` (K, T) with
``C[k, i] = C(t_i, tw_k)`` and NaN for ``t_i < tw_k``; ``distance`` (T,) when two replicas
ran.  Simulations add standard errors in ``sem`` (``sem["energy"]`` is written as
``energy_sem``).  ``extra`` holds further datasets (e.g. ``norm`` = C(t,t), gap histograms),
``kernels`` optional two-time DMFT kernels (written under ``kernels/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .params import Params

KINDS = ("dmft", "simulation")
STATUSES = ("ok", "diverged", "running", "failed")

#: Datasets of shape (T,) every result has.
ONE_TIME = ("energy", "frac_unsat", "nu")


@dataclass
class Result:
    """Observables of one run (see module docstring for shapes and conventions)."""

    params: Params
    kind: str
    status: str
    t: np.ndarray
    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    tw: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    distance: Optional[np.ndarray] = None
    sem: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    kernels: dict = field(default_factory=dict)
    #: provenance and bookkeeping: seed, wall_time_s, package_version, git_commit,
    #: created_utc, command_line, message (why a run diverged), ...
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        T = len(self.t)
        for name in ONE_TIME:
            if np.shape(getattr(self, name)) != (T,):
                raise ValueError(f"{name} must have shape ({T},), got {np.shape(getattr(self, name))}")
        K = len(self.tw)
        for name in ("C", "chi"):
            if np.shape(getattr(self, name)) != (K, T):
                raise ValueError(f"{name} must have shape ({K}, {T}), got {np.shape(getattr(self, name))}")
        if self.distance is not None and np.shape(self.distance) != (T,):
            raise ValueError(f"distance must have shape ({T},)")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def tw_row(self, tw: float) -> int:
        """Index ``k`` of the waiting time closest to ``tw`` (raises if none is within dt/2)."""
        if len(self.tw) == 0:
            raise ValueError("this result has no waiting times (run with --tw)")
        k = int(np.argmin(np.abs(self.tw - tw)))
        if abs(self.tw[k] - tw) > 0.5 * self.params.dt + 1e-12:
            raise ValueError(
                f"tw = {tw} was not measured; available: {', '.join(f'{x:g}' for x in self.tw)}"
            )
        return k

    def norm(self) -> np.ndarray:
        """``C(t,t) = |w(t)|^2/N``: stored in ``extra['norm']``, else 1 (sphere)."""
        if "norm" in self.extra:
            return np.asarray(self.extra["norm"])
        return np.ones_like(self.t)


#: Gap-histogram bins (``extra['gap_edges']``): width GAP_BIN over ``-delta +- GAP_HALF_RANGE``.
GAP_BIN = 0.1
GAP_HALF_RANGE = 5.0


def gap_edges(delta: float) -> np.ndarray:
    """Edges of the gap histograms, the same for DMFT and simulations so that they overlay:
    width ``GAP_BIN``, covering ``-delta +- GAP_HALF_RANGE``, with ``h = 0`` on an edge."""
    lo = math.floor((-delta - GAP_HALF_RANGE) / GAP_BIN + 1e-9)
    hi = math.ceil((-delta + GAP_HALF_RANGE) / GAP_BIN - 1e-9)
    return np.round(np.arange(lo, hi + 1) * GAP_BIN, 10)


def empty_two_time(tw_index, T: int) -> np.ndarray:
    """A (K, T) array of NaN, to be filled for ``t_i >= tw_k``."""
    return np.full((len(tw_index), T), np.nan)
