"""A throwaway nginx on 127.0.0.1 for tests/test_nginx.py and bench/serve.py: deploy/nginx.conf as
shipped, changed only in its listen port, upstream address and cache path, inside a minimal main
config whose every path lies in one temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPLOY_CONF = REPO / "deploy" / "nginx.conf"

# The shipped file's literal values that a local run replaces; each must occur exactly once.
LISTEN = "listen 80;"
UPSTREAM = "server 127.0.0.1:8080;"
CACHE_PATH = "proxy_cache_path /var/cache/nginx/feedsvc "


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_config(*, listen_port: int, upstream_port: int, cache_dir: Path) -> str:
    """deploy/nginx.conf listening on 127.0.0.1:listen_port, proxying to upstream_port, caching in cache_dir."""
    text = DEPLOY_CONF.read_text(encoding="utf-8")
    for literal, local in ((LISTEN, f"listen 127.0.0.1:{listen_port};"),
                           (UPSTREAM, f"server 127.0.0.1:{upstream_port};"),
                           (CACHE_PATH, f"proxy_cache_path {cache_dir} ")):
        if text.count(literal) != 1:
            raise AssertionError(f"{DEPLOY_CONF}: expected {literal!r} exactly once")
        text = text.replace(literal, local)
    return text


def main_config(root: Path, http_body: str) -> str:
    """A whole nginx.conf around `http_body`: one worker (feedsvc is one process), no daemon, every
    file under `root`. Every request is access-logged (as Debian's nginx.conf does, and as feedsvc
    does), so a benchmark compares servers doing the same work."""
    return f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp-body;
    proxy_temp_path {root}/tmp-proxy;
    fastcgi_temp_path {root}/tmp-fastcgi;
    uwsgi_temp_path {root}/tmp-uwsgi;
    scgi_temp_path {root}/tmp-scgi;
{http_body}
}}
"""


class Nginx:
    """nginx running in the foreground from its own temporary folder `root`: `start(http_body, port)`
    with the body of a `main_config`, `stop()` to end it and remove the folder."""

    def __init__(self) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("no nginx binary (apt-get install nginx)")
        self.binary = binary
        # Not under pytest's tmp_path (mode 0700): run as root, nginx's workers switch to an
        # unprivileged user, who must reach the files served and write the cache.
        self.root = Path(tempfile.mkdtemp(prefix="feedsvc-nginx-"))
        self.root.chmod(0o777)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, http_body: str, port: int) -> None:
        self.port = port
        conf = self.root / "nginx.conf"
        conf.write_text(main_config(self.root, http_body), encoding="utf-8")
        args = [self.binary, "-c", str(conf), "-e", str(self.root / "error.log")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen on {port} within 10 s") from None
                time.sleep(0.05)

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish what they are sending
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def proxy_site(*, upstream_port: int) -> Nginx:
    """nginx with deploy/nginx.conf in front of feedsvc on `upstream_port`, started."""
    nginx = Nginx()
    cache = nginx.root / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    port = free_port()
    try:
        nginx.start(site_config(listen_port=port, upstream_port=upstream_port, cache_dir=cache), port)
    except BaseException:
        nginx.stop()
        raise
    return nginx
