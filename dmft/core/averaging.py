"""Averages over independent repetitions: simulation samples or DMFT replicates.

:class:`RunningMean` is Welford's running mean and standard error of arrays of a fixed shape;
:class:`RepetitionAverage` keeps one per observable plus the means over contiguous batches of
repetitions, and turns them into an :class:`~dmft.core.result.Errors`.  NaN entries (``C(t, tw)``
for ``t < tw``, a diverged repetition after its divergence) stay NaN.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from .result import Errors

#: Repetitions are also averaged in up to this many contiguous batches, so that errors of
#: non-linear estimators (T_eff) can be obtained by a jackknife that keeps the time correlations.
N_BATCHES = 10


class RunningMean:
    """Accumulates arrays of a fixed shape; ``mean`` and ``sem`` over the samples added.

    ``sem = std(ddof=1)/sqrt(n)``: the standard error of the sample mean (NaN for n < 2).
    NaN entries (e.g. ``C(t, tw)`` for ``t < tw``) stay NaN.
    """

    def __init__(self):
        self.n = 0
        self._mean = None
        self._m2 = None

    def add(self, x) -> None:
        x = np.asarray(x, dtype=float)
        self.n += 1
        if self._mean is None:
            self._mean = x.copy()
            self._m2 = np.zeros_like(x)
            return
        d = x - self._mean
        self._mean += d / self.n
        self._m2 += d * (x - self._mean)

    @property
    def mean(self) -> np.ndarray:
        return self._mean.copy()

    @property
    def sem(self) -> np.ndarray:
        if self.n < 2:
            return np.full_like(self._mean, np.nan)
        var = np.maximum(self._m2, 0.0) / (self.n - 1)
        return np.sqrt(var / self.n)


class RepetitionAverage:
    """Mean, standard error and batch means of named observables over ``total`` repetitions.

    Repetition ``i`` (0-based, added in order) goes to batch ``i * B // total`` with
    ``B = min(total, N_BATCHES)`` (no batches for a single repetition), so batches are
    contiguous and of sizes differing by at most one.  Stopping early (a diverged repetition)
    keeps the batches that received repetitions.
    """

    def __init__(self, names: Iterable[str], total: int, batched: Iterable[str] | None = None):
        self.names = tuple(names)
        self.total = int(total)
        self.batched = self.names if batched is None else tuple(batched)
        self.acc = {name: RunningMean() for name in self.names}
        self.B = min(self.total, N_BATCHES) if self.total >= 2 else 0
        self.batch_sum: dict = {}
        self.batch_count = np.zeros(self.B, dtype=int)
        self.count = 0

    def add(self, values: Mapping[str, np.ndarray]) -> None:
        """Add the observables of the next repetition (``values[name]`` for every name)."""
        i = self.count
        self.count += 1
        for name in self.names:
            self.acc[name].add(values[name])
        if self.B:
            j = i * self.B // self.total
            self.batch_count[j] += 1
            for name in self.batched:
                x = np.asarray(values[name], dtype=float)
                if name not in self.batch_sum:
                    self.batch_sum[name] = np.zeros((self.B,) + x.shape)
                self.batch_sum[name][j] += x

    def mean(self, name: str) -> np.ndarray:
        return self.acc[name].mean

    def errors(self, source: str) -> Errors:
        """Standard errors of every observable and the batch means (at least two batches)."""
        sem = {name: self.acc[name].sem for name in self.names}
        used = self.batch_count > 0
        batches, sizes = {}, None
        if self.B and used.sum() >= 2:
            sizes = self.batch_count[used]
            for name, total in self.batch_sum.items():
                shape = (-1,) + (1,) * (total.ndim - 1)
                batches[name] = total[used] / sizes.reshape(shape)
        return Errors(source=source, count=self.count, sem=sem, batches=batches, batch_size=sizes)
