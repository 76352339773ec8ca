"""The application layer: the public entry point (:mod:`.api`), the resumable task runner
(:mod:`.runner`), scans (:mod:`.scan`), the command line (:mod:`.cli`), the demo and the
study scripts (:mod:`.studies`).  The only layer that imports both methods and the analysis."""
