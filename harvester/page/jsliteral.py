"""Reading the JavaScript literal expressions a page assigns to its data variables.

`evaluate(source, position)` gives the value of the expression at position, or UNKNOWN for
whatever is not built from literals. It reads string, number, boolean, null, object and
array literals; `||`, `&&`, `?:`, `!`, `==` / `===`; string `+` and small-number arithmetic;
`'…'.html(false)`; and the decoders `JsDecode`, `htmlDecode`, `String`, `decodeURIComponent`.
An identifier or a call is UNKNOWN, which is falsy, so `x || "literal"` still gives the
literal and code never passes for data. String literals longer than LONG_STRING stay
LongString, decoded only when their text is asked for.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote


class _Unknown:
    """A value the evaluator cannot know (an identifier, a function call): always falsy."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class _Stop(Exception):
    """Not a value this evaluator reads."""


class LongString:
    """A long string literal (a whole article's HTML, say), decoded only when used."""

    __slots__ = ("_text", "js_decode", "literal")

    def __init__(self, literal: str):
        self.literal = literal
        self.js_decode = False
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = unescape_js(self.literal)
            if self.js_decode:
                self._text = js_decode(self._text)
        return self._text


def plain(value: Any) -> Any:
    """A LongString's text; any other value as it is."""
    return value.text() if isinstance(value, LongString) else value


# String literals as an unrolled loop: a 300 kB literal is one fast scan.
STRING = r"'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'" + "|" + r'"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'
STRING_LITERAL = re.compile(STRING)
TOKEN = re.compile(
    r"""\s*(?:(?://[^\n]*|/\*[\s\S]*?\*/)\s*)*
    (?:
        (?P<str>"""
    + STRING
    + r""")
      | (?P<num>\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_$][\w$]*)
      | (?P<op>===|!==|==|!=|<=|>=|\|\||&&|[-+*/%!<>?:,;(){}\[\].=])
    )""",
    re.X,
)
MAX_DEPTH = 40
LONG_STRING = 4096
MAX_TOKENS = 100_000
DECODERS = {"JsDecode", "htmlDecode", "String", "decodeURIComponent"}


def evaluate(source: str, position: int) -> Any:
    """The value of the JavaScript expression at position, or UNKNOWN."""
    try:
        return _Evaluator(source, position).expression()
    except (_Stop, RecursionError, ValueError, OverflowError):
        return UNKNOWN


class _Evaluator:
    """Recursive descent over the tokens at a position; `ahead` is the next token."""

    def __init__(self, source: str, position: int):
        self.source = source
        self.depth = 0
        self.tokens = 0
        self.ahead = self.scan(position)

    def scan(self, position: int) -> tuple[str, str, int]:
        match = TOKEN.match(self.source, position)
        if match is None:
            return ("end", "", position)
        kind = match.lastgroup or "end"
        return (kind, match.group(kind), match.end())

    def peek(self) -> tuple[str, str]:
        return self.ahead[0], self.ahead[1]

    def take(self) -> tuple[str, str]:
        kind, value, end = self.ahead
        if kind == "end":
            raise _Stop
        self.tokens += 1
        if self.tokens > MAX_TOKENS:
            raise _Stop
        self.ahead = self.scan(end)
        return kind, value

    def at(self, *ops: str) -> bool:
        return self.ahead[0] == "op" and self.ahead[1] in ops

    def expect(self, op: str) -> None:
        if not self.at(op):
            raise _Stop
        self.take()

    def expression(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Stop
        try:
            condition = self.either()
            if not self.at("?"):
                return condition
            self.take()
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return yes if truthy(condition) else no
        finally:
            self.depth -= 1

    def either(self) -> Any:
        value = self.both()
        while self.at("||"):
            self.take()
            other = self.both()
            if not truthy(value):
                value = other
        return value

    def both(self) -> Any:
        value = self.comparison()
        while self.at("&&"):
            self.take()
            other = self.comparison()
            value = other if truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.arithmetic()
        while self.at("===", "!==", "==", "!=", "<", ">", "<=", ">="):
            _, op = self.take()
            other = plain(self.arithmetic())
            value = plain(value)
            if value is UNKNOWN or other is UNKNOWN or op not in ("===", "!==", "==", "!="):
                value = UNKNOWN
            else:
                same = value == other if op in ("===", "!==") else str(value) == str(other)
                value = same if op in ("===", "==") else not same
        return value

    def arithmetic(self) -> Any:
        value = self.unary()
        while self.at("+", "-", "*", "/", "%"):
            _, op = self.take()
            other = plain(self.unary())
            if op == "*" and type(other) is int and other == 1 and isinstance(value, str):
                continue  # '123' * 1: keep the digits as written
            value = plain(value)
            if op == "+" and isinstance(value, str) and isinstance(other, str):
                value = value + other
            elif (
                op in ("+", "-", "*")
                and type(value) in (int, float)
                and type(other) in (int, float)
                and abs(value) < 1e15
                and abs(other) < 1e15
            ):
                value = (
                    value + other if op == "+" else value - other if op == "-" else value * other
                )
            else:
                value = UNKNOWN
        return value

    def unary(self) -> Any:
        kind, value = self.peek()
        if kind == "op" and value in ("!", "-", "+"):
            self.take()
            operand = self.unary()
            if operand is UNKNOWN:
                return UNKNOWN
            if value == "!":
                return not truthy(operand)
            if type(operand) in (int, float):
                return -operand if value == "-" else operand
            return UNKNOWN
        if kind == "name" and value in ("typeof", "void"):
            self.take()
            self.unary()
            return UNKNOWN
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            literal = value[1:-1]
            return LongString(literal) if len(literal) > LONG_STRING else unescape_js(literal)
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "op":
            if value == "(":
                inner = self.expression()
                self.expect(")")
                return inner
            if value == "{":
                return self.object_literal()
            if value == "[":
                return self.array_literal()
            raise _Stop
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value in ("null", "undefined"):
                return None
            if value in ("function", "new", "class", "var", "let", "const", "return"):
                raise _Stop
            if value in DECODERS and self.at("("):
                arguments = self.call_arguments()
                argument = arguments[0] if arguments else UNKNOWN
                if value == "JsDecode" and isinstance(argument, LongString):
                    argument.js_decode = True
                    return argument
                if value == "decodeURIComponent":
                    argument = plain(argument)
                    return unquote(argument) if isinstance(argument, str) else UNKNOWN
                if value == "JsDecode" and isinstance(argument, str):
                    return js_decode(argument)
                return argument if isinstance(argument, (str, LongString)) else UNKNOWN
            return UNKNOWN
        raise _Stop

    def postfix(self, value: Any) -> Any:
        while True:
            if self.at("."):
                self.take()
                kind, member = self.take()
                if kind != "name":
                    raise _Stop
                if self.at("("):
                    self.call_arguments()
                    # '…'.html(false) decodes entities, done for every value at the end
                    keep = member == "html" and isinstance(value, (str, LongString))
                    value = value if keep else UNKNOWN
                else:
                    value = UNKNOWN
            elif self.at("["):
                self.take()
                self.expression()
                self.expect("]")
                value = UNKNOWN
            elif self.at("(") and value is UNKNOWN:
                self.call_arguments()
            else:
                return value

    def call_arguments(self) -> list[Any]:
        self.expect("(")
        arguments: list[Any] = []
        while not self.at(")"):
            arguments.append(self.expression())
            if not self.at(","):
                break
            self.take()
        self.expect(")")
        return arguments

    def object_literal(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while not self.at("}"):
            kind, key = self.take()
            if kind == "str":
                key = unescape_js(key[1:-1])
            elif kind not in ("name", "num"):
                raise _Stop
            if self.at(":"):
                self.take()
                result[key] = self.expression()
            elif self.at(",", "}"):
                result[key] = UNKNOWN
            else:
                raise _Stop
            if not self.at(","):
                break
            self.take()
        self.expect("}")
        return result

    def array_literal(self) -> list[Any]:
        result: list[Any] = []
        while not self.at("]"):
            result.append(self.expression())
            if not self.at(","):
                break
            self.take()
        self.expect("]")
        return result


def truthy(value: Any) -> bool:
    if value is UNKNOWN or value is None:
        return False
    if isinstance(value, (dict, list)):
        return True
    return bool(value)


JS_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{2})|u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|(\r\n|[\s\S]))"
)
JS_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
LINE_BREAKS = ("\n", "\r\n", "\r", "\u2028", "\u2029")
SURROGATE = re.compile("[\ud800-\udfff]")
JS_DECODE = (
    ("\\x5c", "\\"),
    ("\\x0d", "\r"),
    ("\\x22", '"'),
    ("\\x26", "&"),
    ("\\x27", "'"),
    ("\\x3c", "<"),
    ("\\x3e", ">"),
    ("\\x0a", "\n"),
)


def unescape_js(text: str) -> str:
    """The value of a JavaScript string literal's body: \\x26, \\u4e2d, \\', \\n …"""
    if "\\" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        hex2, braced, hex4, other = match.groups()
        if hex2:
            return chr(int(hex2, 16))
        code = braced or hex4
        if code:
            point = int(code, 16)
            return chr(point) if point <= 0x10FFFF else "\ufffd"
        if other in LINE_BREAKS:
            return ""
        return JS_SIMPLE.get(other, other)

    return _fix_surrogates(JS_ESCAPE.sub(replace, text))


def unescape_js_light(text: str) -> str:
    """Only \\xHH and \\uHHHH, for HTML attributes that carry JS-escaped text."""
    if "\\" not in text:
        return text
    decoded = re.sub(
        r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})",
        lambda m: chr(int(m.group(1) or m.group(2), 16)),
        text,
    )
    return _fix_surrogates(decoded)


def _fix_surrogates(text: str) -> str:
    """Join \\ud83d\\ude00 pairs into one character; lone halves become U+FFFD."""
    if SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def js_decode(text: str) -> str:
    """WeChat's JsDecode(): undo the \\xHH escapes left in an already-read string."""
    if "\\x" not in text:
        return text
    for escaped, plain in JS_DECODE:
        text = text.replace(escaped, plain)
    return text
