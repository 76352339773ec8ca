"""Local worker processes of the task runner: each worker computes one job at a time, and the
pool always knows which job each worker holds, so that

* a worker that dies (the out-of-memory killer's SIGKILL, say) fails only the job it held, with
  the reason; the other workers go on and a new worker takes its place;
* a worker that holds a job and uses no CPU time for :data:`STALL_S` seconds (stopped with
  SIGSTOP, or hung) is killed and its job fails with the reason (Linux: CPU times from
  ``/proc``; a pause of the pool's own process, e.g. the whole job stopped with Ctrl-Z, does
  not count);
* at the end every worker gets :data:`SHUTDOWN_S` seconds to exit and is then killed (a stopped
  worker never exits by itself), with a warning.

The process that starts the pool waits only with timeouts; nothing waits for ever.  Signals are
the runner's business: :meth:`WorkerPool.run` stops at its next tick once ``stop`` is non-empty,
and ``_processes`` lists the live workers for a signal handler to kill.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_any

logger = logging.getLogger(__name__)

#: seconds a worker may hold a job without using CPU time before it is killed as stalled
STALL_S = 60.0
#: seconds the workers get to exit at the end before they are killed
SHUTDOWN_S = 10.0
#: longest wait of the pool's loop (it checks for stalls and signals at least this often)
TICK_S = 1.0
#: workers in a row that may die before taking a job before the pool gives up
MAX_START_DEATHS = 3


class WorkerLost(RuntimeError):
    """The worker computing a job died or was killed as stalled (the job failed, the run goes on)."""


def _worker_main(conn, initializer, initargs) -> None:
    """A worker: run each ``(func, args)`` received, send back ``("ok", value)`` or
    ``("error", exception)``; ``None`` (or a closed pipe) ends it."""
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        func, args = job
        try:
            reply = ("ok", func(*args))
        except Exception as exc:  # the job failed; the worker goes on
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception:  # a value or an exception that does not pickle
            conn.send(("error", RuntimeError(repr(reply[1]))))


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` (all its threads), or None where ``/proc``
    cannot tell."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_state(pid: int) -> str:
    """A word for the state of ``pid`` (``stopped``, ``sleeping``, ...) from ``/proc``."""
    names = {"R": "running", "S": "sleeping", "D": "waiting for the disk", "T": "stopped", "t": "stopped",
             "Z": "a zombie"}
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return names.get(fh.read().rsplit(")", 1)[1].split()[0], "unknown")
    except (OSError, IndexError):
        return "unknown"


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, in words."""
    if exitcode is None:
        return "ended"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (as the out-of-memory killer does)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


@dataclass
class _Worker:
    proc: multiprocessing.process.BaseProcess
    conn: object
    job: tuple | None = None      # (key, func, args) being computed
    cpu: float | None = None      # CPU seconds at the last change
    since: float = 0.0            # when the CPU time last changed (or the job started)
    stalled: str = ""             # why the pool killed it


class WorkerPool:
    """``workers`` spawned processes running jobs one at a time (module docstring).
    ``initializer(*initargs)`` runs first in every worker."""

    def __init__(self, workers: int, initializer=None, initargs=()):
        self.workers = max(1, int(workers))
        self.initializer, self.initargs = initializer, tuple(initargs)
        self.ctx = multiprocessing.get_context("spawn")
        self.slots: list = []
        self._last_exit = None   # exit code of the last worker that ended

    @property
    def _processes(self) -> dict:
        """pid -> process of the live workers (what a signal handler kills)."""
        return {w.proc.pid: w.proc for w in self.slots}

    def _start(self) -> None:
        parent_conn, child_conn = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, args=(child_conn, self.initializer, self.initargs),
                                daemon=True)
        proc.start()
        child_conn.close()
        self.slots.append(_Worker(proc, parent_conn))

    def run(self, jobs, on_done, idle=None, interval: float = 10.0, stop=()) -> None:
        """Compute ``jobs`` (``(key, func, args)``), calling ``on_done(key, value, None)`` or
        ``on_done(key, None, exception)`` for each as it ends (:class:`WorkerLost` for a worker
        that died or stalled); ``idle(unfinished)`` after every ``interval`` s without one.
        Returns early, leaving jobs undone, once ``stop`` is non-empty."""
        pending = deque(jobs)
        deaths = 0               # workers in a row that died before taking a job
        last_event = last_tick = time.monotonic()
        while (pending or any(w.job for w in self.slots)) and not stop:
            busy = sum(1 for w in self.slots if w.job)
            while len(self.slots) < min(self.workers, busy + len(pending)):
                self._start()
            now = time.monotonic()
            for w in self.slots:
                if w.job is None and pending and w.proc.is_alive():
                    w.job = pending.popleft()
                    w.cpu, w.since = cpu_seconds(w.proc.pid), now
                    try:
                        w.conn.send(w.job[1:])
                    except OSError:
                        pass   # it died: its sentinel says so below
            handles = [w.conn for w in self.slots] + [w.proc.sentinel for w in self.slots]
            ready = set(wait_any(handles, timeout=min(TICK_S, interval)))
            if stop:
                break
            now = time.monotonic()
            if now - last_tick > 5 * TICK_S:   # this process was paused: no worker stalled meanwhile
                for w in self.slots:
                    w.since = now
            last_tick = now
            for w in list(self.slots):
                if w.job is not None and (w.conn in ready or w.proc.sentinel in ready) and w.conn.poll():
                    try:
                        kind, value = w.conn.recv()
                    except (EOFError, OSError):
                        kind = None
                    if kind is not None:
                        key, w.job = w.job[0], None
                        deaths, last_event = 0, now
                        if kind == "ok":
                            on_done(key, value, None)
                        else:
                            on_done(key, None, value)
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    deaths = self._bury(w, on_done, deaths)
                    last_event = now
            if deaths >= MAX_START_DEATHS * self.workers:
                error = WorkerLost(f"worker processes keep dying before computing anything (the last "
                                   f"{describe_exit(self._last_exit)})")
                while pending:
                    on_done(pending.popleft()[0], None, error)
            self._watch_cpu(now)
            if idle is not None and now - last_event >= interval:
                idle(len(pending) + sum(1 for w in self.slots if w.job))
                last_event = now

    def _bury(self, w: _Worker, on_done, deaths: int) -> int:
        """A worker ended: fail its job with the reason; the count of workers that died without
        a job, updated."""
        w.proc.join(timeout=SHUTDOWN_S)
        self.slots.remove(w)
        w.conn.close()
        self._last_exit = w.proc.exitcode
        if w.job is None:
            return deaths + 1
        how = w.stalled or describe_exit(w.proc.exitcode)
        on_done(w.job[0], None, WorkerLost(f"worker process {w.proc.pid} {how}; this point was lost, the "
                                           "others go on"))
        return 0

    def _watch_cpu(self, now: float) -> None:
        """Kill a worker that has held its job for :data:`STALL_S` s without using CPU time."""
        for w in self.slots:
            if w.job is None or w.stalled:
                continue
            cpu = cpu_seconds(w.proc.pid)
            if cpu is None:
                continue
            if cpu != w.cpu:
                w.cpu, w.since = cpu, now
            elif now - w.since >= STALL_S:
                w.stalled = (f"used no CPU time for {STALL_S:g} s (it was {process_state(w.proc.pid)}) and "
                             "was killed")
                w.proc.kill()

    def shutdown(self) -> list:
        """End every worker: ``None`` to each, :data:`SHUTDOWN_S` s to exit, then SIGKILL (a
        warning names them); returns the pids killed."""
        for w in self.slots:
            try:
                w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + SHUTDOWN_S
        killed = []
        for w in self.slots:
            w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                state = process_state(w.proc.pid)
                w.proc.kill()
                w.proc.join(timeout=SHUTDOWN_S)
                killed.append(w.proc.pid)
                logger.warning("warning: worker process %d (%s) did not exit within %g s of the end; killed",
                               w.proc.pid, state, SHUTDOWN_S)
            w.conn.close()
        self.slots = []
        return killed
