"""What a command did, counted and recorded: its Summary, and its row in `runs`.

Every command that archives (fetch, import, rebuild, harvest) runs inside recorded_run,
so each leaves one row saying how it ended, even when it was stopped (Ctrl-C, or SIGTERM
from systemd or a shutdown) or crashed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from archive.index import finish_run, start_run
from harvester.errors import TryLater

SUMMARY_ORDER = ("new", "updated", "unchanged", "deleted", "failed")


@dataclass
class Summary:
    """Counts of one command's outcomes and the failures, each named."""

    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def fail(self, message: str) -> None:
        self.counts["failed"] += 1
        self.failures.append(message)

    def line(self) -> str:
        names = list(SUMMARY_ORDER) + sorted(set(self.counts) - set(SUMMARY_ORDER))
        return ", ".join(f"{self.counts[name]} {name}" for name in names)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run, with what was done before it: what the command
    prints on its way out (everything counted was committed)."""

    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary

    def message(self) -> str:
        kept = sum(self.summary.counts[name] for name in ("new", "updated", "unchanged", "deleted"))
        return f"interrupted: {kept} articles archived, the rest not started"


@dataclass
class Run:
    """A command's run while it goes: its id in `runs` and what it has done so far.

    `outcome` and `message` may be set by the command before it ends (a harvest knows
    it must try later without raising); otherwise the run is "ok", or "partial" when
    something failed.
    """

    id: int
    summary: Summary
    outcome: str | None = None
    message: str | None = None


@contextlib.contextmanager
def recorded_run(
    db: sqlite_utils.Database, command: str, summary: Summary | None = None
) -> Iterator[Run]:
    """A `runs` row for the block, closed however the block ends."""
    run = Run(start_run(db, command), summary or Summary())
    try:
        with sigterm_as_interrupt():
            yield run
    except TryLater as error:
        _close(db, run, "try-later", str(error))
        raise
    except KeyboardInterrupt as interrupt:
        _close(db, run, "interrupted", "interrupted by a signal")
        if isinstance(interrupt, Interrupted):
            raise
        raise Interrupted(run.summary) from None
    except BaseException as error:
        _close(db, run, "error", f"{type(error).__name__}: {error}")
        raise
    _close(db, run, run.outcome or ("partial" if run.summary.failures else "ok"), run.message)


def _close(db: sqlite_utils.Database, run: Run, outcome: str, message: str | None) -> None:
    run.outcome = outcome
    finish_run(db, run.id, outcome, dict(run.summary.counts), message)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd stopping the job) ends the run like Ctrl-C: recorded, not lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
