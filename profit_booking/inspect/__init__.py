"""Operator reads: what a running bot's database holds, read in one transaction and never written.

Each module answers one question (``status``, ``chains`` and ``stats``, ``timeline``, ``events``,
``export``, ``verify``, ``requests``) from the SQLModel tables through the store's read
transaction, over every engine on the database or one (``engines``); the command line renders them.
"""

from __future__ import annotations

from .events import EventFilter, EventLine, EventPage, read_event_page, read_events
from .export import EXPORTS, export_rows
from .source import read_only_store
from .status import Status, read_status
from .timeline import Step, Timeline, read_timeline
from .verify import Problem, Verdict, verify_database

__all__ = [
    "EXPORTS", "EventFilter", "EventLine", "EventPage", "Problem", "Status", "Step", "Timeline", "Verdict",
    "export_rows", "read_event_page", "read_events", "read_only_store", "read_status", "read_timeline",
    "verify_database",
]
