"""The Markdown files import reads: seed-format files, and the archive's own.

**Seed format**: the Hugo Markdown our users' old GitHub-issue bot wrote. Front matter
(`title`, `date` = when the archive was requested, `draft: ["false"]`, `tags: ["fetched",
account]` in either order, `categories`), the line `title by account`, `------`, the raw
article HTML, `<hr>` and a malformed footer `<a href="<link>",target="_blank" …>原文链接</a>`.
Titles with unescaped quotes make some front matter invalid YAML, so it is read line by line.

**The archive's own Markdown** (articles/…, written by harvester/document.py) and the pages
its Hugo export writes from them (archive/hugo.py): front matter with the archive's fields
(`wechat_url`, `wechat_kind`, `published`, `fetched`, …; valid YAML, read by
archive/frontmatter.py), the byline, `------`, the body in Markdown, `---` and
`[原文链接](link)`. The body stays the Markdown it is (`Page.body_markdown`); an export's
status notice and shortcode escapes are undone, and the `status` it shows is kept.

A file with front matter that is neither (a Hugo section page `_index.md`, an about page)
is a `document`: no article, nothing wrong with it. One that shows the seed's marks (its
byline, raw HTML, the `fetched` tag) but lost its footer is truncated.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime
from typing import Any

from archive.frontmatter import split_front_matter
from archive.kinds import ARTICLE_KINDS, STATUSES
from archive.times import parse_time
from harvester.errors import InputError
from harvester.links import LinkError, parse_link
from harvester.mdbody import safe_markdown
from harvester.model import Page
from harvester.page.text import readable

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
# Front matter only the archive's own files carry (the seed's bot never wrote these).
ARCHIVE_FIELD = re.compile(r"^(?:wechat_url|wechat_kind|archive_key):", re.M)
OWN_BYLINE = re.compile(r"\A[^\n]*\n-{6}\n\n?")
OWN_FOOTER = re.compile(r"(?:\A|\n)---\n\n\[原文链接\]\(<?([^\s<>]*)>?\)\s*\Z")
EXPORT_NOTICE = re.compile(r"\A> 存档说明：[^\n]*（status: [a-z]+），以下是此前保存的副本。\n\n")
EXPORT_SHORTCODE = re.compile(r"\{\{<\/\*(.*?)\*/>\}\}|\{\{%/\*(.*?)\*/%\}\}", re.S)


def looks_like_seed(text: str) -> bool:
    return FRONT_MATTER.match(text) is not None


def parse_seed(text: str) -> Page:
    """Read one seed-format file (or one of the archive's own) into the same record a
    served page gives; a file with front matter but no article is a `document`."""
    match = FRONT_MATTER.match(text)
    if match is None:
        raise InputError("no front matter (a seed-format file starts with '---')")
    if ARCHIVE_FIELD.search(match.group(1)):
        return parse_archive_file(text)
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
            **link_fields(bare.group(1)),
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
        **link_fields(footer.group(1)),
    )


def parse_archive_file(text: str) -> Page:
    """One of the archive's own Markdown files, or a page its Hugo export wrote, as the
    article it was written from (what the front matter keeps of it, and the body)."""
    try:
        meta, rest = split_front_matter(text)
    except ValueError as error:
        raise InputError(str(error)) from None
    rest = rest.lstrip("\n")
    if "archive_key" in meta:  # written by the Hugo export: undo what it added
        rest = EXPORT_NOTICE.sub("", rest, count=1)
        rest = rest.replace("{{\u200b<", "{{<").replace("{{\u200b%", "{{%")
        rest = EXPORT_SHORTCODE.sub(_shortcode, rest)
    byline = OWN_BYLINE.match(rest)
    rest = rest[byline.end() if byline else 0 :]
    footer = OWN_FOOTER.search(rest)
    body = rest[: footer.start() if footer else len(rest)].strip("\n")
    link = _text(meta.get("wechat_url")) or _text(meta.get("short_url"))
    link = link or (footer.group(1) if footer else None)
    if not link:
        raise InputError("the file names no article link (no wechat_url, no 原文链接)")
    fields = link_fields(link)
    fields["short_url"] = fields.get("short_url") or _text(meta.get("short_url"))
    kind = _text(meta.get("wechat_kind"))
    account = _text(meta.get("account"))
    tags = _texts(meta.get("tags"))
    if tags == ["fetched", *([account] if account else [])]:
        tags = []  # what harvester/document.py writes for an article without tags of its own
    published = parse_time(meta.get("published"))
    dated = parse_time(meta.get("date"))
    original = meta.get("original")
    status = _text(meta.get("status"))
    return Page(
        kind=kind if kind in ARTICLE_KINDS else "article",
        title=_text(meta.get("title")),
        account=account,
        author=_text(meta.get("author")),
        published_at=published,
        cover=_text(meta.get("cover")),
        digest=_text(meta.get("digest")),
        original=original if isinstance(original, bool) else None,
        paid=meta.get("paid") is True,
        source_url=_text(meta.get("source_url")),
        shared_url=_text(meta.get("shared_url")),
        body_markdown=safe_markdown(body) + "\n" if body else "",  # as the converter ends one
        status=status if status in STATUSES else "live",
        fetched_at=parse_time(meta.get("fetched")) or dated,
        seed_date=None if published else dated,  # the date a seed gave, as the file kept it
        tags=tags,
        categories=_texts(meta.get("categories")),
        **fields,
    )


def _shortcode(match: re.Match[str]) -> str:
    """`{{</* x */>}}` as the export wrote a body's `{{< x >}}`, back as it was."""
    if match[1] is not None:
        return "{{<" + match[1] + ">}}"
    return "{{%" + match[2] + "%}}"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return readable(str(value)).strip() or None


def _texts(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [text for text in map(_text, values) if text]


def _front_matter(block: str) -> dict[str, str]:
    """Key → raw value text; a value may continue on the following lines (`tags: [`)."""
    values: dict[str, str] = {}
    current = None
    for line in block.replace("\r\n", "\n").split("\n"):  # not splitlines(): U+0085 is no line end
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
    raw = readable(raw).strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        with contextlib.suppress(ValueError):
            inner = readable(json.loads(raw))
        return inner.strip() or None
    return raw or None


def _list(raw: str | None) -> list[str]:
    """`["a", "b"]` over one or many lines, or a bare word (`tags: 3D`)."""
    if raw is None or not raw.strip():
        return []
    quoted = QUOTED.findall(raw)
    if quoted:
        return [q for q in (_scalar(f'"{item}"') for item in quoted) if q]
    word = readable(raw).strip().strip("[]").strip()
    return [word] if word else []


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


def link_fields(link: str) -> dict[str, str | None]:
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
