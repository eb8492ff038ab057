"""The operator's HTML report: aggregates read in SQL, plotly charts, one self-contained page.

``write_report(url, path)`` opens the database read-only (beside a running bot, nothing
created or written), reads the report in one read transaction and writes the page whole
(a temporary file renamed into place), so a failed run never leaves half a page behind.
Charts need the optional extra: ``pip install profit_booking[report]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import masked_url
from ..errors import ConfigError, StoreError
from ..inspect.files import check_target, write_whole
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


async def write_report(url: str, path: Path, plugin: str | None = None, engine: str | None = None) -> ReportData:
    """Read the report from the database at ``url`` (every engine's chains, or ``engine``'s) and
    write it to ``path`` as one HTML file."""
    check_target(path, "report file")
    render = renderer()
    store = await open_store(url, create=False, read_only=True)
    try:
        if not isinstance(store, SqlStore):
            raise StoreError(f"{masked_url(url)} is not a SQL store")
        data = await read_report(store, plugin, engine=engine)
    finally:
        await store.close()
    write_whole(path, lambda sink: sink.write(render(data)))
    return data
