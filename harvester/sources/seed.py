"""`kind = "seed"`: seed-format files (the old Hugo site's Markdown), a folder or one file.

A folder is searched recursively for `*.md` and `*.txt`, in sorted path order; hidden
files and folders (`.git`, …) and Hugo's section pages (`_index.md`) are left out. Each
article file (the seed format, or the archive's own Markdown and its Hugo export's pages,
harvester/seedfile.py) yields a Listing with `seed_path` set (import the file's content
instead of fetching) and the article's link; a bare-link file (one that only names a
link) yields its link with `seed_path` None (fetch it). A file that holds no article (an
about page, a plain document) is left out silently and counted in `skipped`; one that
does not parse (a truncated seed) is skipped with a warning `path: reason`. Two files of
the same article both yield (each is content to import; the archive keys by article).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harvester.errors import InputError
from harvester.links import LinkError, parse_link
from harvester.reader import looks_like_page
from harvester.seedfile import looks_like_seed, parse_seed
from harvester.sources.base import BaseSource, Listing, register

SUFFIXES = (".md", ".txt")
SKIPPED_NAMES = frozenset({"_index.md"})


def seed_files(root: Path) -> list[Path]:
    """The seed-format candidates under `root` (or `root` itself when it is a file)."""
    if root.is_file():
        return [root]
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.name not in SKIPPED_NAMES and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def seed_listing(text: str, path: Path, *, source: str = "") -> Listing | None:
    """The Listing of one seed-format file's text, None for a file that holds no article;
    InputError saying why it is not one."""
    if not looks_like_seed(text) and not looks_like_page(text):
        return None  # a plain document
    page = parse_seed(text)
    if page.kind == "document":
        return None
    url = page.url or page.short_url
    if not url:
        raise InputError("the file names no article link")
    try:
        link = parse_link(url)
    except LinkError as error:
        raise InputError(str(error)) from None
    return Listing(
        link=link,
        title=page.title,
        published_at=page.published_at,
        cover=page.cover,
        digest=page.digest,
        source=source,
        seed_path=None if page.kind == "link" else path,
    )


@register("seed")
class SeedSource(BaseSource):
    KEYS = frozenset({"path"})

    def default_name(self) -> str:
        path = self.config.get("path")
        return f"seed:{path}" if isinstance(path, str) else "seed"

    def check(self) -> None:
        self.check_common()
        path = self.path_of("path")
        if not path.exists():
            raise self.config_error("path", f"names {path}, which does not exist")
        if not (path.is_dir() or path.is_file()):
            raise self.config_error("path", f"names {path}, which is neither a folder nor a file")

    def listings(self) -> Iterator[Listing]:
        self.check()
        root = self.path_of("path")
        for path in seed_files(root):
            shown = path.relative_to(root).as_posix() if path != root else path.name
            try:
                text = path.read_bytes().decode("utf-8-sig")
                listing = seed_listing(text, path, source=self.name)
            except UnicodeDecodeError:
                self.warn(f"{shown}: not UTF-8 text; skipped")
                continue
            except OSError as error:
                self.warn(f"{shown}: cannot be read ({error.strerror}); skipped")
                continue
            except InputError as error:
                self.warn(f"{shown}: {error}; skipped")
                continue
            if listing is None:
                self.skipped += 1
                continue
            yield listing
