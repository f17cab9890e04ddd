"""A total deadline for each request: its connect, its headers and its body together.

httpx's timeouts are per operation (each read may take up to the read timeout), so a server
that trickles its headers or its body a byte at a time keeps one request going for as long
as it likes. Here each read of a connection's stream is given no more time than is left
until the deadline of the request running on this thread, and a read once it has passed
fails at once, as a read timeout would.

Every connection the client opens is seen through httpcore's `trace` request extension
(`connection.connect_tcp.complete` and `connection.start_tls.complete` hand over the new
stream), so the bound is put on each stream once, when its connection is made, and holds
for every later request that reuses the connection (which gives no such event).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpcore

NEW_STREAM_EVENTS = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})

_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Reads on this thread end by `seconds` from now (for one request's attempt)."""
    _local.until, _local.clock = clock() + seconds, clock
    try:
        yield
    finally:
        _local.until = None


def time_left() -> float | None:
    """Seconds until this thread's deadline (may be negative); None when it has none."""
    until = getattr(_local, "until", None)
    return None if until is None else until - _local.clock()


def passed() -> bool:
    left = time_left()
    return left is not None and left <= 0


def trace(event: str, info: Mapping[str, Any]) -> None:
    """httpcore's trace hook: bound the reads of each new connection's stream."""
    if event in NEW_STREAM_EVENTS and info.get("return_value") is not None:
        bound_reads(info["return_value"])


def bound_reads(stream: Any) -> None:
    """Make `stream.read` keep to the deadline of whichever request uses it."""
    if getattr(stream, "_deadline_bound", False):
        return
    read = stream.read

    def read_by_deadline(max_bytes: int, timeout: float | None = None) -> bytes:
        left = time_left()
        if left is not None:
            if left <= 0:
                raise httpcore.ReadTimeout("the request's deadline has passed")
            timeout = left if timeout is None else min(timeout, left)
        return read(max_bytes, timeout)

    stream.read = read_by_deadline
    stream._deadline_bound = True
