"""The study scripts run end to end at --quick sizes and write what their docstrings promise
(their numbers are meaningless at these sizes; docs/effective-noise.md has the real run)."""

import math
import os

import numpy as np
import pytest

from dmft.app.studies import effective_noise


@pytest.mark.slow   # about 45 s on 2 cores; the merging of a partial run is tested by default below
def test_effective_noise_quick(tmp_path):
    data = effective_noise.run(str(tmp_path), quick=True, workers=1)
    for name in ("tables.md", "results.csv", "fixed_horizon_map.csv", "calibration.csv", "calibration_runs.csv",
                 "dt_runs.csv", "unsat_summary.png", "fdt_ratio.png", "sat_distance.png", "map.png",
                 "dt_limit.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    assert {r["phase"] for r in data["scans"]} == {"unsat", "sat"}
    assert {r["noise_class"] for r in data["scans"]} == {"bernoulli", "gaussian"}
    # a re-run computes nothing (every point is cached by its hash)
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    effective_noise.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes
    # a run of one part keeps the other parts' tables
    full = (tmp_path / "tables.md").read_text()
    effective_noise.run(str(tmp_path), quick=True, workers=1, parts=("dt",))
    assert (tmp_path / "tables.md").read_text() == full


def test_a_partial_study_run_merges_its_tables_into_the_others():
    from dmft.app.studies.common import merge_sections
    old = "## A\n\n| a |\n\n## B\n\nold b\n\n## C\n\nc\n"
    new = "## B\n\nnew b\n\n## D\n\nd\n"
    assert merge_sections(old, new) == "## A\n\n| a |\n\n## B\n\nnew b\n\n## C\n\nc\n\n## D\n\nd\n"
    assert merge_sections("", new) == new and merge_sections(new, new) == new


def test_precision_study_tiny(tmp_path, monkeypatch, capsys):
    """The precision study at a tiny point: every part runs, prints its tables, caches each run,
    and a re-run computes nothing."""
    from dmft.app.studies import precision

    tiny = dict(params=dict(alpha=1.0, delta=0.0, dynamics="sgd", b=0.7, dt=0.1, t_max=2.0, tw=(1.0,),
                            replicas=2), lags=(0.5,), times=(1.0, 2.0), n_paths=256)
    monkeypatch.setitem(precision.POINTS, "tiny", tiny)
    monkeypatch.setitem(precision.SIMS, "tiny", [(50, 2)])
    monkeypatch.setattr(precision, "N_SEEDS", 3)
    args = ["-o", str(tmp_path), "--points", "tiny", "--parts", "seeds,budget,sims,bias", "--runs", "2"]
    precision.main(args)
    out = capsys.readouterr().out
    assert "3 seeds at the tiny point" in out and "gain at equal time" in out
    assert "budget at the tiny point" in out and "probe varies" in out
    assert "simulations at the tiny point" in out and "d@1" in out
    assert "bias at the tiny point" in out and "combined error" in out
    runs = sorted(os.listdir(tmp_path / "runs"))
    assert len(runs) == 2 * 3 + 2 * 5 * 2 + 1
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in runs}
    precision.main(args)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in runs} == mtimes


@pytest.mark.slow   # about 2 minutes on 2 cores; its fits and matchings are checked below by default
def test_generalisation_study_quick(tmp_path):
    """Every part runs at tiny sizes, writes its tables, CSVs and figures, and a re-run computes
    nothing."""
    from dmft.app.studies import generalisation as g
    data = g.run(str(tmp_path), quick=True, workers=1)
    for name in ("tables.md", "results.csv", "time_courses.csv", "dt_limit.csv", "matched.csv", "finite_size.csv",
                 "eps_vs_b.png", "eps_time.png", "dt.png", "langevin.png", "finite_size.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    parts = {r["part"] for r in data["rows"]}
    assert parts == set(g.PARTS)
    labels = [label for _, label, _, _ in g.points(False, g.PARTS)]
    assert len(labels) == len(set(labels))           # per-seed values are keyed by label
    assert {r["noise_class"] for r in data["rows"] if r["part"] == "class"} == set(g.INJECTED_CLASSES)
    assert sorted(r["dt"] for r in g._sel(data["rows"], "dt", "dmft")) == sorted(g.DT_VALUES)
    assert {m["matched"] for m in data["matched"]} >= {"T_short", "T_slow"}
    assert {r["question"] for r in data["paired"]} == {q for q, _, _ in g.comparisons()}
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    g.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes
    # a run of one part rewrites its rows and keeps the others' (to the digit; the limits of the
    # size part are made again from the rows read back)
    tables = {n: (tmp_path / n).read_text().splitlines() for n in ("results.csv", "paired.csv", "finite_size.csv")}
    g.run(str(tmp_path), quick=True, workers=1, parts=("dt",))
    for n, lines in tables.items():
        now = (tmp_path / n).read_text().splitlines()
        if n == "finite_size.csv":
            now, lines = ([x for x in v if "->inf" not in x] for v in (now, lines))
        assert sorted(now) == sorted(lines), n


def test_generalisation_study_derived_quantities(monkeypatch):
    """The fits and matchings of the study on inputs with known answers."""
    import math

    import numpy as np

    from dmft.app.studies import generalisation as g
    x = np.array([0.05, 0.1, 0.2, 0.3])
    fit = g.wls_poly(x, 0.25 - 0.02 * x, np.full(4, 0.001))
    assert abs(fit["dt0"] - 0.25) < 1e-12 and abs(fit["slope"] + 0.02) < 1e-12 and fit["chi2_dof"] < 1e-20
    assert 0.0005 < fit["dt0_err"] < 0.001          # four points of error 0.001 pin the intercept
    y = 0.25 - 0.02 * x + 0.1 * x ** 2               # curved: the line fails its chi^2, the parabola is exact
    assert g.wls_poly(x, y, np.full(4, 0.0001))["chi2_dof"] > 10
    quad = g.wls_poly(x, y, np.full(4, 0.0001), degree=2)
    assert abs(quad["dt0"] - 0.25) < 1e-10 and abs(quad["curvature"] - 0.1) < 1e-8 and quad["chi2_dof"] < 1e-12
    seeds = {("a", "dmft"): {"eps_g": np.array([1.0, 2.0, 3.0]), "m": np.zeros(3), "energy": np.zeros(3)},
             ("b", "dmft"): {"eps_g": np.array([0.5, 1.6, 2.4]), "m": np.zeros(3), "energy": np.zeros(3)}}
    monkeypatch.setattr(g, "comparisons", lambda: [("q", "a", "b")])
    (row,) = g.paired(seeds)
    assert abs(row["eps_g"] - 0.5) < 1e-12 and abs(row["eps_g_err"] - 0.1 / np.sqrt(3)) < 1e-12
    c = g.combine([{"status": "ok", "a": 1.0}, {"status": "ok", "a": 3.0}])
    assert c["a"] == 2.0 and c["a_err"] == 1.0 and c["seeds"] == 2
    # with the repetitions of each seed (2 seeds x 3 systems), the error is that of all 6 systems
    reps = [{"a": np.array([0.0, 1.0, 2.0])}, {"a": np.array([2.0, 3.0, 4.0])}]
    c = g.combine([{"status": "ok", "a": 1.0}, {"status": "ok", "a": 3.0}], reps)
    assert c["a"] == 2.0 and c["a_err"] == pytest.approx(np.std([0, 1, 2, 2, 3, 4], ddof=1) / math.sqrt(6))
    # one repetition a seed, or unequal counts: the error over seeds
    assert g.combine([{"status": "ok", "a": 1.0}, {"status": "ok", "a": 3.0}],
                     [{"a": np.array([1.0])}, {"a": np.array([3.0])}])["a_err"] == 1.0
    # Langevin rows: eps_g = 0.2 + T, distance = 10 T; sgd has distance 0.5 (-> T = 0.05) and T_slow 0.02
    lang = [{"part": "langevin", "kind": "dmft", "dynamics": "langevin", "temperature": T, "eps_g": 0.2 + T,
             "eps_g_err": 0.001, "distance": 10 * T, "distance_err": 0.01, "energy": T, "energy_err": 0.0}
            for T in (0.01, 0.03, 0.1)]
    sgd = {"part": "langevin", "kind": "dmft", "dynamics": "sgd", "label": "sgd", "eps_g": 0.25, "eps_g_err": 0.001,
           "distance": 0.5, "distance_err": 0.01, "energy": 0.0, "energy_err": 0.0, "T_short": 0.08, "T_short_err": 0.0,
           "T_static": math.nan, "T_static_err": math.nan, "T_slow": 0.02, "T_slow_err": 0.0}
    m = {r["matched"]: r for r in g.matched(lang + [sgd])}
    assert abs(m["distance"]["T"] - 0.05) < 1e-12 and abs(m["distance"]["eps_g_langevin"] - 0.25) < 1e-12
    assert abs(m["distance"]["T_err"] - 0.001) < 1e-12          # distance error / slope 10
    assert abs(m["T_slow"]["eps_g_langevin"] - 0.22) < 1e-12 and m["T_slow"]["difference_sigma"] < -20
    assert math.isnan(m["T_static"]["eps_g_langevin"])          # no T_static: no matching, not a number
    # the size part: simulations exactly on v = 0.3 + 50 / N -> their line gives 0.3 at N -> inf;
    # z of each row against the DMFT at the most paths (0.31 +- 0.01)
    sizes = [{"part": "size", "label": "gd", "x": N, "kind": "simulation", "N": N, "n_paths": math.nan,
              "samples": 8, "seeds": 8, "status": "ok", **{n: 0.3 + 50 / N for n in g.SIZE_NUMBERS},
              **{n + "_err": 0.01 for n in g.SIZE_NUMBERS}} for N in (500, 1000, 2000)]
    sizes += [{"part": "size", "label": "gd", "x": P, "kind": "dmft", "N": math.nan, "n_paths": P, "samples": 8,
               "seeds": 8, "status": "ok", **{n: v for n in g.SIZE_NUMBERS}, **{n + "_err": 0.01 for n in g.SIZE_NUMBERS}}
              for P, v in ((2048, 0.5), (8192, 0.31))]
    out = {(r["x"], r["kind"]): r for r in g.finite_size(sizes)}
    inf = out.pop((math.inf, "simulation N->inf"))
    assert abs(inf["m"] - 0.3) < 1e-12 and abs(inf["m_beta"] - 50) < 1e-9
    assert inf["m_chi2_dof"] < 1e-20 and 0 < inf["m_err"] < 0.03 and inf["samples"] == 24
    assert abs(inf["eps_g_z"] - (0.3 - 0.31) / math.hypot(inf["eps_g_err"], 0.01)) < 1e-12
    # the DMFT's line in 1/n_paths through 0.5 at 2048 and 0.31 at 8192 paths: 0.31 - beta / 8192
    paths = out.pop((math.inf, "dmft n_paths->inf"))
    beta = 0.19 / (1 / 2048 - 1 / 8192)
    assert paths["eps_g"] == pytest.approx(0.31 - beta / 8192) and paths["eps_g_beta"] == pytest.approx(beta)
    out = {x: r for (x, _), r in out.items()}
    assert abs(out[500]["frac_unsat_z"] - (0.4 - 0.31) / math.hypot(0.01, 0.01)) < 1e-9 and out[8192]["gap_mean_z"] == 0.0
    # rows read back are kept as they are, their limits made again (a table without the DMFT's
    # line gets it)
    full = g.finite_size(sizes)
    old = [dict(r, m_z=99.0) for r in full if r["kind"] != "dmft n_paths->inf"]
    again = g.with_limits(old)
    assert again[:len(sizes)] == old[:len(sizes)]
    assert [r["kind"] for r in again[len(sizes):]] == ["simulation N->inf", "dmft n_paths->inf"]
    assert again[-1]["m"] == pytest.approx(paths["m"])
    # a line that misses its points: its error scaled by sqrt(chi2/dof)
    bent = [dict(r, m=r["m"] + (0.05 if r["x"] == 1000 else 0.0)) for r in sizes]
    sim = next(r for r in g.finite_size(bent) if r["kind"] == "simulation N->inf")
    plain = g.fit_line(np.array([500.0, 1000.0, 2000.0]), np.array([r["m"] for r in bent[:3]]), np.full(3, 0.01))
    assert plain["chi2_dof"] > 1 and sim["m_err"] == pytest.approx(plain["v_inf_err"] * math.sqrt(plain["chi2_dof"]))


def test_generalisation_study_keeps_the_rows_of_parts_it_did_not_run(tmp_path):
    from dmft.app.studies.common import kept_rows

    (tmp_path / "r.csv").write_text("part,label,eps_g,status\nb,gd,0.25,ok\nlangevin,UNSAT gd,0.13,\n")
    (old,) = kept_rows(str(tmp_path / "r.csv"), lambda r: r["part"] in ("b",))
    assert old == {"part": "langevin", "label": "UNSAT gd", "eps_g": 0.13}     # an empty cell: no such column
    assert kept_rows(str(tmp_path / "missing.csv"), lambda r: False) == []


def test_gap_moments_of_a_known_histogram():
    import numpy as np

    from dmft.app.studies.generalisation import gap_moments
    from dmft.core.model import gap_edges

    class R:
        pass
    r = R()
    edges = gap_edges(0.0)
    hist = np.zeros((1, len(edges) - 1))
    hist[0, np.searchsorted(edges, -0.1)] = 1.0      # [-0.1, 0): a contact approached from below
    hist[0, np.searchsorted(edges, 1.0)] = 1.0       # [1.0, 1.1)
    r.extra = {"gap_edges": edges, "gap_hist": hist}
    mean, std, near = gap_moments(r)
    assert abs(mean - 0.5) < 1e-9 and abs(std - 0.55) < 1e-9 and abs(near - 0.5) < 1e-12


def test_remeasure_follows_up_disagreements_at_the_longer_horizon_and_twice_n():
    """A DMFT value at t_max = 125 and a simulation at 375 that differ by 4 combined errors: the
    DMFT runs again at 375 (its own 16 waiting times) and the simulation at 2N with half its
    systems, at least 4; a pair within 2 errors, or a cell with one method only, gets nothing."""
    from dmft import DMFTMethod, ParticleMethod, Params
    from dmft.app.studies.remeasure import CHECK_Z, Value, check_tasks, pairs, z_score

    p = Params(alpha=4.0, delta=0.25, dynamics="sgd", b=0.5, dt=0.1, t_max=125.0, tw=(50.0, 75.0))
    dm = Value(0.0100, 0.0003, p, DMFTMethod(n_paths=1024, replicates=4))
    sim = Value(0.0095, 0.0004, p.replace(t_max=375.0, tw=(131.2, 206.2)), ParticleMethod(n=500, n_samples=6))
    close = Value(0.0101, 0.0003, p, DMFTMethod(n_paths=1024, replicates=4))
    assert z_score(dm, Value(0.0088, 0.0004, None, None)) == pytest.approx(2.4)
    found = pairs({("unsat x=1 bernoulli", "dmft"): dm, ("unsat x=2 bernoulli", "dmft"): close,
                   ("unsat x=3 bernoulli", "dmft"): dm},
                  {("unsat x=1 bernoulli", "simulation"): Value(0.0088, 0.0004, sim.params, sim.method),
                   ("unsat x=2 bernoulli", "simulation"): sim})
    assert set(found) == {"unsat x=1 bernoulli", "unsat x=2 bernoulli"}   # x=3 has one method only
    assert abs(z_score(close, sim)) < CHECK_Z
    follow = check_tasks(found)
    assert [(label, role) for label, role, _ in follow] == [
        ("unsat x=1 bernoulli", "dmft at t_max = 375"), ("unsat x=1 bernoulli", "simulation N = 1000 at t_max = 375")]
    rerun, bigger = follow[0][2], follow[1][2]
    assert rerun.params.t_max == 375.0 and len(rerun.params.tw) == 16 and rerun.method == dm.method
    assert min(rerun.params.tw) >= 0.35 * 375 - 0.1 and max(rerun.params.tw) <= 0.55 * 375 + 0.1
    assert bigger.params.t_max == 375.0 and bigger.method.n == 1000 and bigger.method.n_samples == 4


def test_remeasure_compares_a_still_relaxing_cell_at_the_shorter_horizon():
    """A DMFT at t_max = 250 (or the study's at 125) and a simulation still relaxing
    (``not_reached``) at 3375 that differ by more than 2 errors: the simulation runs again at the
    DMFT's point (its t_max and waiting times), with 16 systems of its own N and seed, and the
    study's DMFT (of the probe era) is solved again there as it was; a longer side that is ``ok``,
    or a pair within 2 errors, gets nothing."""
    from dmft import DMFTMethod, ParticleMethod, Params
    from dmft.app.studies.remeasure import MATCHED_SYSTEMS, Value, matched_tasks

    p = Params(alpha=4.0, delta=0.25, dynamics="sgd", b=0.5, dt=0.1, t_max=250.0, tw=(87.5, 137.5))
    dm = DMFTMethod(n_paths=1024, replicates=8)
    sim = ParticleMethod(n=500, n_samples=4)
    late = p.replace(t_max=3375.0, tw=(1181.2, 1856.2), seed=11)
    sides = {("unsat x=1 bernoulli", "dmft"): (Value(0.00316, 0.000012, p, dm), "not_reached"),
             ("unsat x=1 bernoulli", "simulation"): (Value(0.00278, 0.00007, late, sim), "not_reached"),
             ("unsat x=2 bernoulli", "simulation"): (Value(0.00341, 0.00013, late, sim), "not_reached"),
             ("unsat x=3 bernoulli", "dmft"): (Value(0.00316, 0.000012, p, dm), "not_reached"),
             ("unsat x=3 bernoulli", "simulation"): (Value(0.00278, 0.00007, late, sim), "ok"),
             ("unsat x=4 bernoulli", "dmft"): (Value(0.00290, 0.00010, p, dm), "ok"),
             ("unsat x=4 bernoulli", "simulation"): (Value(0.00278, 0.00007, late, sim), "not_reached")}
    study = {("unsat x=2 bernoulli", "dmft"): Value(0.00373, 0.00009, p.replace(t_max=125.0, tw=(50.0, 75.0)), dm)}
    follow = matched_tasks(sides, study)
    assert [(label, role) for label, role, _ in follow] == [
        ("unsat x=1 bernoulli", "simulation at the dmft point (t_max = 250)"),
        ("unsat x=2 bernoulli", "simulation at the dmft point (t_max = 125)"),
        ("unsat x=2 bernoulli", "dmft again at its point (t_max = 125, today's estimator)")]
    first, second, again = (t for _, _, t in follow)
    assert first.params == p.replace(seed=11) and second.params == p.replace(t_max=125.0, tw=(50.0, 75.0), seed=11)
    assert first.method == ParticleMethod(n=500, n_samples=MATCHED_SYSTEMS)
    assert again.params == study[("unsat x=2 bernoulli", "dmft")].params and again.method == dm


def test_remeasure_without_its_caches_keeps_the_tables(tmp_path):
    """On a fresh clone the measurements' cache is absent: a table-only run keeps the rows (and the
    follow-ups) that the last run wrote, instead of writing empty tables."""
    from dmft.app.studies import remeasure

    header = "phase,scan,x,noise_class,kind,alpha,delta,dynamics,b,tau,T_static,T_static_err,d_inf,d_inf_err,teff_notes,distance_note"
    (tmp_path / "results.csv").write_text(
        header + "\nunsat,b,0.3,bernoulli,dmft,4,0.5,sgd,0.3,nan,,,,,no plateau,\n"
        "unsat,b,0.3,bernoulli,simulation,4,0.5,sgd,0.3,nan,0.0060,0.0001,,,,\n")
    (tmp_path / "fixed_horizon_map.csv").write_text("alpha,b,phase,d_inf,T_eff,teff_notes,distance_note\n")
    row = ("unsat b=0.3 bernoulli dmft,teff,ok,0.0063,2e-05,0.003,0.0127,5e-05,0.0033,4e-05,640,7,8192,6,6397.6,,"
           "6600,no plateau,80,not_reached within 30 min from t_max = 125,2eea87a8696001ff.h5")
    (tmp_path / "remeasured.csv").write_text(",".join(remeasure.COLUMNS) + "\n" + row + "\n")
    # a follow-up kept from a table of the older columns (without T_short, T_slow)
    check = "unsat b=0.3 bernoulli,simulation N = 4000 at t_max = 640,0.0062,0.0001,x.h5"
    (tmp_path / "remeasured_checks.csv").write_text("cell,run,value,error,file\n" + check + "\n")
    rows = remeasure.run(str(tmp_path), compute=False, sim_n=1000)
    assert [(r["cell"], r["status"], r["value"], r["t_max"], r["first_try"]) for r in rows] == [
        ("unsat b=0.3 bernoulli dmft", "ok", 0.0063, 640, "not_reached within 30 min from t_max = 125")]
    assert (tmp_path / "remeasured.csv").read_text().splitlines()[1] == row
    # z = (0.0063 - 0.0060) / 0.000102 = 2.9: the follow-ups (the study's simulation at the DMFT's
    # horizon and at twice its N), the one in the kept table written again, in today's columns
    assert (tmp_path / "remeasured_checks.csv").read_text().splitlines() == [
        ",".join(remeasure.CHECK_COLUMNS), check.replace(",x.h5", ",nan,nan,nan,nan,x.h5")]
    assert "| unsat b=0.3 bernoulli | 0.0063 ± 2e-05 (t_max 640, 8192 paths x 7) |" in (tmp_path / "remeasured.md").read_text()


def test_remeasure_finds_the_missing_cells_and_measures_one_again_with_more_budget(tmp_path):
    """A study table with one UNSAT cell without T_static and one SAT map cell without d_inf: one
    measurement each (the UNSAT one with waiting times that follow the horizon).  A cell named in
    ``more`` is measured with its budget (and first horizon, after '@') after every other cell;
    its measurement with the common budget is kept first only where it is cached."""
    from dmft.app.studies.remeasure import Again, missing_cells, tasks

    header = "phase,scan,x,noise_class,kind,alpha,delta,dynamics,b,tau,T_static,T_static_err,d_inf,d_inf_err,teff_notes,distance_note"
    (tmp_path / "results.csv").write_text(
        header + "\nunsat,b,0.3,bernoulli,dmft,4,0.5,sgd,0.3,nan,,,,,no plateau,\n"
        "unsat,b,0.5,bernoulli,dmft,4,0.5,sgd,0.5,nan,0.0078,0.0001,,,,\n")
    (tmp_path / "fixed_horizon_map.csv").write_text("alpha,b,phase,d_inf,T_eff,teff_notes,distance_note\n"
                                      "0.75,0.3,sat,,,,d(t) still moving\n0.75,0.5,sat,0.0003,,,\n")
    cells = missing_cells(str(tmp_path), ("scans", "map"))
    assert [(c[0], c[2], c[4]) for c in cells] == [("unsat b=0.3 bernoulli", "dmft", "no plateau"),
                                                    ("map alpha=0.75 b=0.3", "dmft", "d(t) still moving")]
    plain = tasks(str(tmp_path), ("scans", "map"), 900.0)
    more = {"unsat b=0.3 bernoulli dmft": Again.parse("40m@80"), "map alpha=0.75 b=0.3 dmft": 3600.0}
    # nothing cached: the cells of `more` only with their own budget, after the others
    todo = tasks(str(tmp_path), ("scans", "map"), 900.0, more=more)
    assert [(t.label, t.settings.budget, t.params.t_max) for t in todo] == [
        ("unsat b=0.3 bernoulli dmft", 2400.0, 80.0), ("map alpha=0.75 b=0.3 dmft", 3600.0, 40.0)]
    # the first measurement of a cell cached: kept (first), the second after every other cell and
    # after the cells of `more` never measured
    os.makedirs(tmp_path / "measured")
    (tmp_path / "measured" / plain[0].filename).write_bytes(b"")
    todo = tasks(str(tmp_path), ("scans", "map"), 900.0, more=more)
    assert [(t.label, t.settings.budget) for t in todo] == [
        ("unsat b=0.3 bernoulli dmft", 900.0), ("map alpha=0.75 b=0.3 dmft", 3600.0),
        ("unsat b=0.3 bernoulli dmft", 2400.0)]
    assert todo[0].key == plain[0].key and todo[2].key != todo[0].key
    assert todo[2].params == todo[0].params.replace(t_max=80.0) and todo[2].params.tw == ()
    assert todo[1].params.alpha == 0.75 and todo[0].params.b == 0.3
    for bad in ("40m@-3", "40m@soon", "soon"):
        with pytest.raises(Exception, match="invalid|must be"):
            Again.parse(bad)
    # a budget per quantity: T_eff measurements get theirs, the distance keeps its key
    per = tasks(str(tmp_path), ("scans", "map"), {"teff": 1800.0, "distance": 900.0})
    assert [(t.label, t.settings.budget) for t in per] == [("unsat b=0.3 bernoulli dmft", 1800.0),
                                                           ("map alpha=0.75 b=0.3 dmft", 900.0)]
    assert per[1].key == plain[1].key


def test_paths_bias_study_quick(tmp_path):
    """The n_paths-bias study at tiny sizes: a row per count and number, a fit per number with the
    extrapolation check, and a re-run computes nothing."""
    from dmft.app.studies import paths_bias

    data = paths_bias.run(str(tmp_path), quick=True, workers=1)
    assert os.path.getsize(tmp_path / "paths_bias.csv") > 0 and os.path.getsize(tmp_path / "paths_bias_runs.csv") > 0
    counts = set(paths_bias.QUICK_COUNTS)
    assert {r["n_paths"] for r in data["runs"]} == counts
    fits = {(r["point"], r["quantity"]): r for r in data["fits"]}
    assert set(fits) >= {("canonical", "energy"), ("slow", "energy"), ("slow", "1-C"), ("slow", "chi"),
                         ("sat", "d_inf"), ("sat", "d(t_max)")}
    slow = fits[("slow", "chi")]
    assert slow["counts"] == len(counts) and "extrapolated" in slow
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    paths_bias.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes


def test_fit_line_recovers_intercept_and_slope():
    import numpy as np
    from dmft.app.studies.common import fit_line

    n = np.array([1024.0, 4096.0, 16384.0, 65536.0])
    fit = fit_line(n, 0.5 + 3.0 / n, np.full(4, 1e-3))
    assert abs(fit["v_inf"] - 0.5) < 1e-12 and abs(fit["beta"] - 3.0) < 1e-8 and fit["chi2_dof"] < 1e-12


def test_finite_n_study_quick(tmp_path):
    """The finite-N study at tiny sizes: a row per run and number, a fit in 1/N and a pooled mean per
    number, each against the DMFT; a re-run computes nothing."""
    from dmft.app.studies import finite_n

    data = finite_n.run(str(tmp_path), quick=True, workers=1)
    assert (tmp_path / "finite_n.md").read_text().startswith("| quantity | method | N |")
    sims = [r for r in data["runs"] if r["method"] == "simulation" and r["quantity"] == "energy"]
    assert sorted(r["N"] for r in sims) == sorted(n for n, _, _ in finite_n.QUICK_SIMULATIONS)
    energy = next(r for r in data["fits"] if r["quantity"] == "energy")
    assert energy["runs"] == 2 and math.isfinite(energy["z_pooled_vs_dmft"]) and math.isfinite(energy["v_inf"])
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    finite_n.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes


def test_finite_n_fit_and_pooled_mean_of_known_numbers():
    from dmft.app.studies.finite_n import in_n

    rows = [{"N": n, "value": 0.5 + 3.0 / n, "error": 1e-3} for n in (500.0, 1000.0, 2000.0, 4000.0)]
    fit = in_n(rows)
    assert abs(fit["v_inf"] - 0.5) < 1e-12 and abs(fit["c"] - 3.0) < 1e-8 and fit["chi2_dof"] < 1e-12
    assert abs(fit["pooled"] - (0.5 + 3.0 * sum(1 / r["N"] for r in rows) / 4)) < 1e-12
    assert abs(fit["pooled_err"] - 1e-3 / 2) < 1e-15


def test_predict_finest_of_a_straight_line_and_of_a_curved_one():
    import numpy as np
    from dmft.app.studies.common import predict_finest

    dt = np.array([0.025, 0.2, 0.1, 0.05])                      # any order
    line = predict_finest(dt, 0.3 + 2.0 * dt, np.full(4, 1e-3))
    assert line["finest_dt"] == 0.025 and abs(line["predicted_at_finest"] - 0.35) < 1e-12
    assert abs(line["check_sigma"]) < 1e-9 and abs(line["dt0"] - 0.3) < 1e-12 and abs(line["slope"] - 2.0) < 1e-9
    curved = predict_finest(dt, 0.3 + 20.0 * dt ** 2, np.full(4, 1e-3))   # a line misses the finest
    assert curved["check_sigma"] > 3


def test_dt_limit_lines_of_known_numbers():
    """d_inf = dt (c0 + c1 dt) exactly: the line through d_inf / dt has intercept c0 and predicts
    the finest dt; the naive line through d_inf misses 0, by a known amount for sat-sgd only."""
    from dmft.app.studies.dt_limit import _fit

    rows = [{"dt": dt, "value": dt * (2e-3 + 4e-3 * dt), "error": 1e-6 * dt} for dt in (0.2, 0.1, 0.05, 0.025)]
    per = _fit("sat-sgd", "d_inf", rows, scale=True)
    assert per["quantity"] == "d_inf/dt" and abs(per["dt0"] - 2e-3) < 1e-12 and abs(per["check_sigma"]) < 1e-6
    assert math.isnan(per["exact_dt0"])
    naive = _fit("sat-sgd", "d_inf", rows)
    assert naive["exact_dt0"] == 0.0 and naive["dt0"] < 0 and naive["dt0_vs_exact_sigma"] < -3
    assert math.isnan(_fit("sat-psgd", "d_inf", rows)["exact_dt0"])


def test_dt_limit_keeps_the_rows_of_points_it_did_not_run(tmp_path):
    from dmft.app.studies.dt_limit import kept_rows

    (tmp_path / "r.csv").write_text(
        "point,dt,replicates,band,band_time,quantity,value,error,d_final,d_final_err,note\n"
        "sat-sgd,0.1,8,50,5,d_inf,1.5e-4,2e-6,1.4e-4,2e-6,\n"
        "unsat-psgd,0.1,4,37,3.7,T_eff,0.09,0.002,nan,nan,\n")
    (row,) = kept_rows(str(tmp_path / "r.csv"), [{"point": "unsat-psgd", "dt": 0.1}])
    assert row["point"] == "sat-sgd" and row["value"] == 1.5e-4 and row["replicates"] == 8 and row["dt"] == 0.1
    assert len(kept_rows(str(tmp_path / "r.csv"), [{"point": "unsat-psgd", "dt": 0.2}])) == 2   # another dt
    assert kept_rows(str(tmp_path / "missing.csv"), []) == []


@pytest.mark.slow   # about 40 s on 2 cores (nine solves, three of them UNSAT); its lines are checked above
def test_dt_limit_study_quick(tmp_path):
    """The dt-limit study at tiny sizes writes a row per point and dt, each with the number of its
    phase (and a re-run computes nothing)."""
    from dmft.app.studies import dt_limit

    data = dt_limit.run(str(tmp_path), quick=True, workers=1)
    for part in dt_limit.PARTS:
        rows = [r for r in data["runs"] if r["point"] == part]
        assert [r["dt"] for r in rows] == list(dt_limit.QUICK_DTS)
        assert {r["quantity"] for r in rows} == {"T_eff" if part.startswith("unsat") else "d_inf"}
    d = [r["d_final"] for r in data["runs"] if r["point"] == "sat-sgd"]
    assert d[0] > d[1] > d[2] > 0                # sgd's replicas drift apart less at smaller dt
    assert (tmp_path / "dt_limit.md").read_text().startswith("| point | dt | replicates |")
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    dt_limit.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes
    # a run of one part keeps the other parts' rows (read back from its table)
    again = dt_limit.run(str(tmp_path), quick=True, workers=1, parts=("unsat-psgd",))
    assert [(r["point"], r["dt"]) for r in again["runs"]] == [(r["point"], r["dt"]) for r in data["runs"]]
    assert [r["d_final"] for r in again["runs"]] == pytest.approx([r["d_final"] for r in data["runs"]], rel=1e-5,
                                                                  nan_ok=True)


def test_coverage_pairs_the_methods_and_counts_the_misses(tmp_path):
    """A paired table and a finite-N table under a fake root: z of each number, the summary, and
    the entries beyond 2 listed."""
    from dmft.app.studies import coverage

    (tmp_path / "docs" / "study").mkdir(parents=True)
    (tmp_path / "docs" / "study" / "results.csv").write_text(
        "phase,scan,x,noise_class,kind,T_static,T_static_err,d_inf,d_inf_err\n"
        "unsat,b,0.3,bernoulli,dmft,1.0,0.1,,\n"
        "unsat,b,0.3,bernoulli,simulation,0.5,0.1,,\n"                 # z = 0.5 / 0.1414 = 3.54
        "sat,b,0.3,bernoulli,dmft,,,2.0,0.3\n"
        "sat,b,0.3,bernoulli,simulation,,,2.0,0.4\n"                  # z = 0
        "sat,alpha,0.5,bernoulli,dmft,,,2.0,0.3\n"                    # the same point in another scan:
        "sat,alpha,0.5,bernoulli,simulation,,,2.0,0.4\n")             # one entry
    # the DMFT of the first cell measured again: compared with the study's simulation, and the
    # study's own entry of that cell superseded (listed, not counted)
    (tmp_path / "docs" / "study" / "remeasured.csv").write_text(
        "cell,quantity,status,value,error,T_short,T_short_err,T_slow,T_slow_err\n"
        "unsat b=0.3 bernoulli dmft,teff,ok,0.55,0.1,,,,\n"            # z = 0.05 / 0.1414
        "sat b=0.3 bernoulli simulation,distance,ok,2.0,0.4,,,,\n"
        "map alpha=4 b=0.3 dmft,teff,ok,9.0,0.1,,,,\n")                # map cells have no simulation
    # follow-ups: a DMFT at the simulations' horizon replaces the study's DMFT (z = 0.4 / 0.5), a
    # simulation at another N is one more entry (z = 0)
    (tmp_path / "docs" / "study" / "remeasured_checks.csv").write_text(
        "cell,run,value,error,file\n"
        "sat b=0.3 bernoulli,dmft at t_max = 120,2.4,0.3,x.h5\n"
        "unsat b=0.3 bernoulli,simulation N = 2000 at t_max = 120,0.55,0.1,y.h5\n")
    (tmp_path / "docs" / "finite-n").mkdir(parents=True)
    (tmp_path / "docs" / "finite-n" / "finite_n_runs.csv").write_text(
        "quantity,method,N,repetitions,seed,value,error,z_vs_dmft\n"
        "T_short,dmft,,8,21,1.0,0.3,\n"
        "T_short,simulation,1000,8,12,1.5,0.4,\n")                    # z = -0.5 / 0.5 = -1
    # the size part: the DMFT at the most paths (2.0 +- 0.3) against the largest N and N -> inf only
    (tmp_path / "docs" / "generalisation").mkdir(parents=True)
    (tmp_path / "docs" / "generalisation" / "finite_size.csv").write_text(
        "part,label,x,kind,N,n_paths,eps_g,eps_g_err\n"
        "size,gd,500,simulation,500,nan,9.0,0.1\n"
        "size,gd,1000,simulation,1000,nan,2.5,0.4\n"                    # z = -0.5 / 0.5 = -1
        "size,gd,2048,dmft,nan,2048,7.0,0.1\n"
        "size,gd,8192,dmft,nan,8192,2.0,0.3\n"
        "size,gd,inf,simulation N->inf,inf,nan,2.0,0.4\n")              # z = 0
    entries = coverage.run(str(tmp_path / "out"), root=str(tmp_path))
    zs = {(e["source"], e["number"], e["N"]): e["z"] for e in entries}
    assert zs == pytest.approx({("effective-noise", "T_static", ""): 0.5 / math.hypot(0.1, 0.1),
                                ("effective-noise", "d_inf", ""): 0.0, ("finite-n", "T_short", 1000): -1.0,
                                ("generalisation-size", "eps_g", "1000"): -1.0,
                                ("generalisation-size", "eps_g", "inf"): 0.0,
                                ("remeasured", "T_static", ""): 0.05 / math.hypot(0.1, 0.1),
                                ("remeasured", "T_static", "2000"): 0.0, ("remeasured", "d_inf", ""): 0.8})
    points = {e["point"]: e["superseded"] for e in entries if e["source"] == "effective-noise"}
    assert points == {"unsat b 0.3 bernoulli": "remeasured", "sat b 0.3 bernoulli = sat alpha 0.5 bernoulli": "remeasured"}
    assert [e["point"] for e in entries if e["number"] == "d_inf" and e["source"] == "remeasured"] == [
        "sat b=0.3 bernoulli (dmft at t_max = 120, simulation ok)"]
    s = coverage.summary(entries)
    assert (s["entries"], s["below_2"], s["above_3"]) == (6, 6, 0)
    text = (tmp_path / "out" / "coverage.md").read_text()
    assert "| all | 6 | 6 (100%) | 0 | -0.14 | 2 |" in text       # mean z (-1 - 1 + 0 + 0.35 + 0 + 0.8) / 6
    assert text.split("Superseded")[1].count("+3.54 |") == 1


def test_coverage_compares_each_limit_with_the_other(tmp_path):
    """The size part: the DMFT at its most paths against the largest N, and the DMFT's
    n_paths -> inf line against the simulations' N -> inf line."""
    from dmft.app.studies import coverage

    path = tmp_path / "finite_size.csv"
    path.write_text("part,label,x,kind,N,n_paths,energy,energy_err\n"
                    "size,gd,1000,simulation,1000,nan,5.0,0.4\n"
                    "size,gd,4000,simulation,4000,nan,4.0,0.3\n"
                    "size,gd,8192,dmft,nan,8192,9.0,0.4\n"
                    "size,gd,inf,simulation N->inf,inf,nan,3.5,0.5\n"
                    "size,gd,inf,dmft n_paths->inf,nan,inf,3.0,0.5\n")
    got = {(e["point"], e["N"]): e["z"] for e in coverage.size_entries(str(path))}
    assert got == {("gd (DMFT 8192 paths)", "4000"): pytest.approx(5.0 / 0.5),
                   ("gd (DMFT inf paths)", "inf"): pytest.approx(-0.5 / math.hypot(0.5, 0.5))}


def test_coverage_compares_a_still_relaxing_cell_at_one_horizon(tmp_path):
    """A simulation still relaxing at a longer horizon than the DMFT's, the simulation run again at
    the DMFT's point and the study's DMFT solved again there: those two are compared (every
    temperature they have), the study's comparison of two horizons is listed but superseded (not
    counted)."""
    from dmft.app.studies import coverage

    (tmp_path / "docs" / "study").mkdir(parents=True)
    (tmp_path / "docs" / "study" / "results.csv").write_text(
        "phase,scan,x,noise_class,kind,T_static,T_static_err,T_slow,T_slow_err\n"
        "unsat,alpha,3,bernoulli,dmft,1.0,0.1,0.5,0.05\n"
        "unsat,alpha,3,bernoulli,simulation,,,,\n")
    (tmp_path / "docs" / "study" / "remeasured.csv").write_text(
        "cell,quantity,status,value,error,T_short,T_short_err,T_slow,T_slow_err\n"
        "unsat alpha=3 bernoulli simulation,teff,not_reached,0.5,0.1,,,0.3,0.05\n")   # z = 3.5 and 2.8
    (tmp_path / "docs" / "study" / "remeasured_checks.csv").write_text(
        "cell,run,value,error,T_short,T_short_err,T_slow,T_slow_err,file\n"
        "unsat alpha=3 bernoulli,simulation at the dmft point (t_max = 125),0.9,0.1,nan,nan,0.45,0.05,x.h5\n"
        "unsat alpha=3 bernoulli,dmft again at its point (t_max = 125),1.1,0.1,nan,nan,0.4,0.05,y.h5\n")
    entries = [e for e in coverage.run(str(tmp_path / "out"), root=str(tmp_path)) if e["source"] == "remeasured"]
    got = {(e["point"], e["number"]): (e["z"], e["superseded"]) for e in entries}
    matched = ("unsat alpha=3 bernoulli (dmft again at its point (t_max = 125), "
               "simulation at the dmft point (t_max = 125))")
    apart = "unsat alpha=3 bernoulli (dmft study, simulation not_reached)"
    assert got == {(matched, "T_static"): (pytest.approx(0.2 / math.hypot(0.1, 0.1)), ""),
                   (matched, "T_slow"): (pytest.approx(-0.05 / math.hypot(0.05, 0.05)), ""),
                   (apart, "T_static"): (pytest.approx(0.5 / math.hypot(0.1, 0.1)), "matched horizon"),
                   (apart, "T_slow"): (pytest.approx(0.2 / math.hypot(0.05, 0.05)), "matched horizon")}
    assert coverage.summary(entries)["entries"] == 2


def test_sat_drift_study_quick(tmp_path):
    """The SAT-drift study at tiny sizes: every estimator of every point paired with the exact
    response on the same seeds (the exact one differs from itself by nothing), a table row per
    estimator and number, and a re-run computes nothing."""
    from dmft.app.studies import sat_drift

    rows = sat_drift.run(str(tmp_path), quick=True, workers=1)
    keys = {(r["point"], r["estimator"], r["quantity"]) for r in rows}
    assert keys == {(p, e, q) for p in sat_drift.PARTS for e in sat_drift.ESTIMATORS for q in sat_drift.NUMBERS}
    assert all(r["seeds"] == sat_drift.QUICK_SEEDS for r in rows)
    assert all(r["minus_exact"] == 0.0 for r in rows if r["estimator"] == "exact")
    # the band over half the horizon and the block response are closer to the exact response than
    # the probes at the teacher point
    diff = {r["estimator"]: abs(r["minus_exact"]) for r in rows if r["point"] == "teacher" and r["quantity"] == "gap_mean"}
    assert diff["band K/2"] < diff["probe"] and diff["blocks"] < diff["probe"]
    assert (tmp_path / "sat_drift.md").read_text().count("\n") == 2 + len(sat_drift.PARTS) * len(sat_drift.ESTIMATORS)
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    sat_drift.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes


def test_memory_window_study_quick(tmp_path):
    """The memory-window study at tiny sizes: every window of every point paired with the full
    march on the same seeds, one row per number, the bias with its error and the default's
    relative error beside it, and a re-run computes nothing."""
    import math

    from dmft.app.studies import memory_window as mw

    rows = mw.run(str(tmp_path), quick=True, workers=1)
    assert {r["point"] for r in rows} == set(mw.PARTS)
    assert {r["window"] for r in rows} == set(mw.QUICK["windows"])
    assert all(r["seeds"] == mw.QUICK["seeds"] for r in rows)
    assert {r["quantity"] for r in rows if r["point"] == "sat"} == {"energy", "d_final"}
    assert all(math.isfinite(r["bias"]) and r["bias_err"] >= 0 and r["default_err_rel"] > 0 for r in rows)
    assert (tmp_path / "memory_window.md").read_text().count("\n") == 2 + len(rows)
    mtimes = {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")}
    mw.run(str(tmp_path), quick=True, workers=1)
    assert {p: os.path.getmtime(tmp_path / "runs" / p) for p in os.listdir(tmp_path / "runs")} == mtimes


def test_mean_err_is_the_mean_and_its_standard_error_over_repetitions():
    import math
    import numpy as np
    from dmft.app.studies.common import mean_err
    from dmft.app.studies.generalisation import combine

    x = np.array([1.0, 2.0, 4.0, 7.0])
    mean, err = mean_err(x)
    assert mean == 3.5 and abs(err - x.std(ddof=1) / 2.0) < 1e-15
    assert mean_err([5.0])[0] == 5.0 and math.isnan(mean_err([5.0])[1])
    assert all(math.isnan(v) for v in mean_err([]))
    out = combine([{"status": "ok", "a": 1.0}, {"status": "ok", "a": 3.0}])
    assert out["a"] == 2.0 and out["a_err"] == 1.0 and out["seeds"] == 2
