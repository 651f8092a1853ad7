"""``tnbc-desktop dicom``: the DICOM address book and sending exported objects to a node (C-STORE)."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("dicom", help="DICOM nodes (address book) and sending exported objects (C-STORE)",
                       description="Manage the DICOM address book and send files written by analyze --dicom-out.")
    cmds = p.add_subparsers(dest="dicom_command", metavar="ACTION", required=True)
    cmds.add_parser("nodes", help="list the address book").set_defaults(func=run_nodes)
    add = cmds.add_parser("add-node", help="add or replace a node in the address book")
    add.add_argument("name")
    add.add_argument("host")
    add.add_argument("port", type=int)
    add.add_argument("ae_title", help="the node's AE title (called AE)")
    add.set_defaults(func=run_add)
    rm = cmds.add_parser("remove-node", help="remove a node from the address book")
    rm.add_argument("name")
    rm.set_defaults(func=run_remove)
    send = cmds.add_parser("send", help="send DICOM files (or every .dcm file of folders) to a node")
    send.add_argument("paths", nargs="+", help="files or folders (e.g. the --dicom-out folder)")
    send.add_argument("--node", required=True, help="name of the node in the address book")
    send.set_defaults(func=run_send)


def run_nodes(args) -> int:
    from tnbc_desktop.core.dicom_export.send import address_book_path, load_nodes

    nodes = load_nodes()
    if not nodes:
        print(f"no DICOM nodes yet ({address_book_path()}); add one with 'tnbc-desktop dicom add-node'")
    for n in nodes:
        print(f"{n.name}: {n.host}:{n.port} AE {n.ae_title}")
    return 0


def run_add(args) -> int:
    from tnbc_desktop.core.dicom_export.send import DicomNode, check_node, load_nodes, save_nodes

    node = check_node(DicomNode(args.name, args.host, args.port, args.ae_title))
    nodes = [n for n in load_nodes() if n.name != node.name] + [node]
    print(f"saved {node.describe()} in {save_nodes(nodes)}")
    return 0


def run_remove(args) -> int:
    from tnbc_desktop.core.dicom_export.send import find_node, load_nodes, save_nodes

    node = find_node(args.name)
    save_nodes([n for n in load_nodes() if n.name != node.name])
    print(f"removed {node.describe()}")
    return 0


def dicom_files(paths: list[str]) -> list[Path]:
    """The files named, and the *.dcm files directly inside folders named, in order."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.dcm")) if p.is_dir() else [p])
    return out


def send_and_report(node_name: str, files: list[Path], stream=None) -> None:
    """Send ``files`` to the node named ``node_name`` and print one line per stored file."""
    from tnbc_desktop.core.dicom_export.send import find_node, send_files
    from tnbc_desktop.errors import OutputError

    if not files:
        raise OutputError("no DICOM files to send")
    node = find_node(node_name)
    for r in send_files(node, files):
        print(f"sent {r.path.name} to {node.name}", file=stream or sys.stdout)


def run_send(args) -> int:
    send_and_report(args.node, dicom_files(args.paths))
    return 0
