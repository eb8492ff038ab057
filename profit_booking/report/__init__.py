"""The operator's HTML report: aggregates read in SQL, plotly charts, one self-contained page.

``write_report(url, path)`` opens the database read-only (beside a running bot, nothing
created or written), reads the report in one read transaction and writes the page whole
(a temporary file renamed into place), so a failed run never leaves half a page behind.
Charts need the optional extra: ``pip install profit_booking[report]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, InvalidInputError, StoreError
from ..store import open_store
from ..store.sql_store import SqlStore
from .data import read_report
from .model import ReportData

__all__ = ["ReportData", "read_report", "renderer", "write_report"]

Renderer = Callable[[ReportData], str]


def renderer() -> Renderer:
    """The page renderer, or a :class:`ConfigError` saying how to install plotly."""
    try:
        from .page import render_page
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "plotly":
            raise
        raise ConfigError("the report needs plotly: install profit_booking[report]") from None
    return render_page


async def write_report(url: str, path: Path, plugin: str | None = None) -> ReportData:
    """Read the report from the database at ``url`` and write it to ``path`` as one HTML file."""
    render = renderer()
    store = await open_store(url, create=False, read_only=True)
    try:
        if not isinstance(store, SqlStore):
            raise StoreError(f"{url} is not a SQL store")
        data = await read_report(store, plugin)
    finally:
        await store.close()
    write_whole(path, render(data))
    return data


def write_whole(path: Path, text: str) -> None:
    """``text`` in ``path``, all of it or (on an error) the file as it was."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from None
