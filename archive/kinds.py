"""The archive's words for what an article is and what became of it."""

ARTICLE_KINDS = frozenset({"article", "video", "picture", "text", "share"})
STATUSES = frozenset({"live", "deleted", "blocked", "unavailable", "expired"})
STATUS_KINDS = STATUSES - {"live"}  # pages that tell an archived article's fate
