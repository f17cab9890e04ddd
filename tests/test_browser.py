"""The archive in a real browser: Debian's headless Chromium driven by Playwright.

Against `harvester serve` and plain `datasette archive.db` alike: types a Chinese query
into the articles table's search box, follows a result to the reading page, and checks
that its images load from the local server, that nothing is requested from any other
host, and that the hostile text archived in the article (a <script>, an <img onerror>, a
javascript: link) never runs.

The README's screenshot is the demo's first article (scripts/demo.py, as a new user sees
it), read the same way: UPDATE_SCREENSHOT=1 writes docs/screenshot-article.png (install
fonts-noto-cjk first, or the Chinese shows as boxes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from archive_builder import A1, A2, PAGE_TITLE_MARK, TITLES, build_archive, running_server

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "docs" / "screenshot-article.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    return build_archive(tmp_path_factory.mktemp("browser") / "wechat-archive")


@pytest.fixture(scope="module", params=[False, True], ids=["harvester-serve", "plain-datasette"])
def server(built, request: pytest.FixtureRequest):
    """`harvester serve`, then plain `datasette archive.db` (the plugin from its entry point)."""
    with running_server(built.root, plain=request.param) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.requests = []  # every URL the page asked for
    page.dialogs = []  # any alert() would land here
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(15_000)
    yield page
    context.close()


def assert_only_loopback(page, server) -> None:
    hosts = {urlsplit(url).hostname for url in page.requests if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, page.requests
    assert all(url.startswith(server.base_url) for url in page.requests if "://" in url)


def assert_payload_never_ran(page) -> None:
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert PAGE_TITLE_MARK not in page.title()
    assert page.dialogs == []
    assert page.locator("script").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert page.locator("[onerror]").count() == 0


def article_images(page) -> list[dict]:
    """The article's images once loaded (each scrolled into view: they load lazily)."""
    for image in page.locator(".article-body img").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.article-body img')).every(i => i.complete)"
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.article-body img')).map(img => ({
            src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth
        }))"""
    )


def test_search_box_to_article(page, server) -> None:
    page.goto(server.base_url + "/archive/articles")
    search_box = page.locator("input#_search")
    search_box.click()
    page.keyboard.type("神经修复")
    with page.expect_navigation():
        search_box.press("Enter")
    assert "_search=" in page.url
    table = page.locator("table.rows-and-columns")
    assert table.locator("tbody tr").count() == 2
    assert table.locator("mark", has_text="神经修复").count() >= 1
    assert page.locator(".best-matches li").first.locator("a").inner_text() == TITLES[A1]

    with page.expect_navigation():
        table.get_by_role("link", name=TITLES[A1]).click()
    assert page.url == server.base_url + "/-/article/" + quote(A1, safe="")
    page.wait_for_load_state("load")
    assert page.locator("h1.article-title").inner_text() == TITLES[A1]
    assert "Büngner带" in page.locator(".article-body").inner_text()
    # the hostile text is shown as text, and did nothing
    assert "<script>window.__pwned = 1;" in page.locator(".article-body").inner_text()
    assert_payload_never_ran(page)

    images = article_images(page)
    assert len(images) == 2
    for image in images:
        assert image["src"].startswith(server.base_url + "/images/")
        assert image["complete"] and image["width"] > 0, image
    assert_only_loopback(page, server)


def test_search_page_and_missing_image(page, server) -> None:
    page.goto(server.base_url + "/-/search")
    page.locator("input[name=q]").click()
    page.keyboard.type("PTEN 神经")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    hits = page.locator("li.search-hit")
    assert hits.count() == 1
    assert hits.first.locator("mark").first.inner_text() == "PTEN"

    with page.expect_navigation():
        hits.first.get_by_role("link", name=TITLES[A2]).click()
    page.wait_for_load_state("load")
    images = article_images(page)
    assert len(images) == 1 and images[0]["width"] > 0
    missing = page.locator("a.missing-image")
    assert missing.count() == 1
    assert missing.get_attribute("href").startswith("https://mmbiz.qpic.cn/")
    assert_payload_never_ran(page)
    assert_only_loopback(page, server)

    # the link to the archived article A1 stays inside the archive
    with page.expect_navigation():
        page.locator(".article-body a.archived-link").click()
    assert page.url == server.base_url + "/-/article/" + quote(A1, safe="")
    page.wait_for_load_state("load")
    assert_payload_never_ran(page)
    assert_only_loopback(page, server)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory):
    archive = tmp_path_factory.mktemp("demo") / "demo-archive"
    demo = [sys.executable, str(REPO / "scripts" / "demo.py"), "--archive", str(archive)]
    done = subprocess.run(demo, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    with running_server(archive) as running:
        yield running


def test_the_demo_article_reads_with_its_images(page, demo_server) -> None:
    page.goto(demo_server.base_url + "/-/search")
    page.locator("input[name=q]").click()
    page.keyboard.type("神经修复")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with page.expect_navigation():
        page.locator("li.search-hit a").first.click()
    page.wait_for_load_state("load")
    assert page.locator("h1.article-title").inner_text() == "神经修复与再生：从分子到系统"
    assert page.locator(".article-body h2").first.inner_text() == "一、核心概念"
    marker = "() => getComputedStyle(document.querySelector('.article-body ol')).listStyleType"
    assert page.evaluate(marker) == "decimal"
    images = article_images(page)
    assert len(images) == 2 and all(image["width"] > 0 for image in images)
    assert_only_loopback(page, demo_server)
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
