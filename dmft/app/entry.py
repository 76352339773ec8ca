"""The ``dmft`` program (also ``python -m dmft``): prepares the process, then runs the command
line (:func:`dmft.app.cli.main`).

Before the numerical libraries are imported:

* a standard stream that is closed (``2>&-``) is opened on ``/dev/null``, so that the run goes
  on (its notes are lost) and no file the program opens can become its stdout or stderr;
* text the terminal's encoding cannot hold (``PYTHONIOENCODING=ascii``) is written with
  backslash escapes instead of failing after the work is done;
* ``NUMBA_NUM_THREADS``, when set, must be a positive integer (exit 2, one line).

A failure to load the libraries (an address-space limit, ``ulimit -v``, too small for numba and
LLVM) is one line and exit 1, as is a report that cannot be written (stdout on a full disk).
"""

from __future__ import annotations

import os
import sys

from ..core.resources import memory_limit_note

#: exit statuses (as dmft.app.cli's)
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _open_closed_streams() -> None:
    """Open ``/dev/null`` on each of the file descriptors 0, 1, 2 that is closed."""
    for fd, mode, name in ((0, os.O_RDONLY, "stdin"), (1, os.O_WRONLY, "stdout"), (2, os.O_WRONLY, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, mode)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))


def _escape_unencodable() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def _numba_threads_error() -> str | None:
    value = os.environ.get("NUMBA_NUM_THREADS")
    if value is None:
        return None
    try:
        if int(value) >= 1:
            return None
    except ValueError:
        pass
    return f"environment variable NUMBA_NUM_THREADS={value!r} must be a positive integer"


def _flush_stdout() -> int:
    """Flush stdout; on failure one line and :data:`EXIT_FAILURE` (stdout then points to
    ``/dev/null``, so that the interpreter's own last flush is silent)."""
    try:
        sys.stdout.flush()
        return 0
    except OSError as exc:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
        print(f"dmft: error: cannot write the output to stdout: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE


def main(argv=None) -> int:
    """Run ``dmft`` with ``argv`` (default: the process's arguments); returns the exit status."""
    _open_closed_streams()
    _escape_unencodable()
    problem = _numba_threads_error()
    if problem:
        print(f"dmft: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    note = memory_limit_note()   # worked out before the libraries take the memory
    try:
        from .cli import main as cli_main
    except (ImportError, OSError, MemoryError) as exc:
        text = (str(exc).splitlines() or [type(exc).__name__])[0].split(". ")[0][:160]
        print(f"dmft: error: cannot load the numerical libraries{note}: {text}", file=sys.stderr)
        return EXIT_FAILURE
    status = cli_main(argv)
    return _flush_stdout() or status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
