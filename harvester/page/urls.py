"""The article links a page gives for itself, and URLs as pages write them."""

from __future__ import annotations

import html as htmllib
import re

from harvester.links import LinkError, canonical_url, parse_link, short_url


def link_parts(url: str | None) -> dict[str, str]:
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


def link_url(parts: dict[str, str]) -> str | None:
    """The canonical (or else short) article URL of link_parts, if they make one."""
    if parts.get("biz") and parts.get("mid") and parts.get("idx"):
        return canonical_url(parts["biz"], parts["mid"], parts["idx"], parts.get("sn"))
    if parts.get("short_id"):
        return short_url(parts["short_id"])
    return None


def plain_url(url: str | None) -> str | None:
    """The url argument as given (escapes undone) when it is no article link we can read."""
    value = url_value(url)
    return value if value and re.match(r"https?://", value, re.I) else None


def url_value(value: str | None) -> str | None:
    """A URL as the page writes it, with its HTML escapes (`&amp;`, even doubled) undone."""
    if not value:
        return None
    for _ in range(3):
        if "&" not in value:
            break
        value = htmllib.unescape(value)
    value = value.strip()
    return value or None
