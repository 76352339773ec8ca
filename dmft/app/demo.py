"""The default job, ``dmft demo``: one SGD and one persistent-SGD point, theory vs simulation.

Solves the DMFT and runs particle simulations at alpha = 3, delta = 0 (convex, UNSAT: the
regime where the SGD noise acts as a temperature), writes the four HDF5 files, a comparison
figure per point and the final gap distributions into the output folder, and prints the
fluctuation-dissipation temperatures of both algorithms from theory and simulation.
"""

from __future__ import annotations

import os

from ..analysis.figures import compare_figure, gap_histogram_figure
from ..analysis.teff import fit_teff
from ..core.io import save
from ..core.methods import split_settings
from .api import run

#: Width of the FDT fit window after tw: in SGD's UNSAT phase chi against C follows the noise
#: for about 2 time units and then bends (slower modes are colder; docs/effective-noise.md).
TEFF_WINDOW = 2.0

#: The two demo points (a few minutes on 2 cores in total).
DEMO_BASE = dict(alpha=3.0, delta=0.0, dt=0.1, t_max=40.0, tw=(10.0, 20.0), replicas=2,
                 n=1000, n_samples=4, n_paths=16384, seed=1)
DEMO_POINTS = {
    "sgd": dict(dynamics="sgd", b=0.5),
    "psgd": dict(dynamics="psgd", b=0.5, tau=2.0),
}


def run_demo(output: str = "dmft-demo", progress: bool = False, base: dict | None = None) -> dict:
    """Run the demo into ``output``; returns {name: {"theory", "simulation", "figure", "teff"}}."""
    os.makedirs(output, exist_ok=True)
    settings = dict(DEMO_BASE)
    settings.update(base or {})
    out = {}
    gap_runs = []
    for name, point in DEMO_POINTS.items():
        flat = {**settings, **point}
        params, dmft_method = split_settings(flat, "dmft", strict=False)
        _, particles = split_settings(flat, "simulation", strict=False)
        print(f"[{name}] solving the DMFT ({dmft_method.n_paths} paths, {params.n_steps} steps) ...", flush=True)
        theory = run(params, dmft_method, progress=progress)
        th_path = save(theory, os.path.join(output, f"{name}-dmft.h5"))
        print(f"[{name}] simulating N={particles.n}, {particles.n_samples} samples ...", flush=True)
        sim = run(params, particles, progress=progress)
        sm_path = save(sim, os.path.join(output, f"{name}-sim.h5"))
        fig = compare_figure(theory, sim, os.path.join(output, f"{name}-compare.png"))
        teff = {}
        tw = max(params.tw)
        for label, r in (("dmft", theory), ("simulation", sim)):
            try:
                teff[label] = fit_teff(r, tw=tw, window=(tw, min(tw + TEFF_WINDOW, params.t_max)))
            except ValueError as exc:
                teff[label] = exc
        out[name] = {"theory": th_path, "simulation": sm_path, "figure": fig, "teff": teff}
        gap_runs += [(name, theory), (name, sim)]
    gaps = gap_histogram_figure(gap_runs, os.path.join(output, "gaps.png"),
                                title="Final gap distribution: SGD vs persistent SGD (α=3, Δ=0)")
    print()
    print(f"fluctuation-dissipation temperature T_eff (slope of chi against C over [tw, tw + {TEFF_WINDOW:g}]):")
    for name, entry in out.items():
        for label, fit in entry["teff"].items():
            if isinstance(fit, Exception):
                print(f"  {name:5s} {label:10s}: not available ({fit})")
            else:
                print(f"  {name:5s} {label:10s}: T_eff = {fit.T_eff:.4g} +/- {fit.T_eff_err:.2g} "
                      f"(t in [{fit.window[0]:g}, {fit.window[1]:g}])")
    print()
    print("figures:")
    for name, entry in out.items():
        print(f"  {entry['figure']}")
    print(f"  {gaps}")
    return out
