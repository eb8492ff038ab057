"""The revisions this package knows, and which schema version each one writes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from ...errors import SchemaVersionError

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@dataclass(frozen=True, slots=True)
class Revision:
    """One Alembic revision: its id, the schema version it writes and what it changes."""

    revision: str
    schema_version: int
    summary: str


def alembic_config() -> Config:
    """Alembic's configuration, with no ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def known_revisions() -> tuple[Revision, ...]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = []
    for found in reversed(list(script.walk_revisions())):
        summary = (found.module.__doc__ or "").strip().split("\n\n")[0]
        summary = " ".join(summary.replace("``", "`").split())
        revisions.append(Revision(found.revision, found.module.schema_version, summary))
    return tuple(revisions)


def revision_of(schema_version: int) -> Revision:
    """The revision that writes ``schema_version``."""
    for known in known_revisions():
        if known.schema_version == schema_version:
            return known
    raise SchemaVersionError(f"no revision writes schema version {schema_version}")


def head() -> Revision:
    """The newest revision: the schema this package writes."""
    return known_revisions()[-1]


def is_known(revision: str | None) -> bool:
    """Whether ``revision`` is one of this package's (``None``: written before Alembic, known by version)."""
    return revision is None or any(known.revision == revision for known in known_revisions())
