"""``vscm oracle`` and ``vscm device``: simulated devices, the oracle nodes' run, reading checks.

    vscm oracle simulate --devices bay.json --receipt 3 --custodian warehouse --out readings.jsonl
    vscm device register WH-LC-3 --key 0x… --metric weight --receipt 3 --wallet warehouse
    vscm oracle signers --node 0x… --node 0x… --node 0x… --quorum 2 --wallet operator
    vscm oracle run --source readings.jsonl --node node1 --node node2 --wallet oracle
    vscm oracle verify-reading --batch batch.json --device WH-LC-3 --seq 2
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from vscm.cli.common import emit_tx, platform_command, signed_command
from vscm.cli.output import emit, json_option, key_value_table
from vscm.cli.params import ADDRESS
from vscm.cli.session import PARTY
from vscm.cli.wallet import unlock_signer
from vscm.client.platform import Platform
from vscm.errors import InputError, NotFound
from vscm.oracle.model import Metric, OracleError, TargetKind, device_id
from vscm.oracle.node import Aggregator, Batch, OracleNode
from vscm.oracle.simulator import GpsTracker, LoadCell, Site, TemperatureLogger, load_fleet, save_fleet
from vscm.oracle.sources import MqttPublisher, MqttSource, open_source

__all__ = ["device", "oracle"]

ID = click.IntRange(min=1)
METRICS = [m.name.lower() for m in Metric]


def parse_device(text: str) -> bytes | str:
    """A device id (``0x`` + 64 hex digits, as bytes) or a serial number (the stripped text)."""
    value = text.strip()
    if value.lower().startswith("0x"):
        raw = value[2:]
        if len(raw) != 64:
            raise InputError(f"bad device id {value!r}: expected 0x and 64 hex digits, or a serial number")
        try:
            return bytes.fromhex(raw)
        except ValueError:
            raise InputError(f"bad device id {value!r}: not hex") from None
    if not value:
        raise InputError("empty device serial")
    return value


def resolve_device(platform: Platform, text: str, owner: str | None = None, prefer: str | None = None) -> bytes:
    """The id of a device named by its 0x id, or by its serial number: in ``owner``'s namespace when
    given, else the one registered device with that serial (``prefer``'s when several custodians use it).

    Raises:
        NotFound: no registered device has that serial.
        InputError: several custodians registered that serial and none is ``prefer``.
    """
    named = parse_device(text)
    if isinstance(named, bytes):
        return named
    if owner is not None:
        return device_id(named, owner)
    found = platform.oracle.devices(serial=named)
    if len(found) == 1:
        return found[0].device_id
    mine = [d for d in found if prefer is not None and d.owner == prefer]
    if mine:
        return mine[0].device_id
    if not found:
        raise NotFound(f"no device with serial {named!r} is registered: `vscm device list` shows them")
    raise InputError(f"serial {named!r} is registered by {len(found)} custodians: give --owner or the 0x device id")


def parse_route(text: str) -> list[tuple[int, int]]:
    """``lat,lon;lat,lon;…`` in decimal degrees -> micro-degrees."""
    points = []
    for part in text.split(";"):
        try:
            lat, lon = (float(x) for x in part.split(","))
        except ValueError:
            raise InputError(f"bad route point {part!r}: expected lat,lon in degrees (31.23,121.47)") from None
        points.append((round(lat * 1e6), round(lon * 1e6)))
    return points


def parse_hours(text: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` (UTC) -> seconds of the day."""
    try:
        a, b = text.split("-")
        start = [int(x) for x in a.split(":")]
        end = [int(x) for x in b.split(":")]
        open_from, open_to = start[0] * 3600 + start[1] * 60, end[0] * 3600 + end[1] * 60
    except (ValueError, IndexError):
        raise InputError(f"bad hours {text!r}: expected HH:MM-HH:MM in UTC, e.g. 08:00-18:00") from None
    if not 0 <= open_from <= open_to <= 86400:
        raise InputError(f"bad hours {text!r}: opening must not be after closing, within one day")
    return open_from, open_to


def _target(receipt: int | None, shipment: int | None) -> tuple[TargetKind, int]:
    if (receipt is None) == (shipment is None):
        raise InputError("give exactly one of --receipt ID or --shipment ORDER_ID")
    return (TargetKind.ASSET, receipt) if receipt is not None else (TargetKind.SHIPMENT, shipment)  # type: ignore[return-value]


def _target_options(command: Any) -> Any:
    command = click.option("--shipment", type=ID, default=None, help="The order of a shipment.")(command)
    return click.option("--receipt", type=ID, default=None, help="A warehouse receipt (asset id).")(command)


# ------------------------------------------------------------------ oracle

@click.group("oracle")
def oracle() -> None:
    """The IoT oracle: simulate devices, run the oracle nodes, verify a reading."""


@oracle.command("simulate")
@click.option("--devices", "devices_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The simulated devices (keys and state); created with --receipt/--shipment, continued after.")
@_target_options
@click.option("--quantity", type=click.FloatRange(min=0), default=500.0, show_default=True,
              help="New load cell: the goods on it, in the receipt's unit.")
@click.option("--route", default=None, help="New tracker: waypoints lat,lon;lat,lon;… in degrees.")
@click.option("--custodian", type=PARTY, default=None,
              help="New devices: the warehouse or carrier that registers them (device ids are in its namespace).")
@click.option("--seed", default="vscm", show_default=True, help="Seed of the device keys and the noise.")
@click.option("--samples", type=click.IntRange(1, 10_000), default=5, show_default=True, help="Readings per device.")
@click.option("--interval", type=click.IntRange(min=1), default=10, show_default=True, help="Seconds between them.")
@click.option("--start", type=click.IntRange(min=0), default=None,
              help="Unix time of the first reading [default: so that the last is now].")
@click.option("--remove", type=click.FloatRange(min=0), default=0.0, help="Goods leaving the load cells first.")
@click.option("--excursion", type=float, default=None, help="Degrees the temperature loggers drift off their set point.")
@click.option("--detour", default=None, help="Offset lat,lon in degrees the trackers leave their route by.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append the signed readings to this JSON-lines file.")
@click.option("--publish", "publish_url", default=None, help="Publish them to mqtt://host:port/prefix instead.")
@json_option
def simulate_cmd(devices_file: Path, receipt: int | None, shipment: int | None, quantity: float, route: str | None,
                 custodian: str | None, seed: str, samples: int, interval: int, start: int | None, remove: float,
                 excursion: float | None, detour: str | None, out: Path | None, publish_url: str | None,
                 as_json: bool) -> None:
    """Simulated devices produce signed, hash-chained readings (to a file or an MQTT broker)."""
    if (out is None) == (publish_url is None):
        raise InputError("give exactly one of --out FILE.jsonl or --publish mqtt://host:port/prefix")
    if devices_file.exists():
        if receipt is not None or shipment is not None or custodian is not None:
            raise InputError(f"{devices_file} already holds devices: drop --receipt/--shipment/--custodian to "
                             "continue them")
        site = load_fleet(devices_file, seed)
    else:
        kind, target_id = _target(receipt, shipment)
        if custodian is None:
            raise InputError("new devices need --custodian: the warehouse or carrier that will register them")
        if kind == TargetKind.ASSET:
            site = Site.warehouse(seed, target_id, quantity, custodian=custodian)
        else:
            if not route:
                raise InputError("a new shipment tracker needs --route lat,lon;lat,lon")
            site = Site.truck(seed, target_id, parse_route(route), custodian=custodian)
    for d in site.devices:
        if isinstance(d, LoadCell):
            d.remove(remove)
        elif isinstance(d, TemperatureLogger) and excursion is not None:
            d.excursion = excursion
        elif isinstance(d, GpsTracker) and detour is not None:
            d.detour = parse_route(detour)[0]
    first = start if start is not None else int(time.time()) - (samples - 1) * interval
    readings = site.run(first, samples, interval)
    if out is not None:
        with out.open("a") as handle:
            handle.write("".join(r.to_json() + "\n" for r in readings))
        where = str(out)
    else:
        serials = {d.device_id: d.serial for d in site.devices}
        with MqttPublisher(str(publish_url)) as publisher:
            for r in readings:
                publisher.publish(serials[r.reading.device_id], r)
        where = str(publish_url)
    save_fleet(devices_file, site)
    result = {
        "readings": len(readings), "to": where, "first": first, "last": first + (samples - 1) * interval,
        "devices": [{"serial": d.serial, "device_id": d.device_id, "address": d.key.address,
                     "metric": d.metric.name.lower(), "kind": d.kind.name.lower(), "target_id": d.target_id,
                     "seq": d.seq} for d in site.devices],
    }
    emit(result, as_json, lambda r: key_value_table(
        [("readings", r["readings"]), ("to", r["to"])]
        + [(d["serial"], f"{d['metric']} {d['address']} seq {d['seq']}") for d in r["devices"]],
        title="simulated readings"))


@oracle.command("run")
@click.option("--source", required=True, help="mqtt://host:port/prefix or a readings .jsonl file.")
@click.option("--node", "nodes", multiple=True, required=True, metavar="LABEL",
              help="Wallet of an oracle node (repeat: one per node; each signs with its own key).")
@click.option("--node-password-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Passphrase of the node wallets [default: --password-file].")
@click.option("--expect", type=click.IntRange(min=1), default=None, help="MQTT: readings to wait for.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="MQTT: seconds to wait at most.")
@click.option("--batch-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the accepted batch (readings and root) here, for verify-reading.")
@json_option
@signed_command
def run_cmd(platform: Platform, signer: LocalAccount, source: str, nodes: tuple[str, ...],
            node_password_file: Path | None, expect: int | None, timeout: float, batch_out: Path | None,
            as_json: bool) -> None:
    """Publisher: collect readings, have the nodes check and sign, publish the batch (signed by you)."""
    ctx = click.get_current_context()
    password_file = node_password_file or ctx.params.get("password_file")
    keys = [unlock_signer(label, password_file) for label in nodes]
    if len({k.address for k in keys}) != len(keys):
        raise InputError("two --node wallets have the same key: every oracle node signs with its own key")
    src = open_source(source)
    try:
        if isinstance(src, MqttSource):
            src.start()
            click.echo(f"listening on {src.target.prefix}/devices/+ at {src.target.host}:{src.target.port}", err=True)
        readings = src.collect(expected=expect, timeout=timeout)
    finally:
        stop = getattr(src, "stop", None)
        if stop is not None:
            stop()
    if not readings:
        raise OracleError(f"no readings from {source}")
    aggregator = Aggregator([OracleNode(k, platform.oracle, label) for k, label in zip(keys, nodes)],
                            platform.oracle, signer)
    published = aggregator.publish(readings)
    batch = published.batch
    if batch_out is not None:
        batch.save(batch_out)
    summaries = [{"kind": s.kind.name.lower(), "target_id": s.target_id, "quantity": s.quantity,
                  "min_temp": s.min_temp / 100, "max_temp": s.max_temp / 100} for s in batch.report.summaries]
    state = [platform.oracle.target_state(s.kind, s.target_id) for s in batch.report.summaries]
    emit_tx(published.receipt, "batch published", as_json, batch_id=batch.report.batch_id,
            root=batch.report.readings_root, readings=batch.report.reading_count, rejected=len(batch.rejected),
            rejections=sorted({r.reason for r in batch.rejected}), gaps=len(batch.gaps), signers=published.signers,
            summaries=summaries, breaches=[b for st in state for b in st.breach_names],
            margin_calls=[st.target_id for st in state if st.margin_call])


@oracle.command("verify-reading")
@click.option("--batch", "batch_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The batch file written by `oracle run --batch-out`.")
@click.option("--device", "device", required=True, help="Serial number or 0x device id.")
@click.option("--owner", type=PARTY, default=None, help="The device's custodian, when several use its serial.")
@click.option("--seq", type=ID, required=True, help="The reading's sequence number.")
@json_option
@platform_command
def verify_reading_cmd(platform: Platform, batch_file: Path, device: str, owner: str | None, seq: int,
                       as_json: bool) -> None:
    """Anyone: prove on chain that a reading is in an accepted batch (a Merkle proof against its root)."""
    batch_id, root, readings = Batch.load_readings(batch_file)
    from vscm.oracle.merkle import MerkleTree

    tree = MerkleTree([sr.reading.leaf for sr in readings])
    if tree.root != root:
        raise OracleError(f"batch file {batch_file} is inconsistent: its readings do not make its root")
    dev = resolve_device(platform, device, owner)
    index = next((i for i, sr in enumerate(readings) if sr.reading.device_id == dev and sr.reading.seq == seq), None)
    if index is None:
        raise OracleError(f"batch file {batch_file} has no reading {seq} of device {device}")
    sr = readings[index]
    leaf = platform.oracle.verify_reading(batch_id, sr.reading, tree.proof(index))
    registered = platform.oracle.device(dev)
    result = {"batch_id": batch_id, "device": device, "seq": seq, "leaf": leaf, "proof_length": len(tree.proof(index)),
              "value": sr.reading.value, "value2": sr.reading.value2, "timestamp": sr.reading.timestamp,
              "device_signature_valid": sr.signer() == registered.key, "in_batch": True}
    emit(result, as_json, lambda r: key_value_table(r.items(), title="reading verified"))


@oracle.command("signers")
@click.option("--node", "nodes", type=PARTY, multiple=True, required=True, help="A node's address (repeat).")
@click.option("--quorum", type=click.IntRange(1, 32), required=True, help="Signatures a report needs (a majority).")
@json_option
@signed_command
def signers_cmd(platform: Platform, signer: LocalAccount, nodes: tuple[str, ...], quorum: int, as_json: bool) -> None:
    """Operator: a new signer set of oracle nodes (the previous one is retired)."""
    set_id = platform.oracle.as_(signer).set_signers(list(nodes), quorum).id
    emit_tx(platform.last_receipt, "signer set changed", as_json, signer_set=set_id, nodes=list(nodes),
            quorum=quorum)


@oracle.command("watch")
@_target_options
@click.option("--min-temp", type=float, required=True, help="Lowest temperature the goods take, degrees C.")
@click.option("--max-temp", type=float, required=True, help="Highest, degrees C.")
@click.option("--hours", default="00:00-24:00", show_default=True, help="Door opening hours, UTC.")
@json_option
@signed_command
def watch_cmd(platform: Platform, signer: LocalAccount, receipt: int | None, shipment: int | None, min_temp: float,
              max_temp: float, hours: str, as_json: bool) -> None:
    """Custodian (warehouse or carrier): the goods' temperature range and the door's hours."""
    kind, target_id = _target(receipt, shipment)
    open_from, open_to = parse_hours(hours)
    tx = platform.oracle.as_(signer).set_watch(kind, target_id, round(min_temp * 100), round(max_temp * 100),
                                               open_from, open_to)
    emit_tx(tx, "watch set", as_json, kind=kind.name.lower(), target_id=target_id)


@oracle.command("state")
@_target_options
@json_option
@platform_command
def state_cmd(platform: Platform, receipt: int | None, shipment: int | None, as_json: bool) -> None:
    """The collateral state the oracle's reports left: quantity, temperature, place, door, breaches."""
    kind, target_id = _target(receipt, shipment)
    state = platform.oracle.target_state(kind, target_id).to_dict()
    emit(state, as_json, lambda r: key_value_table(r.items(), title=f"{kind.name.lower()} {target_id}"))


# ------------------------------------------------------------------ devices

@click.group("device")
def device() -> None:
    """IoT devices: registered by the warehouse or carrier that runs them, each with its own key."""


@device.command("register")
@click.argument("serial")
@click.option("--key", "key", type=ADDRESS, required=True, help="The device's own key (address).")
@click.option("--metric", type=click.Choice(METRICS), required=True)
@_target_options
@json_option
@signed_command
def register_cmd(platform: Platform, signer: LocalAccount, serial: str, key: str, metric: str,
                 receipt: int | None, shipment: int | None, as_json: bool) -> None:
    """Warehouse or carrier: register a device on a receipt you issued or a shipment you carry.

    Its id is in your namespace: keccak256(abi.encode(you, keccak256(SERIAL))).
    """
    kind, target_id = _target(receipt, shipment)
    named = parse_device(serial)
    if isinstance(named, bytes):
        raise InputError(f"register a device by its serial number, not an id: {serial!r}")
    dev = device_id(named, signer.address)
    tx = platform.oracle.as_(signer).register_device(named, key, Metric.parse(metric), kind, target_id)
    emit_tx(tx, "device registered", as_json, device_id=dev, serial=serial, key=key, kind=kind.name.lower(),
            target_id=target_id)


@device.command("retire")
@click.argument("serial")
@click.option("--owner", type=PARTY, default=None, help="The device's custodian (the operator retiring another's).")
@json_option
@signed_command
def retire_cmd(platform: Platform, signer: LocalAccount, serial: str, owner: str | None, as_json: bool) -> None:
    """Owner (or operator): retire a device; its readings are refused from now on."""
    dev = resolve_device(platform, serial, owner, prefer=signer.address)
    emit_tx(platform.oracle.as_(signer).retire_device(dev), "device retired", as_json, device_id=dev, serial=serial)


@device.command("list")
@click.option("--owner", type=PARTY, default=None, help="Only this owner's devices.")
@json_option
@platform_command
def list_cmd(platform: Platform, owner: str | None, as_json: bool) -> None:
    """Registered devices."""
    found = [d.to_dict() for d in platform.oracle.devices(owner)]

    def table(rows: list[dict[str, Any]]) -> Any:
        from rich.table import Table

        t = Table(title="devices")
        for col in ("device_id", "metric", "kind", "target_id", "owner", "retired", "last_seq"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["device_id"][:18] + "…", r["metric"], r["kind"], str(r["target_id"]), r["owner"],
                      str(r["retired"]), str(r["last_seq"]))
        return t

    emit(found, as_json, table)
