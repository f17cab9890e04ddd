"""Which URL schemes an archived article may link to and take images from: one list for
the converter that writes the Markdown and the reading page that shows it, so a link is a
link in both or in neither. Anything else (javascript:, vbscript:, data:, file:…) keeps
only its text."""

from __future__ import annotations

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel", "weixin"})
IMAGE_SCHEMES = frozenset({"http", "https"})
