"""An archive full of hostile content, read in a real browser: no script runs.

Everything hostile is made here: article pages the fake WeChat serves (fetched), a seed
file and a Markdown file in the archive's own format (imported). They hide scripts every
way we know: `<script>` in titles, accounts, authors, digests, categories and bodies, a
title that closes `</title>`, `onerror=`, `onload=`, `ontoggle=` and `onfocus=` attributes,
`<svg onload>`, `<iframe srcdoc>`, `<iframe src="javascript:…">`, `<object>`, `<embed>`,
javascript: links in every obfuscated form, and SVG images carrying scripts. The archive is
exported to Hugo with `markup.goldmark.renderer.unsafe = true`, so the Markdown alone must
be safe, built with hugo and served on loopback; so is its Datasette (`harvester serve`).

Chromium opens every page of the built site, every image it publishes, and Datasette's
tables, rows, article, image and search pages, by navigation only (no click). Each payload
would ask a loopback recorder for `/hit/<name>`: none may arrive, no page may open a
dialog, and no link or frame on a page may carry a scheme that runs code.
"""

from __future__ import annotations

import functools
import html
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from archive_builder import HARVESTER, Server, running_server
from fakewechat import FakeWeChat, make_article_html
from test_browser import browser  # noqa: F401  (the fixture, shared)
from test_hugo_export import HUGO, run_hugo

if HUGO is None:
    pytest.skip("hugo is not installed (shutil.which)", allow_module_level=True)

BIZ = "MzkxMTAwMDAwMQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600
SETTLE_MS = 300  # after `load`: long enough for onerror, onfocus and ontoggle to fire
SAFE_PROTOCOLS = ("http:", "https:", "mailto:", "tel:", "weixin:")

Payload = Callable[[str], str]


# --------------------------------------------------------------------------- the recorder


class Recorder(ThreadingHTTPServer):
    """Where every payload reports: `/hit/<name>`, recorded, answered 204 to anyone."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordHit)

    def payload(self, name: str) -> str:
        """JavaScript that would report `name` here if it ever ran."""
        return f"fetch('//127.0.0.1:{self.server_address[1]}/hit/{name}')"


class _RecordHit(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serving(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------- hostile content


def js_links(js: Payload, prefix: str) -> dict[str, str]:
    """A javascript:, vbscript: or data: link in every disguise, as HTML attribute text."""
    code = html.escape(js(f"{prefix}-link"))
    script = html.escape(f"<script>{js(prefix + '-data-link')}</script>")
    return {
        "plain": f"javascript:{code}",
        "mixed-case": f"JaVaScRiPt:{code}",
        "leading-space": f"  javascript:{code}",
        "leading-control": f"&#x01;javascript:{code}",
        "tab-entity": f"java&#x09;script:{code}",
        "tab-named": f"java&Tab;script:{code}",
        "newline-entity": f"java&#x0A;script:{code}",
        "newline": f"java\nscript:{code}",
        "carriage-return": f"jav&#x0D;ascript:{code}",
        "colon-entity": f"javascript&#x3A;{code}",
        "colon-named": f"javascript&colon;{code}",
        "decimal-j": f"&#106;avascript:{code}",
        "padded-hex-j": f"&#x0006A;avascript:{code}",
        "vbscript": f"vbscript:{code}",
        "data-html": f"data:text/html,{script}",
        "data-base64": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    }


def hostile_html(js: Payload, prefix: str) -> str:
    """An article body (WeChat's HTML, or a seed's) made of every element that can run."""

    def attr(name: str) -> str:
        return html.escape(js(f"{prefix}-{name}"))

    links = "".join(
        f'<p><a href="{href}">链接{name}</a></p>' for name, href in js_links(js, prefix).items()
    )
    srcdoc = html.escape(f"<script>{js(prefix + '-srcdoc')}</script>")
    return (
        f"<p>正文开始。{prefix}</p>"
        f"<script>{js(prefix + '-script')}</script>"
        f'<p><img src="x" onerror="{attr("img-onerror")}">图后</p>'
        f'<svg onload="{attr("svg-onload")}"><circle r="4"></circle></svg>'
        f'<iframe srcdoc="{srcdoc}"></iframe>'
        f'<iframe src="javascript:{attr("iframe-src")}"></iframe>'
        f'<object data="javascript:{attr("object")}"></object>'
        f'<embed src="javascript:{attr("embed")}">'
        f'<details open ontoggle="{attr("ontoggle")}"><summary>摘要</summary>细节</details>'
        f'<p><input autofocus onfocus="{attr("onfocus")}"></p>'
        f'<math><mtext><table><mglyph><style><img src=x onerror="{attr("mxss")}">'
        f"</style></mglyph></table></mtext></math>"
        f"<p>&lt;script&gt;{html.escape(js(prefix + '-escaped-text'))}&lt;/script&gt;</p>"
        f"<p>&lt;img src=x onerror=&quot;{html.escape(js(prefix + '-escaped-img'))}&quot;&gt;</p>"
        f"{links}<p>正文结束。</p>"
    )


def hostile_markdown(js: Payload) -> str:
    """A body in the archive's own Markdown that carries raw HTML and script links."""
    code = js("md-link")
    srcdoc = html.escape(f"<script>{js('md-srcdoc')}</script>")
    return (
        "正文开始。\n\n"
        f"<script>{js('md-script')}</script>\n\n"
        f'<img src="x" onerror="{js("md-img-onerror")}">\n\n'
        f'<svg onload="{js("md-svg-onload")}"></svg>\n\n'
        f'<iframe srcdoc="{srcdoc}"></iframe>\n\n'
        f'<iframe src="javascript:{js("md-iframe-src")}"></iframe>\n\n'
        f'<details open ontoggle="{js("md-ontoggle")}"><summary>摘要</summary></details>\n\n'
        f'行内 <img src=x onerror="{js("md-inline-img")}"> 和 <b onmouseover="x">粗</b>\n\n'
        f"[plain](javascript:{code})\n\n"
        f"[angle](<javascript:{code}>)\n\n"
        f"[tab-entity](java&#x09;script:{code})\n\n"
        f"[colon-entity](javascript&#58;{code})\n\n"
        f"[reference][hostile]\n\n"
        f"<javascript:{code}>\n\n"
        f"![image](javascript:{code})\n\n"
        f"[hostile]: javascript:{code}\n\n"
        "正文结束。\n"
    )


SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>%s</script><rect width='10' height='10'/></svg>"
)
ENTITY_SVG = (
    b'<!DOCTYPE svg [<!ENTITY hidden "&#60;script&#62;%s&#60;/script&#62;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">&hidden;</svg>'
)
ONLOAD_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="%s" width="10" height="10"/>'
PLAIN_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="teal"/></svg>'
)


def svg_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_svg/{name}/640?wx_fmt=svg"


def serve_hostile_pages(fake: FakeWeChat, js: Payload) -> list[str]:
    """Two hostile articles on the fake WeChat, with SVG images; their links."""
    images = []
    for name, template in [("script", SCRIPT_SVG), ("entity", ENTITY_SVG), ("onload", ONLOAD_SVG)]:
        data = template % js(f"svg-{name}").encode() if b"%s" in template else template
        fake.add_image(svg_url(name), data=data, content_type="image/svg+xml")
        images.append(svg_url(name))
    fake.add_image(svg_url("plain"), data=PLAIN_SVG, content_type="image/svg+xml")
    images.append(svg_url("plain"))
    fake.add_image("https://mmbiz.qpic.cn/mmbiz_png/photo/640?wx_fmt=png")
    images.append("https://mmbiz.qpic.cn/mmbiz_png/photo/640?wx_fmt=png")
    first = make_article_html(
        f"</title><script>{js('page-title')}</script>标题",
        f"<script>{js('page-account')}</script>账号",
        BIZ,
        2001,
        1,
        SN,
        CT,
        hostile_html(js, "page"),
        images,
        author=f'"><img src=x onerror="{js("page-author")}">',
        digest=f'"><svg onload="{js("page-digest")}">',
    )
    second = make_article_html(
        f'<img src=x onerror="{js("second-title")}">',
        f"账号\"'><svg/onload={js('second-account')}>",
        BIZ,
        2002,
        1,
        SN,
        CT + 86400,
        f'<p>第二篇。<a href="java&#x09;script:{html.escape(js("second-link"))}">x</a></p>',
    )
    return [
        fake.add_article(BIZ, 2001, 1, SN, first),
        fake.add_article(BIZ, 2002, 1, SN, second),
    ]


def write_hostile_files(folder: Path, js: Payload) -> None:
    """A seed file and an archive-format Markdown file, both hostile."""
    folder.mkdir(parents=True, exist_ok=True)
    title = f"</title><script>{js('seed-title')}</script>种子"
    account = f"<script>{js('seed-account')}</script>"
    (folder / "seed.md").write_text(
        f"---\ntitle: {json.dumps(title)}\ndate: 2026-01-20T00:00:00Z\ndraft: false\n"
        f'tags: ["fetched", {json.dumps(account)}]\n'
        f"categories: [{json.dumps('<img src=x onerror=' + js('seed-category') + '>')}]\n---\n"
        f"{title} by {account}\n------\n<div>{hostile_html(js, 'seed')}</div>\n"
        '<hr>\n<a href="https://mp.weixin.qq.com/s/SeedHostile01" target="_blank">原文链接</a>\n',
        encoding="utf-8",
    )
    md_title = f"</title><script>{js('md-title')}</script>自己的格式"
    (folder / "own.md").write_text(
        f"---\ntitle: {json.dumps(md_title)}\ndate: 2026-01-21T08:00:00+08:00\ndraft: false\n"
        f'tags: ["fetched", "账号"]\ncategories: []\naccount: "账号"\n'
        f"author: {json.dumps('<script>' + js('md-author') + '</script>')}\n"
        f'wechat_url: "https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2003&idx=1&sn={SN}"\n'
        'wechat_kind: "article"\nstatus: "live"\n---\n'
        f"{md_title} by 账号\n------\n\n{hostile_markdown(js)}\n---\n\n"
        f"[原文链接](https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2003&idx=1&sn={SN})\n",
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- the archive


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARVESTER, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


@dataclass
class Hostile:
    recorder: Recorder
    archive: Path
    public: Path
    keys: list[str]  # every archived article
    images: list[str]  # every stored image, as the archive's relative path
    tables: list[str]  # the index's tables, as Datasette lists them


def build_hostile_site(base: Path, recorder: Recorder) -> Hostile:
    """Fetch and import the hostile content, export it to Hugo with `unsafe = true`, build."""
    archive, site, public = base / "archive", base / "site", base / "public"
    with FakeWeChat() as fake:
        env = {
            **os.environ,
            "HARVESTER_RELAY": fake.relay_env(),
            "HARVESTER_RATE": "1000",
            "HARVESTER_BACKOFF": "0.001",
        }
        links = serve_hostile_pages(fake, recorder.payload)
        fetched = run("fetch", *links, "--archive", str(archive), env=env)
        write_hostile_files(base / "seeds", recorder.payload)
        imported = run("import", str(base / "seeds"), "--archive", str(archive), env=env)
    # missing: the SVGs that could run, and each body's <img src="x">
    assert (fetched.returncode, fetched.stdout) == (
        1,
        f"2 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 2 stored, 4 missing "
        f"(archive: {archive})\n",
    )
    assert (imported.returncode, imported.stdout) == (
        1,
        f"2 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 0 stored, 1 missing "
        f"(archive: {archive})\n",
    )
    exported = run("export", "hugo", str(site), "--archive", str(archive), env=env)
    assert exported.returncode == 0, exported.stderr
    config = site / "hugo.toml"
    written = config.read_text(encoding="utf-8")
    assert "unsafe = false" in written
    config.write_text(written.replace("unsafe = false", "unsafe = true"), encoding="utf-8")
    built = run_hugo(site, public)
    assert built.returncode == 0, built.stderr
    db = sqlite3.connect(archive / "archive.db")
    try:
        keys = [key for (key,) in db.execute("SELECT key FROM articles ORDER BY key")]
        images = [path for (path,) in db.execute("SELECT path FROM images ORDER BY path")]
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
    finally:
        db.close()
    return Hostile(recorder, archive, public, keys, images, tables)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    recorder = Recorder()
    serving(recorder)
    try:
        yield build_hostile_site(tmp_path_factory.mktemp("hostile"), recorder)
    finally:
        recorder.shutdown()
        recorder.server_close()


@pytest.fixture(scope="module")
def site_server(hostile: Hostile) -> Iterator[str]:
    files = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(hostile.public))
    )
    serving(files)
    try:
        yield f"http://127.0.0.1:{files.server_address[1]}"
    finally:
        files.shutdown()
        files.server_close()


@pytest.fixture(scope="module")
def datasette(hostile: Hostile) -> Iterator[Server]:
    with running_server(hostile.archive) as running:
        yield running


# --------------------------------------------------------------------------- the reader


@dataclass
class Visit:
    url: str
    status: int
    text: str  # what the page shows
    dialogs: list[str]  # any alert(), confirm() or prompt() it opened
    unsafe: list[str]  # links, frames and handlers a script could run from


AUDIT = """(safe) => {
  const found = [];
  for (const a of document.querySelectorAll('a[href], area[href]')) {
    if (!safe.includes(a.protocol)) found.push(`${a.tagName} ${a.protocol} ${a.textContent}`);
  }
  for (const frame of document.querySelectorAll('iframe, frame, object, embed')) {
    found.push(`${frame.tagName} ${frame.outerHTML.slice(0, 80)}`);
  }
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) found.push(`${element.tagName} ${attribute.name}`);
    }
  }
  return found;
}"""


@pytest.fixture
def reader(browser) -> Iterator[Callable[[str], Visit]]:  # noqa: F811
    """Opens a URL (navigation only), gives the payloads time to fire, audits the page."""
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="zh-CN")

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # the export's remote images: never the internet
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def visit(url: str) -> Visit:
        dialogs.clear()
        response = page.goto(url, wait_until="load")
        page.wait_for_timeout(SETTLE_MS)
        text = page.evaluate("() => document.documentElement.innerText || ''")
        unsafe = page.evaluate(AUDIT, list(SAFE_PROTOCOLS))
        return Visit(url, response.status if response else 0, text, list(dialogs), unsafe)

    yield visit
    context.close()


def assert_nothing_ran(hostile: Hostile, visits: list[Visit]) -> None:
    assert {visit.url: visit.status for visit in visits if visit.status != 200} == {}
    assert hostile.recorder.hits == []
    assert {visit.url: visit.dialogs for visit in visits if visit.dialogs} == {}
    assert {visit.url: visit.unsafe for visit in visits if visit.unsafe} == {}


def site_files(public: Path, pattern: str) -> list[str]:
    return sorted(
        "/" + quote(path.relative_to(public).as_posix()) for path in public.rglob(pattern)
    )


# --------------------------------------------------------------------------- the tests


def test_no_script_runs_on_any_page_of_the_hugo_export_built_unsafe(
    hostile: Hostile, site_server: str, reader
) -> None:
    hostile.recorder.hits.clear()
    pages = site_files(hostile.public, "*.html") + site_files(hostile.public, "*.xml")
    visits = [reader(site_server + page) for page in pages]
    assert_nothing_ran(hostile, visits)
    shown = "\n".join(visit.text for visit in visits)
    for text in ("正文开始。page", "正文开始。seed", "正文开始。", "链接plain", "链接data-html"):
        assert text in shown  # the hostile articles are there, as text
    assert "<script>fetch(" in shown  # the titles, shown as written


def test_the_export_publishes_only_the_svg_that_cannot_run_and_no_image_runs_when_opened(
    hostile: Hostile, site_server: str, reader
) -> None:
    hostile.recorder.hits.clear()
    images = site_files(hostile.public, "images/**/*.*")
    svgs = [image for image in images if image.endswith(".svg")]
    assert len(svgs) == 1
    assert (hostile.public / svgs[0].lstrip("/")).read_bytes() == PLAIN_SVG
    visits = [reader(site_server + image) for image in images]
    assert_nothing_ran(hostile, visits)


def datasette_pages(hostile: Hostile, js: Payload) -> list[str]:
    reflected = quote(f"<script>{js('reflected')}</script>")
    keys = [quote(key, safe="") for key in hostile.keys]
    return [
        "/",
        "/archive",
        *(f"/archive/{table}" for table in hostile.tables),
        *(f"/-/article/{key}" for key in keys),
        *(f"/archive/articles/{key}" for key in keys),
        *(f"/{quote(path)}" for path in hostile.images),
        "/-/search?q=" + quote("正文"),
        "/-/search?q=" + quote("链接"),
        f"/-/search?q={reflected}",
        "/archive/articles?_search=" + quote("正文"),
        f"/archive/articles?_search={reflected}",
    ]


def test_no_script_runs_on_the_archive_datasette_pages(
    hostile: Hostile, datasette: Server, reader
) -> None:
    hostile.recorder.hits.clear()
    pages = datasette_pages(hostile, hostile.recorder.payload)
    visits = [reader(datasette.base_url + page) for page in pages]
    assert_nothing_ran(hostile, visits)
    shown = "\n".join(visit.text for visit in visits)
    assert "正文开始。page" in shown and "正文开始。seed" in shown
