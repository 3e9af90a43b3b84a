"""bridge_require_ocsp: a bridge to a TLS remote accepts the connection only when the
remote staples an OCSP response that is signed by the certificate's issuer and says the
certificate is good. The remote is `openssl s_server` with `-status_file` (a real TLS
server that staples); the responses are made by `openssl ocsp` from a CA database kept
by `openssl ca`, the way a small operator runs its own CA. s_server echoes what it
receives, so a bridge that got through the handshake shows as the MQTT CONNECT it sent
(the protocol name "MQTT"); one that refused the response never sends it.

The outcome (CONNECT sent or not) is checked for Mosquitto 2.0.11 too (--broker
mosquitto): it has the same option. The reason in the log is Petrel's own text."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from bridge_support import CONNECT_TIMEOUT, bridge, bridging, log_count, wait_log
from conftest import free_port
from test_tls_support import CA_CONF, openssl


class OcspCa:
    """A CA with an `openssl ca` database, its server certificates and OCSP responses."""

    def __init__(self, d: Path):
        self.dir = d
        d.mkdir(parents=True)
        (d / "newcerts").mkdir()
        (d / "index.txt").write_text("")
        (d / "serial").write_text("2000\n")
        (d / "crlnumber").write_text("2000\n")
        (d / "ca.cnf").write_text(CA_CONF.format(dir=d))
        (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for ca, cn in (("ca", "OCSP Test CA"), ("rogue", "Rogue CA")):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "30", "-subj", f"/CN={cn}", cwd=d)

    def server_cert(self, name: str, in_database: bool = True) -> None:
        d = self.dir
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", "/CN=localhost", cwd=d)
        if in_database:
            openssl("ca", "-batch", "-config", "ca.cnf", "-in", f"{name}.csr", "-out", f"{name}.crt", "-notext",
                    "-extfile", "san.ext", cwd=d)
        else:  # signed outside the database: its responder knows nothing of it
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "77",
                    "-out", f"{name}.crt", "-days", "30", "-extfile", "san.ext", cwd=d)

    def revoke(self, name: str) -> None:
        openssl("ca", "-config", "ca.cnf", "-revoke", f"{name}.crt", cwd=self.dir)

    def response(self, name: str, signer: str = "ca") -> Path:
        out = self.dir / f"{name}-by-{signer}.der"
        openssl("ocsp", "-index", "index.txt", "-rsigner", f"{signer}.crt", "-rkey", f"{signer}.key",
                "-CA", "ca.crt", "-issuer", "ca.crt", "-cert", f"{name}.crt", "-respout", out.name,
                "-ndays", "1", cwd=self.dir)
        return out

    def path(self, name: str) -> str:
        return str(self.dir / name)


class StaplingServer:
    """openssl s_server on a free loopback port; stopped by pid."""

    def __init__(self, ca: OcspCa, name: str, status_file: Path | None):
        self.port = free_port()
        self.out = ca.dir / f"s_server-{self.port}.out"
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", ca.path(f"{name}.crt"),
               "-key", ca.path(f"{name}.key"), "-ign_eof"]
        if status_file is not None:
            cmd += ["-status_file", str(status_file)]
        self.outf = open(self.out, "wb")
        # stdin stays open (a pipe we never write): s_server ends a session on EOF of stdin.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.outf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while b"ACCEPT" not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"s_server did not start: {self.output()!r}"
            time.sleep(0.05)

    def output(self) -> bytes:
        return self.out.read_bytes()

    def got_connect(self) -> bool:
        return b"MQTT" in self.output()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdin.close()
        self.outf.close()


@pytest.fixture
def ocsp_ca(tmp_path) -> OcspCa:
    return OcspCa(tmp_path / "ocsp-ca")


@pytest.fixture
def stapling(ocsp_ca):
    servers: list[StaplingServer] = []

    def start(name: str, status_file: Path | None) -> StaplingServer:
        s = StaplingServer(ocsp_ca, name, status_file)
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.stop()


def bridge_to(broker, ca: OcspCa, server: StaplingServer, require: bool = True):
    lines = [f"bridge_cafile {ca.path('ca.crt')}"]
    if require:
        lines.append("bridge_require_ocsp true")
    return bridging(broker, bridge("ocsp", ("127.0.0.1", server.port), "ocsp/# out 1", *lines))


def wait_connect(server: StaplingServer, timeout: float = CONNECT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not server.got_connect():
        assert time.monotonic() < deadline, f"no CONNECT reached the server; it printed:\n{server.output()[-3000:]!r}"
        time.sleep(0.1)


def refused(broker_under_test, server: StaplingServer, reason: str) -> None:
    """The bridge refused the response and never sent CONNECT: Petrel's log names the
    reason (once per episode: it retries quietly); Mosquitto's log shows its attempts
    ("Connecting bridge (step 2) ..."), and two mean the first one ended."""
    if broker_under_test.kind == "petrel":
        wait_log(broker_under_test, re.escape("TLS OCSP check failed: " + reason))
    else:
        pattern = r"Connecting bridge \(step 2\) ocsp "
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while log_count(broker_under_test, pattern) < 2:
            assert time.monotonic() < deadline, f"the bridge did not retry; tail:\n{broker_under_test.log()[-3000:]}"
            time.sleep(0.1)
    assert not server.got_connect(), server.output()[-3000:]


def test_a_good_stapled_response_lets_the_bridge_connect(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("good")
    server = stapling("good", ocsp_ca.response("good"))
    bridge_to(broker, ocsp_ca, server)
    wait_connect(server)


def test_no_stapled_response_is_refused(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("plain")
    server = stapling("plain", None)
    b = bridge_to(broker, ocsp_ca, server)
    refused(b, server, "the server stapled no OCSP response")


def test_without_the_option_no_response_is_needed(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("plain")
    server = stapling("plain", None)
    bridge_to(broker, ocsp_ca, server, require=False)
    wait_connect(server)


def test_a_revoked_certificate_is_refused(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("gone")
    ocsp_ca.revoke("gone")
    server = stapling("gone", ocsp_ca.response("gone"))
    b = bridge_to(broker, ocsp_ca, server)
    refused(b, server, "the server's certificate is revoked")


def test_a_response_signed_by_someone_else_is_refused(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("forged")
    server = stapling("forged", ocsp_ca.response("forged", signer="rogue"))
    b = bridge_to(broker, ocsp_ca, server)
    refused(b, server, "the server's OCSP response is not signed by its certificate's issuer")


def test_a_response_about_an_unknown_certificate_is_refused(broker, ocsp_ca, stapling):
    ocsp_ca.server_cert("stray", in_database=False)
    server = stapling("stray", ocsp_ca.response("stray"))
    b = bridge_to(broker, ocsp_ca, server)
    refused(b, server, "the server's certificate status is unknown to the OCSP responder")
