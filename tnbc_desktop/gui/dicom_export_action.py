"""File > "Export to DICOM...": the shown result's SEG (tumour, habitats, ring), report (encapsulated PDF) and
SR written into a folder chosen by the user, off the GUI thread, de-identified when the session says so."""
from __future__ import annotations

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
