"""Stage 3: `finish` resolves the converter's sentinels line by line (emphasis, literals,
code span fences, link and image brackets), escapes text that would start a block (`1. `,
`# `, `>`, `---`…) only at the start of a line, and tidies blank lines, breaks and rules."""

from __future__ import annotations

import re

from harvester.markdown.code import fence_code
from harvester.markdown.emphasis import MARKER_RE, resolve_emphasis, resolve_literals
from harvester.markdown.sentinels import (
    C_C,
    C_O,
    CL,
    E_C,
    E_O,
    F_C,
    F_O,
    HB,
    HR,
    IM_O,
    KIND_RE,
    L_C,
    L_M,
    L_O,
    LB,
    LS,
    P_CODE,
    P_DEST,
    P_MATH,
    RB,
    SENTINEL_CHARS,
    SL,
)

_LINE_START = [
    (re.compile(r"^(#{1,6})(?=[ \t]|$)"), r"\\\1"),
    (re.compile(r"^>"), r"\\>"),
    (re.compile(r"^([-+*])(?=[ \t]|$)"), r"\\\1"),
    (re.compile(r"^(\d{1,9})([.)])(?=[ \t]|$)"), r"\1\\\2"),
    (re.compile(r"^([-*_])(?=(?:[ \t]*\1){2,}[ \t]*$)"), r"\\\1"),
    (re.compile(r"^(=+[ \t]*)$"), r"\\\1"),
    (re.compile(r"^~~~"), r"\\~~~"),
    (re.compile(r"^\[(?=[^\]]*\]:)"), r"\\["),
]
_DELIMITER_ROW = re.compile(r"^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def _escape_line_start(s: str) -> str:
    first = s[:1]
    if not first or first not in "#>-+*0123456789=_~[|":
        return s
    for pattern, repl in _LINE_START:
        s2 = pattern.sub(repl, s, count=1)
        if s2 != s:
            return s2
    if "|" in s and _DELIMITER_ROW.match(s):
        return s.replace("|", "\\|")
    return s


_PROTECT = re.compile(rf"{C_O}[^{C_C}]*{C_C}|{L_M}[^{L_C}]*{L_C}|{F_O}[^{F_C}]*{F_C}")
_PLACEHOLDERS = {C_O: P_CODE, L_M: P_DEST, F_O: P_MATH}
# The character first, the look-behind after it: a pattern that starts with a plain
# character is searched for quickly, one that starts with a look-behind at every position.
_TRAILING_BRACKET = re.compile(r"\](?<!\\\])(?=\()")
_BANG_LINK = re.compile(rf"!(?<!\\!)(?={L_O})")
_STRUCT_TEXT = {L_O: "[", L_M: "](", L_C: ")", IM_O: "![", C_O: "", C_C: "", LB: "\\[", RB: "\\]"}
_STRUCT_RE = re.compile(f"[{''.join(_STRUCT_TEXT)}]")
_ANY_SENTINEL = re.compile(f"[{SENTINEL_CHARS}]")


# Code spans as CommonMark reads them, and as a naive reader (```…``` then `…`) reads them.
_CODE_SPANS = re.compile(r"(?<![`\\])(`+)(?!`).*?(?<!`)\1(?!`)")
_CODE_NAIVE = re.compile(r"```.*?```|`[^`\n]*`")
_STAR_RUN = re.compile(r"(?<!\\)(?:\*{4,}|_{4,})")
_EMPTY_LOOKING = re.compile(r"(?<![*\\])\*\*\*\*(?!\*)|(?<![_\\])____(?!_)")
_EM_MARKERS = re.compile(f"[{E_O}{E_C}]")


def _looks_wrong(result: str) -> bool:
    """Four or more emphasis characters in a row outside code: crossed or code-only runs."""
    if "**" not in result and "__" not in result:
        return False
    return bool(
        _STAR_RUN.search(_CODE_SPANS.sub("C", result.replace("\\\\", "%")))
        or _EMPTY_LOOKING.search(_CODE_NAIVE.sub("", result))
    )


def _inline_line(content: str, line_start: bool) -> str:
    result = _inline_line_once(content, line_start)
    if _looks_wrong(result):
        # Crossed runs (<em>a<b>b</em>c</b>) or bold around bare code: drop italics, then all
        # emphasis, rather than write "****".
        result = _inline_line_once(_EM_MARKERS.sub("", content), line_start)
        if _looks_wrong(result):
            result = _inline_line_once(MARKER_RE.sub("", content), line_start)
    return result


def _inline_line_once(content: str, line_start: bool) -> str:
    if _ANY_SENTINEL.search(content) is None:
        content = _TRAILING_BRACKET.sub(r"\\]", content).strip(" \t")
        return _escape_line_start(content) if line_start else content
    protected: list[str] = []

    def protect(m: re.Match[str]) -> str:
        protected.append(m.group(0))
        return _PLACEHOLDERS[m.group(0)[0]]

    content = _PROTECT.sub(protect, content)
    content = resolve_emphasis(content)
    content = resolve_literals(content)
    content = _TRAILING_BRACKET.sub(r"\\]", content)
    content = _BANG_LINK.sub(r"\\!", content)
    hard_break = content.endswith(HB)
    content = content.replace(HB, "").strip(" \t")
    if line_start:
        content = _escape_line_start(content)
    if protected:
        it = iter(protected)

        def restore(m: re.Match[str]) -> str:
            if m.group(0) == P_DEST:
                return next(it)
            if m.group(0) == P_MATH:
                return next(it)[1:-1]
            # Touching code spans ("<code>a</code><code>b</code>") are one span.
            text = "".join(next(it)[1:-1] for _ in m.group(0))
            start, end = m.start(), m.end()
            touching = (start and content[start - 1] in "*_") or (
                end < len(content) and content[end] in "*_"
            )
            return fence_code(text, bool(touching))

        content = re.sub(f"{P_CODE}+|{P_DEST}|{P_MATH}", restore, content)
    content = _STRUCT_RE.sub(lambda m: _STRUCT_TEXT[m.group(0)], content)
    content = _LEFTOVER.sub("", content)
    if hard_break and content:
        content += HB
    return content


_LEFTOVER = re.compile(f"[{SENTINEL_CHARS.replace(HB, '')}]")


def finish(text: str) -> str:
    """Resolve every sentinel line by line and tidy blank lines, breaks and rules."""
    lines: list[str] = []
    kinds: list[str] = []
    for line in text.split("\n"):
        m = KIND_RE.search(line)
        if m is None:
            clean = _LEFTOVER.sub("", line).replace(HB, "").rstrip()
            lines.append(clean if clean.strip() else "")
            kinds.append(SL if clean.strip() else "")
            continue
        k = m.start()
        prefix, kind, content = _LEFTOVER.sub("", line[:k]), line[k], line[k + 1 :]
        if kind == CL:
            lines.append((prefix + _LEFTOVER.sub("", content).replace(HB, "")).rstrip())
            kinds.append(CL)  # a blank line of code is kept
            continue
        if kind == HR:
            lines.append(prefix + "---")
            kinds.append(HR)
            continue
        content = _inline_line(content, kind == LS)
        if not content.replace(HB, "").strip():
            # Nothing left: keep a quote marker so the blockquote stays one, else a blank line.
            stub = prefix.rstrip()
            stub = stub[: stub.rfind(">") + 1] if ">" in stub else ""
            lines.append(stub)
            kinds.append(SL if stub else "")
            continue
        lines.append(prefix + content)
        kinds.append(kind)

    # Hard breaks only inside a paragraph; thematic breaks only between blocks.
    kept: list[str] = []
    kept_kinds: list[str] = []
    for i, line in enumerate(lines):
        kind = kinds[i]
        if line.endswith(HB):
            keep = i + 1 < len(lines) and kinds[i + 1] == LS and bool(lines[i + 1].strip())
            line = line[:-1].rstrip() + ("\\" if keep else "")
        if kind == HR:
            last = next((kk for kk in reversed(kept_kinds) if kk), None)
            if last is None or last == HR:
                continue
        if kind:
            kept.append(line if kind == CL else line.rstrip())
            kept_kinds.append(kind)
        else:
            kept.append("")
            kept_kinds.append("")
    while kept and (not kept_kinds[-1] or kept_kinds[-1] == HR):
        kept.pop()
        kept_kinds.pop()

    out: list[str] = []
    for line, kind in zip(kept, kept_kinds, strict=True):
        if kind == CL:
            out.append(line)
        elif not line:
            if out and out[-1]:
                out.append("")
        elif line.strip() == ">" and out and out[-1].strip() == ">":
            continue
        else:
            out.append(line)
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out) + "\n" if out else ""
