"""`harvester harvest`: the cron job. Config → sources → queue → fetch and archive → run record.

One run, in order:

1. the config is read and checked (exit 2 on any problem, before a request is made);
2. `harvest.lock` in the archive is taken (exit 75 naming the holder's pid if another run
   has it); runs a killed harvest left "running" are marked "interrupted";
3. a host still backing off after a verification page means exit 75 at once, no request;
4. every source is listed; each article neither archived nor queued is committed to the
   queue (a listing costs the source's own requests, nothing per known article); with
   `refresh_days`, recent archived articles not checked for a day are queued again;
5. the queue is drained, oldest first (what a killed run left comes first): one thread
   fetches article pages one after another, a few more download the images of the pages
   already fetched, and this thread saves each article and marks it done. Image downloads
   of one article thus overlap the next page's fetch, while the HttpClient paces each host;
6. a verification page, freq control or a 429 too long to wait stops the run: nothing new
   starts (what is running finishes), the host backs off across runs, exit 75.

stdout stays empty (unless --json); stderr gets one line per failure and warning, and a
summary line when something went wrong (or on a terminal, with a progress bar).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archive.index import record_fetch
from archive.times import iso_china, iso_utc, local_when, now_utc
from harvester import pipeline
from harvester.archiver import Archive
from harvester.errors import InputError, TryLater
from harvester.fetching import fetch_capture, fetch_images
from harvester.harvest_config import HarvestConfig, SourceConfig, load_config
from harvester.http import (
    ARTICLE_HOST,
    IMAGE_HOSTS,
    WECHAT_HOSTS,
    FetchError,
    HttpClient,
    RateLimited,
)
from harvester.http import relay_from_env as relay_from_environ
from harvester.links import ArticleLink, LinkError, parse_link
from harvester.lock import HarvestLock, LockHeld, pid_alive
from harvester.model import Capture, Page
from harvester.pipeline import Plan, Rendering
from harvester.queue import (
    DONE,
    FAILED,
    HarvestQueue,
    QueueItem,
    mark_interrupted_runs,
)
from harvester.reader import read_capture
from harvester.runs import Summary, recorded_run
from harvester.sources import Listing, Source, SourceError, followed_links

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_TRY_LATER = 0, 1, 2, 75
DEFAULT_ARCHIVE = Path("wechat-archive")
COUNT_NAMES = ("new", "updated", "unchanged", "deleted", "failed", "skipped", "enqueued")
RECHECK_AFTER = timedelta(hours=20)  # "not checked for about a day", for nightly runs
TEMP_MAX_AGE = 600.0  # seconds: a `.tmp-*.part` this old was left by a killed write
ENQUEUE_BATCH = 100


def run_harvest(config_path: Path, archive_dir: Path | None, *, as_json: bool = False) -> int:
    """Run one harvest; the exit code (0 done, 1 some failed, 2 bad config, 75 try later)."""
    report = Report(as_json=as_json, tty=sys.stderr.isatty())
    try:
        config = load_config(config_path)
        relay = relay_from_environ(os.environ)
    except InputError as error:
        return report.early_exit(EXIT_USAGE, "bad-config", str(error))
    root = archive_dir or config.archive or DEFAULT_ARCHIVE
    lock = HarvestLock(root)
    try:
        lock.acquire()
    except LockHeld as error:
        return report.early_exit(EXIT_TRY_LATER, "locked", str(error), holder_pid=error.pid)
    try:
        with contextlib.closing(Archive.open(root)) as archive, sigterm_as_interrupt():
            return Harvest(config, archive, relay, report).run()
    finally:
        lock.release()


# --------------------------------------------------------------------------- one run


class HostStopped(Exception):
    """A request to a host this run stopped asking (after it said slow down)."""


class GuardedClient:
    """The HttpClient, refusing (before any network) hosts the run has stopped asking."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.stopped: set[str] = set()

    def get(self, url: str, **options: Any) -> Any:
        host = (urlsplit(url).hostname or "").lower()
        if host in self.stopped:
            raise HostStopped(host)
        return self.client.get(url, **options)

    def allow_host(self, host: str) -> None:
        self.client.allow_host(host)


class Harvest:
    """One run, its lock already held: the run record, sources, refresh, the drain."""

    def __init__(
        self, config: HarvestConfig, archive: Archive, relay: dict[str, str], report: Report
    ) -> None:
        self.config = config
        self.archive = archive
        self.db = archive.db
        self.relay = relay
        self.report = report
        self.queue = HarvestQueue(archive.db)
        self.summary = Summary()
        for name in COUNT_NAMES:
            self.summary.counts[name] += 0
        self.warnings: list[str] = []
        self.started = now_utc()
        self.run_id = 0
        self.outcome = "running"
        self.client: GuardedClient | None = None
        self.stopped = False  # a WeChat host said slow down: nothing new starts
        self.try_later: list[str] = []  # why this run ends with 75
        self.backoff_until: datetime | None = None
        self.follow_other: dict[str, bool] = {}

    # -- the whole run

    def run(self) -> int:
        mark_interrupted_runs(self.db, self._stale_run)
        with recorded_run(self.db, "harvest", self.summary) as run:
            self.run_id = run.id
            sweep_temp_files(self.archive.root)
            self._run()
            run.outcome = "try-later" if self.try_later else "partial" if self.failed else "ok"
            run.message = "; ".join(self.try_later) or None
        self.outcome = run.outcome
        if self.outcome in ("ok", "partial"):
            self.queue.clear_expired_backoffs(now_utc())
        return self.report.finish(self)

    @property
    def failed(self) -> bool:
        return bool(self.summary.counts["failed"])

    @property
    def exit_code(self) -> int:
        if self.try_later:
            return EXIT_TRY_LATER
        return EXIT_SOME_FAILED if self.failed else EXIT_OK

    def _stale_run(self, row: dict) -> bool:
        return row["command"] == "harvest" or not pid_alive(row["pid"])

    def _run(self) -> None:
        blocked = self.queue.active_backoffs(self.started)
        wechat = [b for host, b in blocked.items() if host in WECHAT_HOSTS]
        if wechat:
            first = min(wechat, key=lambda b: b.until)
            self.backoff_until = max(b.until for b in wechat)
            self.try_later.append(
                f"backing off {first.host} until {local_when(self.backoff_until)} "
                f"({first.reason or 'it asked us to slow down'}); nothing fetched"
            )
            return
        with self._client() as client:
            self.client = GuardedClient(client)
            sources = self.config.build_sources(self.client)
            self.follow_other = {s.name: spec.follow_other_accounts for spec, s in sources}
            self.queue.revive_failed(now=now_utc())
            with self.report.progress() as progress:
                self._list(sources, blocked)
                if not self.stopped:
                    self._enqueue_refresh(sources)
                if not self.stopped:
                    Drain(self, progress).run()

    def _client(self) -> HttpClient:
        """The one client; feed sources add their own host to its allowlist themselves."""
        polite = self.config.politeness
        image_limit = (polite.image_requests_per_second, polite.image_concurrency)
        return HttpClient(
            requests_per_second=polite.requests_per_second,
            concurrency=polite.concurrency,
            host_limits=dict.fromkeys(IMAGE_HOSTS, image_limit),
            jitter=polite.jitter,
            retries=polite.retries,
            backoff_base=polite.retry_backoff_seconds,
            timeout=(min(10.0, polite.timeout_seconds), polite.timeout_seconds),
            relay=self.relay,
            allowed_hosts=WECHAT_HOSTS,
        )

    # -- slowing down

    def slow_down(self, error: TryLater, host: str, *, what: str | None = None) -> None:
        """A host asked us to slow down: stop asking it, remember it across runs."""
        retry_after = getattr(error, "retry_after", None)
        backoff = self.queue.back_off(
            host,
            now=now_utc(),
            hours=self.config.politeness.backoff_hours,
            reason=_first_words(what or str(error)),
            at_least=retry_after if isinstance(retry_after, (int, float)) else None,
        )
        if self.client is not None:
            self.client.stopped.add(host)
        if host in WECHAT_HOSTS:
            self.stopped = True
        self.backoff_until = max(filter(None, (self.backoff_until, backoff.until)))
        self.try_later.append(
            f"{what or error}; stopped asking {host}, backing off until "
            f"{local_when(backoff.until)} (a run before then exits 75 at once)"
        )

    # -- listing the sources

    def _list(self, sources: list[tuple[SourceConfig, Source]], blocked: dict) -> None:
        for _spec, source in sources:
            if self.stopped:
                return
            waiting = sorted(host for host in source.extra_hosts if host in blocked)
            if waiting:
                self.try_later.append(
                    f"{source.label}: skipped, backing off {waiting[0]} until "
                    f"{local_when(blocked[waiting[0]].until)}"
                )
                continue
            self._list_one(source)
            self.warnings += source.warnings

    def _list_one(self, source: Source) -> None:
        batch: dict[str, QueueItem] = {}
        try:
            for listing in source.listings():
                item = self._new_item(listing, source, batch)
                if item is None:
                    self.summary.add("skipped")
                    continue
                batch[item.key] = item
                if len(batch) >= ENQUEUE_BATCH:
                    self._enqueue(batch)
        except TryLater as error:
            self.slow_down(error, try_later_host(error))
        except HostStopped:
            pass
        except (SourceError, FetchError, InputError) as error:
            message = str(error)
            self.summary.fail(message if source.name in message else f"{source.label}: {message}")
        finally:
            self._enqueue(batch)

    def _new_item(
        self, listing: Listing, source: Source, batch: dict[str, QueueItem]
    ) -> QueueItem | None:
        link = listing.link
        if link.key in batch or self.queue.state(link.key) is not None:
            return None
        if self.archive.has_link(link):
            return None
        published = iso_china(listing.published_at)
        return QueueItem(
            key=link.key,
            url=link.url,
            source=source.name,
            title=listing.title,
            published_at=published,
            seed_path=str(listing.seed_path.resolve()) if listing.seed_path else None,
            follow=source.follow_links,
        )

    def _enqueue(self, batch: dict[str, QueueItem]) -> None:
        if batch:
            added = self.queue.add(batch.values(), self.run_id, now=now_utc())
            self.summary.counts["enqueued"] += added
            batch.clear()

    def _enqueue_refresh(self, sources: list[tuple[SourceConfig, Source]]) -> None:
        windows = [(self.config.refresh_days, None)] if self.config.refresh_days else []
        windows += [(spec.refresh_days, s.name) for spec, s in sources if spec.refresh_days]
        now = now_utc()
        items: dict[str, QueueItem] = {}
        for days, name in windows:
            sql = """SELECT key, url, short_url, title, published_at FROM articles
                WHERE status = 'live' AND published_at >= ?
                AND (last_checked_at IS NULL OR last_checked_at < ?)
                AND key NOT IN (SELECT key FROM queue WHERE state = 'pending')"""
            params: list[Any] = [
                iso_china(now - timedelta(days=days)),
                iso_utc(now - RECHECK_AFTER),
            ]
            if name is not None:
                sql += " AND key IN (SELECT article_key FROM queue WHERE source = ?)"
                params.append(name)
            for row in self.db.query(sql + " ORDER BY published_at DESC", params):
                url = row["url"] or row["short_url"]
                if url:
                    items[row["key"]] = QueueItem(
                        key=row["key"],
                        url=url,
                        source=name,
                        title=row["title"],
                        published_at=row["published_at"],
                        reason="refresh",
                    )
        if items:
            self.summary.counts["enqueued"] += self.queue.requeue(
                items.values(), self.run_id, now=now
            )

    # -- following links

    def follow(self, page: Page, key: str, item: QueueItem) -> int:
        """Queue the articles `page` links to (depth 1: those are not followed further)."""
        same_account = not self.follow_other.get(item.source or "", False)
        links = followed_links(page.body_html, from_biz=page.biz, same_account_only=same_account)
        batch: dict[str, QueueItem] = {}
        for link in links:
            if link.key in (key, item.key) or link.key in batch:
                continue
            if self.queue.state(link.key) is not None or self.archive.has_link(link):
                continue
            only_biz = page.biz if same_account and link.biz is None else None
            batch[link.key] = QueueItem(
                key=link.key, url=link.url, source=item.source, reason="follow", only_biz=only_biz
            )
        added = len(batch)
        self._enqueue(batch)
        return added


def try_later_host(error: TryLater) -> str:
    """The host that asked us to slow down."""
    if isinstance(error, RateLimited):
        return (urlsplit(error.url).hostname or ARTICLE_HOST).lower()
    return ARTICLE_HOST


# --------------------------------------------------------------------------- the drain


@dataclass
class Fetched:
    """An article page in hand (fetched, or read from a seed file), converted and decided,
    waiting for its images."""

    item: QueueItem
    capture: Capture
    rendering: Rendering
    plan: Plan


class Drain:
    """Takes pending queue items until none is left (or the run must stop).

    Worker threads only touch the network and the content-addressed image store; every
    database write happens here, in the calling thread.
    """

    def __init__(self, harvest: Harvest, progress: Progress) -> None:
        self.h = harvest
        self.archive = harvest.archive
        self.queue = harvest.queue
        self.summary = harvest.summary
        self.progress = progress
        concurrency = harvest.config.politeness.image_concurrency
        self.image_slots = max(2, concurrency)  # articles downloading images at once
        self.image_workers = max(2, concurrency)  # threads per article
        self.taken: set[str] = set()
        self.upcoming: deque[QueueItem] = deque()
        self.ready: deque[Fetched] = deque()
        self.jobs: dict[Future, tuple[str, Any]] = {}
        self.page_busy = False
        progress.start(self.queue.pending_count())

    @property
    def client(self) -> GuardedClient:
        assert self.h.client is not None
        return self.h.client

    def run(self) -> None:
        pages = ThreadPoolExecutor(1, thread_name_prefix="harvest-page")
        images = ThreadPoolExecutor(self.image_slots, thread_name_prefix="harvest-images")
        try:
            while True:
                self._start_work(pages, images)
                if not self.jobs:
                    return
                done, _ = wait(list(self.jobs), return_when=FIRST_COMPLETED)
                for future in done:
                    stage, payload = self.jobs.pop(future)
                    if stage == "page":
                        self.page_busy = False
                        self._page_done(payload, future)
                    else:
                        self._images_done(payload, future)
        finally:
            pages.shutdown(wait=False, cancel_futures=True)
            images.shutdown(wait=False, cancel_futures=True)

    def _start_work(self, pages: ThreadPoolExecutor, images: ThreadPoolExecutor) -> None:
        if self.h.stopped:
            self.ready.clear()  # fetched but not archived: still pending for the next run
            return
        image_jobs = sum(1 for stage, _ in self.jobs.values() if stage == "images")
        while self.ready and image_jobs < self.image_slots:
            fetched = self.ready.popleft()
            future = images.submit(
                fetch_images, self.client, fetched.plan.wanted_images, workers=self.image_workers
            )
            self.jobs[future] = ("images", fetched)
            image_jobs += 1
        while not self.page_busy and len(self.ready) < self.image_slots:
            item = self._next_item()
            if item is None:
                return
            try:
                link = parse_link(item.url)
            except LinkError as error:
                self._fail(item, str(error), final=True)
                continue
            self.jobs[pages.submit(self._obtain, item, link)] = ("page", item)
            self.page_busy = True

    def _next_item(self) -> QueueItem | None:
        while True:
            if not self.upcoming:
                self.upcoming.extend(self.queue.pending(exclude=self.taken))
                if not self.upcoming:
                    return None
            item = self.upcoming.popleft()
            if item.key in self.taken:
                continue
            self.taken.add(item.key)
            if item.reason != "refresh" and self._archived(item):
                # Archived meanwhile (by a run killed just after saving, or another source).
                self.queue.finish(item.key, DONE, self.h.run_id, now=now_utc())
                self.summary.add("skipped")
                self.progress.advance(item.title or item.key)
                continue
            return item

    def _archived(self, item: QueueItem) -> bool:
        try:
            return self.archive.has_link(parse_link(item.url))
        except LinkError:
            return False

    # -- in a worker thread

    def _obtain(self, item: QueueItem, link: ArticleLink) -> Capture:
        """The page of an item: read from its seed file, or fetched (network only)."""
        capture = read_capture(Path(item.seed_path)) if item.seed_path else None
        capture = capture or fetch_capture(self.client, link)
        capture.origin, capture.link_key = item.url, link.key
        return capture

    # -- back in this thread

    def _page_done(self, item: QueueItem, future: Future) -> None:
        try:
            capture: Capture = future.result()
        except HostStopped:
            return
        except TryLater as error:
            self.h.slow_down(error, try_later_host(error))
            return
        except (FetchError, InputError, OSError) as error:
            if not item.seed_path:
                record_fetch(
                    self.h.db, item.url, outcome="failed", error=str(error), run_id=self.h.run_id
                )
            message = str(error)
            self._fail(item, message if item.url in message else f"{item.url}: {message}")
            return
        page = capture.page
        if not item.seed_path:
            record_fetch(self.h.db, item.url, outcome=page.kind, status=200, run_id=self.h.run_id)
        if page.is_article and item.only_biz and page.biz and page.biz != item.only_biz:
            # A followed short link that turned out to be another account's article.
            self.queue.finish(item.key, DONE, self.h.run_id, now=now_utc(), error="another account")
            self.summary.add("skipped")
            self.progress.advance(item.title or item.key)
            return
        rendering = pipeline.render(page, capture.raw) if page.is_article else None
        plan = pipeline.decide(self.archive, capture, rendering)
        if plan.action == "refuse":
            self._refused(item, plan)
        elif plan.action == "status":
            self.summary.add(pipeline.save(self.archive, capture, plan))
            self.queue.finish(item.key, DONE, self.h.run_id, now=now_utc(), article_key=plan.key)
            self.progress.advance(item.title or item.key)
        else:
            assert rendering is not None
            self.ready.append(Fetched(item, capture, rendering, plan))

    def _refused(self, item: QueueItem, plan: Plan) -> None:
        """A page that cannot be archived: a verification page stops the run."""
        if plan.refusal == pipeline.VERIFICATION:
            what = f"{item.url}: WeChat served its verification page (too many requests)"
            self.h.slow_down(TryLater(what), ARTICLE_HOST, what=what)
        elif plan.refusal == pipeline.BARE_LINK:
            self._fail(item, f"{item.url}: a bare link, nothing to archive", final=True)
        else:
            self._fail(item, plan.problem or item.url, final=True)

    def _images_done(self, fetched: Fetched, future: Future) -> None:
        item = fetched.item
        try:
            images = future.result()
        except HostStopped:
            return
        except TryLater as error:
            self.h.slow_down(error, try_later_host(error))
            return
        plan, capture = fetched.plan, fetched.capture
        try:
            outcome = pipeline.save(self.archive, capture, plan, fetched.rendering, images)
        except (ValueError, OSError) as error:
            self._fail(item, f"{item.url}: not archived: {error}")
            return
        self.summary.add(outcome)
        key = plan.key or item.key
        self.queue.finish(item.key, DONE, self.h.run_id, now=now_utc(), article_key=key)
        if item.follow:
            self.progress.grow(self.h.follow(capture.page, key, item))
        self.progress.advance(item.title or item.key)

    def _fail(self, item: QueueItem, message: str, final: bool = False) -> None:
        self.summary.fail(message)
        self.queue.finish(
            item.key, FAILED, self.h.run_id, now=now_utc(), error=message, final=final
        )
        self.progress.advance(item.title or item.key)


# --------------------------------------------------------------------------- output


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
            self.bar.update(self.task, advance=1, description=f"harvest {label[:30]}")


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
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
            yield Progress(bar)

    def early_exit(self, code: int, outcome: str, message: str, **extra: Any) -> int:
        """A run that never started: bad config, or another run holds the lock."""
        print(f"harvester: {message}", file=sys.stderr)
        if self.as_json:
            self._json(
                {"outcome": outcome, "exit_code": code, "run_id": None, "message": message, **extra}
            )
        return code

    def finish(self, harvest: Harvest) -> int:
        code = harvest.exit_code
        for line in harvest.summary.failures + harvest.try_later:
            print(f"harvester: {line}", file=sys.stderr)
        for line in harvest.warnings:
            print(f"harvester: warning: {line}", file=sys.stderr)
        if code != EXIT_OK or self.tty:
            print(
                f"harvester: harvest {harvest.outcome}: {harvest.summary.line()} "
                f"(run {harvest.run_id}, archive {harvest.archive.root})",
                file=sys.stderr,
            )
        if self.as_json:
            self._json(json_summary(harvest, code))
        return code

    @staticmethod
    def _json(data: dict[str, Any]) -> None:
        print(json.dumps(data, ensure_ascii=False, sort_keys=True), flush=True)


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
        "pending": harvest.queue.pending_count(),
        "failures": list(harvest.summary.failures),
        "warnings": list(harvest.warnings),
        "message": "; ".join(harvest.try_later) or None,
        "backoff_until": iso_utc(harvest.backoff_until) if harvest.backoff_until else None,
    }


# --------------------------------------------------------------------------- helpers


def _first_words(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sweep_temp_files(root: Path, *, older_than: float = TEMP_MAX_AGE) -> int:
    """Remove temporary files a killed write left (`.tmp-*.part`, older than `older_than` s)."""
    cutoff = time.time() - older_than
    removed = 0
    for folder in ("articles", "images", "raw"):
        for path in (root / folder).rglob(".tmp-*.part"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed


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
