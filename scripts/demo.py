"""The offline demo: a fake WeChat on 127.0.0.1 serving a few sample articles, archived by
`harvester fetch` through HARVESTER_RELAY exactly as a user's caching relay would be used."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fakewechat import FakeWeChat, make_article_html  # noqa: E402

BIZ = "MzkxODY4NDEwMA=="
ACCOUNT = "神经科学札记"
SAMPLES = [
    (
        "神经修复与再生：从分子到系统",
        "<h2>一、核心概念</h2>"
        "<p><strong>神经修复</strong>：损伤后神经功能的恢复，可能通过<strong>可塑性</strong>实现。</p>"
        "<p><strong>神经再生</strong>：受损轴突在结构上重新生长并建立功能性连接。</p>"
        "<ol><li><p>华勒变性：远端轴突崩解。</p></li><li><p>施旺细胞形成 Büngner带。</p></li></ol>",
        ("repair-1", "repair-2"),
    ),
    (
        "用 Python 读取单细胞数据",
        "<p>下面的代码读取一个 <code>h5ad</code> 文件：</p>"
        '<pre class="code-snippet__js" data-lang="python"><code>import scanpy as sc</code>'
        "<code>adata = sc.read_h5ad(&quot;pbmc.h5ad&quot;)</code><code>print(adata)</code></pre>"
        "<table><tr><th>基因</th><th>表达</th></tr><tr><td>PTEN</td><td>高</td></tr></table>",
        ("code-1",),
    ),
    (
        "2026 神经调控十大研究进展",
        "<blockquote><p>本文整理自公开报道。</p></blockquote>"
        '<p>延伸阅读：<a href="https://mp.weixin.qq.com/s?__biz=MzkxODY4NDEwMA==&amp;mid=2247490001'
        '&amp;idx=1&amp;sn=00000000000000000000000000000001#rd">神经修复与再生：从分子到系统</a></p>',
        ("progress-1", "progress-2", "progress-3"),
    ),
]


def serve_samples(fake: FakeWeChat) -> list[str]:
    links = []
    for number, (title, body, images) in enumerate(SAMPLES, start=1):
        urls = [f"https://mmbiz.qpic.cn/mmbiz_png/{name}/640?wx_fmt=png" for name in images]
        for url in urls:
            fake.add_image(url, size=(480, 270))
        mid, sn = 2247490000 + number, f"{number:032x}"
        page = make_article_html(
            title, ACCOUNT, BIZ, mid, 1, sn, 1767225600 + number * 86400, body, urls
        )
        links.append(fake.add_article(BIZ, mid, 1, sn, page, short_id=f"demo{number}"))
    return links


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive", default=str(REPO / "demo-archive"))
    archive = parser.parse_args().archive
    with FakeWeChat() as fake:
        links = serve_samples(fake)
        links[0] = "https://mp.weixin.qq.com/s/demo1"
        print(f"fake WeChat serving {len(links)} sample articles at {fake.base_url}")
        env = {**os.environ, "HARVESTER_RELAY": fake.relay_env(), "HARVESTER_RATE": "20"}
        command = [sys.executable, "-m", "harvester.cli", "fetch", *links, "--archive", archive]
        print("$ HARVESTER_RELAY=… harvester fetch <3 links> --archive", archive, flush=True)
        status = subprocess.call(command, env=env)
    if status == 0:
        print(f"\nThe archive is in {archive}: Markdown under articles/, images under images/.")
        print(f"Browse and search it:  .venv/bin/harvester serve --archive {archive}")
        print(f"Search from the shell: .venv/bin/harvester search 神经 --archive {archive}")
    return status


if __name__ == "__main__":
    sys.exit(main())
