"""Admin API, changing the configuration: the router product's Broker page (PUT
/api/petrel/v1/broker) with real clients (mosquitto_pub) checking the result; refused input
changes nothing; secrets are write-only; a failed apply rolls back; a live apply keeps the
other clients; SIGHUP and the API take the same path. Support: admin_support.py; the
certificates come from test_tls_support.py's PKI, made with the openssl command line."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

import rawmqtt as mq
from admin_support import admin, holding_port, mqtt_still_works, openssl, run, sighup, wait_until  # noqa: F401
from conftest import free_port
from test_tls_support import pki  # noqa: F401

pytestmark = pytest.mark.petrel_only("the admin API is Petrel's")

V1 = "/api/petrel/v1"


def pem(pki, name: str) -> str:
    return Path(pki.path(name)).read_text()


def state_files(a) -> list[str]:
    return sorted(p.name for p in a.state_dir.iterdir())


def pub(port: int, *extra: str, topic: str = "t/x", message: str = "m") -> subprocess.CompletedProcess:
    return run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", message, "-q", "1",
                *extra], timeout=20)


def retained_payload(a, topic: str):
    r = a.api.get(f"{V1}/retained/{topic}")
    return r.json()["payload"] if r.status == 200 else None


# --------------------------------------------------------------------------------------
# Refused input changes nothing
# --------------------------------------------------------------------------------------
def bad_inputs(pki):
    cert, key = pem(pki, "server.crt"), pem(pki, "server.key")
    bridge = {"name": "bad", "primary": {"host": "127.0.0.1", "port": 1883},
              "topics": [{"topic": "sensor/#", "direction": "out", "qos": 1, "local_prefix": "local",
                          "remote_prefix": "remote/office1/"}]}
    return [
        ("port abc", "PUT", "/broker", {"port": "abc"}, "port", None),
        ("port 70000", "PUT", "/broker", {"port": 70000}, "port", None),
        ("port 0", "PUT", "/broker", {"port": 0}, "port", None),
        ("tls_mode bogus", "PUT", "/broker", {"tls_mode": "bogus"}, "tls_mode", None),
        ("log_level", "PUT", "/broker", {"log_level": "loud"}, "log_level", None),
        ("unknown field", "PUT", "/broker", {"prot": 1884}, "prot", None),
        ("restrict bogus", "PUT", "/broker", {"restrict": "everyone"}, "restrict", None),
        ("password missing", "PUT", "/broker", {"restrict": "password", "username": "u"}, "password", None),
        ("psk key not hex", "PUT", "/broker", {"tls_mode": "psk", "psk_identity": "id", "psk_key": "xyz"},
         "psk_key", None),
        ("psk identity missing", "PUT", "/broker", {"tls_mode": "psk", "psk_key": "00ff"}, "psk_identity", None),
        ("bad PEM", "PUT", "/broker", {"tls_mode": "certificate", "private_key": key,
                                       "certificate": "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n"},
         "certificate", None),
        ("not PEM at all", "PUT", "/broker", {"tls_mode": "certificate", "certificate": "hello", "private_key": key},
         "certificate", None),
        ("encrypted key", "PUT", "/broker", {"tls_mode": "certificate", "certificate": cert,
                                             "private_key": pem(pki, "server-encrypted.key")},
         "private_key", "password"),
        ("key mismatch", "PUT", "/broker", {"tls_mode": "certificate", "certificate": cert,
                                            "private_key": pem(pki, "other.key")}, "private_key", "match"),
        ("CN without client CA", "PUT", "/broker", {"tls_mode": "certificate", "certificate": cert, "private_key": key,
                                                    "restrict": "certificate_cn", "username": "sensor-1"},
         "restrict", "client CA"),
        ("CN without TLS", "PUT", "/broker", {"restrict": "certificate_cn", "username": "sensor-1"}, "restrict", None),
        ("bridge prefix without /", "POST", "/bridges", bridge, "topics[0].local_prefix", "'/'"),
        ("bridge without address", "POST", "/bridges", {"name": "x", "topics": [{"topic": "a/#"}]},
         "primary.host", None),
        ("bridge port", "POST", "/bridges", {"name": "x", "primary": {"host": "h", "port": 99999},
                                             "topics": [{"topic": "a/#"}]}, "primary.port", None),
        ("bridge direction", "POST", "/bridges", {"name": "x", "primary": {"host": "h"},
                                                  "topics": [{"topic": "a/#", "direction": "sideways"}]},
         "topics[0].direction", None),
        ("bridge qos", "POST", "/bridges", {"name": "x", "primary": {"host": "h"},
                                            "topics": [{"topic": "a/#", "qos": 3}]}, "topics[0].qos", None),
        ("bridge psk", "POST", "/bridges", {"name": "x", "primary": {"host": "h"}, "tls_mode": "psk",
                                            "psk_identity": "i", "psk_key": "zz", "topics": [{"topic": "a/#"}]},
         "psk_key", None),
        ("bridge name", "POST", "/bridges", {"name": "two words", "primary": {"host": "h"},
                                             "topics": [{"topic": "a/#"}]}, "name", None),
        ("bridge bad CA", "POST", "/bridges", {"name": "x", "primary": {"host": "h"}, "tls_mode": "certificate",
                                               "ca_certificate": "nope", "topics": [{"topic": "a/#"}]},
         "ca_certificate", None),
        ("bridge key mismatch", "POST", "/bridges",
         {"name": "x", "primary": {"host": "h"}, "tls_mode": "certificate", "ca_certificate": pem(pki, "ca.crt"),
          "client_certificate": pem(pki, "sensor-1.crt"), "client_key": pem(pki, "other.key"),
          "topics": [{"topic": "a/#"}]}, "client_key", None),
    ]


def test_bad_input_changes_nothing(admin, pki):
    a = admin()
    conf = a.conf_bytes()
    files = state_files(a)
    broker_before = a.api.ok("GET", f"{V1}/broker")
    bridges_before = a.api.ok("GET", f"{V1}/bridges")
    for name, method, path, body, field, words in bad_inputs(pki):
        r = a.api.request(method, V1 + path, body)
        assert r.status == 400, f"{name}: {r!r}"
        errors = r.field_errors()
        assert field in errors, f"{name}: expected an error on {field!r}, got {errors}"
        if words:
            assert words.lower() in errors[field].lower(), f"{name}: {errors[field]!r}"
        assert a.conf_bytes() == conf, f"{name}: the configuration file changed"
        assert state_files(a) == files, f"{name}: files were left in the state dir"
    # Not JSON, not an object.
    for raw in (b"{", b"[1,2]", b""):
        r = a.api.request("PUT", f"{V1}/broker", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400 and "error" in r.json(), (raw, r)
    assert a.conf_bytes() == conf
    assert a.api.ok("GET", f"{V1}/broker") == broker_before
    assert a.api.ok("GET", f"{V1}/bridges") == bridges_before
    # The running broker is as before: anonymous clients on the same port.
    c = a.connect("still-anonymous")
    c.subscribe([("bad/#", 1)])
    mqtt_still_works(a, c, "bad/t", b"fine")
    assert pub(a.mqtt_port).returncode == 0


def test_check_pem(admin, pki):
    a = admin()
    r = a.api.ok("POST", f"{V1}/check-pem", {"certificate": pem(pki, "server.crt"), "private_key": pem(pki, "server.key"),
                                             "ca": pem(pki, "ca.crt")})
    assert r["private_key"]["ok"] is True
    c = r["certificate"]["certificates"][0]
    assert c["common_name"] == "localhost" and c["expired"] is False and c["is_ca"] is False
    assert r["ca"]["certificates"][0]["is_ca"] is True
    r = a.api.ok("POST", f"{V1}/check-pem", {"certificate": pem(pki, "server.crt"),
                                             "private_key": pem(pki, "server-encrypted.key")})
    assert "password" in r["private_key"]["error"]
    r = a.api.ok("POST", f"{V1}/check-pem", {"certificate": pem(pki, "server.crt"), "private_key": pem(pki, "other.key")})
    assert "match" in r["private_key"]["error"]
    r = a.api.ok("POST", f"{V1}/check-pem", {"certificate": "garbage"})
    assert "error" in r["certificate"]
    r = a.api.ok("POST", f"{V1}/check-pem", {"certificate": pem(pki, "expired.crt")})
    assert r["certificate"]["certificates"][0]["expired"] is True


# --------------------------------------------------------------------------------------
# The product's broker settings with real clients
# --------------------------------------------------------------------------------------
def test_broker_example_username_password(admin):
    a = admin()
    r = a.api.put(f"{V1}/broker", {"restrict": "password", "username": "advantech", "password": "password123",
                                   "tls_mode": "none"})
    assert r.status == 200, r
    rep = r.json()
    assert rep["ok"] is True and rep["config_file"] == str(a.conf_path)
    assert set(rep) >= {"ok", "message", "changes", "applied", "kept", "restart_required", "warnings"}
    assert "password123" not in r.text
    b = a.api.ok("GET", f"{V1}/broker")
    assert (b["restrict"], b["username"], b["password_set"], b["tls_mode"]) == ("password", "advantech", True, "none")
    assert b["password_file_managed"] is True and b["password_file"].startswith(str(a.state_dir) + "/")

    refused = pub(a.mqtt_port)
    assert refused.returncode != 0, refused
    assert "not authori" in (refused.stdout + refused.stderr).lower(), refused
    wrong = pub(a.mqtt_port, "-u", "advantech", "-P", "password124")
    assert wrong.returncode != 0, wrong
    ok = pub(a.mqtt_port, "-u", "advantech", "-P", "password123", "-r", topic="example/t", message="42")
    assert ok.returncode == 0, ok
    assert retained_payload(a, "example/t") == "42"
    # Back to anonymous.
    r = a.api.put(f"{V1}/broker", {"restrict": "anonymous"})
    assert r.status == 200, r
    assert pub(a.mqtt_port).returncode == 0


def test_psk(admin):
    a = admin()
    key = a.api.ok("GET", f"{V1}/psk/generate")["key"]
    assert re.fullmatch(r"[0-9a-f]{64}", key), key
    assert a.api.ok("GET", f"{V1}/psk/generate")["key"] != key
    r = a.api.put(f"{V1}/broker", {"tls_mode": "psk", "psk_identity": "test", "psk_key": key})
    assert r.status == 200, r
    assert key not in r.text
    b = a.api.ok("GET", f"{V1}/broker")
    assert (b["tls_mode"], b["psk_identity"], b["psk_key_set"]) == ("psk", "test", True)
    ok = pub(a.mqtt_port, "--psk", key, "--psk-identity", "test", "-r", topic="SENSOR/ROOM8/TEMPERATURE", message="54")
    assert ok.returncode == 0, ok
    assert retained_payload(a, "SENSOR/ROOM8/TEMPERATURE") == "54"
    wrong_key = ("0" if key[0] != "0" else "1") + key[1:]
    bad = pub(a.mqtt_port, "--psk", wrong_key, "--psk-identity", "test", "-r", topic="SENSOR/ROOM8/TEMPERATURE",
              message="55")
    assert bad.returncode != 0, bad
    bad = pub(a.mqtt_port, "--psk", key, "--psk-identity", "someone", "-r", topic="SENSOR/ROOM8/TEMPERATURE",
              message="56")
    assert bad.returncode != 0, bad
    plain = pub(a.mqtt_port, "-r", topic="SENSOR/ROOM8/TEMPERATURE", message="57")
    assert plain.returncode != 0, plain
    assert retained_payload(a, "SENSOR/ROOM8/TEMPERATURE") == "54"


def test_psk_identity_and_key_changes_take_effect(admin):
    a = admin()
    key = a.api.ok("GET", f"{V1}/psk/generate")["key"]
    assert a.api.put(f"{V1}/broker", {"tls_mode": "psk", "psk_identity": "test", "psk_key": key}).status == 200
    assert pub(a.mqtt_port, "--psk", key, "--psk-identity", "test").returncode == 0
    # A new identity keeps the key.
    assert a.api.put(f"{V1}/broker", {"psk_identity": "house"}).status == 200
    assert a.api.ok("GET", f"{V1}/broker")["psk_identity"] == "house"
    assert pub(a.mqtt_port, "--psk", key, "--psk-identity", "house").returncode == 0
    assert pub(a.mqtt_port, "--psk", key, "--psk-identity", "test").returncode != 0
    # A new key replaces the old one.
    key2 = a.api.ok("GET", f"{V1}/psk/generate")["key"]
    assert a.api.put(f"{V1}/broker", {"psk_key": key2}).status == 200
    assert pub(a.mqtt_port, "--psk", key2, "--psk-identity", "house").returncode == 0
    assert pub(a.mqtt_port, "--psk", key, "--psk-identity", "house").returncode != 0


def test_certificate_tls_with_client_ca_and_cn(admin, pki):
    a = admin()
    r = a.api.put(f"{V1}/broker", {"tls_mode": "certificate", "certificate": pem(pki, "server.crt"),
                                   "private_key": pem(pki, "server.key"), "client_ca": pem(pki, "ca.crt"),
                                   "restrict": "certificate_cn", "username": "sensor-1"})
    assert r.status == 200, r
    assert "PRIVATE KEY" not in r.text
    b = a.api.ok("GET", f"{V1}/broker")
    assert (b["tls_mode"], b["restrict"], b["username"], b["require_certificate"]) == \
        ("certificate", "certificate_cn", "sensor-1", True)
    assert b["private_key_set"] is True
    assert "localhost" in b["certificate"]["subject"]
    end = openssl("x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", pki.path("server.crt"), cwd=pki.dir)
    # notAfter=2026-04-01 10:00:00Z
    import datetime
    when = datetime.datetime.strptime(end.strip().split("=", 1)[1], "%Y-%m-%d %H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert b["certificate"]["not_after"] == int(when.timestamp()), b["certificate"]
    assert b["certificate"]["expired"] is False
    assert [c["common_name"] for c in b["client_ca"]] == ["Petrel Test CA"]

    tls = ["--cafile", pki.path("ca.crt")]
    ok = pub(a.mqtt_port, *tls, "--cert", pki.path("sensor-1.crt"), "--key", pki.path("sensor-1.key"), "-r",
             topic="factory/sensor/1", message="by sensor-1")
    assert ok.returncode == 0, ok
    assert retained_payload(a, "factory/sensor/1") == "by sensor-1"
    other = pub(a.mqtt_port, *tls, "--cert", pki.path("intruder.crt"), "--key", pki.path("intruder.key"), "-r",
                topic="factory/sensor/1", message="by intruder")
    assert other.returncode != 0, other
    none = pub(a.mqtt_port, *tls, "-r", topic="factory/sensor/1", message="no certificate")
    assert none.returncode != 0, none
    assert retained_payload(a, "factory/sensor/1") == "by sensor-1"


def test_resending_the_settings_changes_nothing(admin, pki):
    """A form sent back as GET /broker showed it (secrets left out) changes nothing, and an
    unrelated change leaves the user file alone."""
    a = admin()
    assert a.api.put(f"{V1}/broker", {"restrict": "password", "username": "advantech",
                                      "password": "password123"}).status == 200
    conf = a.conf_bytes()
    r = a.api.put(f"{V1}/broker", {"restrict": "password", "username": "advantech"})
    assert r.status == 200 and r.json()["message"] == "no change", r
    assert a.conf_bytes() == conf
    assert pub(a.mqtt_port, "-u", "advantech", "-P", "password123").returncode == 0

    assert a.api.put(f"{V1}/broker", {"tls_mode": "certificate", "certificate": pem(pki, "server.crt"),
                                      "private_key": pem(pki, "server.key"), "client_ca": pem(pki, "ca.crt"),
                                      "restrict": "certificate_cn", "username": "sensor-1"}).status == 200
    files = state_files(a)
    conf = a.conf_bytes()
    r = a.api.put(f"{V1}/broker", {"tls_mode": "certificate", "restrict": "certificate_cn", "username": "sensor-1"})
    assert r.status == 200 and r.json()["message"] == "no change", r
    assert a.conf_bytes() == conf and state_files(a) == files
    users = a.api.ok("GET", f"{V1}/broker")["password_file"]
    r = a.api.put(f"{V1}/broker", {"log_level": "debug"})
    assert r.status == 200, r
    assert not any("password_file" in c for c in r.json()["changes"]), r.json()
    assert a.api.ok("GET", f"{V1}/broker")["password_file"] == users
    # No new file; the user file of the settings before the last ones is removed now that
    # neither the running configuration nor its .bak names it.
    assert set(state_files(a)) <= set(files) and Path(users).name in state_files(a), (state_files(a), files)
    tls = ["--cafile", pki.path("ca.crt"), "--cert", pki.path("sensor-1.crt"), "--key", pki.path("sensor-1.key")]
    assert pub(a.mqtt_port, *tls).returncode == 0
    # A new CN is a new user.
    r = a.api.put(f"{V1}/broker", {"username": "intruder"})
    assert r.status == 200 and any("password_file" in c for c in r.json()["changes"]), r
    assert a.api.ok("GET", f"{V1}/broker")["username"] == "intruder"


# --------------------------------------------------------------------------------------
# Secrets are write-only
# --------------------------------------------------------------------------------------
def test_secrets_never_appear_in_responses(admin, pki):
    a = admin()
    broker_password = "Broker-Secret-pw-1"
    psk_key = a.api.ok("GET", f"{V1}/psk/generate")["key"]
    bridge_password = "Bridge-Secret-pw-2"
    bridge_psk = "5e" * 32
    key_pem = pem(pki, "server.key")
    key_body = "".join(l for l in key_pem.splitlines() if "-----" not in l)
    secrets = [broker_password, psk_key, bridge_password, bridge_psk] + [key_body[i:i + 40] for i in (0, 400, 800)]
    responses = []

    def call(method, path, body=None):
        r = a.api.request(method, V1 + path, body)
        assert r.status == 200, f"{method} {path}: {r!r}"
        responses.append((f"{method} {path}", r.text))
        return r

    call("PUT", "/broker", {"tls_mode": "certificate", "certificate": pem(pki, "server.crt"), "private_key": key_pem})
    call("PUT", "/broker", {"tls_mode": "psk", "psk_identity": "house", "psk_key": psk_key,
                            "restrict": "password", "username": "house", "password": broker_password})
    call("POST", "/bridges", {"name": "withpw", "primary": {"host": "127.0.0.1", "port": free_port()},
                              "username": "office", "password": bridge_password, "topics": [{"topic": "a/#"}]})
    call("POST", "/bridges", {"name": "withpsk", "primary": {"host": "127.0.0.1", "port": free_port()},
                              "tls_mode": "psk", "psk_identity": "office", "psk_key": bridge_psk,
                              "topics": [{"topic": "b/#"}]})
    call("PUT", "/bridges/withpw", {"password": bridge_password + "x"})
    secrets.append(bridge_password + "x")
    for path in ("/status", "/status/history", "/broker", "/bridges", "/bridges/withpw", "/bridges/withpsk",
                 "/clients", "/clients?state=all&internal=true", "/log", "/log?level=debug", "/retained",
                 "/session"):
        call("GET", path)
    for path in ("/metrics", "/api/v1/systree", "/api/v1/listeners"):
        r = a.api.get(path)
        assert r.status == 200
        responses.append((path, r.text))
    with a.api.stream(f"{V1}/log/stream") as st:
        st.wait(lambda e: e.event == "log" and "changed bridge 'withpw'" in e.data, what="the audit lines")
        responses += [("log stream", e.data) for e in st.events]
    with a.api.stream(f"{V1}/status/stream") as st:
        responses.append(("status stream", st.wait(lambda e: e.event == "status").data))
    b = json.loads(dict(responses)["GET /broker"])
    assert b["psk_key_set"] and b["password_set"] and b["psk_identity"] == "house"
    bridges = {x["name"]: x for x in json.loads(dict(responses)["GET /bridges"])["bridges"]}
    assert bridges["withpw"]["password_set"] is True and bridges["withpsk"]["psk_key_set"] is True
    for what, text in responses:
        for s in secrets:
            assert s not in text, f"a secret ({s[:6]}...) appears in {what}"
    # Nor in the broker's own log.
    for s in secrets:
        assert s not in a.log(), f"a secret ({s[:6]}...) appears in the log"


# --------------------------------------------------------------------------------------
# Apply: rollback, live changes, SIGHUP
# --------------------------------------------------------------------------------------
def test_failed_apply_rolls_back(admin):
    a = admin()
    c = a.connect("rollback-watcher")
    c.subscribe([("rb/#", 1)])
    conf = a.conf_bytes()
    held, port = holding_port()
    try:
        r = a.api.put(f"{V1}/broker", {"port": port})
        assert r.status == 409, r
        body = r.json()
        assert body["ok"] is False and body["rolled_back"] is True
        assert str(port) in body["message"] and str(port) in body["error"], body
    finally:
        held.close()
    assert a.conf_bytes() == conf
    assert not Path(str(a.conf_path) + ".tmp").exists()
    assert a.api.ok("GET", f"{V1}/broker")["port"] == a.mqtt_port
    mqtt_still_works(a, c, "rb/t", b"still here")
    n = a.connect("rollback-new")
    n.ping()
    a.wait_log(rf"admin: change by 'admin' from 127\.0\.0\.1 rolled back: .*{port}")


def test_port_change_moves_the_listener(admin):
    a = admin()
    new = free_port()
    r = a.api.put(f"{V1}/broker", {"port": new})
    assert r.status == 200, r
    assert re.search(rf"^listener {new} 127\.0\.0\.1$", a.conf_path.read_text(), re.M)
    assert Path(str(a.conf_path) + ".bak").read_bytes() != a.conf_bytes()
    old = a.mqtt_port
    a.b.listeners[0] = ("127.0.0.1", new)
    a.connect("on-new-port").ping()
    with pytest.raises(OSError):
        mq.Client(old, timeout=2)
    assert a.api.ok("GET", "/api/v1/listeners")["listeners"][0]["port"] == new


def test_address_alone_keeps_the_port(admin):
    """Changing only the address (or re-sending it) leaves the port as it is."""
    a = admin()
    conf = a.conf_bytes()
    for address in ("127.0.0.1", "local"):
        r = a.api.put(f"{V1}/broker", {"address": address})
        assert r.status == 200 and r.json()["message"] == "no change", (address, r)
        assert a.conf_bytes() == conf
        assert a.api.ok("GET", f"{V1}/broker")["port"] == a.mqtt_port
    a.connect("same-port").ping()


def test_broker_disable_and_enable(admin):
    """enabled false: the MQTT listener closes (its clients go), the admin and the bridges
    stay; true: it opens again on the same port."""
    a = admin()
    c = a.connect("to-be-dropped")
    r = a.api.put(f"{V1}/broker", {"enabled": False})
    assert r.status == 200, r
    assert any("closed (1 client disconnected)" in x for x in r.json()["applied"]), r.json()
    c.expect_closed(timeout=10)
    assert a.status()["service"]["state"] == "bridges-only"
    b = a.api.ok("GET", f"{V1}/broker")
    assert b["enabled"] is False and b["port"] == a.mqtt_port
    with pytest.raises(OSError):
        mq.Client(a.mqtt_port, timeout=2)
    r = a.api.put(f"{V1}/broker", {"enabled": True})
    assert r.status == 200, r
    assert a.status()["service"]["state"] == "running"
    a.connect("back-again").ping()


def test_live_apply_keeps_clients(admin):
    a = admin()
    c = a.connect("live-keeper", version=mq.V5)
    c.subscribe([("live/#", 1)])
    v3 = a.connect("live-keeper-v3", version=mq.V311)
    r = a.api.post(f"{V1}/bridges", {"name": "live", "primary": {"host": "127.0.0.1", "port": free_port()},
                                     "topics": [{"topic": "x/#", "direction": "out", "qos": 1}]})
    assert r.status == 200, r
    rep = r.json()
    assert "bridge live started" in rep["applied"], rep
    assert any("kept their connections" in k for k in rep["kept"]), rep
    assert "kept their connections" in rep["message"], rep
    mqtt_still_works(a, c, "live/1", b"after the bridge")
    v3.ping()

    r = a.api.put(f"{V1}/broker", {"log_level": "debug"})
    assert r.status == 200, r
    rep = r.json()
    assert "logging settings applied" in rep["applied"], rep
    assert any("log" in ch for ch in rep["changes"]), rep
    assert any("kept their connections" in k for k in rep["kept"]) or any("bridge" in k for k in rep["kept"]), rep
    assert a.api.ok("GET", f"{V1}/broker")["log_level"] == "debug"
    mqtt_still_works(a, c, "live/2", b"after the log level")
    v3.ping()
    # Sending the same again changes nothing.
    r = a.api.put(f"{V1}/broker", {"log_level": "debug"})
    assert r.status == 200 and r.json()["message"] == "no change", r
    mqtt_still_works(a, c, "live/3", b"still")


def test_report_does_not_keep_a_disconnected_client(admin):
    a = admin()
    c = a.connect("anonymous-one")
    r = a.api.put(f"{V1}/broker", {"restrict": "password", "username": "u", "password": "Pw-123456"})
    assert r.status == 200, r
    rep = r.json()
    assert any("1 connected client was no longer allowed and disconnected" in x for x in rep["applied"]), rep
    c.expect_closed(timeout=10)
    assert not any("kept their connections" in k for k in rep["kept"]), rep


def test_sighup_and_api_share_one_path(admin):
    a = admin()
    port = free_port()
    text = a.conf_path.read_text()
    text = "log_level warning\n" + text + f"\nconnection byhand\naddress 127.0.0.1:{port}\ntopic hand/# out 1\n"
    a.conf_path.write_text(text)
    sighup(a)
    br = wait_until(lambda: a.api.get(f"{V1}/bridges/byhand").status == 200, what="the bridge after SIGHUP")
    assert br
    b = a.api.ok("GET", f"{V1}/bridges/byhand")
    assert b["primary"] == {"host": "127.0.0.1", "port": port}
    assert b["topics"] == [{"topic": "hand/#", "direction": "out", "qos": 1, "local_prefix": "", "remote_prefix": ""}]
    assert a.api.ok("GET", f"{V1}/broker")["log_level"] == "warning"
    a.wait_status(lambda s: any(x["name"] == "byhand" for x in s["bridges"]), what="byhand in the status")
    # And the API edits the hand-written file in place, keeping what it does not manage.
    r = a.api.put(f"{V1}/bridges/byhand", {"keepalive": 30})
    assert r.status == 200, r
    after = a.conf_path.read_text()
    assert after.startswith("log_level warning\n# generated by tests/integration/admin_support.py\n"), after
    assert re.search(r"^keepalive_interval 30$", after, re.M), after
    sighup(a)  # the same file again: no change
    assert a.api.ok("GET", f"{V1}/bridges/byhand")["keepalive"] == 30
