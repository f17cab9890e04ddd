"""Sentinels: Unicode noncharacters the converter writes wherever the final spelling
depends on the neighbours (line kinds, `<br>`, emphasis, literal `*` `_` `~`, link and image
brackets, code spans, formulas). `finish` resolves them line by line."""

from __future__ import annotations

import re

# Unicode noncharacters U+FDD0..U+FDEF: never in interchanged text, stripped from input.
LS = "\ufdd0"  # a line of inline text starts here (block-start escaping applies)
SL = "\ufdd1"  # a structural line (heading, table row): inline text, no block-start escaping
CL = "\ufdd2"  # a code line: verbatim
HR = "\ufdd3"  # a thematic break line
BR = "\ufdd4"  # <br> not yet resolved
HB = "\ufdd5"  # hard line break (a backslash at the end of the line)
S_O, S_C = "\ufdd6", "\ufdd7"  # strong
E_O, E_C = "\ufdd8", "\ufdd9"  # emphasis
D_O, D_C = "\ufdda", "\ufddb"  # strikethrough
STAR, UNDER, TILDE = "\ufddc", "\ufddd", "\ufdde"  # literal * _ ~ (escaped only if they could pair)
L_O, L_M, L_C = "\ufddf", "\ufde0", "\ufde1"  # link "[", "](", ")"
IM_O = "\ufde2"  # image "!["
C_O, C_C = "\ufde3", "\ufde4"  # code span boundaries (contents verbatim)
LB, RB = "\ufde8", "\ufde9"  # "[" "]" in link or alt text, escaped only if unbalanced
P_CODE, P_DEST = "\ufde5", "\ufde6"  # placeholders for protected code spans / link destinations
F_O, F_C = "\ufdea", "\ufdeb"  # formula boundaries (contents escaped already, kept whole)
P_MATH = "\ufdec"  # placeholder for a protected formula

KINDS = LS + SL + CL + HR
OPENERS = {S_O: S_C, E_O: E_C, D_O: D_C}
CLOSERS = {v: k for k, v in OPENERS.items()}
MARKERS = frozenset(OPENERS) | frozenset(CLOSERS)
VISIBLE = {
    S_O: "*",
    S_C: "*",
    E_O: "*",
    E_C: "*",
    D_O: "~",
    D_C: "~",
    STAR: "*",
    UNDER: "_",
    TILDE: "~",
    L_O: "[",
    L_M: "]",
    L_C: ")",
    IM_O: "!",
    HB: "\\",
    P_CODE: "`",
    P_DEST: ")",
    C_O: "`",
    C_C: "`",
    P_MATH: "$",
}
# Sentinels that are part of link/image syntax: never moved across emphasis markers.
STRUCTURAL = frozenset(L_O + L_M + L_C + IM_O + HB + P_DEST)

SENTINEL_CHARS = "".join(chr(c) for c in range(0xFDD0, 0xFDF0))
SENTINEL_SET = frozenset(SENTINEL_CHARS)
# The kind of a line: its first kind sentinel (after any quote or list prefix).
KIND_RE = re.compile(f"[{KINDS}]")
