"""Which old steps share a block copy of the block response (``response = "blocks"``).

:class:`BlockPlan` is the bookkeeping of :class:`dmft.solver.response.BlockResponse`, step by step;
:func:`footprint` replays it to size a run (copies alive at once and at each step) before
anything is allocated (:mod:`dmft.core.resources`).
"""

from __future__ import annotations

import functools
import heapq

import numpy as np

#: a block of old steps is at most this fraction of its lag long (:meth:`BlockPlan._longest`)
BLOCK_RATIO = 0.25


class BlockPlan:
    """Which old steps share a block copy of :class:`~dmft.solver.response.BlockResponse`, step
    by step.

    At step ``k`` the band's column ``j = k - L`` leaves it and joins the youngest block, or opens
    a new one where the youngest would become too long; then adjacent blocks merge, oldest first,
    wherever the merged block is short enough.  A block ``[s, e)`` is at most ``ratio`` times the
    lag of its nearest step from the first row that reads it (``k + 1 - (e - 1)``), and at most
    ``s`` steps long (:meth:`_longest`): short where ``M_R(k, j)`` changes fast with the lag or
    with ``j`` (the transient after ``t = 0``), long where it is old.  About six blocks per
    doubling of the horizon live at once (20 at 400 steps with ``L = 50``).  The plan depends on
    ``k`` only: a continued march makes the same blocks as a single one.
    """

    def __init__(self, band: int, ratio: float | None = None):
        self.L = band
        self.ratio = BLOCK_RATIO if ratio is None else ratio
        self.blocks: list = []    # [first step, end step (excluded), slot], oldest first
        self._free: list = []     # released slots (a heap: the lowest is reused first)
        self.n_slots = 0
        self.k = band - 1         # the last step entered

    def _longest(self, first: int, lag: int) -> float:
        """The longest block from step ``first`` whose nearest step is ``lag`` steps before the
        first row that reads it: ``ratio`` times that lag, and no longer than ``first`` (the
        transient after ``t = 0``, where ``M_R(k, j)`` changes fast with ``j``, stays resolved)."""
        return max(1.0, min(self.ratio * lag, first))

    def _new_slot(self) -> int:
        if self._free:
            return heapq.heappop(self._free)
        self.n_slots += 1
        return self.n_slots - 1

    def enter(self, k: int) -> tuple:
        """Step ``k`` (``k = L, L + 1, ...`` in order): ``(slot, opened, merges)``: the slot the
        column ``k - L`` joins, whether it opens that block, and the ``(kept, released)`` slot
        pairs merged after it (the older block keeps its slot)."""
        if k != self.k + 1:
            raise ValueError(f"block plan at step {self.k} cannot enter step {k}")
        self.k = k
        j = k - self.L
        young = self.blocks[-1] if self.blocks else None
        if young is not None and young[1] - young[0] + 1 <= self._longest(young[0], self.L + 1):
            young[1] = j + 1
            slot, opened = young[2], False
        else:
            slot, opened = self._new_slot(), True
            self.blocks.append([j, j + 1, slot])
        merges = []
        i = 0
        while i + 1 < len(self.blocks):
            old, new = self.blocks[i], self.blocks[i + 1]
            if new[1] - old[0] <= self._longest(old[0], k + 2 - new[1]):
                merges.append((old[2], new[2]))
                heapq.heappush(self._free, new[2])
                old[1] = new[1]
                del self.blocks[i + 1]
            else:
                i += 1
        return slot, opened, merges

    @classmethod
    def most_slots(cls, band: int, T: int, ratio: float | None = None) -> int:
        """The most slots a march over ``T`` steps uses at once."""
        return footprint(band, T, BLOCK_RATIO if ratio is None else ratio)[0]


#: :func:`footprint` replays the plan up to this many steps and extrapolates beyond
REPLAYED_STEPS = 4096
#: copies added per doubling of the horizon, at most (measured: about 6)
SLOTS_PER_DOUBLING = 7


@functools.lru_cache(maxsize=64)
def footprint(band: int, T: int, ratio: float) -> tuple:
    """``(slots, live)`` of a march over ``T`` steps: the most block copies alive at once and the
    number alive at each step ``k = 0 .. T - 2`` (an array), which set the block response's
    memory and work.  Replayed up to :data:`REPLAYED_STEPS` steps (``16 L`` with a wider band)
    and bounded beyond by :data:`SLOTS_PER_DOUBLING` more copies per doubling of the horizon
    (an estimate fit for refusing what cannot fit)."""
    replayed = min(T - 1, max(REPLAYED_STEPS, 16 * band))
    plan = BlockPlan(band, ratio)
    live = np.zeros(max(T - 1, 0))
    for k in range(band, replayed):
        plan.enter(k)
        live[k] = len(plan.blocks)
    slots = max(1, plan.n_slots)
    if T - 1 > replayed:
        k = np.arange(replayed, T - 1)
        live[replayed:] = slots + SLOTS_PER_DOUBLING * np.log2(k / replayed)
        slots = int(np.ceil(live[-1]))
    return slots, live
