"""A fixed hostname → (ip, port) table as an aiohttp resolver, so tests and the demo can point real
site hostnames (http://www.cxnews.cn/) at loopback servers without touching DNS."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult


class StaticResolver(AbstractResolver):
    """Resolves only the hostnames it was given, to their (ip, port) whatever port the URL asked for.

    An unknown hostname fails like a DNS miss (socket.gaierror, which aiohttp reports as a
    connection error), so a test can never leak onto the real network.
    """

    def __init__(self, mapping: dict[str, tuple[str, int]]):
        self._mapping = {host.lower().rstrip("."): target for host, target in mapping.items()}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        target = self._mapping.get(host.lower().rstrip("."))
        if target is None:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the static host table")
        ip, mapped_port = target
        ip_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=mapped_port,
                family=ip_family,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
        ]

    async def close(self) -> None:
        # Nothing to release: no sockets, no threads.
        return None
