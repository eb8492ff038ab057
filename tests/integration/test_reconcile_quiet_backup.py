"""A copy of the database taken at a quiet moment, when every chain it held had ended, still
sees what the broker did after it: restored, the start-up reads the broker's history from the
newest chain's opening (there is no unfinished chain to read it from) and reports every deal of
a chain opened since as UNKNOWN_DEAL, with the BEHIND_BROKER note. Both SQLite files are read
back with raw SQL (``tests/contract/test_restore_backup_postgres.py`` runs the same scenario on
PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from profit_booking.bootstrap import start_engine
from profit_booking.broker import PaperBroker, Tick
from profit_booking.config import ProfitBookingSettings
from profit_booking.domain.orders import parse_client_order_id
from profit_booking.usecases.reconciling import LOOK_BACK
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0, open_order_b
from tests.integration.test_reconcile import files, market, settings_of, tick_both

LATER = LOOK_BACK * 2  # beyond any look-back from the broker's clock: only the newest chain's opening finds the deals


@dataclass(frozen=True)
class Quiet:
    """What the scenario left: the chain the copy held (ended), the chain opened after it, and
    the tickets of the deals of ours the broker closed for that later chain."""

    first: str
    later: str
    lost: frozenset[str]


async def quiet_backup_restored(
    settings: ProfitBookingSettings, paper: Path, save: Callable[[], Awaitable[None]],
    put_back: Callable[[], Awaitable[None]],
) -> Quiet:
    """A SELL chain stopped (strict, no hunt: it ends), the database saved, a BUY chain opened
    and booked, its level closed at the broker while the bot was down, the copy put back and the
    engine started on it long after (its findings written); every file closed."""
    broker = await market(paper.parent, "1.10000", -1)
    service = await start_engine(settings, broker)
    _, first = await open_order_b(broker, service, "EURUSD", "SELL", "bot-1-B")
    await tick_both(broker, service, "1.11100", 0)  # past the SELL's stop
    assert first.status.name == "STOPPED"
    await service.aclose()
    await save()  # the quiet moment: no chain unfinished

    service = await start_engine(settings, broker)
    _, later = await open_order_b(broker, service, "EURUSD", "BUY", "bot-2-B")
    [(tp,)] = read_sql(paper, "SELECT take_profit FROM positions WHERE client_order_id = 'bot-2-B'")
    await tick_both(broker, service, tp, 10)  # booked; its level 1 placed
    [level_tp] = {o.target_price for o in service.open_orders(later.chain_id)}
    await service.aclose()
    closed = await broker.tick([Tick("EURUSD", level_tp + Decimal("0.0001"), T0 + timedelta(seconds=20))])
    assert len(closed) == 2  # the level closed while the bot was down
    await broker.tick([Tick("EURUSD", level_tp, T0 + LATER)])  # the restart comes long after
    await broker.aclose()
    await put_back()

    broker = await PaperBroker.open(paper)
    service = await start_engine(settings, broker)
    await service.aclose()
    await broker.aclose()
    lost = {t for t, c in read_sql(paper, "SELECT ticket, client_order_id FROM deals")
            if (parsed := parse_client_order_id(c)) is not None and parsed[0] == later.chain_id}
    assert len(lost) == 2
    return Quiet(first.chain_id, later.chain_id, frozenset(lost))


def assert_reported(quiet: Quiet, findings: list[tuple], chains: list[tuple], booked: int) -> None:
    """Every lost deal an UNKNOWN_DEAL, the BEHIND_BROKER note counting them, nothing booked."""
    unknown = {t: json.loads(d)["note"] for k, t, d in findings if k == "UNKNOWN_DEAL"}
    assert unknown == {t: f"chain {quiet.later} is not in the database" for t in quiet.lost}
    [behind] = [json.loads(d) for k, _, d in findings if k == "BEHIND_BROKER"]
    assert behind["unknown_deals"] == 2 and "the database is behind the broker" in behind["note"]
    assert chains == [(quiet.first,)] and booked == 0


async def test_a_backup_with_every_chain_ended_still_reports_the_deals_of_later_chains(tmp_path):
    pb, paper = files(tmp_path)
    copy = tmp_path / "backup.db"

    async def save() -> None:
        source, target = sqlite3.connect(pb), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    async def put_back() -> None:
        for suffix in ("-wal", "-shm"):
            Path(f"{pb}{suffix}").unlink(missing_ok=True)
        pb.write_bytes(copy.read_bytes())

    quiet = await quiet_backup_restored(settings_of(tmp_path, sl_hunt_enabled=False), paper, save, put_back)

    findings = read_sql(pb, "SELECT kind, ticket, detail FROM broker_findings")
    booked = read_sql(pb, f"SELECT count(*) FROM bookings WHERE order_id IN {tuple(quiet.lost)}")[0][0]
    assert_reported(quiet, findings, read_sql(pb, "SELECT chain_id FROM chains"), booked)
