"""Seed-format files: the Hugo Markdown our users' old GitHub-issue bot wrote.

The format is front matter (`title`, `date` = when the archive was requested,
`draft: ["false"]`, `tags: ["fetched", account]` in either order, `categories`),
the line `title by account`, `------`, the raw article HTML, `<hr>` and a
malformed footer `<a href="<link>",target="_blank" …>原文链接</a>`. Titles with
unescaped quotes make some front matter invalid YAML, so it is read line by line.

A file with front matter that is no seed (a Hugo section page `_index.md`, an about
page) is a `document`: no article, nothing wrong with it. One that shows the seed's marks
(its byline, raw HTML, the `fetched` tag) but lost its footer is truncated.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime

from archive.times import parse_time
from harvester.errors import InputError
from harvester.links import LinkError, parse_link
from harvester.model import Page

FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*):[ \t]*(.*)$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
FOOTER = re.compile(r"<hr\s*/?>\s*<a\s+href=\"([^\"]*)\"[^>]*>\s*原文链接\s*</a>\s*\Z", re.S)
HEADER = re.compile(r"\A\s*(.*?)\r?\n-{3,}[ \t]*\r?\n", re.S)
FOREIGN_PAGE = re.compile(r"https?://[^\s/]+\.[^\s/]+/\S*\Z")
URL_ONLY = re.compile(r"\A\s*(https?://\S+)\s*\Z")
# What only a seed article has, even cut short: its byline over `------`, or raw HTML.
SEED_BYLINE = re.compile(r"\A\s*[^\n]* by [^\n]*\r?\n-{3,}[ \t]*\r?\n")
HTML_START = re.compile(r"\A\s*<[A-Za-z]")


def looks_like_seed(text: str) -> bool:
    return FRONT_MATTER.match(text) is not None


def parse_seed(text: str) -> Page:
    """Read one seed-format file into the same record a served page gives; a file with
    front matter but no article is a `document`."""
    match = FRONT_MATTER.match(text)
    if match is None:
        raise InputError("no front matter (a seed-format file starts with '---')")
    meta = _front_matter(match.group(1))
    rest = text[match.end() :]
    title = _scalar(meta.get("title"))
    tags = _list(meta.get("tags"))
    requested_at = _date(meta.get("date"))

    bare = URL_ONLY.match(rest)
    if bare is not None:
        return Page(
            kind="link",
            title=title,
            fetched_at=requested_at,
            tags=tags,
            **_link_fields(bare.group(1)),
        )

    footer = FOOTER.search(rest)
    if footer is None:
        if SEED_BYLINE.match(rest) or HTML_START.match(rest) or "fetched" in tags:
            raise InputError("truncated: the closing '<hr>' and 原文链接 footer are missing")
        return Page(kind="document", title=title)
    header = HEADER.match(rest, 0, footer.start())
    body_start = header.end() if header else 0
    byline = header.group(1).strip() if header else ""
    account = _account(tags, title, byline)
    return Page(
        kind="article",
        title=title,
        account=account,
        author=_scalar(meta.get("author")),
        fetched_at=requested_at,
        seed_date=requested_at,
        body_html=rest[body_start : footer.start()].strip(),
        tags=tags,
        categories=_list(meta.get("categories")),
        **_link_fields(footer.group(1)),
    )


def _front_matter(block: str) -> dict[str, str]:
    """Key → raw value text; a value may continue on the following lines (`tags: [`)."""
    values: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        match = KEY_LINE.match(line)
        if match and not line.startswith((" ", "\t")):
            current = match.group(1)
            values[current] = match.group(2)
        elif current is not None:
            values[current] += "\n" + line
    return values


def _scalar(raw: str | None) -> str | None:
    if raw is None:
        return None
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        with contextlib.suppress(ValueError):
            inner = json.loads(raw)
        return inner.strip() or None
    return raw or None


def _list(raw: str | None) -> list[str]:
    """`["a", "b"]` over one or many lines, or a bare word (`tags: 3D`)."""
    if raw is None or not raw.strip():
        return []
    quoted = QUOTED.findall(raw)
    if quoted:
        return [q for q in (_scalar(f'"{item}"') for item in quoted) if q]
    return [raw.strip().strip("[]").strip()] if raw.strip().strip("[]").strip() else []


def _date(raw: str | None) -> datetime | None:
    """The seed's date; one written without a zone is China time, as its bot meant it."""
    return parse_time(_scalar(raw))


def _account(tags: list[str], title: str | None, byline: str) -> str | None:
    others = [tag for tag in tags if tag != "fetched"]
    if others:
        return others[0]
    if title and byline.startswith(f"{title} by "):
        return byline[len(title) + 4 :].strip() or None
    return byline.rpartition(" by ")[2].strip() or None


def _link_fields(link: str) -> dict[str, str | None]:
    """The article's ids from its footer link; the bot also archived a few non-WeChat pages,
    whose http(s) link is kept as their URL."""
    try:
        parsed = parse_link(link)
    except LinkError as error:
        if FOREIGN_PAGE.match(link):
            return {"url": link}
        raise InputError(f"the article link {link!r} is not usable: {error.reason}") from None
    fields: dict[str, str | None] = {
        "biz": parsed.biz,
        "mid": parsed.mid,
        "idx": parsed.idx,
        "sn": parsed.sn,
    }
    if parsed.form == "short":
        fields["short_url"] = parsed.url
    else:
        fields["url"] = parsed.url
    return fields
