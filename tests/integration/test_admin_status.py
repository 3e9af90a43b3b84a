"""Admin API, reading the broker: Mosquitto 2.1's three endpoints (exact shapes),
/metrics in Prometheus text format, Petrel's status with its history and live stream, and
the log with its live tail and audit lines. Support: admin_support.py."""
from __future__ import annotations

import re

import pytest

from admin_support import admin, holding_port, wait_until  # noqa: F401
from test_tls_support import pki  # noqa: F401
from conftest import free_port

pytestmark = pytest.mark.petrel_only("the admin API is Petrel's")

V1 = "/api/petrel/v1"

SYSTREE_KEYS = {
    "$SYS/broker/clients/total", "$SYS/broker/clients/maximum", "$SYS/broker/clients/disconnected",
    "$SYS/broker/clients/connected", "$SYS/broker/clients/expired",
    "$SYS/broker/messages/stored", "$SYS/broker/store/messages/bytes",
    "$SYS/broker/subscriptions/count", "$SYS/broker/shared_subscriptions/count",
    "$SYS/broker/retained messages/count",
    "$SYS/broker/messages/received", "$SYS/broker/messages/sent",
    "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent",
    "$SYS/broker/publish/bytes/received", "$SYS/broker/publish/bytes/sent",
    "$SYS/broker/packet/out/count", "$SYS/broker/packet/out/bytes",
    "$SYS/broker/connections/socket/count",
    "$SYS/broker/publish/messages/dropped", "$SYS/broker/publish/messages/received",
    "$SYS/broker/publish/messages/sent",
    "$SYS/broker/uptime",
}


# --------------------------------------------------------------------------------------
# Mosquitto 2.1's endpoints
# --------------------------------------------------------------------------------------
def test_mosquitto_version(admin):
    a = admin()
    r = a.basic.get("/api/v1/version")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain"), r.headers
    assert re.match(r"^\d+\.\d+\.\d+", r.text), r.text


def test_mosquitto_listeners_shape(admin):
    ws = free_port()
    a = admin(http_lines=[f"listener {ws} 127.0.0.1", "protocol websockets"])
    r = a.basic.get("/api/v1/listeners")
    assert r.status == 200 and r.header("Content-Type").startswith("application/json"), r
    body = r.json()
    assert set(body) == {"listeners"}
    by_port = {}
    for entry in body["listeners"]:
        assert set(entry) == {"port", "protocol", "tls", "mtls", "allow_anonymous"}, entry
        assert isinstance(entry["port"], int)
        for k in ("tls", "mtls", "allow_anonymous"):
            assert isinstance(entry[k], bool), entry
        by_port[entry["port"]] = entry
    assert by_port[a.mqtt_port] == {"port": a.mqtt_port, "protocol": "mqtt", "tls": False, "mtls": False,
                                    "allow_anonymous": True}
    assert by_port[ws]["protocol"] == "websockets"
    assert by_port[a.http_port]["protocol"] == "httpapi"
    # The admin listener never lets anyone in without credentials, whatever allow_anonymous says.
    assert by_port[a.http_port]["allow_anonymous"] is False
    assert a.status()["admin_listeners"][0]["allow_anonymous"] is False
    assert len(body["listeners"]) == 3


def test_mosquitto_listeners_tls_flags(admin, pki):
    a = admin(mqtt_lines=[f"certfile {pki.path('server.crt')}", f"keyfile {pki.path('server.key')}",
                          f"cafile {pki.path('ca.crt')}", "require_certificate true"], anonymous=False)
    entry = [e for e in a.basic.get("/api/v1/listeners").json()["listeners"] if e["port"] == a.mqtt_port][0]
    assert entry == {"port": a.mqtt_port, "protocol": "mqtt", "tls": True, "mtls": True, "allow_anonymous": False}


def systree(a) -> dict:
    r = a.basic.get("/api/v1/systree")
    assert r.status == 200 and r.header("Content-Type").startswith("application/json"), r
    body = r.json()
    assert set(body) == SYSTREE_KEYS, set(body) ^ SYSTREE_KEYS
    for k, v in body.items():
        assert type(v) is int and v >= 0, (k, v)
    return body


def test_mosquitto_systree_keys_and_values(admin):
    a = admin()
    before = systree(a)
    c = a.connect("systree-1")
    c.subscribe([("st/#", 1)])
    c.publish("st/r", b"retained!", qos=1, retain=True)
    c.recv_publish()
    offline = a.connect("systree-off", clean=False, props={"session_expiry_interval": 300})
    offline.disconnect()
    after = wait_until(lambda: (lambda s: s if s["$SYS/broker/clients/connected"] == 1
                                and s["$SYS/broker/clients/disconnected"] == 1 else None)(systree(a)),
                       what="systree clients")
    assert after["$SYS/broker/clients/total"] == 2
    assert after["$SYS/broker/clients/maximum"] >= 2
    assert after["$SYS/broker/subscriptions/count"] >= 1
    assert after["$SYS/broker/retained messages/count"] == before["$SYS/broker/retained messages/count"] + 1
    assert after["$SYS/broker/publish/messages/received"] >= before["$SYS/broker/publish/messages/received"] + 1
    assert after["$SYS/broker/publish/messages/sent"] >= before["$SYS/broker/publish/messages/sent"] + 1
    assert after["$SYS/broker/bytes/received"] > before["$SYS/broker/bytes/received"]
    assert after["$SYS/broker/connections/socket/count"] >= 1


# --------------------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------------------
def metrics(a) -> dict:
    from prometheus_client.parser import text_string_to_metric_families
    r = a.api.get("/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain"), r.headers
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        out[("family", family.name)] = family.type
    return out


def test_metrics_parse_and_move(admin):
    a = admin()
    m0 = metrics(a)
    for name in ("petrel_clients_connected", "petrel_uptime_seconds", "petrel_sessions", "petrel_subscriptions",
                 "petrel_retained_messages", "petrel_queued_messages", "petrel_inflight_messages",
                 "petrel_process_resident_memory_bytes"):
        assert (name, ()) in m0, name
    assert m0[("family", "petrel_messages_received")] == "counter"
    assert m0[("family", "petrel_clients_connected")] == "gauge"
    assert any(k[0] == "petrel_info" for k in m0)
    assert ("petrel_listener_connections", (("address", "127.0.0.1"), ("port", str(a.mqtt_port)),
                                            ("protocol", "mqtt"))) in m0
    assert m0[("petrel_clients_connected", ())] == 0

    c = a.connect("metrics-1")
    c.subscribe([("m/#", 1)])
    for i in range(3):
        c.publish("m/t", b"x%d" % i, qos=1)
    c.recv_publishes(3)
    m1 = wait_until(lambda: (lambda m: m if m[("petrel_clients_connected", ())] == 1 else None)(metrics(a)),
                    what="petrel_clients_connected 1")
    assert m1[("petrel_messages_received_total", ())] >= m0[("petrel_messages_received_total", ())] + 3
    assert m1[("petrel_messages_sent_total", ())] >= m0[("petrel_messages_sent_total", ())] + 3
    assert m1[("petrel_connects_total", ())] >= m0[("petrel_connects_total", ())] + 1
    assert m1[("petrel_subscriptions", ())] >= 1
    c.disconnect()
    wait_until(lambda: metrics(a)[("petrel_clients_connected", ())] == 0, what="petrel_clients_connected 0")


def test_metrics_bridge_series(admin):
    a = admin(lines=["connection mb", f"address 127.0.0.1:{free_port()}", "topic mb/# out 1", "restart_timeout 1"])
    m = metrics(a)
    assert m[("petrel_bridge_up", (("bridge", "mb"),))] == 0
    assert (("petrel_bridge_messages_total", (("bridge", "mb"), ("direction", "out")))) in m


# --------------------------------------------------------------------------------------
# Status, history, the live stream
# --------------------------------------------------------------------------------------
def test_status_shape(admin):
    a = admin()
    s = a.status()
    assert {"service", "listeners", "admin_listeners", "clients", "subscriptions", "retained", "memory",
            "messages", "bytes", "bridges", "at"} <= set(s)
    assert s["service"]["state"] == "running"
    assert s["service"]["config_file"] == str(a.conf_path)
    assert s["service"]["pid"] == a.b.pid
    assert [l["port"] for l in s["listeners"]] == [a.mqtt_port]
    assert s["listeners"][0]["protocol"] == "mqtt" and s["listeners"][0]["tls"] == "none"
    assert [l["port"] for l in s["admin_listeners"]] == [a.http_port]
    assert s["memory"]["rss_bytes"] > 0
    h = a.api.get(f"{V1}/status/history?seconds=5").json()
    assert isinstance(h["samples"], list)
    assert a.api.get(f"{V1}/status/history?seconds=abc").status == 400


def test_status_stream_ticks_and_counts(admin):
    a = admin()
    c = a.connect("stream-pub")
    with a.api.stream(f"{V1}/status/stream") as st:
        assert st.status == 200 and st.header("Content-Type").startswith("text/event-stream")
        first = st.wait(lambda e: e.event == "status", what="the first status event")
        base = first.json()["messages"]["received"]
        # Events keep coming about once a second.
        times = [first.at]
        for _ in range(3):
            times.append(st.wait(lambda e: e.event == "status", timeout=3, what="a status event").at)
        gaps = [b - a_ for a_, b in zip(times, times[1:])]
        assert max(gaps) < 2.5, gaps
        # A short burst moves the counters.
        for i in range(50):
            c.publish("burst/t", b"%d" % i, qos=1)
        ev = st.wait(lambda e: e.event == "status" and e.json()["messages"]["received"] >= base + 50,
                     timeout=10, what="the burst in the status stream")
        assert ev.json()["clients"]["connected"] >= 1


# --------------------------------------------------------------------------------------
# The log
# --------------------------------------------------------------------------------------
def test_log_filter_and_live_tail(admin):
    a = admin()
    lines = a.api.ok("GET", f"{V1}/log")["lines"]
    assert lines and all(set(l) == {"seq", "time", "level", "text"} for l in lines)
    assert any("starting" in l["text"] for l in lines)
    seqs = [l["seq"] for l in lines]
    assert seqs == sorted(seqs)
    # A warning to filter for: a bridge that cannot reach its remote is not one, an unknown
    # client refused is not one either; a failed apply is (logged as an error, and a warning).
    held = holding_port()
    try:
        r = a.api.put(f"{V1}/broker", {"port": held[1]})
        assert r.status == 409
    finally:
        held[0].close()
    errors = a.api.ok("GET", f"{V1}/log?level=error")["lines"]
    assert errors and all(l["level"] == "error" for l in errors), errors
    warnings = a.api.ok("GET", f"{V1}/log?level=warning")["lines"]
    assert {l["level"] for l in warnings} <= {"error", "warning"}
    assert any(l["level"] == "warning" for l in warnings)
    assert a.api.get(f"{V1}/log?level=loud").status == 400
    last = a.api.ok("GET", f"{V1}/log")["last"]
    assert a.api.ok("GET", f"{V1}/log?after={last}")["lines"] == []

    with a.api.stream(f"{V1}/log/stream") as st:
        assert st.status == 200
        c = a.connect("log-tail-client")
        ev = st.wait(lambda e: e.event == "log" and "log-tail-client" in e.json()["text"], timeout=10,
                     what="the connect line in the live log")
        assert ev.json()["level"] in ("notice", "information")
        c.close()


def test_changes_are_audited_without_secrets(admin):
    a = admin()
    secret = "audit-Secret-pw-123"
    r = a.api.put(f"{V1}/broker", {"restrict": "password", "username": "auditor", "password": secret})
    assert r.status == 200, r
    a.api.ok("POST", f"{V1}/publish", {"topic": "audit/t", "payload": "p"})
    lines = [l["text"] for l in a.api.ok("GET", f"{V1}/log")["lines"]]
    audit = [l for l in lines if l.startswith("admin: 'admin' from 127.0.0.1")]
    assert any("changed broker settings" in l and "allow_anonymous" in l for l in audit), audit
    assert any("published on 'audit/t'" in l for l in audit), audit
    assert all(secret not in l for l in lines)
    assert secret not in a.log()


def test_audit_lines_survive_a_quiet_log_level(admin):
    """The audit trail does not depend on log_level: after the level is set to error (or
    warning) through the API, the next changes are still audited."""
    a = admin()
    assert a.api.put(f"{V1}/broker", {"log_level": "error"}).status == 200
    start = len(a.log())
    assert a.api.put(f"{V1}/broker", {"restrict": "password", "username": "quiet", "password": "Quiet-pw-9"}).status == 200
    assert a.api.post(f"{V1}/publish", {"topic": "quiet/t", "payload": "x"}).status == 200
    texts = [l["text"] for l in a.api.ok("GET", f"{V1}/log")["lines"]]
    assert any(t.startswith("admin: 'admin' from 127.0.0.1 changed broker settings") and "allow_anonymous" in t
               for t in texts), texts[-10:]
    assert any(t.startswith("admin: 'admin' from 127.0.0.1 published on 'quiet/t'") for t in texts), texts[-10:]
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 published on 'quiet/t'", start=start)
    # The level itself still holds for everything else.
    c = a.b.client()
    c.connect("quiet-client", username="quiet", password=b"Quiet-pw-9")
    c.close()
    assert not any("quiet-client" in l["text"] for l in a.api.ok("GET", f"{V1}/log")["lines"])
    assert "Quiet-pw-9" not in a.log()
