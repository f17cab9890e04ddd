"""Article body HTML → CommonMark (+ GFM tables), the way a reader would want it.

Two stages, both pure (no I/O):

1. `_preclean` (selectolax/lexbor, fast): drop scripts, styles and editor markers, resolve lazy
   images (`data-src`), turn `background-image:url(…)`, SVG `<image>`, `<embed>` formulas and
   stickers into `<img>`, unwrap the `<span leaf>`/`<span textstyle>`/`<font>` wrappers and
   the sections that only hold blocks, so the second stage walks a much smaller tree (and
   copies only the attributes it reads).
2. `_Converter`, one module-level `markdownify.MarkdownConverter` subclass fed the cleaned
   tree copied into `harvester.htmltree` (no serialising and re-parsing). It tracks
   `<pre>`/link/cell/heading context itself (upstream calls `find_parent('pre')` for every
   tag and text node) and writes *sentinels* (Unicode noncharacters, which never occur in real text)
   for everything whose final spelling depends on the neighbours: line kinds, `<br>`,
   bold/italic/strike markers, literal `*` `_` `~`, link and image brackets, code spans. `_finish`
   then resolves them line by line: emphasis nesting is flattened, empty runs dropped,
   punctuation/whitespace moved outside the markers until CommonMark's flanking rules make them
   render, touching runs kept apart (or merged where CommonMark cannot show them apart); a literal
   `*`/`_`/`~` is escaped only where it could pair with another delimiter; text that would start a
   block (`1. `, `# `, `>`, `---`…) is escaped only at the start of a line.

Links to other WeChat articles are rewritten with `harvester.links.parse_link`. Embeds (video,
audio, music, account cards, channel videos, mini programs, votes, products) become one line,
with a link wherever the embed carries one.
"""

from __future__ import annotations

import contextvars
import functools
import html
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from markdownify import MarkdownConverter
from selectolax.lexbor import LexborHTMLParser

from harvester.errors import InputError
from harvester.htmltree import Element, Text, from_lexbor
from harvester.links import parse_link

__all__ = [
    "BodyTemplate",
    "ConvertedBody",
    "convert_body",
    "convert_template",
    "html_to_markdown",
    "image_urls",
]

# --------------------------------------------------------------------------- sentinels
# Unicode noncharacters U+FDD0..U+FDEF: never in interchanged text, stripped from input.
LS = "\ufdd0"  # a line of inline text starts here (block-start escaping applies)
SL = "\ufdd1"  # a structural line (heading, table row): inline text, no block-start escaping
CL = "\ufdd2"  # a code line: verbatim
HR = "\ufdd3"  # a thematic break line
BR = "\ufdd4"  # <br> not yet resolved
HB = "\ufdd5"  # hard line break (a backslash at the end of the line)
S_O, S_C = "\ufdd6", "\ufdd7"  # strong
E_O, E_C = "\ufdd8", "\ufdd9"  # emphasis
D_O, D_C = "\ufdda", "\ufddb"  # strikethrough
STAR, UNDER, TILDE = "\ufddc", "\ufddd", "\ufdde"  # literal * _ ~ (escaped only if they could pair)
L_O, L_M, L_C = "\ufddf", "\ufde0", "\ufde1"  # link "[", "](", ")"
IM_O = "\ufde2"  # image "!["
C_O, C_C = "\ufde3", "\ufde4"  # code span boundaries (contents verbatim)
LB, RB = "\ufde8", "\ufde9"  # "[" "]" in link or alt text, escaped only if unbalanced
P_CODE, P_DEST = "\ufde5", "\ufde6"  # placeholders for protected code spans / link destinations

KINDS = LS + SL + CL + HR
OPENERS = {S_O: S_C, E_O: E_C, D_O: D_C}
CLOSERS = {v: k for k, v in OPENERS.items()}
MARKERS = frozenset(OPENERS) | frozenset(CLOSERS)
VISIBLE = {
    S_O: "*",
    S_C: "*",
    E_O: "*",
    E_C: "*",
    D_O: "~",
    D_C: "~",
    STAR: "*",
    UNDER: "_",
    TILDE: "~",
    L_O: "[",
    L_M: "]",
    L_C: ")",
    IM_O: "!",
    HB: "\\",
    P_CODE: "`",
    P_DEST: ")",
    C_O: "`",
    C_C: "`",
}
# Sentinels that are part of link/image syntax: never moved across emphasis markers.
STRUCTURAL = frozenset(L_O + L_M + L_C + IM_O + HB + P_DEST)

_SENTINEL_CHARS = "".join(chr(c) for c in range(0xFDD0, 0xFDF0))
_SENTINEL_SET = frozenset(_SENTINEL_CHARS)
_ZERO_WIDTH = "\u200b\u200c\u2060\ufeff\u180e\u00ad\u200e\u200f"
# Text nodes: drop sentinels and zero-width marks, NBSP and friends become spaces.
_TEXT_TABLE = str.maketrans(
    {
        **dict.fromkeys(map(ord, _SENTINEL_CHARS + _ZERO_WIDTH), None),
        **dict.fromkeys(map(ord, "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"), " "),
        **dict.fromkeys(map(ord, "\u2008\u2009\u200a\u202f\u205f"), " "),
    }
)
# Zero-width joiners glue emoji sequences together; anywhere else they are editor debris.
_STRAY_ZWJ = re.compile(r"\u200d(?![\U0001f000-\U0001faff\u2600-\u27bf\u2640\u2642\u2695])")
_WS = re.compile(r"[ \t\n\r\f\v]+")
_SPECIAL_TEXT = re.compile(f"[{_SENTINEL_CHARS}{_ZERO_WIDTH}\u200d\u00a0\u2000-\u200a\u202f\u205f]")

# --------------------------------------------------------------------------- stage 1: preclean

_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "mp-style-type",
    "head",
    "title",
    "meta",
    "link",
    "base",
    "object",
    "param",
    "canvas",
    "map",
    "mpcpc",
    "mp-common-cpsad",
    "mp-pay-preview-filter",
    "mpchecktext",
    "colgroup",
]
_UNWRAP_TAGS = ["span", "font", "label", "ne-text"]
# Attributes the converter reads; no other attribute is copied into its tree.
_KEEP_ATTRS = {
    "a": frozenset({"href"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan"}),
    "th": frozenset({"colspan"}),
    "pre": frozenset({"data-lang", "data-md-container"}),  # both set by _flatten_pre
    "code": frozenset({"data-lang", "data-language", "lang", "class"}),
    "ul": frozenset({"class"}),
    "iframe": frozenset({"src", "data-src", "class", "data-mpvid"}),
    "video": frozenset({"src", "poster"}),
    "audio": frozenset({"src"}),
    "source": frozenset({"src"}),
}
_NO_ATTRIBUTES: frozenset[str] = frozenset()
_BG_URL = re.compile(r"""background(?:-image)?\s*:[^;]*?url\(\s*(['"]?)(.*?)\1\s*\)""", re.I | re.S)
_IMAGE_EMBED_TYPES = ("svg", "image/", "png", "jpeg", "jpg", "gif", "webp")


def _image_src(attrs: dict) -> str:
    """The real URL of an <img>: lazy `data-src` first, then `src`, never a data: URI."""
    for key in ("data-src", "src", "data-original", "data-backsrc", "data-lazy-src"):
        value = (attrs.get(key) or "").strip()
        if value and not value.lower().startswith("data:"):
            return value
    return ""


def _new_img(tree: LexborHTMLParser, src: str, alt: str = ""):
    img = tree.create_node("img")
    img.attrs["src"] = src
    if alt:
        img.attrs["alt"] = alt
    return img


def _prepend(node, child) -> None:
    first = node.child
    if first is not None:
        first.insert_before(child)
    else:
        node.insert_child(child)


def _inside(node, tags: Iterable[str]) -> bool:
    tags = set(tags)
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


_PRE_CONTAINER_CSS = "table, h1, h2, h3, h4, h5, h6, blockquote, pre, li, figure"
_PRE_LINE_CSS = "div, p, section, li, tr, article"


def _flatten_pre(tree: LexborHTMLParser, pre) -> None:
    """Reduce a code <pre> to its text (one line per <code> child or <br>), with the language
    in data-lang and any images after it; mark layouts that merely sit in <pre> as containers."""
    if pre.parent is None:
        return
    own = pre.mem_id
    if any(n.mem_id != own for n in pre.css(_PRE_CONTAINER_CSS)) or (
        pre.css_first("img") is not None and not pre.text(deep=True).strip()
    ):
        pre.attrs["data-md-container"] = "1"
        return
    lang = _lexbor_language(pre)
    for br in pre.css("br"):
        br.replace_with("\n")
    for node in pre.css(_PRE_LINE_CSS):
        node.insert_after("\n")
    codes = [c for c in pre.iter() if c.tag == "code"]
    if len(codes) > 1:
        lines = []
        for child in pre.iter():
            text = child.text(deep=True)
            if child.tag == "code" or text.strip():
                lines.append(text.rstrip("\n"))
        text = "\n".join(lines)
    else:
        text = pre.text(deep=True)
    images = [img for img in pre.css("img")]
    for img in reversed(images):
        pre.insert_after(img)
    for child in list(pre.iter(include_text=True)):
        child.decompose()
    for key in list(pre.attributes):
        del pre.attrs[key]
    if lang:
        pre.attrs["data-lang"] = lang
    if text:
        pre.insert_child(text)


def _lexbor_language(pre) -> str:
    nodes = [pre, *[c for c in pre.iter() if c.tag == "code"][:1]]
    for node in nodes:
        attrs = node.attributes
        for key in ("data-lang", "data-language", "lang"):
            value = (attrs.get(key) or "").strip()
            if value and _SAFE_LANG.fullmatch(value):
                return value.lower()
        for cls in (attrs.get("class") or "").split():
            m = _LANG_CLASS.search(cls)
            if m and m.group(1).lower() not in _NOT_LANGS and _SAFE_LANG.fullmatch(m.group(1)):
                return m.group(1).lower()
    return ""


def _preclean(body_html: str):
    """Parse and normalise a body fragment; returns (tree, root node)."""
    tree = LexborHTMLParser(body_html)
    root = tree.body
    if root is None:
        return tree, None
    for node in root.css(",".join(_DROP_TAGS) + ",[hidden]"):
        node.decompose()

    # Lazy images: the converter and image_urls() only ever look at src.
    for img in root.css("img"):
        attrs = img.attributes
        src = _image_src(attrs)
        if not src:
            img.decompose()
            continue
        alt = (attrs.get("alt") or "").strip()
        for key in list(attrs):
            del img.attrs[key]
        img.attrs["src"] = src
        if alt:
            img.attrs["alt"] = alt

    # SVG layouts: <image href> become images next to the SVG (its text stays where it is).
    for image in root.css("image"):
        attrs = image.attributes
        src = (attrs.get("href") or attrs.get("xlink:href") or "").strip()
        if src and not src.lower().startswith("data:"):
            svg = image.parent
            while svg is not None and svg.tag != "svg":
                svg = svg.parent
            (svg or image).insert_before(_new_img(tree, src))
        image.decompose()

    # <embed src="…svg"> formulas (alt = the LaTeX the editor kept) and emoji stickers.
    for embed in root.css("embed"):
        attrs = embed.attributes
        src = (attrs.get("src") or attrs.get("data-src") or "").strip()
        kind = (attrs.get("data-type") or "").lower()
        if (
            src
            and not src.lower().startswith("data:")
            and (any(t in kind for t in _IMAGE_EMBED_TYPES) or "mmbiz" in src)
        ):
            formula = ""
            parent = embed.parent
            for _ in range(3):
                if parent is None:
                    break
                formula = parent.attributes.get("data-formula") or ""
                if formula:
                    break
                parent = parent.parent
            embed.insert_before(_new_img(tree, src, " ".join(formula.split())))
        embed.decompose()
    for sticker in root.css("mp-common-sticker"):
        src = (sticker.attributes.get("data-emoji_url") or "").strip()
        if src and not src.lower().startswith("data:"):
            sticker.insert_before(_new_img(tree, src))
        sticker.decompose()

    # background-image:url(…) (and WeChat's lazy data-lazy-bgimg) become an image inside the
    # element, before its content. The mdnice window-dots decoration inside <pre> is skipped.
    for node in root.css('[style*="url("], [data-lazy-bgimg]'):
        if node.tag in ("pre", "code") or _inside(node, ("pre", "code")):
            continue
        attrs = node.attributes
        urls = [m.group(2).strip() for m in _BG_URL.finditer(attrs.get("style") or "")]
        lazy = (attrs.get("data-lazy-bgimg") or "").strip()
        if lazy and not urls:
            urls = [lazy]
        for url in reversed(urls):
            url = html.unescape(url).strip().strip("'\"")
            if url and not url.lower().startswith("data:"):
                _prepend(node, _new_img(tree, url))

    # WeChat code snippets: the line-number gutter is a <ul> of empty <li>.
    for gutter in root.css(
        'ul[class*="line-index"], ul[class*="linenums"], .code-snippet__line-index'
    ):
        gutter.decompose()

    for pre in root.css("pre"):
        _flatten_pre(tree, pre)

    # A heading shows only text: the paragraphs an editor put in one are runs of it.
    for para in root.css("h1 p, h2 p, h3 p, h4 p, h5 p, h6 p"):
        para.insert_after(" ")
        para.unwrap()

    root.unwrap_tags(_UNWRAP_TAGS, delete_empty=True)

    # Editors nest <section> ten deep. A wrapper holding only blocks adds nothing to the
    # Markdown, so drop it here rather than copy it into the converter's tree.
    for node in root.css("section, div"):
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                if (child.text_content or "").strip():
                    break
            elif tag != "-comment" and tag not in _BLOCK_TAGS:
                break
        else:
            node.unwrap()
    return tree, root


def _kept_attributes(tag: str) -> frozenset[str] | None:
    """The attributes the converter reads on a tag (None: all, for images and embeds)."""
    if tag == "img" or tag.startswith(("mp", "qqmusic")):
        return None
    return _KEEP_ATTRS.get(tag, _NO_ATTRIBUTES)


def _as_text(body_html: object) -> str:
    if isinstance(body_html, str):
        return body_html
    if isinstance(body_html, bytes | bytearray):
        return bytes(body_html).decode("utf-8", errors="replace")
    return "" if body_html is None else str(body_html)


def image_urls(body_html: str) -> list[str]:
    """Every image URL in the body, in order, once each: img data-src/src, background-image
    url(…) in style attributes, SVG <image>, formula <embed> and stickers; never data: URIs."""
    try:
        _tree, root = _preclean(_as_text(body_html))
    except Exception:
        return []
    return [] if root is None else _image_srcs(root)


def _image_srcs(root) -> list[str]:
    return list(dict.fromkeys(src for img in root.css("img") if (src := img.attributes.get("src"))))


# --------------------------------------------------------------------------- stage 2: converter

_IMAGE_MAP: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "image_map", default=None
)

# Wrappers whose Markdown is just their content as paragraphs.
_WRAPPERS = frozenset(
    [
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "center",
        "address",
        "details",
        "summary",
        "form",
        "fieldset",
        "dl",
        "dt",
        "dd",
        "ne-p",
        "ne-card",
        "ne-quote",
        "ne-uli",
        "ne-oli",
        "textarea",
        "html",
        "body",
    ]
)
_BLOCK_TAGS = (_WRAPPERS - {"html", "body"}) | frozenset(
    [
        "audio",
        "blockquote",
        "caption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "iframe",
        "li",
        "mp-common-clmusic",
        "mp-common-miniprogram",
        "mp-common-mpaudio",
        "mp-common-product",
        "mp-common-profile",
        "mp-common-qqmusic",
        "mp-common-videosnap",
        "mp-common-vote",
        "mp-miniprogram",
        "mpprofile",
        "mpvideosnap",
        "mpvoice",
        "ne-h1",
        "ne-h2",
        "ne-h3",
        "ne-h4",
        "ne-h5",
        "ne-h6",
        "ol",
        "p",
        "pre",
        "qqmusic",
        "table",
        "ul",
        "video",
    ]
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)} | {f"ne-h{n}": n for n in range(1, 7)}
_CONTEXT_TAGS = frozenset({"a", "td", "th"}) | frozenset(_HEADINGS)
_SKIP = frozenset(_DROP_TAGS) | {"col", "input"}
_CODE_TAGS = frozenset({"code", "kbd", "samp", "tt"})
_HEADING_BREAKERS = frozenset(
    [
        "ul",
        "ol",
        "table",
        "pre",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    ]
)
_MEDIA = frozenset({"img", "iframe"})


def _has_descendant(el: Element, names: frozenset[str]) -> bool:
    return any(d.name in names for d in el.descendants if isinstance(d, Element))


_CODE_BLOCKISH = frozenset({"div", "p", "section", "li", "tr", "article", "ne-p"})

_BR_RUN = re.compile(rf"[ ]*(?:{BR}[ ]*)+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_KIND_RE = re.compile(f"[{KINDS}]")
_CONTENT_CHAR = re.compile(rf"[^\s{_SENTINEL_CHARS}]")
_LANG_CLASS = re.compile(r"(?:^|\s)(?:language|lang|code-snippet_{1,2})-?([A-Za-z0-9_+#.-]+)")
_NOT_LANGS = frozenset({"fix", "nowrap", "line-index", "outer", "custom", "hljs", "none", "plain"})
_SAFE_LANG = re.compile(r"[A-Za-z0-9_+#.-]{1,30}")
_BACKTICKS = re.compile(r"`+")

_ESCAPE = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~]")
_ESCAPE_LINK = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~\[\]]")
_ESCAPE_CELL = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~|]")
_ESCAPE_CELL_LINK = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~|\[\]]"
)
_ESCAPES = {
    "\\": "\\\\",
    "`": "&#96;",
    "<": "&lt;",
    "&": "\\&",
    "*": STAR,
    "_": UNDER,
    "~": TILDE,
    "[": LB,
    "]": RB,
    "|": "\\|",
}


def _brackets(text: str) -> str:
    """Brackets in link text or alt text: kept as they are when balanced (and not "]("),
    escaped otherwise, so the link still ends where it should."""
    if LB not in text and RB not in text:
        return text
    depth = 0
    for ch in text:
        if ch == LB:
            depth += 1
        elif ch == RB:
            depth -= 1
            if depth < 0:
                break
    if depth == 0 and RB + "(" not in text:
        return text.replace(LB, "[").replace(RB, "]")
    return text.replace(LB, "\\[").replace(RB, "\\]")


def _escape_repl(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(0)]


def _escape_text(text: str, link: bool = False, cell: bool = False) -> str:
    if cell:
        pattern = _ESCAPE_CELL_LINK if link else _ESCAPE_CELL
    else:
        pattern = _ESCAPE_LINK if link else _ESCAPE
    return pattern.sub(_escape_repl, text)


def _clean_text(text: str) -> str:
    """Visible text of an attribute or text node: no sentinels, zero-width marks or NBSP runs."""
    if _SPECIAL_TEXT.search(text) is not None:
        text = _STRAY_ZWJ.sub("", text.translate(_TEXT_TABLE))
    return _WS.sub(" ", text)


def _has_content(text: str) -> bool:
    return _CONTENT_CHAR.search(text) is not None


_URL_JUNK = re.compile(f"[\x00-\x1f\x7f{_SENTINEL_CHARS}{_ZERO_WIDTH}\u200d]")


@functools.lru_cache(maxsize=4096)
def _article_url(url: str) -> str:
    """Links to other WeChat articles point at the article's canonical URL."""
    try:
        return parse_link(url).url
    except InputError:  # LinkError: an album, profile or other page that is not an article
        return url
    except Exception:  # a link parse_link chokes on stays as written; conversion goes on
        return url


def _dest(url: str) -> str:
    """A link destination CommonMark parses back to the same URL."""
    url = _URL_JUNK.sub("", url).strip()
    url = (
        url.replace("\\", "%5C")
        .replace(" ", "%20")
        .replace("<", "%3C")
        .replace(">", "%3E")
        .replace("|", "%7C")
        .replace("(", "\\(")
        .replace(")", "\\)")
    )
    return re.sub(r"&(?=#?\w+;)", r"\\&", url)


def _link(text: str, url: str) -> str:
    return L_O + text + L_M + _dest(url) + L_C


def _absolute(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("/"):
        return "https://mp.weixin.qq.com" + url
    return url


def _wrap_segments(text: str, opener: str, closer: str) -> str:
    """Put opener/closer around every inline piece of `text` (split at <br> and block lines)."""

    def wrap_inline(run: str) -> str:
        if BR not in run:
            return opener + run + closer if run.strip() else run
        return BR.join(opener + p + closer if p.strip() else p for p in run.split(BR))

    if "\n" not in text:
        return wrap_inline(text)
    out = []
    for line in text.split("\n"):
        m = _KIND_RE.search(line)
        if m is None:
            out.append(wrap_inline(line))
        elif line[m.start()] == LS:
            start = m.end()
            end = len(line) - 1 if line.endswith(HB) else len(line)
            body = line[start:end]
            out.append(
                line[:start] + (opener + body + closer if body.strip() else body) + line[end:]
            )
        else:
            out.append(line)
    return "\n".join(out)


def _link_segments(text: str, url: str) -> str:
    """A link around every inline piece of `text` (links cannot span blocks)."""
    dest = L_M + _dest(url) + L_C

    def one(run: str) -> str:
        stripped = run.strip(" ")
        if not _has_content(stripped):
            return run
        lead = " " if run.startswith(" ") else ""
        trail = " " if run.endswith(" ") else ""
        return lead + L_O + stripped + dest + trail

    def inline(run: str) -> str:
        if BR not in run:
            return one(run)
        return BR.join(one(p) for p in run.split(BR))

    if "\n" not in text:
        return inline(text)
    out = []
    for line in text.split("\n"):
        m = _KIND_RE.search(line)
        if m is None:
            out.append(inline(line))
        elif line[m.start()] == LS:
            start = m.end()
            end = len(line) - 1 if line.endswith(HB) else len(line)
            out.append(line[:start] + one(line[start:end]) + line[end:])
        elif heading := _HEADING_LINE.match(line, m.end()):
            out.append(line[: heading.end()] + one(line[heading.end() :]))
        else:
            out.append(line)
    return "\n".join(out)


_HEADING_LINE = re.compile(r"#{1,6} ")
# An image, or a linked image, inside a heading: it moves to a line of its own.
_HEADING_IMAGE = re.compile(
    rf"{L_O}{IM_O}[^{L_M}]*{L_M}[^{L_C}]*{L_C}{L_M}[^{L_C}]*{L_C}|{IM_O}[^{L_M}]*{L_M}[^{L_C}]*{L_C}"
)


def _resolve_breaks(text: str) -> str:
    """<br> runs: one → hard break, two or more → paragraph break, at a block edge → nothing."""
    if BR not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        start, end = m.start(), m.end()
        if start == 0 or end == len(text) or text[start - 1] == "\n" or text[end] == "\n":
            return ""
        return "\n\n" if m.group(0).count(BR) > 1 else HB + "\n"

    return _BR_RUN.sub(repl, text)


def _block(text: str) -> str:
    """Finish the content of a block: resolve <br>, mark inline lines, collapse blank runs."""
    if "\n" not in text and BR not in text:
        text = text.strip(" ")
        return LS + text if text else ""
    text = _resolve_breaks(text)
    out = []
    for line in text.split("\n"):
        if _KIND_RE.search(line) is None:
            line = line.strip(" ")
            if line:
                line = LS + line
        out.append(line)
    text = "\n".join(out)
    return (_BLANK_RUNS.sub("\n\n", text) if "\n\n\n" in text else text).strip("\n")


def _code_language(pre: Element, code: Element | None) -> str:
    for el in (pre, code):
        if el is None:
            continue
        for key in ("data-lang", "data-language", "lang"):
            value = (el.get(key) or "").strip()
            if value and _SAFE_LANG.fullmatch(value):
                return value.lower()
        classes = el.get("class") or []
        if isinstance(classes, str):
            classes = classes.split()
        for cls in classes:
            m = _LANG_CLASS.search(cls)
            if m and m.group(1).lower() not in _NOT_LANGS and _SAFE_LANG.fullmatch(m.group(1)):
                return m.group(1).lower()
    return ""


def _code_text(el: Element) -> str:
    """Text of a code element: <br> and block boundaries are newlines, NBSP are spaces."""
    parts: list[str] = []

    def walk(node: Element) -> None:
        for child in node.contents:
            if isinstance(child, Text):
                parts.append(str(child))
                continue
            name = child.name
            if name == "br":
                parts.append("\n")
            elif name in _SKIP or name in ("svg", "img"):
                continue
            elif name in _CODE_BLOCKISH:
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
                walk(child)
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
            else:
                walk(child)

    walk(el)
    text = "".join(parts)
    text = _STRAY_ZWJ.sub("", text.translate(_TEXT_TABLE))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _clean_code(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out)


def _code_span(text: str, cell: bool) -> str:
    text = " ".join(text.split("\n")).strip(" ")
    if not text.strip():
        return ""
    if cell:
        text = text.replace("|", "\\|")
    return C_O + text + C_C  # the fence is chosen when the line is finished


def _fence_code(text: str, touching_emphasis: bool) -> str:
    """A code span around `text`: one backtick more than its longest run, two when it is the
    whole of a bold run ("**``x``**" renders the same as "**`x`**" but does not read as
    "****" to tools that set code aside)."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1 if longest or not touching_emphasis else 2)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return fence + text + fence


def _pipe_table(rows: list[list[str]]) -> str:
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    keep = [i for i in range(width) if any(_has_content(r[i]) for r in rows)] or [0]
    lines = []
    for n, row in enumerate(rows):
        lines.append(SL + "| " + " | ".join(row[i] for i in keep) + " |")
        if n == 0:
            lines.append(SL + "|" + "|".join([" --- "] * len(keep)) + "|")
    return "\n".join(lines)


def _fenced(text: str, lang: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [CL + fence + lang] + [CL + line for line in text.split("\n")] + [CL + fence]
    return "\n\n" + "\n".join(lines) + "\n\n"


class _Converter(MarkdownConverter):
    """markdownify with WeChat rules; one instance is shared (per-call state lives in a
    ContextVar), so it must not keep state on self while converting."""

    class Options(MarkdownConverter.DefaultOptions):
        heading_style = "atx"
        bullets = "-"
        escape_asterisks = False
        escape_underscores = False
        escape_misc = False
        strip_document = None

    # ---------------------------------------------------------------- traversal

    def convert_soup(self, tree):  # markdownify's name for its entry point
        return self.process_tag(tree, parent_tags=frozenset())

    def process_tag(self, node, parent_tags=None):
        if parent_tags is None:
            parent_tags = frozenset()
        name = node.name or ""
        if name in _SKIP:
            return ""
        if name == "pre":
            return self._pre(node, parent_tags)
        if name in _CODE_TAGS:
            return self._code(node, parent_tags)
        if name == "table":
            return self._table(node, parent_tags)
        if name in ("ul", "ol"):
            self._number_items(node)
        elif name in _HEADINGS and _has_descendant(node, _HEADING_BREAKERS):
            # A "heading" wrapping lists or quotes is an editor accident, not a heading.
            return self._as_wrapper(node, parent_tags)

        child_tags = parent_tags
        if name in _CONTEXT_TAGS:
            child_tags = parent_tags | {name, "_inline"} if name != "a" else parent_tags | {"a"}

        parts = []
        inline_child = False
        for child in node.contents:
            if isinstance(child, Text):
                text = self.process_text(child, child_tags)
                if text.strip():
                    inline_child = True
                    if name in ("ul", "ol"):
                        text = "\n" + text + "\n"
                parts.append(text)
            elif isinstance(child, Element):
                if child.name not in _BLOCK_TAGS:
                    inline_child = True
                part = self.process_tag(child, child_tags)
                if name in ("ul", "ol") and child.name != "li" and part.strip():
                    part = "\n" + part + "\n"  # stray content in a list: its own line
                parts.append(part)
        text = "".join(parts)

        if name in _WRAPPERS:
            if "_inline" in parent_tags:
                return " " + text.strip() + " "
            if not inline_child:
                return text
            body = _block(text)
            return "\n\n" + body + "\n\n" if body else ""

        convert_fn = self.get_conv_fn_cached(name)
        if convert_fn is not None:
            return convert_fn(node, text, parent_tags=parent_tags)
        return text

    def process_text(self, el, parent_tags=None):
        text = _clean_text(str(el))
        if not text.strip():
            return " " if text else ""
        tags = parent_tags or ()
        return _escape_text(text, link="a" in tags, cell="td" in tags or "th" in tags)

    def convert__document_(self, el, text, parent_tags):
        return _block(text)

    # ---------------------------------------------------------------- blocks

    def convert_p(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        return "\n\n" + body + "\n\n" if _has_content(body) else ""

    def convert_blockquote(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not _has_content(body):
            return ""
        lines = [("> " + line) if line else (">" + SL) for line in body.split("\n")]
        return "\n\n" + "\n".join(lines) + "\n\n"

    def convert_hN(self, n, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        return self._heading(n, text)

    def _heading(self, n: int, text: str) -> str:
        text = _KIND_RE.sub(" ", text.replace("\n", " ").replace(S_O, "").replace(S_C, ""))
        text = text.replace(BR, " ").replace(HB, " ")
        before: list[str] = []
        after: list[str] = []
        pieces: list[str] = []
        pos = 0
        for m in _HEADING_IMAGE.finditer(text):
            chunk = text[pos : m.start()]
            pieces.append(chunk)
            seen_text = _has_content("".join(pieces))
            (after if seen_text else before).append(m.group(0))
            pos = m.end()
        pieces.append(text[pos:])
        title = " ".join("".join(pieces).split())
        if not _has_content(title):
            title = ""
        # Exposed "#" at the end would be read as a closing sequence.
        title = re.sub(r"(^|\s)(#+)$", r"\1\\\2", title)
        blocks = [LS + img for img in before]
        if title:
            blocks.append(SL + "#" * n + " " + title)
        blocks += [LS + img for img in after]
        return "\n\n" + "\n\n".join(blocks) + "\n\n" if blocks else ""

    def convert_hr(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        return "\n\n" + HR + "\n\n"

    def convert_br(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        return BR

    # ---------------------------------------------------------------- lists

    def _number_items(self, node: Element) -> None:
        """Give every <li> of this list its marker, counting only items that have content."""
        alternate = False
        visible = (n for n in node.previous_siblings if not (isinstance(n, Text) and not n.strip()))
        prev = next(visible, None)
        if isinstance(prev, Element) and prev.name == node.name:
            alternate = True
        if node.name == "ol":
            try:
                number = int(str(node.get("start") or "1").strip())
            except ValueError:
                number = 1
            number = min(max(number, 0), 999_999_999)
            delimiter = ")" if alternate else "."
        else:
            number = 0
            delimiter = ""
        bullet = "*" if alternate else "-"
        for li in node.contents:
            if not isinstance(li, Element) or li.name != "li":
                continue
            if node.name == "ol":
                li.attrs["data-md-bullet"] = f"{number}{delimiter} "
                if li.get_text().strip() or _has_descendant(li, _MEDIA):
                    number += 1
            else:
                li.attrs["data-md-bullet"] = bullet + " "

    def convert_li(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not _has_content(body):
            return ""
        bullet = el.attrs.get("data-md-bullet") or "- "
        indent = " " * len(bullet)
        lines = body.split("\n")
        out = "\n".join([bullet + lines[0]] + [indent + line if line else "" for line in lines[1:]])
        if el.parent is None or el.parent.name not in ("ul", "ol"):
            return "\n\n" + out + "\n\n"  # a stray <li> is a block of its own
        # Items of one paragraph stay tight; an item of several blocks gets blank lines around.
        return "\n" + out + "\n\n" if "\n\n" in body else out + "\n"

    def _list(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not _has_content(body):
            return ""
        parent = el.parent
        if parent is not None and parent.name == "li" and re.match(r"(?:[-*]|1[.)]) ", body):
            # A nested list that may interrupt its item's first paragraph stays tight.
            return "\n" + body + "\n"
        return "\n\n" + body + "\n\n"

    convert_ul = _list
    convert_ol = _list

    # ---------------------------------------------------------------- inline

    def convert_strong(self, el, text, parent_tags):
        return _wrap_segments(text, S_O, S_C)

    convert_b = convert_strong

    def convert_em(self, el, text, parent_tags):
        return _wrap_segments(text, E_O, E_C)

    convert_i = convert_em
    convert_cite = convert_em
    convert_dfn = convert_em

    def convert_del(self, el, text, parent_tags):
        return _wrap_segments(text, D_O, D_C)

    convert_s = convert_del
    convert_strike = convert_del

    def _passthrough(self, el, text, parent_tags):
        return text

    convert_sup = _passthrough
    convert_sub = _passthrough
    convert_q = _passthrough
    convert_u = _passthrough
    convert_ins = _passthrough
    convert_mark = _passthrough
    convert_small = _passthrough
    convert_big = _passthrough
    convert_abbr = _passthrough
    convert_svg = _passthrough

    def convert_a(self, el, text, parent_tags):
        text = _brackets(text)
        href = (el.get("href") or "").strip()
        lowered = href.lower()
        if not href or href.startswith("#") or lowered.startswith(("javascript:", "data:")):
            return text
        url = _absolute(href)
        if "mp.weixin.qq.com" in url.lower():
            url = _article_url(url)
        if not _has_content(text):
            return text
        if "_inline" in parent_tags or "\n" not in text:
            return _link_segments(text.replace("\n", " "), url)
        return _link_segments(text, url)

    def convert_img(self, el, text, parent_tags):
        src = (el.get("src") or "").strip()
        if not src or src.lower().startswith("data:"):
            return ""
        mapping = _IMAGE_MAP.get()
        if mapping is not None:
            src = mapping.get(src, src)
        alt = _brackets(_escape_text(_clean_text(el.get("alt") or "").strip(), link=True))
        return IM_O + alt + L_M + _dest(src) + L_C

    # ---------------------------------------------------------------- code

    def _code(self, node: Element, parent_tags) -> str:
        raw = _code_text(node)
        cell = "td" in parent_tags or "th" in parent_tags
        if "\n" in raw.strip() and "_inline" not in parent_tags and "a" not in parent_tags:
            code = _clean_code(raw)
            return _fenced(code, _code_language(node, None)) if code.strip() else ""
        span = _code_span(raw, cell)
        if not span:
            return " " if raw else ""
        lead = " " if raw[:1].isspace() else ""
        trail = " " if raw[-1:].isspace() else ""
        return lead + span + trail

    def _pre(self, node: Element, parent_tags) -> str:
        if node.get("data-md-container"):
            # Not code: a layout that happens to sit in <pre> (a pasted page, an image).
            return self._as_wrapper(node, parent_tags)
        code = _clean_code(_code_text(node))
        if not code.strip():
            return ""
        if "_inline" in parent_tags:
            return " " + _code_span(code, "td" in parent_tags or "th" in parent_tags) + " "
        return _fenced(code, node.get("data-lang") or "")

    def _as_wrapper(self, node: Element, parent_tags) -> str:
        parts = []
        for child in node.contents:
            if isinstance(child, Text):
                parts.append(self.process_text(child, parent_tags))
            elif isinstance(child, Element):
                parts.append(self.process_tag(child, parent_tags))
        text = "".join(parts)
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        return "\n\n" + body + "\n\n" if body else ""

    # ---------------------------------------------------------------- tables

    def _table(self, node: Element, parent_tags) -> str:
        """GFM pipe table, first row as header. A cell can hold only one line, so lists in a
        cell (layout tables) follow their row: the table is cut after that row and the
        lists come next, keeping every item a list item and the reading order intact."""
        inline = "_inline" in parent_tags
        cell_tags = parent_tags | {"td", "_inline"}
        segments: list[tuple[list[list[str]], list[str]]] = []
        rows: list[list[str]] = []
        for tr in node.find_all("tr"):
            if tr.find_parent("table") is not node:
                continue
            row: list[str] = []
            after: list[str] = []
            for cell in tr.find_all(("td", "th"), recursive=False):
                if not inline:
                    for lst in cell.find_all(("ul", "ol")):
                        # Only this cell's own top-level lists (not nested ones, not a
                        # nested table's), and only those with something in them.
                        if lst.find_parent(("ul", "ol", "td", "th")) is not cell:
                            continue
                        if not lst.get_text().strip() and not _has_descendant(lst, _MEDIA):
                            continue
                        after.append(self.process_tag(lst, parent_tags))
                        lst.extract()
                row.append(self._cell(cell, cell_tags))
                try:
                    span = int(str(cell.get("colspan") or "1").strip())
                except ValueError:
                    span = 1
                row.extend([""] * (min(max(span, 1), 50) - 1))
            if any(_has_content(c) for c in row):
                rows.append(row)
            if after:
                segments.append((rows, after))
                rows = []
        if rows:
            segments.append((rows, []))
        caption = node.find("caption")
        caption_text = ""
        if caption is not None and caption.find_parent("table") is node:
            caption_text = self._cell(caption, cell_tags)
        if inline:
            flat = " ".join(" ".join(c for c in row if c) for rows, _ in segments for row in rows)
            return " " + " ".join(filter(None, [caption_text, flat])) + " "
        out = [LS + caption_text] if caption_text else []
        for rows, after in segments:
            if rows:
                out.append(_pipe_table(rows))
            out.extend(after)
        return "\n\n" + "\n\n".join(out) + "\n\n" if out else ""

    def _cell(self, cell: Element, cell_tags) -> str:
        parts = []
        for child in cell.contents:
            if isinstance(child, Text):
                parts.append(self.process_text(child, cell_tags))
            elif isinstance(child, Element):
                parts.append(self.process_tag(child, cell_tags))
        content = "".join(parts).replace("\n", " ")
        content = _KIND_RE.sub(" ", content).replace(BR, " ").replace(HB, " ")
        return " ".join(content.split())

    # ---------------------------------------------------------------- embeds

    def _embed_line(self, label: str, url: str | None, parent_tags) -> str:
        label = _brackets(_escape_text(_clean_text(label).strip(), link=bool(url)))
        if not label:
            return ""
        text = _link(label, url) if url else label
        if "_inline" in parent_tags:
            return " " + text + " "
        return "\n\n" + LS + text + "\n\n"

    def convert_iframe(self, el, text, parent_tags):
        src = _absolute(html.unescape(el.get("data-src") or el.get("src") or ""))
        classes = " ".join(el.get("class") or [])
        if not src.startswith(("http://", "https://")):
            return ""
        if "vote" in classes or "appmsgvote" in src:
            return self._embed_line("投票", src, parent_tags)
        parts = urlsplit(src)
        query = parse_qs(parts.query)
        if parts.hostname and parts.hostname.endswith("v.qq.com") and query.get("vid"):
            vid = query["vid"][0]
            if re.fullmatch(r"[A-Za-z0-9]+", vid):
                src = f"https://v.qq.com/x/page/{vid}.html"
        return self._embed_line("视频", src, parent_tags)

    def convert_video(self, el, text, parent_tags):
        return self._media_line("视频", el, text, parent_tags)

    def convert_audio(self, el, text, parent_tags):
        return self._media_line("音频", el, text, parent_tags)

    def _media_line(self, label, el, text, parent_tags):
        """`<video>`/`<audio>` (src or a `<source>`) as a linked line; its text without one."""
        src = el.get("src") or ""
        if not src:
            source = el.find("source")
            src = source.get("src") if source is not None else ""
        src = _absolute(src or "")
        if not src.startswith(("http://", "https://")):
            return text
        return self._embed_line(label, src, parent_tags)

    def convert_mpvoice(self, el, text, parent_tags):
        name = html.unescape(el.get("name") or "")
        fileid = (el.get("voice_encode_fileid") or "").strip()
        url = None
        if fileid:
            url = "https://res.wx.qq.com/voice/getvoice?mediaid=" + quote(fileid, safe="=")
        return self._embed_line(f"音频：{name}" if name.strip() else "音频", url, parent_tags)

    convert_mp_common_mpaudio = convert_mpvoice

    def convert_qqmusic(self, el, text, parent_tags):
        name = el.get("music_name") or el.get("musicname") or el.get("data-music_name") or ""
        singer = el.get("singer") or el.get("data-singer") or ""
        name, singer = html.unescape(unquote(name)), html.unescape(unquote(singer))
        mid = (el.get("mid") or el.get("otherid") or "").strip()
        label = "音乐：" + " – ".join(s for s in (name.strip(), singer.strip()) if s)
        if mid and re.fullmatch(r"[A-Za-z0-9]+", mid):
            url = f"https://y.qq.com/n/ryqq/songDetail/{mid}"
        else:
            terms = " ".join(s for s in (name.strip(), singer.strip()) if s)
            url = "https://y.qq.com/n/ryqq/search?w=" + quote(terms) if terms else None
        return self._embed_line(label if label != "音乐：" else "音乐", url, parent_tags)

    convert_mp_common_qqmusic = convert_qqmusic
    convert_mp_common_clmusic = convert_qqmusic

    def convert_mp_common_profile(self, el, text, parent_tags):
        nickname = html.unescape(el.get("data-nickname") or "").strip()
        biz = (el.get("data-id") or "").strip()
        url = None
        if biz and re.fullmatch(r"[A-Za-z0-9+/=_-]+", biz):
            url = f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={biz}#wechat_redirect"
        return self._embed_line(f"公众号：{nickname}" if nickname else "公众号", url, parent_tags)

    convert_mpprofile = convert_mp_common_profile

    def convert_mpvideosnap(self, el, text, parent_tags):
        nickname = html.unescape(el.get("data-nickname") or "").strip()
        desc = html.unescape(el.get("data-desc") or el.get("data-intro") or "").strip()
        live = (el.get("data-type") or "") == "live"
        label = ("视频号直播：" if live else "视频号：") + " – ".join(
            s for s in (nickname, desc) if s
        )
        url = _absolute(html.unescape(el.get("data-url") or ""))
        if not url.startswith(("http://", "https://")):
            url = None
        return self._embed_line(label, url, parent_tags)

    convert_mp_common_videosnap = convert_mpvideosnap

    def convert_mp_common_miniprogram(self, el, text, parent_tags):
        title = html.unescape(el.get("data-miniprogram-title") or "").strip()
        nickname = html.unescape(el.get("data-miniprogram-nickname") or "").strip()
        label = "小程序：" + " – ".join(s for s in (nickname, title) if s)
        return self._embed_line(label, None, parent_tags)

    convert_mp_miniprogram = convert_mp_common_miniprogram

    def convert_mp_common_vote(self, el, text, parent_tags):
        title = ""
        try:
            subject = json.loads(el.get("data-votesubject") or "[]")
            if subject and isinstance(subject, list) and isinstance(subject[0], dict):
                title = str(subject[0].get("title") or "")
        except ValueError:
            pass
        return self._embed_line(
            f"投票：{title.strip()}" if title.strip() else "投票", None, parent_tags
        )

    def convert_mp_common_product(self, el, text, parent_tags):
        title = html.unescape(el.get("data-title") or "").strip()
        return self._embed_line(f"商品：{title}" if title else "", None, parent_tags)


_CONVERTER = _Converter()

# --------------------------------------------------------------------------- stage 3: finish

_PUNCT_CACHE: dict[str, tuple[bool, bool, bool]] = {}


def _char_class(ch: str | None) -> tuple[bool, bool, bool]:
    """(whitespace, punctuation in every renderer (P + ASCII), punctuation in some (P or S))."""
    if ch is None:
        return (True, True, True)
    cached = _PUNCT_CACHE.get(ch)
    if cached is None:
        cat = unicodedata.category(ch)
        ws = ch in " \t\n\r\f\v" or cat == "Zs"
        ascii_punct = ch.isascii() and not ch.isalnum() and ch.isprintable() and ch != " "
        strict = ascii_punct or cat.startswith("P")
        cached = (ws, strict, strict or cat.startswith("S"))
        _PUNCT_CACHE[ch] = cached
    return cached


def _vis(chars: list[str], i: int) -> str | None:
    if i < 0 or i >= len(chars):
        return None
    ch = chars[i]
    return VISIBLE.get(ch, ch)


def _balance(s: str) -> str:
    """Flatten nested emphasis of one kind, drop unmatched closers, close what is left open,
    and keep different kinds properly nested."""
    stack: list[str] = []
    depth = dict.fromkeys(OPENERS, 0)
    out: list[str] = []
    for ch in s:
        if ch in OPENERS:
            depth[ch] += 1
            if depth[ch] == 1:
                stack.append(ch)
                out.append(ch)
        elif ch in CLOSERS:
            opener = CLOSERS[ch]
            if depth[opener] == 0:
                continue
            depth[opener] -= 1
            if depth[opener]:
                continue
            reopen = []
            while stack:
                top = stack.pop()
                out.append(OPENERS[top])
                if top == opener:
                    break
                reopen.append(top)
            for top in reversed(reopen):
                stack.append(top)
                out.append(top)
        else:
            out.append(ch)
    while stack:
        out.append(OPENERS[stack.pop()])
    return "".join(out)


_EMPTY = re.compile(rf"{S_O}(\s*){S_C}|{E_O}(\s*){E_C}|{D_O}(\s*){D_C}")
# Whitespace at the seam of two adjacent runs belongs between them, not inside either.
_SEAM_BEFORE = re.compile(rf"(\s+)({S_C}{S_O}|{E_C}{E_O})")
_SEAM_AFTER = re.compile(rf"({S_C}{S_O}|{E_C}{E_O})(\s+)")
_STRIKE_SEAM = re.compile(D_C + D_O)
# "<em><strong>x</strong></em>": strong outside, so adjacent strong runs stay one chain.
_STRONG_OUTSIDE = re.compile(rf"{E_O}{S_O}([^{S_O}{S_C}{E_O}{E_C}]*){S_C}{E_C}")
# Link and image destinations are protected as P_DEST by the time emphasis is resolved.
_LINK_IN_EMPHASIS = [
    (o, c, re.compile(rf"{o}{L_O}((?:[^{L_O}{P_DEST}]|{IM_O}[^{P_DEST}]*{P_DEST})*){P_DEST}{c}"))
    for o, c in OPENERS.items()
]
_IMAGE_IN_EMPHASIS = [
    re.compile(rf"{o}((?:\s*{IM_O}[^{P_DEST}]*{P_DEST})+\s*){c}") for o, c in OPENERS.items()
]


def _squash(s: str) -> str:
    """Drop empty runs, merge adjacent strikethrough, keep seam whitespace outside runs."""
    for _ in range(10):
        s, n1 = _EMPTY.subn(lambda m: m.group(m.lastindex) if m.lastindex else "", s)
        n2 = n3 = 0
        if D_O in s:
            s, n2 = _STRIKE_SEAM.subn("", s)
        if E_O in s and S_O in s:
            s, n3 = _STRONG_OUTSIDE.subn(rf"{S_O}{E_O}\1{E_C}{S_C}", s)
        s = _SEAM_BEFORE.sub(lambda m: m[2][0] + m[1] + m[2][1], s)
        s = _SEAM_AFTER.sub(lambda m: m[1][0] + m[2] + m[1][1], s)
        if not (n1 or n2 or n3):
            break
    return s


def _movable_punct(ch: str) -> bool:
    return ch not in _SENTINEL_SET and _char_class(ch)[2] and not ch.isspace()


def _has_text(s: str) -> bool:
    return any(not ch.isspace() and ch not in MARKERS for ch in s)


def _split_seams(s: str) -> str:
    """ "<b>1、</b><b>标题</b>": punctuation at the seam of two touching runs moves between
    them, so each run renders on its own without needing "__"."""
    for o, c in ((S_O, S_C), (E_O, E_C)):
        seam = c + o
        idx = s.find(seam)
        while idx != -1:
            before = s[idx - 1] if idx > 0 else ""
            after = s[idx + 2] if idx + 2 < len(s) else ""
            if before and _movable_punct(before):
                start = s.rfind(o, 0, idx)
                if start != -1 and _has_text(s[start + 1 : idx - 1]):
                    s = s[: idx - 1] + c + before + o + s[idx + 2 :]
            elif after and _movable_punct(after):
                end = s.find(c, idx + 3)
                if end != -1 and _has_text(s[idx + 3 : end]):
                    s = s[:idx] + c + after + o + s[idx + 3 :]
            idx = s.find(seam, idx + 1)
    return s


def _open_side_ok(ch: str | None) -> bool:
    """Can "__"/"_" open or close next to this outside character?"""
    ws, strict, _loose = _char_class(ch)
    return ws or strict


# Touching runs ("<b>单细胞</b><b>测序</b>") are the editor's, not the author's. Merging them
# reads best ("**单细胞测序**") but every merge removes a bold run the source had (about 3% of
# them in the mp_duty corpus); so they stay separate where CommonMark can show them separately
# (split at punctuation, else alternating ** and __), and merge only where it cannot.
# Set to False to always merge.
_SEPARATE_TOUCHING_RUNS = True

_CHAINS = [
    (o, c, main, alt, re.compile(f"(?:{o}[^{o}{c}]*{c})+"))
    for o, c, main, alt in ((S_O, S_C, "**", "__"), (E_O, E_C, "*", "_"))
]


def _emit(s: str) -> str:
    """Markers to text. Runs that touch ("<b>A</b><b>B</b>") alternate ** and __ so each
    still renders on its own (no "****"); where "__" cannot open or close, they merge."""
    s = s.replace(D_O, "~~").replace(D_C, "~~")
    if not _SEPARATE_TOUCHING_RUNS:
        s = s.replace(S_C + S_O, "").replace(E_C + E_O, "")
    for o, c, main, alt, chain_re in _CHAINS:
        if o not in s:
            continue

        def repl(m: re.Match[str], s=s, o=o, c=c, main=main, alt=alt) -> str:
            regions = m.group(0)[1:-1].split(c + o)
            n = len(regions)
            if n % 2 == 0:
                prev = VISIBLE.get(s[m.start() - 1], s[m.start() - 1]) if m.start() else None
                nxt = VISIBLE.get(s[m.end()], s[m.end()]) if m.end() < len(s) else None
                if _open_side_ok(nxt):
                    marks = [main, alt] * (n // 2)
                elif _open_side_ok(prev):
                    marks = [alt, main] * (n // 2)
                else:
                    regions[-2:] = [regions[-2] + regions[-1]]
                    n -= 1
            if n % 2 == 1:
                marks = [main if i % 2 == 0 else alt for i in range(n)]
            return "".join(
                mark + region + mark for mark, region in zip(marks, regions, strict=True)
            )

        s = chain_re.sub(repl, s)
    return s


def _fix_flanking(s: str) -> str:
    """Move whitespace and punctuation across emphasis markers until every opener run is
    left-flanking and every closer run right-flanking (for markdown-it and for cmark)."""
    chars = list(s)
    for _ in range(200):
        changed = False
        i = 0
        n = len(chars)
        while i < n:
            if chars[i] not in MARKERS:
                i += 1
                continue
            j = i
            while j < n and chars[j] in MARKERS:
                j += 1
            run = chars[i:j]
            has_open = any(c in OPENERS for c in run)
            has_close = any(c in CLOSERS for c in run)
            prev, nxt = _vis(chars, i - 1), _vis(chars, j)
            p_ws, p_strict, p_loose = _char_class(prev)
            n_ws, n_strict, n_loose = _char_class(nxt)
            bad_open = (
                has_open
                and not has_close
                and nxt is not None
                and (n_ws or (n_loose and not (p_ws or p_strict)))
                and chars[j] not in STRUCTURAL
            )
            bad_close = (
                has_close
                and not has_open
                and prev is not None
                and (p_ws or (p_loose and not (n_ws or n_strict)))
                and chars[i - 1] not in STRUCTURAL
            )
            if bad_open:  # "中**：x**": the punctuation goes before the opener
                chars.insert(i, chars.pop(j))
            elif bad_close:  # "**x。**中": the punctuation goes after the closer
                chars.insert(j - 1, chars.pop(i - 1))
            else:
                i = j
                continue
            changed = True
            i = j + 1
        if not changed:
            break
        s2 = _squash("".join(chars))
        chars = list(s2)
    return "".join(chars)


_MARKER_RE = re.compile(f"[{''.join(sorted(MARKERS))}]")
_OPENER_RE = re.compile(f"[{''.join(OPENERS)}]")


def _resolve_emphasis(s: str) -> str:
    if _OPENER_RE.search(s) is None:
        return _MARKER_RE.sub("", s)
    s = _squash(_balance(s))
    for o, c, pattern in _LINK_IN_EMPHASIS:
        s = pattern.sub(lambda m, o=o, c=c: f"{L_O}{o}{m[1]}{c}{P_DEST}", s)
    for pattern in _IMAGE_IN_EMPHASIS:
        s = pattern.sub(r"\1", s)
    s = _split_seams(_squash(s))
    if _OPENER_RE.search(s) is not None:
        s = _fix_flanking(s)
    return _emit(s)


_LITERALS = {STAR: "*", UNDER: "_", TILDE: "~"}
_LITERAL_RE = re.compile(f"[{STAR}{UNDER}{TILDE}]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


_LITERAL_RUN = re.compile(f"{STAR}+|{UNDER}+|{TILDE}+")
_VISIBLE_RUNS = {
    "*": re.compile(f"[*{STAR}]+"),
    "_": re.compile(f"[_{UNDER}]+"),
    "~": re.compile(f"[~{TILDE}]+"),
}


def _resolve_literals(s: str) -> str:
    """Literal * _ ~ stay as they are unless the run could open or close emphasis (or
    strikethrough) and another run of the same character on the line could pair with it."""
    if not _LITERAL_RE.search(s):
        return s
    runs = {ch: [len(r) for r in pattern.findall(s)] for ch, pattern in _VISIBLE_RUNS.items()}

    def repl(m: re.Match[str]) -> str:
        literal = _LITERALS[m.group(0)[0]]
        n = len(m.group(0))
        start, end = m.start(), m.end()
        # Strikethrough pairs only equal runs; emphasis pairs any two runs.
        partners = runs[literal].count(n) if literal == "~" else len(runs[literal])
        # A plain "****" or "____" still reads as empty emphasis: break such runs up.
        plain = "\\" + literal * n if n >= 4 and literal != "~" else literal * n
        if partners < 2:
            return plain
        prev = VISIBLE.get(s[start - 1], s[start - 1]) if start else None
        nxt = VISIBLE.get(s[end], s[end]) if end < len(s) else None
        p_ws, p_strict, p_loose = _char_class(prev)
        n_ws, n_strict, n_loose = _char_class(nxt)
        left = not n_ws and (not n_loose or p_ws or p_strict)
        right = not p_ws and (not p_loose or n_ws or n_strict)
        if literal == "_":
            can = (left and (not right or p_loose)) or (right and (not left or n_loose))
        else:
            can = left or right
        if not can:
            return plain
        if prev is not None and nxt is not None and _CJK.match(prev) and _CJK.match(nxt):
            return f"&#{ord(literal)};" * n  # "\*" between Chinese characters reads as noise
        return ("\\" + literal) * n

    return _LITERAL_RUN.sub(repl, s)


_LINE_START = [
    (re.compile(r"^(#{1,6})(?=[ \t]|$)"), r"\\\1"),
    (re.compile(r"^>"), r"\\>"),
    (re.compile(r"^([-+*])(?=[ \t]|$)"), r"\\\1"),
    (re.compile(r"^(\d{1,9})([.)])(?=[ \t]|$)"), r"\1\\\2"),
    (re.compile(r"^([-*_])(?=(?:[ \t]*\1){2,}[ \t]*$)"), r"\\\1"),
    (re.compile(r"^(=+[ \t]*)$"), r"\\\1"),
    (re.compile(r"^~~~"), r"\\~~~"),
    (re.compile(r"^\[(?=[^\]]*\]:)"), r"\\["),
]
_DELIMITER_ROW = re.compile(r"^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def _escape_line_start(s: str) -> str:
    first = s[:1]
    if not first or first not in "#>-+*0123456789=_~[|":
        return s
    for pattern, repl in _LINE_START:
        s2 = pattern.sub(repl, s, count=1)
        if s2 != s:
            return s2
    if "|" in s and _DELIMITER_ROW.match(s):
        return s.replace("|", "\\|")
    return s


_PROTECT = re.compile(rf"{C_O}[^{C_C}]*{C_C}|{L_M}[^{L_C}]*{L_C}")
# The character first, the look-behind after it: a pattern that starts with a plain
# character is searched for quickly, one that starts with a look-behind at every position.
_TRAILING_BRACKET = re.compile(r"\](?<!\\\])(?=\()")
_BANG_LINK = re.compile(rf"!(?<!\\!)(?={L_O})")
_STRUCT_TEXT = {L_O: "[", L_M: "](", L_C: ")", IM_O: "![", C_O: "", C_C: "", LB: "\\[", RB: "\\]"}
_STRUCT_RE = re.compile(f"[{''.join(_STRUCT_TEXT)}]")
_ANY_SENTINEL = re.compile(f"[{_SENTINEL_CHARS}]")


# Code spans as CommonMark reads them, and as a naive reader (```…``` then `…`) reads them.
_CODE_SPANS = re.compile(r"(?<![`\\])(`+)(?!`).*?(?<!`)\1(?!`)")
_CODE_NAIVE = re.compile(r"```.*?```|`[^`\n]*`")
_STAR_RUN = re.compile(r"(?<!\\)(?:\*{4,}|_{4,})")
_EMPTY_LOOKING = re.compile(r"(?<![*\\])\*\*\*\*(?!\*)|(?<![_\\])____(?!_)")
_EM_MARKERS = re.compile(f"[{E_O}{E_C}]")


def _looks_wrong(result: str) -> bool:
    """Four or more emphasis characters in a row outside code: crossed or code-only runs."""
    if "**" not in result and "__" not in result:
        return False
    return bool(
        _STAR_RUN.search(_CODE_SPANS.sub("C", result.replace("\\\\", "%")))
        or _EMPTY_LOOKING.search(_CODE_NAIVE.sub("", result))
    )


def _inline_line(content: str, line_start: bool) -> str:
    result = _inline_line_once(content, line_start)
    if _looks_wrong(result):
        # Crossed runs (<em>a<b>b</em>c</b>) or bold around bare code: drop italics, then all
        # emphasis, rather than write "****".
        result = _inline_line_once(_EM_MARKERS.sub("", content), line_start)
        if _looks_wrong(result):
            result = _inline_line_once(_MARKER_RE.sub("", content), line_start)
    return result


def _inline_line_once(content: str, line_start: bool) -> str:
    if _ANY_SENTINEL.search(content) is None:
        content = _TRAILING_BRACKET.sub(r"\\]", content).strip(" \t")
        return _escape_line_start(content) if line_start else content
    protected: list[str] = []

    def protect(m: re.Match[str]) -> str:
        protected.append(m.group(0))
        return P_CODE if m.group(0)[0] == C_O else P_DEST

    content = _PROTECT.sub(protect, content)
    content = _resolve_emphasis(content)
    content = _resolve_literals(content)
    content = _TRAILING_BRACKET.sub(r"\\]", content)
    content = _BANG_LINK.sub(r"\\!", content)
    hard_break = content.endswith(HB)
    content = content.replace(HB, "").strip(" \t")
    if line_start:
        content = _escape_line_start(content)
    if protected:
        it = iter(protected)

        def restore(m: re.Match[str]) -> str:
            if m.group(0) == P_DEST:
                return next(it)
            # Touching code spans ("<code>a</code><code>b</code>") are one span.
            text = "".join(next(it)[1:-1] for _ in m.group(0))
            start, end = m.start(), m.end()
            touching = (start and content[start - 1] in "*_") or (
                end < len(content) and content[end] in "*_"
            )
            return _fence_code(text, bool(touching))

        content = re.sub(f"{P_CODE}+|{P_DEST}", restore, content)
    content = _STRUCT_RE.sub(lambda m: _STRUCT_TEXT[m.group(0)], content)
    content = _LEFTOVER.sub("", content)
    if hard_break and content:
        content += HB
    return content


_LEFTOVER = re.compile(f"[{_SENTINEL_CHARS.replace(HB, '')}]")


def _finish(text: str) -> str:
    """Resolve every sentinel line by line and tidy blank lines, breaks and rules."""
    lines: list[str] = []
    kinds: list[str] = []
    for line in text.split("\n"):
        m = _KIND_RE.search(line)
        if m is None:
            clean = _LEFTOVER.sub("", line).replace(HB, "").rstrip()
            lines.append(clean if clean.strip() else "")
            kinds.append(SL if clean.strip() else "")
            continue
        k = m.start()
        prefix, kind, content = _LEFTOVER.sub("", line[:k]), line[k], line[k + 1 :]
        if kind == CL:
            lines.append((prefix + _LEFTOVER.sub("", content).replace(HB, "")).rstrip())
            kinds.append(CL if lines[-1] else "")
            continue
        if kind == HR:
            lines.append(prefix + "---")
            kinds.append(HR)
            continue
        content = _inline_line(content, kind == LS)
        if not content.replace(HB, "").strip():
            # Nothing left: keep a quote marker so the blockquote stays one, else a blank line.
            stub = prefix.rstrip()
            stub = stub[: stub.rfind(">") + 1] if ">" in stub else ""
            lines.append(stub)
            kinds.append(SL if stub else "")
            continue
        lines.append(prefix + content)
        kinds.append(kind)

    # Hard breaks only inside a paragraph; thematic breaks only between blocks.
    kept: list[str] = []
    kept_kinds: list[str] = []
    for i, line in enumerate(lines):
        kind = kinds[i]
        if line.endswith(HB):
            keep = i + 1 < len(lines) and kinds[i + 1] == LS and bool(lines[i + 1].strip())
            line = line[:-1].rstrip() + ("\\" if keep else "")
        if kind == HR:
            last = next((kk for kk in reversed(kept_kinds) if kk), None)
            if last is None or last == HR:
                continue
        if kind:
            kept.append(line if kind == CL else line.rstrip())
            kept_kinds.append(kind)
        else:
            kept.append("")
            kept_kinds.append("")
    while kept and (not kept_kinds[-1] or kept_kinds[-1] == HR):
        kept.pop()
        kept_kinds.pop()

    out: list[str] = []
    for line in kept:
        if not line:
            if out and out[-1]:
                out.append("")
        elif line.strip() == ">" and out and out[-1].strip() == ">":
            continue
        else:
            out.append(line)
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out) + "\n" if out else ""


# --------------------------------------------------------------------------- API


def _fallback(body_html: str) -> str:
    """Plain paragraphs of the visible text, for input the converter cannot handle."""
    try:
        tree = LexborHTMLParser(body_html)
        text = tree.body.text(separator="\n") if tree.body is not None else ""
    except Exception:
        text = re.sub(r"<[^>]*>", " ", body_html)
    paragraphs = []
    for line in text.split("\n"):
        line = _clean_text(line).strip()
        if line:
            paragraphs.append(LS + _escape_text(line))
    try:
        return _finish("\n\n".join(paragraphs))
    except Exception:
        return ""


@dataclass(frozen=True)
class ConvertedBody:
    """A body's Markdown and the image URLs it shows, from one parse."""

    markdown: str
    image_urls: list[str]


def html_to_markdown(body_html: str, image_map: dict[str, str] | None = None) -> str:
    """Convert an article body (the inner HTML of #js_content, or a seed file's body
    `<div>…</div>`) to CommonMark + GFM tables, ending with one newline ("" when empty).

    `image_map` maps an original image URL (as `image_urls` returns it) to its replacement,
    e.g. a relative path to the downloaded file. Never raises: garbage in, best effort out.
    """
    return convert_body(body_html, image_map).markdown


def convert_body(body_html: str, image_map: Mapping[str, str] | None = None) -> ConvertedBody:
    """html_to_markdown and image_urls at the cost of one: the import needs both."""
    return _convert(body_html, dict(image_map) if image_map else None)


def _convert(body_html: str, image_map: Mapping[str, str] | None) -> ConvertedBody:
    body_html = _as_text(body_html)
    if not body_html.strip():
        return ConvertedBody("", [])
    token = _IMAGE_MAP.set(image_map)
    images: list[str] = []
    try:
        _tree, root = _preclean(body_html)
        if root is None:
            return ConvertedBody("", [])
        images = _image_srcs(root)
        elements = from_lexbor(root, _kept_attributes)
        return ConvertedBody(_finish(_CONVERTER.convert_soup(elements)), images)
    except Exception:
        return ConvertedBody(_fallback(body_html), images)
    finally:
        _IMAGE_MAP.reset(token)


class _Placeholders(Mapping[str, str]):
    """An image map that answers every URL with a numbered placeholder, noting the URLs."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.urls: dict[str, int] = {}

    def __getitem__(self, url: str) -> str:
        return f"{self.prefix}{self.urls.setdefault(url, len(self.urls))}z"

    def __iter__(self):
        return iter(self.urls)

    def __len__(self) -> int:
        return len(self.urls)


@dataclass(frozen=True)
class BodyTemplate:
    """A body converted before its images' destinations are known: each article is
    converted once, and `fill` puts the images where they end up (stored or remote)."""

    markdown: str
    image_urls: list[str]
    placeholder_urls: list[str]
    placeholder: str

    def fill(self, destinations: Mapping[str, str] | None = None) -> str:
        """The Markdown html_to_markdown(body, image_map=destinations) gives."""
        destinations = destinations or {}
        chosen = [_dest(destinations.get(url, url)) for url in self.placeholder_urls]
        if not chosen:
            return self.markdown
        pattern = re.compile(re.escape(self.placeholder) + r"(\d+)z")
        return pattern.sub(lambda match: chosen[int(match[1])], self.markdown)


def convert_template(body_html: str) -> BodyTemplate:
    """convert_body with every image destination left to BodyTemplate.fill."""
    text = _as_text(body_html)
    prefix = "wximg" + secrets.token_hex(6) + "n"
    while prefix in text:
        prefix = "wximg" + secrets.token_hex(6) + "n"
    placeholders = _Placeholders(prefix)
    converted = _convert(text, placeholders)
    return BodyTemplate(converted.markdown, converted.image_urls, list(placeholders.urls), prefix)
