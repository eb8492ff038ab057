"""Where the fake terminal keeps its state: in memory, or in a JSON file shared by processes.

The file is replaced atomically (temporary file, fsync, ``os.replace``, fsync of the folder) after
every change, and every call runs under an exclusive ``flock`` of ``<file>.lock`` after reloading
the file if another process replaced it, so a test process and the process under test (or one
restarted after a SIGKILL) see one terminal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIRST_ORDER_TICKET = 50_000_001
FIRST_DEAL_TICKET = 20_000_001


def fresh_state(*, balance: float, server_offset_s: int) -> dict[str, Any]:
    """A terminal with no positions, no history and no quotes."""
    return {
        "next_order": FIRST_ORDER_TICKET,
        "next_deal": FIRST_DEAL_TICKET,
        "next_request": 1,
        "balance": balance,
        "positions": {},  # position ticket (text) -> TradePosition fields without price_current/profit
        "deals": [],  # TradeDeal fields
        "orders": [],  # TradeOrder fields (history orders)
        "quotes": {},  # symbol -> {"bid", "ask", "time_msc"} (server time)
        "symbols": {},  # symbol -> the test's overrides of the symbol table
        "settings": {
            "server_offset_s": server_offset_s, "comment_limit": 31, "comment_cut": None, "commission_per_lot": 0.0,
            "history_lag_s": 0.0, "slippage_points": 0, "call_delay": 0.0, "close_fee": 0.0,
        },
        "faults": {"fail_queue": [], "ipc_down": False, "server_down": False},
    }


class Store:
    """The state dict and, with a path, its file."""

    def __init__(self, path: Path | None, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state
        self._seen: tuple[int, int, int] | None = None
        self._thread_lock = threading.RLock()
        self._depth = 0
        if path is not None:
            with self.session():
                if self._seen is None:
                    self.save()

    @contextlib.contextmanager
    def session(self) -> Iterator[dict[str, Any]]:
        """Exclusive use of the state for one call (reloaded first when another process changed it)."""
        with self._thread_lock:
            if self.path is None or self._depth:
                self._depth += 1
                try:
                    yield self.state
                finally:
                    self._depth -= 1
                return
            with open(f"{self.path}.lock", "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._depth += 1
                try:
                    self._reload_if_changed()
                    yield self.state
                finally:
                    self._depth -= 1
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self) -> None:
        """Write the state to the file (no-op in memory), atomically and durably."""
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(self.state, out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self._seen = self._signature()

    def _signature(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        current = self._signature()
        if current is None or current == self._seen:
            return
        assert self.path is not None
        with open(self.path, encoding="utf-8") as src:
            self.state = json.load(src)
        self._seen = current
