"""Emphasis and literal `*` `_` `~` on one line: nesting flattened, empty runs dropped,
punctuation and whitespace moved outside the markers until CommonMark's flanking rules make
them render, touching runs kept apart (or merged where CommonMark cannot show them apart); a
literal is escaped only where it could pair with another delimiter."""

from __future__ import annotations

import re
import unicodedata

from harvester.markdown.sentinels import (
    CLOSERS,
    D_C,
    D_O,
    E_C,
    E_O,
    IM_O,
    L_O,
    MARKERS,
    OPENERS,
    P_DEST,
    S_C,
    S_O,
    SENTINEL_SET,
    STAR,
    STRUCTURAL,
    TILDE,
    UNDER,
    VISIBLE,
)

_PUNCT_CACHE: dict[str, tuple[bool, bool, bool]] = {}


def _char_class(ch: str | None) -> tuple[bool, bool, bool]:
    """(whitespace, punctuation in every renderer (P + ASCII), punctuation in some (P or S))."""
    if ch is None:
        return (True, True, True)
    cached = _PUNCT_CACHE.get(ch)
    if cached is None:
        cat = unicodedata.category(ch)
        ws = ch in " \t\n\r\f\v" or cat == "Zs"
        ascii_punct = ch.isascii() and not ch.isalnum() and ch.isprintable() and ch != " "
        strict = ascii_punct or cat.startswith("P")
        cached = (ws, strict, strict or cat.startswith("S"))
        _PUNCT_CACHE[ch] = cached
    return cached


def _vis(chars: list[str], i: int) -> str | None:
    if i < 0 or i >= len(chars):
        return None
    ch = chars[i]
    return VISIBLE.get(ch, ch)


def _balance(s: str) -> str:
    """Flatten nested emphasis of one kind, drop unmatched closers, close what is left open,
    and keep different kinds properly nested."""
    stack: list[str] = []
    depth = dict.fromkeys(OPENERS, 0)
    out: list[str] = []
    for ch in s:
        if ch in OPENERS:
            depth[ch] += 1
            if depth[ch] == 1:
                stack.append(ch)
                out.append(ch)
        elif ch in CLOSERS:
            opener = CLOSERS[ch]
            if depth[opener] == 0:
                continue
            depth[opener] -= 1
            if depth[opener]:
                continue
            reopen = []
            while stack:
                top = stack.pop()
                out.append(OPENERS[top])
                if top == opener:
                    break
                reopen.append(top)
            for top in reversed(reopen):
                stack.append(top)
                out.append(top)
        else:
            out.append(ch)
    while stack:
        out.append(OPENERS[stack.pop()])
    return "".join(out)


_EMPTY = re.compile(rf"{S_O}(\s*){S_C}|{E_O}(\s*){E_C}|{D_O}(\s*){D_C}")
# Whitespace at the seam of two adjacent runs belongs between them, not inside either.
_SEAM_BEFORE = re.compile(rf"(\s+)({S_C}{S_O}|{E_C}{E_O})")
_SEAM_AFTER = re.compile(rf"({S_C}{S_O}|{E_C}{E_O})(\s+)")
_STRIKE_SEAM = re.compile(D_C + D_O)
# "<em><strong>x</strong></em>": strong outside, so adjacent strong runs stay one chain.
_STRONG_OUTSIDE = re.compile(rf"{E_O}{S_O}([^{S_O}{S_C}{E_O}{E_C}]*){S_C}{E_C}")
# Link and image destinations are protected as P_DEST by the time emphasis is resolved.
_LINK = rf"{L_O}(?:{IM_O}[^{P_DEST}]*{P_DEST}|[^{L_O}{IM_O}{P_DEST}])*{P_DEST}"
_LINK_RE = re.compile(_LINK)
_LINKS_IN_EMPHASIS = [
    (o, c, re.compile(rf"{o}((?:[^{o}{c}{L_O}{P_DEST}]*{_LINK})+[^{o}{c}{L_O}{P_DEST}]*){c}"))
    for o, c in OPENERS.items()
]


def _into_links(match: re.Match[str], o: str, c: str) -> str:
    """Emphasis around links and the punctuation between them ("**[a](x)[b](y)**",
    "**，[a](x)**"): the markers go inside each link, where they always render; the
    punctuation stays outside. Emphasis over other text as well is left as it is."""
    inner = match[1]
    between = _LINK_RE.split(inner)
    if any(_has_words(piece) for piece in between):
        return match[0]
    return _LINK_RE.sub(lambda m: m[0][0] + o + m[0][1:-1] + c + m[0][-1], inner)


def _has_words(piece: str) -> bool:
    return any(not (ch.isspace() or _char_class(ch)[2]) for ch in piece)


_IMAGE_IN_EMPHASIS = [
    re.compile(rf"{o}((?:\s*{IM_O}[^{P_DEST}]*{P_DEST})+\s*){c}") for o, c in OPENERS.items()
]


def _squash(s: str) -> str:
    """Drop empty runs, merge adjacent strikethrough, keep seam whitespace outside runs."""
    for _ in range(10):
        s, n1 = _EMPTY.subn(lambda m: m.group(m.lastindex) if m.lastindex else "", s)
        n2 = n3 = 0
        if D_O in s:
            s, n2 = _STRIKE_SEAM.subn("", s)
        if E_O in s and S_O in s:
            s, n3 = _STRONG_OUTSIDE.subn(rf"{S_O}{E_O}\1{E_C}{S_C}", s)
        s = _SEAM_BEFORE.sub(lambda m: m[2][0] + m[1] + m[2][1], s)
        s = _SEAM_AFTER.sub(lambda m: m[1][0] + m[2] + m[1][1], s)
        if not (n1 or n2 or n3):
            break
    return s


def _movable_punct(ch: str) -> bool:
    return ch not in SENTINEL_SET and _char_class(ch)[2] and not ch.isspace()


def _has_text(s: str) -> bool:
    return any(not ch.isspace() and ch not in MARKERS for ch in s)


def _split_seams(s: str) -> str:
    """ "<b>1、</b><b>标题</b>": punctuation at the seam of two touching runs moves between
    them, so each run renders on its own without needing "__"."""
    for o, c in ((S_O, S_C), (E_O, E_C)):
        seam = c + o
        idx = s.find(seam)
        while idx != -1:
            before = s[idx - 1] if idx > 0 else ""
            after = s[idx + 2] if idx + 2 < len(s) else ""
            if before and _movable_punct(before):
                start = s.rfind(o, 0, idx)
                if start != -1 and _has_text(s[start + 1 : idx - 1]):
                    s = s[: idx - 1] + c + before + o + s[idx + 2 :]
            elif after and _movable_punct(after):
                end = s.find(c, idx + 3)
                if end != -1 and _has_text(s[idx + 3 : end]):
                    s = s[:idx] + c + after + o + s[idx + 3 :]
            idx = s.find(seam, idx + 1)
    return s


def _open_side_ok(ch: str | None) -> bool:
    """Can "__"/"_" open or close next to this outside character?"""
    ws, strict, _loose = _char_class(ch)
    return ws or strict


# Touching runs ("<b>单细胞</b><b>测序</b>") are the editor's, not the author's. Merging them
# reads best ("**单细胞测序**") but every merge removes a bold run the source had (about 3% of
# them in the mp_duty corpus); so they stay separate where CommonMark can show them separately
# (split at punctuation, else alternating ** and __), and merge only where it cannot.
# Set to False to always merge.
_SEPARATE_TOUCHING_RUNS = True

_CHAINS = [
    (o, c, main, alt, re.compile(f"(?:{o}[^{o}{c}]*{c})+"))
    for o, c, main, alt in ((S_O, S_C, "**", "__"), (E_O, E_C, "*", "_"))
]


# Italics touching bold the other way round ("**期刊：**" + "*iMeta*") would read "***" as one
# run, which cannot both close and open: such italics are written with "_" where "_" can
# open and close on their other side.
_EM_AFTER_STRONG = re.compile(f"{S_C}{E_O}([^{E_O}{E_C}]*){E_C}(.?)", re.S)
_EM_BEFORE_STRONG = re.compile(f"(.?){E_O}([^{E_O}{E_C}]*){E_C}{S_O}", re.S)


def _em_after_strong(m: re.Match[str]) -> str:
    after = VISIBLE.get(m[2], m[2]) or None
    if not _open_side_ok(after):
        return m[0]
    return f"{S_C}_{m[1]}_{m[2]}"


def _em_before_strong(m: re.Match[str]) -> str:
    before = VISIBLE.get(m[1], m[1]) or None
    if not _open_side_ok(before):
        return m[0]
    return f"{m[1]}_{m[2]}_{S_O}"


def _emit(s: str) -> str:
    """Markers to text. Runs that touch ("<b>A</b><b>B</b>") alternate ** and __ so each
    still renders on its own (no "****"); where "__" cannot open or close, they merge."""
    s = s.replace(D_O, "~~").replace(D_C, "~~")
    if E_O in s and S_O in s:
        s = _EM_AFTER_STRONG.sub(_em_after_strong, s)
        s = _EM_BEFORE_STRONG.sub(_em_before_strong, s)
    if not _SEPARATE_TOUCHING_RUNS:
        s = s.replace(S_C + S_O, "").replace(E_C + E_O, "")
    for o, c, main, alt, chain_re in _CHAINS:
        if o not in s:
            continue

        def repl(m: re.Match[str], s=s, o=o, c=c, main=main, alt=alt) -> str:
            regions = m.group(0)[1:-1].split(c + o)
            n = len(regions)
            if n % 2 == 0:
                prev = VISIBLE.get(s[m.start() - 1], s[m.start() - 1]) if m.start() else None
                nxt = VISIBLE.get(s[m.end()], s[m.end()]) if m.end() < len(s) else None
                if _open_side_ok(nxt):
                    marks = [main, alt] * (n // 2)
                elif _open_side_ok(prev):
                    marks = [alt, main] * (n // 2)
                else:
                    regions[-2:] = [regions[-2] + regions[-1]]
                    n -= 1
            if n % 2 == 1:
                marks = [main if i % 2 == 0 else alt for i in range(n)]
            return "".join(
                mark + region + mark for mark, region in zip(marks, regions, strict=True)
            )

        s = chain_re.sub(repl, s)
    return s


def _fix_flanking(s: str) -> str:
    """Move whitespace and punctuation across emphasis markers until every opener run is
    left-flanking and every closer run right-flanking (for markdown-it and for cmark)."""
    chars = list(s)
    for _ in range(200):
        changed = False
        i = 0
        n = len(chars)
        while i < n:
            if chars[i] not in MARKERS:
                i += 1
                continue
            while i and chars[i - 1] in MARKERS:  # a move can land inside a run
                i -= 1
            j = i
            while j < n and chars[j] in MARKERS:
                j += 1
            run = chars[i:j]
            has_open = any(c in OPENERS for c in run)
            has_close = any(c in CLOSERS for c in run)
            prev, nxt = _vis(chars, i - 1), _vis(chars, j)
            p_ws, p_strict, p_loose = _char_class(prev)
            n_ws, n_strict, n_loose = _char_class(nxt)
            seam = _seam(run) if has_open and has_close else 0
            if seam and (p_ws or n_ws):
                # "*x *" + "*y*": closers, then openers; whitespace on either side goes
                # between them, where it lets both render ("*x* *y*").
                if p_ws and chars[i - 1] not in STRUCTURAL:
                    chars.insert(i + seam - 1, chars.pop(i - 1))
                elif n_ws and chars[j] not in STRUCTURAL:
                    chars.insert(i + seam, chars.pop(j))
                else:
                    i = j
                    continue
                changed = True
                i = j + 1
                continue
            bad_open = (
                has_open
                and not has_close
                and nxt is not None
                and (n_ws or (n_loose and not (p_ws or p_strict)))
                and chars[j] not in STRUCTURAL
            )
            bad_close = (
                has_close
                and not has_open
                and prev is not None
                and (p_ws or (p_loose and not (n_ws or n_strict)))
                and chars[i - 1] not in STRUCTURAL
            )
            if bad_open:  # "中**：x**": the punctuation goes before the opener
                chars.insert(i, chars.pop(j))
            elif bad_close:  # "**x。**中": the punctuation goes after the closer
                chars.insert(j - 1, chars.pop(i - 1))
            else:
                i = j
                continue
            changed = True
            i = j + 1
        if not changed:
            break
        s2 = _squash("".join(chars))
        chars = list(s2)
    return "".join(chars)


def _seam(run: list[str]) -> int:
    """Where a run of closers turns into a run of openers (0: not such a run)."""
    k = 0
    while k < len(run) and run[k] in CLOSERS:
        k += 1
    return k if k and all(ch in OPENERS for ch in run[k:]) else 0


MARKER_RE = re.compile(f"[{''.join(sorted(MARKERS))}]")
_OPENER_RE = re.compile(f"[{''.join(OPENERS)}]")


def resolve_emphasis(s: str) -> str:
    if _OPENER_RE.search(s) is None:
        return MARKER_RE.sub("", s)
    s = _squash(_balance(s))
    for o, c, pattern in _LINKS_IN_EMPHASIS:
        s = pattern.sub(lambda m, o=o, c=c: _into_links(m, o, c), s)
    for pattern in _IMAGE_IN_EMPHASIS:
        s = pattern.sub(r"\1", s)
    s = _split_seams(_squash(s))
    if _OPENER_RE.search(s) is not None:
        s = _fix_flanking(s)
    return _emit(s)


_LITERALS = {STAR: "*", UNDER: "_", TILDE: "~"}
_LITERAL_RE = re.compile(f"[{STAR}{UNDER}{TILDE}]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


_LITERAL_RUN = re.compile(f"{STAR}+|{UNDER}+|{TILDE}+")
_VISIBLE_RUNS = {
    "*": re.compile(f"[*{STAR}]+"),
    "_": re.compile(f"[_{UNDER}]+"),
    "~": re.compile(f"[~{TILDE}]+"),
}


def resolve_literals(s: str) -> str:
    """Literal * _ ~ stay as they are unless the run could open or close emphasis (or
    strikethrough) and another run of the same character on the line could pair with it."""
    if not _LITERAL_RE.search(s):
        return s
    runs = {ch: [len(r) for r in pattern.findall(s)] for ch, pattern in _VISIBLE_RUNS.items()}

    def repl(m: re.Match[str]) -> str:
        literal = _LITERALS[m.group(0)[0]]
        n = len(m.group(0))
        start, end = m.start(), m.end()
        # Strikethrough pairs only equal runs; emphasis pairs any two runs.
        partners = runs[literal].count(n) if literal == "~" else len(runs[literal])
        # A plain "****" or "____" still reads as empty emphasis: break such runs up.
        plain = "\\" + literal * n if n >= 4 and literal != "~" else literal * n
        if partners < 2:
            return plain
        prev = VISIBLE.get(s[start - 1], s[start - 1]) if start else None
        nxt = VISIBLE.get(s[end], s[end]) if end < len(s) else None
        p_ws, p_strict, p_loose = _char_class(prev)
        n_ws, n_strict, n_loose = _char_class(nxt)
        left = not n_ws and (not n_loose or p_ws or p_strict)
        right = not p_ws and (not p_loose or n_ws or n_strict)
        if literal == "_":
            can = (left and (not right or p_loose)) or (right and (not left or n_loose))
        else:
            can = left or right
        if not can:
            return plain
        if prev is not None and nxt is not None and _CJK.match(prev) and _CJK.match(nxt):
            return f"&#{ord(literal)};" * n  # "\*" between Chinese characters reads as noise
        return ("\\" + literal) * n

    return _LITERAL_RUN.sub(repl, s)
