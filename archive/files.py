"""Files in the archive: atomic writes, content-addressed images, raw pages.

Every write goes to a temporary file in the target's directory, is flushed and
fsynced, renamed over the target with os.replace, and the directory is fsynced,
so a crash leaves either the old file or the new one, never half of either (new
files written in an fsync_at_end block are synced together at its end).
Functions taking an archive `root` never write outside it (see resolve_inside).
This module does no network I/O.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import gzip
import hashlib
import io
import os
import re
import tempfile
import time
import typing
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from archive.errors import InputError
from archive.names import safe_component
from archive.svg import active_content
from archive.times import utc_stamp

if TYPE_CHECKING:  # Pillow is imported only when an image is measured
    from PIL.ImageFile import ImageFile


def resolve_inside(root: Path, relpath: str) -> Path:
    """The absolute path of `relpath` under `root`; ValueError if it would leave root.

    Rejects NUL, absolute paths (POSIX or Windows), backslashes, the root
    itself, and anything that resolves (through `..` or symlinks) outside root.
    """
    if not isinstance(relpath, str) or "\x00" in relpath or "\\" in relpath:
        raise ValueError(f"unsafe archive path: {relpath!r}")
    if PurePosixPath(relpath).is_absolute() or PureWindowsPath(relpath).drive:
        raise ValueError(f"archive path must be relative: {relpath!r}")
    base = _resolved_root(os.path.abspath(root))
    target = (base / relpath).resolve()
    if target == base or not target.is_relative_to(base):
        raise ValueError(f"archive path escapes the archive: {relpath!r}")
    return target


INDEX_FILES = ("archive.db", "archive.db-wal", "archive.db-shm")


def check_writable(root: Path) -> None:
    """InputError unless this process can write the archive folder and its index: a
    read-only archive is one line before any work, not a traceback at the first write (cron
    mails tracebacks)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root, prefix=".tmp-probe-"):
            pass
    except OSError as error:
        raise InputError(
            f"cannot write to the archive {root}: read-only ({error.strerror or error})"
        ) from None
    for name in INDEX_FILES:
        if (root / name).exists() and not os.access(root / name, os.W_OK):
            raise InputError(
                f"cannot write to the archive {root}: read-only ({name}: "
                f"{os.strerror(errno.EACCES)})"
            )


@functools.lru_cache(maxsize=64)
def _resolved_root(root: str) -> Path:
    """An archive root resolved once: each of its files is checked against it."""
    return Path(root).resolve()


@functools.cache
def _file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if not path.is_file() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


@dataclass
class _Unsynced:
    files: list[Path]
    folders: set[Path]


_UNSYNCED: contextvars.ContextVar[_Unsynced | None] = contextvars.ContextVar(
    "unsynced", default=None
)


@contextlib.contextmanager
def fsync_at_end() -> Iterator[None]:
    """In this block write_atomic leaves the fsyncs of the files it creates to the block's
    end, however it ends (a file it replaces is still synced before the rename).

    For a batch of articles whose index rows are committed after the block: the first
    fsync flushes the file system's journal for all of them, so the rest cost little,
    where four fsyncs an article each waited for their own flush. A crash inside the
    block can leave new files unsynced, but no committed row names them yet.
    """
    unsynced = _Unsynced([], set())
    token = _UNSYNCED.set(unsynced)
    try:
        yield
    finally:
        _UNSYNCED.reset(token)
        for path in unsynced.files:
            _fsync_path(path)
        for folder in unsynced.folders:
            _fsync_dir(folder)


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # replaced again since (a later version of the same file)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically; False (and nothing written) if already identical."""
    path = Path(path)
    if _same_bytes(path, data):
        return False
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    # Only a new file's fsync can wait: replacing a file must not risk its old content.
    unsynced = None if path.exists() else _UNSYNCED.get()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), _file_mode())
            if unsynced is None:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        if error.filename is None:  # a failed write names no file: say which (a full disk)
            error.filename = str(path)
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if unsynced is None:
        _fsync_dir(path.parent)
    else:
        unsynced.files.append(path)
        unsynced.folders.add(path.parent)
    return True


# A write in progress is `.tmp-*.part` beside its target; one this old was left by a write
# that was killed (a live one renames its file within seconds).
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"
TEMP_MAX_AGE = 600.0  # seconds
WRITTEN_FOLDERS = ("articles", "images", "raw")


def sweep_temp_files(root: Path, *, older_than: float = TEMP_MAX_AGE) -> int:
    """Remove the temporary files killed writes left in the archive `root`; how many.

    Every command that writes the archive does this as it starts (one walk of the tree).
    """
    cutoff = time.time() - older_than
    removed = 0
    for folder in WRITTEN_FOLDERS:
        for directory, _, names in os.walk(root / folder):
            for name in names:
                if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
                    continue
                path = Path(directory, name)
                with contextlib.suppress(OSError):
                    if path.lstat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
    return removed


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[typing.BinaryIO]:
    """A file written as a stream and put at `path` whole when the block ends (an export
    too large to hold in memory); on any failure `path` is left as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_file(root: Path, relpath: str, data: bytes) -> bool:
    """write_atomic to `relpath` inside the archive `root` (never outside it)."""
    return write_atomic(resolve_inside(root, relpath), data)


# --- images -----------------------------------------------------------------

_SVG_HEAD = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE\s+svg[^>]*>)\s*)*<svg[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(extension, mime) from the content's magic bytes, or None if not an image."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif", "image/avif"
        if brand in _HEIF_BRANDS:
            return "heic", "image/heic"
        return None
    if head[:2] == b"BM" and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
            return "bmp", "image/bmp"
        return None
    if head[:4] == b"\x00\x00\x01\x00" and len(data) >= 6 and data[4:6] != b"\x00\x00":
        return "ico", "image/x-icon"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif", "image/tiff"
    if _SVG_HEAD.match(data[:4096].removeprefix(b"\xef\xbb\xbf")):
        return "svg", "image/svg+xml"
    return None


@dataclass(frozen=True)
class StoredImage:
    """An image stored once under images/<sha[:2]>/<sha>.<ext>."""

    sha256: str
    relpath: str
    mime: str
    size: int
    width: int | None
    height: int | None


# Formats Pillow always reads: one it cannot read to the end is cut short or damaged (a
# download that stopped early shows half a picture, or none), so it is not an image we keep.
_READ_THROUGH = frozenset({"png", "jpg", "gif", "webp", "bmp"})
# A GIF, WebP or BMP is read through only up to this size: decoding takes its whole
# bitmap in memory (a JPEG is decoded at 1/8 scale, a PNG's chunks checked, not decoded).
READ_THROUGH_MAX_PIXELS = 16_000_000


def image_size(data: bytes, ext: str | None = None) -> tuple[int | None, int | None]:
    """(width, height) read by Pillow from the header, (None, None) when unknown.

    An image of a format Pillow always reads (`ext` in _READ_THROUGH) is also read to its
    end: ValueError if it is cut short or damaged.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if ext in _READ_THROUGH:
                    _read_through(image, ext)
    except Image.DecompressionBombError:  # too large to read through: measured by no one
        return None, None
    except Exception as error:
        if ext in _READ_THROUGH:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ValueError(f"a truncated or damaged image ({ext}: {reason})") from None
        return None, None
    return int(width), int(height)


def _read_through(image: ImageFile, ext: str) -> None:
    width, height = image.size
    if ext == "png":
        image.verify()  # every chunk's checksum, to the end, without the bitmap
    elif ext == "jpg":
        image.draft(None, (max(1, width // 8), max(1, height // 8)))
        image.load()
    elif width * height <= READ_THROUGH_MAX_PIXELS:
        image.load()


@dataclass(frozen=True)
class ImageData:
    """Downloaded image bytes, identified but not yet stored: the network step makes these
    (hashing and measuring off the writing thread), the save step stores them."""

    data: bytes
    sha256: str
    ext: str
    mime: str
    width: int | None
    height: int | None

    @property
    def relpath(self) -> str:
        return f"images/{self.sha256[:2]}/{self.sha256}.{self.ext}"


def identify_image(data: bytes) -> ImageData:
    """Type, digest and size of image bytes; ValueError if they are not an image. No I/O."""
    sniffed = sniff_image(data)
    if sniffed is None:
        raise ValueError("not an image")
    ext, mime = sniffed
    if ext == "svg" and (active := active_content(data)) is not None:
        raise ValueError(f"an SVG that could run code ({active}): kept as a remote link")
    width, height = (None, None) if ext == "svg" else image_size(data, ext)
    return ImageData(data, hashlib.sha256(data).hexdigest(), ext, mime, width, height)


def store_image_data(root: Path, image: ImageData) -> StoredImage:
    """Write an identified image content-addressed (once: the same bytes are never rewritten)."""
    path = resolve_inside(root, image.relpath)
    if not (path.is_file() and path.stat().st_size == len(image.data)):
        write_atomic(path, image.data)
    return StoredImage(
        image.sha256, image.relpath, image.mime, len(image.data), image.width, image.height
    )


def store_image(root: Path, data: bytes) -> StoredImage:
    """Store image bytes content-addressed (once); ValueError if they are not an image."""
    return store_image_data(root, identify_image(data))


# --- raw pages --------------------------------------------------------------


def gzip_raw(html: bytes) -> bytes:
    """The raw page as store_raw keeps it: the same bytes always give the same stream."""
    return gzip.compress(html, compresslevel=6, mtime=0)


def store_raw(
    root: Path,
    biz: str | None,
    mid: str | None,
    idx: str | None,
    fetched_at: datetime,
    html: bytes,
    *,
    gzipped: bytes | None = None,
) -> str:
    """Store a fetched page gzip-compressed; return its relpath.

    `raw/<biz>/<mid>_<idx>/<YYYYmmddTHHMMSSZ>.html.gz` (UTC; naive = UTC). The
    gzip stream is deterministic, so storing the same page again writes
    nothing; a different page fetched in the same second gets a hash suffix.
    `gzipped` is gzip_raw(html) when it was made ahead (by a worker process).
    """
    folder = "/".join(
        (
            "raw",
            safe_component(biz, fallback="unknown"),
            f"{safe_component(mid, 40, 'unknown')}_{safe_component(idx, 20, 'unknown')}",
        )
    )
    blob = gzip_raw(html) if gzipped is None else gzipped
    relpath = f"{folder}/{utc_stamp(fetched_at)}.html.gz"
    path = resolve_inside(root, relpath)
    if path.exists() and not _same_bytes(path, blob):
        relpath = f"{folder}/{utc_stamp(fetched_at)}-{hashlib.sha256(html).hexdigest()[:8]}.html.gz"
        path = resolve_inside(root, relpath)
    write_atomic(path, blob)
    return relpath


def read_raw(root: Path, relpath: str) -> bytes:
    """The page bytes stored by store_raw (gunzipped); InputError naming the file when it
    is missing, cut short (a copy or disk that failed) or damaged."""
    try:
        data = resolve_inside(root, relpath).read_bytes()
    except OSError as error:
        raise InputError(f"{relpath}: cannot read: {error.strerror or error}") from None
    if not relpath.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:  # not an end of input the user typed: the stream stops early
        raise InputError(f"{relpath}: truncated (its gzip stream ends early)") from None
    except (OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise InputError(f"{relpath}: damaged, not a gzip stream ({error})") from None
