"""What a page carries as its post, and the body HTML made of it for each kind.

An article's body is #js_content as served (scripts and styles dropped); where it is absent
or empty on a page that says it is an article (item_show_type 0), the content part of
2026's body containers (BODY_CONTAINERS): the container less what is not body (NOT_BODY:
the title, the meta line, the empty #js_content, the reprint's source card, the reward,
album and tool bars, which the classic template's `.rich_media_area_primary` also wraps,
and the hidden Sogou block).

Picture (8) and text (10) posts keep their text and images in script data, so their body is
built from it: the text as paragraphs, then one paragraph per picture (`Picture`: every
picture is kept; a QR code is marked by its alt text, a live photo is its still image
linked to its motion). A share (a repost) gets its notice and a link to the shared article.

A video post keeps what #js_content shows, its description (the page's digest: `msg_desc`,
else `og:description`/`description`, where 2024–2026 video pages keep it) when the body
does not already show it, and a linked line naming its video; the description's expand and
collapse buttons (展开, 收起) are page controls, never text.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.model import Page
from harvester.page.scriptdata import ScriptData, script_string
from harvester.page.text import clean, flag, meta_tags, node_text, text_of
from harvester.page.urls import link_parts, link_url, url_value

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{4,40}")
EMBEDS = "img, iframe, video, audio, mpvoice, qqmusic, mp-common-mpaudio, svg"
# A post's text may hold links and line breaks written as HTML, which WeChat shows as such.
_POST_LINK = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a\s*>""", re.I | re.S)
_INNER_TAG = re.compile(r"</?[A-Za-z][^>]*>")  # inside a link's text: a <span> around it
_BR = re.compile(r"<br\s*/?>", re.I)
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
BODY_CONTAINERS = ("#page_content", ".rich_media_area_primary")
# Inside a container, the article's own block where it has one (the comment, like and
# dialog chrome sit beside it).
CONTENT_PART = "#img-content, .rich_media_wrp"
NOT_BODY = ", ".join(
    [
        "#activity-name",
        ".rich_media_title",
        "#meta_content",
        ".rich_media_meta_list",
        "#js_content",
        "#js_tags_preview_toast",
        "#content_bottom_area",
        ".rich_media_tool_area",
        ".rich_media_tool",
        ".rich_media_area_extra",
        ".reward_area",
        ".reward_qrcode_area",
        "#js_tags",
        ".article-tag__list",
        ".album_read_card",
        ".original_area_primary",
        ".like_comment_wrp",
        ".weui-dialog",
        ".weui-toast",
        ".sougou",
        "#sg_tj",
        "script",
        "style",
    ]
)
# A video description's expand/collapse control: a <button>, or an element saying only this.
TOGGLE_LABELS = frozenset({"展开", "收起", "展开全文", "收起全文", "全文"})
_SPACE = re.compile(r"\s+")


QR_CODE_ALT = "二维码"
LIVE_PHOTO_ALT = "实况"  # the badge WeChat shows on a live photo


@dataclass(frozen=True)
class Picture:
    """One picture of a picture post: its image; whether it is a QR code (2026's
    `is_qr_code`); a live photo's motion, the largest of its `live_photo.format_info`."""

    src: str
    qr_code: bool = False
    motion: str | None = None

    def html(self) -> str:
        """The picture as a paragraph: a QR code's image says so in its alt text, a live
        photo's still links to its motion."""
        alt = QR_CODE_ALT if self.qr_code else LIVE_PHOTO_ALT if self.motion else ""
        image = f'<img src="{htmllib.escape(self.src)}"' + (f' alt="{alt}"' if alt else "") + ">"
        if self.motion:
            image = f'<a href="{htmllib.escape(self.motion)}">{image}</a>'
        return f"<p>{image}</p>"


@dataclass
class Content:
    """The parts of a page a post can be made of, read once for classifying and the body."""

    js_content: LexborNode | None
    container: LexborNode | None
    show_type: int | None
    share_source: str | None
    has_body: bool
    pictures: list[Picture]
    post_text: str | None

    @classmethod
    def read(cls, tree: LexborHTMLParser, data: ScriptData) -> Content:
        """#js_content, item_show_type, the share source and a picture/text post's parts."""
        js_content = tree.css_first("#js_content")
        show_type = _int(data.first("item_show_type", "real_item_show_type"))
        if show_type is None:
            show_type = _int(data.obj("item_show_type"))
        share_source = _share_source(tree)
        has_body = js_content is not None and _has_content(js_content)
        container = None
        if not has_body and share_source is None and show_type == 0:
            container = _container_part(tree)
        return cls(
            js_content=js_content,
            container=container,
            show_type=show_type,
            share_source=share_source,
            has_body=has_body or container is not None,
            pictures=_pictures(tree, data) if show_type == 8 else [],
            post_text=_post_text(tree, data, show_type),
        )


def add_body(page: Page, tree: LexborHTMLParser, data: ScriptData, content: Content) -> None:
    """Give page (its kind and metadata already read) the body its kind has."""
    kind = page.kind
    if kind == "picture" and (content.pictures or content.post_text):
        page.body_html = _paragraphs(content.post_text) + "".join(
            picture.html() for picture in content.pictures
        )
    elif kind == "text" and content.post_text:
        page.body_html = _paragraphs(content.post_text)
    elif kind == "share" and content.share_source is not None:
        page.shared_url = _share_url(content.share_source)
        page.body_html = _share_body(tree, page.shared_url)
    elif kind == "video":
        page.body_html = _video_body(page, data, content.js_content)
    elif content.container is not None:
        page.body_html = _inner_html(content.container)
    elif content.js_content is not None:
        page.body_html = _inner_html(content.js_content)


def _video_body(page: Page, data: ScriptData, js_content: LexborNode | None) -> str:
    """What #js_content shows, less its expand/collapse buttons; the description unless
    that already shows it; then the video as a linked line."""
    body, shown = "", ""
    if js_content is not None:
        _drop_toggles(js_content)
        body, shown = _inner_html(js_content), text_of(js_content)
    if page.digest and _SPACE.sub("", page.digest) not in _SPACE.sub("", shown):
        body += _paragraphs(page.digest)
    return body + _video_line(page, data)


def _drop_toggles(node: LexborNode) -> None:
    toggles = [child for child in node.css("*") if _is_toggle(child)]
    ids = {toggle.mem_id for toggle in toggles}
    for toggle in toggles:  # the outermost only: a removed node's children are gone with it
        if not any(parent.mem_id in ids for parent in _ancestors(toggle)):
            toggle.decompose()


def _is_toggle(node: LexborNode) -> bool:
    if node.tag == "button":
        return True
    return clean(text_of(node)) in TOGGLE_LABELS and node.css_first(EMBEDS) is None


def _ancestors(node: LexborNode) -> list[LexborNode]:
    found, parent = [], node.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def _video_line(page: Page, data: ScriptData) -> str:
    """A video post's video as a linked line, so the archive says what the post was."""
    vid = data.obj_text("vid", valid=VIDEO_ID)
    target = f"https://v.qq.com/x/page/{vid}.html" if vid else page.url
    if not target:
        return ""
    label = htmllib.escape(f"视频：{page.title}" if page.title else "视频", quote=False)
    return f'<p><a href="{htmllib.escape(target)}">{label}</a></p>'


def _container_part(tree: LexborHTMLParser) -> LexborNode | None:
    """The content part of the first body container that has one (its CONTENT_PART, else
    itself, less NOT_BODY), in a tree of its own (the page's tree stays whole for the
    metadata)."""
    for selector in BODY_CONTAINERS:
        for node in tree.css(selector):
            if node.css_matches(".sougou"):
                continue
            part = LexborHTMLParser(node.html or "").body
            if part is None:
                continue
            part = part.css_first(CONTENT_PART) or part
            while (unwanted := part.css_first(NOT_BODY)) is not None:
                unwanted.decompose()  # one at a time: a removed node's children go with it
            if _has_content(part):
                return part
    return None


def _has_content(node: LexborNode) -> bool:
    if node.css_first(EMBEDS):
        return True
    return bool(text_of(node).strip())


def _inner_html(node: LexborNode) -> str:
    node.strip_tags(["script", "style"])
    return (node.inner_html or "").strip()


def _paragraphs(text: str | None) -> str:
    """A post's text as HTML: a blank line parts paragraphs, a single line end is a line
    break; the links and line breaks written in it as HTML are links and line breaks, any
    other markup stays text, as written."""
    if not text:
        return ""
    text = _BR.sub("\n", text)
    paragraphs = []
    for block in _BLANK_LINE.split(text):
        lines = [_post_html(line.strip()) for line in block.splitlines() if line.strip()]
        if lines:
            paragraphs.append(f"<p>{'<br>'.join(lines)}</p>")
    return "".join(paragraphs)


def _post_html(text: str) -> str:
    out, end = [], 0
    for link in _POST_LINK.finditer(text):
        out.append(_escaped(text[end : link.start()]))
        href = htmllib.escape(htmllib.unescape(link.group(2)))
        label = _escaped(_INNER_TAG.sub("", link.group(3)))
        out.append(f'<a href="{href}">{label}</a>')
        end = link.end()
    out.append(_escaped(text[end:]))
    return "".join(out)


def _escaped(text: str) -> str:
    return htmllib.escape(text, quote=False)


def _pictures(tree: LexborHTMLParser, data: ScriptData) -> list[Picture]:
    entries = data.first_raw("picture_page_info_list")
    if not isinstance(entries, list) or not entries:
        entries = data.obj("picture_page_info_list")
    pictures: list[Picture] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                src = url_value(clean(entry.get("cdn_url")))
                if src:
                    qr_code = flag(entry.get("is_qr_code")) is True
                    pictures.append(Picture(src, qr_code, _motion(entry.get("live_photo"))))
    if not pictures:  # 2018 picture posts: plain <img> tags in #img_list
        for img in tree.css("#img_list img"):
            src = url_value(clean(img.attributes.get("data-src") or img.attributes.get("src")))
            if src:
                pictures.append(Picture(src))
    return pictures


def _motion(live_photo: Any) -> str | None:
    """A live photo's motion: the web URL of its largest format (each has `url` and
    `file_size`)."""
    formats = live_photo.get("format_info") if isinstance(live_photo, dict) else None
    best, best_size = None, -1
    for entry in formats if isinstance(formats, list) else []:
        if not isinstance(entry, dict):
            continue
        url = url_value(clean(entry.get("url")))
        if not url or not url.lower().startswith(("https://", "http://")):
            continue
        size_value = _int(clean(entry.get("file_size"))) or 0
        if size_value > best_size:
            best, best_size = url, size_value
    return best


def _post_text(tree: LexborHTMLParser, data: ScriptData, show_type: int | None) -> str | None:
    """The text of a picture (8) or text (10) post, with its line breaks."""
    if show_type == 10:
        info = data.obj("text_page_info")
        if isinstance(info, dict):
            for key in ("content", "content_noencode"):
                text = clean(info.get(key))
                if text:
                    return text
        text = clean(text_of(tree.css_first("#js_text_desc"))) or data.first("msg_title")
        if text:
            return text
        metas = meta_tags(tree)  # 2026: some keep the text only in their og: tags
        return metas.get("og:description") or metas.get("og:title")
    if show_type == 8:
        text = data.obj_text("content_noencode")
        if text:
            return text
        notice = tree.css_first(".share_notice")
        if notice is not None:  # 2018: document.write("…") inside p.share_notice
            written = script_string(notice, "document.write(")
            if written:
                return written
            return clean(text_of(notice))
        return data.obj_text("desc") or data.first("msg_desc")
    return None


def _share_source(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("#js_share_source[data-url]")
    if node is None:
        return None
    return clean(node.attributes.get("data-url"))


def _share_url(data_url: str) -> str | None:
    parts = link_parts(url_value(data_url))
    return link_url(parts) or url_value(data_url)


def _share_body(tree: LexborHTMLParser, shared_url: str | None) -> str:
    notice_node = tree.css_first("#js_share_notice")
    notice = None
    if notice_node is not None:
        notice = script_string(notice_node, "innerHTML") or clean(text_of(notice_node))
    title = node_text(tree, "#original_panel_title") or node_text(tree, "#js_share_source")
    body = _paragraphs(notice)
    if shared_url:
        href = htmllib.escape(shared_url)
        body += f'<p><a href="{href}">{htmllib.escape(title or "阅读全文", quote=False)}</a></p>'
    return body


def _int(value: Any) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value.isascii() and value.isdigit() and len(value) <= 9:
            return int(value)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**9:
        return value
    return None
