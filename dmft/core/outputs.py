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
file elsewhere, so the user is asked for the path of the file itself.  A **write-protected** file
(no write permission for the user, or no write bit at all, as ``chmod 444`` leaves it) is refused
rather than replaced, as ``cp`` refuses it.  The path is checked as the system resolves it, never
textually (``a/missing/../o.h5`` goes through the missing folder ``a/missing``), and so are the
lengths of every name, the temporary file's included.  With ``probe`` the folder is also tried
for real (a temporary file, or folder, is created and removed at once), which finds read-only
and pseudo file systems (``/proc``, ``/sys``).  :func:`write_atomic` runs the same check
(without the probe) again at the moment of writing.
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


#: characters :func:`write_atomic` adds to a file's name for its temporary file
#: (``.NAME.XXXXXXXX.tmp``)
TEMPORARY_EXTRA = len(".") + len(".XXXXXXXX.tmp")
#: longest path the system takes (Linux ``PATH_MAX``, the terminating zero included)
PATH_MAX = 4096


def _temporary_prefix(name: str) -> str:
    return "." + name + "."


def check_output(path, suffixes=None, probe: bool = False) -> str:
    """``path`` as a string if a regular file may be written there, else :class:`OutputPathError`.

    ``suffixes``: the accepted extensions (without the dot, lower case), or None for any.
    ``probe``: also create and remove a temporary file (or folder) where the file will go."""
    path = os.fspath(path)
    if path == "":
        raise OutputPathError("the output path is empty")
    if os.path.islink(path):
        raise OutputPathError(f"output '{path}' is a symbolic link (to '{os.readlink(path)}'); "
                              "give the path of the file itself")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise OutputPathError(f"output '{path}' is a folder, expected a file name")
    if os.path.lexists(path):
        st = os.stat(path)
        for test, name in _SPECIAL:
            if test(st.st_mode):
                raise OutputPathError(f"output '{path}' is {name}, not a regular file")
        if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise OutputPathError(f"output '{path}' is write-protected (mode {stat.filemode(st.st_mode)}); "
                                  "remove it or make it writable first, or choose another name")
    if suffixes is not None:
        suffix = os.path.splitext(path)[1].lstrip(".").lower()
        if suffix not in suffixes:
            raise OutputPathError(f"output '{path}': unsupported extension '.{suffix}' "
                                  f"(use one of {', '.join('.' + s for s in suffixes)})")
    folder, name = os.path.split(path)
    head, missing = _existing_folder(path, folder or os.curdir)
    _check_name(path, name, head, TEMPORARY_EXTRA, "its temporary file's name")
    if len(os.fsencode(os.path.abspath(path))) + TEMPORARY_EXTRA >= PATH_MAX:
        raise OutputPathError(f"cannot write '{path}': the path of its temporary file would be longer than "
                              f"{PATH_MAX} bytes")
    if probe:
        _probe(path, head, missing, _temporary_prefix(name))
    return path


def check_output_folder(path, probe: bool = True) -> str:
    """``path`` as a string if it is a folder files may be written into, or a folder that can be
    created (with the missing folders above it), else :class:`OutputPathError`; ``probe`` as in
    :func:`check_output`."""
    path = os.fspath(path)
    if path == "":
        raise OutputPathError("the output folder name is empty")
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputPathError(f"output '{path}' exists and is not a folder")
    head, missing = _existing_folder(path, path)
    if probe:
        _probe(path, head, missing, ".dmft-probe.")
    return path


def _check_name(path: str, name: str, folder: str, extra: int = 0, what: str = "") -> None:
    """:class:`OutputPathError` when ``name`` (plus ``extra`` bytes) is longer than the file
    system of ``folder`` allows."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    length = len(os.fsencode(name)) + extra
    if length > limit:
        what = what or f"the name '{name}'"
        raise OutputPathError(f"cannot write '{path}': {what} would be {length} bytes long, more than the "
                              f"{limit} this file system allows")


def _existing_folder(path: str, folder: str) -> tuple:
    """(the nearest existing folder at or above ``folder``, the missing names below it, top
    first), as the system resolves the path (no textual normalisation); the missing folders
    must be creatable names, never ``..``, and the existing one writable."""
    missing = []
    head = folder
    while not os.path.lexists(head):
        head, tail = os.path.split(head)
        if tail:
            missing.insert(0, tail)
        head = head or os.curdir
    if not os.path.isdir(head):
        raise OutputPathError(f"cannot write '{path}': '{head}' is not a folder")
    if any(part in (os.curdir, os.pardir) for part in missing):
        raise OutputPathError(f"cannot write '{path}': it goes through the missing folder "
                              f"'{os.path.join(head, missing[0])}'")
    for part in missing:
        _check_name(path, part, head)
    if not os.access(head, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write '{path}': folder '{head}' is not writable")
    return head, missing


def _probe(path: str, head: str, missing: list, prefix: str) -> None:
    """Create and remove, in the existing folder ``head``, a temporary file named with
    ``prefix`` (or, when folders are ``missing``, a folder): what the write will do there."""
    try:
        if missing:
            os.rmdir(tempfile.mkdtemp(prefix=".dmft-probe.", dir=head))
        else:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=head)
            os.close(fd)
            os.remove(tmp)
    except OSError as exc:
        raise OutputPathError(f"cannot write '{path}': {exc.strerror or exc} (in '{head}')") from None


def write_atomic(path, data: bytes, before_replace=None) -> str:
    """Write ``data`` to the regular file ``path`` atomically; returns the path.

    :class:`OutputPathError` for a path :func:`check_output` refuses; :class:`WriteError` when the
    write fails (nothing is left behind: the old file, if any, stays as it was).
    ``before_replace()``, when given, is called just before the rename; an exception from it
    leaves nothing behind and propagates (the scan runner checks there that its run still owns
    the folder)."""
    path = check_output(path)
    folder = os.path.dirname(path) or os.curdir   # as the system resolves it
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(os.path.basename(path)), suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        if before_replace is not None:
            before_replace()
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
