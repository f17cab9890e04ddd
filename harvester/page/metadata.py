"""An article page's metadata, each field read from the places WeChat has kept it.

Every field has a table of places, in order of precedence: script variables (`Var`, or
`Pick`: the variables, then the cgiDataNew object's key when no variable is declared),
cgiDataNew keys (`Obj`), <meta> tags (`Meta`) and nodes (`Node`). `first_value` walks a
table and the first place with a non-empty value wins.

biz/mid/idx/sn come from the script variables, filled in from the links the page gives
for itself and then from the `url` argument. `short_url` is the `/s/<id>` form of the
`url` argument or, failing that, of the link the page gives for itself. A text post's
title is its own title field when its author gave it one (`is_user_title`, or the
`#js_text_title` heading WeChat renders only then); else it is the first line of the text
(WeChat shows the text, and `msg_title` holds all of it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from selectolax.lexbor import LexborHTMLParser

from archive.times import CHINA, from_unix
from harvester.links import canonical_url, short_url
from harvester.model import Page
from harvester.page.scriptdata import ScriptData
from harvester.page.text import clean, flag, meta_tags, node_text
from harvester.page.urls import link_parts, link_url, url_value

UNIX_MIN, UNIX_MAX = 946684800, 4102444800  # 2000-01-01 .. 2100-01-01
LOCAL_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")

BIZ = re.compile(r"[A-Za-z0-9+/=_-]{4,64}")
DIGITS = re.compile(r"\d{1,20}")
SN = re.compile(r"[A-Za-z0-9_-]{4,128}")
TEXT_TITLE_LENGTH = 60
ORIGINAL_LABEL = re.compile(r"^\s*原创\s*[：:]?\s*")  # 2018–2019: "原创： 作者" before the author
MARKUP = re.compile(r"</?[A-Za-z][^>]*>")
ALL_PREFIXES = ("var", "window", "d", "_g")


@dataclass(frozen=True)
class Places:
    """Everything on a page that a field may be read from."""

    tree: LexborHTMLParser
    data: ScriptData
    meta: dict[str, str]


class Source(Protocol):
    """One place a field's text may be read from."""

    def read(self, places: Places) -> str | None: ...


@dataclass(frozen=True)
class Var:
    """The first non-empty string assigned to any of names, under one of the prefixes."""

    names: tuple[str, ...]
    prefixes: tuple[str, ...] = ALL_PREFIXES

    def read(self, places: Places) -> str | None:
        return places.data.first(*self.names, prefixes=self.prefixes)


@dataclass(frozen=True)
class Pick:
    """The variables names; the data objects' key only when none of them is declared."""

    names: tuple[str, ...]
    key: str
    valid: re.Pattern[str] | None = None

    def read(self, places: Places) -> str | None:
        return places.data.pick(*self.names, key=self.key, valid=self.valid)


@dataclass(frozen=True)
class Obj:
    """A string under key in the data objects (cgiDataNew, then cgiData)."""

    key: str

    def read(self, places: Places) -> str | None:
        return places.data.obj_text(self.key)


@dataclass(frozen=True)
class VarMember:
    """member of the object first assigned (non-empty) to the variable name."""

    name: str
    member: str

    def read(self, places: Places) -> str | None:
        value = places.data.first_raw(self.name)
        return clean(value.get(self.member)) if isinstance(value, dict) else None


@dataclass(frozen=True)
class ObjMember:
    """member of the object first found (non-empty) under key in the data objects."""

    key: str
    member: str

    def read(self, places: Places) -> str | None:
        value = places.data.obj(self.key)
        return clean(value.get(self.member)) if isinstance(value, dict) else None


@dataclass(frozen=True)
class Meta:
    """The content of the first <meta> with this property or name."""

    name: str

    def read(self, places: Places) -> str | None:
        return places.meta.get(self.name)


@dataclass(frozen=True)
class Node:
    """The text of the first node the selector finds."""

    selector: str

    def read(self, places: Places) -> str | None:
        return node_text(places.tree, self.selector)


class OldTemplateAuthor:
    """2017–2018 pages: an <em class="rich_media_meta_text"> in #meta_content, not the date."""

    SKIP_IDS = frozenset({"post-date", "publish_time", "js_ip_wording_wrp", "js_title_modify_wrp"})

    def read(self, places: Places) -> str | None:
        for node in places.tree.css("#meta_content .rich_media_meta_text"):
            if node.attributes.get("id") in self.SKIP_IDS:
                continue
            if "rich_media_meta_nickname" in (node.attributes.get("class") or ""):
                continue
            text = clean(ORIGINAL_LABEL.sub("", node.text(deep=True)))
            if text and not LOCAL_TIME.match(text):
                return text
        return None


TITLE = (
    Pick(("msg_title",), key="title"),
    Var(("title",), prefixes=("d",)),
    Meta("og:title"),
    Node("#activity-name"),
    Node(".rich_media_title"),
)
# `.wx_follow_nickname` no longer names the account on 2026 pages: it comes last.
ACCOUNT = (
    Var(("nickname",)),
    Obj("nick_name"),
    Var(("nick_name",)),
    Node("#js_name"),
    Node(".profile_nickname"),
    Node(".rich_media_meta_nickname"),
    Node("#js_wx_follow_nickname"),
    Node(".wx_follow_nickname"),
)
AUTHOR = (
    Pick(("author",), key="author"),
    Meta("author"),
    Meta("og:article:author"),
    Node("#js_author_name_text"),
    Node("#js_author_name"),
    OldTemplateAuthor(),
)
# `ct` (Unix seconds); else the other creation times, the date-only one last. A Unix time
# anywhere wins over a formatted one (2026 picture posts: `create_time: '2026-05-23 11:29'`,
# the seconds in `ori_create_time`).
PUBLISHED_AT = (
    Var(("ct",)),
    Var(("create_time",)),
    Var(("ori_create_time",)),
    Obj("ori_create_time"),
    Obj("create_time"),
    Var(("publish_time",)),
)
ACCOUNT_ID = (Pick(("user_name",), key="user_name"),)
COVER = (Pick(("msg_cdn_url",), key="cdn_url"), Var(("cover",), prefixes=("d",)), Meta("og:image"))
DIGEST = (Pick(("msg_desc",), key="desc"), Meta("og:description"), Meta("description"))
# "1" original, anything else not; no value at all: the "原创" logo, else unknown.
COPYRIGHT_STAT = (
    Var(("copyright_stat", "_copyright_stat")),
    VarMember("copyright_info", "copyright_stat"),
    ObjMember("copyright_info", "copyright_stat"),
)
ORIGINAL_LOGO = Node("#copyright_logo")
SOURCE_URL = (Pick(("msg_source_url",), key="source_url"),)
PAID = (Pick(("is_pay_subscribe",), key="is_pay_subscribe"),)
IDS = {
    "biz": Pick(("biz",), key="bizuin", valid=BIZ),
    "mid": Pick(("mid", "appmsgid"), key="mid", valid=DIGITS),
    "idx": Pick(("idx", "itemidx"), key="idx", valid=DIGITS),
    "sn": Pick(("sn",), key="sn", valid=SN),
}
# The links a page gives for itself; cgiDataNew's only while the ids are still incomplete.
OWN_LINKS = (Var(("msg_link",)), Meta("og:url"))
OBJECT_LINK = Obj("link")


def first_value(sources: tuple[Source, ...], places: Places) -> str | None:
    """The first non-empty value the sources give, in their order."""
    for source in sources:
        value = source.read(places)
        if value:
            return value
    return None


def read_metadata(
    page: Page,
    tree: LexborHTMLParser,
    data: ScriptData,
    link: dict[str, str],
    post_text: str | None,
) -> None:
    """Fill page's metadata fields from the page; link is the `url` argument's parts."""
    places = Places(tree, data, meta_tags(tree))
    page.title = first_value(TITLE, places)
    page.account = first_value(ACCOUNT, places)
    page.author = first_value(AUTHOR, places)
    page.published_at = _published_at(places)
    page.account_id = first_value(ACCOUNT_ID, places)
    page.cover = url_value(first_value(COVER, places))
    page.digest = _plain(first_value(DIGEST, places))
    page.original = _original(places)
    page.source_url = url_value(first_value(SOURCE_URL, places))
    page.paid = first_value(PAID, places) == "1"
    _read_identity(page, places, link)
    if page.kind == "text" and not _has_own_title(tree, data):
        page.title = _text_title(post_text) or page.title


def _read_identity(page: Page, places: Places, link: dict[str, str]) -> None:
    """biz/mid/idx/sn from the script variables, filled in from the links the page gives
    for itself (msg_link, og:url, cgiDataNew.link) and then from the `url` argument."""
    ids = {name: source.read(places) for name, source in IDS.items()}

    def page_links() -> Iterator[dict[str, str]]:
        for source in OWN_LINKS:
            yield link_parts(url_value(source.read(places)))
        if not (ids["biz"] and ids["mid"] and ids["idx"]):
            yield link_parts(url_value(OBJECT_LINK.read(places)))
        yield link

    short_id = None
    for parts in page_links():
        short_id = short_id or parts.get("short_id")
        if ids["biz"] and parts.get("biz") and parts["biz"] != ids["biz"]:
            continue  # a link to some other account's article
        for key in ids:
            ids[key] = ids[key] or parts.get(key)
    page.biz, page.mid, page.idx, page.sn = ids["biz"], ids["mid"], ids["idx"], ids["sn"]
    if page.biz and page.mid and page.idx:
        page.url = canonical_url(page.biz, page.mid, page.idx, page.sn)
    else:
        page.url = link_url(link)
    short_id = link.get("short_id") or short_id
    if short_id:
        page.short_url = short_url(short_id)


def _published_at(places: Places) -> datetime | None:
    """The first Unix time of PUBLISHED_AT; else its first formatted time."""
    values = [source.read(places) for source in PUBLISHED_AT]
    unix = [value for value in values if value and value.isascii() and value.isdigit()]
    for value in (*unix, *values):
        moment = _moment(value)
        if moment is not None:
            return moment
    return None


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > 12:
            return None
        seconds = int(value)
        if UNIX_MIN <= seconds <= UNIX_MAX:
            return from_unix(seconds)
        return None
    match = LOCAL_TIME.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=CHINA)
    except ValueError:
        return None


def _plain(text: str | None) -> str | None:
    """A digest is plain text: links written into it as HTML leave their text."""
    return clean(MARKUP.sub("", text)) if text and "<" in text else text


def _original(places: Places) -> bool | None:
    stat = first_value(COPYRIGHT_STAT, places)
    if stat is not None:
        return stat == "1"
    logo = ORIGINAL_LOGO.read(places)
    return True if logo and "原创" in logo else None


def _has_own_title(tree: LexborHTMLParser, data: ScriptData) -> bool:
    """Whether a text post's author titled it: `text_page_info.is_user_title`, else the
    page's `is_user_title` variable, else whether the page has the own-title heading."""
    info = data.obj("text_page_info")
    titled = flag(info.get("is_user_title")) if isinstance(info, dict) else None
    if titled is None:
        titled = flag(data.first_raw("is_user_title"))
    if titled is None:
        return tree.css_first("#js_text_title") is not None
    return titled


def _text_title(text: str | None) -> str | None:
    """A text post's title: the first line of its text, shortened (WeChat shows the text)."""
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if len(line) > TEXT_TITLE_LENGTH:
        line = line[: TEXT_TITLE_LENGTH - 1].rstrip() + "…"
    return line or None
