"""Links: WeChat article links made canonical, destinations CommonMark parses back to the
same URL, and markers (a link's, or emphasis) put around every inline piece of a text, since
neither can span blocks."""

from __future__ import annotations

import functools
import re

from archive.schemes import LINK_SCHEMES
from harvester.errors import InputError
from harvester.links import parse_link
from harvester.markdown.sentinels import BR, HB, KIND_RE, L_C, L_M, L_O, LS, SENTINEL_CHARS
from harvester.markdown.text import ZERO_WIDTH, has_content

_URL_JUNK = re.compile(f"[\x00-\x1f\x7f{SENTINEL_CHARS}{ZERO_WIDTH}\u200d]")
_TITLE_JUNK = re.compile(f"[\x00-\x1f\x7f{SENTINEL_CHARS}]")  # a title keeps emoji joiners
_ENTITY = re.compile(r"&(?=#?\w+;)")  # an `&` CommonMark would read as a character reference
_HEADING_LINE = re.compile(r"#{1,6} ")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def allowed_url(url: str, schemes: frozenset[str] = LINK_SCHEMES) -> str | None:
    """`url` cleaned as `dest` cleans it, or None when its scheme is not allowed.

    The scheme is read after the cleaning, as a browser reads it after dropping tabs,
    newlines and leading controls (WHATWG URL parsing): `java&#x09;script:` and
    `\x01javascript:` are javascript: links, and the Markdown would hold them so.
    """
    cleaned = _URL_JUNK.sub("", url).strip()
    scheme = _SCHEME.match(cleaned)
    if scheme is not None and scheme.group(1).lower() not in schemes:
        return None
    return cleaned


@functools.lru_cache(maxsize=4096)
def article_url(url: str) -> str:
    """Links to other WeChat articles point at the article's canonical URL."""
    try:
        return parse_link(url).url
    except InputError:  # LinkError: an album, profile or other page that is not an article
        return url
    except Exception:  # a link parse_link chokes on stays as written; conversion goes on
        return url


def dest(url: str) -> str:
    """A link destination CommonMark parses back to the same URL."""
    url = _URL_JUNK.sub("", url).strip()
    url = (
        url.replace("\\", "%5C")
        .replace(" ", "%20")
        .replace("<", "%3C")
        .replace(">", "%3E")
        .replace("|", "%7C")
        .replace("(", "\\(")
        .replace(")", "\\)")
    )
    return _ENTITY.sub(r"\\&", url)


def link(text: str, url: str, title: str = "") -> str:
    """A link; its title (a tooltip, never shown as text) when there is one."""
    return L_O + text + L_M + dest(url) + link_title(title) + L_C


def link_title(title: str) -> str:
    """` "title"` for a link's destination, on one line, its quotes and backslashes escaped
    and its parentheses written as character references (CommonMark decodes them), so
    readers of `[text](…)` that stop at the first `)` still find the link's end; '' for
    no title."""
    title = " ".join(_TITLE_JUNK.sub(" ", title).split())
    if not title:
        return ""
    title = _ENTITY.sub(r"\\&", title.replace("\\", "\\\\").replace('"', '\\"'))
    return ' "' + title.replace("(", "&#40;").replace(")", "&#41;") + '"'


def absolute(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("/"):
        return "https://mp.weixin.qq.com" + url
    return url


def wrap_segments(text: str, opener: str, closer: str) -> str:
    """Put opener/closer around every inline piece of `text` (split at <br> and block lines)."""

    def wrap_inline(run: str) -> str:
        if BR not in run:
            return opener + run + closer if run.strip() else run
        return BR.join(opener + p + closer if p.strip() else p for p in run.split(BR))

    if "\n" not in text:
        return wrap_inline(text)
    out = []
    for line in text.split("\n"):
        m = KIND_RE.search(line)
        if m is None:
            out.append(wrap_inline(line))
        elif line[m.start()] == LS:
            start = m.end()
            end = len(line) - 1 if line.endswith(HB) else len(line)
            body = line[start:end]
            out.append(
                line[:start] + (opener + body + closer if body.strip() else body) + line[end:]
            )
        else:
            out.append(line)
    return "\n".join(out)


def link_segments(text: str, url: str) -> str:
    """A link around every inline piece of `text` (links cannot span blocks)."""
    closing = L_M + dest(url) + L_C

    def one(run: str) -> str:
        stripped = run.strip(" ")
        if not has_content(stripped):
            return run
        lead = " " if run.startswith(" ") else ""
        trail = " " if run.endswith(" ") else ""
        return lead + L_O + stripped + closing + trail

    def inline(run: str) -> str:
        if BR not in run:
            return one(run)
        return BR.join(one(p) for p in run.split(BR))

    if "\n" not in text:
        return inline(text)
    out = []
    for line in text.split("\n"):
        m = KIND_RE.search(line)
        if m is None:
            out.append(inline(line))
        elif line[m.start()] == LS:
            start = m.end()
            end = len(line) - 1 if line.endswith(HB) else len(line)
            out.append(line[:start] + one(line[start:end]) + line[end:])
        elif heading := _HEADING_LINE.match(line, m.end()):
            out.append(line[: heading.end()] + one(line[heading.end() :]))
        else:
            out.append(line)
    return "\n".join(out)
