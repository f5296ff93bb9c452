"""Double financing on a real node: two lenders approve loans on the same asset in the same block, and
exactly one approval takes effect.

Each lender's approval would pass on its own (gas estimation runs against the state before the block),
so both transactions are signed with a fixed gas limit and explicit nonces, sent while anvil's
automining is off, and mined together by one `evm_mine`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from financing_support import Fin, make_parties, populate, reverts

from vscm.chain.backends import connect
from vscm.chain.tx import fee_fields
from vscm.client.records import LoanStatus

pytestmark = pytest.mark.anvil

APPROVE_GAS = 600_000


@pytest.fixture(scope="module")
def anvil_world() -> Iterator[Any]:
    with connect("anvil") as chain:
        yield populate(chain, make_parties("vscm-tests-anvil"))


def rpc(chain: Any, method: str, params: list[Any]) -> Any:
    response = chain.w3.provider.make_request(method, params)
    assert "error" not in response, response
    return response.get("result")


def signed_approval(chain: Any, fin: Fin, lender: Any, loan_id: int) -> bytes:
    """`lender`'s approve(loan_id) signed offline: its own nonce, a fixed gas limit, dev-chain fees."""
    data = fin.platform.loans.contract.encode_abi("approve", args=[loan_id, 6_000, fin.p.warehouse.address])
    tx = {"to": fin.platform.loans.address, "data": data, "value": 0, "chainId": chain.chain_id,
          "gas": APPROVE_GAS, "nonce": chain.nonces.take(lender.address)}
    tx |= fee_fields(chain.w3, chain.fee_policy, chain.w3.eth.get_block("latest"))
    return bytes(lender.sign_transaction(tx).raw_transaction)


def test_two_lenders_approving_the_same_asset_in_one_block_exactly_one_wins(anvil_world):
    chain, p = anvil_world.chain, anvil_world.p
    fin = Fin(anvil_world)
    first = fin.pledge(stage="applied", lender=p.bank)
    second = fin.pledge(stage="applied", lender=p.bank2, asset_id=first.asset_id)
    raw = [signed_approval(chain, fin, p.bank, first.loan_id), signed_approval(chain, fin, p.bank2, second.loan_id)]

    rpc(chain, "evm_setAutomine", [False])
    try:
        hashes = [chain.w3.eth.send_raw_transaction(tx) for tx in raw]
        rpc(chain, "evm_mine", [])
    finally:
        rpc(chain, "evm_setAutomine", [True])

    receipts = [chain.w3.eth.get_transaction_receipt(h) for h in hashes]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    assert sorted(r["status"] for r in receipts) == [0, 1]
    winner, loser = (first, second) if receipts[0]["status"] == 1 else (second, first)
    assert fin.asset(first.asset_id).locked_by == winner.loan_id
    assert fin.state(winner.loan_id).status == LoanStatus.APPROVED
    assert fin.state(loser.loan_id).status == LoanStatus.APPLIED
    # Why the loser failed: replayed on the state its block left, its approval meets the winner's lock.
    call = fin.platform.loans.contract.functions.approve(loser.loan_id, 6_000, p.warehouse.address)
    with reverts("LoanAssetLocked", assetId=first.asset_id, loanId=winner.loan_id):
        chain.sender.call(call, block=receipts[0]["blockNumber"], sender=loser.lender.address)
