"""A fast header read for the common case: a classic single-frame image in a little-endian transfer syntax.

pydicom parses and converts every element it is asked for through its general machinery (~0.7 ms to parse a
40-element header, ~25 us per value converted); an exam scan asks ~60 values of every file of a 2,000-file
export, which made reading headers cost three times as much as reading the DCE's pixels. This module walks the
elements of such a file with ``struct`` over the bytes before the pixels and converts only the values asked for,
the way pydicom converts them (string VRs split on backslash with their padding removed, binary VRs unpacked,
UN replaced by the dictionary's VR, private VRs from pydicom's private dictionary in implicit VR).

:class:`RawDataset` offers the part of ``pydicom.Dataset`` that
:func:`tnbc_desktop.core.io.dicom_read.headers_from_dataset` reads (``get`` by keyword or tag, ``in``,
attribute access, ``get_item``, ``file_meta.TransferSyntaxUID``, ``original_encoding``), so both routes share
one extraction code. :func:`read_raw_header` returns None for anything else - no preamble, big endian or
deflated, an enhanced / multi-frame image, a character set other than the default, Latin-1 or UTF-8, a VR that
does not match its transfer syntax, or any structural surprise (truncation, impossible lengths) - and the
caller reads that file with pydicom, which names the problem. Both routes give equal headers on every DICOM
file of the shared test data, every synthetic layout and mutated files (tests/test_dicom_raw_header.py).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from pydicom import datadict, uid

from tnbc_desktop.core.io.safe_files import open_regular
from tnbc_desktop.errors import DicomError

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
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
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"))
_VALID_VRS = _LONG_VRS | frozenset((b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO",
                                    b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"))
# how pydicom 3.0 converts a VR's bytes (pydicom.values): DS strips all whitespace first, AE strips each value,
# the other default-character-set strings drop trailing spaces / NULs and split on backslash; SH/LO/UC decode
# with the dataset's character set and split; PN drops trailing spaces / NULs before decoding; ST/LT/UT are one
# value; UR drops trailing whitespace
_DS, _AE, _MULTI_STRING, _TEXT, _PN, _SINGLE_TEXT, _UR = "DS", "AE", "multi", "text", "PN", "single", "UR"
_VR_KIND = {"DS": _DS, "AE": _AE, **dict.fromkeys(("AS", "CS", "DA", "DT", "IS", "TM", "UI"), _MULTI_STRING),
            **dict.fromkeys(("SH", "LO", "UC"), _TEXT), "PN": _PN, **dict.fromkeys(("ST", "LT", "UT"), _SINGLE_TEXT),
            "UR": _UR}
_BINARY = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
# Python codecs of the character sets read here; pydicom reads the default repertoire as iso8859 (= Latin-1)
_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_FIRST_READ = 64 * 1024
_MAX_HEADER_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 16


_VR_NAMES = {vr: vr.decode("ascii") for vr in _VALID_VRS}
_UNSEEN, _ABSENT = object(), object()


class FastRouteDeclined(Exception):
    """This file is not one for the fast route: pydicom reads it."""


@dataclass(frozen=True)
class RawElement:
    """One element as the walk found it: ``VR`` and its ``value`` bytes (what ``get_item`` gives in pydicom)."""

    tag: int
    VR: str
    value: bytes


class _Buffer:
    """The file's first bytes, read further on demand (up to :data:`_MAX_HEADER_BYTES`)."""

    def __init__(self, handle):
        self.handle = handle
        self.data = handle.read(_FIRST_READ)
        self.eof = len(self.data) < _FIRST_READ

    def need(self, end: int) -> None:
        if end <= len(self.data):
            return
        if self.eof or end > _MAX_HEADER_BYTES:
            raise FastRouteDeclined
        more = self.handle.read(max(end - len(self.data), len(self.data)))
        self.data += more
        if len(self.data) < end:
            self.eof = True
            raise FastRouteDeclined


@lru_cache(maxsize=4096)
def _dictionary_vr(tag: int) -> str | None:
    try:
        vr = datadict.dictionary_VR(tag)
    except KeyError:
        return None
    return vr if len(vr) == 2 else "UN"  # 'US or SS' and the like: raw bytes (never read by the extraction)


@lru_cache(maxsize=1024)
def _private_dictionary_vr(tag: int, creator: str) -> str:
    try:
        vr = datadict.private_dictionary_VR(tag, creator)
    except KeyError:
        return "UN"
    return vr if len(vr) == 2 else "UN"


@lru_cache(maxsize=4096)
def keyword_tag(keyword: str) -> int | None:
    return datadict.tag_for_keyword(keyword)


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
        if vr not in _VALID_VRS:
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

    def run(self, pos: int) -> None:
        """Walk the top-level elements from ``pos`` to the pixel data (or the end). The common element is
        parsed inline from the bytes already read; the rest (near the buffer's end, undefined lengths) goes
        through :meth:`element` / :meth:`after`, which read further or decline."""
        buf, implicit, elements = self.buf, self.implicit, self.elements
        unpack = struct.unpack_from
        while True:
            data = buf.data
            if pos + 12 <= len(data):
                if implicit:
                    group, elem, length = unpack("<HHI", data, pos)
                    vr, start = None, pos + 8
                else:
                    group, elem, vr, length = unpack("<HH2sH", data, pos)
                    if vr in _LONG_VRS:
                        length, start = unpack("<I", data, pos + 8)[0], pos + 12
                    elif vr in _VALID_VRS:
                        start = pos + 8
                    else:
                        raise FastRouteDeclined
                tag = group << 16 | elem
            elif buf.eof and pos == len(data):
                return
            else:
                tag, vr, start, length = self.element(pos, implicit)
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
                if end > len(buf.data):
                    buf.need(end)
                elements[tag] = (vr, start, length)
            pos = end


def _meta(buf: _Buffer) -> tuple[str, int]:
    """(transfer syntax, position of the dataset) from the file meta group (explicit VR little endian)."""
    walk = _Walk(buf, implicit=False)
    pos, ts = 132, None
    while True:
        buf.need(pos + 8)
        if struct.unpack_from("<H", buf.data, pos)[0] != 0x0002:
            break
        tag, vr, start, length = walk.element(pos, False)
        if length == _UNDEFINED:
            raise FastRouteDeclined
        buf.need(start + length)
        if tag == 0x00020010:
            ts = buf.data[start:start + length].decode("latin-1").rstrip(" \x00")
        pos = start + length
    if not ts:
        raise FastRouteDeclined
    return ts, pos


class RawHeader:
    """The elements before the pixels of one file, as :func:`read_raw_header` found them."""

    def __init__(self, data: bytes, transfer_syntax: str, implicit: bool, elements: dict, pixel_start: int | None,
                 file_size: int):
        self.data, self.transfer_syntax, self.implicit = data, transfer_syntax, implicit
        self.elements, self.pixel_start, self.file_size = elements, pixel_start, file_size

    def raw_bytes(self, tag: int) -> bytes:
        _, start, length = self.elements[tag]
        return self.data[start:start + length]


def read_raw_header(path: Path) -> RawHeader | None:
    """The header of ``path`` by the fast route, or None when pydicom must read it (see module docstring).
    Never raises: a file that cannot be opened or parsed here is left to pydicom, which says why."""
    try:
        with open_regular(path, DicomError) as handle:
            buf = _Buffer(handle)
            if len(buf.data) < 132 or buf.data[128:132] != b"DICM":
                return None
            ts, pos = _meta(buf)
            if ts not in _LITTLE_ENDIAN_SYNTAXES:
                return None
            implicit = ts == IMPLICIT_LE
            buf.need(pos + 6)
            if implicit and bytes(buf.data[pos + 4:pos + 6]) in _VALID_VRS:
                return None  # written explicit although the meta says implicit: pydicom detects and says so
            walk = _Walk(buf, implicit)
            walk.run(pos)
            size = handle.seek(0, 2)
            header = RawHeader(buf.data, ts, implicit, walk.elements, walk.stop_at, size)
    except (FastRouteDeclined, OSError, DicomError, struct.error, UnicodeDecodeError, ValueError):
        return None
    return header if _is_fast_route_image(header) else None


def _is_fast_route_image(header: RawHeader) -> bool:
    ds = RawDataset(header)
    try:
        if str(ds.get("SOPClassUID", "")) in _MULTI_FRAME_CLASSES:
            return False
        charset = ds.get("SpecificCharacterSet")
        if charset is not None and not isinstance(charset, str):
            return False  # code extensions: pydicom's decoder
        return str(charset or "").strip() in _CHARSETS
    except FastRouteDeclined:
        return False


class RawDataset:
    """The part of ``pydicom.Dataset`` the header extraction reads, over a :class:`RawHeader`."""

    def __init__(self, header: RawHeader):
        self._h = header
        self.file_meta = SimpleNamespace(TransferSyntaxUID=header.transfer_syntax)
        self.original_encoding = (header.implicit, True)
        self._encoding = None
        self._by_keyword: dict[str, object] = {}  # keyword -> converted value (_ABSENT when not there)

    def __len__(self) -> int:
        return len(self._h.elements)

    def __contains__(self, key) -> bool:
        tag = keyword_tag(key) if isinstance(key, str) else _tag(key)
        return tag is not None and tag in self._h.elements

    def __getattr__(self, name: str):
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(name)
        tag = keyword_tag(name)
        if tag is None or tag not in self._h.elements:
            raise AttributeError(name)
        return self._value(tag)

    def get(self, key, default=None):
        """By keyword: the value (as pydicom converts it); by tag (int or (group, element)): a
        :class:`RawElement` with the converted value, as pydicom's ``Dataset.get`` gives a DataElement."""
        if isinstance(key, str):
            value = self._by_keyword.get(key, _UNSEEN)
            if value is _UNSEEN:
                tag = keyword_tag(key)
                value = self._value(tag) if tag in self._h.elements else _ABSENT
                self._by_keyword[key] = value
            return default if value is _ABSENT else value
        tag = _tag(key)
        if tag not in self._h.elements:
            return default
        return RawElement(tag, self._vr(tag), self._value(tag))

    def get_item(self, tag) -> RawElement | None:
        tag = _tag(tag)
        if tag not in self._h.elements:
            return None
        return RawElement(tag, self._vr(tag), self._h.raw_bytes(tag))

    def _vr(self, tag: int) -> str:
        """The VR pydicom would give: as written, else (implicit VR, or UN written) from the dictionaries."""
        written, _, length = self._h.elements[tag]
        if written is not None and written != b"UN":
            return _VR_NAMES[written]
        private = bool(tag >> 16 & 1)
        if written == b"UN":  # pydicom's replace_un_with_known_vr
            if private:
                return self._private_vr(tag)
            return (_dictionary_vr(tag) if 0 <= length < 0xFFFF else None) or "UN"
        vr = _dictionary_vr(tag)
        if vr is not None:
            return vr
        if private:
            return self._private_vr(tag)
        return "UL" if tag & 0xFFFF == 0 else "UN"

    def _private_vr(self, tag: int) -> str:
        element = tag & 0xFFFF
        if 0x0010 <= element <= 0x00FF:
            return "LO"  # a private creator
        creator_tag = (tag & 0xFFFF0000) | element >> 8
        if not element & 0xFF00 or creator_tag not in self._h.elements:
            return "UN"
        creator = self._h.raw_bytes(creator_tag).decode("latin-1").rstrip("\0 ")
        return _private_dictionary_vr(tag, creator) if creator else "UN"

    def _text_encoding(self) -> str:
        if self._encoding is None:
            tag = 0x00080005
            charset = "" if tag not in self._h.elements else self._h.raw_bytes(tag).decode("latin-1").strip(" \x00")
            if charset not in _CHARSETS:
                raise FastRouteDeclined
            self._encoding = _CHARSETS[charset]
        return self._encoding

    def _value(self, tag: int):
        written, start, length = self._h.elements[tag]
        vr = _VR_NAMES[written] if written is not None and written != b"UN" else self._vr(tag)
        if length < 0 or vr == "SQ":
            raise FastRouteDeclined  # a sequence: the classic header extraction never reads one
        raw = self._h.data[start:start + length]
        kind = _VR_KIND.get(vr)
        if kind is _MULTI_STRING or kind is _DS:
            text = raw.decode("latin-1")
            values = (text.strip() if kind is _DS else text).rstrip(" \x00").split("\\")
            return values[0] if len(values) == 1 else values
        if kind is _TEXT or kind is _PN or kind is _AE:
            if kind is _PN:
                raw = raw.rstrip(b"\x00 ")
            text = raw.decode("latin-1") if kind is _AE else raw.decode(self._text_encoding(), "replace")
            values = text.split("\\")
            if kind is not _PN:
                values = [v.strip() if kind is _AE else v.rstrip("\0 ") for v in values]
            return values[0] if len(values) == 1 else values
        if kind is _SINGLE_TEXT:
            return raw.decode(self._text_encoding(), "replace").rstrip("\0 ")
        if kind is _UR:
            return raw.decode("latin-1").rstrip()
        fmt = _BINARY.get(vr)
        if fmt is not None:
            size = struct.calcsize(fmt)
            if len(raw) % size:
                raise FastRouteDeclined
            values = struct.unpack(f"<{len(raw) // size}{fmt}", raw)
            if not values:
                return ""
            return values[0] if len(values) == 1 else list(values)
        return raw


def _tag(key) -> int:
    if isinstance(key, tuple):
        return key[0] << 16 | key[1]
    return int(key)
