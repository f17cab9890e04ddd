"""Names and paths made from article data: safe path components, URL slugs, file paths.

Titles and account names come from the web, so nothing taken from an article can name
a path of its own: every component goes through `safe_component` (one component, safe
on POSIX, Windows and macOS) or `slug` (that, and also exactly what Hugo keeps in a URL).
A path's `hash8` comes from the article key, so two same-titled articles on one day
never collide and a path depends only on account, date, title and key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from archive.times import in_china

# Where a Hugo site keeps the exported pages.
CONTENT_DIR = "content/posts"

# Characters that are unsafe in a path component on some system we care about
# (POSIX, Windows, macOS, URLs in Hugo): replaced by a dash.
_UNSAFE_CHARS = re.compile(r'[/\\:*?"<>|#%\x00]')
_DASHES = re.compile(r"-{2,}")
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def safe_component(name: str | None, max_bytes: int = 80, fallback: str = "untitled") -> str:
    """Turn any title, account name or URL fragment into ONE safe path component.

    No separators, NUL, control or invisible format characters; not `.`/`..`;
    no leading dots or dashes; whitespace runs become one `-`; Chinese and other
    letters are kept; at most `max_bytes` UTF-8 bytes, cut on a character
    boundary; never empty (`fallback` instead).
    """
    text = unicodedata.normalize("NFC", name or "")
    chars = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zs", "Zl", "Zp"):
            chars.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            chars.append(ch)
    text = _UNSAFE_CHARS.sub("-", "".join(chars))
    text = "-".join(text.split())
    text = _DASHES.sub("-", text)
    text = _trim(_truncate_utf8(_trim(text), max_bytes))
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = _trim(_truncate_utf8("_" + text, max_bytes))
    if not text:
        return _truncate_utf8(fallback, max_bytes) or "_"
    return text


def _trim(text: str) -> str:
    return text.lstrip(".-").rstrip(".- ")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def slug(text: str | None, max_bytes: int = 60, fallback: str = "untitled") -> str:
    """A lower-case URL slug: letters, decimal digits and marks kept (Chinese too), the
    rest become single dashes; never empty, never `.`/`..`, at most `max_bytes` bytes.

    Hugo keeps exactly these characters when it makes a URL from a file name, so the
    file's path is the page's URL path.
    """
    chars = []
    for ch in unicodedata.normalize("NFC", text or "").lower():
        category = unicodedata.category(ch)
        if category[0] in "LM" or category == "Nd":
            chars.append(ch)
        else:
            chars.append("-")
    cleaned = _DASHES.sub("-", "".join(chars)).strip("-")
    return safe_component(cleaned, max_bytes=max_bytes, fallback=fallback).lower()


# A Hugo taxonomy term (a tag, a category) is a folder of the built site: /tags/<term>/.
TERM_MAX_BYTES = 100
_PATH_SEPARATORS = re.compile(r"[/\\]")
_ONLY_DOTS = re.compile(r"[.\s]*")


def taxonomy_term(text: str | None) -> str | None:
    """A tag or category as a Hugo site may hold it, or None for one it cannot.

    Hugo makes a folder of the term as written (its letters, marks, digits and `.`, `/`,
    `\\`, `#`, `+`, `~`, `_`, `-`): a `/` or `\\` would nest folders and `..` climb out of
    the site (Hugo then fails for every page), and a long one is a file name the disk
    refuses. So separators become `-`, a term of dots alone is none, and it is cut to
    TERM_MAX_BYTES on a character boundary; the rest is shown as it was.
    """
    term = _PATH_SEPARATORS.sub("-", unicodedata.normalize("NFC", text or ""))
    term = " ".join(_truncate_utf8(" ".join(term.split()), TERM_MAX_BYTES).split())
    return None if _ONLY_DOTS.fullmatch(term) else term


def key_hash(key: str, length: int = 8) -> str:
    """A short, stable hex digest of an article key (used to make paths unique)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:length]


def article_relpath(
    account: str | None, published_at: datetime | None, title: str | None, key: str
) -> str:
    """`articles/<account>/<YYYY>/<YYYY-MM-DD>-<slug>-<hash8>.md`, relative to the root.

    The date is the publish date in China time (naive datetimes are taken as
    China time). Without a date: `articles/<account>/undated/<slug>-<hash8>.md`.
    """
    account_dir = safe_component(account, fallback="unknown-account")
    name = f"{safe_component(title)}-{key_hash(key)}"
    if published_at is None:
        return f"articles/{account_dir}/undated/{name}.md"
    published_at = in_china(published_at)
    day = published_at.strftime("%Y-%m-%d")
    return f"articles/{account_dir}/{published_at:%Y}/{day}-{name}.md"


def page_relpath(
    account: str | None, published: datetime | None, title: str | None, key: str
) -> str:
    """`content/posts/<account>/<YYYY>/<YYYY-MM-DD>-<title>-<hash8>.md` (China dates)."""
    account_dir = slug(account, 40, "unknown-account")
    name = f"{slug(title)}-{key_hash(key)}"
    if published is None:
        return f"{CONTENT_DIR}/{account_dir}/undated/{name}.md"
    published = in_china(published)
    return f"{CONTENT_DIR}/{account_dir}/{published:%Y}/{published:%Y-%m-%d}-{name}.md"
