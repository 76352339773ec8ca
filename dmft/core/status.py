"""How a run ended: an enumeration shared by the solver, the simulations and the files.

``Status`` is a ``str`` enumeration, so ``result.status == "ok"`` holds and the file attribute
``status`` is the plain value.  A run that did not end ``OK`` also carries a message in
``result.meta["message"]`` saying where and why.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """Final state of a run (the ``status`` attribute of a result file)."""

    #: every step was computed and every observable is finite
    OK = "ok"
    #: the run blew up (non-finite or runaway values); observables are NaN from that time on
    DIVERGED = "diverged"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @classmethod
    def parse(cls, value) -> "Status":
        """The status of a stored value; ``ValueError`` naming the known ones otherwise."""
        try:
            return cls(str(value))
        except ValueError:
            known = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown status {value!r} (known: {known})") from None


_DESCRIPTIONS = {
    Status.OK: "finished: every step was computed",
    Status.DIVERGED: "diverged: the dynamics blew up; observables are NaN from the divergence on",
}
