"""The scan folder's manifest ``DIR/scan.json`` (``docs/conventions.md`` section 6).

Written by the scan runner, read by the phase diagrams: the configuration (``mode``, ``base``,
``axes``) and, per result file, its kind and the values of the scanned axes.  Kept in the core
so that analysis can read a scan folder without importing the application layer.
"""

from __future__ import annotations

import json
import os

from .inputfiles import InputFileError, read_text
from .outputs import write_atomic

MANIFEST = "scan.json"
#: the types an axis value may have (a point of the grid is one value per axis)
SCALARS = (bool, int, float, str)


class ManifestError(ValueError):
    """A missing or malformed ``scan.json``."""


def write_manifest(folder: str, manifest: dict) -> str:
    """Write ``manifest`` to ``folder/scan.json`` atomically; returns the path."""
    text = json.dumps(manifest, indent=1, default=float)
    return write_atomic(os.path.join(folder, MANIFEST), text.encode())


def load_manifest(folder: str) -> dict:
    """The manifest of a scan folder, checked for the keys and types the readers use."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.lexists(path):
        raise ManifestError(f"'{folder}' has no {MANIFEST}: not a scan folder")
    try:
        manifest = json.loads(read_text(path, MANIFEST))
    except (InputFileError, FileNotFoundError) as exc:
        raise ManifestError(str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"cannot read '{path}': {str(exc)[:200]}") from None
    ok = (isinstance(manifest, dict) and isinstance(manifest.get("axes"), dict)
          and isinstance(manifest.get("files"), list)
          and isinstance(manifest.get("base", {}), dict)
          and all(isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("kind"), str)
                  and isinstance(e.get("coords"), dict) for e in manifest["files"]))
    if not ok:
        raise ManifestError(f"'{path}' is not a scan manifest (expected axes, files with file/kind/coords)")
    for name, values in manifest["axes"].items():
        if not isinstance(values, list) or not all(isinstance(v, SCALARS) for v in values):
            raise ManifestError(f"'{path}': axis '{name}' is not a list of numbers, strings or booleans "
                                f"(got {str(values)[:80]})")
    return manifest
