"""What kind of page a served page is, decided from its markers and the post it carries.

- `verification`: the anti-bot page (captcha / "访问过于频繁"). Checked before anything else,
  so a verification page is never reported as deleted or as an article.
- `article` (item_show_type 0), `video` (5), `picture` (8), `text` (10), `share` (a repost:
  empty #js_content inside `.original_panel` plus `#js_share_source[data-url]`).
- `deleted`, `blocked`, `unavailable`, `expired`: WeChat's message pages. Their wording is only
  looked for in the message elements of pages that carry no article, so an article that
  mentions "链接已过期" in its text stays an article.

A page that is none of these raises `InputError("no WeChat article content found")`.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from harvester.errors import InputError
from harvester.page.bodies import Content

KIND_BY_SHOW_TYPE = {0: "article", 5: "video", 8: "picture", 10: "text"}
MESSAGE_PAGE_KINDS = frozenset({"verification", "deleted", "blocked", "unavailable", "expired"})

# Anywhere in the raw page: the captcha redirect target, the verify template, the captcha
# script, the code input. Only trusted when the page carries no article (an article may
# quote them).
VERIFY_STRONG = ("/mp/wappoc_appmsgcaptcha", "secitptpage/verify", "TCaptcha.js", "verifycode")
# The wording of the verification pages, also only on pages without an article; never a
# word such as 验证 alone (an account's 微信认证 page, a page about 短信验证 are no captcha).
VERIFY_WORDS = ("验证身份", "访问过于频繁")
VERIFY_TOGETHER = (("环境异常", "去验证"),)  # each pair only when both are there

MESSAGE_WORDING = {
    "deleted": ("已被发布者删除", "已被作者删除", "已删除", "deleted by the author", "deleted"),
    "blocked": ("违规", "涉嫌侵权", "被投诉", "屏蔽", "封禁", "violat(?:es|ion)", "been blocked"),
    "expired": ("链接已过期", "已过期", "link (?:has |is )?expired"),
    "unavailable": ("无法查看", "content is (?:temporarily )?unavailable", "unable to view"),
}  # in this order: "此内容因违规无法查看" is blocked, not unavailable
MESSAGE_KINDS = tuple(
    (kind, re.compile("|".join(words), re.I)) for kind, words in MESSAGE_WORDING.items()
)
# Why an article cannot be read, where WeChat's wording says: its kind and the reason
# (Page.reason), looked for before the plain kinds.
MESSAGE_REASONS = tuple(
    (kind, reason, re.compile(words))
    for kind, reason, words in (
        ("unavailable", "hidden by the author's privacy settings", "作者隐私设置"),
        ("blocked", "refuted by a third-party fact check", "辟谣"),
        ("unavailable", "sending failed", "发送失败"),
        ("blocked", "removed after complaints", "被投诉|由用户投诉|投诉.{0,12}(?:审核|删除)"),
        ("unavailable", "WeChat shows it only in its own app", "请在微信客户端打开"),
    )
)
PRIVATE = "hidden by the author's privacy settings"
# Headline elements first (their wording decides), then whole message blocks.
MESSAGE_HEADLINES = ".weui-msg__title, .global_error_msg, .mesg-block, .msg_title, title"
MESSAGE_BLOCKS = ".weui-msg, .weui_msg, .msg_box, .global_error_msg_wrp, .panel"


def page_kind(html: str, tree: LexborHTMLParser, content: Content) -> str:
    """The page's kind (see the module doc); a message page's kind is in MESSAGE_PAGE_KINDS."""
    real_article = (
        content.has_body
        or content.share_source is not None
        or (content.show_type in (8, 10) and bool(content.pictures or content.post_text))
    )
    if _is_verification(html, tree, real_article):
        return "verification"
    if not real_article:
        found = message_reason(tree)
        if found is not None:
            return found[0]
        if content.js_content is None:
            raise InputError("no WeChat article content found")
    if content.share_source is not None and not content.has_body:
        return "share"
    show_type = content.show_type if content.show_type is not None else 0
    return KIND_BY_SHOW_TYPE.get(show_type, "article")


def _is_verification(html: str, tree: LexborHTMLParser, real_article: bool) -> bool:
    if not real_article:
        return any(marker in html for marker in VERIFY_STRONG + VERIFY_WORDS) or any(
            all(word in html for word in pair) for pair in VERIFY_TOGETHER
        )
    # An article page never loads the captcha itself: only these structural signs count.
    for node in tree.css("script[src], link[href]"):
        ref = node.attributes.get("src") or node.attributes.get("href") or ""
        if "TCaptcha.js" in ref or "secitptpage/verify" in ref:
            return True
    return False


def message_reason(tree: LexborHTMLParser) -> tuple[str, str | None] | None:
    """(kind, reason) of a page without an article that says why it has none: the
    headlines decide before the whole message blocks; a reason only refines the kind the
    wording gives (a deleted page with a 投诉 button stays deleted)."""
    for selector in (MESSAGE_HEADLINES, MESSAGE_BLOCKS):
        text = "\n".join(node.text(deep=True) for node in tree.css(selector))
        plain = next((kind for kind, pattern in MESSAGE_KINDS if pattern.search(text)), None)
        for kind, reason, pattern in MESSAGE_REASONS:
            if plain in (None, kind) and pattern.search(text):
                return kind, reason
        if plain is not None:
            return plain, None
    if _is_private_shell(tree):
        return "unavailable", PRIVATE
    return None


def _is_private_shell(tree: LexborHTMLParser) -> bool:
    """2026's page for an article its author keeps private: an empty app mount point that a
    `private` script bundle fills in, and no article data at all."""
    mount = tree.css_first("body #app")
    if mount is None or mount.text(deep=True).strip() or next(mount.iter(), None) is not None:
        return False
    return any("private" in (node.attributes.get("src") or "") for node in tree.css("script[src]"))
