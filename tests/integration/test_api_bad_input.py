"""Every bad input through the public API on a real SQLite file: a typed answer, nothing written.

Each case dumps every table before and after the call and asserts they are equal. Refusals are
the package's own errors (all under ``ProfitBookingError``) or refused ``BookingResult``s, never
a ``TypeError``, ``ValueError``, ``RecursionError`` or ``OSError`` from deeper down, and no
message echoes a huge value or a database password back.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import (
    ConfigError, InvalidInputError, ProfitBookingError, StoreError, load_settings, open_service,
)

from ..conftest import dump_database, sqlite_url

HUGE_ID = "x" * 1_000_000
BAD_IDS = {
    "list": ["c1"],
    "int": 17,
    "None": None,
    "1 MB": HUGE_ID,
    "NUL": "ord\x00er",
}
# an underscore, an Arabic-Indic 7, a fullwidth 7, an exponent, three decimal places
BAD_AMOUNTS = ["7_00", "\u0667", "\uff17", "1e3", "7.005"]


@pytest.fixture
async def chain(service):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "b1", 7)  # level 1: two pending intents
    await service.register_order(chain.chain_id, "t1")  # slot 0 is live: every call below could succeed
    return chain


@contextmanager
def nothing_written(db_path: Path, chain) -> Iterator[None]:
    """Assert, once the block ends, that no table of the database and nothing of the chain changed."""
    before = dump_database(db_path)
    state = (chain.level, chain.orders_booked, chain.total_profit, chain.status, chain.version)
    yield
    assert dump_database(db_path) == before
    assert (chain.level, chain.orders_booked, chain.total_profit, chain.status, chain.version) == state


def shown(exc: BaseException) -> str:
    """Every message and repr of an error and of the errors chained to it (what a log could show)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), *traceback.format_exception_only(exc)]
        exc = exc.__cause__ or exc.__context__  # a suppressed context too: stricter than a traceback
    return "\n".join(parts)


def assert_short(message: str) -> None:
    """A refusal names the problem without echoing a huge value back."""
    assert len(message) < 500, len(message)


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


# -- database files and URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(lambda tmp: tmp / ("n" * 300 + ".db"), id="300-character file name"),
        pytest.param(lambda tmp: tmp / "no_such_dir" / "profit_booking.db", id="missing directory"),
        pytest.param(lambda tmp: tmp / "no_such_dir" / "deeper" / "profit_booking.db", id="missing directories"),
    ],
)
@pytest.mark.parametrize("create", [True, False])
async def test_an_unusable_database_path_is_a_store_error(service, chain, db_path, tmp_path: Path, where, create):
    path = where(tmp_path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    with nothing_written(db_path, chain):
        with pytest.raises(StoreError) as raised:
            await open_service(load_settings(database_url=sqlite_url(path)), create=create)
        if create:  # a file that cannot be made is the store's error, not the OS's
            assert not isinstance(raised.value, OSError), type(raised.value).__mro__
        assert_short(str(raised.value))
        assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing created beside it


MALFORMED_URLS = [
    pytest.param("sqlite+aiosqlite://:bad", ConfigError, "not a valid URL", id="sqlite port"),
    pytest.param("nosuchdriver://x", ConfigError, "'nosuchdriver'", id="unknown driver"),
    pytest.param("postgresql+psycopg2://u:secret@h/db", ConfigError, "'postgresql+psycopg2'", id="sync driver"),
    pytest.param("", ConfigError, "non-empty", id="empty"),
    pytest.param("   ", ConfigError, "non-empty", id="blank"),
    pytest.param("sqlite+aiosqlite:///:memory:", ConfigError, "in-memory", id="memory"),
    pytest.param("sqlite+aiosqlite://", ConfigError, "in-memory", id="no file"),
    pytest.param("postgresql+asyncpg://u:secret@127.0.0.1:1/db", StoreError, "cannot open", id="unreachable"),
    pytest.param(
        "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/pb_no_such_database", StoreError, "cannot open",
        id="missing database",
    ),
]


@pytest.mark.parametrize("url, error, why", MALFORMED_URLS)
async def test_a_malformed_database_url_is_a_typed_error_that_hides_the_password(
    service, chain, db_path, url, error, why
):
    with nothing_written(db_path, chain):
        with pytest.raises(error) as raised:
            await open_service(load_settings(database_url=url))
        exc = raised.value
        assert isinstance(exc, ProfitBookingError) and why in str(exc)
        assert "secret" not in shown(exc)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://u:secret@127.0.0.1/db",
        "postgresql+asyncpg://u:secret@127.0.0.1:5432/db?sslmode=require",
        "sqlite+aiosqlite://u:secret@/x.db",
    ],
)
def test_settings_never_show_the_database_password(url):
    settings = load_settings(database_url=url)
    assert settings.database_url == url  # kept, only never shown
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert "secret" not in text and "***" in text


def test_a_settings_error_never_shows_the_database_password():
    with pytest.raises(ConfigError) as raised:
        load_settings(database_url="postgresql+asyncpg://u:secret@127.0.0.1/db", strict_mode="maybe")
    assert "secret" not in shown(raised.value) and "strict_mode" in str(raised.value)
