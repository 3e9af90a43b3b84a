"""petrel_pub / petrel_sub over TLS (certificates), TLS-PSK and WebSockets against PETREL's
own listeners (test_cli_tls.py runs the same kinds of checks against Debian's mosquitto).

Listener options use mosquitto.conf syntax (certfile/keyfile/cafile/require_certificate,
psk_hint/psk_file, protocol websockets). The PKI is test_tls_support's session PKI, made
with the openssl command line (server.crt: CN=localhost, SAN 127.0.0.1, ::1, localhost;
client certificate sensor-1 signed by the same CA; other-ca.crt an unrelated CA).

Includes the router product's two documented command lines, run literally (but for the
port and file paths) with petrel_pub / petrel_sub:

  petrel_pub --host ::1 --port P --psk <64 hex> --psk-identity test -u house -P 12345 \
             -t SENSOR/ROOM8/TEMPERATURE -m 54
  petrel_sub -C 1 --host localhost --port P --cafile ca.crt --cert client.crt \
             --key client.key -t factory/sensor/#
"""
from __future__ import annotations

import subprocess

import pytest

from test_cli_support import REPO, petrel_tool, reap_procs, run, start_sub, strip_debug, unique  # noqa: F401
from test_tls_support import pki, tbroker, tls_listener  # noqa: F401

# `openssl rand -hex 32`, as the product tells its users.
PSK_HEX = "3f1c9e6a2b7d4e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
PETREL_PASSWD = REPO / "build" / "release" / "tools" / "petrel_passwd" / "petrel_passwd"


@pytest.fixture(autouse=True)
def _petrel_only(broker_kind):
    if broker_kind != "petrel":
        pytest.skip("these tests target Petrel's listeners (test_cli_tls.py covers mosquitto)")


def ca(pki) -> list[str]:
    return ["--cafile", pki.path("ca.crt")]


def client_cert(pki, name: str = "sensor-1") -> list[str]:
    return ca(pki) + ["--cert", pki.path(f"{name}.crt"), "--key", pki.path(f"{name}.key")]


def cert_broker(tbroker, pki, require_certificate: bool, hosts=("127.0.0.1",), extra_lines=()):
    lines = tls_listener(pki, require_certificate=require_certificate)
    return tbroker([], hosts=list(hosts), listener_extra=lines + list(extra_lines))


def pub_sub_roundtrip(conn: list[str], payload: str = "secure", qos: str = "1") -> None:
    """petrel_sub (ready once SUBACKed) then petrel_pub with the same connection options."""
    topic = unique()
    p = start_sub([petrel_tool("sub")] + conn + ["-t", topic, "-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub")] + conn + ["-t", topic, "-m", payload, "-q", qos])
    assert rc == 0, err
    assert p.wait() == 0, bytes(p.err)
    assert strip_debug(p.out) == f"{topic} {payload}\n".encode(), (bytes(p.out), bytes(p.err))


# ---- certificate TLS ----------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
@pytest.mark.parametrize("version", [[], ["--tls-version", "tlsv1.2"], ["--tls-version", "tlsv1.3"]],
                         ids=["default", "tls12", "tls13"])
def test_tls_cafile_pub_sub(tbroker, pki, host, version):
    """Server-authenticated TLS: only --cafile on the client side."""
    listen = "::1" if host == "::1" else "127.0.0.1"
    b = cert_broker(tbroker, pki, require_certificate=False, hosts=[listen])
    # (localhost may resolve to ::1 first; the tools must then fall back to 127.0.0.1.)
    pub_sub_roundtrip(["-h", host, "-p", str(b.port)] + ca(pki) + version)


@pytest.mark.parametrize("version", [[], ["--tls-version", "tlsv1.2"], ["--tls-version", "tlsv1.3"]],
                         ids=["default", "tls12", "tls13"])
def test_tls_require_certificate_with_client_cert(tbroker, pki, version):
    b = cert_broker(tbroker, pki, require_certificate=True)
    pub_sub_roundtrip(["-h", "localhost", "-p", str(b.port)] + client_cert(pki) + version, qos="2")


# The server's reason (its TLS alert) is what the user is told, every time: with TLS 1.3
# the client's CONNECT may be written after the alert and the reset arrived (the write
# fails with EPIPE), and the tools then still read and report the alert
# (tests/unit/client/tls_alert_test.cpp forces that order).
def test_tls_require_certificate_without_client_cert_fails(tbroker, pki):
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(b.port)] + ca(pki) +
                     ["-t", "a", "-m", "x", "-q", "1"])
    assert rc != 0, err
    assert err.decode().count("\n") == 1, err
    assert "certificate required" in err.decode() or "handshake failure" in err.decode(), err


def test_tls_client_cert_from_other_ca_fails(tbroker, pki):
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(b.port)] + ca(pki) +
                     ["--cert", pki.path("other-client.crt"), "--key", pki.path("other-client.key"),
                      "-t", "a", "-m", "x", "-q", "1"])
    assert rc != 0, err
    assert err.decode().count("\n") == 1, err
    assert "unknown ca" in err.decode(), err


@pytest.mark.parametrize("tool", ["pub", "sub"])
def test_revoked_client_certificate_fails_naming_the_reason(tbroker, pki, tool):
    b = cert_broker(tbroker, pki, require_certificate=True, extra_lines=[f"crlfile {pki.path('crl.pem')}"])
    args = ["-m", "x", "-q", "1"] if tool == "pub" else ["-C", "1"]
    rc, _, err = run([petrel_tool(tool), "-h", "127.0.0.1", "-p", str(b.port)] + client_cert(pki, "revoked") +
                     ["-t", "a"] + args)
    assert rc == 1 and err.decode().count("\n") == 1 and "revoked" in err.decode(), (rc, err)


def test_expired_client_certificate_fails(tbroker, pki):
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(b.port)] + client_cert(pki, "expired") +
                     ["-t", "a", "-m", "x", "-q", "1"])
    assert rc == 1 and err.decode().count("\n") == 1 and "expired" in err.decode(), (rc, err)


def test_password_protected_client_key_is_reported(tbroker, pki):
    """An encrypted key without a password: one line naming the problem, exit 1, and no
    terminal prompt (stdin is /dev/null, the run is bounded)."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "localhost", "-p", str(b.port)] + ca(pki) +
                     ["--cert", pki.path("server.crt"), "--key", pki.path("server-encrypted.key"),
                      "-t", "a", "-m", "x"], timeout=10)
    assert rc == 1 and "password" in err.decode() and err.decode().count("\n") == 1, (rc, err)


def test_mismatched_client_key_is_reported(tbroker, pki):
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "localhost", "-p", str(b.port)] + ca(pki) +
                     ["--cert", pki.path("sensor-1.crt"), "--key", pki.path("other.key"), "-t", "a", "-m", "x"])
    text = err.decode()
    assert rc == 1 and text.count("\n") == 1, (rc, err)
    assert "do not match" in text and "password" not in text, text


@pytest.mark.parametrize("tool", ["pub", "sub"])
@pytest.mark.parametrize("require_certificate", [False, True], ids=["server-auth", "mutual"])
def test_wrong_ca_fails_with_clear_error(tbroker, pki, tool, require_certificate):
    """The broker's certificate is not signed by the CA given: one clear line, exit 1."""
    b = cert_broker(tbroker, pki, require_certificate=require_certificate)
    args = ["-h", "localhost", "-p", str(b.port), "--cafile", pki.path("other-ca.crt"), "-t", "a"]
    if require_certificate:
        args += ["--cert", pki.path("sensor-1.crt"), "--key", pki.path("sensor-1.key")]
    args += ["-m", "x"] if tool == "pub" else ["-C", "1"]
    rc, out, err = run([petrel_tool(tool)] + args)
    assert rc == 1, (rc, out, err)
    assert err.decode().count("\n") == 1 and "certificate verification failed" in err.decode(), err
    assert out == b""


def test_insecure_does_not_disable_chain_verification(tbroker, pki):
    """--insecure skips only the host name check (as in mosquitto): a broker certificate
    from an unknown CA is still refused."""
    b = cert_broker(tbroker, pki, require_certificate=False)
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(b.port), "--cafile",
                      pki.path("other-ca.crt"), "--insecure", "-t", "a", "-m", "x"])
    assert rc == 1 and "verification failed" in err.decode(), err


def test_plain_client_on_tls_listener_fails_bounded(tbroker, pki):
    b = cert_broker(tbroker, pki, require_certificate=False)
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(b.port), "-t", "a", "-m", "x"],
                     timeout=20)
    assert rc != 0, err


# ---- the router product's documented certificate command ---------------------------------
def documented_sub_cmd(pki, port: int) -> list[str]:
    return [petrel_tool("sub"), "-C", "1", "--host", "localhost", "--port", str(port),
            "--cafile", pki.path("ca.crt"), "--cert", pki.path("sensor-1.crt"),
            "--key", pki.path("sensor-1.key"), "-t", "factory/sensor/#"]


def test_documented_certificate_subscribe_retained(tbroker, pki):
    """The exact command (no -d): the message petrel_pub published is retained, so the
    subscriber needs no other synchronisation."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, _, err = run([petrel_tool("pub"), "--host", "localhost", "--port", str(b.port)] + client_cert(pki) +
                     ["-t", "factory/sensor/line1", "-m", "21.5", "-r", "-q", "1"])
    assert rc == 0, err
    rc, out, err = run(documented_sub_cmd(pki, b.port))
    assert (rc, out) == (0, b"21.5\n"), err


def test_documented_certificate_subscribe_live(tbroker, pki):
    """The same command (plus -d to know when it is subscribed) receives a live message."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    p = start_sub(documented_sub_cmd(pki, b.port))
    rc, _, err = run([petrel_tool("pub"), "--host", "localhost", "--port", str(b.port)] + client_cert(pki) +
                     ["-t", "factory/sensor/line2/temp", "-m", "19.0"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == b"19.0\n", (bytes(p.out), bytes(p.err))


# ---- TLS-PSK --------------------------------------------------------------------------------
@pytest.fixture
def psk_files(tmp_path):
    if not PETREL_PASSWD.is_file():
        pytest.skip(f"{PETREL_PASSWD} not built")
    psk = tmp_path / "psk"
    psk.write_text(f"test:{PSK_HEX}\n")
    passwd = tmp_path / "passwd"
    r = subprocess.run([str(PETREL_PASSWD), "-c", "-b", str(passwd), "house", "12345"], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return psk, passwd


def psk_broker(tbroker, psk_files, *listener_lines):
    psk, passwd = psk_files
    return tbroker([f"psk_file {psk}", f"password_file {passwd}"], hosts=["::1"], anonymous=False,
                   listener_extra=["psk_hint petrel", *listener_lines])


def psk_conn(port: int, key: str = PSK_HEX, identity: str = "test", password: str = "12345") -> list[str]:
    return ["--host", "::1", "--port", str(port), "--psk", key, "--psk-identity", identity,
            "-u", "house", "-P", password]


def test_documented_psk_publish(tbroker, psk_files):
    b = psk_broker(tbroker, psk_files)
    p = start_sub([petrel_tool("sub")] + psk_conn(b.port) + ["-t", "SENSOR/#", "-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub"), "--host", "::1", "--port", str(b.port), "--psk", PSK_HEX,
                      "--psk-identity", "test", "-u", "house", "-P", "12345", "-t",
                      "SENSOR/ROOM8/TEMPERATURE", "-m", "54"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == b"SENSOR/ROOM8/TEMPERATURE 54\n", (bytes(p.out), bytes(p.err))


@pytest.mark.parametrize("version", [[], ["--tls-version", "tlsv1.2"], ["--tls-version", "tlsv1.3"]],
                         ids=["default", "tls12", "tls13"])
def test_psk_sub_and_pub(tbroker, psk_files, version):
    b = psk_broker(tbroker, psk_files)
    pub_sub_roundtrip(psk_conn(b.port) + version, payload="psk", qos="2")


def test_psk_with_server_limited_to_tls12(tbroker, psk_files):
    """A TLS 1.2-only listener: the client must offer TLS 1.2 PSK cipher suites."""
    b = psk_broker(tbroker, psk_files, "tls_version tlsv1.2")
    rc, _, err = run([petrel_tool("pub")] + psk_conn(b.port) + ["-t", "a", "-m", "x", "-q", "1"])
    assert rc == 0, err


def test_psk_wrong_key_fails(tbroker, psk_files):
    b = psk_broker(tbroker, psk_files)
    rc, _, err = run([petrel_tool("pub")] + psk_conn(b.port, key="ab" * 32) + ["-t", "a", "-m", "x"])
    assert rc == 1 and err.decode().count("\n") == 1, (rc, err)


def test_psk_unknown_identity_fails(tbroker, psk_files):
    b = psk_broker(tbroker, psk_files)
    rc, _, err = run([petrel_tool("pub")] + psk_conn(b.port, identity="nobody") + ["-t", "a", "-m", "x"])
    assert rc == 1 and err.decode().count("\n") == 1, (rc, err)


def test_psk_wrong_password_refused(tbroker, psk_files):
    """PSK does not replace the password check. Petrel answers the spec's "bad user name or
    password" (v3.1.1 CONNACK 4; Mosquitto 2.0.11 says 5, see 15-auth.py) and the tool's
    exit status is the CONNACK code."""
    b = psk_broker(tbroker, psk_files)
    rc, _, err = run([petrel_tool("pub")] + psk_conn(b.port, password="nope") + ["-t", "a", "-m", "x"])
    assert rc == 4 and "bad user name or password" in err.decode(), (rc, err)


def test_psk_without_credentials_refused(tbroker, psk_files):
    """allow_anonymous false: a PSK client without -u/-P is refused (exit 5)."""
    b = psk_broker(tbroker, psk_files)
    rc, _, err = run([petrel_tool("pub"), "--host", "::1", "--port", str(b.port), "--psk", PSK_HEX,
                      "--psk-identity", "test", "-t", "a", "-m", "x"])
    assert rc == 5, (rc, err)


# ---- WebSockets ---------------------------------------------------------------------------
def ws_broker(tbroker, pki=None, tls: bool = False):
    lines = ["protocol websockets"] + (tls_listener(pki) if tls else [])
    return tbroker([], hosts=["127.0.0.1"], listener_extra=lines)


@pytest.mark.parametrize("use_url", [False, True], ids=["--ws", "-L ws://"])
def test_websocket(tbroker, use_url):
    b = ws_broker(tbroker)
    topic = unique()
    if use_url:
        conn = ["-L", f"ws://127.0.0.1:{b.port}/{topic}"]
    else:
        conn = ["-h", "127.0.0.1", "-p", str(b.port), "--ws", "-t", topic]
    p = start_sub([petrel_tool("sub")] + conn + ["-C", "2", "-v", "-q", "1"])
    rc, _, err = run([petrel_tool("pub")] + conn + ["-m", "over-ws", "-q", "1", "--repeat", "2"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} over-ws\n".encode() * 2, (bytes(p.out), bytes(p.err))


@pytest.mark.parametrize("use_url", [False, True], ids=["--ws --cafile", "-L wss://"])
def test_websocket_over_tls(tbroker, pki, use_url):
    b = ws_broker(tbroker, pki, tls=True)
    topic = unique()
    if use_url:
        conn = ["-L", f"wss://localhost:{b.port}/{topic}"] + ca(pki)
    else:
        conn = ["-h", "localhost", "-p", str(b.port), "--ws"] + ca(pki) + ["-t", topic]
    p = start_sub([petrel_tool("sub")] + conn + ["-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub")] + conn + ["-m", "wss"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} wss\n".encode(), (bytes(p.out), bytes(p.err))


def test_websocket_over_tls_wrong_ca_fails(tbroker, pki):
    b = ws_broker(tbroker, pki, tls=True)
    rc, _, err = run([petrel_tool("pub"), "-h", "localhost", "-p", str(b.port), "--ws", "--cafile",
                      pki.path("other-ca.crt"), "-t", "a", "-m", "x"])
    assert rc == 1 and "verification failed" in err.decode() and err.decode().count("\n") == 1, (rc, err)


def test_websocket_over_tls_with_client_certificate(tbroker, pki):
    lines = ["protocol websockets"] + tls_listener(pki, require_certificate=True)
    b = tbroker([], hosts=["127.0.0.1"], listener_extra=lines)
    pub_sub_roundtrip(["-h", "localhost", "-p", str(b.port), "--ws"] + client_cert(pki), payload="wss-mutual")
