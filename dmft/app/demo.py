"""The default job, ``dmft demo``: the two noise measures of SGD, theory against simulation.

Two canonical points (``docs/effective-temperature.md``), each solved by the DMFT (with
replicates, so with error bars) and simulated:

* ``unsat``: alpha = 4 > alpha_J(0.5) = 0.96, delta = 0.5, sgd b = 0.5, dt = 0.1, waiting times
  50 and 75, t_max = 125: the stationary UNSAT state, where the noise acts as a temperature;
  its effective temperature ``T_eff`` (= ``T_static``) with ``T_short`` and ``T_slow``.
* ``sat``: alpha = 0.5 < alpha_J, delta = 0.5, sgd b = 0.5, two replicas, t_max = 40: the SAT
  phase, where the energy vanishes and the replica distance freezes at ``d_inf``.

The runs go through the task runner (two processes, cached under ``OUTPUT/runs``: a second
``dmft demo`` only redraws).  The demo writes the HDF5 files under readable names, a comparison
figure per point, the final gap distributions, and ``summary.json`` with the estimates of every
file (the same objects as ``dmft teff --json``), and prints them.  Its sizes are smaller than
the library defaults (5.5 minutes on 2 cores shared with other work: the README's measured
times); the study uses the defaults.  ``python -m dmft.app.reference`` keeps its files in ``data/canonical/``.
"""

from __future__ import annotations

import json
import logging
import os

from ..analysis.distance import long_time_distance
from ..analysis.figures import compare_figure, describe, gap_histogram_figure
from ..analysis.teff import fit_teff, plateau_text
from ..core.methods import DMFTMethod, ParticleMethod
from ..core.outputs import link_atomic, write_atomic
from ..core.params import Params
from .runner import Task, load_task, run_tasks

logger = logging.getLogger(__name__)

#: The demo points (see the module docstring).
DEMO_POINTS = {
    "unsat": dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=125.0, tw=(50.0, 75.0), seed=1),
    # no waiting times: in SAT the noise measure is the distance, and the state is not stationary
    "sat": dict(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=40.0, tw=(), replicas=2, seed=1),
}
#: The demo's methods: 4 replicates of 8192 paths; N = 1000 with 8 samples.
DEMO_METHODS = {"dmft": dict(n_paths=8192, replicates=4), "simulation": dict(n=1000, n_samples=8)}


def _estimates(result) -> dict:
    out = {"file_kind": result.kind, "method": result.method.describe()}
    if len(result.tw):
        try:
            out["teff"] = fit_teff(result, warn=False).to_dict()
        except ValueError as exc:
            out["teff"] = {"error": str(exc)}
    if result.distance is not None:
        try:
            out["distance"] = long_time_distance(result, warn=False).to_dict()
        except ValueError as exc:
            out["distance"] = {"error": str(exc)}
    return out


def _line(name: str, kind: str, est: dict) -> str:
    def val(v, e):
        if v is None:
            return "not available"
        return f"{v:.4g} +/- {e:.2g}" if e is not None else f"{v:.4g}"

    parts = []
    if "teff" in est and "error" not in est["teff"]:
        t = est["teff"]
        parts.append(f"T_eff = {val(t['T_eff'], t['T_eff_err'])} (T_static, tw = {t['tw']:g}, "
                     f"{plateau_text(t['window'])}), T_short = {val(t['T_short'], t['T_short_err'])}, "
                     f"stationary: {t['stationary']}")
    if "distance" in est and "error" not in est["distance"]:
        d = est["distance"]
        parts.append(f"d_inf = {val(d['d_inf'], d['d_inf_err'])} (mean of d(t) over t in "
                     f"[{d['window'][0]:g}, {d['window'][1]:g}], SAT: {d['sat']})")
    return f"  {name:6s} {kind:10s}: " + "; ".join(parts)


def run_demo(output: str = "dmft-demo", progress: bool = False, points: dict | None = None,
             methods: dict | None = None, workers: int | None = 2) -> dict:
    """Run the demo into ``output``; returns {name: {"theory", "simulation", "figure", "estimates"}}
    and writes ``output/summary.json``; :func:`report` gives the lines to print.  ``points`` and
    ``methods`` replace the defaults (tests).  Progress goes to this module's logger (a line per
    finished run and a heartbeat at least every 10 s without a bar)."""
    points = points or DEMO_POINTS
    methods = {**DEMO_METHODS, **(methods or {})}
    dm, sim = DMFTMethod(**methods["dmft"]), ParticleMethod(**methods["simulation"])
    os.makedirs(output, exist_ok=True)
    tasks = {(name, kind): Task(Params(**point), method, f"{name} demo point")
             for name, point in points.items() for kind, method in (("dmft", dm), ("simulation", sim))}
    cache = os.path.join(output, "runs")
    logger.info(f"demo: {len(points)} points, DMFT ({dm.describe()}) and simulations ({sim.describe()}) "
                f"-> {output}")
    summary = run_tasks(tasks.values(), cache, workers=workers, progress=progress)
    if summary.failed:
        raise RuntimeError("demo runs failed:\n" + summary.describe())
    out, gap_runs, report = {}, [], {}
    for name in points:
        theory, sim_r = load_task(cache, tasks[(name, "dmft")]), load_task(cache, tasks[(name, "simulation")])
        # the runs are written once, in the cache; the readable names are second names of them
        th_path = link_atomic(os.path.join(cache, tasks[(name, "dmft")].filename), os.path.join(output, f"{name}-dmft.h5"))
        sm_path = link_atomic(os.path.join(cache, tasks[(name, "simulation")].filename),
                              os.path.join(output, f"{name}-sim.h5"))
        fig = compare_figure(theory, sim_r, os.path.join(output, f"{name}-compare.png"))
        estimates = {"dmft": _estimates(theory), "simulation": _estimates(sim_r)}
        out[name] = {"theory": th_path, "simulation": sm_path, "figure": fig, "estimates": estimates}
        report[name] = {"theory_file": os.path.basename(th_path), "simulation_file": os.path.basename(sm_path),
                        **estimates}
        gap_runs += [(name, theory), (name, sim_r)]
    gap_histogram_figure(gap_runs, os.path.join(output, "gaps.png"), title="Final gap distribution at the demo points",
                         panels={f"{name.upper()}: {describe(Params(**points[name]))}": [name] for name in points})
    write_atomic(os.path.join(output, "summary.json"), json.dumps(report, indent=1).encode())
    return out


def report(out: dict, output: str) -> list:
    """The demo's results as lines for a terminal: the estimates, the files and the figures."""
    lines = ["noise of SGD, DMFT against simulation (docs/effective-temperature.md):"]
    for name, entry in out.items():
        for kind, est in entry["estimates"].items():
            lines.append(_line(name, kind, est))
    lines.append("")
    lines.append("files: " + ", ".join(os.path.basename(p) for e in out.values() for p in (e["theory"], e["simulation"])))
    lines.append("figures: " + ", ".join([e["figure"] for e in out.values()] + [os.path.join(output, "gaps.png")]))
    lines.append(f"summary: {os.path.join(output, 'summary.json')}")
    return lines
