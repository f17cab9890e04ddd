"""What a harvest prints: stderr lines for people and cron mail, `--json` for monitoring,
and a progress bar on a terminal."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from archive.terminal import one_line, terminal_safe
from archive.times import iso_utc, now_utc
from harvester.errors import EXIT_OK

if TYPE_CHECKING:
    from harvester.harvest import Harvest

COUNT_NAMES = ("new", "updated", "unchanged", "deleted", "failed", "skipped", "enqueued")


class Progress:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, bar: Any = None) -> None:
        self.bar = bar
        self.task: Any = None
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        if self.bar is not None:
            self.task = self.bar.add_task("harvest", total=total)

    def grow(self, count: int) -> None:
        self.total += count
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, total=self.total)

    def advance(self, label: str) -> None:
        if self.bar is not None and self.task is not None:
            shown = terminal_safe(label)[:30]
            self.bar.update(self.task, advance=1, description=f"harvest {shown}")


class Report:
    """What the run prints: stderr lines for people and cron mail, --json for monitoring."""

    def __init__(self, *, as_json: bool, tty: bool) -> None:
        self.as_json = as_json
        self.tty = tty

    @contextlib.contextmanager
    def progress(self) -> Iterator[Progress]:
        if not self.tty:
            yield Progress()
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        columns = (
            TextColumn("{task.description}", markup=False),  # a title's `[/]` is no markup
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
            yield Progress(bar)

    def early_exit(self, code: int, outcome: str, message: str, **extra: Any) -> int:
        """A run that never started (bad config, a read-only or unreadable archive, another run
        holds the lock) or that a full disk stopped: one line, and the JSON."""
        _say(f"harvester: {message}")
        if self.as_json:
            self._json(
                {"outcome": outcome, "exit_code": code, "run_id": None, "message": message, **extra}
            )
        return code

    def finish(self, harvest: Harvest) -> int:
        code = harvest.exit_code
        for line in harvest.summary.failures + harvest.try_later:
            _say(f"harvester: {line}")
        for line in harvest.warnings:
            _say(f"harvester: warning: {line}")
        if code != EXIT_OK or self.tty:
            _say(
                f"harvester: harvest {harvest.outcome}: {harvest.summary.line()} "
                f"(run {harvest.run_id}, archive {harvest.archive.root})"
            )
        if self.as_json:
            self._json(json_summary(harvest, code))
        return code

    @staticmethod
    def _json(data: dict[str, Any]) -> None:
        print(json.dumps(data, ensure_ascii=False, sort_keys=True), flush=True)


def _say(line: str) -> None:
    """One line on stderr for people: what a page or file brought in it cannot act on a
    terminal, nor break the line."""
    print(one_line(line), file=sys.stderr)


def json_summary(harvest: Harvest, code: int) -> dict[str, Any]:
    counts = harvest.summary.counts
    return {
        "run_id": harvest.run_id,
        "outcome": harvest.outcome,
        "exit_code": code,
        "archive": str(harvest.archive.root),
        "started_at": iso_utc(harvest.started),
        "finished_at": iso_utc(now_utc()),
        "counts": {name: counts[name] for name in COUNT_NAMES},
        "images": {
            "stored": harvest.summary.images_stored,
            "missing": harvest.summary.images_missing,
        },
        "pending": harvest.queue.pending_count(),
        "failures": list(harvest.summary.failures),
        "warnings": list(harvest.warnings),
        "message": "; ".join(harvest.try_later) or None,
        "backoff_until": iso_utc(harvest.backoff_until) if harvest.backoff_until else None,
    }
