"""Independent repetitions of one point, computed on demand and kept (``dmft measure``).

DMFT replicate ``r`` and simulated system ``s`` are the same whatever their number
(:func:`dmft.solver.assemble.replicate_root`, :func:`dmft.simulations.simulate.sample_streams`),
so a measurement adds repetitions without recomputing one; DMFT replicates can also be kept as
continuable marches (:class:`dmft.solver.march.March`) and carried to a longer horizon.  A DMFT
method with a second path count (:meth:`~dmft.core.methods.DMFTMethod.companion`, automatic by
default) computes replicate ``i`` of that count with replicate ``i`` of ``n_paths``, and the result
is their ``n_paths -> infinity`` extrapolation (:func:`dmft.solver.assemble.extrapolated`).
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
from ..solver.assemble import continuable_replicate, extrapolated, replicate_of, solve_replicate


class Repetitions:
    """Independent repetitions (DMFT replicates or simulated systems) of one point, computed on
    demand and kept: repetition ``i`` is the same whatever the count, so adding repetitions
    never recomputes one.  ``continuable`` (DMFT): each replicate is a
    :class:`~dmft.solver.march.March` that :meth:`extend` continues to a longer horizon without
    redoing a step (the memory of at most ``continuable`` marches is kept meanwhile; beyond that
    count they are released and a longer horizon restarts).  ``track``: the steps of the waiting
    times of later horizons, tracked from the start by a march with a memory window
    (:class:`~dmft.solver.window.TrackedColumns`).  ``level = m``: the replicates of the second
    path count ``m`` (the ``companions`` of a DMFT method that has one, made by the repetitions
    of ``n_paths``)."""

    def __init__(self, params: Params, method, continuable: int = 0, track: tuple = (), level: int = 0):
        self.params, self.method = params, method
        self.track = tuple(track)
        self.dmft = isinstance(method, DMFTMethod)
        self.continuable = bool(continuable) and self.dmft
        self.keep = int(continuable)     # at most this many marches are kept for continuation
        self.level = level
        self.items = []
        self.marches = []
        self.wall = 0.0
        self.companions = self._companions(params)

    def _companions(self, params: Params):
        """The repetitions of the second path count at ``params`` (None: none)."""
        m = self.method.companion(params) if self.dmft and not self.level else 0
        return Repetitions(params, self.method, self.keep, self.track, level=m) if m else None

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def diverged(self) -> bool:
        return ((bool(self.items) and self._diverged(self.items[-1]))
                or (self.companions is not None and self.companions.diverged))

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
            self._add_one()
            if self.companions is not None and not self.diverged:
                self.companions._add_one()
            self.wall += time.monotonic() - start
            added += 1
        return added

    def _add_one(self) -> None:
        """Compute the next repetition."""
        i = self.count
        if self.continuable and i >= self.keep:
            self.release()               # more repetitions than the memory was sized for
        if self.continuable:
            march = continuable_replicate(self.params, self.method, i, track=self.track,
                                          extrapolation_paths=self.level).run()
            self.marches.append(march)
            item = replicate_of(self.params, i, march.output())
        elif self.dmft:
            item = solve_replicate(self.params, self.method, i, track=self.track, extrapolation_paths=self.level)
        else:
            item = simulate_sample(self.params, self.method, i)
        self.items.append(item)

    def can_extend(self, params: Params) -> bool:
        """Whether every repetition can be continued to the horizon of ``params`` (not where the
        automatic memory window of the longer horizon differs: the march is made anew)."""
        return (self.continuable and bool(self.items) and not self.diverged and params.t_max >= self.params.t_max
                and len(self.marches) == len(self.items)
                and (not self.dmft or self.method.window_at(params) == self.method.window_at(self.params)))

    def extend(self, params: Params) -> None:
        """Continue every repetition to the horizon (and waiting times) of ``params``; the
        companions too where their path count stays that of ``params``, else they are made anew
        at the count of ``params``."""
        start = time.monotonic()
        for i, march in enumerate(self.marches):
            march.extend(params).run()
            self.items[i] = replicate_of(params, i, march.output())
        if self.companions is not None and self.companions.level == self.method.companion(params) \
                and self.companions.can_extend(params):
            self.companions.extend(params)
        else:
            if self.companions is not None:
                self.companions.release()
            self.companions = self._companions(params)
            if self.companions is not None:
                self.companions.add(self.count, deadline=math.inf)
        self.params = params
        self.wall += time.monotonic() - start

    def result_at(self, params: Params):
        """The result of the repetitions at the shorter horizon (and the waiting times) of
        ``params``, from the first steps of the kept marches (``March.output(steps=...)``: runs to
        that horizon, at no cost), or None when the marches are not kept (simulations, released
        marches)."""
        items = self._items_at(params)
        companions = () if self.companions is None else self.companions._items_at(params)
        if items is None or companions is None:
            return None
        return extrapolated(params, self.method, items, companions, self._level())

    def _items_at(self, params: Params):
        """The repetitions at the shorter horizon of ``params`` from the kept marches, or None."""
        if not (self.continuable and self.items and len(self.marches) == len(self.items)
                and params.t_max <= self.params.t_max and not self.diverged):
            return None
        T = params.n_steps + 1
        return [replicate_of(params, i, m.output(steps=T)) for i, m in enumerate(self.marches)]

    def release(self) -> None:
        """Free the marches' memory: the repetitions can no longer be continued."""
        self.marches = []
        self.continuable = False
        if self.companions is not None:
            self.companions.release()

    def result(self):
        if self.dmft:
            companions = () if self.companions is None else self.companions.items
            return extrapolated(self.params, self.method, self.items, companions, self._level())
        return combine_samples(self.params, self.method, self.items)

    def _level(self) -> int:
        """The path count of the companions (0: none)."""
        return 0 if self.companions is None else self.companions.level


def continuable(params: Params, method, count: int) -> bool:
    """Keep ``count`` DMFT marches of ``method`` for continuation when their memory at twice the
    horizon of ``params`` fits within half of the memory available now."""
    if not isinstance(method, DMFTMethod) or method.estimator(params) == "exact":
        return False
    longer = params.replace(t_max=2 * params.t_max, tw=())
    one = resource_estimate(longer, method.replace(replicates=1))
    free = available_memory()     # a companion of m paths keeps m / n_paths of a march's memory
    return free is None or count * one.memory * (1 + method.companion(longer) / method.n_paths) <= 0.5 * free


def first_seconds(params: Params, method) -> float:
    """A first guess of one repetition's seconds (the resource estimate, optimistic)."""
    one = method.replace(replicates=1) if isinstance(method, DMFTMethod) else method.replace(n_samples=1)
    return resource_estimate(params, one).work / FLOP_RATE
