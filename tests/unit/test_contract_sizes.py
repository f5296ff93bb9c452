"""Every deployable contract fits the 24,576-byte limit of real chains (EIP-170), measured on the
committed artifacts, which must be built from the current sources."""

from __future__ import annotations

import pytest

from vscm.chain import artifacts
from vscm.chain.compile import CONTRACTS_DIR
from vscm.chain.deploy import PLATFORM_CONTRACTS

EIP170_LIMIT = 24_576


def deployable() -> list[str]:
    """The contracts deployed to real chains: those at the top of contracts/ (interfaces, libraries and
    test mocks live in subdirectories)."""
    return sorted(path.stem for path in CONTRACTS_DIR.glob("*.sol"))


def test_every_platform_contract_the_deployer_uses_is_a_deployable_contract():
    assert set(PLATFORM_CONTRACTS) <= set(deployable())


@pytest.mark.parametrize("name", deployable())
def test_deployed_code_fits_the_eip170_limit(name):
    size = artifacts.load(name).deployed_size
    assert 0 < size < EIP170_LIMIT, f"{name} is {size} bytes deployed; the limit is {EIP170_LIMIT}"


def test_sizes_are_measured_on_artifacts_built_from_the_current_sources():
    assert artifacts.stale_sources() == [], "run `make compile`: the artifacts do not match the sources"
