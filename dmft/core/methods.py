"""How a problem is computed: the numerical settings of the DMFT solver and of the simulations.

A :class:`~dmft.core.params.Params` says *what* is computed (the physics); a method object says
*how*: :class:`DMFTMethod` (sampled effective processes) or :class:`ParticleMethod` (direct
N-dimensional simulation).  Both are frozen and validated on construction, recorded in every
:class:`~dmft.core.result.Result` and file, and covered by the point hash (:func:`point_hash`),
so a file always says how it was computed and a scan never mistakes one method's file for
another's.  The command line and scan files stay flat: :func:`split_settings` separates a flat
mapping of settings into the problem and the method.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping, Union

from . import blockplan
from .params import PARAM_NAMES, ParameterError, Params, as_float, as_int, check_choice, omit_at

#: the automatic exact band of the response estimator (``DMFTMethod.exact_lags = -1``) covers
#: ``min(K // 8, max(AUTO_BAND, AUTO_BAND_TIME / dt))`` steps: at least AUTO_BAND steps, and at a
#: finer ``dt`` the same time, ``AUTO_BAND_TIME``, as AUTO_BAND steps at ``dt = 0.1`` (the response's
#: path-to-path fluctuations last a time, not a number of steps: at ``dt = 0.025`` a band of 64 steps
#: raised the sgd replica distance by 4%, docs/dmft-derivation.md section 4)
AUTO_BAND = 64
AUTO_BAND_TIME = 6.4

#: the automatic second path count of the ``n_paths -> infinity`` extrapolation
#: (``DMFTMethod.extrapolation_paths = -1``, :meth:`DMFTMethod.companion`) is ``n_paths /
#: COMPANION_RATIO`` ...: with as many replicates as the main count it costs ``1/16`` more and
#: raises the error bar by ``sqrt(1 + 1/16) * 16/15 ~ 1.10`` (``(16 v_n - v_m) / 15``; the
#: companion's mean has ``16`` times the main one's variance)
COMPANION_RATIO = 16
#: ... but not fewer than this many paths (or a quarter of ``n_paths``): the bias was measured
#: linear in ``1/n_paths`` from 1024 paths up (docs/precision.md section 7), not below ...
COMPANION_LINEAR_FROM = 1024
#: ... and not fewer than the fields the companion must represent (``replicas * n_steps``, the rank
#: of the cavity field's covariance, docs/dmft-derivation.md section 1; with a memory window a
#: field's regressors, :meth:`DMFTMethod.represented`); a companion above
#: ``n_paths / 2`` would cost more than it tells, and the result is not extrapolated

#: the automatic memory window (``DMFTMethod.memory_window = -1``, :meth:`DMFTMethod.window_at`):
#: ``W = max(AUTO_WINDOW_STEPS, AUTO_WINDOW_TIME / dt)`` steps (20 time units: the window whose
#: error was measured, docs/long-horizons.md), on grids longer than ``AUTO_WINDOW_FROM`` windows
#: (``t > 200`` at ``dt = 0.1``, where the full march costs ``n_paths x (2 10^3)^2`` and more and the
#: window saves a factor growing as the horizon), one replica (two replicas sum their cross
#: correlation over every step anyway, and the window needs the probe response, whose noise
#: pushes the contacts of a SAT run across ``h = 0``, docs/generalisation.md section 6)
AUTO_WINDOW_STEPS = 200
AUTO_WINDOW_TIME = 20.0
AUTO_WINDOW_FROM = 10


def window_blocks(times: int) -> int:
    """An upper bound of the blocks of old steps that a march over ``times`` times keeps in a memory
    window (186 at ``10^4`` steps, where ``dmft.solver.blocks`` keeps 129)."""
    return int(14 * math.log2(max(times, 2)))

#: Settings that do not change the numbers a method produces (left out of the point hash).
NOT_HASHED = {"not_hashed": True}
#: most BLAS threads a simulation may ask for (the thread libraries take a C int)
MAX_THREADS = 4096


class _Method:
    """Conversions shared by the method classes."""

    kind: ClassVar[str]
    #: settings added after files existed: left out of the hash at the value those files used
    #: (:func:`~dmft.core.params.omit_at`)
    hash_omitted_at: ClassVar[dict] = {}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hashed_dict(self) -> dict:
        """The settings that change the numbers (those the point hash covers)."""
        return omit_at({f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("not_hashed")},
                       self.hash_omitted_at)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)

    def hash_additions(self, params: Params) -> dict:
        """Entries of the point hash that depend on the point as well as on the settings."""
        return {}

    @classmethod
    def names(cls) -> tuple:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        for key in d:
            if key not in cls.names():
                raise ParameterError(key, f"unknown setting of the {cls.kind} method")
        return cls(**dict(d))


@dataclass(frozen=True)
class DMFTMethod(_Method):
    """Numerical settings of the DMFT solver (``docs/dmft-derivation.md``).

    Attributes:
        n_paths: sampled effective processes (pattern-side paths) per solve (>= 2).
        n_probes: probe copies per path of the probe estimator of ``M_R`` (>= 1; ``response =
            "probe"`` only).
        exact_lags: band width ``L``: ``M_R(k, k - lag)`` for ``lag <= L`` from the exact per-path
            response (O(n L^2) per step, ``L^2 n`` history numbers per replica), block sums or
            probes (with the band part removed) beyond; 0: probes at every lag (files written
            before this setting); -1 (default): ``min(K // 8, max(64, 6.4 / dt))`` for ``K`` steps, so
            that the band never costs much more than the history sweeps and covers as much time
            at a finer ``dt`` as 64 steps at ``dt = 0.1`` (and no more than ``memory_window``).
            At the slow point it cuts the seed variance of late 1 - C and chi by 24-31x for 2.5x
            the CPU time, at the stationary point by 17-216x for 1.75x (docs/precision.md).
        replicates: independent solves (independent random streams) averaged into one result;
            with >= 2 the result carries standard errors over replicates (``<name>_sem``). The
            default (4 x 16384 paths) gives standard errors below 3% for 1 - C and chi up to lag
            20 and for the long-time distance at the canonical points (docs/precision-defaults.md).
        response: ``auto`` (default; :meth:`estimator` resolves it for a point): ``blocks``, or
            ``probe`` for the square loss (``v'' = 1``: no contacts to drift, and under full batch
            the orthogonal probes are exact) and where the settings need the probes (a memory
            window, whose block means of old steps work with the probes only; ``exact_lags =
            0``; ``probe_signal = "dr"``; a grid of fewer than 8 steps, whose automatic band is
            empty).  ``blocks``: the exact band and, beyond it, exact sums
            of the response over blocks of old steps, at most a quarter of their lag long, so no
            estimator noise (O(n (L^2 + L log T)) per step; docs/dmft-derivation.md section 4).
            ``probe``: linearised probe copies beyond the band, unbiased but noisy (O(n T) per
            step; the default before 2026-12-06).  ``exact``: the per-path response, O(n T^3)
            time and O(n T^2) memory (small grids only, for checks).
        probe_signal: ``y`` or ``dr``: which probe signal multiplies the probe field in
            the estimator (``dr`` adds a zero-mean term, for checks).
        history_dtype: ``float32`` or ``float64`` path histories (sums are float64).
        orthogonal_inputs: Gaussian inputs with exactly orthonormal empirical moments (default)
            instead of i.i.d. draws.
        chol_rtol: relative pivot below which a Cholesky row of ``M_C`` is taken as spanned (in [0, 1)).
        extrapolation_paths: a second path count ``m`` (``2 <= m < n_paths``): ``replicates``
            more solves of ``m`` paths each, and every averaged observable extrapolated linearly in
            ``1/n_paths`` to ``n_paths -> infinity`` (the finite-path bias removed, its
            uncertainty in the errors, the correction kept as ``<name>_paths_bias``;
            ``dmft.core.extrapolation``).  -1 (default): automatic, :meth:`companion` (1024-1250
            paths at the default 16384 on grids up to 1250 steps: 6-8% more work, error bars about
            1.1x wider, docs/precision.md section 7).  0: none (the result then says that its
            errors leave the finite-path bias out).
        memory_window: 0: the memory sums of the paths over every earlier step; ``W`` (at least
            the exact band: ``exact_lags``, or 64 with the automatic band): over the last ``W``
            steps exactly and the older ones through the means of blocks of steps whose length
            grows with their age (an approximation whose error is measured in
            docs/long-horizons.md; ``dmft.solver.blocks``; it needs the probe response).  -1
            (default): automatic, :meth:`window_at`: the full memory up to ``t = 200`` (at ``dt =
            0.1``) and with two replicas, a window of 20 time units beyond.
    """

    kind: ClassVar[str] = "dmft"
    #: files written before the exact band existed used probes at every lag
    hash_omitted_at: ClassVar[dict] = {"exact_lags": 0, "extrapolation_paths": 0, "memory_window": 0}

    n_paths: int = 16384
    n_probes: int = 4
    exact_lags: int = -1
    replicates: int = 4
    response: str = "auto"
    probe_signal: str = "y"
    history_dtype: str = "float32"
    orthogonal_inputs: bool = True
    chol_rtol: float = 1e-8
    extrapolation_paths: int = -1
    memory_window: int = -1

    def __post_init__(self) -> None:
        for name in ("n_paths", "n_probes", "exact_lags", "replicates", "extrapolation_paths", "memory_window"):
            object.__setattr__(self, name, as_int(name, getattr(self, name)))
        object.__setattr__(self, "chol_rtol", as_float("chol_rtol", self.chol_rtol))
        if not isinstance(self.orthogonal_inputs, bool):
            raise ParameterError("orthogonal_inputs", f"must be true or false (got {self.orthogonal_inputs!r})")
        check_choice("response", self.response, ("auto", "probe", "blocks", "exact"))
        check_choice("probe_signal", self.probe_signal, ("y", "dr"))
        check_choice("history_dtype", self.history_dtype, ("float32", "float64"))
        if self.n_paths < 2:
            raise ParameterError("n_paths", f"must be >= 2 (got {self.n_paths})")
        if self.n_probes < 1:
            raise ParameterError("n_probes", f"must be >= 1 (got {self.n_probes})")
        if self.exact_lags < -1:
            raise ParameterError("exact_lags", f"must be >= 0, or -1 for automatic (got {self.exact_lags})")
        if self.response == "blocks" and (self.exact_lags == 0 or self.probe_signal != "y"):
            raise ParameterError("response", "'blocks' needs an exact band (exact_lags = -1 or >= 1) and "
                                             "probe_signal = 'y'")
        if self.exact_lags > 0 and self.probe_signal != "y":
            raise ParameterError("exact_lags", "needs probe_signal = 'y' (the band is removed from y)")
        if self.replicates < 1:
            raise ParameterError("replicates", f"must be >= 1 (got {self.replicates})")
        if not 0 <= self.chol_rtol < 1:
            raise ParameterError("chol_rtol", f"must lie in [0, 1) (got {self.chol_rtol})")
        if self.extrapolation_paths not in (-1, 0) and not 2 <= self.extrapolation_paths < self.n_paths:
            raise ParameterError("extrapolation_paths", f"must be -1 (automatic), 0 (none) or lie in "
                                                        f"[2, n_paths = {self.n_paths}) (got {self.extrapolation_paths})")
        if self.memory_window < -1:
            raise ParameterError("memory_window", f"must be -1 (automatic), 0 (the full memory) or a number of steps "
                                                  f"(got {self.memory_window})")
        if self.memory_window > 0:
            least = AUTO_BAND if self.exact_lags == -1 else max(1, self.exact_lags)
            if self.memory_window < least:
                raise ParameterError("memory_window", f"must be 0 (the full memory) or at least {least}, the "
                                                      f"exact band of the response (got {self.memory_window})")
            if self.response not in ("auto", "probe"):
                raise ParameterError("memory_window", "works with the probe response only (response = 'probe' or 'auto')")

    def band(self, n_steps: int, dt: float) -> int:
        """The exact-band width used for a grid of ``n_steps`` steps of ``dt`` (``exact_lags``
        resolved)."""
        if self.exact_lags == -1:  # automatic; the band is removed from y, so none with 'dr'
            if self.probe_signal != "y":
                return 0
            width = min(n_steps // 8, max(AUTO_BAND, math.ceil(AUTO_BAND_TIME / dt - 1e-9)))
            return min(width, self.memory_window) if self.memory_window > 0 else width
        return self.exact_lags

    def band_at(self, params: Params) -> int:
        """The exact band at ``params``: :meth:`band` of its grid, and at least one lag with the
        block response (whose columns are handed over through the band)."""
        band = self.band(params.n_steps, params.dt)
        return max(1, band) if self.estimator(params) == "blocks" else band

    def estimator(self, params: Params) -> str:
        """The response estimator used at ``params``: ``response``, with ``auto`` resolved (see the
        class docstring)."""
        if self.response != "auto":
            return self.response
        probes = (params.loss == "square" or self.window_at(params) or self.exact_lags == 0
                  or self.probe_signal != "y" or self.band(params.n_steps, params.dt) == 0)
        return "probe" if probes else "blocks"

    def companion(self, params: Params) -> int:
        """The second path count of the ``n_paths -> infinity`` extrapolation at ``params``
        (0: none): ``extrapolation_paths`` when given; automatic (-1): the largest of ``n_paths /
        16``, ``min(1024, n_paths / 4)`` and the fields a run must represent (:meth:`represented`),
        or 0 where that exceeds ``n_paths / 2`` (a run that close to its own path limit cannot be
        extrapolated in the paths)."""
        if self.extrapolation_paths != -1:
            return self.extrapolation_paths
        n = self.n_paths
        m = max(n // COMPANION_RATIO, min(COMPANION_LINEAR_FROM, n // 4), self.represented(params))
        return m if 2 <= m <= n // 2 else 0

    def represented(self, params: Params) -> int:
        """The fields a run at ``params`` must represent with its paths (the rank of the cavity
        field's covariance it needs): ``replicas x n_steps`` with the full memory, with a window ``W``
        ``replicas x (W + blocks)``, the regressors of a field (docs/dmft-derivation.md sections 3
        and 10)."""
        W = self.window_at(params)
        steps = min(params.n_steps, W + window_blocks(params.n_steps + 1)) if W else params.n_steps
        return params.replicas * steps

    def window_at(self, params: Params) -> int:
        """The memory window used at ``params`` (0: the full memory): ``memory_window``, or for the
        automatic -1 ``W = max(AUTO_WINDOW_STEPS, AUTO_WINDOW_TIME / dt)`` steps where the grid is
        longer than ``AUTO_WINDOW_FROM`` windows, with one replica, a response setting that
        allows the probes (``auto`` or ``probe``; an exact band of at most ``W``) and at least twice
        as many paths as a field has regressors (``W`` + blocks), else 0."""
        if self.memory_window != -1:
            return self.memory_window
        W = max(AUTO_WINDOW_STEPS, math.ceil(AUTO_WINDOW_TIME / params.dt - 1e-9))
        if (params.replicas != 1 or self.response not in ("auto", "probe") or self.exact_lags > W
                or params.n_steps <= AUTO_WINDOW_FROM * W
                or self.n_paths < 2 * (W + window_blocks(params.n_steps + 1))):
            return 0
        return W

    def hashed_dict(self) -> dict:
        """As for every method; the automatic window (-1) enters the point hash only where it is
        used, as its width (:meth:`hash_additions`), so a point whose grid gets no window keeps
        the hash it had when the full memory was the default."""
        d = super().hashed_dict()
        if self.memory_window == -1:
            d.pop("memory_window", None)
        return d

    def hash_additions(self, params: Params) -> dict:
        """Entries of the point hash that depend on the point: the automatic band where it differs
        from the one of files written before it followed ``dt`` (``min(64, K // 8)``), so that
        those files keep their hash wherever their numbers stay the same; the automatic second
        path count (:meth:`companion`)."""
        extra = {"companion": self.companion(params)} if self.extrapolation_paths == -1 else {}
        if self.memory_window == -1 and self.window_at(params):
            extra["memory_window"] = self.window_at(params)     # as an explicit window of that width
        response = self.estimator(params)
        if response == "blocks":
            return {"auto_band": self.band_at(params), "block_ratio": blockplan.BLOCK_RATIO, **extra}
        if self.exact_lags != -1 or response != "probe":
            return extra
        width = self.band(params.n_steps, params.dt)
        legacy = min(AUTO_BAND, params.n_steps // 8) if self.probe_signal == "y" else 0
        return extra if width == legacy else {"auto_band": width, **extra}

    def describe(self) -> str:
        text = f"DMFT, {self.n_paths} paths"
        if self.replicates > 1:
            text += f" x {self.replicates} replicates"
        if self.extrapolation_paths > 0:
            text += f", extrapolated to n_paths -> inf with {self.extrapolation_paths} paths"
        elif self.extrapolation_paths == -1:
            text += ", extrapolated to n_paths -> inf"
        if self.memory_window > 0:
            text += f", memory window of {self.memory_window} steps"
        return text


@dataclass(frozen=True)
class ParticleMethod(_Method):
    """Numerical settings of the direct simulations (``dmft.simulations``).

    Attributes:
        n: dimension N of the weights (>= 2); ``P = round(alpha N)`` patterns.
        n_samples: independent systems (data, ``w(0)``, noise) averaged over (>= 1).
        field_eps: amplitude of the random field that measures ``chi`` (linear response; in (0, 0.01]).
        threads: BLAS threads of the matrix products (>= 1; results agree to rounding at any count).
    """

    kind: ClassVar[str] = "simulation"

    n: int = 1000
    n_samples: int = 4
    field_eps: float = 1e-7
    threads: int = field(default=1, metadata=NOT_HASHED)

    def __post_init__(self) -> None:
        for name in ("n", "n_samples", "threads"):
            object.__setattr__(self, name, as_int(name, getattr(self, name)))
        object.__setattr__(self, "field_eps", as_float("field_eps", self.field_eps))
        if self.n < 2:
            raise ParameterError("n", f"must be >= 2 (got {self.n})")
        if self.n_samples < 1:
            raise ParameterError("n_samples", f"must be >= 1 (got {self.n_samples})")
        if not 0 < self.field_eps <= 1e-2:
            raise ParameterError("field_eps", f"must lie in (0, 0.01] (got {self.field_eps})")
        if not 1 <= self.threads <= MAX_THREADS:
            raise ParameterError("threads", f"must lie in [1, {MAX_THREADS}] (got {self.threads})")

    def describe(self) -> str:
        return f"simulation, N = {self.n}, {self.n_samples} samples"


Method = Union[DMFTMethod, ParticleMethod]

#: method class of each result kind
METHODS = {"dmft": DMFTMethod, "simulation": ParticleMethod}


def method_class(kind: str):
    try:
        return METHODS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r} (expected one of {', '.join(METHODS)})") from None


def n_patterns(alpha: float, n: int) -> int:
    """The number of patterns ``P = round(alpha N)`` (at least 1) of a simulation with ``N = n``."""
    return max(1, int(round(alpha * n)))


def point_hash(params: Params, method: Method) -> str:
    """Stable 16-hex-digit hash of everything that determines a result: the physics, the method
    kind and the method settings that change the numbers."""
    d = {"params": params.hashed_dict(), "kind": method.kind,
         "method": {**method.hashed_dict(), **method.hash_additions(params)}}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def split_settings(settings: Mapping[str, Any], kind: str, strict: bool = True):
    """(Params, method) from one flat mapping of parameters and method settings.

    Settings of the other kind's method are an error with ``strict`` (a solve given ``n``), and
    dropped without (a scan with ``mode = "both"`` lists both).  Unknown keys are always an error.
    """
    cls = method_class(kind)
    own = set(cls.names())
    other = {name: c.kind for c in METHODS.values() if c is not cls for name in c.names() if name not in own}
    physics, numerics = {}, {}
    for key, value in settings.items():
        if key in PARAM_NAMES:
            physics[key] = value
        elif key in own:
            numerics[key] = value
        elif key in other:
            if strict:
                raise ParameterError(key, f"is a setting of the {other[key]} method, not of the {kind} method")
        else:
            raise ParameterError(key, "unknown parameter")
    return Params(**physics), cls(**numerics)
