"""The expected failures of the archive's code, each reported in one line (bad input, a busy
index), and the one line for a failure nobody expected in one input.

It lives here, not with the command line, so that `archive` imports nothing from
`harvester` (dependencies run harvester → archive); harvester/errors.py takes it from here.
"""


class InputError(Exception):
    """Bad input from the user: a file, link, config or archive we cannot use (exit 2)."""


class IndexBusy(Exception):
    """Another command held the index's write lock for longer than we wait: try later (75)."""

    def __init__(self, path: str, waited: float, run_id: int | None = None) -> None:
        super().__init__(path, waited)
        self.path = path
        self.waited = waited
        self.run_id = run_id  # the run recorded as busy, when the command keeps one

    def __str__(self) -> str:
        return (
            f"{self.path} is busy: another command has been writing to it for over "
            f"{self.waited:g} s; try later"
        )


def unexpected(name: str, error: Exception) -> str:
    """The one line for an error no check foresaw in one input (a file, an article): it
    costs that input only, and says what went wrong so it can be reported and fixed."""
    detail = " ".join(str(error).split())
    return f"{name}: failed: {type(error).__name__}" + (f": {detail}" if detail else "")
