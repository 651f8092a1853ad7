"""A fast header read for the common case: a classic single-frame image in a little-endian transfer syntax.

pydicom parses and converts every element it is asked for through its general machinery (~0.7 ms to parse a
40-element header, ~25 us per value converted); an exam scan asks ~60 values of every file of a 2,000-file
export, which made reading headers cost three times as much as reading the DCE's pixels. This module walks the
elements of such a file with ``struct`` over the bytes before the pixels and notes where each value lies;
:class:`~tnbc_desktop.core.io.dicom_raw_dataset.RawDataset` converts only the values the extraction asks for,
the way pydicom converts them, so both routes share one extraction code.

:func:`read_raw_header` returns None for anything else - no preamble, big endian or deflated, an enhanced /
multi-frame image, a character set other than the default, Latin-1 or UTF-8, a VR that does not match its
transfer syntax, or any structural surprise (truncation, impossible lengths) - and the caller reads that file
with pydicom, which names the problem. Both routes give equal headers on every DICOM file of the shared test
data, every synthetic layout and mutated files (tests/test_dicom_raw_header.py).
"""
from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

from pydicom import uid


IMPLICIT_LE = "1.2.840.10008.1.2"
# every transfer syntax pydicom knows whose dataset is little endian and not deflated (native or encapsulated
# pixels: the walk stops before them); an unknown one is pydicom's to guess
_LITTLE_ENDIAN_SYNTAXES = frozenset(str(t) for t in uid.AllTransferSyntaxes if t.is_little_endian and not t.is_deflated)
_MULTI_FRAME_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
}
_STOP_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # float / double float / pixel data: pydicom stops there too
_FUNCTIONAL_GROUPS = (0x52009229, 0x52009230)
_FIRST_SPECIAL_TAG = min(*_STOP_TAGS, *_FUNCTIONAL_GROUPS)  # below it, no tag needs a second look
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"))
VALID_VRS = _LONG_VRS | frozenset((b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO",
                                    b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"))
# Python codecs of the character sets read here; pydicom reads the default repertoire as iso8859 (= Latin-1)
CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
# as safe_files.open_regular opens: never blocking on a FIFO that appeared after the caller's check
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_FIRST_READ = 64 * 1024
_MAX_HEADER_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 16


class FastRouteDeclined(Exception):
    """This file is not one for the fast route: pydicom reads it."""


class _Buffer:
    """The file's first bytes, read further on demand (up to :data:`_MAX_HEADER_BYTES`), from an open
    descriptor (plain ``os.read``: no buffered file object for the few reads a header needs)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.data = os.read(fd, _FIRST_READ)
        self.eof = len(self.data) < _FIRST_READ

    def need(self, end: int) -> None:
        if end <= len(self.data):
            return
        if self.eof or end > _MAX_HEADER_BYTES:
            raise FastRouteDeclined
        while len(self.data) < end:
            more = os.read(self.fd, max(end - len(self.data), len(self.data)))
            if not more:
                self.eof = True
                raise FastRouteDeclined
            self.data += more


class _Walk:
    """Element walk of one dataset; ``elements``: top-level tag -> (VR as written or None, value start, length)."""

    def __init__(self, buf: _Buffer, implicit: bool):
        self.buf, self.implicit = buf, implicit
        self.elements: dict[int, tuple[bytes | None, int, int]] = {}  # VR as written (None: implicit)
        self.stop_at: int | None = None  # where the pixel data element starts

    def element(self, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
        """(tag, VR bytes or None, value start, length) of the element at ``pos``."""
        buf = self.buf
        buf.need(pos + 8)
        data = buf.data
        group, elem = struct.unpack_from("<HH", data, pos)
        tag = group << 16 | elem
        if implicit or group == 0xFFFE:
            return tag, None, pos + 8, struct.unpack_from("<I", data, pos + 4)[0]
        vr = bytes(data[pos + 4:pos + 6])
        if vr not in VALID_VRS:
            raise FastRouteDeclined
        if vr in _LONG_VRS:
            buf.need(pos + 12)
            return tag, vr, pos + 12, struct.unpack_from("<I", buf.data, pos + 8)[0]
        return tag, vr, pos + 8, struct.unpack_from("<H", data, pos + 6)[0]

    def skip_sequence(self, pos: int, implicit: bool, depth: int) -> int:
        """Position after an undefined-length sequence whose first item starts at ``pos``."""
        if depth > _MAX_DEPTH:
            raise FastRouteDeclined
        while True:
            tag, _, start, length = self.element(pos, True)
            if tag == _SEQUENCE_END:
                return start
            if tag != _ITEM:
                raise FastRouteDeclined
            pos = self.skip_item(start, implicit, depth) if length == _UNDEFINED else start + length

    def skip_item(self, pos: int, implicit: bool, depth: int) -> int:
        while True:
            tag, vr, start, length = self.element(pos, implicit)
            if tag == _ITEM_END:
                return start
            pos = self.after(vr, start, length, implicit, depth + 1)

    def after(self, vr: bytes | None, start: int, length: int, implicit: bool, depth: int) -> int:
        if length != _UNDEFINED:
            return start + length
        if vr not in (None, b"SQ", b"UN"):
            raise FastRouteDeclined
        return self.skip_sequence(start, implicit or vr == b"UN", depth)

    def run(self, pos: int, only_group: int | None = None) -> None:
        """Walk the top-level elements from ``pos`` to the pixel data (or the end; or, with ``only_group``, to
        the first element of another group). The common element is parsed inline from the bytes already read;
        the rest (near the buffer's end, undefined lengths) goes through :meth:`element` / :meth:`after`,
        which read further or decline."""
        buf, implicit, elements = self.buf, self.implicit, self.elements
        unpack = struct.unpack_from
        group_limit = -1 if only_group is None else only_group
        data = buf.data
        size = len(data)
        while True:
            if pos + 12 <= size:
                if implicit:
                    group, elem, length = unpack("<HHI", data, pos)
                    vr, start = None, pos + 8
                else:
                    group, elem, vr, length = unpack("<HH2sH", data, pos)
                    if group_limit >= 0 and group != group_limit:
                        self.stop_at = pos  # before the VR check: the dataset may be implicit VR
                        return
                    if vr in _LONG_VRS:
                        length, start = unpack("<I", data, pos + 8)[0], pos + 12
                    elif vr in VALID_VRS:
                        start = pos + 8
                    else:
                        raise FastRouteDeclined
                tag = group << 16 | elem
            elif buf.eof and pos == size:
                return
            else:
                buf.need(pos + 2)
                if group_limit >= 0 and unpack("<H", buf.data, pos)[0] != group_limit:
                    self.stop_at = pos
                    return
                tag, vr, start, length = self.element(pos, implicit)
            if tag >= _FIRST_SPECIAL_TAG:
                if tag in _STOP_TAGS:
                    self.stop_at = pos
                    return
                if tag in _FUNCTIONAL_GROUPS:
                    raise FastRouteDeclined  # enhanced multi-frame: pydicom reads the functional groups
            if length == _UNDEFINED:
                end = self.after(vr, start, length, implicit, 0)
                elements[tag] = (vr, start, -1)
            else:
                end = start + length
                if end > size:
                    buf.need(end)
                elements[tag] = (vr, start, length)
            if len(buf.data) != size:
                data = buf.data
                size = len(data)
            pos = end


def _meta(buf: _Buffer) -> tuple[str, int]:
    """(transfer syntax, position of the dataset) from the file meta group (explicit VR little endian)."""
    walk = _Walk(buf, implicit=False)
    walk.run(132, only_group=0x0002)
    if 0x00020010 not in walk.elements or walk.stop_at is None:
        raise FastRouteDeclined
    _, start, length = walk.elements[0x00020010]
    return buf.data[start:start + max(length, 0)].decode("latin-1").rstrip(" \x00"), walk.stop_at


class RawHeader:
    """The elements before the pixels of one file, as :func:`read_raw_header` found them."""

    def __init__(self, data: bytes, transfer_syntax: str, implicit: bool, elements: dict, pixel_start: int | None,
                 file_size: int):
        self.data, self.transfer_syntax, self.implicit = data, transfer_syntax, implicit
        self.elements, self.pixel_start, self.file_size = elements, pixel_start, file_size

    def raw_bytes(self, tag: int) -> bytes:
        _, start, length = self.elements[tag]
        return self.data[start:start + length]

    def text(self, tag: int) -> str:
        """A short default-character-set value (UI, CS) as text; '' when absent."""
        return self.raw_bytes(tag).decode("latin-1").rstrip(" \x00") if tag in self.elements else ""


def read_raw_header(path: Path) -> RawHeader | None:
    """The header of ``path`` by the fast route, or None when pydicom must read it (see module docstring).
    Never raises: a file that cannot be opened or parsed here is left to pydicom, which says why."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, TypeError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None  # a FIFO or device: never read (the full route says so)
        buf = _Buffer(fd)
        if len(buf.data) < 132 or buf.data[128:132] != b"DICM":
            return None
        ts, pos = _meta(buf)
        if ts not in _LITTLE_ENDIAN_SYNTAXES:
            return None
        implicit = ts == IMPLICIT_LE
        buf.need(pos + 6)
        if implicit and bytes(buf.data[pos + 4:pos + 6]) in VALID_VRS:
            return None  # written explicit although the meta says implicit: pydicom detects and says so
        walk = _Walk(buf, implicit)
        walk.run(pos)
        header = RawHeader(buf.data, ts, implicit, walk.elements, walk.stop_at, info.st_size)
    except (FastRouteDeclined, OSError, struct.error, UnicodeDecodeError, ValueError):
        return None
    finally:
        os.close(fd)
    return header if _is_fast_route_image(header) else None


def _is_fast_route_image(header: RawHeader) -> bool:
    """Not an enhanced / multi-frame class; a character set this route decodes (one value: no code
    extensions, which need pydicom's decoder)."""
    if header.text(0x00080016) in _MULTI_FRAME_CLASSES:
        return False
    charset = header.text(0x00080005)
    return "\\" not in charset and charset.strip() in CHARSETS
