"""Mutation panel import (MAF / CSV via :func:`tnbc_desktop.core.io.mutations.read_mutation_panel`).

A multi-sample MAF asks which Tumor_Sample_Barcode is the patient's. The table lists the sample's variants
and marks those the model uses (non-synonymous REL / MED23); the badge counts them.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from tnbc_desktop.core.io.mutations import MutationPanel, read_mutation_panel

COLUMNS = ("Gene", "Protein change", "Class", "VAF", "Used by model")


def maf_samples(path: str | Path) -> list[str]:
    """Tumor_Sample_Barcodes of a MAF in file order ([] for a one-patient CSV panel)."""
    from tnbc_desktop.core.io.maf_read import read_table

    raw = read_table(path)
    if raw.kind == "panel" or "Tumor_Sample_Barcode" not in raw.table:
        return []
    return list(dict.fromkeys(str(s) for s in raw.table["Tumor_Sample_Barcode"]))


def load_panel(path: str | Path, sample: str | None,
               choose_sample: Callable[[list[str]], str | None]) -> MutationPanel | None:
    """Read the panel; for a multi-sample MAF without ``sample`` ask ``choose_sample`` (None = user cancelled)."""
    if sample is None:
        samples = maf_samples(path)
        if len(samples) > 1:
            sample = choose_sample(samples)
            if sample is None:
                return None
    return read_mutation_panel(path, sample=sample)


class MutationPanelView(QWidget):
    """Import button, file + sample line, variant count badge, variant table."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel: MutationPanel | None = None
        self.import_button = QPushButton("Import MAF / CSV...")
        self.clear_button = QPushButton("Clear")
        self.badge = QLabel("no panel")
        self.badge.setStyleSheet("QLabel { border-radius: 6px; padding: 1px 6px; background: #e0e0e0; }")
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(110)
        top = QHBoxLayout()
        top.addWidget(self.import_button)
        top.addWidget(self.clear_button)
        top.addWidget(self.badge)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.table)

    def set_panel(self, panel: MutationPanel | None) -> None:
        self.panel = panel
        self.table.setRowCount(0)
        if panel is None:
            self.badge.setText("no panel")
            self.source_label.setText("No mutation panel: GPRM will not be available.")
            return
        used = panel.used_variants()
        self.badge.setText(f"{len(panel.variants)} variants, {len(used)} used")
        vaf = "unavailable" if panel.vaf_sum is None else f"{panel.vaf_sum:.3f}"
        notes = "".join(f"\n{w}" for w in panel.warnings)
        self.source_label.setText(f"{Path(panel.source).name}, sample {panel.sample}; "
                                  f"VAF sum (REL + MED23) = {vaf}{notes}")
        for row, v in enumerate(panel.variants):
            self.table.insertRow(row)
            cells = (v.gene, v.protein_change, v.variant_class, "" if v.vaf is None else f"{v.vaf:.3f}",
                     "yes" if v.used_by_model else "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if v.used_by_model:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
