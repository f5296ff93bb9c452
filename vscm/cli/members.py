"""``vscm member`` and ``vscm chain``: membership, certification and supply chains."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from eth_utils import keccak
from rich.table import Table

from vscm.cli.common import emit_tx, quick_platform_command, signed_command
from vscm.cli.lender import index_command
from vscm.cli.output import emit, json_option, key_value_table, to_jsonable
from vscm.cli.params import DATE, HASH32
from vscm.cli.session import PARTY
from vscm.cli.views import stamp, utc
from vscm.client.records import Member, Role, SupplyChain, Tier

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from vscm.client.platform import Platform

__all__ = ["member", "supply_chain"]

ROLE_NAMES = [r.label for r in Role]


def _reason(text: str) -> bytes:
    """A short reason or evidence reference, stored on chain as its keccak hash."""
    return keccak(text=text)


def member_json(m: Member) -> dict[str, Any]:
    """A member (schema ``Member`` of docs/json.md): the credential's expiry as an ISO 8601 time."""
    return {**to_jsonable(m), "credential_expiry": utc(m.credential_expiry)}


def member_view(m: Member) -> Any:
    return key_value_table([
        ("address", m.address), ("name", m.name), ("roles", ", ".join(r.label for r in m.roles)),
        ("tier", m.tier.name), ("status", m.status.name.lower()), ("supply chain", m.chain_id or "-"),
        ("credential", "0x" + m.credential_hash.hex()), ("credential expiry", stamp(utc(m.credential_expiry))),
        ("financier attestation", m.financier_attestor or "-"), ("auditor attestation", m.auditor_attestor or "-"),
    ], title=m.name)


def members_table(members: list[Member]) -> Table:
    table = Table("address", "name", "roles", "tier", "status", "chain")
    for m in members:
        table.add_row(m.address, m.name, ", ".join(r.label for r in m.roles), m.tier.name,
                      m.status.name.lower(), str(m.chain_id or "-"))
    return table


@click.group("member")
def member() -> None:
    """Apply, admit, certify, suspend and inspect members."""


@member.command("apply")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_NAMES),
              help="A role to hold (repeat for several).")
@click.option("--tier", type=click.Choice(["sme", "core"]), default="sme", show_default=True)
@click.option("--name", required=True, help="Registered business name.")
@click.option("--credential", type=HASH32, required=True,
              help="Hash of the business licence / KYC file (0x… or file:PATH).")
@click.option("--expires", type=DATE, required=True, help="Credential expiry (YYYY-MM-DD).")
@json_option
@signed_command
def apply_cmd(platform: Platform, signer: LocalAccount, roles: tuple[str, ...], tier: str, name: str,
              credential: bytes, expires: int, as_json: bool) -> None:
    """Apply to join the platform (signed by the applicant)."""
    receipt = platform.members.as_(signer).apply([Role[r.upper()] for r in roles], Tier[tier.upper()],
                                                 credential, expires, name)
    emit_tx(receipt, "applied", as_json, member=signer.address, roles=list(roles), tier=tier)


@member.command("approve")
@click.argument("who", type=PARTY)
@json_option
@signed_command
def approve_cmd(platform: Platform, signer: LocalAccount, who: str, as_json: bool) -> None:
    """Operator: admit a pending SME or institution."""
    emit_tx(platform.members.as_(signer).approve(who), "approved", as_json, member=who)


@member.command("attest")
@click.argument("who", type=PARTY)
@click.option("--as", "as_role", type=click.Choice(["financier", "auditor"]), required=True)
@json_option
@signed_command
def attest_cmd(platform: Platform, signer: LocalAccount, who: str, as_role: str, as_json: bool) -> None:
    """Financier or auditor: certify a pending core enterprise."""
    receipt = platform.members.as_(signer).attest(who, Role[as_role.upper()])
    emit_tx(receipt, "attested", as_json, member=who, status=platform.members.status(who).name)


@member.command("suspend")
@click.argument("who", type=PARTY)
@click.option("--reason", required=True, help="Why (stored as its hash; keep the text in your records).")
@json_option
@signed_command
def suspend_cmd(platform: Platform, signer: LocalAccount, who: str, reason: str, as_json: bool) -> None:
    """Operator or control mechanism: suspend an active member."""
    emit_tx(platform.members.as_(signer).suspend(who, _reason(reason)), "suspended", as_json, member=who)


@member.command("reinstate")
@click.argument("who", type=PARTY)
@json_option
@signed_command
def reinstate_cmd(platform: Platform, signer: LocalAccount, who: str, as_json: bool) -> None:
    """Operator or control mechanism: reinstate a suspended member."""
    emit_tx(platform.members.as_(signer).reinstate(who), "reinstated", as_json, member=who)


@member.command("evict")
@click.argument("who", type=PARTY)
@click.option("--reason", required=True)
@json_option
@signed_command
def evict_cmd(platform: Platform, signer: LocalAccount, who: str, reason: str, as_json: bool) -> None:
    """Operator or control mechanism: evict a member (final)."""
    emit_tx(platform.members.as_(signer).evict(who, _reason(reason)), "evicted", as_json, member=who)


@member.command("show")
@click.argument("who", type=PARTY)
@json_option
@quick_platform_command
def show_cmd(platform: Platform, who: str, as_json: bool) -> None:
    """One member's record."""
    m = platform.members.member(who)
    emit(member_json(m), as_json, lambda _: member_view(m))


@member.command("list")
@json_option
@quick_platform_command
def list_cmd(platform: Platform, as_json: bool) -> None:
    """Every member, in order of application."""
    found = platform.members.members()
    emit([member_json(m) for m in found], as_json, lambda _: members_table(found))


# ------------------------------------------------------------------ supply chains

@click.group("chain")
def supply_chain() -> None:
    """Virtual supply chains: create, join, approve, leave, show."""


@supply_chain.command("create")
@click.argument("name")
@json_option
@signed_command
def create_cmd(platform: Platform, signer: LocalAccount, name: str, as_json: bool) -> None:
    """Core enterprise: create a supply chain that you lead."""
    chain_id = platform.members.as_(signer).create_chain(name)
    emit_tx(platform.last_receipt, "chain created", as_json, chain_id=chain_id, core=signer.address)


@supply_chain.command("join")
@click.argument("chain_id", type=click.IntRange(min=1))
@json_option
@signed_command
def join_cmd(platform: Platform, signer: LocalAccount, chain_id: int, as_json: bool) -> None:
    """Ask to join supply chain CHAIN_ID."""
    emit_tx(platform.members.as_(signer).request_join(chain_id), "join requested", as_json, chain_id=chain_id)


@supply_chain.command("approve")
@click.argument("chain_id", type=click.IntRange(min=1))
@click.argument("who", type=PARTY)
@json_option
@signed_command
def approve_join_cmd(platform: Platform, signer: LocalAccount, chain_id: int, who: str, as_json: bool) -> None:
    """Core enterprise: admit WHO into your supply chain."""
    emit_tx(platform.members.as_(signer).approve_join(chain_id, who), "join approved", as_json,
            chain_id=chain_id, member=who)


@supply_chain.command("leave")
@json_option
@signed_command
def leave_cmd(platform: Platform, signer: LocalAccount, as_json: bool) -> None:
    """Leave your supply chain."""
    emit_tx(platform.members.as_(signer).leave_chain(), "left chain", as_json, member=signer.address)


@supply_chain.command("show")
@click.argument("chain_id", type=click.IntRange(min=1))
@json_option
@quick_platform_command
def show_chain_cmd(platform: Platform, chain_id: int, as_json: bool) -> None:
    """A supply chain and its members."""
    sc: SupplyChain = platform.members.supply_chain(chain_id)
    members = platform.members.chain_members(chain_id)
    emit({"chain": sc, "members": [member_json(m) for m in members]}, as_json, lambda _: _chain_view(sc, members))


def _chain_view(sc: SupplyChain, members: list[Member]) -> Any:
    from rich.console import Group

    head = key_value_table([("chain", sc.chain_id), ("name", sc.name), ("core", sc.core),
                            ("members", sc.member_count), ("evicted", sc.evicted)], title=f"supply chain {sc.chain_id}")
    return Group(head, members_table(members))


@member.group("consent")
def consent() -> None:
    """Let a lender read your credit profile (`vscm lender profile`), revoke it, list the consents.

    A consent is a transaction the member signs with its own wallet (ConsentRegistry on chain), with an
    expiry; nobody else can grant, extend or revoke it. A lender of an open loan application of the
    member and the auditors need none.
    """


@consent.command("grant")
@click.argument("lender", type=PARTY)
@click.option("--until", type=DATE, required=True, help="When the consent expires (YYYY-MM-DD or ISO, UTC).")
@json_option
@signed_command
def consent_grant(platform: Platform, signer: LocalAccount, lender: str, until: int, as_json: bool) -> None:
    """Let LENDER read the profile of the member whose wallet signs, until --until (at most 730 days ahead).

    \b
    Examples:
      vscm member consent grant bank --until 2027-03-31 --wallet supplier
    """
    from datetime import UTC, datetime

    receipt = platform.consents.as_(signer).grant_consent(lender, until)
    emit_tx(receipt, "consent granted", as_json, member=signer.address, lender=lender,
            expires=datetime.fromtimestamp(until, UTC).isoformat())


@consent.command("revoke")
@click.argument("lender", type=PARTY)
@json_option
@signed_command
def consent_revoke(platform: Platform, signer: LocalAccount, lender: str, as_json: bool) -> None:
    """Take back LENDER's read access to the signing member's profile (from the next block on).

    \b
    Examples:
      vscm member consent revoke bank --wallet supplier
    """
    receipt = platform.consents.as_(signer).revoke_consent(lender)
    emit_tx(receipt, "consent revoked", as_json, member=signer.address, lender=lender)


@consent.command("list")
@click.argument("who", type=PARTY)
@json_option
@index_command
def consent_list(index: Any, who: str, as_json: bool) -> None:
    """The consents member WHO granted on chain (from the lenders' index), by lender.

    \b
    Examples:
      vscm member consent list supplier --json
    """
    from vscm.underwriting.consent import consents, index_now

    now = index_now(index)
    rows = [c.to_json(now) for c in consents(index, who)]

    def table(d: list[dict[str, Any]]) -> Table:
        t = Table("lender", "active", "expires", "granted", "revoked", title=f"consents of {who}")
        for r in d:
            t.add_row(r["lender"], "yes" if r["active"] else "no", r["expires"] or "-", r["granted"] or "-",
                      r["revoked"] or "-")
        return t

    emit(rows, as_json, table)
