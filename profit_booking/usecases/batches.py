"""A batch of closes that names one order more than once: its first mention counts.

A batch is what one tick brought (``book_profits``). The same order named twice in it is one
close reported twice, so only its first mention (with that mention's amount) goes to the
booking; each later mention is answered as a duplicate within the batch and records nothing,
whatever became of the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from ..core import Core
from ..domain.chain import BookingResult


def first_mentions(closes: Sequence[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """Each order of a batch once, with the amount of its first mention, in the batch's order."""
    firsts: dict[str, Decimal] = {}
    for order_id, amount in closes:
        firsts.setdefault(order_id, amount)
    return list(firsts.items())


def in_batch_order(
    core: Core, chain_id: str, closes: Sequence[tuple[str, Decimal]], results: Mapping[str, BookingResult]
) -> list[BookingResult]:
    """The answer to each close of the batch, in its order: an order's first mention gets what
    its close did (``results``), a later mention is refused as a duplicate within the batch."""
    answers, seen = [], set()
    for order_id, _ in closes:
        if order_id in seen:
            outcome = "booked" if results[order_id].success else "not booked"
            error = f"order {order_id} is a duplicate within this batch: its first close counts, and was {outcome}"
            answers.append(core.refused(order_id, chain_id, error))
        else:
            answers.append(results[order_id])
            seen.add(order_id)
    return answers
