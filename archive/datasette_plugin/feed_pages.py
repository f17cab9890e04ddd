"""The archive's Atom feeds, and the links that let feed readers find them.

- /-/feed.atom: the newest versions archived, newest first: an article is an entry
  again (same id, new `updated`) when a changed version of it lands;
- /-/feed/account/<biz>.atom: the same for one account;
- /-/feed/gone.atom: the articles WeChat no longer shows (deleted, blocked, …) since
  they were archived, by when that was noticed.

Each entry holds the full text (rendered as the reading page renders it, archive.render),
its images and the links to archived articles made absolute, so a reader shows it all
without WeChat. The XML is archive.feeds'. Pages advertise them with pages.feed_links
(templates/_archive_feeds.html writes the `<link rel="alternate">`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote

from datasette.utils.asgi import NotFound, Response

from archive.datasette_plugin.archives import first_archive
from archive.datasette_plugin.pages import FEED_TITLE, article_path
from archive.feeds import CONTENT_TYPE, Feed, FeedEntry, atom_xml
from archive.metadata import GONE_WHERE
from archive.render import render_markdown

FEED_SIZE = 50
_COLUMNS = "a.key, a.title, a.account, a.author, a.published_at, a.url, a.short_url, "
_COLUMNS += "a.status, a.status_changed_at, a.md_path, a.body_text"
# The newest version of each article, in the order the versions landed (revision ids):
# read from the newest revision back, so only about FEED_SIZE revisions are looked at.
_REVISED_SQL = f"""
select {_COLUMNS}, r.fetched_at as updated
from revisions r join articles a on a.key = r.article_key
where r.change in ('new', 'content') and a.content_hash is not null {{account}}
    and r.id = (select max(r2.id) from revisions r2
        where r2.article_key = r.article_key and r2.change in ('new', 'content'))
order by r.id desc limit {FEED_SIZE}
"""
_GONE_SQL = f"""
select {_COLUMNS}, a.status_changed_at as updated
from articles a where {GONE_WHERE}
order by a.status_changed_at desc, a.key limit {FEED_SIZE}
"""
_LINKS_SQL = """
select l.from_key, l.to_url, l.to_key from links l join articles a on a.key = l.to_key
where l.from_key in (select value from json_each(:keys))
"""
_LAST_CHECK_SQL = "select max(last_checked_at) from articles"


def _entry_id(row: dict[str, Any]) -> str:
    for link in (row["url"], row["short_url"]):
        if link and link.startswith("https://"):
            return link
    return "urn:wechat-archive:" + quote(row["key"], safe="")


def _notice(row: dict[str, Any]) -> str:
    since = f" since {row['status_changed_at'][:10]}" if row["status_changed_at"] else ""
    return (
        f"<p><strong>WeChat no longer shows this article ({row['status']}{since}).</strong> "
        "This is the archived copy.</p>\n"
    )


async def _entries(datasette: Any, request: Any, db: Any, rows: list[dict]) -> list[FeedEntry]:
    keys = json.dumps([row["key"] for row in rows])
    links: dict[str, dict[str, str]] = {}
    for link in (await db.execute(_LINKS_SQL, {"keys": keys})).rows:
        target = datasette.absolute_url(request, article_path(datasette, link["to_key"]))
        links.setdefault(link["from_key"], {})[link["to_url"]] = target
    images = datasette.absolute_url(request, datasette.urls.path("/images/"))
    entries = []
    for row in rows:
        body = render_markdown(
            row["body_text"],
            md_path=row["md_path"],
            image_base=images,
            link_map=links.get(row["key"]),
        )
        notice = _notice(row) if row["status"] != "live" else ""
        entries.append(
            FeedEntry(
                id=_entry_id(row),
                title=row["title"] or "(untitled)",
                updated=row["updated"],
                link=datasette.absolute_url(request, article_path(datasette, row["key"])),
                content_html=notice + body,
                published=row["published_at"],
                author=row["author"] or row["account"],
                original_link=row["short_url"] or row["url"],
            )
        )
    return entries


async def _feed(
    datasette: Any, request: Any, sql: str, params: dict, title: str, alternate: str
) -> Response:
    database = await first_archive(datasette)
    db = datasette.get_database(database)
    rows = [dict(row) for row in (await db.execute(sql, params)).rows]
    entries = await _entries(datasette, request, db, rows)
    if entries:
        updated = max(entry.updated for entry in entries)
    else:  # nothing in it, as of the archive's last check
        updated = (await db.execute(_LAST_CHECK_SQL)).rows[0][0] or "1970-01-01T00:00:00+00:00"
    here = datasette.absolute_url(request, request.path)
    feed = Feed(
        id=here,
        title=title,
        updated=updated,
        self_link=here,
        alternate_link=datasette.absolute_url(request, alternate),
        author=FEED_TITLE,
        entries=entries,
    )
    return Response(atom_xml(feed), content_type=CONTENT_TYPE)


async def archive_feed(datasette: Any, request: Any) -> Response:
    database = await first_archive(datasette)
    sql = _REVISED_SQL.format(account="")
    alternate = datasette.urls.table(database, "articles")
    return await _feed(datasette, request, sql, {}, f"{FEED_TITLE}: newest articles", alternate)


async def account_feed(datasette: Any, request: Any) -> Response:
    database = await first_archive(datasette)
    biz = unquote(request.url_vars["biz"])
    db = datasette.get_database(database)
    found = (await db.execute("select nickname from accounts where biz = :biz", {"biz": biz})).rows
    if not found:
        raise NotFound(f"No archived account {biz!r}")
    sql = _REVISED_SQL.format(account="and a.biz = :biz")
    title = f"{found[0]['nickname'] or biz} – {FEED_TITLE}"
    alternate = datasette.urls.path("/-/account/" + quote(biz, safe=""))
    return await _feed(datasette, request, sql, {"biz": biz}, title, alternate)


async def gone_feed(datasette: Any, request: Any) -> Response:
    database = await first_archive(datasette)
    title = f"{FEED_TITLE}: deleted or blocked since archived"
    alternate = datasette.urls.table(database, "gone")
    return await _feed(datasette, request, _GONE_SQL, {}, title, alternate)
