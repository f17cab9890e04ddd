"""Answers kept while the database they came from is unchanged.

A searched articles page asks the same questions again as people page through it,
reload it, toggle a facet back or fetch its JSON: its matches, its facet counts, its best
matches and each row's snippet. Each is kept under its database's version: the size and
modification time of the database file and of its write-ahead log, which every commit
changes, so nothing kept outlives the data it was read from.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


def database_version(path: str | None) -> tuple:
    """What changes whenever the database at `path` does (nothing for one in memory)."""
    if not path:
        return ()
    stats = []
    for name in (path, path + "-wal"):
        try:
            stat = os.stat(name)
        except OSError:
            stats.append(None)
        else:
            stats.append((stat.st_size, stat.st_mtime_ns))
    return tuple(stats)


class Kept:
    """Up to `size` answers, the least recently used dropped first; safe across threads
    (Datasette reads each database from several)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def version_key(self, path: str | None, question: Hashable) -> tuple:
        """The key an answer to `question` is kept under, taken before it is worked out:
        an answer read after a commit is then kept under the older version, which no later
        lookup asks for, and never passed off as newer than it is."""
        return (path, question, database_version(path))

    def lookup(self, key: tuple) -> tuple[bool, Any]:
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return True, self._answers[key]
        return False, None

    def store(self, key: tuple, answer: Any) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def get(self, path: str | None, question: Hashable, work_out: Callable[[], Any]) -> Any:
        key = self.version_key(path, question)
        found, answer = self.lookup(key)
        if found:
            return answer
        answer = work_out()
        self.store(key, answer)
        return answer

    async def get_awaited(
        self, path: str | None, question: Hashable, work_out: Callable[[], Awaitable[Any]]
    ) -> Any:
        """get(), for an answer worked out by awaiting (a statement on Datasette's threads);
        one that raises is not kept."""
        key = self.version_key(path, question)
        found, answer = self.lookup(key)
        if found:
            return answer
        answer = await work_out()
        self.store(key, answer)
        return answer
