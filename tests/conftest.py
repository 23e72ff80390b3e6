"""Shared test set-up: the repository root, the Atom schema and the news fixture site. Room-specific
fixtures live in each room's test files; the toolkit itself is tests/support (REPO and NOW there).
Nothing here reads a file outside the repository."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.news_site import FixtureSite, running_site


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def atom_rng_path() -> Path:
    """The RELAX NG schema of RFC 4287 (the copy under tests/schemas)."""
    return REPO / "tests" / "schemas" / "atom.rng"


@pytest.fixture
async def site() -> AsyncIterator[tuple[FixtureSite, int]]:
    """The news fixture site on a loopback port: (its state, the port)."""
    async with running_site() as served:
        yield served
