"""An archived article's Markdown as safe HTML for reading in the browser.

The Markdown is rendered by markdown-it-py (CommonMark + GFM tables and
strikethrough) with raw HTML disabled, so any `<script>` or `<img onerror=…>`
in a body is shown as text. On top of that every link and image is checked here:

- images stored in the archive (`../../../images/ab/ab….png`, relative to the
  article's .md file) are served from the archive's static images path;
- any other image (a remote mmbiz URL that was never downloaded) is NOT loaded:
  it becomes a link (http/https) or a plain note, so reading an article makes
  no request to WeChat;
- links keep only http, https and mailto URLs and relative/fragment links
  (markdown-it already refuses javascript:, vbscript:, file: and data: links);
  links to articles that are themselves archived point at their archived copy.

The page that shows the result also sends a Content-Security-Policy that
forbids scripts, as a second line of defence.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from archive.schemes import LINK_SCHEMES

_STORED_IMAGE = re.compile(r"images/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{2,5}")
_RELATIVE_IMAGE = re.compile(r"(?:\.\./|\./)*(images/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{2,5})")
_SAFE_DATA_IMAGE = re.compile(r"data:image/(?:gif|png|jpeg|webp);", re.IGNORECASE)
REMOTE_REL = "noopener noreferrer nofollow"


def stored_image_path(src: str | None, md_path: str | None) -> str | None:
    """`images/<sha[:2]>/<sha>.<ext>` when `src` points at an image stored in the archive.

    `src` is relative to the article's Markdown file (`md_path`, relative to the
    archive root); without md_path a leading run of `../` is accepted as is.
    Anything with a scheme or host, an absolute path, or a path that does not
    land on a content-addressed image file gives None.
    """
    if not src:
        return None
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or parts.query:
        return None
    path = unquote(parts.path)
    if not path or path.startswith("/") or "\\" in path:
        return None
    if md_path:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(md_path), path))
        if _STORED_IMAGE.fullmatch(resolved):
            return resolved
    match = _RELATIVE_IMAGE.fullmatch(path)
    return match.group(1) if match else None


def safe_href(href: str | None) -> str | None:
    """`href` when it is an http(s)/mailto URL or a relative/fragment link, else None."""
    if not href:
        return None
    if any(ord(ch) < 0x20 or ch.isspace() for ch in href):
        return None
    parts = urlsplit(href)
    if parts.scheme:
        return href if parts.scheme.lower() in LINK_SCHEMES else None
    if href.startswith("//"):  # scheme-relative: treat as remote https
        return "https:" + href
    return href


def _is_remote(href: str) -> bool:
    return urlsplit(href).scheme.lower() in ("http", "https")


def _attrs(pairs: Sequence[tuple[str, str | None]]) -> str:
    return "".join(f' {name}="{escapeHtml(value)}"' for name, value in pairs if value is not None)


def _render_image(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    title = token.attrGet("title")
    title = str(title) if title else None
    stored = stored_image_path(src, env.get("md_path"))
    if stored is not None:
        url = env.get("image_base", "/images/") + stored.removeprefix("images/")
        return f'<img{_attrs([("src", url), ("alt", alt), ("title", title)])} loading="lazy">'
    if _SAFE_DATA_IMAGE.match(src):
        return f"<img{_attrs([('src', src), ('alt', alt), ('title', title)])}>"
    label = escapeHtml(f"[image not archived: {alt}]" if alt else "[image not archived]")
    href = safe_href(src)
    if href and _is_remote(href):
        pairs = [("class", "missing-image"), ("href", href), ("rel", REMOTE_REL)]
        return f"<a{_attrs(pairs)}>{label}</a>"
    return f'<span class="missing-image">{label}</span>'


def _render_link_open(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    archived = env.get("link_map", {}).get(href)
    pairs: list[tuple[str, str | None]]
    if archived:
        pairs = [("href", archived), ("class", "archived-link"), ("title", "archived copy")]
    else:
        safe = safe_href(href)
        pairs = [("href", safe)]
        if safe and _is_remote(safe):
            pairs.append(("rel", REMOTE_REL))
        title = token.attrGet("title")
        pairs.append(("title", str(title) if title else None))
    return f"<a{_attrs(pairs)}>"


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    return md


_MD = _markdown()


def normalize_link(url: str) -> str:
    """A URL as markdown-it stores it in a link token (to look links up by URL)."""
    return _MD.normalizeLink(url)


def render_markdown(
    markdown: str | None,
    *,
    md_path: str | None = None,
    image_base: str = "/images/",
    link_map: Mapping[str, str] | None = None,
) -> str:
    """Safe HTML for an article body (see the module docstring).

    `md_path`: the article file's path relative to the archive root (relative
    image links are resolved from its folder); `image_base`: the URL path the
    archive's images/ folder is served at; `link_map`: original URL → URL of
    the archived copy, for links to articles that are archived too.
    """
    links = {normalize_link(url): target for url, target in (link_map or {}).items()}
    env = {"md_path": md_path, "image_base": image_base, "link_map": links}
    return _MD.render(markdown or "", env)


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_MARKUP = re.compile(r"(?m)^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+|\|)|\*+|`+|~~|\|")


def plain_preview(markdown: str | None, length: int = 120) -> str:
    """The first `length` characters of a body as plain text (no Markdown markup)."""
    text = _MD_IMAGE.sub(r"\1", markdown or "")
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKUP.sub(" ", text)
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    return text[:length].rstrip() + "…"
