"""TLS-PSK listeners (psk_hint + psk_file) with Debian's mosquitto_pub/mosquitto_sub
--psk/--psk-identity: the router product's documented command line on IPv6, TLS 1.3 and
TLS 1.2 PSK, wrong keys and unknown identities refused, a listener offering both
certificates and PSK, and the configuration errors."""
from __future__ import annotations

import subprocess

import pytest

from test_tls_cert import MOSQUITTO_PUB, MOSQUITTO_SUB, wait_subscribed
from test_tls_support import pki, run_cli, tbroker, tls_listener  # noqa: F401

# `openssl rand -hex 32`, as the product tells its users.
KEY = "3f1c9e6a2b7d4e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
OTHER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture
def psk_files(tmp_path):
    psk = tmp_path / "psk"
    psk.write_text(f"test:{KEY}\nbridge:{OTHER_KEY}\n")
    passwd = tmp_path / "passwd"
    r = subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "house", "12345"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return psk, passwd


def psk_broker(tbroker, psk_files, *listener_lines, anonymous=False, hosts=("::1",)):
    psk, passwd = psk_files
    return tbroker([f"psk_file {psk}", f"password_file {passwd}"], hosts=list(hosts), anonymous=anonymous,
                   listener_extra=["psk_hint petrel", *listener_lines])


def test_documented_psk_command_line(tbroker, psk_files):
    """PRODUCT.md: `mosquitto_pub --host <ipv6> --port 1883 --psk <hex> --psk-identity test
    -u house -P 12345 -t SENSOR/ROOM8/TEMPERATURE -m 54`, literally (port aside)."""
    b = psk_broker(tbroker, psk_files)
    port = str(b.port)
    sub = subprocess.Popen(["stdbuf", "-oL", MOSQUITTO_SUB, "--host", "::1", "--port", port, "--psk", KEY,
                            "--psk-identity", "test", "-u", "house", "-P", "12345", "-t", "SENSOR/#", "-C", "1",
                            "-W", "10", "-v", "-d"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_subscribed(sub)
        r = run_cli([MOSQUITTO_PUB, "--host", "::1", "--port", port, "--psk", KEY, "--psk-identity", "test",
                     "-u", "house", "-P", "12345", "-t", "SENSOR/ROOM8/TEMPERATURE", "-m", "54"])
        assert r.returncode == 0, r.stdout + r.stderr
        out, _ = sub.communicate(timeout=10)
    finally:
        sub.kill()
    assert "SENSOR/ROOM8/TEMPERATURE 54" in out, out


def pub(b, key: str, identity: str = "test", *extra: str) -> subprocess.CompletedProcess:
    return run_cli([MOSQUITTO_PUB, "--host", b.host, "--port", str(b.port), "--psk", key, "--psk-identity", identity,
                    *extra, "-t", "SENSOR/x", "-m", "1"])


@pytest.mark.parametrize("tls_version", ["tlsv1.3", "tlsv1.2"])
def test_psk_tls_versions(tbroker, psk_files, tls_version):
    b = psk_broker(tbroker, psk_files)
    r = pub(b, KEY, "test", "--tls-version", tls_version, "-u", "house", "-P", "12345")
    assert r.returncode == 0, r.stdout + r.stderr


def test_wrong_psk_is_refused(tbroker, psk_files):
    b = psk_broker(tbroker, psk_files)
    for version in ("tlsv1.3", "tlsv1.2"):
        r = pub(b, OTHER_KEY, "test", "--tls-version", version, "-u", "house", "-P", "12345")
        assert r.returncode != 0, version
    r = pub(b, KEY, "stranger", "-u", "house", "-P", "12345")
    assert r.returncode != 0
    # The broker keeps serving.
    assert pub(b, KEY, "test", "-u", "house", "-P", "12345").returncode == 0


def test_psk_does_not_replace_the_password(tbroker, psk_files):
    # allow_anonymous false: the PSK secures the link, the login is still needed.
    b = psk_broker(tbroker, psk_files)
    assert pub(b, KEY).returncode != 0
    assert pub(b, KEY, "test", "-u", "house", "-P", "wrong").returncode != 0


def test_psk_identity_as_username(tbroker, psk_files, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("user test\ntopic write SENSOR/#\n")
    psk, passwd = psk_files
    b = tbroker([f"psk_file {psk}", f"acl_file {acl}"], hosts=["::1"], anonymous=False,
                listener_extra=["psk_hint petrel", "use_identity_as_username true"])
    r = pub(b, KEY, "test")
    assert r.returncode == 0, r.stdout + r.stderr


def test_certificate_and_psk_on_one_listener_is_refused(tbroker, psk_files, pki):
    # As in Mosquitto: one listener is either certificate TLS or PSK.
    psk, passwd = psk_files
    b = tbroker([f"psk_file {psk}"], listener_extra=["psk_hint petrel", *tls_listener(pki)], wait=False)
    assert b.proc.wait(timeout=10) != 0
    b.expect_exit = True


@pytest.mark.petrel_only("Mosquitto starts and refuses every PSK client")
def test_psk_hint_without_psk_file_is_a_config_error(tbroker):
    b = tbroker(listener_extra=["psk_hint petrel"], wait=False)
    code = b.proc.wait(timeout=10)
    b.expect_exit = True
    assert code != 0
    assert "option 'psk_hint': needs a psk_file" in b.log(), b.log()


@pytest.mark.petrel_only("error text")
def test_broken_psk_file_stops_startup(tbroker, tmp_path):
    bad = tmp_path / "psk"
    bad.write_text("test:abcg\n")  # not hexadecimal
    b = tbroker([f"psk_file {bad}"], listener_extra=["psk_hint petrel"], wait=False)
    code = b.proc.wait(timeout=10)
    b.expect_exit = True
    assert code != 0
    assert str(bad) in b.log() and ":1:" in b.log(), b.log()
