"""A small real archive for the serve/search/browser tests, built with the archive's own functions.

Five articles from two accounts, written as the harvester writes them: PNG images
made with Pillow and stored content-addressed (store_image), Markdown files with
front matter (harvester.document.render_article) whose images are linked relatively
from the file's folder, index rows via save_article / save_images / save_links /
mark_status. Bodies are chosen so searches have exact answers:

- A1 神经修复与再生 (Neuronlink): 神经修复, Büngner带, two stored images, a link to A2,
  and hostile text: a `<script>` block, an `<img onerror>` and a `javascript:` link.
- A2 PTEN 与轴突再生 (BrainLab): PTEN, 神经元, a stored image and one never downloaded
  (a remote mmbiz URL, recorded as missing), a link to A1.
- A3 日常随笔 (Neuronlink): 精神很好，经常 … 修复 — 神 and 经 apart, 修复 without 神经.
- A4 再生医学周报 (BrainLab): archived twice (changed), then deleted on WeChat.
- A5: a link that was already deleted when first fetched (no content at all).

build_ranked_archive makes a second archive, for paging through results: RANKED_COUNT
articles all matching RANKED_QUERY, ranked exactly in order (ranked_key(1) best).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from archive.files import StoredImage, store_image, write_file
from archive.index import (
    ImageEntry,
    LinkEntry,
    mark_status,
    open_index,
    save_article,
    save_images,
    save_links,
)
from archive.names import article_relpath
from harvester.document import render_article
from harvester.model import Page

CHINA = timezone(timedelta(hours=8))
BIZ1, BIZ2 = "MzkxMjM0NTY3OA==", "MzA4NzY1NDMyMQ=="
A1 = f"{BIZ1}:2247483650:1"
A2 = f"{BIZ2}:2650000001:1"
A3 = f"{BIZ1}:2247483660:1"
A4 = f"{BIZ2}:2650000002:1"
A5 = f"{BIZ2}:2650000003:1"
TITLES = {
    A1: "神经修复与再生",
    A2: "PTEN 与轴突再生",
    A3: "日常随笔",
    A4: "再生医学周报",
}
MISSING_IMAGE_URL = "https://mmbiz.qpic.cn/mmbiz_png/FakeMissingImage/640?wx_fmt=png"
PAGE_TITLE_MARK = "pwned"  # what the hostile payload would set document.title to

# query -> the keys it must find (exactly)
SEARCHES: dict[str, set[str]] = {
    "神经": {A1, A2, A4},  # 2 characters; A3 has 神 and 经, apart
    "神经元": {A2},  # 3 characters
    "神经修复": {A1, A4},  # 4 characters; A3 has 修复 but not 神经修复
    "精神": {A3},
    "自行车": {A3},
    "Büngner带": {A1},  # mixed Latin + CJK
    "bungner": {A1},  # diacritics folded
    "PTEN 神经": {A2},  # mixed, two terms
    "PTEN": {A2},
    "神经 自行车": set(),
    "经神": set(),
}


ONE_KEY = f"{BIZ1}:2247483999:1"  # build_one_article_archive's article

RANKED_QUERY = "研究"
RANKED_COUNT = 120  # more than two pages of /-/search (50 a page)
BIZ3 = "MzI0NjgxMzU3OQ=="


def ranked_key(number: int) -> str:
    """The key of the ranked archive's article `number` (1 is the best match)."""
    return f"{BIZ3}:{2651000000 + number}:1"


def ranked_title(number: int) -> str:
    return f"第{number}篇"


def url_of(biz: str, mid: str, idx: str) -> str:
    return f"https://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx={idx}&sn=0123456789abcdef"


def png(width: int, height: int, color: tuple[int, int, int], label: str) -> bytes:
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([4, 4, width - 5, height - 5], outline=(255, 255, 255), width=3)
    draw.text((10, height // 2 - 6), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class BuiltArchive:
    root: Path
    images: dict[str, StoredImage] = field(default_factory=dict)  # name -> stored image
    md_paths: dict[str, str] = field(default_factory=dict)  # key -> md path
    urls: dict[str, str] = field(default_factory=dict)  # key -> canonical URL

    def image_bytes(self, name: str) -> bytes:
        return (self.root / self.images[name].relpath).read_bytes()


def _page(key: str, account: str, published: datetime, fetched: datetime, **extra: object) -> Page:
    biz, mid, idx = key.split(":")
    extra.setdefault("title", TITLES.get(key))
    return Page(
        kind="article",
        account=account,
        author="档案测试",
        published_at=published,
        url=url_of(biz, mid, idx),
        biz=biz,
        mid=mid,
        idx=idx,
        sn="0123456789abcdef",
        fetched_at=fetched,
        **extra,
    )


def build_archive(root: Path) -> BuiltArchive:
    """Build the test archive under `root` (created); returns what the tests check against."""
    root.mkdir(parents=True, exist_ok=True)
    built = BuiltArchive(root)
    built.images["cells"] = store_image(root, png(320, 200, (36, 99, 160), "Schwann cells"))
    built.images["bands"] = store_image(root, png(240, 160, (30, 140, 80), "Bungner bands"))
    built.images["weekly"] = store_image(root, png(200, 120, (150, 60, 40), "weekly"))
    db = open_index(root / "archive.db")
    try:
        _save_all(db, built)
    finally:
        db.close()
    return built


def build_ranked_archive(root: Path, count: int = RANKED_COUNT) -> BuiltArchive:
    """`count` articles matching RANKED_QUERY, article n ranked n-th.

    Bodies are equally long, and article n holds the query count + 1 - n times: the more
    often, the better its bm25 rank. Titles (ranked_title: 第n篇) do not match; article
    n is published n days before 2026-01-31.
    """
    root.mkdir(parents=True, exist_ok=True)
    built = BuiltArchive(root)
    db = open_index(root / "archive.db")
    try:
        for number in range(1, count + 1):
            key = ranked_key(number)
            published = datetime(2026, 1, 31, 12, 0, tzinfo=CHINA) - timedelta(days=number)
            fetched = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
            page = _page(key, "研究所", published, fetched, title=ranked_title(number))
            times = count + 1 - number
            body = RANKED_QUERY * times + "文字" * (count - times) + "。\n"
            md_path, body = _write(built, page, key, lambda rel, body=body: body)
            _save(db, page, key, md_path, body, "v1")
    finally:
        db.close()
    return built


def build_one_article_archive(root: Path, *, title: str, account: str, body: str) -> BuiltArchive:
    """An archive of one article (key ONE_KEY) whose title, account and body are as given,
    written straight to the index as an older version (or another writer) could have."""
    root.mkdir(parents=True, exist_ok=True)
    built = BuiltArchive(root)
    published = datetime(2026, 1, 26, 8, 0, tzinfo=CHINA)
    page = _page(ONE_KEY, account, published, datetime(2026, 2, 1, 3, 0, tzinfo=UTC), title=title)
    db = open_index(root / "archive.db")
    try:
        md_path, body = _write(built, page, ONE_KEY, lambda rel: body)
        _save(db, page, ONE_KEY, md_path, body, "v1")
    finally:
        db.close()
    return built


def _write(built: BuiltArchive, page: Page, key: str, body_for) -> tuple[str, str]:
    """Write the article's .md file; body_for(relative_image) gives the Markdown body."""
    md_path = article_relpath(page.account, page.published_at, page.title, key)
    folder = (built.root / md_path).parent

    def rel(name: str) -> str:
        return os.path.relpath(built.root / built.images[name].relpath, folder)

    body = body_for(rel)
    write_file(built.root, md_path, render_article(page, body).encode("utf-8"))
    built.md_paths[key] = md_path
    built.urls[key] = page.url or ""
    return md_path, body


def _save(db, page: Page, key: str, md_path: str, body: str, version: str) -> None:
    save_article(
        db,
        page,
        key=key,
        md_path=md_path,
        content_hash=f"hash-{key}-{version}",
        body_text=body,
        raw_path=None,
        fetched_at=page.fetched_at,
    )


def _save_all(db, built: BuiltArchive) -> None:
    cells, bands = built.images["cells"], built.images["bands"]
    a2_url = url_of(*A2.split(":"))
    a1_url = url_of(*A1.split(":"))

    p1 = _page(
        A1,
        "Neuronlink",
        datetime(2026, 1, 26, 8, 0, 16, tzinfo=CHINA),
        datetime(2026, 2, 1, 3, 0, tzinfo=UTC),
        short_url="https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw",
        digest="周围神经损伤后的修复",
    )
    md1, body1 = _write(
        built,
        p1,
        A1,
        lambda rel: (
            "## 周围神经损伤\n\n"
            f"![显微镜下的施万细胞]({rel('cells')})\n\n"
            "周围神经损伤后，神经修复依赖于施万细胞排列形成的 Büngner带，为再生轴突提供通道。\n\n"
            "> 施万细胞是修复的关键。\n\n"
            f'<script>window.__pwned = 1; document.title = "{PAGE_TITLE_MARK}";</script>\n\n'
            '档案里的原文：<img src=x onerror="window.__pwned = 2"> 不应被执行。\n\n'
            "[点这里领取奖励](javascript:window.__pwned=3)\n\n"
            f"延伸阅读：[轴突再生的刹车]({a2_url})\n\n"
            f"![Büngner带示意]({rel('bands')})\n\n"
            "| 指标 | 数值 |\n|---|---:|\n| 再生速度 | 1 mm/天 |\n"
        ),
    )
    _save(db, p1, A1, md1, body1, "v1")
    save_images(
        db,
        A1,
        [
            ImageEntry(0, "https://mmbiz.qpic.cn/mmbiz_png/cells/640?wx_fmt=png", cells),
            ImageEntry(1, "https://mmbiz.qpic.cn/mmbiz_png/bands/640?wx_fmt=png", bands),
        ],
    )
    save_links(db, A1, [LinkEntry(a2_url, A2, "轴突再生的刹车")])

    p2 = _page(
        A2,
        "BrainLab",
        datetime(2025, 11, 3, 20, 30, tzinfo=CHINA),
        datetime(2026, 2, 2, 3, 0, tzinfo=UTC),
    )
    md2, body2 = _write(
        built,
        p2,
        A2,
        lambda rel: (
            "PTEN 是神经元生长的“刹车”。抑制 PTEN 可以促进成年神经元的轴突再生。\n\n"
            f"![]({rel('cells')})\n\n"
            f"![示意图]({MISSING_IMAGE_URL})\n\n"
            f"相关：[周围神经的修复]({a1_url})\n"
        ),
    )
    _save(db, p2, A2, md2, body2, "v1")
    save_images(
        db,
        A2,
        [
            ImageEntry(0, "https://mmbiz.qpic.cn/mmbiz_png/cells2/640?wx_fmt=png", cells),
            ImageEntry(1, MISSING_IMAGE_URL, None, error="HTTP 404"),
        ],
    )
    save_links(db, A2, [LinkEntry(a1_url, A1, "周围神经的修复")])

    p3 = _page(
        A3,
        "Neuronlink",
        datetime(2025, 6, 1, 9, 0, tzinfo=CHINA),
        datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
    )
    md3, body3 = _write(
        built,
        p3,
        A3,
        lambda rel: "今天精神很好，经常运动。周末修复了自行车，顺便读了几页书。\n",
    )
    _save(db, p3, A3, md3, body3, "v1")

    p4 = _page(
        A4,
        "BrainLab",
        datetime(2024, 12, 20, 18, 0, tzinfo=CHINA),
        datetime(2025, 12, 20, 3, 0, tzinfo=UTC),
    )
    md4, body4 = _write(built, p4, A4, lambda rel: "本周综述：神经修复的新进展。\n")
    _save(db, p4, A4, md4, body4, "v1")
    p4.fetched_at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    md4, body4 = _write(
        built,
        p4,
        A4,
        lambda rel: f"本周综述：神经修复的新进展（修订版）。\n\n![]({rel('weekly')})\n",
    )
    _save(db, p4, A4, md4, body4, "v2")
    save_images(db, A4, [ImageEntry(0, "https://mmbiz.qpic.cn/w/640", built.images["weekly"])])
    save_links(db, A4, [LinkEntry(a1_url, A1, "神经修复与再生")])
    mark_status(db, A4, "deleted", datetime(2026, 2, 3, 3, 0, tzinfo=UTC))

    biz5, mid5, idx5 = A5.split(":")
    gone = Page(kind="deleted", biz=biz5, mid=mid5, idx=idx5, url=url_of(biz5, mid5, idx5))
    save_article(
        db,
        gone,
        key=A5,
        md_path=None,
        content_hash=None,
        body_text=None,
        raw_path=None,
        fetched_at=datetime(2026, 2, 4, 3, 0, tzinfo=UTC),
    )


NEW_KEY = f"{BIZ1}:2247483670:1"  # add_article's


def add_article(
    built: BuiltArchive, body: str, fetched: datetime | None = None, version: str = "v1"
) -> str:
    """Archive one more Neuronlink article (NEW_KEY) into a built archive, as a fetch
    would while it is being served (again with another `version`: a changed one); its key."""
    fetched = fetched or datetime(2026, 2, 5, 3, 0, tzinfo=UTC)
    page = _page(
        NEW_KEY, "Neuronlink", datetime(2026, 2, 4, 8, 0, tzinfo=CHINA), fetched, title="新文章"
    )
    md_path, body = _write(built, page, NEW_KEY, lambda rel: body)
    db = open_index(built.root / "archive.db")
    try:
        _save(db, page, NEW_KEY, md_path, body, version)
    finally:
        db.close()
    return NEW_KEY


# --- a real `harvester serve` process ---------------------------------------

HARVESTER = [sys.executable, "-c", "from harvester.cli import main; main()"]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http_get(url: str, timeout: float = 10.0) -> Fetched:
    """GET `url` (no proxy, redirects followed); HTTP errors are returned, not raised."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Fetched(response.status, headers, response.read(), response.geturl())
    except urllib.error.HTTPError as error:
        headers = {k.lower(): v for k, v in error.headers.items()}
        return Fetched(error.code, headers, error.read(), url)


@dataclass
class Server:
    """A server process; what it prints goes to files (a pipe nobody reads while it runs
    would fill up with a busy server's log and stop it)."""

    process: subprocess.Popen
    port: int
    stdout: str = ""
    stderr: str = ""
    output: tuple[Any, Any] | None = None  # the (stdout, stderr) files, read when stopped

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Fetched:
        return http_get(self.base_url + path)

    def stop(self) -> int:
        """Ctrl-C the server (SIGINT) and wait; its exit code."""
        if self.process.returncode is not None:
            return self.process.returncode
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.output is not None:
            for stream in self.output:
                stream.seek(0)
            self.stdout, self.stderr = (stream.read() for stream in self.output)
        return self.process.returncode


def harvester(
    *args: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run the harvester command line (stdout piped: not a terminal)."""
    return subprocess.run(
        [*HARVESTER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """The command line as a user runs it, in its own process: exit code, stdout, stderr."""
    done = harvester(*args, stdin=stdin)
    return done.returncode, done.stdout, done.stderr


DATASETTE = str(Path(sys.executable).with_name("datasette"))  # the venv's, as users run it


def datasette_argv(*databases: Path, port: int) -> list[str]:
    """Plain `datasette DB... --port PORT` on loopback: the plugin only from the entry point."""
    return [DATASETTE, *map(str, databases), "--host", "127.0.0.1", "--port", str(port)]


@contextlib.contextmanager
def running_server(
    archive_dir: Path, startup_timeout: float = 30.0, *, plain: bool = False
) -> Iterator[Server]:
    """`harvester serve --archive DIR --port <free port>` as a real process, until stopped;
    with `plain`, `datasette DIR/archive.db` instead."""
    port = free_port()
    if plain:
        argv = datasette_argv(archive_dir / "archive.db", port=port)
    else:
        argv = [*HARVESTER, "serve", "--archive", str(archive_dir), "--port", str(port)]
    with serving(argv, port, startup_timeout) as server:
        yield server


@contextlib.contextmanager
def serving(argv: list[str], port: int, startup_timeout: float = 30.0) -> Iterator[Server]:
    """The server `argv` starts, once it answers on `port`, until stopped."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        server = Server(process, port, output=(out, err))
        try:
            _wait_until_answering(server, argv[0], startup_timeout)
            yield server
        finally:
            server.stop()


def _wait_until_answering(server: Server, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            server.stop()
            raise RuntimeError(f"{name} exited early: {server.stderr.strip()}")
        try:
            if server.get("/-/versions.json").status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer in time")
        time.sleep(0.1)
