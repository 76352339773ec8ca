"""The memory window (issue 20): memory sums over the last ``W`` steps exactly, block means before.

``dmft.solver.blocks.BlockHistory`` must hold exact means of blocks that tile the old steps, no
longer than allowed; a window at least as long as the grid must change nothing (bit for bit); a
shorter one must stay far inside the sampling noise of the full march where the memory kernel has
decayed, and must still be needed (dropping the block part is visibly wrong); a windowed march
continued to a longer horizon equals a single one; the tracked columns (waiting times) must get
the memory term of the full march and stay closer to it than untracked ones.
"""

import numpy as np
import pytest

from dmft import DMFTMethod, ParameterError, Params
from dmft.analysis.teff import fdt_curve
from dmft.solver import steps
from dmft.solver.blocks import BlockHistory
from dmft.solver.march import March, march
from dmft.solver.window import TrackedColumns

from test_solver_continue import assert_same


@pytest.mark.parametrize("age, start", [(4, 8), (1, 1)])
def test_blocks_tile_the_history_with_exact_means(age, start):
    rng = np.random.default_rng(0)
    groups, n, steps_ = 3, 5, 777
    rows = rng.standard_normal((steps_, groups, n))
    c = rng.standard_normal(steps_)
    h = BlockHistory(groups, n, age, start)
    for j in range(steps_):
        h.push(rows[j], j)
        if j in (0, 1, 63, 64, 500, steps_ - 1):
            blocks = h.blocks()
            starts = [s for s, _ in blocks]
            assert starts[0] == 0 and all(s + w == s2 for (s, w), s2 in zip(blocks, starts[1:]))
            assert blocks[-1][0] + blocks[-1][1] == j + 1
            for s, w in blocks:           # aligned, and short against its age and its start
                assert s % w == 0
                assert w == 1 or (age * w <= j + 1 - (s + w) and start * w <= s)
            assert len(blocks) <= (age + start + 2) * (np.log2(j + 1) + 2)
            for (s, w), m in zip(blocks, h.means()):
                np.testing.assert_allclose(m, rows[s:s + w].mean(axis=0), rtol=0, atol=1e-13)
            np.testing.assert_allclose(h.weights(c), [c[s:s + w].sum() for s, w in blocks], atol=1e-12)
            out = np.ones((groups, n))
            h.add_sums(c, out)
            want = 1.0 + sum(c[s:s + w].sum() * rows[s:s + w].mean(axis=0) for s, w in blocks)
            np.testing.assert_allclose(out, want, atol=1e-11)
    assert max(w for _, w in h.blocks()) > 1          # it did merge
    with pytest.raises(ValueError, match="in order"):
        h.push(rows[0], steps_ + 1)


def test_window_settings_are_checked():
    with pytest.raises(ParameterError, match="memory_window"):
        DMFTMethod(memory_window=10)                     # shorter than the automatic band (64)
    with pytest.raises(ParameterError, match="memory_window"):
        DMFTMethod(exact_lags=20, memory_window=19)
    with pytest.raises(ParameterError, match="probe response"):
        DMFTMethod(response="exact", exact_lags=0, memory_window=64)
    assert DMFTMethod(exact_lags=8, memory_window=8).memory_window == 8
    assert "memory_window" not in DMFTMethod().hashed_dict()   # files without it keep their hash


P = Params(alpha=4, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=30, tw=(6.0, 8.0, 10.0, 12.0), seed=3)


def test_a_window_as_long_as_the_grid_is_the_full_march():
    """No blocks: the regression of the fields on all earlier ones is the Cholesky draw of the full
    march, the same innovations giving the same fields to round-off (with more paths than steps,
    so that no field is spanned by the earlier ones: a spanned one gets an innovation of
    ``chol_rtol`` of its variance instead of none)."""
    full = march(P, DMFTMethod(n_paths=512, exact_lags=8, response="probe"))
    win = march(P, DMFTMethod(n_paths=512, exact_lags=8, memory_window=P.n_steps))
    for name in ("energy", "C", "R", "M_C", "M_R"):
        np.testing.assert_allclose(getattr(win, name), getattr(full, name), rtol=1e-7, atol=1e-9, err_msg=name)


def _x_chi(method, seed):
    r = __import__("dmft").solve(P.replace(seed=seed), method=method.replace(replicates=1))
    c = fdt_curve(r, tw="window")
    return np.concatenate([c.x, c.chi, [r.energy[-1]]])


def _z(method, window, seeds=range(1, 7)):
    """Mean over seeds of windowed minus full, over its standard error, per number."""
    d = np.array([_x_chi(method.replace(memory_window=window), s) - _x_chi(method, s) for s in seeds])
    return d.mean(axis=0) / (d.std(axis=0, ddof=1) / np.sqrt(len(d)) + 1e-300)


def test_a_short_window_has_no_visible_bias_and_its_blocks_matter(monkeypatch):
    """At the canonical point to t = 30 with a window of 5 time units: x(s), chi(s) (every lag)
    and the energy of the windowed march differ from the full one at the same seeds by no more
    than the sampling noise of that difference (z over 6 seeds: a Student t with 5 degrees of
    freedom, whose mean |z| is 0.95 without bias: below 1.5 on average over the ~380 numbers,
    none beyond 6); without the block part of the memory sums (old memory dropped) the mean |z|
    exceeds 10.  (One path count: the windowed and the full march at the same seeds.)"""
    method = DMFTMethod(n_paths=1024, exact_lags=8, extrapolation_paths=0)
    z = np.abs(_z(method, 50))
    assert np.mean(z) < 1.5 and np.max(z) < 6
    monkeypatch.setattr(steps, "_add_block_sums", lambda *args: None)
    assert np.mean(np.abs(_z(method, 50, seeds=range(1, 4)))) > 10


def test_a_windowed_march_continues_bit_for_bit():
    """The later waiting times are tracked from the start (as ``dmft measure`` does), so that
    their columns are those of the single march."""
    method = DMFTMethod(n_paths=256, exact_lags=8, memory_window=20)
    c = March(P.replace(t_max=5, tw=(4.0,)), method, continuable=True, track=P.tw_index).run()
    c.extend(P.replace(t_max=12, tw=(4.0,))).run()
    c.extend(P).run()
    single = March(P, method, track=(40,)).run()          # the first horizon's waiting time too
    assert_same(single.output(), c.output())


def test_the_history_buffers_change_nothing(monkeypatch):
    """In a window the histories are buffers of 2 W + 2 steps that slide: with buffers as long as
    the grid (never sliding) the march is the same, bit for bit, for one and two replicas."""
    import importlib

    march_module = importlib.import_module("dmft.solver.march")
    state_module = importlib.import_module("dmft.solver.state")
    for p in (P, P.replace(alpha=0.5, replicas=2, t_max=20)):
        method = DMFTMethod(n_paths=256, exact_lags=8, memory_window=20)
        sliding = march(p, method)
        monkeypatch.setattr(state_module, "history_rows", lambda m: p.n_steps + 1)
        monkeypatch.setattr(march_module, "history_rows", lambda m: p.n_steps + 1)
        assert_same(sliding, march(p, method))
        monkeypatch.undo()


def test_tracked_columns_give_the_memory_term_of_the_full_march():
    """``D(j) = -dt sum_{l<j} R(j, l) M_C(k, l)`` of a tracked column from ``rho_p(j)`` (the
    forces of the ``W`` steps before ``j``, kept when the march was at ``j``) and the row
    ``M_C(k, .)`` before them equals the sum over the exact empirical ``M_C(k, l) = alpha/n
    sum_p f_p(k) f_p(l)`` on the steps ``[j - W, j)`` to round-off, whatever the row holds there
    (block means in a window), and the row before them."""
    rng = np.random.default_rng(1)
    nr, n, T, W, alpha, dt = 2, 64, 40, 6, 3.0, 0.1
    F = rng.standard_normal((nr, T, n))
    R = np.tril(rng.standard_normal((nr, T, T)), -1)
    tracked = TrackedColumns(nr, n, W, steps=(4, 20, 33))
    for k in range(T):
        tracked.capture(k, R, F, 0)
    k = T - 1
    for a in range(nr):
        exact = alpha / n * F[a] @ F[a, k]                     # M_C(k, l), every l
        row = exact.copy()
        row[10:30] = row[10:30].mean()                       # a block mean over the steps of 20 and 33
        cols, d = tracked.memory_terms(a, k, R[a], row, F[a, k], alpha / n, dt)
        assert list(cols) == [4, 20, 33]
        want = [-dt * (R[a, j, :j - W] @ row[:j - W] + R[a, j, j - W:j] @ exact[j - W:j]) if j > W
                else -dt * R[a, j, :j] @ exact[:j] for j in cols]
        np.testing.assert_allclose(d, want, rtol=1e-12, atol=1e-14)
        assert abs(-dt * R[a, 20, :20] @ row[:20] - want[1]) > 1e-3   # the block mean alone is not it


def test_tracked_columns_follow_the_full_march_closer(monkeypatch):
    """At the canonical point to t = 30 with a window of 3 time units, the far ``C(tw + s, tw)``
    (lags beyond 10, every waiting time) of the windowed march departs from the full march at the
    same seed by less than half as much with the waiting times tracked as without (the block mean
    of the white selection noise in ``M_C(k, l)`` just before ``tw``)."""
    method = DMFTMethod(n_paths=1024, exact_lags=8, replicates=1, extrapolation_paths=0)
    solve = __import__("dmft").solve

    p = P.replace(tw=(9.0, 10.5, 12.0, 13.5))

    def far(m, seed):
        r = solve(p.replace(seed=seed), method=m)
        return np.concatenate([r.C[i, p.tw_index[i] + 100:] for i in range(len(p.tw))])

    full = [far(method, s) for s in (1, 2, 3)]
    tracked = [far(method.replace(memory_window=30), s) for s in (1, 2, 3)]
    monkeypatch.setattr(TrackedColumns, "memory_terms", lambda self, *a, **k: (np.zeros(0, np.int64), np.zeros(0)))
    untracked = [far(method.replace(memory_window=30), s) for s in (1, 2, 3)]
    dev_t = np.sqrt(np.mean([np.mean((t - f) ** 2) for t, f in zip(tracked, full)]))
    dev_u = np.sqrt(np.mean([np.mean((u - f) ** 2) for u, f in zip(untracked, full)]))
    assert dev_t < 0.5 * dev_u, (dev_t, dev_u)


def _regressor_gram_error(m) -> float:
    """Largest entry of (Gram of the regressors, from their vectors) - R^T R, relative to the
    largest entry of the Gram, for the field regressors of a finished windowed march ``m``."""
    s = m.state
    f, nr = s.field, s.nr
    V = np.array([s.paths.OM[nr * (f.rj[i] - s.base) + f.rb[i]] if f.rlen[i] == 0
                  else f.blocks.store[f.slot_of[(f.rj[i], f.rlen[i])], f.rb[i]] for i in range(f.d)])
    G = V @ V.T / s.n
    return float(np.abs(G - f.R[:f.d, :f.d].T @ f.R[:f.d, :f.d]).max() / np.abs(G).max())


@pytest.mark.parametrize("replicas", [1, 2])
def test_fields_beyond_an_epoch_of_the_inputs_keep_their_covariances(monkeypatch, replicas):
    """A windowed march may run for more steps than there are paths; the innovations of a later
    epoch of the inputs (``n - 2`` orthonormal vectors each) are then made orthogonal to the
    regressors, so that every field keeps exactly its target covariances: the Gram matrix of the
    regressors that the factor holds stays that of their vectors (to the float32 rounding of the
    stored blocks), where unprojected innovations break it at the percent level."""
    p = P.replace(alpha=3.0, t_max=60.0, tw=(10.0,), replicas=replicas)      # 600 steps, 256 paths
    method = DMFTMethod(n_paths=256, exact_lags=8, memory_window=20, extrapolation_paths=0)
    m = March(p, method).run()
    assert replicas * p.n_steps > m.state.input_epoch          # past the first epoch
    assert _regressor_gram_error(m) < 1e-6
    from dmft.solver.window import FieldWindow
    monkeypatch.setattr(FieldWindow, "_orthogonal", lambda self, z, OM, base, parts: z)
    assert _regressor_gram_error(March(p, method).run()) > 1e-3


def test_the_automatic_window_follows_the_horizon():
    """``memory_window = -1`` (the default): the full memory up to ``t = 200`` at ``dt = 0.1``,
    a window of 20 time units beyond; none with two replicas or a response that cannot take one.
    Where it gives no window the point hash is that of the full memory (files keep their hash);
    where it gives one, that of the explicit window of that width."""
    from dmft.core.methods import point_hash

    short, long = Params(t_max=200.0), Params(t_max=200.1)
    m = DMFTMethod()
    assert m.memory_window == -1 and m.window_at(short) == 0 and m.window_at(long) == 200
    assert m.window_at(long.replace(dt=0.05, t_max=200.0)) == 0 and m.window_at(long.replace(dt=0.05)) == 400
    assert m.window_at(long.replace(alpha=0.5, replicas=2)) == 0
    assert DMFTMethod(response="blocks").window_at(long) == 0
    assert DMFTMethod(memory_window=0).window_at(long) == 0 and DMFTMethod(memory_window=100).window_at(short) == 100
    assert m.estimator(short) == "blocks" and m.estimator(long) == "probe"
    assert point_hash(short, m) == point_hash(short, DMFTMethod(memory_window=0))
    assert point_hash(long, m) == point_hash(long, DMFTMethod(memory_window=200))
    assert point_hash(long, m) != point_hash(long, DMFTMethod(memory_window=0))
    assert m.companion(long) == 1024 and m.represented(long) == 200 + 153   # W + blocks, not the steps
    assert DMFTMethod(n_paths=512).window_at(long) == 0    # fewer paths than twice a field's regressors
    with pytest.raises(ParameterError, match="memory_window"):
        DMFTMethod(memory_window=-2)


def test_an_automatic_window_is_the_explicit_one(monkeypatch):
    """A solve with the default method beyond the automatic threshold (made small here) is the
    solve with the explicit window of that width, bit for bit, and a measurement's repetitions made
    without a window are not continued into it (they are made anew)."""
    from dmft.app.repetitions import Repetitions
    from dmft.core import methods

    monkeypatch.setattr(methods, "AUTO_WINDOW_STEPS", 20)
    monkeypatch.setattr(methods, "AUTO_WINDOW_TIME", 2.0)      # W = 20 steps from 200 steps on
    method = DMFTMethod(n_paths=512, exact_lags=8, replicates=1, extrapolation_paths=0)
    p = P.replace(t_max=25.0, tw=(10.0,))
    assert method.window_at(p) == 20 and method.window_at(p.replace(t_max=20.0)) == 0
    solve = __import__("dmft").solve
    assert_same(March(p, method).run().output(), March(p, method.replace(memory_window=20)).run().output())
    auto, explicit = solve(p, method), solve(p, method.replace(memory_window=20))
    np.testing.assert_array_equal(auto.C, explicit.C)
    assert auto.meta["window_steps"] == 20 and "Not in the errors" in auto.meta["window_bias"]
    extrapolated = solve(p, method.replace(extrapolation_paths=-1, replicates=2))   # a windowed companion
    assert extrapolated.meta["companion_paths"] == method.represented(p) == 131 and extrapolated.status.value == "ok"
    assert "Removed with the finite-n_paths bias" in extrapolated.meta["window_bias"]
    assert "window_steps" not in solve(p.replace(t_max=20.0), method).meta
    reps = Repetitions(p.replace(t_max=15.0), method, continuable=1)
    reps.add(1, deadline=float("inf"))
    assert reps.can_extend(p.replace(t_max=20.0)) and not reps.can_extend(p)
