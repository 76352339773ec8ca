"""The DMFT error budget and the precision per second of the solver (``docs/precision.md``).

Three points (:data:`POINTS`): the stationary UNSAT point ``alpha = 2, delta = 0.5``, the slow
(marginal) point ``alpha = 3, delta = 0`` and the SAT point ``alpha = 1, delta = 0`` (replica
distance), all sgd with ``dt = 0.1``.  Each DMFT run is one march (one replicate) with its own
``SeedSequence``; what is measured is the spread of the late-time observables over runs
(:data:`OBSERVABLES`), the mean against large-N simulations, and the wall and CPU time.

Parts (``--parts``, comma separated):

* ``budget``: freeze every random stream but one (``stream_seeds`` of
  :func:`dmft.solver.march.march`) and measure the spread it causes alone: which source of
  noise dominates (init, selection, omega = the Cholesky draw, probe = the response estimator);
* ``seeds``: 10 seeds of each estimator setting in :data:`SETTINGS` at each point (before =
  probes at every lag, after = the exact short-lag band, ``exact_lags``);
* ``paths``: the spread and mean against ``n_paths`` with the default setting;
* ``sims``: the large-N simulations that are the reference of the bias;
* ``bias``: the DMFT means of ``seeds`` against the simulations (reads the cache only).

Every run is cached as JSON under ``<out>/runs`` (a rerun computes only what is missing); the
tables are printed as markdown.  Run::

    python -m dmft.app.studies.precision -o docs/precision [--parts budget,seeds,paths,sims,bias]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

from ...core.methods import DMFTMethod, ParticleMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ...core.result import Result
from ...solver.assemble import observables as march_observables
from ...solver.march import march
from ..api import run
from .common import PINNED_DMFT

#: the three points of the budget: parameters, the lags after tw of 1 - C and chi, the times of
#: the distance, the paths per march (4096 at the stationary point: 1500 steps, to fit the session);
#: ``stationary-d`` and ``marginal-d`` are those points with two replicas (the replica distance)
POINTS = {
    "stationary": dict(params=dict(alpha=2.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=150.0,
                                   tw=(100.0,)), lags=(20.0, 50.0), times=(150.0,), n_paths=4096),
    "marginal": dict(params=dict(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=50.0,
                                 tw=(40.0,)), lags=(10.0,), times=(50.0,), n_paths=16384),
    "stationary-d": dict(params=dict(alpha=2.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=150.0,
                                     tw=(100.0,), replicas=2), lags=(20.0, 50.0), times=(100.0, 150.0),
                         n_paths=4096),
    "marginal-d": dict(params=dict(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=50.0,
                                   tw=(40.0,), replicas=2), lags=(10.0,), times=(40.0, 50.0), n_paths=8192),
    "sat": dict(params=dict(alpha=1.0, delta=0.0, dynamics="sgd", b=0.7, dt=0.1, t_max=10.0,
                            tw=(5.0,), replicas=2), lags=(5.0,), times=(5.0, 10.0), n_paths=16384),
}
#: estimator settings compared at equal n_paths: name -> DMFTMethod overrides
SETTINGS = {
    "before": dict(n_probes=4, exact_lags=0),
    "after": dict(n_probes=4, exact_lags=-1),
}
STREAMS = ("init", "selection", "omega", "probe")
N_SEEDS = 10
#: the large-N simulations of the bias: point -> list of (N, samples)
SIMS = {"stationary": [(1000, 8), (2000, 6), (4000, 6)], "marginal": [(1000, 8), (2000, 6), (4000, 6)],
        "stationary-d": [(2000, 6)], "marginal-d": [(2000, 6)], "sat": [(1000, 12), (2000, 8)]}


def observables(result, point: dict) -> dict:
    """The late-time numbers of one result: energy and nu at t_max, 1 - C and chi at the lags
    after tw, the replica distance at the times (with two replicas)."""
    def index(t: float) -> int:
        return int(round(t / result.params.dt))

    out = {"energy": float(result.energy[-1]), "nu": float(result.nu[-1])}
    tw = float(result.tw[0])
    for s in point["lags"]:
        i = index(tw + s)
        out[f"1-C@{s:g}"] = float(1.0 - result.C[0, i])
        out[f"chi@{s:g}"] = float(result.chi[0, i])
    if result.distance is not None:
        for t in point["times"]:
            out[f"d@{t:g}"] = float(result.distance[index(t)])
    return out


def _run_dmft(point: dict, method: DMFTMethod, seed: int, stream_seeds=None) -> dict:
    params = Params(seed=seed, **point["params"])
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if stream_seeds is None:
        result = run(params, method)
        obs = observables(result, point)
        status = result.status.value
    else:  # one march with some streams frozen
        out = march(params, method, root=np.random.SeedSequence(seed), stream_seeds=stream_seeds)
        o = march_observables(params, out)
        result = Result(params=params, method=method, status=out.status, t=out.t, energy=o["energy"],
                        frac_unsat=o["frac_unsat"], nu=o["nu"], tw=np.asarray(params.tw, float),
                        C=o["C"], chi=o["chi"], distance=o.get("distance"))
        obs = observables(result, point)
        status = out.status.value
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"status": status, "wall_s": time.perf_counter() - t0,
            "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), **obs}


def _read(path: str):
    """A cached run, or None."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _cached(path: str, compute) -> dict:
    value = _read(path)
    if value is None:
        value = compute()
        write_atomic(path, json.dumps(value).encode())
    return value


def summarise(rows: list, names=None) -> dict:
    """Mean, standard deviation over runs and relative spread of each observable."""
    names = names or [k for k in rows[0] if k not in ("status", "wall_s", "cpu_s")]
    out = {}
    for name in names:
        v = np.array([r[name] for r in rows], float)
        mean, sd = v.mean(), v.std(ddof=1) if len(v) > 1 else np.nan
        out[name] = (mean, sd, sd / abs(mean) if mean else np.nan)
    out["wall_s"] = float(np.mean([r["wall_s"] for r in rows]))
    out["cpu_s"] = float(np.mean([r["cpu_s"] for r in rows]))
    return out


def _table(title: str, summaries: dict) -> None:
    print(f"\n### {title}\n")
    names = [k for k in next(iter(summaries.values())) if k not in ("wall_s", "cpu_s")]
    print("| run | " + " | ".join(names) + " | wall s | cpu s |")
    print("|---" * (len(names) + 3) + "|")
    for label, s in summaries.items():
        cells = [f"{s[n][0]:.5g} ± {100 * s[n][2]:.2f}%" for n in names]
        print(f"| {label} | " + " | ".join(cells) + f" | {s['wall_s']:.1f} | {s['cpu_s']:.1f} |")


def part_budget(out: str, points, n_runs: int, settings=tuple(SETTINGS)) -> None:
    for name in points:
        point = POINTS[name]
        summaries = {}
        for setting in settings:
            over = SETTINGS[setting]
            method = DMFTMethod(n_paths=point["n_paths"], replicates=1, **PINNED_DMFT, **over)
            for source in ("all",) + STREAMS:
                rows = []
                for r in range(n_runs):
                    if source == "all":
                        ss, seed = None, 5000 + r
                    else:
                        ss, seed = {s: (7000 + r if s == source else 99) for s in STREAMS}, 1
                    path = os.path.join(out, "runs", f"budget-{name}-{setting}-{source}-{r}.json")
                    rows.append(_cached(path, lambda: _run_dmft(point, method, seed, ss)))
                summaries[f"{setting}: {source} varies"] = summarise(rows)
        _table(f"budget at the {name} point ({point['n_paths']} paths, {n_runs} runs each)", summaries)


def part_seeds(out: str, points) -> dict:
    all_summaries = {}
    for name in points:
        point = POINTS[name]
        rows = {setting: [] for setting in SETTINGS}
        for s in range(N_SEEDS):  # settings interleaved: their times are taken under the same load
            for setting, over in SETTINGS.items():
                method = DMFTMethod(n_paths=point["n_paths"], replicates=1, **PINNED_DMFT, **over)
                rows[setting].append(_cached(os.path.join(out, "runs", f"seeds-{name}-{setting}-{s}.json"),
                                             lambda: _run_dmft(point, method, 100 + s)))
        summaries = {setting: summarise(r) for setting, r in rows.items()}
        _table(f"{N_SEEDS} seeds at the {name} point ({point['n_paths']} paths, one march each)", summaries)
        # variance x time: the figure of merit of each observable, after against before
        b, a = summaries["before"], summaries["after"]
        print("\n| observable | variance ratio before/after | cpu time ratio after/before | "
              "gain at equal time |\n|---|---|---|---|")
        for n in [k for k in b if k not in ("wall_s", "cpu_s")]:
            vr = (b[n][1] / a[n][1]) ** 2
            tr = a["cpu_s"] / b["cpu_s"]
            print(f"| {n} | {vr:.1f} | {tr:.2f} | {vr / tr:.1f} |")
        all_summaries[name] = summaries
    return all_summaries


def part_paths(out: str, points, n_runs: int) -> None:
    for name in points:
        point = POINTS[name]
        summaries = {}
        for n_paths in (4096, 16384, 65536):
            method = DMFTMethod(n_paths=n_paths, replicates=1, **PINNED_DMFT, **SETTINGS["after"])
            runs = n_runs if n_paths < 65536 else max(3, n_runs // 2)
            rows = [_cached(os.path.join(out, "runs", f"paths-{name}-{n_paths}-{s}.json"),
                            lambda: _run_dmft(point, method, 300 + s)) for s in range(runs)]
            summaries[f"{n_paths} paths ({runs} runs)"] = summarise(rows)
        _table(f"n_paths at the {name} point (after)", summaries)


def part_sims(out: str, points) -> None:
    for name in points:
        point = POINTS[name]
        summaries = {}
        for n, samples in SIMS[name]:
            params = Params(seed=11, **point["params"])
            res = _cached(os.path.join(out, "runs", f"sims-{name}-{n}.json"),
                          lambda: _sim_row(params, point, n, samples))
            summaries[f"N = {n} ({samples} samples)"] = res
        print(f"\n### simulations at the {name} point (mean ± standard error over samples)\n")
        names = [k for k in next(iter(summaries.values())) if not k.endswith("_sem") and k != "wall_s"]
        print("| run | " + " | ".join(names) + " |\n" + "|---" * (len(names) + 1) + "|")
        for label, s in summaries.items():
            print(f"| {label} | " + " | ".join(f"{s[k]:.5g} ± {s[k + '_sem']:.2g}" for k in names) + " |")


def part_bias(out: str, points) -> None:
    """DMFT means over the 10 seeds (standard error = spread / sqrt(10)) against the simulations,
    with the difference in units of the combined standard error."""
    for name in points:
        point = POINTS[name]
        sims = [(n, s) for n, s in SIMS[name] if os.path.exists(os.path.join(out, "runs", f"sims-{name}-{n}.json"))]
        if not sims:
            continue
        print(f"\n### bias at the {name} point: DMFT ({point['n_paths']} paths, {N_SEEDS} seeds) "
              f"against simulations\n")
        print("| observable | DMFT before | DMFT after | " + " | ".join(f"simulation N = {n}" for n, _ in sims)
              + " | (after - sim) / combined error |\n" + "|---" * (4 + len(sims)) + "|")
        dmft = {setting: [_read(os.path.join(out, "runs", f"seeds-{name}-{setting}-{s}.json"))
                          for s in range(N_SEEDS)] for setting in SETTINGS}
        if any(row is None for rows in dmft.values() for row in rows):
            print("(the seeds part has not run for this point)")
            continue
        sim = [_read(os.path.join(out, "runs", f"sims-{name}-{n}.json")) for n, _ in sims]
        for k in [k for k in sim[0] if not k.endswith("_sem") and k != "wall_s"]:
            cells = []
            for setting in SETTINGS:
                v = np.array([r[k] for r in dmft[setting]])
                cells.append((v.mean(), v.std(ddof=1) / np.sqrt(len(v))))
            z = (cells[-1][0] - sim[-1][k]) / np.hypot(cells[-1][1], sim[-1][k + "_sem"])
            print(f"| {k} | " + " | ".join(f"{m:.5g} ± {e:.2g}" for m, e in cells) + " | "
                  + " | ".join(f"{r[k]:.5g} ± {r[k + '_sem']:.2g}" for r in sim) + f" | {z:+.1f} |")


def _sim_row(params, point, n, samples) -> dict:
    """Each sample's observables, their mean and standard error over samples."""
    rows = []
    t0 = time.perf_counter()
    for s in range(samples):
        r = run(params.replace(seed=params.seed * 1000 + s), ParticleMethod(n=n, n_samples=1))
        rows.append(observables(r, point))
    out = {"wall_s": time.perf_counter() - t0}
    for k in rows[0]:
        v = np.array([r[k] for r in rows])
        out[k] = float(v.mean())
        out[k + "_sem"] = float(v.std(ddof=1) / np.sqrt(len(v)))
    return out


def _warm_up() -> None:
    """Compile (or load) every numba kernel before anything is timed."""
    for over in SETTINGS.values():
        p = Params(alpha=1.0, delta=0.0, dt=0.1, t_max=1.0, tw=(0.5,), replicas=2)
        run(p, DMFTMethod(n_paths=256, replicates=1, **PINNED_DMFT, **over))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", default="docs/precision")
    parser.add_argument("--parts", default="seeds,budget,paths,sims,bias")
    parser.add_argument("--points", default=",".join(POINTS))
    parser.add_argument("--runs", type=int, default=6, help="runs per budget/paths row")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="estimator settings of the budget")
    args = parser.parse_args(argv)
    points = args.points.split(",")
    parts = args.parts.split(",")
    _warm_up()
    if "seeds" in parts:
        part_seeds(args.out, points)
    if "budget" in parts:
        part_budget(args.out, points, args.runs, args.settings.split(","))
    if "paths" in parts:
        part_paths(args.out, points, args.runs)
    if "sims" in parts:
        part_sims(args.out, points)
    if "bias" in parts:
        part_bias(args.out, points)


if __name__ == "__main__":
    main()
