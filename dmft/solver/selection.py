"""Selection processes s_p(k) of the effective pattern process, vectorised over paths.

For every dynamics the selection variable of one pattern is a scalar process s(k), k = 0, 1, ...
(SPEC section 2), drawn independently on every path:

* ``gd``, ``langevin``: s = 1.
* ``sgd``  bernoulli: s(k) i.i.d. Bernoulli(b);      gaussian: s(k) i.i.d. N(b, b(1-b)).
* ``psgd`` bernoulli: two-state Markov chain, P(0->1) = dt/tau, P(1->0) = (1-b) dt/(b tau),
  s(0) ~ Bernoulli(b) (stationary, mean b, correlation (1 - dt/(b tau))^|k-k'|);
  gaussian: AR(1) with the same mean, variance b(1-b) and coefficient rho = 1 - dt/(b tau).
* ``normalization = mean`` divides s by b (the mini-batch average).

``make_selection(params, rng, n)`` returns an object whose ``next()`` gives s(k) for
k = 0, 1, 2, ... as a float64 array of shape (n,).
"""

from __future__ import annotations

import numpy as np


class _Constant:
    def __init__(self, n: int, value: float = 1.0):
        self.s = np.full(n, value)

    def next(self) -> np.ndarray:
        return self.s


class _SgdBernoulli:
    def __init__(self, rng, n, b, scale):
        self.rng, self.n, self.b, self.scale = rng, n, b, scale

    def next(self):
        return (self.rng.random(self.n) < self.b) * self.scale


class _SgdGaussian:
    def __init__(self, rng, n, b, scale):
        self.rng, self.n, self.b, self.scale = rng, n, b, scale
        self.sd = np.sqrt(b * (1.0 - b))

    def next(self):
        return (self.b + self.sd * self.rng.standard_normal(self.n)) * self.scale


class _PsgdBernoulli:
    def __init__(self, rng, n, b, tau, dt, scale):
        self.rng, self.n, self.scale = rng, n, scale
        self.p_on = dt / tau
        self.p_off = (1.0 - b) * dt / (b * tau)
        self.state = None
        self.b = b

    def next(self):
        if self.state is None:
            self.state = self.rng.random(self.n) < self.b
        else:
            u = self.rng.random(self.n)
            self.state = np.where(self.state, u >= self.p_off, u < self.p_on)
        return self.state * self.scale


class _PsgdGaussian:
    def __init__(self, rng, n, b, tau, dt, scale):
        self.rng, self.n, self.b, self.scale = rng, n, b, scale
        self.rho = 1.0 - dt / (b * tau)
        self.sd = np.sqrt(b * (1.0 - b))
        self.x = None

    def next(self):
        z = self.rng.standard_normal(self.n)
        if self.x is None:
            self.x = self.b + self.sd * z
        else:
            self.x = self.b + self.rho * (self.x - self.b) + self.sd * np.sqrt(max(0.0, 1.0 - self.rho**2)) * z
        return self.x * self.scale


def make_selection(params, rng: np.random.Generator, n: int):
    """Selection process of ``params.dynamics`` / ``noise_class`` / ``normalization`` on n paths."""
    if params.dynamics in ("gd", "langevin"):
        return _Constant(n)
    b = params.b
    scale = 1.0 / b if params.normalization == "mean" else 1.0
    gaussian = params.noise_class == "gaussian"
    if params.dynamics == "sgd":
        return (_SgdGaussian if gaussian else _SgdBernoulli)(rng, n, b, scale)
    if params.dynamics == "psgd":
        return (_PsgdGaussian if gaussian else _PsgdBernoulli)(rng, n, b, params.tau, params.dt, scale)
    raise ValueError(f"unknown dynamics {params.dynamics!r}")
