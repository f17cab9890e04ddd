"""A simulated official account on the fake WeChat: pages, albums, getappmsgext, getainfo.

Where the shapes come from (public code, read for the protocol only, nothing copied):

- `mp/appmsgalbum?action=getalbum` (`getalbum_resp.article_list`, `continue_flag`,
  `begin_msgid`/`begin_itemidx`): tests/fakewechat.py already, as learned for the album
  source; also shexiaobin/wechat-album-crawler, wechat_album_crawler.py (pages the album
  with `count=20` and takes every `album_id=(\\d+)` it finds in an article page).
- `mp/getappmsgext?__biz=…&mid=…&idx=…&f=json` answering `appmsg_album_extinfo` with
  `album_id_str`, `pre_article_link`/`pre_article_title`, `next_article_link`/
  `next_article_title`: a Node tool's lib/wechat.js ("getAppmsgExt", found in the code
  index under id 71583173394; the index does not name its repository) and the Go response
  struct of the same endpoint (index id 34131564356: `AppmsgAlbumExtinfo` with
  `next_article_link`, `pre_article_link`, `*_title`). An article in no album has no
  `appmsg_album_extinfo`.
- `mp/getainfo?f=json&__biz=…` POSTed as a form with `req={"url": [links without sn]}`,
  answered by `base_resp.ret` and `ainfos[]` of `{url, title}` for the links that exist:
  the same lib/wechat.js ("getArticleInfo", which reads mid and idx back out of each
  `ainfos[].url`). Links that do not exist are simply absent from `ainfos`.
- freq control is `base_resp.ret` 200013 as on every mp endpoint (harvester/sources/mp.py).

Failure answers on demand: `getainfo_mode` "empty" (every batch answers `ainfos: []`),
"freq" (ret 200013); `ext_mode` "empty" (no extinfo for any article), "freq"; a
verification page mid-chain is the fake's own `fault("/mp/getainfo", "verify", times=1)`.
"""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakewechat import ARTICLE_HOST, Call, FakeWeChat, album_item, long_link, make_article_html

FIRST_MID = 2247483650
FIRST_CT = 1735689600  # 2025-01-01 08:00 China time
MAX_BATCH = 50  # getainfo refuses bigger batches (ret -2), as an endpoint would
JSON = "application/json; charset=UTF-8"


@dataclass
class SimArticle:
    mid: int
    idx: int
    ct: int
    title: str
    albums: list[str] = field(default_factory=list)
    links_to: list[SimArticle] = field(default_factory=list)

    @property
    def sn(self) -> str:
        return f"{zlib.crc32(f'{self.mid}/{self.idx}'.encode()):08x}" * 4

    @property
    def short_id(self) -> str:
        return f"S{self.mid}x{self.idx}"


class SimAccount:
    """An account of mass sends (one mid each, idx 1..n), some articles in albums."""

    def __init__(self, biz: str, name: str = "模拟账号") -> None:
        self.biz = biz
        self.name = name
        self.articles: list[SimArticle] = []  # oldest first
        self.albums: dict[str, str] = {}  # album_id -> title
        self.getainfo_mode = "ok"
        self.ext_mode = "ok"
        self.calls: Counter[str] = Counter()
        self.fake: FakeWeChat | None = None

    # -- building

    @classmethod
    def generate(
        cls,
        biz: str,
        *,
        sends: int = 120,
        articles: int = 300,
        albums: int = 4,
        in_albums: int = 240,
        seed: int = 7,
    ) -> SimAccount:
        """`articles` over `sends` sends (1-4 each, mids with gaps), `in_albums` of them in
        `albums` overlapping albums, the rest in none."""
        rnd = random.Random(seed)
        account = cls(biz)
        counts = [1] * sends
        while sum(counts) < articles:
            n = rnd.randrange(sends)
            if counts[n] < 4:
                counts[n] += 1
        mid, ct = FIRST_MID, FIRST_CT
        for send, count in enumerate(counts):
            mid += 1 if rnd.random() < 0.7 else rnd.randint(2, 4)
            ct += 86400 + rnd.randrange(3600)
            for idx in range(1, count + 1):
                account.articles.append(SimArticle(mid, idx, ct, f"第{send + 1}次群发第{idx}篇"))
        ids = [str(3000000000000000000 + n * 1111) for n in range(albums)]
        account.albums = {album_id: f"合集{n + 1}" for n, album_id in enumerate(ids)}
        chosen = rnd.sample(account.articles, in_albums)
        for number, article in enumerate(chosen):
            article.albums.append(ids[number % albums])
            if rnd.random() < 0.3:  # overlapping: some articles are in two albums
                other = ids[(number + 1 + rnd.randrange(albums - 1)) % albums]
                article.albums.append(other)
        for article in rnd.sample(account.articles, len(account.articles) // 10):
            article.links_to.append(rnd.choice(account.articles))
        return account

    def publish(self, count: int, *, album: str | None = None) -> list[SimArticle]:
        """One new mass send of `count` articles (in `album` if given); re-installed."""
        last = self.articles[-1]
        new = [
            SimArticle(last.mid + 1, idx, last.ct + 86400, f"新文章{last.mid + 1}-{idx}")
            for idx in range(1, count + 1)
        ]
        for article in new:
            if album:
                article.albums.append(album)
        self.articles += new
        if self.fake is not None:
            self.install(self.fake)
        return new

    # -- what the account looks like

    def link(self, article: SimArticle) -> str:
        return long_link(self.biz, article.mid, article.idx, article.sn)

    def find(self, mid: Any, idx: Any) -> SimArticle | None:
        for article in self.articles:
            if str(article.mid) == str(mid) and str(article.idx) == str(idx):
                return article
        return None

    def album_members(self, album_id: str) -> list[SimArticle]:
        """Newest first, as the album API lists them."""
        members = [a for a in self.articles if album_id in a.albums]
        return sorted(members, key=lambda a: (a.mid, a.idx), reverse=True)

    def article_keys(self) -> set[str]:
        return {f"{self.biz}:{a.mid}:{a.idx}" for a in self.articles}

    def page(self, article: SimArticle) -> str:
        body = f"<p>{article.title}的正文。</p>" + "".join(
            f'<p><a href="{self.link(other)}">{other.title}</a></p>' for other in article.links_to
        )
        page = make_article_html(
            article.title, self.name, self.biz, article.mid, article.idx, article.sn,
            article.ct, body,
        )  # fmt: skip
        tags = "".join(
            f'<a class="article-tag__item" href="https://{ARTICLE_HOST}/mp/appmsgalbum?'
            f"__biz={self.biz}&amp;action=getalbum&amp;album_id={album_id}#wechat_redirect"
            f'">#{self.albums.get(album_id, "合集")}</a>'
            for album_id in article.albums
        )
        script = "".join(
            f"<script>window.appmsg_album_info = {{ album_id: '{album_id}' }};</script>"
            for album_id in article.albums[:1]
        )
        return page.replace(
            '<div id="meta_content"', f'<div id="js_tags">{tags}</div>\n<div id="meta_content"'
        ).replace("</body>", f"{script}</body>")

    # -- serving it

    def install(self, fake: FakeWeChat) -> None:
        self.fake = fake
        for article in self.articles:
            fake.add_article(
                self.biz, article.mid, article.idx, article.sn, self.page(article),
                short_id=article.short_id,
            )  # fmt: skip
        for album_id, title in self.albums.items():
            items = [
                album_item(a.title, self.biz, a.mid, a.idx, a.sn, a.ct)
                for a in self.album_members(album_id)
            ]
            fake.add_album(self.biz, album_id, items, title=title)
        fake.add_handler("/mp/getappmsgext", self._getappmsgext)
        fake.add_handler("/mp/getainfo", self._getainfo)

    def _getappmsgext(self, call: Call) -> tuple[int, Any, str]:
        self.calls["getappmsgext"] += 1
        if self.ext_mode == "freq":
            return 200, {"base_resp": {"ret": 200013, "errmsg": "freq control"}}, JSON
        if call.query.get("__biz") != self.biz or call.query.get("f") != "json":
            return 200, {"base_resp": {"ret": -2, "errmsg": "invalid args"}}, JSON
        article = self.find(call.query.get("mid"), call.query.get("idx"))
        answer: dict[str, Any] = {"base_resp": {"ret": 0, "errmsg": "ok"}, "appmsgstat": {}}
        if article is None or not article.albums or self.ext_mode == "empty":
            return 200, answer, JSON
        album_id = article.albums[0]
        members = self.album_members(album_id)[::-1]  # oldest first: pre is older
        at = members.index(article)
        ext: dict[str, Any] = {"album_id_str": album_id, "title": self.albums[album_id]}
        if at > 0:
            ext["pre_article_link"] = self.link(members[at - 1]).replace("&", "&amp;")
            ext["pre_article_title"] = members[at - 1].title
        if at + 1 < len(members):
            ext["next_article_link"] = self.link(members[at + 1]).replace("&", "&amp;")
            ext["next_article_title"] = members[at + 1].title
        answer["appmsg_album_extinfo"] = ext
        return 200, answer, JSON

    def _getainfo(self, call: Call) -> tuple[int, Any, str]:
        self.calls["getainfo"] += 1
        if call.method != "POST":
            return 200, {"base_resp": {"ret": -1, "errmsg": "method"}}, JSON
        if self.getainfo_mode == "freq":
            return 200, {"base_resp": {"ret": 200013, "errmsg": "freq control"}}, JSON
        try:
            urls = json.loads(call.form().get("req", ""))["url"]
        except (ValueError, KeyError, TypeError):
            return 200, {"base_resp": {"ret": -2, "errmsg": "invalid args"}}, JSON
        if not isinstance(urls, list) or len(urls) > MAX_BATCH:
            return 200, {"base_resp": {"ret": -2, "errmsg": "invalid args"}}, JSON
        self.calls["getainfo_urls"] += len(urls)
        found = []
        for url in urls if self.getainfo_mode == "ok" else []:
            params = {k: v[0] for k, v in parse_qs(urlsplit(str(url)).query).items()}
            article = self.find(params.get("mid"), params.get("idx"))
            if params.get("__biz") == self.biz and article is not None:
                found.append({"url": self.link(article), "title": article.title})
        return 200, {"base_resp": {"ret": 0, "errmsg": "ok"}, "ainfos": found}, JSON
