"""HDF5 storage of a :class:`~dmft.core.result.Result` (``docs/conventions.md`` section 5).

:func:`save` writes atomically: the file is built in memory, written under a temporary name in
the same folder and renamed onto the final name only when complete, so a killed run or a full
disk never leaves a truncated file there (:mod:`dmft.core.outputs`).  :func:`load` reads it
back into the same result object, checking ``format_version`` (files of format 1, before the
method objects, are read and converted; newer formats are refused with a message) and every
dataset against the settings (:func:`check_layout`).

Layout of format 2: root attributes ``format_version``, ``kind``, ``status``, ``point_hash``,
``config_json`` (the flat settings: every parameter and every method setting, resolved), each of
them also as its own attribute, provenance (``package_version``, ``git_commit``, ``created_utc``,
``command_line``, ``wall_time_s``, ``seed``, ``message``); datasets ``t``, ``energy``,
``frac_unsat``, ``nu``, ``tw``, ``C``, ``chi``, ``distance`` (two replicas), ``<name>_sem``
(standard errors; root attributes ``errors_source``, ``errors_count``), the batch averages
under ``batches/`` (with ``batch_size``), further observables (``norm``, ``gap_*``) at the root
and the optional two-time kernels under ``kernels/``.  New files are in the HDF5 1.10 file
format (:data:`LIBVER`: checksummed headers and chunk indices), every array dataset carries a
fletcher32 checksum that HDF5 verifies on each read, and ``config_json`` is a fixed-length string
in the checksummed header; files written before are read as they are.
"""

from __future__ import annotations

import io
import json
import os

import h5py
import numpy as np

from .averaging import N_BATCHES
from .methods import METHODS, point_hash, split_settings
from .outputs import write_atomic
from .provenance import stamp
from .resources import available_memory
from .result import TEACHER_OBSERVABLES, Errors, Result
from .schema import added_coordinate, describe_h5
from .status import Status

FORMAT_VERSION = 2
#: formats this reader understands
READABLE_VERSIONS = (1, 2)
#: HDF5 file format of new files (readable by HDF5 >= 1.10): checksums on the metadata, so that
#: a flipped bit in a header or a chunk index is found when read, as the fletcher32 filter finds
#: one in the data
LIBVER = ("v110", "v110")

#: Datasets read into the named fields of a Result.
_FIELDS = ("t", "energy", "frac_unsat", "nu", "tw", "C", "chi", "distance")
#: Root attributes that are bookkeeping of the file itself, not provenance.
_STRUCTURAL = {"format_version", "kind", "status", "config_json", "point_hash", "errors_source",
               "errors_count"}


class FileFormatError(ValueError):
    """A file that is not a readable sgd-dmft result."""


def _attr_value(value):
    if isinstance(value, (list, tuple)):
        return np.asarray(value, dtype=float)
    return value


def flat_settings(result: Result) -> dict:
    """Every parameter and method setting of ``result`` in one flat mapping (the CLI's view)."""
    return {**result.params.to_dict(), **result.method.to_dict()}


def write_h5(result: Result, f: h5py.File) -> None:
    """Write ``result`` into an open HDF5 file (root attributes and datasets)."""
    meta = stamp(dict(result.meta))
    settings = flat_settings(result)
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["kind"] = result.kind
    f.attrs["status"] = result.status.value
    f.attrs["point_hash"] = point_hash(result.params, result.method)
    config = json.dumps(settings, sort_keys=True).encode()   # fixed length: kept in the checksummed header
    f.attrs.create("config_json", data=np.array(config, dtype=h5py.string_dtype("utf-8", len(config))))
    for name, value in settings.items():
        f.attrs[name] = _attr_value(value)
    for key, value in meta.items():
        if value is None or key in _STRUCTURAL:
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        f.attrs[key] = value
    f.attrs["seed"] = result.params.seed
    f.attrs["wall_time_s"] = float(meta.get("wall_time_s", float("nan")))

    for name in _FIELDS:
        value = getattr(result, name)
        if value is not None:
            _write_dataset(f, name, np.asarray(value, dtype=float))
    if result.errors is not None:
        f.attrs["errors_source"] = result.errors.source
        f.attrs["errors_count"] = int(result.errors.count)
        for name, value in result.errors.sem.items():
            _write_dataset(f, f"{name}_sem", np.asarray(value, dtype=float))
        if result.errors.batches:
            g = f.create_group("batches")
            _write_dataset(g, "batch_size", np.asarray(result.errors.batch_size, dtype=int))
            for name, value in result.errors.batches.items():
                _write_dataset(g, name, np.asarray(value, dtype=float))
    for name, value in result.extra.items():
        _write_dataset(f, name, np.asarray(value))
    if result.kernels:
        g = f.create_group("kernels")
        for name, value in result.kernels.items():
            _write_dataset(g, name, np.asarray(value), compression="gzip")
    describe_h5(f)


def _write_dataset(group, name: str, data: np.ndarray, **options) -> None:
    """One dataset, with HDF5's fletcher32 checksum (verified by the library on every read)
    wherever the data are an array (a scalar dataset takes no filter)."""
    if data.ndim:
        options["fletcher32"] = True
    group.create_dataset(name, data=data, **options)


def to_bytes(result: Result) -> bytes:
    """The HDF5 file of ``result`` as bytes, built in memory (so that a failing disk is met by
    plain Python writes, never inside the HDF5 library).  Written in the HDF5 1.10 file format
    (:data:`LIBVER`), whose object headers and chunk indices carry checksums."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=LIBVER) as f:
        write_h5(result, f)
    return buffer.getvalue()


def save(result: Result, path: str | os.PathLike, before_replace=None) -> str:
    """Write ``result`` to ``path`` atomically (:func:`dmft.core.outputs.write_atomic`, which calls
    ``before_replace()`` just before the rename); returns the path written."""
    return write_atomic(path, to_bytes(result), before_replace)


def _open(path: str) -> h5py.File:
    if os.path.exists(path) and not os.path.isfile(path):   # a FIFO would block the open
        raise FileFormatError(f"cannot read '{path}': not a regular file")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise FileFormatError(
            f"cannot read '{path}': not an HDF5 file or unreadable ({exc.__class__.__name__})") from None


def _version(f: h5py.File, path: str) -> int:
    if "config_json" not in f.attrs or "kind" not in f.attrs:
        raise FileFormatError(f"'{path}' is not an sgd-dmft result file (no config_json/kind attribute)")
    if "status" not in f.attrs:
        raise FileFormatError(f"'{path}' has no status attribute")
    version = f.attrs.get("format_version")
    try:
        if isinstance(version, (bool, np.bool_)) or float(version) != int(version):
            raise ValueError(version)
        version = int(version)
    except (TypeError, ValueError, OverflowError):
        raise FileFormatError(f"'{path}' has no valid format_version attribute (an integer; got {version!r})") from None
    if version not in READABLE_VERSIONS:
        raise FileFormatError(
            f"'{path}' has format_version {version}; this sgd-dmft reads "
            f"{', '.join(map(str, READABLE_VERSIONS))} (a newer package wrote it?)")
    return version


def _str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def load(path: str | os.PathLike) -> Result:
    """Read a file written by :func:`save` back into a :class:`Result`.

    Anything that is not a result file of a readable format, with every dataset of the shape its
    settings imply, is a :class:`FileFormatError` naming the file and the problem."""
    path = os.fspath(path)
    try:
        result = _read(path)
    except FileFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError, RuntimeError) as exc:
        # RuntimeError: HDF5's own (a link loop, a damaged header) and RecursionError (nested JSON)
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise FileFormatError(f"'{path}': unreadable content ({type(exc).__name__}: {text})") from None
    check_layout(result, path)
    return result


def _read(path: str) -> Result:
    with _open(path) as f:
        version = _version(f, path)
        kind = _str(f.attrs["kind"])
        if kind not in METHODS:
            raise FileFormatError(f"'{path}' has unknown kind {kind!r}")
        try:
            settings = json.loads(_str(f.attrs["config_json"]))
            if version == 1:
                settings = _settings_v1(settings, kind, f.attrs)
            _legacy_defaults(settings, kind)
            params, method = split_settings(settings, kind, strict=True)
            status = Status.parse(_str(f.attrs["status"]))
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise FileFormatError(f"'{path}': invalid settings or status ({str(exc)[:200]})") from None
        limit = _size_limit(params)

        def values(obj):
            return _values(obj, path, limit)

        data = {name: values(_member(f, name, path)) for name in _FIELDS if name in f}
        missing = [name for name in _FIELDS[:-1] if name not in data]
        if missing:
            raise FileFormatError(f"'{path}' lacks the dataset(s) {', '.join(missing)}")
        sem, extra, kernels, batches, batch_size = {}, {}, {}, {}, None
        for name in f:
            obj = _member(f, name, path)
            if added_coordinate(obj):
                continue
            if name in ("kernels", "batches"):
                group = {k: _member(obj, k, path) for k in _group(obj, path)}
            if name == "kernels":
                kernels = {k: values(v) for k, v in group.items() if not added_coordinate(v)}
            elif name == "batches":
                batches = {k: values(v) for k, v in group.items() if k != "batch_size" and not added_coordinate(v)}
                batch_size = values(group["batch_size"]) if "batch_size" in group else None
            elif name in _FIELDS:
                continue
            elif name.endswith("_sem"):
                sem[name[: -len("_sem")]] = values(obj)
            else:
                extra[name] = values(obj)
        meta = {}
        for key, value in f.attrs.items():
            if key in settings or key in _STRUCTURAL:
                continue
            if isinstance(value, bytes):
                value = value.decode()
            if isinstance(value, np.generic):
                value = value.item()
            meta[key] = value
        meta["format_version"] = version
        meta["seed"] = params.seed
        source = _str(f.attrs.get("errors_source", "samples" if kind == "simulation" else "replicates"))
        count = int(f.attrs.get("errors_count", meta.get("n_samples_done", getattr(method, "n_samples", 1))))
    if version == 1:  # batch averages were root datasets named <name>_batches
        for name in [k for k in extra if k.endswith("_batches")]:
            batches[name[: -len("_batches")]] = extra.pop(name)
        batch_size = extra.pop("batch_size", batch_size)
    errors = None
    if sem or batches:
        errors = Errors(source=source, count=count, sem=sem, batches=batches if batch_size is not None else {},
                        batch_size=batch_size)
    for name in ("t", "tw"):
        if np.ndim(data[name]) != 1:
            raise _shape_error(path, name, np.shape(data[name]), ("n",))
    try:
        return Result(
            params=params, method=method, status=status,
            t=data["t"], energy=data["energy"], frac_unsat=data["frac_unsat"], nu=data["nu"],
            tw=data["tw"], C=data["C"], chi=data["chi"], distance=data.get("distance"),
            errors=errors, extra=extra, kernels=kernels, meta=meta,
        )
    except (ValueError, TypeError) as exc:
        raise FileFormatError(f"'{path}': inconsistent datasets ({exc})") from None


def _size_limit(params) -> int:
    """Most elements a dataset of a result of ``params`` can hold: the two-time kernels (T x T) or
    the batch averages of ``C`` (batches x K x T), with room for the gap histograms."""
    T = params.n_steps + 1
    return max(T * T, N_BATCHES * (len(params.tw) + 1) * T) + 10**6


def _values(obj, path: str, limit: int | None = None):
    """The contents of the dataset ``obj``; a group in its place, or a declared size above
    ``limit`` elements or above the available memory, is a :class:`FileFormatError` (checked
    before anything is read: a file may declare a huge dataset and store nothing)."""
    if not isinstance(obj, h5py.Dataset):
        raise FileFormatError(f"'{path}': '{obj.name}' is a {type(obj).__name__.lower()}, expected a dataset")
    memory = available_memory()
    if (limit is not None and obj.size > limit) or (memory is not None and obj.size * obj.dtype.itemsize > memory):
        raise FileFormatError(f"'{path}': dataset '{obj.name}' declares {obj.shape} = {obj.size} values, more than "
                              "a result of its settings holds or the memory can take")
    return obj[()]


def _member(group, name: str, path: str):
    """``group[name]``; a link that cannot be followed (a loop, a dangling link, a damaged
    header) is a :class:`FileFormatError` naming it."""
    try:
        return group[name]
    except (KeyError, RuntimeError, OSError, ValueError) as exc:
        where = f"{group.name.rstrip('/')}/{name}"
        raise FileFormatError(f"'{path}': '{where}' cannot be opened ({str(exc)[:120]})") from None


def _group(obj, path: str):
    if not isinstance(obj, h5py.Group):
        raise FileFormatError(f"'{path}': '{obj.name}' is a dataset, expected a group")
    return obj


def _shape_error(path: str, name: str, shape, expected) -> FileFormatError:
    return FileFormatError(f"'{path}': dataset '{name}' has shape {tuple(shape)}, expected {tuple(expected)}")


def check_layout(result: Result, path: str = "result") -> None:
    """:class:`FileFormatError` unless every array of ``result`` is numeric and of the shape its
    parameters imply: ``t`` the grid ``i dt`` of ``n_steps + 1`` times, ``tw`` the waiting times
    of the parameters, ``norm``/``proj_A`` (T,), the gap histograms (G,), (B + 1,), (G, B),
    errors and batches of their observable's shape, kernels (T, T)."""
    p = result.params
    T = p.n_steps + 1
    arrays = {"t": result.t, "energy": result.energy, "frac_unsat": result.frac_unsat, "nu": result.nu,
              "tw": result.tw, "C": result.C, "chi": result.chi, **dict(result.extra),
              **{f"kernels/{k}": v for k, v in result.kernels.items()}}
    if result.distance is not None:
        arrays["distance"] = result.distance
    if result.errors is not None:
        arrays.update({f"{k}_sem": v for k, v in result.errors.sem.items()})
        arrays.update({f"batches/{k}": v for k, v in result.errors.batches.items()})
        if result.errors.batch_size is not None:
            arrays["batches/batch_size"] = result.errors.batch_size
    for name, value in arrays.items():
        if np.asarray(value).dtype.kind not in "fiub":
            raise FileFormatError(f"'{path}': dataset '{name}' is not numeric ({np.asarray(value).dtype})")
    if p.teacher:
        for name in TEACHER_OBSERVABLES:
            if name not in result.extra:
                raise FileFormatError(f"'{path}': the dataset '{name}' is missing (teacher data has {name}(t))")
    if result.status == Status.OK and np.size(result.energy) and np.all(np.isnan(result.energy)):
        raise FileFormatError(f"'{path}': status ok but the energy is NaN at every time (damaged)")
    if np.shape(result.t) != (T,):
        raise _shape_error(path, "t", np.shape(result.t), (T,))
    if not np.allclose(result.t, np.arange(T) * p.dt, rtol=1e-9, atol=1e-9 * p.dt):
        raise FileFormatError(f"'{path}': dataset 't' is not the grid t_i = i dt of its parameters (dt = {p.dt:g})")
    if np.shape(result.tw) != (len(p.tw),) or not np.allclose(result.tw, p.tw):
        raise FileFormatError(f"'{path}': dataset 'tw' ({np.asarray(result.tw).tolist()}) differs from the "
                              f"parameter tw ({list(p.tw)})")
    for name in ("norm", "proj_A"):
        if name in result.extra and np.shape(result.extra[name]) != (T,):
            raise _shape_error(path, name, np.shape(result.extra[name]), (T,))
    gaps = [name for name in ("gap_t", "gap_edges", "gap_hist") if name in result.extra]
    if gaps:
        if len(gaps) < 3:
            raise FileFormatError(f"'{path}': the gap histogram needs gap_t, gap_edges and gap_hist (has {', '.join(gaps)})")
        G, E = np.shape(result.extra["gap_t"]), np.shape(result.extra["gap_edges"])
        if len(G) != 1 or len(E) != 1 or E[0] < 2:
            raise FileFormatError(f"'{path}': gap_t and gap_edges must be 1-d (gap_edges of length >= 2)")
        if np.shape(result.extra["gap_hist"]) != (G[0], E[0] - 1):
            raise _shape_error(path, "gap_hist", np.shape(result.extra["gap_hist"]), (G[0], E[0] - 1))
    for name, value in result.kernels.items():
        if np.shape(value) != (T, T):
            raise _shape_error(path, f"kernels/{name}", np.shape(value), (T, T))
    if result.errors is not None:
        if result.errors.count < 1:
            raise FileFormatError(f"'{path}': errors_count must be >= 1 (got {result.errors.count})")
        B = result.errors.n_batches
        for name, value in result.errors.batches.items():
            ref = result.extra[name] if name in result.extra else getattr(result, name, None)
            if ref is None:
                raise FileFormatError(f"'{path}': dataset 'batches/{name}' has no dataset '{name}' beside it "
                                      f"('{name}' is missing)")
            if np.shape(value) != (B,) + np.shape(ref):
                raise _shape_error(path, f"batches/{name}", np.shape(value),
                                   (B,) + (np.shape(ref) if ref is not None else ()))
        if B and not np.all(np.asarray(result.errors.batch_size) >= 1):
            raise FileFormatError(f"'{path}': batches/batch_size must be positive counts")


def _settings_v1(settings: dict, kind: str, attrs) -> dict:
    """Format 1 stored the settings of both methods in one Params; keep this kind's."""
    settings = dict(settings)
    if kind == "dmft":
        settings.pop("n", None)
        settings.pop("n_samples", None)
    else:
        settings.pop("n_paths", None)
        settings.pop("n_probes", None)
        if "field_eps" in attrs:
            settings["field_eps"] = float(attrs["field_eps"])
    return settings


def read_header(path: str | os.PathLike) -> dict | None:
    """``kind``, ``status``, ``point_hash`` (the stored attribute), ``config_hash`` (the hash
    of the settings stored in ``config_json``, None when they do not parse) and ``measure_key``
    (the key of the measurement that wrote it, ``dmft.app.measure``; None otherwise) of a result file
    without reading its arrays, or None when it is missing, unreadable or not a result file."""
    try:
        with h5py.File(os.fspath(path), "r") as f:
            attrs = f.attrs
            if "kind" not in attrs or "status" not in attrs:
                return None
            kind = _str(attrs["kind"])
            return {"kind": kind, "status": _str(attrs["status"]),
                    "point_hash": _str(attrs["point_hash"]) if "point_hash" in attrs else None,
                    "config_hash": _config_hash(attrs, kind),
                    "measure_key": _str(attrs["measure_key"]) if "measure_key" in attrs else None,
                    "format_version": int(attrs.get("format_version", 0))}
    except (OSError, ValueError, TypeError, RuntimeError):   # RuntimeError: HDF5's, RecursionError
        return None


def _legacy_defaults(settings: dict, kind: str) -> dict:
    """Method settings added after files existed, at the value those files were computed with:
    DMFT files written before the exact short-lag band used probes at every lag
    (``exact_lags = 0``)."""
    if kind == "dmft":
        settings.setdefault("exact_lags", 0)
    return settings


def _config_hash(attrs, kind: str) -> str | None:
    """The point hash of the settings in ``config_json`` (what the file really holds)."""
    try:
        settings = json.loads(_str(attrs["config_json"]))
        if int(attrs.get("format_version", 0)) == 1:
            settings = _settings_v1(settings, kind, attrs)
        _legacy_defaults(settings, kind)
        return point_hash(*split_settings(settings, kind, strict=True))
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
        return None
