"""Phase diagrams: maps of one observable over the two scanned axes of a scan folder.

Quantities: ``teff`` (the effective temperature ``T_eff = T_static`` of
:func:`dmft.analysis.fit_teff`, NaN where the run is not stationary), ``distance`` (the long-time
replica distance ``d_inf``), ``energy`` (e = H/N) and ``frac_unsat`` at the final time.  The CSV
has the value, its error, its definition, where it was measured (``tw`` and window) and a note on
missing values.  Where the axes are ``alpha`` and ``delta`` the SAT/UNSAT line
``alpha_J(delta)`` of the replica-symmetric Gardner formula is drawn for ``delta >= 0``:
``alpha_J(delta) = 1 / int_{-inf}^{delta} Dz (delta - z)^2`` (``alpha_J(0) = 2``).
"""

from __future__ import annotations

import csv
import math
import os

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from scipy import integrate, stats

from ..core.io import load
from ..core.manifest import load_manifest
from .distance import long_time_distance
from .teff import fit_teff

QUANTITIES = ("teff", "distance", "energy", "frac_unsat")
LABELS = {
    "teff": "effective temperature T_eff = T_static (FDT ratio at the plateau)",
    "distance": "long-time replica distance d_inf",
    "energy": "energy e(t_max) = H/N",
    "frac_unsat": "fraction of violated constraints",
}


def gardner_alpha(delta: float) -> float:
    """SAT/UNSAT threshold of the spherical perceptron with margin ``delta >= 0`` (RS exact)."""
    if delta < 0:
        return math.nan
    val, _ = integrate.quad(lambda z: (delta - z) ** 2 * stats.norm.pdf(z), -np.inf, delta)
    return 1.0 / val


def point_value(result, quantity: str) -> tuple:
    """(value, error, note, where) of the scalar ``quantity`` of one result (``where``: the ``tw``
    and time window it was measured on); NaN where it is undefined
    (not stationary, no plateau, diverged).  ``teff`` is :func:`~dmft.analysis.teff.fit_teff`'s
    ``T_eff`` (the same number as ``dmft teff``), ``distance`` the long-time distance ``d_inf``
    (:func:`~dmft.analysis.distance.long_time_distance`), the others their value at ``t_max``."""
    nan = math.nan
    if result.status != "ok":
        return nan, nan, f"status {result.status}", ""
    if quantity == "teff":
        try:
            est = fit_teff(result, warn=False)
        except ValueError as exc:
            return nan, nan, str(exc), ""
        note = "" if est.stationary else est.stationarity.describe()
        where = f"tw = {est.tw:g}; plateau t in [{est.window[0]:g}, {est.window[1]:g}]"
        return est.T_eff, est.T_eff_err, note or est.notes.get("T_static", ""), where
    if quantity == "distance":
        try:
            d = long_time_distance(result, warn=False)
        except ValueError as exc:
            return nan, nan, str(exc), ""
        return d.d_inf, d.d_inf_err, d.note, f"mean over t in [{d.window[0]:g}, {d.window[1]:g}]"
    sem = result.sem.get(quantity)
    return (float(getattr(result, quantity)[-1]), (nan if sem is None else float(sem[-1])), "",
            f"t = {result.t[-1]:g}")


def collect(folder: str, quantity: str, kind: str | None = None):
    """Axis names, table rows (axis values, kind, value, status, file) and the scan manifest."""
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown quantity '{quantity}' (choose from {', '.join(QUANTITIES)})")
    manifest = load_manifest(folder)
    axes = list(manifest["axes"])
    rows = []
    for entry in manifest["files"]:
        if kind is not None and entry["kind"] != kind:
            continue
        path = os.path.join(folder, entry["file"])
        if not os.path.exists(path):
            (value, err, note, where), status = (math.nan, math.nan, "file missing", ""), "missing"
        else:
            r = load(path)
            (value, err, note, where), status = point_value(r, quantity), r.status.value
        rows.append({**entry["coords"], "kind": entry["kind"], quantity: value, f"{quantity}_err": err,
                     "measured_at": where, "status": status, "note": note, "file": entry["file"]})
    return axes, rows, manifest


def phase_diagram(folder: str, output: str, quantity: str = "teff") -> tuple:
    """Draw the map (and cuts) of ``quantity`` over the scanned plane; write figure and CSV.

    Returns (figure path, CSV path).  With one axis only the map degenerates to the cut.
    DMFT files are used where present, else simulations.
    """
    axes, rows, manifest = collect(folder, quantity)
    if not rows:
        raise ValueError(f"no result files listed in '{folder}'")
    kinds = {r["kind"] for r in rows}
    use = "dmft" if "dmft" in kinds else "simulation"
    rows_used = [r for r in rows if r["kind"] == use]

    table = os.path.splitext(output)[0] + ".csv"
    with open(table, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=axes + ["kind", quantity, f"{quantity}_err", "definition",
                                                       "measured_at", "status", "note", "file"])
        writer.writeheader()
        writer.writerows({**r, "definition": LABELS[quantity]} for r in rows)

    if len(axes) == 1:
        xname, yname = axes[0], None
    else:
        xname, yname = axes[0], axes[1]
    xs = sorted({r[xname] for r in rows_used})
    ys = sorted({r[yname] for r in rows_used}) if yname else [None]
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows_used:
        i = ys.index(r[yname]) if yname else 0
        grid[i, xs.index(r[xname])] = r[quantity]

    fig = Figure(figsize=(12, 4.8))
    ax_map, ax_cut = fig.subplots(1, 2)
    if yname:
        xe, ye = _edges(xs), _edges(ys)
        mesh = ax_map.pcolormesh(xe, ye, np.ma.masked_invalid(grid), cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax_map, label=LABELS[quantity])
        ax_map.set_xlabel(xname)
        ax_map.set_ylabel(yname)
        _draw_jamming_line(ax_map, xname, yname, rows_used, float(manifest["base"].get("delta", 0.0)))
        ax_map.set_xlim(xe[0], xe[-1])
        ax_map.set_ylim(ye[0], ye[-1])
    else:
        ax_map.axis("off")
    cmap = matplotlib.colormaps["viridis"]
    for i, y in enumerate(ys):
        color = cmap(i / max(1, len(ys) - 1))
        ax_cut.plot(xs, grid[i], "o-", color=color, label=f"{yname} = {y:g}" if yname else None)
    ax_cut.set_xlabel(xname)
    ax_cut.set_ylabel(LABELS[quantity])
    if yname:
        ax_cut.legend(fontsize=8)
    fig.suptitle(f"{LABELS[quantity]} over ({xname}, {yname}) — {use} files in {os.path.basename(os.path.abspath(folder))}"
                 if yname else f"{LABELS[quantity]} against {xname} — {use}")
    fig.tight_layout()
    fig.savefig(output, dpi=130)
    return output, table


def _edges(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _draw_jamming_line(ax, xname, yname, rows, base_delta: float) -> None:
    """Gardner line alpha_J(delta) when the plane contains alpha and delta (delta >= 0 part)."""
    names = {xname, yname}
    if names == {"alpha", "delta"}:
        deltas = np.linspace(0, max(0.0, max(r["delta"] for r in rows)), 60)
        alphas = np.array([gardner_alpha(d) for d in deltas])
        if xname == "alpha":
            ax.plot(alphas, deltas, "w--", lw=1.5, label="α_J(Δ) (Gardner)")
        else:
            ax.plot(deltas, alphas, "w--", lw=1.5, label="α_J(Δ) (Gardner)")
        ax.legend(fontsize=8, loc="best")
    elif "alpha" in names:
        delta = base_delta
        a = gardner_alpha(delta)
        if math.isfinite(a):
            if xname == "alpha":
                ax.axvline(a, color="w", ls="--", lw=1.5, label=f"α_J(Δ={delta:g}) = {a:.3g}")
            else:
                ax.axhline(a, color="w", ls="--", lw=1.5, label=f"α_J(Δ={delta:g}) = {a:.3g}")
            ax.legend(fontsize=8, loc="best")
