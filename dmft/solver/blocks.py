"""Multi-resolution record of a path history: exact block means of the old steps.

A memory sum of the march, ``sum_{m < k} c_m u_p(m)``, sweeps the whole history of every path at
every step: ``n k`` numbers at step ``k``, ``n T^2 / 2`` in all.  With a *memory window* ``W``
(``DMFTMethod.memory_window``) the steps ``m >= k - W`` are summed exactly and the older ones
through the means of blocks of steps (derivation section 10)::

    sum_{m < k - W} c_m u_p(m)  ~  sum_B c_B ubar_p(B),   c_B = sum_{m in B} c_m,
    ubar_p(B) = mean_{m in B} u_p(m).

The error is ``sum_B sum_{m in B} (c_m - cbar_B)(u_p(m) - ubar_p(B))``: it vanishes where the
kernel is flat across a block or the path's history is (a plateau), and the blocks are short where
neither holds.  Two-time functions vary on the scale of the lag and, while the run relaxes, on
the scale of the earlier time itself (the transient after ``t = 0``), so a block is kept short
against both: :class:`BlockHistory` lets each step enter as a block of one and merges two
neighbouring blocks of equal length ``L`` (aligned buddies, ``start % 2L == 0``, as the doubling
grids of Kim and Latz) only while the merged block is at most ``1 / AGE`` of its distance from the
window and at most ``1 / START`` of its first step.  The means are exact means of the steps they
hold (a merge averages two means of equally many steps); there are at most about
``(AGE + START + 2) log2 k`` blocks (129 at ``k = 10^4`` with the defaults).
"""

from __future__ import annotations

import numpy as np

from .kernels import slot_sums


#: a block is at most 1/AGE of the distance from its end to the window
AGE = 4
#: a block is at most 1/START of its first step (the transient after t = 0 stays resolved)
START = 8


class BlockHistory:
    """Block means of the old steps of ``groups`` per-path histories of ``n`` paths.

    ``push(rows, j)`` adds step ``j`` (``rows``: (groups, n), the values of each history at ``j``;
    steps are pushed in order from 0); :meth:`blocks` gives the blocks as ``(start, length)``
    oldest first, :meth:`weights` the coefficient ``c_B`` of each block from a kernel row ``c``,
    :meth:`add_sums` the sums ``sum_B c_B ubar(B)`` into an output.  The means live in the slots
    of one float64 array, so that the sum over blocks is one pass
    (:func:`dmft.solver.kernels.slot_sums`).
    """

    def __init__(self, groups: int, n: int, age: int = AGE, start: int = START):
        if age < 1 or start < 1:
            raise ValueError(f"age and start must be >= 1 (got {age}, {start})")
        self.groups, self.n, self.age, self.start = int(groups), int(n), int(age), int(start)
        #: the blocks, oldest first, as [start, length, slot]
        self.list: list = []
        self.store = np.zeros((0, self.groups, self.n))
        self.free: list = []
        self.end = 0          # the steps 0 .. end - 1 are in blocks
        self.last_slot = -1
        self._arrays = None   # arrays() of the current blocks (several readers per step)

    def _slot(self) -> int:
        if not self.free:
            old = self.store.shape[0]
            grown = max(2 * old, 16)
            store = np.zeros((grown, self.groups, self.n))
            store[:old] = self.store
            self.store = store
            self.free = list(range(grown - 1, old - 1, -1))
        return self.free.pop()

    def push(self, rows: np.ndarray, j: int) -> list:
        """Add step ``j`` (the next one: ``j == end``) with the values ``rows`` (groups, n).
        Returns the merges it caused, in order, as ``(start, length, kept, freed)``: the pair
        ``(start, length)``, ``(start + length, length)`` became ``(start, 2 length)``, held in
        the slot ``kept`` of the older one; ``freed`` is the slot of the later one.  The slot of
        the new block is ``last_slot``."""
        if j != self.end:
            raise ValueError(f"steps enter in order: expected step {self.end}, got {j}")
        self._arrays = None
        slot = self._slot()
        self.store[slot] = np.asarray(rows).reshape(self.groups, self.n)
        self.last_slot = slot
        self.list.append([j, 1, slot])
        self.end += 1
        merges: list = []
        merged = True
        while merged:
            merged = False
            i = 0
            while i < len(self.list) - 1:
                (s0, L, a), (s1, L1, b) = self.list[i], self.list[i + 1]
                if L1 == L and s0 % (2 * L) == 0 and s1 == s0 + L and self._may_merge(s0, 2 * L):
                    merged_means = self.store[a]
                    merged_means += self.store[b]
                    merged_means *= 0.5            # two means of equally many steps
                    self.free.append(b)
                    self.list[i] = [s0, 2 * L, a]
                    del self.list[i + 1]
                    merges.append((s0, L, a, b))
                    merged = True
                i += 1
        return merges

    def _may_merge(self, start: int, length: int) -> bool:
        return self.age * length <= self.end - (start + length) and self.start * length <= start

    def blocks(self) -> list:
        """``(start, length)`` of every block, oldest first (they tile ``0 .. end - 1``)."""
        return [(s, L) for s, L, _ in self.list]

    def slots(self) -> list:
        """The slots of ``store`` that hold the means of the blocks, in the order of :meth:`blocks`."""
        return [slot for _, _, slot in self.list]

    def arrays(self) -> tuple:
        """``(start, length, slot)`` of the blocks, oldest first, as int64 arrays (kept until the
        next :meth:`push`; not to be written to)."""
        if self._arrays is None:
            if not self.list:
                self._arrays = tuple(np.zeros(0, dtype=np.int64) for _ in range(3))
            else:
                self._arrays = tuple(np.array(col, dtype=np.int64) for col in zip(*self.list))
        return self._arrays

    def means(self) -> list:
        """The block means (groups, n), in the order of :meth:`blocks` (views)."""
        return [self.store[slot] for _, _, slot in self.list]

    def weights(self, c: np.ndarray) -> np.ndarray:
        """``c_B = sum_{m in B} c_m`` for every block (order of :meth:`blocks`); ``c`` covers at
        least the steps ``0 .. end - 1``."""
        if not self.list:
            return np.zeros(0)
        start, length, _ = self.arrays()
        cum = np.concatenate(([0.0], np.cumsum(c[:self.end])))
        return cum[start + length] - cum[start]

    def add_sums(self, c: np.ndarray, out: np.ndarray) -> None:
        """``out[g, p] += sum_B c_B ubar_{g, p}(B)`` (``out``: (groups, n), float64)."""
        if self.list:
            slot_sums(self.store, self.arrays()[2], self.weights(c), out)
