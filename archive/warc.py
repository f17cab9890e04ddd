"""`harvester export warc`: the archive's raw captures and images as a WARC file (warcio).

One record per raw capture (every revision, at its fetch time): a `response` record with the
URL, status and headers recorded when it was fetched, or, for a capture with none recorded
(stored before they were, or read from a file), a `resource` record at the article's link;
then one `response` record per archived image at its original URL, so a replay tool such as
pywb shows the article with its images offline. Records are written one at a time, read
from the index in order: memory stays flat however large the archive.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

import sqlite_utils
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archive.errors import InputError
from archive.files import atomic_output, read_raw, resolve_inside
from archive.times import iso_utc, parse_time

# The stored body is the decoded one: the headers that described the bytes on the wire go.
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
HTML_TYPE = "text/html; charset=utf-8"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class Selection:
    """Which articles an export takes: an account's (by name), captures since a moment."""

    account: str | None = None
    since: datetime | None = None

    def where(self) -> tuple[str, list[str]]:
        """The SQL condition on revisions `r` joined with their articles `a`, its values."""
        clauses, values = ["r.raw_path IS NOT NULL"], []
        if self.account is not None:
            clauses.append("a.account = ?")
            values.append(self.account)
        if self.since is not None:
            clauses.append("r.fetched_at >= ?")
            values.append(iso_utc(self.since))
        return " AND ".join(clauses), values


def parse_since(text: str | None) -> datetime | None:
    """`--since 2026-11-01` (China time when no zone is given); InputError otherwise."""
    if text is None:
        return None
    moment = parse_time(text)
    if moment is None:
        raise InputError(f"--since {text!r}: not a date or time (2026-11-01, 2026-11-01T08:00)")
    return moment


@dataclass
class WarcSummary:
    captures: int = 0
    reconstructed: int = 0  # of them, resource records: no HTTP answer recorded
    images: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self, out: Path) -> str:
        older = ""
        if self.reconstructed:
            older = f" ({self.reconstructed} without a recorded HTTP answer)"
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return f"{self.captures} captures{older}, {self.images} images{failed} → {out}"


CAPTURES = """SELECT r.raw_path, min(r.fetched_at) AS fetched_at,
    a.key, a.title, a.url, a.short_url,
    c.url AS response_url, c.status, c.headers, c.fetched_at AS response_at
FROM revisions r JOIN articles a ON a.key = r.article_key
LEFT JOIN capture_responses c ON c.raw_path = r.raw_path
WHERE {where}
GROUP BY r.raw_path ORDER BY min(r.fetched_at), r.raw_path"""

IMAGES = """SELECT ai.url, i.mime, i.path, min(a.first_fetched_at) AS fetched_at
FROM article_images ai JOIN images i ON i.sha256 = ai.sha256
JOIN articles a ON a.key = ai.article_key
WHERE ai.article_key IN (
    SELECT r.article_key FROM revisions r JOIN articles a ON a.key = r.article_key
    WHERE {where})
GROUP BY ai.url ORDER BY ai.url"""


def warc_date(text: str) -> str:
    """A stored time (ISO 8601 with offset) as WARC-Date: UTC, to the second."""
    moment = datetime.fromisoformat(text)
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None))


def http_headers(status: int, recorded: list[list[str]], length: int) -> StatusAndHeaders:
    """The recorded status and headers, describing the stored (decoded) body."""
    kept = [(name, value) for name, value in recorded if name.lower() not in WIRE_HEADERS]
    kept.append(("Content-Length", str(length)))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # a status Python has no name for
        reason = ""
    return StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")


def raw_type(raw: bytes) -> str:
    """A capture read from a file: a saved page, or the seed format's Markdown."""
    return MARKDOWN_TYPE if raw.lstrip().startswith(b"---") else HTML_TYPE


def response_record(
    writer: WARCWriter, uri: str, headers: StatusAndHeaders, body: bytes, date: str
) -> ArcWarcRecord:
    return writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": warc_date(date)},
    )


def capture_record(writer: WARCWriter, row: dict, raw: bytes) -> ArcWarcRecord:
    if row["status"] is not None:
        headers = http_headers(row["status"], json.loads(row["headers"]), len(raw))
        return response_record(writer, row["response_url"], headers, raw, row["response_at"])
    return writer.create_warc_record(
        row["url"] or row["short_url"] or f"urn:wechat-archive:{row['key']}",
        "resource",
        payload=io.BytesIO(raw),
        length=len(raw),
        warc_content_type=raw_type(raw),
        warc_headers_dict={"WARC-Date": warc_date(row["fetched_at"])},
    )


def image_record(writer: WARCWriter, row: dict, data: bytes) -> ArcWarcRecord:
    headers = StatusAndHeaders(
        "200 OK",
        [("Content-Type", row["mime"]), ("Content-Length", str(len(data)))],
        protocol="HTTP/1.1",
    )
    return response_record(writer, row["url"], headers, data, row["fetched_at"])


def rows(db: sqlite_utils.Database, sql: str, selection: Selection) -> Iterator[dict]:
    where, values = selection.where()
    yield from db.query(sql.format(where=where), values)


# Told of each capture written: its URL, WARC-Date and the article's title (WACZ pages).
PageListener = Callable[[str, str, str | None], None]


def write_records(
    root: Path,
    db: sqlite_utils.Database,
    selection: Selection,
    handle: BinaryIO,
    name: str,
    on_page: PageListener | None = None,
) -> WarcSummary:
    """Every selected capture, then every image they show, into an open WARC stream."""
    from importlib.metadata import version

    summary = WarcSummary()
    writer = WARCWriter(handle, gzip=True, warc_version="1.1")
    info = {
        "software": f"wechat-archive {version('wechat-archive')} (warcio {version('warcio')})",
        "format": "WARC File Format 1.1",
        "description": "WeChat articles: raw captures and their images, from the archive",
    }
    writer.write_record(writer.create_warcinfo_record(name, info))
    for row in rows(db, CAPTURES, selection):
        try:
            raw = read_raw(root, row["raw_path"])
        except InputError as error:  # gone, cut short or damaged: read_raw names the file
            summary.failures.append(f"{error}; not exported")
            continue
        record = capture_record(writer, row, raw)
        writer.write_record(record)
        if on_page is not None:
            headers = record.rec_headers
            on_page(
                headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date"), row["title"]
            )
        summary.captures += 1
        summary.reconstructed += row["status"] is None
    for row in rows(db, IMAGES, selection):
        try:
            data = resolve_inside(root, row["path"]).read_bytes()
        except (OSError, ValueError) as error:
            summary.failures.append(f"{row['path']}: not exported: {describe(error)}")
            continue
        writer.write_record(image_record(writer, row, data))
        summary.images += 1
    return summary


def describe(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def open_selection(root: Path, selection: Selection) -> sqlite_utils.Database:
    """The index, read-only; InputError when the selection has no capture to export."""
    from archive.search_cli import open_readonly

    db = open_readonly(root / "archive.db")
    where, values = selection.where()
    count = db.execute(
        f"SELECT count(*) FROM revisions r JOIN articles a ON a.key = r.article_key WHERE {where}",
        values,
    ).fetchone()[0]
    if not count:
        db.close()
        raise InputError(f"{root}: no archived captures {describe_selection(selection)}")
    return db


def export_warc(root: Path, out: Path, selection: Selection) -> WarcSummary:
    """Write the WARC at `out` (replaced whole, or left as it was on failure)."""
    db = open_selection(root, selection)
    try:
        with atomic_output(out) as handle:
            return write_records(root, db, selection, handle, out.name)
    except OSError as error:
        raise InputError(f"{out}: cannot write: {describe(error)}") from None
    finally:
        db.close()


def describe_selection(selection: Selection) -> str:
    parts = []
    if selection.account is not None:
        parts.append(f"of the account {selection.account!r}")
    if selection.since is not None:
        parts.append(f"since {iso_utc(selection.since)}")
    return " ".join(parts) or "at all"
