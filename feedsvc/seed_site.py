"""Serves the replica of www.cxnews.cn in seeds/ as an aiohttp app, for tests and `feedsvc demo`.

The project's own fixture, not part of the feed service: files under `seeds/site/` are served at
the same path, with the content types and charsets of `seeds/manifest.yaml`, ETag/Last-Modified
validators and 304 answers, so conditional list requests behave as they would upstream. Files are
read on every request, so a test may copy the tree and change a page between two refreshes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from feedsvc.httpdate import etag_matches, format_http_date, parse_http_date

_TYPES = {
    ".shtml": "text/html", ".html": "text/html", ".htm": "text/html", ".txt": "text/plain",
    ".css": "text/css", ".js": "application/javascript", ".png": "image/png", ".gif": "image/gif",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".xml": "application/xml",
}
_TEXTUAL = ("text/", "application/javascript", "application/xml")


_MANIFEST_KEYS = {"default_charset", "paths"}
_PATH_KEYS = {"content_type", "charset"}


def load_manifest(seeds_dir: Path) -> dict[str, Any]:
    """seeds/manifest.yaml; a key the replica does not read is an error, so none lingers there unread."""
    path = seeds_dir / "manifest.yaml"
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    unknown = sorted(set(data) - _MANIFEST_KEYS) + sorted(
        f"paths.{url}.{key}" for url, override in (data.get("paths") or {}).items()
        for key in set(override) - _PATH_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    return data


def replica_app(seeds_dir: Path) -> web.Application:
    """An app answering for the replica site: every path under `seeds_dir/site`, 404 otherwise."""
    seeds_dir = Path(seeds_dir)
    root = (seeds_dir / "site").resolve()
    manifest = load_manifest(seeds_dir)
    overrides: dict[str, dict[str, str]] = manifest.get("paths") or {}
    default_charset = manifest.get("default_charset", "utf-8")

    async def serve(request: web.Request) -> web.StreamResponse:
        path = request.path
        url_path = path + "index.shtml" if path.endswith("/") else path
        target = (root / url_path.lstrip("/")).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPNotFound(text="not found\n")
        if target.is_dir():
            raise web.HTTPMovedPermanently(location=path + "/")
        if not target.is_file():
            raise web.HTTPNotFound(text="not found\n")
        body = target.read_bytes()
        mtime = int(target.stat().st_mtime)
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        override = overrides.get(url_path, {})
        ctype = override.get("content_type") or _TYPES.get(target.suffix.lower(), "application/octet-stream")
        if ctype.startswith(_TEXTUAL):
            ctype = f"{ctype}; charset={override.get('charset', default_charset)}"
        headers = {"ETag": etag, "Last-Modified": format_http_date(mtime)}

        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            not_modified = etag_matches(inm, etag)
        elif ims:
            since = parse_http_date(ims)
            not_modified = since is not None and since.timestamp() >= mtime
        if not_modified:
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = ctype
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    return app
