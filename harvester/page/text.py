"""Display text from the values and nodes of a page."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.page.jsliteral import plain, unescape_js_light

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def readable(text: str) -> str:
    """Untrusted text as UTF-8 can hold it and YAML and Hugo read it: a lone surrogate
    (from a `\\ud800` escape) becomes U+FFFD; controls and noncharacters are dropped."""
    return _UNPRINTABLE.sub("", _LONE_SURROGATE.sub("\ufffd", text))


def clean(value: Any) -> str | None:
    """A display string: HTML entities decoded once, whitespace stripped, '' -> None."""
    value = plain(value)
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = htmllib.unescape(value)
    value = readable(value).strip()
    return value or None


def flag(value: Any) -> bool | None:
    """A page's yes/no value (`'1' * 1`, `1`, `true`, `'0'`…) as a bool; None for anything
    else."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1 if value in (0, 1) else None
    text = value.strip().lower() if isinstance(value, str) else None
    return {"1": True, "true": True, "0": False, "false": False}.get(text or "")


def text_of(node: LexborNode | None) -> str:
    """A node's text without the text of its scripts and styles."""
    if node is None:
        return ""
    return "".join(
        child.text(deep=True)
        for child in node.iter(include_text=True)
        if child.tag not in ("script", "style")
    )


def node_text(tree: LexborHTMLParser, selector: str) -> str | None:
    """The clean text of the first node the selector finds."""
    node = tree.css_first(selector)
    return clean(node.text(deep=True)) if node is not None else None


def meta_tags(tree: LexborHTMLParser) -> dict[str, str]:
    """Each <meta>'s content by its property or name, the first of each name kept."""
    found: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        name = node.attributes.get("property") or node.attributes.get("name")
        if not name or name in found:
            continue
        value = clean(unescape_js_light(node.attributes.get("content") or ""))
        if value:
            found[name] = value
    return found
