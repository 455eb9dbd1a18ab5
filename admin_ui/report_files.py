"""A report's rows as files: an Excel workbook with the data and a native chart of it, and CSV."""

from __future__ import annotations

import io
from typing import Any

from admin_ui.introspection import csv_text

SHEET = "数据"
MAX_SHEET_TITLE = 31  # Excel's limit on a sheet's name


def workbook(title: str, rows: list[dict[str, Any]], view: dict[str, Any], headers: dict[str, str]) -> bytes:
    """The rows under their headers on one sheet, and, for a grouped bar or line view, an Excel
    chart of the measure by the grouping (drawn by Excel itself, from the sheet's cells)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.chart import BarChart, LineChart, Reference

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    columns = list(rows[0]) if rows else []
    sheet.append([headers.get(c, c) for c in columns])
    for row in rows:
        sheet.append([_cell(row[c], ILLEGAL_CHARACTERS_RE) for c in columns])
    kind = view.get("kind")
    if kind in ("bar", "line") and len(columns) == 2 and rows:
        chart = BarChart() if kind == "bar" else LineChart()
        chart.title = title[: MAX_SHEET_TITLE * 3]
        chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1))
        chart.y_axis.title = headers.get(columns[1], columns[1])
        chart.x_axis.title = headers.get(columns[0], columns[0])
        sheet.add_chart(chart, "D2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_file(rows: list[dict[str, Any]], headers: dict[str, str]) -> bytes:
    columns = list(rows[0]) if rows else []
    named = [{headers.get(c, c): row[c] for c in columns} for row in rows]
    return ("\ufeff" + csv_text([headers.get(c, c) for c in columns], named)).encode("utf-8")


def _cell(value: Any, illegal) -> Any:
    if isinstance(value, str):
        value = illegal.sub("", value)
        if value.startswith("="):  # text, never a formula
            value = "'" + value
    return value
