"""WeChat article links: every form users paste, reduced to one canonical key and URL."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlencode, urlsplit

from harvester.errors import InputError

ARTICLE_HOST = "mp.weixin.qq.com"

# Page scripts and JSON write "&" as \x26 or \u0026 and "/" as \/; HTML attributes as &amp;,
# sometimes both at once (\x26amp;amp;). Runs of backslashes come from JSON inside JSON.
# (A backslash, then any more: a pattern that starts with a plain character is searched
# for quickly; one that starts with a repeat is tried at every position.)
_BACKSLASH_ESCAPE = re.compile(r"\\\\*(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(/))")
_AMP_ENTITY = re.compile(r"&(?:amp;)+")
# Copying from a web page or a chat brings NBSP, ideographic spaces and zero-width marks along.
_SURROUNDING = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
# A scheme, but not "host:port" (mp.weixin.qq.com:443/s/...), which is a link without one.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")
_DIGITS = re.compile(r"[0-9]+")
_BIZ = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_SN = re.compile(r"[A-Za-z0-9]+")
_SHORT_ID = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE = re.compile(r"[A-Za-z0-9*=+/_.-]+")
_LONG_PATHS = frozenset({"/s", "/mp/appmsg/show"})
_TEMPORARY_PARAMS = ("src", "timestamp", "ver", "signature")
_NOT_ARTICLES = {
    "": "it is the WeChat home page, not an article",
    "/": "it is the WeChat home page, not an article",
    "/mp/appmsgalbum": "it is an album, not an article",
    "/mp/profile_ext": "it is an account's profile page, not an article",
    "/mp/homepage": "it is an account's home page, not an article",
    "/mp/getmasssendmsg": "it is an account's message history, not an article",
    "/mp/wappoc_appmsgcaptcha": "it is a verification page, not an article",
}
# Links in HTML or plain text, found by their host (a literal the regex engine can search for
# quickly), then widened back over a scheme or "//" (see _link_start). Bare text often runs
# links together with no separator (".../s/AAAhttps://mp..."), so a link ends where the next
# scheme begins.
_LINK_IN_TEXT = re.compile(
    r"mp\.weixin\.qq\.com/(?:(?!https?://)[A-Za-z0-9\-._~:/?#@!$&*+,;=%])*",
    re.IGNORECASE | re.ASCII,
)
_HOST_HINT = re.compile("weixin", re.IGNORECASE)  # in every link, escaped or not
_SCHEME_BEFORE = re.compile(r"(?:https?:)?//\Z", re.IGNORECASE | re.ASCII)
_WORD_BEFORE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_TRAILING_PUNCTUATION = ".,;:!?"
_ASCII_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class LinkError(InputError):
    """A string that is not a WeChat article link, with the reason in one line."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        shown = text if len(text) <= 100 else text[:99] + "…"
        super().__init__(f"{shown!r} is not a WeChat article link: {reason}")


@dataclass(frozen=True)
class ArticleLink:
    """One article link reduced to the key the archive indexes it by and the URL we keep.

    `form` is "long" (biz, mid, idx known), "short" (/s/<id>, resolved only by fetching) or
    "temporary" (src/timestamp/signature links, which expire).
    """

    form: str
    key: str
    url: str
    biz: str | None = None
    mid: str | None = None
    idx: str | None = None
    sn: str | None = None
    short_id: str | None = None


def canonical_url(biz: str, mid: str, idx: str, sn: str | None) -> str:
    """The one URL we store for an article, whatever form it was found in."""
    query = {"__biz": biz, "mid": mid, "idx": idx}
    if sn:
        query["sn"] = sn
    return f"https://{ARTICLE_HOST}/s?" + urlencode(query, safe="=")


def short_url(short_id: str) -> str:
    """The URL of a short link, the form WeChat's share button hands out."""
    return f"https://{ARTICLE_HOST}/s/{short_id}"


def parse_link(text: str) -> ArticleLink:
    """Reduce any article link form to one ArticleLink; raise LinkError saying why if not one."""
    link = _SURROUNDING.sub("", _unescape(text))
    if not link:
        raise LinkError(text, "it is empty")
    _check_characters(text, link)
    parts = _split(text, link)
    path = parts.path
    if path.startswith("/s/"):
        return _short(text, path.removeprefix("/s/"))
    params = _query_params(parts.query)
    if path in _LONG_PATHS:
        is_long = any(name in params for name in ("__biz", "mid", "appmsgid"))
        if path == "/s" and not is_long and ("timestamp" in params or "signature" in params):
            return _temporary(text, params)
        return _long(text, params)
    raise LinkError(text, _NOT_ARTICLES.get(path, f"its path {path} is not an article page"))


def is_article_link(text: str) -> bool:
    """Whether parse_link accepts `text`, for filters that only need a yes or no."""
    try:
        parse_link(text)
    except LinkError:
        return False
    return True


def find_article_links(html_or_text: str) -> list[ArticleLink]:
    """Every distinct article link in HTML or plain text, in order of first appearance.

    Links that do not parse (albums, profile pages, script templates) are skipped: a body
    of text is not a promise that everything in it is an article.
    """
    found: dict[str, ArticleLink] = {}
    if not _HOST_HINT.search(html_or_text):
        return []
    text = _unescape(html_or_text)
    for match in _LINK_IN_TEXT.finditer(text):
        start = _link_start(text, match.start())
        if start is None:
            continue
        try:
            link = parse_link(text[start : match.end()].rstrip(_TRAILING_PUNCTUATION))
        except LinkError:
            continue
        found.setdefault(link.key, link)
    return list(found.values())


def _link_start(text: str, host_at: int) -> int | None:
    """Where a link whose host starts at `host_at` begins: at its scheme or "//", else at
    the host unless the host is the tail of a longer name (notmp.weixin.qq.com)."""
    before = _SCHEME_BEFORE.search(text, max(0, host_at - 8), host_at)
    if before:
        return before.start()
    if host_at and text[host_at - 1] in _WORD_BEFORE:
        return None
    return host_at


def _unescape(text: str) -> str:
    """Undo the script and HTML escapes links are found wrapped in."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        return chr(int(code, 16)) if code else "/"

    return _AMP_ENTITY.sub("&", _BACKSLASH_ESCAPE.sub(replace, text))


def _check_characters(text: str, link: str) -> None:
    """Reject whitespace and invisible characters inside: a link never has them, text does."""
    if link.isascii() and not _ASCII_SPACE_OR_CONTROL.search(link):
        return
    for char in link:
        if char.isspace():
            raise LinkError(text, "it contains whitespace")
        category = unicodedata.category(char)
        if category.startswith("C"):
            kind = "a control character" if category == "Cc" else "an invisible character"
            raise LinkError(text, f"it contains {kind} U+{ord(char):04X}")


def _split(text: str, link: str) -> SplitResult:
    """Split an http(s) link to mp.weixin.qq.com, supplying https:// when it is missing."""
    if link.startswith("//"):
        link = "https:" + link
    elif not _SCHEME.match(link):
        link = "https://" + link
    try:
        parts = urlsplit(link)
    except ValueError as error:
        raise LinkError(text, f"it is not a valid URL ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise LinkError(text, f"it uses {parts.scheme}:, not http or https")
    if not parts.hostname:
        raise LinkError(text, "it has no host")
    if parts.hostname != ARTICLE_HOST:
        raise LinkError(text, f"its host is {parts.hostname}, not {ARTICLE_HOST}")
    return parts


def _query_params(query: str) -> dict[str, str]:
    """The first non-empty value of each parameter, percent-decoded.

    Not parse_qs: that turns "+" into a space, and "+" is a base64 character in biz.
    """
    params: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value:
            params.setdefault(unquote(name), unquote(value))
    return params


def _short(text: str, short_id: str) -> ArticleLink:
    if not short_id:
        raise LinkError(text, "its short id is empty")
    if not _SHORT_ID.fullmatch(short_id):
        raise LinkError(text, f"its short id {short_id!r} is not letters, digits, _ and -")
    return ArticleLink("short", f"s:{short_id}", short_url(short_id), short_id=short_id)


def _long(text: str, params: dict[str, str]) -> ArticleLink:
    """A link naming biz, mid, idx and sn, in the /s form or the old appmsgid/itemidx/sign one."""
    biz = params.get("__biz")
    mid = params.get("mid") or params.get("appmsgid")
    idx = params.get("idx") or params.get("itemidx")
    sn = params.get("sn") or params.get("sign")
    if not biz:
        raise LinkError(text, "it has no __biz")
    if not mid:
        raise LinkError(text, "it has no mid")
    if not _BIZ.fullmatch(biz):
        raise LinkError(text, f"its __biz {biz!r} is not base64")
    if not _DIGITS.fullmatch(mid):
        raise LinkError(text, f"its mid {mid!r} is not a number")
    if idx is not None and not _DIGITS.fullmatch(idx):
        raise LinkError(text, f"its idx {idx!r} is not a number")
    if sn is not None and not _SN.fullmatch(sn):
        raise LinkError(text, f"its sn {sn!r} is not letters and digits")
    if idx is None:
        if sn is None:
            raise LinkError(text, "it has neither idx nor sn")
        idx = "1"  # WeChat serves the first article of the message when idx is left out.
    return ArticleLink(
        "long", f"{biz}:{mid}:{idx}", canonical_url(biz, mid, idx, sn), biz, mid, idx, sn
    )


def _temporary(text: str, params: dict[str, str]) -> ArticleLink:
    """An expiring link (search results, old history pages): keyed by its signature."""
    timestamp = params.get("timestamp")
    signature = params.get("signature")
    if not timestamp:
        raise LinkError(text, "it has a signature but no timestamp")
    if not _DIGITS.fullmatch(timestamp):
        raise LinkError(text, f"its timestamp {timestamp!r} is not a number")
    if not signature:
        raise LinkError(text, "it has a timestamp but no signature")
    if not _SIGNATURE.fullmatch(signature):
        raise LinkError(text, f"its signature {signature!r} has characters a signature never has")
    digest = hashlib.sha1((timestamp + signature).encode()).hexdigest()[:16]
    query = [(name, params[name]) for name in _TEMPORARY_PARAMS if name in params]
    url = f"https://{ARTICLE_HOST}/s?" + urlencode(query, safe="*=")
    return ArticleLink("temporary", f"t:{digest}", url)
