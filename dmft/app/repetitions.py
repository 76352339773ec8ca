"""Independent repetitions of one point, computed on demand and kept (``dmft measure``).

DMFT replicate ``r`` and simulated system ``s`` are the same whatever their number
(:func:`dmft.solver.assemble.replicate_root`, :func:`dmft.simulations.simulate.sample_streams`),
so a measurement adds repetitions without recomputing one; DMFT replicates can also be kept as
continuable marches (:class:`dmft.solver.march.March`) and carried to a longer horizon.
"""

from __future__ import annotations

import math
import time

from ..core.methods import DMFTMethod
from ..core.params import Params
from ..core.resources import FLOP_RATE, available_memory
from ..core.resources import estimate as resource_estimate
from ..core.status import Status
from ..simulations.simulate import combine as combine_samples, simulate_sample
from ..solver.assemble import combine as combine_replicates, continuable_replicate, replicate_of, solve_replicate


class Repetitions:
    """Independent repetitions (DMFT replicates or simulated systems) of one point, computed on
    demand and kept: repetition ``i`` is the same whatever the count, so adding repetitions
    never recomputes one.  ``continuable`` (DMFT): each replicate is a
    :class:`~dmft.solver.march.March` that :meth:`extend` continues to a longer horizon without
    redoing a step (the memory of at most ``continuable`` marches is kept meanwhile; beyond that
    count they are released and a longer horizon restarts).  ``track``: the steps of the waiting
    times of later horizons, tracked from the start by a march with a memory window
    (:class:`~dmft.solver.window.TrackedColumns`)."""

    def __init__(self, params: Params, method, continuable: int = 0, track: tuple = ()):
        self.params, self.method = params, method
        self.track = tuple(track)
        self.dmft = isinstance(method, DMFTMethod)
        self.continuable = bool(continuable) and self.dmft
        self.keep = int(continuable)     # at most this many marches are kept for continuation
        self.items = []
        self.marches = []
        self.wall = 0.0

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def diverged(self) -> bool:
        return bool(self.items) and self._diverged(self.items[-1])

    def _diverged(self, item) -> bool:
        return item.status != Status.OK if self.dmft else item.diverged_at is not None

    def per_item(self) -> float:
        """Measured seconds per repetition (NaN before the first)."""
        return self.wall / self.count if self.count else math.nan

    def add(self, count: int, deadline: float, minimum: int = 0) -> int:
        """Compute repetitions up to ``count`` in all while time is left before ``deadline``
        (``time.monotonic``; the first ``minimum`` regardless); returns how many were added."""
        added = 0
        while self.count < count and not self.diverged:
            if self.count >= minimum and time.monotonic() + self.per_item() > deadline:
                break
            start = time.monotonic()
            i = self.count
            if self.continuable and i >= self.keep:
                self.release()               # more repetitions than the memory was sized for
            if self.continuable:
                march = continuable_replicate(self.params, self.method, i, track=self.track).run()
                self.marches.append(march)
                item = replicate_of(self.params, i, march.output())
            elif self.dmft:
                item = solve_replicate(self.params, self.method, i, track=self.track)
            else:
                item = simulate_sample(self.params, self.method, i)
            self.items.append(item)
            self.wall += time.monotonic() - start
            added += 1
        return added

    def can_extend(self, params: Params) -> bool:
        """Whether every repetition can be continued to the horizon of ``params``."""
        return (self.continuable and bool(self.items) and not self.diverged and params.t_max >= self.params.t_max
                and len(self.marches) == len(self.items))

    def extend(self, params: Params) -> None:
        """Continue every repetition to the horizon (and waiting times) of ``params``."""
        start = time.monotonic()
        for i, march in enumerate(self.marches):
            march.extend(params).run()
            self.items[i] = replicate_of(params, i, march.output())
        self.params = params
        self.wall += time.monotonic() - start

    def result_at(self, params: Params):
        """The result of the repetitions at the shorter horizon (and the waiting times) of
        ``params``, from the first steps of the kept marches (``March.output(steps=...)``: runs to
        that horizon, at no cost), or None when the marches are not kept (simulations, released
        marches)."""
        if not (self.continuable and self.items and len(self.marches) == len(self.items)
                and params.t_max <= self.params.t_max and not self.diverged):
            return None
        T = params.n_steps + 1
        items = [replicate_of(params, i, m.output(steps=T)) for i, m in enumerate(self.marches)]
        return combine_replicates(params, self.method, items)

    def release(self) -> None:
        """Free the marches' memory: the repetitions can no longer be continued."""
        self.marches = []
        self.continuable = False

    def result(self):
        if self.dmft:
            return combine_replicates(self.params, self.method, self.items)
        return combine_samples(self.params, self.method, self.items)


def continuable(params: Params, method, count: int) -> bool:
    """Keep ``count`` DMFT marches of ``method`` for continuation when their memory at twice the
    horizon of ``params`` fits within half of the memory available now."""
    if not isinstance(method, DMFTMethod) or method.estimator(params) == "exact":
        return False
    one = resource_estimate(params.replace(t_max=2 * params.t_max, tw=()), method.replace(replicates=1))
    free = available_memory()
    return free is None or count * one.memory <= 0.5 * free


def first_seconds(params: Params, method) -> float:
    """A first guess of one repetition's seconds (the resource estimate, optimistic)."""
    one = method.replace(replicates=1) if isinstance(method, DMFTMethod) else method.replace(n_samples=1)
    return resource_estimate(params, one).work / FLOP_RATE
