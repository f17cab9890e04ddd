"""`harvester export epub`: an account's articles, an album's, or a search's, as one
e-book (ebooklib).

Articles in publish order (an album's in album order: the places the harvest recorded in
`album_articles`, then publish order for any it could not place), one chapter each
(title, account, date, the body rendered by archive.render as the reading page renders
it, the link to the original), a table of contents, the stored images embedded, and the
book's metadata (title: the account, the album's title or the search; author = account,
language, date). Chapters and images are items that read their content only when the
book is written, one at a time, so a book of 10,000 articles needs no more memory than
its list of chapters.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from ebooklib import epub

from archive.errors import InputError
from archive.files import atomic_output, resolve_inside
from archive.fulltext import fts_query
from archive.render import render_markdown
from archive.search import MATCHING_KEYS_WHERE
from archive.times import parse_time

BOOK_CSS = """body { font-family: serif; line-height: 1.6; }
h1 { font-size: 1.4em; }
.byline, .original { color: #555; font-size: 0.9em; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; }
td, th { border: 1px solid #999; padding: 0.2em 0.4em; }
"""
IMAGE_FOLDER = "images/"  # in the book, beside text/: the archive's own layout
_LAZY = re.compile(r' loading="lazy"')


ALBUM_WHERE = "key IN (SELECT key FROM album_articles WHERE album_id = :album)"
ALBUM_ORDER = """(SELECT position FROM album_articles AS a
    WHERE a.album_id = :album AND a.key = articles.key) NULLS LAST, """
PUBLISH_ORDER = "published_at IS NULL, published_at, first_fetched_at, key"


@dataclass(frozen=True)
class BookSelection:
    """An account's articles (by name), an album's (by id), or those a search finds."""

    account: str | None = None
    query: str | None = None
    album: str | None = None

    def where(self) -> tuple[str, dict[str, str]]:
        if self.account is not None:
            return "account = :account", {"account": self.account}
        if self.album is not None:
            return ALBUM_WHERE, {"album": self.album}
        match = fts_query(self.query or "")
        if not match:
            raise InputError(f"--query {self.query!r}: no words to search for")
        return MATCHING_KEYS_WHERE, {"archive_match": match}

    def order(self) -> str:
        return (ALBUM_ORDER if self.album is not None else "") + PUBLISH_ORDER

    def title(self, db: sqlite_utils.Database) -> str:
        if self.account is not None:
            return self.account
        if self.album is not None:
            return album_title(db, self.album) or f"合集 {self.album}"
        return f"“{self.query}”"

    def describe(self) -> str:
        if self.account is not None:
            return f"of the account {self.account!r}"
        if self.album is not None:
            return f"in the album {self.album!r}"
        return f"matching {self.query!r}"


def album_title(db: sqlite_utils.Database, album_id: str) -> str | None:
    """The album's title as getalbum gave it to the harvest, if it did."""
    if "account_albums" not in db.table_names():
        return None
    row = db.execute(
        "SELECT title FROM account_albums WHERE album_id = ? AND title IS NOT NULL"
        " ORDER BY rowid LIMIT 1",
        [album_id],
    ).fetchone()
    return row[0] if row else None


def has_album_table(db: sqlite_utils.Database) -> bool:
    """An archive never harvested through an album listing has no `album_articles`."""
    return "album_articles" in db.table_names()


class LazyChapter(epub.EpubHtml):
    """A chapter whose XHTML body is made when the book is written."""

    def __init__(self, make: Callable[[], str], **kwargs: object) -> None:
        self._make = make
        super().__init__(**kwargs)

    @property
    def content(self) -> str:  # type: ignore[override]
        return self._make()

    @content.setter
    def content(self, _value: object) -> None:
        pass


class LazyFile(epub.EpubItem):
    """An image read from the archive when the book is written."""

    def __init__(self, path: Path, **kwargs: object) -> None:
        self._path = path
        super().__init__(**kwargs)

    def get_content(self, default: object = None) -> bytes:
        return self._path.read_bytes()


@dataclass
class BookSummary:
    articles: int = 0
    images: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self, out: Path) -> str:
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return f"{self.articles} articles, {self.images} images{failed} → {out}"


ARTICLES = """SELECT key, title, account, author, published_at, url, short_url, status
FROM articles WHERE body_text IS NOT NULL AND {where}
ORDER BY {order}"""

IMAGES = """SELECT DISTINCT i.path, i.mime FROM article_images ai
JOIN images i ON i.sha256 = ai.sha256
WHERE ai.article_key IN (SELECT key FROM articles WHERE body_text IS NOT NULL AND {where})
ORDER BY i.path"""


def chapter_name(number: int) -> str:
    return f"text/{number:05d}.xhtml"


def chapter_html(db: sqlite_utils.Database, key: str, files: dict[str, str], missing: set[str]):
    """The chapter of article `key`: made from its row when the book is written."""

    def make() -> str:
        row = db.execute(
            "SELECT title, account, author, published_at, url, short_url, status, body_text,"
            " md_path FROM articles WHERE key = ?",
            [key],
        ).fetchone()
        title, account, author, published, url, short_url, status, body, md_path = row
        links = {
            to_url: files[to_key].removeprefix("text/")
            for to_url, to_key in db.execute(
                "SELECT to_url, to_key FROM links WHERE from_key = ?", [key]
            )
            if to_key in files
        }
        rendered = render_markdown(body, md_path=md_path, image_base="../images/", link_map=links)
        for path in missing:
            rendered = rendered.replace(f'src="../{html.escape(path)}"', 'src=""')
        byline = " · ".join(filter(None, [account, day(published), author]))
        notice = "" if status == "live" else f"<p class='byline'>({html.escape(status)})</p>"
        original = url or short_url
        footer = (
            f'<p class="original"><a href="{html.escape(original)}">原文链接</a></p>'
            if original
            else ""
        )
        return (
            f"<h1>{html.escape(title or key)}</h1><p class='byline'>{html.escape(byline)}</p>"
            f"{notice}{_LAZY.sub('', rendered)}{footer}"
        )

    return make


def day(published: str | None) -> str | None:
    moment = parse_time(published)
    return moment.date().isoformat() if moment else None


def build_book(
    root: Path, db: sqlite_utils.Database, selection: BookSelection, summary: BookSummary
) -> epub.EpubBook:
    where, values = selection.where()
    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, repr(selection))}")
    book.set_title(selection.title(db))
    book.set_language("zh")
    style = epub.EpubItem(
        uid="style", file_name="style/book.css", media_type="text/css", content=BOOK_CSS
    )
    book.add_item(style)
    rows = []
    if selection.album is None or has_album_table(db):
        rows = list(db.execute(ARTICLES.format(where=where, order=selection.order()), values))
    if not rows:
        raise InputError(f"{root}: no archived articles {selection.describe()}")
    missing: set[str] = set()
    for number, (path, mime) in enumerate(db.execute(IMAGES.format(where=where), values)):
        try:
            source = resolve_inside(root, path)
            if not source.is_file():
                raise OSError(f"{path}: not in the archive")
        except (OSError, ValueError) as error:
            summary.failures.append(f"{path}: not embedded: {error}")
            missing.add(path)
            continue
        book.add_item(LazyFile(source, uid=f"image{number}", file_name=path, media_type=mime))
        summary.images += 1
    files = {row[0]: chapter_name(number) for number, row in enumerate(rows, start=1)}
    chapters = []
    authors: dict[str, None] = {}
    for key, title, account, *_ in rows:
        chapter = LazyChapter(
            chapter_html(db, key, files, missing),
            title=title or key,
            file_name=files[key],
            lang="zh",
        )
        chapter.add_link(href="../style/book.css", rel="stylesheet", type="text/css")
        book.add_item(chapter)
        chapters.append(chapter)
        if account:
            authors.setdefault(account)
    for number, author in enumerate(authors):
        book.add_author(author, uid=f"creator{number}")
    dates = [day(row[4]) for row in rows if row[4]]
    if dates:
        book.add_metadata("DC", "date", dates[-1])
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    summary.articles = len(chapters)
    return book


def export_epub(root: Path, out: Path, selection: BookSelection) -> BookSummary:
    """Write the book at `out` (replaced whole, or left as it was on failure)."""
    from archive.search_cli import open_readonly

    db = open_readonly(root / "archive.db")
    summary = BookSummary()
    try:
        book = build_book(root, db, selection, summary)
        try:
            with atomic_output(out) as handle:
                epub.write_epub(handle, book, {"epub3_pages": False})
        except OSError as error:
            raise InputError(f"{out}: cannot write: {error.strerror or error}") from None
    finally:
        db.close()
    return summary
