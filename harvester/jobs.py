"""The archiving commands (`fetch`, `import`, `rebuild`) as functions the CLI wires up.

Each runs every article through the one pipeline (harvester/pipeline.py) and records
its run (harvester/runs.py); what differs is only where pages come from.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlite_utils

from archive.files import ImageData, fsync_at_end, sweep_temp_files
from archive.index import begin_write, keys_with_raw_capture, record_fetch
from archive.times import local_when
from harvester import pipeline
from harvester.archiver import Archive
from harvester.errors import InputError, TryLater, is_disk_full, stops_the_run, unexpected
from harvester.links import ArticleLink
from harvester.model import Capture
from harvester.pipeline import Rendering
from harvester.reader import read_capture, read_stored_capture, read_stored_images
from harvester.runs import NOT_ARTICLES, Run, Summary, recorded_run

if TYPE_CHECKING:  # httpx is imported only when something is fetched: `import` starts sooner
    from harvester.http import HttpClient

SOURCE_SUFFIXES = (".md", ".txt", ".html", ".htm")
PARALLEL_FROM = 32  # files; fewer are not worth starting worker processes for
PREPARE_CHUNK = 4  # files a worker prepares per task
PREPARE_AHEAD = 16  # tasks in flight: how far preparing may run ahead of writing
# Workers give way to the writing process, the one stage that cannot run in parallel:
# with 2 cores and 2 workers the writer otherwise waits for a core (import 5% faster).
WORKER_NICENESS = 10
ORPHAN_CHECK_SECONDS = 1.0  # how often a worker looks whether its import still runs
COMMIT_EVERY = 64  # articles imported or rebuilt in one transaction, at most
COMMIT_AFTER = 1.0  # seconds; a killed run loses at most this much work
RETRY_AFTER_VERIFICATION = timedelta(hours=6)

Progress = Callable[[str], None]
T = TypeVar("T")


def no_progress(_: str) -> None:
    return None


def verification_message(url: str) -> str:
    retry_at = datetime.now(UTC) + RETRY_AFTER_VERIFICATION
    return (
        f"{url}: WeChat served its verification page (too many requests); stopped. "
        f"Try again after {local_when(retry_at)}"
    )


@contextlib.contextmanager
def archive_run(archive: Archive, command: str) -> Iterator[Run]:
    """The command's recorded run, what killed writes left in the archive swept first."""
    with recorded_run(archive.db, command) as run:
        sweep_temp_files(archive.root)
        yield run


def fetch_links(
    archive: Archive,
    client: HttpClient,
    links: Iterable[ArticleLink],
    *,
    command: str = "fetch",
    progress: Progress = no_progress,
    unusable: Iterable[str] = (),
) -> Summary:
    """Fetch, download images and archive each link; stops with TryLater on verification.

    `unusable`: one line for each given link that is not one, counted as failed.
    """
    with archive_run(archive, command) as run:
        for problem in unusable:
            run.summary.fail(problem)
        for link in links:
            progress(link.url)
            try:
                archive_link(archive, client, link, run.summary, run.id)
            except TryLater:  # the run's to handle, not the link's
                raise
            except Exception as error:  # an error no check foresaw costs this link only
                if stops_the_run(error):
                    raise
                run.summary.fail(unexpected(link.url, error))
    return run.summary


def archive_link(
    archive: Archive, client: HttpClient, link: ArticleLink, summary: Summary, run_id: int
) -> None:
    from harvester.fetching import fetch_capture, fetch_images
    from harvester.http import FetchError

    try:
        capture = fetch_capture(client, link)
    except (FetchError, InputError) as error:
        record_fetch(archive.db, link.url, outcome="failed", error=str(error), run_id=run_id)
        summary.fail(str(error) if link.url in str(error) else f"{link.url}: {error}")
        return
    page = capture.page
    record_fetch(
        archive.db, link.url, outcome=page.kind, status=200, error=page.reason, run_id=run_id
    )
    rendering = pipeline.render(page, capture.raw) if page.is_article else None
    plan = pipeline.decide(archive, capture, rendering)
    if plan.refusal == pipeline.VERIFICATION:
        raise TryLater(verification_message(link.url))
    if plan.action == "refuse":
        summary.fail(plan.problem or link.url)
        return
    images = fetch_images(client, plan.wanted_images)
    summary.add(pipeline.save(archive, capture, plan, rendering, images))
    summary.count_images(images)


def source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and the seed-format files under folders named, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
            )
        else:
            yield path


@dataclass
class Prepared:
    """The CPU-heavy part of importing one file, done ahead (in worker processes for many):
    the file read and parsed once, an article's body converted once."""

    path: Path
    capture: Capture | None = None
    rendering: Rendering | None = None
    error: str | None = None


def prepare(path: Path) -> Prepared:
    """One file read and converted; whatever goes wrong with it is its one failure line,
    also an error no check foresaw (in a worker it would otherwise end the import)."""
    try:
        capture = read_capture(path)
        if not capture.page.is_article:
            return Prepared(path, capture)
        return Prepared(path, capture, pipeline.render(capture.page, capture.raw))
    except InputError as error:
        return Prepared(path, error=str(error))
    except Exception as error:
        return Prepared(path, error=unexpected(str(path), error))


@contextlib.contextmanager
def prepared_files(paths: list[Path]) -> Iterator[Iterator[Prepared]]:
    """Files prepared in order; on every core when there are enough files."""
    if len(paths) < PARALLEL_FROM:
        yield (prepare(path) for path in paths)
        return
    with worker_pool() as pool:
        yield prepared_ahead(pool, paths)


def worker_pool() -> ProcessPoolExecutor:
    """Up to 4 worker processes (one per core), at a lower priority than this one."""
    return ProcessPoolExecutor(
        max_workers=max(1, min(os.cpu_count() or 1, 4)),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )


def _start_worker(parent: int) -> None:
    with contextlib.suppress(AttributeError, OSError):  # os.nice: POSIX only
        os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    """A worker whose import was killed (SIGKILL, OOM) would wait on its task pipe forever,
    as it holds that pipe's other end itself: it leaves once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def prepare_chunk(paths: list[Path]) -> list[Prepared]:
    return [prepare(path) for path in paths]


def prepared_ahead(pool: ProcessPoolExecutor, paths: list[Path]) -> Iterator[Prepared]:
    """Prepared files in order, at most PREPARE_AHEAD tasks ahead of the caller.

    pool.map submits every file at once: when the archive grows and writing slows down,
    every article prepared but not yet written waits in memory.
    """
    chunks = (paths[start : start + PREPARE_CHUNK] for start in range(0, len(paths), PREPARE_CHUNK))
    pending = deque(pool.submit(prepare_chunk, chunk) for chunk in islice(chunks, PREPARE_AHEAD))
    while pending:
        prepared = pending.popleft().result()
        pending.extend(pool.submit(prepare_chunk, chunk) for chunk in islice(chunks, 1))
        yield from prepared


def import_paths(
    archive: Archive,
    client: HttpClient | None,
    paths: Iterable[Path],
    *,
    progress: Progress = no_progress,
) -> Summary:
    """Archive seed-format files (or saved pages); images downloaded unless client is None.

    Files are read and converted ahead on every core while this process writes.
    """
    with archive_run(archive, "import") as run:

        def handle(item: Prepared, batch: Batch) -> None:
            progress(str(item.path))
            try:
                import_one(archive, client, item, run.summary, batch)
            except Exception as error:  # its rows were rolled back with its savepoint
                if stops_the_run(error):  # nor can the rest be written
                    raise
                run.summary.fail(unexpected(str(item.path), error))

        with prepared_files(list(paths)) as prepared:
            in_batches(archive.db, prepared, handle, run.summary)
    return run.summary


class Batch:
    """The saves of many articles in one write transaction: one commit, one fsync of their
    new files, which is what makes a large import or rebuild fast.

    The transaction begins at the first save (`write`), and is committed after COMMIT_EVERY
    articles or COMMIT_AFTER seconds (`done`), before anything waits on the network
    (`commit`: no write lock is held while images download, so a harvest or fetch started
    meanwhile writes in between), and however the block ends: each article saves in its own
    savepoint, so an error keeps every article saved before it (Ctrl-C: every article of
    the batches committed before, see `abandon`). A commit the disk
    has no room for is rolled back, as is a batch SQLite rolled back itself when a save
    found the disk full, and `summary` counts again only what was committed.
    """

    def __init__(self, db: sqlite_utils.Database, summary: Summary) -> None:
        self.db = db
        self.summary = summary
        self.files = contextlib.ExitStack()
        self.before = summary
        self.open = False  # a transaction of this batch was begun and is not yet settled
        self.count = 0
        self.started = 0.0

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.abandon()
        else:
            self.commit()

    def abandon(self) -> None:
        """Ctrl-C or SIGTERM can come between an article's save and its count, so the batch
        it interrupts is rolled back and counted as it was before: the run then says
        exactly what was committed (its files stay, unreferenced, as after a crash)."""
        if self.db.conn.in_transaction:
            self.db.conn.execute("ROLLBACK")
        if self.open:
            self.open = False
            self.files.close()
            self.summary.restore(self.before)

    def write(self) -> None:
        """An article is about to be saved: in the open transaction, or a new one."""
        if self.db.conn.in_transaction:
            return
        begin_write(self.db)
        self.files.enter_context(fsync_at_end())
        self.before, self.count, self.started = self.summary.copy(), 0, time.monotonic()
        self.open = True

    def done(self) -> None:
        """One article handled: commit when the batch is full or old enough."""
        self.count += 1
        if self.count >= COMMIT_EVERY or time.monotonic() - self.started >= COMMIT_AFTER:
            self.commit()

    def commit(self) -> None:
        if not self.db.conn.in_transaction:
            if self.open:  # SQLite rolled it back itself (a full disk): nothing was kept
                self.open = False
                self.files.close()
                self.summary.restore(self.before)
            return
        try:
            self.files.close()  # the new files are on disk before rows name them
            self.db.conn.execute("COMMIT")
        except (OSError, sqlite3.OperationalError) as error:
            if not is_disk_full(error):
                raise
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            self.open = False
            self.summary.restore(self.before)
            raise
        self.open = False


def in_batches(
    db: sqlite_utils.Database,
    items: Iterable[T],
    handle: Callable[[T, Batch], None],
    summary: Summary,
) -> None:
    """Handle every item, its saves in a Batch (`handle` calls `batch.write()` before one)."""
    with Batch(db, summary) as batch:
        for item in items:
            handle(item, batch)
            batch.done()


def import_one(
    archive: Archive, client: HttpClient | None, item: Prepared, summary: Summary, batch: Batch
) -> None:
    capture, path = item.capture, item.path
    if capture is None:
        summary.fail(item.error or f"{path}: unreadable")
        return
    plan = pipeline.decide(archive, capture, item.rendering)
    if plan.refusal == pipeline.NOT_ARTICLE:  # a section page, an about page: nothing wrong
        summary.add(NOT_ARTICLES)
        return
    if plan.refusal == pipeline.BARE_LINK:
        summary.fail(plan.problem or str(path))
        return
    if plan.action == "refuse":
        summary.fail(plan.problem or str(path))
        return
    tried: dict[str, ImageData | str] = {}  # fetched or read: what the summary counts
    if client is not None and plan.wanted_images:
        from harvester.fetching import fetch_images

        batch.commit()  # no write lock held while waiting on the network
        tried = fetch_images(client, plan.wanted_images)
    if plan.local_images:  # stored images the file links, read from beside it (no download)
        tried |= read_stored_images(path, plan.local_images)
    images = {**pipeline.not_downloaded(plan), **tried}
    batch.write()
    try:
        outcome = pipeline.save(archive, capture, plan, item.rendering, images)
    except OSError as error:  # this article's files could not be written; the rest can
        if is_disk_full(error):  # nor can the rest: the run stops (runs.recorded_run)
            raise
        summary.fail(f"{path}: not archived: {error.strerror or error}")
        return
    summary.add(outcome)
    summary.count_images(tried)


def rebuild_all(archive: Archive, *, progress: Progress = no_progress) -> Summary:
    """Re-convert every article from its stored raw capture, offline; no revisions added."""
    with archive_run(archive, "rebuild") as run:

        def handle(key: str, batch: Batch) -> None:
            progress(key)
            batch.write()
            try:
                run.summary.add(rebuild_one(archive, key))
            except (InputError, OSError, ValueError) as error:
                if is_disk_full(error):
                    raise
                run.summary.fail(f"{key}: {error}")
            except Exception as error:
                if stops_the_run(error):
                    raise
                run.summary.fail(unexpected(key, error))

        in_batches(archive.db, keys_with_raw_capture(archive.db), handle, run.summary)
    return run.summary


def rebuild_one(archive: Archive, key: str) -> str:
    row = archive.row(key)
    assert row is not None, "keys_with_raw_capture lists archived articles"
    raw, page = read_stored_capture(archive.root, row["raw_path"])  # InputError names it
    capture = Capture(page, raw, datetime.now(UTC), key, key)
    plan = pipeline.decide_rebuild(archive, row, capture)
    if plan.action == "refuse":
        return "unchanged"
    return pipeline.save(archive, capture, plan, pipeline.render(page, None))
