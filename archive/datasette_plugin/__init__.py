"""The archive's Datasette plugin: `datasette archive.db` and `harvester serve` alike.

Registered through the package's `datasette` entry point (pyproject.toml), so any
Datasette in the same environment loads it; it acts only on databases that are archive
indexes (archives.py tells them by their tables), never on the others it serves beside.

Hooks:
- startup: finds the archives among the databases.
- get_metadata: the archive's titles, descriptions, facets, sort order, hidden tables and
  canned queries (archive.metadata), for each archive database.
- prepare_connection: re-registers Datasette's `escape_fts` on an archive's connections
  as archive.fulltext.escape_fts, so any FTS search Datasette runs on the spaced copy
  (`articles_search`) matches Chinese words of any length; and adds the function the
  table search finds its matches with (table_search.py).
- filters_from_request: `?_search=` (and the search box) on the `articles` table,
  through `articles_fts` (its rowids are `articles_search` ids, not articles rows, so
  Datasette's own fts_table/fts_pk cannot join them), found once for the whole page.
- render_cell: article titles link to the reading page; `body_text` is cut to a
  short preview (or, while searching, the highlighted snippet) with a link;
  account names link to their articles; `key` columns of queries link to articles.
- extra_template_vars: the best-ranked matches above the searched articles table
  (templates/table.html shows them); the feeds the home page and the articles table
  (an account's, too) advertise.
- register_routes: /-/search (and /-/search.json), /-/article/<key>, /-/account/<biz>,
  /images/… (the archive's stored images), /-/archive.css (pages.py); the Atom feeds
  /-/feed.atom, /-/feed/account/<biz>.atom, /-/feed/gone.atom (feed_pages.py).
- asgi_wrapper: remembers the current `_search` for render_cell; sends strict
  headers with archived images (an SVG opened directly cannot run script); asks the
  archive's table pages for no suggested facets (`_nosuggest=1`: their facets are
  configured, and suggesting runs three queries a column, seconds at 100k articles).
- register_facet_classes: the articles table's facets, counted together and kept
  (facets.py).
- menu_links, extra_css_urls.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import tilde_decode
from markupsafe import Markup

from archive.datasette_plugin import feed_pages, pages
from archive.datasette_plugin.archives import (
    archive_names,
    is_archive,
    is_known_archive,
    known_archives,
)
from archive.datasette_plugin.facets import ArchiveFacet
from archive.datasette_plugin.kept import Kept
from archive.datasette_plugin.pages import account_path, article_path, feed_links
from archive.datasette_plugin.table_search import find_matches, register_matches
from archive.fulltext import (
    CLOSE_MARK,
    ELLIPSIS,
    OPEN_MARK,
    escape_fts,
    fts_query,
    marked_html,
    natural_snippet,
    tidy_snippet,
)
from archive.index.schema import is_archive_index
from archive.metadata import archive_metadata
from archive.render import plain_preview
from archive.search import ARTICLE_SNIPPET_SQL, MATCHING_ARTICLES_WHERE, snippet_params

IMAGE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
PREVIEW_CHARS = 120
BEST_MATCHES = 10

# Kept while the database is unchanged (kept.py): a searched page's best matches (their
# ranking, started early), and its rows' snippets (each a statement), asked again by the
# next view of the same search.
_best_kept = Kept(16)
_snippets_kept = Kept(2000)

_current_search: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "wechat_archive_search", default=None
)


def _row_value(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (IndexError, KeyError):
        return None


# --- hooks -------------------------------------------------------------------


@hookimpl
def startup(datasette: Any) -> Awaitable[list[str]]:
    return archive_names(datasette)


@hookimpl
def get_metadata(datasette: Any, key: str, database: str | None, table: str | None) -> dict:
    return archive_metadata(known_archives(datasette), datasette.urls.path("/"))


@hookimpl(trylast=True)  # after Datasette's own, which registers the default escape_fts
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    if is_archive_index(conn):
        conn.create_function("escape_fts", 1, escape_fts, deterministic=True)
        register_matches(conn, datasette.get_database(database).path)


@hookimpl(trylast=True)  # last, so its extra_context wins over Datasette's own search filter
def filters_from_request(
    request: Any, database: str, table: str, datasette: Any
) -> Awaitable[FilterArguments | None] | None:
    if table != "articles":
        return None

    async def search_filter() -> FilterArguments | None:
        if not await is_archive(datasette, database):
            return None
        query = request.args.get("_search") or ""
        extra = {"supports_search": True, "search": query}
        if not query.strip():
            return FilterArguments([], extra_context=extra)
        match = fts_query(query)
        if match:
            if not (request.url_vars.get("format") or request.args.get("_format")):
                _best_hits(datasette, database, query)  # the HTML page shows them
            await find_matches(datasette, database, match)
        where = MATCHING_ARTICLES_WHERE if match else "0"
        return FilterArguments(
            [where],
            params={"archive_match": match} if match else {},
            human_descriptions=[f'search matches "{query}"'],
            extra_context=extra,
        )

    return search_filter()


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    if not is_known_archive(datasette, database):
        return None
    if table == "articles":
        key = _row_value(row, "key")
        if key is None:
            return None
        if column == "title":
            text = html.escape(str(value) if value else "(untitled)")
            return Markup(f'<a href="{html.escape(article_path(datasette, key))}">{text}</a>')
        if column == "body_text" and value:
            return _body_cell(datasette, database, key, str(value))
        return None
    if table == "accounts" and column == "nickname" and value:
        biz = _row_value(row, "biz")
        if biz:
            href = account_path(datasette, biz)
        else:  # known by name only (from seed files): its articles by name
            articles = datasette.urls.table(database, "articles")
            href = f"{articles}?account={quote(str(value), safe='')}&_sort_desc=published_at"
        return Markup(f'<a href="{html.escape(href)}">{html.escape(str(value))}</a>')
    if table is None and column == "key" and isinstance(value, str) and value:
        href = html.escape(article_path(datasette, value))
        return Markup(f'<a href="{href}">{html.escape(value)}</a>')
    return None


def _body_cell(datasette: Any, database: str, key: str, body: str) -> Markup | Awaitable[Markup]:
    read = f' <a class="read-article" href="{html.escape(article_path(datasette, key))}">read →</a>'

    def preview() -> Markup:  # made only where no snippet shows: a page has 20 bodies
        return Markup(html.escape(plain_preview(body, PREVIEW_CHARS), quote=False) + read)

    query = _current_search.get()
    match = fts_query(query) if query else ""
    if not match:
        return preview()

    async def snippet() -> Markup:
        db = datasette.get_database(database)

        async def work_out() -> str:
            params = snippet_params(match, OPEN_MARK, CLOSE_MARK, ELLIPSIS)
            rows = list((await db.execute(ARTICLE_SNIPPET_SQL, {**params, "key": key})).rows)
            raw = (rows[0]["snippet"] or "") if rows else ""
            return tidy_snippet(natural_snippet(raw, OPEN_MARK, CLOSE_MARK))

        try:
            text = await _snippets_kept.get_awaited(db.path, (match, key), work_out)
        except Exception:  # a snippet is a nicety: never break the table over it
            return preview()
        if OPEN_MARK not in text:
            return preview()
        return Markup(f'<span class="snippet">{marked_html(text)}</span>{read}')

    return snippet()


@hookimpl
def extra_template_vars(
    view_name: str, database: str | None, table: str | None, request: Any, datasette: Any
) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    """The feeds the home page and an archive's articles table advertise (an account's
    too, when the table shows one), and the best matches above a searched articles table."""
    if request is None or view_name not in ("index", "table"):
        return None
    if view_name == "table" and table != "articles":
        return None

    async def variables() -> dict[str, Any]:
        names = await archive_names(datasette)
        if not names or (view_name == "table" and database not in names):
            return {}
        found = {"archive_feeds": feed_links(datasette, request.args.get("biz"))}
        query = (request.args.get("_search") or "").strip()
        if view_name == "table" and fts_query(query):
            found.update(await _best_matches(datasette, database, query))
        return found

    return variables


def _best_hits(datasette: Any, database: str, query: str) -> asyncio.Future:
    """The best matches of `query`, started once while the archive is unchanged: by the
    search filter, so they are ranked while Datasette counts and facets the page, and
    awaited by the box above the table."""
    db = datasette.get_database(database)
    key = _best_kept.version_key(db.path, query)
    found, hits = _best_kept.lookup(key)
    if not found or not _usable(hits):
        hits = asyncio.ensure_future(
            db.execute_fn(lambda conn: pages.search_hits(conn, query, BEST_MATCHES))
        )
        _best_kept.store(key, hits)
    return hits


def _usable(hits: asyncio.Future) -> bool:
    """Whether a kept ranking can still be awaited here: not one of another event loop's
    (another Datasette in the same process), nor one cut short or failed (ranked again)."""
    if hits.get_loop() is not asyncio.get_running_loop():
        return False
    return not hits.done() or (not hits.cancelled() and hits.exception() is None)


async def _best_matches(datasette: Any, database: str, query: str) -> dict[str, Any]:
    try:
        hits = await _best_hits(datasette, database, query)
    except Exception:  # the box is a nicety, as a snippet is: never break the table over it
        return {}
    return {
        "archive_best_matches": [pages.hit_dict(datasette, hit) for hit in hits],
        "archive_search_url": datasette.urls.path("/-/search?q=" + quote(query)),
    }


@hookimpl
def register_facet_classes() -> list[type]:
    return [ArchiveFacet]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    names = known_archives(datasette)
    if not names:
        return []
    return [
        {"href": datasette.urls.path("/-/search"), "label": "Search articles"},
        {"href": datasette.urls.table(names[0], "articles"), "label": "All articles"},
        {"href": datasette.urls.table(names[0], "accounts"), "label": "Accounts"},
    ]


@hookimpl
def extra_css_urls(database: str | None, datasette: Any) -> list[str]:
    if database is not None and not is_known_archive(datasette, database):
        return []
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
            if "_nosuggest" not in query and _in_archive(datasette, scope.get("path", "")):
                scope = _with_arg(scope, b"_nosuggest=1")
            if scope.get("path", "").startswith(images_prefix):
                send = _with_headers(send, {"content-security-policy": IMAGE_CSP})
            try:
                await app(scope, receive, send)
            finally:
                _current_search.reset(token)

        return wrapped

    return wrap


def _in_archive(datasette: Any, path: str) -> bool:
    """Whether `path` is a page of an archive database (its tables, rows, queries)."""
    base = datasette.urls.path("/")
    if not path.startswith(base):
        return False
    database = path[len(base) :].split("/", 1)[0].split(".", 1)[0]
    return is_known_archive(datasette, tilde_decode(database))


def _with_arg(scope: dict, arg: bytes) -> dict:
    query = scope.get("query_string", b"")
    return {**scope, "query_string": query + b"&" + arg if query else arg}


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
        (r"^/-/search(?P<format>\.json)?$", pages.search_page),
        (r"^/-/article/(?P<key>[^/]+)$", pages.article_page),
        (r"^/-/account/(?P<biz>[^/]+)$", pages.account_page),
        (r"^/-/feed\.atom$", feed_pages.archive_feed),
        (r"^/-/feed/account/(?P<biz>[^/]+)\.atom$", feed_pages.account_feed),
        (r"^/-/feed/gone\.atom$", feed_pages.gone_feed),
        (r"^/images/(?P<path>.+)$", pages.image),
        (r"^/-/archive\.css$", pages.stylesheet),
    ]
