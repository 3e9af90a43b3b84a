"""Admin API: the router product's Bridge pages (POST/PUT/DELETE
/api/petrel/v1/bridges, enable/disable, the topic rule preview) against a real Mosquitto
on a random port, checked with mosquitto_sub / mosquitto_pub. Support: admin_support.py,
bridge_support.py (the `remote` fixture)."""
from __future__ import annotations

import queue
import subprocess
import threading

import pytest

from admin_support import admin, run, wait_until  # noqa: F401
from bridge_support import remote, wait_log  # noqa: F401
from conftest import free_port

pytestmark = pytest.mark.petrel_only("the admin API is Petrel's")

V1 = "/api/petrel/v1"

EXAMPLE_RULE = {"topic": "sensor/#", "direction": "out", "qos": 1, "local_prefix": "local/",
                "remote_prefix": "remote/office1/"}


class Sub:
    """mosquitto_sub -v in the background; lines() with a deadline."""

    def __init__(self, port: int, topic: str, client_id: str):
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-v",
                                      "-q", "1", "-i", client_id], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self.q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))

    def line(self, timeout: float = 10.0) -> str:
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"mosquitto_sub printed nothing in {timeout}s") from None

    def nothing(self, timeout: float = 1.5) -> None:
        try:
            got = self.q.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError(f"mosquitto_sub printed {got!r}, expected nothing")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def pub(port: int, topic: str, message: str) -> None:
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", message, "-q", "1"])
    assert r.returncode == 0, r


def bridge_status(a, name: str, status: dict | None = None) -> dict | None:
    """The bridge's entry in `status` (default: a fresh GET /api/petrel/v1/status)."""
    for b in (status or a.status())["bridges"]:
        if b["name"] == name:
            return b
    return None


def wait_local_subscription(a, name: str, filter_: str) -> None:
    """The bridge's local client (internal, "local.<name>") has subscribed to filter_: from
    then on nothing published locally is missed. The status says connected once the remote
    answered, which can come first."""
    def subscribed():
        r = a.api.get(f"{V1}/clients/local.{name}")
        return r.status == 200 and r.json()["connected"] and \
            any(s["filter"] == filter_ for s in r.json()["subscriptions"])
    wait_until(subscribed, 15, what=f"bridge {name}'s local subscription to {filter_}")


def test_bridge_example_through_the_api(admin, remote):
    r = remote()
    a = admin()
    sub = Sub(r.port, "remote/office1/#", "office-sub")
    try:
        wait_log(r, r"Received SUBSCRIBE from office-sub")
        local = a.connect("local-sub")
        local.subscribe([("local/sensor/#", 1)])
        resp = a.api.post(f"{V1}/bridges", {"name": "office1", "primary": {"host": "127.0.0.1", "port": r.port},
                                            "protocol_version": "3.1.1", "topics": [EXAMPLE_RULE]})
        assert resp.status == 200, resp
        assert "bridge office1 started" in resp.json()["applied"], resp.json()
        st = a.wait_status(lambda s: (bridge_status(a, "office1", s) or {}).get("state") == "connected",
                           what="bridge office1 connected")
        b = [x for x in st["bridges"] if x["name"] == "office1"][0]
        assert b["connected"] is True and b["active"] == "primary" and b["enabled"] is True
        assert str(r.port) in b["address"]
        wait_local_subscription(a, "office1", "local/sensor/#")

        pub(a.mqtt_port, "local/sensor/temperature", "21.5")
        assert sub.line() == "remote/office1/sensor/temperature 21.5"
        p = local.recv_publish()
        assert (p.topic, p.payload) == ("local/sensor/temperature", b"21.5")
        # QoS 1 on the remote: the bridge published at QoS 1 (mosquitto -v logs q1).
        wait_log(r, r"Received PUBLISH from office1 \(d0, q1, r0, m\d+, 'remote/office1/sensor/temperature'")
        # Not matching the rule: not forwarded.
        pub(a.mqtt_port, "local/other/x", "no")
        pub(a.mqtt_port, "sensor/temperature", "no")

        got = a.api.ok("GET", f"{V1}/bridges/office1")
        assert got["primary"] == {"host": "127.0.0.1", "port": r.port} and got["secondary"] is None
        assert got["topics"] == [EXAMPLE_RULE]
        assert (got["protocol_version"], got["tls_mode"], got["client_id"]) == ("3.1.1", "none", "office1")
        assert got["status"]["state"] == "connected"
        listing = a.api.ok("GET", f"{V1}/bridges")["bridges"]
        assert [x["name"] for x in listing] == ["office1"]

        # Disable: the status says so and the remote sees the bridge go.
        resp = a.api.post(f"{V1}/bridges/office1/disable")
        assert resp.status == 200, resp
        a.wait_status(lambda s: (bridge_status(a, "office1", s) or {}).get("state") == "disabled",
                      what="bridge office1 disabled")
        assert a.api.ok("GET", f"{V1}/bridges/office1")["enabled"] is False
        wait_log(r, r"Client office1 (disconnected|closed its connection)")
        sub.nothing(0.2)  # nothing but what was checked above
        # Enable: connected again, forwarding again.
        assert a.api.post(f"{V1}/bridges/office1/enable").status == 200
        a.wait_status(lambda s: (bridge_status(a, "office1", s) or {}).get("state") == "connected",
                      what="bridge office1 connected again")
        wait_local_subscription(a, "office1", "local/sensor/#")
        pub(a.mqtt_port, "local/sensor/humidity", "40")
        assert sub.line() == "remote/office1/sensor/humidity 40"
        assert local.recv_publish().payload == b"40"

        # Delete: gone from the API, the status, the file; the remote no longer receives.
        remote_log = len(r.log())
        resp = a.api.delete(f"{V1}/bridges/office1")
        assert resp.status == 200, resp
        assert "bridge office1 stopped and removed" in resp.json()["applied"]
        assert a.api.get(f"{V1}/bridges/office1").status == 404
        # The bridge stops right after the answer (on the bridges' own thread).
        a.wait_status(lambda s: bridge_status(a, "office1", s) is None, what="office1 gone from the status")
        wait_log(r, r"Client office1 (disconnected|closed its connection)", start=remote_log)
        assert "connection office1" not in a.conf_path.read_text()
        pub(a.mqtt_port, "local/sensor/temperature", "22")
        assert local.recv_publish().payload == b"22"  # local delivery goes on
        sub.nothing(1.5)
        assert a.api.delete(f"{V1}/bridges/office1").status == 404
    finally:
        sub.stop()


def test_bridge_preview(admin):
    a = admin()

    def preview(body):
        r = a.api.post(f"{V1}/bridge-preview", body)
        assert r.status == 200, (body, r)
        return r.json()

    p = preview({"rule": EXAMPLE_RULE, "topic": "local/sensor/temperature", "direction": "out"})
    assert p["matches"] is True and p["mapped"] == "remote/office1/sensor/temperature" and p["qos"] == 1
    assert "remote/office1/sensor/temperature" in p["example"]
    p = preview({"rule": EXAMPLE_RULE, "topic": "local/other/temperature"})
    assert p["matches"] is False and p["reason"]
    p = preview({"rule": EXAMPLE_RULE, "topic": "remote/office1/sensor/temperature", "direction": "in"})
    assert p["matches"] is False  # an out rule carries nothing in
    both = dict(EXAMPLE_RULE, direction="both")
    p = preview({"topics": [both], "topic": "remote/office1/sensor/t", "direction": "in"})
    assert p["matches"] is True and p["mapped"] == "local/sensor/t"
    # Whole-topic mapping (empty topic: the prefixes are topics, no slash).
    p = preview({"rule": {"topic": "", "direction": "out", "local_prefix": "a/b", "remote_prefix": "c/d"},
                 "topic": "a/b"})
    assert p["matches"] is True and p["mapped"] == "c/d"
    r = a.api.post(f"{V1}/bridge-preview", {"rule": dict(EXAMPLE_RULE, local_prefix="local"), "topic": "x"})
    assert r.status == 400 and "rule.local_prefix" in r.field_errors(), r
    r = a.api.post(f"{V1}/bridge-preview", {"rule": EXAMPLE_RULE})
    assert r.status == 400 and "topic" in r.field_errors(), r


def test_bridge_update_and_duplicate_name(admin):
    a = admin()
    port = free_port()
    body = {"name": "upd", "primary": {"host": "127.0.0.1", "port": port}, "topics": [{"topic": "u/#"}]}
    assert a.api.post(f"{V1}/bridges", body).status == 200
    r = a.api.post(f"{V1}/bridges", body)
    assert r.status == 400 and "name" in r.field_errors(), r
    second = free_port()
    r = a.api.put(f"{V1}/bridges/upd", {"secondary": {"host": "127.0.0.1", "port": second}, "protocol_version": "5.0",
                                        "topics": [{"topic": "v/#", "direction": "both", "qos": 2}]})
    assert r.status == 200, r
    assert "bridge upd restarted" in r.json()["applied"], r.json()
    got = a.api.ok("GET", f"{V1}/bridges/upd")
    assert got["secondary"] == {"host": "127.0.0.1", "port": second}
    assert got["protocol_version"] == "5.0"
    assert got["topics"] == [{"topic": "v/#", "direction": "both", "qos": 2, "local_prefix": "", "remote_prefix": ""}]
    assert got["primary"] == {"host": "127.0.0.1", "port": port}  # kept
    assert a.api.put(f"{V1}/bridges/nope", {"keepalive": 10}).status == 404
    assert a.api.post(f"{V1}/bridges/nope/enable").status == 404


def test_bridge_credentials_and_psk_through_the_api(admin, remote, tmp_path):
    """The write-only bridge secrets reach the remote: username/password against a
    Mosquitto with a password_file, and TLS-PSK against a Mosquitto PSK listener."""
    passwd = tmp_path / "remote.passwd"
    r = run(["mosquitto_passwd", "-b", "-c", str(passwd), "office1", "s3cret-Remote"])
    assert r.returncode == 0, r
    auth_remote = remote([f"password_file {passwd}"], anonymous=False, bridge_listener=[])
    key = "a1b2" * 16
    psk = tmp_path / "remote.psk"
    psk.write_text(f"bridge:{key}\n")
    psk_remote = remote([f"psk_file {psk}"], bridge_listener=["psk_hint petrel"])
    a = admin()
    host, port = auth_remote.bridge_address
    resp = a.api.post(f"{V1}/bridges", {"name": "authb", "primary": {"host": host, "port": port},
                                        "username": "office1", "password": "s3cret-Remote",
                                        "topics": [{"topic": "ab/#", "direction": "out", "qos": 1}]})
    assert resp.status == 200, resp
    host, port = psk_remote.bridge_address
    resp = a.api.post(f"{V1}/bridges", {"name": "pskb", "primary": {"host": host, "port": port}, "tls_mode": "psk",
                                        "psk_identity": "bridge", "psk_key": key,
                                        "topics": [{"topic": "pb/#", "direction": "out", "qos": 1}]})
    assert resp.status == 200, resp
    a.wait_status(lambda s: all((bridge_status(a, n, s) or {}).get("state") == "connected" for n in ("authb", "pskb")),
                  what="both bridges connected")
    wait_log(auth_remote, r"as authb \(p2, c0, k60, u'office1'\)")
    got = a.api.ok("GET", f"{V1}/bridges/pskb")
    assert (got["tls_mode"], got["psk_identity"], got["psk_key_set"]) == ("psk", "bridge", True)
    # A wrong password: the bridge restarts and the remote refuses it; the status says so.
    assert a.api.put(f"{V1}/bridges/authb", {"password": "wrong"}).status == 200
    s = a.wait_status(lambda s: (bridge_status(a, "authb", s) or {}).get("connected") is False
                      and (bridge_status(a, "authb", s) or {}).get("last_error"), what="authb refused")
    assert bridge_status(a, "authb", s)["last_error"]
    assert a.api.put(f"{V1}/bridges/authb", {"password": "s3cret-Remote"}).status == 200
    a.wait_status(lambda s: (bridge_status(a, "authb", s) or {}).get("state") == "connected",
                  what="authb connected again")
