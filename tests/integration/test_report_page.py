"""The report's HTML page written from a real SQLite file: self-contained, escaped, written whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profit_booking.errors import InvalidInputError
from profit_booking.report import write_report
from profit_booking.store import open_store

from ..conftest import listing, sqlite_url
from .test_report_data import PLUGINS, fill

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


@pytest.fixture
async def filled(db_path: Path) -> Path:
    await fill(db_path)
    return db_path


async def test_the_page_carries_one_plotly_bundle_and_loads_nothing(filled: Path, tmp_path: Path):
    page = tmp_path / "report.html"
    await write_report(sqlite_url(filled), page)
    text = page.read_text(encoding="utf-8")
    scripts = SCRIPT.findall(text)
    bundles = [body for _, body in scripts if "plotly.js v" in body[:2000]]
    assert len(bundles) == 1 and len(bundles[0]) > 1_000_000
    assert text.index(bundles[0]) < text.index('id="figure-profit"')  # loaded before any chart is drawn
    draws = [body for _, body in scripts if "Plotly.newPlot" in body and body is not bundles[0]]
    assert len(draws) == 4 == len(re.findall(r'id="figure-\w+"', text))
    assert all("src" not in attributes for attributes, _ in scripts)
    assert not re.search(r"<(link|img|iframe)\b", text)


async def test_stored_text_is_escaped_everywhere(filled: Path, tmp_path: Path):
    page = tmp_path / "report.html"
    weird = PLUGINS[1]  # "<b>[/]</script>"
    await write_report(sqlite_url(filled), page, plugin=weird)
    text = page.read_text(encoding="utf-8")
    assert weird not in text and "<i>&amp;</i>" not in text
    assert "<b>&lt;b&gt;[/]&lt;/script&gt;</b>" in text  # the header names the plugin literally
    assert "<td>&lt;i&gt;&amp;amp;&lt;/i&gt;</td>" in text  # a symbol cell, literally
    # plotly draws a subset of HTML in trace names: the name it gets is HTML-escaped (inside JSON)
    assert text.count(r'"name":"&lt;b&gt;[\u002f]&lt;\u002fscript&gt;"') == 3  # profit, bookings, levels


async def test_an_empty_database_makes_a_clear_page_without_charts(db_path: Path, tmp_path: Path):
    await (await open_store(sqlite_url(db_path))).close()
    page = tmp_path / "empty.html"
    report = await write_report(sqlite_url(db_path), page)
    text = page.read_text(encoding="utf-8")
    assert report.empty
    assert "holds no profit chains yet" in text
    assert "<script" not in text and "figure-" not in text


async def test_a_page_that_cannot_be_written_leaves_nothing_behind(filled: Path, tmp_path: Path):
    target = tmp_path / "taken"
    target.mkdir()
    before = listing(tmp_path)
    with pytest.raises(InvalidInputError, match="cannot write"):
        await write_report(sqlite_url(filled), target)
    with pytest.raises(InvalidInputError, match="cannot write"):
        await write_report(sqlite_url(filled), tmp_path / "missing" / "report.html")
    assert listing(tmp_path) == before and listing(target) == []


async def test_an_existing_page_is_replaced_whole(filled: Path, tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text("old", encoding="utf-8")
    await write_report(sqlite_url(filled), page)
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert listing(tmp_path) == sorted(["report.html", filled.name])
