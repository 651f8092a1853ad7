"""Atomic file writes: temp file in the target folder, fsync, os.replace, fsync of the folder.

A reader of the target path sees either the previous complete file or the new complete file, never a
partial one, even if the process is killed mid-write. Failures raise :class:`OutputError` naming the path
and leave any previous file intact.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from tnbc_desktop.errors import OutputError

_TMP_PREFIX = ".tnbc-tmp-"


def _default_mode() -> int:
    """Permissions a plain ``open()`` would give (0o666 minus the umask); mkstemp alone gives 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported (e.g. Windows); the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _explain(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable (permission denied or read-only)"
    if exc.errno == errno.ENOENT:
        return "the folder does not exist"
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``."""
    target = Path(path)
    if "r" in mode or "a" in mode:
        raise ValueError("atomic_open is for writing whole files only")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write here: {_explain(exc)}", target) from exc
    tmp = Path(tmp_name)
    ok = False
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(tmp, _default_mode())
        except OSError:
            pass  # e.g. filesystems without POSIX modes; the file is still complete
        os.replace(tmp, target)
        _fsync_dir(folder)
        ok = True
    except OSError as exc:
        raise OutputError(f"could not be written: {_explain(exc)}; any previous file is unchanged", target) from exc
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                tmp.unlink()


def set_aside(path: str | Path, tag: str = "corrupt") -> Path:
    """Rename an unreadable file to ``<name>.<tag>-<YYYYmmdd-HHMMSS>[-n]`` beside it (kept for the user)."""
    import time

    path = Path(path)
    stem = f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}"
    aside, n = path.with_name(stem), 1
    while aside.exists():
        aside, n = path.with_name(f"{stem}-{n}"), n + 1
    path.replace(aside)
    return aside


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_with_atomic(path: str | Path, writer: Callable[[IO], None]) -> Path:
    """Call ``writer(binary_handle)`` on a temp file, then move it to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        writer(handle)
    return Path(path)
