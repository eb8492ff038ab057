"""Where a SQLite file keeps a table's rows, byte by byte: the pages of its b-tree (from the
``dbstat`` virtual table) and, inside each leaf page, every cell's columns, so that a test can
damage exactly the bytes it means to (a booking's amount, an order id, a page header)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

TABLE_LEAF = 13
FIXED_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8}


@dataclass(frozen=True)
class Field:
    """One stored value of a row: the file offsets of its serial type and of its bytes."""

    rowid: int
    column: int
    type_offset: int
    offset: int
    size: int


def page_size(path: Path) -> int:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])


def leaf_pages(path: Path, table: str) -> list[int]:
    """The numbers of the table b-tree's leaf pages, read without changing the file."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        rows = conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                            (table,)).fetchall()
    return [pageno for (pageno,) in rows]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _size(serial_type: int) -> int:
    if serial_type >= 12:
        return (serial_type - 12) // 2 if serial_type % 2 == 0 else (serial_type - 13) // 2
    return FIXED_SIZES.get(serial_type, 0)


def header_offset(pageno: int, size: int) -> int:
    """The file offset of a page's b-tree header (page 1 keeps the file header first)."""
    return (pageno - 1) * size + (100 if pageno == 1 else 0)


def fields(path: Path, table: str) -> list[Field]:
    """Every stored value of every row in the table's leaf pages (rows without overflow pages)."""
    data, size = path.read_bytes(), page_size(path)
    found = []
    for pageno in leaf_pages(path, table):
        start, header = (pageno - 1) * size, header_offset(pageno, size)
        assert data[header] == TABLE_LEAF
        cells = int.from_bytes(data[header + 3:header + 5], "big")
        for n in range(cells):
            pointer = start + int.from_bytes(data[header + 8 + 2 * n:header + 10 + 2 * n], "big")
            payload, at = _varint(data, pointer)
            rowid, at = _varint(data, at)
            header_size, types_at = _varint(data, at)
            body, types_end, column = at + header_size, at + header_size, 0
            while types_at < types_end:
                type_offset = types_at
                serial_type, types_at = _varint(data, types_at)
                found.append(Field(rowid, column, type_offset, body, _size(serial_type)))
                body += _size(serial_type)
                column += 1
            assert body - at == payload, "a row with an overflow page"
    return found


def column_index(path: Path, table: str, column: str) -> int:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
        names = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    return names.index(column)
