"""Hardening #12: a stream of distinct `?q=` / `?exclude=` values cannot make the server render per
request. Views are filtered over the cached entries and cached by the entries they keep; views that
need a render are rendered one at a time with a bounded queue, the rest refused with 503 + Retry-After.
(bench/filter_flood.py measures what this does to plain feed latency; this asserts the work bound.)"""

from __future__ import annotations

from tests.web_fixtures import Conn, Web, raw_request, site_fixture, store_fixture  # noqa: F401 (fixtures)

FEED = "/cxnews/cixi.rss"


async def test_500_distinct_queries_cost_at_most_two_renders(site: Web) -> None:
    assert (await site.client.get(FEED)).status == 200
    renders = site.cache.renders
    for i in range(250):
        # Words no entry holds: every ?q= keeps nothing, every ?exclude= keeps everything.
        for query in (f"q=flood{i:04d}", f"exclude=flood{i:04d}"):
            resp = await site.client.get(f"{FEED}?{query}")
            assert resp.status == 200
            await resp.read()
    assert site.cache.renders - renders <= 1  # the empty view, once; ?exclude= views are the plain feed


async def test_views_waiting_for_a_render_are_bounded_and_the_rest_get_503(site: Web) -> None:
    assert (await site.client.get(FEED)).status == 200  # the section's entries are cached
    site.cache.max_pending_views = 1
    first, second = await Conn.open(site.port), await Conn.open(site.port)
    try:
        # Two views keeping different entries, arriving together: one renders, one is refused.
        first.writer.write(raw_request(f"{FEED}?q=ningbo"))
        second.writer.write(raw_request(f"{FEED}?q=%E5%91%A8%E5%B7%B7"))  # 周巷
        answers = [await first.response(), await second.response()]
    finally:
        await first.close()
        await second.close()
    statuses = sorted(status.split()[1] for status, _, _ in answers)
    assert statuses == ["200", "503"], answers
    refused = next(a for a in answers if " 503 " in a[0])
    assert refused[1]["retry-after"] == "2" and refused[2].startswith(b"busy: ")
    plain = await site.client.get(FEED)  # the plain feed never waits behind views
    assert plain.status == 200
    again = await site.client.get(f"{FEED}?q=周巷", headers={"Accept-Encoding": "identity"})  # refused once, rendered when asked again
    assert again.status == 200 and "周巷" in await again.text()
