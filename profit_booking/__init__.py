"""profit_booking: a durable profit-booking engine for a forex trading bot.

Each Order B opens a profit chain, a pyramid of 1, 2, 4, 8 and 16 orders booked at $7 each;
chains, orders, bookings and SL hunts live in SQLite (or PostgreSQL) and come back on restart.
"""

from __future__ import annotations

import logging

from .bootstrap import open_service, start_engine
from .config import ProfitBookingSettings, load_settings
from .domain.chain import BookingResult, ChainStatus, ProfitChain
from .domain.hunts import HuntStatus, SlHunt
from .domain.orders import OrderKind, OrderStatus, SlotOrder
from .errors import (
    AlreadyBookedError,
    BrokerError,
    ChainFinalError,
    ChainNotFoundError,
    ConcurrentUpdateError,
    ConfigError,
    ConstraintError,
    DatabaseBusyError,
    DatabaseDamagedError,
    DatabaseMissingError,
    DuplicateChainError,
    InvalidInputError,
    LeaseLostError,
    NotADatabaseError,
    ProfitBookingError,
    SchemaVersionError,
    StoreError,
    UnknownOrderError,
    UnknownSymbolError,
    UnsafePathError,
    UpgradeNeededError,
)
from .interface import IProfitBookingCapable
from .manager import ProfitBookingManager
from .running import Stop, run_engine
from .service import ProfitBookingService

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AlreadyBookedError", "BookingResult", "BrokerError", "ChainFinalError", "ChainNotFoundError", "ChainStatus",
    "ConcurrentUpdateError", "ConfigError", "ConstraintError", "DatabaseBusyError", "DatabaseDamagedError",
    "DatabaseMissingError", "DuplicateChainError", "HuntStatus", "IProfitBookingCapable", "InvalidInputError",
    "LeaseLostError", "NotADatabaseError", "OrderKind", "OrderStatus", "ProfitBookingError", "ProfitBookingManager",
    "ProfitBookingService", "ProfitBookingSettings", "ProfitChain", "SchemaVersionError", "SlHunt", "SlotOrder", "Stop",
    "StoreError", "UnknownOrderError", "UnknownSymbolError", "UnsafePathError", "UpgradeNeededError", "load_settings",
    "open_service", "run_engine", "start_engine",
]
