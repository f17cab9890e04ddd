"""WeRead's id of an official account, `MP_WXS_<n>`, and the account's biz: one mapping.

WeRead (微信读书) lists an account as the "book" `MP_WXS_<n>`, where n is the number the
account's `__biz` holds: the biz is the base64 of n's decimal digits (`MzkxMTAwMDAwMQ==` is
base64 of "3911000001", so its book is `MP_WXS_3911000001`). The mapping is pure and exact
both ways, so links from WeRead, and from feeds that name accounts by book id (wewe-rss,
we-mp-rss), are attributed to their account before any page is fetched.
"""

from __future__ import annotations

import base64
import binascii
import re

_BOOK_ID = re.compile(r"MP_WXS_([0-9]{1,20})")


def book_id_of(biz: str) -> str | None:
    """`MP_WXS_<n>` for a biz, or None when the biz does not hold a number."""
    text = biz.strip()
    try:
        digits = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return f"MP_WXS_{digits}" if digits.isdigit() else None


def biz_of_book(book_id: str) -> str | None:
    """The biz of `MP_WXS_<n>`, or None when `book_id` is not one."""
    found = _BOOK_ID.fullmatch(book_id.strip())
    return base64.b64encode(found.group(1).encode("ascii")).decode("ascii") if found else None


def book_id_in(text: str) -> str | None:
    """The first `MP_WXS_<n>` inside `text` (a feed's URL or an item's id), if any."""
    found = _BOOK_ID.search(text)
    return found.group(0) if found else None
