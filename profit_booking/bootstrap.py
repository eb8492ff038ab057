"""The composition root: open the store, rehydrate, and only then hand out the service."""

from __future__ import annotations

from .config import ProfitBookingSettings, load_settings
from .manager import Clock, ProfitBookingManager, utc_now
from .service import ProfitBookingService
from .store.db import open_database


async def open_manager(
    settings: ProfitBookingSettings | None = None, *, clock: Clock = utc_now, create: bool = True
) -> ProfitBookingManager:
    """The store alone, without rehydrating: for reports that read the database.

    Close it with ``await manager.close()``.
    """
    settings = settings or load_settings()
    database = await open_database(
        settings.database_url,
        create=create,
        synchronous=settings.sqlite_synchronous,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    return ProfitBookingManager(database, settings, clock=clock)


async def open_service(
    settings: ProfitBookingSettings | None = None, *, clock: Clock = utc_now, create: bool = True
) -> ProfitBookingService:
    """A ready service: database opened (created if ``create``), every unfinished chain rehydrated.

    Plugins must receive the service from here, never before it returns. Close it with
    ``await service.aclose()``.
    """
    settings = settings or load_settings()
    manager = await open_manager(settings, clock=clock, create=create)
    service = ProfitBookingService(manager, settings, clock=clock)
    try:
        await service.rehydrate()
    except BaseException:
        await service.aclose()
        raise
    return service
