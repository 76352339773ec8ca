"""HDF5 storage of a :class:`~dmft.result.Result` (SPEC section 5), kept apart from numerics.

:func:`save` writes atomically: the file is written under a temporary name in the same
folder and renamed onto the final name only when complete, so a killed run never leaves a
truncated file there.  :func:`load` reads it back into the same result object.
"""

from __future__ import annotations

import json
import os
import tempfile

import h5py
import numpy as np

from .params import PARAM_NAMES, Params
from .provenance import stamp
from .result import Result

FORMAT_VERSION = 1

#: Root attributes besides the parameters.
META_ATTRS = (
    "package_version", "git_commit", "created_utc", "command_line", "wall_time_s", "message",
)


class FileFormatError(ValueError):
    """A file that is not a readable sgd-dmft result."""


def _attr_value(value):
    if isinstance(value, (list, tuple)):
        return np.asarray(value, dtype=float)
    return value


def write_h5(result: Result, f: h5py.File) -> None:
    """Write ``result`` into an open HDF5 file (root attributes and datasets)."""
    meta = stamp(dict(result.meta))
    p = result.params
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["kind"] = result.kind
    f.attrs["status"] = result.status
    f.attrs["config_json"] = p.to_json()
    for name, value in p.to_dict().items():
        f.attrs[name] = _attr_value(value)
    for key, value in meta.items():
        if value is None:
            continue
        if isinstance(value, (dict, list)) and key != "tw":
            value = json.dumps(value)
        f.attrs[key] = value
    f.attrs["seed"] = p.seed
    f.attrs.setdefault("wall_time_s", float(meta.get("wall_time_s", float("nan"))))

    f.create_dataset("t", data=np.asarray(result.t, dtype=float))
    for name in ("energy", "frac_unsat", "nu"):
        f.create_dataset(name, data=np.asarray(getattr(result, name), dtype=float))
    f.create_dataset("tw", data=np.asarray(result.tw, dtype=float))
    f.create_dataset("C", data=np.asarray(result.C, dtype=float))
    f.create_dataset("chi", data=np.asarray(result.chi, dtype=float))
    if result.distance is not None:
        f.create_dataset("distance", data=np.asarray(result.distance, dtype=float))
    for name, value in result.sem.items():
        f.create_dataset(f"{name}_sem", data=np.asarray(value, dtype=float))
    for name, value in result.extra.items():
        f.create_dataset(name, data=np.asarray(value))
    if result.kernels:
        g = f.create_group("kernels")
        for name, value in result.kernels.items():
            g.create_dataset(name, data=np.asarray(value), compression="gzip")


def save(result: Result, path: str | os.PathLike) -> str:
    """Write ``result`` to ``path`` atomically; returns the path written."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            write_h5(result, f)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_DATASETS = {"t", "energy", "frac_unsat", "nu", "tw", "C", "chi", "distance"}


def load(path: str | os.PathLike) -> Result:
    """Read a file written by :func:`save` back into a :class:`Result`."""
    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"cannot read '{path}': not an HDF5 file or unreadable ({exc.__class__.__name__})") from None
    with f:
        if "config_json" not in f.attrs or "kind" not in f.attrs:
            raise FileFormatError(f"'{path}' is not an sgd-dmft result file (no config_json/kind attribute)")
        params = Params.from_dict(json.loads(f.attrs["config_json"]))
        data = {name: f[name][()] for name in _DATASETS if name in f}
        sem, extra, kernels = {}, {}, {}
        for name, obj in f.items():
            if name == "kernels":
                kernels = {k: v[()] for k, v in obj.items()}
            elif name in _DATASETS:
                continue
            elif name.endswith("_sem"):
                sem[name[: -len("_sem")]] = obj[()]
            else:
                extra[name] = obj[()]
        meta = {}
        for key, value in f.attrs.items():
            if key in PARAM_NAMES or key in ("config_json", "kind", "status", "format_version"):
                continue
            if isinstance(value, bytes):
                value = value.decode()
            if isinstance(value, np.generic):
                value = value.item()
            meta[key] = value
        meta["format_version"] = int(f.attrs["format_version"])
        meta["seed"] = int(f.attrs["seed"])
        kind = str(f.attrs["kind"])
        status = str(f.attrs["status"])
    return Result(
        params=params, kind=kind, status=status,
        t=data["t"], energy=data["energy"], frac_unsat=data["frac_unsat"], nu=data["nu"],
        tw=data["tw"], C=data["C"], chi=data["chi"], distance=data.get("distance"),
        sem=sem, extra=extra, kernels=kernels, meta=meta,
    )


def read_status(path: str | os.PathLike) -> str | None:
    """Status attribute of a result file, or None when it is missing or unreadable."""
    try:
        with h5py.File(os.fspath(path), "r") as f:
            return str(f.attrs.get("status")) if "status" in f.attrs else None
    except (OSError, ValueError):
        return None
