"""Shared support for the TLS, TLS-PSK and WebSocket black-box tests (test_tls_*.py,
test_ws_*.py): a test PKI made with the openssl command line, the way the router
product's users make theirs (a CA; a server key and CSR whose CN/SAN is the address
clients use, signed by the CA; the same for each client, whose CN is its identity), plus
small client helpers. No tests live here.

The PKI is made once per session in a temporary directory:
  ca.crt / ca.key             "Petrel Test CA"
  server.crt / server.key     CN=localhost, SAN IP:127.0.0.1, IP:::1, DNS:localhost
  sensor-1.crt / .key         client, CN=sensor-1 (the identity the tests authorise)
  intruder.crt / .key         client, CN=intruder (a valid certificate with another CN)
  expired.crt / .key          client, CN=sensor-1, valid 2020-01-01 .. 2021-01-01
  revoked.crt / .key          client, CN=revoked, revoked in crl.pem
  other-client.crt / .key     client, CN=sensor-1, signed by "Other CA" (other-ca.crt)
  server-encrypted.key        the server key, password-protected (passphrase "secret")
  other.key                   a key that matches no certificate
  crl.pem                     the CA's CRL (revoked.crt listed)
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"

CA_CONF = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.crt
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
organizationName = optional
"""


def openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")


class Pki:
    def __init__(self, d: Path):
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        (d / "newcerts").mkdir(exist_ok=True)
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        (d / "crlnumber").write_text("1000\n")
        (d / "ca.cnf").write_text(CA_CONF.format(dir=d))
        self._make()

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def _req(self, name: str, subject: str, *extra: str) -> None:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject, *extra, cwd=self.dir)

    def _sign(self, name: str, ca: str = "ca", *extra: str) -> None:
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "30", *extra, cwd=self.dir)

    def _make(self) -> None:
        d = self.dir
        for ca, cn in (("ca", "Petrel Test CA"), ("other-ca", "Other CA")):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                    "-days", "30", "-subj", f"/CN={cn}", cwd=d)
        self._req("server", "/CN=localhost")
        (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
        self._sign("server", "ca", "-extfile", "san.ext")
        for name, cn in (("sensor-1", "sensor-1"), ("intruder", "intruder")):
            self._req(name, f"/O=Petrel Test/CN={cn}")
            self._sign(name)
        self._req("other-client", "/CN=sensor-1")
        self._sign("other-client", "other-ca")
        # `openssl ca` sets exact validity dates (OpenSSL 3.0's x509 has no -not_after).
        self._req("expired", "/CN=sensor-1")
        openssl("ca", "-batch", "-config", "ca.cnf", "-in", "expired.csr", "-out", "expired.crt",
                "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-notext", cwd=d)
        self._req("revoked", "/CN=revoked")
        openssl("ca", "-batch", "-config", "ca.cnf", "-in", "revoked.csr", "-out", "revoked.crt", "-notext", cwd=d)
        openssl("ca", "-config", "ca.cnf", "-revoke", "revoked.crt", cwd=d)
        openssl("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", cwd=d)
        openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:secret", "-out", "server-encrypted.key", cwd=d)
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other.key", cwd=d)


_PKI: Pki | None = None


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    global _PKI
    if _PKI is None:
        _PKI = Pki(tmp_path_factory.mktemp("pki"))
    return _PKI


def tls_listener(pki: Pki, *extra: str, require_certificate: bool = False) -> list[str]:
    """Listener lines for certificate TLS with the test PKI."""
    lines = [f"certfile {pki.path('server.crt')}", f"keyfile {pki.path('server.key')}"]
    if require_certificate:
        lines += [f"cafile {pki.path('ca.crt')}", "require_certificate true"]
    return lines + list(extra)


def client_context(pki: Pki, cert: str | None = None, min_version=None, max_version=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=pki.path("ca.crt"))
    if cert:
        ctx.load_cert_chain(pki.path(f"{cert}.crt"), pki.path(f"{cert}.key"))
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def tls_socket(host: str, port: int, ctx: ssl.SSLContext, timeout: float = 5.0) -> ssl.SSLSocket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.socket(family, socket.SOCK_STREAM)
    raw.settimeout(timeout)
    raw.connect((host, port))
    return ctx.wrap_socket(raw, server_hostname=host)


def connect_packet(client_id: str, username: str | None = None, password: str | None = None) -> bytes:
    """A v3.1.1 CONNECT (clean session, keepalive 60), encoded by hand."""
    def s(x: bytes) -> bytes:
        return len(x).to_bytes(2, "big") + x
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = s(b"MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big") + s(client_id.encode())
    if username is not None:
        body += s(username.encode())
    if password is not None:
        body += s(password.encode())
    return bytes([0x10, len(body)]) + body


def recv_exact(sock, n: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def closed_by_peer(sock, timeout: float) -> bool:
    """True when the peer closes (EOF, reset or a TLS alert) within `timeout` seconds,
    reading and discarding whatever else it sends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not sock.recv(4096):
                return True
        except socket.timeout:
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True
    return False


def run_cli(args: list[str], timeout: float = 15.0) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def wait_for_log(b, text: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in b.log():
            return True
        time.sleep(0.05)
    return False


_NODE_READY: bool | None = None


def node_ready() -> bool:
    """Installs the npm `mqtt` client under tests/integration/node (npm ci, from the
    committed package-lock.json) once per session; False when node/npm are missing."""
    global _NODE_READY
    if _NODE_READY is None:
        _NODE_READY = False
        if shutil.which("node") and shutil.which("npm"):
            # pytest-xdist workers share the directory: one installs, the others wait.
            with open(NODE_DIR / ".install.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (NODE_DIR / "node_modules" / "mqtt" / "package.json").is_file():
                    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                                       text=True, timeout=300,
                                       env={**os.environ, "npm_config_update_notifier": "false"})
                    if r.returncode != 0:
                        raise RuntimeError(f"npm ci failed:\n{r.stdout}\n{r.stderr}")
            _NODE_READY = True
    return _NODE_READY


@pytest.fixture
def tbroker(broker, broker_kind):
    """The `broker` factory for TLS tests: with --broker=mosquitto adds `user root`, since
    Mosquitto started as root drops to the mosquitto user, who cannot read the session's
    temporary PKI (Petrel does not switch users)."""
    def start(extra=(), **kw):
        extra = list(extra.splitlines() if isinstance(extra, str) else extra)
        if broker_kind == "mosquitto":
            extra.append("user root")
        return broker(extra, **kw)
    start.kind = broker_kind
    return start
