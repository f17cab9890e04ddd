"""What the commands print for people never lets a page or file act on the terminal:
escape sequences, control characters and bidi controls are shown as their escapes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

import pytest
from archive_builder import HARVESTER, harvester
from test_archiving import seed_file

from archive.terminal import one_line, terminal_safe

OSC_TITLE = "\x1b]0;pwned\x07"  # sets the terminal window's title
SHOWN_OSC_TITLE = "\\x1b]0;pwned\\x07"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"标题{OSC_TITLE}\x1b[31m红", f"标题{SHOWN_OSC_TITLE}\\x1b[31m红"),
        ("a\x9b2Jb", "a\\x9b2Jb"),  # the one-byte CSI of C1
        ("行\r覆盖\x08\x7f", "行\\x0d覆盖\\x08\\x7f"),
        ("\u202eabc\u202c \u2066x\u2069", "\\u202eabc\\u202c \\u2066x\\u2069"),
        ("神经修复 PTEN\t表\n下一行", "神经修复 PTEN\t表\n下一行"),
        ("", ""),
    ],
    ids=["osc-and-csi", "c1-csi", "cr-backspace-del", "bidi", "plain-text-kept", "empty"],
)
def test_terminal_safe_writes_what_a_terminal_acts_on_as_escapes(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


def test_one_line_writes_line_breaks_as_escapes_too() -> None:
    assert one_line("标题\n第二行\u2028第三\u2029段\t表\x1b") == (
        "标题\\x0a第二行\\u2028第三\\u2029段\t表\\x1b"
    )


def cut_seed(folder: Path, name: str) -> Path:
    """A seed file cut short (no footer): a failure that names the file."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('---\ntitle: "x"\n---\nx by y\n------\n<p>cut', encoding="utf-8")
    return path


FAILURE = "truncated: the closing '<hr>' and 原文链接 footer are missing"


HOSTILE_NAMES = pytest.mark.parametrize(
    ("name", "shown"),
    [(f"e{OSC_TITLE}.md", f"e{SHOWN_OSC_TITLE}.md"), ("第一行\n第二行.md", "第一行\\x0a第二行.md")],
    ids=["escape-sequence", "line-break"],
)


@HOSTILE_NAMES
def test_a_failure_naming_a_hostile_file_is_one_line_showing_its_escapes(
    tmp_path: Path, name: str, shown: str
) -> None:
    seeds = tmp_path / "seeds"
    cut_seed(seeds, name)
    result = harvester("import", str(seeds), "--archive", str(tmp_path / "archive"))
    assert result.returncode == 1
    assert result.stderr == f"harvester: {seeds}/{shown}: {FAILURE}\n"


@HOSTILE_NAMES
def test_a_harvest_warning_naming_a_hostile_file_is_one_line_showing_its_escapes(
    tmp_path: Path, name: str, shown: str
) -> None:
    seeds = tmp_path / "seeds"
    cut_seed(seeds, name)
    config = tmp_path / "harvester.toml"
    config.write_text('archive = "archive"\n[[sources]]\nkind = "seed"\npath = "seeds"\n')
    result = harvester("harvest", "--config", str(config))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"harvester: warning: {shown}: {FAILURE}; skipped\n"


def on_a_terminal(*args: str, timeout: float = 60) -> tuple[int, str]:
    """The harvester with stdout and stderr on a pseudo-terminal: its code and all it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([*HARVESTER, *args], stdout=follower, stderr=follower)
    os.close(follower)
    written = b""
    try:
        while select.select([leader], [], [], timeout)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end closed (Linux)
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(leader)
        code = process.wait(timeout=timeout)
    return code, written.decode("utf-8", errors="replace")


def test_the_progress_bar_shows_a_hostile_path_as_text(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    cut_seed(seeds, f"x[/b]e{OSC_TITLE}.md")  # `[/b]`: markup to rich, a crash if read so
    code, written = on_a_terminal("import", str(seeds), "--archive", str(tmp_path / "archive"))
    assert code == 1
    assert "Traceback" not in written
    assert "import " + f"{seeds}/x[/b]e{SHOWN_OSC_TITLE}.md"[-40:] in written  # its last 40
    assert "\x1b]" not in written and "\x07" not in written
    assert f"harvester: {seeds}/x[/b]e{SHOWN_OSC_TITLE}.md: {FAILURE}\r\n" in written


def test_the_harvest_progress_bar_shows_a_title_as_text(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed_file(seeds, "标题[/b]结束", "AAA111", ())  # `[/b]`: markup to rich, a crash if read so
    config = tmp_path / "harvester.toml"
    config.write_text('archive = "archive"\n[[sources]]\nkind = "seed"\npath = "seeds"\n')
    code, written = on_a_terminal("harvest", "--config", str(config))
    assert code == 0
    assert "Traceback" not in written
    assert "harvest 标题[/b]结束" in written


def test_convert_prints_a_hostile_body_without_escapes_on_a_terminal_and_as_written_when_piped(
    tmp_path: Path,
) -> None:
    seed = seed_file(tmp_path, "标题", "AAA111", ())
    seed.write_text(seed.read_text().replace("的正文。", f"的正文{OSC_TITLE}。"))
    piped = harvester("convert", str(seed))
    written_file = harvester("convert", str(seed), "--out-dir", str(tmp_path / "out"))
    assert (piped.returncode, written_file.returncode) == (0, 0)
    [markdown] = (tmp_path / "out").rglob("*.md")
    assert piped.stdout == markdown.read_text(encoding="utf-8")
    code, shown = on_a_terminal("convert", str(seed))
    assert code == 0
    assert "标题的正文" in shown
    assert "\x1b" not in shown and "\x07" not in shown
