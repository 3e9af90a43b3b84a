"""Shared support for the bridge black-box tests (test_bridge_*.py). No tests live here.

The broker under test (Petrel, or Mosquitto with --broker=mosquitto to validate the tests)
is the *bridging* broker: it is started through the suite's `broker` fixture with the
`connection ...` section after its listener (see `bridging`). The remote ends are always
Debian's Mosquitto 2.0.11, started here on free loopback ports (`remote` fixture). Remote
brokers are registered with the `broker` fixture's factory, so they are stopped by pid at
teardown, a remote that dies unexpectedly fails the test, and their configs and logs are
attached to the report of a failing test like the broker under test's.

Readiness of a bridge is never assumed from timing: `wait_forwarding` publishes probe
messages (payload b"probe...") on a topic the bridge carries until one arrives on the
other side. Data assertions ignore probes (`data`, `recv_data`).

Every bridge in these tests uses `restart_timeout 1` (constant 1 s reconnect delay).
"""
from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rawmqtt as mq
from conftest import START_TIMEOUT, Broker, free_port, keep_root, wait_port

MOSQUITTO = "/usr/sbin/mosquitto"
V31, V311, V5 = mq.V31, mq.V311, mq.V5

RESTART = "restart_timeout 1"
# Not `max_inflight_messages 0` (unlimited): Mosquitto 2.0.11's MQTT 5 bridges then send
# Receive Maximum 0 in their CONNECT, a protocol error that Petrel (and Mosquitto itself,
# as a server) refuses.
REMOTE_LIMITS = ["max_inflight_messages 1000", "max_queued_messages 10000"]
PROBE = b"probe"
# Upper bound for a bridge to (re)connect: restart_timeout 1 plus slack for a loaded host
# running the suite with -n 4 on two cores.
CONNECT_TIMEOUT = 15.0


# --------------------------------------------------------------------------------------
# Config snippets
# --------------------------------------------------------------------------------------
def root_lines(kind: str) -> list[str]:
    """Mosquitto started as root drops to the `mosquitto` user, who cannot read the test's
    temporary files (PKI, persistence directory); `user root` keeps it as root. Petrel does
    not switch users."""
    return ["user root"] if kind == "mosquitto" and os.geteuid() == 0 else []


def bridge(name: str, addresses, topics, *more: str, restart: bool = True) -> list[str]:
    """A `connection` section. `addresses`: one or a list of "host:port" strings, (host,
    port) tuples or Broker objects (one `address` line listing them all, primary first);
    `topics`: the text after `topic` for each rule; `more`: further bridge options."""
    if not isinstance(addresses, list):
        addresses = [addresses]
    addrs = []
    for a in addresses:
        if isinstance(a, Remote):
            a = a.bridge_address
        elif isinstance(a, Broker):
            a = (a.host, a.port)
        if isinstance(a, tuple):
            host, port = a
            a = f"{host}:{port}"  # IPv6 too: Mosquitto splits at the last ':' (no brackets)
        addrs.append(a)
    if isinstance(topics, str):
        topics = [topics]
    lines = [f"connection {name}", "address " + " ".join(addrs)]
    lines += [f"topic {t}" for t in topics]
    if restart:
        lines.append(RESTART)
    return lines + list(more)


def bridging(broker, bridge_lines, extra=(), **kw) -> Broker:
    """Start the broker under test with `bridge_lines` (one or more `connection` sections)
    after its listener. `extra`: global lines before the listener."""
    extra = list(extra.splitlines() if isinstance(extra, str) else extra)
    return broker(root_lines(broker.kind) + extra, listener_extra=list(bridge_lines), **kw)


# --------------------------------------------------------------------------------------
# Remote Mosquitto brokers
# --------------------------------------------------------------------------------------
class Remote(Broker):
    """A Mosquitto 2.0.11 on a free loopback port with a generated config. stop()/kill()
    and start() again keep the port and append to the same log file."""

    def __init__(self, factory, name: str, lines, listener_lines, host: str, port: int | None,
                 anonymous: bool, persistence_dir: Path | None = None, bridge_listener=None,
                 bridge_host: str = "127.0.0.1"):
        super().__init__("mosquitto", MOSQUITTO, factory.workdir, name)
        self.factory = factory
        self.lines = list(lines)
        self.listener_lines = list(listener_lines)
        self.bridge_listener = None if bridge_listener is None else list(bridge_listener)
        self.anonymous = anonymous
        self.listeners = [(host, port or free_port(host))]
        if self.bridge_listener is not None:
            self.listeners.append((bridge_host, free_port(bridge_host)))
        self.persistence_dir = persistence_dir
        self.starts = 0

    @property
    def bridge_address(self) -> tuple[str, int]:
        """Where bridges connect: the `bridge_listener` when there is one (e.g. TLS),
        else the only listener. Test clients use listener 0 (plain MQTT)."""
        return self.listeners[-1]

    def config_text(self) -> str:
        out = ["# remote broker for a bridge test (tests/integration/bridge_support.py)"] + root_lines("mosquitto")
        # Mosquitto 2.0.11 can deliver QoS 1/2 messages out of order (and, as a bridge,
        # lose some) when a client's in-flight window is full and more arrive: the remote
        # is not under test, so its windows and queues are large (REMOTE_LIMITS).
        out += REMOTE_LIMITS
        if self.anonymous:
            out.append("allow_anonymous true")
        if self.persistence_dir is not None:
            self.persistence_dir.mkdir(parents=True, exist_ok=True)
            out += ["persistence true", f"persistence_location {self.persistence_dir}/"]
        out += self.lines
        host, port = self.listeners[0]
        out.append(f"listener {port} {host}")
        out += self.listener_lines
        if self.bridge_listener is not None:
            host, port = self.listeners[1]
            out.append(f"listener {port} {host}")
            out += self.bridge_listener
        return "\n".join(out) + "\n"

    def start(self, wait: bool = True) -> "Remote":
        assert not self.alive(), f"{self.name} is already running"
        self.conf_path.write_text(keep_root(self.config_text()))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with open(self.log_path, "ab") as logf:
                if self.starts:
                    logf.write(f"---- {self.name} restarted ----\n".encode())
                    logf.flush()
                self.proc = self.factory._spawn([MOSQUITTO, "-c", str(self.conf_path), "-v"], logf)
            self.starts += 1
            self.expect_exit = False
            if not wait:
                return self
            if all(wait_port(host, port, max(0.5, deadline - time.monotonic()), self.proc)
                   for host, port in self.listeners):
                return self
            self.expect_exit = True
            self.stop()
            # Restarting on the same port can race the previous process's socket (or a
            # client port that happened to take it); retry until the start deadline. A
            # first start takes other free ports (another test's broker got the same one).
            if time.monotonic() >= deadline or "in use" not in self.log()[-2000:].lower():
                pytest.fail(f"remote mosquitto {self.name} did not start on {self.listeners}:\n{self.log()[-4000:]}",
                            pytrace=False)
            if self.starts == 1:
                self.listeners = [(h, free_port(h)) for h, _ in self.listeners]
                self.conf_path.write_text(keep_root(self.config_text()))
            time.sleep(0.2)

    def stop(self, timeout: float = 5.0) -> int | None:
        self.expect_exit = True
        return super().stop(timeout)

    def kill(self) -> None:
        """SIGKILL: the remote vanishes without closing anything gracefully."""
        self.expect_exit = True
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)

    def restart(self) -> "Remote":
        self.stop()
        return self.start()


class RemoteFactory:
    def __init__(self, factory):
        self.factory = factory
        self.count = itertools.count()

    def __call__(self, lines=(), listener_lines=(), host: str = "127.0.0.1", port: int | None = None,
                 anonymous: bool = True, persistence: bool = False, start: bool = True,
                 name: str | None = None, bridge_listener=None, bridge_host: str = "127.0.0.1") -> Remote:
        """A remote Mosquitto. `lines`: global config lines; `listener_lines`: lines after
        its first listener (plain MQTT on `host`, used by the test's clients);
        `bridge_listener`: lines of a second listener on `bridge_host` that bridges use
        (TLS, PSK...); `persistence`: `persistence true` in a private directory."""
        n = next(self.count)
        name = name or f"remote{n}"
        pdir = self.factory.workdir / f"{name}-db" if persistence else None
        r = Remote(self.factory, name, lines, listener_lines, host, port, anonymous, pdir,
                   bridge_listener, bridge_host)
        self.factory.brokers.append(r)
        if start:
            r.start()
        return r


@pytest.fixture
def remote(broker):
    """Factory for remote Mosquitto brokers (see RemoteFactory.__call__). They share the
    `broker` fixture's teardown (stopped by pid, logs attached on failure)."""
    return RemoteFactory(broker)


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------
_ids = itertools.count()


def client(b: Broker, client_id: str | None = None, version: int = V5, **kw) -> mq.Client:
    """A connected rawmqtt client (CONNACK 0) to broker `b`."""
    cid = client_id or f"t{os.getpid()}-{next(_ids)}"
    return b.connect(cid, version=version, **kw)


def subscriber(b: Broker, filters, qos: int = 2, client_id: str | None = None, version: int = V5,
               **kw) -> mq.Client:
    """A client subscribed to `filters` (a filter or a list) with `qos`."""
    c = client(b, client_id, version, **kw)
    if isinstance(filters, str):
        filters = [filters]
    ack = c.subscribe([(f, qos) for f in filters])
    assert all(code < 0x80 for code in ack.codes), ack
    c.granted = ack.codes
    return c


def is_probe(p: mq.Packet) -> bool:
    return p.payload.startswith(PROBE)


def data(packets) -> list[mq.Packet]:
    return [p for p in packets if not is_probe(p)]


def recv_data(c: mq.Client, n: int, timeout: float = 10.0) -> list[mq.Packet]:
    """Receive PUBLISH packets (acknowledging them) until `n` non-probe messages arrived;
    fails after `timeout` seconds with what arrived so far."""
    deadline = time.monotonic() + timeout
    out: list[mq.Packet] = []
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out: {len(out)} of {n} messages arrived: "
                                 f"{[(p.topic, p.payload) for p in out][:20]}")
        try:
            pkts = c.collect(idle=min(left, 0.5), total=left)
        except TimeoutError:
            continue
        out += data(pkts)
    return out


def quiet(c: mq.Client, idle: float = 0.5, total: float = 5.0) -> list[mq.Packet]:
    """Everything (non-probe) that arrives until `idle` seconds pass with nothing."""
    return data(c.collect(idle=idle, total=total))


class SteadyPublisher:
    """A device: QoS 1 messages 0, 1, 2... (from `first`) on `topic` from the connected
    client `c`, one every `interval` seconds, in a thread until stop(); each is published
    only after the previous one was acknowledged (PUBACK reason 0), and `acked` counts
    them."""

    def __init__(self, c: mq.Client, topic: str, interval: float, first: int = 0):
        self.c = c
        self.topic, self.interval = topic, interval
        self.acked = first
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                ack = self.c.publish(self.topic, b"%d" % self.acked, qos=1)
                assert ack is not None and ack.rc == 0, ack
                self.acked += 1
                self._stop.wait(self.interval)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> int:
        self._stop.set()
        self.thread.join(timeout=30)
        assert self.error is None, f"publisher on {self.topic} failed: {self.error!r}"
        self.c.close()
        return self.acked


class Collector:
    """Receives on `c` in a background thread (acknowledging QoS 1 and 2 like a
    well-behaved client) so that brokers never queue for it; `wait(n)` blocks until n
    non-probe messages arrived. Only this thread may use `c` until stop()."""

    def __init__(self, c: mq.Client):
        self.c = c
        self.lock = threading.Lock()
        self.packets: list[mq.Packet] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    p = self.c.recv(0.1)
                except TimeoutError:
                    continue
                if p.type == mq.PUBLISH:
                    if p.qos == 1:
                        self.c.send(mq.puback(p.pid, version=self.c.version))
                    elif p.qos == 2:
                        self.c.send(mq.pubrec(p.pid, version=self.c.version))
                    with self.lock:
                        self.packets.append(p)
                elif p.type == mq.PUBREL:
                    self.c.send(mq.pubcomp(p.pid, version=self.c.version))
                else:
                    raise AssertionError(f"unexpected {p!r} on a subscriber")
        except BaseException as exc:  # reported by wait()/stop()
            if not self._stop.is_set():
                self.error = exc

    def data(self) -> list[mq.Packet]:
        with self.lock:
            return data(self.packets)

    def payloads(self) -> list[bytes]:
        return [p.payload for p in self.data()]

    def wait(self, n: int, timeout: float = 10.0) -> list[mq.Packet]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.data()
            if len(got) >= n:
                return got
            if self.error is not None:
                raise AssertionError(f"subscriber failed after {len(got)} messages: {self.error!r}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s: {len(got)} of {n} messages arrived; "
                                     f"last: {[(p.topic, p.payload) for p in got[-5:]]}")
            time.sleep(0.02)

    def settle(self, idle: float = 0.5, total: float = 5.0) -> list[mq.Packet]:
        """Wait until nothing new arrived for `idle` seconds; returns the data messages."""
        deadline = time.monotonic() + total
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len(self.data())
            if n != count:
                count, since = n, time.monotonic()
            elif time.monotonic() - since >= idle:
                break
            time.sleep(0.02)
        return self.data()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.c.close()


def wait_forwarding(src: Broker, src_topic: str, dst: Broker, dst_topic: str, qos: int = 0,
                    timeout: float = CONNECT_TIMEOUT, interval: float = 0.2, retain: bool = False) -> None:
    """Publish probes on `src_topic` at `src` every `interval` seconds until one arrives
    on `dst_topic` at `dst` (the bridge is connected and subscribed in that direction).
    Uses its own two connections; probes still in flight may reach other subscribers of
    those topics later (filter them with `data`)."""
    sub = subscriber(dst, dst_topic, qos=max(qos, 1))
    pub = client(src)
    try:
        deadline = time.monotonic() + timeout
        n = 0
        while True:
            pub.publish(src_topic, PROBE + b"-%d" % n, qos=qos, retain=retain)
            n += 1
            step_end = min(deadline, time.monotonic() + interval)
            while True:
                try:
                    p = sub.recv_publish(timeout=max(0.01, step_end - time.monotonic()))
                except TimeoutError:
                    break
                if p.topic == dst_topic:
                    return
            if time.monotonic() >= deadline:
                raise AssertionError(f"no probe published on {src.name}:{src_topic} arrived on "
                                     f"{dst.name}:{dst_topic} within {timeout}s")
    finally:
        if retain:
            pub.publish(src_topic, b"", qos=1, retain=True)
        pub.close()
        sub.close()


def wait_retained(b: Broker, topic: str, payload: bytes, timeout: float = CONNECT_TIMEOUT,
                  version: int = V5, qos: int = 0) -> mq.Packet:
    """Subscribe with fresh connections until the retained message on `topic` at `b` has
    `payload` (e.g. a $SYS bridge state); returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        c = subscriber(b, topic, qos=qos, version=version)
        try:
            got = c.collect(idle=0.2, total=1.0)
        finally:
            c.close()
        for p in got:
            if p.topic == topic and p.retain:
                last = p
        if last is not None and last.payload == payload:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"retained {topic!r} on {b.name} is {last.payload if last else None!r}, "
                                 f"expected {payload!r} (waited {timeout}s)")
        time.sleep(0.1)


def retained(b: Broker, topic: str, version: int = V5) -> mq.Packet | None:
    """The retained message on `topic` at `b` right now, or None."""
    c = subscriber(b, topic, qos=1, version=version)
    try:
        got = [p for p in c.collect(idle=0.3, total=2.0) if p.retain and p.topic == topic]
    finally:
        c.close()
    return got[-1] if got else None


def bridge_sys(b, name: str, leaf: str) -> bytes | None:
    """Petrel's retained $SYS/broker/bridge/<name>/<leaf> right now (None: not set)."""
    p = retained(b, f"$SYS/broker/bridge/{name}/{leaf}")
    return None if p is None else p.payload


def wait_bridge_sys(b, name: str, leaf: str, accept, timeout: float = 15.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        v = bridge_sys(b, name, leaf)
        if v is not None and accept(v):
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"$SYS/broker/bridge/{name}/{leaf} is {v!r} after {timeout}s")
        time.sleep(0.1)


# --------------------------------------------------------------------------------------
# Logs, processes
# --------------------------------------------------------------------------------------
def wait_log(b: Broker, pattern: str, timeout: float = CONNECT_TIMEOUT, start: int = 0) -> re.Match:
    """Wait until the regular expression `pattern` matches b's log (from offset `start`)."""
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    while True:
        m = rx.search(b.log(), start)
        if m:
            return m
        if time.monotonic() >= deadline:
            raise AssertionError(f"{b.name}'s log never matched {pattern!r} (waited {timeout}s); "
                                 f"tail:\n{b.log()[-3000:]}")
        time.sleep(0.05)


def log_count(b: Broker, pattern: str) -> int:
    return len(re.findall(pattern, b.log(), re.IGNORECASE | re.MULTILINE))


def connects_as(remote: Broker, client_id: str) -> int:
    """How many times `client_id` connected to the remote Mosquitto (its -v log line is
    "New client connected from ... as ID (" or "New bridge connected from ... as ID (")."""
    return log_count(remote, rf"New (?:client|bridge) connected from \S+ as {re.escape(client_id)} \(")


def hup(b: Broker) -> None:
    b.signal(signal.SIGHUP)


def listening_sockets(pid: int) -> list[int]:
    """Ports the process `pid` listens on (TCP, IPv4 and IPv6), from /proc."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    ports = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def run_config_check(binary: str, conf: Path, timeout: float = 10.0) -> tuple[int, str]:
    """Start `binary -c conf` and expect it to exit on its own (an invalid config);
    returns (status, output)."""
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{binary} kept running with the invalid configuration {conf}")
    return proc.returncode, out
