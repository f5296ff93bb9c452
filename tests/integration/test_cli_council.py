"""`vscm deploy --council` and `vscm council` as the consortium's members run them, each with its own wallet,
on one anvil node: the deployment hands every admin power to a 2-of-3 council (recorded in the manifest);
one member proposes a risk parameter, a second approves, the change waits in `pending` for the delay and
is carried out after it; too few approvals, a call before the delay and a non-member end in one line with
the CLI's exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import make_parties

from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.cli.main import run
from vscm.client.deployment import Deployment
from vscm.client.platform import Platform
from vscm.wallet.keystore import Keystore

pytestmark = pytest.mark.anvil

PASSPHRASE = "council passphrase"
SIGNERS = ("operator", "bank", "bank2", "auditor")
DELAY = 3_600


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("council-home")
    node = AnvilNode.start()
    try:
        chain = connect(node)
        parties = make_parties("vscm-cli-council")
        keys = Keystore(home / "keys", iterations=2**10)
        for label in SIGNERS:
            account = getattr(parties, label)
            chain.fund(account.address, 10**20)
            keys.import_key(label, account.key.hex(), PASSPHRASE)
        (home / "pass").write_text(PASSPHRASE + "\n")
        yield {"home": home, "url": node.url, "p": parties, "chain": chain}
    finally:
        node.stop()


@pytest.fixture(scope="module")
def vscm(desk: dict[str, Any]) -> Any:
    home: Path = desk["home"]
    patch = pytest.MonkeyPatch()
    patch.setenv("VSCM_KEYSTORE_DIR", str(home / "keys"))
    patch.setenv("VSCM_KDF_FAST", "1")
    patch.setenv("VSCM_HOME", str(home))
    patch.setenv("COLUMNS", "200")

    def call(*args: str, wallet: str | None = None, capture: Any) -> tuple[int, str, str]:
        net = ["--network", desk["url"], "--deployment", str(home / "deployment.json")]
        signer = ["--wallet", wallet, "--password-file", str(home / "pass")] if wallet else []
        code = run([*args, *net, *signer])
        out, err = capture.readouterr()
        return code, out, err

    yield call
    patch.undo()


def test_a_council_deployment_and_one_governed_change(vscm: Any, desk: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    p = desk["p"]

    def ok(*args: str, wallet: str | None = None) -> Any:
        code, out, err = vscm(*args, "--json", wallet=wallet, capture=capsys)
        assert code == 0, err
        return json.loads(out)

    def fails(*args: str, wallet: str | None = None) -> tuple[int, str]:
        code, out, err = vscm(*args, wallet=wallet, capture=capsys)
        assert out == "" and err.count("\n") == 1, err  # one line, no traceback
        return code, err

    # Owners by wallet label; the manifest records the council.
    deployed = ok("deploy", "--council", "bank,bank2,auditor", "--threshold", "2", "--delay", str(DELAY),
                  wallet="operator")
    manifest = Deployment.load(desk["home"] / "deployment.json")
    assert (manifest.council_safe, manifest.council_timelock) == (deployed["council_safe"],
                                                                  deployed["council_timelock"]) != ("", "")
    shown = ok("council", "show")
    assert shown["owners"] == [p.bank.address, p.bank2.address, p.auditor.address]
    assert (shown["threshold"], shown["delay_seconds"]) == (2, DELAY)
    platform = Platform(desk["chain"], manifest)
    assert not platform.risk.has_role(b"\x00" * 32, p.operator.address)  # the operator key governs nothing

    proposed = ok("council", "propose", "risk", "setParameters", "172800", "1", "3", wallet="bank")
    assert proposed["approvals"] == [p.bank.address] and proposed["timelocked"]
    assert proposed["call"] == "RiskControl.setParameters(window=172800, policy=1, severity=3)"
    code, err = fails("council", "execute", proposed["id"], wallet="bank")
    assert code == 1 and "1 of 2 approvals" in err and "vscm council approve" in err
    code, err = fails("council", "approve", proposed["id"], wallet="operator")
    assert code == 1 and "not a council member" in err

    approved = ok("council", "approve", proposed["id"], wallet="bank2")
    assert (approved["approvals"], approved["threshold"]) == (2, 2)
    scheduled = ok("council", "execute", proposed["id"], wallet="auditor")
    assert scheduled["action"] == "scheduled" and scheduled["operation"] == proposed["operation"]

    pending = ok("council", "pending")
    assert pending["proposals"] == []
    [waiting] = pending["scheduled"]
    assert (waiting["id"], waiting["call"], waiting["ready"]) == (proposed["operation"], proposed["call"], False)
    code, err = fails("council", "execute", waiting["id"], wallet="bank")
    assert code == 1 and "ready at" in err
    assert platform.risk.contract.functions.warnSeverity().call() != 3

    desk["chain"].time_travel(DELAY)
    done = ok("council", "execute", waiting["id"], wallet="bank")

    assert done["action"] == "carried out"
    assert platform.risk.contract.functions.warnSeverity().call() == 3
    assert ok("council", "pending")["scheduled"] == []
    assert ok("council", "show", proposed["id"])["executed"] is True


def test_bad_council_input_is_a_usage_error(vscm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vscm("council", "propose", "risk", "noSuchFunction", wallet="bank", capture=capsys)
    assert code == 2 and "not a function that changes state" in err
    code, _, err = vscm("council", "propose", "risk", "setParameters", "1", wallet="bank", capture=capsys)
    assert code == 2 and "takes 3 argument(s)" in err
    code, _, err = vscm("council", "approve", "0x12", wallet="bank", capture=capsys)
    assert code == 2 and "vscm council pending" in err
    code, _, err = vscm("deploy", "--threshold", "2", wallet="operator", capture=capsys)
    assert code == 2 and "--council" in err
