"""Selection processes ``s_mu(t)`` (``docs/conventions.md`` section 2), shared by simulations and DMFT.

One object draws, per step, the selection variables of many independent patterns: the ``P``
patterns of a simulated system, or the ``n_paths`` sampled patterns of the DMFT effective
process (the same law, so one implementation serves both).

Each process yields, once per time step ``t_i = i dt`` (``i = 0, 1, ...``), the vector
``(s_1(t_i), ..., s_P(t_i))`` that multiplies the per-pattern forces ``v'(h_mu)`` in the update
from ``t_i`` to ``t_{i+1}`` (and in ``nu(t_i)``).  ``s`` is already normalised: with
``normalization = "mean"`` it is divided by ``b`` so that its mean is 1.

=========================  ===============================================================
``gd`` / ``langevin``      ``s = 1`` (:meth:`Selection.next` returns ``None``: no multiplication)
``sgd``, bernoulli         i.i.d. Bernoulli(b), redrawn every step, per pattern
``sgd``, gaussian          i.i.d. N(b, b(1-b)): same mean and (delta-correlated) covariance
``psgd``, bernoulli        two-state Markov chain per pattern: 0->1 w.p. ``dt/tau``,
                           1->0 w.p. ``(1-b) dt/(b tau)``, ``s(0) ~ Bernoulli(b)``
``psgd``, gaussian         AR(1): ``s_{i+1} - b = rho (s_i - b) + sqrt((1-rho^2) b(1-b)) z``,
                           ``s_0 ~ N(b, b(1-b))`` (stationary start)
``injected``               ``s = g x``: ``g`` the ``sgd`` Bernoulli(b) selection (``g = 1`` for
                           ``b = 1``), ``x`` i.i.d. weights of mean 1, variance ``sigma^2``
=========================  ===============================================================

Injected weights ``x_mu(t_i)`` (``dynamics = injected``, ``sigma^2 = noise_var``; all i.i.d. over
patterns and steps, mean 1, variance ``sigma^2``):

=============  ====================================================================
``bernoulli``  ``x = B/p``, ``B ~ Bernoulli(p)``, ``p = 1/(1+sigma^2)``: with ``b = 1`` the law
               of ``sgd`` at batch fraction ``p`` with ``normalization = mean``
``gaussian``   ``x = 1 + sigma z``, ``z ~ N(0, 1)`` (negative weights for large ``sigma``)
``rademacher`` ``x = 1 +- sigma`` with probability 1/2 each (symmetric two-point law)
``gamma``      ``x ~ Gamma(shape 1/sigma^2, scale sigma^2)``: positive, skewed (skewness
               ``2 sigma``)
=============  ====================================================================

so that the noise strength ``sigma^2`` and the batch fraction ``b`` are separate knobs: with
``normalization = mean`` the weights ``s = g x`` have mean 1 and variance ``(1+sigma^2)/b - 1``,
the variance of ``sgd`` at ``b' = b/(1+sigma^2)``.

For both ``psgd`` classes the stationary mean is ``b``, the variance ``b(1-b)`` and the
two-time covariance ``b(1-b) rho^{|i-j|}`` with ``rho = 1 - dt/(b tau)`` (the Markov chain's
second eigenvalue ``1 - p01 - p10``), i.e. correlation time ``dt/(1-rho) = b tau``; as
``dt -> 0`` the Bernoulli chain is a telegraph process and the Gaussian one an
Ornstein-Uhlenbeck process with the same covariance ``b(1-b) exp(-|t-t'|/(b tau))``.

Randomness comes only from the ``numpy.random.Generator`` handed in, one per replica.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np


class Selection:
    """Base class: ``next()`` returns ``s(t_i)`` for successive steps ``i = 0, 1, ...``."""

    #: mean of s after normalisation
    mean: float = 1.0

    def next(self) -> Optional[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError


class FullBatch(Selection):
    """``s_mu(t) = 1`` (gd, langevin); returns ``None`` so the caller skips the product."""

    def next(self) -> None:
        return None


class _Process(Selection):
    def __init__(self, P: int, b: float, rng: np.random.Generator, scale: float):
        self.P = int(P)
        self.b = float(b)
        self.rng = rng
        self.scale = float(scale)
        self.mean = self.b * self.scale


class BernoulliIID(_Process):
    """``sgd``: ``s_mu(t_i)`` i.i.d. Bernoulli(b) (times ``scale``)."""

    def next(self) -> np.ndarray:
        s = (self.rng.random(self.P) < self.b).astype(float)
        if self.scale != 1.0:
            s *= self.scale
        return s


class GaussianIID(_Process):
    """``sgd`` with gaussian noise class: ``s_mu(t_i)`` i.i.d. N(b, b(1-b)) (times ``scale``)."""

    def next(self) -> np.ndarray:
        s = self.b + math.sqrt(self.b * (1.0 - self.b)) * self.rng.standard_normal(self.P)
        if self.scale != 1.0:
            s *= self.scale
        return s


class TelegraphMarkov(_Process):
    """``psgd``: per-pattern two-state Markov chain started in its stationary law."""

    def __init__(self, P, b, rng, scale, dt: float, tau: float):
        super().__init__(P, b, rng, scale)
        self.p01 = dt / tau  # 0 -> 1
        self.p10 = (1.0 - b) * dt / (b * tau)  # 1 -> 0
        self.rho = 1.0 - dt / (b * tau)
        self.state: Optional[np.ndarray] = None

    def next(self) -> np.ndarray:
        u = self.rng.random(self.P)
        if self.state is None:
            self.state = u < self.b
        else:
            self.state = np.where(self.state, u >= self.p10, u < self.p01)
        s = self.state.astype(float)
        if self.scale != 1.0:
            s *= self.scale
        return s


class GaussianAR1(_Process):
    """``psgd`` with gaussian noise class: stationary AR(1) with mean b, variance b(1-b),
    coefficient ``rho = 1 - dt/(b tau)``."""

    def __init__(self, P, b, rng, scale, dt: float, tau: float):
        super().__init__(P, b, rng, scale)
        self.rho = 1.0 - dt / (b * tau)
        self.sigma = math.sqrt(b * (1.0 - b))
        self.kick = self.sigma * math.sqrt(max(0.0, 1.0 - self.rho ** 2))
        self.x: Optional[np.ndarray] = None

    def next(self) -> np.ndarray:
        z = self.rng.standard_normal(self.P)
        if self.x is None:
            self.x = self.b + self.sigma * z
        else:
            self.x = self.b + self.rho * (self.x - self.b) + self.kick * z
        return self.x * self.scale if self.scale != 1.0 else self.x.copy()


class Injected(Selection):
    """``injected``: ``s_mu(t_i) = g_mu(t_i) x_mu(t_i)``, the selection ``g`` of ``inner`` times
    i.i.d. weights ``x`` of mean 1 and variance ``var`` of class ``noise_class`` (module table).
    ``g`` and then ``x`` are drawn from the same ``rng`` every step."""

    def __init__(self, inner: Selection, P: int, noise_class: str, var: float, rng: np.random.Generator):
        self.inner, self.P, self.noise_class, self.var, self.rng = inner, int(P), noise_class, float(var), rng
        self.mean = inner.mean
        self.sigma = math.sqrt(self.var)
        self.p = 1.0 / (1.0 + self.var)

    def weights(self) -> np.ndarray:
        """One draw of the ``P`` weights ``x``."""
        if self.var == 0.0:
            return np.ones(self.P)
        if self.noise_class == "bernoulli":
            x = (self.rng.random(self.P) < self.p).astype(float)
            x *= 1.0 / self.p
            return x
        if self.noise_class == "gaussian":
            return 1.0 + self.sigma * self.rng.standard_normal(self.P)
        if self.noise_class == "rademacher":
            return np.where(self.rng.random(self.P) < 0.5, 1.0 - self.sigma, 1.0 + self.sigma)
        if self.noise_class == "gamma":
            return self.rng.gamma(1.0 / self.var, self.var, self.P)
        raise ValueError(f"unknown noise class {self.noise_class!r}")  # pragma: no cover

    def next(self) -> np.ndarray:
        g = self.inner.next()
        x = self.weights()
        return x if g is None else g * x


def make_selection(params, P: int, rng: Optional[np.random.Generator]) -> Selection:
    """The selection process of ``params`` (dynamics, noise_class, normalization, noise_var) for
    ``P`` patterns, drawing from ``rng`` (unused for gd/langevin)."""
    if params.dynamics in ("gd", "langevin"):
        return FullBatch()
    scale = 1.0 / params.b if params.normalization == "mean" else 1.0
    if params.dynamics == "injected":
        inner = FullBatch() if params.b == 1.0 else BernoulliIID(P, params.b, rng, scale)
        return Injected(inner, P, params.noise_class, params.noise_var, rng)
    gaussian = params.noise_class == "gaussian"
    if params.dynamics == "sgd":
        cls = GaussianIID if gaussian else BernoulliIID
        return cls(P, params.b, rng, scale)
    if params.dynamics == "psgd":
        cls = GaussianAR1 if gaussian else TelegraphMarkov
        return cls(P, params.b, rng, scale, params.dt, params.tau)
    raise ValueError(f"unknown dynamics {params.dynamics!r}")  # pragma: no cover
