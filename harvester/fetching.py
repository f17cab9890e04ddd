"""Network side of archiving: get an article page, download its images. Nothing is saved here
except image bytes into the content-addressed store, which is safe to repeat."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from archive.files import StoredImage, store_image
from harvester.errors import InputError
from harvester.http import FetchError, HttpClient
from harvester.links import ArticleLink
from harvester.model import Page
from harvester.page import parse_page

IMAGE_MAX_BYTES = 30 * 1024 * 1024


@dataclass
class Capture:
    """One article page as fetched: parsed, with its raw bytes for the archive."""

    link: ArticleLink
    page: Page
    raw: bytes
    fetched_at: datetime


def fetch_capture(client: HttpClient, link: ArticleLink) -> Capture:
    """Raises FetchError for HTTP trouble and InputError for a page with no article in it."""
    response = client.get(link.url, kind="page")
    fetched_at = datetime.now(UTC)
    if "/mp/wappoc_appmsgcaptcha" in response.final_url:
        return Capture(link, Page(kind="verification"), response.content, fetched_at)
    try:
        page = parse_page(response.text, url=response.final_url)
    except InputError as error:
        raise InputError(f"{link.url}: {error}") from None
    if link.form == "short" and not page.short_url:
        page.short_url = link.url
    if page.key is None and link.form == "long":
        page.biz, page.mid, page.idx = link.biz, link.mid, link.idx
        page.sn = page.sn or link.sn
    return Capture(link, page, response.content, fetched_at)


def download_images(
    client: HttpClient,
    root: Path,
    urls: Iterable[str],
    known: Mapping[str, StoredImage] | None = None,
    *,
    workers: int = 4,
) -> dict[str, StoredImage | str]:
    """Each URL → its stored image, or the one-line reason it is missing. Never raises."""
    known = known or {}
    ordered = list(dict.fromkeys(urls))
    wanted = [url for url in ordered if url not in known]

    def one(url: str) -> StoredImage | str:
        try:
            response = client.get(url, kind="image", max_bytes=IMAGE_MAX_BYTES)
            return store_image(root, response.content)
        except (FetchError, InputError) as error:
            return str(error)
        except ValueError:
            return f"{url}: not an image"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fetched = dict(zip(wanted, pool.map(one, wanted), strict=True))
    return {url: known.get(url) or fetched[url] for url in ordered}
