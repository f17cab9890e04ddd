"""Putting one parsed page into the archive: raw copy, Markdown file, then the index row.

Files are written first and the database row committed last, so a crash leaves
at worst an unreferenced file, never a row pointing at nothing. No network here:
images arrive already downloaded (or as the reason they could not be).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from archive.files import StoredImage, article_relpath, gzip_raw, store_raw, write_file
from archive.fulltext import search_copy
from archive.index import (
    ImageEntry,
    LinkEntry,
    get_article,
    note_first_capture,
    open_index,
    rekey_article,
    save_article,
    save_images,
    save_links,
    stored_images,
    update_rendering,
)
from harvester.document import render_article
from harvester.links import ArticleLink, find_article_links
from harvester.markdown import ConvertedBody, html_to_markdown, image_urls
from harvester.model import Page


def content_hash(page: Page) -> str:
    """What makes two captures the same version: title and body, not the page's scripts."""
    text = f"{page.title or ''}\0{page.body_html}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def page_images(page: Page, body_images: list[str] | None = None) -> list[str]:
    """Every image an article shows, the cover last (`body_images`: the body's, if known)."""
    urls = image_urls(page.body_html) if body_images is None else list(body_images)
    if page.cover and page.cover not in urls:
        urls.append(page.cover)
    return urls


@dataclass(frozen=True)
class Rendered:
    """What saving an article needs that does not depend on the archive, so an import can
    work it out ahead, in worker processes: the Markdown body with every image left remote,
    its links, its search copy and the compressed raw page."""

    markdown: str
    links: list[LinkEntry]
    search_body: str
    raw_gzip: bytes


def render_ahead(page: Page, raw: bytes, converted: ConvertedBody) -> Rendered:
    return Rendered(
        converted.markdown,
        link_entries(page.body_html),
        search_copy(converted.markdown),
        gzip_raw(raw),
    )


@dataclass
class Archive:
    """An archive folder and its index, opened once per command."""

    root: Path
    db: sqlite_utils.Database

    @classmethod
    def open(cls, root: Path) -> Archive:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, open_index(root / "archive.db"))

    def close(self) -> None:
        self.db.close()

    def known_images(self, key: str | None) -> dict[str, StoredImage]:
        return stored_images(self.db, key) if key else {}

    def resolve_key(self, page: Page, short_key: str | None = None) -> str | None:
        """The article's key in this archive, moving a short-link key to the full one.

        A page that names its biz/mid/idx gives the full key (and an article first
        archived under `short_key` is moved to it); otherwise an article already
        archived under the short link, or with it as its short_url, is the one.
        """
        short_url = page.short_url
        if page.biz and page.mid and page.idx:
            for old in (short_key, self.key_of_short_url(short_url)):
                if old and old != page.key:
                    rekey_article(self.db, old, page.key)
            return page.key
        return self.key_of_short_url(short_url) or short_key or page.key

    def has_link(self, link: ArticleLink) -> bool:
        """Whether the article a link names is archived already (no request needed)."""
        key = link.key if link.form != "short" else self.key_of_short_url(link.url) or link.key
        return get_article(self.db, key) is not None

    def key_of_short_url(self, short_url: str | None) -> str | None:
        if not short_url:
            return None
        rows = self.db.execute(
            "SELECT key FROM articles WHERE short_url = ? ORDER BY key LIMIT 1", [short_url]
        ).fetchall()
        return rows[0][0] if rows else None

    def save(
        self,
        page: Page,
        raw: bytes,
        fetched_at: datetime,
        images: Mapping[str, StoredImage | str],
        *,
        rendered: Rendered | None = None,
    ) -> str:
        """Archive an article page: "new", "updated" or "unchanged".

        `images` maps each image URL to its stored file, or to why it is missing.
        `rendered`: render_ahead(page, raw, …) when worked out ahead.
        """
        key = self.resolve_key(page)
        if key is None:
            raise ValueError("the page names no article (no biz/mid/idx and no short link)")
        existing = get_article(self.db, key)
        digest = content_hash(page)
        raw_path = existing["raw_path"] if existing else None
        if existing is None or existing["content_hash"] != digest or raw_path is None:
            raw_path = store_raw(
                self.root,
                page.biz or "short",
                page.mid or key.split(":")[-1],
                page.idx or "0",
                fetched_at,
                raw,
                gzipped=rendered.raw_gzip if rendered else None,
            )
        captures = (fetch_time(existing), page.fetched_at, fetched_at)
        page.fetched_at = min(moment for moment in captures if moment is not None)
        md_path = (existing or {}).get("md_path") or article_relpath(
            page.account, page.published_at or page.fetched_at, page.title, key
        )
        stored = any(isinstance(image, StoredImage) for image in images.values())
        if rendered is None or stored:
            body = self.render_body(page, md_path, images)
        else:
            body = rendered.markdown
        write_file(self.root, md_path, render_article(page, body).encode("utf-8"))
        with self.db.atomic():
            outcome = save_article(
                self.db,
                page,
                key=key,
                md_path=md_path,
                content_hash=digest,
                body_text=body,
                raw_path=raw_path,
                fetched_at=fetched_at,
                search_body=rendered.search_body if rendered else None,
            )
            update_rendering(self.db, key, md_path=md_path, body_text=body)
            note_first_capture(self.db, key, page.fetched_at)
            save_images(self.db, key, image_entries(images))
            save_links(self.db, key, rendered.links if rendered else link_entries(page.body_html))
        return outcome

    def render_body(self, page: Page, md_path: str, images: Mapping[str, StoredImage | str]) -> str:
        folder = (self.root / md_path).parent
        local = {
            url: os.path.relpath(self.root / stored.relpath, folder)
            for url, stored in images.items()
            if isinstance(stored, StoredImage)
        }
        return html_to_markdown(page.body_html, image_map=local)


def fetch_time(row: Mapping[str, object] | None) -> datetime | None:
    value = row.get("first_fetched_at") if row else None
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def image_entries(images: Mapping[str, StoredImage | str]) -> list[ImageEntry]:
    return [
        ImageEntry(position, url, image=stored, error=None)
        if isinstance(stored, StoredImage)
        else ImageEntry(position, url, image=None, error=stored)
        for position, (url, stored) in enumerate(images.items())
    ]


def link_entries(body_html: str) -> list[LinkEntry]:
    return [LinkEntry(to_url=link.url, to_key=link.key) for link in find_article_links(body_html)]
