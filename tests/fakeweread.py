"""WeRead's (微信读书) public-account article list on the fake WeChat's server.

Where the shape comes from (public code, read for the protocol only, nothing copied):

- shexiaobin/wechat-album-crawler, weread_mp.py: `GET https://weread.qq.com/web/mp/articles
  ?bookId=MP_WXS_<n>&offset=<groups so far>` with the browser's cookies; the answer is
  `{"reviews": [group, …]}`, 20 publish groups a page, each group `{createTime, subCount,
  subReviews: [{reviewId, review: {createTime, mpInfo: {originalId, title, …}}}]}`; the
  article is `https://mp.weixin.qq.com/s/<originalId>`; an empty `reviews` is the end;
  `errCode` -2041 (and -2010, -2012) means the login is no good; its README: n is the
  account's `__biz` decoded from base64 ("`__biz` 换成十进制就是…MP_WXS_<数字>").
- a we-mp-rss fork's WeRead client (code index id 66087522499): the same `reviews[]
  .subReviews[]` walk, `mpInfo.originalId/title/pic_url/content/time`, `errCode` -2041
  also inside an HTTP error's JSON body, and `MP_WXS_` + the base64-decoded fakeid.

Expiry on demand: `mode` "expired" answers 200 `{"errCode": -2041, "errMsg": …}`,
"401" answers HTTP 401 with `{"errCode": -2012, "errMsg": "登录超时"}`; a request without
the right cookie gets the -2041 answer too.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

from fakeaccount import SimAccount, SimArticle
from fakewechat import WEREAD_HOST, Call, FakeWeChat

PAGE_GROUPS = 20
JSON = "application/json;charset=UTF-8"


def book_id(biz: str) -> str:
    return "MP_WXS_" + base64.b64decode(biz).decode()


class FakeWeRead:
    """Serves `/web/mp/articles` for the accounts added, to requests with `cookie`."""

    def __init__(self, cookie: str = "wr_vid=1; wr_skey=fresh") -> None:
        self.cookie = cookie
        self.mode = "ok"
        self.books: dict[str, SimAccount] = {}
        self.calls: Counter[str] = Counter()

    def add(self, account: SimAccount) -> str:
        book = book_id(account.biz)
        self.books[book] = account
        return book

    def install(self, fake: FakeWeChat) -> None:
        fake.add_handler("/web/mp/articles", self._articles, host=WEREAD_HOST)

    def _articles(self, call: Call) -> tuple[int, Any, str]:
        self.calls["articles"] += 1
        if self.mode == "401":
            return 401, {"errCode": -2012, "errMsg": "登录超时"}, JSON
        if self.mode == "expired" or self.cookie not in call.headers.get("cookie", ""):
            return 200, {"errCode": -2041, "errMsg": "无权限"}, JSON
        account = self.books.get(call.query.get("bookId", ""))
        if account is None:
            return 200, {"errCode": -2003, "errMsg": "参数错误"}, JSON
        try:
            offset = int(call.query.get("offset", "0"))
        except ValueError:
            offset = 0
        groups = _groups(account)[offset : offset + PAGE_GROUPS]
        return 200, {"reviews": [_group(call.query["bookId"], g) for g in groups]}, JSON


def _groups(account: SimAccount) -> list[list[SimArticle]]:
    """The account's sends, newest first."""
    sends: dict[int, list[SimArticle]] = {}
    for article in account.articles:
        sends.setdefault(article.mid, []).append(article)
    return [sends[mid] for mid in sorted(sends, reverse=True)]


def _group(book: str, send: list[SimArticle]) -> dict[str, Any]:
    return {
        "createTime": send[0].ct,
        "subCount": len(send),
        "subReviews": [
            {
                "reviewId": f"{book}_{a.mid}_{a.idx}",
                "review": {
                    "createTime": a.ct,
                    "mpInfo": {
                        "originalId": a.short_id,
                        "title": a.title[:20],
                        "pic_url": "",
                        "content": "",
                        "time": a.ct,
                    },
                },
            }
            for a in send
        ],
    }
