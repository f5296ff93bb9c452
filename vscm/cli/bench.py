"""``make bench`` section: the CLI's latency, timed by hyperfine on a warm local anvil node.

The demo's platform is deployed on a throw-away anvil; the demo's core enterprise and suppliers get wallets in
a temporary keystore, and hyperfine times whole ``vscm`` processes (start-up, imports, the manifest check, the
calls and, for a write, the wallet's unlocking and the transaction mined) after a warm-up run:

* ``vscm --help``; ``vscm member show``, ``vscm cash balance`` (reads); ``vscm order place`` (a write), with the
  standard scrypt keystore (n = 2**18, what a user has) and with a cheap one (what the rest costs).

``python -m vscm.cli.bench`` prints this table alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["measure", "render", "section"]

#: the issue's targets, seconds (issue 15)
READ_TARGET = 0.5
WRITE_TARGET = 1.0
PASSPHRASE = "bench passphrase"


def measure(runs: int = 10) -> list[dict[str, Any]]:
    """Time the CLI's commands with hyperfine; one row per command (mean, σ, min, max in seconds)."""
    from vscm import demo
    from vscm.chain.backends import connect
    from vscm.devservices import hyperfine_binary
    from vscm.wallet.keystore import FAST_KDF_ENV, Keystore

    hyperfine = hyperfine_binary()
    vscm = Path(sys.executable).parent / "vscm"
    with tempfile.TemporaryDirectory(prefix="vscm-cli-bench-") as tmp, connect("anvil", timeout=120) as chain:
        home = Path(tmp)
        cast = demo.Cast.from_seed("vscm-cli-bench")
        platform, chain_id = _platform(chain, cast)
        manifest = platform.deployment.save(home / "deployment.json")
        keys = home / "keys"
        Keystore(keys).import_key("buyer", cast.supplier_a.key.hex(), PASSPHRASE)  # the standard work factor
        Keystore(keys, iterations=2**10).import_key("buyer-fast", cast.supplier_a.key.hex(), PASSPHRASE)
        Keystore(keys).import_key("seller", cast.supplier_b.key.hex(), PASSPHRASE)
        password = home / "passphrase"
        password.write_text(PASSPHRASE + "\n")
        url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        net = f"--network {url} --deployment {manifest}"
        place = (f"{vscm} order place --seller seller --chain {chain_id} --currency CNY --amount 1 --due 2031-01-01 "
                 f"{net} --password-file {password} --wallet")
        commands = {
            "vscm --help": (f"{vscm} --help", None),
            "vscm member show (read)": (f"{vscm} member show seller {net}", READ_TARGET),
            "vscm cash balance (read)": (f"{vscm} cash balance seller {net}", READ_TARGET),
            "vscm order place (write, standard keystore)": (f"{place} buyer", WRITE_TARGET),
            "vscm order place (write, cheap keystore)": (f"{place} buyer-fast", WRITE_TARGET),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")}
        env.update(VSCM_HOME=str(home), VSCM_KEYSTORE_DIR=str(keys))
        env.pop(FAST_KDF_ENV, None)
        rows = []
        for name, (command, target) in commands.items():
            out = home / "hyperfine.json"
            subprocess.run([str(hyperfine), "--warmup", "1", "--runs", str(runs), "--style", "none", "-N",
                            "--export-json", str(out), command], env=env, check=True, capture_output=True)
            result = json.loads(out.read_text())["results"][0]
            rows.append({"command": name, "mean": result["mean"], "stddev": result["stddev"] or 0.0,
                         "min": result["min"], "max": result["max"], "user": result["user"],
                         "system": result["system"], "target": target})
        shutil.rmtree(home / "keys", ignore_errors=True)
    return rows


def _platform(chain: Any, cast: Any) -> tuple[Any, int]:
    """The platform with a certified core enterprise and two suppliers in its supply chain (about 20 transactions)."""
    from eth_utils import keccak

    from vscm.chain.deploy import deploy_platform
    from vscm.client.records import Role, Tier

    for name in cast.__dataclass_fields__:
        chain.fund(getattr(cast, name).address, 10**20)
    p = deploy_platform(chain, cast.operator, manifest=False, network="bench")
    m, year = p.members, chain.now() + 365 * 86400
    for who, role, name in (("bank", Role.FINANCIER, "Bench Bank"), ("auditor", Role.AUDITOR, "Bench Audit"),
                            ("supplier_a", Role.SUPPLIER, "Bench Buyer"), ("supplier_b", Role.SUPPLIER, "Bench Seller")):
        m.as_(getattr(cast, who)).apply([role], Tier.SME, keccak(text=who), year, name)
        m.as_(cast.operator).approve(getattr(cast, who).address)
    m.as_(cast.core).apply([Role.MANUFACTURER], Tier.CORE, keccak(text="core"), year, "Bench Motors")
    m.as_(cast.bank).attest(cast.core.address, Role.FINANCIER)
    m.as_(cast.auditor).attest(cast.core.address, Role.AUDITOR)
    chain_id = m.as_(cast.core).create_chain("Bench chain").id
    for who in ("supplier_a", "supplier_b"):
        m.as_(getattr(cast, who)).request_join(chain_id)
        m.as_(cast.core).approve_join(chain_id, getattr(cast, who).address)
    return p, chain_id


def render(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| command | mean | ± σ | min | max | CPU (user + sys) | target |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        target = "-" if r["target"] is None else (f"< {r['target']:g} s: " +
                                                  ("met" if r["mean"] < r["target"] else "not met"))
        lines.append(f"| `{r['command']}` | {r['mean']:.3f} s | {r['stddev']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
                     f"{r['user'] + r['system']:.3f} s | {target} |")
    return "\n".join(lines) + "\n"


def section(options: Any) -> Any:
    """The ``vscm.bench`` section (one run per command after the warm-up with ``--quick``)."""
    from vscm.bench import Section  # vscm.bench imports the sections by name, not this module

    rows = measure(1 if options.quick else 10)
    text = ("Whole `vscm` processes timed by hyperfine (after a warm-up run) against the demo's platform on a local "
            "anvil: start-up and imports, the manifest check (one JSON-RPC batch), the calls, and for a write the "
            "wallet's unlocking and the transaction mined (nonce, block, gas and fees in one batch, the receipt polled "
            "every 50 ms). These commands take the light path (`vscm/chain/light.py`: JSON-RPC over the standard "
            "library, eth-abi, eth-account, no web3; the ABIs and code fingerprints from one cached file). CPU is the "
            "process's user + sys time: on a loaded machine the wall time is mostly waiting for a core, and the CPU is "
            "the figure to compare. The standard keystore's scrypt (n = 2^18) alone costs about 0.75 s of CPU at every "
            "write; the cheap keystore row shows the rest. `python -m vscm.cli.bench` prints this table alone.")
    return Section("CLI latency (hyperfine, anvil)", text, render(rows))


def main() -> int:
    sys.stdout.write("## CLI latency (hyperfine, anvil)\n\n" + render(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
