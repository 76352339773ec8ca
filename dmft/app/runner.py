"""One resumable task runner, used by scans, the demo and the study scripts.

A :class:`Task` is one (problem, method) pair; it writes ``FOLDER/<point hash>.h5``
atomically, the hash (:func:`dmft.core.methods.point_hash`) covering the physics and the
method.  :func:`run_tasks` computes every task whose file is not already there with a final
status and the right hash, so a run killed at any moment resumes where it stopped and never
recomputes a finished point.  Tasks run in a local process pool or on a Dask distributed
scheduler; in both, each task runs under the same thread limits (:func:`thread_limits`:
threadpoolctl for BLAS, ``numba.set_num_threads`` for the solver), so workers do not
oversubscribe the cores.  Local workers die with the process that started them (SIGKILL
included), and SIGTERM / SIGINT end them before the runner exits; a worker that dies or stalls
fails only its own point (:mod:`dmft.app.workers`).  One run at a time writes into a folder
(:func:`folder_lock`), so two runs never compute the same point; a file under a point's name
that holds something else is refused (:class:`ForeignFiles`), never used as that point.  A run
marks the folder as its own (:data:`OWNER`); a task renames its file into the folder only while
its run still owns it, so a task left running by a scan that died (a Dask worker goes on after
its client was killed) never writes into a folder that a resume has taken over.  Waits are
bounded: a Dask scan stops (:class:`RunAborted`, exit 1) when its scheduler is lost or no worker
has been connected for :data:`DASK_NO_WORKER_S` seconds.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import numba
from threadpoolctl import threadpool_limits

from ..core.io import FileFormatError, load, read_header, save
from ..core.manifest import MANIFEST, write_manifest
from ..core.methods import Method, point_hash, split_settings
from ..core.outputs import OutputPathError, write_atomic
from ..core.params import Params
from ..core.progress import Heartbeat, heartbeat_interval, tqdm_bar
from ..core.resources import estimate
from ..core.provenance import command_line
from ..core.status import Status
from .api import run
from .workers import WorkerPool

logger = logging.getLogger(__name__)

#: seconds to reach a Dask scheduler before giving up
DASK_TIMEOUT = 5.0
#: seconds a Dask scan waits with no worker connected to its scheduler before it stops
DASK_NO_WORKER_S = 60.0
#: the file (in the output folder) naming the run that owns the folder
OWNER = ".dmft-owner"
#: statuses a finished file can have (never recomputed)
FINAL_STATUSES = tuple(s.value for s in Status)


class FolderBusy(RuntimeError):
    """Another run holds the output folder (the CLI exits with status 2, nothing written)."""


class ForeignFiles(RuntimeError):
    """Files under points' names hold something else (the CLI exits with status 2)."""


class RunAborted(RuntimeError):
    """The run cannot go on (its Dask scheduler was lost, no Dask worker is left); the points
    written so far are kept and a re-run resumes (the CLI exits with status 1)."""


class FolderTaken(RuntimeError):
    """A task's run no longer owns the output folder: its file is not written."""


@dataclass(frozen=True)
class Task:
    """One result file: ``params`` computed with ``method``; ``label`` names it in logs."""

    params: Params
    method: Method
    label: str = ""

    @property
    def key(self) -> str:
        return point_hash(self.params, self.method)

    @property
    def filename(self) -> str:
        return f"{self.key}.h5"

    @property
    def kind(self) -> str:
        return self.method.kind

    def matches(self, header: dict) -> bool:
        """Whether a file with this header (:func:`dmft.core.io.read_header`) is this task's
        result: the hash of the settings it stores is the task's key."""
        return header["config_hash"] == self.key

    def compute(self, store_kernels: bool = False):
        """The task's :class:`~dmft.core.result.Result`."""
        return run(self.params, self.method, store_kernels=store_kernels if self.kind == "dmft" else None)

    @classmethod
    def from_settings(cls, settings: dict, kind: str, label: str = "") -> "Task":
        """A task from a flat mapping of parameters and method settings (see
        :func:`dmft.core.methods.split_settings`)."""
        params, method = split_settings(settings, kind)
        return cls(params, method, label)


# --------------------------------------------------------------------------- one task
@contextmanager
def thread_limits(threads: int):
    """At most ``threads`` BLAS threads (threadpoolctl) and numba threads inside the block."""
    threads = max(1, int(threads))
    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        numba.set_num_threads(old)


def compute_task(task: Task, path: str, threads: int = 1, command: str = "",
                 store_kernels: bool = False, owner: tuple | None = None) -> tuple:
    """Compute ``task`` and write it to ``path`` atomically; returns (path, status, seconds).

    Runs inside a worker (process pool or Dask) or in the calling process.  A diverged run is a
    result and is written with its status; an exception propagates to the caller.  ``owner``
    (folder, run id): the file is renamed into place only while that run owns the folder
    (:func:`check_owner`), else :class:`FolderTaken` and nothing is written.
    """
    start = time.perf_counter()
    with thread_limits(threads):
        result = task.compute(store_kernels)
    if command:
        result.meta["command_line"] = command
    if owner is None:
        save(result, path)
    else:
        save(result, path, before_replace=lambda: check_owner(*owner))
    return path, result.status.value, time.perf_counter() - start


def claim_folder(folder: str) -> str:
    """Mark ``folder`` as owned by a new run (:data:`OWNER`); returns the run's id.  Called with
    the folder lock held."""
    run_id = uuid.uuid4().hex
    write_atomic(os.path.join(folder, OWNER), run_id.encode())
    return run_id


def check_owner(folder: str, run_id: str) -> None:
    """:class:`FolderTaken` unless the run ``run_id`` still owns ``folder`` and, inside a Dask
    worker, the task is still wanted (the scheduler cancels the tasks of a client that is gone)."""
    try:
        with open(os.path.join(folder, OWNER), "rb") as fh:
            current = fh.read(64).decode(errors="replace")
    except OSError:
        current = ""
    if current != run_id or _dask_task_cancelled():
        raise FolderTaken(f"the scan that started this point has ended and '{folder}' is no longer its "
                          "folder; the result is not written")


def _dask_task_cancelled() -> bool:
    """Whether this code runs as a Dask task that its scheduler has cancelled or released (its
    client disconnected: a scan killed with ``kill -9``)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:   # not in a Dask worker
        return False
    try:
        worker = distributed.get_worker()
        task = worker.state.tasks.get(worker.get_current_task())
    except (ValueError, AttributeError, KeyError):
        return False
    return task is None or task.state in ("cancelled", "released", "forgotten")


def release_folder(folder: str, run_id: str) -> None:
    """Remove the ownership mark of ``run_id`` (a run that ended), if it is still there."""
    try:
        check_owner(folder, run_id)
        os.remove(os.path.join(folder, OWNER))
    except (FolderTaken, OSError):
        pass


def file_state(path: str, task: Task) -> str:
    """``"missing"``, ``"finished"`` (a result of ``task`` with a final status: the hash of the
    settings it stores is the task's), or why the file at ``path`` is not ``task``'s result."""
    if not os.path.lexists(path):
        return "missing"
    if os.path.islink(path) or not os.path.isfile(path):
        return "not a regular file"
    header = read_header(path)
    if header is None:
        return "not a readable sgd-dmft result file"
    if header["kind"] != task.kind:
        return f"holds a {header['kind']} result, the point is {task.kind}"
    if not task.matches(header):
        return "holds another parameter point (the hash of its stored settings differs)"
    if header["status"] not in FINAL_STATUSES:
        return f"has the unknown status {header['status']!r}"
    try:
        load(path)   # every dataset present, numeric and of its shape
    except FileFormatError as exc:
        return f"is damaged ({exc})"
    return "finished"


def is_finished(path: str, task: Task) -> bool:
    """A file of ``task`` exists under its final name, with a final status and its hash."""
    return file_state(path, task) == "finished"


@contextmanager
def folder_lock(folder: str):
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself, no file is made);
    :class:`FolderBusy` at once when another run holds it.  The kernel drops the lock when its
    holder dies, ``kill -9`` included."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise   # e.g. ENOLCK on a file system without locks: let the caller see it
            raise FolderBusy(f"another run is writing into '{folder}'; wait for it to end "
                             "or stop it, then run again") from None
        yield
    finally:
        os.close(fd)


def load_task(folder: str, task: Task):
    """The result of a finished ``task`` in ``folder``."""
    return load(os.path.join(folder, task.filename))


# --------------------------------------------------------------------------- many tasks
@dataclass
class RunSummary:
    """What :func:`run_tasks` did."""

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
            f"{self.output}: {self.total} files, {self.skipped} already finished, "
            f"{self.done} computed ({self.diverged} diverged), {self.failed} failed, {self.seconds:.1f} s"
        ]
        lines += [f"  failed: {e}" for e in self.errors]
        return "\n".join(lines)


class _Reporter:
    """tqdm bar on a terminal, otherwise a log line per finished task and a heartbeat line
    while none finishes (:meth:`idle`); the time left weighs each task by its estimated work
    (:func:`dmft.core.resources.estimate`: a large DMFT point counts for more than a small
    simulation)."""

    def __init__(self, tasks: list, progress: bool, log):
        self.bar = None
        self.total = len(tasks)
        self.count = 0
        self.log = log
        work = {t.key: estimate(t.params, t.method).work for t in tasks}
        whole = sum(work.values())
        self.share = {key: (w / whole if whole > 0 else 1.0 / len(work)) for key, w in work.items()}
        self.heartbeat = Heartbeat(self.total, "tasks", unit="finished", from_start=True)
        if progress and self.total:
            self.bar = tqdm_bar(self.total, None, "point")

    def update(self, summary: RunSummary, message: str, task: "Task | None" = None) -> None:
        self.count += 1
        self.heartbeat.update(1, work=self.share.get(task.key, 0.0) if task is not None else None, beat=False)
        if self.bar is not None:
            self.bar.set_postfix(done=summary.done, diverged=summary.diverged, failed=summary.failed)
            self.bar.update(1)
        elif self.log is not None:
            self.log(f"[{self.count}/{self.total}] {message}")

    def idle(self, pending: int) -> None:
        """Nothing finished for a while: say so, unless a bar shows it or the run is silent."""
        if self.bar is None and self.log is not None:
            self.heartbeat.beat(detail=f"{pending} computing or queued")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


#: a temporary file of :func:`dmft.core.outputs.write_atomic`: ``.NAME.XXXXXXXX.tmp``
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def clean_stale_temporaries(folder: str, names=()) -> None:
    """Remove the temporary files a killed run left behind while writing one of ``names`` (the
    files of this run: its points, ``scan.json``, :data:`OWNER`); never any other file, so a
    user's ``.notes.tmp`` stays."""
    names = set(names)
    for entry in os.listdir(folder):
        match = _TEMPORARY.fullmatch(entry)
        if match and match["name"] in names:
            try:
                os.remove(os.path.join(folder, entry))
            except OSError:
                pass


def run_tasks(tasks, folder: str, workers: int | None = None, dask_address: str | None = None,
              progress: bool = False, store_kernels: bool = False, threads: int | None = None,
              log=logger.info, manifest: dict | None = None) -> RunSummary:
    """Run every unfinished task of ``tasks`` into ``folder`` (created if needed).

    ``workers``: local processes (default: the cores; 1 runs in this process).  ``dask_address``:
    a running Dask scheduler instead (the workers must see ``folder``), reached before anything
    is written (``ConnectionError`` otherwise).  ``threads`` per task: default cores // workers
    locally, 1 on Dask.  ``log``: a callable for one line per finished task when there is no
    progress bar (default: this module's logger; ``None``: silent); while local workers compute,
    a heartbeat line at least every 10 s.  ``manifest``: written to ``folder/scan.json`` once the
    checks passed.  Refused before anything runs: another run holding the folder
    (:class:`FolderBusy`), a file under a task's name that is not that task's result
    (:class:`ForeignFiles`).
    """
    tasks = list(tasks)
    with ExitStack() as stack:
        client = stack.enter_context(connect_dask(dask_address)) if dask_address else None
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise OutputPathError(f"cannot create the output folder '{folder}': {exc.strerror or exc}") from None
        stack.enter_context(folder_lock(folder))
        start = time.perf_counter()
        todo, skipped = _plan(tasks, folder)
        if manifest is not None:
            write_manifest(folder, manifest)
        owner = (os.path.abspath(folder), claim_folder(folder))
        stack.callback(release_folder, *owner)
        clean_stale_temporaries(folder, [t.filename for t in tasks] + [MANIFEST, OWNER])
        summary = RunSummary(output=folder, total=len(tasks), skipped=skipped)
        reporter = _Reporter([t for t, _ in todo], progress, log)
        cmd = command_line()

        def record(task: Task, path: str, outcome, error) -> None:
            label = f"{task.kind} {task.label}".strip()
            if error is None and not is_finished(path, task):
                error = RuntimeError(f"no finished file appeared at {path}")
            if error is not None:
                summary.failed += 1
                summary.errors.append(f"{label}: {error!r}")
                reporter.update(summary, f"{label}: FAILED {error!r}", task)
                return
            _, status, seconds = outcome
            summary.done += 1
            summary.diverged += status == Status.DIVERGED
            reporter.update(summary, f"{label}: {status} ({seconds:.1f} s) -> {task.filename}", task)

        try:
            if client is not None:
                _run_dask(todo, client, cmd, record, store_kernels, threads or 1, reporter.idle, owner)
            else:
                workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
                per_task = threads or max(1, (os.cpu_count() or 1) // workers)
                if workers == 1:
                    _run_here(todo, cmd, record, store_kernels, per_task, owner)
                else:
                    _run_local(todo, workers, cmd, record, store_kernels, per_task, reporter.idle, owner)
        finally:
            reporter.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _plan(tasks, folder: str) -> tuple:
    """(tasks to compute with their paths, number already finished); :class:`ForeignFiles` when
    a file under a task's name holds something else."""
    todo, seen, foreign, skipped = [], set(), [], 0
    for t in tasks:
        path = os.path.join(folder, t.filename)
        state = file_state(path, t)
        if state == "finished" or t.key in seen:
            skipped += 1
        elif state == "missing":
            todo.append((t, path))
            seen.add(t.key)
        else:
            foreign.append(f"'{path}' {state}")
    if foreign:
        raise ForeignFiles(f"{len(foreign)} file(s) under a point's name are not that point's result "
                           f"(first: {foreign[0]}); move them away and run again")
    return todo, skipped


def _run_here(todo, cmd, record, store_kernels, threads, owner=None) -> None:
    for t, path in todo:
        try:
            record(t, path, compute_task(t, path, threads, cmd, store_kernels, owner), None)
        except Exception as exc:  # a crashed point is recorded, the run goes on
            record(t, path, None, exc)


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when ``parent``, the process that started it, dies
    (SIGKILL included): the kernel's parent-death signal on Linux, else a watchdog thread.  A
    parent that died while the worker was still starting is noticed too (``getppid`` differs)."""
    if os.getppid() != parent:
        os._exit(1)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
                if os.getppid() != parent:  # died between the check above and prctl
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@contextmanager
def _terminate_on_signals(pool):
    """SIGTERM and SIGINT kill the pool's workers at once; the block gets the list of signals
    received and stops at its next safe point.  The handler itself raises nothing: an exception
    raised from a signal handler can land between a lock's acquire and the ``try`` that releases
    it, and the pool's manager thread then waits for that lock for ever (seen: 1 hang in 23)."""
    received = []

    def handler(signum, frame):
        received.append(signum)
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _as_completed(futures, idle, interval: float | None = None, wait_some=None):
    """The futures as they finish; ``idle(pending)`` after every ``interval`` s (default: the
    heartbeat interval) without one.  ``wait_some(pending, timeout)`` -> (done, not done): by
    default :func:`concurrent.futures.wait`; :func:`_dask_wait` for Dask futures."""
    interval = heartbeat_interval() if interval is None else interval
    wait_some = wait_some or (lambda fs, timeout: wait(fs, timeout=timeout, return_when=FIRST_COMPLETED))
    pending = set(futures)
    while pending:
        done, pending = wait_some(pending, interval)
        if not done:
            idle(len(pending))
        yield from done


def _dask_wait(futures, timeout):
    """:func:`dask.distributed.wait` for the first of ``futures`` to finish; nothing done (rather
    than an exception) when ``timeout`` s pass."""
    from dask.distributed import wait as dask_wait

    try:
        done, not_done = dask_wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
    except TimeoutError:   # dask raises the builtin (asyncio's is an alias of it since 3.11)
        return set(), set(futures)
    return set(done), set(not_done)


def _run_local(todo, workers, cmd, record, store_kernels, threads, idle=lambda pending: None,
               owner=None) -> None:
    """``todo`` on ``workers`` local processes (:class:`~dmft.app.workers.WorkerPool`): a worker
    that dies or stalls fails its own point only; at the end the workers get a bounded time to
    exit."""
    pool = WorkerPool(workers, initializer=_die_with_parent, initargs=(os.getpid(),))
    jobs = [((t, path), compute_task, (t, path, threads, cmd, store_kernels, owner)) for t, path in todo]
    with _terminate_on_signals(pool) as stop:
        try:
            pool.run(jobs, lambda job, outcome, error: record(*job, outcome, error), idle=idle,
                     interval=heartbeat_interval(), stop=stop)
        except BaseException:
            if not stop:
                raise
        finally:
            pool.shutdown()
        if stop:   # the workers are dead; end like the default action of the signal would
            raise SystemExit(128 + stop[0])


def connect_dask(address: str, timeout: float = DASK_TIMEOUT):
    """A Dask client of the scheduler at ``address``; ``ConnectionError`` within ``timeout``
    seconds when it cannot be reached or the address is malformed (``ImportError`` without the
    ``dask`` extra)."""
    from dask.distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def _run_dask(todo, client, cmd, record, store_kernels, threads, idle=lambda pending: None,
              owner=None) -> None:
    if not todo:
        return
    run_id = uuid.uuid4().hex[:8]   # keys unique to this run: two scans never share a task
    futures = {}
    for t, path in todo:
        fut = client.submit(compute_task, t, os.path.abspath(path), threads, cmd, store_kernels, owner,
                            pure=False, key=f"dmft-{t.key}-{run_id}")
        futures[fut] = (t, path)
    workers = _DaskWorkers(client, len(todo))

    def idle_check(pending: int) -> None:
        idle(pending)
        workers.check(pending)

    try:
        for fut in _as_completed(futures, idle_check, wait_some=_dask_wait):
            t, path = futures[fut]
            try:
                outcome = fut.result()
            except CancelledError:
                raise
            except Exception as exc:
                record(t, path, None, exc)
            else:
                record(t, path, outcome, None)
            workers.pending -= 1
    except (CancelledError, OSError) as exc:   # OSError: distributed's CommClosedError
        raise RunAborted(f"lost the Dask scheduler ({type(exc).__name__}); {workers.describe()}") from None


class _DaskWorkers:
    """Watches that the scheduler still has workers: :class:`RunAborted` once none has been
    connected for :data:`DASK_NO_WORKER_S` seconds, or when the scheduler does not answer."""

    def __init__(self, client, total: int):
        self.client, self.total = client, total
        self.pending = total   # points not finished yet (the runner counts them down)
        self.seen = time.monotonic()

    def describe(self) -> str:
        return (f"{self.pending} of {self.total} point(s) not computed; the points written are kept: run "
                "the scan again to resume")

    def check(self, pending: int) -> None:
        try:
            count = len(self.client.nthreads(callback_timeout=DASK_TIMEOUT))
        except (OSError, TimeoutError, CancelledError) as exc:
            raise RunAborted(f"the Dask scheduler does not answer ({type(exc).__name__}); {self.describe()}") from None
        now = time.monotonic()
        if count:
            self.seen = now
        elif now - self.seen >= DASK_NO_WORKER_S:
            raise RunAborted(f"no Dask worker has been connected to the scheduler for {DASK_NO_WORKER_S:g} s; "
                             f"{self.describe()}")
