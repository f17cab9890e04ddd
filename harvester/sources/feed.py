"""`kind = "feed"`: any RSS 2.0 or Atom feed carrying WeChat article links.

What RSSHub, we-mp-rss and wewe-rss publish. The body is handed to feedparser as bytes,
so the encoding comes from the BOM or the XML prolog (GBK feeds work) and CDATA is read
as text. From each item the source takes:

- the item's own links (`link`, every `<link href>`, `guid`/`id`) that are WeChat article
  links: they get the item's title, time, digest and cover;
- article links inside the item's content and summary HTML. When the item has no own
  WeChat link and its content names exactly one article, that one is the item's article
  (a bridge linking to its own reader page) and gets the item's metadata; otherwise links
  found in content are other articles and carry no metadata.

The same article in several items is yielded once, first seen first. A feed whose URL
names a WeRead book id (wewe-rss: `/feeds/MP_WXS_<n>.atom`), or an item whose id is one
(we-mp-rss), is of that account: its items' links are attributed to the account's biz
(harvester/sources/bookid.py) before any page is fetched.

Feeds live on arbitrary hosts, which the HTTP client's WeChat allowlist refuses. A feed
named in the user's config is trusted for itself only: its host (`extra_hosts`, also what
a backoff of that host skips) is allowed for the feed's own request and its redirects
(`also_allow`), never for the articles, images and redirects of the rest of the run, so
an item's page or image on the feed's host is refused like any other non-WeChat host.
"""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from archive.times import from_unix
from harvester.links import ArticleLink, LinkError, find_article_links, parse_link
from harvester.sources.base import (
    BaseSource,
    Listing,
    SourceError,
    register,
    text_or_none,
)
from harvester.sources.bookid import biz_of_book, book_id_in

MAX_DIGEST = 200
_TAG = re.compile(r"<[^>]*>")
_ENCODING_NOTES = (feedparser.CharacterEncodingOverride,)


def parse_feed(
    data: bytes, *, source: str = "", biz: str | None = None
) -> tuple[list[Listing], list[str]]:
    """Listings of an RSS or Atom document given as bytes (pure), and warnings.

    `biz`: the account the whole feed is of (its URL names a WeRead book id); an item
    whose id is a book id (`MP_WXS_<n>…`) is of that account instead.
    SourceError when the bytes are not a feed at all.
    """
    what = f"feed {source}".strip()
    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({' '.join(str(problem).split())})" if problem else ""
        raise SourceError(f"{what}: the answer is not an RSS or Atom feed{detail}")
    warnings: list[str] = []
    problem = parsed.get("bozo_exception")
    # A charset declared one way and decoded another is feedparser coping, not a fault.
    if parsed.bozo and parsed.entries and not isinstance(problem, _ENCODING_NOTES):
        detail = " ".join(str(problem).split())
        warnings.append(f"{what}: the feed is not well-formed, read what could be: {detail}")

    listings: dict[str, Listing] = {}
    for entry in parsed.entries:
        for listing in _entry_listings(entry, source, _entry_biz(entry) or biz):
            listings.setdefault(listing.link.key, listing)
    return list(listings.values()), warnings


def _entry_biz(entry: Mapping[str, Any]) -> str | None:
    book = book_id_in(str(entry.get("id") or ""))
    return biz_of_book(book) if book else None


def _entry_listings(entry: Mapping[str, Any], source: str, biz: str | None) -> list[Listing]:
    own = _own_links(entry)
    in_content: dict[str, ArticleLink] = {}
    for html_text in _content_html(entry):
        for link in find_article_links(html_text):
            in_content.setdefault(link.key, link)
    for key in own:
        in_content.pop(key, None)
    if not own and len(in_content) == 1:
        own, in_content = in_content, {}

    title = _title(entry)
    published = _published(entry)
    digest = _digest(entry)
    cover = _cover(entry)
    result = [
        Listing(link, title, published, cover, digest, source=source, biz=None if link.biz else biz)
        for link in own.values()
    ]
    result += [Listing(link, source=source) for link in in_content.values()]
    return result


def _own_links(entry: Mapping[str, Any]) -> dict[str, ArticleLink]:
    candidates: list[str] = []
    if entry.get("link"):
        candidates.append(entry["link"])
    for item in entry.get("links") or []:
        href = item.get("href") if isinstance(item, Mapping) else None
        if href and item.get("rel", "alternate") in ("alternate", "related", "via"):
            candidates.append(href)
    if entry.get("id"):
        candidates.append(entry["id"])
    found: dict[str, ArticleLink] = {}
    for text in candidates:
        try:
            link = parse_link(str(text))
        except LinkError:
            continue
        found.setdefault(link.key, link)
    return found


def _content_html(entry: Mapping[str, Any]) -> list[str]:
    texts = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, Mapping)]
    if entry.get("summary"):
        texts.append(entry["summary"])
    return [t for t in texts if t]


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _title(entry: Mapping[str, Any]) -> str | None:
    title = entry.get("title")
    if not title:
        return None
    detail = entry.get("title_detail") or {}
    if "html" in str(detail.get("type", "")):
        title = _plain(title)
    return text_or_none(title)


def _published(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            return from_unix(calendar.timegm(value))
    return None


def _digest(entry: Mapping[str, Any]) -> str | None:
    summary = entry.get("summary")
    if not summary:
        return None
    text = _plain(summary)
    return text if text and len(text) <= MAX_DIGEST else None


def _cover(entry: Mapping[str, Any]) -> str | None:
    for key in ("media_thumbnail", "media_content"):
        for item in entry.get(key) or []:
            url = item.get("url") if isinstance(item, Mapping) else None
            if url and (key == "media_thumbnail" or str(item.get("medium", "image")) == "image"):
                return str(url)
    for item in entry.get("enclosures") or []:
        if isinstance(item, Mapping) and str(item.get("type", "")).startswith("image/"):
            return text_or_none(item.get("href") or item.get("url"))
    return None


@register("feed")
class FeedSource(BaseSource):
    KEYS = frozenset({"url"})

    def __init__(self, config: Mapping[str, Any], context: Any) -> None:
        super().__init__(config, context)
        host = self._host()
        self.extra_hosts = frozenset({host}) if host else frozenset()

    def _host(self) -> str | None:
        url = self.config.get("url")
        if not isinstance(url, str):
            return None
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            return None
        return host.rstrip(".").lower() if host else None

    def default_name(self) -> str:
        url = self.config.get("url")
        if isinstance(url, str) and url.strip():
            parts = urlsplit(url.strip())
            return f"feed:{parts.hostname or ''}{parts.path}"
        return "feed"

    def check(self) -> None:
        self.check_common()
        url = self.require_str("url")
        try:
            parts = urlsplit(url)
        except ValueError as error:
            raise self.config_error("url", f"is not a URL: {error}") from None
        if parts.scheme not in ("http", "https"):
            raise self.config_error("url", f"must be an http:// or https:// URL, not {url!r}")
        if not parts.hostname:
            raise self.config_error("url", f"has no host: {url!r}")

    def listings(self) -> Iterator[Listing]:
        self.check()
        client = self.client()
        url = self.require_str("url")
        book = book_id_in(url)
        response = client.get(url, kind="api", also_allow=self.extra_hosts)
        biz = biz_of_book(book) if book else None
        listings, warnings = parse_feed(response.content, source=self.name, biz=biz)
        self.warnings.extend(warnings)
        yield from listings
