"""``vscm oracle`` and ``vscm device`` as a user runs them, against an anvil node: simulated devices
write signed readings, the warehouse registers them, the operator sets the signer set, the oracle
publisher runs three node wallets over the readings, a removal raises a margin call, anyone verifies
a reading; mistakes end in one line and exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from financing_support import Fin
from harness import make_parties, populate
from oracle_support import node_keys

from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.cli.main import cli
from vscm.wallet.keystore import KEYSTORE_DIR_ENV, Keystore

pytestmark = pytest.mark.anvil

PASSWORD = "oracle-cli-test-passphrase"
VSCM = Path(sys.executable).parent / "vscm"


class Cli:
    def __init__(self, home: Path, url: str, manifest: Path, password_file: Path) -> None:
        self.env = {KEYSTORE_DIR_ENV: str(home / "keys"), "VSCM_HOME": str(home), "VSCM_NETWORK": url,
                    "VSCM_DEPLOYMENT": str(manifest)}
        self.password_file = password_file
        self.home = home

    def run(self, *args: str, wallet: str | None = None) -> Any:
        signer = ["--wallet", wallet, "--password-file", str(self.password_file)] if wallet else []
        return CliRunner().invoke(cli, [*args, *signer], env=self.env)

    def json(self, *args: str, wallet: str | None = None) -> Any:
        result = self.run(*args, "--json", wallet=wallet)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def fails(self, *args: str, wallet: str | None = None, code: int = 1) -> str:
        """Run a command that must fail with exit ``code`` (2 usage, 3 refused on chain, 1 otherwise)."""
        result = self.run(*args, wallet=wallet)
        assert result.exit_code == code, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
        return lines[0]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Any, int]]:
    home = tmp_path_factory.mktemp("oracle-cli")
    node = AnvilNode.start()
    try:
        chain = connect(node)
        world = populate(chain, make_parties("oracle-cli"))
        deal = Fin(world).pledge()
        manifest = world.platform.deployment.save(home / "deployment.json")
        store = Keystore(home / "keys", iterations=2**4)  # a cheap work factor: same file format
        p = world.p
        for label, account in (("operator", p.operator), ("warehouse", p.warehouse), ("carrier", p.carrier),
                               ("publisher", p.oracle)):
            store.import_key(label, "0x" + bytes(account.key).hex(), PASSWORD)
        for i, key in enumerate(node_keys("oracle-cli")):
            store.import_key(f"node{i}", "0x" + bytes(key.key).hex(), PASSWORD)
        password_file = home / "password.txt"
        password_file.write_text(PASSWORD + "\n")
        yield Cli(home, node.url, manifest, password_file), world, deal.asset_id
    finally:
        node.stop()


def test_devices_readings_batches_and_a_margin_call_from_the_command_line(setup):
    run, _world, receipt = setup
    devices, readings = run.home / "bay.json", run.home / "r1.jsonl"
    assert "need --custodian" in run.fails("oracle", "simulate", "--devices", str(devices), "--receipt",
                                           str(receipt), "--out", str(readings), code=2)
    sim = run.json("oracle", "simulate", "--devices", str(devices), "--receipt", str(receipt), "--custodian",
                   "warehouse", "--samples", "3", "--out", str(readings))
    assert sim["readings"] == 9 and [d["seq"] for d in sim["devices"]] == [3, 3, 3]
    for d in sim["devices"]:
        out = run.json("device", "register", d["serial"], "--key", d["address"], "--metric", d["metric"],
                       "--receipt", str(receipt), wallet="warehouse")
        assert out["device_id"] == d["device_id"]
    nodes = [k.address for k in node_keys("oracle-cli")]
    current = run.json("oracle", "state", "--receipt", str(receipt))  # a read before any report: all zero
    assert (current["batch_id"], current["active_devices"]) == (0, 3)
    assert run.json("oracle", "signers", *[x for n in nodes for x in ("--node", n)], "--quorum", "2",
                    wallet="operator")["signer_set"] >= 1
    run.json("oracle", "watch", "--receipt", str(receipt), "--min-temp", "2", "--max-temp", "8", wallet="warehouse")

    batch_file = run.home / "batch1.json"
    first = run.json("oracle", "run", "--source", str(readings), "--node", "node0", "--node", "node1", "--node",
                     "node2", "--batch-out", str(batch_file), wallet="publisher")
    assert (first["readings"], first["rejected"], first["margin_calls"]) == (9, 0, [])
    assert first["summaries"][0]["quantity"] == 500 and len(first["signers"]) == 2

    more = run.home / "r2.jsonl"
    run.json("oracle", "simulate", "--devices", str(devices), "--samples", "3", "--remove", "120", "--out", str(more))
    second = run.json("oracle", "run", "--source", str(more), "--node", "node0", "--node", "node2",
                      wallet="publisher")
    assert second["margin_calls"] == [receipt] and second["breaches"] == ["goods_missing"]
    state = run.json("oracle", "state", "--receipt", str(receipt))
    assert state["quantity"] == 380 and state["margin_call"] is True

    serial = sim["devices"][0]["serial"]
    ok = run.json("oracle", "verify-reading", "--batch", str(batch_file), "--device", serial, "--seq", "2")
    assert ok["in_batch"] and ok["device_signature_valid"]
    listed = run.json("device", "list")
    assert {d["last_seq"] for d in listed} == {6}

    # A forged value in the batch file no longer makes its root: refused before any chain call.
    data = json.loads(batch_file.read_text())
    data["readings"][0]["value"] += 1
    forged = run.home / "forged.json"
    forged.write_text(json.dumps(data))
    assert "inconsistent" in run.fails("oracle", "verify-reading", "--batch", str(forged), "--device", serial,
                                       "--seq", "1")
    # ... and a consistent forged batch (its own root) is refused by the chain.
    from vscm.oracle.merkle import MerkleTree
    from vscm.oracle.model import SignedReading

    leaves = [SignedReading.from_json(json.dumps(r)).reading.leaf for r in data["readings"]]
    data["root"] = "0x" + MerkleTree(leaves).root.hex()
    forged.write_text(json.dumps(data))
    assert "OracleReadingNotInBatch" in run.fails("oracle", "verify-reading", "--batch", str(forged), "--device",
                                                  sim["devices"][0]["serial"], "--seq", "2", code=3)


def test_device_mistakes_end_in_one_line(setup):
    run, _world, receipt = setup
    key = Account.create().address
    assert "OracleNotCustodian(kind=ASSET" in run.fails("device", "register", "CARRIER-1", "--key", key, "--metric", "door",
                                             "--receipt", str(receipt), wallet="carrier", code=3)
    assert "exactly one of --receipt" in run.fails("device", "register", "X-1", "--key", key, "--metric", "door",
                                                   wallet="warehouse", code=2)
    run.json("device", "register", "SPARE-1", "--key", key, "--metric", "door", "--receipt", str(receipt),
             wallet="warehouse")
    assert run.json("device", "retire", "SPARE-1", wallet="warehouse")["action"] == "device retired"
    assert "OracleDeviceRetired" in run.fails("device", "retire", "SPARE-1", wallet="warehouse", code=3)
    assert "same key" in run.fails("oracle", "run", "--source", str(run.home / "none.jsonl"), "--node", "node0",
                                   "--node", "node0", wallet="publisher", code=2)
    assert "no readings file" in run.fails("oracle", "run", "--source", str(run.home / "none.jsonl"), "--node",
                                           "node0", wallet="publisher")


@pytest.mark.mqtt
def test_oracle_run_over_the_mqtt_broker(setup, mqtt_broker):
    """`vscm oracle run --source mqtt://…` listens (a separate process) while `vscm oracle simulate
    --publish` sends each device's readings on its own topic; the batch lands on chain."""
    run, world, _ = setup
    receipt = run.json("asset", "register", "receipt", "--owner", world.p.supplier.address, "--lot", "MQTT-CLI-1",
                       "--quantity", "200", "--unit", "t", "--currency", "CNY", "--value", "100000",
                       wallet="warehouse")["asset_id"]
    devices = run.home / "mqtt-bay.json"
    sim = run.json("oracle", "simulate", "--devices", str(devices), "--receipt", str(receipt), "--custodian", "warehouse", "--seed", "mqtt-cli",
                   "--quantity", "200", "--samples", "1", "--out", str(run.home / "mqtt-warmup.jsonl"))
    for d in sim["devices"]:
        run.json("device", "register", d["serial"], "--key", d["address"], "--metric", d["metric"], "--receipt",
                 str(receipt), wallet="warehouse")
    nodes = [k.address for k in node_keys("oracle-cli")]
    run.json("oracle", "signers", *[x for n in nodes for x in ("--node", n)], "--quorum", "2", wallet="operator")
    url = f"{mqtt_broker.url}/vscm-cli-{uuid.uuid4().hex[:12]}"
    argv = [str(VSCM), "oracle", "run", "--source", url, "--expect", "9", "--timeout", "600", "--node", "node0",
            "--node", "node1", "--json", "--wallet", "publisher", "--password-file", str(run.password_file)]
    oracle_process = subprocess.Popen(argv, env={**os.environ, **run.env}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
    try:
        assert oracle_process.stderr is not None
        listening = oracle_process.stderr.readline()
        assert listening.startswith("listening on "), listening
        published = run.json("oracle", "simulate", "--devices", str(devices), "--samples", "3", "--publish", url)
        assert published["readings"] == 9
        out, err = oracle_process.communicate(timeout=1800)
    finally:
        if oracle_process.poll() is None:
            oracle_process.kill()
    assert oracle_process.returncode == 0, err
    batch = json.loads(out)
    assert (batch["readings"], batch["rejected"], batch["summaries"][0]["quantity"]) == (9, 0, 200)
    assert run.json("oracle", "state", "--receipt", str(receipt))["batch_id"] == batch["batch_id"]
