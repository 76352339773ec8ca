"""What each dataset of a result is: its dimensions, long name and description.

One table (:data:`VARIABLES`) serves the files and the in-memory view:

* :func:`describe_h5` (called once by :func:`dmft.core.io.write_h5`) makes ``t``, ``tw``,
  ``gap_t`` and ``gap_edges`` HDF5 dimension scales, adds the coordinates ``gap_bin`` (bin
  centres: ``gap_hist`` has one value fewer than ``gap_edges``), ``batches/batch`` (the batch
  of samples or replicates) and ``kernels/s`` (the earlier time of a two-time kernel),
  attaches them to every dataset, and writes ``long_name`` and ``description`` on every dataset.
  ``xarray.open_dataset(path, engine="h5netcdf")`` then gives named dimensions with ``t`` and
  ``tw`` as coordinates (``group="batches"``: the batch averages).
* :func:`to_xarray` builds the same Dataset from a :class:`~dmft.core.result.Result`, and
  :func:`from_xarray` goes back (also from one point of a scan's Dataset).

The model is dimensionless (``docs/conventions.md``): no dataset has a ``units`` attribute (CF:
a variable without one is dimensionless), so that xarray labels read ``C(t, tw)``, not
``C(t, tw) [1]``; times are in the units in which one step lasts ``dt``.  ``long_name`` is short
(at most :data:`LONG_NAME_MAX` characters: an axis label that does not wrap), and
``description`` says what the quantity is in full.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np

#: longest ``long_name``: xarray wraps axis labels at 30 characters
LONG_NAME_MAX = 30


class Variable(NamedTuple):
    """Dimensions, short ``long_name``, symbol (in the names of its errors and batch means) and
    full ``description`` of a dataset."""

    dims: tuple
    long_name: str
    symbol: str
    description: str


#: name -> :class:`Variable` of the observables and their coordinates
VARIABLES = {
    "t": Variable(("t",), "time t", "t", "time t (t_i = i dt; units in which one step lasts dt)"),
    "tw": Variable(("tw",), "waiting time tw", "tw", "waiting time tw of the two-time observables"),
    "energy": Variable(("t",), "energy e(t) = H/N", "e(t)", "training energy per weight e(t) = H/N"),
    "frac_unsat": Variable(("t",), "violated fraction #{h<0}/P", "#{h<0}/P",
                           "fraction of violated constraints #{h < 0}/P"),
    "nu": Variable(("t",), "spherical multiplier nu(t)", "nu(t)", "spherical multiplier nu(t) (lambda for ridge)"),
    "norm": Variable(("t",), "squared norm C(t,t)", "C(t,t)", "squared norm C(t,t) = |w(t)|^2/N"),
    "m": Variable(("t",), "teacher overlap m(t)", "m(t)", "teacher overlap m(t) = w(t).w*/N (teacher data)"),
    "gen_error": Variable(("t",), "generalisation error eps_g", "eps_g(t)",
                          "generalisation error eps_g(t) = arccos(m/sqrt(C(t,t)))/pi (teacher data)"),
    "distance": Variable(("t",), "replica distance d(t)", "d(t)",
                         "replica distance d(t) = (C11(t,t) + C22(t,t))/2 - C12(t,t)"),
    "C": Variable(("tw", "t"), "correlation C(t, tw)", "C(t, tw)",
                  "correlation C(t, tw) = w(t).w(tw)/N (NaN for t < tw)"),
    "chi": Variable(("tw", "t"), "response chi(t, tw)", "chi(t, tw)",
                    "integrated response chi(t, tw) = int_tw^t R(t, s) ds (NaN for t < tw)"),
    "gap_t": Variable(("gap_t",), "time of the gap histogram", "gap_t", "times of the gap histograms"),
    "gap_edges": Variable(("gap_edges",), "gap bin edge", "gap_edges",
                          "edges of the gap-histogram bins (gap_bin + 1 values)"),
    "gap_bin": Variable(("gap_bin",), "gap h", "h",
                        "centre of a gap-histogram bin (gap h = w.xi/sqrt(N) - delta)"),
    "gap_hist": Variable(("gap_t", "gap_bin"), "gap density p(h)", "p(h)", "density of the gaps h at time gap_t"),
    "proj_A": Variable(("t",), "projection factor A(t)", "A(t)",
                       "projection factor A(t) of the DMFT weight-side step (diagnostic: the factor that "
                       "keeps the effective process on the sphere, docs/dmft-derivation.md)"),
}
#: the two-time DMFT kernels (dimensions (t, s)): name -> (long name, description)
KERNELS = {
    "C": ("kernel C(t, s)", "correlation kernel C(t, s)"),
    "R": ("kernel R(t, s)", "response kernel R(t, s)"),
    "M_C": ("memory kernel M_C(t, s)", "memory kernel M_C(t, s) (noise covariance of the effective process)"),
    "M_R": ("memory kernel M_R(t, s)", "memory kernel M_R(t, s) (response of the effective process)"),
    "C12": ("kernel C12(t, s)", "inter-replica correlation C12(t, s)"),
}
#: datasets :func:`describe_h5` adds as coordinates only (the reader skips them)
COORDINATES_ONLY = ("gap_bin", "batches/batch", "kernels/s")
#: dimensions of the observables (a scan axis of one of these names cannot be stacked beside them)
DIMENSIONS = ("t", "tw", "gap_t", "gap_bin", "gap_edges", "batch")


def added_coordinate(obj) -> bool:
    """Whether the HDF5 object is one of the coordinates :func:`describe_h5` added (not data)."""
    return obj.name.lstrip("/") in COORDINATES_ONLY


def gap_bins(edges: np.ndarray) -> np.ndarray:
    """Centres of the histogram bins between ``edges``."""
    edges = np.asarray(edges, dtype=float)
    return 0.5 * (edges[1:] + edges[:-1])


def describe(name: str, source: str = "repetitions"):
    """(dimensions, attributes) of the dataset ``name`` -- an observable, ``<obs>_sem`` (its
    standard error), ``<obs>_batches`` (its batch means, dimension ``batch`` first) or
    ``<obs>_paths_bias`` (its finite-n_paths correction) -- with the
    attributes ``long_name`` and ``description``; None for a name the table does not know."""
    for suffix, short, text in (("_sem", "s.e.m. of", f"standard error of the mean over {source}:"),
                                ("_batches", "batch mean of", f"average over one batch of {source}:"),
                                ("_paths_bias", "finite-n_paths correction of",
                                 "value at the largest n_paths minus its extrapolation to n_paths -> infinity "
                                 "(dmft.core.extrapolation):")):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base in VARIABLES:
            v = VARIABLES[base]
            dims = v.dims if suffix != "_batches" else ("batch",) + v.dims
            return dims, {"long_name": f"{short} {v.symbol}", "description": f"{text} {v.description}"}
    if name in VARIABLES:
        v = VARIABLES[name]
        return v.dims, {"long_name": v.long_name, "description": v.description}
    return None


def dims_and_name(name: str, source: str = "repetitions"):
    """(dimensions, long name) of the dataset ``name`` (``<obs>_sem`` included), or None for a
    dataset the table does not know."""
    known = describe(name, source)
    return None if known is None else (known[0], known[1]["long_name"])


def _attach(ds, dims, scales) -> None:
    """Attach the scales named ``dims`` to ``ds`` where the lengths agree."""
    if len(dims) != ds.ndim:
        return
    for axis, dim in enumerate(dims):
        scale = scales.get(dim)
        if scale is not None and scale.name != ds.name and scale.shape == (ds.shape[axis],):
            ds.dims[axis].attach_scale(scale)


def _label(ds, long_name: str, description: str | None = None) -> None:
    ds.attrs["long_name"] = long_name
    ds.attrs["description"] = description or long_name
    if "units" in ds.attrs:   # dimensionless (module docstring)
        del ds.attrs["units"]


def describe_h5(f) -> None:
    """Dimension scales, ``long_name`` and ``description`` for every dataset of an open result
    file (module docstring).  Only metadata: no value of an existing dataset changes."""
    import h5py

    source = f.attrs.get("errors_source", "repetitions")
    source = source.decode() if isinstance(source, bytes) else str(source)
    if "gap_edges" in f and "gap_hist" in f and "gap_bin" not in f:
        f.create_dataset("gap_bin", data=gap_bins(f["gap_edges"][()]))
    scales = {}
    for name in ("t", "tw", "gap_t", "gap_edges", "gap_bin"):
        if name in f and f[name].ndim == 1:
            f[name].make_scale(name)
            scales[name] = f[name]
    for name, ds in f.items():
        if not isinstance(ds, h5py.Dataset):
            continue
        known = describe(name, source)
        if known is None:  # a further diagnostic: named after itself, on t when it has T values
            _attach(ds, ("t",), scales)
            _label(ds, name)
        else:
            _attach(ds, known[0], scales)
            _label(ds, **known[1])
    if "batches" in f:
        g = f["batches"]
        if "batch_size" in g and "batch" not in g:
            g.create_dataset("batch", data=np.arange(len(g["batch_size"])))
        if "batch" in g:
            g["batch"].make_scale("batch")
            _label(g["batch"], "batch", f"batch of {source} (contiguous, for jackknife errors)")
        batch_scales = {**scales, "batch": g.get("batch")}
        for name, ds in g.items():
            if name == "batch":
                continue
            if name == "batch_size":
                _attach(ds, ("batch",), batch_scales)
                _label(ds, "batch size", f"{source} averaged in each batch")
                continue
            dims, attrs = describe(f"{name}_batches", source) or (("batch",), {"long_name": name})
            _attach(ds, dims, batch_scales)
            _label(ds, **attrs)
    if "kernels" in f and len(f["kernels"]) and "t" in f:
        g = f["kernels"]
        if "s" not in g:
            g.create_dataset("s", data=f["t"][()])
        g["s"].make_scale("s")
        _label(g["s"], "earlier time s", "earlier time s of a two-time kernel")
        kernel_scales = {"t": scales.get("t"), "s": g["s"]}
        for name, ds in g.items():
            if name != "s":
                _attach(ds, ("t", "s"), kernel_scales)
                _label(ds, *KERNELS.get(name, (name, name)))


def to_xarray(result, batches: bool = False):
    """The observables of ``result`` as an ``xarray.Dataset`` (the same names, dimensions, long
    names and descriptions as the file; attributes: the flat settings, kind, status and
    provenance).  ``batches``: also the batch means, ``<name>_batches`` on a first dimension
    ``batch`` with ``batch_size``, which the file keeps in its group ``batches/``: with them
    :func:`from_xarray` gives back the jackknife errors of ``T_eff``.  Needs ``xarray``."""
    import xarray as xr

    source = result.errors.source if result.errors is not None else "repetitions"
    arrays = {"energy": result.energy, "frac_unsat": result.frac_unsat, "nu": result.nu, "C": result.C,
              "chi": result.chi, "norm": result.norm()}
    if result.distance is not None:
        arrays["distance"] = result.distance
    for name, value in result.extra.items():
        if name not in ("norm", "gap_t", "gap_edges"):
            arrays[name] = value
    arrays.update({f"{name}_sem": value for name, value in result.sem.items()})
    if batches and result.errors is not None and result.errors.batches:
        arrays.update({f"{name}_batches": value for name, value in result.errors.batches.items()})
        arrays["batch_size"] = result.errors.batch_size
    coords = {"t": result.t, "tw": result.tw}
    if "gap_t" in result.extra:
        coords["gap_t"] = result.extra["gap_t"]
    if "gap_edges" in result.extra:
        coords["gap_edges"] = result.extra["gap_edges"]
        coords["gap_bin"] = gap_bins(result.extra["gap_edges"])

    def variable(name, value):
        value = np.asarray(value)
        if name == "batch_size":
            dims, attrs = ("batch",), {"long_name": "batch size", "description": f"{source} averaged in each batch"}
        else:
            dims, attrs = describe(name, source) or (None, {"long_name": name, "description": name})
        if dims is None or len(dims) != value.ndim:
            dims = tuple(f"{name}_dim{i}" for i in range(value.ndim))
        return xr.Variable(dims, value, attrs)

    attrs = {**{k: _attr(v) for k, v in result.params.to_dict().items()},
             **{k: _attr(v) for k, v in result.method.to_dict().items()},
             "kind": result.kind, "status": result.status.value}
    attrs.update({k: _attr(v) for k, v in result.meta.items() if k not in attrs and v is not None})
    if result.errors is not None:
        attrs["errors_source"], attrs["errors_count"] = result.errors.source, int(result.errors.count)
    return xr.Dataset({name: variable(name, value) for name, value in arrays.items()},
                      coords={name: variable(name, value) for name, value in coords.items()}, attrs=attrs)


def _attr(value):
    """A value netCDF attributes can hold (bools as ints, mappings as JSON)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list, tuple)) and not all(isinstance(v, (int, float)) for v in value):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return np.asarray(value, dtype=float)
    return value


# --------------------------------------------------------------------------- the way back
#: provenance attributes carried back into ``Result.meta``
_META = ("package_version", "git_commit", "created_utc", "command_line", "wall_time_s", "message")


def _plain(value, default):
    """An attribute value as the Python type of the setting's default (``tw``: a tuple)."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(default, bool) or isinstance(value, bool):
        return bool(value)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, float) and isinstance(default, (tuple, type(None))):
        return (value,)   # one waiting time, stored as a scalar
    return value


def _own_grid(ds, params):
    """``ds`` restricted to the time grid, waiting times, gap times and gap bins of ``params``:
    a Dataset of a scan (:func:`dmft.analysis.scans.load_scan`) holds the union of the grids of
    its points, NaN where a point has none."""
    dt = params.dt
    tol = 1e-6 * dt
    grid = np.arange(params.n_steps + 1) * dt
    ds = ds.sel(t=grid, method="nearest", tolerance=tol)
    if "tw" in ds.dims:
        ds = ds.sel(tw=list(params.tw), method="nearest", tolerance=tol) if params.tw else ds.isel(tw=[])
    if "gap_t" in ds.dims:
        gap_t = np.array(sorted(set(params.tw_index) | {params.n_steps})) * dt
        if ds.sizes["gap_t"] != len(gap_t):
            ds = ds.sel(gap_t=gap_t, method="nearest", tolerance=tol)
    if "gap_hist" in ds and "gap_bin" in ds.dims:
        own = ~np.isnan(ds["gap_hist"].values).all(axis=0)
        if not own.all() and own.any():
            bins = ds["gap_bin"].values[own]
            half = 0.5 * (bins[1] - bins[0]) if len(bins) > 1 else 0.5
            ds = ds.isel(gap_bin=np.flatnonzero(own))
            edges = ds["gap_edges"].values
            keep = (edges >= bins[0] - half - 1e-9) & (edges <= bins[-1] + half + 1e-9)
            ds = ds.isel(gap_edges=np.flatnonzero(keep))
    return ds


def from_xarray(ds):
    """The :class:`~dmft.core.result.Result` of one point from an ``xarray.Dataset``: what
    :func:`to_xarray` or ``xarray.open_dataset(FILE, engine="h5netcdf")`` gives, or one point of a
    scan (``dmft.load_scan(DIR).sel(b=0.5)``: its scalar coordinates supply the scanned settings).
    The settings come from the attributes, the errors from ``<name>_sem``, the batch means (for
    jackknife errors) from ``<name>_batches`` when present.  ``ValueError`` for a Dataset that
    is not one point of a result (the message names what is missing)."""
    from .io import FileFormatError, check_layout
    from .methods import METHODS, split_settings
    from .params import PARAM_DEFAULTS
    from .result import Errors, Result

    extra_dims = [d for d in ds.dims if d not in DIMENSIONS]
    if extra_dims:
        raise ValueError(f"the Dataset spans {', '.join(map(str, extra_dims))}: select one point first, "
                         f"e.g. ds.sel({extra_dims[0]}={ds[extra_dims[0]].values[0]!r})")
    scalars = {name: ds[name].values.item() for name in ds.variables if ds[name].ndim == 0}
    given = {**ds.attrs, **scalars}
    kind = _plain(given.get("kind", ""), "")
    if kind not in METHODS:
        raise ValueError(f"the Dataset has no kind attribute of a result (dmft or simulation), got {kind!r}")
    defaults = {**PARAM_DEFAULTS, **{f: getattr(METHODS[kind](), f) for f in METHODS[kind].names()}}
    settings = {name: _plain(given[name], default) for name, default in defaults.items() if name in given}
    params, method = split_settings(settings, kind)
    ds = _own_grid(ds, params)

    def values(name):
        return np.asarray(ds[name].values, dtype=float)

    missing = [name for name in ("energy", "frac_unsat", "nu", "C", "chi") if name not in ds]
    if missing:
        raise ValueError(f"the Dataset lacks the observable(s) {', '.join(missing)}")
    fields = {"energy", "frac_unsat", "nu", "C", "chi", "distance", "batch_size", "status", "file"}
    sem = {name[:-4]: values(name) for name in ds.data_vars if str(name).endswith("_sem")}
    batches = {name[:-8]: values(name) for name in ds.data_vars if str(name).endswith("_batches")}
    extra = {str(name): values(name) for name in ds.data_vars
             if name not in fields and not str(name).endswith(("_sem", "_batches")) and ds[name].ndim > 0}
    extra.update({name: values(name) for name in ("gap_t", "gap_edges") if name in ds.coords})
    errors = None
    if sem or batches:
        batch_size = np.asarray(ds["batch_size"].values, dtype=int) if batches and "batch_size" in ds else None
        errors = Errors(source=str(_plain(given.get("errors_source", "samples" if kind == "simulation" else "replicates"), "")),
                        count=int(_plain(given.get("errors_count", 1), 0)), sem=sem,
                        batches=batches if batch_size is not None else {}, batch_size=batch_size)
    meta = {key: _plain(given[key], "") for key in _META if key in given}
    meta["seed"] = params.seed
    try:
        result = Result(params=params, method=method, status=str(_plain(given.get("status", "ok"), "")),
                        t=values("t"), energy=values("energy"), frac_unsat=values("frac_unsat"), nu=values("nu"),
                        tw=values("tw"), C=values("C"), chi=values("chi"),
                        distance=values("distance") if "distance" in ds else None, errors=errors,
                        extra=extra, meta=meta)
        check_layout(result, "the Dataset")
    except FileFormatError as exc:
        raise ValueError(str(exc)) from None
    return result
