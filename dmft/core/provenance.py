"""Provenance recorded in every output file: versions, commit, time, command line."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import importlib.metadata
import os
import shlex
import subprocess
import sys

#: name of the installed distribution
DISTRIBUTION = "sgd-dmft"


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    """Version of the installed package (``pyproject.toml`` is the one place it is written)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
        return "unknown"


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Commit of the source tree the package runs from (``unknown`` outside a checkout)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "-C", here, "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


#: the ``dmft ...`` command being run, set by the command line for the time of one command
_CLI_COMMAND: list = []


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot hold (the undecodable bytes of a file name, kept by Python
    as surrogates) written as backslash escapes: any string can then be stored in a file."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@contextlib.contextmanager
def cli_command(text: str):
    """Inside the block, files record ``text`` (``dmft solve ...``) as their command line."""
    _CLI_COMMAND.append(printable(text))
    try:
        yield
    finally:
        _CLI_COMMAND.pop()


def command_line() -> str:
    """What is running: ``dmft ...`` inside the command line (:func:`cli_command`), else
    ``python: <script> [args] (API)``: a Python program calling the library, named as such."""
    if _CLI_COMMAND:
        return _CLI_COMMAND[-1]
    argv = list(sys.argv) or [""]
    script = os.path.basename(argv[0])
    if script in ("", "-c"):
        entry = "interactive session" if script == "" else "-c ..."
    elif "ipykernel" in script:
        entry = "Jupyter kernel"
    else:
        entry = " ".join(shlex.quote(a) for a in [script] + argv[1:])
    return printable(f"python: {entry} (API)")


def stamp(meta: dict) -> dict:
    """Fill the provenance keys of ``meta`` that are not set yet; returns ``meta``."""
    meta.setdefault("package_version", package_version())
    meta.setdefault("git_commit", git_commit())
    meta.setdefault("created_utc", utc_now())
    meta.setdefault("command_line", command_line())
    return meta
