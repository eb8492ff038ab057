"""The SQLite file stays owner-only, and a missing or damaged file is refused and left as it was:
every outcome read back with raw sqlite3."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from profit_booking import DatabaseDamagedError, DatabaseMissingError, NotADatabaseError, open_service
from profit_booking.cli.demo import run_demo
from tests.conftest import listing, umask, mode_of, overwrite, quick_check, read_sql, sha256

PAGE = 4096






# -- 5. owner-only files ----------------------------------------------------------------------


async def test_an_api_open_creates_owner_only_files_even_under_a_permissive_umask(db_path: Path, settings):
    with umask(0):
        service = await open_service(settings)
        try:
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
            sides = [Path(f"{db_path}{suffix}") for suffix in ("", "-wal", "-shm")]
            assert {side.name: mode_of(side) for side in sides} == {side.name: 0o600 for side in sides}
        finally:
            await service.aclose()
    assert mode_of(db_path) == 0o600


async def test_an_existing_database_is_tightened_to_owner_only(db_path: Path, settings):
    await (await open_service(settings)).aclose()
    db_path.chmod(0o640)
    with umask(0):
        service = await open_service(settings)
        try:
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
            assert mode_of(db_path) == 0o600
        finally:
            await service.aclose()
    assert mode_of(db_path) == 0o600
    assert read_sql(db_path, "SELECT order_b_id FROM chains") == [("b1",)]


# -- 6 and 7. missing and damaged files -------------------------------------------------------


async def test_a_read_only_open_of_a_missing_file_raises_and_creates_nothing(tmp_path: Path, db_path: Path, settings):
    with pytest.raises(DatabaseMissingError):
        await open_service(settings, read_only=True)
    assert listing(tmp_path) == []


@pytest.fixture
async def demo_file(db_path: Path, settings) -> Path:
    """A closed database of many pages written by the seeded demo through the API."""
    service = await open_service(settings)
    try:
        await run_demo(service, 7, 200)
    finally:
        await service.aclose()
    assert read_sql(db_path, "PRAGMA page_count")[0][0] >= 20
    assert not Path(f"{db_path}-wal").exists()
    return db_path


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
async def test_a_damaged_page_is_refused_and_the_file_is_left_unchanged(
    tmp_path: Path, demo_file: Path, settings, read_only: bool
):
    pages = demo_file.stat().st_size // PAGE
    overwrite(demo_file, pages // 2 * PAGE, random.Random(1234).randbytes(PAGE))
    probe = tmp_path / "probe" / demo_file.name
    probe.parent.mkdir()
    shutil.copy2(demo_file, probe)
    assert quick_check(probe) != [("ok",)]  # precondition: the overwritten page is in use
    digest, names = sha256(demo_file), listing(tmp_path)

    with pytest.raises(DatabaseDamagedError) as refused:
        await open_service(settings, read_only=read_only)

    assert "damaged" in str(refused.value)
    assert sha256(demo_file) == digest
    assert listing(tmp_path) == names


@pytest.mark.parametrize("header", ["garbage-header", "all-garbage"])
async def test_a_file_with_a_garbage_header_is_not_a_database(tmp_path: Path, demo_file: Path, settings, header):
    if header == "all-garbage":
        demo_file.write_bytes(random.Random(5).randbytes(8 * PAGE))
    else:
        overwrite(demo_file, 0, random.Random(5).randbytes(100))
    digest, names = sha256(demo_file), listing(tmp_path)

    for read_only in (False, True):
        with pytest.raises(NotADatabaseError):
            await open_service(settings, read_only=read_only)

    assert sha256(demo_file) == digest
    assert listing(tmp_path) == names
