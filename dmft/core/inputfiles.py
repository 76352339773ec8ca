"""Reading the small text files a user names (a scan configuration, a scan folder's
``scan.json``): regular files only, opened without blocking, of bounded size, decoded as UTF-8.

A FIFO, a device or a folder in their place is refused at once (opening a FIFO for reading
would wait for a writer for ever), as the result-file reader refuses them.
"""

from __future__ import annotations

import os
import stat

#: largest text file read (a scan configuration is a few hundred bytes)
MAX_BYTES = 16 * 2**20


class InputFileError(ValueError):
    """A file that cannot be read as the text it should be (the CLI exits with status 2)."""


def read_text(path, what: str = "file") -> str:
    """The contents of the regular file ``path`` as text; :class:`InputFileError` (naming ``what``
    and the path) when it is missing, not a regular file, larger than :data:`MAX_BYTES`,
    unreadable or not UTF-8; ``FileNotFoundError`` is raised as such for a missing file."""
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputFileError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(f"cannot read {what} '{path}': not a regular file")
        if st.st_size > MAX_BYTES:
            raise InputFileError(f"cannot read {what} '{path}': {st.st_size} bytes, more than {MAX_BYTES}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"cannot read {what} '{path}': not UTF-8 text (byte {exc.start})") from None
