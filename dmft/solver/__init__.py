"""Discrete-time DMFT solver of SGD on the spherical perceptron (see docs/dmft-derivation.md).

Modules: :mod:`dmft.selection` (selection processes s(t), shared with the simulations), :mod:`.kernels` (numba hot loops and the
deterministic weight-side recursion), :mod:`.process` (causal march of the effective pattern
process), :mod:`.solve` (assembles the :class:`~dmft.result.Result`).
"""

from .solve import solve

__all__ = ["solve"]
