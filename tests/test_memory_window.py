"""The memory window (issue 20): memory sums over the last ``W`` steps exactly, block means before.

``dmft.solver.blocks.BlockHistory`` must hold exact means of blocks that tile the old steps, no
longer than allowed; a window at least as long as the grid must change nothing (bit for bit); a
shorter one must stay far inside the sampling noise of the full march where the memory kernel has
decayed, and must still be needed (dropping the block part is visibly wrong); a windowed march
continued to a longer horizon equals a single one.
"""

import numpy as np
import pytest

from dmft import DMFTMethod, ParameterError, Params
from dmft.analysis.teff import fdt_curve
from dmft.solver import steps
from dmft.solver.blocks import BlockHistory
from dmft.solver.march import March, march

from test_solver_continue import assert_same


@pytest.mark.parametrize("per_level", [2, 4])
def test_blocks_tile_the_history_with_exact_means(per_level):
    rng = np.random.default_rng(0)
    groups, n, steps_ = 3, 5, 777
    rows = rng.standard_normal((steps_, groups, n))
    c = rng.standard_normal(steps_)
    h = BlockHistory(groups, n, per_level)
    for j in range(steps_):
        h.push(rows[j], j)
        if j in (0, 1, 63, 64, 500, steps_ - 1):
            blocks = h.blocks()
            starts = [s for s, _ in blocks]
            lengths = [w for _, w in blocks]
            assert starts[0] == 0 and all(s + w == s2 for (s, w), s2 in zip(blocks, starts[1:]))
            assert starts[-1] + lengths[-1] == j + 1
            assert all(a >= b for a, b in zip(lengths, lengths[1:]))           # older: not shorter
            assert max(lengths.count(w) for w in set(lengths)) <= per_level
            assert len(blocks) <= per_level * (np.log2(j + 1) + 1)
            for (s, w), m in zip(blocks, h.means()):
                np.testing.assert_allclose(m, rows[s:s + w].mean(axis=0), rtol=0, atol=1e-13)
            np.testing.assert_allclose(h.weights(c), [c[s:s + w].sum() for s, w in blocks], atol=1e-12)
            out = np.ones((groups, n))
            h.add_sums(c, out)
            want = 1.0 + sum(c[s:s + w].sum() * rows[s:s + w].mean(axis=0) for s, w in blocks)
            np.testing.assert_allclose(out, want, atol=1e-11)
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


def test_a_window_as_long_as_the_grid_changes_nothing():
    full = march(P, DMFTMethod(n_paths=256, exact_lags=8))
    assert_same(full, march(P, DMFTMethod(n_paths=256, exact_lags=8, memory_window=P.n_steps)))


def _x_chi(method, seed):
    r = __import__("dmft").solve(P.replace(seed=seed), method=method.replace(replicates=1))
    c = fdt_curve(r, tw="window")
    return np.concatenate([c.x, c.chi])


def test_a_short_window_stays_inside_the_noise_and_its_blocks_matter(monkeypatch):
    """At the canonical point to t = 30 with a window of 2 time units (band 8 steps): the windowed
    x(s) and chi(s) differ from the full march at the same seed by less than a tenth of the
    difference between two seeds (the sampling noise); without the block part (old memory
    dropped) they differ by more than that -- so the blocks are what keeps the window right."""
    method = DMFTMethod(n_paths=1024, exact_lags=8)
    full = _x_chi(method, 1)
    noise = np.abs(_x_chi(method, 2) - full)
    windowed = np.abs(_x_chi(method.replace(memory_window=20), 1) - full)
    assert np.mean(windowed) < 0.1 * np.mean(noise)
    monkeypatch.setattr(steps, "_add_block_sums", lambda *args: None)
    dropped = np.abs(_x_chi(method.replace(memory_window=20), 1) - full)
    assert np.mean(dropped) > np.mean(noise)


def test_a_windowed_march_continues_bit_for_bit():
    method = DMFTMethod(n_paths=256, exact_lags=8, memory_window=20)
    c = March(P.replace(t_max=5, tw=(4.0,)), method, continuable=True).run()
    c.extend(P.replace(t_max=12, tw=(4.0,))).run()
    c.extend(P).run()
    assert_same(march(P, method), c.output())
