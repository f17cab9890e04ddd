"""The entry points: a body converted (never raising: what the converter cannot handle
becomes plain paragraphs), or converted once as a `BodyTemplate` whose image destinations
are filled in later."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from harvester.htmltree import from_lexbor
from harvester.markdown.converter import IMAGE_MAP, Converter
from harvester.markdown.finish import finish
from harvester.markdown.links import dest
from harvester.markdown.preclean import Copying, image_srcs, preclean
from harvester.markdown.sentinels import LS
from harvester.markdown.tags import BLOCK_TAGS, kept_attributes
from harvester.markdown.text import as_text, clean_text, escape_text

_CONVERTER = Converter()
# The converter's tree is never deeper than this (the articles of the mp_duty corpus reach 13
# once their wrappers are left out): the converter recurses once a level and each level's
# text is joined again by every level above it, so deeper input is flattened, text kept.
MAX_DEPTH = 100


def _fallback(body_html: str) -> str:
    """Plain paragraphs of the visible text, for input the converter cannot handle."""
    try:
        tree = LexborHTMLParser(body_html)
        text = tree.body.text(separator="\n") if tree.body is not None else ""
    except Exception:
        text = re.sub(r"<[^>]*>", " ", body_html)
    paragraphs = []
    for line in text.split("\n"):
        line = clean_text(line).strip()
        if line:
            paragraphs.append(LS + escape_text(line))
    try:
        return finish("\n\n".join(paragraphs))
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
    body_html = as_text(body_html)
    if not body_html.strip():
        return ConvertedBody("", [])
    token = IMAGE_MAP.set(image_map)
    images: list[str] = []
    try:
        _tree, root = preclean(body_html)
        if root is None:
            return ConvertedBody("", [])
        images = image_srcs(root)
        copying = Copying(root)
        elements = from_lexbor(
            root, kept_attributes, copying.copied_as, MAX_DEPTH, BLOCK_TAGS, copying.left_out
        )
        return ConvertedBody(finish(_CONVERTER.convert_soup(elements)), images)
    except Exception:
        return ConvertedBody(_fallback(body_html), images)
    finally:
        IMAGE_MAP.reset(token)


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
        chosen = [dest(destinations.get(url, url)) for url in self.placeholder_urls]
        if not chosen:
            return self.markdown
        pattern = re.compile(re.escape(self.placeholder) + r"(\d+)z")
        return pattern.sub(lambda match: chosen[int(match[1])], self.markdown)


def convert_template(body_html: str) -> BodyTemplate:
    """convert_body with every image destination left to BodyTemplate.fill."""
    text = as_text(body_html)
    prefix = "wximg" + secrets.token_hex(6) + "n"
    while prefix in text:
        prefix = "wximg" + secrets.token_hex(6) + "n"
    placeholders = _Placeholders(prefix)
    converted = _convert(text, placeholders)
    return BodyTemplate(converted.markdown, converted.image_urls, list(placeholders.urls), prefix)
