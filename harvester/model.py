"""The record every reader produces and every writer consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from archive.kinds import ARTICLE_KINDS

NOT_ARTICLE_KINDS = frozenset(
    {"deleted", "blocked", "unavailable", "expired", "verification", "link", "document"}
)


@dataclass
class Page:
    """What one served page or seed-format file says about one article.

    `kind` is one of ARTICLE_KINDS or NOT_ARTICLE_KINDS; for the latter every
    other field may be None. `body_html` is the article body as HTML (for
    picture and text posts it is built from the page's script data), ready for
    the Markdown converter; `body_markdown` is a body that is Markdown already (the
    archive's own files and its Hugo export's pages), kept as it is. `link` is a bare seed
    request that was never fetched; `document` a file that holds no article at all (a Hugo
    section page, an about page, a plain Markdown document).
    """

    kind: str
    title: str | None = None
    account: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    short_url: str | None = None
    biz: str | None = None
    mid: str | None = None
    idx: str | None = None
    sn: str | None = None
    account_id: str | None = None
    cover: str | None = None
    digest: str | None = None
    original: bool | None = None
    source_url: str | None = None
    paid: bool = False
    shared_url: str | None = None
    body_html: str = ""
    body_markdown: str | None = None
    status: str | None = None  # what an archived copy (the archive's own Markdown) says
    reason: str | None = None  # why a message page's article cannot be read, when it says
    fetched_at: datetime | None = None
    seed_date: datetime | None = None  # a seed file's date: the best known until fetched
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def is_article(self) -> bool:
        return self.kind in ARTICLE_KINDS

    @property
    def key(self) -> str | None:
        """`biz:mid:idx` once known; a short link's key until the page resolves it; else a
        hash of the URL (temporary links, pages from elsewhere the seed bot archived)."""
        if self.biz and self.mid and self.idx:
            return f"{self.biz}:{self.mid}:{self.idx}"
        if self.short_url:
            return "s:" + self.short_url.rstrip("/").rsplit("/", 1)[-1]
        if self.url:
            return "u:" + hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:16]
        return None


@dataclass(frozen=True)
class Response:
    """What the server answered with a fetched page: kept beside its raw capture."""

    url: str  # where the page came from, after redirects
    status: int
    headers: list[tuple[str, str]]


@dataclass
class Capture:
    """One page in hand, however it came (fetched, read from a file, a stored raw capture):
    what the archiving pipeline takes in."""

    page: Page
    raw: bytes
    fetched_at: datetime
    origin: str  # the URL or path it came from, as messages name it
    link_key: str | None = None  # the key of the link it was asked for by (a short link's)
    response: Response | None = None  # for a fetched page (None: read from a file)
