"""When a run has diverged: one rule, shared by the DMFT solver and the simulations.

A run has diverged (``status = diverged``, :class:`~dmft.core.status.Status`) at the first time
``t`` where the energy per weight ``e(t) = H/N`` is not finite or has run away::

    e(t) > RUNAWAY_FACTOR * e_ref,    e_ref = max(e(0), alpha (1 + delta^2 + T) / 2)

``alpha (1 + delta^2) / 2`` is the energy of a configuration whose pattern fields have unit
variance (square loss: ``E[(u - delta)^2] / 2`` per pattern, ``P = alpha N``), ``alpha T / 2``
the equipartition share of a temperature ``T``; a sane run stays within a modest factor of the
larger of that scale and its own start.  With ``RUNAWAY_FACTOR = 1e6`` an unstable run (a
step ``dt`` beyond the stability bound grows by a constant factor per step) is caught after a
few steps, long before floating-point overflow.
"""

from __future__ import annotations

import math

#: how far above its reference the energy may go before the run counts as diverged
RUNAWAY_FACTOR = 1e6


def energy_limit(params, e0: float) -> float:
    """The largest energy per weight of a run of ``params`` that started at ``e(0) = e0``."""
    scale = params.alpha * (1.0 + params.delta ** 2 + params.temperature) / 2.0
    return RUNAWAY_FACTOR * max(e0, scale) if math.isfinite(e0) else math.inf


def runaway(params, energy: float, e0: float) -> str | None:
    """Why the energy ``energy`` of a run that started at ``e0`` means divergence, or None."""
    if not math.isfinite(energy):
        return f"energy not finite ({energy})"
    limit = energy_limit(params, e0)
    if energy > limit:
        return (f"energy {energy:.3g} ran away (above {RUNAWAY_FACTOR:g} x max(e(0), "
                f"alpha (1 + delta^2 + T)/2) = {limit:.3g})")
    return None
