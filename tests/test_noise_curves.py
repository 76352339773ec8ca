"""The dense noise study (issue 21): its design, the boundary-width measure, the DMFT's gap errors
and a smoke run of the whole study (files, statuses, resume)."""

import csv
import json
import math
import os
import shutil

import numpy as np
import pytest

from dmft import DMFTMethod, Params
from dmft.analysis.gaps import NEAR, boundary_width
from dmft.analysis.phase_diagram import gardner_alpha
from dmft.app.studies import noise_curves as nc
from dmft.core.model import gap_edges


class _Hist:
    """A stand-in result with a final gap density and its standard errors."""

    def __init__(self, hist, sem=None, delta=0.5):
        self.extra = {"gap_edges": gap_edges(delta), "gap_hist": np.asarray(hist)[None, :], "gap_t": np.array([9.0])}
        self.errors = None if sem is None else object()
        self.sem = {} if sem is None else {"gap_hist": np.asarray(sem)[None, :]}


def _bin(edges, left):
    return int(np.flatnonzero(np.isclose(edges[:-1], left))[0])


def test_boundary_width_of_a_known_histogram():
    """Contacts at 0- (bin [-0.1, 0)) count as near and at h = 0 in the mean: 0.3 of contacts,
    0.2 in [0, 0.1), 0.5 in [1.0, 1.1) give near 0.5, mean 0.2 * 0.05 + 0.5 * 1.05 = 0.535."""
    edges = gap_edges(0.5)
    hist = np.zeros(len(edges) - 1)
    sem = np.zeros_like(hist)
    for left, mass, err in ((-0.1, 0.3, 0.01), (0.0, 0.2, 0.02), (1.0, 0.5, 0.04)):
        hist[_bin(edges, left)] = mass / 0.1
        sem[_bin(edges, left)] = err / 0.1
    w = boundary_width(_Hist(hist, sem))
    assert w.near == pytest.approx(0.5) and w.mean == pytest.approx(0.535)
    assert w.near_err == pytest.approx(0.03)                           # 0.01 + 0.02: the bound
    assert w.mean_err == pytest.approx(0.01 * 0.535 + 0.02 * 0.485 + 0.04 * 0.515)
    assert w.time == 9.0
    assert math.isnan(boundary_width(_Hist(hist)).near_err)          # no sem: no error


def test_boundary_width_error_bounds_the_spread_of_correlated_histograms():
    """Histograms of a shifting distribution (bins strongly correlated): over 400 draws the
    quoted error (from the per-bin spread) is at least the actual spread of near and mean, and
    not wildly above it."""
    rng = np.random.default_rng(3)
    edges = gap_edges(0.5)
    centres = 0.5 * (edges[1:] + edges[:-1])
    draws = []
    for _ in range(400):
        shift = 0.05 * rng.standard_normal()
        h = np.abs(rng.normal(0.6 + shift, 0.4, size=2000))
        draws.append(np.histogram(h, bins=edges)[0] / (2000 * 0.1))
    draws = np.array(draws)
    sem = draws.std(axis=0, ddof=1)            # the per-bin spread of one draw
    w = boundary_width(_Hist(draws.mean(axis=0), sem))
    single = [boundary_width(_Hist(d)) for d in draws]
    true_near = np.std([s.near for s in single], ddof=1)
    true_mean = np.std([s.mean for s in single], ddof=1)
    assert true_near <= w.near_err <= 5 * true_near
    assert true_mean <= w.mean_err <= 10 * true_mean
    assert 0 < w.near < 1 and centres[0] < w.mean < centres[-1]


def test_dmft_gap_histogram_has_its_standard_error_over_replicates():
    from dmft.solver.assemble import combine, solve_replicate

    p = Params(alpha=0.5, t_max=6.0, tw=())
    m = DMFTMethod(n_paths=256, replicates=3, extrapolation_paths=0)
    reps = [solve_replicate(p, m, i) for i in range(3)]
    r = combine(p, m, reps)
    hists = np.array([rep.aux["gap_hist"] for rep in reps])
    np.testing.assert_allclose(r.sem["gap_hist"], hists.std(axis=0, ddof=1) / math.sqrt(3), rtol=1e-10, atol=1e-15)
    assert np.any(r.sem["gap_hist"] > 0)


def test_the_design_covers_what_issue_21_names():
    d = nc.Design(quick=False)
    curves = {c.name: c for c in d.curves()}
    alpha_j = gardner_alpha(0.5)
    for name in ("b-sum", "b-mean"):
        for phase in ("unsat", "sat"):
            xs = curves[name].values[phase]
            assert len(xs) >= 9 and min(xs) <= 0.1 and max(xs) == 1.0
    assert dict(curves["b-mean"].fixed)["normalization"] == "mean"
    for phase in ("unsat", "sat"):
        tau = np.array(curves["tau"].values[phase])
        assert len(tau) >= 6 and tau.min() <= 0.25 and tau.max() >= 8
        np.testing.assert_allclose(np.diff(np.log(tau)), np.log(2))          # log-spaced
    ua, sa = np.array(curves["alpha"].values["unsat"]), np.array(curves["alpha"].values["sat"])
    assert len(ua) >= 8 and ua.min() > alpha_j and ua.max() >= 10 and ua.min() < 1.15
    assert len(sa) >= 8 and sa.max() < alpha_j and sa.min() <= 0.1 and sa.max() > 0.9
    # denser near jamming: the spacing grows away from alpha_J on both sides
    assert np.diff(ua)[0] < np.diff(ua)[-1] and np.diff(sa)[-1] < np.diff(sa)[0]
    for phase in ("unsat", "sat"):
        deltas = curves["delta"].values[phase]
        assert len(deltas) >= 5 and min(deltas) == 0.0
        assert all(nc.phase_of(nc.BASE[phase]["alpha"], x) == phase for x in deltas)
    alphas, bs = d.map_axes()
    assert len(alphas) >= 12 and len(bs) >= 8
    assert {nc.phase_of(a, 0.5) for a in alphas} == {"sat", "unsat"}
    # simulations at every other computed point, and three points at three sizes
    for c in d.curves():
        for phase, xs in c.values.items():
            sim = [x for cc, ph, x, _ in nc.simulated(d) if cc == c and ph == phase]
            computed = [x for x in xs if not (c.parameter == "b" and x == 1.0)]
            assert sim == computed[::2]
    sizes = nc.size_points(d)
    assert len({(c, ph, x) for c, ph, x, _, _ in sizes}) == 3 and sorted({n for *_, n, _ in sizes}) == [1000, 2000, 4000]
    assert nc.SIMULATION.n >= 2000


def test_gradient_descent_points_are_exact_and_not_computed():
    d = nc.Design(quick=False)
    keys = {t.params.b for t in nc.tasks(d, nc.PARTS) if t.params.dynamics == "sgd"}
    assert 1.0 not in keys
    assert nc.exact("unsat").values == {"T_static": (0.0, 0.0)} and nc.exact("sat").values == {"d_inf": (0.0, 0.0)}
    # a point shared by a curve and the map is one task
    files = [t.filename for t in nc.tasks(d, nc.PARTS)]
    assert len(files) == len(set(files))


def test_task_order_checks_each_drawn_point_before_the_next():
    """The reference points first, then every simulated point's DMFT followed at once by its
    simulation (SAT; an UNSAT simulation is planned from its DMFT's result, so not without a
    cache), then the other curve points; sizes and map last."""
    d = nc.Design(quick=False)
    todo = nc.tasks(d, ("dmft", "simulations", "sizes", "map"))
    labels = [t.label for t in todo]
    first = {f"{c} {ph} b={x:g} {kind}" for c, ph, x in nc.FIRST
             for kind in (("dmft", "simulation") if ph == "sat" else ("dmft",))}
    assert set(labels[:len(first)]) == first
    sims = [i for i, t in enumerate(todo) if t.method.kind == "simulation" and not t.label.startswith("sizes")]
    simulated = {p.replace(seed=nc.SIM_SEED) for _, ph, _, p in nc.simulated(d) if ph == "sat"}
    assert {todo[i].params for i in sims} == simulated and len(sims) == len(simulated)
    for i in sims:
        assert todo[i - 1].method.kind == "dmft" and todo[i - 1].params == todo[i].params.replace(seed=todo[i - 1].params.seed)
        assert todo[i - 1].label.replace(" dmft", "") == todo[i].label.replace(" simulation", "")
    # every simulated point's DMFT (and SAT simulation) before any DMFT point without a simulation
    checked = {f"{c.name} {ph} {c.parameter}={x:g} dmft" for c, ph, x, _ in nc.simulated(d)}
    dmft = [i for i, t in enumerate(todo) if t.method.kind == "dmft" and not t.label.startswith("map")]
    assert max(sims + [i for i in dmft if todo[i].label in checked]) < min(i for i in dmft if todo[i].label not in checked)
    # the map last, its quick cells (large b, far from jamming) before its slow corners
    cells = [t.params for t in todo if t.label.startswith("map")]
    assert min(i for i, t in enumerate(todo) if t.label.startswith("map")) > max(dmft)
    alpha_j = gardner_alpha(0.5)
    quick = [i for i, p in enumerate(cells) if p.b >= 0.6 and not 0.8 <= p.alpha <= 1.5]
    slow = [i for i, p in enumerate(cells) if p.b == 0.1 or 0.85 < p.alpha / alpha_j < 1.2]
    assert quick and slow and max(quick) < min(slow)


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_quick_study_writes_its_files_and_resumes(tmp_path):
    out = str(tmp_path)
    nc.run(out, quick=True, workers=1)
    rows = _read(os.path.join(out, "curves.csv"))
    assert list(rows[0]) == ["curve", "parameter", "x", "quantity", "method", "value", "error", "status"]
    statuses = {r["status"] for r in rows}
    assert "pending" not in statuses
    for r in rows:     # a number with status ok, or a status that says why not
        assert r["status"] == "ok" or r["status"].split(":")[0] in ("not_reached", "aging", "frozen", "diverged",
                                                                      nc.NOT_RUN.split(":")[0])
        # an UNSAT simulation is not run only where its DMFT has no number
        if r["status"] == nc.NOT_RUN:
            assert r["quantity"].startswith("T_") and {q["status"] for q in rows if q["method"] == "dmft"
                                                        and (q["curve"], q["x"]) == (r["curve"], r["x"])} != {"ok"}
        if r["status"] == "ok":
            assert math.isfinite(float(r["value"])) and float(r["error"]) >= 0
    gd = [r for r in rows if r["method"] == "exact"]
    assert gd and all(float(r["x"]) == 1.0 and float(r["value"]) == 0.0 for r in gd)
    assert {(r["curve"], r["quantity"]) for r in rows} >= {("b-sum", "T_static"), ("b-sum", "d_inf"), ("tau", "T_slow"),
                                                           ("tau", "gap_near")}
    maps = _read(os.path.join(out, "map.csv"))
    assert list(maps[0]) == ["alpha", "b", "quantity", "value", "error", "status"]
    assert {(r["alpha"], r["quantity"]) for r in maps} == {("0.5", "d_inf"), ("4", "T_static")}
    for name in ("curves.md", "curves.png", "curves_side_by_side.png", "curves_map.png", "curves_gaps.png",
                 "curves_sizes.csv"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    # every measurement that ran out of its budget had its second pass, and the files report it
    design, cache = nc.Design(quick=True), os.path.join(out, "runs")
    for t in nc.tasks(design, nc.AGAIN_PARTS):
        if nc._measured(cache, t).status == nc.OUT_OF_BUDGET:
            again = nc.again_task(design, t)
            assert again.settings.budget == 2 * t.settings.budget
            assert os.path.exists(os.path.join(cache, again.filename))
            assert nc.measured(cache, t, design) == nc._measured(cache, again)
    before = {name: os.path.getmtime(os.path.join(out, "runs", name)) for name in os.listdir(os.path.join(out, "runs"))}
    nc.run(out, quick=True, workers=1)         # resumes: nothing computed again
    after = {name: os.path.getmtime(os.path.join(out, "runs", name)) for name in os.listdir(os.path.join(out, "runs"))}
    assert after == before and _read(os.path.join(out, "curves.csv")) == rows
    # a machine without the cache of result files resumes from the ledger: nothing computed again,
    # the same files (the ledger holds a record of every finished measurement, and nothing else)
    ledger = nc.ledger_of(cache)
    finished = {t.key for t in nc.tasks(design, nc.PARTS, cache) if os.path.exists(os.path.join(cache, t.filename))}
    assert set(ledger.keys()) == finished
    shutil.rmtree(cache)
    nc.run(out, quick=True, workers=1)
    assert not os.listdir(cache) and _read(os.path.join(out, "curves.csv")) == rows
    assert set(ledger.keys()) == finished


def test_the_second_pass_is_for_the_curves_not_the_map_alone(tmp_path):
    """A curve point (and a map cell it shares) that ran out of its budget gets a second pass; a
    cell of the map alone keeps its status."""
    design, cache = nc.Design(quick=False), str(tmp_path / "runs")
    ledger = nc.ledger_of(cache)
    curve = next(t for t in nc.tasks(design, ("dmft",)) if t.label == "alpha unsat alpha=2 dmft")
    shared = next(t for t in nc.tasks(design, ("map",)) if t.label == "map alpha=4 b=0.1 dmft")   # b-sum unsat b = 0.1
    alone = next(t for t in nc.tasks(design, ("map",)) if t.label == "map alpha=3 b=0.8 dmft")
    for t in (curve, shared, alone):
        ledger.write(t.key, {"task": t.label, "source": "test",
                             "measured": nc.Measured(nc.OUT_OF_BUDGET, {"T_static": (1e-3, 1e-4)}).to_record()})
    again = nc.tasks(design, ("again",), cache)
    assert {t.key for t in again} == {nc.again_task(design, t).key for t in (curve, shared)}
    assert all(t.settings.budget == nc.BUDGET_AGAIN["dmft"] for t in again)
    assert nc.measured(cache, alone, design).status == nc.OUT_OF_BUDGET


def test_a_measurement_survives_its_ledger_record():
    params = nc.point("unsat", quick=True).replace(t_max=20.0)
    m = nc.Measured("ok", {"T_static": (0.0123, 0.0004), "T_short": (math.nan, math.nan)}, 20.0, 4, 12.5, "",
                    params, {"T_static": (0.0124, 0.0002)})
    back = nc.Measured.from_record(json.loads(json.dumps(m.to_record())))
    assert back.params == params and back.params.tw == params.tw
    assert back.at_horizon == m.at_horizon and back.values["T_static"] == (0.0123, 0.0004)
    assert all(math.isnan(v) for v in back.values["T_short"])
    assert (back.status, back.t_max, back.repetitions, back.wall_s) == ("ok", 20.0, 4, 12.5)
    pending = nc.Measured.from_record(nc.Measured("pending", {}).to_record())
    assert pending.params is None and pending.at_horizon is None and math.isnan(pending.t_max)


def test_a_point_not_measured_is_pending(tmp_path):
    nc.run(str(tmp_path), quick=True, workers=1, compute=False)
    rows = _read(os.path.join(str(tmp_path), "curves.csv"))
    assert {r["status"] for r in rows if r["method"] != "exact"} == {"pending"}


def test_the_dmft_extrapolates_from_the_linear_regime_of_its_bias():
    """The window's and the paths' bias are linear in 1/n_paths from 1024 paths up: the UNSAT
    method's companion is 1024 paths at every horizon, not the W + blocks the window needs (358 at
    t = 400, where 1024 x 358 paths gave T_static 5% high at b = 0.3), and its window is the same
    at every horizon (measure's tries continue one march); SAT keeps the full memory."""
    m = nc.DMFT["unsat"]
    for t_max in (100.0, 400.0, 1600.0):
        p = nc.point("unsat").replace(t_max=t_max)
        assert m.window_at(p) == 200 and m.companion(p) == 1024 and m.n_paths >= 8 * m.companion(p)
    sat = nc.DMFT["sat"]
    for t_max in (40.0, 160.0):
        p = nc.point("sat").replace(t_max=t_max)
        assert sat.window_at(p) == 0 and sat.companion(p) == max(1024, 2 * p.n_steps)
    assert sat.n_paths // 2 >= nc.point("sat").replace(t_max=400.0).n_steps


def test_side_by_side_reads_the_sum_clock_temperature_per_b():
    """Along b-sum the table also compares T_eff / b (the temperature of the loss, nc.per_b):
    with T_eff proportional to b d_inf the T_eff / b rows agree exactly and the T_eff rows do not;
    the b-mean curve has no such rows."""
    d = nc.Design(quick=False)
    found = {"curves": {}}
    for b in (0.3, 0.5, 0.9):
        d_inf = 1e-4 * (1.0 - b) / 0.5
        found["curves"][("b-sum", "sat", b, "dmft")] = nc.Measured("ok", {"d_inf": (d_inf, 1e-3 * d_inf)})
        found["curves"][("b-sum", "unsat", b, "dmft")] = nc.Measured("ok", {"T_static": (7.0 * b * d_inf, 1e-3 * b * d_inf)})
        found["curves"][("b-mean", "sat", b, "dmft")] = nc.Measured("ok", {"d_inf": (d_inf, 1e-3 * d_inf)})
        found["curves"][("b-mean", "unsat", b, "dmft")] = nc.Measured("ok", {"T_static": (3.0 * d_inf, 1e-3 * d_inf)})
    rows = [line.split("|")[1:-1] for line in nc.side_by_side_table(found, d)[2:]]
    z = {(c.strip(), float(x)): float(cell) for c, x, _, _, cell in rows if cell.strip()}
    assert abs(z[("b-sum, T_eff / b", 0.3)]) < 0.05 and abs(z[("b-sum, T_eff / b", 0.9)]) < 0.05
    assert abs(z[("b-sum", 0.3)]) > 10 and abs(z[("b-sum", 0.9)]) > 10
    assert abs(z[("b-mean", 0.3)]) < 0.05 and not any(c.startswith("b-mean,") for c, _ in z)
    assert nc.per_b(next(c for c in nc.CURVES if c.name == "b-sum"), "unsat")
    assert not nc.per_b(next(c for c in nc.CURVES if c.name == "b-sum"), "sat")


def test_unsat_simulation_runs_at_its_dmft_horizon(tmp_path):
    """An UNSAT simulation is planned from its DMFT's measurement: the same final horizon and
    waiting times, the simulations' seed and EQUAL_TIME_SYSTEMS systems; the two are compared with
    the DMFT's statistical error at that horizon.  Langevin at T = 2 (alpha = 2) is stationary by
    t = 20 and has T_eff = T exactly, at every N: both sides must find it."""
    from dmft.app.measure import measure
    from dmft.app.runner import run_tasks
    from dmft.core.io import save

    design, cache = nc.Design(quick=True), str(tmp_path)
    p = nc.point("unsat", True, dynamics="langevin", temperature=2.0, alpha=2.0)
    dmft_task = design.task(p, "unsat", "dmft", "langevin")
    assert nc.simulation_task(design, cache, p, "unsat", "langevin") is None      # no DMFT number yet
    assert nc._simulated(cache, design, p, "unsat", "langevin").status == "pending"
    # the DMFT's measurement, with a budget that lets it finish (the quick one is 3 s)
    m = measure(p, "teff", method=dmft_task.method,
                settings=nc.MeasureSettings("teff", rel_error=0.5, budget=120, max_t=40, min_repetitions=4).resolved("dmft"))
    assert m.status == "ok"
    save(m.result, os.path.join(cache, dmft_task.filename))
    dm = nc.measured(cache, dmft_task, design)
    assert dm.status == "ok" and dm.params.t_max == m.result.params.t_max and len(dm.params.tw) >= 4
    # its value at the horizon: the measurement's, with the statistical error alone (<= the measurement's)
    assert dm.at_horizon["T_static"][0] == dm.values["T_static"][0]
    assert 0 < dm.at_horizon["T_static"][1] <= dm.values["T_static"][1]
    sim = nc.simulation_task(design, cache, p, "unsat", "langevin")
    assert sim.params == dm.params.replace(seed=nc.SIM_SEED) and sim.method.n_samples == nc.EQUAL_TIME_SYSTEMS
    assert sim.method.kind == "simulation" and sim.method.n == design.method("unsat", "simulation").n
    assert nc.simulation_task(design, cache, p, "unsat", "langevin", n=80).method.n == 80
    run_tasks([sim], cache, workers=1)
    sm = nc._simulated(cache, design, p, "unsat", "langevin")
    assert sm.status == "ok" and sm.t_max == dm.t_max and sm.repetitions == nc.EQUAL_TIME_SYSTEMS
    assert sm.params.tw == dm.params.tw
    # T_eff = T = 2 on both sides, and the two agree, in combined errors
    for side in (dm.at_horizon, sm.values):
        v, e = side["T_static"]
        assert abs(v - 2.0) < 4 * e + 0.02, side
    z = nc.z_against(dm, sm, "unsat")
    assert abs(z) < 4 and z == nc.combined_z(*dm.at_horizon["T_static"], *sm.values["T_static"])


def test_agreement_counts_a_point_shared_by_two_curves_once():
    """delta = 0.5 is the base point, b-sum's b = 0.5 too: one simulation, one z."""
    p = Params(alpha=0.5, delta=0.5, b=0.5, replicas=2, seed=nc.SIM_SEED)
    q = p.replace(b=0.3)
    dm, sm = nc.Measured("ok", {"d_inf": (1.0, 0.1)}), nc.Measured("ok", {"d_inf": (0.8, 0.1)}, params=p)
    found = {"curves": {("b-sum", "sat", 0.5, "dmft"): dm, ("b-sum", "sat", 0.5, "simulation"): sm,
                        ("delta", "sat", 0.5, "dmft"): dm, ("delta", "sat", 0.5, "simulation"): sm,
                        ("b-sum", "sat", 0.3, "dmft"): dm,
                        ("b-sum", "sat", 0.3, "simulation"): nc.Measured("ok", {"d_inf": (1.0, 0.1)}, params=q)}}
    zs = nc.agreement(found)
    assert set(zs) == {("b-sum", "sat", 0.5), ("b-sum", "sat", 0.3)}
    assert zs[("b-sum", "sat", 0.5)] == pytest.approx(0.2 / math.hypot(0.1, 0.1)) and zs[("b-sum", "sat", 0.3)] == 0.0


def test_an_unsat_simulation_without_a_plateau_says_why(tmp_path):
    """A fixed run at a horizon too short for a number gets the status NO_PLATEAU and, as its
    reason, fit_teff's own: what still moves and by how many of its errors, or why it is not
    stationary.  Langevin at T = 2 (alpha = 2) to t = 8: stationary, but chi still rises over the
    last lags; SGD (alpha = 2, b = 0.5) from tw = 2 to t = 6: the energy still falls."""
    from dmft.app.runner import Task, run_tasks
    from dmft.core.methods import ParticleMethod

    langevin = nc.point("unsat", True, dynamics="langevin", temperature=2.0, alpha=2.0).replace(
        t_max=8.0, tw=(4.0, 4.5, 5.0, 5.5), seed=nc.SIM_SEED)
    sgd = nc.point("unsat", True, alpha=2.0).replace(t_max=6.0, tw=(2.0, 3.0, 4.0, 5.0), seed=nc.SIM_SEED)
    tasks = [Task(p, ParticleMethod(n=60, n_samples=4), name) for p, name in ((langevin, "langevin"), (sgd, "sgd"))]
    run_tasks(tasks, str(tmp_path), workers=1)
    plateau, drift = (nc._measured(str(tmp_path), t) for t in tasks)
    for m in (plateau, drift):
        assert m.status == nc.NO_PLATEAU and math.isnan(m.values["T_static"][0])
        assert m.reason.startswith(nc.NO_PLATEAU + ": ") and " errors" in m.reason
    assert "no plateau: chi still changes by" in plateau.reason
    assert math.isfinite(plateau.values["T_short"][0])          # what the run does give is kept
    assert "not stationary: energy drifts" in drift.reason
