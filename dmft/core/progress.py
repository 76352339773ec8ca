"""Progress reporting shared by the solver, the simulations and the task runner.

With ``enabled`` a tqdm bar; without, a :class:`Heartbeat`: a log line (``logging``, level INFO,
logger ``dmft.core.progress``) at most every :data:`HEARTBEAT_S` seconds, so that a long step
whose output is not a terminal still says it is alive.  The command line shows INFO messages on
stderr (``-q`` hides them); a Python program sees them only if it configures ``logging``.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

#: seconds between two heartbeat lines
HEARTBEAT_S = 10.0


def heartbeat_interval() -> float:
    """Seconds between two heartbeat lines (:data:`HEARTBEAT_S`, read at each use)."""
    return HEARTBEAT_S


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class Heartbeat:
    """Counts ``update`` calls and logs ``desc: n/total (p%), elapsed, about ... left`` when
    :data:`HEARTBEAT_S` seconds have passed since the last line."""

    def __init__(self, total: int, desc: str, interval: float | None = None, unit: str = "steps"):
        self.total, self.desc, self.unit = total, desc, unit
        self.interval = heartbeat_interval() if interval is None else interval
        self.n = 0
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.beat(now)

    def beat(self, now: float | None = None, detail: str = "") -> None:
        """Log one status line now."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        line = f"{self.desc}: {self.n}/{self.total} {self.unit}"
        if self.total:
            line += f" ({100 * self.n / self.total:.0f}%)"
        line += f", {_duration(elapsed)} elapsed"
        if 0 < self.n < self.total:
            line += f", about {_duration(elapsed * (self.total - self.n) / self.n)} left"
        log.info(line + (f"; {detail}" if detail else ""))

    def close(self) -> None:
        pass


def tqdm_bar(total: int, desc: str | None, unit: str):
    """A tqdm bar (terminal or notebook); tqdm is imported on first use, since in a notebook
    without ipywidgets importing ``tqdm.auto`` warns."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "step"):
    """A tqdm bar over ``total`` units when ``enabled``, else a :class:`Heartbeat`."""
    if not enabled or total <= 0:
        return Heartbeat(total, desc, unit=unit + "s")
    return tqdm_bar(total, desc, unit)
