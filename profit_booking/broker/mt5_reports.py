"""MetaTrader 5 records read once into plain values, and turned into the ports' types.

MT5 answers floats and integer tickets; the ports want ``Decimal`` and text. A float becomes
``Decimal(str(x))`` (its shortest repr) rounded to the symbol's digits for a price and to cents
for money. Each record's fields are read exactly once (over an RPyC link every read is a round
trip).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from ..domain.pricing import SymbolSpec
from .mt5_clock import ServerClock
from .ports import Position, Tick

CENT = Decimal("0.01")
BUY, SELL = 0, 1  # ORDER_TYPE_*, POSITION_TYPE_* and DEAL_TYPE_* agree on these
DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_OUT_BY = 0, 1, 3
DEAL_REASON_SL, DEAL_REASON_TP = 4, 5


def price(value: float | Decimal, digits: int | None) -> Decimal:
    """A price as ``Decimal``, rounded to ``digits`` places when they are known."""
    converted = Decimal(str(value))
    return converted if digits is None else converted.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_EVEN)


def beyond(target: Decimal, digits: int | None, side: int) -> Decimal:
    """A take-profit on the symbol's price grid, rounded away from the entry (up for a BUY, down
    for a SELL): the nearest price at which the close still makes what ``target`` makes."""
    if digits is None:
        return target
    return target.quantize(Decimal(1).scaleb(-digits), ROUND_CEILING if side == BUY else ROUND_FLOOR)


def stop(value: float, digits: int | None) -> Decimal | None:
    """A TP or SL price; MT5's ``0.0`` means none."""
    return None if not value else price(value, digits)


def money(value: Decimal) -> Decimal:
    """An amount rounded to cents."""
    return value.quantize(CENT, ROUND_HALF_EVEN)


def direction(kind: int) -> str:
    """``"BUY"`` or ``"SELL"`` of a position or deal type."""
    return "BUY" if int(kind) == BUY else "SELL"


@dataclass(frozen=True, slots=True)
class DealRow:
    """One ``TradeDeal``, read once."""

    ticket: int
    position_id: int
    time_msc: int
    type: int
    entry: int
    magic: int
    reason: int
    volume: Decimal
    price: float
    commission: Decimal
    swap: Decimal
    profit: Decimal
    fee: Decimal
    symbol: str
    comment: str

    @classmethod
    def read(cls, deal: Any) -> DealRow:
        """The fields the adapter uses of an MT5 deal record."""
        return cls(
            int(deal.ticket), int(deal.position_id), int(deal.time_msc), int(deal.type), int(deal.entry),
            int(deal.magic), int(deal.reason), Decimal(str(deal.volume)), float(deal.price),
            Decimal(str(deal.commission)), Decimal(str(deal.swap)), Decimal(str(deal.profit)),
            Decimal(str(getattr(deal, "fee", 0.0))), str(deal.symbol), str(deal.comment),
        )

    @property
    def trade(self) -> bool:
        """A buy or sell of a position (not a balance, credit or charge record)."""
        return self.type in (BUY, SELL) and self.position_id > 0

    @property
    def opening(self) -> bool:
        """The deal that opened its position."""
        return self.trade and self.entry == DEAL_ENTRY_IN

    @property
    def closing(self) -> bool:
        """A deal that closed (all or part of) its position."""
        return self.trade and self.entry in (DEAL_ENTRY_OUT, DEAL_ENTRY_OUT_BY)

    @property
    def charges(self) -> Decimal:
        """Commission and fee of this deal."""
        return self.commission + self.fee

    @property
    def result(self) -> Decimal:
        """Profit, swap, commission and fee of this deal."""
        return self.profit + self.swap + self.charges


def position_of(record: Any, digits: int | None, clock: ServerClock) -> Position:
    """A ``TradePosition`` as a :class:`Position`; its comment is the client order id it was opened with."""
    return Position(
        ticket=str(int(record.ticket)), client_order_id=str(record.comment), symbol=str(record.symbol),
        direction=direction(record.type), lot=Decimal(str(record.volume)),
        entry_price=price(record.price_open, digits), take_profit=stop(record.tp, digits),
        stop_loss=stop(record.sl, digits), opened_at=clock.to_utc(int(record.time_msc)),
    )


def tick_of(symbol: str, record: Any, digits: int | None, clock: ServerClock) -> Tick | None:
    """A ``Tick`` record as a :class:`Tick` in UTC; ``None`` for an empty one (no bid yet)."""
    bid, ask, time_msc = float(record.bid), float(record.ask), int(record.time_msc)
    if bid <= 0 or time_msc <= 0:
        return None
    at = clock.observe(symbol, time_msc)  # in the offset the tick was stamped in (a DST switch seen once)
    return Tick(symbol, price(bid, digits), clock.to_utc(time_msc) if at is None else at,
                price(ask, digits) if ask > 0 else None)


def spec_of(info: Any, account_currency: str) -> SymbolSpec | None:
    """Pip size and pip value per standard lot from a ``SymbolInfo``.

    A pip is ten points on a 3- or 5-digit quote, one point otherwise; its value is the broker's
    current ``trade_tick_value`` per ``trade_tick_size`` (so a JPY quote's follows the rate). A
    symbol based on the account's currency and quoted in another (USDJPY on a USD account) has
    its profit converted at its own price: the spec says at which (``valued_at``, the bid).
    """
    point, digits = Decimal(str(info.point)), int(info.digits)
    tick_value, tick_size = Decimal(str(info.trade_tick_value)), Decimal(str(info.trade_tick_size))
    if point <= 0 or tick_value <= 0 or tick_size <= 0:
        return None
    pip = point * 10 if digits in (3, 5) else point
    converted = info.currency_base == account_currency != info.currency_profit and info.bid > 0
    return SymbolSpec(
        pip_size=_plain(pip), pip_value_per_std_lot=_plain(tick_value * pip / tick_size),
        valued_at=Decimal(str(info.bid)) if converted else None,
    )


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros, and never in exponent form for a whole number."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal
