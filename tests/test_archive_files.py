import gzip
import hashlib
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from archive.errors import InputError
from archive.files import (
    StoredImage,
    fsync_at_end,
    identify_image,
    read_raw,
    resolve_inside,
    sniff_image,
    store_image,
    store_raw,
    write_atomic,
    write_file,
)
from archive.names import article_relpath, safe_component, taxonomy_term

KEY = "MzA3MDM3NjE5NA==:2247483650:1"
KEY_HASH = hashlib.sha256(KEY.encode()).hexdigest()[:8]


def image_bytes(fmt: str, size: tuple[int, int] = (7, 5)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


# --- safe_component ---------------------------------------------------------


def test_safe_component_keeps_chinese_and_joins_words_with_dashes():
    assert safe_component("神经修复 与  再生") == "神经修复-与-再生"


def test_safe_component_replaces_path_separators():
    assert safe_component("../etc/passwd") == "etc-passwd"


def test_safe_component_replaces_backslashes_and_windows_specials():
    assert safe_component('a\\b:c*d?e"f<g>h|i') == "a-b-c-d-e-f-g-h-i"


def test_safe_component_drops_nul_and_control_characters():
    assert safe_component("a\x00b\x07c\x1bd") == "abcd"


def test_safe_component_turns_newlines_and_ideographic_spaces_into_dashes():
    assert safe_component("第一行\n第二行\u3000第三") == "第一行-第二行-第三"


@pytest.mark.parametrize("name", ["", "   ", ".", "..", "...", "-", "/", "\x00", "\u200b"])
def test_safe_component_never_returns_empty_or_dots(name):
    assert safe_component(name) == "untitled"


def test_safe_component_strips_leading_dots_and_dashes():
    assert safe_component("..-.hidden") == "hidden"


def test_safe_component_strips_trailing_dots():
    assert safe_component("标题...") == "标题"


def test_safe_component_fallback_is_configurable():
    assert safe_component(None, fallback="unknown") == "unknown"


def test_safe_component_trims_long_chinese_on_a_character_boundary():
    result = safe_component("神" * 1000)
    assert result == "神" * 26  # 26 * 3 bytes = 78 <= 80 < 81
    assert len(result.encode("utf-8")) <= 80


def test_safe_component_respects_a_custom_byte_limit():
    assert safe_component("abcdefghij", max_bytes=4) == "abcd"


def test_safe_component_does_not_end_with_a_dash_after_trimming():
    assert safe_component("ab cd", max_bytes=3) == "ab"


def test_safe_component_prefixes_windows_reserved_names():
    assert safe_component("CON") == "_CON"


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_safe_component_is_always_one_safe_component(name):
    result = safe_component(name)
    assert result
    assert len(result.encode("utf-8")) <= 80
    assert "/" not in result and "\\" not in result and "\x00" not in result
    assert not result.startswith((".", "-"))
    assert result not in (".", "..")
    assert all(ch.isprintable() for ch in result)


# --- taxonomy_term ----------------------------------------------------------


@pytest.mark.parametrize("term", ["..", ".", "", " . . ", None])
def test_a_taxonomy_term_of_dots_alone_is_none(term):
    assert taxonomy_term(term) is None


@pytest.mark.parametrize(
    ("term", "kept"),
    [
        ("../../etc", "..-..-etc"),
        ("a/b\\c", "a-b-c"),
        ("/", "-"),
        (" Go  夜读 ", "Go 夜读"),
        ("C#", "C#"),
    ],
)
def test_a_taxonomy_term_nests_no_folder_and_keeps_the_rest(term, kept):
    assert taxonomy_term(term) == kept


def test_a_long_taxonomy_term_is_cut_on_a_character_boundary():
    assert taxonomy_term("长" * 100) == "长" * 33


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_a_taxonomy_term_is_always_one_bounded_folder_name(text):
    term = taxonomy_term(text)
    assert term is None or (
        len(term.encode("utf-8")) <= 100 and not {"/", "\\"} & set(term) and term.strip(". ") != ""
    )


# --- article_relpath --------------------------------------------------------


def test_article_relpath_layout():
    when = datetime(2026, 1, 26, 8, 0, 16)
    assert (
        article_relpath("Neuronlink", when, "神经修复与再生", KEY)
        == f"articles/Neuronlink/2026/2026-01-26-神经修复与再生-{KEY_HASH}.md"
    )


def test_article_relpath_uses_china_date_for_aware_times():
    when = datetime(2026, 1, 25, 20, 0, tzinfo=UTC)  # 2026-01-26 04:00 in China
    assert article_relpath("a", when, "t", KEY) == f"articles/a/2026/2026-01-26-t-{KEY_HASH}.md"


def test_article_relpath_without_date_is_undated():
    assert article_relpath("a", None, "标题", KEY) == f"articles/a/undated/标题-{KEY_HASH}.md"


def test_article_relpath_same_title_same_day_different_keys_differ():
    when = datetime(2026, 1, 26)
    first = article_relpath("a", when, "同名", "b:1:1")
    second = article_relpath("a", when, "同名", "b:1:2")
    assert first != second


def test_article_relpath_is_stable():
    when = datetime(2026, 1, 26)
    assert article_relpath("a", when, "t", KEY) == article_relpath("a", when, "t", KEY)


def test_article_relpath_makes_hostile_account_and_title_safe(tmp_path):
    relpath = article_relpath("../..", datetime(2026, 1, 26), "../../etc/passwd", KEY)
    assert relpath == f"articles/unknown-account/2026/2026-01-26-etc-passwd-{KEY_HASH}.md"
    assert resolve_inside(tmp_path, relpath) == tmp_path.resolve() / relpath


def test_article_relpath_with_empty_title_and_huge_title_stays_short():
    empty = article_relpath("a", None, "", KEY)
    huge = article_relpath("a", datetime(2026, 1, 26), "长" * 1000, KEY)
    assert empty == f"articles/a/undated/untitled-{KEY_HASH}.md"
    assert len(Path(huge).name.encode("utf-8")) <= 120


# --- resolve_inside ---------------------------------------------------------


def test_resolve_inside_accepts_a_relative_path(tmp_path):
    assert resolve_inside(tmp_path, "images/ab/x.png") == tmp_path.resolve() / "images/ab/x.png"


def test_resolve_inside_accepts_dotdot_that_stays_inside(tmp_path):
    assert resolve_inside(tmp_path, "a/../b") == tmp_path.resolve() / "b"


@pytest.mark.parametrize(
    "relpath",
    ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\..\\x", "a\x00b", "", ".", "a/.."],
)
def test_resolve_inside_rejects_escapes(tmp_path, relpath):
    with pytest.raises(ValueError):
        resolve_inside(tmp_path, relpath)


def test_resolve_inside_rejects_a_symlink_out_of_the_root(tmp_path):
    root = tmp_path / "archive"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "images").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError):
        resolve_inside(root, "images/x.png")


def test_write_file_refuses_to_write_outside_the_root(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    with pytest.raises(ValueError):
        write_file(root, "../evil.txt", b"x")
    assert not (tmp_path / "evil.txt").exists()


# --- write_atomic -----------------------------------------------------------


def test_write_atomic_creates_parents_and_writes(tmp_path):
    path = tmp_path / "a" / "b" / "c.md"
    assert write_atomic(path, "正文".encode()) is True
    assert path.read_bytes() == "正文".encode()


def test_write_atomic_identical_bytes_is_a_no_op(tmp_path):
    path = tmp_path / "c.md"
    write_atomic(path, b"same")
    os.utime(path, (1_000_000, 1_000_000))
    inode = path.stat().st_ino
    assert write_atomic(path, b"same") is False
    assert path.stat().st_mtime == 1_000_000
    assert path.stat().st_ino == inode


def test_write_atomic_replaces_different_bytes(tmp_path):
    path = tmp_path / "c.md"
    write_atomic(path, b"old")
    assert write_atomic(path, b"new") is True
    assert path.read_bytes() == b"new"


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    write_atomic(tmp_path / "c.md", b"one")
    write_atomic(tmp_path / "c.md", b"two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.md"]


def synced_paths(monkeypatch) -> list[str]:
    """Every path os.fsync is called on from now, in order."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_new_files_in_an_fsync_at_end_block_are_synced_with_their_folder_at_its_end(
    tmp_path, monkeypatch
):
    synced = synced_paths(monkeypatch)
    with fsync_at_end():
        write_atomic(tmp_path / "d" / "a.md", b"a")
        write_atomic(tmp_path / "d" / "b.md", b"b")
        assert synced == []
        assert (tmp_path / "d" / "a.md").read_bytes() == b"a"
    assert synced == [str(tmp_path / "d" / n) for n in ("a.md", "b.md")] + [str(tmp_path / "d")]


def test_a_file_replaced_in_an_fsync_at_end_block_is_synced_before_the_rename(
    tmp_path, monkeypatch
):
    write_atomic(tmp_path / "a.md", b"old")
    synced = synced_paths(monkeypatch)
    with fsync_at_end():
        write_atomic(tmp_path / "a.md", b"new")
        assert len(synced) == 2  # the temporary file, then the folder after the rename
        assert synced[1] == str(tmp_path)
    assert len(synced) == 2


def test_an_fsync_at_end_block_left_by_an_error_still_syncs_what_it_wrote(tmp_path, monkeypatch):
    synced = synced_paths(monkeypatch)
    with pytest.raises(KeyboardInterrupt), fsync_at_end():
        write_atomic(tmp_path / "a.md", b"a")
        raise KeyboardInterrupt
    assert synced == [str(tmp_path / "a.md"), str(tmp_path)]


def test_write_atomic_file_is_readable_by_others_under_default_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "c.md"
        write_atomic(path, b"x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o044 == 0o044


# --- images -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", ("png", "image/png")),
        ("JPEG", ("jpg", "image/jpeg")),
        ("GIF", ("gif", "image/gif")),
        ("WEBP", ("webp", "image/webp")),
        ("BMP", ("bmp", "image/bmp")),
        ("ICO", ("ico", "image/x-icon")),
    ],
)
def test_sniff_image_recognises_pillow_images(fmt, expected):
    assert sniff_image(image_bytes(fmt)) == expected


def test_sniff_image_recognises_svg():
    svg = b'<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert sniff_image(svg) == ("svg", "image/svg+xml")


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>not allowed</body></html>",
        b"<html><svg></svg></html>",
        b'{"base_resp": {"ret": 200013}}',
        b"BMW is a car maker, not a bitmap",
        b"",
    ],
)
def test_sniff_image_rejects_non_images(data):
    assert sniff_image(data) is None


def test_store_image_uses_content_not_url_for_name_and_reads_size(tmp_path):
    data = image_bytes("PNG", (7, 5))
    sha = hashlib.sha256(data).hexdigest()
    stored = store_image(tmp_path, data)
    assert stored == StoredImage(sha, f"images/{sha[:2]}/{sha}.png", "image/png", len(data), 7, 5)
    assert (tmp_path / stored.relpath).read_bytes() == data


def noisy_image(fmt: str, **options) -> bytes:
    """An image whose data does not compress to nothing, so cutting it loses pixels."""
    buffer = io.BytesIO()
    Image.effect_noise((64, 48), 64).convert("RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "options", "ext"),
    [
        ("JPEG", {}, "jpg"),
        ("JPEG", {"progressive": True}, "jpg"),
        ("PNG", {}, "png"),
        ("GIF", {}, "gif"),
        ("WEBP", {}, "webp"),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "gif", "webp"],
)
def test_an_image_cut_short_is_not_an_image_we_store(tmp_path, fmt, options, ext):
    whole = noisy_image(fmt, **options)
    assert identify_image(whole).width == 64
    with pytest.raises(ValueError) as refused:
        store_image(tmp_path, whole[: len(whole) * 2 // 3])
    assert str(refused.value).startswith(f"a truncated or damaged image ({ext}: ")
    assert not (tmp_path / "images").exists()


def test_an_image_too_large_to_read_through_is_measured_by_its_header(monkeypatch):
    monkeypatch.setattr("PIL.Image.MAX_IMAGE_PIXELS", 100)  # 64 x 48 is a "bomb" now
    image = identify_image(noisy_image("PNG"))
    assert (image.ext, image.width, image.height) == ("png", None, None)


def test_an_svg_that_could_run_code_is_not_an_image_we_store(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    with pytest.raises(ValueError) as refused:
        store_image(tmp_path, svg)
    assert str(refused.value) == (
        "an SVG that could run code (an onload handler): kept as a remote link"
    )
    assert list(tmp_path.rglob("*.svg")) == []


def test_store_image_svg_has_unknown_size(tmp_path):
    stored = store_image(tmp_path, b'<svg xmlns="http://www.w3.org/2000/svg" width="3"/>')
    assert (stored.mime, stored.width, stored.height) == ("image/svg+xml", None, None)


def test_store_image_stores_each_image_once(tmp_path):
    data = image_bytes("JPEG")
    first = store_image(tmp_path, data)
    os.utime(tmp_path / first.relpath, (1_000_000, 1_000_000))
    second = store_image(tmp_path, data)
    assert second == first
    assert (tmp_path / first.relpath).stat().st_mtime == 1_000_000
    assert [p for p in (tmp_path / "images").rglob("*") if p.is_file()] == [
        tmp_path / first.relpath
    ]


def test_store_image_rejects_html(tmp_path):
    with pytest.raises(ValueError):
        store_image(tmp_path, b"<html>placeholder</html>")
    assert not (tmp_path / "images").exists()


# --- raw pages --------------------------------------------------------------

FETCHED = datetime(2026, 1, 26, 0, 0, 16, tzinfo=UTC)
HTML = "<html><body>神经修复</body></html>".encode()


def test_store_raw_path_layout_and_gzip(tmp_path):
    relpath = store_raw(tmp_path, "MzA3MDM3NjE5NA==", "2247483650", "1", FETCHED, HTML)
    assert relpath == "raw/MzA3MDM3NjE5NA==/2247483650_1/20260126T000016Z.html.gz"
    assert gzip.decompress((tmp_path / relpath).read_bytes()) == HTML


def test_read_raw_round_trips(tmp_path):
    relpath = store_raw(tmp_path, "biz", "1", "2", FETCHED, HTML)
    assert read_raw(tmp_path, relpath) == HTML


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda blob: blob[:-20], "truncated (its gzip stream ends early)"),
        (lambda blob: b"<html>", "damaged, not a gzip stream (Not a gzipped file (b'<h'))"),
    ],
    ids=["truncated", "not-gzip"],
)
def test_read_raw_names_a_damaged_capture(tmp_path, damage, problem):
    relpath = store_raw(tmp_path, "biz", "1", "2", FETCHED, HTML)
    (tmp_path / relpath).write_bytes(damage((tmp_path / relpath).read_bytes()))
    with pytest.raises(InputError) as error:
        read_raw(tmp_path, relpath)
    assert str(error.value) == f"{relpath}: {problem}"


def test_read_raw_names_a_missing_capture(tmp_path):
    with pytest.raises(InputError) as error:
        read_raw(tmp_path, "raw/biz/1_2/gone.html.gz")
    assert str(error.value) == "raw/biz/1_2/gone.html.gz: cannot read: No such file or directory"


def test_store_raw_makes_biz_safe(tmp_path):
    relpath = store_raw(tmp_path, "../../x", "1", "2", FETCHED, HTML)
    assert relpath == "raw/x/1_2/20260126T000016Z.html.gz"


def test_store_raw_same_page_twice_writes_one_file(tmp_path):
    first = store_raw(tmp_path, "biz", "1", "2", FETCHED, HTML)
    os.utime(tmp_path / first, (1_000_000, 1_000_000))
    second = store_raw(tmp_path, "biz", "1", "2", FETCHED, HTML)
    assert second == first
    assert (tmp_path / first).stat().st_mtime == 1_000_000


def test_store_raw_different_page_same_second_keeps_both(tmp_path):
    first = store_raw(tmp_path, "biz", "1", "2", FETCHED, HTML)
    second = store_raw(tmp_path, "biz", "1", "2", FETCHED, b"<html>v2</html>")
    assert second != first
    assert read_raw(tmp_path, first) == HTML
    assert read_raw(tmp_path, second) == b"<html>v2</html>"


def test_read_raw_refuses_paths_outside_the_root(tmp_path):
    with pytest.raises(ValueError):
        read_raw(tmp_path, "../etc/passwd")
