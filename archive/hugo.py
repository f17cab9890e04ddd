"""Export the archive as a Hugo site tree: content/posts/, static/images/, a minimal scaffold.

Layout written under SITE_DIR:

    content/posts/<account>/<YYYY>/<YYYY-MM-DD>-<title>-<hash8>.md   one page per article
    static/images/<sha[:2]>/<sha256>.<ext>                           images the pages show
    .wechat-archive-export.json                                      what this export wrote
    hugo.toml, layouts/_default/*.html                               only for a site with no config

Every path component is a lower-case slug of letters, digits and dashes (Chinese kept),
so a page's file path is exactly its URL path: `/posts/<account>/<YYYY>/<file>/`. Tags
and categories, which Hugo makes folders of, go through `archive.names.taxonomy_term`.
Front matter is the seed's (title, date, draft, tags, categories) plus the archive's
fields; two archive fields are renamed because Hugo reserves the names: `url` (it
would replace the page's permalink) becomes `wechat_url` and `kind` (Hugo >= 0.122
rejects unknown kinds) becomes `wechat_kind`. `status` comes from the index, so an
article deleted after it was archived says so, and its page starts with a notice.

Image links (relative to the archive's Markdown file) become `/images/...`, served from
static/; the generated config sets relativeURLs so the built site also works below a
sub-path or opened from disk. Images are hard-linked from the archive when possible
(copied otherwise) and skipped when already there with the same size.

Incremental and safe: files are written with write_atomic (identical content writes
nothing); the manifest (`archive.hugo_manifest`) lists every article file and image an
export wrote, and only those are ever removed (when gone from the archive). The config
and layouts (`archive.hugo_site`) are created only when the site has no Hugo config at
all and are never overwritten. Page paths come from `archive.names.page_relpath`.
Nothing taken from an article (title, account, the index's md_path) can name a path
outside SITE_DIR: output names are slugs, and every path goes through resolve_inside.
An article that cannot be exported is named in the summary's `skipped` (the command
prints each and exits 1) and costs only itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.errors import InputError, unexpected
from archive.files import resolve_inside, write_atomic
from archive.frontmatter import split_front_matter, write_front_matter, yaml_value
from archive.hugo_manifest import read_manifest, write_manifest
from archive.hugo_site import STATIC_IMAGES, inside_site, site_root, write_scaffold
from archive.index import open_index
from archive.names import CONTENT_DIR, key_hash, page_relpath, taxonomy_term
from archive.svg import active_content
from archive.times import parse_time

# Archive front-matter keys renamed on export (Hugo gives these names a meaning).
RENAMED = {"url": "wechat_url", "kind": "wechat_kind"}
# Keys Hugo reserves in front matter: never passed through from an archive file.
HUGO_RESERVED = frozenset(
    {
        "aliases",
        "build",
        "_build",
        "cascade",
        "date",
        "description",
        "draft",
        "expirydate",
        "headless",
        "images",
        "iscjklanguage",
        "keywords",
        "kind",
        "lang",
        "lastmod",
        "layout",
        "linktitle",
        "markup",
        "menu",
        "menus",
        "modified",
        "outputs",
        "params",
        "path",
        "pubdate",
        "publishdate",
        "resources",
        "sitemap",
        "slug",
        "summary",
        "translationkey",
        "type",
        "unpublishdate",
        "url",
        "videos",
        "weight",
    }
)
# Archive fields in the order they follow the seed's keys.
ARCHIVE_FIELDS = (
    "account",
    "author",
    "wechat_url",
    "short_url",
    "cover",
    "digest",
    "original",
    "paid",
    "source_url",
    "shared_url",
    "wechat_kind",
    "status",
    "published",
    "fetched",
)
STATUS_NOTICES = {
    "deleted": "该内容已被发布者删除",
    "blocked": "此内容因违规无法查看",
    "unavailable": "该内容暂时无法查看",
    "expired": "原文链接已过期",
}

# A Markdown link/image destination naming an archive image (relative to the .md file).
_IMAGE_LINK = re.compile(
    r"(?P<open>\]\(\s*<?)"
    r"(?P<path>(?:\.{1,2}/)*images/(?P<prefix>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{2,5}))"
    r"(?=[>)\s])"
)
_SHORTCODE_OPEN = re.compile(r"\{\{([<%])")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# --- summary ------------------------------------------------------------------


@dataclass
class ExportSummary:
    """What one export did; str() is the one-line report the CLI prints."""

    site_dir: Path
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    images: int = 0
    images_copied: int = 0
    images_removed: int = 0
    images_missing: int = 0
    images_withheld: int = 0  # SVGs that could run code when opened: never published
    not_archived: int = 0
    skipped: list[str] = field(default_factory=list)
    written_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)
    scaffold: list[str] = field(default_factory=list)

    @property
    def exported(self) -> int:
        return self.written + self.unchanged

    def __str__(self) -> str:
        line = (
            f"Exported {self.exported} articles to {self.site_dir} "
            f"({self.written} written, {self.unchanged} unchanged, {self.removed} removed), "
            f"{self.images} images"
        )
        if self.not_archived:
            line += f"; {self.not_archived} known only by status, without text, not exported"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped ({self.skipped[0]}"
            line += ", ...)" if len(self.skipped) > 1 else ")"
        if self.images_missing:
            line += f"; {self.images_missing} images missing from the archive"
        if self.images_withheld:
            plural = "s" if self.images_withheld != 1 else ""
            line += f"; {self.images_withheld} SVG image{plural} that could run code not published"
        return line


# --- the page's front matter ---------------------------------------------------


def _terms(value: Any) -> list[str]:
    """Tags or categories as Hugo can make folders of them (archive.names.taxonomy_term)."""
    values = value if isinstance(value, list) else [value]
    terms = (taxonomy_term(str(item)) for item in values if item is not None)
    return list(dict.fromkeys(term for term in terms if term))


def hugo_front_matter(meta: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """The exported page's front matter: the seed's keys, then the archive's fields.

    `meta` is the archive file's front matter, `row` its index row (which has the
    final say on status, and fills in what the file lacks).
    """
    account = meta.get("account") or row.get("account")
    title = meta.get("title") or row.get("title") or "无标题"
    date = meta.get("date") or row.get("published_at") or meta.get("fetched")
    tags = _terms(meta.get("tags")) or _terms(["fetched", account])
    fields: dict[str, Any] = {
        "title": str(title),
        "date": date,
        "draft": False,
        "tags": tags,
        "categories": _terms(meta.get("categories")),
    }
    if meta.get("digest"):
        fields["description"] = str(meta["digest"])
    extra: dict[str, Any] = {}
    for key, value in meta.items():
        name = RENAMED.get(key, key)
        if (
            name in fields
            or name in extra
            or not _FIELD_NAME.match(name)
            or (key not in RENAMED and key.lower() in HUGO_RESERVED)
        ):
            continue
        extra[name] = value
    extra["account"] = account
    extra["wechat_kind"] = meta.get("wechat_kind") or meta.get("kind") or row.get("kind")
    extra["status"] = row.get("status") or meta.get("status") or "live"
    extra["archive_key"] = row["key"]
    ordered = [name for name in ARCHIVE_FIELDS if name in extra]
    ordered += [name for name in extra if name not in ordered]
    return write_front_matter(fields | {name: extra[name] for name in ordered})


# --- the body --------------------------------------------------------------------


def rewrite_images(body: str) -> tuple[str, list[str]]:
    """Archive image links -> `/images/<sha[:2]>/<sha>.<ext>`; also the images' relpaths."""
    found: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match["prefix"] != match["sha"][:2]:
            return match.group()
        relpath = f"images/{match['prefix']}/{match['sha']}.{match['ext']}"
        if relpath not in found:
            found.append(relpath)
        return f"{match['open']}/{relpath}"

    return _IMAGE_LINK.sub(replace, body), found


def escape_shortcodes(body: str) -> str:
    """Make text that looks like a Hugo shortcode (`{{< x >}}`, `{{% x %}}`) render literally.

    A delimited one is wrapped in Hugo's comment form (`{{</* x */>}}`, shown as written);
    a lone opener gets a zero-width space after its braces.
    """
    out: list[str] = []
    pos = 0
    while True:
        match = _SHORTCODE_OPEN.search(body, pos)
        if match is None:
            out.append(body[pos:])
            return "".join(out)
        out.append(body[pos : match.start()])
        mark = match.group(1)
        closer = (">" if mark == "<" else "%") + "}}"
        close = body.find(closer, match.end())
        if close < 0:
            out.append("{{\u200b" + mark)
            pos = match.end()
            continue
        out.append("{{" + mark + "/*" + body[match.end() : close] + "*/" + closer)
        pos = close + len(closer)


def status_notice(status: str | None) -> str:
    """A one-line notice for an article that is no longer live ('' when it is)."""
    if not status or status == "live":
        return ""
    reason = STATUS_NOTICES.get(status, f"原文状态：{status}")
    return f"> 存档说明：{reason}（status: {status}），以下是此前保存的副本。\n\n"


def hugo_page(meta: Mapping[str, Any], body: str, row: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The exported page's text, and the archive images it shows."""
    body, images = rewrite_images(body)
    body = escape_shortcodes(body)
    text = hugo_front_matter(meta, row) + status_notice(row.get("status")) + body.lstrip("\n")
    return text.rstrip("\n") + "\n", images


# --- files -----------------------------------------------------------------------


def place_image(source: Path, target: Path) -> bool:
    """Put an archive image at `target` (hard link, else copy); False if already there."""
    size = source.stat().st_size
    if target.is_file() and target.stat().st_size == size:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    os.close(fd)
    os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError:
        write_atomic(target, source.read_bytes())
        return True
    try:
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _remove(site: Path, relpath: str, stop: str) -> bool:
    """Delete one file an export wrote, then its folders up to `stop` while empty."""
    try:
        path = resolve_inside(site, relpath)
    except ValueError:
        return False
    if not path.is_file():
        return False
    path.unlink()
    top = (site / stop).resolve()
    folder = path.parent
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent
    return True


def _is_ours(path: Path, key: str) -> bool:
    """Whether an existing page file was written by an export of article `key`."""
    try:
        head = path.read_text("utf-8", errors="replace")[:8192]
    except OSError:
        return False
    return f"\narchive_key: {yaml_value(key)}\n" in head


# --- export ------------------------------------------------------------------------


def _rows(archive_dir: Path) -> list[dict[str, Any]]:
    db = open_index(archive_dir / "archive.db")
    try:
        return list(
            db.query(
                "SELECT key, title, account, published_at, kind, status, md_path FROM articles "
                "ORDER BY published_at, key"
            )
        )
    finally:
        db.close()


def export_hugo(archive_dir: Path, site_dir: Path) -> ExportSummary:
    """Write (or bring up to date) a Hugo site tree at `site_dir` from the archive.

    An article that cannot be exported (its Markdown unreadable, its page not writable,
    an error no check foresaw) is named in `summary.skipped` and costs only itself.
    """
    archive_dir = Path(archive_dir)
    if not (archive_dir / "archive.db").is_file():
        raise InputError(f"{archive_dir}: no archive here (no archive.db)")
    rows = _rows(archive_dir)  # before any write: an archive.db SQLite cannot read is one line
    summary = ExportSummary(site_dir=Path(site_dir))
    site = site_root(site_dir)
    summary.scaffold = write_scaffold(site)
    export = _Export(archive_dir, site, summary, *read_manifest(site))
    for row in rows:
        if not row.get("md_path"):
            summary.not_archived += 1
            continue
        try:
            export.page(row)
        except InputError:  # the site itself is unsafe to write (a folder linked outside)
            raise
        except OSError as error:
            summary.skipped.append(f"{row['key']}: not written: {error.strerror or error}")
        except Exception as error:
            summary.skipped.append(unexpected(row["key"], error))
    summary.images = len(export.images)
    _remove_stale(
        site,
        set(export.old_pages.values()) - set(export.pages.values()),
        export.old_images - export.images,
        summary,
    )
    write_manifest(site, export.pages, export.images)
    return summary


@dataclass
class _Export:
    """One export while it runs: what earlier exports wrote, and what this one wrote."""

    archive_dir: Path
    site: Path
    summary: ExportSummary
    old_pages: dict[str, str]
    old_images: set[str]
    pages: dict[str, str] = field(default_factory=dict)  # key -> page relpath
    taken: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)

    def page(self, row: Mapping[str, Any]) -> None:
        """Write one article's page (and place its images), or say in `skipped` why not."""
        key, summary = row["key"], self.summary
        loaded = _load(self.archive_dir, row["md_path"])
        if isinstance(loaded, str):
            summary.skipped.append(f"{key}: {loaded}")
            return
        meta, body = loaded
        published = parse_time(row.get("published_at")) or parse_time(meta.get("date"))
        account = row.get("account") or meta.get("account")
        relpath = page_relpath(account, published, row.get("title") or meta.get("title"), key)
        if relpath in self.taken:  # two keys with one hash8: keep both, apart
            relpath = relpath.removesuffix(".md") + f"-{key_hash(key, 16)}.md"
        self.taken.add(relpath)
        target = inside_site(self.site, relpath)
        if target.exists() and self.old_pages.get(key) != relpath and not _is_ours(target, key):
            summary.skipped.append(f"{key}: {relpath} exists and was not written by an export")
            return
        text, page_images = hugo_page(meta, body, row)
        _place_images(self.archive_dir, self.site, page_images, self.images, summary)
        try:
            written = write_atomic(target, text.encode("utf-8"))
        except OSError as error:
            summary.skipped.append(f"{key}: {relpath}: not written: {error.strerror or error}")
            return
        if written:
            summary.written += 1
            summary.written_paths.append(relpath)
        else:
            summary.unchanged += 1
        self.pages[key] = relpath


def _place_images(
    archive_dir: Path, site: Path, page_images: list[str], images: set[str], summary: ExportSummary
) -> None:
    """Put a page's images into static/ once each; `images` collects the site relpaths."""
    for image in page_images:
        source = archive_dir / image
        site_image = f"static/{image}"
        if not source.is_file():
            summary.images_missing += 1
            continue
        if source.suffix == ".svg" and active_content(source.read_bytes()) is not None:
            summary.images_withheld += 1  # stored by an older version; never published
            continue
        if site_image not in images:
            images.add(site_image)
            if place_image(source, inside_site(site, site_image)):
                summary.images_copied += 1


def _remove_stale(site: Path, pages: set[str], images: set[str], summary: ExportSummary) -> None:
    """Remove the pages and images an earlier export wrote that this one did not."""
    for relpath in sorted(pages):
        if _remove(site, relpath, CONTENT_DIR):
            summary.removed += 1
            summary.removed_paths.append(relpath)
    for relpath in sorted(images):
        if _remove(site, relpath, STATIC_IMAGES):
            summary.images_removed += 1


def _load(archive_dir: Path, md_path: str) -> tuple[dict[str, Any], str] | str:
    """(front matter, body) of an article's archived Markdown, or why it cannot be read."""
    try:
        path = resolve_inside(archive_dir, md_path)
    except ValueError:
        return f"unsafe md_path {md_path!r}"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = path.read_text("utf-8")
        try:
            return split_front_matter(text)
        except ValueError as error:
            return f"{md_path}: {error}"
    return f"{md_path}: missing or unreadable"
