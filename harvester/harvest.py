"""`harvester harvest`: the cron job. Config → sources → queue → fetch and archive → run record.

One run, in order:

1. the config is read and checked (exit 2 on any problem, before a request is made);
2. `harvest.lock` in the archive is taken (exit 75 naming the holder's pid if another run
   has it); runs a killed harvest left "running" are marked "interrupted";
3. a host still backing off after a verification page means exit 75 at once, no request;
4. every source is listed; each article neither archived nor queued is committed to the
   queue (a listing costs the source's own requests, nothing per known article); with
   `refresh_days`, recent archived articles not checked for a day are queued again;
5. the queue is drained, oldest first (what a killed run left comes first): every page
   goes through the one archiving pipeline (harvester/drain.py);
6. a verification page, freq control or a 429 too long to wait stops the run: nothing new
   starts (what is running finishes), the host backs off across runs, exit 75.

stdout stays empty (unless --json); stderr gets one line per failure and warning, and a
summary line when something went wrong (or on a terminal, with a progress bar): see
harvester/harvest_report.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from archive.errors import IndexBusy
from archive.files import check_writable, sweep_temp_files
from archive.times import iso_china, iso_utc, local_when, now_utc
from harvester.archiver import Archive
from harvester.discovered import Discovered, Found
from harvester.drain import Drain, GuardedClient, HostStopped, try_later_host
from harvester.errors import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_TRY_LATER,
    EXIT_USAGE,
    DiskFull,
    InputError,
    SourceTryLater,
    TryLater,
    is_disk_full,
)
from harvester.harvest_config import (
    HarvestConfig,
    SourceConfig,
    load_config,
    politeness_from_env,
)
from harvester.harvest_report import COUNT_NAMES, Report
from harvester.http import (
    IMAGE_HOSTS,
    WECHAT_HOSTS,
    FetchError,
    HttpClient,
)
from harvester.http import relay_from_env as relay_from_environ
from harvester.links import ArticleLink
from harvester.lock import HarvestLock, LockHeld, LockRefused, pid_alive
from harvester.model import Page
from harvester.queue import (
    HarvestQueue,
    QueueItem,
    mark_interrupted_runs,
)
from harvester.runs import Summary, record_busy, recorded_run, sigterm_as_interrupt
from harvester.settings import env_number
from harvester.sources import Listing, Source, SourceError, followed_links
from harvester.sources.discovery import album_ids_in_page

DEFAULT_ARCHIVE = Path("wechat-archive")
RECHECK_AFTER = timedelta(hours=20)  # "not checked for about a day", for nightly runs
ENQUEUE_BATCH = 100


def run_harvest(config_path: Path, archive_dir: Path | None, *, as_json: bool = False) -> int:
    """Run one harvest; the exit code (0 done, 1 some failed, 2 bad config, 75 try later)."""
    report = Report(as_json=as_json, tty=sys.stderr.isatty())
    try:
        config = load_config(config_path)
        config = replace(config, politeness=politeness_from_env(config.politeness, os.environ))
        relay = relay_from_environ(os.environ)
        env_number(os.environ, "HARVESTER_BUSY_SECONDS")  # a bad value is a bad config too
    except InputError as error:
        return report.early_exit(EXIT_USAGE, "bad-config", str(error))
    root = archive_dir or config.archive or DEFAULT_ARCHIVE
    try:
        check_writable(root)
    except InputError as error:
        return report.early_exit(EXIT_USAGE, "read-only", str(error))
    lock = HarvestLock(root)
    try:
        lock.acquire()
    except LockHeld as error:
        return report.early_exit(EXIT_TRY_LATER, "locked", str(error), holder_pid=error.pid)
    except LockRefused as error:
        return report.early_exit(EXIT_USAGE, "bad-lock", str(error))
    except OSError as error:
        if not is_disk_full(error):
            raise
        return report.early_exit(EXIT_USAGE, "disk-full", str(DiskFull(str(lock.path))))
    try:
        return _run_locked(config, root, relay, report)
    finally:
        lock.release()


def _run_locked(config: HarvestConfig, root: Path, relay: dict[str, str], report: Report) -> int:
    """The run, its lock held: every way it can end is its JSON, and (where the index can be
    written at all) its row in `runs`."""
    try:
        archive = Archive.open(root, writable_checked=True)
    except InputError as error:  # archive.db is not a SQLite database
        return report.early_exit(EXIT_USAGE, "bad-archive", str(error))
    except DiskFull as error:
        return report.early_exit(error.exit_code, "disk-full", str(error))
    except IndexBusy as error:  # a migration waited too long for another writer
        return report.early_exit(EXIT_TRY_LATER, "busy", str(error))
    with contextlib.closing(archive), sigterm_as_interrupt():
        harvest: Harvest | None = None
        try:
            harvest = Harvest(config, archive, relay, report)
            return harvest.run()
        except DiskFull as error:
            run_id = harvest.run_id if harvest and harvest.run_id else None
            return report.early_exit(error.exit_code, "disk-full", str(error), run_id=run_id)
        except IndexBusy as error:
            if harvest is None:  # making the queue's tables waited too long: no run yet
                record_busy(archive.db, "harvest", error)
            return report.early_exit(EXIT_TRY_LATER, "busy", str(error), run_id=error.run_id)


# --------------------------------------------------------------------------- one run


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
        self.discovered = Discovered(archive.db, archive.root)
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
        with contextlib.suppress(IndexBusy):  # then so is the run below: recorded `busy`
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
        return self.summary.incomplete

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
            sources = self.config.build_sources(
                self.client, known=self.known, memory=self.discovered
            )
            self.follow_other = {s.name: spec.follow_other_accounts for spec, s in sources}
            self.queue.revive_failed(now=now_utc())
            with self.report.progress() as progress:
                self._list(sources, blocked)
                if not self.stopped:
                    self._enqueue_refresh(sources)
                if not self.stopped:
                    Drain(self, progress).run()

    def _client(self) -> HttpClient:
        """The one client, for WeChat's hosts only; a feed source allows its own host for
        its own request (`also_allow`)."""
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
            deadline=polite.deadline_seconds,
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
            if source.skipped:  # files of a seed folder that hold no article
                self.summary.counts["skipped"] += source.skipped

    def known(self, link: ArticleLink) -> bool:
        """The article is queued (any state) or archived: listing it again costs nothing."""
        return self.queue.state(link.key) is not None or self.archive.has_link(link)

    def _list_one(self, source: Source) -> None:
        batch: dict[str, QueueItem] = {}
        found: list[Found] = []
        try:
            for listing in source.listings():
                found.append(
                    Found(
                        listing.link.key,
                        listing.channel or source.kind,
                        listing.biz or listing.link.biz,
                        source.name,
                        listing.album,
                    )
                )
                item = self._new_item(listing, source, batch)
                if item is None:
                    self.summary.add("skipped")
                    continue
                batch[item.key] = item
                if len(batch) >= ENQUEUE_BATCH:
                    self._enqueue(batch)
        except SourceTryLater as error:  # this source only: the others go on
            self.try_later.append(str(error))
        except TryLater as error:
            self.slow_down(error, try_later_host(error))
        except HostStopped:
            pass
        except (SourceError, FetchError, InputError) as error:
            message = str(error)
            self.summary.fail(message if source.name in message else f"{source.label}: {message}")
        finally:
            self._enqueue(batch)
            self.discovered.record(found, now=now_utc())

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

    # -- what pages say of their account

    def note_albums(self, biz: str, raw: bytes) -> None:
        """Remember the albums an archived page names (an account source pages them)."""
        ids = album_ids_in_page(raw.decode("utf-8", errors="replace"))
        if ids:
            self.discovered.add_albums(
                biz, [(i, None) for i in ids], found_by="page", now=now_utc()
            )

    # -- following links

    def follow(self, page: Page, key: str, item: QueueItem) -> int:
        """Queue the articles `page` links to (depth 1: those are not followed further)."""
        same_account = not self.follow_other.get(item.source or "", False)
        links = followed_links(page.body_html, from_biz=page.biz, same_account_only=same_account)
        batch: dict[str, QueueItem] = {}
        links_found: dict[str, str | None] = {}  # key -> its account, when known
        for link in links:
            if link.key in (key, item.key) or link.key in batch:
                continue
            if self.queue.state(link.key) is not None or self.archive.has_link(link):
                continue
            only_biz = page.biz if same_account and link.biz is None else None
            links_found[link.key] = link.biz or only_biz
            batch[link.key] = QueueItem(
                key=link.key, url=link.url, source=item.source, reason="follow", only_biz=only_biz
            )
        added = len(batch)
        self._enqueue(batch)
        found = [Found(k, "follow", biz, item.source) for k, biz in links_found.items()]
        self.discovered.record(found, now=now_utc())
        return added


# --------------------------------------------------------------------------- helpers


def _first_words(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
