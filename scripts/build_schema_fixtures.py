"""Build ``tests/fixtures/schema_v{N}.db``: a database of every schema version the package has
written, made by that version's own code.

    python scripts/build_schema_fixtures.py [VERSION ...]   # every version, or only those named

For each version the commit that wrote it is checked out in a temporary ``git worktree`` and
its own demo command runs there (with this interpreter, the worktree's package first on the
path), so each file holds the rows, enums and money that version really wrote. The files are
kept small; the upgrade tests read them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass(frozen=True)
class Version:
    """A schema version, the commit whose code wrote it and that commit's demo command."""

    number: int
    commit: str
    command: tuple[str, ...]


VERSIONS = (
    Version(1, "fdff2a5", ("demo", "--events", "400", "--seed", "11")),
    Version(2, "c2c1ab6", ("demo", "--events", "400", "--seed", "12")),
    Version(3, "0f9ebe8", ("demo", "--events", "400", "--seed", "13")),
    Version(4, "fbfa636", ("event-demo", "--events", "400", "--seed", "14")),
    Version(5, "36f05d5", ("event-demo", "--events", "400", "--seed", "15")),
    Version(6, "3ed4526", ("event-demo", "--events", "400", "--seed", "16")),
)


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True)


def run_demo(worktree: Path, version: Version, db: Path) -> None:
    """That commit's own CLI, its package shadowing the installed one."""
    env = {**os.environ, "PYTHONPATH": str(worktree)}
    command = [sys.executable, "-m", "profit_booking.cli.app", *version.command, "--db", str(db)]
    done = subprocess.run(command, cwd=worktree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"v{version.number} demo failed:\n{done.stdout}\n{done.stderr}")


def compact(source: Path, target: Path) -> None:
    """A checkpointed, vacuumed single-file copy (no -wal or -shm beside it)."""
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(source)
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    finally:
        conn.close()
    target.chmod(0o644)


def build(version: Version, scratch: Path) -> Path:
    worktree = scratch / f"v{version.number}"
    git("worktree", "add", "--detach", str(worktree), version.commit)
    try:
        db = scratch / f"schema_v{version.number}.db"
        run_demo(worktree, version, db)
        target = FIXTURES / db.name
        compact(db, target)
        return target
    finally:
        git("worktree", "remove", "--force", str(worktree))


def describe(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        [(schema,)] = conn.execute("SELECT MAX(version) FROM schema_version").fetchall()
        counts = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("chains", "chain_orders", "bookings", "chain_events", "sl_hunts")
        }
    finally:
        conn.close()
    return f"{path.name}: schema {schema}, {path.stat().st_size} bytes, {counts}"


def main() -> None:
    wanted = {int(number) for number in sys.argv[1:]} or {version.number for version in VERSIONS}
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for version in (version for version in VERSIONS if version.number in wanted):
            print(describe(build(version, Path(tmp))))


if __name__ == "__main__":
    main()
