"""Resumable parameter scans (SPEC section 6): a TOML grid, one HDF5 file per point.

A scan is a list of tasks ``(kind, params)``; each writes ``DIR/<hash>.h5`` atomically, the
hash being :meth:`Params.point_hash` of the resolved parameters and the kind.  A file that
exists with a final status (``ok`` or ``diverged``) is never recomputed or rewritten, so a
scan killed at any moment resumes where it stopped.  Tasks run in a local process pool
(default) or on an existing Dask distributed scheduler (``--dask ADDRESS``); numba and BLAS
threads per worker are limited so that the workers do not oversubscribe the cores.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import sys
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
import multiprocessing

import numpy as np

from .params import PARAM_NAMES, Params, ParameterError

MODES = ("solve", "simulate", "both")
FINAL_STATUSES = ("ok", "diverged")
MANIFEST = "scan.json"
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ScanConfigError(ValueError):
    """An invalid scan configuration (the CLI exits with status 2, nothing written)."""


@dataclass(frozen=True)
class Task:
    """One file of a scan: a kind (``dmft`` or ``simulation``) at one parameter point."""

    kind: str
    params: Params
    coords: tuple  # values of the scanned axes, in axis order

    @property
    def name(self) -> str:
        return f"{self.params.point_hash(self.kind)}.h5"


@dataclass(frozen=True)
class ScanConfig:
    mode: str
    base: dict
    axes: dict  # name -> tuple of values, in file order

    def tasks(self) -> list:
        """Every (kind, point) of the grid, axes varying in the order written."""
        kinds = {"solve": ("dmft",), "simulate": ("simulation",), "both": ("dmft", "simulation")}[self.mode]
        names = list(self.axes)
        out = []
        for values in itertools.product(*(self.axes[n] for n in names)):
            point = dict(self.base)
            point.update(zip(names, values))
            params = Params(**point)
            for kind in kinds:
                out.append(Task(kind, params, tuple(values)))
        return out


def _axis_values(name: str, spec) -> tuple:
    """An axis as a list of values, or a table {start, stop, num} (linspace) / {start, stop, step}."""
    if isinstance(spec, list):
        if not spec:
            raise ScanConfigError(f"axis '{name}' is empty")
        return tuple(spec)
    if isinstance(spec, dict):
        keys = set(spec)
        if keys == {"start", "stop", "num"}:
            return tuple(float(x) for x in np.linspace(spec["start"], spec["stop"], int(spec["num"])))
        if keys == {"start", "stop", "step"}:
            n = int(np.floor((spec["stop"] - spec["start"]) / spec["step"] + 1e-9)) + 1
            if n < 1:
                raise ScanConfigError(f"axis '{name}': empty range")
            return tuple(float(spec["start"] + i * spec["step"]) for i in range(n))
        raise ScanConfigError(f"axis '{name}': a range needs keys start, stop and num (or step)")
    return (spec,)


def parse_config(data: dict) -> ScanConfig:
    """Validate a parsed TOML mapping; every grid point is checked before anything runs."""
    unknown = set(data) - {"mode", "base", "axes"}
    if unknown:
        raise ScanConfigError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    mode = data.get("mode", "solve")
    if mode not in MODES:
        raise ScanConfigError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    base = dict(data.get("base", {}))
    axes_in = data.get("axes", {})
    if not isinstance(axes_in, dict) or not axes_in:
        raise ScanConfigError("[axes] must list at least one parameter")
    for name in list(base) + list(axes_in):
        if name not in PARAM_NAMES:
            raise ScanConfigError(f"invalid parameter '{name}': unknown parameter")
    axes = {name: _axis_values(name, spec) for name, spec in axes_in.items()}
    config = ScanConfig(mode=mode, base=base, axes=axes)
    try:
        config.tasks()
    except ParameterError as exc:
        raise ScanConfigError(str(exc)) from None
    return config


def load_config(path: str) -> ScanConfig:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ScanConfigError(f"config file '{path}' does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScanConfigError(f"cannot read config '{path}': {exc}") from None
    return parse_config(data)


# --------------------------------------------------------------------------- one task
def run_task(kind: str, params_dict: dict, path: str, command_line: str = "") -> tuple:
    """Compute one point and write it to ``path`` atomically; returns (path, status, seconds).

    Runs inside a worker (process pool or Dask).  DMFT files of a scan carry no two-time
    kernels (``kernels/``), only the observables of SPEC section 5.  A diverged solve is a result and is
    written with its status; an exception propagates to the scheduler, which records it.
    """
    from .io import save

    params = Params.from_dict(params_dict)
    start = time.perf_counter()
    if kind == "dmft":
        from .solver import solve

        # full T x T kernels would make a scan of hundreds of points take gigabytes
        result = solve(params, store_kernels=False)
    else:
        from simulations import simulate

        result = simulate(params)
    if command_line:
        result.meta["command_line"] = command_line
    save(result, path)
    return path, result.status, time.perf_counter() - start


def finished(path: str) -> bool:
    """A file exists under its final name with a final status."""
    from .io import read_status

    return os.path.exists(path) and read_status(path) in FINAL_STATUSES


# --------------------------------------------------------------------------- the scan
@dataclass
class ScanSummary:
    output: str
    total: int
    skipped: int = 0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [
            f"scan -> {self.output}: {self.total} files, {self.skipped} already finished, "
            f"{self.done} computed ({self.diverged} diverged), {self.failed} failed, {self.seconds:.1f} s"
        ]
        lines += [f"  failed: {e}" for e in self.errors]
        return "\n".join(lines)


def write_manifest(config: ScanConfig, tasks: list, folder: str) -> None:
    """``DIR/scan.json``: the configuration and, per file, its kind and axis values."""
    manifest = {
        "mode": config.mode,
        "base": config.base,
        "axes": {k: list(v) for k, v in config.axes.items()},
        "files": [
            {"file": t.name, "kind": t.kind, "coords": dict(zip(config.axes, t.coords))} for t in tasks
        ],
    }
    tmp = os.path.join(folder, f".{MANIFEST}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=1, default=float)
    os.replace(tmp, os.path.join(folder, MANIFEST))


def _clean_stale_temporaries(folder: str) -> None:
    """Remove temporary files a killed run left behind (never a file under a final name)."""
    for tmp in glob.glob(os.path.join(folder, ".*.tmp")):
        try:
            os.remove(tmp)
        except OSError:
            pass


def _limit_threads(workers: int) -> dict:
    """Set per-worker thread counts in the environment; returns the previous values."""
    per_worker = max(1, (os.cpu_count() or 1) // workers)
    old = {v: os.environ.get(v) for v in THREAD_VARS}
    for v in THREAD_VARS:
        os.environ[v] = str(per_worker)
    return old


def _restore(old: dict) -> None:
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class _Reporter:
    """tqdm bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, progress: bool):
        self.bar = None
        self.total = total
        self.count = 0
        if progress and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="point", dynamic_ncols=True)

    def update(self, summary: ScanSummary, message: str) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.set_postfix(done=summary.done, diverged=summary.diverged, failed=summary.failed)
            self.bar.update(1)
        else:
            print(f"[{self.count}/{self.total}] {message}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_scan(config: ScanConfig, output: str, workers: int | None = None,
             dask_address: str | None = None, progress: bool = False) -> ScanSummary:
    """Run every unfinished task of ``config`` into folder ``output``."""
    from .provenance import command_line

    start = time.perf_counter()
    os.makedirs(output, exist_ok=True)
    tasks = config.tasks()
    write_manifest(config, tasks, output)
    _clean_stale_temporaries(output)
    summary = ScanSummary(output=output, total=len(tasks))
    todo = []
    for t in tasks:
        path = os.path.join(output, t.name)
        if finished(path):
            summary.skipped += 1
        else:
            todo.append((t, path))
    reporter = _Reporter(len(todo), progress)
    cmd = command_line()

    def record(task: Task, outcome, error) -> None:
        label = f"{task.kind} " + ", ".join(f"{k}={v}" for k, v in zip(config.axes, task.coords))
        if error is not None:
            summary.failed += 1
            summary.errors.append(f"{label}: {error!r}")
            reporter.update(summary, f"{label}: FAILED {error!r}")
            return
        _, status, seconds = outcome
        summary.done += 1
        summary.diverged += status == "diverged"
        reporter.update(summary, f"{label}: {status} ({seconds:.1f} s) -> {task.name}")

    try:
        if dask_address:
            _run_dask(todo, dask_address, cmd, record)
        else:
            _run_local(todo, workers or os.cpu_count() or 1, cmd, record)
    finally:
        reporter.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _run_local(todo: list, workers: int, cmd: str, record) -> None:
    if not todo:
        return
    workers = min(workers, len(todo))
    old = _limit_threads(workers)
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {
                pool.submit(run_task, t.kind, t.params.to_dict(), path, cmd): t for t, path in todo
            }
            for fut in as_completed(futures):
                try:
                    record(futures[fut], fut.result(), None)
                except Exception as exc:  # a crashed point is recorded, the scan goes on
                    record(futures[fut], None, exc)
    finally:
        _restore(old)


def _run_dask(todo: list, address: str, cmd: str, record) -> None:
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        raise RuntimeError("--dask needs the optional extra: pip install 'sgd-dmft[dask]'") from None
    if not todo:
        return
    with Client(address) as client:
        futures = {}
        for t, path in todo:
            fut = client.submit(run_task, t.kind, t.params.to_dict(), os.path.abspath(path), cmd,
                                pure=False, key=f"dmft-{t.name}")
            futures[fut] = t
        for fut in dask_completed(list(futures)):
            try:
                record(futures[fut], fut.result(), None)
            except Exception as exc:
                record(futures[fut], None, exc)


def load_manifest(folder: str) -> dict:
    path = os.path.join(folder, MANIFEST)
    if not os.path.exists(path):
        raise ValueError(f"'{folder}' has no {MANIFEST}: not a scan folder")
    with open(path) as fh:
        return json.load(fh)
