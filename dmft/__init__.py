"""sgd-dmft: dynamical mean-field theory of SGD on the spherical perceptron.

Light on import: ``Params`` and ``Result`` are here; the solver is ``dmft.solve`` (imported on
first use, it compiles numba kernels), the particle simulations ``simulations.simulate``.
"""

__version__ = "0.1.0"

from .params import Params, ParameterError  # noqa: E402
from .result import Result  # noqa: E402


def solve(params, **kwargs):
    """Solve the DMFT equations for ``params``; see :func:`dmft.solver.solve`."""
    from .solver import solve as _solve

    return _solve(params, **kwargs)


__all__ = ["Params", "ParameterError", "Result", "solve", "__version__"]
