"""Phase diagrams: one observable over the scanned axes of a scan folder (a map over two axes
with its cuts, a curve over one), with error bars.

Quantities: ``teff`` (the effective temperature ``T_eff = T_static`` of
:func:`dmft.analysis.fit_teff`, NaN where the run is not stationary), ``distance`` (the long-time
replica distance ``d_inf``), ``energy`` (e = H/N) and ``frac_unsat`` at the final time.  The CSV
has the value, its error, its definition, where it was measured (``tw`` and window) and a note on
missing values.  Where the axes are ``alpha`` and ``delta`` the SAT/UNSAT line
``alpha_J(delta)`` of the replica-symmetric Gardner formula is drawn for ``delta >= 0``:
``alpha_J(delta) = 1 / int_{-inf}^{delta} Dz (delta - z)^2`` (``alpha_J(0) = 2``).

A map shows two axes: a scan that varies more needs the others fixed (``slices``, the CLI's
``--slice NAME=VALUE``); a quantity without a single finite value is refused rather than drawn
empty, and a file that is not the point ``scan.json`` lists it for is refused rather than used.
"""

from __future__ import annotations

import csv
import io
import math
import os

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from scipy import integrate, stats

from ..core.io import FileFormatError, flat_settings, load
from ..core.manifest import load_manifest
from ..core.outputs import check_output, write_atomic
from ..core.params import PARAM_DEFAULTS
from .distance import long_time_distance
from .figures import FIGURE_FORMATS, save_figure
from .teff import fit_teff

QUANTITIES = ("teff", "distance", "energy", "frac_unsat", "gen_error", "m")
LABELS = {
    "teff": "effective temperature T_eff = T_static (FDT ratio at the plateau)",
    "distance": "long-time replica distance d_inf",
    "energy": "energy e(t_max) = H/N",
    "frac_unsat": "fraction of violated constraints",
    "gen_error": "generalisation error eps_g(t_max) = arccos(m/sqrt(C))/pi (teacher data)",
    "m": "teacher overlap m(t_max) = w.w*/N (teacher data)",
}
#: quantities that only teacher data has (kept in ``Result.extra``)
TEACHER_QUANTITIES = ("gen_error", "m")


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
    (:func:`~dmft.analysis.distance.long_time_distance`), the others their value at ``t_max``
    (``gen_error`` and ``m`` only for teacher data, NaN with a note otherwise)."""
    nan = math.nan
    if result.status != "ok":
        return nan, nan, f"status {result.status}", ""
    record = result.measurement
    if record is not None and record.get("quantity") == quantity:
        return _measured_value(result, record)
    if quantity == "teff":
        try:
            est = fit_teff(result, warn=False)
        except ValueError as exc:
            return nan, nan, str(exc), ""
        note = "" if est.stationary else est.stationarity.describe()
        where = f"tw = {est.tw:g}; {est.plateau}"
        return est.T_eff, est.T_eff_err, note or est.notes.get("T_static", ""), where
    if quantity == "distance":
        try:
            d = long_time_distance(result, warn=False)
        except ValueError as exc:
            return nan, nan, str(exc), ""
        return d.d_inf, d.d_inf_err, d.note, f"mean over t in [{d.window[0]:g}, {d.window[1]:g}]"
    if quantity in TEACHER_QUANTITIES:
        if quantity not in result.extra:
            return nan, nan, "random data: no teacher (--data teacher)", ""
        series = result.extra[quantity]
    else:
        series = getattr(result, quantity)
    sem = result.sem.get(quantity)
    return (float(series[-1]), (nan if sem is None else float(sem[-1])), "", f"t = {result.t[-1]:g}")


def _measured_value(result, record: dict) -> tuple:
    """(value, error, note, where) of a file written by ``dmft measure``: its value where the
    measurement ended ``ok``, otherwise NaN with the status and its reason as the note."""
    status = record.get("status", "")
    where = f"t_max = {result.t[-1]:g}, {record.get('repetitions')} repetitions (dmft measure)"
    if status != "ok" or record.get("value") is None:
        return math.nan, math.nan, f"{status}: {record.get('reason', '')}", where
    error = record.get("error")
    return float(record["value"]), math.nan if error is None else float(error), "", where


def measurement_status(result) -> str:
    """The status of the measurement that wrote ``result`` (``""`` for an ordinary run)."""
    record = result.measurement
    return "" if record is None else str(record.get("status", ""))


def collect(folder: str, quantity: str, kind: str | None = None):
    """Axis names, table rows (axis values, kind, value, status, file) and the scan manifest.

    A listed file that does not hold the point the manifest lists it for (its parameters differ
    from the axis values) is a :class:`~dmft.core.io.FileFormatError`, never used as that point."""
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown quantity '{quantity}' (choose from {', '.join(QUANTITIES)})")
    manifest = load_manifest(folder)
    axes = list(manifest["axes"])
    rows = []
    for entry in manifest["files"]:
        if kind is not None and entry["kind"] != kind:
            continue
        path = os.path.join(folder, entry["file"])
        measured = ""
        if not os.path.exists(path):
            (value, err, note, where), status = (math.nan, math.nan, "file missing", ""), "missing"
        else:
            r = load(path)
            _check_listed(path, r, entry)
            (value, err, note, where), status = point_value(r, quantity), r.status.value
            measured = measurement_status(r)
        rows.append({**entry["coords"], "kind": entry["kind"], quantity: value, f"{quantity}_err": err,
                     "measured_at": where, "status": status, "measurement": measured, "note": note,
                     "file": entry["file"]})
    return axes, rows, manifest


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _check_listed(path: str, result, entry: dict) -> None:
    """The file holds the kind and axis values ``scan.json`` lists it with."""
    settings = flat_settings(result)
    wrong = [f"{name} = {settings.get(name)!r}, listed as {value!r}" for name, value in entry["coords"].items()
             if not _same(settings.get(name), value)]
    if result.kind != entry["kind"]:
        wrong.insert(0, f"kind {result.kind}, listed as {entry['kind']}")
    if wrong:
        raise FileFormatError(f"'{path}' is not the point scan.json lists for it ({'; '.join(wrong)})")


def parse_slices(texts) -> dict:
    """``["b=0.5", ...]`` as ``{"b": "0.5"}`` (values matched to the axis values later)."""
    out = {}
    for text in texts or ():
        name, sep, value = str(text).partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"invalid slice {text!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def _pick(name: str, text: str, values: list):
    """The axis value of ``values`` that ``text`` names (numbers compared as numbers)."""
    for v in values:
        if str(v) == text:
            return v
        try:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and _same(float(text), v):
                return v
        except ValueError:
            pass
    raise ValueError(f"invalid slice {name}={text}: {name} takes the values {', '.join(str(v) for v in values)}")


def plane(axes: list, manifest: dict, slices: dict | None = None) -> tuple:
    """(x axis, y axis or None, fixed values) of the map: the axes with more than one value that no
    slice fixes, at most two of them; a third one needs ``--slice NAME=VALUE``.  ``fixed`` maps
    every other axis to its value (sliced or single)."""
    slices = slices or {}
    values = {name: list(manifest["axes"][name]) for name in axes}
    for name in slices:
        if name not in values:
            raise ValueError(f"invalid slice {name}=...: '{name}' is not a scanned axis "
                             f"(axes: {', '.join(axes)})")
    fixed = {name: _pick(name, text, values[name]) for name, text in slices.items()}
    fixed.update({name: v[0] for name, v in values.items() if len(v) == 1 and name not in fixed})
    free = [name for name in axes if name not in fixed]
    if len(free) > 2:
        hint = ", ".join(f"--slice {n}={values[n][0]}" for n in free[2:])
        raise ValueError(f"the scan varies {len(free)} axes ({', '.join(free)}); a map shows two: fix the "
                         f"others, e.g. {hint}")
    if not free:   # a single point: shown as a cut along the first axis
        free = [axes[0]]
        fixed.pop(axes[0], None)
    for name in free:
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[name]):
            raise ValueError(f"axis '{name}' takes values that are not numbers ({', '.join(map(str, values[name]))}); "
                             f"a map needs numeric axes: fix it, e.g. --slice {name}={values[name][0]}")
    return free[0], (free[1] if len(free) == 2 else None), fixed


def table_path(output: str) -> str:
    """The CSV written beside the figure ``output``."""
    return os.path.splitext(output)[0] + ".csv"


def phase_diagram(folder: str, output: str, quantity: str = "teff", slices: dict | None = None) -> tuple:
    """Draw the map (and cuts) of ``quantity`` over the scanned plane; write figure and CSV.

    Returns (figure path, CSV path).  With one varying axis the map degenerates to the cut; with
    more than two, ``slices`` (``{axis: value}``) must fix all but two.  DMFT files are used where
    present, else simulations.  Refused before anything is written (``ValueError``): an
    unsupported figure extension, a plane that is not defined, a quantity with no finite value.
    """
    table = table_path(output)
    check_output(output, FIGURE_FORMATS)   # never .csv, so the table never replaces the figure
    check_output(table)
    axes, rows, manifest = collect(folder, quantity)
    if not rows:
        raise ValueError(f"no result files listed in '{folder}'")
    xname, yname, fixed = plane(axes, manifest, slices)
    rows = [r for r in rows if all(_same(r[name], value) for name, value in fixed.items())]
    kinds = {r["kind"] for r in rows}
    use = "dmft" if "dmft" in kinds else "simulation"
    rows_used = [r for r in rows if r["kind"] == use]
    if not any(math.isfinite(r[quantity]) for r in rows_used):
        notes = sorted({r["note"] for r in rows_used if r["note"]})
        raise ValueError(f"no finite value of {quantity} in the {len(rows_used)} {use} file(s) of '{folder}'"
                         + (f": {notes[0]}" if notes else ""))

    xs = sorted({r[xname] for r in rows_used})
    ys = sorted({r[yname] for r in rows_used}) if yname else [None]
    grid = np.full((len(ys), len(xs)), np.nan)
    errors = np.full_like(grid, np.nan)
    for r in rows_used:
        i = ys.index(r[yname]) if yname else 0
        grid[i, xs.index(r[xname])] = r[quantity]
        errors[i, xs.index(r[xname])] = r[f"{quantity}_err"]

    # two axes: the map and its cuts; one axis: the cut alone, with its error bars
    fig = Figure(figsize=(12, 4.8) if yname else (6.4, 4.6))
    ax_map, ax_cut = fig.subplots(1, 2) if yname else (None, fig.subplots())
    where = "".join(f", {name} = {value}" for name, value in fixed.items())
    delta = float(fixed.get("delta", manifest["base"].get("delta", PARAM_DEFAULTS["delta"])))
    if yname:
        xe, ye = _edges(xs), _edges(ys)
        mesh = ax_map.pcolormesh(xe, ye, np.ma.masked_invalid(grid), cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax_map, label=LABELS[quantity])
        ax_map.set_xlabel(xname)
        ax_map.set_ylabel(yname)
        _draw_jamming_line(ax_map, xname, yname, rows_used, delta)
        ax_map.set_xlim(xe[0], xe[-1])
        ax_map.set_ylim(ye[0], ye[-1])
        _mark_missing(ax_map, rows_used, xname, yname, quantity)
    cmap = matplotlib.colormaps["viridis"]
    for i, y in enumerate(ys):
        color = cmap(i / max(1, len(ys) - 1)) if yname else "k"
        bars = np.where(np.isfinite(errors[i]), errors[i], 0.0)
        ax_cut.errorbar(xs, grid[i], yerr=bars, fmt="o-", color=color, capsize=2.5, ms=4, lw=1,
                        label=f"{yname} = {y:g}" if yname else None)
    if not yname:
        _mark_missing(ax_cut, rows_used, xname, None, quantity)
        edges = _edges(xs)
        ax_cut.set_xlim(edges[0], edges[-1])   # every point, also those without a value
    ax_cut.set_xlabel(xname)
    ax_cut.set_ylabel(LABELS[quantity])
    if not yname and xname == "alpha" and math.isfinite(gardner_alpha(delta)):
        ax_cut.axvline(gardner_alpha(delta), color="grey", ls="--", lw=1,
                       label=f"α_J(Δ={delta:g}) = {gardner_alpha(delta):.3g} (Gardner)")
    if ax_cut.get_legend_handles_labels()[0]:
        ax_cut.legend(fontsize=8)
    if not yname and any(math.isfinite(e) for e in errors[0]):
        ax_cut.set_title("error bars: one standard error", fontsize=8)
    fig.suptitle(f"{LABELS[quantity]} over ({xname}, {yname}){where} — {use} files in "
                 f"{os.path.basename(os.path.abspath(folder))}"
                 if yname else f"{LABELS[quantity]}\nagainst {xname}{where} — {use} files", fontsize=10)
    fig.tight_layout()

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=axes + ["kind", quantity, f"{quantity}_err", "definition",
                                                     "measured_at", "status", "measurement", "note", "file"])
    writer.writeheader()
    writer.writerows({**r, "definition": LABELS[quantity]} for r in rows)
    save_figure(fig, output, dpi=130)
    write_atomic(table, text.getvalue().encode())
    return output, table


#: short labels of the cells without a value, by measurement status (or run status)
MISSING_LABELS = {"not_reached": "not\nreached", "aging": "aging", "frozen": "frozen", "diverged": "diverged",
                  "missing": "missing"}


def _mark_missing(ax, rows, xname, yname, quantity) -> None:
    """Write in every cell without a value (``yname`` None: every point of a cut) why: the
    measurement's status (``dmft measure``), the run's status, or ``n/a`` (see the CSV's note)."""
    for r in rows:
        if math.isfinite(r[quantity]):
            continue
        why = r.get("measurement") or (r["status"] if r["status"] != "ok" else "n/a")
        if yname is None:   # a cut: at the bottom of the axes, at the point's x
            ax.text(r[xname], 0.03, MISSING_LABELS.get(why, why), ha="center", va="bottom", fontsize=7,
                    color="0.25", transform=ax.get_xaxis_transform())
        else:
            ax.text(r[xname], r[yname], MISSING_LABELS.get(why, why), ha="center", va="center", fontsize=7,
                    color="0.25")


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
