"""`make bench` section: the same business load on a Kaia BFT network (``vscm network``) beside anvil.

One run, one load, one pipeline: ``vscm.load`` deploys the platform, onboards its population and runs
order lifecycles and loans of the four financing modes through a ``Pipeline`` (JSON-RPC batches,
local signing), first on a fresh anvil (automine off, ``evm_mine`` per round, as the throughput
section), then on a fresh network of Kaia validators (``Network.up`` in a temporary directory: the
validators commit a block every second, whatever is in the pool; free gas, no faucet). Then
time-to-finality: single business transactions (a mint of one cent) sent one at a time by the
client's ``Sender``; the time until the sender has its receipt (on a BFT network a committed block is
final: ``finality="instant"``) and until every validator holds the transaction's block under the
same hash. anvil's "finality" is its automined receipt: one node, no consensus, no finality at all in
the BFT sense; it is the floor the network is compared with.

``--quick`` (the CI smoke test) runs one validator and a tiny load: the same code, numbers that mean
nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

from vscm.bench import Options, Section, bench_chain
from vscm.chain.backends import connect
from vscm.load import Load, PhaseStats, Population
from vscm.network import Network

__all__ = ["section"]


@dataclass(frozen=True)
class NetSizes:
    validators: int
    population: Population
    orders: int
    per_mode: int
    samples: int  # single transactions timed for finality


def net_sizes(options: Options) -> NetSizes:
    if options.quick:
        return NetSizes(1, Population(chains=1, smes=5, lenders=1), orders=2, per_mode=1, samples=2)
    return NetSizes(4, Population(chains=4, smes=40, lenders=2), orders=200, per_mode=5, samples=20)


@dataclass
class Row:
    chain: str
    phases: list[PhaseStats]
    receipt: list[float]
    final: list[float]

    @property
    def transactions(self) -> int:
        return sum(p.transactions for p in self.phases)

    @property
    def rounds(self) -> int:
        return sum(p.rounds for p in self.phases)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.phases)


def measure(name: str, chain: Any, size: NetSizes, urls: list[str]) -> Row:
    """The load through the pipeline, then ``size.samples`` single transactions timed to finality on
    every node of ``urls``."""
    load = Load.setup(chain, size.population)
    phases = [load.run_orders(size.orders, phase="orders"), load.run_financing(size.per_mode, phase="financing")]
    pipe = getattr(load.driver, "pipe", None)
    if pipe is not None:
        pipe.close()  # anvil's automine back on: the one-at-a-time sends wait for their receipts
    lender, trader = load.lenders[0], load.chains[0].suppliers[0]
    cash = load.platform.cash("CNY").as_(lender)
    receipt_times, final_times = [], []
    for i in range(size.samples):
        started = time.perf_counter()
        receipt = cash.mint(trader.address, 1, keccak(text=f"finality:{name}:{i}"))
        receipt_times.append(time.perf_counter() - started)
        final_times.append(_final_everywhere(urls, int(receipt["blockNumber"]), receipt["blockHash"]) - started)
    row = Row(name, phases, receipt_times, final_times)
    print(f"  {name}: {row.transactions} business tx at {row.transactions / row.seconds:,.1f}/s, "
          f"finality median {statistics.median(final_times):.2f} s", file=sys.stderr, flush=True)
    return row


def _final_everywhere(urls: list[str], number: int, block_hash: Any, timeout: float = 60.0) -> float:
    """When every node of ``urls`` holds block ``number`` with hash ``block_hash`` (perf_counter time)."""
    from vscm.network import _rpc  # the network's raw JSON-RPC: no web3 per node

    wanted = block_hash.hex() if isinstance(block_hash, bytes) else str(block_hash)
    wanted = wanted if wanted.startswith("0x") else "0x" + wanted
    pending = list(urls)
    deadline = time.perf_counter() + timeout
    while pending:
        block = _rpc(pending[0], "eth_getBlockByNumber", [hex(number), False])
        if block is not None and str(block["hash"]) == wanted:
            pending.pop(0)
            continue
        if time.perf_counter() > deadline:
            raise TimeoutError(f"block {number} ({wanted}) not on {pending[0]} after {timeout:.0f} s")
        time.sleep(0.01)
    return time.perf_counter()


def section(options: Options) -> Section:
    size = net_sizes(options)
    rows: list[Row] = []
    with bench_chain("anvil") as anvil:
        rows.append(measure("anvil (one node)", anvil, size, [anvil.node.url]))
    with tempfile.TemporaryDirectory(prefix="vscm-bench-net-") as tmp:
        net = Network.up(Path(tmp) / "networks" / "bench", validators=size.validators, owned=True)
        try:
            with connect(net.urls[0], gas_price="auto", poa=True) as chain:
                rows.append(measure(f"Kaia, {size.validators} validator{'s' * (size.validators > 1)} (BFT)",
                                    chain, size, net.urls))
        finally:
            net.down()
    lines = [
        ("| chain | business tx | rounds | business tx/s | receipt, median (s) | final on every node, median / max (s) "
         "| failed |"),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row.chain} | {row.transactions:,} | {row.rounds} | {row.transactions / row.seconds:,.1f} | "
                     f"{statistics.median(row.receipt):.2f} | {statistics.median(row.final):.2f} / "
                     f"{max(row.final):.2f} | {row.failed} |")
    p = size.population
    text = f"""
The same business load, through the same pipeline, in the same run: a population of {p.chains} supply
chains, {p.smes} SMEs and {p.lenders} lender(s) onboarded, then {size.orders} order lifecycles (9 transactions
each) and {size.per_mode} loan(s) of each financing mode from application to repayment or collection;
*business tx/s* counts those two phases (onboarding excluded). On anvil the pipeline mines a block per
round with `evm_mine`; the Kaia validators (`vscm network`, Istanbul BFT, free gas) commit a block every
second, so each round of dependent transactions costs at least a block period there. Then
{size.samples} single business transactions (a one-cent mint) are sent one at a time by the client's
`Sender`: *receipt* is the time until it has the receipt (a committed BFT block is final), *final on
every node* until every validator holds the block under the same hash. anvil is one node that mines
on demand: no consensus, and its receipt is not finality in the BFT sense; it is the floor.
"""
    return Section(f"Throughput and time to finality: a {size.validators}-validator BFT network beside anvil",
                   text, "\n".join(lines))
