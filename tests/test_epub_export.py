"""`harvester export epub`: an account's articles, an album's, or a search's, as an EPUB
book.

The book is made from the test archive (tests/archive_builder.py) by the command line in
its own process, checked by Debian's epubcheck (no errors, no warnings) and read back
with ebooklib: chapters in publish order (an album's in album order), the table of
contents, embedded images, the metadata. An album's members are recorded as a harvest
records what an album listing showed (harvester.discovered).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from archive_builder import A1, A2, A3, A4, A5, BIZ1, TITLES, build_archive, cli
from ebooklib import ITEM_IMAGE, epub
from lxml import etree

from archive.index import open_index
from archive.times import now_utc
from harvester.discovered import Discovered, Found
from harvester.sources.base import InAlbum

EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    return build_archive(tmp_path_factory.mktemp("epub") / "archive")


def export(built, out: Path, *args: str) -> tuple[int, str, str]:
    return cli("export", "epub", str(out), "--archive", str(built.root), *args)


@pytest.fixture(scope="module")
def neuronlink(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("books") / "neuronlink.epub"
    assert export(built, out, "--account", "Neuronlink") == (
        0,
        f"2 articles, 2 images → {out}\n",
        "",
    )
    return out


@pytest.fixture(scope="module")
def searched(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("books") / "search.epub"
    assert export(built, out, "--query", "神经修复") == (0, f"2 articles, 3 images → {out}\n", "")
    return out


@pytest.fixture(scope="module")
def with_albums(tmp_path_factory: pytest.TempPathFactory):
    """The test archive after a harvest listed two albums: 1001, titled, which puts A1
    before A3 (the reverse of publish order) and holds A5 (no content); 1002, which gave
    neither title nor places."""
    built = build_archive(tmp_path_factory.mktemp("epub-albums") / "archive")
    db = open_index(built.root / "archive.db")
    placed = [(A1, 1), (A3, 2), (A5, 3)]
    found = [
        Found(k, "album", BIZ1, "album:1001", InAlbum("1001", n, "神经合集")) for k, n in placed
    ]
    found += [Found(k, "album", BIZ1, "album:1002", InAlbum("1002")) for k in (A1, A3)]
    Discovered(db, built.root).record(found, now=now_utc())
    db.close()
    return built


@pytest.fixture(scope="module")
def album_book(with_albums, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("books") / "album.epub"
    done = export(with_albums, out, "--album", "1001")
    assert done == (0, f"2 articles, 2 images → {out}\n", "")
    return out


def epubcheck(book: Path) -> subprocess.CompletedProcess:
    if shutil.which("java") is None or not EPUBCHECK_JAR.exists():
        pytest.skip("epubcheck is not installed (apt install epubcheck)")
    return subprocess.run(
        ["java", "-jar", str(EPUBCHECK_JAR), str(book)], capture_output=True, text=True
    )


def chapters(book: Path) -> list[epub.EpubHtml]:
    read = epub.read_epub(str(book), {"ignore_ncx": True})
    return [read.get_item_with_id(item_id) for item_id, _ in read.spine if item_id != "nav"]


@pytest.mark.parametrize("which", ["neuronlink", "searched", "album_book"])
def test_epubcheck_finds_no_errors_or_warnings(which, request):
    done = epubcheck(request.getfixturevalue(which))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No errors or warnings detected." in done.stdout


def test_an_accounts_book_has_its_articles_in_publish_order(neuronlink):
    titles = [chapter.get_content().decode() for chapter in chapters(neuronlink)]
    assert len(titles) == 2
    assert f"<h1>{TITLES[A3]}</h1>" in titles[0]  # 2025-06-01
    assert f"<h1>{TITLES[A1]}</h1>" in titles[1]  # 2026-01-26


def test_the_table_of_contents_lists_every_chapter_by_title(neuronlink):
    with zipfile.ZipFile(neuronlink) as book:
        nav = book.read("EPUB/nav.xhtml").decode()
    assert nav.index(TITLES[A3]) < nav.index(TITLES[A1])
    assert 'href="text/00001.xhtml"' in nav and 'href="text/00002.xhtml"' in nav


def test_the_metadata_names_the_account_as_author_and_the_latest_date(neuronlink):
    book = epub.read_epub(str(neuronlink), {"ignore_ncx": True})
    assert book.get_metadata("DC", "title")[0][0] == "Neuronlink"
    assert [name for name, _ in book.get_metadata("DC", "creator")] == ["Neuronlink"]
    assert book.get_metadata("DC", "language")[0][0] == "zh"
    assert book.get_metadata("DC", "date")[0][0] == "2026-01-26"


def test_stored_images_are_embedded_and_shown_from_the_book(built, neuronlink):
    book = epub.read_epub(str(neuronlink), {"ignore_ncx": True})
    embedded = {item.file_name: item.get_content() for item in book.get_items_of_type(ITEM_IMAGE)}
    expected = {built.images[name].relpath: built.image_bytes(name) for name in ("cells", "bands")}
    assert embedded == expected
    body = chapters(neuronlink)[1].get_content().decode()
    for relpath in expected:
        assert f'src="../{relpath}"' in body


def test_a_chapter_says_who_and_when_and_links_the_original(built, neuronlink):
    body = chapters(neuronlink)[1].get_content().decode()
    assert '<p class="byline">Neuronlink · 2026-01-26 · 档案测试</p>' in body
    assert f'<a href="{built.urls[A1].replace("&", "&amp;")}">原文链接</a>' in body


def test_hostile_text_in_an_article_stays_text(neuronlink):
    body = chapters(neuronlink)[1].get_content()
    tree = etree.fromstring(body)
    assert tree.xpath("//*[local-name() = 'script'] | //@onerror") == []
    assert "<script>window.__pwned = 1;" in "".join(tree.itertext())
    assert "javascript:" not in "".join(tree.xpath("//@href"))


def test_a_search_book_takes_the_matching_articles_of_every_account(searched):
    read = epub.read_epub(str(searched), {"ignore_ncx": True})
    bodies = [chapter.get_content().decode() for chapter in chapters(searched)]
    assert f"<h1>{TITLES[A4]}</h1>" in bodies[0]  # 2024-12-20, deleted since
    assert "(deleted)" in bodies[0]
    assert f"<h1>{TITLES[A1]}</h1>" in bodies[1]
    assert sorted(name for name, _ in read.get_metadata("DC", "creator")) == [
        "BrainLab",
        "Neuronlink",
    ]


def test_a_link_to_an_article_in_the_book_goes_to_its_chapter(built, tmp_path):
    out = tmp_path / "nerves.epub"
    assert export(built, out, "--query", "神经")[0] == 0
    _weekly, pten, repair = (chapter.get_content().decode() for chapter in chapters(out))
    assert f"<h1>{TITLES[A2]}</h1>" in pten and f"<h1>{TITLES[A1]}</h1>" in repair
    assert '<a href="00002.xhtml" class="archived-link"' in repair  # A1 links A2
    assert '<a href="00003.xhtml" class="archived-link"' in pten  # and A2 links A1


def test_an_image_never_downloaded_is_a_link_to_where_it_was(built, tmp_path):
    out = tmp_path / "brainlab.epub"
    assert export(built, out, "--account", "BrainLab")[0] == 0
    body = next(c for c in chapters(out) if TITLES[A2] in c.get_content().decode())
    assert 'class="missing-image"' in body.get_content().decode()
    assert epubcheck(out).returncode == 0


def test_an_albums_book_has_its_archived_articles_in_album_order(album_book):
    bodies = [chapter.get_content().decode() for chapter in chapters(album_book)]
    assert len(bodies) == 2
    assert f"<h1>{TITLES[A1]}</h1>" in bodies[0]  # place 1, published 2026-01-26
    assert f"<h1>{TITLES[A3]}</h1>" in bodies[1]  # place 2, published 2025-06-01
    with zipfile.ZipFile(album_book) as book:
        nav = book.read("EPUB/nav.xhtml").decode()
    assert nav.index(TITLES[A1]) < nav.index(TITLES[A3])


def test_an_albums_book_is_titled_by_the_album(album_book):
    book = epub.read_epub(str(album_book), {"ignore_ncx": True})
    assert book.get_metadata("DC", "title")[0][0] == "神经合集"
    assert [name for name, _ in book.get_metadata("DC", "creator")] == ["Neuronlink"]


def test_an_album_without_places_or_title_is_in_publish_order_titled_by_its_id(
    with_albums, tmp_path
):
    out = tmp_path / "unplaced.epub"
    assert export(with_albums, out, "--album", "1002")[0] == 0
    bodies = [chapter.get_content().decode() for chapter in chapters(out)]
    assert f"<h1>{TITLES[A3]}</h1>" in bodies[0] and f"<h1>{TITLES[A1]}</h1>" in bodies[1]
    book = epub.read_epub(str(out), {"ignore_ncx": True})
    assert book.get_metadata("DC", "title")[0][0] == "合集 1002"


@pytest.mark.parametrize(
    ("which", "album"),
    [("with_albums", "999"), ("built", "1001")],
    ids=["an album not listed", "an archive that never listed an album"],
)
def test_an_album_with_no_archived_articles_writes_nothing_and_exits_2(
    which, album, request, tmp_path
):
    archive, out = request.getfixturevalue(which), tmp_path / "none.epub"
    assert export(archive, out, "--album", album) == (
        2,
        "",
        f"harvester: {archive.root}: no archived articles in the album {album!r}\n",
    )
    assert not out.exists()


def test_no_selection_or_two_exits_2(built, tmp_path):
    message = "harvester: export epub: give one of --account NAME, --album ID or --query WORDS\n"
    assert export(built, tmp_path / "a.epub") == (2, "", message)
    both = export(built, tmp_path / "b.epub", "--account", "BrainLab", "--query", "PTEN")
    assert both == (2, "", message)
    album = export(built, tmp_path / "c.epub", "--album", "1001", "--account", "BrainLab")
    assert album == (2, "", message)


def test_an_account_with_no_articles_writes_nothing_and_exits_2(built, tmp_path):
    out = tmp_path / "none.epub"
    assert export(built, out, "--account", "无此账号") == (
        2,
        "",
        f"harvester: {built.root}: no archived articles of the account '无此账号'\n",
    )
    assert not out.exists()
