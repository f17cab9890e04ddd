"""WeChat embeds (video, audio, music, account cards, channel videos, mini programs, votes,
products) become one line each, with a link wherever the embed carries one: the converter's
rules for them, kept apart as a mixin.

An embed's details are kept where a reader of the Markdown meets them without text the page
does not show: a video with a cover is its cover image linked to the video (the preclean's
`video_covers`, through `iframe_target`), an account card's signature is its link's title.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

from harvester.markdown.links import absolute, link
from harvester.markdown.sentinels import LS
from harvester.markdown.text import brackets, clean_text, escape_text


def iframe_target(src: str, classes: str) -> tuple[str, str] | None:
    """An iframe's label and link (`src` its data-src or src as written): a vote, or a video
    (a Tencent Video one at its page); None when it links nowhere on the web."""
    src = absolute(html.unescape(src))
    if not src.startswith(("http://", "https://")):
        return None
    if "vote" in classes or "appmsgvote" in src:
        return "投票", src
    parts = urlsplit(src)
    query = parse_qs(parts.query)
    if parts.hostname and parts.hostname.endswith("v.qq.com") and query.get("vid"):
        vid = query["vid"][0]
        if re.fullmatch(r"[A-Za-z0-9]+", vid):
            src = f"https://v.qq.com/x/page/{vid}.html"
    return "视频", src


class EmbedRules:
    """The converter's rules for WeChat embeds, found by name as markdownify finds its own;
    listed before MarkdownConverter in Converter's bases, so they win over its convert_video."""

    def _embed_line(self, label: str, url: str | None, parent_tags, title: str = "") -> str:
        label = brackets(escape_text(clean_text(label).strip(), link=bool(url)))
        if not label:
            return ""
        text = link(label, url, clean_text(title)) if url else label
        if "_inline" in parent_tags:
            return " " + text + " "
        return "\n\n" + LS + text + "\n\n"

    def convert_iframe(self, el, text, parent_tags):
        target = iframe_target(el.get("data-src") or el.get("src") or "", _classes(el))
        return "" if target is None else self._embed_line(*target, parent_tags)

    def convert_video(self, el, text, parent_tags):
        return self._media_line("视频", el, text, parent_tags)

    def convert_audio(self, el, text, parent_tags):
        return self._media_line("音频", el, text, parent_tags)

    def _media_line(self, label, el, text, parent_tags):
        """`<video>`/`<audio>` (src or a `<source>`) as a linked line; its text without one."""
        src = el.get("src") or ""
        if not src:
            source = el.find("source")
            src = source.get("src") if source is not None else ""
        src = absolute(src or "")
        if not src.startswith(("http://", "https://")):
            return text
        return self._embed_line(label, src, parent_tags)

    def convert_mpvoice(self, el, text, parent_tags):
        name = html.unescape(el.get("name") or "")
        fileid = (el.get("voice_encode_fileid") or "").strip()
        url = None
        if fileid:
            url = "https://res.wx.qq.com/voice/getvoice?mediaid=" + quote(fileid, safe="=")
        return self._embed_line(f"音频：{name}" if name.strip() else "音频", url, parent_tags)

    convert_mp_common_mpaudio = convert_mpvoice

    def convert_qqmusic(self, el, text, parent_tags):
        name = el.get("music_name") or el.get("musicname") or el.get("data-music_name") or ""
        singer = el.get("singer") or el.get("data-singer") or ""
        name, singer = html.unescape(unquote(name)), html.unescape(unquote(singer))
        mid = (el.get("mid") or el.get("otherid") or "").strip()
        label = "音乐：" + " – ".join(s for s in (name.strip(), singer.strip()) if s)
        if mid and re.fullmatch(r"[A-Za-z0-9]+", mid):
            url = f"https://y.qq.com/n/ryqq/songDetail/{mid}"
        else:
            terms = " ".join(s for s in (name.strip(), singer.strip()) if s)
            url = "https://y.qq.com/n/ryqq/search?w=" + quote(terms) if terms else None
        return self._embed_line(label if label != "音乐：" else "音乐", url, parent_tags)

    convert_mp_common_qqmusic = convert_qqmusic
    convert_mp_common_clmusic = convert_qqmusic

    def convert_mp_common_profile(self, el, text, parent_tags):
        nickname = html.unescape(el.get("data-nickname") or "").strip()
        biz = (el.get("data-id") or "").strip()
        url = None
        if biz and re.fullmatch(r"[A-Za-z0-9+/=_-]+", biz):
            url = f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={biz}#wechat_redirect"
        signature = html.unescape(el.get("data-signature") or "")
        label = f"公众号：{nickname}" if nickname else "公众号"
        return self._embed_line(label, url, parent_tags, title=signature)

    convert_mpprofile = convert_mp_common_profile

    def convert_mpvideosnap(self, el, text, parent_tags):
        nickname = html.unescape(el.get("data-nickname") or "").strip()
        desc = html.unescape(el.get("data-desc") or "").strip()
        intro = html.unescape(el.get("data-intro") or "").strip()
        live = (el.get("data-type") or "") == "live"
        # A live notice's title is its intro (its desc only says when it starts).
        details = (nickname, intro or desc) if live else (nickname, desc or intro)
        label = ("视频号直播：" if live else "视频号：") + " – ".join(s for s in details if s)
        url = absolute(html.unescape(el.get("data-url") or ""))
        if not url.startswith(("http://", "https://")):
            url = None
        return self._embed_line(label, url, parent_tags)

    convert_mp_common_videosnap = convert_mpvideosnap

    def convert_mp_common_miniprogram(self, el, text, parent_tags):
        title = html.unescape(el.get("data-miniprogram-title") or "").strip()
        nickname = html.unescape(el.get("data-miniprogram-nickname") or "").strip()
        label = "小程序：" + " – ".join(s for s in (nickname, title) if s)
        return self._embed_line(label, None, parent_tags)

    convert_mp_miniprogram = convert_mp_common_miniprogram

    def convert_mp_common_vote(self, el, text, parent_tags):
        title = ""
        try:
            subject = json.loads(el.get("data-votesubject") or "[]")
            if subject and isinstance(subject, list) and isinstance(subject[0], dict):
                title = str(subject[0].get("title") or "")
        except ValueError:
            pass
        return self._embed_line(
            f"投票：{title.strip()}" if title.strip() else "投票", None, parent_tags
        )

    def convert_mp_common_product(self, el, text, parent_tags):
        title = html.unescape(el.get("data-title") or "").strip()
        return self._embed_line(f"商品：{title}" if title else "", None, parent_tags)


def _classes(el) -> str:
    classes = el.get("class") or []
    return classes if isinstance(classes, str) else " ".join(classes)
