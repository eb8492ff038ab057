"""Untrusted ids, prices and metadata are bounded and typed, and refused with InvalidInputError."""

from __future__ import annotations

from types import SimpleNamespace

import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import pytest

from profit_booking import InvalidInputError, ProfitBookingError
from profit_booking.domain.inputs import (
    MAX_ID_LENGTH, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, json_metadata, positive_decimal, require_id,
)


class Logic(Enum):
    ONE = "LOGIC1"


def nested(depth: int) -> dict:
    """A dict ``depth`` dicts deep, built without recursion."""
    root = leaf = {}
    for _ in range(depth - 1):
        leaf["x"] = leaf = {}
    return root


# --- ids ---------------------------------------------------------------------------------------


def test_the_id_length_bound_is_128():
    assert MAX_ID_LENGTH == 128


@pytest.mark.parametrize("value, expected", [("order_b_001", "order_b_001"), ("  b1\n", "b1"), ("x" * 128, "x" * 128),
                                             ("ordre-é 7", "ordre-é 7"), (" " + "y" * 128 + " ", "y" * 128)])
def test_good_ids_are_stripped_and_kept(value, expected):
    assert require_id(value, "order_id") == expected


@pytest.mark.parametrize("value", [["b1"], None, 7, b"b1", 7.0, ("b1",)])
def test_non_string_ids_are_refused_naming_field_and_type(value):
    with pytest.raises(InvalidInputError, match=f"^order_b_id must be a string, got {type(value).__name__}$"):
        require_id(value, "order_b_id")


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_blank_ids_are_refused(value):
    with pytest.raises(InvalidInputError, match="plugin_id must be a non-empty string"):
        require_id(value, "plugin_id")


@pytest.mark.parametrize("value", ["a\x00b", "a\tb", "a\x1bb", "a\u2028b", "a\x7fb"])
def test_ids_with_control_characters_are_refused(value):
    with pytest.raises(InvalidInputError, match="order_id must contain only printable characters"):
        require_id(value, "order_id")


@pytest.mark.parametrize("length", [129, 10_000, 1_000_000])
def test_long_ids_are_refused_without_echoing_them(length):
    with pytest.raises(InvalidInputError, match=f"at most {MAX_ID_LENGTH} characters, got {length}$") as raised:
        require_id("x" * length, "order_id")
    assert isinstance(raised.value, ProfitBookingError) and len(str(raised.value)) < 100


def test_id_error_messages_are_truncated():
    with pytest.raises(InvalidInputError) as raised:
        require_id("\x00" * 100, "order_id")
    assert len(str(raised.value)) < 120 and str(raised.value).endswith("...")


# --- prices and lots ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected", [("1.08512", "1.08512"), (1.08512, "1.08512"), (" 0.01 ", "0.01"), (2, "2")]
)
def test_positive_decimals_keep_their_places(value, expected):
    assert positive_decimal(value, "stop_price") == Decimal(expected)


@pytest.mark.parametrize("value", ["7_00", "٧", "７", "1e3", "inf", Decimal("NaN"), float("inf"), True, [7], "0", -1.5])
def test_positive_decimals_use_the_strict_parser(value):
    with pytest.raises(InvalidInputError, match="^stop_price "):
        positive_decimal(value, "stop_price")


def test_a_megabyte_price_is_refused_fast():
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match="plain decimal text"):
        positive_decimal("1" * 1_000_000, "stop_price")
    assert time.perf_counter() - started < 0.5


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_bounds_are_as_documented():
    assert (MAX_METADATA_DEPTH, MAX_METADATA_BYTES) == (16, 16384)


def test_no_metadata_is_an_empty_fresh_dict():
    first, second = json_metadata(None), json_metadata(None)
    assert first == {} and first is not second


def test_metadata_odd_scalars_become_strings_in_a_fresh_copy():
    inner = {"price": Decimal("1.10250"), "at": datetime(2026, 1, 15, tzinfo=UTC), "day": date(2026, 1, 15)}
    given = {"logic": Logic.ONE, "signal": inner, "levels": (1, 2.5, None, True)}
    stored = json_metadata(given)
    assert stored == {
        "logic": "LOGIC1",
        "signal": {"price": "1.10250", "at": "2026-01-15T00:00:00+00:00", "day": "2026-01-15"},
        "levels": [1, 2.5, None, True],
    }
    assert stored["signal"] is not inner and given["signal"]["price"] == Decimal("1.10250")


def test_metadata_at_the_depth_bound_is_accepted():
    assert json_metadata(nested(MAX_METADATA_DEPTH)) == nested(MAX_METADATA_DEPTH)
    assert json_metadata({"a": [[[]]]}) == {"a": [[[]]]}


@pytest.mark.parametrize("depth", [MAX_METADATA_DEPTH + 1, 5_000, 100_000])
def test_deep_metadata_is_refused_without_recursion(depth):
    with pytest.raises(InvalidInputError, match=f"at most {MAX_METADATA_DEPTH} levels deep"):
        json_metadata(nested(depth))


def test_deep_lists_are_refused_too():
    deep: list = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(InvalidInputError, match="levels deep"):
        json_metadata({"a": deep})


def test_self_referencing_metadata_is_refused():
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(InvalidInputError, match="metadata"):
        json_metadata(loop)


def test_metadata_right_at_the_size_bound_is_accepted():
    padding = MAX_METADATA_BYTES - len(json.dumps({"a": ""}))
    assert json_metadata({"a": "x" * padding}) == {"a": "x" * padding}


@pytest.mark.parametrize(
    "value",
    [{"a": "x" * MAX_METADATA_BYTES}, {"x" * 20_000: 1}, {"a": list(range(10_000))}, {"a": [0] * 10_000_000},
     {str(i): i for i in range(5_000)}, {"a": "é" * 3_000}],
    ids=["long-string", "long-key", "encoded-too-long", "ten-million-items", "many-keys", "escaped-non-ascii"],
)
def test_metadata_over_16_kib_is_refused(value):
    with pytest.raises(InvalidInputError, match=f"metadata must encode to at most {MAX_METADATA_BYTES} bytes"):
        json_metadata(value)


def test_a_huge_container_is_refused_by_the_bounded_walk_before_any_encoding(monkeypatch):
    import profit_booking.domain.inputs as inputs

    encoded: list[object] = []
    monkeypatch.setattr(inputs, "json", SimpleNamespace(dumps=lambda *a, **k: encoded.append(a), loads=json.loads))
    with pytest.raises(InvalidInputError, match="metadata must encode to at most"):
        json_metadata({"a": [0] * 10_000_000})
    assert encoded == []  # ten million items never reach the encoder: the walk's byte budget ran out first


@pytest.mark.parametrize(
    "value, match",
    [
        ({1: "a"}, "metadata keys must be strings, got int"),
        ({"a": {None: 1}}, "metadata keys must be strings, got NoneType"),
        ({("a",): 1}, "metadata keys must be strings, got tuple"),
        ({"a": float("nan")}, "metadata numbers must be finite"),
        ({"a": [float("-inf")]}, "metadata numbers must be finite"),
        ({"a": Decimal("NaN")}, "metadata numbers must be finite"),
        ({"a": "b\x00c"}, "metadata strings must not contain NUL"),
        ({"a\x00": 1}, "metadata strings must not contain NUL"),
        ({"a": object()}, "metadata values must be JSON-serializable, got object"),
        ({"a": {1, 2}}, "metadata values must be JSON-serializable, got set"),
        ({"a": b"bytes"}, "metadata values must be JSON-serializable, got bytes"),
        (["not", "a", "dict"], "metadata must be a dict, got list"),
        ("{}", "metadata must be a dict, got str"),
    ],
)
def test_malformed_metadata_is_refused(value, match):
    with pytest.raises(InvalidInputError, match=match):
        json_metadata(value)


def test_huge_integers_in_metadata_are_refused_not_crashed_on():
    with pytest.raises(InvalidInputError, match="metadata"):
        json_metadata({"a": 10**5_000})
