"""One N-dimensional system: data, initial condition and the time stepping.

Model and update of ``docs/conventions.md`` sections 1-2; the loss, its derivative and the
per-step observables are those of :mod:`dmft.core.model`, shared with the DMFT solver.

All copies of the weight vector that one sample needs are the rows of one matrix ``W``
(``m x N``, C order -- i.e. the ``N x m`` matrix of column vectors in column-major order):

* rows ``0 .. R-1``: the ``R`` replicas (same data, same ``w(0)``, own selection and thermal noise);
* rows ``R(1+k) .. R(2+k)-1``: the perturbed copies of the replicas for waiting time ``tw_k``.

The perturbed copies for ``tw_k`` are set equal to their replica at ``t = tw_k`` and from then
on receive ``+ dt eps H`` every step, with the SAME selection variables and thermal noise as
their replica.  Because the waiting times are sorted, the active rows are always a prefix
``W[:m]``, so one step costs two BLAS matrix products with the ``P x N`` pattern matrix::

    h = W X^T / sqrt(N) - delta                  (m x P gaps)
    W <- W - dt [ (s * v'(h)) X / sqrt(N) (+ lambda W) ] + dt eps H (perturbed rows)
           + sqrt(2 T dt) g_r (replica r and its copies)
    W <- sqrt(N) W / |W|   row by row (sphere)

Memory is O(P N + m N + K T): only the rows ``C(., tw_k)`` and ``chi(., tw_k)`` are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ..core.divergence import runaway
from ..core.methods import n_patterns
from ..core.model import Perceptron, gap_counts, generalisation_error
from ..core.selection import Selection

#: Amplitude of the random field used to measure the integrated response chi, read off as
#: H.(w_pert - w)/(N eps).  Two errors compete: the non-linear response, relative O(eps) but
#: with a large prefactor because the quadratic hinge has v'' discontinuous at h = 0 where gaps
#: accumulate (and non-convex landscapes amplify perturbations), and round-off, relative
#: ~1e-16/eps.  Measured (N = 60, alpha = 3, delta = -0.5, SGD b = 0.5, chi(tw + 198, tw)):
#: relative deviation from the eps -> 0 limit 13% at eps = 1e-4, 0.4% at 1e-6, 3e-5 at 1e-8
#: (round-off), 2e-4 at 1e-9; convex cases are far more linear.  1e-7 balances the two.
FIELD_EPS = 1e-7


def draw_system(rng: np.random.Generator, P: int, N: int, constraint: str):
    """Patterns ``X`` (P x N, i.i.d. N(0,1)) and the initial weights ``w(0)``.

    ``w(0)`` is uniform on the sphere ``|w|^2 = N`` (``sphere``) or has i.i.d. N(0,1) entries
    (``ridge``).  Both come from ``rng``, patterns first.
    """
    X = rng.standard_normal((P, N))
    w0 = rng.standard_normal(N)
    if constraint == "sphere":
        w0 *= math.sqrt(N) / np.linalg.norm(w0)
    return X, w0


def label_with_teacher(rng: np.random.Generator, X: np.ndarray, label_noise: float) -> np.ndarray:
    """Teacher data in place: draws ``w*`` uniform on the sphere ``|w*|^2 = N``, labels
    ``y_mu = sign(w*.x^mu/sqrt(N))`` (``+1`` at 0), each flipped with probability
    ``label_noise``, and turns the inputs ``X`` into the patterns ``xi^mu = y_mu x^mu``.
    Returns ``w*``; everything random comes from ``rng`` (``w*`` first, then the flips)."""
    P, N = X.shape
    wstar = rng.standard_normal(N)
    wstar *= math.sqrt(N) / np.linalg.norm(wstar)
    y = np.where(X @ wstar >= 0.0, 1.0, -1.0)
    flips = rng.random(P) < label_noise
    y[flips] = -y[flips]
    X *= y[:, None]
    return wstar


def draw_field(rng: np.random.Generator, N: int) -> np.ndarray:
    """The probe field ``H``: i.i.d. +-1 entries (so ``H.H = N``)."""
    return rng.choice(np.array([-1.0, 1.0]), size=N)


@dataclass
class Trajectory:
    """Observables of one sample, averaged over its replicas, on the grid ``t_i = i dt``.

    ``energy = H(w)/N``, ``frac_unsat = #{h<0}/P``, ``nu = -w.(X^T (s v'(h)))/(sqrt(N) N)``
    (or lambda for ridge), ``norm = |w|^2/N``; ``C[k, i] = w(t_i).w(tw_k)/N`` and
    ``chi[k, i] = H.(w_pert(t_i) - w(t_i))/(N eps)`` (NaN for ``i < tw_k``);
    ``distance = (C11 + C22)/2 - C12`` at equal times (``= 1 - w1.w2/N`` on the sphere);
    ``gap_counts[g]`` histogram counts of all gaps of all replicas at ``gap_index[g]``;
    with a teacher ``w*``: ``m = w.w*/N`` and ``gen_error = arccos(m/sqrt(|w|^2/N))/pi``.
    ``diverged_at`` is the first grid index where the run diverged (non-finite weights or an
    energy that ran away, :mod:`dmft.core.divergence`; observables NaN from there), ``diverged_why``
    says which.
    """

    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    norm: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    distance: Optional[np.ndarray]
    gap_counts: np.ndarray
    diverged_at: Optional[int] = None
    m: Optional[np.ndarray] = None
    gen_error: Optional[np.ndarray] = None
    diverged_why: str = ""


def run_sample(
    params,
    X: np.ndarray,
    w0: np.ndarray,
    field: np.ndarray,
    selections: Sequence[Selection],
    noises: Sequence[Optional[np.random.Generator]],
    gap_index: Sequence[int] = (),
    gap_edges: Optional[np.ndarray] = None,
    eps: float = FIELD_EPS,
    on_step: Optional[Callable[[int], None]] = None,
    teacher: Optional[np.ndarray] = None,
) -> Trajectory:
    """Integrate one sample (data ``X``, start ``w0``) from ``t = 0`` to ``params.n_steps dt``.

    ``selections[r]`` and ``noises[r]`` (thermal noise generator, unused at T = 0) belong to
    replica ``r``; ``len(selections)`` is the number of replicas R.  ``on_step(i)`` is called
    after each step (progress bars).  ``teacher``: ``w*`` of teacher data (``X`` then holds the
    patterns ``y x``), for the overlap ``m`` and the generalisation error.
    """
    P, N = X.shape
    R = len(selections)
    tw_index = list(params.tw_index)
    K = len(tw_index)
    n = params.n_steps
    T = n + 1
    dt = params.dt
    model = Perceptron.of(params, load=P / N)
    sqrtN = math.sqrt(N)
    inv_sqrtN = 1.0 / sqrtN
    temp = params.temperature
    noise_amp = math.sqrt(2.0 * temp * dt) if temp > 0 else 0.0
    field_step = dt * eps * field

    m_total = R * (1 + K)
    W = np.empty((m_total, N))
    W[:R] = w0
    Wref = np.empty((K, R, N))
    hbuf = np.empty((m_total, P))
    fbuf = np.empty((m_total, P))
    Xt = X.T

    energy = np.full(T, np.nan)
    frac = np.full(T, np.nan)
    nu = np.full(T, np.nan)
    norm = np.full(T, np.nan)
    C = np.full((K, T), np.nan)
    chi = np.full((K, T), np.nan)
    distance = np.full(T, np.nan) if R == 2 else None
    m_t = np.full(T, np.nan) if teacher is not None else None
    eg_t = np.full(T, np.nan) if teacher is not None else None
    gap_pos = {int(i): g for g, i in enumerate(gap_index)}
    n_bins = 0 if gap_edges is None else len(gap_edges) - 1
    counts = np.zeros((len(gap_index), n_bins))
    diverged_at, why = None, None

    act = 0  # number of waiting times reached: rows W[:R(1+act)] are live
    for i in range(T):
        while act < K and tw_index[act] == i:
            W[R * (1 + act): R * (2 + act)] = W[:R]
            Wref[act] = W[:R]
            act += 1
        m = R * (1 + act)
        Wm = W[:m]
        h = hbuf[:m]
        np.matmul(Wm, Xt, out=h)
        h *= inv_sqrtN
        h -= model.delta
        dv = model.force(h)  # v'(h) of every row (the perturbed copies need it too)
        hb = h[:R]
        sq = np.array([np.dot(W[r], W[r]) for r in range(R)]) / N
        norm[i] = sq.mean()

        # selection variables s(t_i), shared by a replica and its perturbed copies
        F = fbuf[:m]
        s_list = [sel.next() for sel in selections]
        if s_list[0] is not None:
            np.multiply(dv.reshape(1 + act, R, P), np.stack(s_list)[None], out=F.reshape(1 + act, R, P))
        else:
            F[...] = dv
        obs = model.observables(hb, F[:R], dv[:R])
        why = "weights not finite" if not np.all(np.isfinite(sq)) else runaway(
            params, obs.energy, obs.energy if i == 0 else energy[0])
        if why:
            diverged_at = i
            norm[i] = np.nan
            break
        energy[i], frac[i], nu[i] = obs.energy, obs.frac_unsat, obs.nu
        if act:
            base = W[:R]
            C[:act, i] = np.einsum("rn,krn->k", base, Wref[:act]) / (N * R)
            diff = W[R:m].reshape(act, R, N) - base
            chi[:act, i] = (diff @ field).sum(axis=1) / (N * R * eps)
        if teacher is not None:
            overlap = (W[:R] @ teacher) / N
            m_t[i] = overlap.mean()
            eg_t[i] = generalisation_error(overlap, sq).mean()
        if R == 2:
            c12 = np.dot(W[0], W[1]) / N
            distance[i] = 0.5 * (sq[0] + sq[1]) - c12
        if i in gap_pos:
            counts[gap_pos[i]] = gap_counts(hb, gap_edges)
        if i == n:
            break

        G = np.matmul(F, X)  # (m x N)
        G *= dt * inv_sqrtN
        if model.ridge:
            G += (dt * model.ridge) * Wm
        Wm -= G
        if act:
            Wm[R:] += field_step
        if noise_amp:
            g = np.stack([rng.standard_normal(N) for rng in noises])
            Wm.reshape(1 + act, R, N)[...] += noise_amp * g[None]
        if model.sphere:
            rows = np.einsum("mn,mn->m", Wm, Wm)
            with np.errstate(divide="ignore", invalid="ignore"):
                Wm *= (sqrtN / np.sqrt(rows))[:, None]
        if on_step is not None:
            on_step(i)

    return Trajectory(energy, frac, nu, norm, C, chi, distance, counts, diverged_at, m_t, eg_t, why or "")
