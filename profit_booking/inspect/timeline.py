"""One chain's whole story in time order: its events, orders, ledger rows, SL hunts and broker
findings, each step with the chain's money after it (the running total of its ledger).

Every query reads by ``chain_id`` through that table's index on it, so a chain's timeline costs
the same in a database of a hundred chains as in one of a hundred thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

from ..domain.chain import ProfitChain
from ..errors import ChainNotFoundError
from ..store.mapping import CHAIN_COLUMNS, chain_from_row
from ..store.runner import Row
from ..store.sql_store import SqlStore
from .engines import require_engine
from .source import bookings, chains, events, findings, hunts, orders, plain

# At one instant, the ledger row comes first, then the events it caused, the orders it wrote,
# and what the hunts and reconciliation did.
SOURCES = ("ledger", "event", "order", "hunt", "finding")
CHAIN = select(chains.c.engine_id, *CHAIN_COLUMNS).where(CHAIN_COLUMNS[0] == bindparam("chain_id"))
ROWS_OF = {
    source: select(table).where(table.c.chain_id == bindparam("chain_id")).order_by(table.c.id)
    for source, table in (("order", orders), ("ledger", bookings), ("event", events), ("hunt", hunts),
                          ("finding", findings))
}


@dataclass(frozen=True)
class Step:
    """One thing that happened to the chain: when, from which table, what, and the chain's
    ledger total after it (``amount``: the ledger row's own amount)."""

    at: datetime
    source: str
    kind: str
    level: int | None
    detail: dict[str, Any]
    total: Decimal = Decimal(0)
    amount: Decimal | None = None
    row_id: int = 0

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return plain({
            "at": self.at, "source": self.source, "kind": self.kind, "level": self.level,
            "amount": self.amount, "total": self.total, "detail": self.detail,
        })


@dataclass(frozen=True)
class Timeline:
    """A chain as stored (with the engine that owns it), its rows by table, and its steps in time order."""

    chain: ProfitChain
    engine_id: str = ""
    orders: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    hunts: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def ledger_total(self) -> Decimal:
        """The sum of the chain's ledger rows."""
        return sum((row["amount_cents"] for row in self.ledger), start=Decimal(0))

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "engine_id": self.engine_id,
            "chain": self.chain.to_record(),
            "ledger_total": str(self.ledger_total),
            "orders": [plain(row) for row in self.orders],
            "ledger": [plain(row) for row in self.ledger],
            "sl_hunts": [plain(row) for row in self.hunts],
            "findings": [plain(row) for row in self.findings],
            "steps": [step.to_record() for step in self.steps],
        }


async def read_timeline(store: SqlStore, chain_id: str, engine_id: str | None = None) -> Timeline:
    """The chain's timeline, read at one instant; :class:`ChainNotFoundError` when no such chain
    (or, given ``engine_id``, when the chain is another engine's)."""
    async with store.reading() as run:
        await require_engine(run, engine_id, store.label)
        found = await run.fetch(CHAIN, {"chain_id": chain_id})
        if not found:
            raise ChainNotFoundError(f"no chain {chain_id!r} in the database")
        if engine_id is not None and found[0][0] != engine_id:
            raise ChainNotFoundError(f"chain {chain_id!r} is engine {found[0][0]!r}'s, not {engine_id!r}'s")
        tables = {}
        for source, query in ROWS_OF.items():
            rows = await run.fetch(query, {"chain_id": chain_id})
            tables[source] = [_record(query.selected_columns.keys(), row) for row in rows]
    timeline = Timeline(
        chain_from_row(found[0][1:]), found[0][0], tables["order"], tables["ledger"], tables["hunt"], tables["finding"]
    )
    timeline.steps.extend(_with_totals(_steps(tables)))
    return timeline


def _record(keys: list[str], row: Row) -> dict[str, Any]:
    return dict(zip(keys, row, strict=True))


def _steps(tables: dict[str, list[dict[str, Any]]]) -> list[Step]:
    steps = [_ledger_step(row) for row in tables["ledger"]]
    steps += [Step(row["at"], "event", row["kind"], row["level"], row["data"], row_id=row["id"])
              for row in tables["event"]]
    for row in tables["order"]:
        steps.extend(_order_steps(row))
    for row in tables["hunt"]:
        steps.extend(_hunt_steps(row))
    steps += [
        Step(row["at"], "finding", row["kind"].name, None,
             {"ticket": row["ticket"], "client_order_id": row["client_order_id"], **row["detail"]}, row_id=row["id"])
        for row in tables["finding"]
    ]
    return sorted(steps, key=lambda s: (s.at, SOURCES.index(s.source), s.row_id))


def _ledger_step(row: dict[str, Any]) -> Step:
    detail = {"order_id": row["order_id"], "slot": row["slot"]}
    return Step(row["booked_at"], "ledger", row["kind"].name, row["level"], detail,
                amount=row["amount_cents"], row_id=row["id"])


def _order_steps(row: dict[str, Any]) -> list[Step]:
    """An order is written once (as an intent, or as the Order B) and updated to its last state."""
    detail = {
        "client_order_id": row["client_order_id"], "ticket": row["order_id"], "slot": row["slot"],
        "attempt": row["attempt"], "order_kind": row["kind"].name, "target_price": row["target_price"],
        "stop_price": row["stop_price"],
    }
    written = Step(row["created_at"], "order", "written", row["level"], detail, row_id=row["id"])
    if row["updated_at"] == row["created_at"]:
        return [Step(written.at, "order", row["status"].name, row["level"], detail, row_id=row["id"])]
    return [written, Step(row["updated_at"], "order", row["status"].name, row["level"], detail, row_id=row["id"])]


def _hunt_steps(row: dict[str, Any]) -> list[Step]:
    detail = {
        "slot": row["slot"], "attempt": row["attempt"], "stopped_order": row["order_id"],
        "stop_price": row["stop_price"], "trigger_price": row["trigger_price"], "expires_at": row["expires_at"],
    }
    steps = [Step(row["started_at"], "hunt", "started", row["level"], detail, row_id=row["id"])]
    if row["triggered_at"] is not None:
        steps.append(Step(row["triggered_at"], "hunt", "triggered", row["level"], detail, row_id=row["id"]))
    if row["closed_at"] is not None:
        ended = detail | {"loss": row["loss_cents"], "won_back": row["won_back_cents"]}
        steps.append(Step(row["closed_at"], "hunt", row["status"].name, row["level"], ended, row_id=row["id"]))
    return steps


def _with_totals(steps: list[Step]) -> list[Step]:
    total = Decimal(0)
    out = []
    for step in steps:
        total += step.amount or 0
        out.append(Step(step.at, step.source, step.kind, step.level, step.detail, total, step.amount, step.row_id))
    return out
