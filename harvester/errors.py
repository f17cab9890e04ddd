"""The errors the command line turns into one-line messages, and its exit codes.

InputError is the archive's (archive/errors.py), so both packages raise the same one; so is
`unexpected`, the line for an error no check foresaw.
"""

from archive.errors import InputError, unexpected

__all__ = [
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_TRY_LATER",
    "EXIT_USAGE",
    "InputError",
    "SourceTryLater",
    "TryLater",
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
