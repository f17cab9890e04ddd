"""The errors the command line turns into one-line messages, and its exit codes.

InputError is the archive's (archive/errors.py), so both packages raise the same one.
"""

from archive.errors import InputError

__all__ = ["EXIT_OK", "EXIT_SOME_FAILED", "EXIT_TRY_LATER", "EXIT_USAGE", "InputError", "TryLater"]

# 0 done; 1 some items failed (each named, the rest archived); 2 bad usage or input;
# 75 try later (verification page, rate limit, another run holds the lock).
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_TRY_LATER = 0, 1, 2, 75


class TryLater(Exception):
    """WeChat asked us to slow down, or another run holds the lock (exit 75)."""
