"""``python -m dmft``: the command line (:mod:`dmft.app.entry`)."""

import sys

from .app.entry import main

sys.exit(main())
