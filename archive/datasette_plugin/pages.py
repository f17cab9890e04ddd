"""The archive's own pages in Datasette: search, reading an article, an account, images.

Each shows the first archive the instance serves (archives.first_archive); templates
get its database name as `archive_db`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import sqlite_utils
from datasette.utils import tilde_encode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup

from archive.datasette_plugin.archives import archive_folder, first_archive
from archive.fulltext import (
    CLOSE_MARK,
    ELLIPSIS,
    OPEN_MARK,
    fts_query,
    marked_html,
    tidy_snippet,
    unmarked,
)
from archive.render import render_markdown
from archive.search import count_matches, search

PAGE_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
SEARCH_LIMIT = 50
MAX_SEARCH_LIMIT = 500
CSS_PATH = Path(__file__).with_name("templates") / "archive.css"
FEED_TITLE = "WeChat archive"
IMAGE_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{2,5}")


def article_path(datasette: Any, key: str) -> str:
    return datasette.urls.path("/-/article/" + quote(str(key), safe=""))


def account_path(datasette: Any, biz: str) -> str:
    return datasette.urls.path("/-/account/" + quote(str(biz), safe=""))


def feed_links(datasette: Any, biz: str | None = None) -> list[dict[str, str]]:
    """The feeds a page advertises: the archive's, the gone articles', an account's."""
    links = [
        {"title": f"{FEED_TITLE}: newest articles", "href": datasette.urls.path("/-/feed.atom")},
        {
            "title": f"{FEED_TITLE}: deleted or blocked since archived",
            "href": datasette.urls.path("/-/feed/gone.atom"),
        },
    ]
    if biz:
        href = datasette.urls.path("/-/feed/account/" + quote(biz, safe="") + ".atom")
        links.insert(0, {"title": f"{FEED_TITLE}: this account", "href": href})
    return links


def search_hits(conn: Any, query: str, limit: int, offset: int = 0) -> list[Any]:
    return search(
        sqlite_utils.Database(conn),
        query,
        limit,
        offset=offset,
        open_mark=OPEN_MARK,
        close_mark=CLOSE_MARK,
        ellipsis=ELLIPSIS,
    )


def hit_dict(datasette: Any, hit: Any) -> dict[str, Any]:
    snippet = tidy_snippet(hit.snippet)
    return {
        "key": hit.key,
        "title": hit.title,
        "account": hit.account,
        "published_at": hit.published_at,
        "date": (hit.published_at or "")[:10],
        "status": hit.status,
        "rank": hit.rank,
        "snippet": unmarked(snippet),
        "snippet_html": marked_html(snippet),
        "url": article_path(datasette, hit.key),
    }


def _pages(total: int, per_page: int) -> int:
    """How many pages `total` results take (one, empty, when there are none)."""
    return max(1, -(-total // per_page))


def _page_number(asked: str | None, total: int, per_page: int) -> int:
    """The results page to show (from 1) for `?page=`: not a number is page 1, and
    a page before the first or after the last is the first or the last."""
    try:
        number = int(asked or 1)
    except ValueError:
        number = 1
    return max(1, min(number, _pages(total, per_page)))


def _search_url(datasette: Any, query: str, page: int, limit: int) -> str:
    params: dict[str, Any] = {"q": query}
    if limit != SEARCH_LIMIT:
        params["limit"] = limit
    if page > 1:
        params["page"] = page
    return datasette.urls.path("/-/search?" + urlencode(params, quote_via=quote))


async def search_page(datasette: Any, request: Any) -> Response:
    """Ranked full-text search with highlighted snippets: /-/search?q=…&page=… (.json for data).

    Counts every match (the FTS match alone), then ranks and snippets one page of them.
    """
    database = await first_archive(datasette)
    query = (request.args.get("q") or "").strip()
    try:
        limit = int(request.args.get("limit") or SEARCH_LIMIT)
    except ValueError:
        limit = SEARCH_LIMIT
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    asked = request.args.get("page")

    def one_page(conn: Any) -> tuple[int, int, list[Any]]:
        total = count_matches(sqlite_utils.Database(conn), query)
        page = _page_number(asked, total, limit)
        return total, page, search_hits(conn, query, limit, offset=(page - 1) * limit)

    total, page, found = 0, 1, []
    if query:
        total, page, found = await datasette.get_database(database).execute_fn(one_page)
    hits = [hit_dict(datasette, hit) for hit in found]
    pages = _pages(total, limit)
    if request.url_vars.get("format"):
        return Response.json(
            {
                "query": query,
                "limit": limit,
                "total": total,
                "page": page,
                "pages": pages,
                "results": hits,
            }
        )
    first = (page - 1) * limit + 1
    context = {
        "archive_db": database,
        "archive_feeds": feed_links(datasette),
        "query": query,
        "hits": hits,
        "limit": limit,
        "total": total,
        "page": page,
        "pages": pages,
        "first": first,
        "last": first + len(hits) - 1,
        "previous_url": _search_url(datasette, query, page - 1, limit) if page > 1 else None,
        "next_url": _search_url(datasette, query, page + 1, limit) if page < pages else None,
        "searchable": bool(fts_query(query)),
        "table_url": datasette.urls.table(database, "articles"),
    }
    body = await datasette.render_template("archive_search.html", context, request=request)
    return Response.html(body, headers=PAGE_HEADERS)


async def _query(db: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await db.execute(sql, params)
    return [dict(row) for row in result.rows]


async def article_page(datasette: Any, request: Any) -> Response:
    """One archived article, rendered safely from its Markdown."""
    database = await first_archive(datasette)
    key = unquote(request.url_vars["key"])
    db = datasette.get_database(database)
    rows = await _query(db, "select * from articles where key = :key", {"key": key})
    if not rows:
        raise NotFound(f"No archived article {key!r}")
    article = rows[0]
    links_out = await _query(
        db,
        """select l.position, l.to_key, l.to_url, l.text, a.key as archived_key,
            a.title, a.account, a.published_at
        from links l left join articles a on a.key = l.to_key
        where l.from_key = :key order by l.position""",
        {"key": key},
    )
    links_in = await _query(
        db,
        """select distinct a.key, a.title, a.account, a.published_at
        from links l join articles a on a.key = l.from_key
        where l.to_key = :key and l.from_key != :key
        order by a.published_at desc, a.key""",
        {"key": key},
    )
    images = await _query(
        db,
        """select count(*) as total, sum(status = 'missing') as missing
        from article_images where article_key = :key""",
        {"key": key},
    )
    link_map = {
        link["to_url"]: article_path(datasette, link["archived_key"])
        for link in links_out
        if link["archived_key"] is not None
    }
    body_html = render_markdown(
        article["body_text"],
        md_path=article["md_path"],
        image_base=datasette.urls.path("/images/"),
        link_map=link_map,
    )
    for link in links_out:
        key_out = link["archived_key"]
        link["href"] = article_path(datasette, key_out) if key_out is not None else None
    for link in links_in:
        link["href"] = article_path(datasette, link["key"])
    original = article.get("short_url") or article.get("url")
    by_key = "?article_key=" + quote(key, safe="")
    context = {
        "archive_db": database,
        "archive_feeds": feed_links(datasette, article.get("biz")),
        "article": article,
        "body_html": Markup(body_html),
        "original_url": original if original and original.startswith("https://") else None,
        "account_url": account_path(datasette, article["biz"]) if article.get("biz") else None,
        "row_url": datasette.urls.row(database, "articles", tilde_encode(key)),
        "revisions_url": datasette.urls.table(database, "revisions") + by_key,
        "images_url": datasette.urls.table(database, "article_images") + by_key,
        "images": images[0] if images else {"total": 0, "missing": 0},
        "links_out": _unique_targets(links_out),
        "links_in": links_in,
        "published": (article.get("published_at") or "").replace("T", " "),
    }
    body = await datasette.render_template("archive_article.html", context, request=request)
    return Response.html(body, headers=PAGE_HEADERS)


def _unique_targets(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The archived articles linked to, each once, in first-link order."""
    seen: dict[str, dict[str, Any]] = {}
    for link in links:
        if link["href"] and link["archived_key"] not in seen:
            seen[link["archived_key"]] = link
    return list(seen.values())


async def account_page(datasette: Any, request: Any) -> Response:
    """An account's articles: the articles table filtered to it, newest first."""
    database = await first_archive(datasette)
    biz = unquote(request.url_vars["biz"])
    url = datasette.urls.table(database, "articles")
    return Response.redirect(f"{url}?biz={quote(biz, safe='')}&_sort_desc=published_at")


async def image(datasette: Any, request: Any) -> Response:
    """A stored image (images/<sha[:2]>/<sha256>.<ext>) from the archive's folder."""
    database = await first_archive(datasette)
    relpath = request.url_vars["path"]
    folder = archive_folder(datasette, database)
    path = folder / "images" / relpath if folder and IMAGE_PATH.fullmatch(relpath) else None
    if path is None or not path.is_file():
        raise NotFound("No such image in the archive")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    body = await asyncio.to_thread(path.read_bytes)
    return Response(body, content_type=kind, headers={"Cache-Control": "max-age=86400"})


async def stylesheet() -> Response:
    return Response(
        CSS_PATH.read_text(encoding="utf-8"),
        content_type="text/css; charset=utf-8",
        headers={"Cache-Control": "max-age=3600"},
    )
