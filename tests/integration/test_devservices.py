"""The private test services (vscm.devservices): each test process starts its own PostgreSQL and
Mosquitto on free ports, two suites at once never share one, nothing outlives its owner, and a
missing binary is named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from vscm import devservices
from vscm.devservices import ServiceError, missing_packages, mosquitto_binary, postgres_bindir
from vscm.oracle.sources import MqttTarget, _client

# One "test suite": it starts both services, proves each works (an MQTT message through its broker, a
# row through its database), prints where they are, and keeps them until told to stop on stdin.
SUITE = textwrap.dedent("""
    import json, sys, uuid
    import paho.mqtt.client as mqtt
    import psycopg
    from vscm.devservices import start_mosquitto, start_postgres

    marker = uuid.uuid4().hex
    with start_postgres() as pg, start_mosquitto() as broker:
        with psycopg.connect(pg.url, autocommit=True) as db:
            db.execute("CREATE TABLE suite (marker text)")
            db.execute("INSERT INTO suite VALUES (%s)", (marker,))
            stored = db.execute("SELECT marker FROM suite").fetchall()
        got = []
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub-" + marker[:8])
        sub.on_message = lambda c, u, m: got.append(m.payload.decode())
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe("suite/#", qos=1)
        sub.loop_start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub-" + marker[:8])
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        import time
        for _ in range(200):
            if got:
                break
            pub.publish("suite/x", marker, qos=1).wait_for_publish(5)
            time.sleep(0.05)
        sub.loop_stop(); pub.loop_stop(); sub.disconnect(); pub.disconnect()
        print(json.dumps({"marker": marker, "pg": pg.url, "pg_pid": pg.pid, "pg_dir": str(pg.directory),
                          "mqtt": broker.url, "mqtt_pid": broker.pid, "rows": [r[0] for r in stored],
                          "received": got[:1]}), flush=True)
        sys.stdin.readline()
""")


def _gone(pid: int, within: float = 120.0) -> bool:
    """Whether process ``pid`` ends within a generous bound (a busy machine only makes it slower)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_two_suites_at_once_each_get_their_own_working_services() -> None:
    suites = [subprocess.Popen([sys.executable, "-c", SUITE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        seen = []
        for suite in suites:
            assert suite.stdout is not None
            line = suite.stdout.readline()
            assert line, suite.stderr.read() if suite.stderr else ""
            seen.append(json.loads(line))
        a, b = seen
        # Both alive at once, each on its own ports, processes and files.
        assert a["pg"] != b["pg"] and a["mqtt"] != b["mqtt"]
        assert a["pg_pid"] != b["pg_pid"] and a["pg_dir"] != b["pg_dir"]
        for s in seen:
            assert s["rows"] == [s["marker"]] and s["received"] == [s["marker"]]
            # Each database holds its own suite's row only.
            with psycopg.connect(s["pg"]) as db:
                assert [r[0] for r in db.execute("SELECT marker FROM suite")] == [s["marker"]]
        for suite in suites:
            assert suite.stdin is not None
            suite.stdin.write("\n")
            suite.stdin.flush()
        for suite in suites:
            assert suite.wait(120) == 0
        for s in seen:  # stopped with their owner, files removed
            assert _gone(s["pg_pid"]) and _gone(s["mqtt_pid"])
            assert not Path(s["pg_dir"]).exists()
    finally:
        for suite in suites:
            if suite.poll() is None:
                suite.kill()


def test_servers_die_with_a_killed_owner() -> None:
    suite = subprocess.Popen([sys.executable, "-c", SUITE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert suite.stdout is not None
        started = json.loads(suite.stdout.readline())
        suite.send_signal(signal.SIGKILL)
        suite.wait()
        assert _gone(started["pg_pid"]) and _gone(started["mqtt_pid"])
    finally:
        if suite.poll() is None:
            suite.kill()
    # The next start clears the directory the killed owner left behind.
    devservices.start_mosquitto().stop()
    assert not Path(started["pg_dir"]).exists()


def test_the_fixtures_serve_this_process(postgres: devservices.Postgres, mqtt_broker: devservices.Mosquitto) -> None:
    with psycopg.connect(postgres.url) as db:
        assert db.execute("SELECT current_user").fetchone() == ("postgres",)
    client = _client(MqttTarget.parse(f"{mqtt_broker.url}/t-{uuid.uuid4().hex[:6]}"), "fixture")
    assert client.is_connected() or client.loop(timeout=1.0) == 0
    client.disconnect()


def test_a_stopped_server_no_longer_answers() -> None:
    server = devservices.start_postgres()
    url, directory = server.url, server.directory
    server.stop()
    server.stop()  # stopping twice is harmless
    assert not directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_a_missing_binary_is_named_with_its_package(tmp_path: Path) -> None:
    empty = str(tmp_path)  # a search path with nothing on it
    with pytest.raises(ServiceError, match=r"mosquitto binary is missing: install Debian's mosquitto package"):
        mosquitto_binary(path=empty)
    with pytest.raises(ServiceError, match=r"PostgreSQL server binaries \(initdb, postgres\) are missing: "
                                           r"install Debian's postgresql package"):
        postgres_bindir(path=empty)
    assert missing_packages(path=empty) == ["postgresql", "mosquitto", "chromium", "wrk"]
    assert missing_packages() == []  # this machine has them: make install saw to it


def test_a_client_only_postgres_install_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "initdb").write_text("#!/bin/sh\n")
    (tmp_path / "initdb").chmod(0o755)  # initdb without a postgres server beside it
    with pytest.raises(ServiceError, match="server binaries"):
        postgres_bindir(path=str(tmp_path))


def test_ensure_names_the_packages_when_it_may_not_install(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(devservices, "missing_packages", lambda path=None: ["postgresql", "mosquitto"])
    with pytest.raises(ServiceError) as caught:
        devservices.ensure_installed(install=False)
    assert str(caught.value) == ("the test services need Debian's postgresql and mosquitto packages: run "
                                 "`sudo apt-get install postgresql mosquitto`, then `make install` again")
    monkeypatch.setattr(devservices.os, "geteuid", lambda: 1000)  # not root: main says so in one line
    assert devservices.main(["ensure"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the test services need Debian's postgresql")
    assert devservices.main(["start"]) == 2
