"""Fixtures of the contract tests.

`fin` builds financing situations (assets, orders, loans in every mode) on the `fresh` world; see
tests/financing_support.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from financing_support import Fin


@pytest.fixture
def fin(fresh: Any) -> Fin:
    """A financing builder on the populated world, rolled back after the test."""
    return Fin(fresh)


@pytest.fixture
def wfin(wired: Any) -> Fin:
    """A financing builder on the test-wired world (the operator locks assets and opens tracked money, the
    monitor controls loans and tracked money), rolled back after the test."""
    return Fin(wired)
