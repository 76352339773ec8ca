"""Multi-resolution record of a path history: exact block means of the old steps.

A memory sum of the march, ``sum_{m < k} c_m u_p(m)``, sweeps the whole history of every path at
every step: ``n k`` numbers at step ``k``, ``n T^2 / 2`` in all.  With a *memory window* ``W``
(``DMFTMethod.memory_window``) the steps ``m >= k - W`` are summed exactly and the older ones
through the means of blocks of steps (derivation section 10)::

    sum_{m < k - W} c_m u_p(m)  ~  sum_B c_B ubar_p(B),   c_B = sum_{m in B} c_m,
    ubar_p(B) = mean_{m in B} u_p(m).

The error is ``sum_B sum_{m in B} (c_m - cbar_B)(u_p(m) - ubar_p(B))``: it vanishes where the
kernel is flat across a block or the path's history is (a plateau), and the blocks are short where
neither holds.  :class:`BlockHistory` keeps the blocks of a history as the steps leave the window:
each step enters as a block of one, and whenever more than ``per_level`` blocks have the same
length the two oldest of them merge into one of twice the length (a binary counter, as the
doubling grids of Kim and Latz).  So block lengths never decrease with age, a block is at most
about ``1 / per_level`` of its age beyond the window long, there are at most ``per_level`` blocks of each
length and ``per_level log2(k)`` in all, and the means are exact means of the steps they hold
(merging averages two means with equal weights).
"""

from __future__ import annotations

import numpy as np

from .kernels import slot_sums


class BlockHistory:
    """Block means of the old steps of ``groups`` per-path histories of ``n`` paths.

    ``push(rows, j)`` adds step ``j`` (``rows``: (groups, n), the values of each history at ``j``;
    steps are pushed in order from 0); :meth:`blocks` gives the blocks as ``(start, length)``
    oldest first, :meth:`weights` the coefficient ``c_B`` of each block from a kernel row ``c``,
    :meth:`add_sums` the sums ``sum_B c_B ubar(B)`` into an output.  The means live in the slots
    of one float64 array, so that the sum over blocks is one pass
    (:func:`dmft.solver.kernels.slot_sums`).
    """

    def __init__(self, groups: int, n: int, per_level: int = 4):
        if per_level < 2:
            raise ValueError(f"per_level must be >= 2 (got {per_level})")
        self.groups, self.n, self.per_level = int(groups), int(n), int(per_level)
        #: level l holds the blocks of length 2**l, oldest first, as (start, slot)
        self.levels: list = []
        self.store = np.zeros((0, self.groups, self.n))
        self.free: list = []
        self.end = 0          # the steps 0 .. end - 1 are in blocks

    def _slot(self) -> int:
        if not self.free:
            old = self.store.shape[0]
            grown = max(2 * old, 2 * self.per_level + 2)
            store = np.zeros((grown, self.groups, self.n))
            store[:old] = self.store
            self.store = store
            self.free = list(range(grown - 1, old - 1, -1))
        return self.free.pop()

    def push(self, rows: np.ndarray, j: int) -> None:
        """Add step ``j`` (the next one: ``j == end``) with the values ``rows`` (groups, n)."""
        if j != self.end:
            raise ValueError(f"steps enter in order: expected step {self.end}, got {j}")
        slot = self._slot()
        self.store[slot] = np.asarray(rows).reshape(self.groups, self.n)
        self._add(0, j, slot)
        self.end += 1

    def _add(self, level: int, start: int, slot: int) -> None:
        while len(self.levels) <= level:
            self.levels.append([])
        blocks = self.levels[level]
        blocks.append((start, slot))
        if len(blocks) > self.per_level:       # merge the two oldest of this length
            (s0, a), (_, b) = blocks.pop(0), blocks.pop(0)
            merged = self.store[a]
            merged += self.store[b]
            merged *= 0.5                      # two means of equally many steps
            self.free.append(b)
            self._add(level + 1, s0, a)

    def _ordered(self) -> list:
        out = []
        for level in range(len(self.levels) - 1, -1, -1):
            out.extend((start, 1 << level, slot) for start, slot in self.levels[level])
        return out

    def blocks(self) -> list:
        """``(start, length)`` of every block, oldest first (they tile ``0 .. end - 1``)."""
        return [(start, length) for start, length, _ in self._ordered()]

    def means(self) -> list:
        """The block means (groups, n), in the order of :meth:`blocks` (views)."""
        return [self.store[slot] for _, _, slot in self._ordered()]

    def weights(self, c: np.ndarray) -> np.ndarray:
        """``c_B = sum_{m in B} c_m`` for every block (order of :meth:`blocks`); ``c`` covers at
        least the steps ``0 .. end - 1``."""
        blocks = self._ordered()
        if not blocks:
            return np.zeros(0)
        cum = np.concatenate(([0.0], np.cumsum(c[:self.end])))
        starts = np.array([s for s, _, _ in blocks])
        lengths = np.array([w for _, w, _ in blocks])
        return cum[starts + lengths] - cum[starts]

    def add_sums(self, c: np.ndarray, out: np.ndarray) -> None:
        """``out[g, p] += sum_B c_B ubar_{g, p}(B)`` (``out``: (groups, n), float64)."""
        blocks = self._ordered()
        if blocks:
            slots = np.array([slot for _, _, slot in blocks], dtype=np.int64)
            slot_sums(self.store, slots, self.weights(c), out)
