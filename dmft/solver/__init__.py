"""Discrete-time DMFT solver of SGD on the spherical perceptron (``docs/dmft-derivation.md``).

Modules, in the order a solve uses them: :mod:`.state` (the march state and its allocation),
:mod:`.inputs` (Gaussian inputs with exact empirical moments), :mod:`.response` (estimators of
the response kernel ``M_R``), :mod:`.steps` (the steps of one time step), :mod:`.kernels`
(numba hot loops and the weight-side recursion), :mod:`.march` (the causal march and its typed
output), :mod:`.assemble` (replicates averaged into a :class:`~dmft.core.result.Result`).
"""

from .assemble import solve
from .march import MarchOutput, march

__all__ = ["MarchOutput", "march", "solve"]
