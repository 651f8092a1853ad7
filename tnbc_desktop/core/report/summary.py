"""One-page batch summary PDF: a table of every patient's predictions, groups and status."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from reportlab.platypus import BaseDocTemplate, Frame, KeepInFrame, PageTemplate, Spacer

from tnbc_desktop import DEMO_BUNDLE_NOTICE, RESEARCH_USE_NOTICE
from tnbc_desktop.core.io.atomic import write_bytes_atomic
from tnbc_desktop.core.report.layout import (FONT_BOLD, FRAME_HEIGHT, FRAME_WIDTH, MARGIN_BOTTOM,
                                             MARGIN_X, PAGE_SIZE, WARN, styles, table, text)

SUMMARY_HEADER = ("Patient", "Model 3", "PRM", "GPRM", "Status / warnings")


def write_batch_summary(rows: Sequence[Sequence[str]], path: str | Path, bundle_label: str, is_demo: bool,
                        deidentify: bool = False) -> Path:
    """Write the summary table (``rows`` of SUMMARY_HEADER cells, already text) on one A4 page, atomically."""
    st = styles()
    buf = io.BytesIO()

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT_BOLD, 8)
        canvas.drawString(MARGIN_X, PAGE_SIZE[1] - 18, RESEARCH_USE_NOTICE)
        if is_demo:
            canvas.setFillColor(WARN)
            canvas.drawString(MARGIN_X, PAGE_SIZE[1] - 29, DEMO_BUNDLE_NOTICE)
        canvas.restoreState()

    doc = BaseDocTemplate(buf, pagesize=PAGE_SIZE, title="TNBC batch summary", author="tnbc-desktop",
                          subject="Research use only", invariant=1 if deidentify else 0)
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="p", frames=[frame], onPage=on_page)])
    n_fail = sum(1 for r in rows if str(r[-1]).startswith("FAILED"))
    content = [text("Batch summary", st["title"]),
               text(f"{len(rows)} patients, {len(rows) - n_fail} analysed, {n_fail} failed. Bundle: {bundle_label}",
                    st["body"]), Spacer(1, 4),
               table([SUMMARY_HEADER, *rows], st["cell"], col_widths=[80, 80, 80, 80, FRAME_WIDTH - 320])]
    doc.build([KeepInFrame(FRAME_WIDTH, FRAME_HEIGHT - 2, content, mode="shrink")])
    return write_bytes_atomic(path, buf.getvalue())
