"""The pages' one stylesheet and one script, inline (no external assets), and the Content-Security-Policy
that allows exactly these two and nothing else: an injected script or style would not run.

The stylesheet: system CJK font stacks, CJK line height and line breaking, light and dark schemes from
`prefers-color-scheme`, one column that fits a phone. The script only adds copy buttons; every URL is
plain selectable text without it.
"""

from __future__ import annotations

import base64
import hashlib

# Latin faces first (they have no Han glyphs, so Han text falls through to the CJK faces that follow):
# macOS/iOS, Windows, then the Noto/Source Han/WenQuanYi faces Linux and Android ship.
_SANS = ('-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "PingFang SC", '
         '"Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", '
         '"WenQuanYi Micro Hei", sans-serif')
_MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "Noto Sans Mono CJK SC", monospace'

STYLE = f"""
:root{{color-scheme:light dark;--bg:#fafaf7;--fg:#1d1d1f;--muted:#5f6368;--line:#e3e1da;--card:#fff;
--link:#0b57d0;--ok:#137333;--ok-bg:#e6f4ea;--bad:#b3261e;--bad-bg:#fce8e6;--wait:#8a5a00;--wait-bg:#fef3d6;
--code:#f1f0eb}}
@media (prefers-color-scheme:dark){{:root{{--bg:#121316;--fg:#e6e6e3;--muted:#a0a4aa;--line:#2e3036;
--card:#1b1d21;--link:#8ab4f8;--ok:#81c995;--ok-bg:#16301f;--bad:#f2b8b5;--bad-bg:#3b1a18;--wait:#f6d27a;
--wait-bg:#3a2e10;--code:#24262b}}}}
*{{box-sizing:border-box}}
html{{-webkit-text-size-adjust:100%;text-size-adjust:100%}}
body{{margin:0;background:var(--bg);color:var(--fg);font:16px/1.75 {_SANS};line-break:strict;
overflow-wrap:anywhere;font-kerning:normal}}
main,header,footer{{max-width:50rem;margin:0 auto;padding:0 1rem}}
header{{padding-top:1.5rem}}
footer{{color:var(--muted);font-size:.875rem;padding-bottom:2rem}}
h1{{font-size:1.75rem;line-height:1.3;margin:.25rem 0 .5rem}}
h2{{font-size:1.3rem;line-height:1.4;margin:2rem 0 .75rem}}
h3{{font-size:1.1rem;line-height:1.4;margin:0}}
a{{color:var(--link);text-decoration:none}}
a:hover,a:focus-visible{{text-decoration:underline}}
p{{margin:.4rem 0}}
.lede,.meta,.crumbs{{color:var(--muted)}}
.meta,.crumbs{{font-size:.875rem}}
.card{{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.1rem;margin:.9rem 0}}
.card-head{{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4rem .75rem}}
.badge{{display:inline-block;font-size:.8rem;line-height:1.6;padding:0 .55rem;border-radius:999px;
white-space:nowrap}}
.badge.ok{{color:var(--ok);background:var(--ok-bg)}}
.badge.failing{{color:var(--bad);background:var(--bad-bg)}}
.badge.pending,.badge.deferred,.badge.unknown{{color:var(--wait);background:var(--wait-bg)}}
.error,.banner{{color:var(--bad);background:var(--bad-bg);border-radius:6px;padding:.4rem .6rem;
font-size:.9rem;white-space:pre-wrap}}
.banner{{margin:1rem 0}}
.feeds{{margin:.6rem 0 .2rem;font-size:.875rem}}
.feed-url{{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .6rem;margin:.3rem 0}}
.feed-url .fmt{{flex:0 0 5.2rem;white-space:nowrap}}
.feed-url code{{flex:1 1 0;min-width:0;font:.85rem/1.5 {_MONO};background:var(--code);padding:.15rem .4rem;
border-radius:4px;user-select:all;-webkit-user-select:all;overflow-wrap:anywhere}}
button{{font:inherit;font-size:.8rem;color:var(--fg);background:transparent;border:1px solid var(--line);
border-radius:6px;padding:.1rem .55rem;cursor:pointer;white-space:nowrap}}
button:hover{{border-color:var(--muted)}}
.subscribe{{font-size:.875rem;color:var(--muted)}}
.entries{{list-style:none;margin:0;padding:0}}
.entry{{padding:.9rem 0;border-bottom:1px solid var(--line)}}
.entry:last-child{{border-bottom:0}}
.entry h2{{font-size:1.08rem;margin:0 0 .2rem;font-weight:600}}
.summary{{margin:.3rem 0 0;color:var(--fg);opacity:.88;text-align:justify}}
.partial{{color:var(--wait)}}
@media (max-width:30rem){{body{{font-size:15px}}h1{{font-size:1.45rem}}.card{{padding:.8rem .8rem}}
.feed-url .fmt{{flex:1 1 auto}}.feed-url code{{font-size:.8rem}}.feed-url button{{order:2}}.feed-url code{{order:3;flex-basis:100%}}}}
""".strip()

# Reveals the copy buttons (hidden without JavaScript) and copies a URL on click. navigator.clipboard
# exists only on secure origins (https, localhost); elsewhere the URL is selected for Ctrl+C instead.
SCRIPT = """
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const url = button.dataset.copy;
    let done = false;
    try { await navigator.clipboard.writeText(url); done = true; } catch (e) { done = false; }
    if (!done) {
      const code = document.getElementById(button.getAttribute("aria-controls"));
      if (code) { window.getSelection().selectAllChildren(code); }
    }
    button.textContent = done ? "Copied" : "Selected: press Ctrl+C";
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  });
}
""".strip()


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Nothing loads from anywhere: only the inline stylesheet and script above (by hash) run; the icon is
# an empty data: URL so that browsers do not ask for /favicon.ico.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
