"""Shared test set-up. Room-specific fixtures live in each room's test files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.fixture_site import FixtureSite

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def atom_rng_path() -> Path:
    """The RELAX NG schema of RFC 4287: shared/ beside the repo, else the copy under tests/schemas."""
    for candidate in (SHARED / "schemas" / "atom.rng", REPO / "tests" / "schemas" / "atom.rng"):
        if candidate.exists():
            return candidate
    pytest.fail("atom.rng not found (expected ../shared/schemas/atom.rng or tests/schemas/atom.rng)")


@pytest.fixture
async def site() -> AsyncIterator[tuple[FixtureSite, int]]:
    fixture = FixtureSite()
    server = TestServer(fixture.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fixture, server.port
    finally:
        await server.close()
