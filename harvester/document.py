"""The Markdown file we write for an article: seed-compatible front matter, byline, body, footer."""

from __future__ import annotations

import re

from archive.frontmatter import write_front_matter
from archive.times import iso_china
from harvester.model import Page

# Every ASCII punctuation mark but an underscore inside a word, which CommonMark leaves alone.
ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-^`{-~]|(?<!\w)_|_(?!\w)")


def front_matter(page: Page, *, status: str = "live", categories: list[str] | None = None) -> str:
    """YAML front matter Hugo reads; the seed's keys first, then the archive's fields.

    The article's link and kind are `wechat_url` and `wechat_kind`: Hugo refuses a `url`
    with a scheme and gives `kind` a meaning of its own.
    """
    tags = page.tags or ["fetched", *([page.account] if page.account else [])]
    fields: dict[str, object] = {
        "title": page.title or "",
        "date": iso_china(page.published_at or page.fetched_at),
        "draft": False,
        "tags": tags,
        "categories": page.categories or categories or [],
        "account": page.account,
        "author": page.author,
        "wechat_url": page.url or page.short_url,
        "short_url": page.short_url,
        "cover": page.cover,
        "digest": page.digest,
        "original": page.original,
        "paid": page.paid or None,
        "source_url": page.source_url,
        "shared_url": page.shared_url,
        "wechat_kind": page.kind,
        "status": status,
        "published": iso_china(page.published_at),
        "fetched": iso_china(page.fetched_at),
    }
    return write_front_matter(fields)


def escape_inline(text: str) -> str:
    """Text shown exactly as written once rendered (titles hold `*`, `<b>`, `&amp;`, `[1]`):
    CommonMark lets every ASCII punctuation character be backslash-escaped."""
    return ASCII_PUNCTUATION.sub(r"\\\g<0>", text)


def render_article(
    page: Page,
    body_markdown: str,
    *,
    status: str = "live",
    categories: list[str] | None = None,
) -> str:
    """The whole file, laid out as the seed's: byline, `------`, body, `---`, 原文链接.

    A NUL (an imported Markdown body is kept as it is) becomes U+FFFD, as CommonMark
    reads it: no raw NUL ever reaches a file.
    """
    byline = escape_inline(f"{page.title or ''} by {page.account or ''}".strip())
    parts = [
        front_matter(page, status=status, categories=categories).rstrip("\n"),
        byline,
        "------",
        "",
    ]
    if body_markdown.strip():
        parts += [body_markdown.rstrip("\n"), ""]
    link = page.short_url or page.url
    if link:
        parts += ["---", "", f"[原文链接]({link})"]
    return "\n".join(parts).rstrip("\n").replace("\x00", "\ufffd") + "\n"
