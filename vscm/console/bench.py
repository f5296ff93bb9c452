"""The console's speed: `python -m vscm.console.bench [--events N] [--seconds S]`, and its `make bench` section.

On an anvil node the load generator's population (``vscm.load``, one lender) takes ``--loans`` loans (500) of
the four financing modes, with their orders, assets, guarantees, disbursements, spending and repayments; then
the lender's cash deposits fill the chain up to ``N`` platform events (100,000 for the report); the lenders'
index (SQLite) folds them.
Then the real ``vscm serve`` serves that index in its own process, and Debian's ``wrk`` (an HTTP load
generator in C, ``make install`` installs it) loads it from another, with the lender's bearer token:

* the main list: ``GET /api/loans?lender=…&limit=50`` (a page of 50 of the lender's loans);
* the main detail: ``GET /api/loans/{id}`` (one loan with its money trail and the timeline of its events),
  for a loan in the middle of the history;
* the lender's portfolio (``GET /api/lenders/{address}/portfolio``).

Each endpoint is measured twice, for ``S`` seconds each: over one connection (one request at a time: the
latency percentiles are the service time as the client sees it) and over four (requests per second with
the server busy). The load average of the machine is given with the numbers: other work on it shows there.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EndpointRow", "build_index", "measure", "render_markdown", "section"]

#: Prints wrk's figures as one JSON line (latency in microseconds) when the run ends.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('VSCM {"p50": %d, "p95": %d, "p99": %d, "requests": %d, "duration_us": %d, '
    .. '"errors": %d, "non_2xx": %d}\\n', latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
end
"""
#: Loans of each mode taken per round of the history (small rounds: the pipeline's cost grows with a round's flows).
ROUND_PER_MODE = 7
#: Loans in the report's index; the rest of its events are cash deposits.
LOANS = 500
#: Events of one deposit (PlatformCash.mint: Transfer + Deposited), and deposits sent per pipeline round.
MINT_EVENTS, MINT_ROUND = 2, 2_000
#: The goal the issue sets for a page of 50 loans on SQLite.
GOAL_P95_MS = 50.0


@dataclass(frozen=True)
class EndpointRow:
    what: str
    path: str
    connections: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests_per_second: float
    requests: int
    #: CPU time (user + system) the server process spent per request during the run
    cpu_ms: float


@dataclass(frozen=True)
class Built:
    index: Path
    manifest: Path
    events: int
    loans: int
    lender: Any
    seconds: float


def build_index(chain: Any, directory: Path, events: int, loans: int, *, per_round: int = ROUND_PER_MODE) -> Built:
    """``loans`` loans of the four modes on ``chain`` (with their orders, assets, guarantees, spending and
    repayments), then cash deposits of the same lender until the chain holds ``events`` platform events,
    folded into a SQLite index in ``directory``."""
    from eth_utils import keccak

    from vscm.audit.source import source_for
    from vscm.chain.pipeline import Pipeline
    from vscm.index import open_index
    from vscm.load import Load, Population

    started = time.perf_counter()
    load = Load.setup(chain, Population(chains=2, smes=10, lenders=1, seed="vscm-console-bench"))
    platform, lender = load.platform, load.lenders[0]
    deployment = platform.deployment
    manifest = deployment.save(directory / "deployment.json")
    target = directory / "index.sqlite"
    with open_index(target) as index:
        while int(index.db.query("SELECT COUNT(*) FROM loans")[0][0]) < loans:
            load.run_financing(per_round, phase="console bench")
            index.update(source_for(chain), deployment)
        pipe = getattr(load.driver, "pipe", None)
        if pipe is not None:
            pipe.close()
        # The rest of the events: deposits (PlatformCash.mint: Transfer + Deposited) through the pipeline.
        missing = events - int(index.db.query("SELECT COUNT(*) FROM logs")[0][0])
        if missing > 0:
            cash = platform.cash("CNY")
            cash.as_(load.operator).set_mint_cap(lender.address, 2**128)
            abi: list[dict[str, Any]] = [dict(entry) for entry in cash.contract.abi]
            to = [c.suppliers[0].address for c in load.chains]
            mints = -(-missing // MINT_EVENTS)
            deposits = Pipeline(chain, mining="manual")
            try:
                for first in range(0, mints, MINT_ROUND):
                    for i in range(first, min(mints, first + MINT_ROUND)):
                        deposits.submit_call(lender, abi, cash.address, "mint",
                                             (to[i % len(to)], 100 + i, keccak(text=f"console-bench:{i}")), gas=200_000)
                    failed = [r for r in deposits.wait() if not r.ok]
                    if failed:
                        raise RuntimeError(f"{len(failed)} deposits failed, first: {failed[0]}")
            finally:
                deposits.close()
            index.update(source_for(chain), deployment)
        count = int(index.db.query("SELECT COUNT(*) FROM logs")[0][0])
        made = int(index.db.query("SELECT COUNT(*) FROM loans")[0][0])
    return Built(target, manifest, count, made, lender, time.perf_counter() - started)


def _wrk(url: str, token: str, seconds: float, connections: int, script: Path) -> dict[str, Any]:
    from vscm.devservices import wrk_binary

    done = subprocess.run([str(wrk_binary()), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                           "--latency", "-s", str(script), "-H", f"Authorization: Bearer {token}", url],
                          check=True, capture_output=True, text=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("VSCM "))
    figures = dict(json.loads(line[5:]))
    if figures["errors"] or figures["non_2xx"] or not figures["requests"]:
        raise RuntimeError(f"wrk on {url}: {figures['errors']} errors, {figures['non_2xx']} answers not 2xx, "
                           f"{figures['requests']} requests:\n{done.stdout}")
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (``/proc/<pid>/stat``, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(chain: Any, built: Built, seconds: float) -> list[EndpointRow]:
    """Serve ``built``'s index with ``vscm serve`` (its own process) and load each endpoint with wrk."""
    import httpx

    from vscm.chain.anvil import free_port
    from vscm.client.deployment import Deployment
    from vscm.console.app import mint

    deployment = Deployment.load(built.manifest)
    token = mint(built.lender, deployment, hours=2)
    lender = built.lender.address
    with sqlite3.connect(built.index) as db:
        ids = [int(r[0]) for r in db.execute("SELECT loan_id FROM loans WHERE lender = ? ORDER BY loan_id",
                                             (lender,))]
    middle = ids[len(ids) // 2]
    endpoints = [("a page of 50 loans", f"/api/loans?lender={lender}&limit=50&offset={len(ids) // 2}"),
                 ("one loan (trail, timeline)", f"/api/loans/{middle}"),
                 ("the lender's portfolio", f"/api/lenders/{lender}/portfolio")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    home = Path(tempfile.mkdtemp(prefix="vscm-console-bench-home-"))
    server = subprocess.Popen([sys.executable, "-m", "vscm.cli.main", "serve", "--network", chain.node.url,
                               "--deployment", str(built.manifest), "--index", str(built.index), "--port", str(port),
                               "--interval", "3600"], env={**os.environ, "VSCM_HOME": str(home)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows: list[EndpointRow] = []
    try:
        while True:  # until the console has caught up with the chain (its first update) and answers
            if server.poll() is not None:
                raise RuntimeError(f"vscm serve stopped: {server.communicate()[1][-4000:]}")
            try:
                if httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"},
                             timeout=60).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        script = home / "report.lua"
        script.write_text(WRK_SCRIPT)
        for what, path in endpoints:
            for connections in (1, 4):
                before = cpu_seconds(server.pid)
                f = _wrk(base + path, token, seconds, connections, script)
                cpu = cpu_seconds(server.pid) - before
                rows.append(EndpointRow(what, path.split("?")[0] + ("?…" if "?" in path else ""), connections,
                                        f["p50"] / 1000, f["p95"] / 1000, f["p99"] / 1000,
                                        f["requests"] / (f["duration_us"] / 1e6), f["requests"],
                                        1000 * cpu / f["requests"]))
    finally:
        server.terminate()
        server.communicate(timeout=60)
    return rows


def render_markdown(rows: list[EndpointRow], built: Built, seconds: float, load: tuple[float, float, float]) -> str:
    lines = [("| endpoint | connections | p50 (ms) | p95 (ms) | p99 (ms) | server CPU per request (ms) | requests/s "
             "| requests |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.what} (`{r.path}`) | {r.connections} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} "
                     f"| {r.cpu_ms:.1f} | {r.requests_per_second:,.0f} | {r.requests:,} |")
    lines.append("")
    lines.append(f"Index: {built.events:,} events, {built.loans:,} loans of one lender (the other events are its cash "
                 f"deposits) in SQLite, built in "
                 f"{built.seconds:.0f} s; {seconds:.0f} s of wrk per row; load average before the runs "
                 f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1, 5, 15 min).")
    return "\n".join(lines)


def run(events: int, loans: int, seconds: float) -> tuple[list[EndpointRow], Built, tuple[float, float, float]]:
    from vscm.chain.backends import connect

    with tempfile.TemporaryDirectory(prefix="vscm-console-bench-") as tmp, connect("anvil") as chain:
        built = build_index(chain, Path(tmp), events, loans)
        load = os.getloadavg()
        return measure(chain, built, seconds), built, load


def section(options: Any) -> Any:
    """The console's latency and requests/s over an index of 100,000 events (`make bench`)."""
    from vscm.bench import Section

    events, loans, seconds = (1_000, 28, 1.0) if options.quick else (100_000, LOANS, 10.0)
    rows, built, load = run(events, loans, seconds)
    [one] = [r for r in rows if r.what.startswith("a page") and r.connections == 1]
    page, page_cpu = one.p95_ms, one.cpu_ms
    text = f"""
The console's JSON API (`vscm serve`, one Uvicorn process) on a lenders' index of {built.events:,} platform
events, loaded by Debian's `wrk` from another process with the lender's bearer token (`vscm/console/bench.py`).
One connection gives the latency of one request at a time; four give requests per second with the server busy.
The server's CPU time per request (`/proc/<pid>/stat` of the `vscm serve` process before and after each run) is
its own work, whatever else the machine runs; the latencies also hold the time it waited for a core.
Goal for a page of 50 loans on SQLite: p95 under {GOAL_P95_MS:.0f} ms (here {page:.1f} ms over one connection,
{page_cpu:.1f} ms of server CPU per request).
"""
    return Section("Console API latency (SQLite index)", text, render_markdown(rows, built, seconds, load))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=LOANS)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    rows, built, load = run(args.events, args.loans, args.seconds)
    print(render_markdown(rows, built, args.seconds, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
