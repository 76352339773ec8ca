"""Generalisation in the teacher-student perceptron and the class of SGD noise (issue 13 study).

Teacher data (``docs/dmft-derivation.md`` section 9), quadratic hinge, sphere, ``delta = 0``: at
``alpha = 3`` every algorithm ends on a zero-loss solution (SAT), and which solution it ends on sets
its generalisation error ``eps_g``.  Every run uses ``normalization = mean`` (the drift is
``grad H`` for every ``b``: the algorithms differ only in their noise).  The questions:

* ``b``: final ``eps_g`` and its time course against the batch fraction of sgd (``b = 1`` is gd),
  and against ``tau`` for psgd;
* ``class``: at equal covariance (``sigma^2 = (1-b)/b``), Bernoulli sampling noise (sgd) against
  Gaussian, Rademacher and Gamma weights (``dynamics = injected``, ``b = 1``);
* ``large-batch``: sgd at ``b = 0.8`` plus injected Gaussian weights with the covariance of sgd at
  ``b = 0.2`` against sgd at ``b = 0.2``;
* ``dt``: gradient descent at several learning rates against its ``dt -> 0`` limit (weighted
  polynomial fits in ``dt``), and the width of the final gap distribution;
* ``langevin``: at a stationary UNSAT point (``delta = 0.5``) gd, sgd and isotropic Langevin noise
  at the FDT temperatures of sgd (``T_short``, ``T_slow``; ``T_static`` where it exists) and at the
  temperature that matches its replica distance;
* ``size`` (``size-unsat``): simulations at growing N and DMFT at growing n_paths against each
  other, at the SAT (UNSAT) point.

Every point is run as ``SEEDS`` (``UNSAT_SEEDS``) independent DMFT solves and as many independent
simulation tasks; a value is the mean over them and its error the standard error of that mean
(the same rule for theory and simulation, and for every derived quantity), and differences
between algorithms are also taken seed by seed (``paired.csv``: the seeds are shared).  Run::

    python -m dmft.app.studies.generalisation -o docs/generalisation [--quick] [--workers 2] [--parts ...]

Runs are cached by their hash in ``<output>/runs`` (a re-run only redraws).  Writes
``results.csv`` (one row per point and kind), ``paired.csv``, ``time_courses.csv`` (``eps_g(t)``),
``dt_limit.csv``, ``matched.csv``, ``finite_size.csv``, ``tables.md`` and the figures
``eps_vs_b.png``, ``eps_time.png``, ``dt.png``, ``langevin.png``, ``finite_size.png``
(``docs/generalisation.md`` reads them).  ``--quick`` uses tiny sizes (a smoke test; its
numbers mean nothing).
"""

from __future__ import annotations

import math
import os
import warnings

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from ...analysis.figures import legend, save_figure
from ...analysis.teff import fit_teff
from ...core.methods import DMFTMethod, ParticleMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..runner import Task, load_task
from .common import PINNED_DMFT, combined_z, fit_line, kept_rows, mean_err, run_into, study_main, wls, write_csv

#: the SAT point of every question but the last (teacher, alpha = 3, delta = 0, mean normalisation)
SAT = dict(alpha=3.0, delta=0.0, data="teacher", normalization="mean", dt=0.2, t_max=40.0, seed=0)
#: the stationary UNSAT point of the Langevin comparison (two replicas: the distance)
UNSAT = dict(alpha=3.0, delta=0.5, data="teacher", normalization="mean", dt=0.1, t_max=60.0,
             tw=(30.0, 40.0), replicas=2, seed=0)
B_VALUES = (1.0, 0.8, 0.5, 0.3, 0.2)
TAU_VALUES = (0.4, 1.0, 2.0, 4.0)
PSGD_B = 0.5
#: the batch fractions whose covariance the other classes copy (sigma^2 = (1 - b)/b)
CLASS_B = (0.5, 0.2)
INJECTED_CLASSES = ("gaussian", "rademacher", "gamma")
SMALL_B, LARGE_B = 0.2, 0.8
DT_VALUES = (0.3, 0.2, 0.1, 0.05)
#: sgd at the UNSAT point, and the Langevin temperatures scanned around its T_eff
UNSAT_B = (0.3, 0.1)
T_VALUES = (0.0003, 0.001, 0.003, 0.01, 0.03)
#: seeds of every SAT point (8 until 2026-12-06: the shared fluctuation of 8 DMFT seeds and of the
#: simulations' 64 systems put eps_g and m of most SAT points 2-3.6 combined errors apart, on one side)
SEEDS = 16
#: fewer seeds at the UNSAT point, whose DMFT runs cost ~50 s each (the SAT ones ~4 s)
UNSAT_SEEDS = 4
#: finite-size check of the simulations (N -> samples per seed, SIZE_SEEDS seeds) and finite-n_paths
#: check of the DMFT, for gd and for sgd at SMALL_B
SIZES = {500: 8, 1000: 4, 2000: 2, 4000: 1}
SIZE_SEEDS = 8
PATHS = (2048, 8192, 32768)
#: the same at the UNSAT point (UNSAT_SEEDS seeds), for gd and for the Langevin run farthest from
#: it, whose frac_unsat and gap_mean at N = 500 (the part's first run) sat 3-9 combined errors from
#: the DMFT
UNSAT_SIZE_RUNS = {"UNSAT gd": dict(dynamics="gd"), "UNSAT langevin T=0.01": dict(dynamics="langevin", temperature=0.01)}
UNSAT_SIZE_PATHS = (4096, 16384)
#: N -> systems per seed of the UNSAT size check: 4 at N = 4000 (one a seed gave an error from 4
#: values, 4 times below the spread of the systems at N = 2000 scaled by 1/N)
UNSAT_SIZES = {**SIZES, 4000: 4}
#: the numbers whose finite-N and finite-n_paths dependence the size part tabulates
SIZE_NUMBERS = ("eps_g", "m", "energy", "frac_unsat", "gap_mean", "gap_std", "near_contacts")
SIM_N, SIM_SAMPLES = 1000, 8
#: the UNSAT runs (two replicas, 600 steps): fewer DMFT paths; the simulations at N = 2000 (2 systems
#: a seed: as many constraints in all as 8 at N = 500, where frac_unsat and the mean gap sat 3-9
#: combined errors from the DMFT)
UNSAT_PATHS, UNSAT_SIM_N, UNSAT_SIM_SAMPLES = 4096, 2000, 2
FIRST_SIM_SEED = 1000
PARTS = ("b", "tau", "class", "large-batch", "dt", "langevin", "size", "size-unsat")
#: the parts whose rows go to finite_size.csv instead of results.csv
SIZE_PARTS = ("size", "size-unsat")


def methods(quick: bool, unsat: bool = False):
    """(DMFT method of one seed, simulation method of one seed) of the SAT or the UNSAT runs."""
    if quick:
        return DMFTMethod(n_paths=256, exact_lags=4, **PINNED_DMFT), ParticleMethod(n=60, n_samples=1)
    if unsat:
        return DMFTMethod(n_paths=UNSAT_PATHS, **PINNED_DMFT), ParticleMethod(n=UNSAT_SIM_N, n_samples=UNSAT_SIM_SAMPLES)
    return DMFTMethod(n_paths=8192, **PINNED_DMFT), ParticleMethod(n=SIM_N, n_samples=SIM_SAMPLES)


def base(point: dict, quick: bool) -> dict:
    p = dict(point)
    if quick:
        p["t_max"] = 4.0
        if "tw" in p:
            p["tw"] = (2.0, 3.0)
    return p


def points(quick: bool, parts) -> list:
    """(part, label, x, Params) of every point of ``parts``, labels unique; a point shared by two
    parts is listed once, under the first of :data:`PARTS` (the dt scan's gd at the SAT point's dt
    is the b scan's gd), whichever parts run; the class and large-batch comparisons also need the
    sgd runs of the b scan."""
    need = set(parts) | ({"b"} if {"class", "large-batch"} & set(parts) else set())
    return [v for v in _every_point(quick).values() if v[0] in need]


def _every_point(quick: bool) -> dict:
    """Params -> (part, label, x, Params) of every part, in the order of :data:`PARTS` (the
    first part that lists a point keeps it)."""
    sat, unsat = base(SAT, quick), base(UNSAT, quick)
    out = {}

    def add(part, label, x, **changes):
        p = Params(**{**(unsat if part == "langevin" else sat), **changes})
        out.setdefault(p, (part, label, x, p))

    for b in B_VALUES:
        add("b", "gd" if b == 1 else f"sgd b={b:g}", b, **(dict(dynamics="gd") if b == 1 else dict(dynamics="sgd", b=b)))
    for tau in TAU_VALUES:
        add("tau", f"psgd tau={tau:g}", tau, dynamics="psgd", b=PSGD_B, tau=tau)
    for b in CLASS_B:
        for nc in INJECTED_CLASSES:
            add("class", f"{nc} sigma2={(1 - b) / b:g}", (1 - b) / b, dynamics="injected", b=1.0,
                noise_var=(1 - b) / b, noise_class=nc)
    add("large-batch", f"sgd b={LARGE_B:g} + gaussian", LARGE_B, dynamics="injected", b=LARGE_B,
        noise_var=LARGE_B / SMALL_B - 1, noise_class="gaussian")
    for dt in DT_VALUES:
        add("dt", f"gd dt={dt:g}", dt, dynamics="gd", dt=dt)
    add("langevin", "UNSAT gd", 0.0, dynamics="gd")
    for b in UNSAT_B:
        add("langevin", f"UNSAT sgd b={b:g}", math.nan, dynamics="sgd", b=b)
    for T in T_VALUES:
        add("langevin", f"UNSAT langevin T={T:g}", T, dynamics="langevin", temperature=T)
    return out


def seed_tasks(p: Params, quick: bool) -> dict:
    """kind -> the SEEDS tasks of one point (DMFT seeds 0.., simulation seeds FIRST_SIM_SEED..)."""
    unsat = p.delta != SAT["delta"]
    dm, sim = methods(quick, unsat=unsat)
    n = 2 if quick else (UNSAT_SEEDS if unsat else SEEDS)
    return {"dmft": [Task(p.replace(seed=s), dm) for s in range(n)],
            "simulation": [Task(p.replace(seed=FIRST_SIM_SEED + s), sim) for s in range(n)]}


def convergence_runs(quick: bool, parts=PARTS) -> list:
    """(part, label, kind, x, tasks) of the size parts: ``size``, the simulations of gd and of sgd at
    SMALL_B at each N of SIZES (x = N) and their DMFT at each n_paths of PATHS (x = n_paths);
    ``size-unsat``, the same for UNSAT_SIZE_RUNS at the UNSAT point (UNSAT_SEEDS seeds, n_paths in
    UNSAT_SIZE_PATHS)."""
    sat, unsat, out, runs = base(SAT, quick), base(UNSAT, quick), [], []
    if "size" in parts:
        runs += [("size", label, sat, changes, SIZE_SEEDS, PATHS, SIZES) for label, changes in
                 (("gd", dict(dynamics="gd")), (f"sgd b={SMALL_B:g}", dict(dynamics="sgd", b=SMALL_B)))]
    if "size-unsat" in parts:
        runs += [("size-unsat", label, unsat, changes, UNSAT_SEEDS, UNSAT_SIZE_PATHS, UNSAT_SIZES)
                 for label, changes in UNSAT_SIZE_RUNS.items()]
    for part, label, point, changes, seeds, paths_list, sizes in runs:
        p = Params(**{**point, **changes})
        n = 2 if quick else seeds
        for N, samples in ({60: 1, 120: 1} if quick else sizes).items():
            m = ParticleMethod(n=N, n_samples=samples)
            out.append((part, label, "simulation", N, [Task(p.replace(seed=FIRST_SIM_SEED + s), m) for s in range(n)]))
        for paths in ((128, 256) if quick else paths_list):
            m = DMFTMethod(n_paths=paths, exact_lags=4, **PINNED_DMFT) if quick else DMFTMethod(n_paths=paths, **PINNED_DMFT)
            out.append((part, label, "dmft", paths, [Task(p.replace(seed=s), m) for s in range(n)]))
    return out


def tasks(quick: bool, parts) -> list:
    out = []
    for part, label, x, p in points(quick, parts):
        for kind, ts in seed_tasks(p, quick).items():
            out += [Task(t.params, t.method, f"{label} {kind} seed={t.params.seed}") for t in ts]
    if set(SIZE_PARTS) & set(parts):
        for _, label, kind, x, ts in convergence_runs(quick, parts):
            out += [Task(t.params, t.method, f"{label} {kind} {'N' if kind == 'simulation' else 'paths'}={x} "
                                             f"seed={t.params.seed}") for t in ts]
    return list({t.key: t for t in out}.values())


# --------------------------------------------------------------------------- measurements
def gap_moments(result, contacts_at_zero: bool = False) -> tuple:
    """(mean, std, fraction within one bin of 0) of the final gap distribution ``gap_hist``: the
    contacts ``h = 0`` of a solution are approached from below, so both bins next to 0 count.
    ``contacts_at_zero``: the two bins next to 0 count as one at ``h = 0`` (a contact at
    ``-1e-10`` or ``+1e-10`` counts the same, where the bin centres would put it at -0.05 or
    +0.05), at the price of moving the other gaps of those bins to 0."""
    edges, hist = result.extra["gap_edges"], result.extra["gap_hist"][-1]
    centres, w = 0.5 * (edges[1:] + edges[:-1]), hist * np.diff(edges)
    w = w / w.sum()
    width = edges[1] - edges[0]
    first = (edges[:-1] >= -width - 1e-12) & (edges[:-1] < width - 1e-12)
    if contacts_at_zero:
        centres = np.where(first, 0.0, centres)
    mean = float((w * centres).sum())
    return mean, float(np.sqrt((w * (centres - mean) ** 2).sum())), float(w[first].sum())


def _last(result, window: float) -> np.ndarray:
    """The times of ``result`` in the last ``window`` of its run (the last one for ``window = 0``)."""
    return result.t >= result.t[-1] - window - 1e-9


def one_run(result, window: float) -> dict:
    """The measures of one seed: values at t_max and means over the last ``window`` of time
    (stationary points; ``window = 0``: the value at t_max)."""
    keep = _last(result, window)
    out = {"status": str(result.status)}
    series = {"eps_g": result.extra["gen_error"], "m": result.extra["m"], "energy": result.energy,
              "frac_unsat": result.frac_unsat}
    if result.distance is not None:
        series["distance"] = result.distance
    for name, x in series.items():
        out[name] = float(np.mean(x[keep]))
    out["gap_mean"], out["gap_std"], out["near_contacts"] = gap_moments(result)
    return out


#: the measures of :func:`one_run` that are time series of every repetition (``Errors.batches``)
SERIES = {"eps_g": "gen_error", "m": "m", "energy": "energy", "frac_unsat": "frac_unsat", "distance": "distance"}


def repetitions(result, window: float) -> dict:
    """The measures of :data:`SERIES` of each independent repetition of ``result`` (simulated
    system or DMFT replicate; ``Errors.batches`` of one repetition each), averaged as
    :func:`one_run` averages; ``{}`` where the batches hold several repetitions each."""
    e = result.errors
    if e is None or not e.batches or e.batch_size is None or np.any(np.asarray(e.batch_size) != 1):
        return {}
    keep = _last(result, window)
    return {name: np.asarray(e.batches[key])[:, keep].mean(axis=1) for name, key in SERIES.items()
            if key in e.batches}


def averaging_window(p: Params) -> float:
    """The time over which :func:`one_run` averages: the stationary stretch after the last waiting
    time at the UNSAT point, none (the value at t_max) at the SAT point."""
    return (p.t_max - max(p.tw)) if p.delta != SAT["delta"] else 0.0


def combine(rows: list, reps: list | None = None) -> dict:
    """Mean and standard error (``<name>_err``) over seeds of every numeric measure.  ``reps``
    (per seed, :func:`repetitions`): where every seed has its repetitions of a measure, its error
    is the standard error over all of them instead (every system or replicate is independent: 32
    repetitions give a far surer error than 4 seed means, whose spread at seeds 1000-1003 of the
    UNSAT simulations was 3-10 times below that of their systems)."""
    out = {"seeds": len(rows), "status": ",".join(sorted({r["status"] for r in rows}))}
    for name in rows[0]:
        if name == "status":
            continue
        out[name], out[name + "_err"] = mean_err([r[name] for r in rows])
        if reps and all(name in r for r in reps):
            every = np.concatenate([r[name] for r in reps])
            if len(every) > len(rows) and len({len(r[name]) for r in reps}) == 1:
                out[name + "_err"] = float(np.std(every, ddof=1) / math.sqrt(len(every)))
    return out


def collect(cache: str, quick: bool, parts) -> dict:
    """Measure every finished run: {"rows": one per point and kind (and per size-part entry),
    "courses": eps_g(t) thinned to about 80 times, "per_seed": (label, kind) -> per-seed values}."""
    rows, courses, per_seed = [], [], {}
    for part, label, x, p in points(quick, parts):
        window = averaging_window(p)
        for kind, ts in seed_tasks(p, quick).items():
            results = [load_task(cache, t) for t in ts]
            row = {"part": part, "label": label, "x": x, "kind": kind, "dynamics": p.dynamics, "b": p.b,
                   "tau": p.tau if p.dynamics == "psgd" else math.nan, "noise_class": p.noise_class,
                   "noise_var": p.noise_var, "temperature": p.temperature, "dt": p.dt, "alpha": p.alpha,
                   "delta": p.delta}
            seeds = [one_run(r, window) for r in results]
            row.update(combine(seeds, [repetitions(r, window) for r in results]))
            per_seed[(label, kind)] = {n: np.array([r[n] for r in seeds]) for n in ("eps_g", "m", "energy")}
            if part == "langevin" and p.dynamics == "sgd":
                row.update(teff_over_seeds(results))
            rows.append(row)
            g = np.array([r.extra["gen_error"] for r in results])
            t = results[0].t
            for i in range(0, len(t), max(1, len(t) // 80)):
                courses.append({"part": part, "label": label, "kind": kind, "t": float(t[i]),
                                "eps_g": float(g[:, i].mean()),
                                "eps_g_err": float(g[:, i].std(ddof=1) / math.sqrt(len(g)))})
    if set(SIZE_PARTS) & set(parts):
        for part, label, kind, x, ts in convergence_runs(quick, parts):
            rows.append({"part": part, "label": label, "x": x, "kind": kind,
                         "N": x if kind == "simulation" else math.nan,
                         "n_paths": x if kind == "dmft" else math.nan,
                         "samples": len(ts) * (ts[0].method.n_samples if kind == "simulation" else 1),
                         **_combine_runs([load_task(cache, t) for t in ts], averaging_window(ts[0].params))})
    return {"rows": rows, "courses": courses, "per_seed": per_seed}


def _combine_runs(results: list, window: float) -> dict:
    return combine([one_run(r, window) for r in results], [repetitions(r, window) for r in results])


def comparisons() -> list:
    """(question, run, reference) pairs whose difference the study reports seed by seed."""
    out = [("sgd noise", f"sgd b={b:g}", "gd") for b in B_VALUES if b < 1]
    out += [("psgd persistence", f"psgd tau={tau:g}", f"sgd b={PSGD_B:g}") for tau in TAU_VALUES]
    out += [("class at equal covariance", f"{nc} sigma2={(1 - b) / b:g}", f"sgd b={b:g}")
            for b in CLASS_B for nc in INJECTED_CLASSES]
    out += [("large batch + injection", f"sgd b={LARGE_B:g} + gaussian", f"sgd b={SMALL_B:g}"),
            ("large batch + injection", f"sgd b={LARGE_B:g} + gaussian", f"sgd b={LARGE_B:g}")]
    out += [("gd learning rate", "gd" if dt == SAT["dt"] else f"gd dt={dt:g}", f"gd dt={min(DT_VALUES):g}")
            for dt in sorted(DT_VALUES, reverse=True) if dt != min(DT_VALUES)]
    out += [("UNSAT: sgd noise", f"UNSAT sgd b={b:g}", "UNSAT gd") for b in UNSAT_B]
    return out


def paired(per_seed: dict) -> list:
    """Differences run - reference of eps_g, m and energy, seed by seed: the two share their seeds
    (DMFT: initial fields, Gaussian inputs and teacher variables; simulations: data, teacher and
    w(0)), so the standard error of the mean difference is that of the algorithms' difference."""
    out = []
    for question, run, ref in comparisons():
        for kind in ("dmft", "simulation"):
            a, b = per_seed.get((run, kind)), per_seed.get((ref, kind))
            if a is None or b is None:
                continue
            row = {"question": question, "run": run, "reference": ref, "kind": kind}
            for name in ("eps_g", "m", "energy"):
                diff, err = mean_err(a[name] - b[name])
                row.update({name: diff, name + "_err": err, name + "_z": diff / err if err > 0 else math.nan})
            out.append(row)
    return out


#: the FDT summaries of :func:`dmft.analysis.fit_teff` recorded for sgd (the plot of chi against
#: C is curved at this point: T_short, the ratio at the shortest lags, and T_slow, the slope at the
#: longest ones, bracket it; T_static = T_eff exists only where chi reaches a plateau)
TEFF_NAMES = ("T_short", "T_static", "T_slow")


def teff_over_seeds(results) -> dict:
    """The FDT summaries of the seeds that pass the stationarity check of
    :func:`dmft.analysis.fit_teff` (a summary of a non-stationary run is not a temperature):
    mean and standard error over those that have it, and how many seeds were stationary."""
    values, stationary = {n: [] for n in TEFF_NAMES}, 0
    for r in results:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = fit_teff(r, warn=False).to_dict()
            except ValueError:
                continue
        if not est.get("stationary", False):
            continue
        stationary += 1
        for n in TEFF_NAMES:
            if est.get(n) is not None:
                values[n].append(est[n])
    out = {"teff_stationary_seeds": stationary}
    for n, v in values.items():
        out[n], out[n + "_err"] = mean_err(v)
    return out


# --------------------------------------------------------------------------- derived tables
def _sel(rows, part, kind):
    """The rows of ``part`` and ``kind``; for ``dt``, every gd run (the b scan's gd is the dt scan's
    point at the SAT point's dt)."""
    if part == "dt":
        return [r for r in rows if r.get("dynamics") == "gd" and r["part"] in ("b", "dt") and r["kind"] == kind]
    return [r for r in rows if r["part"] == part and r["kind"] == kind]


def dt_limit(rows: list) -> list:
    """Weighted polynomial fits in dt of the gd runs, of degree 1 (a first-order scheme) and 2
    (when the line fails its chi^2): the dt -> 0 value, the slope at dt = 0, their errors and
    chi^2 per degree of freedom, for eps_g, m and the two gap measures."""
    out = []
    for kind in ("dmft", "simulation"):
        sel = sorted(_sel(rows, "dt", kind), key=lambda r: r["dt"])
        if len(sel) < 3:
            continue
        x = np.array([r["dt"] for r in sel])
        for name in ("eps_g", "m", "gap_std", "near_contacts"):
            y = np.array([r[name] for r in sel])
            e = np.array([r[name + "_err"] for r in sel])
            for degree in (1, 2):
                if len(x) < degree + 2:
                    continue
                fit = wls_poly(x, y, e, degree)
                out.append({"kind": kind, "quantity": name, "degree": degree, **fit,
                            "largest_dt_minus_limit": float(y[-1] - fit["dt0"]),
                            "largest_dt": float(x[-1])})
    return out


def wls_poly(x, y, e, degree: int = 1) -> dict:
    """y = a + s x (+ c x^2) by weighted least squares (:func:`~.common.wls`; an error that is not
    finite and positive is replaced by the largest one): the intercept a, the slope s at x = 0,
    their errors, the curvature c and chi^2 per degree of freedom."""
    e = np.where(np.isfinite(e) & (e > 0), e, np.nanmax(e) if np.any(e > 0) else 1.0)
    coef, cov = wls(x, y, e, degree)
    chi2 = float((((y - np.polynomial.polynomial.polyval(x, coef)) / e) ** 2).sum())
    dof = max(1, len(x) - degree - 1)
    return {"dt0": float(coef[0]), "dt0_err": float(math.sqrt(cov[0, 0])), "slope": float(coef[1]),
            "slope_err": float(math.sqrt(cov[1, 1])), "curvature": float(coef[2]) if degree > 1 else 0.0,
            "chi2_dof": chi2 / dof}


def matched(rows: list) -> list:
    """Langevin at the temperature of each sgd run of the UNSAT point, matched two ways: T = each
    FDT summary of sgd (:data:`TEFF_NAMES`, from the same kind's runs) and the T whose replica
    distance equals sgd's (linear interpolation of d(T) between the scanned temperatures; its
    error is sgd's distance error over the slope).  eps_g and energy of Langevin there
    (interpolated; error from the neighbours' errors and the matching error) against sgd's."""
    out = []
    for kind in ("dmft", "simulation"):
        lang = sorted([r for r in _sel(rows, "langevin", kind) if r["dynamics"] == "langevin"],
                      key=lambda r: r["temperature"])
        if len(lang) < 2:
            continue
        T = np.array([r["temperature"] for r in lang])
        d = np.array([r["distance"] for r in lang])
        for sgd in [r for r in _sel(rows, "langevin", kind) if r["dynamics"] == "sgd"]:
            targets = {n: (sgd.get(n, math.nan), sgd.get(n + "_err", math.nan)) for n in TEFF_NAMES}
            if np.all(np.diff(d) > 0) and d[0] <= sgd["distance"] <= d[-1]:
                i = max(1, int(np.searchsorted(d, sgd["distance"])))
                slope = (d[i] - d[i - 1]) / (T[i] - T[i - 1])
                targets["distance"] = (float(np.interp(sgd["distance"], d, T)), sgd["distance_err"] / slope)
            else:
                targets["distance"] = (math.nan, math.nan)
            for match, (Tm, Tm_err) in targets.items():
                eps, eps_err = interpolate(lang, "eps_g", Tm, Tm_err)
                out.append({"kind": kind, "sgd": sgd["label"], "matched": match, "T": Tm, "T_err": Tm_err,
                            "eps_g_langevin": eps, "eps_g_langevin_err": eps_err,
                            "eps_g_sgd": sgd["eps_g"], "eps_g_sgd_err": sgd["eps_g_err"],
                            "energy_sgd": sgd["energy"], "energy_sgd_err": sgd["energy_err"],
                            "energy_langevin": interpolate(lang, "energy", Tm, Tm_err)[0],
                            "difference_sigma": (eps - sgd["eps_g"]) / math.hypot(eps_err, sgd["eps_g_err"])})
    return out


def interpolate(rows, name, T, T_err) -> tuple:
    """``name`` at temperature ``T`` (linear between scanned temperatures) and its error: the
    interpolated standard error plus the slope times the error of ``T``."""
    Ts = np.array([r["temperature"] for r in rows])
    y = np.array([r[name] for r in rows])
    e = np.array([r[name + "_err"] for r in rows])
    if not (math.isfinite(T) and Ts[0] <= T <= Ts[-1]):
        return math.nan, math.nan
    i = min(int(np.searchsorted(Ts, T)), len(Ts) - 1)
    i = max(i, 1)
    slope = (y[i] - y[i - 1]) / (Ts[i] - Ts[i - 1])
    return float(np.interp(T, Ts, y)), float(math.hypot(np.interp(T, Ts, e), slope * (T_err if math.isfinite(T_err) else 0)))


# --------------------------------------------------------------------------- output
def pm(row: dict, name: str, digits: int = 4) -> str:
    v, e = row.get(name, math.nan), row.get(name + "_err", math.nan)
    return f"{v:.{digits}f} ± {e:.{digits}f}" if math.isfinite(e) else f"{v:.{digits}f}"


def _table(title: str, header: tuple, cells: list) -> list:
    """A markdown table (title, header, rows of cells) as lines, or nothing for no rows."""
    if not cells:
        return []
    return ([f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(c) + " |" for c in cells] + [""])


def _g(v: float, e: float) -> str:
    return f"{v:.3g} ± {e:.2g}"


def markdown_tables(data: dict, quick: bool = False) -> str:
    rows = [r for r in data["rows"] if r["part"] not in SIZE_PARTS]
    sat, unsat = methods(quick), methods(quick, unsat=True)
    lines = ["Generated by `python -m dmft.app.studies.generalisation`; value ± standard error over "
             "every system or DMFT replicate of the row's seeds (eps_g, m, energy; the gap measures: over "
             "its seeds; a part not run again keeps the rows of its last run; DMFT: "
             f"{sat[0].n_paths} paths each, {unsat[0].n_paths} at the UNSAT point; simulations: N = {sat[1].n} with "
             f"{sat[1].n_samples} samples each, {unsat[1].n} with {unsat[1].n_samples} at the UNSAT point).", ""]
    for part, title in (("b", "sgd against b (b = 1: gd)"), ("tau", f"psgd against tau (b = {PSGD_B})"),
                        ("class", "classes at equal covariance (injected, b = 1)"),
                        ("large-batch", f"sgd b = {LARGE_B} + Gaussian weights, covariance of b = {SMALL_B}"),
                        ("dt", "gd against dt"), ("langevin", "UNSAT point: gd, sgd and Langevin")):
        lines += _table(title, ("run", "kind", "seeds", "eps_g", "m", "energy", "gap std", "near contacts"),
                        [[r["label"], r["kind"], f"{r['seeds']:g}", pm(r, "eps_g"), pm(r, "m"), f"{r['energy']:.2e}",
                          pm(r, "gap_std", 3), pm(r, "near_contacts", 3)] for r in rows if r["part"] == part])
    lines += _table("Differences run - reference, seed by seed (shared seeds: the error is that of the difference)",
                    ("question", "run", "reference", "kind", "Δ eps_g", "Δ eps_g / sigma", "Δ m", "Δ energy"),
                    [[r["question"], r["run"], r["reference"], r["kind"], f"{r['eps_g']:+.4f} ± {r['eps_g_err']:.4f}",
                      f"{r['eps_g_z']:+.1f}", f"{r['m']:+.4f} ± {r['m_err']:.4f}", _g(r["energy"], r["energy_err"])]
                     for r in data.get("paired", [])])
    size_names = ("eps_g", "m", "frac_unsat", "gap_mean")
    lines += _table("Finite N (simulations; N -> inf: their straight line in 1/N) and finite n_paths (DMFT; "
                    "n_paths -> inf: its straight line in 1/n_paths) against the DMFT at the most paths (z: in "
                    "combined standard errors)",
                    ("run", "kind", "N or n_paths", "samples") + tuple(f"{n} (z)" for n in size_names),
                    [[r["label"], r["kind"], f"{r['x']:g}", str(r["samples"])]
                     + [f"{pm(r, n)} ({r[n + '_z']:+.1f})" for n in size_names] for r in data.get("size", [])])
    lines += _table("gd: dt -> 0 limit (weighted polynomial fits in dt)",
                    ("kind", "quantity", "degree", "dt -> 0", "slope at 0", "chi2/dof", "largest dt minus limit"),
                    [[f["kind"], f["quantity"], str(f["degree"]), f"{f['dt0']:.4f} ± {f['dt0_err']:.4f}",
                      f"{f['slope']:.4f} ± {f['slope_err']:.4f}", f"{f['chi2_dof']:.2f}",
                      f"{f['largest_dt_minus_limit']:+.4f}"] for f in data.get("dt_limit", [])])
    lines += _table("Langevin at the temperature of sgd (matched by an FDT summary or by the replica distance)",
                    ("kind", "sgd", "matched by", "T", "eps_g Langevin", "eps_g sgd", "difference / sigma",
                     "energy Langevin", "energy sgd"),
                    [[m["kind"], m["sgd"], m["matched"], _g(m["T"], m["T_err"]),
                      f"{m['eps_g_langevin']:.4f} ± {m['eps_g_langevin_err']:.4f}",
                      f"{m['eps_g_sgd']:.4f} ± {m['eps_g_sgd_err']:.4f}", f"{m['difference_sigma']:+.1f}",
                      f"{m['energy_langevin']:.4g}", f"{m['energy_sgd']:.4g}"] for m in data.get("matched", [])])
    return "\n".join(lines)


def _errorbar(ax, rows, x, name, **kw):
    rows = sorted(rows, key=lambda r: r[x])
    ax.errorbar([r[x] for r in rows], [r[name] for r in rows], yerr=[r[name + "_err"] for r in rows],
                capsize=2, **kw)


def _save(fig, path: str) -> str:
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def _sigma2(r: dict) -> float:
    """Variance of the per-pattern weights of a mean-normalised run: (1-b)/b for sgd, noise_var
    for injected at b = 1, 0 for gd."""
    if r["dynamics"] == "sgd":
        return (1 - r["b"]) / r["b"]
    return r["noise_var"] if r["dynamics"] == "injected" else 0.0


KIND_STYLE = {"dmft": dict(fmt="-o", color="C0"), "simulation": dict(fmt="s", color="C3", mfc="white")}
CLASS_STYLE = {"bernoulli": ("o", "C0"), "gaussian": ("s", "C1"), "rademacher": ("^", "C2"), "gamma": ("D", "C4")}


def plot_scans(rows: list, path: str) -> str:
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 3)
    for kind, style in KIND_STYLE.items():
        _errorbar(axes[0], _sel(rows, "b", kind), "x", "eps_g", label=kind, **style)
        _errorbar(axes[1], _sel(rows, "tau", kind), "x", "eps_g", label=kind, **style)
        gd = [r for r in _sel(rows, "b", kind) if r["dynamics"] == "gd"]
        for nc, (marker, color) in CLASS_STYLE.items():
            pts = gd + [r for r in rows if r["kind"] == kind and r.get("noise_class") == nc and
                        ((r["part"] == "class") or (r["part"] == "b" and r["dynamics"] == "sgd" and r["b"] in CLASS_B))]
            pts = [dict(r, sigma2=_sigma2(r)) for r in pts]
            _errorbar(axes[2], pts, "sigma2", "eps_g", fmt=("-" if kind == "dmft" else "") + marker, color=color,
                      mfc="white" if kind == "simulation" else None, label=f"{nc} ({kind})")
        for r in gd:
            if kind == "dmft":
                axes[1].axhline(r["eps_g"], color="0.5", ls="--", lw=0.8, label="gd (DMFT)")
        for r in _sel(rows, "b", kind):
            if kind == "dmft" and r["dynamics"] == "sgd" and r["b"] == PSGD_B:
                axes[1].axhline(r["eps_g"], color="C0", ls=":", lw=0.8, label=f"sgd b = {PSGD_B:g} (DMFT)")
    axes[0].set(xlabel="b (sgd; b = 1: gd)", ylabel="final ε_g", title="sgd (mean-normalised)")
    axes[1].set(xlabel="τ", ylabel="final ε_g", xscale="log", title=f"psgd, b = {PSGD_B:g}")
    axes[1].set_xticks(TAU_VALUES, [f"{t:g}" for t in TAU_VALUES])
    axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[2].set(xlabel="σ² of the per-pattern weights (0: gd)", ylabel="final ε_g", title="classes at equal covariance")
    for ax in axes:
        legend(ax, fontsize=6)
    fig.suptitle("teacher data, α = 3, Δ = 0, dt = 0.2; mean ± s.e. over seeds (simulations share their seeds "
                 "across points)", fontsize=8)
    return _save(fig, path)


def plot_time(courses: list, path: str) -> str:
    """eps_g(t): sgd against b (all times, and from t = 5), psgd against tau (from t = 5)."""
    fig = Figure(figsize=(13, 3.8))
    axes = fig.subplots(1, 3)
    sgd = [f"sgd b={b:g}" if b < 1 else "gd" for b in B_VALUES] + [f"sgd b={LARGE_B:g} + gaussian"]
    psgd = [f"sgd b={PSGD_B:g}"] + [f"psgd tau={tau:g}" for tau in TAU_VALUES]
    for ax, labels, t0 in ((axes[0], sgd, 0.0), (axes[1], sgd, 5.0), (axes[2], psgd, 5.0)):
        for i, label in enumerate(labels):
            for kind in ("dmft", "simulation"):
                sel = [c for c in courses if c["label"] == label and c["kind"] == kind and c["t"] >= t0]
                if not sel:
                    continue
                t = np.array([c["t"] for c in sel])
                y = np.array([c["eps_g"] for c in sel])
                e = np.array([c["eps_g_err"] for c in sel])
                if kind == "dmft":
                    ax.plot(t, y, color=f"C{i}", label=label, ls="--" if "gaussian" in label else "-")
                    ax.fill_between(t, y - e, y + e, color=f"C{i}", alpha=0.25)
                else:
                    ax.errorbar(t[::4], y[::4], yerr=e[::4], fmt="o", ms=3, color=f"C{i}", mfc="white")
        ax.set(xlabel="t", ylabel="ε_g(t)")
        legend(ax, fontsize=7)
    axes[0].set_title("sgd: lines DMFT ± s.e., circles simulations", fontsize=9)
    axes[1].set_title("the same from t = 5", fontsize=9)
    axes[2].set_title(f"psgd at b = {PSGD_B:g} against τ, from t = 5", fontsize=9)
    return _save(fig, path)


def plot_dt(rows: list, fits: list, path: str) -> str:
    fig = Figure(figsize=(9, 3.4))
    axes = fig.subplots(1, 3)
    for ax, name in zip(axes, ("eps_g", "gap_std", "near_contacts")):
        for kind, style in KIND_STYLE.items():
            _errorbar(ax, _sel(rows, "dt", kind), "dt", name, label=kind, **{**style, "fmt": style["fmt"].lstrip("-")})
            for f in fits:
                if f["kind"] == kind and f["quantity"] == name:
                    xs = np.linspace(0, max(DT_VALUES), 30)
                    ls = ":" if f["degree"] == 1 else "--"
                    ax.plot(xs, f["dt0"] + f["slope"] * xs + f["curvature"] * xs ** 2, ls, color=style["color"], lw=0.8,
                            label=f"{kind}: degree {f['degree']} fit, χ²/dof {f['chi2_dof']:.1f}")
                    ax.errorbar([0], [f["dt0"]], yerr=[f["dt0_err"]], fmt="*", color=style["color"], ms=8)
        ax.set(xlabel="dt (gd learning rate)", ylabel={"eps_g": "final ε_g", "gap_std": "std of final gaps",
                                                        "near_contacts": "fraction of gaps in [-0.1, 0.1)"}[name])
        legend(ax, fontsize=7)
    return _save(fig, path)


def finite_size(rows: list) -> list:
    """The size rows with their deviation from the DMFT at the most paths, in combined standard
    errors (``<name>_z``), and per run two limits (``x = inf``): ``kind = "simulation N->inf"``,
    the simulations' straight line in ``1/N`` (:func:`fit_line`, weighted) at ``1/N = 0``, and
    ``kind = "dmft n_paths->inf"``, the DMFT's in ``1/n_paths`` (its finite-``n_paths`` bias,
    docs/precision.md section 7), each with its slope ``<name>_beta`` and ``<name>_chi2_dof``; the
    error of a limit is scaled by ``sqrt(chi2_dof)`` where that exceeds 1 (a line that does not
    describe its points within their errors: the Particle Data Group's scale factor).  Rows of
    those kinds in ``rows`` are left out and made again."""
    out = []
    rows = [r for r in rows if r["part"] in SIZE_PARTS and not r["kind"].endswith("->inf")]
    for label in dict.fromkeys(r["label"] for r in rows):
        sel = [r for r in rows if r["label"] == label]
        ref = max((r for r in sel if r["kind"] == "dmft"), key=lambda r: r["x"])
        limits = []
        for kind, size in (("simulation", "N"), ("dmft", "n_paths")):
            runs = [r for r in sel if r["kind"] == kind]
            inf = {"part": sel[0]["part"], "label": label, "x": math.inf, "kind": f"{kind} {size}->inf",
                   "N": math.inf if kind == "simulation" else math.nan,
                   "n_paths": math.inf if kind == "dmft" else math.nan,
                   "samples": sum(r["samples"] for r in runs),
                   "seeds": runs[0]["seeds"], "status": ",".join(sorted({r["status"] for r in runs}))}
            for name in SIZE_NUMBERS:
                fit = fit_line(np.array([r[size] for r in runs], float), np.array([r[name] for r in runs]),
                               np.array([r[name + "_err"] for r in runs]))
                scale = math.sqrt(max(1.0, fit["chi2_dof"])) if math.isfinite(fit["chi2_dof"]) else 1.0
                inf.update({name: fit["v_inf"], name + "_err": fit["v_inf_err"] * scale, name + "_beta": fit["beta"],
                            name + "_beta_err": fit["beta_err"], name + "_chi2_dof": fit["chi2_dof"]})
            limits.append(inf)
        for r in sel + limits:
            r = dict(r)
            for name in SIZE_NUMBERS:
                z = combined_z(r[name], r[name + "_err"], ref[name], ref[name + "_err"])
                r[name + "_z"] = 0.0 if r["kind"] == "dmft" and r["x"] == ref["x"] else z
            out.append(r)
    return out


def with_limits(kept: list) -> list:
    """Size rows read back from an earlier table: the rows of each N and path count kept as they
    are (to the digit), the limit rows of :func:`finite_size` made again from them (the same to
    the table's 6 digits, and made under today's rules: a table from before the DMFT's line gets
    it)."""
    out = [r for r in kept if not r["kind"].endswith("->inf")]
    for label in dict.fromkeys(r["label"] for r in out):
        out += [r for r in finite_size([r for r in out if r["label"] == label]) if r["kind"].endswith("->inf")]
    return out


def plot_size(rows: list, path: str) -> str:
    """Each number of the size part against 1/N (simulations, open squares; their straight line's
    value at 1/N = 0 a diamond) and 1/n_paths (DMFT, filled circles; its line's value at 0 a star),
    one colour per run."""
    names = ("eps_g", "m", "frac_unsat", "gap_mean")
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 2).ravel()
    for ax, name in zip(axes, names):
        for i, label in enumerate(dict.fromkeys(r["label"] for r in rows)):
            for kind, fmt, text in (("simulation", "s", "simulations, 1/N"), ("simulation N->inf", "D", "N -> inf"),
                                    ("dmft", "-o", "DMFT, 1/n_paths"), ("dmft n_paths->inf", "*", "n_paths -> inf")):
                sel = sorted([r for r in rows if r["label"] == label and r["kind"] == kind], key=lambda r: r["x"])
                ax.errorbar([1 / r["x"] for r in sel], [r[name] for r in sel], yerr=[r[name + "_err"] for r in sel],
                            fmt=fmt, mfc="white" if kind.startswith("simulation") else None, color=f"C{i}", capsize=2,
                            label=f"{label}: {text}")
        ax.set(xlabel="1/N (simulations) or 1/n_paths (DMFT)",
               ylabel={"eps_g": "final ε_g", "m": "final m", "frac_unsat": "fraction of gaps < 0",
                       "gap_mean": "mean gap"}[name])
        ax.set_xlim(left=-0.0001)
    legend(axes[0], fontsize=5)
    return _save(fig, path)


def plot_langevin(rows: list, match: list, path: str) -> str:
    """Langevin's eps_g and replica distance against T (DMFT line, simulation squares); each sgd
    run as a band (DMFT) and a dashed line (simulation) in its colour, with the temperatures that
    match it (DMFT: T_short dotted, T_slow dash-dotted, distance dashed)."""
    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    sgd_colors = {}
    for kind, style in KIND_STYLE.items():
        lang = [r for r in _sel(rows, "langevin", kind) if r["dynamics"] == "langevin"]
        for ax, name in zip(axes, ("eps_g", "distance")):
            _errorbar(ax, lang, "temperature", name, label=f"Langevin ({kind})", **style)
        for r in _sel(rows, "langevin", kind):
            if r["dynamics"] == "gd" and kind == "dmft":
                axes[0].axhline(r["eps_g"], color="0.4", ls="--", lw=0.8, label="gd (DMFT)")
            if r["dynamics"] != "sgd":
                continue
            color = sgd_colors.setdefault(r["label"], f"C{2 + len(sgd_colors)}")
            for ax, name in zip(axes, ("eps_g", "distance")):
                if kind == "dmft":
                    ax.axhspan(r[name] - r[name + "_err"], r[name] + r[name + "_err"], color=color, alpha=0.3,
                               label=f"{r['label'][6:]} (DMFT ± s.e.)")
                else:
                    ax.axhline(r[name], color=color, ls="-", lw=0.7, label=f"{r['label'][6:]} (simulation)")
    styles = {"T_short": ":", "T_slow": "-.", "distance": "--"}
    for m in match:
        if m["kind"] == "dmft" and math.isfinite(m["T"]) and m["matched"] in styles:
            for ax in axes:
                ax.axvline(m["T"], ls=styles[m["matched"]], color=sgd_colors.get(m["sgd"], "k"), lw=1.0,
                           label=f"{m['sgd'][6:]}: T = {m['matched']}")
    axes[0].set(xlabel="T (Langevin)", ylabel="stationary ε_g", xscale="log",
                title="UNSAT point (α = 3, Δ = 0.5, dt = 0.1)")
    axes[1].set(xlabel="T (Langevin)", ylabel="replica distance d(t_max)", xscale="log", yscale="log")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=6)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return save_figure(fig, path, dpi=110)


def run(output: str, quick: bool = False, workers: int | None = None, parts=PARTS, compute: bool = True) -> dict:
    """Solve and simulate every task of ``parts``, measure them, and write the tables and figures;
    the rows of the other parts already in ``output`` are kept (read back from its CSV files), so
    that a run of some parts leaves the others' numbers in place."""
    cache = run_into(output, tasks(quick, parts), workers, compute)
    data = collect(cache, quick, parts)
    out = lambda name: os.path.join(output, name)
    made = {r["part"] for r in data["rows"]}
    data["rows"] += kept_rows(out("results.csv"), lambda r: r["part"] in made)
    data["rows"].sort(key=lambda r: PARTS.index(r["part"]))
    rows = data["rows"]
    data["courses"] += kept_rows(out("time_courses.csv"), lambda r: r["part"] in made)
    data["dt_limit"] = dt_limit(rows)
    data["matched"] = matched(rows)
    labels = {r["label"] for r in rows if r["part"] in SIZE_PARTS}
    data["size"] = with_limits(kept_rows(out("finite_size.csv"), lambda r: r["label"] in labels)) + finite_size(rows)
    data["size"].sort(key=lambda r: SIZE_PARTS.index(r["part"]))
    data["paired"] = paired(data["per_seed"])
    keys = {(r["question"], r["run"], r["reference"], r["kind"]) for r in data["paired"]}
    data["paired"] += kept_rows(out("paired.csv"), lambda r: (r["question"], r["run"], r["reference"], r["kind"]) in keys)
    write_csv([r for r in rows if r["part"] not in SIZE_PARTS], out("results.csv"))
    write_csv(data["courses"], out("time_courses.csv"))
    write_csv(data["dt_limit"], out("dt_limit.csv"))
    write_csv(data["matched"], out("matched.csv"))
    write_csv(data["paired"], out("paired.csv"))
    if {"b", "tau", "class"} & set(parts):
        plot_scans(rows, out("eps_vs_b.png"))
        plot_time(data["courses"], out("eps_time.png"))
    if "dt" in parts:
        plot_dt(rows, data["dt_limit"], out("dt.png"))
    if data["size"]:
        write_csv(data["size"], out("finite_size.csv"))
        plot_size(data["size"], out("finite_size.png"))
    if "langevin" in parts:
        plot_langevin(rows, data["matched"], out("langevin.png"))
    write_atomic(out("tables.md"), markdown_tables(data, quick).encode())
    return data


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/generalisation", PARTS, argv)


if __name__ == "__main__":
    main()
