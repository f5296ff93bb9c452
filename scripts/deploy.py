"""Deploy the VSCM platform on brownie's active network and record it in deployments/<network>.json.

    brownie run scripts/deploy.py                      # development: brownie starts anvil
    brownie run scripts/deploy.py --network <id>       # any network brownie knows

brownie only supplies the network here: vscm attaches to the same node over JSON-RPC, deploys its
own artifacts (``vscm/artifacts``, built by ``make compile``; brownie's ``build/`` is for the brownie
console) and signs every transaction locally with the operator's key, as ``vscm deploy`` does. On the
development network the operator is anvil's first dev account (brownie's ``accounts[0]``);
elsewhere it is the brownie keystore named by ``VSCM_OPERATOR_ACCOUNT`` (``brownie accounts new
<id>``), unlocked at a password prompt.
"""

from __future__ import annotations

import os
from pathlib import Path

from brownie import accounts, network, web3
from brownie.network.account import LocalAccount as BrownieAccount
from eth_account import Account
from eth_account.signers.local import LocalAccount

from vscm.chain import artifacts
from vscm.chain.anvil import FAUCET_KEY
from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.errors import ArtifactError, ChainError, VscmError, WalletError

#: The deployment parameters: one PlatformCash per currency (ISO 4217).
CURRENCIES = ("CNY", "USD")
#: Where manifests go: one JSON file per network (``deployments/development*.json`` is gitignored).
DEPLOYMENTS_DIR = Path(__file__).resolve().parents[1] / "deployments"
#: Names of the networks that brownie runs itself with anvil's dev accounts.
DEV_NETWORKS = ("development",)
OPERATOR_ACCOUNT_ENV = "VSCM_OPERATOR_ACCOUNT"


def operator_account(network_name: str) -> LocalAccount:
    """The operator's key as an eth-account ``LocalAccount``, so that vscm signs locally.

    Raises:
        WalletError: the dev node's first account is not anvil's, or no keystore is named for a
            live network.
    """
    if network_name in DEV_NETWORKS:
        operator: LocalAccount = Account.from_key(FAUCET_KEY)
        if accounts[0].address != operator.address:
            raise WalletError(
                f"brownie's accounts[0] on {network_name} is {accounts[0].address}, not anvil's first dev "
                f"account {operator.address}: run anvil with its default mnemonic"
            )
        return operator
    name = os.environ.get(OPERATOR_ACCOUNT_ENV)
    if not name:
        raise WalletError(
            f"set {OPERATOR_ACCOUNT_ENV} to the brownie account that operates the platform on "
            f"{network_name} (`brownie accounts list`)"
        )
    loaded = accounts.load(name)  # prompts for the keystore's password
    if not isinstance(loaded, BrownieAccount):
        raise WalletError(f"{OPERATOR_ACCOUNT_ENV}={name!r} names no brownie account (`brownie accounts list`)")
    operator = Account.from_key(loaded.private_key)
    return operator


def main() -> None:
    try:
        deploy()
    except VscmError as exc:
        raise SystemExit(f"error: {exc}") from None


def deploy() -> Path:
    """Deploy on brownie's active network and return the manifest's path.

    Raises:
        VscmError: the artifacts are stale, the operator key is missing, or a deployment failed.
    """
    stale = artifacts.stale_sources()
    if stale:
        raise ArtifactError(f"vscm's artifacts are older than {', '.join(stale)}: run `make compile` first")
    network_name = network.show_active()
    url = getattr(web3.provider, "endpoint_uri", None)
    if network_name is None or not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ChainError(f"brownie is not connected over HTTP(S) ({network_name}, {url}): "
                         "run `brownie run scripts/deploy.py [--network <id>]`")
    operator = operator_account(network_name)
    # The PoA middleware only moves long extra-data aside (Besu QBFT, Clique); harmless elsewhere.
    chain = connect(url, expected_chain_id=int(web3.eth.chain_id), poa=network_name not in DEV_NETWORKS)
    manifest = DEPLOYMENTS_DIR / f"{network_name}.json"
    try:
        platform = deploy_platform(chain, operator, currencies=CURRENCIES, network=network_name,
                                   manifest=manifest)
    finally:
        chain.close()
    deployment = platform.deployment
    print(f"VSCM deployed on {network_name} (chain id {deployment.chain_id}) by operator {operator.address}")
    print(f"  MemberRegistry  {deployment.registry}")
    print(f"  OrderBook       {deployment.orders}")
    for code, address in sorted(deployment.cash.items()):
        print(f"  PlatformCash {code} {address}")
    print(f"manifest: {manifest}")
    return manifest
