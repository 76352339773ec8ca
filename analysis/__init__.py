"""Analysis of :class:`dmft.Result` objects (theory or simulation alike).

Installed as ``dmft.analysis``.  Works on results and files only: it imports the shared core
(:mod:`dmft.core`), never the solver, the simulations or the application layer.

* :func:`fit_teff` -- the effective temperature (one definition, ``docs/effective-temperature.md``)
  with its named summary values, the scale-resolved FDT curve (:func:`fdt_curve`) and the
  stationarity test (:func:`check_stationarity`);
* :func:`fit_fdt_line` -- a straight FDT line over a chosen window;
* :func:`boundary_width` -- the width of the decision boundary from the final gaps (SAT);
* :mod:`.figures`, :mod:`.phase_diagram` -- figures and maps.
"""

from .distance import DistanceEstimate, DistanceWarning, long_time_distance
from .fdt_line import FDTLineFit, FDTWarning, fit_fdt_line
from .gaps import BoundaryWidth, boundary_width
from .stationarity import Stationarity, check_stationarity
from .teff import FDTCurve, TeffEstimate, fdt_curve, fit_teff

__all__ = ["BoundaryWidth", "DistanceEstimate", "DistanceWarning", "FDTCurve", "FDTLineFit", "FDTWarning", "Stationarity", "TeffEstimate", "check_stationarity",
           "boundary_width", "fdt_curve", "fit_fdt_line", "fit_teff", "long_time_distance"]
