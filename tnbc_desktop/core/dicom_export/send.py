"""Send exported DICOM files to a DICOM node (C-STORE, pynetdicom) named in the user's address book.

The address book is a small JSON file in the user data folder (``dicom_nodes.json``): ``{"nodes": [{"name",
"host", "port", "ae_title"}]}``, written atomically. Nothing is sent unless the user asks: the app makes no
network connection of its own. [D] The calling AE title is ``TNBC_DESKTOP``; timeouts are 30 s (connection,
association, each C-STORE) so an unreachable node fails in one readable line instead of hanging the export.
"""
from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pydicom

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.errors import ConfigError, OutputError

ADDRESS_BOOK_NAME = "dicom_nodes.json"
CALLING_AE = "TNBC_DESKTOP"
TIMEOUT_S = 30.0
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE: 16 characters, no backslash


@dataclass(frozen=True)
class DicomNode:
    """One entry of the address book: a name for people, and where the node listens."""

    name: str
    host: str
    port: int
    ae_title: str

    def describe(self) -> str:
        return f"'{self.name}' ({self.host}:{self.port}, AE {self.ae_title})"


@dataclass(frozen=True)
class SendResult:
    """What one C-STORE of one file answered (status 0x0000 = stored)."""

    path: Path
    sop_instance_uid: str
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 0


def check_node(node: DicomNode, source: str | Path | None = None) -> DicomNode:
    """``node`` when its fields are usable, else :class:`ConfigError` saying which one is not."""
    if not node.name.strip():
        raise ConfigError("a DICOM node needs a name", source)
    if not node.host.strip():
        raise ConfigError(f"DICOM node '{node.name}' has no host", source)
    if not isinstance(node.port, int) or not 1 <= node.port <= 65535:
        raise ConfigError(f"DICOM node '{node.name}': port must be 1-65535, got {node.port!r}", source)
    if not _AE_TITLE.match(node.ae_title or "") or not node.ae_title.strip():
        raise ConfigError(f"DICOM node '{node.name}': AE title must be 1-16 printable characters without '\\', "
                          f"got {node.ae_title!r}", source)
    return node


def address_book_path() -> Path:
    from tnbc_desktop.paths import user_data_dir

    return user_data_dir() / ADDRESS_BOOK_NAME


def load_nodes(path: str | Path | None = None) -> tuple[DicomNode, ...]:
    """The address book's nodes (none when the file does not exist yet)."""
    p = Path(path) if path is not None else address_book_path()
    if not p.exists():
        return ()
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        entries = doc["nodes"]
        nodes = tuple(DicomNode(str(e["name"]), str(e["host"]), int(e["port"]), str(e["ae_title"])) for e in entries)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"DICOM address book cannot be read ({type(exc).__name__}: {str(exc)[:120]})", p) from None
    for node in nodes:
        check_node(node, p)
    return nodes


def save_nodes(nodes: Sequence[DicomNode], path: str | Path | None = None) -> Path:
    """Write the address book atomically (names must be unique)."""
    p = Path(path) if path is not None else address_book_path()
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ConfigError("DICOM node names must be unique", p)
    for node in nodes:
        check_node(node, p)
    return write_text_atomic(p, json.dumps({"nodes": [asdict(n) for n in nodes]}, indent=1) + "\n")


def find_node(name: str, path: str | Path | None = None) -> DicomNode:
    nodes = load_nodes(path)
    for node in nodes:
        if node.name == name:
            return node
    known = ", ".join(n.name for n in nodes[:20]) or "none; add one with 'tnbc-desktop dicom add-node'"
    raise ConfigError(f"no DICOM node named '{name}' in the address book (known: {known})",
                      Path(path) if path is not None else address_book_path())


def send_files(node: DicomNode, paths: Sequence[str | Path], timeout_s: float = TIMEOUT_S) -> list[SendResult]:
    """C-STORE every file to ``node`` over one association; :class:`OutputError` when the node cannot be reached
    or a file is refused."""
    from pynetdicom import AE

    check_node(node)
    datasets = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                datasets.append((Path(path), pydicom.dcmread(path)))
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise OutputError(f"cannot be read for sending ({type(exc).__name__})", path) from None
    ae = AE(ae_title=CALLING_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = timeout_s
    for sop_class in dict.fromkeys(str(ds.SOPClassUID) for _, ds in datasets):
        ae.add_requested_context(sop_class, [pydicom.uid.ExplicitVRLittleEndian, pydicom.uid.ImplicitVRLittleEndian])
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not assoc.is_established:
        raise OutputError(f"DICOM node {node.describe()} did not accept an association (unreachable, wrong AE "
                          "title, or it refuses these object types)")
    results = []
    try:
        for path, ds in datasets:
            status = assoc.send_c_store(ds)
            code = int(status.Status) if status is not None and "Status" in status else -1
            results.append(SendResult(path, str(ds.SOPInstanceUID), code))
    finally:
        assoc.release()
    refused = [r for r in results if not r.ok]
    if refused:
        shown = ", ".join(f"{r.path.name} (status 0x{r.status & 0xFFFF:04X})" if r.status >= 0 else
                          f"{r.path.name} (no answer)" for r in refused[:5])
        raise OutputError(f"DICOM node {node.describe()} did not store {len(refused)} of {len(results)} "
                          f"file(s): {shown}")
    return results
