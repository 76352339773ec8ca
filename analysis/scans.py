"""A scan folder as one ``xarray.Dataset`` over the scanned axes.

``dmft scan CONFIG.toml -o DIR`` writes one file per point and ``DIR/scan.json`` (the axes and,
per file, its kind and axis values; ``docs/conventions.md`` section 6).  Two views of the folder:

* :func:`open_scan` -- what the phase diagram knows: every quantity of
  :data:`~dmft.analysis.phase_diagram.QUANTITIES` (``teff`` = ``T_eff``, ``distance`` =
  ``d_inf``, the final ``energy``, ...) with its error ``<q>_err``, the note that says why a value
  is missing ``<q>_note`` and where it was measured ``<q>_measured_at``, and per point its
  ``status`` (``ok``, ``diverged`` or ``missing``) and ``file``: the numbers of
  ``dmft phase-diagram`` and its CSV, from the same function
  (:func:`~dmft.analysis.phase_diagram.point_value`).
* :func:`load_scan` -- every file's observables (``energy(t)``, ``C(tw, t)``, their ``_sem`` and
  batch means, ...: :meth:`~dmft.core.result.Result.to_xarray` of each file) stacked over the
  axes; ``Result.from_xarray(ds.sel(b=0.5))`` gives one point back as a
  :class:`~dmft.core.result.Result` (its ``T_eff`` with the jackknife error of the file).

The dimensions are the scanned axes in the order of the configuration, with their values as
coordinates, and ``kind`` (``dmft``, ``simulation``) when the folder holds both
(``mode = "both"``; a scalar coordinate otherwise, or with ``kind=...``).  Points of different
time grids (``t_max`` or ``dt`` scanned) are aligned on the union of the grids, NaN where a point
has no value.  The settings that every point shares are the attributes.  A file that is not the
point ``scan.json`` lists for it is refused (:class:`~dmft.core.io.FileFormatError`).  Needs
``xarray``.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ..core.io import load
from ..core.manifest import load_manifest
from ..core.schema import DIMENSIONS
from .phase_diagram import LABELS, QUANTITIES, TEACHER_QUANTITIES, _check_listed, point_value

#: order of the kinds along the ``kind`` dimension
KINDS = ("dmft", "simulation")
#: axis labels of the quantities (``long_name``; the full definition is the ``description``)
SHORT = {"teff": "T_eff = T_static", "distance": "replica distance d_inf", "energy": "energy e(t_max)",
         "frac_unsat": "violated fraction (t_max)", "gen_error": "eps_g(t_max)", "m": "overlap m(t_max)"}


def _xarray():
    try:
        import xarray
    except ImportError:   # pragma: no cover - xarray is in the test extra
        raise ImportError("a scan as a Dataset needs xarray: pip install 'sgd-dmft[test]' (or xarray "
                          "and h5netcdf)") from None
    return xarray


def _coordinate(value):
    """An axis or setting value as netCDF can hold it (a list, e.g. waiting times, as its JSON
    text; a bool as 0 or 1)."""
    if isinstance(value, bool):
        return int(value)
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _entries(folder: str, kind: str | None):
    """(manifest, axes, entries) with each entry once (a grid point listed twice is one file)."""
    manifest = load_manifest(folder)
    axes = {name: list(dict.fromkeys(_coordinate(v) for v in values)) for name, values in manifest["axes"].items()}
    entries, seen = [], set()
    for entry in manifest["files"]:
        if kind is not None and entry["kind"] != kind:
            continue
        key = (entry["kind"],) + tuple(_coordinate(entry["coords"].get(name)) for name in axes)
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    if kind is not None and not entries:
        raise ValueError(f"'{folder}' holds no {kind} files (kinds: "
                         f"{', '.join(sorted({e['kind'] for e in manifest['files']}))})")
    return manifest, axes, entries


def _point(entry: dict, axes: dict, point):
    """``point`` (a Dataset of one point) with the axis values and kind as coordinates of a new
    dimension ``point`` of length 1, for stacking."""
    coords = {name: [_coordinate(entry["coords"].get(name))] for name in axes}
    coords["kind"] = [entry["kind"]]
    return point.expand_dims("point").assign_coords({name: ("point", v) for name, v in coords.items()})


def _stack(points: list, axes: dict, kinds: list, attrs: dict):
    """One Dataset over the axes (and ``kind`` when there are several) from the points; its
    attributes: those every point shares, then ``attrs``."""
    xr = _xarray()
    ds = xr.concat(points, dim="point", join="outer", combine_attrs="drop_conflicts",
                   data_vars="all", coords="different", compat="equals")
    index = list(axes) + ["kind"]
    ds = ds.set_index(point=index).unstack("point")
    ds = ds.reindex({name: values for name, values in axes.items()} | {"kind": kinds})
    if len(kinds) == 1:
        ds = ds.squeeze("kind")
    ds.attrs = {**ds.attrs, **attrs}
    return ds.transpose(*axes, *(["kind"] if len(kinds) > 1 else []), ...)


def _shared_attrs(manifest: dict, axes: dict, folder: str) -> dict:
    """The scan's settings shared by every point (``[base]``), the mode and the folder."""
    base = {k: _coordinate(v) for k, v in manifest.get("base", {}).items() if k not in axes}
    return {**base, "scan_mode": manifest.get("mode", ""), "scan_axes": json.dumps(list(axes)),
            "scan_folder": os.path.abspath(folder)}


def _applicable(result, quantity: str) -> bool:
    """Whether ``result`` can have ``quantity`` at all (a T_eff needs waiting times, d_inf two
    replicas, eps_g and m teacher data)."""
    if quantity == "teff":
        return len(result.tw) > 0
    if quantity == "distance":
        return result.distance is not None
    if quantity in TEACHER_QUANTITIES:
        return quantity in result.extra
    return True


def open_scan(folder: str, kind: str | None = None):
    """The scan in ``folder`` as an ``xarray.Dataset`` of the phase diagram's quantities over the
    scanned axes (module docstring): ``<q>``, ``<q>_err``, ``<q>_note``, ``<q>_measured_at`` for
    every quantity some point can have, ``status`` and ``file`` per point.  ``kind``: only the
    ``dmft`` or only the ``simulation`` files."""
    xr = _xarray()
    manifest, axes, entries = _entries(folder, kind)
    kinds = [k for k in KINDS if any(e["kind"] == k for e in entries)]
    rows, present = [], set()
    for entry in entries:
        path = os.path.join(folder, entry["file"])
        row = {"status": "missing", "file": entry["file"]}
        if os.path.exists(path):
            result = load(path)
            _check_listed(path, result, entry)
            row["status"] = result.status.value
            for q in QUANTITIES:
                if _applicable(result, q):
                    present.add(q)
                    row[q] = point_value(result, q)
        rows.append(row)
    points = []
    nan = (math.nan, math.nan, "", "")
    for entry, row in zip(entries, rows):
        data = {"status": ((), row["status"]), "file": ((), row["file"])}
        for q in (q for q in QUANTITIES if q in present):
            value, err, note, where = row.get(q, nan)
            if row["status"] == "missing":
                note = "file missing"
            elif q not in row:
                note = "not defined for this point"
            data.update({q: ((), value), f"{q}_err": ((), err), f"{q}_note": ((), note),
                         f"{q}_measured_at": ((), where)})
        points.append(_point(entry, axes, xr.Dataset(data)))
    ds = _stack(points, axes, kinds, _shared_attrs(manifest, axes, folder))
    for q in (q for q in QUANTITIES if q in present):
        ds[q].attrs = {"long_name": SHORT.get(q, q), "description": LABELS[q]}
        ds[f"{q}_err"].attrs = {"long_name": f"error of {SHORT.get(q, q)}"[:30],
                                "description": f"standard error of: {LABELS[q]}"}
        ds[f"{q}_note"].attrs = {"description": f"why {q} is missing (empty when it is not)"}
        ds[f"{q}_measured_at"].attrs = {"description": f"where {q} was measured (tw and time window)"}
    ds["status"].attrs = {"description": "ok, diverged, or missing (no file yet)"}
    ds["file"].attrs = {"description": f"the result file in {folder}"}
    return _fill_strings(ds)


def load_scan(folder: str, kind: str | None = None):
    """The scan in ``folder`` as an ``xarray.Dataset`` of every file's observables over the scanned
    axes (module docstring), with ``status`` and ``file`` per point and the batch means that
    :meth:`~dmft.core.result.Result.from_xarray` needs for jackknife errors.  ``kind``: only the
    ``dmft`` or only the ``simulation`` files."""
    xr = _xarray()
    manifest, axes, entries = _entries(folder, kind)
    clash = [name for name in axes if name in DIMENSIONS or name == "kind"]
    if clash:
        raise ValueError(f"the scan's axis {clash[0]!r} is also a dimension of the observables: "
                         "open_scan(folder) gives its quantities")
    kinds = [k for k in KINDS if any(e["kind"] == k for e in entries)]
    points = []
    for entry in entries:
        path = os.path.join(folder, entry["file"])
        if os.path.exists(path):
            result = load(path)
            _check_listed(path, result, entry)
            point = result.to_xarray(batches=True)
            point["status"] = ((), result.status.value)
        else:
            point = xr.Dataset({"status": ((), "missing")})
        point["file"] = ((), entry["file"])
        point.attrs = {k: v for k, v in point.attrs.items() if k not in axes}
        points.append(_point(entry, axes, point))
    return _fill_strings(_stack(points, axes, kinds, _shared_attrs(manifest, axes, folder)))


def _fill_strings(ds):
    """String variables with the empty string (not NaN) where a point has none."""
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            ds[name] = var.fillna("").astype(str)
    return ds


__all__ = ["load_scan", "open_scan"]
