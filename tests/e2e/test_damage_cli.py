"""Damaged files through the real CLI: the demo refuses a damaged database or paper file with
one line and a non-zero exit (no traceback, the database left as it was), and ``verify`` names
every kind of flipped byte, checked against the files' bytes and raw SQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import listing, sha256
from tests.damage import TARGETS, Flip, flip_at, pragma_check, replay, rows
from tests.sqlite_pages import column_index, fields


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed bot's database and paper file after 600 replayed ticks (built once per module)."""
    return replay(tmp_path_factory.mktemp("replayed"))


@pytest.fixture
def bot(replayed: Path, tmp_path: Path) -> Path:
    """This test's copy of the replayed files, in its own directory (the CLI runs in tmp_path)."""
    for name in ("bot.db", "bot.paper.db"):
        shutil.copy(replayed.parent / name, tmp_path / name)
    return tmp_path / "bot.db"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_the_demo_refuses_a_file_quick_check_finds_damaged_and_leaves_it_as_it_was(bot: Path, cli):
    flip_at(bot, "bookings", "header", 1).apply(bot)
    assert pragma_check(bot, "quick_check") != "ok"
    digest = sha256(bot)

    result = cli("demo", "--db", bot.name, "--ticks", "900")

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == error_lines(result.stderr)  # one line: nothing was written to log
    [line] = error_lines(result.stderr)
    assert f"{bot.name} is damaged (" in line and "Traceback" not in result.stderr
    assert sha256(bot) == digest
    assert not Path(f"{bot}-wal").exists() and not Path(f"{bot}-shm").exists()


@pytest.mark.parametrize("table,target,found", [
    ("bookings", "amount_cents", "total differs from the ledger"),
    ("bookings", "order_id", "missing from index"),
])
def test_the_demo_refuses_damage_only_the_full_check_finds_and_leaves_the_file_as_it_was(
    bot: Path, cli, table: str, target: str, found: str
):
    flip_at(bot, table, target, 0).apply(bot)
    assert pragma_check(bot, "quick_check") == "ok"  # quick_check alone would have resumed on it
    before, digest = rows(bot), sha256(bot)

    result = cli("demo", "--db", bot.name, "--ticks", "900")

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == error_lines(result.stderr)  # one line: the store never started
    [line] = error_lines(result.stderr)
    assert f"{bot.name} is damaged (" in line and found in line
    assert sha256(bot) == digest  # judged before its first write: no lease row, no WAL switch
    assert rows(bot) == before
    assert listing(bot.parent) == ["bot.db", "bot.paper.db"]


NAMED = {"header": "integrity_check: ", "type": "integrity_check: ", "chain_id": "integrity_check: ",
         "order_id": "integrity_check: ", "status": "integrity_check: ", "kind": "without its LOSS row",
         "amount_cents": "total differs from the ledger", "total_profit_cents": "total differs from the ledger"}


@pytest.mark.parametrize("table,target", TARGETS, ids=[f"{t}.{c}" for t, c in TARGETS])
def test_verify_names_a_flipped_byte_and_exits_1(bot: Path, cli, table: str, target: str):
    flip_at(bot, table, target, 2).apply(bot)
    digest = sha256(bot)

    result = cli("verify", "--db", bot.name, "--json")

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    verdict = json.loads(result.stdout)
    assert not verdict["ok"] and NAMED[target] in verdict["problems"][0]["problem"], verdict["problems"][:3]
    assert sha256(bot) == digest and listing(bot.parent) == ["bot.db", "bot.paper.db"]


def test_verify_lists_the_problems_of_a_file_too_damaged_to_read_whole(bot: Path, cli):
    flips = [flip_at(bot, "bookings", "header", seed) for seed in range(6)]
    for flip in flips:  # page headers: the ledger's queries cannot read every row any more
        flip.apply(bot)

    result = cli("verify", "--db", bot.name)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "integrity_check: " in result.stdout and "Traceback" not in result.stderr
    assert "not checked (" in result.stdout  # the checks the damage stopped are listed, not raised
    assert result.stderr == ""


@pytest.mark.parametrize("table,target", [("deals", "header"), ("quotes", "symbol")])
def test_the_demo_refuses_a_damaged_paper_file_with_one_line(bot: Path, cli, table: str, target: str):
    paper = bot.with_name("bot.paper.db")
    flip_at(paper, table, target, 0).apply(paper)
    digests = sha256(bot), sha256(paper)

    result = cli("demo", "--db", bot.name, "--ticks", "900")

    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: the paper broker file {paper.name} is damaged ("), lines
    assert (sha256(bot), sha256(paper)) == digests


def test_the_demo_refuses_a_paper_deal_it_cannot_read_with_one_line_before_the_run(bot: Path, cli):
    paper = bot.with_name("bot.paper.db")
    price = next(f for f in fields(paper, "deals") if f.column == column_index(paper, "deals", "close_price"))
    Flip("deals.close_price", price.offset + 1, 0x40).apply(paper)  # a digit becomes a letter
    assert pragma_check(paper, "integrity_check") == "ok"
    digests = sha256(bot), sha256(paper)

    result = cli("demo", "--db", bot.name, "--ticks", "900")

    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines  # not "the broker adapter's closed_deals failed" in the middle of a run
    assert lines[0].startswith(f"error: the paper broker file {paper.name} is damaged (a value it cannot read"), lines
    assert (sha256(bot), sha256(paper)) == digests
