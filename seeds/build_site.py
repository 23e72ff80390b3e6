"""Writes seeds/site/ (the www.cxnews.cn replica) from seeds/articles.yaml and the templates below.

Run `python seeds/build_site.py` after editing either; the output is committed, and
tests/test_replica.py checks that it is what this script produces. Pages are written in the
charset seeds/manifest.yaml gives their path (one section list is GBK on purpose).
"""

from __future__ import annotations

import shutil
import struct
import sys
import zlib
from datetime import datetime
from html import escape
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
HOME = "http://www.cxnews.cn/"

# slug → (label, how list items print their date, list template). Order = order of the main nav.
SECTIONS: dict[str, tuple[str, str, str]] = {
    "cixi": ("慈溪新闻", "%Y-%m-%d %H:%M", "ul"),
    "minetong": ("民e通", "[%m-%d]", "ul"),
    "qiaocheng": ("桥城独家", "%Y-%m-%d", "ul"),
    "zhenjie": ("镇街部门", "%Y年%m月%d日", "ul"),
    "waimei": ("外媒聚焦", "%m-%d %H:%M", "ul"),
    "zhuanti": ("专题", "%Y-%m-%d", "ul"),
    "pinglun": ("桥城评论", "%Y/%m/%d", "ul"),
    "weibobao": ("微播报", "%m-%d %H:%M", "ul"),
    "caijing": ("财经要闻", "%Y-%m-%d", "ul"),
    "shehui": ("社会生活", "%Y-%m-%d", "table"),
    "video": ("桥城视频", "%Y-%m-%d", "ul"),
    # Reached from the top navigation line only.
    "msmdm": ("民生面对面", "%Y-%m-%d", "ul"),
    "wenhua": ("慈溪文化", "%Y-%m-%d", "ul"),
    "gailan": ("慈溪概览", "%Y-%m-%d", "ul"),
    "zhengwu": ("慈溪政务", "%Y-%m-%d", "ul"),
    "wenming": ("文明慈溪", "%Y-%m-%d", "ul"),
    "zuiduo": ("最多跑一次", "%Y-%m-%d", "ul"),
}
PAGE_SIZE = {"cixi": 5}
# List items that point off this host (the outlet's own copy of a story): counted, never fetched.
OFFSITE_ITEMS = {
    "waimei": [("http://www.cnnb.com.cn/system/2021/12/07/030312288.shtml",
                "中国宁波网:慈溪“共享法庭”覆盖全部村社", "2021-12-07 18:20")],
}  # cixi is the paginated list: index.shtml → index_2.shtml

# Hrefs as the site writes them: absolute, root-relative, with and without index.shtml.
NAV_HREFS = {
    "首页": "http://www.cxnews.cn/",
    "慈溪新闻": "http://www.cxnews.cn/cixi/",
    "民e通": "/minetong/index.shtml",
    "桥城独家": "http://www.cxnews.cn/qiaocheng/",
    "镇街部门": "/zhenjie/",
    "外媒聚焦": "http://www.cxnews.cn/waimei/index.shtml",
    "专题": "/zhuanti/",
    "桥城评论": "/pinglun/",
    "微播报": "/weibobao/",
    "财经要闻": "http://www.cxnews.cn/caijing/",
    "社会生活": "/shehui/",
    "桥城视频": "/video/",
}
TOP_NAV = [
    ("首页", "http://www.cxnews.cn/"), ("新闻中心", "http://www.cxnews.cn/cixi/"),
    ("民生面对面", "/msmdm/"), ("民e通", "/minetong/index.shtml"), ("慈溪文化", "/wenhua/"),
    ("慈溪概览", "/gailan/"), ("慈溪政务", "/zhengwu/"), ("文明慈溪", "/wenming/"),
    ("分类信息", "http://fenlei.cxnews.cn/"), ("最多跑一次", "/zuiduo/"), ("携手黔行", "http://www.cnnb.com.cn/qianxing/"),
]
EPAPERS = [
    ("慈溪日报", "http://epaper.cxnews.cn/"), ("宁波日报", "http://daily.cnnb.com.cn/nbrb/"),
    ("宁波晚报", "http://daily.cnnb.com.cn/nbwb/"), ("东南商报", "http://daily.cnnb.com.cn/dnsb/"),
    ("现代金报", "http://daily.cnnb.com.cn/xdjb/"), ("都市快报", "https://hzdaily.hangzhou.com.cn/dskb/"),
]
# The seed page's "24小时最新新闻": network-wide news, mostly on other hosts; two on this host
# (their pages do not exist here, as on a real site whose sidebar runs ahead of its archive).
NEWS_24H = [
    "寒潮来袭!浙江多举措应对极端天气 筑起...", "金华外贸总额首破万亿大关,成为全国第8...",
    "突破7万元大关,浙江全体居民人均可支配...", "2025年浙江GDP94545亿元", "浙江凭什么坐稳外贸“第三极”",
    "学习进行时|保障好广大农民群众基本医疗", "习言道|开局之年第一课,习近平这样强调",
    "一见·“在战略上保持定力,在战术上精心...", "新能源汽车外籍车主看中国“双碳”发展战略",
    "李在明:韩中领导人会谈成为推动两国关...", "海评面:“中国仍是世界经济增长的最大...",
    "增长目标顺利实现 创新生发新鲜动能—...", "好评中国丨“云端”年味浓,年货节澎湃...",
    "好评中国|风浪中“稳进新韧”,中国经...", "【好评中国】温情一“线”牵,春运暖归途",
    "万人入行,大山里的标注正“火热”", "【冰雪春天】习言道|推动冰雪运动、冰...",
    "学习·知行丨主讲“新年第一课”,习近平...", "时政新闻眼丨“十五五”开局之年,总书...",
    "年货市集火热开张!华润万家超市3000支...", "“新年第一课”,习近平这样强调", "冰雪春天|冰嬉雪趣 南北同欢",
    "初雪如约而至 市民踏雪而行", "寒冬里的“暖心礼包”", "学习卡丨习近平:党的二十届四中全会对...",
    "此行间·“开年第一课”,总书记强调了这...", "第一观察 | “十五五”开局之年第一课,...",
    "义乌年进出口规模首破8000亿大关!进口...", "浙江迎来雨雪天气!交警部门相继发布行...",
    "欢看“十五五”丨义乌“失手”造爆款 “...",
]
SAME_HOST_24H = {19, 22}  # 年货市集..., 初雪如约而至...
FOOTER = """<div class="footer">
<p><a href="/about/">关于我们</a> | <a href="/about/contact.shtml">联系我们</a> | <a href="/about/law.shtml">法律声明</a> | <a href="https://www.12377.cn/">不良信息举报</a>&nbsp;&nbsp;</p>
<p>主管:中共慈溪市委宣传部 承办:慈溪市融媒体中心 新闻总站:<a href="http://www.cnnb.com.cn/">中国宁波网</a></p>
<p><a href="https://beian.miit.gov.cn/">浙ICP备06028381号-1</a> Copyright(C) 2005-2024 www.CXnews.cn All Rights Reserved.</p>
</div>"""
OLD_FOOTER = """<table class="foot" width="1000" align="center"><tr><td align="center">
<a href="/about/">关于我们</a> | <a href="/about/contact.shtml">联系我们</a><br>
版权所有:慈溪新闻网 Copyright &copy; 2005-2021 浙ICP备06028381号-1<br>
主管:中共慈溪市委宣传部 新闻总站:中国宁波网
</td></tr></table>"""


def t(text: str) -> str:
    return escape(text, quote=False)


def a(href: str, text: str, **attrs: str) -> str:
    extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())
    return f'<a href="{escape(href)}"{extra}>{t(text)}</a>'


def when(article: dict) -> datetime:
    return datetime.strptime(article["time"], "%Y-%m-%d %H:%M")


def path_of(article: dict) -> str:
    d = when(article)
    return f"/system/{d:%Y/%m/%d}/{article['id']}.shtml"


def head(title: str, charset: str = "utf-8", extra: str = "") -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="{charset}" />
<title>{t(title)}</title>
<meta name="keywords" content="慈溪新闻网,慈溪日报,慈溪新闻" />
<link rel="stylesheet" href="/css/style.css" type="text/css" />{extra}
<script type="text/javascript" src="/js/common.js"></script>
</head>
"""


def header(editor: str | None = None) -> str:
    top = " | ".join(a(h, label) for label, h in TOP_NAV) + " |"
    nav_items = [a(NAV_HREFS[label], label) for label in
                 ("首页", "慈溪新闻", "民e通", "桥城独家", "镇街部门", "外媒聚焦", "专题", "桥城评论", "微播报")]
    nav_rest = [a(NAV_HREFS[label], label) for label in ("财经要闻", "社会生活", "桥城视频")]
    papers = " | ".join(a(h, name, target="_blank") for name, h in EPAPERS)
    bianji = f'\n<div class="bianji">责任编辑:{t(editor)}</div>' if editor else ""
    return f"""<body>
<div class="header">
<div class="topnav">{top}</div>
<div class="logobar">
<a class="logo" href="http://www.cxnews.cn/"><img src="/images/logo.png" alt="慈溪新闻网" /></a>{bianji}
<div class="baoliao"><p>报料热线:63012345</p><p>cxnews@yeah.net</p></div>
</div>
<div class="nav">{" | ".join(nav_items)} | | {" | ".join(nav_rest)}</div>
<div class="epaper"><p>数字电子报:</p><p>{papers}</p></div>
</div>
"""


def box_24h(list_tag: str = "div") -> str:
    items = []
    for i, text in enumerate(NEWS_24H):
        if i in SAME_HOST_24H:
            href = f"http://www.cxnews.cn/system/2026/01/2{i % 10}/0{31000000 + i * 137:08d}.shtml"
        elif i % 5 == 4:
            href = f"http://zjnews.zjol.com.cn/zjnews/202601/t2026012{i % 10}_{32000000 + i}.shtml"
        else:
            href = f"http://www.cnnb.com.cn/system/2026/01/2{i % 10}/0{30900000 + i * 211:08d}.shtml"
        items.append(f'<li>{a(href, text, target="_blank")}</li>')
    body = "\n".join(items)
    return f"""<{list_tag} class="box24">
<div class="tit">24小时最新新闻</div>
<ul>
{body}
</ul>
</{list_tag}>"""


def box_hot(articles: list[dict]) -> str:
    """"热点排行": same-host article links in the sidebar of list pages (a trap for link discovery)."""
    items = "\n".join(f'<li><em>{n}</em>{a(path_of(x), x["title"], target="_blank")}</li>'
                      for n, x in enumerate(articles, 1))
    return f'<div class="hot">\n<div class="tit">热点排行</div>\n<ul>\n{items}\n</ul>\n</div>'



def page_end(hot: list[dict]) -> str:
    """The right column (24小时 and 热点 boxes), the footer and the closing tags of list pages."""
    return f"""<div class="right">
{box_24h()}
{box_hot(hot)}
</div>
</div>
{FOOTER}
</body>
</html>
"""

def paragraphs(article: dict, indent: str, lazy_ok: bool = True) -> str:
    out = []
    for p in article["paragraphs"]:
        if isinstance(p, str):
            out.append(f"<p>{indent}{t(p)}</p>")
        elif "raw" in p:
            out.append(p["raw"])
        else:
            lazy = p.get("lazy")
            if lazy and lazy_ok:
                img = f'<img src="/images/blank.gif" {lazy}="{p["img"]}" alt="" />'
            else:
                img = f'<img src="{p["img"]}" border="0" alt="" />'
            out.append(f'<p style="text-align:center">{img}</p>\n<p class="pic_note" style="text-align:center">{t(p["caption"])}</p>')
    return "\n".join(out)


def cnnb_article(x: dict) -> str:
    d = when(x)
    heading = []
    if x.get("kicker"):
        heading.append(f'<div class="yinti">{t(x["kicker"])}</div>')
    heading.append(f"<h1>{t(x['title'])}</h1>")
    if x.get("subtitle"):
        heading.append(f'<div class="futi">{t(x["subtitle"])}</div>')
    byline = f'\n<p>\u3000\u3000{t(x["byline"])}</p>' if x.get("byline") else ""
    return (head(f"{x['title']}_慈溪新闻网") + header(x.get("editor_top")) + f"""<div class="main">
<div class="left">
<div class="heading">
{chr(10).join(heading)}
</div>
<div class="source"><span class="left">{d:%Y-%m-%d %H:%M}&nbsp;&nbsp;&nbsp;稿源:{t(x['source'])}</span></div>
<div id="Zoom">
{paragraphs(x, chr(0x3000) * 2)}{byline}
</div>
<div class="zrbj">&nbsp;&nbsp;&nbsp;责任编辑{t(x['editor'])}&nbsp;</div>
<div class="dayin">[<a href="javascript:window.print()">打印该文</a>] [<a href="javascript:window.close()">关闭窗口</a>]</div>
</div>
<div class="right">
{box_24h()}
</div>
</div>
{FOOTER}
</body>
</html>
""")


def table_article(x: dict, related: list[dict]) -> str:
    d = when(x)
    section = x["sections"][0]
    label = SECTIONS[section][0]
    subtitle = f'\n<tr><td class="subtitle" align="center">{t(x["subtitle"])}</td></tr>' if x.get("subtitle") else ""
    rel = "\n".join(f"<li>{a(path_of(r), r['title'])}</li>" for r in related)
    nav = " | ".join(a(NAV_HREFS[label], label) for label in NAV_HREFS)
    return (head(f"{x['title']}-慈溪新闻网", extra='\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />')
            + f"""<body topmargin="0">
<table class="top" width="1000" align="center" cellpadding="0" cellspacing="0"><tr>
<td class="logo" width="300"><a href="/"><img src="/images/logo.png" alt="慈溪新闻网" border="0" /></a></td>
<td class="menu">{nav}</td>
</tr></table>
<table class="main" width="1000" align="center" cellpadding="0" cellspacing="0"><tr>
<td class="leftcol" width="700" valign="top">
<table width="100%" cellpadding="4" cellspacing="0">
<tr><td class="weizhi">当前位置:{a("/", "首页")} &gt; {a(f"/{section}/", label)} &gt; 正文</td></tr>
<tr><td class="title" align="center">{t(x['title'])}</td></tr>{subtitle}
<tr><td class="info" align="center">{d.year}年{d.month}月{d.day}日 {d:%H:%M} 来源：{t(x['source'])} 作者：{t(x['author'])}</td></tr>
<tr><td class="content" id="content">
{paragraphs(x, "&nbsp;&nbsp;&nbsp;&nbsp;", lazy_ok=False)}
</td></tr>
<tr><td class="editor" align="right">责任编辑：{t(x['editor'])}</td></tr>
<tr><td class="tools" align="right">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr>
<tr><td class="xiangguan"><b>相关新闻</b>
<ul>
{rel}
</ul></td></tr>
</table>
</td>
<td class="rightcol" width="300" valign="top">
{box_24h("div")}
</td>
</tr></table>
{OLD_FOOTER}
</body>
</html>
""")


def list_items(slug: str, articles: list[dict], fmt: str, style: str, page: int) -> str:
    rows = []
    for i, x in enumerate(articles):
        # The site writes hrefs three ways; all must come out as one canonical URL.
        href = [path_of(x), "http://www.cxnews.cn" + path_of(x), ".." + path_of(x)][i % 3]
        date = when(x).strftime(fmt)
        if style == "table":
            rows.append(f'<tr><td class="bt">·{a(href, x["title"], target="_blank")}</td><td class="sj" width="90">{date}</td></tr>')
        else:
            rows.append(f'<li>{a(href, x["title"], target="_blank")}<span class="date">{date}</span></li>')
    body = "\n".join(rows)
    if page == 1:
        for href, title, stamp in OFFSITE_ITEMS.get(slug, []):
            date = datetime.strptime(stamp, "%Y-%m-%d %H:%M").strftime(fmt)
            body += f'\n<li>{a(href, title, target="_blank")}<span class="date">{date}</span></li>'
    if style == "table":
        return f'<table class="newslist" width="100%" cellpadding="3">\n{body}\n</table>'
    return f'<ul class="list">\n{body}\n</ul>'


def pager(slug: str, page: int, n_pages: int) -> str:
    if n_pages == 1:
        return ""

    def name(n: int) -> str:
        return "index.shtml" if n == 1 else f"index_{n}.shtml"

    parts = [a(name(1), "首页")]
    if page > 1:
        parts.append(a(name(page - 1), "上一页"))
    for n in range(1, n_pages + 1):
        parts.append(f"<span>{n}</span>" if n == page else a(name(n), str(n)))
    if page < n_pages:
        parts.append(a(name(page + 1), "下一页"))
    parts.append(a(name(n_pages), "尾页"))
    return f'\n<div class="page">{" ".join(parts)}</div>'


def list_page(slug: str, articles: list[dict], hot: list[dict], charset: str) -> dict[str, str]:
    label, fmt, style = SECTIONS[slug]
    size = PAGE_SIZE.get(slug, 20)
    chunks = [articles[i:i + size] for i in range(0, len(articles), size)] or [[]]
    pages = {}
    for n, chunk in enumerate(chunks, 1):
        name = "index.shtml" if n == 1 else f"index_{n}.shtml"
        pages[f"{slug}/{name}"] = (head(f"{label}_慈溪新闻网", charset) + header() + f"""<div class="main">
<div class="list_left">
<div class="weizhi">当前位置:{a("/", "首页")} &gt; {a(f"/{slug}/", label)}</div>
<div class="list_tit">{t(label)}</div>
{list_items(slug, chunk, fmt, style, n)}{pager(slug, n, len(chunks))}
</div>
{page_end(hot)}""")
    return pages


def home_page(articles: list[dict], hot: list[dict]) -> str:
    seed = next(x for x in articles if x.get("seed"))
    latest = "\n".join(f'<li>{a(path_of(x), x["title"], target="_blank")}<span>{when(x):%m-%d %H:%M}</span></li>'
                       for x in articles[:12])
    blocks = []
    for slug in ("cixi", "qiaocheng", "minetong"):
        label = SECTIONS[slug][0]
        items = "\n".join(f"<li>{a(path_of(x), x['title'])}</li>"
                          for x in [x for x in articles if slug in x["sections"]][:4])
        blocks.append(f"""<div class="block">
<div class="tit">{a(NAV_HREFS[label], label)}<span class="more">{a(NAV_HREFS[label], "更多>>")}</span></div>
<ul>
{items}
</ul>
</div>""")
    return head("慈溪新闻网") + header() + f"""<div class="main">
<div class="left">
<div class="focus">
<h2>{a(path_of(seed), seed['title'], target="_blank")}</h2>
<p>{t(seed['paragraphs'][0][:60])}……{a(path_of(seed), "[详细]")}</p>
</div>
<div class="latest">
<div class="tit">最新资讯</div>
<ul>
{latest}
</ul>
</div>
{chr(10).join(blocks)}
</div>
{page_end(hot)}"""


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


GIF_1PX = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
CSS = """body{font:14px/1.6 "Microsoft YaHei",SimSun,sans-serif;margin:0}
.header,.main,.footer{width:1000px;margin:0 auto}.left,.list_left{float:left;width:680px}
.right{float:right;width:300px}.footer{clear:both;text-align:center;color:#666}
.heading h1{font-size:24px;text-align:center}.yinti,.futi{text-align:center;color:#555}
.source{text-align:center;color:#888}#Zoom p{margin:1em 0}
"""
JS = "function share(){return false}\n"


def build() -> dict[str, bytes]:
    """Every file of the replica as bytes, keyed by path under site/."""
    articles = sorted(yaml.safe_load((HERE / "articles.yaml").read_text(encoding="utf-8")),
                      key=when, reverse=True)
    manifest = yaml.safe_load((HERE / "manifest.yaml").read_text(encoding="utf-8"))
    charsets = {p.lstrip("/"): o.get("charset", "utf-8") for p, o in (manifest.get("paths") or {}).items()}
    hot = [x for x in articles if x["id"] in ("030312201", "030311702", "030312077", "030311855", "030312389")]
    files: dict[str, str | bytes] = {}
    for x in articles:
        path = path_of(x).lstrip("/")
        if x["layout"] == "cnnb":
            files[path] = cnnb_article(x)
        else:
            related = [r for r in articles if r is not x and set(r["sections"]) & set(x["sections"])][:3]
            files[path] = table_article(x, related)
        for p in x["paragraphs"]:
            if isinstance(p, dict) and "img" in p:
                seed = int(x["id"]) % 200
                files[p["img"].lstrip("/")] = png(8, 6, (seed, 120, 200 - seed // 2))
    for slug in SECTIONS:
        members = [x for x in articles if slug in x["sections"]]
        charset = charsets.get(f"{slug}/index.shtml", "utf-8")
        files.update(list_page(slug, members, hot, "gb2312" if charset == "gbk" else charset))
    files["index.shtml"] = home_page(articles, hot)
    files["robots.txt"] = "User-agent: *\nDisallow: /search/\nDisallow: /cgi-bin/\n"
    files["images/logo.png"] = png(30, 8, (180, 20, 30))
    files["images/blank.gif"] = GIF_1PX
    files["css/style.css"] = CSS
    files["js/common.js"] = JS
    encoded = {}
    for path, content in sorted(files.items()):
        if isinstance(content, str):
            charset = charsets.get(path, "utf-8")
            content = content.encode(charset)  # strict: a character GBK lacks is a build error
        encoded[path] = content
    return encoded


def write(out: Path) -> None:
    files = build()
    if out.exists():
        shutil.rmtree(out)
    for path, content in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "site")
