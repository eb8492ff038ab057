"""The package's error root and its typed children.

Every error the public API raises on purpose derives from :class:`ProfitBookingError`, so a
caller can catch one type; SQLAlchemy and sqlite errors are translated at the store boundary.
"""

from __future__ import annotations


class ProfitBookingError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidInputError(ProfitBookingError, ValueError):
    """An argument was malformed: bad direction, amount, symbol, id or setting."""


class UnknownSymbolError(InvalidInputError):
    """The symbol is not in the configured symbol table."""


class ChainNotFoundError(ProfitBookingError, LookupError):
    """No chain has the given id."""


class UnknownOrderError(ProfitBookingError, LookupError):
    """A close or stop names an order id the chain does not know."""


class DuplicateChainError(ProfitBookingError):
    """A chain already exists for this Order B (or with this chain id)."""


class ChainFinalError(ProfitBookingError):
    """The chain is COMPLETED, STOPPED or CANCELLED and accepts no further events."""

    def __init__(self, message: str, status: object = None) -> None:
        super().__init__(message)
        self.status = status


class AlreadyBookedError(ProfitBookingError):
    """The order already has a row in the bookings ledger."""


class ConcurrentUpdateError(ProfitBookingError):
    """The chain changed in the database since it was read (another process wrote it)."""


class StoreError(ProfitBookingError):
    """The database could not be opened or used."""


class ConstraintError(StoreError):
    """The database refused a change for one of its constraints."""


class DatabaseMissingError(StoreError, FileNotFoundError):
    """A read-only command was pointed at a database file that does not exist."""


class NotADatabaseError(StoreError):
    """The file exists but is not a profit_booking database."""


class UnsafePathError(StoreError):
    """A SQLite file's path is refused before anything opens it: a symbolic link at the file or
    beside it (``-wal``, ``-shm``, ``-journal``), a name the file system or SQLite cannot hold, or
    a file another user owns opened to write."""


class SchemaVersionError(StoreError):
    """The database was written by a schema version this code cannot open."""


class UpgradeNeededError(SchemaVersionError):
    """The database is of an older schema version: ``profit-booking db upgrade`` brings it up."""


class ConfigError(InvalidInputError):
    """The settings are inconsistent or malformed."""


class DatabaseBusyError(StoreError):
    """Another live process holds the SQLite file's writer lease."""


class LeaseLostError(StoreError):
    """Another process took the SQLite file's writer lease from this one (it was frozen or
    stalled past the lease's time to live): this store writes nothing more."""


class EngineHeldError(StoreError):
    """Another live process runs this engine id on the database (PostgreSQL's engine lock); the
    message names it."""


class DatabaseDamagedError(StoreError):
    """The database file failed its integrity check."""


class StoredValueError(DatabaseDamagedError):
    """A stored value no longer parses as its column's type (bytes no check ties to another
    value): ``column`` (``table.column``) and the ``value`` as stored."""

    def __init__(self, column: str, value: object) -> None:
        super().__init__(f"a stored value it cannot read: {column} holds {value!r}")
        self.column, self.value = column, value


class BrokerError(ProfitBookingError):
    """The broker refused or failed an order, or reported something the package cannot use.

    ``retryable`` says whether the same request may succeed later (the engine retries an
    intent on a later tick either way; a bot can use it to decide how loudly to report);
    ``retcode`` is the broker's own return code when it gave one.
    """

    retryable: bool = True

    def __init__(self, message: str, *, retcode: int | None = None) -> None:
        super().__init__(message)
        self.retcode = retcode


class BrokerUnavailableError(BrokerError):
    """A transient failure: no connection, a timeout, too many requests, a requote or a moved
    price. The same request may succeed later."""

    retryable = True


class OrderRejectedError(BrokerError):
    """The broker refused the request as it stands: invalid stops or volume, no money, the
    market closed, trading disabled. Sent again unchanged it fails again."""

    retryable = False


class BrokerAdapterError(BrokerError):
    """A broker adapter raised something of its own (not a BrokerError) or answered with a
    value of the wrong type; contained at the broker boundary."""
