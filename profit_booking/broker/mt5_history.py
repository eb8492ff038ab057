"""Closed positions read from MT5's deal history.

A position's close is its OUT (or OUT_BY) deal, matched to the position by ``position_id``. Who
opened it comes from its opening IN deal, never from the closing deal: the server rewrites that
one's comment (``"[tp 1.09500]"``) and a close by hand carries no magic. The IN deal is taken
from the queried window, else from an earlier query (kept by position), else asked for with
``history_deals_get(position=...)``; only positions opened with our magic are reported.

A position closed in parts is reported once, when its OUT deals add up to the opening volume.
Its realised figure is the position's net result: every OUT deal's profit + swap + commission +
fee, plus the IN deal's commission + fee (so the charge of opening is not lost), in the account
currency, rounded to cents. The reason is the last OUT deal's: ``DEAL_REASON_TP`` → TP,
``DEAL_REASON_SL`` → SL, anything else (by hand, by an expert, a stop-out) → MANUAL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from .mt5_reports import DEAL_REASON_SL, DEAL_REASON_TP, DealRow, money, price
from .mt5_terminal import Terminal
from .ports import CloseReason, Deal

MARGIN = 3600  # seconds a query reaches back before ``since``: whole-second stamps, a DST switch not yet seen
_KEPT = 50_000  # opening deals kept in memory


class DealHistory:
    """Closed positions of one magic, with the opening deals seen so far."""

    def __init__(self, magic: int) -> None:
        self.magic = magic
        self._openings: OrderedDict[int, DealRow] = OrderedDict()

    def closed(self, terminal: Terminal, since: datetime | None) -> list[Deal]:
        """Our positions closed at or after ``since`` (all when ``None``), oldest first."""
        start, end = terminal.clock.window(since, MARGIN)
        rows = [DealRow.read(d) for d in terminal.rows("history_deals_get", start, end)]
        self._keep(rows)
        closings: dict[int, list[DealRow]] = {}
        for row in rows:
            if row.closing:
                closings.setdefault(row.position_id, []).append(row)
        terminal.know_offset(row.symbol for outs in closings.values() for row in outs)
        deals = [deal for pid, outs in closings.items() if (deal := self.position_close(terminal, pid, outs))]
        if since is not None:
            deals = [deal for deal in deals if deal.closed_at >= since]
        return sorted(deals, key=lambda deal: (deal.closed_at, int(deal.ticket)))

    def position_close(self, terminal: Terminal, position: int, outs: Sequence[DealRow] = ()) -> Deal | None:
        """The close of ``position`` from its OUT deals (all asked for when ``outs`` may miss some);
        ``None`` when it is not ours, not (fully) closed, or its opening deal cannot be found."""
        opening = self._openings.get(position)
        if opening is None or _volume(outs) < opening.volume:
            every = [DealRow.read(d) for d in terminal.rows("history_deals_get", position=position)]
            self._keep(every)
            opening = self._openings.get(position)
            outs = [row for row in every if row.closing and row.position_id == position]
        if opening is None or opening.magic != self.magic or not outs or _volume(outs) < opening.volume:
            return None
        last = max(outs, key=lambda row: (row.time_msc, row.ticket))
        digits = terminal.digits(opening.symbol)
        reason = {DEAL_REASON_TP: CloseReason.TP, DEAL_REASON_SL: CloseReason.SL}.get(last.reason, CloseReason.MANUAL)
        return Deal(
            ticket=str(position), client_order_id=opening.comment, symbol=opening.symbol,
            close_price=price(last.price, digits), profit=money(sum((row.result for row in outs), opening.charges)),
            reason=reason, closed_at=terminal.clock.to_utc(last.time_msc),
        )

    def opening_of(self, terminal: Terminal, symbol: str, client_id: str, lookback: int) -> DealRow | None:
        """Our opening deal of ``symbol`` commented ``client_id`` in the last ``lookback`` seconds."""
        start, end = terminal.clock.window(terminal.clock.now(), lookback)
        rows = [DealRow.read(d) for d in terminal.rows("history_deals_get", start, end, group=symbol)]
        self._keep(rows)
        found = [row for row in rows if row.opening and row.symbol == symbol and row.magic == self.magic
                 and row.comment == client_id]
        return min(found, key=lambda row: row.time_msc) if found else None

    def _keep(self, rows: Iterable[DealRow]) -> None:
        for row in rows:
            if row.opening:
                self._openings[row.position_id] = row
                self._openings.move_to_end(row.position_id)
        while len(self._openings) > _KEPT:
            self._openings.popitem(last=False)


def _volume(rows: Iterable[DealRow]) -> Decimal:
    return sum((row.volume for row in rows), Decimal(0))
