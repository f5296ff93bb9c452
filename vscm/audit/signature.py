"""An audit report an auditor signs with its own wallet key, and anyone verifies.

What is signed is the report's digest: the keccak-256 of its canonical JSON (``vscm.audit.report.canonical_json``:
every field but the digest and the signatures, keys sorted, no whitespace, UTF-8). The auditor signs, with
EIP-191 ``personal_sign`` (eth-account's ``sign_message``; any Ethereum wallet can do the same), a short text
that names the network, the range, the verdict and that digest (:func:`signing_message`), so a wallet that
shows what it signs shows what is being attested. The signature goes into the report's JSON (``signatures``:
signer address, name, signature) and the page beside it is written again with it.

Verifying recomputes the digest from the JSON as it stands and recovers each signature's address: a report
changed after it was written (a figure, a finding, a name), a signature made over another report, or an
address that does not match its signature is refused, by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from vscm.audit.report import digest_of, render_page, report_json_path
from vscm.errors import InputError, ReportNotVerified

__all__ = ["load_report", "report_file", "sign_report", "signing_message", "verify_report"]


def report_file(path: Path) -> Path:
    """The report's JSON: ``path`` itself when it is the ``.json``, else the JSON beside the page ``path``."""
    return path if path.suffix.lower() == ".json" else report_json_path(path)


def load_report(path: Path) -> tuple[Path, dict[str, Any]]:
    """The report's JSON file and its content.

    Raises:
        InputError: no such file, or not a report's JSON.
    """
    file = report_file(path)
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no audit report at {file}: write one with `vscm audit replay --report FILE`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{file} is not an audit report's JSON: {exc}") from None
    if not isinstance(report, dict) or "verdict" not in report or "from_block" not in report:
        raise InputError(f"{file} is not an audit report's JSON (no verdict or block range)")
    return file, report


def signing_message(report: dict[str, Any], keccak256: str) -> str:
    """The text the auditor's wallet signs (EIP-191): what the report is about, and its digest."""
    return (f"VSCM audit report\nnetwork: {report.get('network')} (chain id {report.get('chain_id')})\n"
            f"blocks: {report['from_block']}-{report['to_block']}\nverdict: {report['verdict']}\n"
            f"keccak-256 of the canonical JSON: {keccak256}")


def _digest_checked(file: Path, report: dict[str, Any]) -> dict[str, str]:
    """The digest of the report as it stands, which must be the one written with it."""
    digest = digest_of(report)
    written = report.get("digest")
    if not isinstance(written, dict) or "keccak256" not in written:
        raise ReportNotVerified(f"{file} has no digest: it was not written by `vscm audit replay --report` "
                                "(or by a vscm before reports were signable); write it again")
    if written["keccak256"] != digest["keccak256"]:
        raise ReportNotVerified(f"{file} was changed after it was written: its content hashes to keccak-256 "
                                f"{digest['keccak256']}, not the {written['keccak256']} written with it")
    return digest


def sign_report(path: Path, account: LocalAccount, name: str) -> dict[str, Any]:
    """Sign the report at ``path`` (its JSON, or its page) with ``account``'s key, as ``name``; the signature is
    added to the JSON (replacing an earlier one by the same key) and every page beside it is written again.

    Returns:
        The signature entry: ``signer``, ``name``, ``signature`` (and ``keccak256``, what was signed).

    Raises:
        ReportNotVerified: the report was changed after it was written (nothing is signed).
    """
    file, report = load_report(path)
    digest = _digest_checked(file, report)
    signed = account.sign_message(encode_defunct(text=signing_message(report, digest["keccak256"])))
    entry = {"signer": account.address, "name": name, "signature": "0x" + bytes(signed.signature).hex()}
    report["signatures"] = [s for s in report.get("signatures", []) if s.get("signer") != account.address] + [entry]
    file.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for page in _pages(file):
        page.write_text(render_page(report, page))
    return {**entry, "keccak256": digest["keccak256"]}


def verify_report(path: Path) -> dict[str, Any]:
    """Check the report at ``path``: its digest is its content's, and each signature recovers its signer.

    Returns:
        ``{"report", "keccak256", "sha256", "verdict", "signers": [{"address", "name", "auditor"}]}``;
        ``auditor``: whether the signer is the auditor the report names.

    Raises:
        ReportNotVerified: changed after it was written, not signed, or a signature that does not recover
            the address it names.
    """
    file, report = load_report(path)
    digest = _digest_checked(file, report)
    signatures = report.get("signatures") or []
    if not signatures:
        raise ReportNotVerified(f"{file} is not signed: `vscm audit sign {path} --wallet AUDITOR` signs it")
    message = encode_defunct(text=signing_message(report, digest["keccak256"]))
    auditor = (report.get("auditor") or {}).get("address")
    signers = []
    for s in signatures:
        try:
            recovered = Account.recover_message(message, signature=s["signature"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportNotVerified(f"{file}: the signature of {s.get('signer')} is malformed: {exc}") from None
        if recovered != s.get("signer"):
            raise ReportNotVerified(f"{file}: the signature given for {s.get('signer')} ({s.get('name')}) was made by "
                                    f"{recovered}, over another report or by another key")
        signers.append({"address": recovered, "name": s.get("name"), "auditor": recovered == auditor})
    return {"report": str(file), "keccak256": digest["keccak256"], "sha256": digest["sha256"],
            "verdict": report["verdict"], "signers": signers}


def _pages(file: Path) -> list[Path]:
    """The pages written beside the report's JSON (``audit.json`` -> ``audit.html``, ``audit.md``); a Markdown
    page named ``.json`` (its JSON ``.report.json``) is left as it is."""
    if file.name.endswith(".report.json"):
        return []
    return [p for p in (file.with_suffix(s) for s in (".html", ".htm", ".md")) if p.exists()]
