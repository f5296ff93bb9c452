"""Revert decoding from hand-made revert data and hand-made exceptions: no chain."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError

from vscm.chain.revert import (
    UNKNOWN_ERROR,
    ErrorTable,
    contract_name_for_abi,
    decode_revert,
    default_table,
    error_signature,
    revert_from_exception,
)
from vscm.errors import ChainError, ContractRevert

OWNER = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"

ABI = [
    {"type": "error", "name": "OrderWrongStatus", "inputs": [
        {"name": "orderId", "type": "uint256"},
        {"name": "status", "type": "uint8", "internalType": "enum OrderStatus"},
    ]},
    {"type": "error", "name": "NotMember", "inputs": [{"name": "account", "type": "address"}]},
    {"type": "error", "name": "UnknownCode", "inputs": [{"name": "code", "type": "bytes32"}]},
    {"type": "error", "name": "Paused", "inputs": []},
    {"type": "error", "name": "BadLot", "inputs": [
        {"name": "lot", "type": "tuple", "components": [
            {"name": "id", "type": "uint64"},
            {"name": "owner", "type": "address"},
        ]},
        {"name": "note", "type": "string"},
    ]},
    {"type": "error", "name": "BadLots", "inputs": [
        {"name": "lots", "type": "tuple[]", "components": [
            {"name": "id", "type": "uint64"},
            {"name": "owner", "type": "address"},
        ]},
    ]},
    {"type": "error", "name": "Unnamed", "inputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "pay", "inputs": [], "outputs": [], "stateMutability": "nonpayable"},
]


@pytest.fixture(scope="module")
def table() -> ErrorTable:
    return ErrorTable([ABI])


def revert_data(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_error_signature_spells_out_tuples() -> None:
    assert error_signature(ABI[4]) == "BadLot((uint64,address),string)"
    assert error_signature(ABI[5]) == "BadLots((uint64,address)[])"


def test_table_holds_declared_errors_and_builtins_but_no_functions(table: ErrorTable) -> None:
    assert len(table) == 7 + 2
    assert keccak(text="Error(string)")[:4] in table
    assert keccak(text="Panic(uint256)")[:4] in table
    assert keccak(text="pay()")[:4] not in table


def test_custom_error_args_are_decoded_by_parameter_name(table: ErrorTable) -> None:
    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])
    revert = decode_revert(data, table=table)
    assert (revert.name, revert.values) == ("OrderWrongStatus", {"orderId": 3, "status": 1})


def test_hex_string_data_decodes_like_bytes(table: ErrorTable) -> None:
    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])
    assert decode_revert("0x" + data.hex(), table=table).values == {"orderId": 3, "status": 1}


def test_address_arg_is_checksummed(table: ErrorTable) -> None:
    revert = decode_revert(revert_data("NotMember(address)", ["address"], [OWNER.lower()]), table=table)
    assert revert.values == {"account": OWNER}


def test_bytes32_arg_stays_bytes(table: ErrorTable) -> None:
    code = b"\x01" * 32
    revert = decode_revert(revert_data("UnknownCode(bytes32)", ["bytes32"], [code]), table=table)
    assert revert.values == {"code": code}
    assert "0x0101" in str(revert)


def test_error_without_args_decodes_to_empty_args(table: ErrorTable) -> None:
    revert = decode_revert(keccak(text="Paused()")[:4], table=table)
    assert (revert.name, revert.values) == ("Paused", {})


def test_struct_arg_decodes_to_dict_by_component_name(table: ErrorTable) -> None:
    data = revert_data("BadLot((uint64,address),string)", ["(uint64,address)", "string"],
                       [(7, OWNER), "late"])
    revert = decode_revert(data, table=table)
    assert revert.values == {"lot": {"id": 7, "owner": OWNER}, "note": "late"}


def test_array_of_structs_decodes_to_list_of_dicts(table: ErrorTable) -> None:
    data = revert_data("BadLots((uint64,address)[])", ["(uint64,address)[]"], [[(1, OWNER), (2, OWNER)]])
    revert = decode_revert(data, table=table)
    assert revert.values == {"lots": [{"id": 1, "owner": OWNER}, {"id": 2, "owner": OWNER}]}


def test_unnamed_parameter_gets_positional_name(table: ErrorTable) -> None:
    revert = decode_revert(revert_data("Unnamed(uint256)", ["uint256"], [5]), table=table)
    assert revert.values == {"arg0": 5}


def test_require_message_decodes_as_error_message(table: ErrorTable) -> None:
    revert = decode_revert(revert_data("Error(string)", ["string"], ["not allowed"]), table=table)
    assert (revert.name, revert.values) == ("Error", {"message": "not allowed"})


def test_panic_decodes_with_its_code(table: ErrorTable) -> None:
    revert = decode_revert(revert_data("Panic(uint256)", ["uint256"], [0x12]), table=table)
    assert (revert.name, revert.values) == ("Panic", {"code": 0x12})


def test_unknown_selector_keeps_the_raw_data(table: ErrorTable) -> None:
    revert = decode_revert(bytes.fromhex("deadbeef0001"), table=table)
    assert (revert.name, revert.values) == (UNKNOWN_ERROR, {"data": "0xdeadbeef0001"})


def test_empty_revert_is_unknown_with_empty_data(table: ErrorTable) -> None:
    assert decode_revert(b"", table=table).values == {"data": "0x"}


def test_truncated_args_are_unknown_not_a_crash(table: ErrorTable) -> None:
    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])[:40]
    assert decode_revert(data, table=table).name == UNKNOWN_ERROR


def test_revert_is_a_chain_error_naming_contract_and_function(table: ErrorTable) -> None:
    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])
    revert = decode_revert(data, table=table, contract="OrderBook", function="accept")
    assert isinstance(revert, ChainError)
    assert str(revert) == "OrderBook.accept reverted: OrderWrongStatus(orderId=3, status=1)"


def test_default_table_covers_compiled_artifacts() -> None:
    probe = default_table().by_name("ProbeWrongStage")
    assert [spec.signature for spec in probe] == ["ProbeWrongStage(uint256,uint8)"]


def test_contract_is_named_by_its_abi() -> None:
    from vscm.chain import artifacts

    assert contract_name_for_abi(artifacts.load("ErrorProbe").abi) == "ErrorProbe"
    assert contract_name_for_abi(ABI) is None


# -- exceptions as web3 and eth-tester raise them -------------------------------------------


def test_rpc_custom_error_data_is_decoded(table: ErrorTable) -> None:
    data = "0x" + revert_data("NotMember(address)", ["address"], [OWNER]).hex()
    revert = revert_from_exception(ContractCustomError(data, data=data), table=table)
    assert revert is not None and (revert.name, revert.values) == ("NotMember", {"account": OWNER})


def test_rpc_revert_string_is_decoded_from_data(table: ErrorTable) -> None:
    data = "0x" + revert_data("Error(string)", ["string"], ["no"]).hex()
    revert = revert_from_exception(ContractLogicError("execution reverted: no", data=data), table=table)
    assert revert is not None and revert.values == {"message": "no"}


def test_rpc_panic_is_decoded(table: ErrorTable) -> None:
    data = "0x" + revert_data("Panic(uint256)", ["uint256"], [1]).hex()
    revert = revert_from_exception(ContractPanicError("Panic error 0x01", data=data), table=table)
    assert revert is not None and (revert.name, revert.values) == ("Panic", {"code": 1})


def test_revert_without_data_keeps_message(table: ErrorTable) -> None:
    revert = revert_from_exception(ContractLogicError("execution reverted: nope", data=None), table=table)
    assert revert is not None and (revert.name, revert.values) == ("Error", {"message": "nope"})


def test_rpc_error_response_with_revert_data_is_decoded(table: ErrorTable) -> None:
    data = "0x" + keccak(text="Paused()")[:4].hex()
    error = {"code": 3, "message": "execution reverted", "data": data}
    response = {"jsonrpc": "2.0", "id": 1, "error": error}
    exc = Web3RPCError(str(response["error"]), rpc_response=response)  # type: ignore[arg-type]
    revert = revert_from_exception(exc, table=table)
    assert revert is not None and revert.name == "Paused"


def test_rpc_error_that_is_not_a_revert_is_not_translated(table: ErrorTable) -> None:
    response = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32003, "message": "nonce too low"}}
    exc = Web3RPCError(str(response["error"]), rpc_response=response)  # type: ignore[arg-type]
    assert revert_from_exception(exc, table=table) is None


def test_eth_tester_bytes_repr_is_decoded(table: ErrorTable) -> None:
    from eth_tester.exceptions import TransactionFailed

    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])
    revert = revert_from_exception(TransactionFailed(f"execution reverted: {data!r}"), table=table)
    assert revert is not None and revert.values == {"orderId": 3, "status": 1}


def test_eth_tester_decoded_message_becomes_error(table: ErrorTable) -> None:
    from eth_tester.exceptions import TransactionFailed

    revert = revert_from_exception(TransactionFailed("execution reverted: too late"), table=table)
    assert revert is not None and (revert.name, revert.values) == ("Error", {"message": "too late"})


def test_vm_revert_under_eth_tester_failure_wins(table: ErrorTable) -> None:
    from eth.exceptions import Revert
    from eth_tester.exceptions import TransactionFailed

    data = revert_data("Error(string)", ["string"], ["from the VM"])
    # web3 re-raises eth-tester's failure as a new one while handling it: the VM's is the context.
    outer = TransactionFailed("execution reverted: something else")
    outer.__context__ = TransactionFailed(Revert(data))
    revert = revert_from_exception(outer, table=table)
    assert revert is not None and revert.values == {"message": "from the VM"}


def test_vm_out_of_gas_is_not_a_revert(table: ErrorTable) -> None:
    from eth.exceptions import OutOfGas
    from eth_tester.exceptions import TransactionFailed

    assert revert_from_exception(TransactionFailed(OutOfGas("out of gas", 489)), table=table) is None


def test_unrelated_exception_is_not_a_revert(table: ErrorTable) -> None:
    assert revert_from_exception(ValueError("boom"), table=table) is None


def test_contract_revert_keeps_args_in_declaration_order(table: ErrorTable) -> None:
    data = revert_data("OrderWrongStatus(uint256,uint8)", ["uint256", "uint8"], [3, 1])
    revert = decode_revert(data, table=table)
    assert isinstance(revert, ContractRevert)
    assert list(revert.values) == ["orderId", "status"]
