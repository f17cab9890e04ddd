"""`kind = "account"`: every article of one account, found without a login, politely.

Config: `url` (any one article link of the account) or `biz` (its `__biz`), and the probing
bounds: `probe_batch` (links a getainfo request asks about, default 20, at most 50),
`empty_gap` (mids in a row without an article after which a range counts as empty,
default 10), `max_probe_requests` (getainfo requests a run, default 60),
`max_album_pages` (album pages a run, default 50). Its articles' links to the same
account are followed (`follow_links` defaults to true here).

A run, in order (each channel's listings carry its name, for `harvester accounts`):

1. the seed: a short link is fetched once to learn the account (and the albums its page
   names; the drain fetches it again to archive it); a long link is the account's article
   as it is ("seed");
2. `getappmsgext` of the seed, on the first run only: the seed's album, and its
   neighbours in it ("appmsgext");
3. every album remembered for the account (named by the pages the archive held when the
   account was first listed, by pages the harvest archives, by getappmsgext, or by the
   seed page) is paged through `getalbum` ("album"); an album
   listed before is paged only until the first page holding a known article; an album
   whose listing fails is walked through getappmsgext's previous links instead;
4. `getainfo` probing of the mid space (discovery.probe_plan) around every known article
   ("getainfo"), in batches; one known article rides along in the first batch, so an
   endpoint that answers empty lists is noticed (a warning, probing stops). Once a whole
   probe has finished, later runs probe only beyond the newest known mid.

Freq control and verification pages raise TryLater (the harvest stops and backs off);
what was found until then is queued, so the next run goes on from there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from archive.times import now_utc
from harvester.errors import TryLater
from harvester.fetching import fetch_capture
from harvester.http import FetchError
from harvester.links import ArticleLink, LinkError, canonical_url, parse_link
from harvester.sources.album import album_api_url, parse_album_page
from harvester.sources.base import BaseSource, Listing, SourceError, register
from harvester.sources.discovery import (
    Pair,
    album_ids_in_page,
    appmsgext_url,
    getainfo_url,
    parse_ainfos,
    parse_appmsgext,
    probe_form,
    probe_plan,
)

PROBE_BATCH, MAX_PROBE_BATCH = 20, 50
EMPTY_GAP = 10
MAX_PROBE_REQUESTS = 60
MAX_ALBUM_PAGES = 50
MAX_WALK = 200


@register("account")
class AccountSource(BaseSource):
    KEYS = frozenset(
        {"url", "biz", "probe_batch", "empty_gap", "max_probe_requests", "max_album_pages"}
    )

    def __init__(self, config: Mapping[str, Any], context: Any) -> None:
        super().__init__(config, context)
        self.biz: str | None = None
        self.known: set[Pair] = set()
        self.before: set[Pair] = set()  # known when the run began
        self.anchors: dict[str, Pair] = {}  # album -> an article getappmsgext put in it
        self.album_pages = 0

    def default_name(self) -> str:
        for key in ("biz", "url"):
            value = self.config.get(key)
            if isinstance(value, str) and value.strip():
                return f"account:{value.strip()}"
        return "account"

    @property
    def follow_links(self) -> bool:
        return self.config.get("follow_links") is not False

    def check(self) -> None:
        self.check_common()
        if self.config.get("url") is None and self.config.get("biz") is None:
            raise self.config_error("url", "is missing (give one article link, or biz)")
        if self.config.get("url") is not None:
            try:
                parse_link(self.require_str("url"))
            except LinkError as error:
                raise self.config_error("url", f"is not usable: {error.reason}") from None
        if self.config.get("biz") is not None:
            self.require_str("biz")
        batch = self.optional_int("probe_batch")
        if batch is not None and batch > MAX_PROBE_BATCH:
            raise self.config_error(
                "probe_batch", f"must be at most {MAX_PROBE_BATCH}, not {batch}"
            )
        self.optional_int("empty_gap")
        self.optional_int("max_probe_requests", minimum=0)
        self.optional_int("max_album_pages", minimum=0)

    # -- the run

    def listings(self) -> Iterator[Listing]:
        self.check()
        seed = parse_link(self.require_str("url")) if self.config.get("url") else None
        seed_albums: list[str] = []
        if seed is not None and seed.form != "long":
            seed, seed_albums = self._fetch_seed(seed)
        biz = seed.biz if seed is not None else self.require_str("biz")
        assert biz is not None
        self.biz = biz
        memory = self.context.memory
        self.known = self._known_pairs(biz)
        self.before = set(self.known)
        if seed is not None and seed.mid and seed.idx:
            self.known.add((int(seed.mid), int(seed.idx)))
            yield Listing(link=seed, source=self.name, channel="seed")
        if not self.known and (memory is None or not memory.albums(biz)):
            self.warn(f"{self.label}: nothing is known of account {biz} yet; give one of its "
                      "article links as url")  # fmt: skip
            return
        if memory is not None and memory.channel(biz, "page") == (None, None, None):
            memory.scan_archived_pages(biz, now=now_utc())  # once: later pages are noted
            self.note_channel(biz, "page")  # as the harvest archives them
        if memory is not None and seed_albums:
            memory.add_albums(biz, [(a, None) for a in seed_albums], found_by="page", now=now_utc())
        if seed is not None and seed.form == "long" and self._first_run(biz):
            yield from self._seed_album(biz, seed)
        yield from self._albums(biz)
        yield from self._probe(biz)

    def _fetch_seed(self, link: ArticleLink) -> tuple[ArticleLink, list[str]]:
        """A short seed link fetched once: the account's article and the albums it names."""
        capture = fetch_capture(self.client(), link)  # type: ignore[arg-type]  # a Fetcher
        page = capture.page
        if page.kind == "verification":
            raise TryLater(f"{link.url}: WeChat served its verification page (too many requests)")
        if not (page.biz and page.mid and page.idx):
            raise SourceError(f"{self.label}: {link.url} is not an article page of an account")
        long = parse_link(canonical_url(page.biz, page.mid, page.idx, page.sn))
        html = capture.raw.decode("utf-8", errors="replace")
        return long, album_ids_in_page(html)

    def _known_pairs(self, biz: str) -> set[Pair]:
        memory = self.context.memory
        pairs: set[Pair] = set()
        for key in memory.known_keys(biz) if memory is not None else ():
            _, _, rest = key.partition(":")
            mid, _, idx = rest.partition(":")
            if mid.isdigit() and idx.isdigit():
                pairs.add((int(mid), int(idx)))
        return pairs

    def _first_run(self, biz: str) -> bool:
        memory = self.context.memory
        return memory is None or memory.channel(biz, "appmsgext") == (None, None, None)

    def _take(self, listing: Listing) -> bool:
        """Note a found article; whether it was new to this run's picture of the account."""
        link = listing.link
        if link.biz != self.biz or not (link.mid and link.idx):
            return False
        pair = (int(link.mid), int(link.idx))
        new = pair not in self.known
        self.known.add(pair)
        return new

    # -- getappmsgext

    def _seed_album(self, biz: str, seed: ArticleLink) -> Iterator[Listing]:
        assert seed.mid and seed.idx
        url = appmsgext_url(biz, seed.mid, seed.idx)
        ext = parse_appmsgext(self.client().get(url, kind="api").content, what=self.label)
        self.note_channel(biz, "appmsgext")
        for neighbour in (ext.previous, ext.following):
            if neighbour is not None and self._take(neighbour):
                yield neighbour
        memory = self.context.memory
        if ext.album_id:
            self.anchors[ext.album_id] = (int(seed.mid), int(seed.idx))
            if memory is not None:
                found = [(ext.album_id, ext.title)]
                memory.add_albums(biz, found, found_by="appmsgext", now=now_utc())

    def _walk(self, biz: str, album_id: str) -> Iterator[Listing]:
        """An album whose listing fails, walked backwards through getappmsgext from the
        article it was found by, until the album ends or an article known before the run."""
        start = self.anchors.get(album_id)
        if start is None:
            self.warn(f"{self.label}: no article of album {album_id} to walk it from")
        steps = 0
        while start is not None and steps < MAX_WALK:
            url = appmsgext_url(biz, str(start[0]), str(start[1]))
            ext = parse_appmsgext(self.client().get(url, kind="api").content, what=self.label)
            steps += 1
            previous = ext.previous
            if ext.album_id != album_id or previous is None:
                return
            assert previous.link.mid and previous.link.idx
            start = (int(previous.link.mid), int(previous.link.idx))
            if start in self.before:
                return
            self._take(previous)
            yield previous

    # -- albums

    def _albums(self, biz: str) -> Iterator[Listing]:
        memory = self.context.memory
        if memory is None:
            return
        probed = memory.channel(biz, "getainfo")[0] is not None
        for album_id, listed_at in memory.albums(biz):
            # Once a whole probe has run, every album only tops up what is known.
            incremental = listed_at is not None or probed
            try:
                title = yield from self._album(biz, album_id, incremental=incremental)
            except (SourceError, FetchError) as error:
                self.warn(
                    f"{self.label}: listing album {album_id} failed ({error}); "
                    f"walking album {album_id} through getappmsgext instead"
                )
                self.note_channel(biz, "album", str(error))
                yield from self._walk(biz, album_id)
                continue
            memory.album_listed(biz, album_id, title=title, now=now_utc())
            self.note_channel(biz, "album")

    def _album(self, biz: str, album_id: str, *, incremental: bool) -> Iterator[Listing]:
        """One album, newest first; returns its title."""
        limit = self.optional_int("max_album_pages", minimum=0)
        limit = MAX_ALBUM_PAGES if limit is None else limit
        cursor: tuple[str, str] | None = None
        title = None
        listed = 0
        while self.album_pages < limit:
            response = self.client().get(album_api_url(biz, album_id, cursor), kind="api")
            self.album_pages += 1
            page = parse_album_page(
                response.content, source=self.name, biz=biz, album_id=album_id, offset=listed
            )
            listed += page.size
            title = title or page.title
            self.warnings.extend(page.warnings)
            fresh = [replace(item, channel="album") for item in page.listings]
            seen_one = not all([self._take(item) for item in fresh])
            yield from fresh
            if not page.more or page.cursor is None or page.cursor == cursor:
                return title
            if incremental and seen_one:
                return title
            cursor = page.cursor
        return title

    # -- getainfo

    def _probe(self, biz: str) -> Iterator[Listing]:
        limit = self.optional_int("max_probe_requests", minimum=0)
        limit = MAX_PROBE_REQUESTS if limit is None else limit
        if limit == 0:  # probing turned off
            return
        batch = self.optional_int("probe_batch") or PROBE_BATCH
        gap = self.optional_int("empty_gap") or EMPTY_GAP
        memory = self.context.memory
        beyond = memory is not None and memory.channel(biz, "getainfo")[0] is not None
        asked: set[Pair] = set()
        canary = max(self.known) if self.known else None
        requests = 0
        while requests < limit:
            plan = probe_plan(self.known, asked, empty_gap=gap, beyond=beyond)
            if not plan:
                self.note_channel(biz, "getainfo")
                return
            pairs = plan[: batch - 1] if canary else plan[:batch]
            response = self.client().post(
                getainfo_url(biz), probe_form(biz, [*pairs, *([canary] if canary else [])])
            )
            requests += 1
            found = parse_ainfos(response.content, biz=biz, what=self.label, source=self.name)
            asked.update(pairs)
            if canary is not None:
                if not any(item.link.key == f"{biz}:{canary[0]}:{canary[1]}" for item in found):
                    problem = f"{self.label}: getainfo answers empty lists; probing stopped"
                    self.warn(problem)
                    self.note_channel(biz, "getainfo", problem)
                    return
                canary = None
            for item in found:
                if self._take(item):
                    yield item
        self.warn(
            f"{self.label}: stopped probing after {limit} getainfo requests (max_probe_requests); "
            "the next run goes on"
        )
