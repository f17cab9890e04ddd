"""What a command did, counted and recorded: its Summary, and its row in `runs`.

Every command that archives (fetch, import, rebuild, harvest) runs inside recorded_run,
so each leaves one row saying how it ended, even when it was stopped (Ctrl-C, or SIGTERM
from systemd or a shutdown) or crashed. A process killed outright (SIGKILL, OOM, power
cut) cannot close its row: the next command to start marks it "interrupted".
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from archive.errors import IndexBusy
from archive.index import (
    finish_run,
    index_path,
    mark_run_interrupted,
    running_runs,
    start_run,
    waiting_up_to,
)
from harvester.errors import DiskFull, TryLater, is_disk_full
from harvester.lock import pid_alive

SUMMARY_ORDER = ("new", "updated", "unchanged", "deleted", "failed")
ARCHIVED = ("new", "updated", "unchanged", "deleted")
# Files read that hold no article (a Hugo section or about page, a plain document): counted,
# never a failure.
NOT_ARTICLES = "skipped: not articles"
# A run that met a busy index waits this much longer (at least) to record that it did.
RECORD_WAIT_SECONDS = 10.0


@dataclass
class Summary:
    """Counts of one command's outcomes and the failures, each named."""

    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    images_stored: int = 0  # downloaded and stored by this run
    images_missing: int = 0  # tried by this run and not had: remote links, tried again later

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def count_images(self, fetched: Mapping[str, object]) -> None:
        """What fetch_images gave for one article: stored images, or why each is missing."""
        missing = sum(isinstance(image, str) for image in fetched.values())
        self.images_missing += missing
        self.images_stored += len(fetched) - missing

    @property
    def incomplete(self) -> bool:
        """Something failed or an image is missing: the command exits 1."""
        return bool(self.counts["failed"] or self.images_missing)

    def record(self) -> dict[str, int]:
        """The counts as the run's row keeps them."""
        images = {"images_stored": self.images_stored, "images_missing": self.images_missing}
        return {**self.counts, **{name: n for name, n in images.items() if n}}

    @property
    def archived(self) -> int:
        """Articles this command archived (or found unchanged) so far."""
        return sum(self.counts[name] for name in ARCHIVED)

    def copy(self) -> Summary:
        return Summary(
            Counter(self.counts), list(self.failures), self.images_stored, self.images_missing
        )

    def restore(self, earlier: Summary) -> None:
        """Back to `earlier` (a copy): what was counted since was rolled back."""
        self.counts, self.failures = Counter(earlier.counts), list(earlier.failures)
        self.images_stored, self.images_missing = earlier.images_stored, earlier.images_missing

    def fail(self, message: str) -> None:
        self.counts["failed"] += 1
        self.failures.append(message)

    def line(self) -> str:
        names = list(SUMMARY_ORDER) + sorted(set(self.counts) - set(SUMMARY_ORDER))
        line = ", ".join(f"{self.counts[name]} {name}" for name in names)
        if self.images_stored or self.images_missing:
            line += f"; images: {self.images_stored} stored, {self.images_missing} missing"
        return line


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run, with what was done before it: what the command
    prints on its way out (everything counted was committed)."""

    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary

    def message(self) -> str:
        return f"interrupted: {self.summary.archived} articles archived, the rest not started"


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
    """A `runs` row for the block, closed however the block ends (and the rows of runs
    killed before it closed, see close_abandoned_runs). A full disk ends it with DiskFull,
    saying how many articles were archived before; an index another command keeps locked
    with IndexBusy, the run recorded as `busy` if it can be at all."""
    run = Run(0, summary or Summary())
    try:
        close_abandoned_runs(db)
        run.id = start_run(db, command)
    except sqlite3.Error as error:
        if is_disk_full(error):
            raise DiskFull(index_path(db)) from None
        raise
    except IndexBusy as busy:
        record_busy(db, command, busy, run)
        raise
    try:
        with sigterm_as_interrupt():
            yield run
    except IndexBusy as busy:
        record_busy(db, command, busy, run)
        raise
    except TryLater as error:
        _close(db, run, "try-later", str(error))
        raise
    except KeyboardInterrupt as interrupt:
        _close(db, run, "interrupted", "interrupted by a signal")
        if isinstance(interrupt, Interrupted):
            raise
        raise Interrupted(run.summary) from None
    except (OSError, sqlite3.Error) as error:
        if not is_disk_full(error):
            _close(db, run, "error", f"{type(error).__name__}: {error}")
            raise
        full = DiskFull(getattr(error, "filename", None) or index_path(db), run.summary.archived)
        with contextlib.suppress(sqlite3.Error):  # the index may have no room for it either
            _close(db, run, "disk-full", str(full))
        raise full from None
    except BaseException as error:
        _close(db, run, "error", f"{type(error).__name__}: {error}")
        raise
    _close(
        db,
        run,
        run.outcome or ("partial" if run.summary.failures or run.summary.incomplete else "ok"),
        run.message,
    )


def record_busy(
    db: sqlite_utils.Database, command: str, busy: IndexBusy, run: Run | None = None
) -> None:
    """Record the run as `busy` (opening its row if that could not be done yet), waiting
    longer for the index this once; left unrecorded if it stays locked. `busy.run_id` says."""
    run = run or Run(0, Summary())
    with contextlib.suppress(IndexBusy), waiting_up_to(db, RECORD_WAIT_SECONDS):
        if not run.id:
            run.id = start_run(db, command)
        _close(db, run, "busy", str(busy))
        busy.run_id = run.id


def close_abandoned_runs(db: sqlite_utils.Database) -> list[int]:
    """Runs still "running" whose process is gone (killed by SIGKILL, the OOM killer, a
    power cut) become "interrupted"; their ids. A run of a live process is left alone."""
    closed = []
    for row in running_runs(db):
        if pid_alive(row["pid"]):
            continue
        message = f"interrupted: process {row['pid']} ended before finishing the run (killed?)"
        if mark_run_interrupted(db, row["id"], message):
            closed.append(row["id"])
    return closed


def _close(db: sqlite_utils.Database, run: Run, outcome: str, message: str | None) -> None:
    run.outcome = outcome
    finish_run(db, run.id, outcome, run.summary.record(), message)


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
