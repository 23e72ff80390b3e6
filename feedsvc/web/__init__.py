"""The feed server: `make_app(config, store)` → aiohttp app; serve it with `FeedAppRunner` or `run_app`.

    app = make_app(config, store)          # app[FEED_CACHE].invalidate(site, section) after a write
    runner = FeedAppRunner(app)            # web.AppRunner plus the cached-feed fast path
"""

from feedsvc.web.cache import CachedFeed, FeedCache
from feedsvc.web.fastpath import FAST_PATH, FeedAppRunner, run_app, serve_until_signal
from feedsvc.web.handlers import FEED_CACHE, make_app

__all__ = ["FAST_PATH", "FEED_CACHE", "CachedFeed", "FeedAppRunner", "FeedCache", "make_app", "run_app", "serve_until_signal"]
