"""The pure half of `kind = "account"`: request URLs, answers read, the probe plan.

- `album_ids_in_page`: the albums an article page names (its `appmsgalbum?…album_id=` tag
  links, and `album_id: '…'` in its scripts);
- `mp/getappmsgext?__biz=…&mid=…&idx=…&f=json`: `appmsg_album_extinfo` gives the album
  of the article (`album_id_str`) and its neighbours in that album (`pre_article_link`,
  `next_article_link`); an article in no album has no extinfo;
- `mp/getainfo?f=json&__biz=…`, a POST of `req={"url": [links]}`: `ainfos[]` holds
  `{url, title}` for each link that exists, nothing for the rest;
- `probe_plan`: which (mid, idx) to ask getainfo about next, from what is known and what
  was asked in vain. An account's mids grow by about one a mass send and idx runs from 1
  to at most 8, so the plan asks (a) the next idx of every known send, and the idx below
  the highest known one that are not known, (b) idx 1 of every mid within `empty_gap` of
  a known mid, above and below; a mid asked in vain is not a send, and `empty_gap` mids
  in a row asked in vain end the walk there. With `beyond` (an incremental night) only
  the newest known send and the mids above it are asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harvester.links import ARTICLE_HOST, LinkError, parse_link
from harvester.sources.base import Listing, SourceError, checked_answer, text_or_none

MAX_IDX = 8
_ALBUM_LINK = re.compile(r"appmsgalbum\?[^\"'<>\s]*?album_id=([0-9]{4,25})")
_ALBUM_SCRIPT = re.compile(r"""\balbum_id\s*[:=]\s*["']?([0-9]{4,25})""")

Pair = tuple[int, int]  # (mid, idx)


@dataclass(frozen=True)
class AlbumExt:
    """What getappmsgext says of an article's album (all None: the article is in none)."""

    album_id: str | None = None
    title: str | None = None
    previous: Listing | None = None  # the older neighbour in that album
    following: Listing | None = None  # the newer one


def album_ids_in_page(html: str) -> list[str]:
    """The album ids an article page names, first appearance first."""
    found: dict[str, None] = {}
    for pattern in (_ALBUM_LINK, _ALBUM_SCRIPT):
        for match in pattern.finditer(html):
            found.setdefault(match.group(1), None)
    return list(found)


def appmsgext_url(biz: str, mid: str, idx: str) -> str:
    query = urlencode({"__biz": biz, "mid": mid, "idx": idx, "f": "json"}, safe="=")
    return f"https://{ARTICLE_HOST}/mp/getappmsgext?{query}"


def getainfo_url(biz: str) -> str:
    return f"https://{ARTICLE_HOST}/mp/getainfo?" + urlencode({"f": "json", "__biz": biz}, safe="=")


def probe_form(biz: str, pairs: Iterable[Pair]) -> dict[str, str]:
    """The getainfo form asking about `pairs` (links without sn, as the page script sends)."""
    urls = [f"https://{ARTICLE_HOST}/s?__biz={biz}&mid={mid}&idx={idx}" for mid, idx in pairs]
    return {"req": json.dumps({"url": urls}, separators=(",", ":"))}


def parse_appmsgext(
    data: bytes | str | Mapping[str, Any], *, what: str, source: str = ""
) -> AlbumExt:
    """A getappmsgext answer (pure); TryLater for freq control or a verification page."""
    body = checked_answer(data, what)
    ext = body.get("appmsg_album_extinfo")
    if not isinstance(ext, Mapping):
        return AlbumExt()
    album_id = text_or_none(ext.get("album_id_str") or ext.get("album_id"))
    return AlbumExt(
        album_id if album_id and album_id.isdigit() else None,
        text_or_none(ext.get("title")),
        _neighbour(ext, "pre", source),
        _neighbour(ext, "next", source),
    )


def _neighbour(ext: Mapping[str, Any], prefix: str, source: str) -> Listing | None:
    url = text_or_none(ext.get(f"{prefix}_article_link"))
    if not url:
        return None
    try:
        link = parse_link(url)
    except LinkError:
        return None
    title = text_or_none(ext.get(f"{prefix}_article_title"))
    return Listing(link=link, title=title, source=source, channel="appmsgext")


def parse_ainfos(
    data: bytes | str | Mapping[str, Any], *, biz: str, what: str, source: str = ""
) -> list[Listing]:
    """The articles a getainfo answer says exist, of account `biz` only (pure)."""
    body = checked_answer(data, what)
    items = body.get("ainfos") or []
    if not isinstance(items, list):
        raise SourceError(f"{what}: ainfos is not a list")
    listings: list[Listing] = []
    for item in items:
        url = text_or_none(item.get("url")) if isinstance(item, Mapping) else None
        if not url:
            continue
        try:
            link = parse_link(url)
        except LinkError:
            continue
        if link.biz == biz and link.mid and link.idx:
            title = text_or_none(item.get("title"))
            listings.append(Listing(link=link, title=title, source=source, channel="getainfo"))
    return listings


def probe_plan(
    known: set[Pair], asked: set[Pair], *, empty_gap: int, beyond: bool = False
) -> list[Pair]:
    """The (mid, idx) worth asking next, newest first (see the module docstring)."""
    if not known:
        return []
    by_mid: dict[int, set[int]] = {}
    for mid, idx in known:
        by_mid.setdefault(mid, set()).add(idx)
    newest = max(by_mid)
    plan: dict[Pair, None] = {}
    for mid in [newest] if beyond else sorted(by_mid, reverse=True):
        top = max(by_mid[mid])
        for idx in [*range(1, top), top + 1]:
            if idx <= MAX_IDX and idx not in by_mid[mid]:
                plan.setdefault((mid, idx), None)
        for step in range(1, empty_gap + 1):
            for other in (mid + step,) if beyond else (mid + step, mid - step):
                if other > 0 and other not in by_mid:
                    plan.setdefault((other, 1), None)
    return sorted((pair for pair in plan if pair not in asked), reverse=True)
