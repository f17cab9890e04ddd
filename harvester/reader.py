"""Reading one saved source (a served page, a seed-format file or one of the archive's own
Markdown files) into a Page, and the stored images such a file links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from archive.files import ImageData, identify_image, read_raw
from harvester.errors import InputError
from harvester.model import Capture, Page
from harvester.page import parse_page
from harvester.seedfile import looks_like_seed, parse_seed

META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", re.I)
HTML_OPEN = re.compile(r"<html[\s>]", re.I)
HTML_CLOSE = re.compile(r"</html\s*>", re.I)
# A served page (or a piece of one): anything else without front matter is a document.
SERVED_PAGE = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s>]|js_content", re.I)


def decode_source(data: bytes) -> str:
    """Text of a saved file: UTF-8 (with or without BOM), else the charset its <meta> names."""
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192]:
        raise InputError("binary file, not HTML or Markdown")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    raise InputError("not UTF-8 text and no usable <meta charset>")


def decode_stored(data: bytes) -> str:
    """Text of a raw capture the archive stored: read as decode_source reads a file, but
    a byte that is not UTF-8 becomes U+FFFD, as it did when the page was fetched (one bad
    byte must not keep an archived page from being rebuilt, ever)."""
    try:
        return decode_source(data)
    except InputError:
        if not data.strip():
            raise
    return data.decode("utf-8", errors="replace")


def read_stored_capture(root: Path, raw_path: str) -> tuple[bytes, Page]:
    """A raw capture the archive stored, and its page parsed as `rebuild` parses it;
    InputError, naming the file, for one that cannot be read or parsed."""
    raw = read_raw(root, raw_path)
    try:
        return raw, parse_source(decode_stored(raw))
    except InputError as error:
        raise InputError(f"{raw_path}: {error}") from None


def looks_like_page(text: str) -> bool:
    """Whether text without front matter is a served page (or a piece of one), not a
    plain document."""
    return SERVED_PAGE.search(text) is not None


def parse_source(text: str) -> Page:
    """A seed-format file (or one of the archive's own) if it opens with front matter, a
    served WeChat page if it is HTML, else a `document` (a plain text or Markdown file)."""
    if looks_like_seed(text):
        return parse_seed(text)
    if not looks_like_page(text):
        return Page(kind="document")
    if HTML_OPEN.search(text[:65536]) and not HTML_CLOSE.search(text[-65536:]):
        raise InputError("truncated page: it has <html> but no closing </html>")
    return parse_page(text)


def read_source(path: Path) -> Page:
    """Raises InputError, its message prefixed with the path, for anything unusable."""
    return read_capture(path).page


def read_capture(path: Path) -> Capture:
    """A saved source as the pipeline takes it: parsed, with its bytes (read once).

    Its capture time is the one the file records (a seed's `fetched`), else now.
    Raises InputError, its message prefixed with the path, for anything unusable.
    """
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or folder") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    try:
        page = parse_source(decode_source(data))
    except InputError as error:
        raise InputError(f"{path}: {error}") from None
    return Capture(page, data, page.fetched_at or datetime.now(UTC), str(path))


def read_stored_images(source: Path, names: list[str]) -> dict[str, ImageData | str]:
    """Images an article file links as stored (`images/<sha[:2]>/<sha>.<ext>`, see
    harvester/mdbody.py), read from beside it: the images/ folder of an archive, or the
    static/images/ of a Hugo site, in a folder above the file. Each is its bytes,
    identified, or why it is missing (also when its content does not match its name)."""
    folders = [place for above in source.absolute().parents for place in (above, above / "static")]
    return {name: _stored_image(folders, name, source) for name in names}


def _stored_image(folders: list[Path], name: str, source: Path) -> ImageData | str:
    sha = name.rsplit("/", 1)[-1].split(".", 1)[0]
    for folder in folders:
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError:
            continue
        try:
            image = identify_image(data)
        except ValueError:
            return f"{path}: not an image"
        return image if image.sha256 == sha else f"{path}: its content does not match its name"
    return f"{name}: not found beside {source}"
