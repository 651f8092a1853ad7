"""File > "Export to DICOM..." and "Send to DICOM node...": the shown result's SEG (tumour, habitats, ring),
report (encapsulated PDF) and SR, written into a folder chosen by the user or sent (C-STORE) to a node of the
DICOM address book, off the GUI thread, de-identified when the session says so. The address book is kept with
``tnbc-desktop dicom add-node``; the GUI only chooses from it."""
from __future__ import annotations

import tempfile

from tnbc_desktop.gui import dialogs


def ask_export_dicom(window) -> None:
    """Ask for a folder and export there (a message when there is no result yet)."""
    if window.result is None:
        dialogs.show_message(window, "info", "No result", "Run the analysis before exporting to DICOM.")
        return
    paths = dialogs.ask_open_paths(window, "Export to DICOM: choose a folder", directory=True)
    if paths:
        export_dicom(window, paths[0])


def export_dicom(window, folder: str):
    """Start the export of ``window.result`` into ``folder``; returns the background task (None when busy)."""
    result, deid = window.result, bool(window.state.deidentify)

    def job(progress, cancel):
        from tnbc_desktop.core.case_run import write_dicom_export

        progress("writing DICOM objects", 0.2)
        return write_dicom_export(result, None, folder, deidentify=deid)

    def done(export):
        names = ", ".join(p.name for p in export.paths)
        window.statusBar().showMessage(f"DICOM written to {export.folder}: {names}", 10000)
        if export.seg is None:
            dialogs.show_message(window, "info", "DICOM export without SEG", "\n".join(export.notes))

    return window.start_task("DICOM export", job, done)


def ask_send_dicom(window) -> None:
    """Choose a node of the address book and send the result's DICOM objects there."""
    from tnbc_desktop.core.dicom_export.send import address_book_path, load_nodes
    from tnbc_desktop.errors import ConfigError

    if window.result is None:
        dialogs.show_message(window, "info", "No result", "Run the analysis before sending to a DICOM node.")
        return
    try:
        nodes = load_nodes()
    except ConfigError as exc:
        dialogs.show_message(window, "error", "DICOM address book", str(exc))
        return
    if not nodes:
        dialogs.show_message(window, "info", "No DICOM node", "The DICOM address book is empty. Add a node with\n"
                             "tnbc-desktop dicom add-node NAME HOST PORT AE_TITLE\n"
                             f"(address book: {address_book_path()})")
        return
    labels = [f"{n.name} ({n.host}:{n.port}, AE {n.ae_title})" for n in nodes]
    chosen = dialogs.ask_item(window, "Send to DICOM node", "Send the SEG, report and SR to:", labels)
    if chosen:
        send_dicom(window, nodes[labels.index(chosen)])


def send_dicom(window, node):
    """Write the DICOM objects to a temporary folder and C-STORE them to ``node``; returns the task."""
    result, deid = window.result, bool(window.state.deidentify)

    def job(progress, cancel):
        from tnbc_desktop.core.case_run import write_dicom_export
        from tnbc_desktop.core.dicom_export.send import send_files

        with tempfile.TemporaryDirectory(prefix="tnbc-dicom-") as tmp:
            progress("writing DICOM objects", 0.2)
            export = write_dicom_export(result, None, tmp, deidentify=deid)
            progress(f"sending to {node.name}", 0.6)
            return export.notes, send_files(node, export.paths)

    def done(payload):
        notes, sent = payload
        window.statusBar().showMessage(f"Sent {len(sent)} DICOM object(s) to {node.describe()}", 10000)
        if len(sent) < 3:
            dialogs.show_message(window, "info", "Sent without SEG", "\n".join(notes))

    return window.start_task("DICOM send", job, done)
