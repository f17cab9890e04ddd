"""Network side of archiving: get an article page, download its images. Nothing is written
here: the pipeline's save step stores what these return."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from archive.files import ImageData, identify_image
from harvester.errors import InputError
from harvester.http import FetchError, HttpClient
from harvester.links import ArticleLink
from harvester.model import Capture, Page, Response
from harvester.page import parse_page

IMAGE_MAX_BYTES = 30 * 1024 * 1024


def fetch_capture(client: HttpClient, link: ArticleLink) -> Capture:
    """Raises FetchError for HTTP trouble and InputError for a page with no article in it."""
    response = client.get(link.url, kind="page")
    fetched_at = datetime.now(UTC)
    answer = Response(response.final_url, response.status, response.headers.multi_items())
    if "/mp/wappoc_appmsgcaptcha" in response.final_url:
        page = Page(kind="verification")
        return Capture(page, response.content, fetched_at, link.url, link.key, answer)
    try:
        page = parse_page(response.text, url=response.final_url)
    except InputError as error:
        raise InputError(f"{link.url}: {error}") from None
    if link.form == "short" and not page.short_url:
        page.short_url = link.url
    if page.key is None and link.form == "long":
        page.biz, page.mid, page.idx = link.biz, link.mid, link.idx
        page.sn = page.sn or link.sn
    return Capture(page, response.content, fetched_at, link.url, link.key, answer)


def fetch_images(
    client: HttpClient, urls: Iterable[str], *, workers: int = 4
) -> dict[str, ImageData | str]:
    """Each URL → its image bytes, identified, or the one-line reason it is missing.

    Never raises for one image's trouble (TryLater from the client still stops the caller).
    """
    wanted = list(dict.fromkeys(urls))

    def one(url: str) -> ImageData | str:
        try:
            response = client.get(url, kind="image", max_bytes=IMAGE_MAX_BYTES)
            return identify_image(response.content)
        except (FetchError, InputError) as error:
            return str(error)
        except ValueError as error:  # not an image, or an SVG that could run code
            return f"{url}: {error}"

    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
        return dict(zip(wanted, pool.map(one, wanted), strict=True))
