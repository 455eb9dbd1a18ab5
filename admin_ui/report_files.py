"""A report's rows as files: an Excel workbook with the data and a native chart of it, and CSV."""

from __future__ import annotations

import io
from typing import Any

from admin_ui.introspection import csv_text

SHEET = "数据"
PIVOT = "透视"
MAX_SHEET_TITLE = 31  # Excel's limit on a sheet's name


def workbook(
    title: str,
    rows: list[dict[str, Any]],
    view: dict[str, Any],
    headers: dict[str, str],
    series: list[Any] | None = None,
) -> bytes:
    """The rows under their headers on one sheet and, for a grouped bar or line view, an Excel
    chart of the measure by the grouping (drawn by Excel itself, from the sheet's cells). With a
    second grouping, a sheet 透视 holds the rows pivoted (a row per value of the first grouping, a
    column per value of the second, in the order `series` gives, else as they come) and the chart
    draws a series per column, stacked for a stacked bar view."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    columns = list(rows[0]) if rows else []
    _write(sheet, [headers.get(c, c) for c in columns], [[row[c] for c in columns] for row in rows])
    kind, x, down, y = view.get("kind"), view.get("x"), view.get("series"), view.get("y", "count")
    source, width, height = sheet, 2, len(rows)
    if down and x and rows:
        source = book.create_sheet(PIVOT)
        table = pivoted(rows, x, down, y, series)
        _write(source, [headers.get(x, x), *list(table[0])[1:]], [list(r.values()) for r in table])
        width, height = len(table[0]), len(table)
    elif len(columns) != 2:
        kind = None  # totals: no chart
    if kind in ("bar", "stacked_bar", "line") and rows:
        chart = LineChart() if kind == "line" else BarChart()
        if kind == "stacked_bar":
            chart.grouping, chart.overlap = "stacked", 100
        chart.title = title[: MAX_SHEET_TITLE * 3]
        data = Reference(source, min_col=2, max_col=width, min_row=1, max_row=height + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(source, min_col=1, min_row=2, max_row=height + 1))
        chart.y_axis.title = headers.get(y, y)
        chart.x_axis.title = headers.get(x, x)
        source.add_chart(chart, source.cell(row=2, column=width + 2).coordinate)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pivoted(
    rows: list[dict[str, Any]], x: str, series: str, y: str, order: list[Any] | None = None
) -> list[dict[str, Any]]:
    """The rows as a table: a row per value of `x` (as they come), a column per value of `series`
    (in `order`, else as they come; named as shown, "—" for none), the measure `y` in the cells
    (None where that pair has no group)."""
    across = list(dict.fromkeys(row[x] for row in rows))
    down = order if order is not None else list(dict.fromkeys(row[series] for row in rows))
    cells = {(row[x], row[series]): row[y] for row in rows}
    return [{x: text(a), **{text(d): cells.get((a, d)) for d in down}} for a in across]


def _write(sheet: Any, header: list[Any], rows: list[list[Any]]) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    sheet.append([_cell(value, ILLEGAL_CHARACTERS_RE) for value in header])
    for row in rows:
        sheet.append([_cell(value, ILLEGAL_CHARACTERS_RE) for value in row])


def text(value: Any) -> str:
    """A grouping's value as shown in a table's heading or a chart's axis ("—" for none)."""
    return "—" if value is None else str(value)


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
