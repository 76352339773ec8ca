"""Running mean and standard error over independent samples (Welford), NaN-transparent."""

from __future__ import annotations

import numpy as np


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
