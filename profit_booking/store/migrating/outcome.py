"""What ``db current`` and ``db upgrade`` answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .revisions import is_known


@dataclass(frozen=True, slots=True)
class DatabaseRevision:
    """Where a database stands: its schema version, its Alembic revision (``None`` for a file
    written before the package used Alembic: it maps by schema version), and the package's head."""

    database: str
    schema_version: int
    revision: str | None
    head_version: int
    head_revision: str

    @property
    def state(self) -> str:
        """``current``, ``upgrade needed`` or ``newer than this package`` (a higher schema version,
        or a revision this package does not know)."""
        if self.schema_version > self.head_version or not is_known(self.revision):
            return "newer than this package"
        if self.schema_version < self.head_version or self.revision != self.head_revision:
            return "upgrade needed"
        return "current"


@dataclass(frozen=True, slots=True)
class UpgradeOutcome:
    """What an upgrade did: from which version to which, and the backup it made (SQLite)."""

    database: str
    from_version: int | None
    from_revision: str | None
    to_version: int
    to_revision: str
    backup: Path | None

    @property
    def upgraded(self) -> bool:
        """Whether anything was written."""
        return self.from_version != self.to_version or self.from_revision != self.to_revision
