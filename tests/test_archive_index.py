import hashlib
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.files import StoredImage
from archive.fulltext import CJK_SEP
from archive.index import (
    KEYS_WITH_RAW_CAPTURE,
    SCHEMA_VERSION,
    ImageEntry,
    LinkEntry,
    SchemaTooNew,
    finish_run,
    get_article,
    keys_with_raw_capture,
    mark_status,
    missing_images,
    open_index,
    record_fetch,
    save_article,
    save_images,
    save_links,
    start_run,
)
from archive.index import schema as index_module
from archive.metadata import ARTICLE_FACETS
from archive.search import SearchHit, count_matches, search
from harvester.model import Page

CHINA = timezone(timedelta(hours=8))
BIZ = "MzA3MDM3NjE5NA=="
KEY = f"{BIZ}:2247483650:1"
T0 = datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
T2 = T0 + timedelta(days=2)


def page(title="神经修复与再生", **values):
    fields = {
        "kind": "article",
        "title": title,
        "account": "Neuronlink",
        "author": "作者",
        "published_at": datetime(2026, 1, 26, 8, 0, 16, tzinfo=CHINA),
        "url": f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247483650&idx=1&sn=abc",
        "biz": BIZ,
        "mid": "2247483650",
        "idx": "1",
        "sn": "abc",
        "account_id": "gh_0123456789ab",
        "original": True,
    }
    fields.update(values)
    return Page(**fields)


def save(db, body="正文", *, key=KEY, at=T0, the_page=None, **page_values):
    return save_article(
        db,
        the_page or page(**page_values),
        key=key,
        md_path=f"articles/{key}.md",
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        body_text=body,
        raw_path=f"raw/{key}.html.gz",
        fetched_at=at,
    )


@pytest.fixture
def db(tmp_path):
    database = open_index(tmp_path / "archive.db")
    yield database
    database.close()


def revisions(db, key=KEY):
    return list(
        db.query(
            "SELECT change, status, content_hash FROM revisions WHERE article_key = ? ORDER BY id",
            [key],
        )
    )


def assert_clean(db):
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")


# --- opening and migrations -------------------------------------------------


def test_open_index_creates_every_table(db):
    assert set(db.table_names()) >= {
        "migrations",
        "accounts",
        "articles",
        "revisions",
        "images",
        "article_images",
        "links",
        "fetches",
        "runs",
        "articles_search",
        "articles_fts",
    }


def test_open_index_uses_wal_and_foreign_keys(db):
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_open_index_keeps_savepoint_journals_in_memory(db):
    assert db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_open_index_records_migration_versions(db):
    versions = [r["version"] for r in db.query("SELECT version FROM migrations")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_open_index_twice_is_idempotent(tmp_path):
    first = open_index(tmp_path / "archive.db")
    schema = first.schema
    first.close()
    second = open_index(tmp_path / "archive.db")
    assert second.schema == schema
    assert second.execute("SELECT count(*) FROM migrations").fetchone() == (SCHEMA_VERSION,)
    second.close()


def test_open_index_refuses_a_newer_database(tmp_path):
    path = tmp_path / "archive.db"
    open_index(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES (99, 'future', '2030-01-01T00:00:00+00:00')")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="99"):
        open_index(path)


def test_every_foreign_key_is_indexed(db):
    for table in db.tables:
        indexed = {index.columns[0] for index in table.indexes}
        indexed |= {table.pks[0]} if table.pks else set()
        for fk in table.foreign_keys:
            assert fk.column in indexed, (table.name, fk.column)


def test_facet_columns_are_indexed(db):
    indexed = {tuple(index.columns) for index in db["articles"].indexes}
    assert {("published_at",), ("status",), ("account",), ("year",)} <= indexed


def test_fts_index_merges_segments_eight_at_a_time(db):
    config = dict(db.execute("SELECT k, v FROM articles_fts_config"))
    assert config["automerge"] == 8


def test_an_index_from_schema_4_gains_the_raw_capture_index_and_fts_automerge(
    tmp_path, monkeypatch
):
    path = tmp_path / "archive.db"
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "MIGRATIONS", index_module.MIGRATIONS[:4])
        patched.setattr(index_module, "SCHEMA_VERSION", 4)
        old = open_index(path)
        assert old.execute("PRAGMA user_version").fetchone() == (4,)
        with old.conn:  # a row as version 4 wrote it (today's save writes later columns)
            old.execute(
                "INSERT INTO articles (key, title, raw_path) VALUES (?, ?, ?)",
                [KEY, "正文", f"raw/{KEY}.html.gz"],
            )
        old.close()
    db = open_index(path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert dict(db.execute("SELECT k, v FROM articles_fts_config"))["automerge"] == 8
    assert keys_with_raw_capture(db) == [KEY]
    assert_clean(db)
    db.close()


def test_an_index_from_schema_6_says_its_dates_are_the_pages_own(tmp_path, monkeypatch):
    path = tmp_path / "archive.db"
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "MIGRATIONS", index_module.MIGRATIONS[:6])
        patched.setattr(index_module, "SCHEMA_VERSION", 6)
        old = open_index(path)
        with old.conn:
            old.execute(
                "INSERT INTO articles (key, published_at) VALUES (?, ?), (?, NULL)",
                [KEY, "2026-01-26T08:00:16+08:00", f"{BIZ}:9:1"],
            )
        old.close()
    db = open_index(path)
    rows = db.execute("SELECT key, date_source FROM articles ORDER BY key").fetchall()
    assert rows == [(KEY, "page"), (f"{BIZ}:9:1", None)]
    db.close()


def test_an_index_from_schema_7_keeps_its_accounts_and_adds_those_known_by_name(
    tmp_path, monkeypatch
):
    path = tmp_path / "archive.db"
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "MIGRATIONS", index_module.MIGRATIONS[:7])
        patched.setattr(index_module, "SCHEMA_VERSION", 7)
        old = open_index(path)
        with old.conn:
            old.execute(
                "INSERT INTO accounts VALUES (?, 'Neuronlink', 'gh_1', ?, ?)",
                [BIZ, "2026-02-01T12:00:00+00:00", "2026-02-02T12:00:00+00:00"],
            )
            old.execute(
                "INSERT INTO articles (key, account, biz, first_fetched_at) VALUES "
                "(?, 'Neuronlink', ?, ?), ('s:a', '脑科学', NULL, ?), ('s:b', '脑科学', NULL, ?), "
                "('s:c', 'Neuronlink', NULL, ?)",
                [KEY, BIZ, "2026-02-01T12:00:00+00:00", *["2026-03-01T00:00:00+00:00"] * 3],
            )
            old.execute(
                "UPDATE articles SET first_fetched_at = ? WHERE key = 's:b'", ["2026-03-02"]
            )
        old.close()
    db = open_index(path)
    assert db.execute("SELECT * FROM accounts ORDER BY id").fetchall() == [
        (1, BIZ, "Neuronlink", "gh_1", "2026-02-01T12:00:00+00:00", "2026-02-02T12:00:00+00:00"),
        (2, None, "脑科学", None, "2026-03-01T00:00:00+00:00", "2026-03-02"),
    ]
    assert_clean(db)
    db.close()


def test_an_article_without_a_biz_gives_its_account_a_row_by_name(db):
    save(db, key="s:A1", biz=None, mid=None, idx=None, account="脑科学", at=T0)
    save(db, key="s:B2", biz=None, mid=None, idx=None, account="脑科学", at=T1)
    assert db.execute("SELECT biz, nickname, first_seen, last_seen FROM accounts").fetchall() == [
        (None, "脑科学", "2026-02-01T12:00:00+00:00", "2026-02-02T12:00:00+00:00")
    ]


def test_an_account_known_by_name_takes_its_biz_from_the_first_article_that_gives_it(db):
    save(db, key="s:A1", biz=None, mid=None, idx=None, at=T0)
    save(db, at=T1)
    assert db.execute(
        "SELECT id, biz, nickname, first_seen, last_seen FROM accounts"
    ).fetchall() == [
        (1, BIZ, "Neuronlink", "2026-02-01T12:00:00+00:00", "2026-02-02T12:00:00+00:00")
    ]


def test_an_article_without_a_biz_adds_no_row_for_an_account_known_by_its_biz(db):
    save(db, at=T0)
    save(db, key="s:A1", biz=None, mid=None, idx=None, at=T1)
    assert db.execute("SELECT biz, nickname FROM accounts").fetchall() == [(BIZ, "Neuronlink")]


def test_keys_with_raw_capture_lists_only_articles_that_have_one_in_key_order(db):
    for key in (f"{BIZ}:3:1", f"{BIZ}:1:1"):
        save(db, key=key, mid=key.split(":")[1])
    save_article(
        db,
        page(mid="2", url=None),
        key=f"{BIZ}:2:1",
        md_path="articles/2.md",
        content_hash="0" * 64,
        body_text="正文",
        raw_path=None,
        fetched_at=T0,
    )
    assert keys_with_raw_capture(db) == [f"{BIZ}:1:1", f"{BIZ}:3:1"]


def test_keys_with_raw_capture_reads_only_its_partial_index(db):
    [(*_, step)] = db.execute("EXPLAIN QUERY PLAN " + KEYS_WITH_RAW_CAPTURE).fetchall()
    assert step.endswith("USING COVERING INDEX idx_articles_raw_capture")


# --- save_article -------------------------------------------------------------


def test_save_article_new_row(db):
    assert save(db, "正文") == "new"
    row = get_article(db, KEY)
    assert row["title"] == "神经修复与再生"
    assert row["account"] == "Neuronlink"
    assert row["published_at"] == "2026-01-26T08:00:16+08:00"
    assert row["year"] == 2026
    assert row["kind"] == "article"
    assert row["status"] == "live"
    assert row["original"] == 1
    assert row["paid"] == 0
    assert (row["biz"], row["mid"], row["idx"], row["sn"]) == (BIZ, "2247483650", "1", "abc")
    assert row["first_fetched_at"] == row["last_checked_at"] == "2026-02-01T12:00:00+00:00"
    assert row["body_text"] == "正文"
    assert row["revision_count"] == 1


def test_save_article_converts_publish_time_to_china_time(db):
    save(db, published_at=datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    row = get_article(db, KEY)
    assert (row["published_at"], row["year"]) == ("2026-02-01T04:00:00+08:00", 2026)


def test_save_article_upserts_the_account(db):
    save(db, at=T0)
    save(db, "v2", at=T1)
    rows = list(db.query("SELECT * FROM accounts"))
    assert rows == [
        {
            "id": 1,
            "biz": BIZ,
            "nickname": "Neuronlink",
            "account_id": "gh_0123456789ab",
            "first_seen": "2026-02-01T12:00:00+00:00",
            "last_seen": "2026-02-02T12:00:00+00:00",
        }
    ]


def test_save_article_new_adds_one_revision(db):
    save(db, "正文")
    assert revisions(db) == [
        {
            "change": "new",
            "status": "live",
            "content_hash": hashlib.sha256("正文".encode()).hexdigest(),
        }
    ]


def test_save_article_same_content_only_touches_last_checked_at(db):
    save(db, "正文", at=T0)
    before = get_article(db, KEY)
    assert save(db, "正文", at=T1, title="改了标题但内容哈希相同") == "unchanged"
    after = get_article(db, KEY)
    assert after["last_checked_at"] == "2026-02-02T12:00:00+00:00"
    assert {k: v for k, v in after.items() if k != "last_checked_at"} == {
        k: v for k, v in before.items() if k != "last_checked_at"
    }
    assert len(revisions(db)) == 1


def test_save_article_changed_content_updates_and_keeps_old_revisions(db):
    save(db, "第一版", at=T0)
    assert save(db, "第二版", at=T1, title="新标题") == "updated"
    row = get_article(db, KEY)
    assert (row["title"], row["body_text"], row["revision_count"]) == ("新标题", "第二版", 2)
    assert row["first_fetched_at"] == "2026-02-01T12:00:00+00:00"
    assert [r["change"] for r in revisions(db)] == ["new", "content"]
    assert [r["content_hash"] for r in revisions(db)] == [
        hashlib.sha256("第一版".encode()).hexdigest(),
        hashlib.sha256("第二版".encode()).hexdigest(),
    ]


def test_save_article_missing_values_do_not_erase_known_ones(db):
    save(db, "第一版", short_url="https://mp.weixin.qq.com/s/abc")
    save(db, "第二版", short_url=None, published_at=None)
    row = get_article(db, KEY)
    assert row["short_url"] == "https://mp.weixin.qq.com/s/abc"
    assert row["published_at"] == "2026-01-26T08:00:16+08:00"


def test_save_article_short_link_key_has_no_biz_and_an_account_by_name(db):
    assert save(db, key="s:A1E9RPbyYFRLOfhsP7B_Rw", biz=None, mid=None, idx=None) == "new"
    assert get_article(db, "s:A1E9RPbyYFRLOfhsP7B_Rw")["biz"] is None
    assert db.execute("SELECT biz, nickname FROM accounts").fetchall() == [(None, "Neuronlink")]
    assert_clean(db)


def test_save_article_refuses_verification_pages(db):
    with pytest.raises(ValueError):
        save(db, the_page=Page(kind="verification"))
    assert db["articles"].count == 0


def test_save_article_deleted_page_for_archived_article_keeps_content(db):
    save(db, "正文", at=T0)
    assert save(db, at=T1, the_page=Page(kind="deleted")) == "updated"
    row = get_article(db, KEY)
    assert (row["status"], row["title"], row["body_text"]) == ("deleted", "神经修复与再生", "正文")


def test_save_article_deleted_page_for_unknown_article_records_it(db):
    assert save(db, at=T0, the_page=Page(kind="deleted")) == "new"
    row = get_article(db, KEY)
    assert (row["status"], row["biz"], row["mid"]) == ("deleted", BIZ, "2247483650")
    assert row["body_text"] is None
    assert revisions(db) == [{"change": "new", "status": "deleted", "content_hash": None}]
    assert_clean(db)


def test_save_article_live_again_after_unavailable(db):
    save(db, "正文", at=T0)
    mark_status(db, KEY, "unavailable", T1)
    assert save(db, "正文", at=T2) == "updated"
    assert get_article(db, KEY)["status"] == "live"
    assert [(r["change"], r["status"]) for r in revisions(db)] == [
        ("new", "live"),
        ("status", "unavailable"),
        ("status", "live"),
    ]


def test_save_functions_join_the_callers_transaction(db):
    with pytest.raises(RuntimeError), db.atomic():
        save(db)
        raise RuntimeError("caller fails after saving")
    assert db["articles"].count == 0
    assert db["articles_search"].count == 0


def test_fts_index_is_external_content_over_the_shadow_table(db):
    assert 'content="articles_search"' in db["articles_fts"].schema


# --- mark_status ----------------------------------------------------------------


def test_mark_status_keeps_every_other_column(db):
    save(db, "正文", at=T0)
    before = get_article(db, KEY)
    assert mark_status(db, KEY, "deleted", T1) is True
    after = get_article(db, KEY)
    changed = {"status", "status_changed_at", "last_checked_at"}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert (after["status"], after["status_changed_at"]) == ("deleted", "2026-02-02T12:00:00+00:00")


def test_mark_status_adds_a_status_revision(db):
    save(db, "正文", at=T0)
    mark_status(db, KEY, "blocked", T1)
    assert [(r["change"], r["status"]) for r in revisions(db)] == [
        ("new", "live"),
        ("status", "blocked"),
    ]


def test_mark_status_same_status_returns_false_and_adds_nothing(db):
    save(db, "正文", at=T0)
    mark_status(db, KEY, "deleted", T1)
    assert mark_status(db, KEY, "deleted", T2) is False
    assert len(revisions(db)) == 2
    assert get_article(db, KEY)["status_changed_at"] == "2026-02-02T12:00:00+00:00"


def test_mark_status_rejects_unknown_status(db):
    save(db)
    with pytest.raises(ValueError):
        mark_status(db, KEY, "verification", T1)


def test_mark_status_unknown_article_raises_key_error(db):
    with pytest.raises(KeyError):
        mark_status(db, "nope:1:1", "deleted", T1)


# --- images, links, fetches, runs ---------------------------------------------------


def stored(sha="a" * 64):
    return StoredImage(sha, f"images/{sha[:2]}/{sha}.png", "image/png", 10, 3, 2)


def test_save_images_records_ok_and_missing(db):
    save(db)
    save_images(
        db,
        KEY,
        [
            ImageEntry(0, "https://mmbiz.qpic.cn/a", stored(), alt="图一"),
            ImageEntry(1, "https://mmbiz.qpic.cn/b", None, error="HTTP 404"),
        ],
    )
    rows = list(db.query("SELECT * FROM article_images ORDER BY position"))
    assert [(r["status"], r["sha256"], r["error"], r["attempts"]) for r in rows] == [
        ("ok", "a" * 64, None, 1),
        ("missing", None, "HTTP 404", 1),
    ]
    assert [r["url"] for r in missing_images(db)] == ["https://mmbiz.qpic.cn/b"]


def test_save_images_stores_a_shared_image_once_with_its_first_url(db):
    save(db, key="b:1:1", biz=None)
    save(db, key="b:1:2", biz=None)
    save_images(db, "b:1:1", [ImageEntry(0, "https://first", stored())])
    save_images(db, "b:1:2", [ImageEntry(0, "https://second", stored())])
    assert list(db.query("SELECT sha256, first_url, width, height FROM images")) == [
        {"sha256": "a" * 64, "first_url": "https://first", "width": 3, "height": 2}
    ]
    assert db["article_images"].count == 2


def test_save_images_retry_counts_attempts(db):
    save(db)
    save_images(db, KEY, [ImageEntry(0, "https://x", None, error="timeout")])
    save_images(db, KEY, [ImageEntry(0, "https://x", stored())], replace=False)
    row = next(db.query("SELECT status, attempts, error FROM article_images"))
    assert row == {"status": "ok", "attempts": 2, "error": None}


def test_save_images_replace_drops_positions_no_longer_present(db):
    save(db)
    save_images(db, KEY, [ImageEntry(0, "https://a"), ImageEntry(1, "https://b")])
    save_images(db, KEY, [{"position": 0, "url": "https://a"}])
    assert [r["position"] for r in db.query("SELECT position FROM article_images")] == [0]


def test_save_images_for_unknown_article_is_rolled_back(db):
    with pytest.raises(sqlite3.IntegrityError):
        save_images(db, "missing:1:1", [ImageEntry(0, "https://a", stored())])
    assert db["images"].count == 0


def test_save_links_replaces_the_article_links(db):
    save(db)
    save_links(db, KEY, [LinkEntry("https://a", "k:1:1", "甲"), ("https://b", None, "乙")])
    save_links(db, KEY, [LinkEntry("https://c")])
    assert list(db.query("SELECT from_key, position, to_key, to_url, text FROM links")) == [
        {"from_key": KEY, "position": 0, "to_key": None, "to_url": "https://c", "text": None}
    ]


def test_record_fetch_logs_the_outcome(db):
    run_id = start_run(db, "fetch", at=T0, pid=42)
    fetch_id = record_fetch(
        db, "https://mp.weixin.qq.com/s/x", outcome="verification", at=T0, status=200,
        elapsed_ms=120, run_id=run_id,
    )  # fmt: skip
    row = db["fetches"].get(fetch_id)
    assert (row["run_id"], row["status"], row["outcome"], row["elapsed_ms"]) == (
        run_id,
        200,
        "verification",
        120,
    )


def test_runs_are_opened_and_closed_with_counts(db):
    run_id = start_run(db, "harvest", at=T0, pid=42)
    assert db["runs"].get(run_id)["outcome"] == "running"
    finish_run(db, run_id, "ok", {"new": 2, "failed": 0}, "done", at=T1)
    row = db["runs"].get(run_id)
    assert (row["finished_at"], row["outcome"], row["message"], row["pid"]) == (
        "2026-02-02T12:00:00+00:00",
        "ok",
        "done",
        42,
    )
    assert json.loads(row["counts"]) == {"new": 2, "failed": 0}


def test_foreign_key_and_integrity_checks_are_clean_after_operations(db):
    save(db, "正文", at=T0)
    save(db, "第二版", at=T1)
    mark_status(db, KEY, "deleted", T2)
    save_images(db, KEY, [ImageEntry(0, "https://a", stored()), ImageEntry(1, "https://b")])
    save_links(db, KEY, [LinkEntry("https://x", "not:archived:1")])
    run_id = start_run(db, "harvest")
    record_fetch(db, "https://x", outcome="ok", run_id=run_id)
    finish_run(db, run_id, "ok", {})
    assert_clean(db)


# --- Chinese full-text search ------------------------------------------------------


BODIES = {
    "a:1:1": ("神经修复与再生", "周围神经损伤后，Büngner带引导轴突再生。PTEN 抑制促进修复。"),
    "b:1:1": ("两个字", "神和经是分开的两个字。"),
    "c:1:1": ("材料", "修复材料 collagen scaffold"),
    "d:1:1": ("细胞", "Büngner cells in culture"),
    "e:1:1": ("分开", "神经的修复需要时间"),
    "f:1:1": ("基因", "PTEN alone, no nerves"),
}


@pytest.fixture
def corpus(db):
    for key, (title, body) in BODIES.items():
        save(db, body, key=key, biz=None, title=title)
    return db


def keys(hits):
    return sorted(hit.key for hit in hits)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("神经", ["a:1:1", "e:1:1"]),
        ("修复", ["a:1:1", "c:1:1", "e:1:1"]),
        ("与再生", ["a:1:1"]),
        ("神经修复", ["a:1:1"]),
        ("轴突再生", ["a:1:1"]),
        ("collagen", ["c:1:1"]),
        ("COLLAGEN", ["c:1:1"]),
        ("Büngner带", ["a:1:1"]),
        ("Büngner", ["a:1:1", "d:1:1"]),
        ("bungner", ["a:1:1", "d:1:1"]),
        ("PTEN 神经", ["a:1:1"]),
        ("PTEN", ["a:1:1", "f:1:1"]),
        ("神和经", ["b:1:1"]),
        ("不存在", []),
    ],
)
def test_search_finds_exactly_the_articles_containing_the_query(corpus, query, expected):
    assert keys(search(corpus, query)) == expected


# A word typed without spaces is a phrase: its tokens only where they stand together.
PHRASES = {
    "r:1:1": ("R语言入门", "用R语言画图。"),
    "r:2:1": ("统计", "R 和 Python 都是常用的语言。"),  # R, and 语言 elsewhere
    "r:3:1": ("语言学", "语言R：写反了。"),  # 语言 before R
    "r:4:1": ("入门", "先学 R 语言。"),  # R then 语言: a space is no token, they stand together
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("R语言", ["r:1:1", "r:4:1"]),
        ("R 语言", ["r:1:1", "r:2:1", "r:3:1", "r:4:1"]),
        ("语言R", ["r:3:1"]),
        ("R语言 画图", ["r:1:1"]),
    ],
)
def test_a_word_without_spaces_is_a_phrase_and_spaces_mean_and(db, query, expected):
    for key, (title, body) in PHRASES.items():
        save(db, body, key=key, biz=None, title=title)
    assert keys(search(db, query)) == expected
    assert count_matches(db, query) == len(expected)


HOSTILE = ['"', "OR", "AND", "NOT", "*", "(", ")", "NEAR(", "神经 OR", "a:神经", "^", "-", "'", ""]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_error(corpus, query):
    search(corpus, query)


@pytest.mark.parametrize("query", ["", "   ", '"', "*", "(", "，。", ")"])
def test_empty_or_punctuation_queries_find_nothing(corpus, query):
    assert search(corpus, query) == []


@pytest.fixture(scope="module")
def shared_corpus(tmp_path_factory):
    database = open_index(tmp_path_factory.mktemp("search") / "archive.db")
    for key, (title, body) in BODIES.items():
        save(database, body, key=key, biz=None, title=title)
    yield database
    database.close()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.text(alphabet='神经"*()^:-+ ORANDNEAR', max_size=30))
def test_any_query_is_a_valid_fts_expression(shared_corpus, query):
    hits = search(shared_corpus, query)
    assert all(isinstance(hit, SearchHit) for hit in hits)


def test_search_snippet_reads_naturally_with_marks(corpus):
    [hit] = search(corpus, "轴突")
    assert hit.snippet == "周围神经损伤后，Büngner带引导<mark>轴突</mark>再生。PTEN 抑制促进修复。"
    assert CJK_SEP not in hit.snippet


def test_search_snippet_has_no_spaces_between_chinese_characters(corpus):
    snippets = [hit.snippet for hit in search(corpus, "神经")]
    assert snippets == [
        "周围<mark>神经</mark>损伤后，Büngner带引导轴突再生。PTEN 抑制促进修复。",
        "<mark>神经</mark>的修复需要时间",
    ]
    assert not any(re.search(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]", s) for s in snippets)


def test_search_snippet_merges_adjacent_highlights(corpus):
    [hit] = search(corpus, "Büngner带")
    assert "<mark>Büngner带</mark>" in hit.snippet


def test_search_marks_are_configurable(corpus):
    [hit] = search(corpus, "轴突", open_mark="[", close_mark="]")
    assert "引导[轴突]再生" in hit.snippet


def test_search_hit_fields(corpus):
    [hit] = search(corpus, "collagen")
    assert hit == SearchHit(
        key="c:1:1",
        title="材料",
        account="Neuronlink",
        published_at="2026-01-26T08:00:16+08:00",
        snippet="修复材料 <mark>collagen</mark> scaffold",
        rank=hit.rank,
        status="live",
    )
    assert hit.rank < 0


def test_search_ranks_title_matches_first(corpus):
    hits = search(corpus, "神经")
    assert [hit.key for hit in hits] == ["a:1:1", "e:1:1"]


def test_search_respects_limit(corpus):
    assert len(search(corpus, "修复", limit=2)) == 2


def test_search_offset_skips_the_best(corpus):
    assert [hit.key for hit in search(corpus, "修复")] == ["a:1:1", "c:1:1", "e:1:1"]
    assert [hit.key for hit in search(corpus, "修复", limit=2, offset=1)] == ["c:1:1", "e:1:1"]
    assert [hit.key for hit in search(corpus, "修复", limit=2, offset=2)] == ["e:1:1"]
    assert search(corpus, "修复", limit=2, offset=3) == []


def test_search_pages_of_equal_ranks_never_repeat_or_skip(db):
    for number in range(7):  # the same text: every rank is equal
        save(db, "同样的修复", key=f"same:{number}:1", biz=None, title="同样")
    pages = [search(db, "修复", limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(hits) for hits in pages] == [3, 3, 1]
    assert sorted(hit.key for hits in pages for hit in hits) == [f"same:{n}:1" for n in range(7)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("修复", 3), ("神经", 2), ("PTEN 神经", 1), ("不存在", 0), ("", 0), ("，。", 0)],
)
def test_count_matches_counts_every_matching_article(corpus, query, expected):
    assert count_matches(corpus, query) == expected


def test_search_follows_content_updates(corpus):
    save(corpus, "全新的内容", key="c:1:1", biz=None, title="材料")
    assert keys(search(corpus, "collagen")) == []
    assert keys(search(corpus, "全新")) == ["c:1:1"]


def test_search_still_finds_deleted_articles(corpus):
    mark_status(corpus, "c:1:1", "deleted", T1)
    [hit] = search(corpus, "collagen")
    assert hit.status == "deleted"


def test_the_articles_facets_are_covered_by_one_index_in_their_order(db):
    indexes = {index.name: tuple(index.columns) for index in db["articles"].indexes}
    assert indexes["idx_articles_facets"] == ARTICLE_FACETS
