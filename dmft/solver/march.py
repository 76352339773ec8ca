"""The causal march of the discrete-time DMFT: one forward pass, no outer iteration.

:func:`march` allocates a :class:`~dmft.solver.state.MarchState`, runs the steps of
:mod:`dmft.solver.steps` for ``k = 0 .. K`` in the order of ``docs/dmft-derivation.md``
section 7 and returns a typed :class:`MarchOutput`.  A blow-up is a result
(``status = diverged`` with a message), never an exception.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..core.methods import DMFTMethod
from ..core.status import Status
from . import steps
from .blocks import BlockHistory
from .window import FieldWindow, TrackedColumns, WeightWindow
from .response import ExactResponse, make_estimator
from .state import STREAMS, grow, history_rows, new_state


@dataclass(frozen=True)
class Histories:
    """Pattern-side histories kept for checks (``keep_histories=True``): ``U`` and ``F``
    (nr, T, n), the Gaussian inputs ``Z`` (nr T, n) and the Cholesky factor ``L``."""

    U: np.ndarray
    F: np.ndarray
    Z: np.ndarray
    L: np.ndarray


@dataclass(frozen=True)
class MarchOutput:
    """What one march computed, on the grid ``t_k = k dt`` (T points), per replica ``a``.

    ``C``, ``R``, ``M_R`` (nr, T, T), ``M_C`` (nr, nr, T, T), ``A`` (nr, T) (projection factors),
    ``C12`` (T, T) with two replicas; one-time observables (T,) averaged over replicas;
    ``hists`` gap densities by step; ``min_pivot2`` the smallest relative Cholesky pivot;
    ``m`` (nr, T) the teacher overlap of teacher data (``C`` and ``C12`` then include its
    part ``m m^T``).  Entries after a divergence are NaN.  ``frozen_at``: the time from which
    the run was frozen (no violated constraint left: every later step is the identity) and the rest
    of the grid filled with the frozen state, or None.
    """

    t: np.ndarray
    energy: np.ndarray
    frac_unsat: np.ndarray
    nu: np.ndarray
    distance: Optional[np.ndarray]
    C: np.ndarray
    R: np.ndarray
    M_C: np.ndarray
    M_R: np.ndarray
    A: np.ndarray
    C12: Optional[np.ndarray]
    hists: dict
    gap_edges: np.ndarray
    status: Status
    message: str
    wall_time_s: float
    min_pivot2: float
    histories: Optional[Histories] = None
    m: Optional[np.ndarray] = None
    frozen_at: Optional[float] = None


class March:
    """A causal march that can be continued: :meth:`run` advances it to the horizon of its
    parameters, :meth:`output` gives the :class:`MarchOutput` of the steps done, and
    :meth:`extend` moves the horizon further (a larger ``t_max``, other waiting times) without
    redoing a step.  A march made ``continuable`` draws exactly the random numbers of a single
    march to the final horizon with the same band width (``method.exact_lags`` resolved at the
    first horizon and kept), so a continued march equals a single one; ``continuable`` keeps the
    input generators and the gap histogram of every step.  ``track``: with a memory window, steps
    whose columns of ``C`` are kept as the full march has them (besides the point's waiting
    times; :class:`~dmft.solver.window.TrackedColumns`), e.g. the waiting times of later horizons.
    """

    def __init__(self, params, method: DMFTMethod = DMFTMethod(), root: np.random.SeedSequence | None = None,
                 continuable: bool = False, stream_seeds: dict | None = None, track: tuple = ()):
        response = method.estimator(params)
        if response == "exact":  # refuse an impossible grid before allocating anything
            ExactResponse.check_size(params.replicas, method.n_paths, params.n_steps + 1)
        root = np.random.SeedSequence(params.seed) if root is None else root
        if stream_seeds:
            root = _with_streams(root, stream_seeds)
        if method.exact_lags == -1:
            method = method.replace(exact_lags=method.band_at(params))
        if method.memory_window == -1:
            method = method.replace(memory_window=method.window_at(params))
        if method.response == "auto":
            method = method.replace(response=response)
        self.method = method
        self.continuable = continuable
        self.state = new_state(params, self.method, root, continuable=continuable)
        s = self.state
        self.estimator = make_estimator(self.method, s.nr, s.n, s.T, params.dt, params.alpha, s.rng_probe,
                                        history_rows(self.method))
        if self.method.memory_window:
            s.window = self.method.memory_window
            s.blocks = tuple(BlockHistory(1 + self.estimator.Y.shape[1], s.n) for _ in range(s.nr))
            s.field = FieldWindow(s.nr, s.n, self.method.chol_rtol)
            s.weight_blocks = tuple(WeightWindow(s.T) for _ in range(s.nr))
            s.tracked = TrackedColumns(s.nr, s.n, s.window, tuple(params.tw_index) + tuple(track))
            # float64: the regressors of later fields
            s.paths.OM = np.zeros((s.nr * history_rows(self.method), s.n))
        self.status, self.message = Status.OK, ""
        self.frozen_at = None
        self.wall_time_s = 0.0

    @property
    def params(self):
        return self.state.params

    def run(self, progress=None) -> "March":
        """March to the horizon of the parameters (``progress(k)`` after each step)."""
        t0 = time.perf_counter()
        state, estimator, method = self.state, self.estimator, self.method
        if self.status == Status.OK and self.frozen_at is None:
            k0 = state.k_done                         # the last step observed (-1 before the first)
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    for k in range(max(k0, 0), state.T):
                        if k > k0:
                            steps.observe(state, k)
                            state.k_done = k
                        if k == state.K:
                            break
                        if steps.frozen(state, k):
                            steps.freeze(state, k)
                            self.frozen_at = k * state.params.dt
                            break
                        if state.window:
                            steps.enter_blocks(state, k, estimator)
                        steps.memory_kernels(state, k, estimator)
                        if state.window:
                            steps.window_fields(state, k)
                        else:
                            steps.extend_cholesky(state, k, method.chol_rtol)
                        steps.step_weight_side(state, k)
                        steps.advance_paths(state, k, estimator)
                        if progress is not None:
                            progress(k)
                except steps.Diverged as exc:
                    self.status, self.message = Status.DIVERGED, str(exc)
                    _blank_after(state, state.k_done + 1)
        self.wall_time_s += time.perf_counter() - t0
        return self

    def extend(self, params) -> "March":
        """Move the horizon to that of ``params`` (the same point, a larger or equal ``t_max``);
        :meth:`run` then marches on.  A diverged march cannot be extended; a frozen one is filled."""
        if not self.continuable:
            raise ValueError("this march was not made continuable (March(..., continuable=True))")
        if self.status != Status.OK:
            raise ValueError(f"a {self.status.value} march cannot be continued")
        if params.replace(t_max=self.params.t_max, tw=self.params.tw) != self.params:
            raise ValueError("a march can only be continued at the same point (t_max and tw may change)")
        t0 = time.perf_counter()
        grow(self.state, params)
        self.estimator.grow(self.state.T)
        if self.state.tracked is not None:    # the new waiting times the march has not reached
            self.state.tracked.add(params.tw_index, max(self.state.k_done, 0))
        if self.frozen_at is not None:
            steps.freeze(self.state, int(round(self.frozen_at / params.dt)))
        self.wall_time_s += time.perf_counter() - t0
        return self

    def output(self, keep_histories: bool = False, steps: int | None = None, copy: bool = True) -> MarchOutput:
        """The :class:`MarchOutput` of the steps done (copies: the march may go on); ``steps``:
        of the first ``steps`` grid points only -- a run to that horizon (the march is causal: the
        same in distribution as a march to it, not necessarily draw for draw), copied without
        copying the rest, and without histories.  ``copy=False``: the march's own arrays, for a
        march that ends here (no second copy of the ``T^2`` kernels at the peak of memory)."""
        state, params = self.state, self.state.params
        w, obs = state.weights, state.obs
        T = state.T if steps is None else steps
        own = np.copy if copy else (lambda x: x)
        histories = None
        if keep_histories and steps is None and not state.window:   # a window keeps no full histories
            histories = Histories(U=state.paths.U, F=state.paths.F, Z=state.paths.Z, L=w.L)
        C, C12 = own(w.C[:, :T, :T]), None if w.X is None else own(w.X[:T, :T])
        m = None if w.m is None else own(w.m[:, :T])
        if m is not None:     # the full correlations: the parts along and orthogonal to the teacher
            C = C + m[:, :, None] * m[:, None, :]
            if C12 is not None:
                C12 = C12 + np.outer(m[0], m[1])
        wanted = set(params.tw_index) | {state.K}
        return MarchOutput(
            t=np.arange(T) * params.dt, energy=obs.energy[:T].copy(), frac_unsat=obs.frac_unsat[:T].copy(),
            nu=obs.nu[:T].copy(), distance=None if obs.distance is None else obs.distance[:T].copy(), C=C,
            R=own(w.R[:, :T, :T]), M_C=own(w.M_C[:, :, :T, :T]), M_R=own(w.M_R[:, :T, :T]),
            A=own(w.A[:, :T]), C12=C12, m=m,
            hists={k: h for k, h in obs.hists.items() if k in wanted and k < T}, gap_edges=obs.gap_edges,
            status=self.status, message=self.message, wall_time_s=self.wall_time_s, min_pivot2=w.min_pivot2,
            histories=histories, frozen_at=self.frozen_at,
        )


def march(params, method: DMFTMethod = DMFTMethod(), root: np.random.SeedSequence | None = None,
          progress=None, keep_histories: bool = False, stream_seeds: dict | None = None,
          track: tuple = ()) -> MarchOutput:
    """Run the causal march of ``params`` with the settings of ``method``.

    ``root``: the SeedSequence of this solve (default ``SeedSequence(params.seed)``).
    ``progress``: ``None`` or a callable ``progress(k)`` called after each step.
    ``track``: with a memory window, more steps whose columns of ``C`` are tracked (:class:`March`).
    ``stream_seeds``: debugging, ``{stream name: seed}`` replaces single random streams
    (:data:`dmft.solver.state.STREAMS`), to vary one source of noise at a time.
    """
    m = March(params, method, root, stream_seeds=stream_seeds, track=track).run(progress)
    return m.output(keep_histories, copy=False)


def _blank_after(state, last: int) -> None:
    """Observables from step ``last`` on and kernels beyond it are NaN after a divergence."""
    obs, w = state.obs, state.weights
    for arr in (obs.energy, obs.frac_unsat, obs.nu) + ((obs.distance,) if obs.distance is not None else ()):
        arr[last:] = np.nan
    w.C[:, last + 1:, :] = np.nan
    w.C[:, :, last + 1:] = np.nan
    w.R[:, last + 1:, :] = np.nan
    if w.m is not None:
        w.m[:, last + 1:] = np.nan


def _with_streams(root: np.random.SeedSequence, stream_seeds: dict):
    """A root whose ``spawn`` gives the streams of ``root`` except those named in ``stream_seeds``."""
    unknown = set(stream_seeds) - set(STREAMS)
    if unknown:
        raise ValueError(f"unknown stream(s) {sorted(unknown)}; streams are {STREAMS}")

    class Root:
        def spawn(self, count):
            children = root.spawn(count)
            return [np.random.SeedSequence(stream_seeds[name]) if name in stream_seeds else child
                    for name, child in zip(STREAMS, children)]

    return Root()
