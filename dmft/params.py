"""Parameters of one run, shared by the DMFT solver and the particle simulations.

The names are those of ``SPEC.md`` section 2: config keys, HDF5 attributes and CLI flags
(with ``_`` written ``-``) all use them.  A :class:`Params` is frozen and validated on
construction: an invalid value raises :class:`ParameterError`, whose message names the
parameter (the CLI prints it as its one line and exits with status 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

LOSSES = ("quadratic-hinge", "square")
CONSTRAINTS = ("sphere", "ridge")
DYNAMICS = ("gd", "sgd", "psgd", "langevin")
NOISE_CLASSES = ("bernoulli", "gaussian")
NORMALIZATIONS = ("sum", "mean")

#: Parameters used only by the particle simulations.
SIMULATION_ONLY = ("n", "n_samples")
#: Parameters used only by the DMFT solver.
SOLVER_ONLY = ("n_paths", "n_probes")


class ParameterError(ValueError):
    """An invalid parameter value; ``name`` is the offending parameter."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"invalid parameter '{name}': {message}")


@dataclass(frozen=True)
class Params:
    """One parameter point of the spherical perceptron trained by GD/SGD/PSGD/Langevin.

    Model: weights ``w`` in R^N, ``P = alpha N`` Gaussian patterns, gaps
    ``h_mu = w.xi^mu/sqrt(N) - delta``, loss ``H = sum_mu v(h_mu)`` with
    ``v(h) = h^2 theta(-h)/2`` (``quadratic-hinge``) or ``h^2/2`` (``square``).

    Dynamics (step ``dt``, which for SGD is the learning rate)::

        w <- w - dt [sum_mu s_mu v'(h_mu) xi^mu/sqrt(N) (+ ridge w)] + sqrt(2 T dt) g

    followed by ``w <- sqrt(N) w/|w|`` for the ``sphere`` constraint; ``s_mu(t)`` is the
    selection process of ``dynamics`` (see SPEC section 2).
    """

    alpha: float = 3.0
    delta: float = 0.0
    loss: str = "quadratic-hinge"
    constraint: str = "sphere"
    ridge: float = 0.0
    dynamics: str = "sgd"
    b: float = 0.5
    tau: float = 1.0
    temperature: float = 0.0
    noise_class: str = "bernoulli"
    normalization: str = "sum"
    dt: float = 0.1
    t_max: float = 40.0
    seed: int = 0
    tw: tuple = ()
    replicas: int = 1
    # simulation only
    n: int = 1000
    n_samples: int = 4
    # DMFT only
    n_paths: int = 16384
    n_probes: int = 4

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("alpha", "delta", "ridge", "b", "tau", "temperature", "dt", "t_max"):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParameterError(name, f"must be a number (got {value!r})") from None
            if not math.isfinite(value):
                raise ParameterError(name, f"must be finite (got {value})")
            put(name, value)
        for name in ("seed", "replicas", "n", "n_samples", "n_paths", "n_probes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise ParameterError(name, f"must be an integer (got {value!r})")
            put(name, int(value))
        for name, allowed in (
            ("loss", LOSSES),
            ("constraint", CONSTRAINTS),
            ("dynamics", DYNAMICS),
            ("noise_class", NOISE_CLASSES),
            ("normalization", NORMALIZATIONS),
        ):
            if getattr(self, name) not in allowed:
                raise ParameterError(
                    name, f"must be one of {', '.join(allowed)} (got {getattr(self, name)!r})"
                )

        if self.alpha <= 0:
            raise ParameterError("alpha", f"must be > 0 (got {self.alpha})")
        if self.ridge < 0:
            raise ParameterError("ridge", f"must be >= 0 (got {self.ridge})")
        if not 0 < self.b <= 1:
            raise ParameterError("b", f"must lie in (0, 1] (got {self.b})")
        if self.temperature < 0:
            raise ParameterError("temperature", f"must be >= 0 (got {self.temperature})")
        if self.dynamics == "langevin" and self.temperature <= 0:
            raise ParameterError("temperature", "langevin dynamics needs a temperature > 0")
        if self.tau <= 0:
            raise ParameterError("tau", f"must be > 0 (got {self.tau})")
        if self.dt <= 0:
            raise ParameterError("dt", f"must be > 0 (got {self.dt})")
        if self.t_max < self.dt:
            raise ParameterError("t_max", f"must be >= dt = {self.dt} (got {self.t_max})")
        if self.dynamics == "psgd" and self.dt > self.b * self.tau:
            # switching probabilities dt/tau and (1-b)dt/(b tau) must be <= 1 (their sum is dt/(b tau))
            raise ParameterError(
                "tau", f"psgd needs dt <= b*tau so that switching probabilities are <= 1 (b*tau = {self.b * self.tau})"
            )
        if self.seed < 0:
            raise ParameterError("seed", f"must be >= 0 (got {self.seed})")
        if self.replicas not in (1, 2):
            raise ParameterError("replicas", f"must be 1 or 2 (got {self.replicas})")
        if self.n < 2:
            raise ParameterError("n", f"must be >= 2 (got {self.n})")
        if self.n_samples < 1:
            raise ParameterError("n_samples", f"must be >= 1 (got {self.n_samples})")
        if self.n_paths < 2:
            raise ParameterError("n_paths", f"must be >= 2 (got {self.n_paths})")
        if self.n_probes < 1:
            raise ParameterError("n_probes", f"must be >= 1 (got {self.n_probes})")

        tw = self.tw
        if isinstance(tw, str):
            tw = [x for x in tw.split(",") if x.strip()]
        elif isinstance(tw, (int, float)):
            tw = [tw]
        try:
            tw = tuple(float(x) for x in tw)
        except (TypeError, ValueError):
            raise ParameterError("tw", f"must be a list of times (got {self.tw!r})") from None
        snapped = []
        for x in tw:
            if not math.isfinite(x) or x < 0 or x > self.n_steps * self.dt + 1e-9:
                raise ParameterError("tw", f"waiting time {x} is outside [0, t_max = {self.t_max}]")
            snapped.append(round(x / self.dt) * self.dt)
        put("tw", tuple(sorted(set(snapped))))

    # ------------------------------------------------------------------ time grid
    @property
    def n_steps(self) -> int:
        """Number of update steps: the grid is ``t_i = i dt``, ``i = 0 .. n_steps``."""
        return int(round(self.t_max / self.dt))

    @property
    def tw_index(self) -> tuple:
        """Grid indices of the waiting times ``tw``."""
        return tuple(int(round(x / self.dt)) for x in self.tw)

    @property
    def s_mean(self) -> float:
        """Mean of the selection variable after normalisation (1 for ``gd``/``langevin``)."""
        if self.dynamics in ("gd", "langevin"):
            return 1.0
        return 1.0 if self.normalization == "mean" else self.b

    # ------------------------------------------------------------------ conversions
    def to_dict(self) -> dict:
        """All parameters, resolved, as plain JSON-able values (``tw`` as a list)."""
        d = dataclasses.asdict(self)
        d["tw"] = list(self.tw)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Params":
        """Build from a mapping; unknown keys raise :class:`ParameterError`."""
        names = {f.name for f in fields(cls)}
        for key in d:
            if key not in names:
                raise ParameterError(key, "unknown parameter")
        return cls(**dict(d))

    def replace(self, **changes: Any) -> "Params":
        return dataclasses.replace(self, **changes)

    def point_hash(self, kind: str) -> str:
        """Stable hash of the resolved parameters that matter for ``kind``.

        ``kind`` is ``"dmft"`` or ``"simulation"``; parameters used only by the other kind
        are left out, so changing ``n_paths`` does not invalidate a finished simulation.
        """
        d = self.to_dict()
        drop = SIMULATION_ONLY if kind == "dmft" else SOLVER_ONLY
        for name in drop:
            d.pop(name)
        d["kind"] = kind
        text = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


PARAM_NAMES = tuple(f.name for f in fields(Params))
PARAM_DEFAULTS = {f.name: f.default for f in fields(Params)}
