"""The state of the causal march: weight-side kernels, pattern-side paths, observables.

Notation of ``docs/dmft-derivation.md``: step ``k = 0 .. K-1``, ``K = params.n_steps``, grid of
``T = K + 1`` times; ``nr`` replicas (1 or 2), ``n`` paths.  Everything is allocated once by
:func:`new_state`; the step functions of :mod:`dmft.solver.steps` fill it in place, one time
index at a time, so that at step ``k`` rows ``<= k`` are final and rows ``> k`` untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..core.model import Perceptron, gap_edges
from ..core.selection import make_selection
from .inputs import GaussianInputs, orthogonal_to, stratified_normal, teacher_variables

#: Names of the random streams of one solve, in ``SeedSequence.spawn`` order (derivation §8).
STREAMS = ("init", "selection", "omega", "thermal", "probe", "teacher")


@dataclass
class WeightSide:
    """Deterministic kernels of the single-weight process, per replica ``a`` (derivation §2, §5).

    ``C[a]``, ``R[a]``, ``M_R[a]``: (T, T) correlation, response and response kernel of replica
    ``a``; ``M_C[a, b]``: (T, T) rows ``M_C^{ab}(k, j) = alpha E[f^a(k) f^b(j)]`` (j <= k);
    ``X``: cross-correlation ``E[w^1(k) w^2(j)]`` (two replicas); ``L``: joint lower Cholesky
    factor of ``M_C`` in the interleaved order ``omega^1(0), omega^2(0), omega^1(1), ...``;
    ``A[a, k]``: projection factors; ``c[a]``: memory coefficients ``c_m`` of the current step.

    Teacher data (derivation §9): ``m[a, k]`` is the teacher overlap ``w.w*/N``, and ``C``, ``X``
    hold the correlations of the weight component orthogonal to the teacher,
    ``C - m m^T`` and ``X - m^1 (m^2)^T`` (the full ones are assembled at the end).
    """

    C: np.ndarray
    R: np.ndarray
    M_R: np.ndarray
    M_C: np.ndarray
    X: Optional[np.ndarray]
    L: np.ndarray
    A: np.ndarray
    c: np.ndarray
    D_buf: np.ndarray
    G_buf: np.ndarray
    chol_row: np.ndarray
    min_pivot2: float = np.inf
    m: Optional[np.ndarray] = None


@dataclass
class Paths:
    """The pattern side: ``n`` sampled paths per replica (derivation §3).

    Histories are time-major (``U[a, m, p]``), in ``history_dtype``: ``U`` fields ``u``, ``F``
    forces ``f = s v'(u - Delta)``, ``Z`` the Gaussian innovations of the Cholesky draw (row
    ``nr k + a`` for ``omega^a(k)``), ``ETA`` thermal noise (``T > 0``).  ``u``, ``f``, ``a``
    (``s v''``), ``omega`` and ``mem_u`` (``sum_m c_m u(m)``) are those of the current step.
    Teacher data: ``t`` (n,) the teacher variable ``t_p = y_p v_p`` of each path, and ``u`` is the
    part of the field orthogonal to the teacher: the field is ``m(k) t_p + u_p(k)``.
    """

    U: np.ndarray
    F: np.ndarray
    Z: np.ndarray
    ETA: Optional[np.ndarray]
    u: np.ndarray
    f: np.ndarray
    a: np.ndarray
    omega: np.ndarray
    mem_u: np.ndarray
    selections: list
    t: Optional[np.ndarray] = None
    #: the fields drawn, rows ``nr k + a`` (a march with a memory window only)
    OM: Optional[np.ndarray] = None


@dataclass
class Observables:
    """One-time observables on the grid and gap histograms at chosen steps."""

    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    distance: Optional[np.ndarray]
    gap_edges: np.ndarray
    hist_steps: tuple
    hists: dict = field(default_factory=dict)


@dataclass
class MarchState:
    """Everything the march carries from one step to the next."""

    params: object
    model: Perceptron
    n: int
    nr: int
    K: int
    weights: WeightSide
    paths: Paths
    obs: Observables
    rng_probe: np.random.Generator
    k_done: int = -1
    #: the generators of the Gaussian inputs (omega, thermal), kept when the march may be continued
    inputs: tuple = ()
    #: the innovations ``Z`` are orthonormal within epochs of this many vectors (inputs.py); with
    #: i.i.d. inputs there are no epochs
    input_epoch: float = math.inf
    #: memory window ``W`` of the memory sums (0: every earlier step) and, with one, the block
    #: means of the older steps of ``u`` and of the probe copies, one
    #: :class:`~dmft.solver.blocks.BlockHistory` per replica
    window: int = 0
    #: in a memory window the histories ``U``, ``F``, ``OM`` and the copies' are buffers of
    #: :func:`history_rows` steps from step ``base`` on (:func:`slide`)
    base: int = 0
    blocks: tuple = ()
    #: the regressors of the fields in a memory window (:class:`~dmft.solver.window.FieldWindow`)
    field: object = None
    #: the block averages of the weight side, one :class:`~dmft.solver.window.WeightWindow` per replica
    weight_blocks: tuple = ()
    #: the columns of ``C`` (waiting times) whose memory term keeps the exact ``M_C`` of the steps
    #: before them in a memory window (:class:`~dmft.solver.window.TrackedColumns`)
    tracked: object = None

    @property
    def T(self) -> int:
        return self.K + 1

    @property
    def dt(self) -> float:
        return self.params.dt


def streams(root: np.random.SeedSequence) -> dict:
    """Generators of one solve, spawned from ``root``; the second replica's selection stream is a
    child of the first one's, so replica 0 sees the same streams with one or two replicas."""
    children = dict(zip(STREAMS, root.spawn(len(STREAMS))))
    gens = {name: np.random.default_rng(children[name]) for name in STREAMS}
    gens["selection_1"] = np.random.default_rng(children["selection"].spawn(1)[0])
    return gens


def new_state(params, method, root: np.random.SeedSequence, continuable: bool = False) -> MarchState:
    """Allocate the march for ``params`` with the settings of ``method`` (a DMFTMethod), drawing
    the initial fields and every Gaussian input from the streams of ``root``.  ``continuable``:
    keep the input generators, so that :func:`grow` can extend the march to a longer horizon."""
    p = params
    nr, n, K = int(p.replicas), int(method.n_paths), p.n_steps
    T = K + 1
    hd = np.dtype(method.history_dtype)
    rng = streams(root)

    weights = WeightSide(
        C=np.zeros((nr, T, T)), R=np.zeros((nr, T, T)), M_R=np.zeros((nr, T, T)),
        M_C=np.zeros((nr, nr, T, T)), X=np.zeros((T, T)) if nr == 2 else None,
        # no Cholesky factor in a memory window (the fields are drawn by regression)
        L=np.zeros((0, 0) if method.memory_window else (nr * T, nr * T)), A=np.full((nr, T), np.nan),
        c=np.zeros((nr, T)),
        D_buf=np.zeros(T), G_buf=np.zeros(T), chol_row=np.zeros(nr * T),
    )
    weights.C[:, 0, 0] = 1.0
    if weights.X is not None:
        weights.X[0, 0] = 1.0

    orth = method.orthogonal_inputs
    u0 = stratified_normal(rng["init"], n) if orth else rng["init"].standard_normal(n)
    t = None
    if p.teacher:  # t_p from its own stream (the other streams are those of random data)
        t = teacher_variables(rng["teacher"], n, p.label_noise, exact=orth)
        if orth:
            u0 = orthogonal_to(u0, t)
    Z = np.zeros((nr * T, n), hd)
    # all Gaussian inputs are drawn before the march (rows of Z; ETA for temperature > 0)
    base = u0 if t is None else (u0, t)
    omega_inputs = GaussianInputs(rng["omega"], n, nr * K, base=base, orthogonal=orth)
    omega_inputs.generate(nr * K, out=Z[:nr * K], keep=continuable)
    thermal_inputs = GaussianInputs(rng["thermal"], n, nr * K, base=t, orthogonal=orth) if p.temperature > 0 else None
    ETA = thermal_inputs.generate(nr * K, keep=continuable) if thermal_inputs is not None else None
    selection_rngs = [rng["selection"], rng["selection_1"]][:nr]
    rows = history_rows(method)
    paths = Paths(
        U=np.zeros((nr, rows or T, n), hd), F=np.zeros((nr, rows or T, n), hd), Z=Z, ETA=ETA,
        u=np.array([u0] * nr), f=np.zeros((nr, n)), a=np.zeros((nr, n)), omega=np.zeros((nr, n)),
        mem_u=np.zeros((nr, n)),
        selections=[make_selection(p, n, selection_rngs[a]) for a in range(nr)], t=t,
    )
    if p.teacher:
        weights.m = np.full((nr, T), np.nan)
        weights.m[:, 0] = 0.0   # w(0) is independent of the teacher
    obs = Observables(
        energy=np.full(T, np.nan), frac_unsat=np.full(T, np.nan), nu=np.full(T, np.nan),
        distance=np.full(T, np.nan) if nr == 2 else None, gap_edges=gap_edges(p.delta),
        # a continued march may be asked for the gaps at any earlier step: it keeps them all
        hist_steps=tuple(range(T)) if continuable else tuple(sorted(set(p.tw_index) | {K})),
    )
    return MarchState(params=p, model=Perceptron.of(p), n=n, nr=nr, K=K, weights=weights,
                      paths=paths, obs=obs, rng_probe=rng["probe"],
                      inputs=(omega_inputs, thermal_inputs) if continuable else (),
                      input_epoch=omega_inputs.max_epoch if orth else math.inf)


def history_rows(method) -> int:
    """Steps held by the history buffers of a march with a memory window ``W`` (0: none, every
    step is kept): ``2 W + 2``, so that :func:`slide` moves ``W`` rows every ``W`` steps."""
    return 2 * method.memory_window + 2 if method.memory_window else 0


def slide(state: MarchState, estimator, k: int, first: int) -> None:
    """Make room for step ``k`` in the history buffers of a memory window: when it would not fit,
    the steps ``first .. k - 1`` (those still to be read) move to the front and ``base = first``."""
    rows = state.paths.U.shape[1]
    if k - state.base < rows:
        return
    if k - first >= rows:
        raise ValueError(f"the history buffer of {rows} steps cannot hold the steps {first} .. {k}")
    old, keep, nr = first - state.base, k - first, state.nr
    paths = state.paths
    paths.U[:, :keep] = paths.U[:, old:old + keep]
    paths.F[:, :keep] = paths.F[:, old:old + keep]
    paths.OM[:nr * keep] = paths.OM[nr * old:nr * (old + keep)]
    estimator.Y[:, :, :keep] = estimator.Y[:, :, old:old + keep]
    state.base = estimator.base = first


def _grown(a: np.ndarray, shape: tuple, fill: float = 0.0) -> np.ndarray:
    """``a`` copied into the leading corner of a new array of ``shape`` (the rest ``fill``)."""
    out = np.full(shape, fill, a.dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def grow(state: MarchState, params) -> None:
    """Extend ``state`` (made ``continuable``) to the horizon of ``params`` (the same point with a
    larger ``t_max``, other waiting times): every array on the time grid is enlarged, the steps
    already done kept, and the Gaussian inputs of the new steps drawn from the kept generators,
    exactly as a single march to that horizon draws them."""
    if not state.inputs:
        raise ValueError("this march was not made continuable")
    K_new = params.n_steps
    if K_new < state.K:
        raise ValueError(f"cannot shorten a march (from {state.K} to {K_new} steps)")
    nr, n, K = state.nr, state.n, state.K
    T = K_new + 1
    w, paths, obs = state.weights, state.paths, state.obs
    w.C, w.R, w.M_R = (_grown(x, (nr, T, T)) for x in (w.C, w.R, w.M_R))
    w.M_C = _grown(w.M_C, (nr, nr, T, T))
    w.X = None if w.X is None else _grown(w.X, (T, T))
    if w.L.size:
        w.L = _grown(w.L, (nr * T, nr * T))
    w.A = _grown(w.A, (nr, T), np.nan)
    w.c, w.D_buf, w.G_buf = np.zeros((nr, T)), np.zeros(T), np.zeros(T)
    w.chol_row = np.zeros(nr * T)
    if w.m is not None:
        w.m = _grown(w.m, (nr, T), np.nan)
    if not state.window:      # in a memory window the histories are buffers: nothing to grow
        paths.U, paths.F = (_grown(x, (nr, T, n)) for x in (paths.U, paths.F))
    Z = _grown(paths.Z, (nr * T, n))
    state.inputs[0].generate(nr * (K_new - K), out=Z[nr * K:nr * K_new], keep=True)
    paths.Z = Z
    if paths.ETA is not None:
        paths.ETA = np.concatenate([paths.ETA, state.inputs[1].generate(nr * (K_new - K), keep=True)])
    for name in ("energy", "frac_unsat", "nu") + (("distance",) if obs.distance is not None else ()):
        setattr(obs, name, _grown(getattr(obs, name), (T,), np.nan))
    obs.hist_steps = tuple(range(T))
    state.params, state.K = params, K_new

