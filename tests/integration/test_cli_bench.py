"""petrel_bench, the load generator of bench/run: its verdicts must be right.

It checks every delivery (sequence numbers per publisher, the codec's decode); for a
3.x PUBLISH on the topic it validated last it compares the topic's bytes instead of
validating them again. These tests run it against Petrel (nothing lost, misrouted or
foreign in any scenario) and through a relay that corrupts one delivery's topic, which
it must report instead of counting the message.
"""
from __future__ import annotations

import json
import socket
import subprocess
import threading

import pytest

import rawmqtt as mq
from test_cli_support import petrel_tool

RUN_TIMEOUT = 30.0


def run_bench(port: int, *args: str) -> dict:
    cmd = [petrel_tool("bench"), "-p", str(port), "-d", "1", "-w", "0.3", "--json", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.stdout.strip(), f"no JSON from {cmd}: exit {p.returncode}, stderr {p.stderr}"
    return json.loads(p.stdout)


@pytest.mark.parametrize("args", [
    ["-s", "fan-out", "-S", "5", "-q", "0"],
    ["-s", "fan-out", "-S", "5", "-q", "1"],
    ["-s", "fan-in", "-P", "4", "-q", "0"],
    ["-s", "fan-in", "-P", "4", "-q", "2"],
    ["-s", "pairs", "-P", "3", "-q", "1", "--mqtt", "5"],
], ids=["fanout-q0", "fanout-q1", "fanin-q0", "fanin-q2", "pairs-q1-v5"])
def test_bench_against_petrel_counts_every_message(b, args):
    r = run_bench(b.port, *args)
    assert r["ok"], r
    assert r["received"] > 0
    for k in ("lost", "duplicated", "misrouted", "foreign", "bad_acks", "undelivered"):
        assert r[k] == 0, (k, r)
    assert r["unique"] == r["expected"], r


@pytest.mark.parametrize("mqtt", ["311", "5"])
def test_bench_persistent_subscribers_keep_their_sessions(b, mqtt):
    # --persistent: the subscribers' sessions outlive the run (3.1.1 clean session 0, v5
    # Session Expiry Interval), the publishers' do not; acknowledgements are timed.
    prefix = f"pbtest-{mqtt}-"
    r = run_bench(b.port, "-s", "pairs", "-P", "2", "-q", "1", "--mqtt", mqtt, "--persistent",
                  "--client-prefix", prefix)
    assert r["ok"], r
    for k in ("lost", "duplicated", "misrouted", "foreign", "bad_acks", "undelivered"):
        assert r[k] == 0, (k, r)
    assert r["acked_per_s"] > 0 and r["ack_latency_us"]["count"] > 0, r
    version = mq.V5 if mqtt == "5" else mq.V311
    for cid, kept in ((prefix + "s0", True), (prefix + "s1", True), (prefix + "p0", False)):
        with mq.Client(b.port, version=version) as c:
            ack = c.connect(cid, clean=False, props={"session_expiry_interval": 0} if version == mq.V5 else None)
            assert ack.session_present == kept, (cid, ack)


def split_packets(buf: bytes) -> tuple[list[tuple[bytearray, int]], bytes]:
    """The complete MQTT packets at the start of buf, each with the length of its fixed
    header, and the bytes left over (a partial packet)."""
    out = []
    while len(buf) >= 2:
        length, mult, i = 0, 1, 1
        while i < len(buf) and buf[i] & 0x80:
            length += (buf[i] & 0x7F) * mult
            mult *= 128
            i += 1
        if i >= len(buf):
            break
        length += (buf[i] & 0x7F) * mult
        end = i + 1 + length
        if len(buf) < end:
            break
        out.append((bytearray(buf[:end]), i + 1))
        buf = buf[end:]
    return out, buf


class LoopbackServer:
    """Accepts on a random loopback port; on_accept(conn) runs for each connection.
    close() stops accepting, closes every socket and joins every thread."""

    def __init__(self):
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(0.2)  # here, not in the thread: close() may come first
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.socks: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.spawn(self.accept)

    def spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            self.socks.append(c)
            self.on_accept(c)

    def on_accept(self, conn: socket.socket):
        raise NotImplementedError

    def close(self):
        self.stop.set()
        for s in self.socks + [self.srv]:
            try:
                s.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=2)


class TopicCorruptingRelay(LoopbackServer):
    """Forwards bytes both ways; from the broker to the client it rewrites the topic of
    the Nth PUBLISH of every connection, keeping its length, to one with a '+' (a
    wildcard is not allowed in a PUBLISH topic [MQTT-3.3.2-2])."""

    def __init__(self, broker_port: int, nth: int):
        self.broker_port = broker_port
        self.nth = nth
        self.corrupted = 0
        super().__init__()

    def on_accept(self, c):
        u = socket.create_connection(("127.0.0.1", self.broker_port))
        self.socks.append(u)
        self.spawn(self.up, c, u)
        self.spawn(self.down, u, c)

    @staticmethod
    def up(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def down(self, src, dst):
        buf = b""
        publishes = 0
        try:
            while data := src.recv(65536):
                packets, buf = split_packets(buf + data)
                out = bytearray()
                for pkt, hdr in packets:
                    if pkt[0] >> 4 == mq.PUBLISH:
                        publishes += 1
                        if publishes == self.nth:
                            tlen = pkt[hdr] << 8 | pkt[hdr + 1]
                            if tlen:
                                pkt[hdr + 2 + tlen - 1] = ord("+")
                                self.corrupted += 1
                    out += pkt
                dst.sendall(bytes(out))
        except OSError:
            pass


@pytest.mark.parametrize("qos", [0, 1])
def test_bench_reports_a_corrupted_topic_on_the_fast_path(b, qos):
    # The 50th delivery of every subscriber: well after the first, whose topic the full
    # decode checked, so the corruption meets the byte comparison.
    relay = TopicCorruptingRelay(b.port, nth=50)
    try:
        r = run_bench(relay.port, "-s", "fan-out", "-S", "2", "-q", str(qos))
    finally:
        relay.close()
    assert relay.corrupted >= 1
    assert not r["ok"], r
    assert "undecodable PUBLISH" in (r["error"] or "") + " ".join(r.get("warnings") or []), r


LONG_PREFIX = "enterprise/plant-042/area-07/line-3/cell-12/press-0004/hydraulics/main-pump/pressure"


def test_bench_counts_the_bytes_topic_aliases_save(b):
    # Subscribers that offer topic aliases get the 88-byte topic once and the alias after:
    # every message still arrives once and on its topic, in far fewer bytes.
    common = ["-s", "fan-out", "-S", "3", "-q", "1", "--mqtt", "5", "--prefix", LONG_PREFIX]
    plain = run_bench(b.port, *common)
    aliased = run_bench(b.port, *common, "--topic-alias-max", "10")
    for r in (plain, aliased):
        assert r["ok"], r
        for k in ("lost", "duplicated", "misrouted", "foreign", "bad_acks", "undelivered"):
            assert r[k] == 0, (k, r)
        assert r["unique"] == r["expected"] and r["publish_packets"] >= r["received"] > 0, r
    assert plain["aliased"] == 0 and plain["bytes_per_publish"] > 88 + 16, plain
    # all but the first delivery to each subscriber carry the alias alone
    assert aliased["aliased"] >= aliased["publish_packets"] - 3, aliased
    assert aliased["bytes_per_publish"] < plain["bytes_per_publish"] - 80, (plain, aliased)


def test_bench_topic_aliases_need_mqtt5(b):
    p = subprocess.run([petrel_tool("bench"), "-p", str(b.port), "--topic-alias-max", "5"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 2 and "--topic-alias-max needs --mqtt 5" in p.stderr, p


class AliasAbusingBroker(LoopbackServer):
    """A fake MQTT 5 broker: CONNACK to every CONNECT, SUBACK to every SUBSCRIBE, then to
    the subscriber one PUBLISH whose Topic Alias it never set (topic empty, alias 3)."""

    def __init__(self):
        self.sent_bad = threading.Event()
        super().__init__()

    def on_accept(self, c):
        self.spawn(self.serve, c)

    def serve(self, c: socket.socket):
        buf = b""
        try:
            while data := c.recv(65536):
                packets, buf = split_packets(buf + data)
                for pkt, hdr in packets:
                    kind = pkt[0] >> 4
                    if kind == mq.CONNECT:
                        c.sendall(bytes([0x20, 3, 0, 0, 0]))
                    elif kind == mq.SUBSCRIBE:
                        c.sendall(bytes([0x90, 4]) + pkt[hdr:hdr + 2] + bytes([0, 0]))
                        c.sendall(mq.publish(b"", b"x" * 16, props={"topic_alias": 3}))
                        self.sent_bad.set()
        except OSError:
            pass


def test_bench_reports_a_topic_alias_the_broker_never_set(b):
    fake = AliasAbusingBroker()
    try:
        r = run_bench(fake.port, "-s", "fan-out", "-S", "1", "--mqtt", "5", "--topic-alias-max", "10")
    finally:
        fake.close()
    assert fake.sent_bad.is_set()
    assert not r["ok"], r
    assert "topic alias 3 that it never set" in (r["error"] or "") + " ".join(r.get("warnings") or []), r
