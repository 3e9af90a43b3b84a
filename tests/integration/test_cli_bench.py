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


class TopicCorruptingRelay:
    """Forwards bytes both ways; from the broker to the client it rewrites the topic of
    the Nth PUBLISH of every connection, keeping its length, to one with a '+' (a
    wildcard is not allowed in a PUBLISH topic [MQTT-3.3.2-2])."""

    def __init__(self, broker_port: int, nth: int):
        self.broker_port = broker_port
        self.nth = nth
        self.corrupted = 0
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.socks: list[socket.socket] = []
        t = threading.Thread(target=self.accept, daemon=True)
        t.start()
        self.threads.append(t)

    def accept(self):
        self.srv.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            u = socket.create_connection(("127.0.0.1", self.broker_port))
            self.socks += [c, u]
            for target, args in ((self.up, (c, u)), (self.down, (u, c))):
                t = threading.Thread(target=target, args=args, daemon=True)
                t.start()
                self.threads.append(t)

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
                buf += data
                out = bytearray()
                while True:
                    if len(buf) < 2:
                        break
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
                    pkt = bytearray(buf[:end])
                    buf = buf[end:]
                    if pkt[0] >> 4 == 3:
                        publishes += 1
                        if publishes == self.nth:
                            tlen = pkt[i + 1] << 8 | pkt[i + 2]
                            if tlen:
                                pkt[i + 3 + tlen - 1] = ord("+")
                                self.corrupted += 1
                    out += pkt
                dst.sendall(bytes(out))
        except OSError:
            pass

    def close(self):
        self.stop.set()
        for s in self.socks + [self.srv]:
            try:
                s.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=2)


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
