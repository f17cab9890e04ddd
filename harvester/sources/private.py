"""A file holding a login (the mp auth file, the WeRead cookie): read only when it is private.

The checks every such file gets, one place: it exists, is a regular file, is mode 0600 (on
POSIX: nobody else may read or change a login) and is UTF-8. Every problem is a
SourceConfigError naming the config key and the path, never the file's content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

from harvester.sources.base import SourceConfigError


class _Source(Protocol):
    def path_of(self, key: str) -> Path: ...

    def config_error(self, key: str, problem: str) -> SourceConfigError: ...


def read_private_text(source: _Source, key: str) -> tuple[Path, str]:
    """(path, text) of the private file the config names under `key`."""
    path = source.path_of(key)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise source.config_error(key, f"names {path}, which does not exist") from None
    except OSError as error:
        problem = f"names {path}, which cannot be read: {error.strerror}"
        raise source.config_error(key, problem) from None
    if not stat.S_ISREG(info.st_mode):
        raise source.config_error(key, f"names {path}, which is not a file")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise source.config_error(
            key,
            f"names {path}, which others can read or change (mode {mode:04o}); it holds "
            f"a login, so it must be mode 0600: run chmod 600 {path}",
        )
    try:
        return path, path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8"
        raise source.config_error(key, f"names {path}, which cannot be read: {reason}") from None
