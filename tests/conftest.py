"""Shared fixtures: one embedded chain per session, the platform deployed once, named parties.

A test that takes `fresh` (or `platform`, `p`) runs between a snapshot and a revert, so tests are
independent and fast. The helpers behind them live in tests/harness.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Parties, World, make_parties, populate
from suite_order import LONGEST_FIRST

from vscm.chain import artifacts
from vscm.chain.backends import connect
from vscm.client.platform import Platform
from vscm.devservices import Mosquitto, Postgres, start_mosquitto, start_postgres

#: The contracts that exist only for tests (contracts/test/) are compiled into tests/artifacts, not the package.
artifacts.add_directory(Path(__file__).parent / "artifacts")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of ``LONGEST_FIRST`` first, in that order; the others after them, in their own order."""
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: a file keeps its order


@pytest.fixture(scope="session")
def parties() -> Parties:
    return make_parties()


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[Mosquitto]:
    """A private Mosquitto broker of this test process on a free port (``mqtt_broker.url``)."""
    with start_mosquitto() as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL cluster of this test process on a free port (``postgres.url``)."""
    with start_postgres() as server:
        yield server


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


@pytest.fixture(scope="session")
def wired_world(chain: Any, parties: Parties) -> World:
    return populate(chain, parties, test_wired=True)


@pytest.fixture
def wired(chain: Any, wired_world: World) -> Iterator[World]:
    """A populated world whose platform has test parties wired in internal roles
    (``harness.deploy_test_wired``), rolled back after the test."""
    snapshot = chain.snapshot()
    try:
        yield wired_world
    finally:
        chain.revert(snapshot)


@pytest.fixture
def platform(fresh: World) -> Platform:
    return fresh.platform


@pytest.fixture
def p(fresh: World) -> Parties:
    return fresh.p


