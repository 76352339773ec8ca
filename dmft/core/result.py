"""The result object returned by the DMFT solver and by the particle simulations.

Both produce a :class:`Result` with the same fields, so theory and simulation are
interchangeable in analysis code.  Layout (``docs/conventions.md`` section 5): ``t`` (T,),
``energy``, ``frac_unsat``, ``nu`` (T,), ``tw`` (K,), ``C`` and ``chi`` (K, T) with
``C[k, i] = C(t_i, tw_k)`` and NaN for ``t_i < tw_k``; ``distance`` (T,) when two replicas ran.
Statistical errors from independent repetitions (simulation samples, DMFT replicates) are an
:class:`Errors` object; ``extra`` holds further observables (``norm`` = C(t,t), gap histograms)
and diagnostics, ``kernels`` optional two-time DMFT kernels (written under ``kernels/``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from .methods import DMFTMethod, Method, ParticleMethod
from .params import Params
from .status import Status

#: Datasets of shape (T,) every result has.
ONE_TIME = ("energy", "frac_unsat", "nu")
#: Observables that can carry standard errors, and their dimensions.
OBSERVABLES = ("energy", "frac_unsat", "nu", "norm", "C", "chi", "distance", "m", "gen_error")
#: Observables of teacher data (``extra``, shape (T,)): the overlap ``m = w.w*/N`` and the
#: generalisation error ``arccos(m/sqrt(C(t,t)))/pi``.
TEACHER_OBSERVABLES = ("m", "gen_error")

#: Where the repetitions behind an :class:`Errors` come from.
ERROR_SOURCES = ("samples", "replicates")


@dataclass(frozen=True)
class Errors:
    """Statistical errors of a result from independent repetitions.

    Attributes:
        source: ``samples`` (simulations: independent systems) or ``replicates`` (DMFT:
            independent solves).
        count: number of repetitions averaged.
        sem: observable name -> standard error of the mean (same shape as the observable;
            ``std(ddof=1)/sqrt(count)``).
        batches: observable name -> ``(B, ...)`` averages over ``B`` contiguous batches of the
            repetitions, for jackknife errors of non-linear estimators (such as T_eff) that keep
            the correlations between times.
        batch_size: ``(B,)`` repetitions per batch (``None`` when there are no batches).
    """

    source: str
    count: int
    sem: Mapping[str, np.ndarray] = field(default_factory=dict)
    batches: Mapping[str, np.ndarray] = field(default_factory=dict)
    batch_size: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.source not in ERROR_SOURCES:
            raise ValueError(f"source must be one of {ERROR_SOURCES}, got {self.source!r}")
        if self.batches:
            if self.batch_size is None:
                raise ValueError("batches need batch_size")
            B = len(self.batch_size)
            for name, value in self.batches.items():
                if np.shape(value)[0] != B:
                    raise ValueError(f"batches[{name!r}] has {np.shape(value)[0]} batches, batch_size {B}")

    @property
    def n_batches(self) -> int:
        return 0 if self.batch_size is None else len(self.batch_size)


@dataclass(frozen=True)
class Result:
    """Observables of one run (see the module docstring for shapes and conventions).

    Attributes:
        params: the physics (:class:`~dmft.core.params.Params`).
        method: how it was computed (:class:`~dmft.core.methods.DMFTMethod` or
            :class:`~dmft.core.methods.ParticleMethod`); ``kind`` follows from it.
        status: :class:`~dmft.core.status.Status` (``ok`` or ``diverged``).
        t: time grid ``t_i = i dt`` (T,).
        energy: training energy per weight ``H/N`` (T,).
        frac_unsat: fraction of violated constraints ``#{h < 0}/P`` (T,).
        nu: spherical multiplier (``lambda`` for ridge) (T,).
        tw: waiting times (K,).
        C: ``C(t_i, tw_k) = w(t_i).w(tw_k)/N`` (K, T), NaN for ``t_i < tw_k``.
        chi: integrated response ``chi(t_i, tw_k)`` (K, T), NaN for ``t_i < tw_k``.
        distance: replica distance ``(C11 + C22)/2 - C12`` at equal times (T,), two replicas only.
        errors: standard errors and batch averages over repetitions, or ``None``.
        extra: further datasets: ``norm`` = ``C(t,t)`` (T,), ``gap_t``, ``gap_edges``,
            ``gap_hist`` (gap densities at the waiting times and the end), diagnostics; with
            teacher data ``m`` (teacher overlap ``w.w*/N``) and ``gen_error`` (T,).
        kernels: full two-time DMFT kernels (``C``, ``R``, ``M_C``, ``M_R``, ``C12``), optional.
        meta: provenance and bookkeeping: ``seed``, ``wall_time_s``, ``message`` (why a run
            diverged), ``package_version``, ``git_commit``, ``created_utc``, ``command_line``.
    """

    params: Params
    method: Method
    status: Status
    t: np.ndarray
    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    tw: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    distance: Optional[np.ndarray] = None
    errors: Optional[Errors] = None
    extra: dict = field(default_factory=dict)
    kernels: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.params, Params):
            raise TypeError(f"params must be a Params, got {type(self.params).__name__}")
        if not isinstance(self.method, (DMFTMethod, ParticleMethod)):
            raise TypeError(f"method must be a DMFTMethod or ParticleMethod, got {type(self.method).__name__}")
        object.__setattr__(self, "status", Status.parse(self.status))
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
        if self.errors is not None:
            for name, value in self.errors.sem.items():
                ref = self.extra.get(name) if name in ("norm",) + TEACHER_OBSERVABLES else getattr(self, name, None)
                if ref is not None and np.shape(value) != np.shape(ref):
                    raise ValueError(f"sem of {name} has shape {np.shape(value)}, expected {np.shape(ref)}")

    # ------------------------------------------------------------------ views
    @property
    def kind(self) -> str:
        """``dmft`` or ``simulation`` (from the method)."""
        return self.method.kind

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @property
    def sem(self) -> Mapping[str, np.ndarray]:
        """Standard errors by observable name (empty without repetitions)."""
        return {} if self.errors is None else self.errors.sem

    def tw_row(self, tw: float) -> int:
        """Index ``k`` of the waiting time closest to ``tw`` (raises if none is within dt/2)."""
        if len(self.tw) == 0:
            raise ValueError("this result has no waiting times (run with --tw)")
        k = int(np.argmin(np.abs(self.tw - tw)))
        if not abs(self.tw[k] - tw) <= 0.5 * self.params.dt + 1e-12:
            raise ValueError(
                f"tw = {tw} was not measured; available: {', '.join(f'{x:g}' for x in self.tw)}"
            )
        return k

    @property
    def measurement(self) -> Optional[dict]:
        """The record of ``dmft measure`` that made this result (``meta["measurement"]``: status,
        quantity, value, error, the tries and the criteria), or None for an ordinary run."""
        record = self.meta.get("measurement")
        if isinstance(record, (str, bytes)):
            import json

            try:
                record = json.loads(record)
            except ValueError:
                return None
        return record if isinstance(record, dict) else None

    def norm(self) -> np.ndarray:
        """``C(t,t) = |w(t)|^2/N``: stored in ``extra['norm']``, else 1 (sphere)."""
        if "norm" in self.extra:
            return np.asarray(self.extra["norm"])
        return np.ones_like(self.t)

    def replace(self, **changes) -> "Result":
        return dataclasses.replace(self, **changes)

    def to_xarray(self, batches: bool = False):
        """The observables as an ``xarray.Dataset``: named dimensions ``t``, ``tw``, ``gap_t``,
        ``gap_bin``, ``long_name`` and ``description`` on every variable, the settings and
        provenance as attributes; what ``xarray.open_dataset(file, engine="h5netcdf")`` gives for
        the saved file (:mod:`dmft.core.schema`).  ``batches``: also the batch means
        (``<name>_batches``), so that :meth:`from_xarray` keeps the jackknife errors.  Needs
        ``xarray``."""
        from .schema import to_xarray

        return to_xarray(self, batches=batches)

    @classmethod
    def from_xarray(cls, ds) -> "Result":
        """The way back from :meth:`to_xarray`, from ``xarray.open_dataset`` of a result file, or
        from one point of a scan's Dataset (``dmft.load_scan(DIR).sel(b=0.5)``): the settings from
        the attributes and scalar coordinates, the errors from ``<name>_sem`` and, when present,
        ``<name>_batches``.  ``ValueError`` when the Dataset is not one point of a result."""
        from .schema import from_xarray

        return from_xarray(ds)

    def __repr__(self) -> str:
        p = self.params
        parts = [f"kind={self.kind!r}", f"status={self.status.value!r}", f"dynamics={p.dynamics!r}",
                 f"alpha={p.alpha:g}", f"delta={p.delta:g}", f"t=0..{self.t[-1]:g} ({len(self.t)} points)",
                 f"tw={[float(x) for x in self.tw]}", self.method.describe()]
        if self.errors is not None:
            parts.append(f"errors over {self.errors.count} {self.errors.source}")
        return f"Result({', '.join(parts)})"

