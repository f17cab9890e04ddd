"""The Datasette plugin behind `harvester serve` (registered by archive.serve, for that process).

Hooks:
- prepare_connection: re-registers Datasette's `escape_fts` on the archive's
  connections as archive.fulltext.escape_fts, so any FTS search Datasette runs on
  the spaced copy (`articles_search`) matches Chinese words of any length.
- filters_from_request: `?_search=` (and the search box) on the `articles`
  table, through `articles_fts` (its rowids are `articles_search` ids, not
  articles rows, so Datasette's own fts_table/fts_pk cannot join them).
- render_cell: article titles link to the reading page; `body_text` is cut to a
  short preview (or, while searching, the highlighted snippet) with a link;
  account names link to their articles; `key` columns of queries link to articles.
- extra_template_vars: the best-ranked matches above the searched articles table.
- register_routes: /-/search (and /-/search.json; `page` pages through every
  match, SEARCH_LIMIT a page), /-/article/<key>,
  /-/account/<biz>, /-/archive.css.
- asgi_wrapper: remembers the current `_search` for render_cell; sends strict
  headers with archived images (an SVG opened directly cannot run script).
- menu_links, extra_css_urls.
"""

from __future__ import annotations

import contextvars
import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

import sqlite_utils
from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import tilde_encode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup

from archive.fulltext import (
    CLOSE_MARK,
    ELLIPSIS,
    OPEN_MARK,
    escape_fts,
    fts_query,
    marked_html,
    natural_snippet,
    tidy_snippet,
    unmarked,
)
from archive.metadata import DATABASE
from archive.render import plain_preview, render_markdown
from archive.search import (
    ARTICLE_SNIPPET_SQL,
    MATCHING_ARTICLES_WHERE,
    count_matches,
    search,
    snippet_params,
)

PAGE_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
IMAGE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PREVIEW_CHARS = 120
BEST_MATCHES = 10
SEARCH_LIMIT = 50
MAX_SEARCH_LIMIT = 500
CSS_PATH = Path(__file__).with_name("templates") / "archive.css"

_current_search: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "wechat_archive_search", default=None
)

# --- helpers -----------------------------------------------------------------


def article_path(datasette: Any, key: str) -> str:
    return datasette.urls.path("/-/article/" + quote(str(key), safe=""))


def _row_value(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (IndexError, KeyError):
        return None


def _search_hits(conn: Any, query: str, limit: int, offset: int = 0) -> list[Any]:
    return search(
        sqlite_utils.Database(conn),
        query,
        limit,
        offset=offset,
        open_mark=OPEN_MARK,
        close_mark=CLOSE_MARK,
        ellipsis=ELLIPSIS,
    )


def _date(value: str | None) -> str:
    return (value or "")[:10]


# --- hooks -------------------------------------------------------------------


@hookimpl(trylast=True)  # after Datasette's own, which registers the default escape_fts
def prepare_connection(conn: Any, database: str) -> None:
    if database == DATABASE:
        conn.create_function("escape_fts", 1, escape_fts, deterministic=True)


@hookimpl(trylast=True)  # last, so its extra_context wins over Datasette's own search filter
def filters_from_request(request: Any, database: str, table: str) -> FilterArguments | None:
    if database != DATABASE or table != "articles":
        return None
    query = request.args.get("_search") or ""
    extra = {"supports_search": True, "search": query}
    if not query.strip():
        return FilterArguments([], extra_context=extra)
    match = fts_query(query)
    where = MATCHING_ARTICLES_WHERE if match else "0"
    return FilterArguments(
        [where],
        params={"archive_match": match} if match else {},
        human_descriptions=[f'search matches "{query}"'],
        extra_context=extra,
    )


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    if database != DATABASE:
        return None
    if table == "articles":
        key = _row_value(row, "key")
        if key is None:
            return None
        if column == "title":
            text = html.escape(str(value) if value else "(untitled)")
            return Markup(f'<a href="{html.escape(article_path(datasette, key))}">{text}</a>')
        if column == "body_text" and value:
            return _body_cell(datasette, key, str(value))
        return None
    if table == "accounts" and column == "nickname" and value:
        biz = _row_value(row, "biz")
        if biz:
            href = datasette.urls.path("/-/account/" + quote(str(biz), safe=""))
        else:  # known by name only (from seed files): its articles by name
            articles = datasette.urls.table(DATABASE, "articles")
            href = f"{articles}?account={quote(str(value), safe='')}&_sort_desc=published_at"
        return Markup(f'<a href="{html.escape(href)}">{html.escape(str(value))}</a>')
    if table is None and column == "key" and isinstance(value, str) and value:
        href = html.escape(article_path(datasette, value))
        return Markup(f'<a href="{href}">{html.escape(value)}</a>')
    return None


def _body_cell(datasette: Any, key: str, body: str) -> Markup | Awaitable[Markup]:
    read = f' <a class="read-article" href="{html.escape(article_path(datasette, key))}">read →</a>'
    preview = Markup(html.escape(plain_preview(body, PREVIEW_CHARS), quote=False) + read)
    query = _current_search.get()
    match = fts_query(query) if query else ""
    if not match:
        return preview

    async def snippet() -> Markup:
        db = datasette.get_database(DATABASE)
        try:
            params = snippet_params(match, OPEN_MARK, CLOSE_MARK, ELLIPSIS)
            result = await db.execute(ARTICLE_SNIPPET_SQL, {**params, "key": key})
        except Exception:  # a snippet is a nicety: never break the table over it
            return preview
        rows = list(result.rows)
        raw = (rows[0]["snippet"] or "") if rows else ""
        text = tidy_snippet(natural_snippet(raw, OPEN_MARK, CLOSE_MARK))
        if OPEN_MARK not in text:
            return preview
        return Markup(f'<span class="snippet">{marked_html(text)}</span>{read}')

    return snippet()


@hookimpl
def extra_template_vars(
    view_name: str, database: str, table: str, request: Any, datasette: Any
) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    if view_name != "table" or database != DATABASE or table != "articles" or request is None:
        return None
    query = (request.args.get("_search") or "").strip()

    async def best_matches() -> dict[str, Any]:
        if not fts_query(query):
            return {"archive_best_matches": None}
        db = datasette.get_database(DATABASE)
        hits = await db.execute_fn(lambda conn: _search_hits(conn, query, BEST_MATCHES))
        return {
            "archive_best_matches": [_hit_dict(datasette, hit) for hit in hits],
            "archive_search_url": datasette.urls.path("/-/search?q=" + quote(query)),
        }

    return best_matches


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/search"), "label": "Search articles"},
        {"href": datasette.urls.table(DATABASE, "articles"), "label": "All articles"},
        {"href": datasette.urls.table(DATABASE, "accounts"), "label": "Accounts"},
    ]


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.path("/-/archive.css")]


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    images_prefix = datasette.urls.path("/images/")

    def wrap(app: Any) -> Any:
        async def wrapped(scope: dict, receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            query = parse_qs(scope.get("query_string", b"").decode("ascii", "replace"))
            token = _current_search.set((query.get("_search") or [None])[0])
            if scope.get("path", "").startswith(images_prefix):
                send = _with_headers(send, {"content-security-policy": IMAGE_CSP})
            try:
                await app(scope, receive, send)
            finally:
                _current_search.reset(token)

        return wrapped

    return wrap


def _with_headers(send: Any, extra: dict[str, str]) -> Any:
    async def sending(message: dict) -> None:
        if message.get("type") == "http.response.start":
            headers = list(message.get("headers", []))
            headers += [(name.encode(), value.encode()) for name, value in extra.items()]
            headers.append((b"x-content-type-options", b"nosniff"))
            message = {**message, "headers": headers}
        await send(message)

    return sending


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (r"^/-/search(?P<format>\.json)?$", search_page),
        (r"^/-/article/(?P<key>[^/]+)$", article_page),
        (r"^/-/account/(?P<biz>[^/]+)$", account_page),
        (r"^/-/archive\.css$", stylesheet),
    ]


# --- pages -------------------------------------------------------------------


def _hit_dict(datasette: Any, hit: Any) -> dict[str, Any]:
    snippet = tidy_snippet(hit.snippet)
    return {
        "key": hit.key,
        "title": hit.title,
        "account": hit.account,
        "published_at": hit.published_at,
        "date": _date(hit.published_at),
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
        return total, page, _search_hits(conn, query, limit, offset=(page - 1) * limit)

    total, page, found = 0, 1, []
    if query:
        db = datasette.get_database(DATABASE)
        total, page, found = await db.execute_fn(one_page)
    hits = [_hit_dict(datasette, hit) for hit in found]
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
        "table_url": datasette.urls.table(DATABASE, "articles"),
    }
    body = await datasette.render_template("archive_search.html", context, request=request)
    return Response.html(body, headers=PAGE_HEADERS)


async def _query(db: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await db.execute(sql, params)
    return [dict(row) for row in result.rows]


async def article_page(datasette: Any, request: Any) -> Response:
    """One archived article, rendered safely from its Markdown."""
    key = unquote(request.url_vars["key"])
    db = datasette.get_database(DATABASE)
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
    context = {
        "article": article,
        "body_html": Markup(body_html),
        "original_url": original if original and original.startswith("https://") else None,
        "account_url": (
            datasette.urls.path("/-/account/" + quote(article["biz"], safe=""))
            if article.get("biz")
            else None
        ),
        "row_url": datasette.urls.row(DATABASE, "articles", tilde_encode(key)),
        "revisions_url": datasette.urls.table(DATABASE, "revisions")
        + "?article_key="
        + quote(key, safe=""),
        "images_url": datasette.urls.table(DATABASE, "article_images")
        + "?article_key="
        + quote(key, safe=""),
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
    biz = unquote(request.url_vars["biz"])
    url = datasette.urls.table(DATABASE, "articles")
    return Response.redirect(f"{url}?biz={quote(biz, safe='')}&_sort_desc=published_at")


async def stylesheet() -> Response:
    return Response(
        CSS_PATH.read_text(encoding="utf-8"),
        content_type="text/css; charset=utf-8",
        headers={"Cache-Control": "max-age=3600"},
    )
