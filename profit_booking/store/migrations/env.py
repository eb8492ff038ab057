"""Alembic's environment: the upgrade hands it one connection already inside its transaction,
so every revision runs in that one transaction and nothing commits in between."""

from __future__ import annotations

from alembic import context

from profit_booking.store.migrating.crash_hook import after_revision

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=False, on_version_apply=after_revision)
with context.begin_transaction():
    context.run_migrations()
