"""dmft measure: the horizon and the statistics chosen by the package (issue 19).

Small sizes throughout (a few hundred DMFT paths): the numbers are not the physics of record,
the decisions are what is tested -- a first horizon that is too short is extended until the
stationarity and plateau tests pass, an aging point ends ``aging``, a SAT point ``frozen`` for
T_eff, a budget that is too small ``not_reached`` with the values so far, the relative error
reported is the one reached, a measurement scan resumes without recomputing, and the file gives
the same number to ``dmft teff``.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from dmft import DMFTMethod, Params, ParticleMethod, load
from dmft.core.status import Status
from dmft.analysis import fit_teff, long_time_distance
from dmft.analysis.verdict import judge, relaxation_time
from dmft.app.measure import MIN_REPETITIONS, MeasureError, MeasureSettings, measure, parse_budget, point_at
from dmft.app.scan import parse_config, run_scan

#: a cheap stationary UNSAT point: deep in UNSAT (delta = 1), coarse step; T_static exists from t = 40
UNSAT = dict(alpha=4.0, delta=1.0, dynamics="sgd", b=0.5, dt=0.2)
SMALL = DMFTMethod(n_paths=512, exact_lags=8)


@pytest.fixture(scope="module")
def extended():
    """A first horizon far too short (t = 10: the response has no plateau before lags ~ 10)."""
    return measure(Params(t_max=10.0, **UNSAT), "teff", rel_error=0.1, budget=600, method=SMALL)


def synthetic_replicates(monkeypatch, noise=2e-3, seconds=0.0, horizon_drift=0.0):
    """Replace the DMFT replicate by a synthetic stationary state (two harmonic modes, T_static
    known exactly, test_teff.modes_result) plus independent noise of amplitude ``noise`` per
    replicate: the driver's statistics decisions tested at no cost.  ``seconds``: each replicate
    sleeps that long (budget tests).  ``horizon_drift`` = d: chi scaled by ``1 + 100 d / t_max``,
    a plateau that moves with the horizon as a slow mode's would (T_static = T / (1 + 100 d / t_max))."""
    import time as _time

    from dmft.app import measure as measure_module
    from dmft.app import repetitions as repetitions_module
    from dmft.solver.assemble import Replicate
    from test_teff import FAST, SLOW
    noise0 = noise

    def fake(params, method, index, store_kernels=False, progress=None, track=(), extrapolation_paths=0):
        if seconds and not extrapolation_paths:
            _time.sleep(seconds)
        t = np.arange(params.n_steps + 1) * params.dt
        # a companion of m paths (the n_paths extrapolation): its own stream, sqrt(n_paths / m) the noise
        rng = np.random.default_rng((1000 + index, extrapolation_paths) if extrapolation_paths else 1000 + index)
        if extrapolation_paths:
            noise = noise0 * np.sqrt(method.n_paths / extrapolation_paths)
        else:
            noise = noise0
        K, T = len(params.tw), len(t)
        C, chi = np.full((K, T), np.nan), np.full((K, T), np.nan)
        a = rng.normal(size=3)
        for k, i in enumerate(params.tw_index):
            s = t[i:] - t[i]
            x = sum(w * Tk / lam * (1 - np.exp(-lam * s)) for lam, Tk, w in (FAST, SLOW))
            c = sum(w / lam * (1 - np.exp(-lam * s)) for lam, Tk, w in (FAST, SLOW))
            C[k, i:] = 1.0 - x * (1 + noise * a[0])
            chi[k, i:] = c * (1 + noise * a[1]) * (1 + 100.0 * horizon_drift / params.t_max)
        obs = {"energy": np.full(T, 0.3) * (1 + 1e-3 * a[2]), "frac_unsat": np.full(T, 0.2), "nu": np.zeros(T),
               "norm": np.ones(T), "C": C, "chi": chi, "gap_hist": np.zeros((K + 1, 4)), "proj_A": np.ones(T)}
        return Replicate(index=index, obs=obs, aux={"gap_hist": obs["gap_hist"], "proj_A": obs["proj_A"]}, t=t,
                         gap_edges=np.arange(5.0), status=Status.OK, message="", wall_time_s=seconds)

    monkeypatch.setattr(repetitions_module, "solve_replicate", fake)
    monkeypatch.setattr(measure_module, "continuable", lambda *args: False)


def test_short_first_horizon_is_extended_until_a_number(extended):
    m = extended
    assert m.status == "ok", m.reason
    assert m.tries[0].t_max == 10.0 and m.tries[0].action.startswith("extend to t_max = 20")
    assert m.t_max >= 40.0 and m.t_max == m.tries[-1].t_max
    assert all(t.action.startswith("extend") for t in m.tries[:-1] if t.t_max < m.t_max)
    assert math.isfinite(m.value) and 0.03 < m.value < 0.1
    # the waiting times follow the horizon: 16 of them in [0.35, 0.55] t_max
    tw = m.result.tw
    assert len(tw) == 16 and tw[0] == pytest.approx(0.35 * m.t_max) and tw[-1] == pytest.approx(0.55 * m.t_max)


def test_relative_error_reported_is_the_one_reached(extended):
    m = extended
    est = fit_teff(m.result, warn=False)                   # what dmft teff computes from the file
    assert est.T_static == m.value
    # the statistical error, or more when the change from the shorter horizon is in it
    if "taken into the error" in m.tries[-1].seen:
        assert m.error > est.T_static_err
    else:
        assert m.error == est.T_static_err
    assert m.rel_error == pytest.approx(m.error / m.value) and m.rel_error <= m.target
    d = m.to_dict()
    assert d["status"] == "ok" and d["value"] == m.value and d["error"] == m.error and d["t_max"] == m.t_max
    assert {"T_eff", "T_short", "T_slow", "stationary", "tw"} <= set(d)   # the keys of dmft teff --json
    assert d["repetitions"] == m.result.method.replicates == m.tries[-1].repetitions


def test_file_records_the_tries_and_teff_reads_the_same_number(extended, tmp_path):
    from dmft import save

    path = tmp_path / "m.h5"
    save(extended.result, path)
    r = load(path)
    rec = r.measurement
    assert rec["status"] == "ok" and len(rec["tries"]) == len(extended.tries)
    assert [t["t_max"] for t in rec["tries"]] == [t.t_max for t in extended.tries]
    assert all({"t_max", "tw", "repetitions", "added", "wall_s", "seen", "action"} <= set(t) for t in rec["tries"])
    assert fit_teff(r, warn=False).T_static == pytest.approx(extended.value, rel=1e-12)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-m", "dmft", "teff", str(path), "--json"], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["T_static"] == pytest.approx(extended.value, rel=1e-12)
    info = subprocess.run([sys.executable, "-m", "dmft", "info", str(path)], capture_output=True, text=True, env=env)
    assert info.returncode == 0 and "measurement (teff): status = ok" in info.stdout
    assert info.stdout.count("  try ") == len(extended.tries)


def test_more_statistics_until_the_error_is_met(monkeypatch):
    """A long enough first horizon: only repetitions are added, in a predicted step or two, and the
    value is the exact T_static of the synthetic state within its error."""
    from test_teff import exact_values

    synthetic_replicates(monkeypatch, noise=0.02)
    m = measure(Params(t_max=100.0, dt=0.1), "teff", rel_error=0.002, budget=600)
    assert m.status == "ok", m.reason
    # the default 16384 paths: an eighth of them find the horizon -- a number at t_max = 100,
    # confirmed at 200 -- then every path measures there
    assert m.tries[0].size == 2048 and m.tries[0].action == "extend to t_max = 200"
    assert "no number at a shorter horizon" in m.tries[0].seen
    assert m.tries[1].size == 2048 and m.tries[1].action.startswith("horizon found: measure with 16384 paths")
    assert "the same as at t_max = 100" in m.tries[1].seen
    assert all(t.size == 16384 for t in m.tries[2:]) and m.result.method.n_paths == 16384
    assert m.tries[2].action.startswith("add repetitions: 4 ->") and len(m.tries) <= 5   # the 4-replicate error is itself uncertain
    assert m.result.method.replicates > 4 and m.rel_error <= 0.002
    assert all(t.t_max == 200.0 for t in m.tries[1:])
    assert abs(m.value - exact_values()[1]) < 4 * m.error
    # the default extrapolates in n_paths (a companion replicate beside each; the synthetic companions
    # are noisier, not biased): the correction it removed is reported, in the file's record too
    assert m.result.meta["companion_paths"] == 2000 and math.isfinite(m.paths_bias)
    assert abs(m.paths_bias) < 3 * m.error and m.to_dict()["paths_bias"] == m.paths_bias
    assert "finite-n_paths correction" in m.describe()


def test_a_number_that_moves_with_the_horizon_is_followed_until_it_stops(monkeypatch):
    """T_static = T / (1 + 5/t_max): every window passes the stationarity, plateau and drift tests,
    but the number changes by 2.4%, 1.2%, 0.6%, 0.3% when the horizon doubles.  Asked for 0.5%, it
    is followed until the change beyond its noise, taken into the error bar, leaves it within 0.5%
    (t_max = 1600); asked for 5%, the 2.4% change of the first doubling goes into the error bar.
    Either way the error bar covers the long-time value."""
    from test_teff import exact_values

    truth = exact_values()[1]
    synthetic_replicates(monkeypatch, noise=0.002, horizon_drift=0.05)
    # the horizon's logic: one path count, the full memory (whose scouts' path limit ends them at 1600)
    method = DMFTMethod(n_paths=32768, extrapolation_paths=0, memory_window=0)
    m = measure(Params(t_max=100.0, dt=0.1), "teff", rel_error=0.005, budget=600, method=method)
    assert m.status == "ok", m.reason
    assert [t.t_max for t in m.tries] == [100.0, 200.0, 400.0, 800.0, 1600.0, 1600.0]
    assert m.tries[-2].action == "add repetitions: 4 -> 8 (an error bar from 4 replicates (fewer than 8))"
    assert m.result.method.replicates == 8 and MIN_REPETITIONS == 8
    assert "no number at a shorter horizon" in m.tries[0].seen and "changes by" in m.tries[1].seen
    assert "taken into the error" in m.tries[-1].seen and m.rel_error <= 0.005
    stat = fit_teff(m.result, warn=False).T_static_err
    assert m.error > 2 * stat                          # the plateau's last move is in the error bar
    assert abs(m.value - truth) < 2 * m.error
    assert math.isnan(m.paths_bias) and m.to_dict()["paths_bias"] is None    # one path count: nothing removed

    loose = measure(Params(t_max=100.0, dt=0.1), "teff", rel_error=0.05, budget=600, method=method)
    assert loose.status == "ok" and loose.t_max == 200.0
    stat = fit_teff(loose.result, warn=False).T_static_err
    change, noise = loose.value - loose.tries[0].value, math.hypot(stat, loose.tries[0].error)
    assert "taken into the error" in loose.tries[-1].seen
    assert loose.error == pytest.approx(math.hypot(stat, math.sqrt(change ** 2 - noise ** 2)))
    assert loose.rel_error <= 0.05 and abs(loose.value - truth) < 2 * loose.error


def test_the_automatic_memory_window_takes_the_scouts_past_their_path_limit(monkeypatch):
    """With the default automatic window the scouts (an eighth of the paths) are windowed beyond
    t = 200 (dt = 0.1) and so represent any number of steps: they find the horizon 1600 (16000
    steps, more than their 4096 paths) themselves, where the full memory hands over to every path
    at their path limit (the test above)."""
    synthetic_replicates(monkeypatch, noise=0.002, horizon_drift=0.05)
    method = DMFTMethod(n_paths=32768, extrapolation_paths=0)
    m = measure(Params(t_max=100.0, dt=0.1), "teff", rel_error=0.005, budget=600, method=method)
    assert m.status == "ok", m.reason
    assert [t.t_max for t in m.tries] == [100.0, 200.0, 400.0, 800.0, 1600.0, 1600.0, 1600.0]
    assert [t.size for t in m.tries] == [4096] * 5 + [32768] * 2
    assert m.tries[4].action == "horizon found: measure with 32768 paths at t_max = 1600"


def test_a_dmft_number_is_confirmed_at_half_its_horizon_from_the_same_marches():
    """With the marches kept, the number at half the horizon comes from their first steps, at no
    cost: a first horizon long enough for both ends the measurement there, at one horizon."""
    m = measure(Params(t_max=80.0, **UNSAT), "teff", rel_error=0.1, budget=600, method=SMALL)
    assert m.status == "ok", m.reason
    assert [t.t_max for t in m.tries] == [80.0, 80.0] and "the same as at t_max = 40" in m.tries[0].seen
    # the 4 replicates' error is itself uncertain: 8 are added at the same horizon, and the number
    # at t_max = 40 found for the first 4 still confirms it
    assert m.tries[0].action.startswith("add repetitions: 4 -> 8") and m.result.method.replicates == 8
    assert "the same as at t_max = 40" in m.tries[1].seen and m.confirmed_by[0] == 40.0


def test_march_output_of_its_first_steps():
    import importlib

    march_module = importlib.import_module("dmft.solver.march")
    p = Params(t_max=8.0, tw=(2.0, 4.0), **UNSAT)
    full = march_module.March(p, SMALL).run()
    out, short = full.output(), full.output(steps=21)
    assert short.t.shape == (21,) and short.C.shape == (1, 21, 21) and short.M_C.shape == (1, 1, 21, 21)
    assert np.array_equal(short.energy, out.energy[:21]) and np.array_equal(short.R[0], out.R[0, :21, :21])
    assert all(k < 21 for k in short.hists) and short.histories is None


def test_confirmation_rule():
    from dmft.analysis.verdict import Verdict, confirmed

    v = Verdict("none", 1.00, 0.01, "stationary")
    assert confirmed(v, None, 40.0, 0.03).need == "horizon"
    same = confirmed(v, (20.0, 1.005, 0.01), 40.0, 0.03)                  # within the noise: as it is
    assert same.need == "none" and same.error == 0.01 and "the same as" in same.seen
    near = confirmed(v, (20.0, 1.02, 0.01), 40.0, 0.03)                   # 1.4 combined errors
    assert near.need == "none" and near.error == pytest.approx(math.hypot(0.01, math.sqrt(0.02 ** 2 - 2e-4)))
    far = confirmed(v, (20.0, 1.05, 0.01), 40.0, 0.03)                    # 5%: beyond 3%
    assert far.need == "horizon" and far.value == 1.00 and "changes by -3.5" in far.seen
    slow = confirmed(v, (20.0, 1.05, 0.01), 40.0, 0.10)                   # the 5% move within 10%
    assert slow.need == "none" and slow.error == pytest.approx(math.hypot(0.01, math.sqrt(0.05 ** 2 - 2e-4)))
    assert confirmed(Verdict("statistics", 1.0, 0.01, "x"), None, 40.0, 0.03).need == "statistics"


def test_too_small_budget_ends_not_reached_with_partial_values(monkeypatch):
    synthetic_replicates(monkeypatch, noise=0.02, seconds=0.05)
    m = measure(Params(t_max=100.0, dt=0.1), "teff", rel_error=1e-4, budget=0.5)
    assert m.status == "not_reached" and "budget" in m.reason
    assert math.isfinite(m.value) and math.isfinite(m.error) and m.rel_error > 1e-4   # the values so far
    assert m.result is not None and m.result.measurement["status"] == "not_reached"
    assert m.wall_s < 1.5


def test_repetition_limit(monkeypatch):
    synthetic_replicates(monkeypatch, noise=0.02)
    m = measure(Params(t_max=100.0, dt=0.1), "teff", budget=600,
                settings=MeasureSettings("teff", rel_error=1e-5, max_repetitions=6))
    assert m.status == "not_reached" and "most repetitions" in m.reason and m.result.method.replicates == 6


def test_aging_point_ends_aging():
    """Gradient descent at delta = 0 just below jamming (alpha = 1.9): C(tw+s, tw) relaxes slower
    at later waiting times at every horizon, by an amount that does not shrink."""
    m = measure(Params(alpha=1.9, delta=0.0, dynamics="gd", dt=0.1, t_max=8.0), "teff", budget=300,
                method=DMFTMethod(n_paths=512, exact_lags=8), settings=MeasureSettings("teff", max_t=200.0))
    assert m.status == "aging", m.reason
    assert "depends on tw at every horizon" in m.reason and len(m.tries) >= 3
    assert math.isnan(m.value)


def test_sat_point_teff_is_frozen_and_distance_measured():
    p = Params(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.2, t_max=8.0)
    m = measure(p, "teff", budget=300, method=DMFTMethod(n_paths=512, exact_lags=8))
    assert m.status == "frozen" and "T_eff is not defined" in m.reason and math.isnan(m.value)
    d = measure(p, "distance", rel_error=0.1, budget=300, method=DMFTMethod(n_paths=1024, exact_lags=8))
    assert d.status == "ok", d.reason
    assert d.result.params.replicas == 2 and d.t_max > 8.0
    est = long_time_distance(d.result, warn=False)
    assert est.d_inf == d.value and est.converged and d.rel_error <= 0.1


def test_path_limit_is_a_status_not_a_wrong_number():
    """Beyond n_paths / replicas steps the DMFT's empirical covariance has lost rank: refused."""
    with pytest.raises(MeasureError, match="more paths"):
        measure(Params(t_max=60.0, **UNSAT), "teff", method=DMFTMethod(n_paths=256))
    m = measure(Params(t_max=10.0, **UNSAT), "teff", budget=300, method=DMFTMethod(n_paths=150, exact_lags=8))
    assert m.status == "not_reached" and "more paths" in m.reason and m.t_max == 20.0


def test_simulation_measurement_adds_systems():
    m = measure(Params(t_max=40.0, **UNSAT), "teff", rel_error=0.15, budget=300, method=ParticleMethod(n=100))
    assert m.result.kind == "simulation" and len(m.result.tw) == 4
    assert m.status in ("ok", "not_reached")
    assert m.result.method.n_samples == m.tries[-1].repetitions >= 4


def test_judge_on_synthetic_states():
    from test_teff import modes_result

    stationary = judge(modes_result(tws=tuple(np.linspace(20, 40, 8)), batches=6, noise=1e-6), "teff")
    assert stationary.need == "none"
    aging = judge(modes_result(tws=tuple(np.linspace(20, 40, 8)), aging=0.3, batches=6, noise=1e-6), "teff")
    assert aging.need == "horizon" and aging.aging and aging.aging[0] > 3 * aging.aging[1]


def test_a_drifting_t_static_is_not_a_number():
    """chi grows by 0.5% per waiting time across a window of 8 (C does not move, so the
    stationarity test passes): T_static of the early half is higher than of the late half by the
    ratio the drift gives, far beyond its error, and the verdict asks for a longer run; without the
    drift the two halves agree and the number stands."""
    from dmft.analysis.teff import static_drift
    from test_teff import modes_result

    tws = tuple(np.linspace(20, 40, 8))
    drifting = modes_result(tws=tws, batches=6, noise=1e-6, chi_drift=0.005)
    est = fit_teff(drifting, warn=False)
    assert est.stationarity.stationary and np.isfinite(est.T_static)
    d = static_drift(drifting, est)
    # halves of 4 waiting times: mean chi factors 1.0075 and 1.0275
    assert d.early / d.late == pytest.approx(1.0275 / 1.0075, rel=1e-3) and d.z > 100
    v = judge(drifting, "teff")
    assert v.need == "horizon" and "T_static still changes with the waiting time" in v.seen
    steady = modes_result(tws=tws, batches=6, noise=1e-6)
    d = static_drift(steady, fit_teff(steady, warn=False))
    assert d.early == pytest.approx(d.late, rel=1e-4) and abs(d.z) < 3


@pytest.mark.parametrize("z, samples, need", [(2.0, 4, "none"), (4.0, 4, "statistics"), (4.0, 16, "horizon"),
                                              (6.0, 4, "horizon"), (-6.0, 4, "horizon")])
def test_a_drift_within_noise_is_decided_by_more_repetitions(monkeypatch, z, samples, need):
    """Between 3 and 5 errors with few repetitions (whose jackknife error is itself uncertain):
    more repetitions decide; beyond 5 errors, or from 16 repetitions on, a longer run."""
    from dmft.analysis import verdict
    from dmft.analysis.teff import StaticDrift
    from test_teff import modes_result

    monkeypatch.setattr(verdict, "static_drift", lambda r, e: StaticDrift(1.0 + z * 1e-3, 1.0, z * 1e-3, 1e-3, (1,), (2,)))
    r = modes_result(tws=tuple(np.linspace(20, 40, 8)), batches=6, noise=1e-6)
    r = r.replace(method=ParticleMethod(n_samples=samples))
    assert judge(r, "teff").need == need


def test_relaxation_time_of_an_exponential():
    from test_teff import modes_result

    r = modes_result(energy=lambda t: 0.3 + 0.1 * np.exp(-t / 25.0))
    assert relaxation_time(r) == pytest.approx(25.0, rel=1e-2)


def test_a_change_of_the_rules_of_one_quantity_renews_only_its_keys(monkeypatch):
    import dmft.app.measure as m

    assert set(m.RULES) == set(m.QUANTITIES)
    method = DMFTMethod(n_paths=256, replicates=2)
    p = Params(t_max=10.0, **UNSAT)
    keys = {q: m.measurement_hash(p, method, MeasureSettings(q)) for q in m.QUANTITIES}
    assert keys["teff"] != keys["distance"]
    monkeypatch.setitem(m.RULES, "teff", m.RULES["teff"] + 1)
    assert m.measurement_hash(p, method, MeasureSettings("teff")) != keys["teff"]
    assert m.measurement_hash(p, method, MeasureSettings("distance")) == keys["distance"]


def test_settings_and_budget_validation():
    assert parse_budget("20m") == 1200 and parse_budget("1.5h") == 5400 and parse_budget(90) == 90
    for bad in ("abc", "-5", "0", "10d"):
        with pytest.raises(MeasureError):
            parse_budget(bad)
    for kw in (dict(rel_error=0), dict(rel_error=1.5), dict(window=(0.6, 0.4)), dict(n_tw=2), dict(growth=1.0),
               dict(start=1), dict(min_repetitions=1), dict(min_repetitions=10, max_repetitions=6)):
        with pytest.raises(MeasureError):
            MeasureSettings("teff", **kw)
    # the fewest repetitions behind a value: MIN_REPETITIONS, or all that are allowed when fewer
    assert MeasureSettings("teff").min_repetitions == MIN_REPETITIONS
    assert MeasureSettings("teff", max_repetitions=6).min_repetitions == 6
    with pytest.raises(MeasureError):
        MeasureSettings("energy")
    p = point_at(Params(t_max=10.0, **UNSAT), 100.0, MeasureSettings("teff").resolved("dmft"), ())
    assert p.t_max == 100.0 and len(p.tw) == 16


@pytest.mark.parametrize("args, needle", [
    (["teff", "--rel-error", "2"], "rel_error"),
    (["teff", "--budget", "soon"], "budget"),
    (["teff", "--n", "100"], "other method"),
    (["teff", "--method", "simulation", "--n-paths", "100"], "other method"),
    (["velocity"], "invalid choice"),
    (["teff", "--alpha", "-1"], "alpha"),
])
def test_cli_refuses_bad_input(tmp_path, args, needle):
    out = tmp_path / "m.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "measure", *args, "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_json(tmp_path):
    out = tmp_path / "m.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "-q", "measure", "teff", "--alpha", "4", "--delta", "1",
                        "--b", "0.5", "--dt", "0.2", "--t-max", "40", "--n-paths", "512", "--exact-lags", "8",
                        "--rel-error", "0.2", "--budget", "5m", "-o", str(out), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"status", "quantity", "value", "error", "t_max", "tries", "criteria", "T_eff", "T_short",
            "T_slow"} <= set(d)
    assert d["status"] == "ok" and d["quantity"] == "teff" and d["file"] == str(out) and out.exists()


def test_measure_scan_resumes_without_recomputing(tmp_path):
    config = parse_config({
        "mode": "measure",
        "measure": {"quantity": "teff", "rel_error": 0.2, "budget": "5m"},
        "base": {"alpha": 4.0, "dynamics": "sgd", "b": 0.5, "dt": 0.2, "t_max": 40.0, "n_paths": 512,
                 "exact_lags": 8},
        "axes": {"delta": [0.9, 1.0]},
    })
    out = tmp_path / "scan"
    first = run_scan(config, str(out), workers=1, log=None)
    assert first.done == 2 and first.failed == 0
    files = sorted(p for p in os.listdir(out) if p.endswith(".h5"))
    stamps = {p: os.stat(out / p).st_mtime_ns for p in files}
    again = run_scan(config, str(out), workers=1, log=None)
    assert again.skipped == 2 and again.done == 0
    assert {p: os.stat(out / p).st_mtime_ns for p in files} == stamps
    for p in files:
        rec = load(out / p).measurement
        assert rec["quantity"] == "teff" and rec["status"] in ("ok", "not_reached")
    from dmft.analysis.phase_diagram import phase_diagram

    fig, table = phase_diagram(str(out), str(tmp_path / "map.png"), quantity="teff")
    text = open(table).read()
    assert "measurement" in text.splitlines()[0]


def test_cli_strict_exits_3_without_a_value(tmp_path):
    out = tmp_path / "m.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "-q", "measure", "teff", "--alpha", "4", "--delta", "1",
                        "--b", "0.5", "--dt", "0.2", "--t-max", "40", "--n-paths", "512", "--exact-lags", "8",
                        "--rel-error", "0.0001", "--budget", "1", "--strict", "--json", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    d = json.loads(r.stdout)
    assert d["status"] == "not_reached" and out.exists() and load(out).measurement["status"] == "not_reached"


def test_horizon_tries_continue_the_marches(extended):
    """The DMFT's horizon tries are continued marches: the final result equals a single solve at
    the final horizon (same seeds, the band width of the first horizon), number for number."""
    from dmft.solver.assemble import solve

    r = extended.result
    single = solve(r.params, SMALL.replace(replicates=r.method.replicates))
    for name in ("energy", "frac_unsat", "nu", "C", "chi"):
        np.testing.assert_array_equal(getattr(r, name), getattr(single, name), err_msg=name)
    np.testing.assert_array_equal(r.extra["gap_hist"], single.extra["gap_hist"])
    assert extended.final_wall_s >= 0.5 * extended.wall_s   # the shorter tries were not redone


def test_distance_without_a_plateau_ends_with_its_value_so_far():
    """A distance measurement that reaches its horizon limit while d(t) still moves ends
    not_reached with the mean of d over its last window and that window's error (never a bare
    n/a), and the reason says it is not d_inf."""
    p = Params(alpha=0.5, delta=0.5, dynamics="sgd", b=0.3, dt=0.2, t_max=2.0)
    # one path count: the move of d(t) stays beyond the (wider) errors of an n_paths extrapolation
    d = measure(p, "distance", rel_error=0.1, budget=300, method=DMFTMethod(n_paths=256, exact_lags=4,
                                                                            extrapolation_paths=0),
                settings=MeasureSettings("distance", max_t=4.0))
    assert d.status == "not_reached", d.reason
    est = long_time_distance(d.result, warn=False)
    assert not est.converged and math.isnan(est.d_inf)
    assert math.isfinite(d.value) and d.value == est.d_window and d.error == est.d_window_err > 0
    assert "still moving: not d_inf" in d.reason


def test_a_windowed_measurement_tracks_the_waiting_times_of_every_try():
    """With a memory window the marches track, from the start, the columns of the waiting times of
    every horizon the measurement may try (dmft.solver.window.TrackedColumns): each try's waiting
    times are among them, and the continued marches equal single marches to the final horizon
    that track the same steps, number for number."""
    from dmft.app.measure import _tracked_steps
    from dmft.solver.assemble import continuable_replicate, extrapolated, replicate_of

    method = SMALL.replace(memory_window=20)
    first = Params(t_max=10.0, **UNSAT)
    m = measure(first, "teff", rel_error=0.1, budget=600, method=method)
    steps = _tracked_steps(first, method, m.settings, ())
    assert len(m.tries) >= 2 and _tracked_steps(first, SMALL, m.settings, ()) == ()
    for t in m.tries:
        assert {round(x / first.dt) for x in t.tw} <= set(steps)
    r = m.result
    companion = r.meta["companion_paths"]      # n_paths / 4 at 512 paths, continued with the rest
    assert companion == method.companion(r.params) == 128

    def singles(level):
        return [replicate_of(r.params, i, continuable_replicate(r.params, method, i, track=steps,
                                                                extrapolation_paths=level).run().output())
                for i in range(r.method.replicates)]

    single = extrapolated(r.params, method, singles(0), singles(companion), companion)
    for name in ("energy", "C", "chi"):
        np.testing.assert_array_equal(getattr(r, name), getattr(single, name), err_msg=name)
