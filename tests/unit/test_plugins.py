"""The plugin side: signal checks before any order, the use_profit_booking switch, chain
orders, and plugins that share one service seeing only their own chains."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from unittest.mock import AsyncMock, MagicMock

import pytest

from profit_booking import ChainStatus, InvalidInputError, ProfitBookingService, UnknownSymbolError, load_settings
from profit_booking.plugins import (
    BaseLogicPlugin, CombinedV3Plugin, DualOrderResult, IProfitBookingCapable, OrderChainMap, ProfitBookingMixin,
)

SIGNAL = {"symbol": "EURUSD", "signal_type": "BUY", "logic": "LOGIC2"}


class FakePort:
    """The dual-order service: records every signal it is asked to send."""

    def __init__(self, error: str | None = None, prefix: str = "") -> None:
        self.calls: list[dict] = []
        self.error = error
        self.prefix = prefix

    async def create(self, signal: dict) -> DualOrderResult:
        self.calls.append(signal)
        if self.error:
            return DualOrderResult(None, None, error=self.error)
        n = len(self.calls)
        return DualOrderResult(f"{self.prefix}A{n}", f"{self.prefix}B{n}")


def plan_service(**settings: object) -> tuple[ProfitBookingService, MagicMock]:
    """The real service over the plan's mocked five-method manager (memory only)."""
    ids = count(1)
    manager = MagicMock()
    manager.create_profit_chain = AsyncMock(side_effect=lambda *_: f"chain_{next(ids):03d}")
    manager.book_profit = AsyncMock(return_value=True)
    manager.advance_chain_level = AsyncMock()
    manager.start_profit_sl_hunt = AsyncMock(return_value=True)
    return ProfitBookingService(manager, load_settings(**settings)), manager


def plugin(service=None, port=None, **config) -> CombinedV3Plugin:
    p = CombinedV3Plugin(config)
    if service is not None:
        p.set_profit_booking_service(service)
    p.set_dual_order_port(port or FakePort())
    return p


@pytest.mark.parametrize(
    ("signal", "error", "message"),
    [
        ({**SIGNAL, "symbol": "FOOBAR"}, UnknownSymbolError, "unknown symbol 'FOOBAR'"),
        ({**SIGNAL, "signal_type": "HOLD"}, InvalidInputError, "signal_type must be BUY or SELL, got 'HOLD'"),
        ({"symbol": "EURUSD"}, InvalidInputError, "missing required key(s): signal_type"),
        ({"logic": "LOGIC1"}, InvalidInputError, "missing required key(s): symbol, signal_type"),
        ("BUY EURUSD", InvalidInputError, "signal must be a dict, got str"),
        ({**SIGNAL, "when": object()}, InvalidInputError, "must be JSON-serializable"),
    ],
)
async def test_a_bad_signal_is_refused_before_any_order_is_sent(signal, error, message):
    service, manager = plan_service()
    port = FakePort()
    with pytest.raises(error) as raised:
        await plugin(service, port).create_dual_orders(signal)
    assert message in str(raised.value)
    assert port.calls == []
    assert service.get_plugin_chains("combined_v3") == [] and manager.create_profit_chain.await_count == 0


async def test_create_profit_chain_refuses_a_bad_signal_with_a_typed_error():
    service, manager = plan_service()
    with pytest.raises(InvalidInputError, match="missing required key"):
        await plugin(service).create_profit_chain("B1", {"symbol": "EURUSD"})
    assert manager.create_profit_chain.await_count == 0


async def test_unknown_symbol_is_refused_without_a_service_too():
    port = FakePort()
    with pytest.raises(UnknownSymbolError):
        await plugin(None, port).create_dual_orders({**SIGNAL, "symbol": "EURXXX"})
    assert port.calls == []


async def test_dual_orders_open_a_chain_for_order_b_with_the_plan_metadata():
    service, _ = plan_service()
    port = FakePort()
    p = plugin(service, port)
    result = await p.create_dual_orders({**SIGNAL, "symbol": " eurusd ", "signal_type": "buy"})
    assert port.calls == [{**SIGNAL, "symbol": "EURUSD", "signal_type": "BUY"}]
    assert (result.order_a_id, result.order_b_id, result.chain_id) == ("A1", "B1", "chain_001")
    chain = service.get_chain("chain_001")
    assert (chain.plugin_id, chain.symbol, chain.direction, chain.order_b_id) == ("combined_v3", "EURUSD", "BUY", "B1")
    assert chain.metadata == {"logic": "LOGIC2", "original_signal": {**SIGNAL}}
    assert p._order_to_chain.get("B1") == "chain_001"
    assert [c.chain_id for c in await p.get_active_chains()] == ["chain_001"]


@pytest.mark.parametrize("flag", [False, "false", "OFF"])
async def test_use_profit_booking_off_in_the_plugin_config(flag):
    service, manager = plan_service()
    port = FakePort()
    p = plugin(service, port, use_profit_booking=flag)
    result = await p.create_dual_orders(SIGNAL)
    assert len(port.calls) == 1 and result.order_b_id == "B1" and result.chain_id is None
    assert await p.create_profit_chain("B9", SIGNAL) is None
    assert service.get_plugin_chains("combined_v3") == [] and manager.create_profit_chain.await_count == 0
    other = await plugin(service).create_profit_chain("B2", SIGNAL)  # the same service, profit booking on
    booked = await p.on_profit_target_hit(other.chain_id, "B2")
    assert not booked.success and "switched off" in booked.error and booked.profit_amount == 0
    assert await p.on_chain_sl_hit(other.chain_id, "B2") is False
    closed = await p.on_order_b_closed("B2", "PROFIT_TARGET")  # its chain is found, nothing is booked
    assert not closed.success and "switched off" in closed.error
    assert manager.book_profit.await_count == 0 and manager.start_profit_sl_hunt.await_count == 0
    assert (other.level, other.orders_booked, other.status) == (0, 0, ChainStatus.ACTIVE)


async def test_use_profit_booking_off_in_the_settings():
    service, manager = plan_service(use_profit_booking=False)
    port = FakePort()
    p = plugin(service, port)
    assert p.profit_booking_enabled is False
    result = await p.create_dual_orders(SIGNAL)
    assert len(port.calls) == 1 and result.order_b_id == "B1" and result.chain_id is None
    assert result.chain_error is None
    booked = await p.on_profit_target_hit("chain_001", "B1")
    assert not booked.success and "use_profit_booking" in booked.error
    assert manager.create_profit_chain.await_count == 0 and manager.book_profit.await_count == 0


async def test_a_profit_chain_order_opens_no_chain():
    service, manager = plan_service()
    port = FakePort()
    result = await plugin(service, port).create_dual_orders({**SIGNAL, "is_profit_chain_order": True})
    assert len(port.calls) == 1 and result.order_b_id == "B1" and result.chain_id is None
    assert service.get_plugin_chains("combined_v3") == [] and manager.create_profit_chain.await_count == 0


async def test_a_failed_send_opens_no_chain_and_no_port_sends_nothing():
    service, manager = plan_service()
    failed = await plugin(service, FakePort(error="market closed")).create_dual_orders(SIGNAL)
    assert (failed.success, failed.error, failed.chain_id) == (False, "market closed", None)
    bare = CombinedV3Plugin({})
    bare.set_profit_booking_service(service)
    unsent = await bare.create_dual_orders(SIGNAL)
    assert unsent.order_b_id is None and "no dual-order port" in unsent.error
    assert manager.create_profit_chain.await_count == 0


async def test_a_chain_that_fails_after_the_orders_were_sent_is_reported_on_the_result():
    service, _ = plan_service()

    class SameTicket(FakePort):
        async def create(self, signal):
            await super().create(signal)
            return DualOrderResult("A", "B-same")

    p = plugin(service, SameTicket())
    await p.create_dual_orders(SIGNAL)
    result = await p.create_dual_orders({**SIGNAL, "symbol": "GBPUSD"})
    assert result.order_b_id == "B-same" and result.chain_id is None
    assert "already opened chain" in result.chain_error


async def test_two_plugins_on_one_service_see_only_their_own_chains():
    service, manager = plan_service()
    alpha = plugin(service, FakePort(prefix="alpha-"), plugin_id="alpha")
    beta = plugin(service, FakePort(prefix="beta-"), plugin_id="beta")
    a = await alpha.create_dual_orders(SIGNAL)
    b = await beta.create_dual_orders({**SIGNAL, "symbol": "USDJPY", "signal_type": "sell"})
    assert [c.chain_id for c in await alpha.get_active_chains()] == [a.chain_id]
    assert [c.chain_id for c in await beta.get_active_chains()] == [b.chain_id]

    fresh_alpha = plugin(service, plugin_id="alpha")  # empty local map: answers come from the service
    assert fresh_alpha._order_to_chain.get(a.order_b_id) == a.chain_id
    assert fresh_alpha._order_to_chain.get(b.order_b_id) is None and b.order_b_id not in fresh_alpha._order_to_chain
    assert list(fresh_alpha._order_to_chain) == [a.order_b_id]

    assert await fresh_alpha.on_order_b_closed(b.order_b_id, "PROFIT_TARGET") is None
    refused = await alpha.on_profit_target_hit(b.chain_id, b.order_b_id)
    assert not refused.success and "belongs to plugin beta" in refused.error
    assert await alpha.on_chain_sl_hit(b.chain_id, b.order_b_id) is False
    assert manager.book_profit.await_count == 0 and manager.start_profit_sl_hunt.await_count == 0

    booked = await fresh_alpha.on_order_b_closed(a.order_b_id, "profit_target")
    assert booked.success and booked.new_level == 1 and booked.profit_amount == Decimal("7.00")
    assert service.get_chain(b.chain_id).level == 0


async def test_sl_hit_names_the_stopped_order_and_level_intents_are_returned():
    service, _ = plan_service()
    p = plugin(service)
    result = await p.create_dual_orders(SIGNAL)
    spy = AsyncMock(wraps=service.start_sl_hunt)
    service.start_sl_hunt = spy
    assert await p.on_order_b_closed(result.order_b_id, "SL_HIT") is True
    spy.assert_awaited_once_with(result.chain_id, result.order_b_id)
    assert service.get_chain(result.chain_id).status is ChainStatus.SL_HUNT
    assert await p.on_order_b_closed(result.order_b_id, "EXPIRED") is None

    q = plugin(service, plugin_id="q")
    chain = await q.create_profit_chain("QB", SIGNAL)
    intents = await q._create_level_orders(chain.chain_id, 1)
    assert intents == []  # level 0: nothing to place yet
    await q.on_profit_target_hit(chain.chain_id, "QB")
    intents = await q._create_level_orders(chain.chain_id, 1)
    assert [(i.level, i.slot, i.order_id) for i in intents] == [(1, 0, None), (1, 1, None)]


def test_pyramid_config_comes_from_the_service_or_the_plans_defaults():
    assert CombinedV3Plugin({}).get_pyramid_config() == {0: 1, 1: 2, 2: 4, 3: 8, 4: 16}
    service, _ = plan_service(pyramid_levels={0: 1, 1: 3})
    assert plugin(service).get_pyramid_config() == {0: 1, 1: 3}


def test_assigned_dicts_are_wrapped_not_copied_and_the_mixin_must_come_first():
    p = CombinedV3Plugin({"plugin_id": "x"})
    mine: dict[str, str] = {"o1": "c1"}
    p._order_to_chain = mine
    assert isinstance(p._order_to_chain, OrderChainMap)
    p._order_to_chain["o2"] = "c2"
    assert mine == {"o1": "c1", "o2": "c2"} and p._order_to_chain.get("o3") is None
    assert isinstance(p, IProfitBookingCapable) and CombinedV3Plugin({}).plugin_id == "combined_v3"
    with pytest.raises(TypeError, match="before BaseLogicPlugin"):
        type("Wrong", (BaseLogicPlugin, ProfitBookingMixin), {})
    with pytest.raises(InvalidInputError):
        CombinedV3Plugin({"plugin_id": "   "})


async def test_order_b_config_merges_plugin_defaults_with_the_signal():
    p = CombinedV3Plugin({"order_b": {"lot": "0.02", "symbol": "IGNORED"}})
    config = await p.get_order_b_config({**SIGNAL, "is_profit_chain_order": True, "chain_id": "c", "chain_level": 2})
    assert config == {
        "lot": "0.02", "symbol": "EURUSD", "direction": "BUY", "logic": "LOGIC2",
        "is_profit_chain_order": True, "chain_id": "c", "chain_level": 2,
    }
