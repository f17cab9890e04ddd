"""The articles table's facets counted together in one statement, and kept.

Datasette's column facet runs a statement per column over the page's rows: at 100k
articles, four over the matches of a common search took about 20 ms each. The archive's
metadata configures its articles facets as this type (`{"archive": "account"}`), so all of
them are counted in one pass (over idx_articles_facets, which covers them, in their
order) and the counts are kept while the database is unchanged (kept.py): paging,
reloading or fetching the JSON of the same search counts once. The facets look and link
as Datasette's column facets do.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args
from datasette.utils.asgi import BadRequest

from archive.datasette_plugin.kept import Kept
from archive.metadata import FACET_TYPE

_counts_kept = Kept(64)  # statements (a search, its filters and page) with their counts


def sqlite_order(value: Any) -> tuple[int, Any]:
    """SQLite's order of values of mixed types: numbers, then text, then blobs."""
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, value)


def column_counts(rows: list[tuple], width: int) -> list[list[tuple[Any, int]]]:
    """Per column, its values with their counts, most first (then in SQLite's order),
    from `rows` of `width` values followed by how many rows have that combination;
    NULL is not a value."""
    counters: list[Counter] = [Counter() for _ in range(width)]
    for row in rows:
        for counter, value in zip(counters, row[:width], strict=True):
            if value is not None:
                counter[value] += row[width]
    return [
        sorted(counter.items(), key=lambda item: (-item[1], sqlite_order(item[0])))
        for counter in counters
    ]


def _column(config: dict[str, Any]) -> str:
    """The column a facet's config names (`{"archive": "account"}`, or a request's
    `_facet_archive=account` or `={"column": "account"}`)."""
    return config["config"].get("column") or config["config"]["simple"]


class ArchiveFacet(Facet):
    type = FACET_TYPE

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        configs = self.get_configs()
        configured = [_column(config) for config in configs if config["source"] == "metadata"]
        asked = [_column(config) for config in configs if config["source"] != "metadata"]
        db = self.ds.get_database(self.database)
        if asked:  # by a stranger's link (`_facet_archive=`): only the table's own columns
            known = set(await db.table_columns(self.table)) if self.table else set()
            unknown = [column for column in asked if column not in known]
            if unknown:
                raise BadRequest(f"cannot facet {self.table} by {unknown[0]!r}: no such column")
        # The configured facets together (their index covers them); each one a link asks
        # for alone, so one that takes too long costs only itself.
        groups = ([configured] if configured else []) + [[column] for column in asked]
        counted: dict[str, list[tuple[Any, int]]] = {}
        timed_out: list[str] = []
        for columns in groups:
            try:
                counts = await self._counts(db, columns)
            except QueryInterrupted:
                timed_out += columns
                continue
            counted.update(zip(columns, counts, strict=True))
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        results = [
            self._facet(column, config["source"], counted[column], size, pairs)
            for config in configs
            if (column := _column(config)) in counted
        ]
        return results, timed_out

    async def _counts(self, db: Any, columns: list[str]) -> list[list[tuple[Any, int]]]:
        params = self.params if isinstance(self.params, dict) else dict(enumerate(self.params))
        question = ("facets", self.sql, tuple(sorted(params.items())), tuple(columns))

        async def work_out() -> list[list[tuple[Any, int]]]:
            listed = ", ".join(escape_sqlite(column) for column in columns)
            sql = f"select {listed}, count(*) from ({self.sql}) group by {listed}"
            limit = self.ds.setting("facet_time_limit_ms")
            result = await db.execute(sql, self.params, truncate=False, custom_time_limit=limit)
            return column_counts([tuple(row) for row in result.rows], len(columns))

        return await _counts_kept.get_awaited(db.path, question, work_out)

    def _facet(
        self,
        column: str,
        source: str,
        values: list[tuple[Any, int]],
        size: int,
        pairs: list[tuple[str, str]],
    ) -> dict[str, Any]:
        arg = f"{column}__exact" if column.startswith("_") else column
        shown = []
        for value, count in values[:size]:
            selected = (arg, str(value)) in pairs
            if selected:
                path = path_with_removed_args(self.request, {arg: str(value)})
            else:
                path = path_with_added_args(self.request, {arg: value})
            shown.append(
                {
                    "value": value,
                    "label": value,
                    "count": count,
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {f"_facet_{self.type}": column})
            ),
            "results": shown,
            "truncated": len(values) > size,
        }
