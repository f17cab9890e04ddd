"""`harvester convert`: the offline command's contract (DESIGN.md, "The command line")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fakewechat import make_article_html, notice_html

from harvester.cli import main

BIZ = "MzIwNjU2ODk1MQ=="
SN = "bba35c16bba35c16bba35c16bba35c16"
CT = 1608818520  # 2020-12-24 22:02 China time


def harvester(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def saved_page(tmp_path: Path, name: str = "page.html", title: str = "两家大行行长空缺") -> Path:
    body = "<section><p><span leaf>银行业<strong>人事变动</strong>。</span></p></section>"
    page = make_article_html(title, "轻金融", BIZ, 2247497639, 1, SN, CT, body, author="小李")
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


def test_convert_prints_markdown_with_front_matter_to_stdout(tmp_path, capsys):
    code, out, err = harvester(capsys, "convert", str(saved_page(tmp_path)))
    assert (code, err) == (0, "")
    front = yaml.safe_load(out.split("---\n")[1])
    assert front["title"] == "两家大行行长空缺"
    assert front["account"] == "轻金融"
    assert front["author"] == "小李"
    assert front["date"].isoformat() == "2020-12-24T22:02:00+08:00"
    assert "银行业**人事变动**。" in out


def test_convert_json_has_the_contract_fields(tmp_path, capsys):
    source = saved_page(tmp_path)
    code, out, _ = harvester(capsys, "convert", "--json", str(source))
    record = json.loads(out)
    assert code == 0
    assert {k: record[k] for k in ("source", "kind", "title", "account", "published_at")} == {
        "source": str(source),
        "kind": "article",
        "title": "两家大行行长空缺",
        "account": "轻金融",
        "published_at": "2020-12-24T22:02:00+08:00",
    }
    assert (record["biz"], record["mid"], record["idx"], record["sn"]) == (
        BIZ,
        "2247497639",
        "1",
        SN,
    )
    assert record["url"] == f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247497639&idx=1&sn={SN}"
    assert record["markdown"].startswith("---\ntitle:")


def test_convert_json_gives_a_non_article_its_kind_and_nulls(tmp_path, capsys):
    source = tmp_path / "deleted.html"
    source.write_text(notice_html("该内容已被发布者删除"), encoding="utf-8")
    code, out, err = harvester(capsys, "convert", "--json", str(source))
    record = json.loads(out)
    assert code == 1  # as without --json, and named the same way
    assert err == (
        f"harvester: {source}: deleted page, nothing to convert "
        "(the article was deleted by its author)\n"
    )
    assert record["kind"] == "deleted"
    assert {k for k, v in record.items() if v is not None} == {"source", "kind"}


def test_convert_reports_a_non_article_in_one_line_with_exit_1(tmp_path, capsys):
    source = tmp_path / "deleted.html"
    source.write_text(notice_html("该内容已被发布者删除"), encoding="utf-8")
    code, out, err = harvester(capsys, "convert", str(source))
    assert (code, out) == (1, "")
    assert err == (
        f"harvester: {source}: deleted page, nothing to convert "
        "(the article was deleted by its author)\n"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not HTML or Markdown"),
        (b"\xff\xfe\xfa garbage \xc3", "not UTF-8 text and no usable <meta charset>"),
        (b"<html><head><title>x</title></head><body><div id=js_content>", "truncated page"),
        (b"<html><body><p>hello, world</p></body></html>", "no WeChat article content found"),
    ],
)
def test_unusable_input_is_a_one_line_error_with_exit_1(tmp_path, capsys, content, reason):
    source = tmp_path / "bad.html"
    source.write_bytes(content)
    code, out, err = harvester(capsys, "convert", str(source))
    assert (code, out) == (1, "")
    assert err.startswith(f"harvester: {source}: {reason}")
    assert err.count("\n") == 1


def test_missing_source_is_named_and_the_others_still_convert(tmp_path, capsys):
    good = saved_page(tmp_path)
    code, out, err = harvester(capsys, "convert", str(tmp_path / "nope.html"), str(good))
    assert code == 1
    assert err == f"harvester: {tmp_path / 'nope.html'}: no such file or folder\n"
    assert "两家大行行长空缺" in out


def test_directory_as_source_is_a_usage_error(tmp_path, capsys):
    code, _, err = harvester(capsys, "convert", str(tmp_path))
    assert code == 2
    assert err == f"harvester: {tmp_path}: is a directory, not a file\n"


def test_out_dir_writes_each_article_under_account_and_year(tmp_path, capsys):
    first = saved_page(tmp_path, "one.html", "第一篇")
    second = saved_page(tmp_path, "two.html", "第二篇")
    out_dir = tmp_path / "site"
    code, out, _ = harvester(capsys, "convert", str(first), str(second), "--out-dir", str(out_dir))
    assert (code, out) == (0, "")
    written = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.md"))
    assert len(written) == 2
    assert all(p.startswith("articles/轻金融/2020/2020-12-24-第") for p in written)


def test_out_dir_rewrites_nothing_when_converting_again(tmp_path, capsys):
    source = saved_page(tmp_path)
    out_dir = tmp_path / "site"
    harvester(capsys, "convert", str(source), "--out-dir", str(out_dir))
    [written] = out_dir.rglob("*.md")
    before = written.stat().st_mtime_ns
    harvester(capsys, "convert", str(source), "--out-dir", str(out_dir))
    assert written.stat().st_mtime_ns == before


def test_convert_without_sources_is_a_usage_error(capsys):
    code, _, err = harvester(capsys, "convert")
    assert code == 2
    assert "Missing argument 'SOURCES...'" in err


@pytest.mark.skipif(shutil.which("hugo") is None, reason="hugo is not installed")
def test_converted_files_are_read_by_hugo_as_they_are(tmp_path, capsys):
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "/"\n', encoding="utf-8")
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text("{{ .Title }}{{ .Content }}", encoding="utf-8")
    (layouts / "list.html").write_text("{{ range .Pages }}{{ .Title }}{{ end }}", encoding="utf-8")
    harvester(capsys, "convert", str(saved_page(tmp_path)), "--out-dir", str(site / "content"))
    built = subprocess.run(
        ["hugo", "-s", str(site), "-d", str(tmp_path / "public")],
        capture_output=True,
        text=True,
        env={**os.environ, "HUGO_CACHEDIR": str(tmp_path / "cache")},
    )
    assert built.returncode == 0, built.stderr
    assert "WARN" not in built.stdout + built.stderr
    assert "ERROR" not in built.stdout + built.stderr
    [page] = (tmp_path / "public" / "articles" / "轻金融" / "2020").glob("*/index.html")
    assert "银行业<strong>人事变动</strong>。" in page.read_text(encoding="utf-8")
