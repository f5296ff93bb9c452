"""Issue 15: the platform's custom errors name their arguments one way. A Python keyword (``from``) is never an
argument name (it could not be passed as ``reverts(..., from=...)`` or read as an attribute), and one concept has
one name across contracts: the loan is ``loanId`` (not ``byLoan``), the time now is ``nowTime``."""

from __future__ import annotations

import keyword

from vscm.chain import artifacts

#: Contracts the platform did not write (OpenZeppelin, Safe) keep their own names.
EXTERNAL = {"Safe", "SafeProxyFactory", "TimelockController", "ReferenceERC20", "ReferenceERC721"}
#: Names replaced by the one the platform uses everywhere else.
SYNONYMS = {"byLoan": "loanId", "now": "nowTime", "expiry": "expiresAt", "from": "sender", "to": "recipient"}
#: OpenZeppelin's own errors inherited by the platform's contracts.
INHERITED_PREFIXES = ("ERC20", "ERC721", "AccessControl", "ECDSA", "Strings", "SafeCast", "Address", "Failed",
                      "ReentrancyGuard", "EnforcedPause", "ExpectedPause", "InvalidShortString", "StringTooLong",
                      "MathOverflowedMulDiv", "InvalidAccountNonce", "InsufficientBalance")


def platform_errors() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, abi in artifacts.all_abis().items():
        if name in EXTERNAL:
            continue
        for item in abi:
            if item["type"] == "error" and not item["name"].startswith(INHERITED_PREFIXES):
                found[item["name"]] = [arg["name"] for arg in item["inputs"]]
    return found


def test_no_error_argument_is_a_python_keyword_or_a_retired_synonym() -> None:
    errors = platform_errors()
    assert len(errors) > 100  # every platform contract's errors were read
    bad = {f"{error}({arg})": SYNONYMS.get(arg, "not a keyword")
           for error, args in errors.items() for arg in args if keyword.iskeyword(arg) or arg in SYNONYMS}
    assert bad == {}, f"rename these error arguments: {bad}"


def test_the_locked_asset_errors_agree() -> None:
    errors = platform_errors()
    assert errors["LoanAssetLocked"] == ["assetId", "loanId"] == errors["AssetIsLocked"]
    assert errors["CashSenderNotActive"] == ["sender"] and errors["CashRecipientNotActive"] == ["recipient"]
