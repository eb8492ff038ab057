"""Damage made on purpose: a replayed database (the CLI's demo, as a bot leaves it) and byte
flips at chosen places inside its data pages, each reproducible from its seed."""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tests.sqlite_pages import column_index, fields, header_offset, leaf_pages, page_size

CLI = [sys.executable, "-m", "profit_booking.cli.app"]
TABLES = ("schema_version", "chains", "chain_orders", "bookings", "chain_events", "sl_hunts", "broker_findings",
          "engine_state", "operator_requests")
SEEDS = range(3)
# where a flip lands: (table, column) inside a row's value, or (table, "header") / (table, "type"):
# a leaf page's b-tree header, or a value's serial type in a row's record header
TARGETS = (
    ("bookings", "header"), ("bookings", "type"), ("bookings", "chain_id"), ("bookings", "order_id"),
    ("bookings", "kind"), ("bookings", "amount_cents"), ("chains", "total_profit_cents"),
    ("chain_orders", "status"),
)


@dataclass(frozen=True)
class Flip:
    """One damaged byte: where (what it hits) and how (the bits flipped)."""

    name: str
    offset: int
    mask: int

    def apply(self, path: Path) -> None:
        """XOR the byte at ``offset`` of ``path`` with ``mask``."""
        with path.open("r+b") as file:
            file.seek(self.offset)
            byte = file.read(1)[0]
            file.seek(self.offset)
            file.write(bytes([byte ^ self.mask]))


def replay(directory: Path, ticks: int = 600, name: str = "bot.db") -> Path:
    """A database and its paper broker's file, left by ``demo --ticks`` as a closed bot leaves them."""
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([*CLI, "demo", "--db", name, "--ticks", str(ticks)], cwd=directory,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return directory / name


def flip_at(path: Path, table: str, target: str, seed: int) -> Flip:
    """A flip inside ``table``'s rows (or one of its leaf pages' headers), chosen by ``seed``."""
    rng = random.Random(f"{table}.{target}.{seed}")
    mask = 1 << rng.randrange(8)
    name = f"{table}.{target}/{seed}"
    if target == "header":  # page type, first freeblock, cell count, cell content start, fragmented bytes
        page = rng.choice(leaf_pages(path, table))
        return Flip(name, header_offset(page, page_size(path)) + rng.randrange(8), mask)
    values = fields(path, table)
    if target == "type":
        return Flip(name, rng.choice(values).type_offset, mask)
    column = column_index(path, table, target)
    value = rng.choice([v for v in values if v.column == column and v.size > 0])
    return Flip(name, value.offset + rng.randrange(value.size), mask)


def every_flip(path: Path) -> list[Flip]:
    """One flip per target and seed."""
    return [flip_at(path, table, target, seed) for table, target in TARGETS for seed in SEEDS]


def read_only(path: Path) -> sqlite3.Connection:
    """A raw connection that neither changes the file nor leaves files beside it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def pragma_check(path: Path, pragma: str) -> str:
    """The first line ``PRAGMA quick_check`` or ``integrity_check`` answers for the file, asked on
    a read-write connection as a writer asks it (a read-only one skips the CHECK constraints), to
    a copy (the file itself stays as it is)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        with closing(sqlite3.connect(copy)) as conn:
            try:
                return str(conn.execute(f"PRAGMA {pragma}(1)").fetchone()[0])
            except sqlite3.DatabaseError as exc:
                return str(exc)


def rows(path: Path, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of the engine's tables (``exclude`` left out), read raw (text as bytes: a flip
    can leave a value that is no UTF-8)."""
    with closing(read_only(path)) as conn:
        conn.text_factory = bytes
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
                for table in TABLES if table not in exclude}
