"""The store's database and the paper broker's file at the file boundary: modes tightened for their
owner, links refused, names too long refused; every outcome read back with os.stat, raw sqlite3
and the files' bytes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest

from profit_booking import (
    DatabaseMissingError,
    InvalidInputError,
    StoreError,
    UnsafePathError,
    load_settings,
    open_service,
)
from profit_booking.broker.paper import PaperBroker
from profit_booking.file_safety import check_file_name, require_sqlite_file, shown_path
from profit_booking.store.inbox import Inbox
from profit_booking.store.migrating import read_revision, upgrade_database
from profit_booking.store.sqlite import SqliteStore
from tests.conftest import listing, mode_of, read_sql, sha256, sqlite_url
from tests.fixtures import copy_fixture

NOBODY = 65534
SIDES = ("-wal", "-shm", "-journal")


async def make_database(path: Path) -> None:
    """A closed database holding one chain, written through the API."""
    service = await open_service(load_settings(database_url=sqlite_url(path)))
    try:
        await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    finally:
        await service.aclose()


async def open_and_close(path: Path, *, read_only: bool = False) -> None:
    service = await open_service(load_settings(database_url=sqlite_url(path)), read_only=read_only)
    await service.aclose()


def held_in_wal(path: Path) -> sqlite3.Connection:
    """A raw connection that keeps the file's -wal and -shm beside it while it is open."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("SELECT COUNT(*) FROM chains").fetchall()
    return conn


def snapshot(directory: Path) -> dict[str, tuple[int, str]]:
    """Every regular file of the directory (links not followed): mode and content hash."""
    return {p.name: (mode_of(p), sha256(p)) for p in sorted(directory.iterdir()) if not p.is_symlink()}


# -- an existing file is tightened for its owner ------------------------------------------------


async def test_a_writer_open_tightens_an_existing_0644_database_and_its_side_files(tmp_path: Path, db_path: Path):
    await make_database(db_path)
    with closing(held_in_wal(db_path)):
        sides = [Path(f"{db_path}{suffix}") for suffix in ("-wal", "-shm")]
        for path in (db_path, *sides):
            path.chmod(0o644)

        service = await open_service(load_settings(database_url=sqlite_url(db_path)))
        try:
            await service.create_chain("combined_v3", "b2", "EURUSD", "BUY")
            assert {p.name: mode_of(p) for p in (db_path, *sides)} == {p.name: 0o600 for p in (db_path, *sides)}
        finally:
            await service.aclose()

    assert mode_of(db_path) == 0o600
    assert read_sql(db_path, "SELECT order_b_id FROM chains ORDER BY order_b_id") == [("b1",), ("b2",)]


async def test_a_read_only_open_changes_no_mode(tmp_path: Path, db_path: Path):
    await make_database(db_path)
    with closing(held_in_wal(db_path)):
        files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
        for path in files:
            path.chmod(0o644)
        await open_and_close(db_path, read_only=True)
        assert [mode_of(p) for p in files] == [0o644, 0o644, 0o644]


async def test_tightening_never_gives_the_owner_more(tmp_path: Path, db_path: Path):
    await make_database(db_path)
    db_path.chmod(0o464)  # the owner may not write it: tightened to 0400, never given write
    with suppress(StoreError):  # refused as "readonly", unless root, who writes anyway
        await open_and_close(db_path)
    assert mode_of(db_path) == 0o400


async def test_the_paper_broker_tightens_its_existing_file(tmp_path: Path):
    paper = tmp_path / "demo.paper.db"
    await (await PaperBroker.open(paper)).aclose()
    paper.chmod(0o644)
    broker = await PaperBroker.open(paper)
    try:
        await broker.set_marker("m", "1")
    finally:
        await broker.aclose()
    assert mode_of(paper) == 0o600
    assert read_sql(paper, "SELECT name, value FROM markers") == [("m", "1")]


# -- links are refused, their targets never touched --------------------------------------------


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
async def test_a_database_path_linked_to_an_empty_file_is_refused(tmp_path: Path, read_only: bool):
    target = tmp_path / "target.db"
    target.touch()
    link = tmp_path / "link.db"
    link.symlink_to(target)

    with pytest.raises(UnsafePathError, match=r"link\.db is a symbolic link"):
        await open_and_close(link, read_only=read_only)

    assert target.stat().st_size == 0
    assert listing(tmp_path) == ["link.db", "target.db"]


async def test_a_dangling_link_is_refused_and_its_target_is_not_created(tmp_path: Path):
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "planted.db")

    with pytest.raises(UnsafePathError, match="symbolic link"):
        await open_and_close(link)

    assert not (tmp_path / "planted.db").exists()
    assert listing(tmp_path) == ["link.db"]


@pytest.mark.parametrize("suffix", SIDES)
@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
async def test_a_linked_side_file_is_refused_and_nothing_is_written(
    tmp_path: Path, db_path: Path, suffix: str, read_only: bool
):
    await make_database(db_path)
    target = tmp_path / "elsewhere"
    target.touch()
    Path(f"{db_path}{suffix}").symlink_to(target)
    before = snapshot(tmp_path)

    with pytest.raises(UnsafePathError, match=f"{suffix} beside the database is a symbolic link"):
        await open_and_close(db_path, read_only=read_only)

    assert snapshot(tmp_path) == before
    assert target.stat().st_size == 0
    Path(f"{db_path}{suffix}").unlink()
    assert read_sql(db_path, "SELECT order_b_id FROM chains") == [("b1",)]


async def test_a_dangling_link_for_the_wal_of_a_new_database_creates_nothing(tmp_path: Path, db_path: Path):
    Path(f"{db_path}-wal").symlink_to(tmp_path / "planted-wal")

    with pytest.raises(UnsafePathError, match="-wal beside the database"):
        await open_and_close(db_path)

    assert listing(tmp_path) == [f"{db_path.name}-wal"]


@pytest.mark.parametrize("target_exists", [True, False], ids=["empty-target", "dangling"])
async def test_a_linked_paper_broker_file_is_refused(tmp_path: Path, target_exists: bool):
    target = tmp_path / "target"
    if target_exists:
        target.touch()
    link = tmp_path / "demo.paper.db"
    link.symlink_to(target)

    with pytest.raises(UnsafePathError, match=r"paper broker file .*demo\.paper\.db is a symbolic link"):
        await PaperBroker.open(link)

    assert target.exists() is target_exists
    assert not target_exists or target.stat().st_size == 0
    assert listing(tmp_path) == ["demo.paper.db", *(["target"] if target_exists else [])]


async def test_a_linked_paper_broker_wal_is_refused(tmp_path: Path):
    paper = tmp_path / "demo.paper.db"
    await (await PaperBroker.open(paper)).aclose()
    target = tmp_path / "elsewhere"
    target.touch()
    Path(f"{paper}-wal").symlink_to(target)
    before = snapshot(tmp_path)

    with pytest.raises(UnsafePathError, match="-wal beside the paper broker file"):
        await PaperBroker.open(paper)

    assert snapshot(tmp_path) == before


# -- names the file system or SQLite cannot hold ------------------------------------------------


async def test_a_component_too_long_is_refused_and_nothing_is_created(tmp_path: Path):
    for read_only in (False, True):
        with pytest.raises(UnsafePathError, match="File name too long"):
            await open_and_close(tmp_path / f"{'x' * 300}.db", read_only=read_only)
    with pytest.raises(UnsafePathError, match="File name too long"):
        await PaperBroker.open(tmp_path / f"{'x' * 300}.paper.db")
    assert listing(tmp_path) == []


async def test_a_name_that_leaves_no_room_for_its_journal_is_refused_before_it_is_created(tmp_path: Path):
    name = f"{'y' * 248}.db"  # 251 bytes fit; with "-journal" the name would be 259
    with pytest.raises(UnsafePathError, match="File name too long for the -journal"):
        await open_and_close(tmp_path / name)
    assert listing(tmp_path) == []


async def test_a_path_longer_than_the_system_takes_is_refused(tmp_path: Path):
    path = tmp_path.joinpath(*["d" * 200] * 21, "x.db")  # over 4096 bytes, every name fits
    for read_only in (False, True):  # settings refuse such a URL first: the store itself is asked
        with pytest.raises(UnsafePathError, match="File name too long"):
            await SqliteStore.open(path, read_only=read_only)
    with pytest.raises(UnsafePathError, match="File name too long"):
        await PaperBroker.open(path)
    assert listing(tmp_path) == []


async def test_a_path_longer_than_sqlite_opens_is_refused_before_it_is_created(tmp_path: Path):
    directory = tmp_path.joinpath(*["d" * 150] * 3)
    directory.mkdir(parents=True)
    path = directory / "x.db"  # the file system takes it; SQLite opens at most 504 bytes
    assert len(os.fsencode(path)) > 504

    with pytest.raises(UnsafePathError, match="File name too long for SQLite"):
        await open_and_close(path)
    with pytest.raises(UnsafePathError, match="File name too long for SQLite"):
        await PaperBroker.open(directory / "x.paper.db")

    assert listing(directory) == []


async def test_a_nul_in_the_path_is_refused(tmp_path: Path):
    with pytest.raises(UnsafePathError, match="NUL"):
        await SqliteStore.open(tmp_path / "a\0b.db")
    with pytest.raises(UnsafePathError, match="NUL"):
        await PaperBroker.open(tmp_path / "a\0b.paper.db")
    assert listing(tmp_path) == []


# -- files of other users -----------------------------------------------------------------------


async def test_a_side_file_of_another_user_is_refused_naming_the_fix(tmp_path: Path, db_path: Path):
    await make_database(db_path)
    shm = Path(f"{db_path}-shm")
    shm.touch(mode=0o644)
    os.chown(shm, NOBODY, NOBODY)
    before = snapshot(tmp_path)

    with pytest.raises(UnsafePathError, match=rf"-shm belongs to .*uid {NOBODY}.* chown"):
        await open_and_close(db_path)

    assert snapshot(tmp_path) == before
    assert os.stat(shm).st_uid == NOBODY


async def test_a_foreign_side_file_of_a_new_database_is_refused_before_the_file_is_created(
    tmp_path: Path, db_path: Path
):
    wal = Path(f"{db_path}-wal")
    wal.touch()
    os.chown(wal, NOBODY, NOBODY)

    with pytest.raises(UnsafePathError, match=r"-wal belongs to .* chown root"):
        await open_and_close(db_path)

    assert listing(tmp_path) == [wal.name]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can search (the test's own is root's, 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="file-safety-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def as_user(uid: int, path: Path, *, writing: bool) -> str:
    """What :func:`require_sqlite_file` answers for ``path`` in a child process running as ``uid``."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        answer = "opened"
        try:
            os.setgid(uid)
            os.setuid(uid)
            require_sqlite_file(path, create=False, writing=writing)
        except BaseException as exc:  # everything, reported to the parent
            answer = f"{type(exc).__name__}: {exc}"
        os.write(writer, answer.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(child, 0)
    return answer


async def test_another_user_may_read_but_not_write_a_database(shared_dir: Path):
    db = shared_dir / "bot.db"
    await make_database(db)
    db.chmod(0o644)
    digest = sha256(db)

    assert as_user(NOBODY, db, writing=False) == "opened"
    refused = as_user(NOBODY, db, writing=True)

    assert refused.startswith("UnsafePathError: ")
    assert "belongs to root (uid 0), not to nobody (uid 65534)" in refused
    assert (mode_of(db), sha256(db)) == (0o644, digest)


# -- the operator inbox opens the file through the same boundary --------------------------------


async def test_the_inbox_refuses_a_linked_database_and_leaves_its_target(tmp_path: Path, db_path: Path):
    await make_database(db_path)
    link = tmp_path / "link.db"
    link.symlink_to(db_path)
    before = snapshot(tmp_path)

    with pytest.raises(UnsafePathError, match=r"link\.db is a symbolic link"):
        async with Inbox.open(sqlite_url(link)):
            pass

    assert snapshot(tmp_path) == before  # no -wal or -shm beside the link or its target
    assert read_sql(db_path, "SELECT COUNT(*) FROM operator_requests") == [(0,)]


@pytest.mark.parametrize("suffix", SIDES)
async def test_the_inbox_refuses_a_linked_side_file(tmp_path: Path, db_path: Path, suffix: str):
    await make_database(db_path)
    target = tmp_path / "elsewhere"
    target.touch()
    Path(f"{db_path}{suffix}").symlink_to(target)

    with pytest.raises(UnsafePathError, match=f"{suffix} beside the database is a symbolic link"):
        async with Inbox.open(sqlite_url(db_path)):
            pass

    assert target.stat().st_size == 0


async def test_the_inbox_tightens_the_database_of_its_owner_and_creates_none(tmp_path: Path, db_path: Path):
    with pytest.raises(DatabaseMissingError, match="does not exist"):
        async with Inbox.open(sqlite_url(db_path)):
            pass
    assert listing(tmp_path) == []

    await make_database(db_path)
    db_path.chmod(0o644)
    async with Inbox.open(sqlite_url(db_path)) as inbox:
        assert inbox.sqlite
    assert mode_of(db_path) == 0o600


# -- names checked before anything is made of them ----------------------------------------------


@pytest.mark.parametrize(
    "name, why",
    [("", "names no file"), ("  ", "names no file"), ("a\0b", "NUL"), ("x" * 300, "File name too long"),
     ("d/" * 2100, "File name too long"), ("\udcff\ud800.db", "cannot be a file name")],
)
def test_a_name_no_file_can_have_is_one_short_line(name: str, why: str):
    with pytest.raises(InvalidInputError, match=why) as raised:
        check_file_name(name, "--out")
    message = str(raised.value)
    assert message.startswith("--out ") and "\n" not in message and len(message) < 250


def test_a_long_path_is_shown_cut():
    assert shown_path("a" * 120) == "a" * 120
    assert shown_path("a" * 500) == "a" * 120 + "…"


# -- an upgrade reads and backs up through the same boundary ------------------------------------


async def test_an_upgrade_refuses_a_linked_database_and_leaves_its_target(tmp_path: Path):
    old = copy_fixture(4, tmp_path, "old.db")
    (tmp_path / "link.db").symlink_to(old)
    digest = sha256(old)

    for call in (upgrade_database, read_revision):
        with pytest.raises(UnsafePathError, match="symbolic link"):
            await call(sqlite_url(tmp_path / "link.db"))

    assert sha256(old) == digest
    assert listing(tmp_path) == ["link.db", "old.db"]


async def test_an_upgrade_whose_backup_sqlite_cannot_open_refuses_before_writing(tmp_path: Path):
    directory = tmp_path.joinpath(*["d" * 150] * 2)
    directory.mkdir(parents=True)
    name = f"{'z' * (495 - len(os.fsencode(directory)) - 4)}.db"  # the file fits; its backup's name does not
    old = copy_fixture(4, directory, name)
    digest = sha256(old)

    with pytest.raises(StoreError, match=r"cannot back .* up before upgrading it \(File name too long for SQLite"):
        await upgrade_database(sqlite_url(old))

    assert sha256(old) == digest
    assert listing(directory) == [name]
