"""The yardstick over real articles: `harvester convert --out-dir` on the whole mp_duty corpus
and the served article fixtures, scored by ../shared/tools/fidelity.py (an independent tool)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus" / "mp_duty"
FIXTURES = SHARED / "fixtures" / "wechat"
FIDELITY = SHARED / "tools" / "fidelity.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CORPUS.is_dir() and FIXTURES.is_dir() and FIDELITY.is_file()),
        reason="../shared (corpus, fixtures, tools/fidelity.py) is not beside this checkout",
    ),
]


@pytest.fixture(scope="module")
def fidelity_summary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out_dir = tmp_path_factory.mktemp("converted")
    sources = sorted(CORPUS.glob("[0-9a-f]*.md")) + sorted(FIXTURES.glob("article-*.html"))
    command = [sys.executable, "-m", "harvester.cli", "convert", "--json", "--out-dir"]
    converted = subprocess.run(
        [*command, str(out_dir), *map(str, sources)],
        capture_output=True,
        text=True,
        check=False,
    )
    records = [json.loads(line) for line in converted.stdout.splitlines()]
    pairs = [(r["source"], r["path"]) for r in records if r["path"]]
    [bare] = [r["source"] for r in records if not r["path"]]
    assert [r["kind"] for r in records if not r["path"]] == ["link"]
    # the corpus's one bare link is named, and makes the exit 1 (as without --json)
    assert (converted.returncode, converted.stderr) == (
        1,
        f"harvester: {bare}: link page, nothing to convert (a bare link request that was "
        "never fetched; fetch it with `harvester fetch`)\n",
    )
    assert len(pairs) == len(sources) - 1
    listing = out_dir / "pairs.tsv"
    listing.write_text("".join(f"{s}\t{m}\n" for s, m in pairs), encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(FIDELITY), "--pairs", str(listing)],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(scored.stdout)
    print(json.dumps(summary, ensure_ascii=False))
    return summary


def test_text_recall_is_near_perfect_on_every_page(fidelity_summary):
    assert fidelity_summary["recall_mean"] >= 0.9995
    assert fidelity_summary["recall_min"] >= 0.99


def test_text_precision_does_not_fall_below_its_last_measure(fidelity_summary):
    # 0.98031 with the embed details (issue 13, kept as alt text and link titles, which a
    # reader meets without text the page does not show), 0.97954 once formulas are kept as
    # TeX: the yardstick finds none of their 1,858 characters (5 pages, 30 formulas) in the
    # source, which draws them as SVG glyphs; the other 534 pages score as before.
    assert fidelity_summary["precision_mean"] >= 0.9795


@pytest.mark.parametrize(
    "element", ["images", "links", "headings", "list_items", "code_blocks", "tables"]
)
def test_structure_is_kept(fidelity_summary, element):
    assert fidelity_summary["kept"][element] >= 0.995


def test_bold_is_kept(fidelity_summary):
    assert fidelity_summary["kept"]["bold"] >= 0.99


def test_output_has_no_junk(fidelity_summary):
    assert set(fidelity_summary["junk_total"].values()) == {0}
    assert fidelity_summary["pages_with_junk"] == 0
