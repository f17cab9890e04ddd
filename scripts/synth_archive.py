"""Synthetic WeChat archives for the scale benchmark (scripts/bench.py --only scale).

Realistic Chinese + Latin article text from a fixed-seed generator, written straight into
an archive index through `archive.index.save_article` (the function `harvester import`
ends in), so 100,000 articles take minutes instead of the hours a real import would.

The text model: ~1,000 common Chinese characters in rough frequency order; a vocabulary
of 30,000 "words" of 1–4 characters drawn from them (Zipf over the characters); each
article draws its words Zipf-wise from the vocabulary (rank 0 most common), with Latin
terms, numbers, Chinese punctuation, headings, bold runs, images and links mixed in, and a
body of 3–10 KB of UTF-8 text, like real articles. Because the vocabulary is Zipfian,
a word's rank sets how many articles contain it, so 2- and 4-character queries can be
picked from common (thousands of articles) to selective (a few dozen): see `queries()`.

Article `i` depends only on (seed, i), so the archive at 10k is exactly the first 10k of
the archive at 100k and builds can be grown in steps.

What one `add()` writes (the same rows `Archive.save` writes for `import --no-images`):
the `accounts` upsert, the `articles` row (with its Markdown body as `body_text`), one
`revisions` row, the `articles_search` shadow row and its FTS5 entry, one
`article_images` row per image (status "missing": not downloaded), each article in its
own savepoint and one transaction per COMMIT_EVERY articles, as the import commits. It
does NOT write the Markdown files or the raw captures (the import benchmark measures
those), except for articles chosen as a
`rebuild` sample: those get a raw capture (a seed-format page) so that `harvester
rebuild`, which only re-converts articles with a raw capture, works on exactly them.

Standalone: python scripts/synth_archive.py OUT_DIR --count 10000 [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.files import store_raw  # noqa: E402
from archive.index import ImageEntry, open_index, save_article, save_images  # noqa: E402
from archive.names import article_relpath  # noqa: E402
from harvester.jobs import COMMIT_EVERY  # noqa: E402
from harvester.model import Page  # noqa: E402

CHINA = timezone(timedelta(hours=8))
DEFAULT_SEED = 20260126
VOCABULARY_SIZE = 30_000
TAIL_CHARS = 1_800
TOPICS = 24  # each article is about one topic: its words come up far more often there
TOPIC_WORDS = 30
TOPIC_SHARE = 0.08

# Common characters, most frequent first (roughly: the order only shapes the Zipf curve).
COMMON_CHARS = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下"
    "自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部"
    "其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又"
    "关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯"
    "月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入"
    "几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管"
    "期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像"
    "难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今"
    "切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令"
    "准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚"
    "请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早"
    "曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽"
    "推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴"
    "例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻"
    "父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普"
    "怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险"
    "待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策"
    "演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压"
    "银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛"
    "托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮"
    "露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋"
    "画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸"
    "予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒"
    "烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇"
    "肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸"
    "扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸"
    "毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊"
    "吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵尾俗纷胞蛋酸糖"
    "肿瘤癌症疫苗抗体蛋白基因突变表达细胞神经元修复再生肾脏肝脏骨髓免疫炎症信号通路受体酶"
    "序列测定组学转录翻译代谢脂肪氨基核酸染色体克隆载体质粒探针芯片显微镜荧光标记样本队列"
)

# The most frequent words of real articles lead the vocabulary (rank 0 first), so the most
# common characters are as common as in real text (的 about 4% of the characters).
_TOP_WORDS = (
    "的 是 在 和 了 有 一个 我们 这 也 中 对 为 与 以 及 等 从 而 并 将 被 可以 进行 通过 研究 "
    "数据 分析 细胞 基因 表达 结果 方法 使用 如果 我 你 他 不 就 都 会 说 上 下 到 后 时 没有 "
    "因为 所以 但是 这个 那么 自己 什么 如何 之 其 于 此 则 由 该 各 一些 已经 需要 其中 发现"
)
TOP_WORDS = _TOP_WORDS.split()

LATIN_TERMS = (
    "PTEN", "RNA-seq", "scRNA", "CRISPR", "Cas9", "GWAS", "PCR", "qPCR", "DNA", "mRNA",
    "Python", "GitHub", "Seurat", "Scanpy", "R", "Bioconductor", "GEO", "NCBI", "PubMed",
    "Nature", "Cell", "Science", "Lancet", "JAMA", "NEJM", "AI", "GPT", "LLM", "Transformer",
    "Docker", "Linux", "conda", "pip", "API", "JSON", "SQL", "SQLite", "UMAP", "t-SNE", "PCA",
    "p-value", "FDR", "logFC", "Wnt", "Notch", "Hedgehog", "TGF-β", "IL-6", "TNF", "p53",
    "KRAS", "EGFR", "HER2", "BRCA1", "CD8", "CD4", "T细胞", "B细胞", "NK", "iPSC", "ESC",
    "Büngner", "Schwann", "Ranvier", "Golgi", "Hox", "Sox2", "Oct4", "Nanog", "Myc", "Klf4",
)  # fmt: skip

ACCOUNTS = (
    ("生信菜鸟团", 5.0),
    ("Neuronlink", 3.0),
    ("BioArt", 2.0),
    ("医学影像前沿", 1.0),
    ("代码与数据", 1.0),
    ("科研小助手", 0.5),
)
PUNCT_END = "。。。。！？；"
PUNCT_MID = "，，，，、：“”（）"


def _dedupe_cjk(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            seen.setdefault(ch, None)
    return list(seen)


def _zipf_cum(n: int, s: float, q: float = 0.0) -> list[float]:
    """Cumulative Zipf–Mandelbrot weights 1/(rank+1+q)^s for ranks 0..n-1."""
    return list(itertools.accumulate(1.0 / (rank + 1 + q) ** s for rank in range(n)))


def _b64ish(rng: random.Random, n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


@dataclass
class SynthArticle:
    index: int
    key: str
    biz: str
    mid: str
    idx: str
    sn: str
    title: str
    account: str
    author: str
    published_at: datetime
    fetched_at: datetime
    digest: str
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    images: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return (
            f"https://mp.weixin.qq.com/s?__biz={self.biz}&mid={self.mid}"
            f"&idx={self.idx}&sn={self.sn}"
        )

    def markdown(self) -> str:
        out = []
        for kind, text in self.blocks:
            if kind == "h":
                out.append(f"## {text}")
            elif kind == "img":
                out.append(f"![]({text})")
            else:
                out.append(text)
        return "\n\n".join(out) + "\n"

    def body_html(self, *, images: bool = True) -> str:
        """WeChat-style markup: nested <section>/<p>/<span leaf>, lazy <img data-src>."""
        parts = ['<div class="rich_media_content" id="js_content">']
        for kind, text in self.blocks:
            if kind == "img" and not images:
                continue
            if kind == "h":
                parts.append(
                    '<section style="margin-top:24px;"><h2 style="font-size:17px;">'
                    f'<span leaf="">{html.escape(text)}</span></h2></section>'
                )
            elif kind == "img":
                parts.append(
                    '<section style="text-align:center;"><p style="text-align:center;">'
                    '<img class="rich_pages wxw-img" data-ratio="0.75" data-s="300,640" '
                    f'data-src="{html.escape(text)}" data-type="jpeg" data-w="1080" '
                    'style="width:100% !important;height:auto !important;"></p></section>'
                )
            else:
                parts.append(
                    '<section style="margin:0 8px;"><p style="line-height:1.75em;'
                    f'margin-bottom:16px;">{_inline_html(text)}</p></section>'
                )
        parts.append("</div>")
        return "".join(parts)

    def seed_file(self) -> str:
        """The article as a seed-format file (what `import` stores as the raw capture)."""
        date = self.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f'---\ntitle: "{self.title}"\ndate: {date}\ndraft: ["false"]\n'
            f'tags: [\n  "fetched",\n  "{self.account}"\n]\ncategories: ["Acdemic"]\n---\n'
            f"{self.title} by {self.account}\n------\n{self.body_html()}  \n"
            f'<hr>\n<a href="{self.url}",target="_blank" rel="noopener noreferrer">原文链接</a>\n'
        )


def _inline_html(text: str) -> str:
    """A paragraph's Markdown-ish inline text (**bold**, [t](u)) as WeChat spans."""
    out = []
    for n, piece in enumerate(text.split("**")):
        if not piece:
            continue
        if "](" in piece and piece.startswith("["):
            label, _, rest = piece[1:].partition("](")
            url = rest.rstrip(")")
            span = (
                f'<a href="{html.escape(url)}" target="_blank">'
                f'<span leaf="">{html.escape(label)}</span></a>'
            )
        else:
            span = f'<span style="font-size:15px;" leaf="">{html.escape(piece)}</span>'
        out.append(f"<strong>{span}</strong>" if n % 2 else span)
    return "".join(out)


class TextModel:
    """The fixed-seed vocabulary and the article generator."""

    def __init__(self, seed: int = DEFAULT_SEED, vocabulary_size: int = VOCABULARY_SIZE) -> None:
        self.seed = seed
        rng = random.Random(seed)
        common = _dedupe_cjk(COMMON_CHARS)
        # a tail of rarer characters (a fixed pick from the CJK block), as real text has
        known = set(common)
        tail = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in known]
        random.Random(seed + 1).shuffle(tail)
        self.chars = common + tail[:TAIL_CHARS]
        char_cum = _zipf_cum(len(self.chars), 1.0, q=10.0)
        words: dict[str, None] = dict.fromkeys(TOP_WORDS)
        lengths, length_weights = (1, 2, 3, 4), (0.12, 0.58, 0.18, 0.12)
        while len(words) < vocabulary_size:
            n = rng.choices(lengths, length_weights)[0]
            word = "".join(rng.choices(self.chars, cum_weights=char_cum, k=n))
            words.setdefault(word, None)
        self.words = list(words)
        self.word_cum = _zipf_cum(len(self.words), 1.0, q=1.5)
        topic_rng = random.Random(seed + 2)
        self.topics = [topic_rng.sample(self.words[100:3000], TOPIC_WORDS) for _ in range(TOPICS)]
        self.accounts = [name for name, _ in ACCOUNTS]
        self.account_cum = list(itertools.accumulate(w for _, w in ACCOUNTS))
        self.biz = {
            name: "MzI" + hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:10].upper() + "=="
            for name in self.accounts
        }

    # -- queries

    def word_doc_share(self, rank: int, words_per_doc: int = 1100) -> float:
        """Expected share of articles containing vocabulary word `rank` (as a word)."""
        p = (self.word_cum[rank] - (self.word_cum[rank - 1] if rank else 0.0)) / self.word_cum[-1]
        return 1.0 - (1.0 - p) ** words_per_doc

    def queries(self, length: int, shares: tuple[float, ...] = (0.2, 0.03, 0.005)) -> list[str]:
        """Vocabulary words of `length` characters found in about `shares` of the articles.

        Common to selective: e.g. one word in ~20% of articles, one in ~3%, one in ~0.5%;
        then a topical word (frequent in the ~4% of articles about its topic). More
        articles contain the characters side by side by chance, inside other words: the
        benchmark reports the actual hit counts.
        """
        picked: list[str] = []
        for share in shares:
            best = None
            for rank, word in enumerate(self.words):
                if len(word) != length or word in picked:
                    continue
                error = abs(self.word_doc_share(rank) - share)
                if best is None or error < best[0]:
                    best = (error, word)
            if best:
                picked.append(best[1])
        for topic in self.topics:
            topical = [w for w in topic if len(w) == length and w not in picked]
            if topical:
                picked.append(topical[0])
                break
        return picked

    # -- articles

    def article(self, i: int) -> SynthArticle:
        rng = random.Random(self.seed * 1_000_003 + i)
        account = rng.choices(self.accounts, cum_weights=self.account_cum)[0]
        biz = self.biz[account]
        mid = str(2_247_400_000 + i)
        idx = str(1 + rng.randrange(3))
        sn = hashlib.md5(f"{self.seed}:{i}".encode()).hexdigest()
        published = datetime(2018, 1, 1, 8, tzinfo=CHINA) + timedelta(
            seconds=i * 2400 + rng.randrange(1800)
        )
        fetched = published.astimezone(UTC) + timedelta(days=1 + rng.randrange(300))
        topic = self.topics[rng.randrange(TOPICS)]
        target_bytes = rng.randrange(3_000, 10_000)
        blocks: list[tuple[str, str]] = []
        images: list[str] = []
        size = 0
        while size < target_bytes:
            roll = rng.random()
            if roll < 0.08:
                text = self._phrase(rng, rng.randrange(2, 6))
                blocks.append(("h", text))
            elif roll < 0.16:
                url = (
                    "https://mmbiz.qpic.cn/mmbiz_jpg/"
                    f"{_b64ish(rng, 40)}/640?wx_fmt=jpeg&from=appmsg"
                )
                images.append(url)
                blocks.append(("img", url))
                text = url
            else:
                text = self._paragraph(rng, topic)
                blocks.append(("p", text))
            size += len(text.encode("utf-8"))
        title = self._phrase(rng, rng.randrange(2, 8)) + rng.choice(topic)
        paragraphs = [text for kind, text in blocks if kind == "p"]
        digest = (paragraphs[0] if paragraphs else title)[:54].replace("**", "")
        return SynthArticle(
            index=i,
            key=f"{biz}:{mid}:{idx}",
            biz=biz,
            mid=mid,
            idx=idx,
            sn=sn,
            title=title,
            account=account,
            author=rng.choice(("", "小编", "张三", "Li Wei", "编辑部")),
            published_at=published,
            fetched_at=fetched,
            digest=digest,
            blocks=blocks,
            images=images,
        )

    def _phrase(self, rng: random.Random, n_words: int) -> str:
        return "".join(rng.choices(self.words, cum_weights=self.word_cum, k=n_words))

    def _paragraph(self, rng: random.Random, topic: list[str]) -> str:
        sentences = []
        for _ in range(rng.randrange(2, 7)):
            n = rng.randrange(6, 22)
            words = rng.choices(self.words, cum_weights=self.word_cum, k=n)
            out = []
            for w in words:
                roll = rng.random()
                if roll < 0.05:
                    out.append(f" {rng.choice(LATIN_TERMS)} ")
                elif roll < 0.065:
                    out.append(str(rng.randrange(1, 2030)))
                elif roll < 0.12:
                    out.append(rng.choice(PUNCT_MID))
                out.append(rng.choice(topic) if rng.random() < TOPIC_SHARE else w)
            sentence = "".join(out).strip() + rng.choice(PUNCT_END)
            if rng.random() < 0.1:
                sentence = f"**{sentence}**"
            sentences.append(sentence)
        if rng.random() < 0.05:
            url = f"https://mp.weixin.qq.com/s/{_b64ish(rng, 22)}"
            sentences.append(f"[{self._phrase(rng, 3)}]({url})")
        return "".join(sentences)


@dataclass
class BuildStats:
    articles: int = 0
    seconds: float = 0.0  # time inside the index writes only (generation excluded)
    generate_seconds: float = 0.0
    raw_seconds: float = 0.0
    sample: list[str] = field(default_factory=list)


def build(
    root: Path,
    model: TextModel,
    start: int,
    stop: int,
    *,
    sample_every: int = 0,
    stats: BuildStats | None = None,
) -> BuildStats:
    """Add articles start..stop-1 to the archive at `root` (creating it).

    Every `sample_every`-th article (0: none) also gets its raw capture, and its key is
    listed in `stats.sample` (a rebuild sample). Timing excludes text generation.
    """
    stats = stats or BuildStats()
    db = open_index(root / "archive.db")
    try:
        for i in range(start, stop):
            if (i - start) % COMMIT_EVERY == 0:
                db.conn.execute("BEGIN IMMEDIATE")
            t0 = time.perf_counter()
            art = model.article(i)
            body = art.markdown()
            page = Page(
                kind="article",
                title=art.title,
                account=art.account,
                author=art.author or None,
                published_at=art.published_at,
                url=art.url,
                biz=art.biz,
                mid=art.mid,
                idx=art.idx,
                sn=art.sn,
                digest=art.digest,
                cover=art.images[0] if art.images else None,
                original=bool(i % 3 == 0),
                fetched_at=art.fetched_at,
                tags=["fetched", art.account],
                categories=["Acdemic"],
            )
            md_path = article_relpath(art.account, art.published_at, art.title, art.key)
            digest = hashlib.sha256(f"{art.title}\0{body}".encode()).hexdigest()
            entries = [
                ImageEntry(n, url, image=None, error="not downloaded (--no-images)")
                for n, url in enumerate(art.images)
            ]
            raw_path = None
            t1 = time.perf_counter()
            if sample_every and i % sample_every == sample_every // 2:
                raw = art.seed_file().encode("utf-8")
                raw_path = store_raw(root, art.biz, art.mid, art.idx, art.fetched_at, raw)
                stats.sample.append(art.key)
            t2 = time.perf_counter()
            with db.atomic():
                save_article(
                    db,
                    page,
                    key=art.key,
                    md_path=md_path,
                    content_hash=digest,
                    body_text=body,
                    raw_path=raw_path,
                    fetched_at=art.fetched_at,
                )
                save_images(db, art.key, entries)
            if (i - start) % COMMIT_EVERY == COMMIT_EVERY - 1 or i == stop - 1:
                db.conn.execute("COMMIT")
            t3 = time.perf_counter()
            stats.generate_seconds += t1 - t0
            stats.raw_seconds += t2 - t1
            stats.seconds += t3 - t2
            stats.articles += 1
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
        db.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="archive folder to create or grow")
    parser.add_argument("--count", type=int, default=10_000, help="articles in the archive")
    parser.add_argument("--start", type=int, default=0, help="first article number to add")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--raw-every", type=int, default=0, help="give every Nth article a raw capture"
    )
    args = parser.parse_args(argv)
    model = TextModel(args.seed)
    stats = build(args.out, model, args.start, args.count, sample_every=args.raw_every)
    per = 1000 * stats.seconds / max(1, stats.articles)
    print(
        f"{stats.articles} articles into {args.out / 'archive.db'} in {stats.seconds:.1f} s "
        f"of index writes ({per:.2f} ms/article; generation {stats.generate_seconds:.1f} s)"
    )
    for length in (2, 4):
        print(f"{length}-character queries: {' '.join(model.queries(length))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
