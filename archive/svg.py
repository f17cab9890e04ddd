"""Whether an SVG could run anything when opened on its own (as a page, not an <img>).

An <img> never runs an SVG's scripts, but a published `/images/….svg` opened directly does.
Such an SVG is not stored (its image stays a remote link) and never exported. The check
reads the SVG with an XML parser (expat: internal entities are expanded, so markup hidden
in one is seen; external ones are never fetched) and refuses what is not well-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

# Elements that run, embed or load documents.
ACTIVE_ELEMENTS = frozenset(
    {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"}
)
# Attributes whose value is a URL a browser follows or a value animation sets.
URL_ATTRIBUTES = frozenset({"href", "src", "to", "from", "by", "values", "action", "formaction"})
# A data: URL is active unless it is a raster image (an SVG's embedded pictures).
_ACTIVE_SCHEME = re.compile(
    r"(?:javascript|vbscript|data(?!:image/(?:png|jpeg|jpg|gif|webp)[;,])):", re.IGNORECASE
)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_STYLESHEET_PI = re.compile(rb"<\?xml-stylesheet", re.IGNORECASE)


def _local(name: str) -> str:
    """`{namespace}name` or `prefix:name` → `name`, lower-cased."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def active_content(data: bytes) -> str | None:
    """What in the SVG could run (one line), or None when nothing can."""
    if _STYLESHEET_PI.search(data):
        return "an xml-stylesheet instruction"
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, ValueError, RecursionError):
        return "not well-formed XML"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = _local(element.tag)
        if tag in ACTIVE_ELEMENTS:
            return f"a <{tag}> element"
        for name, value in element.attrib.items():
            attribute = _local(name)
            if attribute.startswith("on"):
                return f"an {attribute} handler"
            if attribute in URL_ATTRIBUTES and _ACTIVE_SCHEME.match(_URL_NOISE.sub("", value)):
                return f"a script URL in {attribute}"
    return None
