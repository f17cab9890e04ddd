"""`kind = "album"`: an album (合集) page, listed through its public JSON API.

`url` is the album as shared, `https://mp.weixin.qq.com/mp/appmsgalbum?__biz=…&action=
getalbum&album_id=…`. The source asks `mp/appmsgalbum?action=getalbum&__biz=…&album_id=…
&count=20&f=json` and pages with `begin_msgid`/`begin_itemidx` of the last item until
`continue_flag` is "0". Quirks handled: `article_list` is a bare object when a page has one
item; numbers come as strings or ints; a server that repeats a page (or sends an empty one
saying "continue") stops the paging with a warning instead of looping. `max_pages` caps it.

Each listing says where the album puts it (`Listing.album`): the item's `pos_num` when
WeChat numbers the album, else counted from the album's end, since the API lists newest
first: `base_info.article_count` less the item's place in the listing (the first article
is 1, and an article keeps its number as newer ones are added); neither given, none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from harvester.errors import InputError
from harvester.links import ARTICLE_HOST, ArticleLink, LinkError, canonical_url, parse_link
from harvester.sources.base import (
    BaseSource,
    InAlbum,
    Listing,
    SourceError,
    checked_answer,
    register,
    text_or_none,
    unix_time,
)

PAGE_SIZE = 20


@dataclass(frozen=True)
class AlbumPage:
    """One page of the album API: its listings, whether more follow, the paging cursor."""

    listings: list[Listing]
    more: bool
    cursor: tuple[str, str] | None  # (msgid, itemidx) of the last item
    warnings: list[str]
    title: str | None = None
    size: int = 0  # items on the page, skipped ones too: where the next page starts


def parse_album_url(url: str) -> tuple[str, str]:
    """(biz, album_id) of an album link; InputError saying what is missing otherwise."""
    text = url.strip().replace("&amp;", "&")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if (parts.hostname or "").lower() != ARTICLE_HOST:
        raise InputError(f"{url!r} is not an album link: its host is not {ARTICLE_HOST}")
    if parts.path.rstrip("/") != "/mp/appmsgalbum":
        raise InputError(f"{url!r} is not an album link: its path is not /mp/appmsgalbum")
    params: dict[str, str] = {}
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if value:
            params.setdefault(name, value)
    biz = unquote(params.get("__biz", ""))
    album_id = unquote(params.get("album_id", ""))
    if not biz:
        raise InputError(f"{url!r} is not an album link: it has no __biz")
    if not album_id.isdigit():
        raise InputError(f"{url!r} is not an album link: it has no numeric album_id")
    return biz, album_id


def album_api_url(
    biz: str, album_id: str, cursor: tuple[str, str] | None = None, count: int = PAGE_SIZE
) -> str:
    """The JSON API URL of one page of an album."""
    query = [("action", "getalbum"), ("__biz", biz), ("album_id", album_id)]
    if cursor is not None:
        query += [("begin_msgid", cursor[0]), ("begin_itemidx", cursor[1])]
    query += [("count", str(count)), ("f", "json")]
    return f"https://{ARTICLE_HOST}/mp/appmsgalbum?" + urlencode(query, safe="=")


def parse_album_page(
    data: bytes | str | Mapping[str, Any],
    *,
    source: str = "",
    biz: str | None = None,
    album_id: str | None = None,
    offset: int = 0,
) -> AlbumPage:
    """One album API answer as listings (pure), `offset` items after the listing's first.
    SourceError for `base_resp.ret` != 0; TryLater for WeChat's freq control (200013) or
    its verification page."""
    what = f"album {source}".strip()
    body = checked_answer(
        data, what, refused="WeChat refused the album list", hint="; check the album link"
    )
    resp = body.get("getalbum_resp")
    if not isinstance(resp, Mapping):
        raise SourceError(f"{what}: the answer has no getalbum_resp")
    items = resp.get("article_list")
    if items is None:
        items = []
    elif isinstance(items, Mapping):  # one item: WeChat sends the object itself
        items = [items]
    elif not isinstance(items, list):
        raise SourceError(f"{what}: article_list is neither a list nor an object")

    base_info = resp.get("base_info")
    base_info = base_info if isinstance(base_info, Mapping) else {}
    title = text_or_none(base_info.get("title"))
    count = whole_number(base_info.get("article_count"))
    listings: list[Listing] = []
    warnings: list[str] = []
    cursor: tuple[str, str] | None = None
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            warnings.append(f"{what}: item {number} is not an object; skipped")
            continue
        msgid, itemidx = text_or_none(item.get("msgid")), text_or_none(item.get("itemidx"))
        if msgid is not None:
            cursor = (msgid, itemidx or "1")
        link = _item_link(item, biz)
        if link is None:
            warnings.append(f"{what}: item {number} has no usable article url; skipped")
            continue
        listings.append(
            Listing(
                link=link,
                title=text_or_none(item.get("title")),
                published_at=unix_time(item.get("create_time")),
                cover=text_or_none(item.get("cover_img_1_1") or item.get("cover_img")),
                digest=text_or_none(item.get("digest") or item.get("desc")),
                source=source,
                album=InAlbum(album_id, album_position(item, offset + number, count), title)
                if album_id
                else None,
            )
        )
    more = str(resp.get("continue_flag", "0")).strip() not in ("0", "", "false", "False")
    return AlbumPage(listings, more, cursor, warnings, title, len(items))


def album_position(item: Mapping[str, Any], listed: int, count: int | None) -> int | None:
    """The item's place in its album (1 the first article): its `pos_num`, else counted
    back from `count` articles by its place in the newest-first listing (`listed`, from 1)."""
    numbered = whole_number(item.get("pos_num"))
    if numbered:
        return numbered
    if count and listed <= count:
        return count - listed + 1
    return None


def whole_number(value: Any) -> int | None:
    """A positive whole number from WeChat's int or digit string; None otherwise."""
    text = text_or_none(value)
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    return int(text) or None


def _item_link(item: Mapping[str, Any], biz: str | None) -> ArticleLink | None:
    url = text_or_none(item.get("url"))
    if url:
        try:
            return parse_link(url)
        except LinkError:
            pass
    msgid, itemidx = text_or_none(item.get("msgid")), text_or_none(item.get("itemidx"))
    if biz and msgid and itemidx:
        try:
            return parse_link(canonical_url(biz, msgid, itemidx, None))
        except LinkError:
            return None
    return None


@register("album")
class AlbumSource(BaseSource):
    KEYS = frozenset({"url", "max_pages", "count"})

    def default_name(self) -> str:
        url = self.config.get("url")
        if isinstance(url, str):
            try:
                return "album:" + parse_album_url(url)[1]
            except InputError:
                pass
        return "album"

    def check(self) -> None:
        self.check_common()
        url = self.require_str("url")
        try:
            parse_album_url(url)
        except InputError as error:
            raise self.config_error("url", f"is not usable: {error}") from None
        self.optional_int("max_pages")
        count = self.optional_int("count")
        if count is not None and count > 100:
            raise self.config_error("count", f"must be at most 100, not {count}")

    def listings(self) -> Iterator[Listing]:
        self.check()
        client = self.client()
        biz, album_id = parse_album_url(self.require_str("url"))
        max_pages = self.optional_int("max_pages")
        count = self.optional_int("count") or PAGE_SIZE
        seen: set[str] = set()
        cursor: tuple[str, str] | None = None
        pages = listed = 0
        while max_pages is None or pages < max_pages:
            response = client.get(album_api_url(biz, album_id, cursor, count), kind="api")
            pages += 1
            page = parse_album_page(
                response.content, source=self.name, biz=biz, album_id=album_id, offset=listed
            )
            listed += page.size
            self.warnings.extend(page.warnings)
            new = [item for item in page.listings if item.link.key not in seen]
            for item in new:
                seen.add(item.link.key)
                yield item
            if not page.more:
                return
            if not new or page.cursor is None or page.cursor == cursor:
                self.warn(
                    f"{self.label}: page {pages} brought no new articles although the album "
                    "says more follow; stopped paging"
                )
                return
            cursor = page.cursor
