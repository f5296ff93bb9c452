"""Where a platform command acts: the network, the deployment manifest and the signing wallet.

    --network node          the local anvil kept by `vscm node start` (the default)
    --network NAME          a network of `vscm network up` (its stored profile: URLs, fees, blocks)
    --network http://...    any JSON-RPC node, or several comma-separated (failover); zero-gas
                            networks add --gas-price zero (`vscm network up`; Besu/QBFT also --poa)
    --deployment FILE       the manifest (default: $VSCM_HOME/deployments/<network>.json)

All of them also come from the environment: VSCM_NETWORK, VSCM_DEPLOYMENT, VSCM_HOME (default
~/.vscm). Addresses may be given as 0x… or as the label of a wallet in the keystore.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vscm.cli.params import parse_address
from vscm.cli.wallet import open_keystore
from vscm.errors import InputError, WalletError

if TYPE_CHECKING:  # imported where used: a quick command (open_light_platform) never imports web3
    from eth_typing import ChecksumAddress

    from vscm.chain.backends import Chain
    from vscm.chain.light import LightChain
    from vscm.client.deployment import Deployment
    from vscm.client.platform import Platform

__all__ = [
    "PARTY",
    "NetworkChoice",
    "manifest_path",
    "network_options",
    "node_dir",
    "open_chain",
    "open_deployment",
    "open_platform",
    "resolve_party",
    "vscm_home",
]

F = TypeVar("F", bound=Callable[..., Any])


def vscm_home() -> Path:
    return Path(os.environ.get("VSCM_HOME", "~/.vscm")).expanduser()


def node_dir() -> Path:
    return vscm_home() / "node"


@dataclass(frozen=True)
class NetworkChoice:
    network: str
    deployment: Path | None
    poa: bool
    gas_price: str

    @property
    def key(self) -> str:
        """A file-name-safe name of the network (for the default manifest path)."""
        if self.network == "node":
            return "node"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.network.split("://", 1)[-1]).strip("_")


def manifest_path(choice: NetworkChoice) -> Path:
    return choice.deployment or vscm_home() / "deployments" / f"{choice.key}.json"


def network_options(command: F) -> F:
    """Adds --network, --deployment, --poa and --gas-price; the command receives `net: NetworkChoice`."""

    command = click.option("--gas-price", type=click.Choice(["node", "zero", "auto"]), envvar="VSCM_GAS_PRICE",
                           default="node", show_default=True,
                           help="RPC networks: fees the node suggests, zero (free-gas permissioned networks), or "
                                "auto (zero when the node's eth_gasPrice is 0).")(command)
    command = click.option("--poa", is_flag=True, envvar="VSCM_POA",
                           help="RPC networks: accept proof-of-authority blocks (Besu QBFT, Clique).")(command)
    command = click.option("--deployment", type=click.Path(dir_okay=False, path_type=Path),
                           envvar="VSCM_DEPLOYMENT", default=None,
                           help="Deployment manifest [default: $VSCM_HOME/deployments/<network>.json].")(command)
    command = click.option("--network", envvar="VSCM_NETWORK", default="node", show_default=True,
                           callback=_network_value,
                           help="'node' (the local anvil of `vscm node start`), the NAME of a network of `vscm network up` "
                                "(its profile: URLs, fees and blocks read from the chain), an http(s):// RPC URL, "
                                "or several comma-separated URLs of one network's nodes (failover).")(command)
    return command


def _network_value(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse an unknown network before anything is read (a usage error, exit 2)."""
    parts = [part.strip() for part in value.split(",")]
    if value == "node" or (all(parts) and all(part.startswith(("http://", "https://")) for part in parts)):
        return value
    if network_profile(value) is not None:  # a network of `vscm network up`
        return value
    raise click.BadParameter(f"unknown network {value!r}: use 'node' (the local anvil of `vscm node start`), the "
                             f"name of a network of `vscm network up` (none called so in {vscm_home() / 'networks'}), "
                             "an http(s):// RPC URL, or several comma-separated URLs of one network's nodes", ctx, param)


def choice_from(kwargs: dict[str, Any]) -> NetworkChoice:
    """Pop the network options from a command's keyword arguments."""
    return NetworkChoice(network=kwargs.pop("network"), deployment=kwargs.pop("deployment"),
                         poa=kwargs.pop("poa"), gas_price=kwargs.pop("gas_price"))


def open_chain(choice: NetworkChoice, expected_chain_id: int | None = None) -> Chain:
    from vscm.chain.anvil import AnvilNode
    from vscm.chain.backends import connect

    if choice.network == "node":
        return connect(AnvilNode.attach(node_dir()), expected_chain_id=expected_chain_id)
    if choice.network.startswith(("http://", "https://")):
        return connect(choice.network, expected_chain_id=expected_chain_id, poa=choice.poa,
                       gas_price=choice.gas_price)  # type: ignore[arg-type]
    profile = network_profile(choice.network)
    if profile is not None:
        return connect(",".join(profile["urls"]), expected_chain_id=expected_chain_id, poa=bool(profile["poa"]),
                       gas_price=profile["gas_price"])
    raise InputError(f"bad network {choice.network!r}: use 'node', the name of a network of `vscm network up` "
                     f"(none in {vscm_home() / 'networks'}), or an http(s):// URL")


def network_profile(name: str) -> dict[str, Any] | None:
    """The client profile that `vscm network up` stored for network ``name``, or None when there is none."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        return None
    path = vscm_home() / "networks" / name / "network.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    profile = state.get("profile")
    return profile if isinstance(profile, dict) else None


def open_deployment(choice: NetworkChoice) -> tuple[Deployment, Chain]:
    """The manifest and a chain checked to hold it (chain id, and the expected contract at every address).

    Raises:
        NotFound: there is no manifest; InputError: it is malformed; ChainError: the chain is not
            reachable or does not hold that deployment (the message says what to do).
    """
    from vscm.client.check import check_deployment
    from vscm.client.deployment import Deployment

    path = manifest_path(choice)
    deployment = Deployment.load(path)
    chain = open_chain(choice)
    try:
        check_deployment(chain, deployment, manifest=str(path))
    except BaseException:
        chain.close()
        raise
    return deployment, chain


def open_platform(choice: NetworkChoice) -> Platform:
    """The platform of the manifest on the chosen network, checked first (see :func:`open_deployment`)."""
    from vscm.client.platform import Platform

    deployment, chain = open_deployment(choice)
    return Platform(chain, deployment)


def light_chain(choice: NetworkChoice) -> LightChain | None:
    """The chosen network as a :class:`vscm.chain.light.LightChain` (JSON-RPC without web3), or None when it is a
    network of several nodes (the failover of vscm.chain.failover needs the web3 path)."""
    from vscm.chain.light import LightChain

    if choice.network == "node":
        from vscm.chain.anvil import AnvilNode

        node = AnvilNode.attach(node_dir())
        return LightChain(node.url, name=f"anvil {node.url}", fee_policy="dev", gas_price="dev")
    if choice.network.startswith(("http://", "https://")):
        urls, gas_price = [u.strip() for u in choice.network.split(",") if u.strip()], choice.gas_price
    else:
        profile = network_profile(choice.network)
        if profile is None:
            return None  # open_chain names the problem
        urls, gas_price = list(profile["urls"]), str(profile["gas_price"])
    if len(urls) != 1:
        return None
    policy = gas_price if gas_price in ("zero", "node") else "node"
    return LightChain(urls[0], fee_policy=policy, gas_price=gas_price)


def open_light_platform(choice: NetworkChoice) -> Platform:
    """As :func:`open_platform`, on a :func:`light_chain` when the network has one node (else the web3 path):
    the manifest checked by the same one batch (chain id and code at every address, against the fingerprints of
    vscm.chain.abicache), the facades bound to light contracts."""
    from vscm.client.check import check_deployment
    from vscm.client.deployment import Deployment
    from vscm.client.platform import Platform

    path = manifest_path(choice)
    deployment = Deployment.load(path)  # first, as open_deployment: a missing manifest is named before the node
    chain = light_chain(choice)
    if chain is None:
        return open_platform(choice)
    try:
        check_deployment(chain, deployment, manifest=str(path))
        return Platform(chain, deployment)
    except BaseException:
        chain.close()
        raise


def resolve_party(text: str) -> ChecksumAddress:
    """An address, or the label of a wallet in the keystore (no passphrase needed)."""
    value = text.strip()
    if value.lower().startswith("0x"):
        return parse_address(value)
    try:
        return open_keystore().address(value)
    except WalletError as exc:
        raise InputError(f"bad address {value!r}: not 0x… and not a wallet label ({exc})") from None


class PartyType(click.ParamType):
    name = "ADDRESS|WALLET"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        """Shell completion: the wallet labels of the keystore that start with what was typed."""
        from click.shell_completion import CompletionItem

        try:
            labels = open_keystore().labels()
        except (WalletError, OSError):
            return []
        return [CompletionItem(label) for label in labels if label.startswith(incomplete)]

    def convert(self, value: Any, param: Any, ctx: Any) -> ChecksumAddress:
        try:
            return resolve_party(str(value))
        except InputError as exc:
            self.fail(str(exc), param, ctx)


PARTY = PartyType()
