"""Alembic's environment: the upgrade hands it one connection already inside its transaction,
so every revision runs in that one transaction and nothing commits in between."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
