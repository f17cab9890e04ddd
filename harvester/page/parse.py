"""parse_page: one served page through the stages (classify, metadata, body) into a Page."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from harvester.errors import InputError
from harvester.links import short_url
from harvester.model import Page
from harvester.page.bodies import Content, add_body
from harvester.page.classify import MESSAGE_PAGE_KINDS, message_reason, page_kind
from harvester.page.metadata import read_metadata
from harvester.page.scriptdata import ScriptData
from harvester.page.urls import link_parts, link_url, plain_url


def parse_page(html: str, url: str | None = None) -> Page:
    """Classify a served WeChat page and read its metadata and body (see harvester.page)."""
    if not isinstance(html, str):
        raise InputError("page is not text")
    if not html or html.isspace():
        raise InputError("empty page")
    tree = _parse_html(html)
    data = ScriptData.from_tree(tree)
    link = link_parts(url)
    content = Content.read(tree, data)
    kind = page_kind(html, tree, content)
    if kind in MESSAGE_PAGE_KINDS:
        page = _message_page(kind, link, url)
        found = message_reason(tree) if kind != "verification" else None
        page.reason = found[1] if found is not None else None
        return page
    page = Page(kind=kind)
    read_metadata(page, tree, data, link, content.post_text)
    page.url = page.url or plain_url(url)
    add_body(page, tree, data, content)
    return page


def _message_page(kind: str, link: dict[str, str], url: str | None) -> Page:
    """A message page says nothing of its own: only which article it is about, from url."""
    page = Page(kind=kind)
    page.biz, page.mid, page.idx, page.sn = (link.get(k) for k in ("biz", "mid", "idx", "sn"))
    page.url = link_url(link) or plain_url(url)
    if link.get("short_id"):
        page.short_url = short_url(link["short_id"])
    return page


def _parse_html(html: str) -> LexborHTMLParser:
    try:
        return LexborHTMLParser(html)
    except UnicodeEncodeError:  # lone surrogates cannot go to the parser as UTF-8
        return LexborHTMLParser(html.encode("utf-8", "replace").decode("utf-8"))
