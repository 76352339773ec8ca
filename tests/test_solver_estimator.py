"""The probe estimator of M_R against the exact per-path response (small T)."""

import numpy as np
import pytest

from dmft import DMFTMethod, Params
from dmft.core.methods import point_hash
from dmft.solver.march import march


def _rel_err(MR, MRx):
    T = MR.shape[0]
    mask = np.tril(np.ones((T, T), bool), -1)
    return np.sqrt(np.mean((MR - MRx)[mask] ** 2) / np.mean(MRx[mask] ** 2))


def test_probe_estimator_exact_for_square_loss():
    """a = s v'' = 1 on every path: the orthogonal (Walsh-Hadamard) probes recover M_R exactly."""
    p = Params(alpha=3.0, delta=0.5, loss="square", dynamics="gd", dt=0.1, t_max=4.0,
               seed=4)
    m = DMFTMethod(n_paths=256, n_probes=1, history_dtype="float64", exact_lags=0)
    o = march(p, m)
    ox = march(p, m.replace(response="exact"))
    np.testing.assert_allclose(o.M_R[0], ox.M_R[0], atol=1e-10)
    np.testing.assert_allclose(o.energy, ox.energy, rtol=1e-9)


@pytest.mark.parametrize("dynamics,tol_mr", [("gd", 0.12), ("sgd", 0.3)])
def test_probe_estimator_vs_exact_response(dynamics, tol_mr):
    """Same process (same streams), M_R from 4 probes per path vs the exact per-path response."""
    p = Params(alpha=3.0, delta=0.0, dynamics=dynamics, b=0.5, dt=0.1, t_max=4.0,
               seed=1)
    m = DMFTMethod(n_paths=2048, n_probes=4, history_dtype="float64", exact_lags=0)
    o = march(p, m)
    ox = march(p, m.replace(response="exact"))
    err = _rel_err(o.M_R[0], ox.M_R[0])
    assert err < tol_mr, err
    # the observables barely notice the estimator noise
    np.testing.assert_allclose(o.energy, ox.energy, rtol=0.02)
    np.testing.assert_allclose(o.C[0], ox.C[0], atol=0.01)


def test_exact_response_with_two_replicas():
    """Both estimators serve two replicas: for the square loss under Langevin dynamics (a = 1 on
    every path, replicas apart through their thermal noise) the probes are exact, so the two
    agree to round-off in each replica's M_R and in the replica overlap; with sgd the exact
    response keeps b = 1 replicas identical (distance 0) and separates b < 1 ones."""
    p = Params(alpha=3.0, delta=0.5, loss="square", dynamics="langevin", temperature=0.3, dt=0.1,
               t_max=3.0, replicas=2, seed=2)
    m = DMFTMethod(n_paths=256, n_probes=1, history_dtype="float64", exact_lags=0)
    o, ox = march(p, m), march(p, m.replace(response="exact"))
    np.testing.assert_allclose(o.M_R, ox.M_R, atol=1e-10)
    np.testing.assert_allclose(o.C12, ox.C12, atol=1e-10)
    assert o.distance[-1] > 1e-2
    hinge = Params(alpha=3.0, dynamics="sgd", b=1.0, dt=0.1, t_max=3.0, replicas=2, seed=2)
    assert np.max(np.abs(march(hinge, m.replace(response="exact")).distance)) < 1e-10
    sep = march(hinge.replace(b=0.5), m.replace(response="exact"))
    assert sep.status == "ok" and sep.distance[-1] > 1e-3


def test_exact_response_refuses_large_grids_clearly():
    p = Params(alpha=3.0, dt=0.1, t_max=100.0)
    with pytest.raises(ValueError, match="exact.*GB"):
        march(p, DMFTMethod(n_paths=16384, response="exact"))


@pytest.mark.parametrize("replicas", [1, 2])
def test_band_covering_the_grid_is_the_exact_response(replicas):
    """exact_lags >= K: every entry of M_R comes from the exact per-path band, so the march is the
    one of response='exact' to round-off (one and two replicas)."""
    p = Params(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=3.0, replicas=replicas, seed=3)
    m = DMFTMethod(n_paths=512, n_probes=2, history_dtype="float64")
    ox, ob = march(p, m.replace(response="exact")), march(p, m.replace(exact_lags=p.n_steps))
    np.testing.assert_allclose(ob.M_R, ox.M_R, atol=1e-12)
    np.testing.assert_allclose(ob.C, ox.C, atol=1e-12)
    if replicas == 2:
        np.testing.assert_allclose(ob.distance, ox.distance, atol=1e-12)


def test_band_with_probes_beyond_is_exact_for_square_loss():
    """a = 1 on every path: the band part is exact and the band-subtracted probes beyond it recover
    the far entries exactly (a wrong band index or probe ring would break this)."""
    p = Params(alpha=3.0, delta=0.5, loss="square", dynamics="langevin", temperature=0.3, dt=0.1,
               t_max=4.0, replicas=2, seed=4)
    m = DMFTMethod(n_paths=256, n_probes=1, history_dtype="float64", response="probe")
    ox, ob = march(p, m.replace(response="exact")), march(p, m.replace(exact_lags=7))
    np.testing.assert_allclose(ob.M_R, ox.M_R, atol=1e-12)
    np.testing.assert_allclose(ob.C12, ox.C12, atol=1e-12)


def test_band_cuts_the_probe_error():
    """sgd (a differs between paths): the error of M_R against the exact response shrinks as the
    exact band widens (measured 0.143, 0.094, 0.064, 0.030 for L = 0, 4, 8, 16)."""
    p = Params(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=4.0, seed=1)
    m = DMFTMethod(n_paths=2048, n_probes=4, history_dtype="float64", response="probe")
    MRx = march(p, m.replace(response="exact")).M_R[0]
    errs = [_rel_err(march(p, m.replace(exact_lags=L)).M_R[0], MRx) for L in (0, 8, 16)]
    assert errs[0] > 1.5 * errs[1] > 2.0 * errs[2], errs


def test_band_needs_the_y_signal():
    with pytest.raises(ValueError, match="exact_lags"):
        DMFTMethod(exact_lags=4, probe_signal="dr")


def test_automatic_band_width():
    """exact_lags = -1 (default): min(K // 8, max(64, 6.4 / dt)) -- 64 steps at dt >= 0.1, the same
    6.4 time units at a finer dt -- at most the memory window, none with the 'dr' signal; explicit
    widths kept."""
    m = DMFTMethod()
    assert m.band(100, 0.1) == 12 and m.band(500, 0.1) == 62 and m.band(1500, 0.1) == 64
    assert m.band(1500, 0.2) == 64 and m.band(400, 0.2) == 50
    assert m.band(1600, 0.025) == 200 and m.band(5000, 0.025) == 256 and m.band(800, 0.05) == 100
    assert m.band(5000, 0.05) == 128 and DMFTMethod(memory_window=100).band(5000, 0.05) == 100
    assert DMFTMethod(probe_signal="dr").band(1500, 0.1) == 0
    assert DMFTMethod(exact_lags=0).band(1500, 0.01) == 0 and DMFTMethod(exact_lags=7).band(20, 0.01) == 7


def test_the_band_enters_the_hash_only_where_it_follows_dt():
    """Files written when the automatic band was min(64, K // 8) keep their hash where the band is
    the same (every dt >= 0.1); where it now follows dt the hash changes with it.  (Those files
    were not extrapolated in n_paths: extrapolation_paths = 0, left out of the hash.)"""
    m = DMFTMethod(response="probe", extrapolation_paths=0)
    for dt, t_max in ((0.1, 125.0), (0.2, 80.0), (0.1, 40.0), (0.05, 4.0)):
        p = Params(alpha=0.5, delta=0.5, dt=dt, t_max=t_max)
        assert m.hash_additions(p) == {}
    fine = Params(alpha=0.5, delta=0.5, dt=0.025, t_max=40.0)
    assert m.hash_additions(fine) == {"auto_band": 200}
    assert point_hash(fine, m) != point_hash(fine, m.replace(exact_lags=64))
    assert m.replace(exact_lags=64).hash_additions(fine) == {}
    assert m.replace(response="exact").hash_additions(fine) == {}
    with pytest.raises(ValueError, match="exact_lags"):
        DMFTMethod(exact_lags=-2)


@pytest.mark.parametrize("replicas", [1, 2])
def test_blocks_of_one_step_are_the_exact_response(replicas, monkeypatch):
    """response='blocks' with blocks that never grow beyond one step (ratio 0) carries every
    column of Gamma exactly: the march is the one of response='exact' to round-off; the band's
    columns enter their blocks as they leave it, so this checks that hand-over."""
    from dmft.core import blockplan
    monkeypatch.setattr(blockplan, "BLOCK_RATIO", 0.0)
    p = Params(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.2, t_max=8.0, replicas=replicas, seed=3)
    m = DMFTMethod(n_paths=256, history_dtype="float64")
    ox, ob = march(p, m.replace(response="exact")), march(p, m.replace(response="blocks", exact_lags=5))
    np.testing.assert_allclose(ob.M_R, ox.M_R, atol=1e-12)
    np.testing.assert_allclose(ob.C, ox.C, atol=1e-11)
    np.testing.assert_allclose(ob.energy, ox.energy, rtol=1e-9)


def test_block_plan_tiles_the_old_steps():
    """After step k the blocks cover the steps 0 .. k - L exactly once, in order, each at most
    ratio times its lag and at most its first step long (or one step); their number grows like
    the logarithm of the horizon."""
    from dmft.core.blockplan import BlockPlan, footprint
    L, ratio = 16, 0.25
    plan = BlockPlan(L, ratio)
    for k in range(L, 3000):
        plan.enter(k)
        edges = [b[0] for b in plan.blocks] + [plan.blocks[-1][1]]
        assert edges[0] == 0 and edges[-1] == k - L + 1
        assert all(b[1] == c[0] for b, c in zip(plan.blocks, plan.blocks[1:]))
        for first, end, _ in plan.blocks:
            assert end - first <= max(1.0, min(ratio * (k + 2 - end), first))
        assert len({b[2] for b in plan.blocks}) == len(plan.blocks)
    at_3000 = plan.n_slots
    for k in range(3000, 30000):
        plan.enter(k)
    # about six more blocks per doubling of the horizon, which footprint's bound covers
    assert plan.n_slots - at_3000 <= 7 * np.log2(10)
    assert footprint(L, 30001, ratio)[0] >= plan.n_slots


def test_blocks_keep_a_converged_sat_run_where_the_exact_response_puts_it():
    """Gradient descent at a SAT point with random data: once converged, the probes' noise beyond
    the band empties the contacts (frac_unsat falls, the energy stops falling, issue 22); the
    block sums have no estimator noise and follow the exact response (same seed)."""
    p = Params(alpha=0.5, delta=0.5, dynamics="gd", normalization="mean", dt=0.2, t_max=60.0, seed=101)
    m = DMFTMethod(n_paths=1024)
    ox = march(p, m.replace(exact_lags=p.n_steps))
    ob = march(p, m.replace(response="blocks"))
    op = march(p, m.replace(response="probe"))
    assert np.log10(ox.energy[-1]) < -14 and np.log10(ob.energy[-1]) < -14
    assert abs(ob.frac_unsat[-1] - ox.frac_unsat[-1]) < 0.03
    assert ox.frac_unsat[-1] - op.frac_unsat[-1] > 0.1 and op.energy[-1] > 1e3 * ox.energy[-1]


def test_block_response_settings():
    """'blocks' needs an exact band and no memory window; its band and block length enter the hash;
    'auto' (the default) chooses it where nothing needs the probes."""
    from dmft.core.params import ParameterError
    with pytest.raises(ParameterError, match="needs an exact band"):
        DMFTMethod(response="blocks", exact_lags=0)
    with pytest.raises(ParameterError, match="probe response only"):
        DMFTMethod(response="blocks", memory_window=200)
    p = Params(alpha=0.5, delta=0.5, dt=0.1, t_max=40.0)
    m = DMFTMethod(response="blocks")
    assert m.hash_additions(p) == {"auto_band": 50, "block_ratio": 0.25, "companion": 1024}
    assert m.replace(extrapolation_paths=0).hash_additions(p) == {"auto_band": 50, "block_ratio": 0.25}
    assert point_hash(p, m) != point_hash(p, DMFTMethod(response="probe"))
    # the automatic choice: blocks, but the probes for the square loss and where the settings need them
    assert DMFTMethod().response == "auto" and DMFTMethod().estimator(p) == "blocks"
    assert DMFTMethod().estimator(p.replace(loss="square")) == "probe"
    for m in (DMFTMethod(memory_window=200), DMFTMethod(exact_lags=0), DMFTMethod(probe_signal="dr"),
              DMFTMethod().replace(memory_window=200)):
        assert m.estimator(p) == "probe"
    assert point_hash(p, DMFTMethod()) != point_hash(p, DMFTMethod(response="probe"))
    # a grid too short for a band: 'auto' takes the probes, an explicit 'blocks' a band of one lag
    tiny = Params(alpha=0.5, delta=0.5, dt=0.1, t_max=0.5)
    assert DMFTMethod().estimator(tiny) == "probe" and march(tiny, DMFTMethod(n_paths=64)).status == "ok"
    assert march(tiny, DMFTMethod(n_paths=64, response="blocks")).status == "ok"


def test_block_response_is_the_exact_response_averaged_on_its_blocks(monkeypatch):
    """An independent construction of response='blocks': the exact per-path response, with each
    far row replaced by its means over the same blocks (BlockPlan).  The two marches agree to
    round-off, merges of blocks and copies included: the block copies, their hand-over from the
    band and their memory sums over block sums are exact for what they approximate."""
    import importlib

    from dmft.core.blockplan import BlockPlan
    from dmft.solver.response import ExactResponse
    march_module = importlib.import_module("dmft.solver.march")

    class AveragedExact(ExactResponse):
        def __init__(self, *args, band):
            super().__init__(*args)
            self.plan = BlockPlan(band)

        def memory_row(self, a, k, av, out):
            super().memory_row(a, k, av, out)
            while self.plan.k < k - 1:
                self.plan.enter(self.plan.k + 1)
            for start, end, _ in self.plan.blocks:
                out[start:end] = out[start:end].mean()

    p = Params(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.2, t_max=24.0, replicas=2, seed=5)
    m = DMFTMethod(n_paths=256, history_dtype="float64", exact_lags=6)
    band = m.band(p.n_steps, p.dt)
    monkeypatch.setattr(march_module, "make_estimator",
                        lambda method, nr, n, T, dt, alpha, rng, rows=0: AveragedExact(nr, n, T, dt, alpha, band=band))
    ref = march(p, m.replace(response="exact"))
    monkeypatch.undo()
    ob = march(p, m.replace(response="blocks"))
    replay = BlockPlan(band)
    assert sum(len(replay.enter(k)[2]) for k in range(band, p.n_steps)) > 10   # blocks did merge
    np.testing.assert_allclose(ob.M_R, ref.M_R, atol=1e-12)
    np.testing.assert_allclose(ob.C, ref.C, atol=1e-10)
    np.testing.assert_allclose(ob.distance, ref.distance, atol=1e-12)
