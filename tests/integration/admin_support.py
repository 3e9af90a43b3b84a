"""Shared support for the admin API black-box tests (test_admin_*.py). No tests live here.

* `Api`: a small HTTP client (http.client, one connection per request) that
  authenticates with Basic credentials, a Bearer token from POST /api/petrel/v1/login, or
  the session cookie plus its CSRF token, or not at all.
* `EventStream`: a server-sent events reader over a raw socket; every read has a deadline.
* `admin` fixture: a factory that starts Petrel with an MQTT listener and an `http_api`
  listener on random loopback ports, a password file made with the repository's
  petrel_passwd (or mosquitto_passwd), and a private state_dir, registered with the suite's
  `broker` factory (stopped by pid at teardown, config and log attached to a failure).

Petrel is started without -v by default (so log_level changes made through the API take
effect); `verbose=True` adds it.
"""
from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import rawmqtt as mq
from conftest import START_TIMEOUT, Broker, free_port, keep_root, wait_port

ADMIN_USER = "admin"
ADMIN_PASSWORD = "Adm1n-pass-for-tests"
HTTP_TIMEOUT = 20.0

_ids = itertools.count()


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------
class Response:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AssertionError(f"not JSON (HTTP {self.status}): {self.text[:2000]!r}") from exc

    def field_errors(self) -> dict[str, str]:
        """A 400's {"fields": [{"field", "message"}]} as {field: message}."""
        body = self.json()
        return {f["field"]: f["message"] for f in body.get("fields", [])}

    def __repr__(self) -> str:
        return f"<HTTP {self.status} {self.text[:500]!r}>"


class Api:
    """An admin API client. `auth`: None, ("basic", user, password), ("bearer", token) or
    ("cookie", token, csrf_token). `csrf`: send the X-CSRF-Token with cookie auth (default
    True; False to test the refusal)."""

    def __init__(self, host: str, port: int, auth=None, timeout: float = HTTP_TIMEOUT, ssl_context=None):
        self.host, self.port, self.auth, self.timeout = host, port, auth, timeout
        self.ssl_context = ssl_context  # HTTPS when set

    def with_auth(self, auth) -> "Api":
        return Api(self.host, self.port, auth, self.timeout, self.ssl_context)

    def auth_headers(self, csrf: bool = True) -> dict[str, str]:
        if self.auth is None:
            return {}
        kind = self.auth[0]
        if kind == "basic":
            raw = f"{self.auth[1]}:{self.auth[2]}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if kind == "bearer":
            return {"Authorization": "Bearer " + self.auth[1]}
        if kind == "cookie":
            h = {"Cookie": f"petrel_session={self.auth[1]}"}
            if csrf:
                h["X-CSRF-Token"] = self.auth[2]
            return h
        raise ValueError(kind)

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                csrf: bool = True, raw: bytes | None = None) -> Response:
        h = self.auth_headers(csrf)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        if self.ssl_context is not None:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.reason, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw) -> Response:
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw) -> Response:
        return self.request("PUT", path, body, **kw)

    def post(self, path, body=None, **kw) -> Response:
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, body=None, status: int = 200):
        """The JSON of a request that must answer `status`."""
        r = self.request(method, path, body)
        assert r.status == status, f"{method} {path}: {r!r}"
        return r.json() if r.body else None

    def login(self, user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> dict:
        r = self.with_auth(None).post("/api/petrel/v1/login", {"username": user, "password": password})
        assert r.status == 200, r
        return r.json()

    def bearer(self, user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> "Api":
        return self.with_auth(("bearer", self.login(user, password)["token"]))

    def stream(self, path: str, timeout: float = 10.0) -> "EventStream":
        return EventStream(self.host, self.port, path, self.auth_headers(), timeout, self.ssl_context)


# --------------------------------------------------------------------------------------
# Server-sent events
# --------------------------------------------------------------------------------------
class Event:
    def __init__(self, event: str, data: str, at: float):
        self.event, self.data, self.at = event, data, at

    def json(self):
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"<event {self.event}: {self.data[:300]}>"


class EventStream:
    """GET `path` as text/event-stream over a raw socket (the server sends no length and no
    chunks: the body ends with the connection). `status`/`headers` after the constructor;
    `next(timeout)` returns the next Event or raises TimeoutError / EOFError."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str], timeout: float = 10.0,
                 ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.eof = False
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        first, *rest = head.decode("latin-1").split("\r\n")
        self.status = int(first.split()[1])
        self.headers = [tuple(x.strip() for x in line.split(":", 1)) for line in rest if ":" in line]
        self.events: list[Event] = []

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the event stream in time")
        if self.eof:
            raise EOFError("the event stream ended")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as exc:
            raise TimeoutError("no data from the event stream in time") from exc
        except (ConnectionResetError, ssl.SSLError) as exc:
            self.eof = True
            raise EOFError("the event stream was reset") from exc
        if not chunk:
            self.eof = True
            raise EOFError("the event stream ended")
        self.buf += chunk

    def body_rest(self, timeout: float = 5.0) -> bytes:
        """For a non-200 answer: the rest of its body."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except (TimeoutError, EOFError):
            pass
        return self.buf

    def next(self, timeout: float = 5.0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            self.buf = self.buf.replace(b"\r\n", b"\n")
            if b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                name, data = "message", []
                for line in block.decode("utf-8", errors="replace").split("\n"):
                    if line.startswith(":"):
                        continue  # a comment (heartbeat)
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "event":
                        name = value
                    elif key == "data":
                        data.append(value)
                if not data:
                    continue
                ev = Event(name, "\n".join(data), time.monotonic())
                self.events.append(ev)
                return ev
            self._fill(deadline)

    def wait(self, predicate, timeout: float = 10.0, what: str = "event") -> Event:
        """The first event (from now on) for which predicate(event) is true."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; saw {seen[-10:]}")
            try:
                ev = self.next(left)
            except TimeoutError:
                continue
            seen.append(ev)
            if predicate(ev):
                return ev

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------
# Password files
# --------------------------------------------------------------------------------------
def passwd_tool(petrel_bin: str) -> list[str]:
    """The repository's petrel_passwd next to the petrel binary (build/<preset>/tools/...),
    else Debian's mosquitto_passwd."""
    p = Path(petrel_bin).resolve().parent.parent.parent / "tools" / "petrel_passwd" / "petrel_passwd"
    if p.is_file():
        return [str(p)]
    if shutil.which("mosquitto_passwd"):
        return ["mosquitto_passwd"]
    pytest.fail("neither petrel_passwd nor mosquitto_passwd found", pytrace=False)


def make_password_file(petrel_bin: str, path: Path, users: dict[str, str]) -> Path:
    tool = passwd_tool(petrel_bin)
    first = True
    for user, password in users.items():
        args = tool + (["-c"] if first else []) + ["-b", str(path), user, password]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
        first = False
    return path


# --------------------------------------------------------------------------------------
# Petrel with an admin listener
# --------------------------------------------------------------------------------------
class AdminBroker:
    """A running Petrel: `b` (conftest.Broker; listener 0 is MQTT, listener 1 the admin),
    `api` (Bearer, logged in as admin), `basic` (Basic credentials), `anon` (none)."""

    def __init__(self, b: Broker, state_dir: Path, password_file: Path, ssl_context=None):
        self.b = b
        self.state_dir = state_dir
        self.password_file = password_file
        self.http_host, self.http_port = b.listeners[1]
        self.anon = Api(self.http_host, self.http_port, ssl_context=ssl_context)
        self.basic = self.anon.with_auth(("basic", ADMIN_USER, ADMIN_PASSWORD))
        self.api = self.anon.bearer()

    @property
    def conf_path(self) -> Path:
        return self.b.conf_path

    @property
    def mqtt_port(self) -> int:
        return self.b.listeners[0][1]

    def conf_bytes(self) -> bytes:
        return self.b.conf_path.read_bytes()

    def connect(self, client_id: str | None = None, version: int = mq.V5, **kw) -> mq.Client:
        cid = client_id or f"c{os.getpid()}-{next(_ids)}"
        return self.b.connect(cid, version=version, **kw)

    def log(self) -> str:
        return self.b.log()

    def wait_log(self, pattern: str, timeout: float = 10.0, start: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.MULTILINE)
        while True:
            m = rx.search(self.log(), start)
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError(f"the log never matched {pattern!r} in {timeout}s; tail:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def status(self) -> dict:
        return self.api.ok("GET", "/api/petrel/v1/status")

    def wait_status(self, predicate, timeout: float = 15.0, what: str = "status") -> dict:
        deadline = time.monotonic() + timeout
        while True:
            s = self.status()
            if predicate(s):
                return s
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last status: {json.dumps(s)[:3000]}")
            time.sleep(0.1)


def admin_config(factory, mqtt_port: int, http_port: int, state_dir: Path, password_file: Path,
                 lines=(), mqtt_lines=(), http_lines=(), anonymous: bool = True) -> str:
    out = ["# generated by tests/integration/admin_support.py"]
    if factory.threads:
        out.append(f"threads {factory.threads}")
    if anonymous:
        out.append("allow_anonymous true")
    out += [f"state_dir {state_dir}", f"http_api_password_file {password_file}"]
    out += list(lines)
    out.append(f"listener {mqtt_port} 127.0.0.1")
    out += list(mqtt_lines)
    out += [f"listener {http_port} 127.0.0.1", "protocol http_api"]
    out += list(http_lines)
    return "\n".join(out) + "\n"


def start_admin(factory, lines=(), mqtt_lines=(), http_lines=(), users: dict[str, str] | None = None,
                anonymous: bool = True, verbose: bool = False, args=(), ssl_context=None) -> AdminBroker:
    """Start Petrel with an MQTT listener and an admin listener (see AdminBroker). With
    `ssl_context` the admin clients use HTTPS (give the listener certfile/keyfile in
    http_lines)."""
    assert factory.kind == "petrel", "the admin API tests run against Petrel only"
    n = len(factory.brokers)
    state_dir = factory.workdir / f"state{n}"
    state_dir.mkdir(mode=0o700)
    password_file = factory.workdir / f"admin{n}.passwd"
    make_password_file(factory.binary, password_file, users or {ADMIN_USER: ADMIN_PASSWORD})
    last = ""
    for attempt in range(3):
        b = Broker("petrel", factory.binary, factory.workdir, f"broker{len(factory.brokers)}")
        b.listeners = [("127.0.0.1", free_port()), ("127.0.0.1", free_port())]
        text = admin_config(factory, b.listeners[0][1], b.listeners[1][1], state_dir, password_file,
                            lines, mqtt_lines, http_lines, anonymous)
        b.conf_path.write_text(keep_root(text))
        cmd = [factory.binary, "-c", str(b.conf_path)] + (["-v"] if verbose else []) + list(args)
        with open(b.log_path, "wb") as logf:
            b.proc = factory._spawn(cmd, logf)
        factory.brokers.append(b)
        if all(wait_port(h, p, START_TIMEOUT, b.proc) for h, p in b.listeners):
            return AdminBroker(b, state_dir, password_file, ssl_context)
        b.expect_exit = True
        b.stop()
        last = b.log()
        if "in use" not in last.lower():
            break
    pytest.fail(f"petrel with an admin listener did not start:\nconfig:\n{text}\nlog:\n{last}", pytrace=False)


@pytest.fixture
def admin(broker, broker_kind):
    """Factory: `a = admin(lines=[...], mqtt_lines=[...])` starts Petrel with an admin
    listener (see start_admin). Skipped with --broker=mosquitto."""
    if broker_kind != "petrel":
        pytest.skip("petrel_only: the admin API is Petrel's")

    def start(**kw) -> AdminBroker:
        return start_admin(broker, **kw)
    start.factory = broker
    return start


# --------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------
def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run(args: list[str], timeout: float = 20.0, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)


def openssl(*args: str, cwd: Path, input: str | None = None) -> str:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, input=input)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def mqtt_still_works(a: AdminBroker, c: mq.Client, topic: str, payload: bytes) -> None:
    """`c` (subscribed to `topic` at QoS 1) is still connected: it publishes on `topic`
    and receives its own message."""
    c.publish(topic, payload, qos=1)
    p = c.recv_publish(timeout=10)
    assert (p.topic, p.payload) == (topic, payload)


def sighup(a: AdminBroker, timeout: float = 10.0) -> None:
    """SIGHUP once petrel handles it. Petrel installs its signal handlers only after its
    listeners are open (and its bridges subscribed), and until then SIGHUP's default action
    ends the process; the handler shows in /proc/PID/status (SigCgt, bit 1 = SIGHUP)."""
    def caught() -> bool:
        with open(f"/proc/{a.b.pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
        return False
    wait_until(caught, timeout, what="petrel's SIGHUP handler")
    a.b.signal(signal.SIGHUP)


def holding_port(host: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """A listening socket on a free port, held by the test (the caller closes it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(1)
    return s, s.getsockname()[1]
