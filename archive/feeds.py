"""Atom feeds (RFC 4287) of archived articles: plain data in, the feed's XML text out.

The Datasette plugin (datasette_plugin/feed_pages.py) reads the articles and renders their
bodies; here they become a feed that any reader (and feedparser) takes. Every text is
cleaned of the characters XML 1.0 cannot hold (control characters, lone surrogates,
U+FFFE/U+FFFF), which an archived page may carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree import ElementTree

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedEntry:
    id: str  # a permanent IRI: the article's WeChat link, or a urn for one without
    title: str
    updated: str  # RFC 3339: when this version landed in the archive
    link: str  # the reading page in the archive (absolute)
    content_html: str  # the full text as HTML, links and images absolute
    published: str | None = None
    author: str | None = None
    original_link: str | None = None  # the article on WeChat


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: str
    self_link: str
    alternate_link: str  # the HTML page listing the same articles
    author: str
    subtitle: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)


def xml_text(text: str | None) -> str:
    """`text` without the characters an XML 1.0 document cannot contain."""
    return _NOT_XML.sub("", text or "")


def _add(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str):
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def _person(parent: ElementTree.Element, name: str) -> None:
    _add(_add(parent, "author"), "name", name)


def _entry(feed: ElementTree.Element, entry: FeedEntry) -> None:
    element = _add(feed, "entry")
    _add(element, "id", entry.id)
    _add(element, "title", entry.title or "(untitled)")
    _add(element, "updated", entry.updated)
    if entry.published:
        _add(element, "published", entry.published)
    if entry.author:
        _person(element, entry.author)
    _add(element, "link", rel="alternate", type="text/html", href=xml_text(entry.link))
    if entry.original_link:
        _add(element, "link", rel="related", type="text/html", href=xml_text(entry.original_link))
    _add(element, "content", entry.content_html, type="html")


def atom_xml(feed: Feed) -> str:
    """The feed as an Atom document (UTF-8 text with its XML declaration)."""
    ElementTree.register_namespace("", ATOM)
    root = ElementTree.Element(f"{{{ATOM}}}feed")
    _add(root, "id", feed.id)
    _add(root, "title", feed.title)
    if feed.subtitle:
        _add(root, "subtitle", feed.subtitle)
    _add(root, "updated", feed.updated)
    _person(root, feed.author)
    _add(root, "link", rel="self", type="application/atom+xml", href=xml_text(feed.self_link))
    _add(root, "link", rel="alternate", type="text/html", href=xml_text(feed.alternate_link))
    _add(root, "generator", "wechat-archive")
    for entry in feed.entries:
        _entry(root, entry)
    body = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"
