"""Deploy and wire the whole platform in one call, and write its manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from vscm.chain.artifacts import ARTIFACTS_DIR
from vscm.chain.artifacts import load as load_artifact
from vscm.chain.tx import TxRequest
from vscm.client.council import CouncilConfig
from vscm.client.deployment import DEFAULT_DEPLOYMENTS_DIR, Deployment
from vscm.client.platform import Platform
from vscm.client.records import ZERO_ADDRESS
from vscm.client.workflows import together
from vscm.errors import ChainError

__all__ = [
    "DEFAULT_CURRENCIES", "DEFAULT_GRACE_PERIOD", "PLATFORM_CONTRACTS", "deploy_contracts", "deploy_council", "deploy_platform", "hand_over",
    "seal_wiring", "wire_platform",
]

DEFAULT_CURRENCIES = ("CNY", "USD")
#: Seconds after a loan's maturity before its lender may declare it defaulted (LoanBook's ``GRACE_PERIOD``).
DEFAULT_GRACE_PERIOD = 7 * 86_400
PLATFORM_CONTRACTS = (
    "MemberRegistry", "PlatformCash", "OrderBook", "AssetRegistry", "FundTracker", "LoanBook", "RiskControl",
    "TelemetryOracle", "ConsentRegistry", "Certificates",
)


def _artifact_hashes() -> dict[str, str]:
    return {
        name: hashlib.sha256((ARTIFACTS_DIR / f"{name}.json").read_bytes()).hexdigest()
        for name in PLATFORM_CONTRACTS
    }


def deploy_platform(
    chain: Any,
    operator: LocalAccount,
    currencies: tuple[str, ...] = DEFAULT_CURRENCIES,
    network: str | None = None,
    manifest: Path | None | bool = None,
    oracle_signers: Sequence[str] = (),
    oracle_quorum: int | None = None,
    council: CouncilConfig | None = None,
    grace_period: int = DEFAULT_GRACE_PERIOD,
) -> Platform:
    """Deploy every platform contract, wire them together and seal the wiring; hand governance to a council.

    Contracts: MemberRegistry, one PlatformCash per currency, OrderBook, AssetRegistry, FundTracker,
    LoanBook, RiskControl, TelemetryOracle, ConsentRegistry (no admin, nothing to wire) and Certificates (no
    admin; wired into the others: a payment agent of each currency, records certificate payments on orders,
    registers financed parts born locked, alerts RiskControl on late certificates). Wiring (:func:`wire_platform`): each currency is registered in the OrderBook; the
    OrderBook, LoanBook and FundTracker become payment agents of each PlatformCash (so a suspended buyer
    can still settle and a suspended borrower still repay); the LoanBook may lock assets, open tracked
    funds and redirect settlements; the FundTracker may record prepayments on orders; RiskControl
    controls loans, tracked money and members; the oracle raises alerts into RiskControl. Then
    :func:`seal_wiring`: the deployer renounces ``WIRING_ROLE`` everywhere, and nobody can grant or
    revoke those internal roles again.

    Args:
        chain: a connected chain (``vscm.chain.backends.connect``).
        operator: the platform operator's account; it signs every deployment transaction.
        currencies: ISO 4217 codes, one PlatformCash each.
        network: the name written in the manifest (defaults to the chain's name).
        manifest: where to write the manifest; ``None`` writes ``deployments/<network>.json``,
            ``False`` writes nothing.
        oracle_signers: the oracle nodes' addresses, installed as TelemetryOracle's first signer set;
            empty (the default) installs none, and the oracle accepts no report until the operator
            runs ``setSigners`` (``vscm oracle signers``).
        oracle_quorum: the signer set's quorum; default the smallest majority, ``n // 2 + 1``.
        council: the consortium council (:class:`vscm.client.council.CouncilConfig`: owners, threshold,
            delay; ``CouncilConfig.local_dev(operator)`` is 1 of 1 with a one-minute delay): a Safe of
            those owners and a TimelockController that the Safe proposes to, which receives
            ``DEFAULT_ADMIN_ROLE`` everywhere (the Safe gets the MemberRegistry's ``GUARDIAN_ROLE``),
            after which the deployer renounces its admin roles (:func:`hand_over`). ``None`` leaves the
            operator key as the admin.
        grace_period: seconds after a loan's maturity before its lender may declare it defaulted
            (LoanBook's ``GRACE_PERIOD``, at most a year): 7 days by default; a few seconds for a demo on
            a network whose clock cannot be moved (``python -m vscm.demo --network``).

    Returns:
        The connected :class:`Platform`.
    """
    platform = deploy_contracts(chain, operator, currencies, network, grace_period)
    wire_platform(platform, operator)
    seal_wiring(platform, operator)
    op = operator
    if oracle_signers:
        quorum = oracle_quorum if oracle_quorum is not None else len(oracle_signers) // 2 + 1
        platform.oracle.as_(op).set_signers(list(oracle_signers), quorum)
    if council is not None:
        platform = hand_over(platform, operator, deploy_council(chain, operator, council))
    if manifest is not False:
        deployment = platform.deployment
        path = manifest if isinstance(manifest, Path) else DEFAULT_DEPLOYMENTS_DIR / f"{deployment.network}.json"
        deployment.save(path)
    return platform


def deploy_contracts(
    chain: Any, operator: LocalAccount, currencies: tuple[str, ...] = DEFAULT_CURRENCIES, network: str | None = None,
    grace_period: int = DEFAULT_GRACE_PERIOD,
) -> Platform:
    """Deploy the platform contracts, unwired: the first step of :func:`deploy_platform`.

    The deployer holds ``WIRING_ROLE`` on every contract until :func:`seal_wiring`.
    """
    start_block = int(chain.w3.eth.block_number)
    registry = chain.sender.deploy(operator, "MemberRegistry", operator.address)
    cash = {code.upper(): chain.sender.deploy(operator, "PlatformCash", registry, code.upper(), operator.address)
            for code in currencies}
    orders = chain.sender.deploy(operator, "OrderBook", registry, operator.address)
    assets = chain.sender.deploy(operator, "AssetRegistry", registry, orders, operator.address)
    funds = chain.sender.deploy(operator, "FundTracker", registry, orders, operator.address)
    loans = chain.sender.deploy(operator, "LoanBook", registry, orders, assets, funds, operator.address,
                                grace_period)
    risk = chain.sender.deploy(operator, "RiskControl", registry, loans, funds, operator.address)
    oracle = chain.sender.deploy(operator, "TelemetryOracle", registry, orders, assets, loans, operator.address)
    # No admin and nothing to wire: each member writes only its own consents.
    consents = chain.sender.deploy(operator, "ConsentRegistry", registry)
    # No admin either: the contracts it calls are fixed at construction; it is wired into them below.
    certificates = chain.sender.deploy(operator, "Certificates", registry, orders, assets, risk)
    deployment = Deployment(
        network=network or chain.name,
        chain_id=int(chain.chain_id),
        block=start_block + 1,
        operator=operator.address,
        registry=registry,
        orders=orders,
        cash=cash,
        assets=assets,
        funds=funds,
        loans=loans,
        artifacts=_artifact_hashes(),
        risk=risk,
        oracle=oracle,
        consents=consents,
        certificates=certificates,
    )
    return Platform(chain, deployment)


def wire_platform(platform: Platform, deployer: LocalAccount) -> None:
    """Grant the internal roles between the platform contracts (the deployer's ``WIRING_ROLE``): the deployer's
    writes in one ``together`` round (on a network they share blocks; on a dev chain a block each, as before)."""
    op = deployer
    d = platform.deployment
    orders, loans, funds, risk, oracle = d.orders, d.loans, d.funds, d.risk, d.oracle
    writes: list[TxRequest[Any]] = []
    for code, address in d.cash.items():
        writes.append(platform.orders.as_(op).build.add_currency(address))
        for agent in (orders, loans, funds):
            writes.append(platform.cash(code).as_(op).build.set_agent(agent, True))
    writes += [platform.orders.as_(op).build.grant(platform.orders.role("FINANCE_ROLE"), loans),
               platform.orders.as_(op).build.grant(platform.orders.role("FINANCE_ROLE"), funds),
               platform.assets.as_(op).build.grant(platform.assets.role("LOCKER_ROLE"), loans),
               platform.funds.as_(op).build.grant(platform.funds.role("LOANBOOK_ROLE"), loans),
               # The control mechanism warns, clears and recalls loans, freezes tracked money, evicts chains.
               platform.loans.as_(op).build.grant(platform.loans.role("CONTROLLER_ROLE"), risk),
               platform.funds.as_(op).build.grant(platform.funds.role("CONTROLLER_ROLE"), risk),
               platform.members.as_(op).build.grant_controller(risk),
               # The oracle raises its margin calls and breaches on loans as RiskControl alerts.
               platform.risk.as_(op).build.grant_detector(oracle),
               platform.oracle.as_(op).build.set_alert_sink(risk)]
    # Certificates record payments on orders, lock financed parts, alert on late cores, and move money
    # (a restricted core pays in; claims go to any holder).
    certificates = d.certificates
    for code in d.cash:
        writes.append(platform.cash(code).as_(op).build.set_agent(certificates, True))
    writes += [platform.orders.as_(op).build.grant(platform.orders.role("CERTIFICATES_ROLE"), certificates),
               platform.assets.as_(op).build.grant(platform.assets.role("CERTIFICATES_ROLE"), certificates),
               platform.risk.as_(op).build.grant_detector(certificates)]
    together(platform, [(op, write) for write in writes])


def deploy_council(chain: Any, deployer: LocalAccount, config: CouncilConfig) -> tuple[str, str]:
    """Deploy the council: a Safe of ``config.owners`` (singleton, proxy factory, proxy) and a
    TimelockController whose only proposer and canceller is the Safe, executor anyone, with
    ``config.delay``. Returns (safe, timelock)."""
    singleton = chain.sender.deploy(deployer, "Safe")
    factory_address = chain.sender.deploy(deployer, "SafeProxyFactory")
    w3 = chain.w3
    safe_abi = load_artifact("Safe").abi
    setup = w3.eth.contract(abi=safe_abi).encode_abi("setup", [
        [Web3.to_checksum_address(o) for o in config.owners], config.threshold, ZERO_ADDRESS, b"", ZERO_ADDRESS,
        ZERO_ADDRESS, 0, ZERO_ADDRESS])
    factory = w3.eth.contract(address=factory_address, abi=load_artifact("SafeProxyFactory").abi)
    receipt = chain.sender.transact(deployer, factory.functions.createProxyWithNonce(singleton, setup, 0))
    # The receipt also holds the new Safe's own SafeSetup log (not the factory's event): skipped, not warned of.
    created = factory.events.ProxyCreation().process_receipt(receipt, errors=DISCARD)
    if len(created) != 1:
        raise ChainError(f"creating the council's Safe gave {len(created)} ProxyCreation events, not 1 "
                         f"(tx {receipt['transactionHash'].hex()})")
    safe = Web3.to_checksum_address(created[0]["args"]["proxy"])
    timelock = chain.sender.deploy(deployer, "TimelockController", config.delay, [safe], [ZERO_ADDRESS],
                                   ZERO_ADDRESS)
    if chain.is_dev:
        # The client simulates a council call as the Safe or the timelock (eth_call) to name the inner
        # call's error; the embedded chain wants the caller to afford the gas even there.
        for address in (safe, timelock):
            chain.fund(address, 10**18)
    return safe, timelock


def hand_over(platform: Platform, deployer: LocalAccount, council: tuple[str, str]) -> Platform:
    """Give every contract's ``DEFAULT_ADMIN_ROLE`` to the council's timelock and the MemberRegistry's
    ``GUARDIAN_ROLE`` to its Safe, then the deployer renounces ``DEFAULT_ADMIN_ROLE`` everywhere.

    Returns the platform on the deployment that names the council."""
    safe, timelock = council
    admin = b"\x00" * 32
    # The deployer's writes in nonce order, in one `together` round: every grant before the first renounce.
    together(platform, [
        (deployer, platform.members.as_(deployer).build.grant(platform.members.role("GUARDIAN_ROLE"), safe)),
        *((deployer, facade.as_(deployer).build.grant(admin, timelock)) for facade in platform.wired_contracts()),
        *((deployer, facade.as_(deployer).build.renounce(admin)) for facade in platform.wired_contracts())])
    deployment = replace(platform.deployment, council_safe=safe, council_timelock=timelock)
    return Platform(platform.chain, deployment)


def seal_wiring(platform: Platform, deployer: LocalAccount) -> None:
    """The deployer renounces ``WIRING_ROLE`` on every contract: the internal roles are fixed for good.

    ``WIRING_ROLE`` is its own admin, so once renounced nobody can hold it again, and nobody can grant
    or revoke the roles it administers (the LoanBook's, the controller's, the detector's, the agents).
    """
    together(platform, [(deployer, facade.as_(deployer).build.renounce(facade.role("WIRING_ROLE")))
                        for facade in platform.wired_contracts()])
