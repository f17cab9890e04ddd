"""Datasette metadata for the archive: titles, descriptions, facets, sort order, canned queries."""

from __future__ import annotations

from typing import Any

# The articles table's facets, counted together by the plugin's facet type (see
# datasette_plugin/facets.py) over an index of these columns in this order
# (archive/index/schema.py, migration 10).
ARTICLE_FACETS = ("account", "year", "kind", "status")
FACET_TYPE = "archive"

_ARTICLE_COLUMNS = {
    "key": "Article id: biz:mid:idx (or s:<short id> until the full link is known)",
    "title": "Title (links to the reading page)",
    "account": "Official account (公众号) name",
    "published_at": "Publish time, China time (+08:00)",
    "year": "Publish year",
    "date_source": "page: the page's own publish time; seed: a seed file's date, until fetched",
    "kind": "article, video, picture, text or share",
    "status": "live, or deleted / blocked / unavailable / expired when last checked",
    "author": "Author named on the page",
    "original": "1 = marked original (原创)",
    "paid": "1 = paid article (only the preview is archived)",
    "digest": "Summary shown in feeds",
    "cover": "Cover image URL on WeChat",
    "url": "Canonical article URL",
    "short_url": "Short link (/s/…)",
    "source_url": "阅读原文 link",
    "md_path": "The Markdown file, relative to the archive folder",
    "content_hash": (
        "Hash of the title and converted body (images by host and path): "
        "two captures with the same hash are one version"
    ),
    "status_changed_at": "When the status last changed (UTC)",
    "first_fetched_at": "First archived (UTC)",
    "last_checked_at": "Last fetched or checked (UTC)",
    "revision_count": "Distinct versions archived",
    "body_text": "The Markdown body (shortened here: open the article to read it)",
}

# Articles archived while live that WeChat no longer shows: the "gone" query and feed.
GONE_WHERE = "status != 'live' and content_hash is not null"

_ARTICLE_LIST = """
select key, title, account, published_at, status, {extra}
from articles
"""

QUERIES: dict[str, dict[str, Any]] = {
    "recently_archived": {
        "title": "Recently archived",
        "description": "The 200 articles archived most recently.",
        "sql": _ARTICLE_LIST.format(extra="kind, first_fetched_at")
        + "order by first_fetched_at desc, key limit 200",
    },
    "gone": {
        "title": "Deleted or blocked since archived",
        "description": (
            "Articles archived while they were live that WeChat no longer shows "
            "(deleted, blocked, unavailable): the archive holds the only copy."
        ),
        "sql": _ARTICLE_LIST.format(extra="status_changed_at, first_fetched_at")
        + f"where {GONE_WHERE}\n"
        + "order by status_changed_at desc, key",
    },
    "changed": {
        "title": "Articles that changed",
        "description": "Articles archived in more than one version (edited after publishing).",
        "sql": _ARTICLE_LIST.format(
            extra="revision_count, (select max(r.fetched_at) from revisions r "
            "where r.article_key = articles.key and r.change = 'content') as last_changed_at"
        )
        + "where revision_count > 1\norder by last_changed_at desc, key",
    },
    "missing_images": {
        "title": "Images missing",
        "description": (
            "Images that could not be downloaded yet; the next harvest retries them. "
            "Reading pages show them as links and never load them from WeChat."
        ),
        "sql": """
select ai.article_key as key, a.title, a.account, ai.position, ai.url, ai.error, ai.attempts
from article_images ai join articles a on a.key = ai.article_key
where ai.status = 'missing'
order by a.published_at desc, ai.article_key, ai.position""",
    },
}


def archive_metadata(databases: list[str], base: str = "/") -> dict[str, Any]:
    """The metadata the plugin gives Datasette for the archives named `databases` (the
    first is the one /-/search shows); `base` is the instance's base URL path."""
    if not databases:
        return {}
    articles = f"{base}{databases[0]}/articles"
    search_link = f'<a href="{base}-/search">Search the articles</a>'
    return {
        "title": "WeChat archive",
        "description_html": (
            "Articles archived from WeChat official accounts (公众号): Markdown, images and "
            f"their history. {search_link} (Chinese and Latin, best matches first), browse "
            f'<a href="{articles}">all articles</a> by account, year, kind and status, '
            f'or <a href="{base}{databases[0]}/accounts">the accounts</a>.'
        ),
        "databases": {name: _database(search_link) for name in databases},
    }


def _database(search_link: str) -> dict[str, Any]:
    return {
        "title": "Archive index",
        "description_html": (
            f"The SQLite index of the archive, opened read-only. {search_link}; "
            "each article has a reading page (follow its title)."
        ),
        "tables": _tables(),
        "queries": QUERIES,
    }


def _tables() -> dict[str, dict[str, Any]]:
    return {
        "articles": {
            "title": "Articles",
            "description": (
                "Every archived article, newest first. Search (Chinese words of any length, "
                "Latin words, mixed) with the box; click a title to read the article."
            ),
            "sort_desc": "published_at",
            # Each row of a searched page runs its own snippet and every cell is rendered:
            # 20 rows took 30% less time than 50 at 100k articles (scripts/bench.py).
            "size": 20,
            "facets": [{FACET_TYPE: column} for column in ARTICLE_FACETS],
            "label_column": "title",
            "columns": _ARTICLE_COLUMNS,
        },
        "accounts": {
            "title": "Accounts",
            "description": "Official accounts (公众号); open one to list its articles.",
            "label_column": "nickname",
            "sort": "nickname",
            "columns": {
                "id": "Row id",
                "biz": "The account's __biz id (empty while it is known only by name, from "
                "seed files)",
                "nickname": "Account name (links to its articles)",
                "account_id": "WeChat id (gh_…)",
                "first_seen": "First archived from (UTC)",
                "last_seen": "Last archived from (UTC)",
            },
        },
        "revisions": {
            "title": "Revisions",
            "description": (
                "Each distinct version of an article and each status change "
                "(change: new, content or status)."
            ),
            "sort_desc": "fetched_at",
            "facets": ["change", "status"],
        },
        "images": {
            "title": "Images",
            "description": "Stored images, each once, under images/<sha[:2]>/<sha256>.<ext>.",
            "facets": ["mime"],
        },
        "article_images": {
            "title": "Article images",
            "description": "The images of each article in order; status ok or missing.",
            "facets": ["status"],
        },
        "links": {
            "title": "Links",
            "description": "Links from articles to other WeChat articles (to_key when known).",
        },
        "fetches": {
            "title": "Fetches",
            "description": "Every HTTP request the harvester made and its outcome.",
            "sort_desc": "at",
            "facets": ["outcome"],
        },
        "capture_responses": {
            "title": "Capture responses",
            "description": "What the server answered with each raw capture fetched (URL after "
            "redirects, HTTP status, headers): the records of `harvester export warc`.",
            "sort_desc": "fetched_at",
        },
        "runs": {
            "title": "Runs",
            "description": "Each harvester run: command, outcome, counts.",
            "sort_desc": "started_at",
        },
        "migrations": {"hidden": True},
        "articles_search": {"hidden": True},
        "articles_fts": {"hidden": True},
    }
