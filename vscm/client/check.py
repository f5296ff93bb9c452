"""Is the platform of a manifest on this chain? One batched round trip before a command acts.

A call to an address without code succeeds on every EVM chain: a transfer "to" a PlatformCash that is
not there is mined, costs 21,000 gas and moves nothing. So before a command reads or writes, the
manifest is checked against the chain: the chain id, code at every address, and that the code is the
expected contract of this vscm's artifacts (the runtime code equals the artifact's deployed bytecode
once the immutables, which the constructor writes into the code, are left out).

    check_deployment(chain, deployment, manifest="~/.vscm/deployments/node.json")
"""

from __future__ import annotations

from functools import cache
from typing import Any

from vscm.chain import artifacts as artifact_store
from vscm.client.deployment import Deployment
from vscm.errors import ChainError

__all__ = ["check_deployment", "deployed_contracts"]



def deployed_contracts(deployment: Deployment) -> list[tuple[str, str, str]]:
    """``(manifest field, contract name, address)`` of every contract the manifest names."""
    found = [("registry", "MemberRegistry", deployment.registry)]
    found += [(f"cash.{code}", "PlatformCash", address) for code, address in sorted(deployment.cash.items())]
    found += [("orders", "OrderBook", deployment.orders), ("assets", "AssetRegistry", deployment.assets),
              ("funds", "FundTracker", deployment.funds), ("loans", "LoanBook", deployment.loans)]
    # Manifests written before RiskControl and the oracle existed leave them empty.
    found += [(name, contract, address) for name, contract, address in
              (("risk", "RiskControl", deployment.risk), ("oracle", "TelemetryOracle", deployment.oracle)) if address]
    return found


def check_deployment(chain: Any, deployment: Deployment, manifest: str = "the manifest") -> None:
    """Refuse a chain that does not hold the platform of ``deployment``.

    Args:
        chain: a connected ``vscm.chain.backends.Chain``.
        deployment: the manifest's content.
        manifest: how to name the manifest in messages (its path).

    Raises:
        ChainError: the chain id differs, an address has no code, or its code is not the contract the
            manifest says; the message names the contract and the next step.
    """
    contracts = deployed_contracts(deployment)
    chain_id, codes = _chain_id_and_codes(chain, [address for _, _, address in contracts])
    where = f"{chain.name} (chain id {chain_id})"
    if chain_id != deployment.chain_id:
        raise ChainError(f"{manifest} is a deployment on chain id {deployment.chain_id}, but {chain.name} has chain id "
                         f"{chain_id}: use --network for the network it was deployed on, or redeploy with `vscm deploy`")
    missing = [(field, name, address) for (field, name, address), code in zip(contracts, codes) if not code]
    if missing:
        field, name, address = missing[0]
        more = f" (and {len(missing) - 1} more of its {len(contracts)} contracts)" if len(missing) > 1 else ""
        raise ChainError(f"no contract at {address}, the {name} ({field}) of {manifest}, on {where}{more}: this chain "
                         "does not hold that deployment (a node restarted without its state?); redeploy with "
                         "`vscm deploy --force`, or use --network/--deployment for the chain it lives on")
    for (field, name, address), code in zip(contracts, codes):
        if not _same_contract(code, name):
            built = deployment.artifacts.get(name)
            hint = (" (the manifest was written by another build of the contracts)"
                    if built and built != _artifact_digest(name) else "")
            raise ChainError(f"the contract at {address}, the {name} ({field}) of {manifest}, on {where} is not this "
                             f"vscm's {name}{hint}: redeploy with `vscm deploy --force`, or use the vscm version and "
                             "manifest it was deployed with")


def _chain_id_and_codes(chain: Any, addresses: list[str]) -> tuple[int, list[bytes]]:
    """The chain id and the code at each address: one JSON-RPC batch where the provider can."""
    calls: list[tuple[Any, Any]] = [("eth_chainId", []), *(("eth_getCode", [a, "latest"]) for a in addresses)]
    if hasattr(chain, "batch"):  # vscm.chain.light: a node that does not answer is NodeUnreachable (exit 5)
        answers = chain.batch(calls)
        for (method, params), answer in zip(calls, answers):
            if isinstance(answer, Exception):
                refusal = getattr(answer, "rpc_response", {}).get("error")
                raise ChainError(f"{chain.name} refused {method}{tuple(params)}: {refusal}")
        return int(answers[0], 16), [bytes.fromhex(str(r).removeprefix("0x")) for r in answers[1:]]
    provider = chain.w3.provider
    try:
        responses = provider.make_batch_request(calls)
    except NotImplementedError:  # in-process providers (eth-tester): one call each, no network anyway
        return int(chain.w3.eth.chain_id), [bytes(chain.w3.eth.get_code(a)) for a in addresses]
    except Exception as exc:
        raise ChainError(f"cannot reach {chain.name} to check the deployment: {exc}") from exc
    if not isinstance(responses, list) or len(responses) != len(calls):
        error = responses.get("error") if isinstance(responses, dict) else responses
        raise ChainError(f"{chain.name} did not answer the deployment check ({error})")
    results = []
    for (method, params), response in zip(calls, responses):
        if "error" in response or "result" not in response:
            raise ChainError(f"{chain.name} refused {method}{tuple(params)}: {response.get('error')}")
        results.append(response["result"])
    return int(results[0], 16), [bytes.fromhex(str(r).removeprefix("0x")) for r in results[1:]]


def _same_contract(code: bytes, name: str) -> bool:
    """Whether ``code`` is the artifact's runtime code, its immutables left out: compared with the fingerprint
    kept in vscm.chain.abicache's small cached file, not by reading the artifacts at every command."""
    from vscm.chain.abicache import same_runtime

    return same_runtime(code, name)


@cache
def _artifact_digest(name: str) -> str:
    import hashlib

    return hashlib.sha256((artifact_store.ARTIFACTS_DIR / f"{name}.json").read_bytes()).hexdigest()
