"""`kind = "mp"`: an account's article list from the mp backend (needs a login).

Config: `fakeid` (the account's biz, as the backend's search shows it), `auth` (a JSON file
`{"cookie": "…", "token": "…"}` copied from a logged-in mp.weixin.qq.com session; it must
be mode 0600 and its values are never printed, logged, or put in an error message or
repr), `max_pages` (optional cap).

It lists with `cgi-bin/appmsgpublish` (whose `publish_page` is a JSON string and each
`publish_list[].publish_info` another one holding `appmsgex[]`), and falls back to the
older `cgi-bin/appmsg?action=list_ex` (`app_msg_list[]`) when appmsgpublish fails for a
reason other than throttling or an expired session. Pages of 5 until a short page or
`total` is reached. `base_resp.ret` 200013 (freq control) raises TryLater saying when to
retry; 200003 (session expired) raises SourceError telling the user to renew the login.

Since 2026-07-29/30 the list answers 200013 for good. During a harvest, a 200013 for a
login that has not listed anything since then is that shutdown: the source fails with one
plain line pointing to `kind = "account"` and `kind = "weread"` (MpListShut; no host backs
off, the other sources go on) and is not asked again for a week.

WeChat requires the token in the query string, so the request URLs hold it: every error
from the client is re-raised here with the token and cookie masked. Anything else that
records request URLs (a fetch log) must mask `token=` itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from archive.times import CHINA, now_utc, parse_time
from harvester.errors import InputError, TryLater
from harvester.http import FetchError
from harvester.links import ARTICLE_HOST, ArticleLink, LinkError, canonical_url, parse_link
from harvester.sources.base import (
    BaseSource,
    Listing,
    SourceError,
    base_ret,
    load_json,
    register,
    text_or_none,
    unix_time,
)
from harvester.sources.private import read_private_text

PAGE_SIZE = 5
FREQ_CONTROL = 200013
SESSION_EXPIRED = 200003
RETRY_HOURS = 6
PUBLISH_PATH = "/cgi-bin/appmsgpublish"
LIST_EX_PATH = "/cgi-bin/appmsg"
MASK = "***"
# 2026-07-29/30: the backend list began to answer freq control for good (README, "What still
# lists an account's articles in 2026").
SHUTDOWN = datetime(2026, 7, 29, 16, 0, tzinfo=UTC)  # 2026-07-30 00:00 China time
RETRY_SHUT_DAYS = 7
SHUT_MESSAGE = (
    "the mp backend list answers freq control (ret 200013) for good since 2026-07-30 and this "
    'login has not listed anything since; list the account with kind = "account" (no login) '
    'or kind = "weread" instead (this source is asked again in a week)'
)


class MpApiError(SourceError):
    """The backend answered with a `base_resp.ret` that is neither 0 nor a known case."""

    def __init__(self, message: str, ret: int) -> None:
        self.ret = ret
        super().__init__(message)


class MpListShut(SourceError):
    """Freq control from a login that never worked since the shutdown of 2026-07-29/30: the
    list is closed for good, so the source fails plainly instead of backing off the host."""


class SessionExpired(SourceError):
    """ret 200003: the login behind cookie + token is no longer valid."""


class FreqControl(TryLater):
    """ret 200013: WeChat throttles this login's list API. `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class MpPage:
    """One list page: listings, how many entries it had (for paging), the stated total."""

    listings: list[Listing]
    entries: int
    total: int | None
    keys: tuple[str, ...]  # every entry's id, deleted ones too: spots a repeated page
    warnings: list[str]


class MpAuth:
    """Cookie and token, kept out of every repr and message."""

    __slots__ = ("_cookie", "_token", "path")

    def __init__(self, cookie: str, token: str, path: Path) -> None:
        self._cookie = cookie
        self._token = token
        self.path = path

    @property
    def cookie(self) -> str:
        return self._cookie

    @property
    def token(self) -> str:
        return self._token

    def __repr__(self) -> str:
        return f"<MpAuth from {self.path} (cookie and token hidden)>"

    def mask(self, text: str) -> str:
        """`text` with the token and cookie (and any `token=` value) replaced by ***."""
        for secret in sorted((self._cookie, self._token), key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return re.sub(r"(?i)(token=)[^&\s#]+", rf"\g<1>{MASK}", text)


# --------------------------------------------------------------------------- urls


def publish_url(fakeid: str, token: str, begin: int, count: int = PAGE_SIZE) -> str:
    query = [
        ("sub", "list"),
        ("search_field", "null"),
        ("begin", str(begin)),
        ("count", str(count)),
        ("query", ""),
        ("fakeid", fakeid),
        ("type", "101_1"),
        ("free_publish_type", "1"),
        ("sub_action", "list_ex"),
        ("token", token),
        ("lang", "zh_CN"),
        ("f", "json"),
        ("ajax", "1"),
    ]
    return f"https://{ARTICLE_HOST}{PUBLISH_PATH}?" + urlencode(query)


def list_ex_url(fakeid: str, token: str, begin: int, count: int = PAGE_SIZE) -> str:
    query = [
        ("action", "list_ex"),
        ("begin", str(begin)),
        ("count", str(count)),
        ("fakeid", fakeid),
        ("type", "9"),
        ("query", ""),
        ("token", token),
        ("lang", "zh_CN"),
        ("f", "json"),
        ("ajax", "1"),
    ]
    return f"https://{ARTICLE_HOST}{LIST_EX_PATH}?" + urlencode(query)


# --------------------------------------------------------------------------- parsing (pure)


def check_base_resp(
    body: Mapping[str, Any], *, what: str, auth_file: str = "the auth file"
) -> None:
    """Raise for a `base_resp.ret` that is not 0: FreqControl, SessionExpired, MpApiError."""
    ret, errmsg = base_ret(body)
    if ret == 0:
        return
    if ret == FREQ_CONTROL:
        after = now_utc().astimezone(CHINA) + timedelta(hours=RETRY_HOURS)
        raise FreqControl(
            f"{what}: WeChat's freq control (ret {ret}) throttles the mp backend list for "
            f"this login; try again in {RETRY_HOURS} hours or later "
            f"(not before {after:%Y-%m-%d %H:%M} China time)",
            RETRY_HOURS * 3600,
        )
    if ret == SESSION_EXPIRED:
        raise SessionExpired(
            f"{what}: the mp backend session has expired (ret {ret}); log in to "
            f"mp.weixin.qq.com again and renew the cookie and token in {auth_file}"
        )
    detail = f" {errmsg}" if errmsg else ""
    raise MpApiError(f"{what}: the mp backend refused the list (ret {ret}{detail})", ret)


def parse_publish_page(
    data: bytes | str | Mapping[str, Any],
    *,
    source: str = "",
    fakeid: str | None = None,
    auth_file: str = "the auth file",
) -> MpPage:
    """An `appmsgpublish` answer: `publish_page` (JSON string) → `publish_list[]` →
    `publish_info` (JSON string) → `appmsgex[]`. Deleted articles are skipped."""
    what = f"mp {source}".strip()
    body = load_json(data, what)
    check_base_resp(body, what=what, auth_file=auth_file)
    page = _nested(body.get("publish_page"), what, "publish_page")
    publish_list = page.get("publish_list") or []
    if not isinstance(publish_list, list):
        raise SourceError(f"{what}: publish_list is not a list")
    listings: list[Listing] = []
    keys: list[str] = []
    warnings: list[str] = []
    for number, entry in enumerate(publish_list, start=1):
        info_text = entry.get("publish_info") if isinstance(entry, Mapping) else None
        if not info_text:
            keys.append(f"empty:{number}")
            continue
        try:
            info = _nested(info_text, what, "publish_info")
        except SourceError as error:
            warnings.append(f"{error} (entry {number}); skipped")
            keys.append(f"bad:{number}")
            continue
        items = info.get("appmsgex") or []
        if isinstance(items, Mapping):
            items = [items]
        _read_items(items, source, fakeid, what, listings, keys, warnings)
    total = _int(page.get("total_count"))
    return MpPage(listings, len(publish_list), total, tuple(keys), warnings)


def _read_items(
    items: Any,
    source: str,
    fakeid: str | None,
    what: str,
    listings: list[Listing],
    keys: list[str],
    warnings: list[str],
) -> None:
    """Append each appmsg item's Listing, its key, and a warning for a live one unusable."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        keys.append(str(item.get("aid") or item.get("link") or ""))
        listing = appmsg_listing(item, source=source, fakeid=fakeid)
        if listing is not None:
            listings.append(listing)
        elif not _is_deleted(item):
            warnings.append(f"{what}: {item.get('title')!r} has no usable link; skipped")


def parse_list_ex(
    data: bytes | str | Mapping[str, Any],
    *,
    source: str = "",
    fakeid: str | None = None,
    auth_file: str = "the auth file",
) -> MpPage:
    """An `appmsg?action=list_ex` answer: `app_msg_list[]`, total in `app_msg_cnt`."""
    what = f"mp {source}".strip()
    body = load_json(data, what)
    check_base_resp(body, what=what, auth_file=auth_file)
    items = body.get("app_msg_list")
    if items is None:
        items = []
    elif isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        raise SourceError(f"{what}: app_msg_list is not a list")
    listings: list[Listing] = []
    keys: list[str] = []
    warnings: list[str] = []
    _read_items(items, source, fakeid, what, listings, keys, warnings)
    return MpPage(listings, len(items), _int(body.get("app_msg_cnt")), tuple(keys), warnings)


def appmsg_listing(
    item: Mapping[str, Any], *, source: str = "", fakeid: str | None = None
) -> Listing | None:
    """One `appmsgex` / `app_msg_list` item; None when deleted or without a usable link."""
    if _is_deleted(item):
        return None
    link = _item_link(item, fakeid)
    if link is None:
        return None
    return Listing(
        link=link,
        title=text_or_none(item.get("title")),
        published_at=unix_time(item.get("create_time")),
        cover=text_or_none(item.get("cover") or item.get("cover_img")),
        digest=text_or_none(item.get("digest")),
        source=source,
    )


def _item_link(item: Mapping[str, Any], fakeid: str | None) -> ArticleLink | None:
    url = text_or_none(item.get("link"))
    if url:
        try:
            return parse_link(url)
        except LinkError:
            pass
    # The fakeid is the account's biz; aid is "<appmsgid>_<itemidx>".
    aid = str(item.get("aid") or "")
    mid = text_or_none(item.get("appmsgid")) or aid.partition("_")[0] or None
    idx = text_or_none(item.get("itemidx")) or aid.partition("_")[2] or None
    if fakeid and mid and idx:
        try:
            return parse_link(canonical_url(fakeid, mid, idx, None))
        except LinkError:
            return None
    return None


def _is_deleted(item: Mapping[str, Any]) -> bool:
    value = item.get("is_deleted")
    return value not in (None, False, 0, "0", "", "false")


def _nested(value: Any, what: str, name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{what}: the answer has no {name}")
    try:
        parsed = json.loads(value)
    except ValueError:
        raise SourceError(f"{what}: {name} is not a JSON string") from None
    if not isinstance(parsed, dict):
        raise SourceError(f"{what}: {name} is not a JSON object")
    return parsed


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- the source


@register("mp")
class MpSource(BaseSource):
    KEYS = frozenset({"fakeid", "auth", "max_pages"})

    def default_name(self) -> str:
        fakeid = self.config.get("fakeid")
        return f"mp:{fakeid}" if isinstance(fakeid, str) and fakeid.strip() else "mp"

    def check(self) -> None:
        self.check_common()
        self.require_str("fakeid")
        self.optional_int("max_pages")
        self.read_auth()

    def read_auth(self) -> MpAuth:
        """The auth file's cookie and token; InputError naming `auth` for any problem."""
        path, text = read_private_text(self, "auth")
        try:
            data = json.loads(text)
        except ValueError as error:
            # Not str(error): a JSONDecodeError carries the document (the secrets) along.
            line = getattr(error, "lineno", "?")
            raise self.config_error(
                "auth",
                f'names {path}, which is not JSON (line {line}); expected {{"cookie": '
                '"…", "token": "…"}}',
            ) from None
        if not isinstance(data, dict):
            raise self.config_error("auth", f"names {path}, which is not a JSON object")
        values: dict[str, str] = {}
        for key in ("cookie", "token"):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise self.config_error(
                    "auth", f"names {path}, which has no {key!r} (a non-empty string)"
                )
            values[key] = value.strip()
        return MpAuth(values["cookie"], values["token"], path)

    def listings(self) -> Iterator[Listing]:
        self.check()
        auth = self.read_auth()
        fakeid = self.require_str("fakeid")
        if self._shut_lately(fakeid):
            return
        try:
            yield from self._listings(auth, fakeid)
        except FreqControl as error:
            if not self._worked_since_shutdown(fakeid):
                message = f"{self.label}: {SHUT_MESSAGE}"
                self.note_channel(fakeid, "mp", message)
                raise MpListShut(message) from error
            raise
        self.note_channel(fakeid, "mp")

    def _worked_since_shutdown(self, fakeid: str) -> bool:
        memory = self.context.memory
        if memory is None:
            return True  # nothing remembered (outside a harvest): an ordinary freq control
        worked = memory.channel(fakeid, "mp")[0]
        return worked is not None and parse_time(worked, naive=UTC) >= SHUTDOWN

    def _shut_lately(self, fakeid: str) -> bool:
        """Said shut within RETRY_SHUT_DAYS: not asked again (no request, no line) until then."""
        memory = self.context.memory
        if memory is None:
            return False
        worked, failed, error = memory.channel(fakeid, "mp")
        if failed is None or not (error or "").endswith(SHUT_MESSAGE) or (worked or "") > failed:
            return False
        return now_utc() - parse_time(failed, naive=UTC) < timedelta(days=RETRY_SHUT_DAYS)

    def _listings(self, auth: MpAuth, fakeid: str) -> Iterator[Listing]:
        max_pages = self.optional_int("max_pages")
        seen: set[str] = set()
        try:
            yield from self._pages("appmsgpublish", auth, fakeid, max_pages, seen)
            return
        except (SessionExpired, TryLater, InputError):
            raise
        except (SourceError, FetchError) as error:
            self.warn(
                f"{self.label}: appmsgpublish failed ({auth.mask(str(error))}); "
                "falling back to appmsg list_ex"
            )
        yield from self._pages("list_ex", auth, fakeid, max_pages, seen)

    def _pages(
        self, api: str, auth: MpAuth, fakeid: str, max_pages: int | None, seen: set[str]
    ) -> Iterator[Listing]:
        begin = 0
        pages = 0
        last_keys: tuple[str, ...] | None = None
        while max_pages is None or pages < max_pages:
            if api == "appmsgpublish":
                url, parse = publish_url(fakeid, auth.token, begin), parse_publish_page
            else:
                url, parse = list_ex_url(fakeid, auth.token, begin), parse_list_ex
            body = self._get(url, auth, api)
            pages += 1
            page = parse(body, source=self.name, fakeid=fakeid, auth_file=str(auth.path))
            self.warnings.extend(page.warnings)
            if page.keys and page.keys == last_keys:
                self.warn(f"{self.label}: {api} repeated page {pages - 1}; stopped paging")
                return
            last_keys = page.keys
            for listing in page.listings:
                if listing.link.key not in seen:
                    seen.add(listing.link.key)
                    yield listing
            begin += page.entries
            if page.entries < PAGE_SIZE or (page.total is not None and begin >= page.total):
                return

    def _get(self, url: str, auth: MpAuth, api: str) -> bytes:
        """One request; every error re-raised with the token and cookie masked."""
        client = self.client()
        headers = {"Cookie": auth.cookie, "Referer": f"https://{ARTICLE_HOST}/"}
        try:
            response = client.get(url, kind="api", headers=headers)
        except TryLater as error:
            raise TryLater(f"{self.label}: {auth.mask(str(error))}") from None
        except InputError as error:
            raise InputError(f"{self.label}: {auth.mask(str(error))}") from None
        except FetchError as error:
            raise SourceError(f"{self.label}: {api}: {auth.mask(str(error))}") from None
        final_path = urlsplit(str(response.final_url)).path
        if not final_path.startswith("/cgi-bin/appmsg"):
            # The backend sends a logged-out session to its login page.
            raise SessionExpired(
                f"{self.label}: {api} was redirected to {final_path or '/'} (the login page): "
                f"the mp backend session has expired; log in to mp.weixin.qq.com again and "
                f"renew the cookie and token in {auth.path}"
            )
        return response.content
