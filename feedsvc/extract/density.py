"""Which element of a page holds its article text: one bottom-up scoring pass by text density.

Every block's own text, less the text of its links, with a bonus per sentence punctuation mark, is
credited to the block's container and, halved, to the container's parent (linear in the tree's size).
The best container, discounted by its link density and weighted by class/id hints, is the body; once
the headline is known, a block in the headline's own article can win over a denser one elsewhere, and a
short best block can widen to the container holding the rest of a short text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from feedsvc.extract.html import BLOCK_TAGS, CHROME_TAGS, Node, class_and_id, elements, hint_pattern

__all__ = ["CHROME_HINT", "DROP_TAGS", "NEGATIVE_HINT", "PLAYER_HINT", "POSITIVE_HINT", "BodyScores", "is_player",
           "score_blocks", "score_body"]

_PUNCT = re.compile(r"[，。！？；：、,!?;“”\"「」]")


POSITIVE_HINT = hint_pattern(r"article|content|text|body|main|zoom|post|entry|detail|story|conte|news_?txt|正文")
NEGATIVE_HINT = hint_pattern(
    r"comment|footer|\bfoot|\bnav|menu|sidebar|\bside|relat|recommend|\bhot|rank|share|\bad(?:s)?\b|advert|banner|"
    r"copyright|crumb|toolbar|login|\btag(?:s)?\b|keyword|pagination|pager|qrcode|popup|modal|widget|"
    r"bdshare|jiathis|\bprint|\bmore\b|\blink"
)
CHROME_HINT = hint_pattern(r"footer|\bfoot|copyright|comment|sidebar|\bnav\b|\bmenu|relate|recommend|\brank")
# A media player's box (`video-player`, `mplayer`, `xgplayer`) around a video, audio or frame: its
# text is the player's controls and messages (倍速, 高清, 播放失败); body.py keeps the media element.
# (A `player-stats` table in a sports report holds no media and stays text.)
PLAYER_HINT = hint_pattern(r"player")
# Inside an article a form or a menu is a widget (search box, comment form), never text.
DROP_TAGS = CHROME_TAGS | {"form", "menu"}
# Text blocks are credited here; bare containers carry text only when it sits directly in them.
_PARAGRAPH_TAGS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "li", "dd", "dt", "pre", "blockquote", "figcaption",
                             "caption", "th"})
# The headline's article: its nearest ancestor with this much text besides the headline; a block in it
# wins over a denser one elsewhere when it scores at least this share of that one.
_REGION_CHARS = 100
_REGION_SHARE = 0.15
_SHORT_TEXT = 400  # a densest block shorter than this may be one part of a short text
_CLASSED = etree.XPath(".//*[@class or @id]")
# schema.org microdata: the element a page itself marks as its article's text, and the article around it.
_DECLARED_BODY = etree.XPath(".//*[@itemprop='articleBody']")
_ARTICLE_TYPE = re.compile(r"schema\.org/(?:\w*Article|BlogPosting|Report|CreativeWork)\b", re.I)


def _stat(text: str | None) -> tuple[int, int]:
    """(non-space characters, sentence punctuation marks) of a text node."""
    if not text or text.isspace():
        return 0, 0
    # str.split() knows the Unicode spaces (nbsp, ideographic) and is much faster than a regex.
    return len("".join(text.split())), len(_PUNCT.findall(text))


Stats = dict[Node, tuple[int, int, int, int, int]]


@dataclass
class BodyScores:
    """One scoring pass over a page, to choose its body from once the headline is known too."""

    best: Node | None
    best_score: float
    scores: dict[Node, float]
    stats: Stats
    chrome: set[Node]
    declared: Node | None = None  # the page's own itemprop="articleBody", when it has text

    def choose(self, headline: Node | None = None) -> Node | None:
        """The element most likely to hold the article text, or None for a page without text. Given the
        headline's element, a block in the headline's own article is preferred (see `_beside_headline`)."""
        best = self.best
        if best is None:
            return None
        if headline is not None:
            near = _beside_headline(best, self.best_score, headline, self.scores, self.stats)
            best = near if near is not None else best
        if self.declared is not None:
            best = _with_declared(best, self.declared)
        return _whole_text(best, self.stats, self.chrome)


def score_body(root: Node, headline: Node | None = None) -> Node | None:
    """`score_blocks(root).choose(headline)`."""
    return score_blocks(root).choose(headline)


def score_blocks(root: Node) -> BodyScores:
    """Every candidate container of `root` scored (see the module docstring)."""
    body = root.find("body")
    scope = body if body is not None else root
    nodes = list(scope.iter(etree.Element))
    # el -> (chars, link chars, inline chars, inline link chars, inline punctuation)
    stats: dict[Node, tuple[int, int, int, int, int]] = {}
    blocks: list[tuple[Node, int]] = []  # (text block, its score)
    for el in reversed(nodes):
        is_link = el.tag == "a"
        t, p = _stat(el.text)
        if is_link:
            p = 0
        tot, lnk, it, il, ip = t, (t if is_link else 0), t, (t if is_link else 0), p
        for ch in el:
            ct, cl, ci, cil, cp = stats[ch]
            tail, tp = _stat(ch.tail)
            tot += ct + tail
            lnk += cl
            it += tail
            if is_link:
                il += tail
            else:
                ip += tp
            if ch.tag not in BLOCK_TAGS:  # inline children's text is this block's own text
                it += ci
                il += cil
                ip += 0 if is_link else cp
        if is_link:
            lnk, il = tot, it
        stats[el] = (tot, lnk, it, il, ip)
        plain = it - il
        if plain >= 6 and el.tag in BLOCK_TAGS:
            blocks.append((el, plain + 6 * ip))
    page_chars = stats[scope][0] if scope in stats else 0
    excluded: set[Node] = set()
    for el in scope.iter(*DROP_TAGS):
        # ASP.NET WebForms wrap the whole page in one <form>: a form with most of the page's text is layout.
        if el.tag == "form" and stats[el][0] > 0.5 * page_chars:
            continue
        excluded.add(el)
    # Comments, sidebars and footers: their text counts for nothing. A class on a wrapper of nearly
    # the whole page (<div class="wrap has-sidebar">) describes the layout, not a chrome block.
    in_chrome: set[Node] = set()
    for el in elements(_CLASSED(scope)):
        hint = class_and_id(el)
        if (CHROME_HINT.search(hint) or is_player(el, hint)) and stats[el][0] < 0.9 * page_chars:
            in_chrome.add(el)
    for el in nodes:
        if el.getparent() in in_chrome:
            in_chrome.add(el)
    scores: dict[Node, float] = {}
    for el, own in blocks:
        if el in in_chrome:
            continue
        target = el.getparent() if el.tag in _PARAGRAPH_TAGS else el
        weight = 1.0
        while target is not None and weight > 0.2:
            scores[target] = scores.get(target, 0.0) + own * weight
            target = target.getparent()
            weight /= 2
    best, best_score = None, 0.0
    for el in list(excluded):
        excluded.update(el.iterdescendants(etree.Element))
    final: dict[Node, float] = {}
    for el, score in scores.items():
        if el in excluded:
            continue
        tot, lnk = stats[el][:2] if el in stats else (0, 0)
        density = lnk / tot if tot else 1.0
        score *= 1.0 - density
        hint = class_and_id(el)
        if POSITIVE_HINT.search(hint):
            score *= 1.25
        if NEGATIVE_HINT.search(hint):
            score *= 0.5
        final[el] = score
        if score > best_score:
            best, best_score = el, score
    declared = next((el for el in elements(_DECLARED_BODY(scope)) if stats.get(el, (0,))[0] and el not in excluded
                     and el not in in_chrome), None)
    return BodyScores(best, best_score, final, stats, in_chrome, declared)


def _with_declared(best: Node, declared: Node) -> Node:
    """The densest block and the page's own `itemprop="articleBody"` both hold the article's text when
    the page marks an article (itemscope, a schema.org Article type) around the two: a poem page marks
    its verse, and its notes and commentary, denser, stand beside it. The smallest element holding both,
    within that article; otherwise the densest block as it was."""
    if best is declared or any(a is declared for a in best.iterancestors()):
        return best
    above_declared = list(declared.iterancestors())
    if any(a is best for a in above_declared):
        return best
    common = next((a for a in best.iterancestors() if a in above_declared), None)
    if common is None:
        return best
    for el in (common, *common.iterancestors()):
        if el.get("itemscope") is not None and _ARTICLE_TYPE.search(el.get("itemtype") or ""):
            return common
    return best


def is_player(el: Node, hint: str) -> bool:
    """A media player's box: classed as a player (`hint` is its class_and_id) and holding a video,
    an audio or a frame."""
    return bool(PLAYER_HINT.search(hint)) and any(True for _ in el.iter("video", "audio", "iframe"))


def _whole_text(best: Node, stats: Stats, chrome: set[Node]) -> Node:
    """The container that holds a short text's other parts: a poem's prose note was the densest block,
    its verse lines (little punctuation to score) and its preface stand beside it. Climbs at most two
    levels, to an ancestor with no links that at most triples the text."""
    own = stats[best][0] if best in stats else 0
    if not own or own >= _SHORT_TEXT:
        return best
    found = node = best
    for _ in range(2):
        parent = node.getparent()
        if parent is None or parent.tag in ("body", "html") or parent in chrome or parent not in stats:
            break
        node = parent
        tot, lnk = stats[node][:2]
        if lnk or tot > 3 * own:
            break
        found = node
    return found


def _beside_headline(best: Node, best_score: float, headline: Node, scores: dict[Node, float],
                     stats: Stats) -> Node | None:
    """The best block in the headline's own article when the page's densest text lies outside it: a
    brief of a few lines beside a stream of longer stories, a post beside a thread list. The headline's
    article is its nearest ancestor holding some prose besides the headline itself."""
    own = stats[headline][0] if headline in stats else 0
    region = None
    for anc in headline.iterancestors():
        if anc in stats and stats[anc][0] - own >= _REGION_CHARS:
            region = anc
            break
    if region is None or region.tag in ("body", "html"):
        return None
    if best is region or any(a is region for a in best.iterancestors()) or \
            any(a is best for a in region.iterancestors()):
        return None
    inside = [(score, el) for el, score in scores.items()
              if any(a is region for a in el.iterancestors()) or el is region]
    if not inside:
        return None
    score, el = max(inside, key=lambda pair: pair[0])
    return el if score >= _REGION_SHARE * best_score else None
