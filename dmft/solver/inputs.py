"""Gaussian inputs of the effective process with exactly orthonormal empirical statistics.

The march draws, per path p, an initial field u_p(0) ~ N(0,1), the innovations z_p(k) ~ N(0,1)
of the Cholesky draw omega_p(k) = sum_j L(k,j) z_p(j), and (temperature > 0) the thermal noise
eta_p(k).  Sampling error of averages over paths is the dominant error of the solver; most of it
is removed here by making the empirical second moments over paths exact:

* u(0) is a stratified sample of N(0,1) (one point per equal-probability stratum), centred and
  scaled to sum_p u_p(0)^2 = n;
* the vectors z(k), eta(k) (over paths) are sqrt(n) times orthonormal columns, orthogonal to the
  constant vector, to u(0) and to each other: (1/n) sum_p z_p(k) z_p(j) = delta_kj and
  sum_p z_p(k) = 0 exactly.  They are obtained by orthogonalising i.i.d. Gaussian blocks (block
  Gram-Schmidt with re-orthogonalisation, then QR), i.e. a Haar-random orthonormal set; each
  path's input is still exchangeable and marginally N(0,1) up to O(1/n).

At most n - 2 vectors can be orthogonal; after that an "epoch" restarts (vectors orthogonal within
an epoch, independent between epochs).  ``orthogonal=False`` gives plain i.i.d. draws.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


def teacher_law_quantile(q: np.ndarray, label_noise: float) -> np.ndarray:
    """Quantile function of ``t = y v``, ``v ~ N(0,1)``, ``y = sign(v)`` flipped with probability
    ``eps = label_noise``: ``t = |v|`` w.p. ``1 - eps`` and ``-|v|`` w.p. ``eps``, so
    ``F(x) = 2 eps Phi(x)`` (x < 0) and ``eps + (1 - eps)(2 Phi(x) - 1)`` (x >= 0)."""
    eps = float(label_noise)
    q = np.asarray(q, dtype=float)
    neg = q < eps
    out = np.empty_like(q)
    out[neg] = ndtri(q[neg] / (2.0 * eps)) if eps > 0 else 0.0
    out[~neg] = ndtri(0.5 + (q[~neg] - eps) / (2.0 * (1.0 - eps)))
    return out


def teacher_variables(rng: np.random.Generator, n: int, label_noise: float, exact: bool = True) -> np.ndarray:
    """The teacher variable ``t_p = y_p v_p`` of each path (the label times the teacher
    projection ``v = w*.x/sqrt(N)``; ``xi = y x`` has ``xi.w*/sqrt(N) = t``).

    ``exact``: a stratified sample of the law of ``t`` (:func:`teacher_law_quantile`), mapped
    affinely (an O(1/n) change) to the exact mean ``kappa = (1 - 2 eps) sqrt(2/pi)`` and second
    moment 1; otherwise i.i.d. draws."""
    if not exact:
        v = np.abs(rng.standard_normal(n))
        return np.where(rng.random(n) < label_noise, -v, v)
    t = teacher_law_quantile((rng.permutation(n) + rng.random(n)) / n, label_noise)
    kappa = (1.0 - 2.0 * label_noise) * math.sqrt(2.0 / math.pi)
    d = t - t.mean()
    return kappa + d * (math.sqrt(n * (1.0 - kappa * kappa)) / np.linalg.norm(d))


def orthogonal_to(u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``u`` (centred, ``|u|^2 = n``) made orthogonal to ``t`` and renormalised: the initial fields
    of teacher data, independent of the teacher variables, with exact empirical moments."""
    c = t - t.mean()
    c /= np.linalg.norm(c)
    u = u - (u @ c) * c
    u -= u.mean()
    return u * (math.sqrt(len(u)) / np.linalg.norm(u))


def stratified_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    u = ndtri((rng.permutation(n) + rng.random(n)) / n)
    u -= u.mean()
    return u * (math.sqrt(n) / np.linalg.norm(u))


class GaussianInputs:
    """Blocks of orthonormal Gaussian-like vectors; ``next()`` returns the next (n,) vector.

    The vectors drawn do not depend on how many are asked for in all (``total`` is only a hint for
    the first allocation), so a march continued to a longer horizon draws exactly the inputs a
    single march to that horizon draws.  ``base`` is a vector (or a sequence of vectors) the inputs
    are made orthogonal to, besides the constant one: ``u(0)``, and the teacher variables ``t`` of
    teacher data.
    """

    def __init__(self, rng: np.random.Generator, n: int, total: int = 0, base=None,
                 orthogonal: bool = True, block: int = 64):
        self.rng, self.n, self.orthogonal = rng, n, orthogonal
        cols = [np.full(n, 1.0 / math.sqrt(n))]
        bases = [] if base is None else [base] if np.ndim(base) == 1 else list(base)
        for b in bases:                                  # centred, orthogonal to the earlier ones
            b = b - b.mean()
            for c in cols[1:]:
                b = b - (b @ c) * c
            cols.append(b / np.linalg.norm(b))
        self.fixed = np.array(cols)                      # (c, n), orthonormal
        self.max_epoch = max(1, n - len(cols) - 1)       # vectors per epoch
        self.block = max(1, min(block, self.max_epoch))
        cap = min(self.max_epoch, max(self.block, total)) if orthogonal else 0
        self.epoch = np.zeros((cap, n))                  # orthonormal rows of the current epoch (grows)
        self.m = 0                                       # rows used in the epoch
        self.buf = np.zeros((0, n))
        self.pos = 0

    def _room(self, rows: int) -> None:
        """Make the epoch buffer hold ``rows`` rows (doubling, at most an epoch)."""
        if rows > self.epoch.shape[0]:
            grown = np.zeros((min(self.max_epoch, max(rows, 2 * self.epoch.shape[0])), self.n))
            grown[: self.m] = self.epoch[: self.m]
            self.epoch = grown

    def _refill(self):
        n = self.n
        if not self.orthogonal:
            self.buf = self.rng.standard_normal((self.block, n)) / math.sqrt(n)
            self.pos = 0
            return
        if self.m >= self.max_epoch:
            self.m = 0                                   # new epoch
        b = min(self.block, self.max_epoch - self.m)
        self._room(self.m + b)
        G = self.rng.standard_normal((b, n))
        E = self.epoch[: self.m]
        for _ in range(2):                               # block Gram-Schmidt, twice
            G -= (G @ self.fixed.T) @ self.fixed
            if self.m:
                G -= (G @ E.T) @ E
        Q, Rr = np.linalg.qr(G.T)                        # (n, b)
        Q = Q * np.where(np.diag(Rr) < 0, -1.0, 1.0)[None, :]  # Haar: fix QR's sign ambiguity
        B = Q.T
        self.epoch[self.m: self.m + b] = B
        self.m += b
        self.buf = B
        self.pos = 0

    def generate(self, count: int, out: np.ndarray | None = None, dtype=np.float64, keep: bool = False) -> np.ndarray:
        """The next ``count`` vectors as rows of a (count, n) array (written into ``out`` if given).

        Generating everything before the march keeps multithreaded BLAS (used here) from
        competing for the cores with the numba kernels of the march.  ``keep``: keep the current
        epoch's basis, so that more vectors can be drawn later (a march that may be continued);
        otherwise it is released.
        """
        if out is None:
            out = np.empty((count, self.n), dtype)
        for i in range(count):
            out[i] = self.next()
        if not keep:
            self.release()
        return out

    def release(self) -> None:
        """Free the epoch's basis; no vector can be drawn afterwards."""
        self.epoch = None
        self.buf = np.zeros((0, self.n))

    def next(self) -> np.ndarray:
        if self.pos >= self.buf.shape[0]:
            if self.epoch is None and self.orthogonal:
                raise RuntimeError("the inputs were released: no more vectors can be drawn")
            self._refill()
        v = self.buf[self.pos] * math.sqrt(self.n)
        self.pos += 1
        return v
