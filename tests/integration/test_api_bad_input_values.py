"""Bad values through the public API on a real SQLite file: malformed batches of closes, amounts
and lots that are not plain decimal text, metadata too deep, cyclic or large; a typed answer, nothing written.

Each case dumps every table before and after the call and asserts they are equal. Refusals are
the package's own errors (all under ``ProfitBookingError``) or refused ``BookingResult``s, never
a ``TypeError``, ``ValueError``, ``RecursionError`` or ``OSError`` from deeper down, and no
message echoes a huge value or a database password back.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import InvalidInputError

from .bad_input_helpers import assert_short, nothing_written

# an underscore, an Arabic-Indic 7, a fullwidth 7, an exponent, three decimal places
BAD_AMOUNTS = ["7_00", "\u0667", "\uff17", "1e3", "7.005"]


# -- malformed batches of closes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "closes, refusals, why",
    [
        (None, 1, "closes must be a list"),
        ("ab", 1, "closes must be a list"),
        (b"ab", 1, "closes must be a list"),
        (7, 1, "closes must be a list"),
        ([("a",)], 1, "each close must be an (order_id, amount) pair"),
        ([("a", 7, 8)], 1, "each close must be an (order_id, amount) pair"),
        ([("t1", 7), ("a",)], 2, "each close must be an (order_id, amount) pair"),
        (["ab"], 1, "each close must be an (order_id, amount) pair"),
        ([()], 1, "each close must be an (order_id, amount) pair"),
        ([None], 1, "each close must be an (order_id, amount) pair"),
    ],
)
async def test_book_profits_refuses_malformed_batches_with_results(service, chain, db_path, closes, refusals, why):
    with nothing_written(db_path, chain):
        results = await service.book_profits(chain.chain_id, closes)
        assert len(results) == refusals
        for result in results:
            assert not result.success and why in result.error
            assert (result.profit_amount, result.new_level, result.chain_advanced) == (Decimal("0.00"), 1, False)
            assert isinstance(result.order_id, str)


async def test_an_empty_batch_books_nothing_and_writes_nothing(service, chain, db_path):
    with nothing_written(db_path, chain):
        assert await service.book_profits(chain.chain_id, []) == []


# -- amounts and lots that are not plain decimal text ---------------------------------------------


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_book_profit_refuses_amounts_that_are_not_plain_cents(service, chain, db_path, amount):
    with nothing_written(db_path, chain):
        result = await service.book_profit(chain.chain_id, "t1", amount)
        assert not result.success and "profit_amount" in result.error
        assert result.profit_amount == Decimal("0.00")


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_start_sl_hunt_refuses_a_loss_that_is_not_plain_cents(service, chain, db_path, amount):
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match="loss"):
            await service.start_sl_hunt(chain.chain_id, "t1", loss=amount)


@pytest.mark.parametrize("lot", ["1_0", *BAD_AMOUNTS[1:3], "1e1", "0.001"])
async def test_create_chain_refuses_a_lot_that_is_not_plain_cents(service, chain, db_path, lot):
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match="lot"):
            await service.create_chain("combined_v3", "b2", "EURUSD", "BUY", lot=lot)
        assert service.get_plugin_chains("combined_v3") == [chain]


# -- metadata ------------------------------------------------------------------------------------


def nested_dicts(depth: int) -> dict:
    metadata: dict = {}
    for _ in range(depth):
        metadata = {"k": metadata}
    return metadata


def nested_lists(depth: int) -> dict:
    inner: list = []
    for _ in range(depth):
        inner = [inner]
    return {"k": inner}


def self_containing() -> dict:
    metadata: dict = {}
    metadata["me"] = metadata
    return metadata


METADATA = {
    "dicts 5000 deep": (lambda: nested_dicts(5000), "nest at most"),
    "lists 5000 deep": (lambda: nested_lists(5000), "nest at most"),
    "17 levels": (lambda: nested_dicts(17), "nest at most"),
    "a cycle": (self_containing, "metadata"),
    "a 17 KiB string": (lambda: {"blob": "x" * 17 * 1024}, "16384 bytes"),
    "a 17 KiB key": (lambda: {"k" * 17 * 1024: 1}, "16384 bytes"),
    "2,000 small keys": (lambda: {f"key{i:05d}": i for i in range(2000)}, "16384 bytes"),
    "a long list": (lambda: {"l": list(range(20_000))}, "16384 bytes"),
    "escapes past 16 KiB": (lambda: {"u": "\u00e9" * 3000}, "16384 bytes"),  # 6 bytes of JSON each
}


@pytest.mark.parametrize("case", list(METADATA))
async def test_create_chain_refuses_deep_cyclic_or_large_metadata(service, chain, db_path, case):
    build, why = METADATA[case]
    metadata = build()
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match=why) as raised:
            await service.create_chain("combined_v3", "b2", "EURUSD", "BUY", metadata)
        assert_short(str(raised.value))
        assert service.get_plugin_chains("combined_v3") == [chain]
