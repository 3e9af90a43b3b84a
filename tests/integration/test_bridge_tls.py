"""Bridges to remotes that need credentials: TLS with bridge_cafile / bridge_capath (a
wrong CA or a certificate for another host name is refused, bridge_insecure skips the
name check), a client certificate (bridge_certfile / bridge_keyfile), bridge_tls_version,
TLS-PSK (bridge_identity / bridge_psk), and remote_username / remote_password against a
password_file (a wrong password is refused and logged).

The remotes are Debian's Mosquitto with the session's test PKI (test_tls_support.py)."""
from __future__ import annotations

import re
import subprocess
import time

import pytest

from bridge_support import (bridge, bridging, client, connects_as, log_count, remote,  # noqa: F401
                            wait_forwarding, wait_log)
from test_tls_support import openssl, pki, tls_listener  # noqa: F401

PSK_KEY = "3f1c9e6a2b7d4e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
OTHER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def attempts(r) -> int:
    """Connections the remote Mosquitto accepted on its bridge listener so far (or whose
    TLS handshake failed there)."""
    port = r.bridge_address[1]
    return log_count(r, rf"New connection from \S+ on port {port}\.|Client connection from \S+ failed")


def assert_never_connects(r, client_id: str, tries: int = 2, timeout: float = 15.0) -> None:
    """Wait for `tries` connection attempts on the remote, none of which became a client."""
    deadline = time.monotonic() + timeout
    while attempts(r) < tries:
        assert time.monotonic() < deadline, f"the bridge made fewer than {tries} attempts in {timeout}s"
        time.sleep(0.05)
    assert connects_as(r, client_id) == 0, r.log()[-3000:]


def forwards_both_ways(local, r, prefix: str = "t") -> None:
    wait_forwarding(local, f"{prefix}/probe-out", r, f"{prefix}/probe-out")
    wait_forwarding(r, f"{prefix}/probe-in", local, f"{prefix}/probe-in")


# --------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------
def test_tls_bridge_with_cafile(broker, remote, pki):
    r = remote(bridge_listener=tls_listener(pki))
    local = bridging(broker, bridge("tls", r, "t/# both 1", "remote_clientid petrel-tls",
                                    f"bridge_cafile {pki.path('ca.crt')}"))
    forwards_both_ways(local, r)
    assert connects_as(r, "petrel-tls") == 1


def test_tls_bridge_with_capath(broker, remote, pki, tmp_path):
    capath = tmp_path / "certs"
    capath.mkdir()
    (capath / "ca.pem").write_bytes(open(pki.path("ca.crt"), "rb").read())
    openssl("rehash", str(capath), cwd=tmp_path)
    r = remote(bridge_listener=tls_listener(pki))
    local = bridging(broker, bridge("tls", r, "t/# both 1", f"bridge_capath {capath}"))
    forwards_both_ways(local, r)


def test_tls_bridge_with_a_wrong_ca_does_not_connect(broker, remote, pki):
    r = remote(bridge_listener=tls_listener(pki))
    local = bridging(broker, bridge("tls", r, "t/# out 1", "remote_clientid petrel-tls",
                                    f"bridge_cafile {pki.path('other-ca.crt')}"))
    assert_never_connects(r, "petrel-tls")
    # The bridging broker says why.
    wait_log(local, r"certificate verif(y|ication) failed", timeout=5)
    assert local.alive()


@pytest.mark.parametrize("insecure", [False, True])
def test_tls_host_name_check_and_bridge_insecure(broker, remote, pki, insecure):
    """The server certificate names 127.0.0.1, ::1 and localhost; the remote listens on
    127.0.0.2."""
    r = remote(bridge_host="127.0.0.2", bridge_listener=tls_listener(pki))
    lines = bridge("tls", r, "t/# both 1", "remote_clientid petrel-tls", f"bridge_cafile {pki.path('ca.crt')}")
    if insecure:
        lines.append("bridge_insecure true")
    local = bridging(broker, lines)
    if insecure:
        forwards_both_ways(local, r)
    else:
        assert_never_connects(r, "petrel-tls")


def test_tls_bridge_with_a_client_certificate(broker, remote, pki):
    r = remote(bridge_listener=tls_listener(pki, "use_identity_as_username true", require_certificate=True))
    local = bridging(broker, bridge("tls", r, "t/# both 1", "remote_clientid petrel-tls",
                                    f"bridge_cafile {pki.path('ca.crt')}",
                                    f"bridge_certfile {pki.path('sensor-1.crt')}",
                                    f"bridge_keyfile {pki.path('sensor-1.key')}"))
    forwards_both_ways(local, r)
    # The remote took the certificate's CN as the user name.
    assert re.search(r"as petrel-tls \(p2, c0, k60, u'sensor-1'\)", r.log()), r.log()[-3000:]


def test_tls_bridge_without_the_required_client_certificate_is_refused(broker, remote, pki):
    r = remote(bridge_listener=tls_listener(pki, require_certificate=True))
    bridging(broker, bridge("tls", r, "t/# out 1", "remote_clientid petrel-tls",
                            f"bridge_cafile {pki.path('ca.crt')}"))
    assert_never_connects(r, "petrel-tls")


@pytest.mark.parametrize("version", ["tlsv1.2", "tlsv1.3"])
def test_bridge_tls_version(broker, remote, pki, version):
    r = remote(bridge_listener=tls_listener(pki, f"tls_version {version}"))
    local = bridging(broker, bridge("tls", r, "t/# both 1", f"bridge_cafile {pki.path('ca.crt')}",
                                    f"bridge_tls_version {version}"))
    forwards_both_ways(local, r)


# --------------------------------------------------------------------------------------
# TLS-PSK
# --------------------------------------------------------------------------------------
def psk_remote(remote, tmp_path, key: str = PSK_KEY):
    psk = tmp_path / "psk"
    psk.write_text(f"bridge:{key}\nother:{OTHER_KEY}\n")
    return remote([f"psk_file {psk}"], bridge_listener=["psk_hint petrel"])


def test_psk_bridge(broker, remote, tmp_path):
    r = psk_remote(remote, tmp_path)
    local = bridging(broker, bridge("psk", r, "t/# both 1", "remote_clientid petrel-psk",
                                    "bridge_identity bridge", f"bridge_psk {PSK_KEY}"))
    forwards_both_ways(local, r)
    assert connects_as(r, "petrel-psk") == 1


def test_psk_bridge_with_a_wrong_key_does_not_connect(broker, remote, tmp_path):
    r = psk_remote(remote, tmp_path)
    local = bridging(broker, bridge("psk", r, "t/# out 1", "remote_clientid petrel-psk",
                                    "bridge_identity bridge", f"bridge_psk {OTHER_KEY}"))
    assert_never_connects(r, "petrel-psk")
    assert local.alive()


# --------------------------------------------------------------------------------------
# User name and password
# --------------------------------------------------------------------------------------
def password_remote(remote, tmp_path):
    passwd = tmp_path / "passwd"
    r = subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "office1", "s3cret"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return remote([f"password_file {passwd}"], anonymous=False, bridge_listener=[])


def test_remote_username_and_password(broker, remote, tmp_path):
    r = password_remote(remote, tmp_path)
    local = bridging(broker, bridge("auth", r, "t/# both 1", "remote_clientid petrel-auth",
                                    "remote_username office1", "remote_password s3cret"))
    # The test's own clients need the password too.
    wait_forwarding_auth(local, r)
    assert re.search(r"as petrel-auth \(p2, c0, k60, u'office1'\)", r.log()), r.log()[-3000:]


def wait_forwarding_auth(local, r) -> None:
    """wait_forwarding for a remote without anonymous access: the probe subscriber logs
    in as office1."""
    s = r.connect("probe-sub", username="office1", password=b"s3cret")
    s.subscribe([("t/probe", 1)])
    p = client(local)
    deadline = time.monotonic() + 15
    try:
        while True:
            p.publish("t/probe", b"probe", qos=0)
            try:
                got = s.recv_publish(timeout=0.2)
                if got.topic == "t/probe":
                    return
            except TimeoutError:
                pass
            assert time.monotonic() < deadline, "the authenticated bridge never forwarded"
    finally:
        s.close()
        p.close()


@pytest.mark.parametrize("password", ["wrong", None], ids=["wrong-password", "no-credentials"])
def test_remote_refuses_bad_credentials_and_the_bridge_logs_it(broker, remote, tmp_path, password):
    r = password_remote(remote, tmp_path)
    lines = bridge("auth", r, "t/# out 1", "remote_clientid petrel-auth")
    if password:
        lines += ["remote_username office1", f"remote_password {password}"]
    local = bridging(broker, lines)
    # The remote refuses the CONNECT (Mosquitto logs the client as <unknown> then).
    wait_log(r, r"disconnected, not authori[sz]ed", timeout=10)
    # The bridging broker logs the refusal, and keeps retrying (restart_timeout 1).
    wait_log(local, r"not authori[sz]ed|bad user ?name or password", timeout=5)
    wait_log(r, r"(?s)disconnected, not authori[sz]ed.*disconnected, not authori[sz]ed", timeout=10)
    assert connects_as(r, "petrel-auth") == 0
    assert local.alive()
