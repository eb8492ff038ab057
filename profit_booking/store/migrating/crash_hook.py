"""A test hook: ``PROFIT_BOOKING_UPGRADE_KILL`` makes an upgrade send itself SIGKILL mid-way.

``revision:ID`` kills the process right after revision ID ran (inside the transaction, before
the next one); ``statement:N`` kills it just before the N-th SQL statement of the upgrade's
transaction; ``commit`` kills it just before COMMIT. Unset, nothing is installed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Collection, Mapping
from typing import Any

from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Engine, event

KILL_ENV = "PROFIT_BOOKING_UPGRADE_KILL"


def _die(where: str) -> None:
    print(f"upgrade killed {where}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def after_revision(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Alembic's ``on_version_apply`` callback."""
    plan = os.environ.get(KILL_ENV, "")
    if plan.startswith("revision:") and step.up_revision_id == plan.removeprefix("revision:"):
        _die(f"after revision {plan.removeprefix('revision:')}")


def install_statement_hook(engine: Engine) -> None:
    """Count the statements the engine runs; die before the one ``statement:N`` names."""
    plan = os.environ.get(KILL_ENV, "")
    if plan == "commit":
        event.listen(engine, "commit", lambda conn: _die("before commit"))
    if not plan.startswith("statement:"):
        return
    target, seen = int(plan.removeprefix("statement:")), [0]

    def count(*_: object) -> None:
        seen[0] += 1
        if seen[0] == target:
            _die(f"before statement {target}")

    event.listen(engine, "before_cursor_execute", count)
