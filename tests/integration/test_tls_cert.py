"""Certificate TLS listeners: mosquitto_pub/mosquitto_sub and paho over TLS, client
certificates (required, refused for no certificate, another CA, expired, revoked), TLS
versions, the certificate CN as username, bad input on TLS and plain ports, and startup
errors for broken key files. The PKI is made with the openssl command line
(test_tls_support.py)."""
from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest

import rawmqtt as mq
from test_tls_support import (client_context, closed_by_peer, connect_packet, pki, recv_exact, tbroker,  # noqa: F401
                              run_cli, tls_listener, tls_socket, wait_for_log)

MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = "/usr/bin/mosquitto_sub"


def cli_tls(pki, cert: str | None = "sensor-1") -> list[str]:
    args = ["--cafile", pki.path("ca.crt")]
    if cert:
        args += ["--cert", pki.path(f"{cert}.crt"), "--key", pki.path(f"{cert}.key")]
    return args


def start_sub(host: str, port: int, topic: str, extra: list[str]) -> subprocess.Popen:
    """mosquitto_sub -C 1 as the product documents it (exits after one message)."""
    p = subprocess.Popen(["stdbuf", "-oL", MOSQUITTO_SUB, "-C", "1", "-W", "10", "--host", host, "--port", str(port), *extra,
                          "-t", topic, "-v", "-d"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p


def wait_subscribed(p: subprocess.Popen, timeout: float = 5.0) -> str:
    """Reads mosquitto_sub -d output until its SUBACK (so a publish after it is seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    assert p.stdout is not None
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "received SUBACK" in line:
            return "".join(seen)
    raise AssertionError("mosquitto_sub did not subscribe:\n" + "".join(seen))


def tls_handshake_fails(host: str, port: int, ctx: ssl.SSLContext) -> bool:
    """True when the server refuses the TLS handshake or closes right after it (TLS 1.3
    reports a refused client certificate only on the first read)."""
    try:
        s = tls_socket(host, port, ctx)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    try:
        s.sendall(connect_packet("refused-client"))
        return closed_by_peer(s, 5.0)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    finally:
        s.close()


# --- real clients ------------------------------------------------------------------------

def test_mosquitto_sub_and_pub_with_client_certificates(tbroker, pki):
    """The router product's documented subscribe command, against a listener that
    requires client certificates signed by the CA."""
    b = tbroker(listener_extra=tls_listener(pki, require_certificate=True))
    sub = start_sub("localhost", b.port, "factory/sensor/#", cli_tls(pki))
    try:
        wait_subscribed(sub)
        r = run_cli([MOSQUITTO_PUB, "--host", "localhost", "--port", str(b.port), *cli_tls(pki),
                     "-t", "factory/sensor/line1", "-m", "21.5"])
        assert r.returncode == 0, r.stdout + r.stderr
        out, _ = sub.communicate(timeout=10)
    finally:
        sub.kill()
    assert "factory/sensor/line1 21.5" in out
    assert sub.returncode == 0


def test_mosquitto_pub_over_ipv6_with_hostname_check(tbroker, pki):
    # The server certificate's SAN holds ::1: mosquitto_pub verifies the host name.
    b = tbroker(hosts=["::1"], listener_extra=tls_listener(pki))
    r = run_cli([MOSQUITTO_PUB, "--host", "::1", "--port", str(b.port), "--cafile", pki.path("ca.crt"),
                 "-t", "a/b", "-m", "x"])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("version", [paho.MQTTv311, paho.MQTTv5], ids=["v311", "v5"])
def test_paho_over_tls(tbroker, pki, version):
    b = tbroker(listener_extra=tls_listener(pki, require_certificate=True))
    got = []
    done = threading.Event()

    def on_message(client, userdata, msg):
        got.append((msg.topic, msg.payload))
        done.set()

    clients = []
    for cid in ("paho-sub", "paho-pub"):
        c = paho.Client(client_id=cid, protocol=version)
        c.tls_set(ca_certs=pki.path("ca.crt"), certfile=pki.path("sensor-1.crt"), keyfile=pki.path("sensor-1.key"))
        clients.append(c)
    sub, pub = clients
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a, **k: subscribed.set()
    sub.connect("127.0.0.1", b.port)
    sub.loop_start()
    try:
        sub.subscribe("tls/#", qos=1)
        assert subscribed.wait(5)
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        big = bytes(range(256)) * 1024  # 256 KiB: many TLS records
        pub.publish("tls/big", big, qos=1).wait_for_publish(5)
        assert done.wait(5)
        assert got == [("tls/big", big)]
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()


# --- client certificate refusals --------------------------------------------------------

@pytest.mark.parametrize("cert", [None, "other-client", "expired"], ids=["no-cert", "other-ca", "expired"])
def test_require_certificate_refuses(tbroker, pki, cert):
    b = tbroker(listener_extra=tls_listener(pki, require_certificate=True))
    r = run_cli([MOSQUITTO_PUB, "--host", "127.0.0.1", "--port", str(b.port), *cli_tls(pki, cert),
                 "-t", "a", "-m", "refused"])
    assert r.returncode != 0, r.stdout + r.stderr
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, cert))
    # ...and the broker keeps serving good clients.
    r = run_cli([MOSQUITTO_PUB, "--host", "127.0.0.1", "--port", str(b.port), *cli_tls(pki), "-t", "a", "-m", "ok"])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.petrel_only("log text")
def test_refused_certificate_is_logged_with_the_reason(tbroker, pki):
    b = tbroker(listener_extra=tls_listener(pki, require_certificate=True))
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, "expired"))
    assert wait_for_log(b, "certificate has expired"), b.log()
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, None))
    assert wait_for_log(b, "peer did not return a certificate"), b.log()


@pytest.mark.petrel_only("disable_client_cert_date_checks is a Mosquitto 2.1 option (Debian 12 has 2.0.11)")
def test_disable_client_cert_date_checks_accepts_an_expired_certificate(tbroker, pki):
    # For devices without a clock: the dates are not checked, everything else still is.
    b = tbroker(listener_extra=tls_listener(pki, "disable_client_cert_date_checks true", require_certificate=True))
    s = tls_socket("127.0.0.1", b.port, client_context(pki, "expired"))
    s.sendall(connect_packet("old-device"))
    assert recv_exact(s, 4) == b"\x20\x02\x00\x00"
    s.close()
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, "other-client"))
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, None))


def test_crlfile_refuses_revoked_certificates(tbroker, pki):
    b = tbroker(listener_extra=tls_listener(pki, f"crlfile {pki.path('crl.pem')}", require_certificate=True))
    assert tls_handshake_fails("127.0.0.1", b.port, client_context(pki, "revoked"))
    s = tls_socket("127.0.0.1", b.port, client_context(pki, "sensor-1"))
    s.sendall(connect_packet("good"))
    assert recv_exact(s, 4) == b"\x20\x02\x00\x00"
    s.close()


# --- TLS versions -------------------------------------------------------------------------

@pytest.mark.parametrize("tls_version", [None, "tlsv1.2", "tlsv1.3"])
def test_tls_version_is_the_minimum(tbroker, pki, tls_version):
    extra = [f"tls_version {tls_version}"] if tls_version else []
    b = tbroker(listener_extra=tls_listener(pki, *extra))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_context(pki, min_version=version, max_version=version)
        expect_ok = not (tls_version == "tlsv1.3" and version == ssl.TLSVersion.TLSv1_2)
        if not expect_ok:
            assert tls_handshake_fails("127.0.0.1", b.port, ctx)
            continue
        s = tls_socket("127.0.0.1", b.port, ctx)
        assert s.version() == ("TLSv1.2" if version == ssl.TLSVersion.TLSv1_2 else "TLSv1.3")
        s.sendall(connect_packet(f"v-{version.name}"))
        assert recv_exact(s, 4) == b"\x20\x02\x00\x00"
        s.close()


def test_tls11_client_is_refused(tbroker, pki):
    b = tbroker(listener_extra=tls_listener(pki))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this Python/OpenSSL cannot even offer TLS 1.1")
    assert tls_handshake_fails("127.0.0.1", b.port, ctx)


# --- the certificate CN as username --------------------------------------------------------

def test_certificate_cn_as_username_with_acl(tbroker, pki, tmp_path):
    """The product's "restrict for certificate CN": only the client whose CN is the
    configured user may publish and subscribe (here through an ACL for that user)."""
    acl = tmp_path / "acl"
    acl.write_text("user sensor-1\ntopic readwrite factory/#\n")
    b = tbroker([f"acl_file {acl}"],
               listener_extra=tls_listener(pki, "use_identity_as_username true", require_certificate=True))
    good_sub = tls_socket("127.0.0.1", b.port, client_context(pki, "sensor-1"))
    good_sub.sendall(connect_packet("good-sub"))
    assert recv_exact(good_sub, 4) == b"\x20\x02\x00\x00"
    good_sub.sendall(bytes([0x82, 14, 0, 1, 0, 9]) + b"factory/#" + b"\x00")  # SUBSCRIBE id 1, QoS 0
    assert recv_exact(good_sub, 5) == b"\x90\x03\x00\x01\x00"
    # The intruder's certificate is valid but its CN has no rights: nothing reaches the topic.
    bad = tls_socket("127.0.0.1", b.port, client_context(pki, "intruder"))
    bad.sendall(connect_packet("intruder"))
    assert recv_exact(bad, 4) == b"\x20\x02\x00\x00"
    bad.sendall(bytes([0x30, 15, 0, 10]) + b"factory/x1" + b"bad")
    bad.sendall(b"\xc0\x00")  # PINGREQ: the PUBLISH before it has been handled
    assert recv_exact(bad, 2) == b"\xd0\x00"
    good = tls_socket("127.0.0.1", b.port, client_context(pki, "sensor-1"))
    good.sendall(connect_packet("good-pub"))
    assert recv_exact(good, 4) == b"\x20\x02\x00\x00"
    good.sendall(bytes([0x30, 16, 0, 10]) + b"factory/x1" + b"good")
    assert recv_exact(good_sub, 18) == bytes([0x30, 16, 0, 10]) + b"factory/x1" + b"good"
    for s in (good_sub, bad, good):
        s.close()


# --- bad input closes only that connection ----------------------------------------------

def test_plain_mqtt_to_a_tls_port_is_closed(tbroker, pki):
    b = tbroker(listener_extra=tls_listener(pki))
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.sendall(connect_packet("plain"))
    assert closed_by_peer(s, 5.0)
    s.close()
    t = tls_socket("127.0.0.1", b.port, client_context(pki))
    t.sendall(connect_packet("after"))
    assert recv_exact(t, 4) == b"\x20\x02\x00\x00"
    t.close()


def test_tls_to_a_plain_port_is_closed(tbroker, pki):
    b = tbroker(hosts=["127.0.0.1", "127.0.0.1"], listener_extra={0: tls_listener(pki)})
    plain_port = b.listeners[1][1]
    assert tls_handshake_fails("127.0.0.1", plain_port, client_context(pki))
    c = b.connect("plain-after", version=mq.V311, index=1)
    c.disconnect()


@pytest.mark.slow
@pytest.mark.petrel_only("Petrel closes a connection without CONNECT after 10 s; Mosquitto waits much longer")
@pytest.mark.parametrize("partial", [b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"], ids=["silent", "half-hello"])
def test_stalled_handshake_is_closed(tbroker, pki, partial):
    b = tbroker(listener_extra=tls_listener(pki))
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.sendall(partial)
    start = time.monotonic()
    assert closed_by_peer(s, 15.0)
    assert time.monotonic() - start < 14.0
    s.close()
    t = tls_socket("127.0.0.1", b.port, client_context(pki))
    t.sendall(connect_packet("after-stall"))
    assert recv_exact(t, 4) == b"\x20\x02\x00\x00"
    t.close()


# --- startup errors ------------------------------------------------------------------------

def start_fails(tbroker, lines: list[str]) -> tuple[int, str]:
    b = tbroker(listener_extra=lines, wait=False)
    try:
        code = b.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        b.stop()
        raise AssertionError("broker started with a broken TLS listener:\n" + b.log())
    b.expect_exit = True
    return code, b.log()


@pytest.mark.petrel_only("Mosquitto prompts for the passphrase on its terminal")
def test_password_protected_key_stops_startup(tbroker, pki):
    key = pki.path("server-encrypted.key")
    code, log = start_fails(tbroker, [f"certfile {pki.path('server.crt')}", f"keyfile {key}"])
    assert code != 0
    assert f"keyfile '{key}': is password-protected" in log, log


@pytest.mark.petrel_only("error text")
@pytest.mark.parametrize("case", ["mismatch", "missing", "not-pem"])
def test_broken_key_stops_startup(tbroker, pki, tmp_path, case):
    if case == "mismatch":
        key, expect = pki.path("other.key"), "does not match the certificate"
    elif case == "missing":
        key, expect = str(tmp_path / "nope.key"), "cannot read: No such file or directory"
    else:
        key = str(tmp_path / "text.key")
        (tmp_path / "text.key").write_text("not a key\n")
        expect = "is not a PEM private key"
    code, log = start_fails(tbroker, [f"certfile {pki.path('server.crt')}", f"keyfile {key}"])
    assert code != 0
    assert f"keyfile '{key}'" in log and expect in log, log
