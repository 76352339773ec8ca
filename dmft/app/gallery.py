"""The README gallery, produced by the package itself: ``python -m dmft.app.gallery`` draws the
figures of ``docs/gallery/`` from the canonical files in ``data/canonical/``; it is
``python -m dmft.app.reference --parts gallery`` (:mod:`dmft.app.reference`, which also makes the
files and the numbers the docs quote from them).  The phase diagram of the gallery comes from a
scan (see ``docs/gallery/phase-scan.toml``).
"""

from __future__ import annotations

import sys

from .reference import main as reference_main


def main(argv=None) -> int:
    return reference_main(["--parts", "gallery", *(argv or [])])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
