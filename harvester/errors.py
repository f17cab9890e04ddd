"""The errors the command line turns into one-line messages and exit codes."""


class InputError(Exception):
    """Bad input from the user: a file, link or config we cannot use (exit 2)."""


class TryLater(Exception):
    """WeChat asked us to slow down, or another run holds the lock (exit 75)."""
