"""Fixtures of the TelemetryOracle tests: a watched pledge on the fresh world."""

from __future__ import annotations

from typing import Any

import pytest
from oracle_support import Watched, watch_pledge


@pytest.fixture
def watched(fresh: Any) -> Watched:
    return watch_pledge(fresh)
