"""The public entry point: one problem, either method, the same :class:`~dmft.core.result.Result`.

    >>> from dmft import Params, DMFTMethod, ParticleMethod, run
    >>> p = Params(alpha=2, delta=0.5, dynamics="sgd", b=0.5, t_max=20, tw=(10,))
    >>> theory = run(p, DMFTMethod(n_paths=4096))            # doctest: +SKIP
    >>> sim = run(p, ParticleMethod(n=1000, n_samples=4))    # doctest: +SKIP

:func:`solve` and :func:`simulate` are :func:`run` with the method's settings given as keywords
(``solve(p, n_paths=4096)``).  The result records the method; its file stores it.
"""

from __future__ import annotations

from ..core.checks import check_patterns
from ..core.methods import DMFTMethod, Method, ParticleMethod
from ..core.params import Params
from ..core.progress import unit_costs
from ..core.resources import step_costs
from ..core.result import Result
from ..simulations import simulate as _simulate
from ..solver import solve as _solve


def run(params: Params, method: Method, progress: bool = False, store_kernels: bool | None = None) -> Result:
    """Compute ``params`` with ``method``: the DMFT (:class:`DMFTMethod`) or direct simulations
    (:class:`ParticleMethod`).  ``store_kernels`` (DMFT only; default T <= 600) keeps the full
    two-time kernels.  Never raises for a diverging run: ``result.status`` says it.  A simulation
    whose ``P = round(alpha N)`` patterns are more than 1% from ``alpha N`` is refused
    (:class:`~dmft.core.params.ParameterError`, :func:`dmft.core.checks.check_patterns`)."""
    if not isinstance(params, Params):
        raise TypeError(f"params must be a dmft.Params, got {type(params).__name__}")
    if isinstance(method, DMFTMethod):
        with unit_costs(step_costs(params, method)):   # the time left weighs the later, dearer steps
            return _solve(params, method, progress=progress, store_kernels=store_kernels)
    if isinstance(method, ParticleMethod):
        check_patterns(params, method)
        if store_kernels:
            raise ValueError("store_kernels is a DMFT option; simulations have no kernels")
        return _simulate(params, method, progress=progress)
    raise TypeError(f"method must be a DMFTMethod or a ParticleMethod, got {type(method).__name__}")


def solve(params: Params, method: DMFTMethod | None = None, *, progress: bool = False,
          store_kernels: bool | None = None, **settings) -> Result:
    """The DMFT of ``params``: ``method`` (default :class:`DMFTMethod`) with ``settings``
    (its fields, e.g. ``n_paths=4096``) replaced."""
    method = (method or DMFTMethod()).replace(**settings)
    return run(params, method, progress=progress, store_kernels=store_kernels)


def simulate(params: Params, method: ParticleMethod | None = None, *, progress: bool = False,
             **settings) -> Result:
    """Direct simulations of ``params``: ``method`` (default :class:`ParticleMethod`) with
    ``settings`` (its fields, e.g. ``n=2000``) replaced."""
    method = (method or ParticleMethod()).replace(**settings)
    return run(params, method, progress=progress)
