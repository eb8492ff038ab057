"""The file boundary: file names checked before anything is made of them, and the SQLite files the
package opens (the store's database, the paper broker's file) judged before SQLite opens them.

SQLite follows a symbolic link at the file's name and at its ``-wal``, ``-shm`` and ``-journal``
beside it (and then looks for the side files beside the link, not beside the file), so a link
there is refused; a name the file system or SQLite cannot hold is refused before anything is
created. A file is written only by its owner (or root), who finds it and its side files tightened
to owner-only: then no other user's run can leave side files the owner cannot write. Nothing here
opens an existing file for reading or writing: closing such a descriptor would drop every POSIX
lock this process's own SQLite connections hold on that file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import DatabaseMissingError, InvalidInputError, NotADatabaseError, StoreError, UnsafePathError

NAME_MAX = 255  # bytes in one path component on the file systems we run on (ext4, xfs, apfs, ntfs)
PATH_MAX = 4096
SQLITE_PATH_MAX = 512 - len("-journal")  # SQLite's unix VFS: an absolute name of 512 bytes, its journal's included
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
SHOWN = 120
POSIX = os.name == "posix"
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
HOLDS_NUL = "the name holds a NUL character"


def shown_path(path: Path | str) -> str:
    """A path for a one-line message: a long one is cut, with an ellipsis."""
    text = os.fspath(path)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}…"


def check_file_name(path: Path | str, what: str = "file") -> Path:
    """``path`` as a ``Path`` when it can name a file here, else :class:`InvalidInputError`: see
    :func:`file_name_problem`."""
    problem = file_name_problem(path)
    if problem is not None:
        raise InvalidInputError(f"{what} {shown_path(path)!r}: {problem}")
    return Path(path)


def file_name_problem(path: Path | str) -> str | None:
    """Why ``path`` cannot name a file here (no name, one this system cannot encode, a NUL in
    it, a name or a whole path too long for the file system); ``None`` when it can."""
    text = os.fspath(path)
    if not text.strip():
        return "it names no file"
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        return "it cannot be a file name here"
    if b"\0" in encoded:
        return HOLDS_NUL
    if _too_long_for_the_system(encoded):
        return f"File name too long ({NAME_MAX} bytes per name, {PATH_MAX} in all)"
    return None


def guard_sqlite_file(path: Path, what: str, *, create: bool, writing: bool) -> bool:
    """Judge ``path`` before SQLite opens it; ``True`` when the file is there (created first, owner-only,
    when ``create``), ``False`` when it is missing.

    Refused with :class:`UnsafePathError`, before anything is created or changed: a NUL in the
    name, a name too long for the file system or for SQLite (the side files' names included), a
    symbolic link at the file or at a side file, a side file that is not a regular file; and, when
    ``writing``, a file that belongs to another user (root excepted) or a side file that belongs
    to someone other than the file's owner. A directory is :class:`NotADatabaseError`. When its
    owner opens it for ``writing``, the file and its side files are tightened to owner-only; a
    read changes nothing.
    """
    check_sqlite_name(path, what)
    main = _lstat(path, what)
    sides = {side: _lstat(side, what, path) for side in side_paths(path)}
    for side, status in sides.items():
        if status is not None:
            _check_side(side, status, what)
    if main is None and not create:
        return False
    if main is not None:
        _check_main(path, main, what)
    if writing and POSIX:  # before a missing file is created: a refusal leaves nothing behind
        _check_owners(path, main.st_uid if main else os.geteuid(), sides)
    if main is None:
        main = _create(path, what)
        _check_main(path, main, what)
    if writing and POSIX and os.geteuid() == main.st_uid:
        for name, status in ((path, main), *sides.items()):
            if status is not None:
                _tighten(name, status, what)
    return True


def require_sqlite_file(path: Path, what: str = "database", *, create: bool, writing: bool) -> None:
    """:func:`guard_sqlite_file`, with a missing file a :class:`DatabaseMissingError`."""
    if not guard_sqlite_file(path, what, create=create, writing=writing):
        raise DatabaseMissingError(f"{what} file {shown_path(path)} does not exist")


def side_paths(path: Path) -> list[Path]:
    """The files SQLite keeps beside ``path``: its write-ahead log, shared memory and rollback journal."""
    return [Path(f"{os.fspath(path)}{suffix}") for suffix in SIDE_SUFFIXES]


def check_sqlite_name(path: Path, what: str) -> None:
    """:class:`UnsafePathError` for a name SQLite cannot take: see :func:`sqlite_name_problem`."""
    problem = sqlite_name_problem(path)
    if problem is not None:
        raise UnsafePathError(f"cannot open {what} {shown_path(path)!r}: {problem}")


def sqlite_name_problem(path: Path) -> str | None:
    """Why SQLite cannot take ``path``: a NUL in it, or an absolute name longer than SQLite opens
    (a component or a whole path too long for the file system is left to the file system's own
    refusal, which says it best); ``None`` when it can."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        return HOLDS_NUL
    if not POSIX or _too_long_for_the_system(encoded):
        return None
    full = len(os.fsencode(os.path.join(os.path.realpath(path.parent), path.name)))
    if full > SQLITE_PATH_MAX:
        return f"File name too long for SQLite ({full} bytes once absolute, at most {SQLITE_PATH_MAX})"
    return None


def _too_long_for_the_system(encoded: bytes) -> bool:
    return len(encoded) >= PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/"))


def _lstat(path: Path, what: str, side_of: Path | None = None) -> os.stat_result | None:
    """The entry at ``path`` itself (a link is not followed), ``None`` when there is none."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG and side_of is not None:
            suffix = path.name.removeprefix(side_of.name)
            raise UnsafePathError(
                f"cannot open {what} {shown_path(side_of)}: File name too long for the {suffix} SQLite keeps "
                f"beside it ({NAME_MAX} bytes a name); use a shorter name"
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise UnsafePathError(f"cannot open {what} {shown_path(path)}: {exc.strerror}") from None
        raise StoreError(f"cannot open {what} {shown_path(path)}: {exc.strerror or exc}") from None


def _create(path: Path, what: str) -> os.stat_result:
    """An empty file, mode 0600, created where nothing is, through no link; what is there then."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | NO_FOLLOW, 0o600))
    except FileExistsError:
        pass  # another process created it first, or a link is there: judged below
    except OSError as exc:
        raise StoreError(f"cannot create {what} {shown_path(path)}: {exc.strerror or exc}") from None
    status = _lstat(path, what)
    if status is None:
        raise StoreError(f"cannot create {what} {shown_path(path)}: it vanished as it was created")
    return status


def _check_main(path: Path, status: os.stat_result, what: str) -> None:
    if stat.S_ISLNK(status.st_mode):
        raise UnsafePathError(f"{what} {shown_path(path)} is a symbolic link{_target(path)}: name the file itself")
    if not stat.S_ISREG(status.st_mode):
        raise NotADatabaseError(f"{shown_path(path)} is not a file")


def _check_side(side: Path, status: os.stat_result, what: str) -> None:
    if stat.S_ISLNK(status.st_mode):
        raise UnsafePathError(
            f"{shown_path(side)} beside the {what} is a symbolic link{_target(side)}; SQLite would write "
            "through it: remove the link (with no process using the file)"
        )
    if not stat.S_ISREG(status.st_mode):
        raise UnsafePathError(f"{shown_path(side)} beside the {what} is not a regular file: remove it")


def _check_owners(path: Path, owner: int, sides: dict[Path, os.stat_result | None]) -> None:
    """A file is written by its ``owner`` (or root); its side files belong to its owner too, or the
    owner's own runs fail on them (SQLite cannot write another user's ``-shm``)."""
    me = os.geteuid()
    if me not in (0, owner):
        raise UnsafePathError(
            f"{shown_path(path)} belongs to {_user(owner)}, not to {_user(me)} who opens it to write: "
            f"only its owner writes it; run as {_user(owner)}"
        )
    for side, status in sides.items():
        if status is not None and status.st_uid != owner:
            raise UnsafePathError(
                f"{shown_path(side)} belongs to {_user(status.st_uid)}, the file beside it to {_user(owner)}; "
                f"with no process using it, give it to its owner as root: chown {_name(owner)} {shown_path(side)}"
            )


def _tighten(path: Path, status: os.stat_result, what: str) -> None:
    """The owner's bits only (``0644`` → ``0600``), on the very file judged: through an ``O_PATH``
    descriptor where Linux gives one (closing it drops no lock), by name elsewhere."""
    mode = stat.S_IMODE(status.st_mode)
    if mode & ~0o600 == 0:
        return
    tight = mode & 0o600
    o_path = getattr(os, "O_PATH", 0)
    try:
        if not o_path or not os.path.isdir("/proc/self/fd"):
            os.chmod(path, tight)
            return
        handle = os.open(path, o_path | NO_FOLLOW)
        try:
            now = os.fstat(handle)
            if (now.st_dev, now.st_ino) != (status.st_dev, status.st_ino) or not stat.S_ISREG(now.st_mode):
                raise UnsafePathError(f"{what} {shown_path(path)} was replaced while it was being opened; try again")
            os.chmod(f"/proc/self/fd/{handle}", tight)
        finally:
            os.close(handle)
    except OSError as exc:
        raise StoreError(f"cannot make {shown_path(path)} owner-only: {exc.strerror or exc}") from None


def _target(link: Path) -> str:
    try:
        return f" (to {shown_path(os.readlink(link))})"
    except OSError:
        return ""


def _user(uid: int) -> str:
    return f"{_name(uid)} (uid {uid})"


def _name(uid: int) -> str:
    import pwd  # POSIX only, as every caller

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
