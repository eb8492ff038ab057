"""The composition root: open the store, rehydrate, and only then hand out the service."""

from __future__ import annotations

import asyncio

from .config import ProfitBookingSettings, load_settings
from .service import Clock, ProfitBookingService, utc_now
from .store import open_store


async def open_service(
    settings: ProfitBookingSettings | None = None,
    *,
    clock: Clock = utc_now,
    create: bool = True,
    read_only: bool = False,
) -> ProfitBookingService:
    """A ready service: database opened (created if ``create``), its pages checked, every
    unfinished chain rehydrated.

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
    )
    try:
        service = ProfitBookingService(store, settings, clock=clock)
    except BaseException:
        await store.close()
        raise
    try:
        checked, loaded = await asyncio.gather(store.verify(), service.rehydrate(), return_exceptions=True)
        for outcome in (checked, loaded):  # a damaged file explains a failed rehydration: say that first
            if isinstance(outcome, BaseException):
                raise outcome
    except BaseException:
        await service.aclose()
        raise
    return service
