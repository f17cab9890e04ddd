"""A fake WeChat on loopback, for the tests and the demo.

One `ThreadingHTTPServer` plays every WeChat host: the program reaches it through
`HARVESTER_RELAY` (each host mapped to `base_url`), and `X-Forwarded-Host` says which host
a request was meant for (without it, the path decides). It serves

- article pages: long links `/s?__biz=…&mid=…&idx=…&sn=…` and short links `/s/<id>`
  (the page itself, or a 302 to the long link) from `add_article`;
- images at mmbiz-style paths (real PNG/JPEG/GIF/WebP made with Pillow) from `add_image`,
  and mmbiz's "not allowed" placeholder to a foreign Referer;
- album JSON `/mp/appmsgalbum?action=getalbum&…&f=json`, paged, from `add_album`;
- any fixed body at a path from `add_route`, and answers computed per request (GET or
  POST) from `add_handler` (tests/fakeaccount.py and tests/fakeweread.py use it);
- faults on demand (`fault`), added latency (`latency`), and a request log (`requests`).

Standard library and Pillow only; it does not import the program (a fake that shared
the program's code would share its mistakes). Run it by hand for the demo:

    python tests/fakewechat.py --port 8001 --articles DIR
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import html
import io
import json
import random
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlencode, urlsplit

ARTICLE_HOST = "mp.weixin.qq.com"
IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn", "mmecoa.qpic.cn", "mpvideo.qpic.cn")
WECHAT_HOSTS = (ARTICLE_HOST, *IMAGE_HOSTS, "res.wx.qq.com")
WEREAD_HOST = "weread.qq.com"
RELAYED_HOSTS = (*WECHAT_HOSTS, WEREAD_HOST)

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}

NOTICES = {
    "deleted": "该内容已被发布者删除",
    "blocked": "此内容因违规无法查看",
    "unavailable": "该内容暂时无法查看",
    "expired": "链接已过期",
}
FAULT_KINDS = frozenset(
    {
        "verify",
        "slow",
        "drop",
        "truncate",
        "429",
        "html_image",
        "oversize",
        "redirect",
        "trickle_headers",
        "trickle_body",
    }
    | set(NOTICES)
)

# --------------------------------------------------------------------------- page makers


def _js(text: str) -> str:
    """`text` as the inside of a JavaScript string literal, safe in a <script>."""
    out = []
    for ch in text:
        if ch in "\\'\"<>&" or ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def long_link(biz: str, mid: str | int, idx: str | int, sn: str, *, chksm: str = "") -> str:
    """The long link as WeChat writes it in pages and album JSON (http, chksm, #rd)."""
    query = f"__biz={biz}&mid={mid}&idx={idx}&sn={sn}"
    if chksm:
        query += f"&chksm={chksm}"
    return f"http://{ARTICLE_HOST}/s?{query}#rd"


def _chksm(biz: str, mid: Any, idx: Any) -> str:
    seed = f"{biz}{mid}{idx}".encode()
    return "".join(f"{zlib.crc32(seed + bytes([i])):08x}" for i in range(4))


def image_tag(url: str, *, width: int = 640, ratio: float = 0.75, alt: str = "") -> str:
    """A lazy WeChat image: `data-src` and no `src`."""
    fmt = re.search(r"wx_fmt=(\w+)", url)
    data_type = fmt.group(1) if fmt else "png"
    alt_attr = f' alt="{html.escape(alt)}"' if alt else ""
    return (
        f'<img class="rich_pages wxw-img" data-ratio="{ratio}" data-s="300,640" '
        f'data-src="{html.escape(url)}" data-type="{data_type}" data-w="{width}"{alt_attr} '
        'style="width: 100% !important;height: auto !important;visibility: visible !important;" />'
    )


def make_article_html(
    title: str,
    account: str,
    biz: str,
    mid: str | int,
    idx: str | int,
    sn: str,
    ct: int,
    body_html: str,
    images: Iterable[str] = (),
    *,
    author: str = "",
    digest: str = "",
    user_name: str = "gh_0123456789ab",
    cover: str | None = None,
    copyright_stat: int = 0,
    item_show_type: int = 0,
    source_url: str = "",
) -> str:
    """A page shaped like a served mp.weixin.qq.com article (2020s template, trimmed).

    Metadata sits where the real page keeps it: `var biz = "" || "…"` and friends,
    `var msg_title = '…'.html(false)`, `var nickname`, `var ct`, `var user_name`,
    `var msg_cdn_url`, `og:` meta. `images` (URLs) are appended to `body_html` as lazy
    `<img data-src>`; the first one is the cover unless `cover` is given. The body div
    is hidden until the page's script runs, as on the real site; `#publish_time` is empty.
    """
    images = list(images)
    cover_url = cover if cover is not None else (images[0] if images else "")
    link = long_link(biz, mid, idx, sn, chksm=_chksm(biz, mid, idx))
    body = body_html + "".join(f"<p>{image_tag(u)}</p>" for u in images)
    e = html.escape
    author_span = (
        f'<span class="rich_media_meta rich_media_meta_text">{e(author)}</span>' if author else ""
    )
    original = (
        '<span id="copyright_logo" class="rich_media_meta meta_original_tag">原创</span>'
        if copyright_stat == 1
        else ""
    )
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport"
 content="width=device-width,initial-scale=1.0,maximum-scale=1.0,user-scalable=0,viewport-fit=cover">
<meta name="description" content="{e(digest)}" />
<meta name="author" content="{e(author)}" />
<meta property="og:title" content="{e(title)}" />
<meta property="og:url" content="{e(link)}" />
<meta property="og:image" content="{e(cover_url)}" />
<meta property="og:description" content="{e(digest)}" />
<meta property="og:site_name" content="微信公众平台" />
<meta property="og:type" content="article" />
<meta property="og:article:author" content="{e(author or account)}" />
<meta property="twitter:card" content="summary" />
<meta property="twitter:title" content="{e(title)}" />
<title>{e(title)}</title>
<link rel="stylesheet" href="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/assets/appmsg.css">
</head>
<body id="activity-detail"
 class="zh_CN wx_wap_page mm_appmsg comment_feature discuss_tab appmsg_skin_default">
<div id="js_article" class="rich_media">
  <div class="rich_media_inner">
    <div id="page-content" class="rich_media_area_primary">
      <div class="rich_media_area_primary_inner">
        <div id="img-content" class="rich_media_wrp">
          <h1 class="rich_media_title " id="activity-name">
            {e(title)}
          </h1>
          <div id="meta_content" class="rich_media_meta_list">
            {original}
            {author_span}
            <span class="rich_media_meta rich_media_meta_nickname" id="profileBt">
              <a href="javascript:void(0);"
 class="wx_tap_link js_wx_tap_highlight weui-wa-hotarea" id="js_name">
                {e(account)}
              </a>
            </span>
            <em id="publish_time" class="rich_media_meta rich_media_meta_text"></em>
          </div>
          <div class="rich_media_content js_underline_content autoTypeSetting24psection"
 id="js_content" style="visibility: hidden;">
{body}
          </div>
        </div>
      </div>
    </div>
  </div>
</div>
<script type="text/javascript" nonce="1234567890">
    var biz = "" || "{_js(biz)}";
    var sn = "" || "{_js(sn)}" || "";
    var mid = "" || "{_js(str(mid))}" || "";
    var idx = "" || "{_js(str(idx))}" || "";
</script>
<script type="text/javascript" nonce="1234567890">
    var item_show_type = "{item_show_type}";
    var real_item_show_type = "{item_show_type}";
    var nickname = "{_js(account)}";
    var ct = "{int(ct)}";
    var create_time = "{int(ct)}" * 1;
    var user_name = "{_js(user_name)}";
    var msg_title = '{_js(title)}'.html(false);
    var msg_desc = htmlDecode("{_js(digest)}");
    var msg_cdn_url = "{_js(cover_url)}";
    var msg_link = "{_js(link)}";
    var msg_source_url = '{_js(source_url)}';
    var copyright_stat = "{int(copyright_stat)}" * 1;
    var author = "{_js(author)}";
</script>
<script type="text/javascript" src="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/appmsg.js"></script>
</body>
</html>
"""


def notice_html(text: str) -> str:
    """A WeChat notice page (deleted, blocked, …) as served instead of an article."""
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1.0,user-scalable=0">
<title></title>
</head>
<body class="zh_CN">
<div class="weui-msg">
  <div class="weui-msg__icon-area"><i class="weui-icon-warn weui-icon_msg"></i></div>
  <div class="weui-msg__text-area">
    <div class="weui-msg__title warn">{html.escape(text)}</div>
  </div>
</div>
</body>
</html>
"""


VERIFY_HTML = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1.0,user-scalable=0">
<title>环境异常</title>
<link rel="stylesheet"
 href="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/secitptpage/verify.html.css">
<script type="text/javascript" src="https://turing.captcha.qcloud.com/TCaptcha.js"></script>
</head>
<body>
<div class="weui-msg">
  <div class="weui-msg__text-area">
    <h2 class="weui-msg__title">环境异常</h2>
    <p class="weui-msg__desc">当前环境异常，完成验证后即可继续访问。</p>
  </div>
  <div class="weui-msg__opr-area">
    <a id="js_verify" class="weui-btn weui-btn_primary">去验证</a>
  </div>
</div>
<script type="text/javascript">
  var cgiData = {"verify_page": "secitptpage/verify.html", "ret": 200013};
</script>
</body>
</html>
"""

ERROR_PARAMS_HTML = notice_html("参数错误")


# --------------------------------------------------------------------------- images


def make_image(
    fmt: str = "png",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] | None = None,
    seed: int = 0,
) -> bytes:
    """Real image bytes (png, jpeg, gif or webp); distinct for distinct seed/size/color.

    The same arguments always give the same bytes.
    """
    from PIL import Image, ImageDraw

    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in _PIL_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    rnd = random.Random(seed)
    base = color or (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
    img = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(3):
        x0, y0 = rnd.randrange(max(1, w)), rnd.randrange(max(1, h))
        x1, y1 = x0 + rnd.randrange(1, max(2, w // 2)), y0 + rnd.randrange(1, max(2, h // 2))
        fill = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    out = io.BytesIO()
    if fmt == "gif":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE)
    img.save(out, _PIL_FORMATS[fmt], **({"quality": 85} if fmt in ("jpeg", "webp") else {}))
    return out.getvalue()


_placeholder: bytes | None = None


def placeholder_png() -> bytes:
    """mmbiz's stand-in for a foreign Referer ("此图片来自微信公众平台 未经允许不可引用")."""
    global _placeholder
    if _placeholder is None:
        _placeholder = make_image("png", (150, 100), (238, 238, 238), seed=-1)
    return _placeholder


def _fmt_from_query(query: str) -> str:
    fmt = parse_qs(query).get("wx_fmt", ["png"])[0].lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    return fmt if fmt in _PIL_FORMATS else "png"


# --------------------------------------------------------------------------- album


def album_item(
    title: str,
    biz: str,
    mid: str | int,
    idx: str | int,
    sn: str,
    create_time: int,
    cover: str = "",
) -> dict[str, str]:
    """One `article_list` entry as the album JSON has it (strings throughout)."""
    return {
        "title": title,
        "url": long_link(biz, mid, idx, sn, chksm=_chksm(biz, mid, idx)),
        "create_time": str(int(create_time)),
        "msgid": str(mid),
        "itemidx": str(idx),
        "cover_img_1_1": cover,
    }


# --------------------------------------------------------------------------- server state


class LoggedRequest(NamedTuple):
    method: str
    path: str  # path with query, as received
    headers: dict[str, str]  # names in lower case
    body: bytes = b""  # a POST's body


@dataclass(frozen=True)
class Call:
    """What a handler from `add_handler` is given: one request, its query parsed."""

    method: str
    host: str | None
    path: str
    query: dict[str, str]  # first value of each parameter
    body: bytes
    headers: dict[str, str]

    def form(self) -> dict[str, str]:
        """A url-encoded POST body, first value of each field."""
        fields = parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {k: v[0] for k, v in fields.items()}


# A handler's answer: (status, body, content type); a dict or list body is sent as JSON.
Answer = tuple[int, Any, str]
Handler = Callable[[Call], Answer]


@dataclass
class Fault:
    """A fault armed by `FakeWeChat.fault`; `hits` counts the requests it answered."""

    host: str | None
    prefix: str | None
    kind: str
    remaining: int | None
    params: dict[str, Any]
    hits: int = 0

    def matches(self, host: str | None, path: str) -> bool:
        if self.host is not None and host is not None and self.host != host:
            return False
        if self.kind == "verify" and path.startswith("/mp/wappoc_appmsgcaptcha"):
            return False  # the verification page itself is never redirected
        return self.prefix is None or path.startswith(self.prefix)


@dataclass
class _Article:
    biz: str
    mid: str
    idx: str
    sn: str
    html: bytes
    short_id: str | None
    short_redirect: bool


@dataclass
class _Route:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class _Album:
    items: list[dict[str, Any]]
    title: str
    single_as_object: bool


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeWeChat

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the FQDN, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer (size caps, killed processes) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeWeChat:
    """The fake server. `start()` (or `with`) runs it; `base_url` is where it listens."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.latency = 0.0  # seconds added before every answer
        self.auto_images = False  # serve a made-up image for any unknown image path
        self.absolute_redirects = True  # Location https://mp.weixin.qq.com/… (else "/…")
        self.verbose = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._articles: dict[tuple[str, str, str], _Article] = {}
        self._short: dict[str, _Article] = {}
        self._images: dict[tuple[str, str], tuple[bytes, str]] = {}
        self._routes: dict[tuple[str | None, str], _Route] = {}
        self._albums: dict[tuple[str, str], _Album] = {}
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._faults: list[Fault] = []
        self._log: list[tuple[LoggedRequest, float]] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self.oversize_sent: list[int] = []  # bytes written by each finished oversize answer
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted (keep-alive reuses one)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeWeChat:
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeWeChat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def relay(self) -> dict[str, str]:
        """{host: base_url} for every WeChat host (and WeRead's)."""
        return {host: self.base_url for host in RELAYED_HOSTS}

    def relay_env(self) -> str:
        """The HARVESTER_RELAY value sending every WeChat host (and WeRead's) here."""
        return ",".join(f"{host}={self.base_url}" for host in RELAYED_HOSTS)

    # -- registry

    def add_article(
        self,
        biz: str,
        mid: str | int,
        idx: str | int,
        sn: str,
        html: str | bytes,
        short_id: str | None = None,
        *,
        short_redirect: bool = False,
    ) -> str:
        """Serve `html` at the long link (and `/s/<short_id>`); returns the canonical URL.

        With `short_redirect`, the short link answers 302 to the long link instead of
        serving the page itself (the real site does both).
        """
        body = html.encode("utf-8") if isinstance(html, str) else html
        art = _Article(biz, str(mid), str(idx), sn, body, short_id, short_redirect)
        with self._lock:
            self._articles[(art.biz, art.mid, art.idx)] = art
            if short_id:
                self._short[short_id] = art
        return f"https://{ARTICLE_HOST}/s?" + urlencode(
            {"__biz": biz, "mid": art.mid, "idx": art.idx, "sn": sn}, safe="="
        )

    def add_image(
        self,
        path: str,
        fmt: str = "png",
        size: tuple[int, int] = (64, 48),
        color: tuple[int, int, int] | None = None,
        *,
        seed: int | None = None,
        host: str = "mmbiz.qpic.cn",
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Serve an image at `path` (or a full https://host/path URL); returns its bytes.

        Made with Pillow from fmt/size/color/seed (seed defaults to a hash of the path),
        unless `data` is given. The query string is ignored when matching, as on mmbiz.
        """
        host, path = _split_target(path, host)
        fmt = "jpeg" if fmt == "jpg" else fmt
        if data is None:
            data = make_image(fmt, size, color, zlib.crc32(path.encode()) if seed is None else seed)
        ctype = content_type or IMAGE_TYPES.get(fmt, "application/octet-stream")
        with self._lock:
            self._images[(host, path.split("?")[0])] = (data, ctype)
        return data

    def add_route(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        host: str | None = None,
    ) -> None:
        """Serve a fixed answer at `path` (exact path, with the query if `path` has one).

        `path` may be a full URL to tie it to a host; str bodies are UTF-8 encoded.
        """
        if path.startswith(("http://", "https://")):
            host, path = _split_target(path, host or ARTICLE_HOST)
        data = body.encode("utf-8") if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        with self._lock:
            self._routes[(host, path)] = _Route(status, data, all_headers)

    def add_handler(self, path: str, handler: Handler, *, host: str = ARTICLE_HOST) -> None:
        """Answer every request for `path` (no query) on `host` with `handler(call)`.

        Faults armed with `fault` still come first, as for every other path.
        """
        with self._lock:
            self._handlers[(host, path)] = handler

    def add_album(
        self,
        biz: str,
        album_id: str | int,
        items: Iterable[Mapping[str, Any]],
        *,
        title: str = "合集",
        single_as_object: bool = False,
    ) -> None:
        """Register an album: `items` newest first, each shaped like `album_item()`.

        `single_as_object` reproduces the API quirk of a one-item page whose
        `article_list` is an object instead of a list.
        """
        with self._lock:
            self._albums[(biz, str(album_id))] = _Album(
                [dict(i) for i in items], title, single_as_object
            )

    def fault(
        self, target: str | None, kind: str, times: int | None = None, **params: Any
    ) -> Fault:
        """Answer requests matching `target` with a fault, `times` times (None: always).

        `target`: None or "*" for every request; a path prefix ("/s", "/mmbiz_png/x")
        matched against path-with-query; or a full URL to match one host too. Kinds and
        their params:
          verify       302 to /mp/wappoc_appmsgcaptcha (the verification page)
          deleted, blocked, unavailable, expired   the WeChat notice page (200)
          slow         wait `seconds` (default 1.0), then answer normally
          drop         close the connection without answering
          truncate     declare the full Content-Length, send `fraction` (0.5) of the body
          429          HTTP 429 with Retry-After `retry_after` (default "1"; any string)
          "500", "404", any other status number   that status, small text body
          html_image   200 text/html where an image was expected
          oversize     a `size`-byte body (default 21 MB) streamed in chunks; with
                       `declare_length=True` a Content-Length, else chunked
          redirect     302 to `location` (status `status`)
          trickle_headers  the normal answer, its status line and headers sent one byte
                       every `interval` seconds (default 0.2), then the body at once
          trickle_body     the normal answer's headers at once, then its body one byte
                       every `interval` seconds
        Faults are tried in the order armed; the first live match answers.
        """
        if kind not in FAULT_KINDS and not kind.isdigit():
            raise ValueError(f"unknown fault kind {kind!r}")
        host: str | None = None
        prefix: str | None = target
        if target in (None, "*"):
            prefix = None
        elif target.startswith(("http://", "https://")):
            host, prefix = _split_target(target, ARTICLE_HOST)
        armed = Fault(host, prefix, kind, times, dict(params))
        with self._lock:
            self._faults.append(armed)
        return armed

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def load_articles(self, directory: str | Path) -> int:
        """Register every saved page (*.html, *.html.gz) in `directory`; returns how many.

        biz/mid/idx/sn are read from the page's script variables; the file's stem is
        also registered as a short-link id.
        """
        count = 0
        for path in sorted(Path(directory).iterdir()):
            if path.name.endswith(".html.gz"):
                data, stem = gzip.decompress(path.read_bytes()), path.name[: -len(".html.gz")]
            elif path.suffix == ".html":
                data, stem = path.read_bytes(), path.stem
            else:
                continue
            key = page_key(data.decode("utf-8", errors="replace"))
            if key is None:
                continue
            self.add_article(*key, data, short_id=stem)
            count += 1
        return count

    # -- log and stats

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request so far, in arrival order: (method, path_with_query, headers)."""
        with self._lock:
            return [entry for entry, _ in self._log]

    @property
    def request_times(self) -> list[float]:
        """time.monotonic() at the arrival of each request in `requests`."""
        with self._lock:
            return [at for _, at in self._log]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()
            self.max_in_flight = self._in_flight
            self.oversize_sent.clear()

    # -- request handling (called from handler threads)

    def _enter(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append((entry, time.monotonic()))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _take_fault(self, host: str | None, path: str) -> Fault | None:
        with self._lock:
            for armed in self._faults:
                if armed.remaining == 0 or not armed.matches(host, path):
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                armed.hits += 1
                return armed
        return None

    def _route(
        self,
        host: str | None,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        method: str = "GET",
    ) -> _Reply:
        bare, _, query = path.partition("?")
        with self._lock:
            handler = self._handlers.get((host or ARTICLE_HOST, bare))
        if handler is not None:
            params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            status, data, ctype = handler(Call(method, host, bare, params, body, dict(headers)))
            if isinstance(data, (dict, list)):
                data = json.dumps(data, ensure_ascii=False)
            payload = data.encode("utf-8") if isinstance(data, str) else data
            return _Reply(status, payload, {"Content-Type": ctype})
        with self._lock:
            route = self._routes.get((host, path)) or self._routes.get((host, bare))
            if route is None and host is not None:
                route = self._routes.get((None, path)) or self._routes.get((None, bare))
            if route is None and host is None:
                route = next((r for (_, p), r in self._routes.items() if p in (path, bare)), None)
        if route is not None:
            return _Reply(route.status, route.body, dict(route.headers))
        is_image_path = bare.startswith(("/mmbiz", "/sz_mmbiz")) or bare.startswith("/wx_fmt")
        if host in IMAGE_HOSTS or (host is None and is_image_path):
            return self._image(host or "mmbiz.qpic.cn", bare, query, headers)
        if host not in (None, ARTICLE_HOST):
            return _text(404, "not found")
        if bare == "/s":
            return self._long_link(query)
        if bare.startswith("/s/"):
            return self._short_link(bare[len("/s/") :])
        if bare == "/mp/appmsgalbum":
            return self._album(query)
        if bare == "/mp/wappoc_appmsgcaptcha":
            return _html(VERIFY_HTML)
        return _text(404, "not found")

    def _long_link(self, query: str) -> _Reply:
        params = parse_qs(query.replace("&amp;", "&"))
        biz, mid, idx = (params.get(k, [""])[0] for k in ("__biz", "mid", "idx"))
        sn = params.get("sn", [""])[0]
        if not (biz and mid and idx):
            return _html(ERROR_PARAMS_HTML)
        with self._lock:
            art = self._articles.get((biz, mid, idx))
        if art is None:
            return _text(404, "no such article")
        if sn and sn != art.sn:
            return _html(ERROR_PARAMS_HTML)
        return _article_reply(art)

    def _short_link(self, short_id: str) -> _Reply:
        with self._lock:
            art = self._short.get(short_id)
        if art is None:
            return _text(404, "no such short link")
        if not art.short_redirect:
            return _article_reply(art)
        query = urlencode(
            {"__biz": art.biz, "mid": art.mid, "idx": art.idx, "sn": art.sn}, safe="="
        )
        location = f"/s?{query}"
        if self.absolute_redirects:
            location = f"https://{ARTICLE_HOST}{location}"
        return _Reply(302, b"", {"Location": location, "Content-Type": "text/html"})

    def _image(self, host: str, bare: str, query: str, headers: Mapping[str, str]) -> _Reply:
        referer = headers.get("referer", "")
        if referer and not re.match(r"https?://mp\.weixin\.qq\.com(/|$)", referer):
            return _Reply(200, placeholder_png(), {"Content-Type": "image/png"})
        with self._lock:
            found = self._images.get((host, bare))
        if found is None and self.auto_images:
            fmt = _fmt_from_query(query)
            found = (make_image(fmt, (64, 48), None, zlib.crc32(bare.encode())), IMAGE_TYPES[fmt])
            with self._lock:
                self._images[(host, bare)] = found
        if found is None:
            return _text(404, "no such image")
        data, ctype = found
        return _Reply(200, data, {"Content-Type": ctype, "Cache-Control": "max-age=2592000"})

    def _album(self, query: str) -> _Reply:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        with self._lock:
            album = self._albums.get((params.get("__biz", ""), params.get("album_id", "")))
        if params.get("f") != "json":
            if album is None:
                return _text(404, "no such album")
            e = html.escape
            links = "".join(
                f'<li data-link="{e(i.get("url", ""))}">{e(i.get("title", ""))}</li>'
                for i in album.items
            )
            return _html(
                f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(album.title)}'
                f"</title></head><body><ul>{links}</ul></body></html>"
            )
        if params.get("action") != "getalbum" or album is None:
            return _json({"base_resp": {"ret": -2, "errmsg": "invalid args"}})
        try:
            count = max(1, int(params.get("count", "10")))
        except ValueError:
            count = 10
        items = album.items
        start = 0
        if "begin_msgid" in params:
            key = (params["begin_msgid"], params.get("begin_itemidx", "1"))
            positions = [
                n for n, i in enumerate(items) if (str(i["msgid"]), str(i["itemidx"])) == key
            ]
            start = positions[0] + 1 if positions else len(items)
        page = items[start : start + count]
        more = start + count < len(items)
        article_list: Any = page[0] if album.single_as_object and len(page) == 1 else page
        return _json(
            {
                "base_resp": {"ret": 0, "errmsg": "ok"},
                "getalbum_resp": {
                    "article_list": article_list,
                    "continue_flag": "1" if more else "0",
                    "base_info": {"title": album.title, "article_count": str(len(items))},
                },
            }
        )


def _split_target(target: str, default_host: str | None) -> tuple[Any, str]:
    """(host, path_with_query) of a full URL, or (default_host, target) for a path."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return (parts.hostname or default_host), (parts.path or "/") + (
            f"?{parts.query}" if parts.query else ""
        )
    return default_host, target


def page_key(page: str) -> tuple[str, str, str, str] | None:
    """(biz, mid, idx, sn) from a served page's `var biz = "" || "…"` style variables."""
    found = {}
    for name in ("biz", "mid", "idx", "sn"):
        match = re.search(rf'var {name}\s*=\s*(?:"[^"]*"\s*\|\|\s*)*"([^"]+)"', page) or re.search(
            rf'var {name}\s*=\s*"([^"]+)"', page
        )
        if not match:
            return None
        found[name] = match.group(1)
    return found["biz"], found["mid"], found["idx"], found["sn"]


def _text(status: int, text: str) -> _Reply:
    return _Reply(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _html(page: str, status: int = 200) -> _Reply:
    return _Reply(status, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def _json(data: Any) -> _Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return _Reply(200, body, {"Content-Type": "application/json; charset=UTF-8"})


def _article_reply(art: _Article) -> _Reply:
    return _Reply(
        200,
        art.html,
        {
            "Content-Type": "text/html; charset=UTF-8",
            "Set-Cookie": "rewardsn=; Path=/; Secure; HttpOnly",
            "Cache-Control": "no-cache, must-revalidate",
        },
    )


# --------------------------------------------------------------------------- handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body sit out a 40 ms delayed ACK
    server_version = "nginx"
    sys_version = ""
    timeout = 15  # idle keep-alive connections give up after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)
            self.server.fake.connections_opened += 1

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.fake._lock:
                self.server.fake._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            super().log_message(format, *args)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_POST(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = headers.get("content-length", "0")
        body = self.rfile.read(int(length)) if length.isdigit() and int(length) else b""
        fake._enter(LoggedRequest(self.command, self.path, headers, body))
        try:
            if fake.latency:
                fake._stopping.wait(fake.latency)
            host = headers.get("x-forwarded-host")
            host = host.split(":")[0].lower() if host else None
            armed = fake._take_fault(host, self.path)
            if armed is not None and armed.kind == "slow":
                fake._stopping.wait(float(armed.params.get("seconds", 1.0)))
                armed = None
            if armed is not None and self._special(armed, host, head, headers):
                return
            reply = (
                self._fault_reply(armed, host)
                if armed is not None
                else fake._route(host, self.path, headers, body, self.command)
            )
            self._send(reply, head=head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            fake._leave()

    def _special(
        self, armed: Fault, host: str | None, head: bool, headers: Mapping[str, str]
    ) -> bool:
        """Faults that do not fit one reply; True when the request was dealt with."""
        fake = self.server.fake
        if armed.kind == "drop":
            self.close_connection = True
            return True
        if armed.kind == "truncate":
            reply = fake._route(host, self.path, headers)
            if len(reply.body) < 2:
                reply = _text(200, "x" * 1000)
            sent = max(1, int(len(reply.body) * float(armed.params.get("fraction", 0.5))))
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not head:
                self.wfile.write(reply.body[:sent])
            self.wfile.flush()
            self.close_connection = True
            return True
        if armed.kind == "oversize":
            self._oversize(armed, head)
            return True
        if armed.kind in ("trickle_headers", "trickle_body"):
            self._trickle(armed, fake._route(host, self.path, headers), head)
            return True
        return False

    def _trickle(self, armed: Fault, reply: _Reply, head: bool) -> None:
        """Send `reply` a byte every `interval` seconds: its head, or its body."""
        interval = float(armed.params.get("interval", 0.2))
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        lines += [f"Content-Length: {len(reply.body)}", "Connection: close", "", ""]
        start = "\r\n".join(lines).encode("latin-1")
        body = b"" if head else reply.body
        slow, fast = (start, body) if armed.kind == "trickle_headers" else (body, start)
        stopping = self.server.fake._stopping
        self.close_connection = True
        try:
            if armed.kind == "trickle_body":
                self.wfile.write(fast)
            for index in range(len(slow)):
                self.wfile.write(slow[index : index + 1])
                self.wfile.flush()
                if stopping.wait(interval):
                    return
            if armed.kind == "trickle_headers":
                self.wfile.write(fast)
            self.wfile.flush()
        except OSError:
            return

    def _oversize(self, armed: Fault, head: bool) -> None:
        size = int(armed.params.get("size", 21 * 1024 * 1024))
        declare = bool(armed.params.get("declare_length", False))
        image = self.path.split("?")[0].startswith(("/mmbiz", "/sz_mmbiz"))
        self.send_response(200)
        self.send_header("Content-Type", "image/png" if image else "text/html; charset=utf-8")
        if declare:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        chunk = b"x" * 65536
        try:
            while sent < size and not head:
                piece = chunk[: min(len(chunk), size - sent)]
                if declare:
                    self.wfile.write(piece)
                else:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            if not declare and not head:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        finally:
            with self.server.fake._lock:
                self.server.fake.oversize_sent.append(sent)

    def _fault_reply(self, armed: Fault, host: str | None) -> _Reply:
        kind, params = armed.kind, armed.params
        if kind == "verify":
            target = f"https://{host or ARTICLE_HOST}{self.path}"
            location = (
                "/mp/wappoc_appmsgcaptcha?poc_token=HOdUMWijVrS6j4mcgSKhIJ5Q"
                f"&target_url={quote(target, safe='')}"
            )
            if self.server.fake.absolute_redirects:
                location = f"https://{ARTICLE_HOST}{location}"
            return _Reply(302, b"", {"Location": location, "Content-Type": "text/html"})
        if kind in NOTICES:
            return _html(notice_html(str(params.get("text", NOTICES[kind]))))
        if kind == "429":
            retry_after = str(params.get("retry_after", "1"))
            reply = _text(429, "Too Many Requests")
            reply.headers["Retry-After"] = retry_after
            return reply
        if kind == "html_image":
            return _html("<!DOCTYPE html><html><body><p>not an image</p></body></html>")
        if kind == "redirect":
            status = int(params.get("status", 302))
            return _Reply(status, b"", {"Location": str(params["location"])})
        return _text(int(kind), f"HTTP {kind}")

    def _send(self, reply: _Reply, *, head: bool) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake WeChat for tests and the demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--articles", type=Path, help="folder of saved article pages to serve")
    parser.add_argument(
        "--no-auto-images",
        action="store_true",
        help="answer 404 for images not registered (default: make one up)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    fake = FakeWeChat(args.host, args.port)
    fake.auto_images = not args.no_auto_images
    fake.latency = args.latency
    fake.verbose = args.verbose
    count = fake.load_articles(args.articles) if args.articles else 0
    fake.start()
    print(f"fake WeChat on {fake.base_url} ({count} articles)", flush=True)
    print(f"HARVESTER_RELAY={fake.relay_env()}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
