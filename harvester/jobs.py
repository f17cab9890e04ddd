"""The archiving commands (`fetch`, `import`, `rebuild`) as functions the CLI wires up."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlite_utils

from archive.files import StoredImage, fsync_at_end, read_raw, write_file
from archive.index import (
    finish_run,
    get_article,
    keys_with_raw_capture,
    mark_status,
    record_fetch,
    start_run,
    update_rendering,
)
from harvester.archiver import Archive, Rendered, page_images, render_ahead
from harvester.document import render_article
from harvester.errors import InputError, TryLater
from harvester.links import ArticleLink
from harvester.markdown import convert_body
from harvester.model import Page
from harvester.reader import decode_source, parse_source, read_source

if TYPE_CHECKING:  # httpx is imported only when something is fetched: `import` starts sooner
    from harvester.http import HttpClient

SUMMARY_ORDER = ("new", "updated", "unchanged", "deleted", "failed")
SOURCE_SUFFIXES = (".md", ".txt", ".html", ".htm")
PARALLEL_FROM = 32  # files; fewer are not worth starting worker processes for
PREPARE_CHUNK = 4  # files a worker prepares per task
PREPARE_AHEAD = 16  # tasks in flight: how far preparing may run ahead of writing
# Workers give way to the writing process, the one stage that cannot run in parallel:
# with 2 cores and 2 workers the writer otherwise waits for a core (import 5% faster).
WORKER_NICENESS = 10
COMMIT_EVERY = 64  # articles imported or rebuilt in one transaction, at most
COMMIT_AFTER = 1.0  # seconds; a killed run loses at most this much work
RETRY_AFTER_VERIFICATION = timedelta(hours=6)

Progress = Callable[[str], None]
T = TypeVar("T")


def no_progress(_: str) -> None:
    return None


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


def verification_message(url: str) -> str:
    retry_at = datetime.now(UTC) + RETRY_AFTER_VERIFICATION
    return (
        f"{url}: WeChat served its verification page (too many requests); stopped. "
        f"Try again after {retry_at:%Y-%m-%d %H:%M} UTC"
    )


def fetch_links(
    archive: Archive,
    client: HttpClient,
    links: Iterable[ArticleLink],
    *,
    command: str = "fetch",
    progress: Progress = no_progress,
) -> Summary:
    """Fetch, download images and archive each link; stops with TryLater on verification."""
    summary = Summary()
    run_id = start_run(archive.db, command)
    outcome, message = "ok", None
    try:
        for link in links:
            progress(link.url)
            archive_link(archive, client, link, summary, run_id)
    except TryLater as error:
        outcome, message = "try-later", str(error)
        raise
    finally:
        if summary.failures and outcome == "ok":
            outcome = "partial"
        finish_run(archive.db, run_id, outcome, dict(summary.counts), message)
    return summary


def archive_link(
    archive: Archive, client: HttpClient, link: ArticleLink, summary: Summary, run_id: int
) -> None:
    from harvester.fetching import download_images, fetch_capture
    from harvester.http import FetchError

    try:
        capture = fetch_capture(client, link)
    except (FetchError, InputError) as error:
        record_fetch(archive.db, link.url, outcome="failed", error=str(error), run_id=run_id)
        summary.fail(str(error) if link.url in str(error) else f"{link.url}: {error}")
        return
    page = capture.page
    record_fetch(archive.db, link.url, outcome=page.kind, status=200, run_id=run_id)
    if page.kind == "verification":
        raise TryLater(verification_message(link.url))
    key = archive.resolve_key(page, link.key)
    if not page.is_article:
        if key is None or get_article(archive.db, key) is None:
            summary.fail(f"{link.url}: {page.kind} page; the article was never archived")
            return
        changed = mark_status(archive.db, key, page.kind, capture.fetched_at)
        summary.add("deleted" if changed else "unchanged")
        return
    images = download_images(client, archive.root, page_images(page), archive.known_images(key))
    summary.add(archive.save(page, capture.raw, capture.fetched_at, images))


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
    """The CPU-heavy part of importing one file, done ahead (in worker processes for many)."""

    path: Path
    page: Page | None = None
    error: str | None = None
    images: list[str] | None = None
    rendered: Rendered | None = None


def prepare(path: Path, render: bool = True) -> Prepared:
    """Read and parse one source; with `render`, also its image URLs and everything
    saving it needs that does not depend on the archive (render_ahead)."""
    try:
        page = read_source(path)
    except InputError as error:
        return Prepared(path, error=str(error))
    if not (render and page.is_article):
        return Prepared(path, page)
    converted = convert_body(page.body_html)
    rendered = render_ahead(page, path.read_bytes(), converted)
    return Prepared(path, page, None, page_images(page, converted.image_urls), rendered)


@contextlib.contextmanager
def prepared_files(paths: list[Path], render: bool) -> Iterator[Iterator[Prepared]]:
    """Files prepared in order; rendering runs on every core when there are enough files."""
    if not render or len(paths) < PARALLEL_FROM:
        yield (prepare(path, render) for path in paths)
        return
    with worker_pool() as pool:
        yield prepared_ahead(pool, paths)


def worker_pool() -> ProcessPoolExecutor:
    """Up to 4 worker processes (one per core), at a lower priority than this one."""
    return ProcessPoolExecutor(
        max_workers=max(1, min(os.cpu_count() or 1, 4)), initializer=_lower_priority
    )


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # os.nice: POSIX only
        os.nice(WORKER_NICENESS)


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

    Without images, bodies are converted ahead on every core while this process writes.
    """
    summary = Summary()
    run_id = start_run(archive.db, "import")

    def handle(item: Prepared) -> None:
        progress(str(item.path))
        import_one(archive, client, item, summary)

    try:
        with prepared_files(list(paths), render=client is None) as prepared:
            in_batches(archive.db, prepared, handle)
    finally:
        outcome = "partial" if summary.failures else "ok"
        finish_run(archive.db, run_id, outcome, dict(summary.counts))
    return summary


@contextlib.contextmanager
def committed_as_far_as_done(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction, committed however the block ends: each article saves in its
    own savepoint, so an error or Ctrl-C keeps every article saved before it."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")


def in_batches(db: sqlite_utils.Database, items: Iterable[T], handle: Callable[[T], None]) -> None:
    """Handle every item, committing once per COMMIT_EVERY items or COMMIT_AFTER seconds.

    One commit (one fsync of the index, one journal flush for the new files) for many
    articles is what makes a large import or rebuild fast; the time limit keeps slow ones
    (downloading images) committing often. Each article saves in its own savepoint, so an
    error or Ctrl-C keeps every article handled before it.
    """
    remaining = iter(items)
    more = True
    while more:
        with committed_as_far_as_done(db), fsync_at_end():
            more = False
            started = time.monotonic()
            for count, item in enumerate(remaining, start=1):
                handle(item)
                if count >= COMMIT_EVERY or time.monotonic() - started >= COMMIT_AFTER:
                    more = True
                    break


def import_one(
    archive: Archive, client: HttpClient | None, item: Prepared, summary: Summary
) -> None:
    page, path = item.page, item.path
    if page is None:
        summary.fail(item.error or f"{path}: unreadable")
        return
    if page.kind == "link":
        summary.add("skipped")
        summary.failures.append(f"{path}: a bare link, never fetched; run harvester fetch on it")
        return
    if not page.is_article:
        summary.fail(f"{path}: {page.kind} page, nothing archived")
        return
    known = archive.known_images(archive.resolve_key(page))
    urls = item.images if item.images is not None else page_images(page)
    if client is None:
        images: dict[str, StoredImage | str] = {
            url: known.get(url) or "not downloaded (--no-images)" for url in urls
        }
    else:
        from harvester.fetching import download_images

        images = download_images(client, archive.root, urls, known)
    fetched_at = page.fetched_at or datetime.now(UTC)
    try:
        raw = path.read_bytes()
        summary.add(archive.save(page, raw, fetched_at, images, rendered=item.rendered))
    except OSError as error:  # this article's files could not be written; the rest can
        summary.fail(f"{path}: not archived: {error.strerror or error}")


def rebuild_all(archive: Archive, *, progress: Progress = no_progress) -> Summary:
    """Re-convert every article from its stored raw capture, offline; no revisions added."""
    summary = Summary()
    keys = keys_with_raw_capture(archive.db)

    def handle(key: str) -> None:
        progress(key)
        try:
            summary.add(rebuild_one(archive, key))
        except (InputError, OSError, ValueError) as error:
            summary.fail(f"{key}: {error}")

    in_batches(archive.db, keys, handle)
    return summary


def rebuild_one(archive: Archive, key: str) -> str:
    row = get_article(archive.db, key)
    page = parse_source(decode_source(read_raw(archive.root, row["raw_path"])))
    if not page.is_article:
        return "unchanged"
    page.short_url = page.short_url or row["short_url"]
    page.fetched_at = datetime.fromisoformat(row["first_fetched_at"])
    if page.key is None or page.key != key:
        page.biz, page.mid, page.idx = row["biz"], row["mid"], row["idx"]
    body = archive.render_body(page, row["md_path"], archive.known_images(key))
    status = row["status"]
    written = write_file(
        archive.root, row["md_path"], render_article(page, body, status=status).encode("utf-8")
    )
    changed = update_rendering(archive.db, key, md_path=row["md_path"], body_text=body)
    return "updated" if written or changed else "unchanged"
