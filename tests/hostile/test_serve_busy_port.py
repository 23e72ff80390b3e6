"""Hardening #18: `feedsvc serve` binds its port before anything else starts. On a busy port it says so
in one line and exits 2, and no refresh has begun (the configured site never hears from it)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.hostile.cli_site import LIST_PATH, write_config
from tests.support.upstream import RawUpstream, http_response

REPO = Path(__file__).resolve().parents[2]


async def test_serve_on_a_busy_port_exits_2_with_one_line_and_refreshes_nothing(tmp_path: Path) -> None:
    async with RawUpstream() as up:
        up.routes[LIST_PATH] = http_response(200, "<html><body><ul></ul></body></html>")
        config = write_config(tmp_path, up.origin)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
        env["PYTHONPATH"] = str(REPO)
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "feedsvc", "serve", "--config", str(config),
                "--port", str(port),
                cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().splitlines()
    assert proc.returncode == 2, err.decode()
    assert len(lines) == 1, err.decode()
    assert lines[0].startswith("feedsvc: error: ") and f"127.0.0.1:{port}" in lines[0], lines
    assert "in use" in lines[0], lines
    assert out == b""
    assert up.requests == []
