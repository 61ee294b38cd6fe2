"""Rows for the workbooks the site writes: people's text is stored as text, never as a formula.

openpyxl turns any string that starts with "=" into a formula (and "#N/A" and the like into an
error value). Every writer passes its rows through ``safe_row``, which stores each string in a
cell of type "s" (text). Text that a spreadsheet would read as a formula when edited (starting
with = + - @, a tab or a line break) also gets Excel's quote prefix, so editing the cell keeps it
text. The cell shows exactly what was typed.
"""
from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell

from volunteer.rules import FORMULA_START


def text_cell(ws, value: str):
    """A cell of ``ws`` holding ``value`` as text."""
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def safe_row(ws, values: Iterable) -> list:
    """``values`` ready for ``ws.append``: strings as text cells, numbers and dates as they are."""
    return [text_cell(ws, v) if isinstance(v, str) else v for v in values]


def append(ws, values: Iterable) -> None:
    """Append one row of ``values`` to ``ws`` (a normal or a write-only sheet) as ``safe_row``."""
    ws.append(safe_row(ws, values))
