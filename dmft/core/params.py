"""The physics of one run: model, algorithm, time grid, replicas and seed.

Conventions (names, signs, units) are those of ``docs/conventions.md``: config keys, HDF5
attributes and CLI flags (with ``_`` written ``-``) all use these names.  How the problem is
*computed* (number of DMFT paths, system size N, ...) is not here but in a method object
(:mod:`dmft.core.methods`).  A :class:`Params` is frozen and validated on construction: an
invalid value raises :class:`ParameterError`, whose message names the parameter (the CLI prints
it as its one line and exits with status 2).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

LOSSES = ("quadratic-hinge", "square")
CONSTRAINTS = ("sphere", "ridge")
DYNAMICS = ("gd", "sgd", "psgd", "langevin", "injected")
NOISE_CLASSES = ("bernoulli", "gaussian", "rademacher", "gamma")
#: Noise classes with a law for the selection variables of ``sgd``/``psgd`` (the others exist only as
#: injected weights, ``dynamics = injected``).
SELECTION_CLASSES = ("bernoulli", "gaussian")
NORMALIZATIONS = ("sum", "mean")
DATA = ("random", "teacher")

#: Parameters added after files existed: left out of :meth:`Params.hashed_dict` (hence of the
#: point hash) while at these values, so that every earlier point keeps its hash.
HASH_OMITTED_AT = {"data": "random", "label_noise": 0.0, "noise_var": 0.0}

#: The automatic waiting times (``tw`` not given): these fractions of ``t_max``, on the grid.  At the
#: default ``t_max = 125`` they are the canonical (50, 75); two of them, so that the stationarity
#: test of ``dmft teff`` has a reference.
AUTO_TW = (0.4, 0.6)

#: Largest absolute value accepted for a real parameter: beyond it no run is meaningful, and
#: squares of it would overflow.
MAX_ABS = 1e6
#: Most time steps ``t_max / dt`` of a grid (beyond it no run fits, and the count overflows).
MAX_STEPS = 1e9
#: Largest seed: a file stores the seed as an unsigned 64-bit integer.
MAX_SEED = 2**64 - 1


def omit_at(settings: dict, omitted_at: Mapping[str, Any]) -> dict:
    """``settings`` without the entries that equal their value in ``omitted_at``: a setting added
    after files existed is left out of the point hash at the value those files were computed with,
    so that they keep their hash (parameters and method settings alike)."""
    return {k: v for k, v in settings.items() if not (k in omitted_at and v == omitted_at[k])}


class ParameterError(ValueError):
    """An invalid parameter or setting; ``name`` is the offending one."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"invalid parameter '{name}': {message}")


def check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ParameterError(name, f"must be one of {', '.join(allowed)} (got {value!r})")


def as_float(name: str, value: Any) -> float:
    """``value`` as a finite float of moderate size, or :class:`ParameterError`."""
    if isinstance(value, bool):
        raise ParameterError(name, f"must be a number (got {value!r})")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be a number (got {value!r})") from None
    if not math.isfinite(value):
        raise ParameterError(name, f"must be finite (got {value})")
    if abs(value) > MAX_ABS:
        raise ParameterError(name, f"must lie within +-{MAX_ABS:g} (got {value:g})")
    return value + 0.0   # -0.0 becomes 0.0: one value, one point hash


def as_int(name: str, value: Any) -> int:
    """``value`` as an int (an integral float is accepted), or :class:`ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, f"must be an integer (got {value!r})")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ParameterError(name, f"must be an integer (got {value!r})")
    return int(value)


def parse_times(value: Any, name: str = "tw") -> tuple:
    """Times given as a sequence, one number or a comma-separated string, as floats (unchecked)."""
    times = value
    if isinstance(times, str):
        times = [x for x in times.split(",") if x.strip()]
    elif isinstance(times, (int, float)):
        times = [times]
    try:
        return tuple(float(x) for x in times)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be a list of times (got {value!r})") from None


@dataclass(frozen=True)
class Params:
    """One parameter point of the spherical perceptron trained by GD/SGD/PSGD/Langevin.

    Model (``docs/conventions.md`` section 1): weights ``w`` in R^N, ``P = alpha N`` Gaussian
    patterns (``data = random``; or ``xi = y x`` with teacher labels ``y = sign(w*.x/sqrt(N))``,
    ``data = teacher``), gaps ``h_mu = w.xi^mu/sqrt(N) - delta``, loss ``H = sum_mu v(h_mu)`` with
    ``v(h) = h^2 theta(-h)/2`` (``quadratic-hinge``) or ``h^2/2`` (``square``).

    Dynamics (section 2; step ``dt``, which for SGD is the learning rate)::

        w <- w - dt [sum_mu s_mu v'(h_mu) xi^mu/sqrt(N) (+ ridge w)] + sqrt(2 T dt) g

    followed by ``w <- sqrt(N) w/|w|`` for the ``sphere`` constraint; ``s_mu(t)`` is the
    selection process of ``dynamics``.

    The defaults are the canonical stationary UNSAT point of ``docs/effective-temperature.md``
    (``alpha = 4 > alpha_J(0.5) = 0.96``, ``delta = 0.5``, sgd ``b = 0.5``, ``dt = 0.1``,
    ``t_max = 125``, ``tw = (50, 75)``), where every tool works: ``Params()`` is stationary from
    ``t = 50`` and has a ``T_eff`` plateau before ``t_max``.

    Units: the model is dimensionless; times (``t``, ``dt``, ``t_max``, ``tw``, ``tau``) are in
    the units in which one update step lasts ``dt``.

    Attributes:
        alpha: patterns per weight, ``P/N`` (dimensionless, > 0).
        delta: margin ``Delta`` of the gaps (dimensionless, any real); ``delta < 0`` makes the
            problem non-convex.
        loss: the loss ``v(h)``: ``quadratic-hinge`` ``h^2 theta(-h)/2`` or ``square`` ``h^2/2``.
        constraint: ``sphere`` (``|w|^2 = N``) or ``ridge`` (no sphere, penalty ``ridge |w|^2/2``).
        ridge: the L2 coefficient ``lambda`` (``ridge`` constraint only; dimensionless, >= 0).
        dynamics: ``gd``, ``sgd`` (i.i.d. Bernoulli(b) selection per step), ``psgd`` (persistent
            selection, correlation time ``b tau``), ``langevin`` (gd plus thermal noise) or
            ``injected`` (the sgd selection times i.i.d. per-pattern weights of mean 1 and variance
            ``noise_var``, class ``noise_class``; ``b = 1``: gradient descent with injected noise).
        b: batch fraction, the mean of the selection variables ``s_mu(t)`` (in (0, 1]).
        tau: persistence time of ``psgd`` (time units of ``t``; > 0, with ``dt <= b tau``).
        temperature: thermal noise ``T`` (same units as the energy per weight; >= 0, > 0 required
            by ``langevin``).
        noise_class: ``bernoulli`` selection variables, or ``gaussian`` ones with the same mean and
            two-time covariance; for ``injected`` the class of the weights ``x`` (mean 1, variance
            ``sigma^2 = noise_var``): ``bernoulli`` ``x = B/p``, ``B ~ Bernoulli(p = 1/(1+sigma^2))``;
            ``gaussian`` ``1 + sigma z``; ``rademacher`` ``1 +- sigma``; ``gamma`` Gamma(shape
            ``1/sigma^2``, scale ``sigma^2``) (the last two for ``injected`` only).
        noise_var: variance ``sigma^2`` of the injected weights (``injected`` only; dimensionless,
            >= 0; 0 gives the plain sgd selection).
        normalization: ``sum`` (drift ``b grad H``) or ``mean`` (``s`` divided by ``b``: drift
            ``grad H``, the mini-batch average).
        dt: time step, the learning rate (time units of ``t``; > 0).
        t_max: final time (time units; >= dt); the grid is ``t_i = i dt``.
        seed: root of every random stream (``numpy.random.SeedSequence(seed)``; integer >= 0).
        tw: waiting times of the two-time observables ``C(t, tw)``, ``chi(t, tw)`` (time units, in
            [0, t_max]; snapped to the grid, sorted, unique).  Needed by ``dmft teff``: it is
            measured at a waiting time and tested for stationarity against an earlier one.  Not
            given (``None``): ``0.4 t_max`` and ``0.6 t_max`` on the grid (50 and 75 at the default
            ``t_max``), and they follow ``t_max`` in :meth:`replace`; ``()``: none.
        replicas: 1, or 2 for the replica distance ``d(t)`` (same data and ``w(0)``, independent
            noise).
        data: ``random`` (i.i.d. Gaussian patterns: random labels absorbed in them) or ``teacher``
            (patterns ``xi = y x``, Gaussian inputs ``x`` labelled ``y = sign(w*.x/sqrt(N))`` by a
            teacher ``w*`` on the sphere; observables ``m = w.w*/N`` and ``gen_error``).
        label_noise: probability that a teacher label is flipped (``teacher`` data only; in
            [0, 0.5]).
    """

    alpha: float = 4.0
    delta: float = 0.5
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
    t_max: float = 125.0
    seed: int = 0
    tw: tuple | None = None
    replicas: int = 1
    data: str = "random"
    label_noise: float = 0.0
    noise_var: float = 0.0

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("alpha", "delta", "ridge", "b", "tau", "temperature", "dt", "t_max", "label_noise",
                     "noise_var"):
            put(name, as_float(name, getattr(self, name)))
        for name in ("seed", "replicas"):
            put(name, as_int(name, getattr(self, name)))
        check_choice("loss", self.loss, LOSSES)
        check_choice("constraint", self.constraint, CONSTRAINTS)
        check_choice("dynamics", self.dynamics, DYNAMICS)
        check_choice("noise_class", self.noise_class, NOISE_CLASSES)
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_choice("data", self.data, DATA)

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
        if not self.t_max / self.dt <= MAX_STEPS:   # round(t_max/dt) would overflow or never end
            raise ParameterError("dt", f"t_max/dt = {self.t_max / self.dt:.3g} steps, more than {MAX_STEPS:g} "
                                 f"(dt = {self.dt:g} is too small)")
        if self.dynamics == "psgd" and self.dt > self.b * self.tau:
            # switching probabilities dt/tau and (1-b)dt/(b tau) must be <= 1 (their sum is dt/(b tau))
            raise ParameterError(
                "tau", f"psgd needs dt <= b*tau so that switching probabilities are <= 1 (b*tau = {self.b * self.tau})"
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise ParameterError("seed", f"must lie in [0, 2^64 - 1], what a file can store (got {self.seed})")
        if not 0 <= self.label_noise <= 0.5:
            raise ParameterError("label_noise", f"must lie in [0, 0.5] (got {self.label_noise})")
        if self.label_noise > 0 and self.data != "teacher":
            raise ParameterError("label_noise", "flips teacher labels: needs data = teacher")
        if self.noise_var < 0:
            raise ParameterError("noise_var", f"must be >= 0 (got {self.noise_var})")
        if self.noise_var > 0 and self.dynamics != "injected":
            raise ParameterError("noise_var", "is the variance of injected weights: needs dynamics = injected")
        if self.noise_class not in SELECTION_CLASSES and self.dynamics != "injected":
            raise ParameterError("noise_class", f"{self.noise_class} exists only for injected weights "
                                 f"(dynamics = injected); {self.dynamics} takes {', '.join(SELECTION_CLASSES)}")
        if self.replicas not in (1, 2):
            raise ParameterError("replicas", f"must be 1 or 2 (got {self.replicas})")
        # not a field: whether tw was chosen automatically (it then follows t_max in replace)
        put("_tw_auto", self.tw is None)
        put("tw", self._snapped_tw())

    def _snapped_tw(self) -> tuple:
        tw = self.tw
        if tw is None:
            tw = [f * self.t_max for f in AUTO_TW]
        tw = parse_times(tw)
        snapped = []
        for x in tw:
            if not math.isfinite(x) or x < 0 or x > self.n_steps * self.dt + 1e-9:
                raise ParameterError("tw", f"waiting time {x} is outside [0, t_max = {self.t_max}]")
            snapped.append(round(x / self.dt) * self.dt)
        return tuple(sorted(set(snapped)))

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

    def hashed_dict(self) -> dict:
        """:meth:`to_dict` without the parameters of :data:`HASH_OMITTED_AT` that are at their
        omitted value: what the point hash covers (old points keep their hash)."""
        return omit_at(self.to_dict(), HASH_OMITTED_AT)

    @property
    def teacher(self) -> bool:
        """Whether the labels come from a teacher (``data = teacher``)."""
        return self.data == "teacher"

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Params":
        """Build from a mapping; unknown keys raise :class:`ParameterError`."""
        for key in d:
            if key not in PARAM_NAMES:
                raise ParameterError(key, "unknown parameter")
        return cls(**dict(d))

    def replace(self, **changes: Any) -> "Params":
        """A copy with ``changes``; waiting times that were chosen automatically (``tw`` not
        given) are chosen again for the new ``t_max`` and ``dt``."""
        if self._tw_auto and "tw" not in changes:
            changes["tw"] = None
        return dataclasses.replace(self, **changes)


PARAM_NAMES = tuple(f.name for f in fields(Params))
PARAM_DEFAULTS = {f.name: f.default for f in fields(Params)}
