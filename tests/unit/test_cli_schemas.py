"""docs/json.md is the JSON of the commands: generated from vscm/cli/schemas.py, and the models refuse what the
conventions forbid (bare minor units, Unix seconds, unknown keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vscm.cli.schemas import markdown, validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
ADDRESS = "0x" + "ab" * 20
CNY = {"amount": "1250.75", "currency": "CNY", "minor": 125075}


def order(**changes: object) -> dict[str, object]:
    return {"order_id": 1, "status": "SETTLED", "buyer": ADDRESS, "seller": ADDRESS, "chain_id": 1,
            "seller_chain_id": 1, "currency": "CNY", "cash_token": ADDRESS, "amount": CNY, "prepaid": {**CNY, "amount": "0.00", "minor": 0},
            "due_date": "2031-06-30T00:00:00+00:00", "overseas": False, "incoterm": None,
            "destination_country": None, "carrier": None, "warehouse": None, "invoice_number": "INV-7",
            "payee": ADDRESS, "status_before_dispute": "NONE", "document_count": 0, "documents": [], **changes}


def test_docs_json_md_is_generated_from_the_models() -> None:
    assert DOC.read_text() == markdown(), "run: python -m vscm.cli.schemas > docs/json.md"


def test_an_order_in_the_convention_validates() -> None:
    validate("order show", order())


@pytest.mark.parametrize("changes", [
    {"amount": 125075},  # bare minor units
    {"amount": "1250.75"},  # a decimal string without its currency
    {"due_date": 1940544000},  # Unix seconds
    {"due_date": "2031-06-30"},  # a date without its time zone
    {"buyer": "Core Motors"},  # a name where the address belongs
    {"surprise": 1},  # a key the schema does not know
])
def test_an_order_breaking_the_convention_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        validate("order show", order(**changes))
