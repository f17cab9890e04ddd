"""The expected failure of the archive's code (bad input, reported in one line), and the one
line for a failure nobody expected in one input.

It lives here, not with the command line, so that `archive` imports nothing from
`harvester` (dependencies run harvester → archive); harvester/errors.py takes it from here.
"""


class InputError(Exception):
    """Bad input from the user: a file, link, config or archive we cannot use (exit 2)."""


def unexpected(name: str, error: Exception) -> str:
    """The one line for an error no check foresaw in one input (a file, an article): it
    costs that input only, and says what went wrong so it can be reported and fixed."""
    detail = " ".join(str(error).split())
    return f"{name}: failed: {type(error).__name__}" + (f": {detail}" if detail else "")
