"""Files an operator command writes (an export, a report): checked names, written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, TypeVar

from ..errors import InvalidInputError, ProfitBookingError
from ..file_safety import check_file_name, shown_path

Answer = TypeVar("Answer")


def check_target(path: Path, what: str = "file") -> None:
    """Refuse, before any work, a file to write that cannot be: see :func:`check_file_name`, or a directory."""
    check_file_name(path, what)
    if path.is_dir():
        raise InvalidInputError(f"cannot write {shown_path(path)}: it is a directory")


def write_whole(path: Path, produce: Callable[[IO[str]], Answer]) -> Answer:
    """Run ``produce`` on a temporary file beside ``path`` (a unique name, so that two writers of
    one file never share it) and rename it into place: ``path`` ends whole or as it was. The
    package's own errors from ``produce`` (a missing database, say) pass as they are; a file
    system error is an :class:`InvalidInputError` naming ``path``."""
    check_target(path)
    temp: str | None = None
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".partial", dir=path.parent)
        os.fchmod(handle, 0o666 & ~_umask())  # as open() would create it, not mkstemp's 0600
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as sink:
            answer = produce(sink)
        os.replace(temp, path)
        temp = None
    except ProfitBookingError:
        raise
    except OSError as exc:
        raise InvalidInputError(f"cannot write {shown_path(path)}: {exc.strerror or exc}") from None
    finally:
        if temp is not None:
            with suppress(OSError):
                os.unlink(temp)
    return answer


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
