"""Upgrading a database to the schema this package writes, with the Alembic revisions in
``store/migrations``: SQLite (backed up first, one ``BEGIN IMMEDIATE`` transaction, refused
while a bot holds the writer lease) and PostgreSQL (one transaction under an advisory lock)."""

from __future__ import annotations

from .outcome import DatabaseRevision, UpgradeOutcome
from .revisions import Revision, known_revisions
from .running import read_revision, upgrade_database

__all__ = ["DatabaseRevision", "Revision", "UpgradeOutcome", "known_revisions", "read_revision", "upgrade_database"]
