"""The SQLite writer lease's time to live, where the settings and the store both read it."""

from __future__ import annotations

LEASE_TTL_SECONDS = 30
"""The SQLite writer lease's time to live, by default and at most: the operator commands judge a
holder whose row predates the recorded time to live alive within it, so a bot may renew more
often than they assume, never less."""
