"""The errors the command line turns into one-line messages, and its exit codes.

InputError is the archive's (archive/errors.py), so both packages raise the same one; so is
`unexpected`, the line for an error no check foresaw.
"""

import errno
import sqlite3

from archive.errors import IndexBusy, InputError, unexpected

__all__ = [
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_TRY_LATER",
    "EXIT_USAGE",
    "DiskFull",
    "InputError",
    "SourceTryLater",
    "TryLater",
    "is_disk_full",
    "stops_the_run",
    "unexpected",
]

# The one rule (README, "Exit codes"): 0 everything asked for was done (files that hold
# no article are counted, not failures); 1 some inputs were bad or failed, each named, the
# rest done; 2 nothing could be done because of how the command was called (bad usage,
# nothing to read at all, a config error, no archive or a read-only one); 75 try later
# (verification page, rate limit, another run holds the lock). --json changes no code.
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_TRY_LATER = 0, 1, 2, 75


class TryLater(Exception):
    """WeChat asked us to slow down, or another run holds the lock (exit 75)."""


class SourceTryLater(TryLater):
    """One source cannot go on until the user acts or time passes (an expired login): the
    run goes on with the other sources, no host backs off, and it ends with exit 75."""


def is_disk_full(error: BaseException) -> bool:
    """A file write that found no space (ENOSPC, or a quota), SQLite's `database or disk is
    full`, or its `disk I/O error` growing the WAL's shared-memory file (which SQLite's docs
    say is the disk being full)."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(error, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE)


def stops_the_run(error: BaseException) -> bool:
    """The archive's failure, not one input's: the index's own error (busy too) or a full
    disk. Every per-input catch-all lets it through, so the run stops and says so."""
    return isinstance(error, (sqlite3.Error, IndexBusy)) or is_disk_full(error)


class DiskFull(Exception):
    """The disk filled up while writing `target`: the command stopped there. `kept` is how
    many articles it archived (committed) before; nothing of the rest is committed, so the
    archive is as it was after them. Exit 1 when some were kept, else 2."""

    def __init__(self, target: str, kept: int = 0) -> None:
        super().__init__(target, kept)
        self.target = target
        self.kept = kept

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.kept else EXIT_USAGE

    def __str__(self) -> str:
        committed = (
            f"the {self.kept} articles archived before it are kept, nothing else committed"
            if self.kept
            else "nothing committed"
        )
        return f"disk full while writing {self.target}; {committed}; free space and run again"
