"""Direct N-dimensional simulations of GD/SGD/PSGD/Langevin on the spherical perceptron.

``simulations.simulate(params)`` returns a :class:`dmft.Result` with ``kind = "simulation"``;
see :mod:`simulations.simulate` for what is measured, :mod:`simulations.particles` for the
stepping and :mod:`dmft.selection` for the selection processes ``s_mu(t)``.
"""

from .simulate import simulate

__all__ = ["simulate"]
