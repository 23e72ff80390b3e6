"""The feed server: `make_app(config, store)` → aiohttp app; serve it with `run_app` or `serve_until_signal`.

    app = make_app(config, store)          # app[FEED_CACHE].invalidate(site, section) after a write
    run_app(app, host="127.0.0.1", port=8080)   # web.AppRunner on a bound port until SIGINT/SIGTERM
"""

from feedsvc.web.cache import FeedCache
from feedsvc.web.cache_follow import StoreFollower
from feedsvc.web.connections import ConnectionLimits
from feedsvc.web.handlers import FEED_CACHE, STORE_FOLLOWER, make_app
from feedsvc.web.representation import CachedFeed
from feedsvc.web.server import make_runner, run_app, serve_until_signal

__all__ = ["FEED_CACHE", "STORE_FOLLOWER", "CachedFeed", "ConnectionLimits", "FeedCache", "StoreFollower",
           "make_app", "make_runner", "run_app", "serve_until_signal"]
