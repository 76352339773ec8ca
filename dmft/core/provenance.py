"""Provenance recorded in every output file: versions, commit, time, command line."""

from __future__ import annotations

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


def command_line() -> str:
    """The command that is running: ``dmft ...`` for the CLI, else the Python entry point."""
    argv = list(sys.argv) or ["python"]
    if argv and argv[0] in ("", "-c"):
        argv = ["python", "-c", "..."]
    return " ".join(shlex.quote(a) for a in argv)


def stamp(meta: dict) -> dict:
    """Fill the provenance keys of ``meta`` that are not set yet; returns ``meta``."""
    meta.setdefault("package_version", package_version())
    meta.setdefault("git_commit", git_commit())
    meta.setdefault("created_utc", utc_now())
    meta.setdefault("command_line", command_line())
    return meta
