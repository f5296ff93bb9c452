"""Shared fixtures: one embedded chain per session, the platform deployed once, named parties.

A test that takes `fresh` (or `platform`, `p`) runs between a snapshot and a revert, so tests are
independent and fast. The helpers behind them live in tests/harness.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import Parties, World, make_parties, populate

from vscm.chain.backends import connect
from vscm.client.platform import Platform


@pytest.fixture(scope="session")
def parties() -> Parties:
    return make_parties()


@pytest.fixture(scope="session")
def chain() -> Iterator[Any]:
    with connect("embedded") as c:
        yield c


@pytest.fixture(scope="session")
def world(chain: Any, parties: Parties) -> World:
    return populate(chain, parties)


@pytest.fixture
def fresh(chain: Any, world: World) -> Iterator[World]:
    """The populated world, rolled back after the test."""
    snapshot = chain.snapshot()
    try:
        yield world
    finally:
        chain.revert(snapshot)


@pytest.fixture
def platform(fresh: World) -> Platform:
    return fresh.platform


@pytest.fixture
def p(fresh: World) -> Parties:
    return fresh.p


