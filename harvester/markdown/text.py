"""Text as the converter writes it: cleaned of sentinels, zero-width marks and NBSP runs,
and escaped so CommonMark reads back the same text (`*` `_` `~` `[` `]` become sentinels,
escaped later only where they could pair or leave a bracket unbalanced)."""

from __future__ import annotations

import re

from harvester.markdown.sentinels import LB, RB, SENTINEL_CHARS, STAR, TILDE, UNDER

ZERO_WIDTH = "\u200b\u200c\u2060\ufeff\u180e\u00ad\u200e\u200f"
# Text nodes: drop sentinels and zero-width marks, NBSP and friends become spaces.
TEXT_TABLE = str.maketrans(
    {
        **dict.fromkeys(map(ord, SENTINEL_CHARS + ZERO_WIDTH), None),
        **dict.fromkeys(map(ord, "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"), " "),
        **dict.fromkeys(map(ord, "\u2008\u2009\u200a\u202f\u205f"), " "),
    }
)
# Zero-width joiners glue emoji sequences together; anywhere else they are editor debris.
STRAY_ZWJ = re.compile(r"\u200d(?![\U0001f000-\U0001faff\u2600-\u27bf\u2640\u2642\u2695])")
_WS = re.compile(r"[ \t\n\r\f\v]+")
_SPECIAL_TEXT = re.compile(f"[{SENTINEL_CHARS}{ZERO_WIDTH}\u200d\u00a0\u2000-\u200a\u202f\u205f]")
_CONTENT_CHAR = re.compile(rf"[^\s{SENTINEL_CHARS}]")

_ESCAPE = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~]")
_ESCAPE_LINK = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~\[\]]")
_ESCAPE_CELL = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~|]")
_ESCAPE_CELL_LINK = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|$)|`|<(?=[A-Za-z/!?]|$)|&(?=#?\w+;|$)|[*_~|\[\]]"
)
_ESCAPES = {
    "\\": "\\\\",
    "`": "&#96;",
    "<": "&lt;",
    "&": "\\&",
    "*": STAR,
    "_": UNDER,
    "~": TILDE,
    "[": LB,
    "]": RB,
    "|": "\\|",
}


def brackets(text: str) -> str:
    """Brackets in link text or alt text: kept as they are when balanced (and not "]("),
    escaped otherwise, so the link still ends where it should."""
    if LB not in text and RB not in text:
        return text
    depth = 0
    for ch in text:
        if ch == LB:
            depth += 1
        elif ch == RB:
            depth -= 1
            if depth < 0:
                break
    if depth == 0 and RB + "(" not in text:
        return text.replace(LB, "[").replace(RB, "]")
    return text.replace(LB, "\\[").replace(RB, "\\]")


def _escape_repl(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(0)]


def escape_text(text: str, link: bool = False, cell: bool = False) -> str:
    if cell:
        pattern = _ESCAPE_CELL_LINK if link else _ESCAPE_CELL
    else:
        pattern = _ESCAPE_LINK if link else _ESCAPE
    return pattern.sub(_escape_repl, text)


_TEX_MARKUP = r"\\(?=[!-/:-@\[-`{-~]|$)|[`*_~<]|&(?=#?\w+;)"


def escape_tex(tex: str, link: bool = False, cell: bool = False) -> str:
    """TeX as CommonMark shows it exactly: every character it could read as markup gets a
    backslash (a backslash itself only where it would escape the next character: `\\frac`
    stays as it is), so a page rendered from the Markdown holds the TeX for MathJax.
    Brackets are escaped in link text, elsewhere only a `]` that could make a link."""
    pattern = _TEX_MARKUP + (r"|[\[\]]" if link else r"|\](?=[(\[])") + (r"|\|" if cell else "")
    return re.sub(pattern, lambda m: "\\" + m.group(0), tex)


def clean_text(text: str) -> str:
    """Visible text of an attribute or text node: no sentinels, zero-width marks or NBSP runs."""
    if _SPECIAL_TEXT.search(text) is not None:
        text = STRAY_ZWJ.sub("", text.translate(TEXT_TABLE))
    return _WS.sub(" ", text)


_SUPERSCRIPT = str.maketrans("0123456789+-−=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPT = str.maketrans("0123456789+-−=()aeox", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₒₓ")
_SUPERSCRIPT_CHARS = frozenset("0123456789+-−=()ni")
_SUBSCRIPT_CHARS = frozenset("0123456789+-−=()aeox")
_NEGATIVE = re.compile(r"-\d")
_DELIMITED = re.compile(r"\[[^\[\]]*\]|\([^()]*\)")


def raised(text: str, superscript: bool) -> str:
    """A superscript or subscript, readable without HTML: in Unicode's superscript or
    subscript characters where each has one ("10⁶", "CD4⁺", "H₂O"), as it is where it
    needs no marking (symbols such as ®, a reference already in brackets: "[1]"), else
    marked "^(…)" or "_(…)" ("Apc^(min/+)"), since "10^6" reads as 106 in CommonMark."""
    core = text.strip(" ")
    if not core:
        return text
    chars = _SUPERSCRIPT_CHARS if superscript else _SUBSCRIPT_CHARS
    # A hyphen is a minus sign before a number ("10⁻⁶"); alone it stays one ("CD4-").
    if all(ch in chars for ch in core) and ("-" not in core or _NEGATIVE.search(core)):
        mapped = core.translate(_SUPERSCRIPT if superscript else _SUBSCRIPT)
    elif not any(ch.isalnum() for ch in core) or _DELIMITED.fullmatch(core):
        return text
    else:
        mapped = ("^(" if superscript else UNDER + "(") + core + ")"
    lead = " " if text[:1] == " " else ""
    trail = " " if text[-1:] == " " else ""
    return lead + mapped + trail


def has_content(text: str) -> bool:
    return _CONTENT_CHAR.search(text) is not None


def as_text(body_html: object) -> str:
    if isinstance(body_html, str):
        return body_html
    if isinstance(body_html, bytes | bytearray):
        return bytes(body_html).decode("utf-8", errors="replace")
    return "" if body_html is None else str(body_html)
