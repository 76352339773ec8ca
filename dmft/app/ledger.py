"""A study's ledger: the summaries of its finished measurements, small enough to commit.

A study caches every measurement as a result file ``<output>/runs/<key>.h5`` (the correlation
and response functions of each try: megabytes a point, ignored by git).  A machine without that
cache would compute every point again, hours of it for a dense study.  The ledger keeps, for each
finished measurement, what the study's tables and figures read from it (the values with their
errors, the status and its reason, the final horizon, the repetitions, the compute time, the
final point's settings) as one small JSON file ``<output>/ledger/<key>.json``; a study reads a
point from its result file where there is one and from the ledger otherwise, and runs only the
points that neither holds.

Each record says where it came from (``source``: the result file it was read from, or how it
was recovered) and carries the marker :data:`MARK`; the ledger writes only such files (atomically,
:func:`~dmft.core.outputs.write_atomic`) and refuses to replace a file that lacks the marker.
Floats are stored with ``repr``'s precision; NaN (no value) as ``null``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from ..core.outputs import write_atomic

#: the key every ledger record carries (its value: the record format)
MARK = "dmft-ledger"
VERSION = 1


class LedgerError(ValueError):
    """A ledger file that the ledger did not write, or that it cannot read."""


def _plain(x):
    """``x`` with NaN and infinities as ``None`` (JSON has neither), tuples as lists."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


@dataclass(frozen=True)
class Ledger:
    """The ledger in ``folder`` (created on the first write)."""

    folder: str

    def path(self, key: str) -> str:
        if not key or os.sep in key or key.startswith("."):
            raise LedgerError(f"not a ledger key: {key!r}")
        return os.path.join(self.folder, f"{key}.json")

    def read(self, key: str) -> dict | None:
        """The record of ``key`` (without the marker), ``None`` where there is none."""
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                record = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise LedgerError(f"{path}: not a readable ledger record ({err})") from None
        if not isinstance(record, dict) or record.get(MARK) != VERSION:
            raise LedgerError(f"{path}: not a ledger record (no {MARK!r} marker)")
        return {k: v for k, v in record.items() if k != MARK}

    def write(self, key: str, record: dict) -> bool:
        """Store ``record`` (JSON-able; NaN becomes ``null``) as the record of ``key``; returns
        whether the file changed (an equal record is not rewritten).  Refuses
        (:class:`LedgerError`) to replace a file the ledger did not write."""
        plain = _plain(dict(record))
        old = self.read(key)       # raises for a file that is not a ledger record
        if old == plain:
            return False
        text = json.dumps({MARK: VERSION, **plain}, indent=1, sort_keys=True) + "\n"
        write_atomic(self.path(key), text.encode())
        return True

    def check(self) -> int:
        """Read every record in the ledger (before a study computes anything); returns their
        number.  Raises :class:`LedgerError`, naming the first, for a ``.json`` file in the folder
        that is not a readable ledger record: the study stops before it writes anything rather
        than after hours of computing, and the file is left as it is."""
        keys = self.keys()
        for key in keys:
            self.read(key)
        return len(keys)

    def keys(self) -> list:
        """The keys of the records in the ledger, sorted."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return sorted(n[:-5] for n in names if n.endswith(".json") and not n.startswith("."))


__all__ = ["Ledger", "LedgerError", "MARK"]
