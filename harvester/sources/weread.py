"""`kind = "weread"`: an account's article list from WeRead (微信读书), with a login cookie.

Config: `biz` (the account's `__biz`; or `book_id`, WeRead's `MP_WXS_<n>`), `cookie` (a
file holding the Cookie header of a logged-in weread.qq.com browser session, as text or
as JSON `{"cookie": "…"}`; mode 0600, never printed or logged), `max_pages` (optional cap).
The account must be on that WeRead user's shelf.

It asks `https://weread.qq.com/web/mp/articles?bookId=MP_WXS_<n>&offset=<k>`: 20 publish
groups a page, newest first, `offset` counting the groups so far, until a page comes back
empty; every `reviews[].subReviews[].review.mpInfo.originalId` is the article's short link
`https://mp.weixin.qq.com/s/<originalId>`, attributed to the account (biz) at once. A page
whose articles are all known ends the paging (an incremental night costs one request).

An expired or refused login (`errCode` -2041, -2010, -2012, or HTTP 401/403) ends this
source with one line, `weread login expired: copy a fresh cookie into <file>`, and exit 75
for the run, while the other sources go on (SourceTryLater: no host backs off, the next
run tries again as soon as the cookie is fresh). A verification page from WeRead backs off
weread.qq.com only (this source waits, the others go on).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harvester.errors import SourceTryLater, TryLater
from harvester.http import FetchError
from harvester.links import LinkError, parse_link, short_url
from harvester.sources.base import (
    BaseSource,
    Listing,
    SourceError,
    load_json,
    register,
    text_or_none,
    unix_time,
)
from harvester.sources.bookid import biz_of_book, book_id_of
from harvester.sources.private import read_private_text

WEREAD_HOST = "weread.qq.com"
ARTICLES_PATH = "/web/mp/articles"
LOGIN_ERRORS = frozenset({-2010, -2012, -2041})
LOGIN_STATUSES = frozenset({401, 403})


class WeReadLoginExpired(SourceTryLater):
    """WeRead no longer accepts the cookie: the user must copy a fresh one."""


@dataclass(frozen=True)
class WeReadPage:
    listings: list[Listing]
    groups: int  # publish groups on the page: the next offset grows by this
    warnings: list[str]


def articles_url(book_id: str, offset: int) -> str:
    query = urlencode({"bookId": book_id, "offset": str(offset)})
    return f"https://{WEREAD_HOST}{ARTICLES_PATH}?{query}"


def parse_articles_page(
    data: bytes | str | Mapping[str, Any], *, source: str = "", biz: str | None = None
) -> WeReadPage:
    """One `/web/mp/articles` answer as listings (pure). WeReadLoginExpired for the login
    errors (its message is completed by the source); SourceError for any other errCode."""
    what = f"weread {source}".strip()
    body = load_json(data, what)
    code = body.get("errCode")
    if isinstance(code, int) and code in LOGIN_ERRORS:
        raise WeReadLoginExpired(f"errCode {code}")
    if code not in (None, 0):
        detail = text_or_none(body.get("errMsg"))
        said = f"errCode {code} {detail}" if detail else f"errCode {code}"
        raise SourceError(f"{what}: WeRead refused the list ({said})")
    groups = body.get("reviews")
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        raise SourceError(f"{what}: reviews is not a list")
    listings: list[Listing] = []
    warnings: list[str] = []
    for number, group in enumerate(groups, start=1):
        subs = group.get("subReviews") if isinstance(group, Mapping) else None
        for sub in subs if isinstance(subs, list) else [group]:
            listing = _listing(sub, group, source, biz)
            if listing is None:
                warnings.append(f"{what}: group {number} has an item without a usable link")
            else:
                listings.append(listing)
    return WeReadPage(listings, len(groups), warnings)


def _listing(sub: Any, group: Any, source: str, biz: str | None) -> Listing | None:
    review = sub.get("review") if isinstance(sub, Mapping) else None
    info = review.get("mpInfo") if isinstance(review, Mapping) else None
    if not isinstance(info, Mapping):
        return None
    original = text_or_none(info.get("originalId"))
    if not original:
        return None
    try:
        link = parse_link(short_url(original))
    except LinkError:
        return None
    when = info.get("time") or review.get("createTime")
    if not when and isinstance(group, Mapping):
        when = group.get("createTime")
    return Listing(
        link=link,
        title=text_or_none(info.get("title")),
        published_at=unix_time(when),
        cover=text_or_none(info.get("pic_url")),
        digest=text_or_none(info.get("content")),
        source=source,
        biz=biz,
    )


def cookie_header(text: str) -> str | None:
    """The Cookie header a cookie file holds: its text, or the "cookie" of a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        value = data.get("cookie") if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) and value.strip() else None
    return " ".join(text.split()) or None


@register("weread")
class WeReadSource(BaseSource):
    KEYS = frozenset({"biz", "book_id", "cookie", "max_pages"})

    def __init__(self, config: Mapping[str, Any], context: Any) -> None:
        super().__init__(config, context)
        self.extra_hosts = frozenset({WEREAD_HOST})

    def default_name(self) -> str:
        for key in ("biz", "book_id"):
            value = self.config.get(key)
            if isinstance(value, str) and value.strip():
                return f"weread:{value.strip()}"
        return "weread"

    def account(self) -> tuple[str, str]:
        """(biz, book id) from whichever of `biz` / `book_id` the config gives."""
        if self.config.get("biz") is None and self.config.get("book_id") is not None:
            book = self.require_str("book_id")
            biz = biz_of_book(book)
            if biz is None:
                raise self.config_error("book_id", f"is {book!r}, not MP_WXS_<number>")
            return biz, book
        biz = self.require_str("biz")
        book = book_id_of(biz)
        if book is None:
            raise self.config_error("biz", f"is {biz!r}, which does not hold an account number")
        return biz, book

    def check(self) -> None:
        self.check_common()
        self.account()
        self.optional_int("max_pages")
        self.read_cookie()

    def read_cookie(self) -> tuple[Path, str]:
        path, text = read_private_text(self, "cookie")
        header = cookie_header(text)
        if header is None:
            problem = f'names {path}, which holds no cookie (a Cookie header, or {{"cookie": "…"}})'
            raise self.config_error("cookie", problem)
        return path, header

    def listings(self) -> Iterator[Listing]:
        self.check()
        client = self.client()
        biz, book = self.account()
        path, cookie = self.read_cookie()
        max_pages = self.optional_int("max_pages")
        headers = {"Cookie": cookie, "Referer": f"https://{WEREAD_HOST}/"}
        offset = pages = 0
        while max_pages is None or pages < max_pages:
            try:
                response = client.get(
                    articles_url(book, offset),
                    kind="api",
                    headers=headers,
                    also_allow=self.extra_hosts,
                )
                page = parse_articles_page(response.content, source=self.name, biz=biz)
            except FetchError as error:
                if error.status in LOGIN_STATUSES:
                    raise self._expired(biz, path, f"HTTP {error.status}") from None
                message = f"{self.label}: {str(error).replace(cookie, '***')}"
                self.note_channel(biz, "weread", message)
                raise SourceError(message) from None
            except WeReadLoginExpired as error:
                raise self._expired(biz, path, str(error)) from None
            except TryLater as error:  # WeRead's own verification page: back off WeRead only
                slow = TryLater(f"{self.label}: {error}")
                slow.host = WEREAD_HOST  # type: ignore[attr-defined]
                raise slow from None
            except SourceError as error:
                self.note_channel(biz, "weread", str(error))
                raise
            pages += 1
            self.warnings.extend(page.warnings)
            self.note_channel(biz, "weread")
            if not page.groups:
                return
            all_known = all(self.context.known(item.link) for item in page.listings)
            yield from page.listings
            if all_known:
                return
            offset += page.groups

    def _expired(self, biz: str, path: Path, answer: str) -> WeReadLoginExpired:
        message = (
            f"weread login expired: copy a fresh cookie into {path} "
            f"({self.label}; WeRead answered {answer})"
        )
        self.note_channel(biz, "weread", message)
        return WeReadLoginExpired(message)
