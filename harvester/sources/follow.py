"""Links from one article's body to other articles, for `follow_links = true` (depth 1).

Pure: HTML in, links out. Which links are kept:

- long links (biz known) when `same_account_only` is False, or their biz is `from_biz`;
- short links (`/s/<id>`) and temporary links: their account is unknown until fetched,
  so they are kept (a link is dropped only when it provably belongs to another account).
  The harvest should check the fetched page's biz before archiving one of these under
  `same_account_only`; the cost is one fetch per such link, and authors link their own
  articles by short link often enough that dropping them would lose real follow-ups;
- with `from_biz` None nothing can be proven foreign, so every link is kept.

The article's own link (WeChat bodies link to themselves in share cards) is not removed
here: the harvest already knows that key. Order is first appearance, each article once.
"""

from __future__ import annotations

from harvester.links import ArticleLink, find_article_links


def followed_links(
    body_html: str, *, from_biz: str | None, same_account_only: bool = True
) -> list[ArticleLink]:
    """Article links in `body_html` worth queueing, per the rules above."""
    links = find_article_links(body_html)
    if not same_account_only or from_biz is None:
        return links
    return [link for link in links if link.biz is None or link.biz == from_biz]
