"""A crash at each step of the flow (intent written, order placed, position closed, close
booked) and a restart end in the same chains, orders, bookings and deals as no crash, with no
order placed twice and none orphaned. Both SQLite files are read back with raw SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0, open_order_b

STEP, TICKS, SPREAD = Decimal("0.00030"), 400, Decimal("0.00012")


class Crash(BaseException):
    """The process dies here (nothing below the crash runs)."""


class CrashingBroker:
    """The paper broker, dying on its ``n``-th placement: before sending it, or just after the
    broker filled it (before the engine could record the ticket)."""

    def __init__(self, broker: PaperBroker, n: int, after: bool) -> None:
        self.broker, self.n, self.after, self.calls = broker, n, after, 0

    async def place(self, request: OrderRequest) -> str:
        self.calls += 1
        if self.calls == self.n and not self.after:
            raise Crash
        ticket = await self.broker.place(request)
        if self.calls == self.n:
            raise Crash
        return ticket

    def __getattr__(self, name: str):
        return getattr(self.broker, name)


def settings(tmp: Path):
    return load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'pb.db'}")


def tick(i: int) -> Tick:
    bid = Decimal("1.10000") + STEP * i
    return Tick("EURUSD", bid, T0 + timedelta(seconds=i), bid + SPREAD)


async def run(tmp: Path, crash: tuple[str, int] | None) -> None:
    """The whole flow; with ``crash``, die once at that point, then restart and go on."""
    broker = await PaperBroker.open(tmp / "paper.db")
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1))])
    kind, n = crash or ("", 0)
    port = CrashingBroker(broker, n, after=kind == "placed") if kind in ("intent", "placed") else broker
    service = await start_engine(settings(tmp), port)
    await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    i, closes = 0, 0
    while i < TICKS:
        try:
            deals = await broker.tick([tick(i)])
            closes += bool(deals)
            if kind == "closed" and deals and closes == n:
                raise Crash  # the broker closed it; the engine never heard
            await service.on_ticks([tick(i)])
            if kind == "booked" and deals and closes == n:
                raise Crash  # booked and placed; nothing else done
        except Crash:
            await service.aclose()  # the process is gone: a new one starts on the same files
            await broker.aclose()
            broker = await PaperBroker.open(tmp / "paper.db")
            service = await start_engine(settings(tmp), broker)
            kind = ""
        i += 1
    await service.aclose()
    await broker.aclose()


def state(tmp: Path) -> dict:
    pb, paper = tmp / "pb.db", tmp / "paper.db"
    return {
        "chains": read_sql(pb, "SELECT chain_id, level, orders_booked, orders_lost, total_profit_cents, status "
                               "FROM chains ORDER BY chain_id"),
        "orders": read_sql(pb, "SELECT client_order_id, kind, status, order_id, target_price, stop_price "
                               "FROM chain_orders ORDER BY client_order_id"),
        "bookings": read_sql(pb, "SELECT order_id, level, slot, kind, amount_cents FROM bookings ORDER BY order_id"),
        "deals": read_sql(paper, "SELECT * FROM deals ORDER BY ticket"),
        "positions": read_sql(paper, "SELECT * FROM positions ORDER BY ticket"),
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    import asyncio

    tmp = tmp_path_factory.mktemp("uninterrupted")
    asyncio.run(run(tmp, None))
    return state(tmp)


def test_the_uninterrupted_flow_completes_the_pyramid(uninterrupted):
    assert [row[-1] for row in uninterrupted["chains"]] == [ChainStatus.COMPLETED.name]
    assert len(uninterrupted["bookings"]) == 31 and len(uninterrupted["deals"]) == 31


@pytest.mark.parametrize(
    "crash",
    [("intent", 1), ("intent", 4), ("placed", 1), ("placed", 5), ("placed", 20), ("closed", 1), ("closed", 3),
     ("booked", 2), ("booked", 4)],
    ids=lambda c: f"{c[0]}-{c[1]}",
)
async def test_a_crash_at_any_step_ends_as_no_crash(tmp_path, uninterrupted, crash):
    await run(tmp_path, crash)
    after = state(tmp_path)
    assert after == uninterrupted
    placed = read_sql(tmp_path / "paper.db", "SELECT client_order_id FROM deals")
    assert len(placed) == len({c for (c,) in placed}) == 31  # none placed twice, none orphaned
    findings = read_sql(tmp_path / "pb.db", "SELECT kind FROM broker_findings")
    if crash[0] in ("placed", "closed"):
        assert findings, "the restart's reconciliation wrote what it did"
