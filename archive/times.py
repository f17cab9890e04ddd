"""Time, in one place: the China time zone, reading a moment, writing one.

WeChat readers think in China time (UTC+8): publish times, the dates in file paths and
in front matter are China time. Capture, check and run times are kept in UTC. A time
written without a zone (a seed file's `2020-12-24T20:30`) is China time: every reader
of it (paths, front matter, the index) then agrees on its day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def now_utc() -> datetime:
    return datetime.now(UTC)


def in_china(moment: datetime) -> datetime:
    """The moment in China time (a moment without a zone is China time already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA)
    return moment.astimezone(CHINA)


def iso_china(moment: datetime | None) -> str | None:
    """ISO 8601 in China time, with its offset: how the archive writes a publish time."""
    return None if moment is None else in_china(moment).isoformat(timespec="seconds")


def iso_utc(moment: datetime | str | None = None) -> str:
    """ISO 8601 in UTC, with its offset, for stored times (None = now; a moment without
    a zone is UTC here: only program clocks give these); text passes through."""
    if isinstance(moment, str):
        return moment
    if moment is None:
        moment = now_utc()
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def utc_stamp(moment: datetime) -> str:
    """`20260101T000000Z`: a capture time as a file name (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# The times an article can have: anything outside is a mistake (or a hostile `9999-12-31`,
# which no zone can be added to), read as no time at all.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(text: object, *, naive: timezone = CHINA) -> datetime | None:
    """An ISO 8601 time (`Z` allowed) read with its zone, `naive` where it names none;
    None for anything that is not one."""
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, str) and text.strip():
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=naive)
    return moment if EARLIEST <= moment <= LATEST else None


def from_unix(seconds: float) -> datetime:
    """A Unix time (WeChat's `ct`, `create_time`) as China time."""
    return datetime.fromtimestamp(seconds, CHINA)


def local_when(moment: datetime) -> str:
    """A retry time people read: this machine's local time with its offset (a zone's
    abbreviation can be ambiguous: CST is China's and Chicago's)."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"
