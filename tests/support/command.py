"""The `feedsvc` command run as a subprocess while the test's event loop serves fixture sites (so it
must not block), on a config for the news fixture site on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.support import REPO


def write_config(tmp_path: Path, site_port: int, **server: object) -> Path:
    """The news fixture site at 127.0.0.1:`site_port` (sections a and b), for the command line."""
    origin = f"http://127.0.0.1:{site_port}"
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({
        "server": {"host": "127.0.0.1", **server},
        "store": {"url": f"sqlite:///{tmp_path / 'logs.db'}", "max_age_days": 36500},
        "fetch": {"retries": 0, "min_delay": "0.001s", "connect_timeout": "1s", "total_timeout": "2s"},
        "sites": {"news": {
            "title": "测试新闻网", "home": f"{origin}/",
            "rules": {"title": "div.heading h1", "published": "div.source span.left", "body": "div#Zoom"},
            "sections": {"a": {"title": "要闻", "url": f"{origin}/a/"}, "b": {"title": "社会", "url": f"{origin}/b/"}},
        }},
    }), encoding="utf-8")
    return path


def command_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


async def feedsvc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m feedsvc ARGS` (stdout and stderr pipes, not terminals) without blocking the loop
    that serves the fixture site; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "feedsvc", *args, cwd=cwd, env=env or command_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
