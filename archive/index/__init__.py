"""The SQLite index of the archive (sqlite-utils; Datasette opens it as is).

`schema` holds the tables and their migrations, `articles` saving and changing
articles, `media` their images and links, `log` the fetch and run records, and
`transaction` the transactions they share. Callers import from here.
"""

from archive.index.articles import (
    KEYS_WITH_RAW_CAPTURE,
    ArticleFields,
    get_article,
    keys_with_raw_capture,
    mark_status,
    note_first_capture,
    rekey_article,
    save_article,
    update_rendering,
)
from archive.index.log import (
    finish_run,
    mark_run_interrupted,
    record_capture_response,
    record_fetch,
    running_runs,
    start_run,
)
from archive.index.media import (
    ImageEntry,
    LinkEntry,
    missing_images,
    save_images,
    save_links,
    stored_images,
)
from archive.index.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaTooNew,
    check_index,
    migrate,
    open_index,
    schema_version,
    unreadable_index,
)
from archive.index.transaction import (
    BUSY_SECONDS,
    begin_write,
    index_path,
    waiting_up_to,
    write_transaction,
)

__all__ = [
    "BUSY_SECONDS",
    "KEYS_WITH_RAW_CAPTURE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ArticleFields",
    "ImageEntry",
    "LinkEntry",
    "SchemaTooNew",
    "begin_write",
    "check_index",
    "finish_run",
    "get_article",
    "index_path",
    "keys_with_raw_capture",
    "mark_run_interrupted",
    "mark_status",
    "migrate",
    "missing_images",
    "note_first_capture",
    "open_index",
    "record_capture_response",
    "record_fetch",
    "rekey_article",
    "running_runs",
    "save_article",
    "save_images",
    "save_links",
    "schema_version",
    "start_run",
    "stored_images",
    "unreadable_index",
    "update_rendering",
    "waiting_up_to",
    "write_transaction",
]
