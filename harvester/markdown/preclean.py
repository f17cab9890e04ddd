"""Stage 1, the pre-clean (selectolax/lexbor, fast): the passes in `PASSES`, in order, drop what
a reader never sees, turn formulas into `<wx-formula>` holding their TeX, turn lazy, SVG,
sticker and background images into plain `<img src>` and reduce code `<pre>` to its text;
`Copying` then leaves out the inline wrappers and the sections that only hold blocks as the tree
is copied for the converter, so it walks a much smaller tree, and turns bold and strikethrough
set by CSS into tags. Each pass relies on the ones before it (the code `<pre>` pass sees every
image resolved).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser

from harvester.markdown.code import flatten_pre
from harvester.markdown.embeds import iframe_target
from harvester.markdown.formulas import svg_tex
from harvester.markdown.tags import AVATAR_HOSTS, BLOCK_TAGS, DROP_TAGS, PAGE_CHROME
from harvester.markdown.text import as_text

_HIDDEN_CSS = ",".join([*DROP_TAGS, "[hidden]", *PAGE_CHROME])
_AVATAR = re.compile(r"(?:https?:)?//(?:" + "|".join(map(re.escape, AVATAR_HOSTS)) + r")/", re.I)
_IMAGE_SRC_ATTRS = ("data-src", "src", "data-original", "data-backsrc", "data-lazy-src")
_IMAGE_EMBED_TYPES = ("svg", "image/", "png", "jpeg", "jpg", "gif", "webp")
_BACKGROUND_CSS = '[style*="url("], [data-lazy-bgimg]'
_BG_URL = re.compile(r"""background(?:-image)?\s*:[^;]*?url\(\s*(['"]?)(.*?)\1\s*\)""", re.I | re.S)
_CODE = ("pre", "code")  # no background images inside, formulas there are its text
_HEIGHT_PX = re.compile(r"(?:^|;)\s*height\s*:\s*(\d+(?:\.\d+)?)px", re.I)
_DECORATION_HEIGHT_PX = 40
_GUTTER_CSS = 'ul[class*="line-index"], ul[class*="linenums"], .code-snippet__line-index'
_HEADING_PARAGRAPH_CSS = "h1 p, h2 p, h3 p, h4 p, h5 p, h6 p"
_UNWRAP_TAGS = frozenset({"span", "font", "label", "ne-text"})
_BLOCK_WRAPPERS = frozenset({"section", "div"})
_CSS_EMPHASIS = '[style*="font-weight"], [style*="line-through"]'
_BOLD_CSS = re.compile(
    r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)\s*(?:!important\s*)?(?:;|$)", re.I
)
_STRIKE_CSS = re.compile(r"text-decoration(?:-line)?\s*:[^;]*\bline-through\b", re.I)
# Bold there is the element's own look (headings) or cannot hold markers (code blocks,
# lists and tables, whose children are their items, rows and cells).
_NO_CSS_EMPHASIS = frozenset(
    [
        "pre",
        "ul",
        "ol",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "img",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "b",
        "strong",
        "s",
        "del",
        "strike",
    ]
)


def _image_src(attrs: dict) -> str:
    """The real URL of an <img>: lazy `data-src` first, then `src`; never a data: URI (an
    icon) or an avatar."""
    for key in _IMAGE_SRC_ATTRS:
        value = (attrs.get(key) or "").strip()
        if value and not value.lower().startswith("data:"):
            return "" if _AVATAR.match(value) else value
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


def drop_hidden(tree: LexborHTMLParser, root) -> None:
    """Scripts, styles, editor markers, [hidden] elements and page chrome: not the article."""
    for node in root.css(_HIDDEN_CSS):
        node.decompose()


def resolve_lazy_images(tree: LexborHTMLParser, root) -> None:
    """Lazy images: the converter and image_urls() only ever look at src."""
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


def _put_formula(tree: LexborHTMLParser, node, tex: str, display: bool) -> None:
    """A formula in place of `node`: in code, its TeX as the code's text."""
    if _inside(node, _CODE):
        node.insert_before(("$$" if display else "$") + tex + ("$$" if display else "$"))
    else:
        formula = tree.create_node("wx-formula")
        formula.attrs["data-tex"] = tex
        if display:
            formula.attrs["data-display"] = "block"
        node.insert_before(formula)
    node.decompose()


def formulas(tree: LexborHTMLParser, root) -> None:
    """Formulas become `<wx-formula data-tex>` (the converter writes them as TeX; in code,
    `$TeX$` is the code's text), their pictures dropped: the TeX an editor kept in
    `data-formula` (`data-display` for a `block-equation`), else the TeX a MathJax SVG's own
    MathML data spells."""
    kept = [
        n for n in root.css("[data-formula]") if (n.attributes.get("data-formula") or "").strip()
    ]
    # A formula inside another goes with it (css() on a node matches the node too).
    inner = {
        n.mem_id for outer in kept for n in outer.css("[data-formula]") if n.mem_id != outer.mem_id
    }
    for node in kept:
        if node.mem_id in inner:
            continue
        attrs = node.attributes
        tex = " ".join((attrs.get("data-formula") or "").split())
        _put_formula(tree, node, tex, "block" in (attrs.get("data-formula-type") or ""))
    for svg in root.css("svg"):
        tex = svg_tex(svg)
        if tex:
            _put_formula(tree, svg, tex, False)


def svg_images(tree: LexborHTMLParser, root) -> None:
    """SVG layouts: <image href> become images next to the SVG (its text stays where it is)."""
    for image in root.css("image"):
        attrs = image.attributes
        src = (attrs.get("href") or attrs.get("xlink:href") or "").strip()
        if src and not src.lower().startswith("data:"):
            svg = image.parent
            while svg is not None and svg.tag != "svg":
                svg = svg.parent
            (svg or image).insert_before(_new_img(tree, src))
        image.decompose()


def embed_images(tree: LexborHTMLParser, root) -> None:
    """<embed> pictures: images, SVG formulas whose TeX was not kept among them."""
    for embed in root.css("embed"):
        attrs = embed.attributes
        src = (attrs.get("src") or attrs.get("data-src") or "").strip()
        kind = (attrs.get("data-type") or "").lower()
        if (
            src
            and not src.lower().startswith("data:")
            and (any(t in kind for t in _IMAGE_EMBED_TYPES) or "mmbiz" in src)
        ):
            embed.insert_before(_new_img(tree, src))
        embed.decompose()


def sticker_images(tree: LexborHTMLParser, root) -> None:
    """Emoji stickers are images of their emoji."""
    for sticker in root.css("mp-common-sticker"):
        src = (sticker.attributes.get("data-emoji_url") or "").strip()
        if src and not src.lower().startswith("data:"):
            sticker.insert_before(_new_img(tree, src))
        sticker.decompose()


def background_images(tree: LexborHTMLParser, root) -> None:
    """background-image:url(…) (and WeChat's lazy data-lazy-bgimg) become an image inside the
    element, before its content. Decoration is skipped: the mdnice window dots inside <pre>,
    and strips no higher than a line of text (dividers, title bars: `height: 20px`)."""
    for node in root.css(_BACKGROUND_CSS):
        if node.tag in _CODE or _inside(node, _CODE):
            continue
        attrs = node.attributes
        style = attrs.get("style") or ""
        height = _HEIGHT_PX.search(style)
        if height is not None and float(height[1]) <= _DECORATION_HEIGHT_PX:
            continue
        urls = [m.group(2).strip() for m in _BG_URL.finditer(style)]
        lazy = (attrs.get("data-lazy-bgimg") or "").strip()
        if lazy and not urls:
            urls = [lazy]
        for url in reversed(urls):
            url = html.unescape(url).strip().strip("'\"")
            if url and not url.lower().startswith("data:"):
                _prepend(node, _new_img(tree, url))


def video_covers(tree: LexborHTMLParser, root) -> None:
    """A video iframe with a cover (`data-cover`, URL-encoded) becomes its cover image, alt
    视频, linked to the video: the reader keeps the cover, and no text the page lacks."""
    for frame in root.css("iframe[data-cover]"):
        attrs = frame.attributes
        cover = unquote(attrs.get("data-cover") or "").strip()
        target = iframe_target(
            attrs.get("data-src") or attrs.get("src") or "", attrs.get("class") or ""
        )
        if target is None or target[0] != "视频" or not cover.startswith(("http://", "https://")):
            continue
        anchor = tree.create_node("a")
        anchor.attrs["href"] = target[1]
        anchor.insert_child(_new_img(tree, cover, target[0]))
        frame.insert_before(anchor)
        frame.decompose()


def drop_code_gutters(tree: LexborHTMLParser, root) -> None:
    """WeChat code snippets: the line-number gutter is a <ul> of empty <li>."""
    for gutter in root.css(_GUTTER_CSS):
        gutter.decompose()


def flatten_pres(tree: LexborHTMLParser, root) -> None:
    for pre in root.css("pre"):
        flatten_pre(tree, pre)


def unwrap_heading_paragraphs(tree: LexborHTMLParser, root) -> None:
    """A heading shows only text: the paragraphs an editor put in one are runs of it."""
    for para in root.css(_HEADING_PARAGRAPH_CSS):
        para.insert_after(" ")
        para.unwrap()


PASSES = (
    drop_hidden,
    resolve_lazy_images,
    formulas,
    svg_images,
    embed_images,
    sticker_images,
    background_images,
    video_covers,
    drop_code_gutters,
    flatten_pres,
    unwrap_heading_paragraphs,
)


_AS_IT_IS: dict[str, tuple[str, ...]] = {}


class Copying:
    """How each node is copied into the converter's tree (the last stage of the pre-clean,
    done while copying): the inline wrappers (`<span leaf>`, `<font>`…) and the sections
    editors nest ten deep that hold only blocks are left out, their content kept in place;
    bold and strikethrough set by CSS (WeChat's editor bolds with `font-weight`) become
    `<b>` and `<s>` around the content."""

    def __init__(self, root) -> None:
        self.emphasis: dict[int, str] = {}
        self.left_out: frozenset[str] = frozenset()  # left out unasked (see below)
        for node in root.css(_CSS_EMPHASIS):
            if node.tag in _NO_CSS_EMPHASIS:
                continue
            style = node.attributes.get("style") or ""
            if _BOLD_CSS.search(style):
                self.emphasis[node.mem_id] = "b"
            elif _STRIKE_CSS.search(style):
                self.emphasis[node.mem_id] = "s"
        if not self.emphasis:  # the common page: no wrapper need be asked about
            self.left_out = _UNWRAP_TAGS

    def copied_as(self, node) -> tuple[str, ...]:
        tag = node.tag
        if self.emphasis:
            emphasis = self.emphasis.get(node.mem_id)
            if emphasis is not None:
                if tag in _UNWRAP_TAGS:
                    return (emphasis,)
                # Inside a block (the paragraph stays one), around an inline element.
                return (tag, emphasis) if tag in BLOCK_TAGS else (emphasis, tag)
        if tag in _UNWRAP_TAGS or (tag in _BLOCK_WRAPPERS and _only_blocks(node)):
            return ()
        names = _AS_IT_IS.get(tag)
        if names is None:
            names = _AS_IT_IS[tag] = (tag,)
        return names


def _only_blocks(node) -> bool:
    """Only blocks (and blank text) in `node`, looking through the inline wrappers."""
    pending = [node.iter(include_text=True)]
    while pending:
        for child in pending[-1]:
            tag = child.tag
            if tag == "-text":
                if (child.text_content or "").strip():
                    return False
            elif tag in _UNWRAP_TAGS:
                pending.append(child.iter(include_text=True))
                break
            elif tag != "-comment" and tag not in BLOCK_TAGS:
                return False
        else:
            pending.pop()
    return True


def preclean(body_html: str):
    """Parse and normalise a body fragment; returns (tree, root node)."""
    tree = LexborHTMLParser(body_html)
    root = tree.body
    if root is None:
        return tree, None
    for run_pass in PASSES:
        run_pass(tree, root)
    return tree, root


def image_urls(body_html: str) -> list[str]:
    """Every image URL in the body, in order, once each: img data-src/src, background-image
    url(…) in style attributes, SVG <image>, <embed> and stickers (not formulas written as
    TeX); never data: URIs."""
    try:
        _tree, root = preclean(as_text(body_html))
    except Exception:
        return []
    return [] if root is None else image_srcs(root)


def image_srcs(root) -> list[str]:
    return list(dict.fromkeys(src for img in root.css("img") if (src := img.attributes.get("src"))))
