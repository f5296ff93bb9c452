"""The lenders' index files a loan's exposure under the chain the loan belongs to (Low of issue 13:
loans stay indexed under the chain the borrower applied from)."""

from __future__ import annotations

from typing import Any

from vscm.index.lender import exposure

LENDER, BORROWER, CASH = "0x" + "b" * 40, "0x" + "a" * 40, "0x" + "c" * 40


class _Index:
    """The three reads `exposure` makes, over one disbursed loan whose borrower left chain 3 for chain 5."""

    def cursor(self) -> None:
        return None

    def loans_of(self, lender: str) -> list[dict[str, Any]]:
        return [{"loanId": 1, "lender": LENDER, "borrower": BORROWER, "status": 4, "currency": CASH,
                 "principal": 100, "interestAccrued": 0, "principalRepaid": 0, "interestPaid": 0,
                 "writtenOff": 0, "rateBps": 0, "lastAccrual": 0, "interestCarry": 0, "chain": 3}]

    def record(self, table: str, key: str) -> dict[str, Any] | None:
        return {"members": {"chainId": 5}, "currencies": {"code": "CNY"}, "funds": {"disbursed": 100}}.get(table)


def test_exposure_files_a_loan_under_the_chain_it_was_applied_from_after_the_borrower_left_it():
    # Bug fixed: the index grouped by the borrower's chain of today, so a borrower that left chain 3
    # took its loan out of chain 3's exposure, while the contracts' fraud sweep of chain 3 freezes it.
    found = exposure(_Index(), LENDER)  # type: ignore[arg-type]

    assert set(found["supply_chain"]) == {"3"}
    assert found["supply_chain"]["3"]["CNY"] == {"loans": 1, "outstanding": 100, "unspent": 100}
