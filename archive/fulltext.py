"""Chinese text for the archive's full-text search: pure text in, text out.

FTS5's unicode61 tokenizer keeps a run of CJK characters as one token, so the
index (archive.index, `articles_search`) holds a copy of each article's title and
body in which every CJK character is its own token: cjk_spaced puts a zero-width
space, CJK_SEP, on each side (invisible when read in Datasette). search_copy is
that copy for a Markdown body. Queries go through fts_query, which turns any
user input into a safe MATCH expression in which each word typed (between spaces)
is a phrase of its tokens.

FTS5 snippets of the spaced copy come back with the separators and with one
mark per character; natural_snippet removes them exactly, tidy_snippet makes
one line of prose of it, and the marks (OPEN_MARK/CLOSE_MARK, which cannot
occur in text) become HTML (marked_html) or highlighted parts (marked_parts).
"""

from __future__ import annotations

import html
import re
import unicodedata

CJK_SEP = "\u200b"  # zero-width space: a token separator for unicode61, invisible to readers
CJK_CHARS = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303b"  # 々〆〇, Hangzhou numerals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f\u3130-\u318f\u31a0-\u31bf\u31f0-\u31ff"  # Bopomofo, Hangul jamo, ...
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK unified ideographs (+ extension A)
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f\U0002f800-\U0002fa1f"  # extensions B-G, compatibility supplement
)
_CJK = f"[{CJK_CHARS}]"
_CJK_RUN = re.compile(f"{_CJK}+")
_QUERY_TOKEN = re.compile(rf"{_CJK}|(?:(?!{_CJK})[^\W_])+")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
MAX_QUERY_TERMS = 32
OPEN_MARK, CLOSE_MARK = "\x02", "\x03"  # snippet marks that cannot occur in text
ELLIPSIS = "…"  # where a snippet cuts the body
_SNIPPET_MARKUP = re.compile(
    r"(?m)^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|\|[-: |]*\|?[ \t]*$)|\*\*|__|`+|\|"
)


# --- the indexed copy --------------------------------------------------------


def cjk_spaced(text: str | None) -> str:
    """`text` with CJK_SEP between every CJK character and its neighbours.

    Latin words stay whole; punctuation and whitespace are left as they are
    (the tokenizer ignores them). unspace() undoes it exactly (text is NFC-normalised).
    Done run by run: a regex testing every position for a boundary took twice as long.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    parts: list[str] = []
    done = 0
    for run in _CJK_RUN.finditer(text):
        start, end = run.span()
        if start > done:
            parts.append(text[done:start])
            if _separates(text[start - 1]):
                parts.append(CJK_SEP)
        parts.append(CJK_SEP.join(run.group()))
        if end < len(text) and _separates(text[end]):
            parts.append(CJK_SEP)
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _separates(neighbour: str) -> bool:
    """Whether a CJK run needs CJK_SEP before or after this character."""
    return not (neighbour.isspace() or neighbour == CJK_SEP)


def unspace(text: str) -> str:
    """Remove the separators cjk_spaced added (and any zero-width spaces)."""
    return text.replace(CJK_SEP, "")


def search_copy(markdown: str | None) -> str:
    """The text indexed for a body: Markdown images/links reduced to their text, spaced."""
    text = _MD_IMAGE.sub(r"\1", markdown or "")
    return cjk_spaced(_MD_LINK.sub(r"\1", text))


# --- queries -----------------------------------------------------------------


def fts_query(user_query: str | None) -> str:
    """A safe FTS5 MATCH expression for what a user typed ('' means: no results).

    Spaces separate words, and every word must appear (AND). A word is a phrase of its
    tokens as the index has them (each CJK character, each run of other letters and
    digits), so it matches only where they stand together: `R语言` is `"R 语 言"` (not
    `R` somewhere and `语言` elsewhere), `神经` is `"神 经"`. Punctuation inside a word
    is skipped, as the index skips it. Quotes, operators (OR, NOT, NEAR), `*` and
    parentheses are plain text: tokens hold only letters and digits, so never a quote.
    """
    text = unicodedata.normalize("NFC", user_query or "")
    terms = []
    for word in text.split():
        tokens = _QUERY_TOKEN.findall(word)
        if tokens:
            terms.append('"' + " ".join(tokens) + '"')
    return " AND ".join(terms[:MAX_QUERY_TERMS])


def escape_fts(user_query: str | None) -> str:
    """fts_query where SQL needs an expression even for nothing: '""' matches no row."""
    return fts_query(user_query) or '""'


# --- snippets ----------------------------------------------------------------


def natural_snippet(snippet: str, open_mark: str, close_mark: str) -> str:
    """A snippet of the spaced copy made readable: separators gone, adjacent marks merged."""
    merged = snippet.replace(close_mark + CJK_SEP + open_mark, CJK_SEP)
    return unspace(merged)


def tidy_snippet(snippet: str) -> str:
    """A search snippet read as one line of prose: Markdown markers and line breaks gone."""
    return " ".join(_SNIPPET_MARKUP.sub(" ", snippet).split())


def unmarked(snippet: str) -> str:
    """A snippet marked with OPEN_MARK/CLOSE_MARK as plain text."""
    return snippet.replace(OPEN_MARK, "").replace(CLOSE_MARK, "")


def marked_html(snippet: str) -> str:
    """A snippet with OPEN_MARK/CLOSE_MARK as escaped HTML with <mark> elements (safe to embed)."""
    escaped = html.escape(snippet, quote=False)
    return escaped.replace(OPEN_MARK, "<mark>").replace(CLOSE_MARK, "</mark>")


def marked_parts(snippet: str) -> list[tuple[str, bool]]:
    """A marked snippet as (text, is_match) parts in order, for highlighting outside HTML."""
    parts: list[tuple[str, bool]] = []
    rest = snippet
    while OPEN_MARK in rest:
        before, _, tail = rest.partition(OPEN_MARK)
        match, _, rest = tail.partition(CLOSE_MARK)
        parts += [(before, False), (match, True)]
    parts.append((rest.replace(CLOSE_MARK, ""), False))
    return parts
