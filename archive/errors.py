"""The expected failure of the archive's code: bad input, reported in one line.

It lives here, not with the command line, so that `archive` imports nothing from
`harvester` (dependencies run harvester → archive); harvester/errors.py takes it from here.
"""


class InputError(Exception):
    """Bad input from the user: a file, link, config or archive we cannot use (exit 2)."""
