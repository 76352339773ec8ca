"""What each dataset of a result is: its dimensions, units and long name.

One table (:data:`VARIABLES`) serves the files and the in-memory view:

* :func:`describe_h5` (called once by :func:`dmft.core.io.write_h5`) makes ``t``, ``tw``,
  ``gap_t`` and ``gap_edges`` HDF5 dimension scales, adds the coordinates ``gap_bin`` (bin
  centres: ``gap_hist`` has one value fewer than ``gap_edges``), ``batches/batch`` (the batch
  of samples or replicates) and ``kernels/s`` (the earlier time of a two-time kernel),
  attaches them to every dataset, and writes ``units`` and ``long_name`` on every dataset.
  ``xarray.open_dataset(path, engine="h5netcdf")`` then gives named dimensions with ``t`` and
  ``tw`` as coordinates (``group="batches"``: the batch averages).
* :func:`to_xarray` builds the same Dataset from a :class:`~dmft.core.result.Result`.

The model is dimensionless (``docs/conventions.md``): every ``units`` is ``"1"``; times are in
the units in which one step lasts ``dt``.
"""

from __future__ import annotations

import json

import numpy as np

#: units of every quantity of the model (dimensionless; CF notation)
UNITS = "1"

#: name -> (dimensions, long name) of the observables and their coordinates
VARIABLES = {
    "t": (("t",), "time t (t_i = i dt)"),
    "tw": (("tw",), "waiting time tw of the two-time observables"),
    "energy": (("t",), "training energy per weight e(t) = H/N"),
    "frac_unsat": (("t",), "fraction of violated constraints #{h < 0}/P"),
    "nu": (("t",), "spherical multiplier nu(t) (lambda for ridge)"),
    "norm": (("t",), "squared norm C(t,t) = |w(t)|^2/N"),
    "distance": (("t",), "replica distance d(t) = (C11(t,t) + C22(t,t))/2 - C12(t,t)"),
    "C": (("tw", "t"), "correlation C(t, tw) = w(t).w(tw)/N (NaN for t < tw)"),
    "chi": (("tw", "t"), "integrated response chi(t, tw) (NaN for t < tw)"),
    "gap_t": (("gap_t",), "times of the gap histograms"),
    "gap_edges": (("gap_edges",), "edges of the gap-histogram bins (gap_bin + 1 values)"),
    "gap_bin": (("gap_bin",), "centre of a gap-histogram bin (gap h = w.xi/sqrt(N) - delta)"),
    "gap_hist": (("gap_t", "gap_bin"), "density of the gaps h at time gap_t"),
    "proj_A": (("t",), "projection factor A(t) of the DMFT weight-side step (diagnostic)"),
}
#: long names of the two-time DMFT kernels (dimensions (t, s))
KERNELS = {
    "C": "correlation kernel C(t, s)",
    "R": "response kernel R(t, s)",
    "M_C": "memory kernel M_C(t, s) (noise covariance of the effective process)",
    "M_R": "memory kernel M_R(t, s) (response of the effective process)",
    "C12": "inter-replica correlation C12(t, s)",
}
#: datasets :func:`describe_h5` adds as coordinates only (the reader skips them)
COORDINATES_ONLY = ("gap_bin", "batches/batch", "kernels/s")


def added_coordinate(obj) -> bool:
    """Whether the HDF5 object is one of the coordinates :func:`describe_h5` added (not data)."""
    return obj.name.lstrip("/") in COORDINATES_ONLY


def gap_bins(edges: np.ndarray) -> np.ndarray:
    """Centres of the histogram bins between ``edges``."""
    edges = np.asarray(edges, dtype=float)
    return 0.5 * (edges[1:] + edges[:-1])


def dims_and_name(name: str, source: str = "repetitions"):
    """(dimensions, long name) of the dataset ``name`` (``<obs>_sem`` included), or None for a
    dataset the table does not know."""
    if name.endswith("_sem") and name[:-4] in VARIABLES:
        dims, long_name = VARIABLES[name[:-4]]
        return dims, f"standard error of the mean over {source}: {long_name}"
    return VARIABLES.get(name)


def _attach(ds, dims, scales) -> None:
    """Attach the scales named ``dims`` to ``ds`` where the lengths agree."""
    if len(dims) != ds.ndim:
        return
    for axis, dim in enumerate(dims):
        scale = scales.get(dim)
        if scale is not None and scale.name != ds.name and scale.shape == (ds.shape[axis],):
            ds.dims[axis].attach_scale(scale)


def _label(ds, long_name: str) -> None:
    ds.attrs["units"] = UNITS
    ds.attrs["long_name"] = long_name


def describe_h5(f) -> None:
    """Dimension scales, ``units`` and ``long_name`` for every dataset of an open result file
    (module docstring).  Only metadata: no value of an existing dataset changes."""
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
        known = dims_and_name(name, source)
        if known is None:  # a further diagnostic: named after itself, on t when it has T values
            _attach(ds, ("t",), scales)
            _label(ds, name)
        else:
            _attach(ds, known[0], scales)
            _label(ds, known[1])
    if "batches" in f:
        g = f["batches"]
        if "batch_size" in g and "batch" not in g:
            g.create_dataset("batch", data=np.arange(len(g["batch_size"])))
        if "batch" in g:
            g["batch"].make_scale("batch")
            _label(g["batch"], f"batch of {source} (contiguous, for jackknife errors)")
        batch_scales = {**scales, "batch": g.get("batch")}
        for name, ds in g.items():
            if name == "batch":
                continue
            if name == "batch_size":
                _attach(ds, ("batch",), batch_scales)
                _label(ds, f"{source} averaged in each batch")
                continue
            dims, long_name = VARIABLES.get(name, ((), name))
            _attach(ds, ("batch",) + dims, batch_scales)
            _label(ds, f"average over one batch of {source}: {long_name}")
    if "kernels" in f and len(f["kernels"]) and "t" in f:
        g = f["kernels"]
        if "s" not in g:
            g.create_dataset("s", data=f["t"][()])
        g["s"].make_scale("s")
        _label(g["s"], "earlier time s of a two-time kernel")
        kernel_scales = {"t": scales.get("t"), "s": g["s"]}
        for name, ds in g.items():
            if name != "s":
                _attach(ds, ("t", "s"), kernel_scales)
                _label(ds, KERNELS.get(name, name))


def to_xarray(result):
    """The observables of ``result`` as an ``xarray.Dataset`` (the same names, dimensions,
    units and long names as the file; attributes: the flat settings, kind, status and
    provenance).  Needs ``xarray`` (``pip install xarray``)."""
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
    coords = {"t": result.t, "tw": result.tw}
    if "gap_t" in result.extra:
        coords["gap_t"] = result.extra["gap_t"]
    if "gap_edges" in result.extra:
        coords["gap_edges"] = result.extra["gap_edges"]
        coords["gap_bin"] = gap_bins(result.extra["gap_edges"])

    def variable(name, value):
        dims, long_name = dims_and_name(name, source) or (None, name)
        value = np.asarray(value)
        if dims is None or len(dims) != value.ndim:
            dims = tuple(f"{name}_dim{i}" for i in range(value.ndim))
        return xr.Variable(dims, value, {"units": UNITS, "long_name": long_name})

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
