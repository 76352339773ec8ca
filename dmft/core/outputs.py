"""Output files: what may be written where, and writing it whole or not at all.

Every file the package writes (result files, ``scan.json``, figures, tables) is a regular file
written by :func:`write_atomic`: the bytes go to a temporary file in the same folder, are flushed
to the disk (``fsync``) and the temporary file is renamed onto the path (``os.replace``).  A full
disk, a file-size limit or a kill therefore leaves the previous file (or none) and no temporary
file; the failure is a :class:`WriteError` (an ``OSError``) naming the path.

:func:`check_output` refuses (:class:`OutputPathError`), before any computation, a path that
cannot become such a file: an empty name, a folder, a path inside a file, a device, a FIFO or a
socket, a folder without write permission, a suffix the writer does not support, and a
**symbolic link**: replacing the link would silently cut it and writing through it would change a
file elsewhere, so the user is asked for the path of the file itself.  :func:`write_atomic` runs
the same check again at the moment of writing.
"""

from __future__ import annotations

import os
import stat
import tempfile


class OutputPathError(ValueError):
    """An output path that cannot become a regular file (the CLI exits with status 2)."""


class WriteError(OSError):
    """Writing an output failed (disk full, file-size limit, ...); the CLI exits with status 1."""


_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def check_output(path, suffixes=None) -> str:
    """``path`` as a string if a regular file may be written there, else :class:`OutputPathError`.

    ``suffixes``: the accepted extensions (without the dot, lower case), or None for any."""
    path = os.fspath(path)
    if path == "":
        raise OutputPathError("the output path is empty")
    if os.path.islink(path):
        raise OutputPathError(f"output '{path}' is a symbolic link (to '{os.readlink(path)}'); "
                              "give the path of the file itself")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise OutputPathError(f"output '{path}' is a folder, expected a file name")
    if os.path.lexists(path):
        mode = os.stat(path).st_mode
        for test, name in _SPECIAL:
            if test(mode):
                raise OutputPathError(f"output '{path}' is {name}, not a regular file")
    if suffixes is not None:
        suffix = os.path.splitext(path)[1].lstrip(".").lower()
        if suffix not in suffixes:
            raise OutputPathError(f"output '{path}': unsupported extension '.{suffix}' "
                                  f"(use one of {', '.join('.' + s for s in suffixes)})")
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise OutputPathError(f"cannot write '{path}': '{ancestor}' is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write '{path}': folder '{ancestor}' is not writable")
    return path


def write_atomic(path, data: bytes) -> str:
    """Write ``data`` to the regular file ``path`` atomically; returns the path.

    :class:`OutputPathError` for a path :func:`check_output` refuses; :class:`WriteError` when the
    write fails (nothing is left behind: the old file, if any, stays as it was)."""
    path = check_output(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        error = WriteError(f"cannot write '{path}': {exc.strerror or exc}")
        error.errno = exc.errno
        raise error from None
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass
    return path


def link_atomic(source, path) -> str:
    """Give the regular file ``source`` a second name ``path`` (a hard link: written once, two
    names), atomically: the link is made under a temporary name in the folder of ``path`` and
    renamed onto it.  Where a hard link cannot be made (another file system), the bytes are
    copied with :func:`write_atomic`.  Refused like :func:`write_atomic`; returns the path."""
    path = check_output(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.link.tmp")
    try:
        os.link(source, tmp)
    except OSError:
        with open(source, "rb") as fh:
            return write_atomic(path, fh.read())
    try:
        os.replace(tmp, path)
    except OSError as exc:
        os.remove(tmp)
        raise WriteError(f"cannot write '{path}': {exc.strerror or exc}") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
