"""Plain `datasette` with the package installed: the plugin comes from its entry point and
acts on archives only, told by their tables (not their file names), never on the other
databases served beside them. (test_serve.py checks every archive page under plain
Datasette too.)"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlite_utils
from archive_builder import (
    A1,
    DATASETTE,
    NEW_KEY,
    SEARCHES,
    TITLES,
    BuiltArchive,
    Server,
    add_article,
    build_archive,
    datasette_argv,
    free_port,
    serving,
)
from datasette.app import Datasette

from archive.datasette_plugin import _best_hits
from archive.fulltext import fts_query
from archive.search import MATCHING_ARTICLES_WHERE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltArchive:
    return build_archive(tmp_path_factory.mktemp("plain") / "wechat-archive")


@pytest.fixture(scope="module")
def other_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of the user's own with an `articles` table and Datasette's usual FTS."""
    path = tmp_path_factory.mktemp("other") / "notes.db"
    db = sqlite_utils.Database(path)
    db["articles"].insert_all(
        [
            {"id": 1, "title": "hello world", "body": "神经修复", "kind": "note"},
            {"id": 2, "title": "goodbye", "body": "hello again", "kind": "note"},
            {"id": 3, "title": "unrelated", "body": "nothing", "kind": "list"},
        ],
        pk="id",
    )
    db["articles"].enable_fts(["title", "body"])
    db.close()
    return path


@pytest.fixture(scope="module")
def beside(built: BuiltArchive, other_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """`datasette notes.db wechat.db`: the archive under another name, after another db."""
    folder = tmp_path_factory.mktemp("renamed")
    copy = folder / "wechat.db"
    with sqlite3.connect(built.root / "archive.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    (folder / "images").symlink_to(built.root / "images")
    port = free_port()
    with serving(datasette_argv(other_db, copy, port=port), port) as running:
        yield running


def json_get(server: Server, path: str):
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.text[:500])
    return json.loads(response.body)


def test_datasette_plugins_lists_the_archive_plugin() -> None:
    done = subprocess.run(
        [DATASETTE, "plugins"], capture_output=True, text=True, timeout=60, check=True
    )
    plugins = {plugin["name"]: plugin for plugin in json.loads(done.stdout)}
    plugin = plugins["wechat-archive"]
    assert plugin["templates"] is True
    assert {"filters_from_request", "get_metadata", "register_routes", "startup"} <= set(
        plugin["hooks"]
    )


@pytest.mark.parametrize("query", ["神经", "神经修复", "PTEN 神经", "经神"])
def test_an_archive_under_another_name_is_searched_in_chinese(beside: Server, query: str) -> None:
    path = f"/wechat/articles.json?_search={quote(query)}&_shape=array&_col=title"
    assert {row["key"] for row in json_get(beside, path)} == SEARCHES[query]


def test_the_instance_pages_show_the_archive_beside_another_db(beside: Server) -> None:
    hits = json_get(beside, f"/-/search.json?q={quote('神经修复')}")["results"]
    assert [hit["key"] for hit in hits][:1] == [A1]
    page = beside.get("/-/article/" + quote(A1, safe=""))
    assert page.status == 200 and TITLES[A1] in page.text
    assert 'href="/wechat/articles"' in page.text
    metadata = json_get(beside, "/-/metadata.json")
    assert set(metadata["databases"]) == {"wechat"}
    assert "gone" in metadata["databases"]["wechat"]["queries"]


def test_the_other_db_keeps_datasettes_own_search(beside: Server) -> None:
    rows = json_get(beside, "/notes/articles.json?_search=hello&_shape=array")
    assert [row["id"] for row in rows] == [1, 2]
    page = beside.get("/notes/articles?_search=hello")
    assert page.status == 200
    assert "Best matches" not in page.text and "/-/article/" not in page.text
    assert "application/atom+xml" not in page.text  # the archive's feeds are not its own


@pytest.mark.parametrize(
    ("database", "expected"), [("notes", '"神经"'), ("wechat", '"神 经"')], ids=["other", "archive"]
)
def test_escape_fts_is_chinese_aware_in_the_archive_only(
    beside: Server, database: str, expected: str
) -> None:
    sql = quote("select escape_fts('神经') as q")
    rows = json_get(beside, f"/{database}.json?sql={sql}&_shape=array")
    assert rows == [{"q": expected}]


def test_the_archive_tables_suggest_no_facets_and_the_other_db_keeps_suggesting(
    beside: Server,
) -> None:
    archive = json_get(beside, f"/wechat/articles.json?_search={quote('神经')}")
    assert archive["suggested_facets"] == []
    assert set(archive["facet_results"]) == {"account", "year", "kind", "status"}
    other = json_get(beside, "/notes/articles.json")
    assert [facet["name"] for facet in other["suggested_facets"]] == ["kind"]


def test_the_table_search_sql_runs_as_shown(beside: Server) -> None:
    """The page's "View and edit SQL" runs: the SQL function its WHERE calls is there."""
    sql = quote(f"select count(*) as n from articles where {MATCHING_ARTICLES_WHERE}")
    rows = json_get(beside, f"/wechat.json?sql={sql}&archive_match={quote(fts_query('神经'))}")
    assert rows["rows"] == [[len(SEARCHES["神经"])]]


def test_an_article_archived_while_served_is_found_at_once(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "wechat-archive")
    port = free_port()
    path = f"/archive/articles.json?_search={quote('独一无二')}&_shape=array"
    with serving(datasette_argv(built.root / "archive.db", port=port), port) as running:
        assert json_get(running, path) == []
        add_article(built, "独一无二的新文章")
        assert [row["key"] for row in json_get(running, path)] == [NEW_KEY]


def _counted(db_path: Path, keys: set[str], column: str) -> list[tuple]:
    """`column`'s values among the articles `keys`, most first: what a facet must show."""
    marks = ", ".join("?" * len(keys))
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            f"select {column}, count(*) from articles where key in ({marks}) "
            f"and {column} is not null group by {column} order by count(*) desc, {column}",
            sorted(keys),
        ).fetchall()


@pytest.mark.parametrize("query", ["神经", "PTEN 神经"])
def test_the_facets_of_a_search_count_its_matching_articles(
    beside: Server, built: BuiltArchive, query: str
) -> None:
    facets = json_get(beside, f"/wechat/articles.json?_search={quote(query)}")["facet_results"]
    for column in ("account", "year", "kind", "status"):
        shown = [(item["value"], item["count"]) for item in facets[column]["results"]]
        assert shown == _counted(built.root / "archive.db", SEARCHES[query], column), column


def test_a_facet_value_filters_the_search_by_it_and_shows_selected(beside: Server) -> None:
    facets = json_get(beside, f"/wechat/articles.json?_search={quote('神经')}")["facet_results"]
    first = facets["account"]["results"][0]
    assert first["selected"] is False
    path = (
        first["toggle_url"]
        .removeprefix(beside.base_url)
        .replace("/wechat/articles?", "/wechat/articles.json?")
    )
    filtered = json_get(beside, path)
    account = filtered["columns"].index("account")
    assert {row[account] for row in filtered["rows"]} == {first["value"]}
    selected = [
        item for item in filtered["facet_results"]["account"]["results"] if item["selected"]
    ]
    assert [(item["value"], item["count"]) for item in selected] == [
        (first["value"], first["count"])
    ]


def test_the_facets_count_an_article_archived_while_served(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "wechat-archive")
    port = free_port()
    path = f"/archive/articles.json?_search={quote('神经')}"
    with serving(datasette_argv(built.root / "archive.db", port=port), port) as running:
        before = json_get(running, path)["facet_results"]["account"]["results"]
        add_article(built, "神经的新文章")
        after = json_get(running, path)["facet_results"]["account"]["results"]
    counts = {item["value"]: item["count"] for item in before}
    counts["Neuronlink"] = counts.get("Neuronlink", 0) + 1
    assert {item["value"]: item["count"] for item in after} == counts


def test_faceting_articles_by_a_column_they_lack_is_a_clear_error(beside: Server) -> None:
    response = beside.get("/wechat/articles.json?_facet_archive=nope")
    assert response.status == 400
    assert json.loads(response.body)["error"] == "cannot facet articles by 'nope': no such column"


def test_a_facet_a_link_asks_for_is_counted_and_can_be_hidden(
    beside: Server, built: BuiltArchive
) -> None:
    path = f"/wechat/articles.json?_search={quote('神经')}&_facet_archive=author"
    facets = json_get(beside, path)["facet_results"]
    assert set(facets) == {"account", "year", "kind", "status", "author"}
    shown = [(item["value"], item["count"]) for item in facets["author"]["results"]]
    assert shown == [("档案测试", len(SEARCHES["神经"]))]
    assert (facets["author"]["hideable"], facets["account"]["hideable"]) == (True, False)


def test_a_best_matches_ranking_cut_short_is_ranked_again_by_the_next_page(
    built: BuiltArchive,
) -> None:
    """A ranking started by one Datasette whose event loop then closed (cancelled, kept)
    never breaks another Datasette's page of the same search in the same process."""
    path = str(built.root / "archive.db")

    async def start_only() -> None:
        datasette = Datasette([path])
        await datasette.invoke_startup()
        _best_hits(datasette, "archive", "神经")

    async def page() -> tuple[int, bool]:
        datasette = Datasette([path])
        response = await datasette.client.get(f"/archive/articles?_search={quote('神经')}")
        return response.status_code, "Best matches" in response.text

    asyncio.run(start_only())
    assert asyncio.run(page()) == (200, True)
