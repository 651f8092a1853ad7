"""Reading only what is a regular file, and never more than a size limit.

A FIFO, a device (``/dev/zero``), a socket, or a symlink to one of them is refused before it is opened:
opening a FIFO for reading blocks until a writer comes, and ``/dev/zero`` never ends. A symlink to a regular
file is followed. Every read here has a byte limit checked against the file's size before reading and again
while reading (the file may grow).

Folder walks (:func:`regular_files_below`) skip such entries and count them, so a study folder holding a FIFO
loads like one holding a stray text file.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from tnbc_desktop.errors import InputError, TnbcError

#: [D] default cap for a text/JSON input the app reads whole (manifests, sidecars, settings, clinical JSON):
#: 64 MiB is far above any real one (a 10,000-row manifest is ~2 MB) and small next to the memory budget.
MAX_TEXT_BYTES = 64 * 1024**2


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def special_file_problem(path: str | Path) -> str | None:
    """None for a regular file (or a symlink to one); else why it is not read, in words."""
    p = Path(path)
    try:
        st = os.stat(p)  # follows symlinks: a link to /dev/zero is a device
    except FileNotFoundError:
        return "does not exist" + (" (a broken symbolic link)" if p.is_symlink() else "")
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISREG(st.st_mode):
        return None
    via = " (through a symbolic link)" if p.is_symlink() else ""
    return f"is {_kind(st.st_mode)}{via}, not a regular file; only regular files are read"


def is_regular_file(path: str | Path) -> bool:
    return special_file_problem(path) is None


def require_regular_file(path: str | Path, error: type[TnbcError] = InputError, what: str = "") -> Path:
    """``path`` if it is a regular file (or a symlink to one), else ``error`` naming it (and ``what`` it was
    meant to be, e.g. "the feature-name list does not exist")."""
    problem = special_file_problem(path)
    if problem is not None:
        raise error(f"{what} {problem}" if what else problem, path)
    return Path(path)


def open_regular(path: str | Path, error: type[TnbcError] = InputError, what: str = "") -> BinaryIO:
    """Open for binary reading without ever blocking: ``O_NONBLOCK`` keeps a FIFO that appeared after the
    check from hanging the open; the opened descriptor is checked to be a regular file."""
    require_regular_file(path, error, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot be opened ({exc.strerror or exc})", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"is {_kind(mode)}, not a regular file; only regular files are read", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def format_size(n: float) -> str:
    """Bytes in words: '812 bytes', '4.0 MB', '1.3 TB' (powers of 1000)."""
    n = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} PB"  # pragma: no cover


def read_bytes_limited(path: str | Path, limit: int = MAX_TEXT_BYTES, error: type[TnbcError] = InputError,
                       what: str = "file") -> bytes:
    """All bytes of a regular file of at most ``limit`` bytes; a larger file is refused unread."""
    with open_regular(path, error, "" if what == "file" else what) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error(f"{what} is {format_size(size)}, over the {format_size(limit)} limit; not read", path)
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot be read ({exc.strerror or exc})", path) from None
    if len(data) > limit:
        raise error(f"{what} is over the {format_size(limit)} limit; not read", path)
    return data


def regular_files_below(folder: str | Path) -> tuple[list[Path], int]:
    """(regular files below ``folder``, sorted, hidden names skipped; number of special entries skipped).

    Symlinks to regular files are kept; symlinked folders are not followed (``os.walk`` default), so a link
    loop cannot make the walk endless."""
    found: list[Path] = []
    skipped = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
            if is_regular_file(p):
                found.append(p)
            else:
                skipped += 1
    return found, skipped
