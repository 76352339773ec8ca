"""Resumable parameter scans (``docs/conventions.md`` section 6): a TOML grid, one file per point.

The TOML stays flat: ``[base]`` and ``[axes]`` mix physics parameters and method settings
(``n_paths``, ``n``, ...); each grid point becomes one :class:`~dmft.app.runner.Task` per kind
(``mode``), run by :func:`dmft.app.runner.run_tasks` into ``DIR/<hash>.h5``.  ``DIR/scan.json``
(:mod:`dmft.core.manifest`) lists the files with their axis values.  A finished file is never
recomputed or rewritten, so a scan killed at any moment resumes where it stopped.  DMFT files of
a scan carry no two-time kernels (with them, 56 points took 244 MB).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import tomllib
from dataclasses import dataclass

import numpy as np

from ..core.checks import check_settings
from ..core.inputfiles import InputFileError, read_text
from ..core.manifest import MANIFEST, SCALARS, ManifestError, load_manifest
from ..core.methods import METHODS
from ..core.outputs import OutputPathError, check_output_folder
from ..core.params import PARAM_NAMES, ParameterError
from ..core.resources import check, estimate
from .measure import MeasureError, MeasureSettings, MeasureTask, parse_budget
from .runner import RunSummary, Task, run_tasks

logger = logging.getLogger(__name__)

MODES = ("solve", "simulate", "both", "measure")
KINDS = {"solve": ("dmft",), "simulate": ("simulation",), "both": ("dmft", "simulation")}
#: keys of the ``[measure]`` table (``mode = "measure"``) and their defaults
MEASURE_KEYS = {"quantity": None, "rel_error": 0.02, "budget": "20m", "method": "dmft", "max_t": 0.0, "n_tw": 0,
                "min_repetitions": 0}
#: every name a scan may set: parameters and the settings of both methods
SETTING_NAMES = PARAM_NAMES + tuple(name for cls in METHODS.values() for name in cls.names())
#: most grid points a scan file may describe
MAX_POINTS = 100_000


class ScanConfigError(ValueError):
    """An invalid scan configuration (the CLI exits with status 2, nothing written)."""


@dataclass(frozen=True)
class ScanTask(Task):
    """A scan task: also the values of the scanned axes, in axis order."""

    coords: tuple = ()

    @property
    def name(self) -> str:
        return self.filename


@dataclass(frozen=True)
class ScanConfig:
    mode: str
    base: dict
    axes: dict  # name -> tuple of values, in file order
    measure: dict | None = None  # mode = "measure": the [measure] table, defaults filled in

    @property
    def n_points(self) -> int:
        return math.prod(len(v) for v in self.axes.values())

    def measure_settings(self) -> MeasureSettings:
        m = self.measure
        kind = "dmft" if m["method"] == "dmft" else "simulation"
        return MeasureSettings(quantity=m["quantity"], rel_error=m["rel_error"], budget=parse_budget(m["budget"]),
                               max_t=m["max_t"], n_tw=m["n_tw"], min_repetitions=m["min_repetitions"]).resolved(kind)

    def tasks(self) -> list:
        """Every (kind, point) of the grid, axes varying in the order written."""
        if self.mode == "measure":
            return self._measure_tasks()
        kinds = KINDS[self.mode]
        names = list(self.axes)
        strict = len(kinds) == 1
        out = []
        for values in itertools.product(*(self.axes[n] for n in names)):
            settings = {**self.base, **dict(zip(names, values))}
            label = ", ".join(f"{k}={v}" for k, v in zip(names, values))
            for kind in kinds:
                params, method = check_settings(_keep(settings, kind, strict), kind)
                out.append(ScanTask(params, method, label, tuple(values)))
        return out

    def _measure_tasks(self) -> list:
        """``mode = "measure"``: one measurement per point (its first horizon ``t_max``)."""
        kind = "dmft" if self.measure["method"] == "dmft" else "simulation"
        settings = self.measure_settings()
        names = list(self.axes)
        out = []
        for values in itertools.product(*(self.axes[n] for n in names)):
            point = {**self.base, **dict(zip(names, values))}
            if settings.quantity == "distance":
                point["replicas"] = 2
            point = {k: v for k, v in point.items() if k not in ("replicates", "n_samples")}
            params, method = check_settings(point, kind)
            label = ", ".join(f"{k}={v}" for k, v in zip(names, values))
            out.append(MeasureTask(params, method, label, settings, tuple(values)))
        return out


def _measure_table(data) -> dict:
    """The ``[measure]`` table of a measure scan, checked, with defaults."""
    if not isinstance(data, dict):
        raise ScanConfigError("mode = \"measure\" needs a [measure] table (quantity = \"teff\" or \"distance\", ...)")
    unknown = set(data) - set(MEASURE_KEYS)
    if unknown:
        raise ScanConfigError(f"unknown key(s) in [measure]: {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(MEASURE_KEYS)})")
    out = {**MEASURE_KEYS, **data}
    if out["method"] not in ("dmft", "simulation"):
        raise ScanConfigError(f"[measure] method must be \"dmft\" or \"simulation\" (got {out['method']!r})")
    try:
        MeasureSettings(quantity=out["quantity"], rel_error=out["rel_error"], budget=parse_budget(out["budget"]),
                        max_t=out["max_t"], n_tw=out["n_tw"], min_repetitions=out["min_repetitions"])
    except MeasureError as exc:
        raise ScanConfigError(f"[measure]: {exc}") from None
    return out


def _keep(settings: dict, kind: str, strict: bool) -> dict:
    """With several kinds, each takes the parameters and its own method's settings."""
    if strict:
        return settings
    other = {n for k, cls in METHODS.items() if k != kind for n in cls.names()} - set(METHODS[kind].names())
    return {k: v for k, v in settings.items() if k not in other}


def _number(name: str, key: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScanConfigError(f"axis '{name}': '{key}' must be a finite number (got {value!r})")
    return value


def unique_values(values) -> tuple:
    """``values`` in their order without repeats: numbers equal as numbers are one value
    (``1`` and ``1.0``, ``0.0`` and ``-0.0``: one point, one file, one row), ``-0.0`` written
    ``0.0``; a boolean is never a number."""
    out, seen = [], set()
    for v in values:
        if isinstance(v, float):
            v = v + 0.0
        key = (type(v) is bool, v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return tuple(out)


def _axis_values(name: str, spec) -> tuple:
    """An axis as a list of values, or a table {start, stop, num} (linspace) / {start, stop, step};
    repeated values are one (:func:`unique_values`)."""
    return unique_values(_axis_spec(name, spec))


def _axis_spec(name: str, spec) -> tuple:
    if isinstance(spec, list):
        if not spec:
            raise ScanConfigError(f"axis '{name}' is empty")
        for value in spec:
            if not isinstance(value, SCALARS):
                raise ScanConfigError(f"axis '{name}': every value must be a number, a string or a boolean (got "
                                      f"{value!r}); a list shared by every point goes in [base]")
        return tuple(spec)
    if isinstance(spec, dict):
        keys = set(spec)
        if keys == {"start", "stop", "num"}:
            start, stop = _number(name, "start", spec["start"]), _number(name, "stop", spec["stop"])
            num = spec["num"]
            if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= MAX_POINTS:
                raise ScanConfigError(f"axis '{name}': 'num' must be an integer in [1, {MAX_POINTS}] (got {num!r})")
            return tuple(float(x) for x in np.linspace(start, stop, num))
        if keys == {"start", "stop", "step"}:
            start, stop = _number(name, "start", spec["start"]), _number(name, "stop", spec["stop"])
            step = _number(name, "step", spec["step"])
            if step <= 0:
                raise ScanConfigError(f"axis '{name}': 'step' must be > 0 (got {step})")
            count = (stop - start) / step + 1e-9   # may be inf for extreme bounds
            if count < 0:
                raise ScanConfigError(f"axis '{name}': empty range")
            if not count < MAX_POINTS:
                raise ScanConfigError(f"axis '{name}': about {count + 1:.3g} values, more than {MAX_POINTS}")
            n = int(np.floor(count)) + 1
            return tuple(float(start + i * step) for i in range(n))
        raise ScanConfigError(f"axis '{name}': a range needs keys start, stop and num (or step)")
    return (spec,)


def parse_config(data: dict) -> ScanConfig:
    """Validate a parsed TOML mapping; every grid point is checked before anything runs."""
    if not isinstance(data, dict):
        raise ScanConfigError("a scan configuration is a table")
    unknown = set(data) - {"mode", "base", "axes", "measure"}
    if unknown:
        raise ScanConfigError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    mode = data.get("mode", "solve")
    if mode not in MODES:
        raise ScanConfigError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    base = data.get("base", {})
    axes_in = data.get("axes", {})
    if not isinstance(base, dict):
        raise ScanConfigError("[base] must be a table of parameters")
    if not isinstance(axes_in, dict) or not axes_in:
        raise ScanConfigError("[axes] must list at least one parameter")
    for name in list(base) + list(axes_in):
        if name not in SETTING_NAMES:
            raise ScanConfigError(f"invalid parameter '{name}': unknown parameter")
    axes = {name: _axis_values(name, spec) for name, spec in axes_in.items()}
    if mode == "measure":
        measure = _measure_table(data.get("measure"))
    elif "measure" in data:
        raise ScanConfigError(f"a [measure] table needs mode = \"measure\" (mode is {mode!r})")
    else:
        measure = None
    config = ScanConfig(mode=mode, base=dict(base), axes=axes, measure=measure)
    if config.n_points > MAX_POINTS:
        raise ScanConfigError(f"the grid has {config.n_points} points, more than {MAX_POINTS}")
    try:
        config.tasks()
    except ParameterError as exc:
        raise ScanConfigError(str(exc)) from None
    return config


def load_config(path: str) -> ScanConfig:
    """The scan configuration in the TOML file ``path`` (a regular UTF-8 file), checked by
    :func:`parse_config`."""
    try:
        data = tomllib.loads(read_text(path, "config"))
    except FileNotFoundError:
        raise ScanConfigError(f"config file '{path}' does not exist") from None
    except InputFileError as exc:
        raise ScanConfigError(str(exc)) from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ScanConfigError(f"cannot read config '{path}': {str(exc)[:200]}") from None
    return parse_config(data)


def manifest_of(config: ScanConfig, tasks: list) -> dict:
    """The manifest: the configuration and, per file, its kind and axis values."""
    return {
        "mode": config.mode,
        "base": config.base,
        "axes": {k: list(v) for k, v in config.axes.items()},
        **({"measure": config.measure} if config.measure is not None else {}),
        "files": [{"file": t.filename, "kind": t.kind, "coords": dict(zip(config.axes, t.coords))}
                  for t in tasks],
    }


def check_folder(output: str, manifest: dict, force: bool = False) -> None:
    """Refuse (:class:`ScanConfigError`) an output that is not a folder, or a folder whose
    ``scan.json`` is not a manifest or describes another configuration (``force``: replace it)."""
    try:
        check_output_folder(output)   # a folder, or one that can be created (tried for real)
    except OutputPathError as exc:
        raise ScanConfigError(str(exc)) from None
    if force or not os.path.lexists(os.path.join(output, MANIFEST)):
        return
    try:
        old = load_manifest(output)
    except ManifestError as exc:
        raise ScanConfigError(f"{exc}; --force replaces it") from None
    differ = _differences(old, json.loads(json.dumps(manifest, default=float)))
    if differ:
        raise ScanConfigError(f"'{output}' holds a scan of another configuration (differs in {', '.join(differ)}); "
                              "use another folder, or --force to replace its scan.json")


def _differences(old: dict, new: dict) -> list:
    """Names of the configuration entries (``mode``, ``base.<name>``, ``axes.<name>``) that differ."""
    out = [] if old.get("mode") == new["mode"] else ["mode"]
    for part in ("base", "axes", "measure"):
        a, b = old.get(part) or {}, new.get(part) or {}
        if part == "axes":   # a folder scanned when repeated axis values were kept
            a = {k: list(unique_values(v)) if isinstance(v, list) else v for k, v in a.items()}
        out += [f"{part}.{key}" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    return out


def check_resources(tasks: list, copies: int) -> None:
    """:class:`~dmft.core.resources.ResourceError` when ``copies`` of the largest point do not fit
    in the available memory together, or the longest point takes more than a week."""
    estimates = [estimate(t.params, t.method) for t in tasks]
    if estimates:
        check(max(estimates, key=lambda e: e.memory), copies=copies)
        check(max(estimates, key=lambda e: e.work), memory_limit=float("inf"))


def run_scan(config: ScanConfig, output: str, workers: int | None = None,
             dask_address: str | None = None, progress: bool = False, threads: int | None = None,
             log=logger.info, force: bool = False, allow_large: bool = False) -> RunSummary:
    """Run every unfinished point of ``config`` into folder ``output``; ``progress``: a tqdm bar
    over the points, else ``log`` (default: this module's logger) gets a line per point.

    Refused before anything is written: an output that is not a folder or holds the scan of
    another configuration (:func:`check_folder`; ``force`` replaces its ``scan.json``), an
    unreachable Dask scheduler (``ConnectionError``), another run in the folder and files under
    points' names holding something else (:mod:`dmft.app.runner`), and unless ``allow_large``
    points that do not fit (:func:`check_resources`: memory of as many points as local workers,
    time of the longest point).
    """
    tasks = config.tasks()
    manifest = manifest_of(config, tasks)
    check_folder(output, manifest, force)
    if not allow_large:
        copies = 1 if dask_address else min(workers or os.cpu_count() or 1, len(tasks))
        check_resources(tasks, copies)
    return run_tasks(tasks, output, workers=workers, dask_address=dask_address, progress=progress,
                     store_kernels=False, threads=threads, log=log, manifest=manifest)


__all__ = ["MODES", "ScanConfig", "ScanConfigError", "check_folder", "load_config", "load_manifest", "parse_config", "run_scan"]
