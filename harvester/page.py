"""A served mp.weixin.qq.com page in, a Page out: what kind of page it is, its metadata, its body.

`parse_page(html, url=None)` is pure (HTML in, data out, no I/O). It reads the page with
selectolax and reads the metadata WeChat keeps in script variables with a small evaluator
for the handful of JavaScript shapes those variables take (`var x = "" || "…"`,
`window.x = '…'.html(false)`, `d.x = xml ? getXmlValue('…') : '…'`, the `window.cgiDataNew`
object literal with `JsDecode('…')` values). Only inline scripts that hold page data are
scanned: the bundled libraries that make up most of a 4 MB page are skipped by their
opening lines, and every value must be a literal, so library code cannot leak in.

Kinds (`Page.kind`):
- `verification`: the anti-bot page (captcha / "访问过于频繁"). Checked before anything else,
  so a verification page is never reported as deleted or as an article.
- `article` (item_show_type 0), `video` (5), `picture` (8), `text` (10), `share` (a repost:
  empty #js_content inside `.original_panel` plus `#js_share_source[data-url]`).
- `deleted`, `blocked`, `unavailable`, `expired`: WeChat's message pages. Their wording is only
  looked for in the message elements of pages that carry no article, so an article that
  mentions "链接已过期" in its text stays an article.

A page that is none of these raises `InputError("no WeChat article content found")`; an
empty string raises `InputError("empty page")`. Nothing else is raised for any str input.

For message pages the url fields come from the `url` argument (which article the message
is about); every other field is None. `short_url` is the `/s/<id>` form of the `url`
argument or, failing that, of the link the page gives for itself. Text posts have no
title of their own: their title is the first line of the text (WeChat uses the text).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.errors import InputError
from harvester.links import LinkError, canonical_url, parse_link, short_url
from harvester.model import Page

CHINA = timezone(timedelta(hours=8))

KIND_BY_SHOW_TYPE = {0: "article", 5: "video", 8: "picture", 10: "text"}
TEXT_TITLE_LENGTH = 60

# --- classification markers -------------------------------------------------------------

# Anywhere in the raw page: the captcha redirect target, the verify template, the captcha
# script. Only trusted when the page carries no article (an article may quote them).
VERIFY_STRONG = ("/mp/wappoc_appmsgcaptcha", "secitptpage/verify", "TCaptcha.js")
# The older wording ("请验证身份", "访问过于频繁"), also only on pages without an article.
VERIFY_WORDS = ("验证身份", "访问过于频繁")

MESSAGE_WORDING = {
    "deleted": ("已被发布者删除", "已被作者删除", "已删除", "deleted by the author", "deleted"),
    "blocked": ("违规", "涉嫌侵权", "被投诉", "屏蔽", "封禁", "violat(?:es|ion)", "been blocked"),
    "expired": ("链接已过期", "已过期", "link (?:has |is )?expired"),
    "unavailable": ("无法查看", "content is (?:temporarily )?unavailable", "unable to view"),
}  # in this order: "此内容因违规无法查看" is blocked, not unavailable
MESSAGE_KINDS = tuple(
    (kind, re.compile("|".join(words), re.I)) for kind, words in MESSAGE_WORDING.items()
)
# Headline elements first (their wording decides), then whole message blocks.
MESSAGE_HEADLINES = ".weui-msg__title, .global_error_msg, .mesg-block, .msg_title, title"
MESSAGE_BLOCKS = ".weui-msg, .weui_msg, .msg_box, .global_error_msg_wrp, .panel"

# --- script data ---------------------------------------------------------------------------

# Script variables worth evaluating, by the names WeChat has used over the years.
SCRIPT_NAMES = (
    "biz", "mid", "idx", "sn", "appmsgid", "itemidx",
    "msg_title", "title", "nickname", "nick_name", "author",
    "ct", "create_time", "ori_create_time", "publish_time",
    "user_name", "msg_cdn_url", "cover", "msg_desc",
    "copyright_stat", "_copyright_stat", "copyright_info", "msg_source_url",
    "is_pay_subscribe", "item_show_type", "real_item_show_type", "msg_link",
    "cgiDataNew", "cgiData", "picture_page_info_list",
)  # fmt: skip
# No look-behind here (it makes the scan several times slower): checked in from_tree.
ASSIGNMENT = re.compile(
    r"(var\s+|window\.|d\.|_g\.)("
    + "|".join(sorted(SCRIPT_NAMES, key=len, reverse=True))
    + r")(?![\w$])\s*=(?!=)"
)
# Bundled libraries: skipped by what their first lines say.
LIBRARY_OPENINGS = ("use strict", "typeof exports", "define.amd", "__INLINE_SCRIPT__")
SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "javascript")
LIBRARY_HEAD = 400
MAX_SLOTS = 32  # assignments kept per name; real pages have a handful

BIZ = re.compile(r"[A-Za-z0-9+/=_-]{4,64}")
DIGITS = re.compile(r"\d{1,20}")
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{4,40}")
SN = re.compile(r"[A-Za-z0-9_-]{4,128}")
UNIX_MIN, UNIX_MAX = 946684800, 4102444800  # 2000-01-01 .. 2100-01-01
LOCAL_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_page(html: str, url: str | None = None) -> Page:
    """Classify a served WeChat page and read its metadata and body (see the module doc)."""
    if not isinstance(html, str):
        raise InputError("page is not text")
    if not html or html.isspace():
        raise InputError("empty page")
    tree = _parse_html(html)
    data = ScriptData.from_tree(tree)
    link = _link_parts(url)

    js_content = tree.css_first("#js_content")
    show_type = _int(data.first("item_show_type", "real_item_show_type"))
    if show_type is None:
        show_type = _int(data.obj("item_show_type"))
    share_source = _share_source(tree)
    body_has_content = js_content is not None and _has_content(js_content)
    picture_urls = _picture_urls(tree, data) if show_type == 8 else []
    post_text = _post_text(tree, data, show_type)
    real_article = (
        body_has_content
        or share_source is not None
        or (show_type in (8, 10) and bool(picture_urls or post_text))
    )

    if _is_verification(html, tree, real_article):
        return _message_page("verification", link, url)
    if not real_article:
        kind = _message_kind(tree)
        if kind is not None:
            return _message_page(kind, link, url)
        if js_content is None:
            raise InputError("no WeChat article content found")

    if share_source is not None and not body_has_content:
        kind = "share"
    else:
        kind = KIND_BY_SHOW_TYPE.get(show_type if show_type is not None else 0, "article")
    page = Page(kind=kind)
    _read_metadata(page, tree, data, link)
    page.url = page.url or _plain_url(url)
    if kind == "text" and not _has_own_title(data):
        page.title = _text_title(post_text) or page.title
    if kind == "picture" and (picture_urls or post_text):
        page.body_html = _paragraphs(post_text) + "".join(
            f'<p><img src="{htmllib.escape(src)}"></p>' for src in picture_urls
        )
    elif kind == "text" and post_text:
        page.body_html = _paragraphs(post_text)
    elif kind == "share" and share_source is not None:
        page.shared_url = _share_url(share_source)
        page.body_html = _share_body(tree, page.shared_url)
    elif js_content is not None:
        page.body_html = _inner_html(js_content)
    if kind == "video":
        page.body_html += _video_line(page, data)
    return page


def _video_line(page: Page, data: ScriptData) -> str:
    """A video post's video as a linked line, so the archive says what the post was."""
    vid = data.obj_text("vid", valid=VIDEO_ID)
    target = f"https://v.qq.com/x/page/{vid}.html" if vid else page.url
    if not target:
        return ""
    label = htmllib.escape(f"视频：{page.title}" if page.title else "视频", quote=False)
    return f'<p><a href="{htmllib.escape(target)}">{label}</a></p>'


# --- classification ------------------------------------------------------------------------


def _is_verification(html: str, tree: LexborHTMLParser, real_article: bool) -> bool:
    if not real_article:
        return any(marker in html for marker in VERIFY_STRONG + VERIFY_WORDS)
    # An article page never loads the captcha itself: only these structural signs count.
    for node in tree.css("script[src], link[href]"):
        ref = node.attributes.get("src") or node.attributes.get("href") or ""
        if "TCaptcha.js" in ref or "secitptpage/verify" in ref:
            return True
    return False


def _message_kind(tree: LexborHTMLParser) -> str | None:
    for selector in (MESSAGE_HEADLINES, MESSAGE_BLOCKS):
        text = "\n".join(node.text(deep=True) for node in tree.css(selector))
        for kind, pattern in MESSAGE_KINDS:
            if pattern.search(text):
                return kind
    return None


def _message_page(kind: str, link: dict[str, str], url: str | None) -> Page:
    page = Page(kind=kind)
    page.biz, page.mid, page.idx, page.sn = (link.get(k) for k in ("biz", "mid", "idx", "sn"))
    page.url = _link_url(link) or _plain_url(url)
    if link.get("short_id"):
        page.short_url = short_url(link["short_id"])
    return page


def _has_content(node: LexborNode) -> bool:
    if node.css_first("img, iframe, video, audio, mpvoice, qqmusic, mp-common-mpaudio, svg"):
        return True
    return bool(_text_of(node).strip())


# --- metadata ------------------------------------------------------------------------------


def _read_metadata(page: Page, tree: LexborHTMLParser, data: ScriptData, link: dict) -> None:
    meta = _meta_tags(tree)
    page.title = (
        data.pick("msg_title", key="title")
        or data.first("title", prefixes=("d",))
        or meta.get("og:title")
        or _node_text(tree, "#activity-name")
        or _node_text(tree, ".rich_media_title")
    )
    page.account = (
        data.pick("nickname", "nick_name", key="nick_name")
        or _node_text(tree, "#js_name")
        or _node_text(tree, ".profile_nickname")
        or _node_text(tree, ".rich_media_meta_nickname")
        or _node_text(tree, "#js_wx_follow_nickname")
        or _node_text(tree, ".wx_follow_nickname")
    )
    page.author = (
        data.pick("author", key="author")
        or meta.get("author")
        or meta.get("og:article:author")
        or _node_text(tree, "#js_author_name_text")
        or _node_text(tree, "#js_author_name")
        or _old_template_author(tree)
    )
    page.published_at = _published_at(data)
    page.account_id = data.pick("user_name", key="user_name")
    page.cover = _url_value(
        data.pick("msg_cdn_url", key="cdn_url")
        or data.first("cover", prefixes=("d",))
        or meta.get("og:image")
    )
    page.digest = (
        data.pick("msg_desc", key="desc") or meta.get("og:description") or meta.get("description")
    )
    page.original = _original(tree, data)
    page.source_url = _url_value(data.pick("msg_source_url", key="source_url"))
    paid = data.pick("is_pay_subscribe", key="is_pay_subscribe")
    page.paid = paid == "1"

    _read_identity(page, data, meta, link)


def _read_identity(page: Page, data: ScriptData, meta: dict, link: dict[str, str]) -> None:
    """biz/mid/idx/sn from the script variables, filled in from the links the page gives
    for itself (msg_link, og:url, cgiDataNew.link) and then from the `url` argument."""
    ids = {
        "biz": data.pick("biz", key="bizuin", valid=BIZ),
        "mid": data.pick("mid", "appmsgid", key="mid", valid=DIGITS),
        "idx": data.pick("idx", "itemidx", key="idx", valid=DIGITS),
        "sn": data.pick("sn", key="sn", valid=SN),
    }

    def page_links() -> Iterator[dict[str, str]]:
        yield _link_parts(_url_value(data.first("msg_link")))
        yield _link_parts(_url_value(meta.get("og:url")))
        if not (ids["biz"] and ids["mid"] and ids["idx"]):
            yield _link_parts(_url_value(data.obj_text("link")))
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
        page.url = _link_url(link)
    short_id = link.get("short_id") or short_id
    if short_id:
        page.short_url = short_url(short_id)


def _published_at(data: ScriptData) -> datetime | None:
    """`ct` (Unix seconds); else the other creation times, the date-only one last."""
    for read in (
        lambda: data.first("ct"),
        lambda: data.first("create_time"),
        lambda: data.first("ori_create_time"),
        lambda: data.obj_text("ori_create_time"),
        lambda: data.obj_text("create_time"),
        lambda: data.first("publish_time"),
    ):
        moment = _moment(read())
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
            return datetime.fromtimestamp(seconds, CHINA)
        return None
    match = LOCAL_TIME.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=CHINA)
    except ValueError:
        return None


def _original(tree: LexborHTMLParser, data: ScriptData) -> bool | None:
    stat = data.first("copyright_stat", "_copyright_stat")
    if stat is None:
        info = data.first_raw("copyright_info")
        if isinstance(info, dict):
            stat = _clean(info.get("copyright_stat"))
    if stat is None:
        info = data.obj("copyright_info")
        stat = _clean(info.get("copyright_stat")) if isinstance(info, dict) else None
    if stat is not None:
        return stat == "1"
    logo = _node_text(tree, "#copyright_logo")
    return True if logo and "原创" in logo else None


def _old_template_author(tree: LexborHTMLParser) -> str | None:
    """2017–2018 pages: an <em class="rich_media_meta_text"> in #meta_content, not the date."""
    skip_ids = {"post-date", "publish_time", "js_ip_wording_wrp", "js_title_modify_wrp"}
    for node in tree.css("#meta_content .rich_media_meta_text"):
        if node.attributes.get("id") in skip_ids:
            continue
        if "rich_media_meta_nickname" in (node.attributes.get("class") or ""):
            continue
        text = _clean(node.text(deep=True))
        if text and not LOCAL_TIME.match(text):
            return text
    return None


def _meta_tags(tree: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        name = node.attributes.get("property") or node.attributes.get("name")
        if not name or name in found:
            continue
        value = _clean(_unescape_js_light(node.attributes.get("content") or ""))
        if value:
            found[name] = value
    return found


def _node_text(tree: LexborHTMLParser, selector: str) -> str | None:
    node = tree.css_first(selector)
    return _clean(node.text(deep=True)) if node is not None else None


# --- bodies --------------------------------------------------------------------------------


def _inner_html(node: LexborNode) -> str:
    node.strip_tags(["script", "style"])
    return (node.inner_html or "").strip()


def _paragraphs(text: str | None) -> str:
    if not text:
        return ""
    lines = (line.strip() for line in text.splitlines())
    return "".join(f"<p>{htmllib.escape(line, quote=False)}</p>" for line in lines if line)


def _picture_urls(tree: LexborHTMLParser, data: ScriptData) -> list[str]:
    entries = data.first_raw("picture_page_info_list")
    if not isinstance(entries, list) or not entries:
        entries = data.obj("picture_page_info_list")
    urls: list[str] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                src = _url_value(_clean(entry.get("cdn_url")))
                if src:
                    urls.append(src)
    if not urls:  # 2018 picture posts: plain <img> tags in #img_list
        for img in tree.css("#img_list img"):
            src = _url_value(_clean(img.attributes.get("data-src") or img.attributes.get("src")))
            if src:
                urls.append(src)
    return urls


def _post_text(tree: LexborHTMLParser, data: ScriptData, show_type: int | None) -> str | None:
    """The text of a picture (8) or text (10) post, with its line breaks."""
    if show_type == 10:
        info = data.obj("text_page_info")
        if isinstance(info, dict):
            for key in ("content", "content_noencode"):
                text = _clean(info.get(key))
                if text:
                    return text
        return _clean(_text_of(tree.css_first("#js_text_desc"))) or data.first("msg_title")
    if show_type == 8:
        text = data.obj_text("content_noencode")
        if text:
            return text
        notice = tree.css_first(".share_notice")
        if notice is not None:  # 2018: document.write("…") inside p.share_notice
            written = _script_string(notice, "document.write(")
            if written:
                return written
            return _clean(_text_of(notice))
        return data.obj_text("desc") or data.first("msg_desc")
    return None


def _has_own_title(data: ScriptData) -> bool:
    info = data.obj("text_page_info")
    return isinstance(info, dict) and _clean(info.get("is_user_title")) == "1"


def _text_title(text: str | None) -> str | None:
    """A text post's title: the first line of its text, shortened (WeChat shows the text)."""
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if len(line) > TEXT_TITLE_LENGTH:
        line = line[: TEXT_TITLE_LENGTH - 1].rstrip() + "…"
    return line or None


def _share_source(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("#js_share_source[data-url]")
    if node is None:
        return None
    return _clean(node.attributes.get("data-url"))


def _share_url(data_url: str) -> str | None:
    parts = _link_parts(_url_value(data_url))
    return _link_url(parts) or _url_value(data_url)


def _share_body(tree: LexborHTMLParser, shared_url: str | None) -> str:
    notice_node = tree.css_first("#js_share_notice")
    notice = None
    if notice_node is not None:
        notice = _script_string(notice_node, "innerHTML") or _clean(_text_of(notice_node))
    title = _node_text(tree, "#original_panel_title") or _node_text(tree, "#js_share_source")
    body = _paragraphs(notice)
    if shared_url:
        href = htmllib.escape(shared_url)
        body += f'<p><a href="{href}">{htmllib.escape(title or "阅读全文", quote=False)}</a></p>'
    return body


def _text_of(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return "".join(
        child.text(deep=True)
        for child in node.iter(include_text=True)
        if child.tag not in ("script", "style")
    )


def _script_string(node: LexborNode, after: str) -> str | None:
    """The first string literal after `after` in a script inside node, JS-decoded."""
    for script in node.css("script"):
        source = script.text(deep=True)
        start = source.find(after)
        if start < 0:
            continue
        match = STRING_LITERAL.search(source, start + len(after))
        if match is not None:
            return _clean(_unescape_js(match.group()[1:-1]))
    return None


# --- links ---------------------------------------------------------------------------------


def _link_parts(url: str | None) -> dict[str, str]:
    """biz/mid/idx/sn or the short id of a WeChat article link; {} for anything else."""
    if not url:
        return {}
    try:
        link = parse_link(url)
    except LinkError:
        return {}
    if link.form == "short":
        return {"short_id": link.short_id}
    fields = {"biz": link.biz, "mid": link.mid, "idx": link.idx, "sn": link.sn}
    return {name: value for name, value in fields.items() if value}


def _link_url(parts: dict[str, str]) -> str | None:
    if parts.get("biz") and parts.get("mid") and parts.get("idx"):
        return canonical_url(parts["biz"], parts["mid"], parts["idx"], parts.get("sn"))
    if parts.get("short_id"):
        return short_url(parts["short_id"])
    return None


def _plain_url(url: str | None) -> str | None:
    """The url argument as given (escapes undone) when it is no article link we can read."""
    value = _url_value(url)
    return value if value and re.match(r"https?://", value, re.I) else None


def _url_value(value: str | None) -> str | None:
    """A URL as the page writes it, with its HTML escapes (`&amp;`, even doubled) undone."""
    if not value:
        return None
    for _ in range(3):
        if "&" not in value:
            break
        value = htmllib.unescape(value)
    value = value.strip()
    return value or None


# --- values --------------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    """A display string: HTML entities decoded once, whitespace stripped, '' -> None."""
    value = _plain(value)
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = htmllib.unescape(value)
    value = value.strip()
    return value or None


def _int(value: Any) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value.isascii() and value.isdigit() and len(value) <= 9:
            return int(value)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**9:
        return value
    return None


def _parse_html(html: str) -> LexborHTMLParser:
    try:
        return LexborHTMLParser(html)
    except UnicodeEncodeError:  # lone surrogates cannot go to the parser as UTF-8
        return LexborHTMLParser(html.encode("utf-8", "replace").decode("utf-8"))


_UNSET = object()


class _Slot:
    """One `prefix.name = <expression>` in a script; the expression is read on demand."""

    __slots__ = ("_value", "position", "prefix", "source")

    def __init__(self, prefix: str, source: str, position: int):
        self.prefix = prefix
        self.source = source
        self.position = position
        self._value: Any = _UNSET

    @property
    def value(self) -> Any:
        if self._value is _UNSET:
            self._value = evaluate(self.source, self.position)
        return self._value


class ScriptData:
    """The page's script variables, in page order, each evaluated when first asked for.

    Evaluating is lazy because the big objects (`window.cgiDataNew` holds the whole
    article again) are only needed when the plain variables do not have a value.
    """

    def __init__(self, assignments: dict[str, list[_Slot]]):
        self.assignments = assignments
        self._objects: list[dict] | None = None

    @classmethod
    def from_tree(cls, tree: LexborHTMLParser) -> ScriptData:
        assignments: dict[str, list[_Slot]] = {}
        for source in _data_scripts(tree):
            for match in ASSIGNMENT.finditer(source):
                start = match.start()
                if start and (source[start - 1].isalnum() or source[start - 1] in "_$."):
                    continue  # part of a longer name: obj.d.title, xvar
                prefix = match.group(1).rstrip(". \t\r\n")
                prefix = "var" if prefix.startswith("var") else prefix
                slots = assignments.setdefault(match.group(2), [])
                if len(slots) < MAX_SLOTS:
                    slots.append(_Slot(prefix, source, match.end()))
        return cls(assignments)

    @property
    def objects(self) -> list[dict]:
        """window.cgiDataNew, then window.cgiData."""
        if self._objects is None:
            self._objects = [
                slot.value
                for name in ("cgiDataNew", "cgiData")
                for slot in self.assignments.get(name, [])
                if isinstance(slot.value, dict)
            ]
        return self._objects

    def first(
        self,
        *names: str,
        prefixes: tuple[str, ...] = ("var", "window", "d", "_g"),
        valid: re.Pattern[str] | None = None,
    ) -> str | None:
        """The first non-empty string assigned to any of names (in that order of names)."""
        for name in names:
            for slot in self.assignments.get(name, []):
                if slot.prefix not in prefixes:
                    continue
                text = _clean(slot.value)
                if text and (valid is None or valid.fullmatch(text)):
                    return text
        return None

    def declared(self, *names: str) -> bool:
        """Whether the page assigns a string (even an empty one) to any of names."""
        return any(
            isinstance(slot.value, (str, _LongString))
            for name in names
            for slot in self.assignments.get(name, [])
        )

    def pick(self, *names: str, key: str, valid: re.Pattern[str] | None = None) -> str | None:
        """The plain variables first; cgiDataNew's `key` only when none of them is declared
        (a declared empty variable means the page has no such value)."""
        text = self.first(*names, valid=valid)
        if text or self.declared(*names):
            return text
        return self.obj_text(key, valid=valid)

    def first_raw(self, name: str) -> Any:
        for slot in self.assignments.get(name, []):
            if _truthy(slot.value) and slot.value not in ("", [], {}):
                return slot.value
        return None

    def obj(self, key: str) -> Any:
        for data in self.objects:
            value = data.get(key)
            if _truthy(value) and value not in ("", [], {}):
                return value
        return None

    def obj_text(self, key: str, valid: re.Pattern[str] | None = None) -> str | None:
        for data in self.objects:
            text = _clean(data.get(key))
            if text and (valid is None or valid.fullmatch(text)):
                return text
        return None


def _data_scripts(tree: LexborHTMLParser) -> list[str]:
    sources = []
    for node in tree.css("script"):
        attributes = node.attributes
        if attributes.get("src") is not None:
            continue
        if (attributes.get("type") or "").strip().lower() not in SCRIPT_TYPES:
            continue
        source = node.text(deep=True)
        head = source[:LIBRARY_HEAD]
        if not head.strip() or any(marker in head for marker in LIBRARY_OPENINGS):
            continue
        if head.lstrip().startswith("!function"):
            continue
        sources.append(source)
    return sources


# --- a small evaluator for the JavaScript values WeChat writes -----------------------------


class _Unknown:
    """A value the evaluator cannot know (an identifier, a function call): always falsy."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class _Stop(Exception):
    """Not a value this evaluator reads."""


class _LongString:
    """A long string literal (an article's HTML again, in cgiDataNew), decoded when used."""

    __slots__ = ("_text", "js_decode", "literal")

    def __init__(self, literal: str):
        self.literal = literal
        self.js_decode = False
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = _unescape_js(self.literal)
            if self.js_decode:
                self._text = _js_decode(self._text)
        return self._text


def _plain(value: Any) -> Any:
    return value.text() if isinstance(value, _LongString) else value


# String literals as an unrolled loop: a 300 kB literal is one fast scan.
STRING = r"'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'" + "|" + r'"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'
STRING_LITERAL = re.compile(STRING)
TOKEN = re.compile(
    r"""\s*(?:(?://[^\n]*|/\*[\s\S]*?\*/)\s*)*
    (?:
        (?P<str>"""
    + STRING
    + r""")
      | (?P<num>\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_$][\w$]*)
      | (?P<op>===|!==|==|!=|<=|>=|\|\||&&|[-+*/%!<>?:,;(){}\[\].=])
    )""",
    re.X,
)
MAX_DEPTH = 40
LONG_STRING = 4096
MAX_TOKENS = 100_000
DECODERS = {"JsDecode", "htmlDecode", "String", "decodeURIComponent"}


def evaluate(source: str, position: int) -> Any:
    """The value of the JavaScript expression at position, or UNKNOWN."""
    try:
        return _Evaluator(source, position).expression()
    except (_Stop, RecursionError, ValueError, OverflowError):
        return UNKNOWN


class _Evaluator:
    """Recursive descent over the tokens at a position; `ahead` is the next token."""

    def __init__(self, source: str, position: int):
        self.source = source
        self.depth = 0
        self.tokens = 0
        self.ahead = self.scan(position)

    def scan(self, position: int) -> tuple[str, str, int]:
        match = TOKEN.match(self.source, position)
        if match is None:
            return ("end", "", position)
        kind = match.lastgroup or "end"
        return (kind, match.group(kind), match.end())

    def peek(self) -> tuple[str, str]:
        return self.ahead[0], self.ahead[1]

    def take(self) -> tuple[str, str]:
        kind, value, end = self.ahead
        if kind == "end":
            raise _Stop
        self.tokens += 1
        if self.tokens > MAX_TOKENS:
            raise _Stop
        self.ahead = self.scan(end)
        return kind, value

    def at(self, *ops: str) -> bool:
        return self.ahead[0] == "op" and self.ahead[1] in ops

    def expect(self, op: str) -> None:
        if not self.at(op):
            raise _Stop
        self.take()

    def expression(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Stop
        try:
            condition = self.either()
            if not self.at("?"):
                return condition
            self.take()
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return yes if _truthy(condition) else no
        finally:
            self.depth -= 1

    def either(self) -> Any:
        value = self.both()
        while self.at("||"):
            self.take()
            other = self.both()
            if not _truthy(value):
                value = other
        return value

    def both(self) -> Any:
        value = self.comparison()
        while self.at("&&"):
            self.take()
            other = self.comparison()
            value = other if _truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.arithmetic()
        while self.at("===", "!==", "==", "!=", "<", ">", "<=", ">="):
            _, op = self.take()
            other = _plain(self.arithmetic())
            value = _plain(value)
            if value is UNKNOWN or other is UNKNOWN or op not in ("===", "!==", "==", "!="):
                value = UNKNOWN
            else:
                same = value == other if op in ("===", "!==") else str(value) == str(other)
                value = same if op in ("===", "==") else not same
        return value

    def arithmetic(self) -> Any:
        value = self.unary()
        while self.at("+", "-", "*", "/", "%"):
            _, op = self.take()
            other = _plain(self.unary())
            if op == "*" and type(other) is int and other == 1 and isinstance(value, str):
                continue  # '123' * 1: keep the digits as written
            value = _plain(value)
            if op == "+" and isinstance(value, str) and isinstance(other, str):
                value = value + other
            elif (
                op in ("+", "-", "*")
                and type(value) in (int, float)
                and type(other) in (int, float)
                and abs(value) < 1e15
                and abs(other) < 1e15
            ):
                value = (
                    value + other if op == "+" else value - other if op == "-" else value * other
                )
            else:
                value = UNKNOWN
        return value

    def unary(self) -> Any:
        kind, value = self.peek()
        if kind == "op" and value in ("!", "-", "+"):
            self.take()
            operand = self.unary()
            if operand is UNKNOWN:
                return UNKNOWN
            if value == "!":
                return not _truthy(operand)
            if type(operand) in (int, float):
                return -operand if value == "-" else operand
            return UNKNOWN
        if kind == "name" and value in ("typeof", "void"):
            self.take()
            self.unary()
            return UNKNOWN
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            literal = value[1:-1]
            return _LongString(literal) if len(literal) > LONG_STRING else _unescape_js(literal)
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "op":
            if value == "(":
                inner = self.expression()
                self.expect(")")
                return inner
            if value == "{":
                return self.object_literal()
            if value == "[":
                return self.array_literal()
            raise _Stop
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value in ("null", "undefined"):
                return None
            if value in ("function", "new", "class", "var", "let", "const", "return"):
                raise _Stop
            if value in DECODERS and self.at("("):
                arguments = self.call_arguments()
                argument = arguments[0] if arguments else UNKNOWN
                if value == "JsDecode" and isinstance(argument, _LongString):
                    argument.js_decode = True
                    return argument
                if value == "decodeURIComponent":
                    argument = _plain(argument)
                    return unquote(argument) if isinstance(argument, str) else UNKNOWN
                if value == "JsDecode" and isinstance(argument, str):
                    return _js_decode(argument)
                return argument if isinstance(argument, (str, _LongString)) else UNKNOWN
            return UNKNOWN
        raise _Stop

    def postfix(self, value: Any) -> Any:
        while True:
            if self.at("."):
                self.take()
                kind, member = self.take()
                if kind != "name":
                    raise _Stop
                if self.at("("):
                    self.call_arguments()
                    # '…'.html(false) decodes entities, done for every value at the end
                    keep = member == "html" and isinstance(value, (str, _LongString))
                    value = value if keep else UNKNOWN
                else:
                    value = UNKNOWN
            elif self.at("["):
                self.take()
                self.expression()
                self.expect("]")
                value = UNKNOWN
            elif self.at("(") and value is UNKNOWN:
                self.call_arguments()
            else:
                return value

    def call_arguments(self) -> list[Any]:
        self.expect("(")
        arguments: list[Any] = []
        while not self.at(")"):
            arguments.append(self.expression())
            if not self.at(","):
                break
            self.take()
        self.expect(")")
        return arguments

    def object_literal(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while not self.at("}"):
            kind, key = self.take()
            if kind == "str":
                key = _unescape_js(key[1:-1])
            elif kind not in ("name", "num"):
                raise _Stop
            if self.at(":"):
                self.take()
                result[key] = self.expression()
            elif self.at(",", "}"):
                result[key] = UNKNOWN
            else:
                raise _Stop
            if not self.at(","):
                break
            self.take()
        self.expect("}")
        return result

    def array_literal(self) -> list[Any]:
        result: list[Any] = []
        while not self.at("]"):
            result.append(self.expression())
            if not self.at(","):
                break
            self.take()
        self.expect("]")
        return result


def _truthy(value: Any) -> bool:
    if value is UNKNOWN or value is None:
        return False
    if isinstance(value, (dict, list)):
        return True
    return bool(value)


JS_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{2})|u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|(\r\n|[\s\S]))"
)
JS_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
LINE_BREAKS = ("\n", "\r\n", "\r", "\u2028", "\u2029")
SURROGATE = re.compile("[\ud800-\udfff]")
JS_DECODE = (
    ("\\x5c", "\\"),
    ("\\x0d", "\r"),
    ("\\x22", '"'),
    ("\\x26", "&"),
    ("\\x27", "'"),
    ("\\x3c", "<"),
    ("\\x3e", ">"),
    ("\\x0a", "\n"),
)


def _unescape_js(text: str) -> str:
    """The value of a JavaScript string literal's body: \\x26, \\u4e2d, \\', \\n …"""
    if "\\" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        hex2, braced, hex4, other = match.groups()
        if hex2:
            return chr(int(hex2, 16))
        code = braced or hex4
        if code:
            point = int(code, 16)
            return chr(point) if point <= 0x10FFFF else "\ufffd"
        if other in LINE_BREAKS:
            return ""
        return JS_SIMPLE.get(other, other)

    return _fix_surrogates(JS_ESCAPE.sub(replace, text))


def _unescape_js_light(text: str) -> str:
    """Only \\xHH and \\uHHHH, for HTML attributes that carry JS-escaped text."""
    if "\\" not in text:
        return text
    decoded = re.sub(
        r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})",
        lambda m: chr(int(m.group(1) or m.group(2), 16)),
        text,
    )
    return _fix_surrogates(decoded)


def _fix_surrogates(text: str) -> str:
    """Join \\ud83d\\ude00 pairs into one character; lone halves become U+FFFD."""
    if SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _js_decode(text: str) -> str:
    """WeChat's JsDecode(): undo the \\xHH escapes left in an already-read string."""
    if "\\x" not in text:
        return text
    for escaped, plain in JS_DECODE:
        text = text.replace(escaped, plain)
    return text
