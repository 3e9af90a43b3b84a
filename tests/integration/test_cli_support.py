"""Shared fixtures and helpers for the petrel_pub / petrel_sub / petrel_rr tests
(test_cli_*.py). Not a test module itself (it only defines helpers); the test files import
what they use from it.

Tools are looked up in $PETREL_TOOLS_DIR, then build/{release,debug}/tools and
/tmp/build-client/tools. Every server is started on a random loopback port and stopped by
pid; every subprocess has a timeout.
"""
from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

import rawmqtt as mq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MOSQUITTO = "/usr/sbin/mosquitto"
MOSQ_TOOLS = {"pub": "/usr/bin/mosquitto_pub", "sub": "/usr/bin/mosquitto_sub",
              "rr": "/usr/bin/mosquitto_rr"}
RUN_TIMEOUT = 15.0


def tools_dir() -> Path | None:
    candidates = []
    if os.environ.get("PETREL_TOOLS_DIR"):
        candidates.append(Path(os.environ["PETREL_TOOLS_DIR"]))
    candidates += [REPO / "build" / "release" / "tools", REPO / "build" / "debug" / "tools",
                   Path("/tmp/build-client/tools")]
    for c in candidates:
        if (c / "petrel_sub" / "petrel_sub").is_file():
            return c
    return None


def petrel_tool(name: str) -> str:
    d = tools_dir()
    if d is None:
        pytest.skip("petrel_pub/petrel_sub/petrel_rr not built (set PETREL_TOOLS_DIR)")
    return str(d / f"petrel_{name}" / f"petrel_{name}")


def both(name: str) -> dict[str, str]:
    """{'petrel': path of petrel_<name>, 'mosquitto': path of mosquitto_<name>}"""
    return {"petrel": petrel_tool(name), "mosquitto": MOSQ_TOOLS[name]}


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_listening(host: str, port: int, proc: subprocess.Popen, timeout: float = 10.0) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return True
        except OSError:
            time.sleep(0.02)
    return False


class MosqServer:
    """A /usr/sbin/mosquitto process (for tests that need it whatever --broker says)."""
    kind = "mosquitto"

    def __init__(self, workdir: Path, name: str):
        self.workdir = workdir
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.listeners: list[tuple[str, int]] = []
        self.log_path = workdir / f"{name}.log"

    @property
    def host(self) -> str:
        return self.listeners[0][0]

    @property
    def port(self) -> int:
        return self.listeners[0][1]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


class MosqFactory:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.servers: list[MosqServer] = []

    def __call__(self, extra=(), anonymous: bool = True, hosts=None, listener_extra=None,
                 raw_listeners=None) -> MosqServer:
        """Start mosquitto. `raw_listeners`: list of (host, lines) for listeners needing
        their own options (TLS, PSK, websockets); the port is chosen here."""
        last = ""
        for _ in range(3):
            srv = MosqServer(self.workdir, f"mosq{len(self.servers)}")
            # "user root": mosquitto started as root would drop to user mosquitto, which
            # cannot read files or create sockets under pytest's tmp_path.
            lines = ["per_listener_settings false", "user root"]
            if anonymous:
                lines.append("allow_anonymous true")
            lines += list(extra)
            specs = raw_listeners or [(h, list(listener_extra or [])) for h in (hosts or ["127.0.0.1"])]
            for host, opts in specs:
                port = free_port(host)
                srv.listeners.append((host, port))
                lines.append(f"listener {port} {host}")
                lines += list(opts)
            conf = self.workdir / f"{srv.name}.conf"
            conf.write_text("\n".join(lines) + "\n")
            logf = open(srv.log_path, "wb")
            srv.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf), "-v"], stdout=logf,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=self.workdir, start_new_session=True)
            logf.close()
            self.servers.append(srv)
            if all(wait_listening(h, p, srv.proc) for h, p in srv.listeners):
                return srv
            srv.stop()
            last = srv.log()
        pytest.fail(f"mosquitto did not start:\n{last}")

    def stop_all(self) -> None:
        for s in self.servers:
            s.stop()


@pytest.fixture
def mosquitto(tmp_path):
    """Factory for Debian's mosquitto broker: mosquitto(extra=[...], anonymous=True)."""
    f = MosqFactory(tmp_path)
    yield f
    f.stop_all()


@pytest.fixture(params=["petrel", "mosquitto"])
def server(request, tmp_path):
    """Factory for a broker of the parametrized kind (Petrel via conftest's `broker`
    fixture, or mosquitto): server(extra=[...], anonymous=True, hosts=[...])."""
    if request.param == "petrel":
        return request.getfixturevalue("broker")
    return request.getfixturevalue("mosquitto")


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------
_LIVE_PROCS: list["Proc"] = []


@pytest.fixture(autouse=True)
def reap_procs():
    """Kills (by pid) every tool a test started, whatever the test's outcome. Test modules
    import this fixture so that it applies to them."""
    yield
    while _LIVE_PROCS:
        _LIVE_PROCS.pop().kill()


class Proc:
    """A running tool whose stdout/stderr are collected by threads."""

    def __init__(self, cmd: list[str], stdin: bytes | None = None, env=None,
                 keep_stdin: bool = False):
        """stdin bytes are written then stdin is closed; keep_stdin leaves an open pipe."""
        self.cmd = cmd
        piped = stdin is not None or keep_stdin
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                                  env=env)
        _LIVE_PROCS.append(self)
        self.out = bytearray()
        self.err = bytearray()
        self._threads = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.p.stderr, self.err), daemon=True)]
        for t in self._threads:
            t.start()
        if stdin is not None and not keep_stdin:
            try:
                self.p.stdin.write(stdin)
                self.p.stdin.close()
            except BrokenPipeError:
                pass

    @staticmethod
    def _pump(pipe, buf: bytearray) -> None:
        while True:
            chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            if not chunk:
                return
            buf.extend(chunk)

    def wait_output(self, nbytes: int = 1, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.out) >= nbytes:
                return True
            if self.p.poll() is not None:
                time.sleep(0.05)
                return len(self.out) >= nbytes
            time.sleep(0.01)
        return False

    def wait_for(self, needle: bytes, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.out:
                return True
            if self.p.poll() is not None:
                time.sleep(0.05)
                return needle in self.out
            time.sleep(0.01)
        return False

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
            raise AssertionError(f"timed out: {' '.join(self.cmd)}\nstdout={bytes(self.out)!r}\n"
                                 f"stderr={bytes(self.err)!r}")
        for t in self._threads:
            t.join(timeout=5)
        return rc

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)


DEBUG_PREFIXES = (b"Client ", b"Subscribed (mid")


def start_sub(cmd: list[str], env=None, ready: bytes = b"Subscribed (mid", keep_stdin=False) -> Proc:
    """Starts a subscriber (petrel_sub or mosquitto_sub, or any tool with -d) with -d added
    and returns once its debug output shows `ready` (the SUBACK by default), so that tests
    publish only after the subscription exists, however loaded the machine is."""
    # stdbuf: mosquitto's tools print -d lines with printf and flush only message output
    # (ours flush every line; and an LD_PRELOAD would upset an ASan build of them).
    wrap = [] if "petrel_" in os.path.basename(cmd[0]) else ["stdbuf", "-oL"]
    p = Proc(wrap + cmd + ["-d"], env=env, keep_stdin=keep_stdin)
    if not p.wait_for(ready, 15):
        p.kill()
        raise AssertionError(f"not ready: {' '.join(cmd)}\nstdout={bytes(p.out)!r}\nstderr={bytes(p.err)!r}")
    return p


def strip_debug(data: bytes) -> bytes:
    """The output of a -d run without the debug lines (messages must end with a newline)."""
    return b"".join(line for line in bytes(data).splitlines(keepends=True) if not line.startswith(DEBUG_PREFIXES))


def run(cmd: list[str], stdin: bytes | None = None, timeout: float = RUN_TIMEOUT):
    """Runs a tool to completion: (exit status, stdout bytes, stderr bytes)."""
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def addr(srv) -> list[str]:
    return ["-h", srv.host, "-p", str(srv.port)]


def unique(prefix: str = "cli") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------
# Publishing test messages with exact bytes and properties (rawmqtt, not our tools)
# --------------------------------------------------------------------------------------
def publish(srv, messages, version: int = mq.V5) -> None:
    """messages: list of dicts {topic, payload (bytes), qos, retain, props}."""
    with mq.Client(srv.port, host=srv.host, version=version) as c:
        c.connect(f"pubhelper-{uuid.uuid4().hex[:8]}")
        for m in messages:
            c.publish(m["topic"], m.get("payload", b""), qos=m.get("qos", 0),
                      retain=m.get("retain", False), props=m.get("props") if version == mq.V5 else None)
        c.ping()


def clear_retained(srv, topics) -> None:
    publish(srv, [{"topic": t, "payload": b"", "retain": True, "qos": 1} for t in topics], mq.V311)


TIME_PATTERNS = [
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}"), b"<TST>"),
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}"), b"<ISO>"),
    (re.compile(rb"\d{9,11}\.\d{9}"), b"<UNIX>"),
]


def mask_times(data: bytes) -> bytes:
    for rx, repl in TIME_PATTERNS:
        data = rx.sub(repl, data)
    return data


def compare_sub(srv, sub_args: list[str], messages: list[dict], *, pub_version: int = mq.V5,
                sub_version: str | None = None, count: int | None = None, mask: bool = False,
                stdin=None):
    """Runs petrel_sub and mosquitto_sub side by side on the same broker with the same
    arguments, publishes `messages` (topics relative to a fresh base) once both have
    printed a retained sync message, and returns {'petrel': (rc, out, err), 'mosquitto': ...}.
    The sync message is printed by both and so is part of the compared output."""
    base = unique("cmp")
    sync_topic = f"{base}/0sync"
    publish(srv, [{"topic": sync_topic, "payload": b"sync", "retain": True}], mq.V311)
    n = (count if count is not None else len(messages)) + 1
    procs = {}
    for kind, tool in both("sub").items():
        cmd = [tool] + addr(srv) + ["-t", f"{base}/#", "-C", str(n)]
        if sub_version:
            cmd += ["-V", sub_version]
        procs[kind] = Proc(cmd + sub_args)
    try:
        for kind, p in procs.items():
            assert p.wait_output(1, 10), f"{kind} printed nothing for the sync message: {bytes(p.err)!r}"
        msgs = [dict(m, topic=f"{base}/{m['topic']}") for m in messages]
        publish(srv, msgs, pub_version)
        results = {}
        for kind, p in procs.items():
            rc = p.wait()
            out = bytes(p.out)
            results[kind] = (rc, mask_times(out) if mask else out, bytes(p.err))
    finally:
        for p in procs.values():
            p.kill()
        clear_retained(srv, [sync_topic])
    return results


def assert_same(results, what: str = "") -> None:
    p, m = results["petrel"], results["mosquitto"]
    assert p[1] == m[1], f"{what}: stdout differs\npetrel:    {p[1]!r}\nmosquitto: {m[1]!r}\n" \
                         f"stderr petrel={p[2]!r} mosquitto={m[2]!r}"
    assert p[0] == m[0], f"{what}: exit status petrel {p[0]} mosquitto {m[0]}"
