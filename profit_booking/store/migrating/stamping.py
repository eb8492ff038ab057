"""Where a database stands, and running the revisions on a connection inside its transaction.

A file written before the package used Alembic has ``schema_version`` rows but no
``alembic_version`` table: inside the upgrade's transaction it is stamped with the revision of
its highest schema version, then upgraded from there. Every revision records its own
``schema_version`` row, so the two always agree.
"""

from __future__ import annotations

from alembic import command
from alembic.util import CommandError
from sqlalchemy import Connection, inspect, text

from ...errors import NotADatabaseError, SchemaVersionError
from .outcome import DatabaseRevision
from .revisions import Revision, alembic_config, head, is_known, known_revisions, revision_of


def database_revision(label: str, tables: set[str], version: int | None, revision: str | None) -> DatabaseRevision:
    """What a database's ``schema_version`` and ``alembic_version`` say (``schema_version`` 0:
    an empty database, which an upgrade creates from the first revision)."""
    if not tables:
        version = 0
    elif "schema_version" not in tables or version is None:
        raise NotADatabaseError(f"{label} is not a profit_booking database (tables: {', '.join(sorted(tables))})")
    newest = head()
    return DatabaseRevision(label, version, revision, newest.schema_version, newest.revision)


def refuse_newer(found: DatabaseRevision) -> None:
    """A database of a schema this package does not know (a higher version, or a revision it has
    not got) is left alone: checked before anything is written, a backup included."""
    if found.schema_version > found.head_version:
        raise SchemaVersionError(
            f"{found.database} has schema version {found.schema_version}, newer than version {found.head_version} "
            "that this profit_booking writes; upgrade profit_booking to use it"
        )
    if not is_known(found.revision):
        shown = repr(found.revision if len(found.revision or "") <= 40 else f"{(found.revision or '')[:40]}…")
        raise SchemaVersionError(
            f"{found.database} is at revision {shown}, which this profit_booking does not know (its newest is "
            f"{found.head_revision}): a newer profit_booking wrote it; upgrade profit_booking to use it"
        )


def revision_on(conn: Connection, label: str) -> DatabaseRevision:
    """Where the database stands, read on ``conn`` (inside the caller's transaction)."""
    tables = set(inspect(conn).get_table_names())
    version = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() if (
        "schema_version" in tables) else None
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if (
        "alembic_version" in tables) else None
    return database_revision(label, tables, version, revision)


def run_revisions(conn: Connection, label: str, target: str = "head") -> tuple[DatabaseRevision, Revision]:
    """Stamp a pre-Alembic database with its version's revision, then run every revision up to
    ``target`` on ``conn`` (already in the transaction, which the caller commits). Where it
    started is read inside that transaction, so a concurrent upgrade cannot make it stale."""
    found = revision_on(conn, label)
    refuse_newer(found)
    config = alembic_config()
    config.attributes["connection"] = conn
    try:
        if found.revision is None and found.schema_version > 0:
            command.stamp(config, revision_of(found.schema_version).revision)
        command.upgrade(config, target)
    except CommandError as exc:  # inside the transaction: the caller rolls it back
        raise SchemaVersionError(f"cannot upgrade {label} to {target!r}: {' '.join(str(exc).split())}") from None
    [reached] = [known for known in known_revisions() if known.revision == _stamped(conn)]
    return found, reached


def _stamped(conn: Connection) -> str:
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    return str(revision)
