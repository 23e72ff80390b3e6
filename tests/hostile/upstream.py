"""A hostile upstream controlled byte for byte: raw asyncio, no HTTP framework in the way.

Each path answers exactly the bytes scripted for it (or a callable's bytes, for answers that depend on
the request); every request head that arrives is logged, so a test can assert that a host was never
contacted. Bind it on another loopback address (127.0.0.2) to play "a host outside the config".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

Answer = bytes | Callable[["RawRequest"], bytes]


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names; the last value of a repeated header


def http_response(status: int = 200, body: bytes | str = b"", *, headers: dict[str, str] | None = None,
                  reason: str = "X") -> bytes:
    """One HTTP/1.1 response as bytes (Content-Length set, connection closed after it)."""
    payload = body.encode() if isinstance(body, str) else body
    head = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(payload)),
            "Connection": "close", **(headers or {})}
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in head.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def redirect(location: str, status: int = 302) -> bytes:
    return http_response(status, b"", headers={"Location": location})


@dataclass
class RawUpstream:
    """`async with RawUpstream("127.0.0.2") as up:` serves `up.routes` on `up.port`; `up.requests` logs."""

    host: str = "127.0.0.1"
    routes: dict[str, Answer] = field(default_factory=dict)
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> RawUpstream:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def paths(self) -> list[str]:
        return [r.target for r in self.requests]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (request_line.split(" ", 2) + ["", ""])[:3]
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        request = RawRequest(method, target, headers)
        self.requests.append(request)
        answer = self.routes.get(target.split("?", 1)[0], http_response(404, "not found"))
        writer.write(answer(request) if callable(answer) else answer)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()
