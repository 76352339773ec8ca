"""Analysis of :class:`dmft.Result` objects (theory or simulation alike)."""

from .teff import TeffFit, fit_teff

__all__ = ["TeffFit", "fit_teff"]
