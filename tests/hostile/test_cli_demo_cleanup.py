"""`feedsvc demo` removes its temporary store (feedsvc-demo-*/demo.db) however it ends: Ctrl-C,
SIGTERM, or a start that fails on a busy port."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def start_demo(tmp: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(TMPDIR=str(tmp), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "demo", "--port", str(port), "--config", str(REPO / "config.yaml"),
         "--seeds", str(REPO / "seeds")],
        cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    """stderr read until a line containing `text` (the demo prints where its store is, then serves)."""
    assert proc.stderr is not None
    seen = ""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and sel.select(deadline - time.monotonic()):
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
            if text in line:
                return seen
    proc.kill()
    pytest.fail(f"no {text!r} from the demo; stderr:\n{seen}")


def demo_folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("feedsvc-demo-"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_removes_its_store_when_stopped(tmp_path: Path, signum: int) -> None:
    proc = start_demo(tmp_path, 0)
    try:
        wait_for_line(proc, "feeds at ")
        assert len(demo_folders(tmp_path)) == 1, "the demo's store lives in a feedsvc-demo-* folder"
        proc.send_signal(signum)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert demo_folders(tmp_path) == []


def test_demo_removes_its_store_when_the_port_is_busy(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = start_demo(tmp_path, busy.getsockname()[1])
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "feedsvc: error: " in err and "Traceback" not in err
    assert demo_folders(tmp_path) == []
