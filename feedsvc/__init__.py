"""feedsvc: feeds for news sites that publish none."""

__version__ = "0.1.0"
