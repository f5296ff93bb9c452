"""The oracle's part of the demo (vscm/oracle/demo.py) on the test world: readings flow, goods are
removed, a margin call is raised; the printed story says so."""

from __future__ import annotations

from harness import b32

from vscm.oracle.demo import run_watched_pledge
from vscm.oracle.model import TargetKind


def test_watched_pledge_story_ends_in_a_margin_call(fresh):
    p, platform = fresh.p, fresh.platform
    platform.cash("CNY").as_(p.bank).mint(p.bank.address, 200_000_00, b32("oracle-demo-reserves"))
    lines: list[str] = []
    result = run_watched_pledge(platform, operator=p.operator, lender=p.bank, guarantor=p.core, borrower=p.supplier,
                                seller=p.supplier2, warehouse=p.warehouse, chain_id=fresh.chain_id,
                                say=lines.append, seed="oracle-demo-test")
    assert result.margin_call and result.quantity_seen == 225 and len(result.batches) == 3
    state = platform.oracle.target_state(TargetKind.ASSET, result.receipt_id)
    assert state.margin_call and state.breach_names == ["goods_missing"]
    assert any(line.startswith(f"MARGIN CALL on loan #{result.loan_id}: collateral CNY 180,000.00") for line in lines)
    assert any("batch 1: 18 signed readings" in line and "300 t" in line for line in lines)
    assert any("anyone can prove a reading" in line for line in lines)
