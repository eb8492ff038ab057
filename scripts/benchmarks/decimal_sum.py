"""decimal_sum: amounts summed as Decimal (ours) and as integer cents (baseline)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from profit_booking.domain.money import from_cents, to_cents

from . import log
from .measure import timed


async def bench_decimal_sum(n: int) -> dict:
    """``n`` amounts summed as Decimal (ours) and as integer cents (baseline); both totals must be exact."""
    log.info("decimal_sum: %d amounts", n)
    amounts = [Decimal(f"7.{c:02d}") for c in range(100)]
    decimals, cents = [amounts[i % 100] for i in range(n)], [700 + i % 100 for i in range(n)]
    (ours, _), (base, _) = await timed([partial(sum, decimals, Decimal("0.00")), partial(sum, cents)])
    total, expected = sum(decimals, Decimal("0.00")), (n // 100) * sum(range(700, 800)) + sum(range(700, 700 + n % 100))
    exact = to_cents(total) == sum(cents) == expected and total == from_cents(expected)
    return {"ours": round(ours, 4), "baseline": round(base, 4), "unit": "s", "ratio": round(ours / base, 3),
            "target": "exact", "ok": exact, "n": n, "total": str(total)}
