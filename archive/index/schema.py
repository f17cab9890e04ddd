"""The index's tables and their migrations.

Schema changes are an ordered list of migration functions (MIGRATIONS); the
`migrations` table records each applied version (mirrored in PRAGMA
user_version) and each runs once, in its own transaction. A database written by
newer code is refused with SchemaTooNew. A migration once released is never edited:
a change is a new one at the end of the list.

Chinese full-text search: `articles_search` holds a copy of each article's
title and body in which every CJK character is its own token (archive.fulltext
makes it and says why). `articles_fts` is an external-content FTS5 index over
`articles_search`, kept in sync by triggers on that shadow table.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from archive.errors import InputError
from archive.index.transaction import BUSY_SECONDS, write_transaction
from archive.times import iso_utc


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of this program."""


def _m001_core(db: sqlite_utils.Database) -> None:
    for sql in CORE_SCHEMA:
        db.execute(sql)


def _m002_search(db: sqlite_utils.Database) -> None:
    for sql in SEARCH_SCHEMA:
        db.execute(sql)


CORE_SCHEMA = (
    """CREATE TABLE accounts (
    biz TEXT PRIMARY KEY,
    nickname TEXT,
    account_id TEXT,
    first_seen TEXT,
    last_seen TEXT
)""",
    """CREATE TABLE articles (
    key TEXT PRIMARY KEY,
    title TEXT,
    account TEXT,
    published_at TEXT,
    year INTEGER,
    kind TEXT,
    status TEXT NOT NULL DEFAULT 'live',
    author TEXT,
    original INTEGER,
    paid INTEGER NOT NULL DEFAULT 0,
    digest TEXT,
    cover TEXT,
    url TEXT,
    short_url TEXT,
    source_url TEXT,
    shared_url TEXT,
    biz TEXT REFERENCES accounts(biz),
    mid TEXT,
    idx TEXT,
    sn TEXT,
    tags TEXT,
    categories TEXT,
    md_path TEXT,
    raw_path TEXT,
    content_hash TEXT,
    status_changed_at TEXT,
    first_fetched_at TEXT,
    last_checked_at TEXT,
    revision_count INTEGER NOT NULL DEFAULT 0,
    body_text TEXT
)""",
    "CREATE INDEX idx_articles_biz ON articles(biz)",
    "CREATE INDEX idx_articles_published_at ON articles(published_at)",
    "CREATE INDEX idx_articles_status ON articles(status)",
    "CREATE INDEX idx_articles_account ON articles(account)",
    "CREATE INDEX idx_articles_year ON articles(year)",
    "CREATE INDEX idx_articles_kind ON articles(kind)",
    """CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    article_key TEXT NOT NULL REFERENCES articles(key),
    fetched_at TEXT NOT NULL,
    change TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT,
    title TEXT,
    content_hash TEXT,
    raw_path TEXT,
    md_path TEXT
)""",
    "CREATE INDEX idx_revisions_article_key ON revisions(article_key)",
    """CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    path TEXT NOT NULL,
    first_url TEXT
)""",
    """CREATE TABLE article_images (
    article_key TEXT NOT NULL REFERENCES articles(key),
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    sha256 TEXT REFERENCES images(sha256),
    alt TEXT,
    status TEXT NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (article_key, position)
)""",
    "CREATE INDEX idx_article_images_sha256 ON article_images(sha256)",
    "CREATE INDEX idx_article_images_status ON article_images(status)",
    """CREATE TABLE links (
    from_key TEXT NOT NULL REFERENCES articles(key),
    position INTEGER NOT NULL,
    to_key TEXT,
    to_url TEXT NOT NULL,
    text TEXT,
    PRIMARY KEY (from_key, position)
)""",
    "CREATE INDEX idx_links_to_key ON links(to_key)",
    """CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'running',
    counts TEXT,
    pid INTEGER,
    message TEXT
)""",
    """CREATE TABLE fetches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    url TEXT NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    error TEXT,
    elapsed_ms INTEGER,
    article_key TEXT
)""",
    "CREATE INDEX idx_fetches_run_id ON fetches(run_id)",
    "CREATE INDEX idx_fetches_at ON fetches(at)",
    "CREATE INDEX idx_fetches_article_key ON fetches(article_key)",
)

SEARCH_SCHEMA = (
    """CREATE TABLE articles_search (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE REFERENCES articles(key) ON DELETE CASCADE,
    title TEXT,
    body TEXT
)""",
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content="articles_search", content_rowid="id",
    tokenize="unicode61 remove_diacritics 2"
)""",
    """CREATE TRIGGER articles_search_ai AFTER INSERT ON articles_search BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    """CREATE TRIGGER articles_search_ad AFTER DELETE ON articles_search BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
END""",
    """CREATE TRIGGER articles_search_au AFTER UPDATE ON articles_search BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
)


def _m003_harvest(db: sqlite_utils.Database) -> None:
    """Version 3 made the harvest's queue tables; their code owns them now and creates them
    when first used (harvester/queue.py), so here the version is only recorded."""


def _m004_short_url_index(db: sqlite_utils.Database) -> None:
    """Imports and fetches look articles up by short link: keep that flat at 100k articles."""
    db.execute("CREATE INDEX idx_articles_short_url ON articles(short_url)")


def _m005_raw_capture_index(db: sqlite_utils.Database) -> None:
    """`rebuild` lists the articles that have a raw capture: from a small index, not by
    reading every row of the table (seconds at 100k articles when the file is not cached)."""
    db.execute(
        "CREATE INDEX idx_articles_raw_capture ON articles(key, raw_path)"
        " WHERE raw_path IS NOT NULL"
    )


FTS_AUTOMERGE = 8


def _m006_fts_automerge(db: sqlite_utils.Database) -> None:
    """FTS5 merges a level's segments once it has 4 (its default); at 8 the index has fewer
    levels, so each entry is rewritten fewer times as the archive grows. In scripts/bench.py
    `rebuild` per article went from 1.3x to 1.08x between 10k and 100k articles, with
    search latency unchanged."""
    db.execute(
        "INSERT INTO articles_fts(articles_fts, rank) VALUES ('automerge', ?)", [FTS_AUTOMERGE]
    )


def _m007_date_source(db: sqlite_utils.Database) -> None:
    """Where `published_at` comes from: "page" (the page's own publish time) or "seed" (a
    seed file's date, the best known until the article is fetched, which replaces it)."""
    db.execute("ALTER TABLE articles ADD COLUMN date_source TEXT")
    db.execute("UPDATE articles SET date_source = 'page' WHERE published_at IS NOT NULL")


def _m008_accounts_by_name(db: sqlite_utils.Database) -> None:
    """A seed file names its account but not its biz: such an account is a row too (biz
    NULL, one per name) until a fetched article of that name gives it its biz. The table
    gets its own id (rebuilt, as SQLite changes a primary key), and the accounts of the
    articles already archived without a biz are added."""
    db.execute(
        """CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY,
    biz TEXT UNIQUE,
    nickname TEXT,
    account_id TEXT,
    first_seen TEXT,
    last_seen TEXT
)"""
    )
    db.execute(
        "INSERT INTO accounts_new (biz, nickname, account_id, first_seen, last_seen) "
        "SELECT biz, nickname, account_id, first_seen, last_seen FROM accounts "
        "ORDER BY first_seen, biz"
    )
    db.execute("DROP TABLE accounts")
    db.execute("ALTER TABLE accounts_new RENAME TO accounts")
    db.execute(
        "CREATE UNIQUE INDEX idx_accounts_unattributed ON accounts(nickname) WHERE biz IS NULL"
    )
    db.execute(
        """INSERT INTO accounts (nickname, first_seen, last_seen)
        SELECT account, min(first_fetched_at), max(coalesce(last_checked_at, first_fetched_at))
        FROM articles
        WHERE biz IS NULL AND account IS NOT NULL
            AND account NOT IN (SELECT nickname FROM accounts WHERE nickname IS NOT NULL)
        GROUP BY account ORDER BY min(first_fetched_at), account"""
    )


def _m009_capture_responses(db: sqlite_utils.Database) -> None:
    """What the server answered for each raw capture fetched from now on: the URL it came
    from (after redirects), the HTTP status and headers, for `export warc`. Captures stored
    before, and pages read from files, have no row."""
    db.execute(
        """CREATE TABLE capture_responses (
    raw_path TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    fetched_at TEXT NOT NULL
)"""
    )


def _m010_facets_index(db: sqlite_utils.Database) -> None:
    """The articles table's facets are counted in one statement (the Datasette plugin's
    facets.py): from this index, which covers their columns in their order, instead of
    one statement per column. 20 ms for all four over a common search's matches at 100k
    articles, where each column alone took as long."""
    db.execute("CREATE INDEX idx_articles_facets ON articles(account, year, kind, status)")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _m001_core,
    _m002_search,
    _m003_harvest,
    _m004_short_url_index,
    _m005_raw_capture_index,
    _m006_fts_automerge,
    _m007_date_source,
    _m008_accounts_by_name,
    _m009_capture_responses,
    _m010_facets_index,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """The highest migration applied to `db` (0 for a new database)."""
    if "migrations" not in db.table_names():
        return 0
    return db.execute("SELECT coalesce(max(version), 0) FROM migrations").fetchone()[0]


# The tables that make a database an archive index, as readers that are shown other
# databases too (the Datasette plugin) tell it from them.
ARCHIVE_TABLES = frozenset({"migrations", "articles", "articles_search", "articles_fts"})


def is_archive_index(conn: sqlite3.Connection) -> bool:
    """Whether the database `conn` is open on is an archive index (by its tables)."""
    marks = ", ".join("?" * len(ARCHIVE_TABLES))
    rows = conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
        sorted(ARCHIVE_TABLES),
    )
    return {row[0] for row in rows} == ARCHIVE_TABLES


def _check_not_newer(db: sqlite_utils.Database) -> int:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"archive index schema version {version} is newer than this program "
            f"supports ({SCHEMA_VERSION}); upgrade wechat-archive to open it"
        )
    return version


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration, each once in its own transaction; the new version.
    An index already up to date is only read: opening it waits for no other writer."""
    if _check_not_newer(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    with write_transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        _check_not_newer(db)
    for version, migration in enumerate(MIGRATIONS, start=1):
        with write_transaction(db):
            if _check_not_newer(db) >= version:
                continue
            migration(db)
            if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise sqlite3.IntegrityError(f"migration {version} broke a foreign key")
            db.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, migration.__name__.lstrip("_"), iso_utc(None)),
            )
            db.execute(f"PRAGMA user_version = {version:d}")
    return schema_version(db)


def unreadable_index(path: Path, error: sqlite3.DatabaseError) -> InputError | None:
    """The one line for an index SQLite cannot read at all (random bytes, another kind of
    file, a damaged one); None for any other database error."""
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_NOTADB:
        return InputError(
            f"{path} is not a SQLite database ({error}); restore it from a backup, "
            "or move it away to start a new archive"
        )
    if code == sqlite3.SQLITE_CORRUPT:
        return InputError(f"{path} is damaged ({error}); restore it from a backup")
    return None


def check_index(path: Path) -> None:
    """InputError unless `path` reads as a SQLite database. Opened immutable: it only reads
    the schema, and creates no -shm or -wal file, in a read-only folder neither."""
    uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        unreadable = unreadable_index(path, error)
        if unreadable is None:
            raise
        raise unreadable from None


def open_index(path: Path, busy_seconds: float = BUSY_SECONDS) -> sqlite_utils.Database:
    """Open (creating and migrating) the index at `path`: WAL, foreign keys on, a write
    waiting up to `busy_seconds` for another command's; InputError for a file that is not a
    SQLite database."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000):d}")
        return _prepare(db)
    except sqlite3.DatabaseError as error:
        db.close()
        unreadable = unreadable_index(path, error)
        if unreadable is None:
            raise
        raise unreadable from None
    except BaseException:
        db.close()
        raise


def _prepare(db: sqlite_utils.Database) -> sqlite_utils.Database:
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA journal_mode = WAL")
    # Savepoints (one per article saved in a batch) keep their journals in memory, not
    # in a temporary file each; an 8 MB page cache holds most of a batch's pages.
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA cache_size = -8000")
    migrate(db)  # foreign keys off, as SQLite asks for schema changes; checked after each
    db.execute("PRAGMA foreign_keys = ON")
    return db
