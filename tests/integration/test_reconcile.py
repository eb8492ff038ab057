"""Startup reconciliation through ``start_engine``: what happened at the paper broker while the
bot was down is settled, linked, placed or reported before any plugin gets the service. Both
SQLite files (the service's and the paper broker's) are read back with raw SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick, ticket_of
from tests.conftest import read_sql
from tests.integration.test_engine_flow import LOT, T0, open_order_b

STRANGER = "PB-0123456789abcdef-L1-S0-A1"  # our format, a chain no one ever opened
REPORTED = "('UNKNOWN_POSITION', 'DUPLICATE_POSITION', 'MISSING_ORDER', 'FAILED')"


def files(tmp: Path) -> tuple[Path, Path]:
    return tmp / "pb.db", tmp / "paper.db"


def settings_of(tmp: Path, **overrides):
    return load_settings(database_url=f"sqlite+aiosqlite:///{files(tmp)[0]}", **overrides)


async def market(tmp: Path, price: str, seconds: float) -> PaperBroker:
    """The paper broker's file, opened, with one EURUSD quote (a later one than any before)."""
    broker = await PaperBroker.open(files(tmp)[1])
    await broker.tick([Tick("EURUSD", Decimal(price), T0 + timedelta(seconds=seconds))])
    return broker


async def tick_both(broker: PaperBroker, service, price: str, seconds: float) -> None:
    tick = Tick("EURUSD", Decimal(price), T0 + timedelta(seconds=seconds))
    assert await broker.tick([tick]), "the tick closes something at the broker"
    await service.on_ticks([tick])


async def level_one_intents(tmp: Path) -> str:
    """A first run that ends with a BUY chain at level 1, its two intents written (priced) and not
    placed (``engine_places_orders=False``); returns the chain id. Both files are closed."""
    broker = await market(tmp, "1.10000", -1)
    service = await start_engine(settings_of(tmp, engine_places_orders=False), broker)
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    await tick_both(broker, service, "1.10700", 0)  # the Order B's take-profit
    assert chain.level == 1 and [o.status.name for o in service.open_orders(chain.chain_id)] == ["PENDING"] * 2
    await service.aclose()
    await broker.aclose()
    return chain.chain_id


async def place_intent(broker: PaperBroker, pb: Path, client_id: str) -> str:
    """The intent placed at the broker by its client id and recorded prices (the engine's own request)."""
    (tp, sl), = read_sql(pb, f"SELECT target_price, stop_price FROM chain_orders WHERE client_order_id = '{client_id}'")
    return await broker.place(OrderRequest("EURUSD", "BUY", LOT, Decimal(tp), Decimal(sl), client_id))


def findings(pb: Path) -> set[tuple]:
    return set(read_sql(pb, "SELECT kind, chain_id, ticket, client_order_id FROM broker_findings"))


class CountingBroker:
    """The paper broker, recording every client id the engine asks it to place."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker, self.placed = broker, []

    async def place(self, request: OrderRequest) -> str:
        self.placed.append(request.client_order_id)
        return await self.broker.place(request)

    def __getattr__(self, name: str):
        return getattr(self.broker, name)


def utc(stored: str) -> datetime:
    """A timestamp as SQLite holds it (UTC, without an offset)."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


@pytest.mark.parametrize("hunting", [False, True], ids=["sl_hunt_off", "sl_hunt_on"])
async def test_closes_made_while_down_are_settled_with_the_brokers_real_figures(tmp_path, hunting):
    """Two level orders that passed their take-profit and an Order B that passed its stop while the
    bot was down are settled on restart with the paper broker's realised figures (7.35, 7.35,
    -10.35), each with a SETTLED finding; with the hunt off the stopped slot is lost at once (strict
    mode stops the chain), with it on the slot is STOPPED with a running hunt. The level the two
    bookings opened is placed, and its orders are not reported as missing."""
    pb, paper = files(tmp_path)
    settings = settings_of(tmp_path, sl_hunt_enabled=hunting)
    broker = await market(tmp_path, "1.10000", -1)
    service = await start_engine(settings, broker)
    _, up = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    await tick_both(broker, service, "1.10700", 0)  # booked while up; level 1 placed (TP 1.11400)
    stop_ticket, down = await open_order_b(broker, service, "EURUSD", "SELL", "bot-2-B")  # SL 1.11700
    level_one = [o.order_id for o in service.open_orders(up.chain_id)]
    await service.aclose()

    await broker.tick([Tick("EURUSD", Decimal("1.11435"), T0 + timedelta(seconds=10))])  # past both TPs
    await broker.tick([Tick("EURUSD", Decimal("1.11735"), T0 + timedelta(seconds=20))])  # past the SELL's stop
    await broker.aclose()
    assert read_sql(paper, "SELECT count(*) FROM positions") == [(0,)]

    broker = await PaperBroker.open(paper)
    service = await start_engine(settings, broker)
    try:
        deals = {t: (c, why) for t, c, why in read_sql(paper, "SELECT ticket, profit_cents, reason FROM deals")}
        assert sorted(deals[t] for t in level_one) == [(735, "TP"), (735, "TP")]
        assert deals[stop_ticket] == (-1035, "SL")
        ledger = read_sql(pb, "SELECT order_id, kind, amount_cents FROM bookings")
        assert {order_id: cents for order_id, _, cents in ledger} == {t: c for t, (c, _) in deals.items()}
        assert {(o, k) for o, k, _ in ledger if o in (*level_one, stop_ticket)} == {
            (level_one[0], "PROFIT"), (level_one[1], "PROFIT"), (stop_ticket, "LOSS")}

        settled = read_sql(pb, "SELECT chain_id, ticket, detail FROM broker_findings WHERE kind = 'SETTLED'")
        assert sorted((c, t) for c, t, _ in settled) == sorted(
            [(up.chain_id, level_one[0]), (up.chain_id, level_one[1]), (down.chain_id, stop_ticket)])
        detail = {t: json.loads(d) for _, t, d in settled}
        assert (detail[stop_ticket]["amount"], detail[stop_ticket]["booked"]) == ("-10.35", False)
        assert all(detail[t]["amount"] == "7.35" and detail[t]["booked"] for t in level_one)

        chains = {row[0]: row[1:] for row in read_sql(
            pb, "SELECT chain_id, level, status, orders_lost, total_profit_cents FROM chains")}
        assert chains[up.chain_id] == (2, "ACTIVE", 0, 700 + 735 + 735)
        (order_status,), = read_sql(pb, "SELECT status FROM chain_orders WHERE order_id = ?", (stop_ticket,))
        hunts = read_sql(pb, "SELECT chain_id, order_id, status FROM sl_hunts")
        if hunting:  # the stop opens the slot's hunt, its window counted from the broker's close
            assert chains[down.chain_id] == (0, "SL_HUNT", 0, -1035) and order_status == "STOPPED"
            assert hunts == [(down.chain_id, stop_ticket, "RUNNING")]
            [(started, expires)] = read_sql(pb, "SELECT started_at, expires_at FROM sl_hunts")
            assert (utc(started), utc(expires)) == (T0 + timedelta(seconds=20), T0 + timedelta(seconds=20, minutes=30))
        else:  # the slot is lost at once, and strict mode stops the chain
            assert chains[down.chain_id] == (0, "STOPPED", 1, -1035) and order_status == "LOST"
            assert hunts == []
        # the level the restart opened is placed at the broker, by the engine, once
        level_two = read_sql(pb, "SELECT client_order_id, order_id FROM chain_orders WHERE chain_id = ? AND level = 2"
                                 " AND status = 'OPEN'", (up.chain_id,))
        positions = read_sql(paper, "SELECT client_order_id, ticket FROM positions")
        assert len(level_two) == 4 and sorted(level_two) == sorted(positions)
        assert read_sql(pb, f"SELECT kind, ticket FROM broker_findings WHERE kind IN {REPORTED}") == []
    finally:
        await service.aclose()
        await broker.aclose()


async def test_an_intent_the_broker_holds_is_linked_and_one_it_does_not_know_is_placed(tmp_path):
    """An intent placed at the broker whose ticket was never recorded is LINKED to that ticket (OPEN)
    and not sent again; the other intent, unknown to the broker, is PLACED on restart."""
    pb, paper = files(tmp_path)
    chain_id = await level_one_intents(tmp_path)
    held, unknown = f"{chain_id}-L1-S0-A1", f"{chain_id}-L1-S1-A1"
    broker = await PaperBroker.open(paper)
    held_ticket = await place_intent(broker, pb, held)  # the bot died before recording this ticket
    before = read_sql(paper, "SELECT * FROM positions")
    assert len(before) == 1

    port = CountingBroker(broker)
    service = await start_engine(settings_of(tmp_path), port)
    try:
        assert port.placed == [unknown]  # the held intent was never sent again
        positions = dict(read_sql(paper, "SELECT client_order_id, ticket FROM positions"))
        assert set(positions) == {held, unknown} and positions[held] == held_ticket
        assert read_sql(paper, f"SELECT * FROM positions WHERE client_order_id = '{held}'") == before
        orders = read_sql(pb, "SELECT client_order_id, order_id, status FROM chain_orders WHERE level = 1 ORDER BY 1")
        assert orders == [(held, held_ticket, "OPEN"), (unknown, positions[unknown], "OPEN")]
        assert findings(pb) == {("LINKED", chain_id, held_ticket, held),
                                ("PLACED", chain_id, positions[unknown], unknown)}
        assert {service.chain_for_order(t) for t in positions.values()} == {chain_id}
    finally:
        await service.aclose()
        await broker.aclose()


async def test_positions_not_on_record_are_reported_never_adopted(tmp_path):
    """Positions carrying our client ids but no row are UNKNOWN_POSITION (with the chain when it is
    tracked); one whose client id is on record under another ticket is DUPLICATE_POSITION; OPEN
    orders the broker neither holds nor closed are MISSING_ORDER; foreign client ids (Order A's)
    are not reported. Nothing is adopted, nothing is placed or closed."""
    pb, paper = files(tmp_path)
    broker = await market(tmp_path, "1.10000", -1)
    service = await start_engine(settings_of(tmp_path, engine_places_orders=False), broker)
    await broker.place(OrderRequest("EURUSD", "BUY", LOT, None, None, "x-A"))  # an Order A: the bot's own
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-A-B")
    await tick_both(broker, service, "1.10700", 0)
    a, slot0, slot1 = chain.chain_id, f"{chain.chain_id}-L1-S0-A1", f"{chain.chain_id}-L1-S1-A1"
    await service.register_order(a, await place_intent(broker, pb, slot0), slot0)  # placed and recorded
    await service.register_order(a, "555000111", slot1)  # the bot recorded a ticket the broker never had
    ghost = await service.create_chain("combined_v3", "ghost-B", "EURUSD", "SELL")  # never at the broker
    await service.aclose()
    duplicate = await place_intent(broker, pb, slot1)  # the same client id, another ticket
    for client_id in (STRANGER, f"{a}-L1-S3-A1"):
        await broker.place(OrderRequest("EURUSD", "BUY", LOT, None, None, client_id))
    await broker.aclose()
    before = {t: read_sql(paper, f"SELECT * FROM {t} ORDER BY ticket") for t in ("positions", "deals")}
    orders_before = read_sql(pb, "SELECT * FROM chain_orders ORDER BY id")

    broker = await PaperBroker.open(paper)
    service = await start_engine(settings_of(tmp_path), broker)
    try:
        expected = {
            ("UNKNOWN_POSITION", None, ticket_of(STRANGER), STRANGER),
            ("UNKNOWN_POSITION", None, ticket_of("x-A"), "x-A"),  # the engine's position, no chain's: reported
            ("UNKNOWN_POSITION", a, ticket_of(f"{a}-L1-S3-A1"), f"{a}-L1-S3-A1"),
            ("DUPLICATE_POSITION", a, duplicate, slot1),
            ("MISSING_ORDER", a, "555000111", slot1),
            ("MISSING_ORDER", ghost.chain_id, "ghost-B", f"{ghost.chain_id}-L0-S0-A1"),
        }
        assert findings(pb) == expected
        assert {(f.kind.name, f.chain_id, f.ticket, f.client_order_id) for f in service.findings} == expected
        assert read_sql(pb, "SELECT * FROM chain_orders ORDER BY id") == orders_before  # nothing adopted
        for ticket in (duplicate, ticket_of(STRANGER), ticket_of(f"{a}-L1-S3-A1")):
            assert service.chain_for_order(ticket) is None
        assert {t: read_sql(paper, f"SELECT * FROM {t} ORDER BY ticket") for t in ("positions", "deals")} == before
    finally:
        await service.aclose()
        await broker.aclose()


class RecordingPlugin:
    """A plugin that writes down, when it receives the service, what both files and the service hold."""

    def __init__(self, name: str, log: list, tmp: Path, with_resume: bool = True) -> None:
        self.name, self.log, self.tmp, self.seen = name, log, tmp, None
        self.resume = self._resume if with_resume else None  # start_engine skips a missing resume

    def set_profit_booking_service(self, service) -> None:
        pb, paper = files(self.tmp)
        self.log.append(("set", self.name))
        self.seen = {
            "orders": read_sql(pb, "SELECT client_order_id, status, order_id FROM chain_orders WHERE level = 1"),
            "positions": dict(read_sql(paper, "SELECT client_order_id, ticket FROM positions")),
            "file_findings": sorted(read_sql(pb, "SELECT kind, client_order_id FROM broker_findings")),
            "findings": sorted((f.kind.name, f.client_order_id) for f in service.findings),
            "memory": sorted((o.client_order_id, o.status.name, o.order_id) for c in service.get_plugin_chains(
                "combined_v3") for o in service.open_orders(c.chain_id)),
        }

    async def _resume(self) -> None:
        self.log.append(("resume", self.name))


async def test_plugins_get_the_service_only_after_reconciliation_then_resume(tmp_path):
    """When a plugin receives the service the pending intents are already placed at the paper
    broker with their tickets recorded, and the findings are in memory and in the file; every
    plugin is injected before any resumes, in order (a plugin without ``resume`` is skipped)."""
    chain_id = await level_one_intents(tmp_path)
    intents = [f"{chain_id}-L1-S{slot}-A1" for slot in (0, 1)]
    log: list = []
    plugins = [RecordingPlugin("p1", log, tmp_path), RecordingPlugin("p2", log, tmp_path),
               RecordingPlugin("p3", log, tmp_path, with_resume=False)]
    broker = await PaperBroker.open(files(tmp_path)[1])
    service = await start_engine(settings_of(tmp_path), broker, plugins)
    try:
        assert log == [("set", "p1"), ("set", "p2"), ("set", "p3"), ("resume", "p1"), ("resume", "p2")]
        seen = plugins[0].seen
        assert set(seen["positions"]) == set(intents)
        assert sorted(seen["orders"]) == seen["memory"] == [(c, "OPEN", seen["positions"][c]) for c in intents]
        assert seen["findings"] == seen["file_findings"]  # recorded before the hand-over
        assert {("PLACED", c) for c in intents} <= set(seen["findings"])
        assert all(plugin.seen == seen for plugin in plugins)
    finally:
        await service.aclose()
        await broker.aclose()
