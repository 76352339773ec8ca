"""Checks of the settings a user gives (command line, scan file) beyond what :class:`Params`
and the methods validate on construction (``docs/conventions.md`` section 4).

* **The grid.** ``t_max`` and every waiting time ``tw`` must be grid times ``t_i = i dt`` (to
  :data:`GRID_TOL` steps).  The library stops at the last grid time and snaps ``tw``; given by a
  user, an off-grid time is refused, naming the grid and the nearest grid times.
* **The patterns.** A simulation has ``P = max(1, round(alpha N))`` patterns; when ``P/N`` is
  more than :data:`ALPHA_RTOL` (1%) away from ``alpha`` the run is refused: its file would
  record an ``alpha`` that was not simulated.  (:func:`dmft.run` applies this check too.)
* **Settings that do nothing.** A setting the dynamics, constraint or data do not use
  (:func:`unused_settings`: ``ridge`` with ``sphere``; ``tau`` without ``psgd``; ``b``,
  ``normalization`` and ``noise_class`` with ``gd`` or ``langevin``) must keep its default:
  another value would change the point hash (a second file, a second computation of one point)
  without changing the run.  The rule is one: refused, never silently ignored.

Files are not checked against these rules when read, so files written before them stay readable.
Every failure is a :class:`~dmft.core.params.ParameterError` naming the setting.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .methods import ParticleMethod, n_patterns, split_settings
from .params import PARAM_DEFAULTS, ParameterError, Params, parse_times

#: how far (in steps) a time may be from the grid and still count as a grid time (round-off)
GRID_TOL = 1e-6
#: largest relative difference between the simulated ``P/N`` and ``alpha``
ALPHA_RTOL = 0.01

#: setting -> (when it does nothing, what uses it)
_UNUSED_WHEN = {
    "ridge": (lambda p: p.constraint == "sphere", "only constraint = ridge uses it"),
    "tau": (lambda p: p.dynamics != "psgd", "only dynamics = psgd uses it"),
    "b": (lambda p: p.dynamics in ("gd", "langevin"), "gd and langevin use every pattern at every step"),
    "normalization": (lambda p: p.dynamics in ("gd", "langevin"), "gd and langevin select no batch"),
    "noise_class": (lambda p: p.dynamics in ("gd", "langevin"), "gd and langevin have no selection noise"),
}


def _nearest(t: float, dt: float) -> str:
    k = math.floor(t / dt)
    return f"{max(k, 0) * dt:g} and {(k + 1) * dt:g}"


def check_on_grid(name: str, t: float, dt: float) -> None:
    """:class:`ParameterError` unless ``t`` is a grid time ``i dt``."""
    steps = t / dt
    if abs(steps - round(steps)) > GRID_TOL:
        raise ParameterError(name, f"{t:g} is not on the time grid t_i = i dt (dt = {dt:g}); "
                                   f"the nearest grid times are {_nearest(t, dt)}")


def check_patterns(params: Params, method) -> None:
    """:class:`ParameterError` when a simulation's ``P/N`` is more than :data:`ALPHA_RTOL` from
    ``alpha`` (nothing to check for the DMFT, which has ``alpha`` exactly)."""
    if not isinstance(method, ParticleMethod):
        return
    P = n_patterns(params.alpha, method.n)
    simulated = P / method.n
    if abs(simulated - params.alpha) > ALPHA_RTOL * params.alpha:
        raise ParameterError("alpha", f"a simulation with n = {method.n} has P = max(1, round(alpha n)) = {P} "
                                      f"patterns, i.e. alpha = {simulated:g}, more than {ALPHA_RTOL:.0%} from "
                                      f"alpha = {params.alpha:g}; choose n so that alpha n is close to an integer")


def unused_settings(params: Params) -> dict:
    """Settings away from their default that the dynamics, constraint or data of ``params`` do
    not use: name -> why."""
    return {name: why for name, (unused, why) in _UNUSED_WHEN.items()
            if unused(params) and getattr(params, name) != PARAM_DEFAULTS[name]}


def check_unused(params: Params) -> None:
    """:class:`ParameterError` for the first setting of :func:`unused_settings`."""
    for name, why in unused_settings(params).items():
        raise ParameterError(name, f"{getattr(params, name)!r} does nothing with dynamics = {params.dynamics}, "
                                   f"constraint = {params.constraint} ({why}); leave it out")


def check_settings(settings: Mapping[str, Any], kind: str, strict: bool = True):
    """(Params, method) of a flat mapping of settings (:func:`~dmft.core.methods.split_settings`)
    that passes every check of this module; :class:`ParameterError` naming the first failure.

    ``t_max`` is checked before ``tw``, so that an off-grid ``t_max`` is named as such rather
    than as a waiting time beyond the grid's end."""
    settings = dict(settings)
    params, method = split_settings({k: v for k, v in settings.items() if k != "tw"}, kind, strict)
    check_on_grid("t_max", params.t_max, params.dt)
    if "tw" in settings:
        for t in parse_times(settings["tw"]):
            if math.isfinite(t) and 0 <= t <= params.t_max:
                check_on_grid("tw", t, params.dt)
        params = params.replace(tw=settings["tw"])
    check_unused(params)
    check_patterns(params, method)
    return params, method
