"""Bad ids through the public API on a real SQLite file: chain ids of the wrong type, and order
and other ids that are huge, hold a NUL or are not text; a typed answer, nothing written.

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

HUGE_ID = "x" * 1_000_000
BAD_IDS = {
    "list": ["c1"],
    "int": 17,
    "None": None,
    "1 MB": HUGE_ID,
    "NUL": "ord\x00er",
}


# -- chain ids of the wrong type -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["list", "int", "None"])
async def test_book_profit_refuses_a_chain_id_that_is_not_a_string(service, chain, db_path, bad):
    with nothing_written(db_path, chain):
        result = await service.book_profit(BAD_IDS[bad], "t1", 7)
        assert (result.success, result.profit_amount, result.chain_advanced) == (False, Decimal("0.00"), False)
        assert "chain_id must be a string" in result.error


@pytest.mark.parametrize("bad", ["list", "int", "None"])
@pytest.mark.parametrize("call", ["start_sl_hunt", "register_order", "cancel_chain"])
async def test_use_cases_raise_invalid_input_for_a_chain_id_that_is_not_a_string(service, chain, db_path, call, bad):
    calls = {
        "start_sl_hunt": lambda cid: service.start_sl_hunt(cid, "t1", loss=10),
        "register_order": lambda cid: service.register_order(cid, "t2"),
        "cancel_chain": lambda cid: service.cancel_chain(cid, "reversal"),
    }
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match="chain_id must be a string"):
            await calls[call](BAD_IDS[bad])


# -- ids: huge, with a NUL, of the wrong type ---------------------------------------------------


@pytest.mark.parametrize("bad", ["1 MB", "NUL", "list", "int"])
async def test_book_profit_refuses_a_bad_order_id(service, chain, db_path, bad):
    with nothing_written(db_path, chain):
        result = await service.book_profit(chain.chain_id, BAD_IDS[bad], 7)
        assert not result.success and "order_id" in result.error
        assert_short(result.error)
        assert len(result.order_id) <= 128


@pytest.mark.parametrize("bad", ["1 MB", "NUL", "list", "int"])
@pytest.mark.parametrize("call", ["create_chain", "register_order", "start_sl_hunt"])
async def test_use_cases_refuse_a_bad_order_id(service, chain, db_path, call, bad):
    calls = {
        "create_chain": lambda oid: service.create_chain("combined_v3", oid, "EURUSD", "BUY"),
        "register_order": lambda oid: service.register_order(chain.chain_id, oid),
        "start_sl_hunt": lambda oid: service.start_sl_hunt(chain.chain_id, oid, loss=10),
    }
    field = "order_b_id" if call == "create_chain" else "order_id"
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match=f"^{field} ") as raised:
            await calls[call](BAD_IDS[bad])
        assert_short(str(raised.value))


@pytest.mark.parametrize("bad", ["1 MB", "NUL"])
async def test_other_ids_refuse_huge_and_nul_text(service, chain, db_path, bad):
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match="plugin_id"):
            await service.create_chain(BAD_IDS[bad], "b2", "EURUSD", "BUY")
        with pytest.raises(InvalidInputError, match="chain_id"):
            await service.cancel_chain(chain.chain_id + BAD_IDS[bad])
        with pytest.raises(InvalidInputError, match="reason"):
            await service.cancel_chain(chain.chain_id, BAD_IDS[bad])
        with pytest.raises(InvalidInputError, match="client_order_id"):
            await service.register_order(chain.chain_id, "t2", BAD_IDS[bad])
