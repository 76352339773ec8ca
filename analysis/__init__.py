"""Analysis of :class:`dmft.Result` objects (theory or simulation alike).

Installed as ``dmft.analysis``.  Works on results and files only: it imports the shared core
(:mod:`dmft.core`), never the solver, the simulations or the application layer.
"""

from .teff import TeffFit, fit_teff

__all__ = ["TeffFit", "fit_teff"]
