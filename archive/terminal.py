"""Untrusted text made safe to print on a terminal.

Titles, accounts, snippets, file names and URLs come from pages and files anyone can
write. Printed as they are, an escape sequence in one can retitle the window (OSC),
recolour or clear the screen (CSI), plant a hyperlink, overwrite the line (carriage
return, backspace), or, with bidi overrides, show text in an order other than the one it
has. Every line the commands print for people (not --json, whose escapes are already
safe) passes its untrusted parts through `terminal_safe`, which writes each such
character as its Python escape (`\\x1b`, `\\u202e`): nothing acts, nothing is hidden,
and a file name stays recognisable. Tabs and line breaks stay: they are layout; but a
line that must stay one (a failure or warning line, which scripts read a line at a time)
goes through `one_line`, which writes the line breaks a page or file brought as escapes too.
"""

from __future__ import annotations

import re

# What a terminal acts on: C0 controls but tab and line feed, DEL, C1 controls, and the
# bidi embeddings, overrides and isolates (U+202A-E, U+2066-9).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` with every control character a terminal would act on written as its escape."""
    return _CONTROL.sub(_escaped, text)


# Line breaks: line feed, and the line and paragraph separators some terminals break on
# (NEL, U+0085, is a C1 control, already escaped).
_LINE_BREAK = re.compile("[\n\u2028\u2029]")


def one_line(text: str) -> str:
    """terminal_safe(`text`), its line breaks escaped as well: it prints as one line."""
    return _LINE_BREAK.sub(_escaped, terminal_safe(text))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
