"""What a failed test of the data means, and what to do about it.

The stationarity test (:mod:`.stationarity`), the plateau of ``T_static`` (:mod:`.teff`) and the
plateau of the replica distance (:mod:`.distance`) each compare a change with its jackknife
error.  When one fails, the verdict says how large the change is in units of its error and
which remedy fits:

* within :data:`NOISE_SIGMAS` errors, sampling noise may be all there is (a change of 3 errors
  among hundreds of lags is not rare): more statistics decide -- more paths or replicates for
  the DMFT, more samples for the simulations;
* beyond, the change is real: the run has not reached the stationary state or the plateau on the
  times computed, and a longer run (a later ``tw``, a larger ``t_max``) is the remedy;
* in both cases ``dmft measure`` (:data:`MEASURE`) chooses the statistics and the run length
  for a target error.

Without error bars (one replicate or one sample) nothing can be told apart: the verdict asks
for repetitions first.
"""

from __future__ import annotations

import math

#: a change within this many of its errors may be sampling noise
NOISE_SIGMAS = 5.0
#: the command that chooses statistics and run length for a target error
MEASURE = "`dmft measure`"
#: what a longer run means, by the test that failed
LONGER = {
    "stationarity": "start later and run longer (a later --tw, a larger --t-max)",
    "plateau": "run longer after tw (a larger --t-max)",
    "distance": "run longer (a larger --t-max)",
}


def more_statistics(kind: str) -> str:
    """The remedy for sampling noise of a result of ``kind`` (``dmft`` or ``simulation``)."""
    if kind == "dmft":
        return "more paths or replicates (--n-paths, --replicates)"
    return "more samples (--n-samples)"


def repetitions(kind: str) -> str:
    """What gives a result of ``kind`` error bars at all."""
    if kind == "dmft":
        return "repeat with --replicates 2 or more"
    return "repeat with --n-samples 2 or more"


def in_errors(change: float, err: float) -> float:
    """``|change| / err``: the size of a change in units of its error (NaN without an error)."""
    if not (math.isfinite(err) and err > 0 and math.isfinite(change)):
        return math.nan
    return abs(change) / err


def size(change: float, err: float, fmt: str = ".2g") -> str:
    """``0.00097, 3.2 times its error 0.0003`` (or ``0.00097, no error bar``)."""
    n = in_errors(change, err)
    if math.isnan(n):
        return f"{change:{fmt}}, no error bar"
    return f"{change:{fmt}}, {n:.1f} times its error {err:.2g}"


def percent(change: float, err: float) -> str:
    """A relative change as ``+2.1% (+/- 0.5%, 4.2 errors)``."""
    n = in_errors(change, err)
    if math.isnan(n):
        return f"{100 * change:+.1f}% (no error bar)"
    return f"{100 * change:+.1f}% (+/- {100 * err:.1f}%, {n:.1f} errors)"


def remedy(change: float, err: float, kind: str, test: str) -> str:
    """What to do about a change ``change +/- err`` that failed ``test`` (a key of :data:`LONGER`)
    in a result of ``kind``: the verdict of the module docstring, as one clause."""
    longer = LONGER[test]
    n = in_errors(change, err)
    if math.isnan(n):
        return (f"without error bars noise cannot be told from a real change: {repetitions(kind)}; "
                f"if it stays, {longer}, or {MEASURE}")
    if n < NOISE_SIGMAS:
        return (f"within {NOISE_SIGMAS:g} errors, so possibly sampling noise: {more_statistics(kind)} would "
                f"decide, or {MEASURE}; if it stays, {longer}")
    return f"more than {NOISE_SIGMAS:g} errors, a real change: {longer}, or {MEASURE}"


__all__ = ["LONGER", "MEASURE", "NOISE_SIGMAS", "in_errors", "more_statistics", "percent", "remedy", "size"]
