"""petrel_pub / petrel_sub over TLS (certificates), TLS-PSK and WebSocket against Debian's
mosquitto (Petrel's own TLS listener is tested elsewhere). Certificates are made at test
time with the openssl command line, following the procedure the router product documents:
a CA, a broker certificate for the address clients use (SAN 127.0.0.1, ::1, localhost),
and a client certificate whose CN is its identity."""
from __future__ import annotations

import os
import subprocess

import pytest

from test_cli_support import (Proc, both, mosquitto, reap_procs, petrel_tool, run, start_sub,  # noqa: F401
                              strip_debug, unique)

PSK_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "2", "-subj", "/CN=Petrel Test CA", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out",
            "other-ca.crt", "-days", "2", "-subj", "/CN=Other CA", cwd=d)

    def leaf(name, cn, san=None, extra_key_args=()):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={cn}", cwd=d)
        args = ["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2"]
        if san:
            (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
            args += ["-extfile", f"{name}.ext"]
        openssl(*args, cwd=d)

    leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
    leaf("badname", "example.invalid", "DNS:example.invalid")
    leaf("client", "client1")
    openssl("rsa", "-in", "client.key", "-aes256", "-passout", "pass:secret", "-out", "client-enc.key", cwd=d)
    return d


def tls_listener(pki, cert="server", require_cert=True, extra=()):
    lines = [f"cafile {pki / 'ca.crt'}", f"certfile {pki / cert}.crt", f"keyfile {pki / cert}.key",
             f"require_certificate {'true' if require_cert else 'false'}"]
    return lines + list(extra)


def client_cert_args(pki, key="client.key"):
    return ["--cafile", str(pki / "ca.crt"), "--cert", str(pki / "client.crt"), "--key", str(pki / key)]


# ---- the router product's documented certificate command --------------------------------
def test_documented_certificate_subscribe(mosquitto, pki):
    """The product's command, verbatim but for the port and file paths. The message is
    retained so the exact command (no -d) needs no other synchronisation."""
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki))])
    rc, _, err = run(["mosquitto_pub", "-h", "localhost", "-p", str(srv.port)] + client_cert_args(pki) +
                     ["-t", "factory/sensor/line1", "-m", "21.5", "-r"])
    assert rc == 0, err
    rc, out, err = run([petrel_tool("sub"), "-C", "1", "--host", "localhost", "--port", str(srv.port),
                        "--cafile", str(pki / "ca.crt"), "--cert", str(pki / "client.crt"),
                        "--key", str(pki / "client.key"), "-t", "factory/sensor/#"])
    assert (rc, out) == (0, b"21.5\n"), err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
@pytest.mark.parametrize("version", ["tlsv1.2", "tlsv1.3"])
def test_tls_pub_sub(mosquitto, pki, host, version):
    srv = mosquitto(raw_listeners=[(host if host != "localhost" else "127.0.0.1", tls_listener(pki))])
    topic = unique()
    args = ["-h", host, "-p", str(srv.port), "--tls-version", version] + client_cert_args(pki)
    p = start_sub([petrel_tool("sub")] + args + ["-t", topic, "-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub")] + args + ["-t", topic, "-m", "secure", "-q", "1"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} secure\n".encode()


def test_capath(mosquitto, pki, tmp_path):
    capath = tmp_path / "cas"
    capath.mkdir()
    (capath / "ca.pem").write_bytes((pki / "ca.crt").read_bytes())
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True, timeout=30)
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki, require_cert=False))])
    rc, _, err = run([petrel_tool("pub"), "-h", "localhost", "-p", str(srv.port), "--capath", str(capath),
                      "-t", "a", "-m", "x"])
    assert rc == 0, err


def test_verification_failure_is_one_line(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki, require_cert=False))])
    args = ["-h", "127.0.0.1", "-p", str(srv.port), "--cafile", str(pki / "other-ca.crt"), "-t", "a", "-m", "x"]
    rc, out, err = run([petrel_tool("pub")] + args)
    assert rc == 1
    assert err.decode().count("\n") == 1 and "certificate verification failed" in err.decode(), err
    assert run(["mosquitto_pub"] + args)[0] in (1, 8)  # mosquitto_pub varies between the two


def test_hostname_mismatch_and_insecure(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki, cert="badname", require_cert=False))])
    base = ["-h", "127.0.0.1", "-p", str(srv.port), "--cafile", str(pki / "ca.crt"), "-t", "a", "-m", "x"]
    rc, _, err = run([petrel_tool("pub")] + base)
    assert rc == 1 and "verification failed" in err.decode() and err.decode().count("\n") == 1, err
    assert run(["mosquitto_pub"] + base)[0] in (1, 8)
    rc, _, err = run([petrel_tool("pub")] + base + ["--insecure"])
    assert rc == 0, err


def test_missing_client_certificate_fails(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki))])
    args = ["-h", "127.0.0.1", "-p", str(srv.port), "--cafile", str(pki / "ca.crt"), "-t", "a", "-m", "x"]
    rc, _, err = run([petrel_tool("pub")] + args)
    assert rc != 0 and err.decode().count("\n") == 1, err


def test_password_protected_key_is_reported(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki))])
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(srv.port), "-t", "a", "-m", "x"] +
                     client_cert_args(pki, "client-enc.key"), timeout=10)
    assert rc == 1 and "password" in err.decode() and err.decode().count("\n") == 1, err


def test_keylog_ciphers_and_alpn(mosquitto, pki, tmp_path):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki))])
    keylog = tmp_path / "keys.log"
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(srv.port), "-t", "a", "-m", "x",
                      "--tls-version", "tlsv1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256",
                      "--tls-alpn", "mqtt", "--tls-keylog", str(keylog)] + client_cert_args(pki))
    assert rc == 0, err
    # --tls-version is a minimum (as in mosquitto): TLS 1.3 may still be chosen.
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels & {"CLIENT_RANDOM", "CLIENT_TRAFFIC_SECRET_0"}, labels


def test_os_certs_option_alone_enables_tls(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", tls_listener(pki, require_cert=False))])
    rc, _, err = run([petrel_tool("pub"), "-h", "localhost", "-p", str(srv.port), "--tls-use-os-certs",
                      "-t", "a", "-m", "x"])
    assert rc == 1 and "verification failed" in err.decode()  # our test CA is not a system CA


# ---- PSK --------------------------------------------------------------------------------
def start_psk_server(mosquitto, tmp_path, extra=()):
    pskfile = tmp_path / "psk"
    pskfile.write_text(f"test:{PSK_HEX}\n")
    pw = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "house", "12345"], check=True, timeout=30,
                   capture_output=True)
    return mosquitto([f"password_file {pw}"], anonymous=False,
                     raw_listeners=[("::1", ["psk_hint hint", f"psk_file {pskfile}"] + list(extra))])


@pytest.fixture
def psk_server(mosquitto, tmp_path):
    return start_psk_server(mosquitto, tmp_path)


def test_psk_with_server_limited_to_tls12(mosquitto, tmp_path):
    """A TLS 1.2-only broker: the PSK cipher suites of TLS 1.2 must be offered."""
    srv = start_psk_server(mosquitto, tmp_path, ["tls_version tlsv1.2"])
    rc, _, err = run([petrel_tool("pub"), "-h", "::1", "-p", str(srv.port), "--psk", PSK_HEX, "--psk-identity",
                      "test", "-u", "house", "-P", "12345", "-t", "a", "-m", "x", "-q", "1"])
    assert rc == 0, err


def test_documented_psk_publish(psk_server):
    srv = psk_server
    psk = ["--psk", PSK_HEX, "--psk-identity", "test", "-u", "house", "-P", "12345"]
    p = start_sub(["mosquitto_sub", "-h", "::1", "-p", str(srv.port), "-t", "SENSOR/#", "-C", "1", "-v"] + psk)
    rc, _, err = run([petrel_tool("pub"), "--host", "::1", "--port", str(srv.port), "--psk", PSK_HEX,
                      "--psk-identity", "test", "-u", "house", "-P", "12345", "-t",
                      "SENSOR/ROOM8/TEMPERATURE", "-m", "54"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == b"SENSOR/ROOM8/TEMPERATURE 54\n"


@pytest.mark.parametrize("version", [[], ["--tls-version", "tlsv1.2"], ["--tls-version", "tlsv1.3"]],
                         ids=["default", "tls12", "tls13"])
def test_psk_sub_and_pub(psk_server, version):
    srv = psk_server
    topic = unique()
    psk = ["-h", "::1", "-p", str(srv.port), "--psk", PSK_HEX, "--psk-identity", "test", "-u", "house",
           "-P", "12345"] + version
    p = start_sub([petrel_tool("sub")] + psk + ["-t", topic, "-C", "1"])
    rc, _, err = run([petrel_tool("pub")] + psk + ["-t", topic, "-m", "psk", "-q", "2"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == b"psk\n"


def test_psk_wrong_key_fails(psk_server):
    srv = psk_server
    args = ["-h", "::1", "-p", str(srv.port), "--psk", "ab" * 32, "--psk-identity", "test", "-u", "house",
            "-P", "12345", "-t", "a", "-m", "x"]
    rc, _, err = run([petrel_tool("pub")] + args)
    assert rc == 1 and err.decode().count("\n") == 1, err
    assert run(["mosquitto_pub"] + args)[0] in (1, 8)  # mosquitto_pub varies between the two


def test_psk_wrong_password_refused(psk_server):
    srv = psk_server
    args = ["-h", "::1", "-p", str(srv.port), "--psk", PSK_HEX, "--psk-identity", "test", "-u", "house",
            "-P", "nope", "-t", "a", "-m", "x"]
    results = {k: run([t] + args) for k, t in both("pub").items()}
    assert results["petrel"][0] == results["mosquitto"][0] == 5


# ---- WebSocket ----------------------------------------------------------------------------
# (mosquitto 2.0.11 refuses to start with only websockets listeners, hence a plain one too)
@pytest.mark.parametrize("use_url", [False, True], ids=["--ws", "-L ws://"])
def test_websocket(mosquitto, use_url):
    srv = mosquitto(raw_listeners=[("127.0.0.1", ["protocol websockets"]), ("127.0.0.1", [])])
    topic = unique()
    if use_url:
        conn_sub = ["-L", f"ws://127.0.0.1:{srv.port}/{topic}"]
        conn_pub = ["-L", f"ws://127.0.0.1:{srv.port}/{topic}"]
    else:
        conn_sub = conn_pub = ["-h", "127.0.0.1", "-p", str(srv.port), "--ws", "-t", topic]
    p = start_sub([petrel_tool("sub")] + conn_sub + ["-C", "2", "-v", "-q", "1"])
    rc, _, err = run([petrel_tool("pub")] + conn_pub + ["-m", "over-ws", "-q", "1", "--repeat", "2"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} over-ws\n".encode() * 2


def test_websocket_over_tls(mosquitto, pki):
    srv = mosquitto(raw_listeners=[("127.0.0.1", ["protocol websockets"] + tls_listener(pki, require_cert=False)),
                                          ("127.0.0.1", [])])
    topic = unique()
    args = ["-h", "localhost", "-p", str(srv.port), "--ws", "--cafile", str(pki / "ca.crt"), "-t", topic]
    p = start_sub([petrel_tool("sub")] + args + ["-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub")] + args + ["-m", "wss"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} wss\n".encode()


def test_no_tls_overrides(mosquitto, pki):
    srv = mosquitto()
    rc, _, err = run([petrel_tool("pub"), "-h", "127.0.0.1", "-p", str(srv.port), "--cafile", str(pki / "ca.crt"),
                      "--no-tls", "-t", "a", "-m", "x"])
    assert rc == 0, err
