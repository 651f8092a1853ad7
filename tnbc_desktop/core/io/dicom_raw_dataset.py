"""The part of ``pydicom.Dataset`` the header extraction reads, over a fast-route :class:`RawHeader`.

:class:`RawDataset` answers ``get`` by keyword (the value) or tag (an element), ``in``, attribute access,
``get_item``, ``file_meta.TransferSyntaxUID`` and ``original_encoding`` as pydicom's Dataset does, converting
only the values asked for, the way pydicom 3.0 converts them (see :data:`_CONVERTERS`); the VR is the one written,
else (implicit VR, or UN written) the one pydicom's dictionaries give. A value it would not convert as pydicom
does (a sequence, a character set it does not decode, a binary value of odd length) raises
:class:`FastRouteDeclined`, and the caller reads the file with pydicom.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

from pydicom import datadict
from pydicom.valuerep import PersonName
from pydicom.values import convert_PN

from tnbc_desktop.core.io.dicom_raw_header import VALID_VRS, CHARSETS, FastRouteDeclined, RawHeader

_VR_NAMES = {vr: vr.decode("ascii") for vr in VALID_VRS}
_UNSEEN, _ABSENT = object(), object()


@dataclass(frozen=True)
class RawElement:
    """One element as the walk found it: ``VR`` and its ``value`` bytes (what ``get_item`` gives in pydicom)."""

    tag: int
    VR: str
    value: bytes


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
        if key.__class__ is str:
            memo = self._by_keyword
            value = memo.get(key, _UNSEEN)
            if value is _UNSEEN:
                tag = keyword_tag(key)
                value = self._value(tag) if tag in self._h.elements else _ABSENT
                memo[key] = value
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

    def text_encoding(self) -> str:
        if self._encoding is None:
            tag = 0x00080005
            charset = "" if tag not in self._h.elements else self._h.raw_bytes(tag).decode("latin-1").strip(" \x00")
            if charset not in CHARSETS:
                raise FastRouteDeclined
            self._encoding = CHARSETS[charset]
        return self._encoding

    def _value(self, tag: int):
        written, start, length = self._h.elements[tag]
        vr = _VR_NAMES[written] if written is not None and written != b"UN" else self._vr(tag)
        if length < 0 or vr == "SQ":
            raise FastRouteDeclined  # a sequence: the classic header extraction never reads one
        convert = _CONVERTERS.get(vr)
        raw = self._h.data[start:start + length]
        if convert is None:
            return raw
        key = (vr, raw, self.text_encoding() if vr in _CHARSET_VRS else None)
        value = _SEEN_VALUES.get(key, _UNSEEN)
        if value is _UNSEEN:
            value = convert(raw, self)
            if len(_SEEN_VALUES) >= _SEEN_VALUES_MAX:
                _SEEN_VALUES.clear()
            _SEEN_VALUES[key] = value
        return value


# Converted values by (VR, bytes, character set): the files of one series repeat most of their values (UIDs,
# descriptions, geometry, sequence), so a scan converts each once. Values are immutable (str, number, tuple).
_SEEN_VALUES: dict[tuple, object] = {}
_SEEN_VALUES_MAX = 50_000
_CHARSET_VRS = frozenset(("SH", "LO", "UC", "PN", "ST", "LT", "UT"))  # decoded with the dataset's character set


# How pydicom 3.0 converts a VR's bytes (pydicom.values and the value classes), one function per kind: DS is
# stripped of all whitespace first, IS / DS values must read as numbers (pydicom repairs a malformed one its
# own way: declined), UI values are stripped as pydicom's UID does, AE values one by one, the other
# default-character-set strings drop trailing spaces / NULs and split on backslash; SH / LO / UC decode with
# the dataset's character set and split; PN goes through pydicom's own converter; ST / LT / UT are one value;
# UR drops trailing whitespace; binary VRs unpack little endian ('' when empty); several values are a tuple.
def _one_or_list(values: list):
    return values[0] if len(values) == 1 else tuple(values)


def _numbers(raw: bytes, ds, strip: bool = False):
    text = raw.decode("latin-1")
    values = (text.strip() if strip else text).rstrip(" \x00").split("\\")
    if not _all_numbers(values):
        raise FastRouteDeclined
    return _one_or_list(values)


def _strings(raw: bytes, ds):
    return _one_or_list(raw.decode("latin-1").rstrip(" \x00").split("\\"))


def _uids(raw: bytes, ds):
    return _one_or_list([v.strip() for v in raw.decode("latin-1").rstrip(" \x00").split("\\")])


def _aes(raw: bytes, ds):
    return _one_or_list([v.strip() for v in raw.decode("latin-1").split("\\")])


def _texts(raw: bytes, ds):
    return _one_or_list([v.rstrip("\0 ") for v in raw.decode(ds.text_encoding(), "replace").split("\\")])


def _single_text(raw: bytes, ds):
    return raw.decode(ds.text_encoding(), "replace").rstrip("\0 ")


def _person_names(raw: bytes, ds):  # one or two per file: pydicom's own converter, component rules and all
    value = convert_PN(raw, [ds.text_encoding()])
    return str(value) if isinstance(value, PersonName) else tuple(str(v) for v in value)


def _binary(fmt: str):
    one = struct.Struct("<" + fmt)

    def convert(raw: bytes, ds):
        if len(raw) == one.size:
            return one.unpack(raw)[0]
        if len(raw) % one.size:
            raise FastRouteDeclined
        values = struct.unpack(f"<{len(raw) // one.size}{fmt}", raw)
        return "" if not values else values
    return convert


_CONVERTERS = {
    "DS": lambda raw, ds: _numbers(raw, ds, strip=True), "IS": _numbers, "UI": _uids, "AE": _aes,
    **dict.fromkeys(("AS", "CS", "DA", "DT", "TM"), _strings), **dict.fromkeys(("SH", "LO", "UC"), _texts),
    "PN": _person_names, **dict.fromkeys(("ST", "LT", "UT"), _single_text),
    "UR": lambda raw, ds: raw.decode("latin-1").rstrip(),
    **{vr: _binary(fmt) for vr, fmt in
       {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}.items()},
}


def _all_numbers(values: list[str]) -> bool:
    """Every value reads as a number (or is empty), as pydicom's DS / IS classes accept it."""
    try:
        for v in values:
            if v.strip():
                float(v)
    except ValueError:
        return False
    return True


def _tag(key) -> int:
    if isinstance(key, tuple):
        return key[0] << 16 | key[1]
    return int(key)

