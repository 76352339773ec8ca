"""Direct N-dimensional simulations of GD/SGD/PSGD/Langevin on the spherical perceptron.

Installed as ``dmft.simulations``.  :func:`simulate` returns a :class:`dmft.Result` with
``kind = "simulation"``; see :mod:`.simulate` for what is measured, :mod:`.particles` for the
stepping and :mod:`dmft.core.selection` for the selection processes ``s_mu(t)``.  Imports only
the shared core (:mod:`dmft.core`).
"""

from .simulate import simulate

__all__ = ["simulate"]
