"""One path for every article that comes in: `fetch`, `harvest`, `import` and `rebuild`.

1. `render(page, raw)`: pure. The body is converted once, with its image destinations
   left open, its links, its search copy and the compressed raw page. Nothing in it
   depends on the archive, so an import makes it in worker processes.
2. `decide(archive, capture, rendering)`: read-only. What the page is and what should
   change: the article's key (and the short-link key it takes over), whether the raw
   page is a new version, where the Markdown goes, which images are stored already and
   which to fetch.
3. `harvester.fetching.fetch_images(client, plan.wanted_images)`: network only, no writes.
4. `save(archive, capture, plan, rendering, images)`: every write. Image, raw and Markdown
   files first, then one transaction for the rows (rekeying included), so a crash leaves
   at worst an unreferenced file, never a row naming a missing one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from archive.files import (
    ImageData,
    StoredImage,
    gzip_raw,
    resolve_inside,
    store_image_data,
    store_raw,
    write_file,
)
from archive.frontmatter import with_field
from archive.fulltext import search_copy
from archive.index import (
    ImageEntry,
    LinkEntry,
    mark_status,
    note_first_capture,
    record_capture_response,
    rekey_article,
    save_article,
    save_images,
    save_links,
    update_rendering,
    write_transaction,
)
from archive.names import article_relpath
from harvester.archiver import Archive
from harvester.document import render_article
from harvester.errors import InputError
from harvester.links import find_article_links
from harvester.markdown import BodyTemplate, convert_template
from harvester.mdbody import markdown_template, stored_image_name
from harvester.model import Capture, Page
from harvester.reader import read_stored_capture

NOT_DOWNLOADED = "not downloaded (--no-images)"
NOT_BESIDE = "not found beside the imported file"

# --------------------------------------------------------------------------- 1. render


@dataclass(frozen=True)
class Rendering:
    """A page's conversion, independent of the archive: made once per article."""

    body: BodyTemplate
    images: list[str]  # every image the article shows: the body's, then the cover
    content_hash: str
    earlier_hash: str  # the same content as hashed by archives before content_hash
    remote_markdown: str  # the Markdown with every image left remote
    remote_search_body: str  # its search copy
    links: list[LinkEntry]
    raw_gzip: bytes | None

    @property
    def hashes(self) -> tuple[str, str]:
        return self.content_hash, self.earlier_hash

    def markdown(self, local: Mapping[str, str]) -> str:
        """The Markdown with the images in `local` at their stored paths, the rest remote."""
        return self.body.fill(local) if local else self.remote_markdown


def content_hash(title: str | None, body: BodyTemplate) -> str:
    """What makes two captures the same version: the title and the body as converted, each
    image named by its host and path; not the page's HTML, so the same article captured in
    a changed template, or with other image parameters, is the same version."""
    identities = {url: _image_identity(url) for url in body.image_urls}
    text = f"v2\0{title or ''}\0{body.fill(identities)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def earlier_content_hash(page: Page, markdown: str | None) -> str:
    """The hash archives made before content_hash: of the body's HTML (or of a Markdown body
    with its images left remote), so an article archived then is still the same version."""
    if markdown is None:
        text = f"{page.title or ''}\0{page.body_html}"
    else:
        text = f"{page.title or ''}\0markdown\0{markdown}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _image_identity(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path}" if parts.netloc else url


def render(page: Page, raw: bytes | None) -> Rendering:
    """Convert an article page once (`raw`: the page's bytes, compressed for raw/ here).

    A body that is Markdown already (Page.body_markdown) is kept as it is; only its images
    are left open.
    """
    markdown = page.body_markdown
    body = convert_template(page.body_html) if markdown is None else markdown_template(markdown)
    remote = body.fill()
    images = list(dict.fromkeys(body.image_urls))
    if page.cover and page.cover not in images:
        images.append(page.cover)
    source = page.body_html if markdown is None else markdown
    links = [LinkEntry(to_url=link.url, to_key=link.key) for link in find_article_links(source)]
    return Rendering(
        body,
        images,
        content_hash(page.title, body),
        earlier_content_hash(page, None if markdown is None else remote),
        remote,
        search_copy(remote),
        links,
        gzip_raw(raw) if raw is not None else None,
    )


# --------------------------------------------------------------------------- 2. decide

# What a page that cannot be archived is, for the command to act on (stop, skip, fail).
VERIFICATION, BARE_LINK, NOT_ARTICLE, NEVER_ARCHIVED, NO_KEY = (
    "verification",
    "bare-link",
    "not-article",
    "never-archived",
    "no-key",
)


@dataclass
class Plan:
    """What decide() found a page to be, and what save() is to do about it."""

    action: str  # "save", "status" (deleted, blocked...), "rerender" (rebuild) or "refuse"
    key: str | None = None
    refusal: str | None = None  # for "refuse": VERIFICATION, BARE_LINK, ...
    problem: str | None = None  # for "refuse": one line naming the page
    take_over: str | None = None  # an archived short-link key the article moves from
    raw_path: str | None = None  # the stored raw capture, when this one is no new version
    same_as: str | None = None  # the archived hash this capture's content was found to equal
    md_path: str = ""
    first_fetched_at: datetime | None = None
    status: str = "live"  # what the article is once saved (its Markdown says it too)
    known_images: dict[str, StoredImage] = field(default_factory=dict)
    wanted_images: list[str] = field(default_factory=list)  # to download
    local_images: list[str] = field(default_factory=list)  # stored ones a file links: to read


def refuse(refusal: str, problem: str) -> Plan:
    return Plan("refuse", refusal=refusal, problem=problem)


def decide(archive: Archive, capture: Capture, rendering: Rendering | None) -> Plan:
    """What archiving `capture` means for this archive; reads it, never writes it.

    `rendering` is render(capture.page, …) for an article page (None otherwise).
    """
    page, origin = capture.page, capture.origin
    if page.kind == "verification":
        return refuse(VERIFICATION, f"{origin}: WeChat served its verification page")
    if page.kind == "link":
        link = page.url or page.short_url or "its link"
        return refuse(
            BARE_LINK, f"{origin}: a bare link to {link}, never fetched; run harvester fetch on it"
        )
    if page.kind == "document":
        return refuse(NOT_ARTICLE, f"{origin}: not an article")
    choice = archive.key_for(page, capture.link_key)
    key, take_over, current = choice.key, choice.take_over, choice.row
    if not page.is_article:
        if current is None:
            why = f" ({page.reason})" if page.reason else ""
            return refuse(
                NEVER_ARCHIVED, f"{origin}: {page.kind} page{why}; the article was never archived"
            )
        return Plan("status", key, take_over=take_over, md_path=current["md_path"] or "")
    if key is None or rendering is None:
        return refuse(NO_KEY, f"{origin}: the page names no article")
    same = current is not None and current["content_hash"] in rendering.hashes
    proven_same = None
    if current is not None and not same and _renders_the_same(archive, current, rendering):
        same, proven_same = True, current["content_hash"]
    captures = (first_fetch(current), page.fetched_at, capture.fetched_at)
    first = min(moment for moment in captures if moment is not None)
    md_path = (current or {}).get("md_path") or article_relpath(
        page.account, page.published_at or first, page.title, key
    )
    known = archive.known_images(take_over or key) if current is not None else {}
    wanted = [url for url in rendering.images if url not in known]
    local = [url for url in wanted if stored_image_name(url) == url]
    # A served page is the article live; an archived copy read back keeps the status this
    # archive knows, else the one it shows (a copy proves nothing newer).
    status = "live"
    if page.status is not None:
        status = current["status"] if current is not None else page.status
    return Plan(
        "save",
        key,
        take_over=take_over,
        raw_path=current["raw_path"] if same else None,
        same_as=proven_same,
        md_path=md_path,
        first_fetched_at=first,
        known_images=known,
        wanted_images=[url for url in wanted if url not in local],
        local_images=local,
        status=status,
    )


def _renders_the_same(archive: Archive, row: Mapping[str, Any], rendering: Rendering) -> bool:
    """Whether the archived version of `row`, its raw capture converted by this program,
    is `rendering`'s content: a capture whose hash differs only because the converter
    changed since the article was archived is no new version. An archived version with no
    readable capture is taken to differ."""
    if not row.get("raw_path"):
        return False
    try:
        _raw, page = read_stored_capture(archive.root, row["raw_path"])
    except (InputError, OSError):
        return False
    if not page.is_article:
        return False
    return render(page, None).content_hash == rendering.content_hash


def decide_rebuild(archive: Archive, row: Mapping[str, Any], capture: Capture) -> Plan:
    """Rebuilding an archived article from its raw capture: a new rendering, nothing else."""
    page = capture.page
    if not page.is_article:
        return refuse(NEVER_ARCHIVED, f"{row['key']}: the raw capture is a {page.kind} page")
    page.short_url = page.short_url or row["short_url"]
    page.fetched_at = datetime.fromisoformat(row["first_fetched_at"])
    if page.key is None or page.key != row["key"]:
        page.biz, page.mid, page.idx = row["biz"], row["mid"], row["idx"]
    return Plan(
        "rerender",
        row["key"],
        md_path=row["md_path"],
        status=row["status"],
        known_images=archive.known_images(row["key"]),
    )


def first_fetch(row: Mapping[str, Any] | None) -> datetime | None:
    value = row.get("first_fetched_at") if row else None
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def not_downloaded(plan: Plan) -> dict[str, str]:
    """The images of a plan as `save` takes them when nothing is fetched (--no-images)."""
    return dict.fromkeys(plan.wanted_images, NOT_DOWNLOADED)


# --------------------------------------------------------------------------- 3. save


def save(
    archive: Archive,
    capture: Capture,
    plan: Plan,
    rendering: Rendering | None = None,
    images: Mapping[str, ImageData | str] | None = None,
) -> str:
    """Carry out a plan: "new", "updated", "unchanged" or "deleted" (a status change).

    `images`: fetch_images' answer for plan.wanted_images (or not_downloaded(plan)).
    """
    if plan.action == "status":
        return _save_status(archive, capture, plan)
    assert rendering is not None and plan.key is not None, "only article plans save a page"
    if plan.action == "rerender":
        return _rerender(archive, capture.page, plan, rendering)
    return _save_article(archive, capture, plan, rendering, images or {})


def _save_status(archive: Archive, capture: Capture, plan: Plan) -> str:
    """A status change is a revision: the Markdown file says it at once, then the row."""
    assert plan.key is not None
    status = capture.page.kind
    if plan.md_path:
        with contextlib.suppress(OSError, ValueError):  # no readable file: rebuild makes it
            text = resolve_inside(archive.root, plan.md_path).read_text(encoding="utf-8")
            write_file(archive.root, plan.md_path, with_field(text, "status", status).encode())
    with write_transaction(archive.db):
        if plan.take_over:
            rekey_article(archive.db, plan.take_over, plan.key)
        changed = mark_status(archive.db, plan.key, status, capture.fetched_at)
    return "deleted" if changed else "unchanged"


def _save_article(
    archive: Archive,
    capture: Capture,
    plan: Plan,
    rendering: Rendering,
    images: Mapping[str, ImageData | str],
) -> str:
    page, key = capture.page, plan.key
    assert key is not None
    stored = store_images(archive, rendering.images, plan.known_images, images)
    raw_path = plan.raw_path or store_raw(
        archive.root,
        page.biz or "short",
        page.mid or key.split(":")[-1],
        page.idx or "0",
        capture.fetched_at,
        capture.raw,
        gzipped=rendering.raw_gzip,
    )
    page.fetched_at = plan.first_fetched_at
    local = local_paths(archive, plan.md_path, stored)
    body = rendering.markdown(local)
    text = render_article(page, body, status=plan.status)
    write_file(archive.root, plan.md_path, text.encode("utf-8"))
    db = archive.db
    with write_transaction(db):
        if plan.take_over:
            rekey_article(db, plan.take_over, key)
        outcome = save_article(
            db,
            page,
            key=key,
            md_path=plan.md_path,
            content_hash=rendering.content_hash,
            earlier_hash=plan.same_as or rendering.earlier_hash,
            body_text=body,
            raw_path=raw_path,
            fetched_at=capture.fetched_at,
            search_body=search_copy(body) if local else rendering.remote_search_body,
            status=plan.status,
        )
        if outcome != "new":  # a new row already holds this body; an archived one may not
            update_rendering(db, key, md_path=plan.md_path, body_text=body)
        first = page.fetched_at
        if first is not None and (outcome != "new" or first < capture.fetched_at):
            note_first_capture(db, key, first)  # an earlier copy of it: the row says so too
        save_images(db, key, image_entries(stored))
        save_links(db, key, rendering.links)
        if capture.response is not None and plan.raw_path is None:
            answer = capture.response
            record_capture_response(
                db,
                raw_path,
                url=answer.url,
                status=answer.status,
                headers=answer.headers,
                at=capture.fetched_at,
            )
    return outcome


def _rerender(archive: Archive, page: Page, plan: Plan, rendering: Rendering) -> str:
    assert plan.key is not None
    local = local_paths(archive, plan.md_path, plan.known_images)
    body = rendering.markdown(local)
    text = render_article(page, body, status=plan.status)
    written = write_file(archive.root, plan.md_path, text.encode("utf-8"))
    changed = update_rendering(
        archive.db,
        plan.key,
        md_path=plan.md_path,
        body_text=body,
        content_hash=rendering.content_hash,
    )
    return "updated" if written or changed else "unchanged"


def store_images(
    archive: Archive,
    urls: list[str],
    known: Mapping[str, StoredImage],
    fetched: Mapping[str, ImageData | str],
) -> dict[str, StoredImage | str]:
    """Each image of an article → its stored file, or why it is missing; new ones written."""
    result: dict[str, StoredImage | str] = {}
    for url in urls:
        missing = NOT_BESIDE if stored_image_name(url) == url else NOT_DOWNLOADED
        image = known.get(url) or fetched.get(url, missing)
        if isinstance(image, ImageData):
            image = store_image_data(archive.root, image)
        result[url] = image
    return result


def local_paths(
    archive: Archive, md_path: str, images: Mapping[str, StoredImage | str]
) -> dict[str, str]:
    """Stored images by URL, as paths relative to the Markdown file that shows them."""
    folder = (archive.root / md_path).parent
    return {
        url: os.path.relpath(archive.root / image.relpath, folder)
        for url, image in images.items()
        if isinstance(image, StoredImage)
    }


def image_entries(images: Mapping[str, StoredImage | str]) -> list[ImageEntry]:
    return [
        ImageEntry(position, url, image=image, error=None)
        if isinstance(image, StoredImage)
        else ImageEntry(position, url, image=None, error=image)
        for position, (url, image) in enumerate(images.items())
    ]
