"""Progress reporting shared by the solver, the simulations and the task runner.

With ``enabled`` a tqdm bar; without, a :class:`Heartbeat`: a log line (``logging``, level INFO,
logger ``dmft.core.progress``) at most every :data:`HEARTBEAT_S` seconds, so that a long step
whose output is not a terminal still says it is alive.  The command line shows INFO messages on
stderr (``-q`` hides them); a Python program sees them only if it configures ``logging``.

The time left is estimated from the rate since the first unit finished, so the compilation of
the numba kernels (during the first step) does not enter it, and weighted by the cost of each
unit when the caller knows it (:func:`unit_costs`: a DMFT step costs in proportion to the steps
before it); until :data:`MIN_WORK` of the work and :data:`MIN_SECONDS` have passed since then
the line says ``estimating`` (at most :data:`ENOUGH_SECONDS` when some work has been done).
"""

from __future__ import annotations

import contextvars
import logging
import time
from contextlib import contextmanager

import numpy as np

log = logging.getLogger(__name__)

#: seconds between two heartbeat lines
HEARTBEAT_S = 10.0
#: fraction of the work (after the first unit) before the time left is estimated
MIN_WORK = 0.02
#: seconds (after the first unit) before the time left is estimated
MIN_SECONDS = 2.0
#: seconds (after the first unit) after which the time left is estimated even below MIN_WORK
#: (a run of many hours says how many within a minute)
ENOUGH_SECONDS = 60.0

#: the relative costs of the units of the next progress bar of that many units (:func:`unit_costs`)
_COSTS: contextvars.ContextVar = contextvars.ContextVar("dmft_unit_costs", default=None)


def heartbeat_interval() -> float:
    """Seconds between two heartbeat lines (:data:`HEARTBEAT_S`, read at each use)."""
    return HEARTBEAT_S


def _duration(seconds: float) -> str:
    """Seconds below 2 minutes, minutes below 2 hours, hours below 2 days, then days."""
    for unit, length in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * length:
            return f"{seconds / length:.1f} {unit}"
    return f"{seconds:.0f} s"


@contextmanager
def unit_costs(costs):
    """Inside the block, a progress bar over ``len(costs)`` units weighs unit ``i`` by
    ``costs[i]`` in its estimate of the time left (the caller knows the cost of each step, the
    code that counts them need not).  ``None``: equal costs."""
    token = _COSTS.set(None if costs is None else np.asarray(costs, dtype=float))
    try:
        yield
    finally:
        _COSTS.reset(token)


class Heartbeat:
    """Counts ``update`` calls and logs ``desc: n/total (p% of the work), elapsed, about ... left``
    when :data:`HEARTBEAT_S` seconds have passed since the last line.  ``costs``: the relative
    cost of each unit, in order (default: equal); ``update(work=...)`` says instead which fraction
    of the work the units carried (units that finish out of order: tasks).  The time left is the
    work left at the rate measured since the first unit finished, or since the start with
    ``from_start`` (module docstring)."""

    def __init__(self, total: int, desc: str, interval: float | None = None, unit: str = "steps",
                 costs=None, from_start: bool = False):
        self.total, self.desc, self.unit = total, desc, unit
        self.interval = heartbeat_interval() if interval is None else interval
        self.n = 0
        self.fraction = 0.0   # of the work, done
        self.weighted = costs is not None and len(costs) == total and float(np.sum(costs)) > 0
        self._cumulative = np.concatenate([[0.0], np.cumsum(costs)]) / np.sum(costs) if self.weighted else None
        self.start = self.last = time.monotonic()
        self.first = (self.start, 0.0) if from_start else None   # (time, fraction) of the reference

    def update(self, n: int = 1, work: float | None = None, beat: bool = True) -> None:
        """``n`` more units done (carrying ``work`` of the whole, when given); a line when the
        interval has passed (``beat``)."""
        self.n += n
        if work is not None:
            self.weighted = True
            self.fraction = min(1.0, self.fraction + work)
        elif self._cumulative is not None:
            self.fraction = float(self._cumulative[min(self.n, self.total)])
        else:
            self.fraction = self.n / self.total if self.total else 1.0
        now = time.monotonic()
        if self.first is None:
            self.first = (now, self.fraction)
        if beat and now - self.last >= self.interval:
            self.last = now
            self.beat(now)

    def left(self, now: float) -> float | None:
        """Seconds left, or None while the estimate is not yet meaningful."""
        if self.first is None or not 0 < self.n < self.total:
            return None
        t0, f0 = self.first
        done = self.fraction - f0
        waited = now - t0
        if done <= 0 or waited < MIN_SECONDS or (done < MIN_WORK and waited < ENOUGH_SECONDS):
            return None
        return (now - t0) * (1.0 - self.fraction) / done

    def beat(self, now: float | None = None, detail: str = "") -> None:
        """Log one status line now."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        line = f"{self.desc}: {self.n}/{self.total} {self.unit}"
        if self.total:
            line += f" ({100 * self.fraction:.0f}%{' of the work' if self.weighted else ''})"
        line += f", {_duration(elapsed)} elapsed"
        if self.total and self.n < self.total:
            left = self.left(now)
            line += ", estimating the time left" if left is None else f", about {_duration(left)} left"
        log.info(line + (f"; {detail}" if detail else ""))

    def close(self) -> None:
        pass


def tqdm_bar(total: int, desc: str | None, unit: str):
    """A tqdm bar (terminal or notebook); tqdm is imported on first use, since in a notebook
    without ipywidgets importing ``tqdm.auto`` warns."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "step", costs=None):
    """A tqdm bar over ``total`` units when ``enabled`` (its own estimate: a smoothed recent
    rate), else a :class:`Heartbeat`, weighted by ``costs`` or by the costs that
    :func:`unit_costs` set for a bar of ``total`` units."""
    if costs is None:
        costs = _COSTS.get()
    if costs is not None and len(costs) != total:
        costs = None
    if not enabled or total <= 0:
        return Heartbeat(total, desc, unit=unit + "s", costs=costs)
    return tqdm_bar(total, desc, unit)
