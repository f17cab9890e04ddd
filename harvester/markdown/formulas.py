"""Formulas as TeX. WeChat's editors keep a formula's TeX in `data-formula` on the element
around its picture (an inline `<svg>` or an `<embed>` of one), `data-formula-type` saying
`inline-equation` or `block-equation`. A MathJax SVG pasted without it still carries its
MathML as data: each `<g data-mml-node="…">` is one MathML element and each glyph's
`data-c` its character, which is enough to write the TeX back (`svg_tex`)."""

from __future__ import annotations

import re
import unicodedata

_ROWS = frozenset({"math", "mrow", "TeXAtom", "mstyle", "mpadded", "semantics", "mtd"})
_TOKENS = frozenset({"mi", "mn", "mo", "ms"})
_SCRIPTS = {"msub": "_", "msup": "^", "munder": "_", "mover": "^"}
# Characters TeX does not take as they are, and operators with a usual command.
_TEX = {
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "\u2212": "-",
    "\u2217": "*",
    "\u00d7": r"\times ",
    "\u22c5": r"\cdot ",
    "\u00b7": r"\cdot ",
    "\u00f7": r"\div ",
    "\u00b1": r"\pm ",
    "\u2248": r"\approx ",
    "\u2260": r"\neq ",
    "\u2264": r"\leq ",
    "\u2265": r"\geq ",
    "\u2208": r"\in ",
    "\u221e": r"\infty ",
    "\u2211": r"\sum ",
    "\u220f": r"\prod ",
    "\u222b": r"\int ",
    "\u2192": r"\rightarrow ",
    "\u22ef": r"\cdots ",
    "\u2026": r"\ldots ",
    "\u2032": r"\prime ",
}
# A stretched delimiter is drawn from pieces (top, extension, bottom): each is the delimiter.
_PIECES = {
    **dict.fromkeys("\u239b\u239c\u239d", "("),
    **dict.fromkeys("\u239e\u239f\u23a0", ")"),
    **dict.fromkeys("\u23a1\u23a2\u23a3", "["),
    **dict.fromkeys("\u23a4\u23a5\u23a6", "]"),
    **dict.fromkeys("\u23a7\u23a8\u23a9\u23aa", "{"),
    **dict.fromkeys("\u23ab\u23ac\u23ad", "}"),
    **dict.fromkeys("\u23d0\u2223", "|"),
}
_RISE = re.compile(r"translate\(\s*[-\d.e]+[\s,]+([-\d.e]+)")
_ACCENTS = {
    "\u00af": r"\bar",
    "\u02c9": r"\bar",
    "\u005e": r"\hat",
    "\u02c6": r"\hat",
    "\u007e": r"\tilde",
    "\u02dc": r"\tilde",
    "\u2192": r"\vec",
    "\u20d7": r"\vec",
    "\u02d9": r"\dot",
    "\u0304": r"\bar",
    "\u0302": r"\hat",
    "\u0303": r"\tilde",
    "\u0307": r"\dot",
}


class _Unreadable(Exception):
    """A MathML element the TeX is not written back for (labelled rows, enclosures…)."""


def _mml_children(node) -> list:
    """The MathML elements directly under `node` (through the SVG groups between them)."""
    found = []
    pending = list(node.iter())
    pending.reverse()
    while pending:
        child = pending.pop()
        if child.attributes.get("data-mml-node"):
            found.append(child)
        else:
            pending.extend(reversed(list(child.iter())))
    return found


def _glyphs(node) -> str:
    """The characters a token element draws: each glyph's `data-c`, or `<text>` MathJax
    writes for characters its font lacks."""
    chars = []
    for glyph in node.traverse():
        code = glyph.attributes.get("data-c")
        if code:
            try:
                chars.append(chr(int(code, 16)))
            except (ValueError, OverflowError) as error:
                raise _Unreadable(code) from error
        elif glyph.tag == "text":
            chars.append(glyph.text(deep=True))
    return "".join(chars)


def _group(tex: str) -> str:
    return "{" + tex.strip() + "}"


def _base(tex: str) -> str:
    """A script's base: braced unless it is one character."""
    tex = tex.strip()
    return tex if len(tex) == 1 else _group(tex)


def _token(kind: str, chars: str) -> str:
    chars = unicodedata.normalize("NFKC", chars)  # 𝐴 (mathematical italic A) is A
    if kind == "mo":
        pieces = "".join(_PIECES.get(ch, ch) for ch in chars)
        if len(set(pieces)) == 1:
            pieces = pieces[0]
        chars = pieces
    if kind == "mi" and len(chars) > 1 and chars.isalpha():
        return r"\mathrm{" + chars + "}"
    return "".join(_TEX.get(ch, ch) for ch in chars)


def _tex(node) -> str:
    kind = node.attributes.get("data-mml-node") or ""
    if kind in _TOKENS:
        return _token(kind, _glyphs(node))
    if kind == "mtext":
        text = unicodedata.normalize("NFKC", _glyphs(node))
        return r"\text{" + "".join(_TEX.get(ch, ch) for ch in text) + "}" if text.strip() else " "
    if kind == "mspace":
        return " "
    children = _mml_children(node)
    if kind in _ROWS:
        if not children:  # a character set as a group of its own: {@}
            return _token("mo", _glyphs(node))
        return "".join(_tex(child) for child in children)
    if kind == "msqrt":
        base = [c for c in children if not (_is_op(c) and _glyphs(c) == "\u221a")]
        return r"\sqrt" + _group("".join(_tex(c) for c in base))
    if len(children) == 2 and kind == "mfrac":
        return r"\frac" + _group(_tex(children[0])) + _group(_tex(children[1]))
    if len(children) == 2 and kind == "mroot":
        return r"\sqrt[" + _tex(children[1]).strip() + "]" + _group(_tex(children[0]))
    if len(children) == 2 and kind == "mover" and _is_op(children[1]):
        accent = _ACCENTS.get(_glyphs(children[1]))
        if accent:
            return accent + _group(_tex(children[0]))
    if len(children) == 2 and kind in _SCRIPTS:
        return _base(_tex(children[0])) + _SCRIPTS[kind] + _group(_tex(children[1]))
    if kind == "mtable":
        return _array(children)
    if len(children) == 3 and kind in ("msubsup", "munderover"):
        # MathJax draws the two scripts in either order; the higher one is the superscript.
        base, low, high = children[0], *sorted(children[1:], key=_rise)
        base, low, high = _tex(base), _tex(low), _tex(high)
        return _base(base) + "_" + _group(low) + "^" + _group(high)
    raise _Unreadable(kind)


def _array(rows: list) -> str:
    """A table (a matrix, cases) as `array`, its columns centred (the SVG keeps no alignment)."""
    cells = []
    for row in rows:
        if row.attributes.get("data-mml-node") != "mtr":
            raise _Unreadable(row.attributes.get("data-mml-node") or "")
        cells.append([_tex(cell).strip() for cell in _mml_children(row)])
    width = max((len(row) for row in cells), default=0)
    if not width:
        raise _Unreadable("mtable")
    body = r" \\ ".join(" & ".join(row) for row in cells)
    return r"\begin{array}{" + "c" * width + "}" + body + r"\end{array}"


def _rise(node) -> float:
    """How far up MathJax placed an element (its translate's y; 0 when not moved)."""
    moved = _RISE.search(node.attributes.get("transform") or "")
    try:
        return float(moved[1]) if moved else 0.0
    except ValueError:
        return 0.0


def _is_op(node) -> bool:
    return node.attributes.get("data-mml-node") == "mo"


def svg_tex(svg) -> str | None:
    """The TeX of a MathJax SVG (a lexbor node) from its MathML data; None when it has none
    or holds an element whose TeX is not written back."""
    math = svg.css_first('[data-mml-node="math"]')
    if math is None:
        return None
    try:
        tex = _tex(math)
    except (_Unreadable, RecursionError):
        return None
    tex = " ".join(tex.split())
    return tex or None
