"""What a fetch can fail with, each a one-line message naming the URL."""

from __future__ import annotations

from harvester.errors import InputError, TryLater


class ForbiddenHost(InputError):
    """A URL we will not fetch: not http(s), or its host is not an allowed WeChat host."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(one_line(f"{url}: {reason}"))


class FetchError(Exception):
    """A fetch that failed for good: one line naming the URL and what went wrong.

    `status` is the HTTP status when there was one (404, 500, …), else None;
    `attempts` is how many requests were made for the hop that failed.
    """

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, attempts: int = 1
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.attempts = attempts
        super().__init__(one_line(f"{url}: {reason}"))


class ForbiddenRedirect(FetchError):
    """A redirect pointing outside the allowlist (or to a non-http scheme); not followed."""

    def __init__(self, url: str, location: str, reason: str, *, status: int) -> None:
        self.location = location
        super().__init__(url, f"redirected to {location}, refused: {reason}", status=status)


class RateLimited(TryLater):
    """HTTP 429 with a wait we will not sit through (or 429 on every attempt).

    `retry_after` is the wait the server asked for, in seconds (None if it named none);
    `retry_at` the same as a Unix time.
    """

    def __init__(self, url: str, retry_after: float | None, retry_at: float | None) -> None:
        self.url = url
        self.retry_after = retry_after
        self.retry_at = retry_at
        if retry_after is None:
            what = "rate limited (HTTP 429 on every attempt)"
        else:
            what = f"rate limited (HTTP 429), retry after {retry_after:.0f} s"
        super().__init__(one_line(f"{url}: {what}"))


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines too) made one space."""
    return " ".join(text.split())
