"""Decoding a body to text as a browser would: BOM, declared charset, `<meta>`, UTF-8."""

from __future__ import annotations

import codecs
import re

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_SNIFF_BYTES = 16384
# Labels browsers decode with a wider codec than Python's of the same name.
_WIDER_CODEC = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
}


def _codec(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    if label in ("x-gbk", "gb_2312-80", "csgb2312", "chinese"):
        label = "gbk"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WIDER_CODEC.get(name, name)


def declared_charset(content_type: str | None) -> str | None:
    """The Python codec named by a Content-Type's charset parameter, if any and known."""
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return _codec(match.group(1)) if match else None


def sniff_charset(content: bytes) -> str | None:
    """The codec named by `<meta charset>` or `<meta http-equiv … charset=…>` near the top."""
    match = _META_CHARSET.search(content[:_SNIFF_BYTES])
    return _codec(match.group(1).decode("ascii")) if match else None


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_body(content: bytes, content_type: str | None) -> str:
    """Text of a body: BOM, else declared charset, else `<meta>` charset, else UTF-8.

    Undecodable bytes become U+FFFD rather than failing.
    """
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace")
    codec = declared_charset(content_type) or sniff_charset(content) or "utf-8"
    return content.decode(codec, errors="replace")
