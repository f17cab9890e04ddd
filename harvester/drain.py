"""The harvest's drain: pending queue items fetched, converted, decided and saved.

One thread fetches article pages one after another (or reads them from seed files), a
few more download the images of the pages already fetched (or read those a seed file
links as stored, from beside it), and the calling thread runs each page through the
pipeline (harvester/pipeline.py) and marks its queue item done.
Image downloads of one article thus overlap the next page's fetch, while the HttpClient
paces each host. Worker threads only read (the network, seed files); every write happens
in the calling thread.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archive.files import ImageData
from archive.index import record_fetch
from archive.times import now_utc
from harvester import pipeline
from harvester.errors import InputError, TryLater, is_disk_full, stops_the_run, unexpected
from harvester.fetching import fetch_capture, fetch_images
from harvester.http import ARTICLE_HOST, FetchError, HttpClient, RateLimited
from harvester.links import ArticleLink, LinkError, parse_link
from harvester.model import Capture
from harvester.pipeline import Plan, Rendering
from harvester.queue import DONE, FAILED, QueueItem
from harvester.reader import read_capture, read_stored_images

if TYPE_CHECKING:
    from harvester.harvest import Harvest
    from harvester.harvest_report import Progress


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

    def post(self, url: str, form: Any, **options: Any) -> Any:
        host = (urlsplit(url).hostname or "").lower()
        if host in self.stopped:
            raise HostStopped(host)
        return self.client.post(url, form, **options)


def try_later_host(error: TryLater) -> str:
    """The host that asked us to slow down (a source may name it in `error.host`)."""
    if isinstance(error, RateLimited):
        return (urlsplit(error.url).hostname or ARTICLE_HOST).lower()
    return getattr(error, "host", None) or ARTICLE_HOST


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
            self.jobs[images.submit(self._images, fetched)] = ("images", fetched)
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

    def _images(self, fetched: Fetched) -> dict[str, ImageData | str]:
        """An article's images: downloaded, or (those a seed file links as stored in an
        archive) read from beside the file."""
        plan, seed_path = fetched.plan, fetched.item.seed_path
        images = fetch_images(self.client, plan.wanted_images, workers=self.image_workers)
        if plan.local_images and seed_path:
            images.update(read_stored_images(Path(seed_path), plan.local_images))
        return images

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
        except Exception as error:  # an error no check foresaw costs this item only
            self._fail(item, unexpected(item.url, error))
            return
        try:
            self._take_page(item, capture)
        except TryLater:  # the run's to handle, not the item's
            raise
        except Exception as error:
            if stops_the_run(error):
                raise
            self._fail(item, unexpected(item.url, error))

    def _take_page(self, item: QueueItem, capture: Capture) -> None:
        """A page obtained: its fetch logged, then refused, a status saved, or queued for
        its images."""
        page = capture.page
        if not item.seed_path:
            record_fetch(
                self.h.db,
                item.url,
                outcome=page.kind,
                status=200,
                error=page.reason,
                run_id=self.h.run_id,
            )
        if page.is_article and page.biz:
            self.h.note_albums(page.biz, capture.raw)
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
            if is_disk_full(error):  # nothing else can be saved either: the run stops
                raise
            self._fail(item, f"{item.url}: not archived: {error}")
            return
        except TryLater:
            raise
        except Exception as error:  # an error no check foresaw costs this item only
            if stops_the_run(error):
                raise
            self._fail(item, unexpected(item.url, error))
            return
        self.summary.add(outcome)
        self.summary.count_images(images)
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
