"""The composition root: open the store → rehydrate → reconcile with the broker → build the
service → inject it into every plugin → only then resume them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from .broker.boundary import BrokerBoundary
from .broker.ports import Broker
from .config import ProfitBookingSettings, load_settings
from .core import Clock, utc_now
from .errors import ConfigError
from .inspect.verify import disagreements
from .service import ProfitBookingService
from .store import open_store


async def open_service(
    settings: ProfitBookingSettings | None = None,
    *,
    clock: Clock = utc_now,
    create: bool = True,
    read_only: bool = False,
    broker: Broker | None = None,
) -> ProfitBookingService:
    """A ready service: database opened (created if ``create``) and judged before anything is
    written to it (on SQLite, a file of up to 16 MB with the full ``integrity_check`` and every
    ledger check ``verify`` runs; a larger one is checked beside the work: ``Store.verify``),
    then every unfinished chain rehydrated.

    Plugins must receive the service from here, never before it returns. ``read_only`` opens
    the database for reports beside a running bot: nothing is created, converted or written,
    and every change is refused. Close the service with ``await service.aclose()``.
    """
    settings = settings or load_settings()
    store = await open_store(
        settings.database_url,
        create=create and not read_only,
        read_only=read_only,
        synchronous=settings.sqlite_synchronous,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        lease_ttl=timedelta(seconds=settings.lease_ttl_seconds),
        consistency=disagreements,
        engine_id=settings.engine_id,
        hold_engine=not read_only,
        standby=settings.engine_standby,
    )
    try:
        service = ProfitBookingService(store, settings, clock=clock, broker=broker)
    except BaseException:
        await store.close()
        raise
    try:
        await store.verify()
        await service.rehydrate()
    except BaseException:
        await service.aclose()
        raise
    return service


async def start_engine(
    settings: ProfitBookingSettings | None,
    broker: Broker,
    plugins: Sequence[Any] = (),
    *,
    create: bool = True,
) -> ProfitBookingService:
    """Start profit booking for a bot: open the store and rehydrate, reconcile with ``broker``
    (closes settled, intents linked or placed, strangers reported), and only then inject the
    service into every plugin and resume them (``await plugin.resume()`` where a plugin has it).

    Operator requests left pending in the inbox run after reconciliation, before the plugins
    resume. Time is the broker's market clock. A plugin never sees a service that has not
    reconciled.
    """
    ids = [pid for pid in (getattr(plugin, "plugin_id", None) for plugin in plugins) if pid is not None]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"two plugins share a plugin_id ({', '.join(ids)}): each must see only its own chains")
    clock = BrokerBoundary(broker).now  # the market clock, as the engine's boundary answers it
    service = await open_service(settings, clock=clock, create=create, broker=broker)
    try:
        await service.reconcile()
        await service.take_requests()  # what operators asked while the bot was down, before plugins act
        for plugin in plugins:
            plugin.set_profit_booking_service(service)
        for plugin in plugins:
            resume = getattr(plugin, "resume", None)
            if resume is not None:
                await resume()
    except BaseException:
        for plugin in plugins:  # none of them may go on with a closed service
            plugin.set_profit_booking_service(None)
        await service.aclose()
        raise
    return service
