"""`harvester convert`: one saved source in, one Markdown file (or a kind) out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archive.files import write_atomic
from archive.names import article_relpath
from archive.times import iso_china
from harvester.document import render_article
from harvester.markdown import html_to_markdown
from harvester.model import Page
from harvester.reader import read_source

RECORD_FIELDS = (
    "kind",
    "title",
    "account",
    "author",
    "url",
    "short_url",
    "biz",
    "mid",
    "idx",
    "sn",
    "cover",
    "digest",
    "original",
    "paid",
    "source_url",
)


@dataclass
class ConvertResult:
    source: Path
    page: Page
    markdown: str | None
    path: Path | None = None

    def record(self) -> dict[str, object]:
        """The `--json` object: DESIGN.md's fields, all but `kind` null for non-articles."""
        is_article = self.markdown is not None
        record: dict[str, object] = {"source": str(self.source)}
        for name in RECORD_FIELDS:
            record[name] = getattr(self.page, name) if is_article or name == "kind" else None
        record["published_at"] = iso_china(self.page.published_at) if is_article else None
        if self.page.kind == "link":
            record["url"] = self.page.url or self.page.short_url
        record["markdown"] = self.markdown
        record["path"] = str(self.path) if self.path else None
        return record


def article_markdown(page: Page) -> str:
    """The article's Markdown file; a body that is Markdown already is kept as it is."""
    if page.body_markdown is not None:
        return render_article(page, page.body_markdown)
    return render_article(page, html_to_markdown(page.body_html))


def convert_source(source: Path, out_dir: Path | None = None) -> ConvertResult:
    """Raises InputError for a source we cannot read; a non-article (a `document` too)
    gives markdown None."""
    page = read_source(source)
    if not page.is_article:
        return ConvertResult(source, page, None)
    markdown = article_markdown(page)
    path = None
    if out_dir is not None:
        relpath = article_relpath(
            page.account or "unknown-account",
            page.published_at or page.fetched_at,
            page.title or "",
            page.key or str(source),
        )
        path = out_dir / relpath
        write_atomic(path, markdown.encode("utf-8"))
    return ConvertResult(source, page, markdown, path)
