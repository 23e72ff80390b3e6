"""Hardening #11: sockets that never finish a request head cannot exhaust `feedsvc serve`.

The real command runs in a subprocess whose open-file limit is 256. More idle sockets than that (some
sending half a request head) are opened against it; a normal client still gets its feed at once, and
every idle socket is closed after server.idle_timeout (1s here)."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
import time
from pathlib import Path

from tests.hostile.cli_site import LIST_PATH, SECTION, SITE, write_config
from tests.nginx_site import free_port
from tests.support.upstream import RawUpstream, http_response
from tests.web_fixtures import Conn, raw_request

REPO = Path(__file__).resolve().parents[2]
OPEN_FILES = 256
IDLE, HALF_HEADS = 260, 40
HALF_HEAD = f"GET /{SITE}/{SECTION}.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow".encode()


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


async def open_idle(port: int, count: int, send: bytes = b"") -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    sockets = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if send:
            writer.write(send)
        sockets.append((reader, writer))
    return sockets


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server closed the socket within `within` seconds (it sends an idle socket nothing)."""
    try:
        return await asyncio.wait_for(reader.read(65536), within) == b""
    except ConnectionError:
        return True
    except TimeoutError:
        return False


async def test_a_flood_of_idle_sockets_leaves_normal_clients_served_and_is_closed(tmp_path: Path) -> None:
    async with RawUpstream() as up:
        up.routes[LIST_PATH] = http_response(200, "<html><body><ul></ul></body></html>")
        config = write_config(tmp_path, up.origin)
        port = free_port()
        with config.open("a", encoding="utf-8") as f:
            f.write(f"server: {{host: 127.0.0.1, port: {port}, idle_timeout: 1s, max_connections: 1000}}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
        env["PYTHONPATH"] = str(REPO)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "feedsvc", "serve", "--config", str(config), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, preexec_fn=low_file_limit)
        assert proc.stderr is not None
        sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            seen = b""
            while b"feedsvc serving" not in seen:
                line = await asyncio.wait_for(proc.stderr.readline(), 20)
                assert line, seen.decode()
                seen += line
            sockets = await open_idle(port, IDLE) + await open_idle(port, HALF_HEADS, HALF_HEAD)
            flooded = time.monotonic()

            conn = await Conn.open(port)  # a normal client, after more idle sockets than the server has files
            try:
                await conn.send(raw_request(f"/{SITE}/{SECTION}.rss"))
                status, headers, body = await asyncio.wait_for(conn.response(), 2)
            finally:
                await conn.close()
            assert status == "HTTP/1.1 200 OK" and body.startswith(b"<?xml"), (status, body[:200])
            assert time.monotonic() - flooded < 2

            closed = await asyncio.gather(*(closed_by_server(reader, 4) for reader, _ in sockets))
            assert all(closed), f"{closed.count(False)} of {len(sockets)} idle sockets still open after 4s"
        finally:
            for _, writer in sockets:
                writer.close()
            if proc.returncode is None:
                proc.terminate()
            _, rest = await asyncio.wait_for(proc.communicate(), 20)
        log = (seen + rest).decode()
        assert "Traceback" not in log and "out of system resource" not in log, log[-3000:]
        assert "server.max_connections 1000 lowered to 96" in log


async def test_idle_and_half_sent_connections_are_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    """Below the cap: the timeout alone closes them, and a keep-alive connection idle after its answer."""
    from feedsvc.store import open_store
    from feedsvc.web import ConnectionLimits, make_app, serve_until_signal
    from tests.web_fixtures import web_config

    config = web_config(f"sqlite:///{tmp_path / 'web.db'}")
    store = open_store(config.store.url)
    await store.open()
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve_until_signal(
        make_app(config, store, poll_interval=3600), host="127.0.0.1", port=port, on_ready=ready.set,
        limits=ConnectionLimits(idle_timeout=0.5, max_connections=1000)))
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        await asyncio.wait_for(ready.wait(), 10)
        sockets = await open_idle(port, 20) + await open_idle(port, 20, HALF_HEAD)
        served = await Conn.open(port)
        await served.send(raw_request("/healthz"))
        assert (await served.response())[0] == "HTTP/1.1 200 OK"
        sockets.append((served.reader, served.writer))
        opened = time.monotonic()
        closed = await asyncio.gather(*(closed_by_server(reader, 3) for reader, _ in sockets))
        assert all(closed), f"{closed.count(False)} of {len(sockets)} still open"
        assert 0.4 < time.monotonic() - opened < 2.5
    finally:
        for _, writer in sockets:
            writer.close()
        if ready.is_set():
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
        await store.close()
