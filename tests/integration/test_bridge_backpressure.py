"""A bridge that falls behind never drops acknowledged messages silently (issue 15).

- A connected bridge that drains (its remote completes messages, however slowly) is never a
  slow consumer: publishers are held back while its queue is long, for as long as it takes,
  and every message they had acknowledged reaches the remote.
- While its remote is down nothing drains: publishers are not held back, the bridge's
  queue (its local session) fills to max_queued_messages, and what is dropped beyond it is
  counted in the bridge's status ($SYS/broker/bridge/<name>/messages/dropped, the admin
  API, /metrics) and logged at warning level, once per episode, with the count.

The slow remote is a small MQTT server in this file that acknowledges each QoS 1 PUBLISH
only after a delay (one message in flight: `max_inflight_messages 1`), so the bridge drains
at a bounded rate far below what a publisher sends. Nothing here asserts on timing: the
tests wait for every message, and count."""
from __future__ import annotations

import socket
import threading
import time

import pytest

import rawmqtt as mq
from bridge_support import (V311, bridge, bridging, client, log_count, quiet, recv_data, remote, subscriber,  # noqa: F401
                            wait_bridge_sys, wait_forwarding, wait_log)
from conftest import free_port

pytestmark = pytest.mark.petrel_only("Petrel's bridge flow control and drop accounting")


class SlowRemote:
    """An MQTT 3.1.1 server on a free loopback port for one bridge: CONNACK, SUBACK and
    PINGRESP at once, each QoS 1 PUBLISH acknowledged `delay` seconds after it arrived.
    Records the payloads it received on `topic_prefix` (probes included)."""

    def __init__(self, delay: float):
        self.delay = delay
        self.port = free_port()
        self.payloads: list[bytes] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def count(self, prefix: bytes) -> int:
        with self.lock:
            return sum(1 for p in self.payloads if p.startswith(prefix))

    def received(self, prefix: bytes) -> list[bytes]:
        with self.lock:
            return [p for p in self.payloads if p.startswith(prefix)]

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(10)
        self.listener.close()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(0.2)
                try:
                    self._session(conn)
                except (ConnectionError, OSError):
                    pass

    def _session(self, conn: socket.socket) -> None:
        buf = bytearray()
        while not self.stopping:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            buf += chunk
            while True:
                pkt = self._take(buf)
                if pkt is None:
                    break
                self._handle(conn, pkt)

    @staticmethod
    def _take(buf: bytearray) -> bytes | None:
        if len(buf) < 2:
            return None
        length, mult, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return None
            b = buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + length:
            return None
        pkt = bytes(buf[:i + length])
        del buf[:i + length]
        return pkt

    def _handle(self, conn: socket.socket, raw: bytes) -> None:
        ptype, flags = raw[0] >> 4, raw[0] & 0x0F
        r = mq.Reader(raw[1:])
        r.varint()
        if ptype == mq.CONNECT:
            conn.sendall(bytes([0x20, 2, 0, 0]))
        elif ptype == mq.SUBSCRIBE:
            pid, count = r.u16(), 0
            while r.remaining():
                r.utf8()
                r.byte()
                count += 1
            conn.sendall(mq.fixed_header(mq.SUBACK, 0, mq.enc_u16(pid) + bytes([1] * count)))
        elif ptype == mq.PINGREQ:
            conn.sendall(bytes([0xD0, 0]))
        elif ptype == mq.PUBLISH:
            qos = (flags >> 1) & 3
            r.utf8()
            pid = r.u16() if qos else 0
            with self.lock:
                self.payloads.append(r.take(r.remaining()))
            if qos == 1:
                time.sleep(self.delay)
                conn.sendall(mq.puback(pid, version=V311))


def test_a_draining_bridge_holds_publishers_back_and_loses_nothing(broker):
    """The remote takes each message 8 ms after the last: about 125 messages a second.
    A publisher sends 1,500 QoS 1 messages at once. The edge holds it back while the
    bridge's queue is long (each time for about 3 s, longer than the 2 s after which a
    client that never drains stops holding publishers back); before the fix the bridge was
    marked a slow consumer after 2 s and the rest overflowed its queue. Every message
    arrives, no line says the bridge is slow or that anything was dropped, and the bridge
    counts nothing dropped."""
    slow = SlowRemote(delay=0.008)
    try:
        local = bridging(broker, bridge("s", f"127.0.0.1:{slow.port}", ["s/# out 1"], "remote_clientid petrel-s",
                                        "bridge_protocol_version mqttv311"),
                         extra=["max_inflight_messages 1", "sys_interval 1"])
        # Forwarding works (the probe's arrival is counted by the fake remote).
        deadline = time.monotonic() + 30
        pub = client(local, "edge-pub", version=V311)
        while slow.count(b"probe") == 0:
            assert time.monotonic() < deadline, "the bridge never forwarded a probe"
            pub.publish("s/probe", b"probe", qos=1)
            time.sleep(0.2)
        n = 1500
        for i in range(n):
            pub.publish("s/data", b"m%d" % i, qos=1, wait_ack=False)
        # Every PUBACK comes (the publisher is only held back, never refused).
        acks = 0
        deadline = time.monotonic() + 120
        while acks < n:
            assert time.monotonic() < deadline, f"{acks} of {n} PUBACKs"
            p = pub.recv(timeout=max(1.0, deadline - time.monotonic()))
            if p.type == mq.PUBACK:
                acks += 1
        deadline = time.monotonic() + 120
        while slow.count(b"m") < n:
            assert time.monotonic() < deadline, f"{slow.count(b'm')} of {n} arrived at the remote"
            time.sleep(0.2)
        got = slow.received(b"m")
        assert sorted(set(got), key=lambda b: int(b[1:])) == [b"m%d" % i for i in range(n)]
        log = local.log()
        assert "slow consumer" not in log, log[-3000:]
        assert "being dropped" not in log, log[-3000:]
        assert "no longer holding publishers back" not in log, log[-3000:]
        wait_bridge_sys(local, "s", "messages/sent", lambda v: int(v) >= n + 1, timeout=30)
        assert wait_bridge_sys(local, "s", "messages/dropped", lambda v: True) == b"0"
    finally:
        slow.stop()


def test_a_bridge_whose_remote_is_down_does_not_hold_publishers_and_counts_its_drops(broker, remote):
    """Remote down, max_queued_messages 100: a publisher's 1,000 QoS 1 messages are all
    acknowledged without being held back; the bridge's local session keeps what fits and
    the rest is dropped: one warning when it starts (the only log level enabled is
    warning and error), and messages/dropped counts them. When the remote returns, what
    was kept arrives, and kept + dropped is every message the publisher sent."""
    r = remote(persistence=True)
    local = bridging(broker, bridge("d", r, "d/# out 1", "remote_clientid petrel-d", "cleansession false"),
                     extra=["max_queued_messages 100", "sys_interval 1", "log_type error", "log_type warning"])
    wait_forwarding(local, "d/probe", r, "d/probe", qos=1)
    office = subscriber(r, "d/data", qos=1, client_id="office", version=V311, clean=False)
    office.disconnect()
    r.stop()
    wait_bridge_sys(local, "d", "state", lambda v: v != b"connected", timeout=30)
    pub = client(local, "edge-pub", version=V311)
    n = 1000
    for i in range(n):
        ack = pub.publish("d/data", b"%d" % i, qos=1)
        assert ack is not None and ack.rc == 0, (i, ack)
    wait_log(local, r"Outgoing messages are being dropped for bridge session local\.petrel-d: its queue is full")
    assert log_count(local, r"Outgoing messages are being dropped") == 1, local.log()[-3000:]
    wait_bridge_sys(local, "d", "messages/dropped", lambda v: int(v) > 0, timeout=30)
    r.start()
    s = subscriber(r, "d/data", qos=1, client_id="office", version=V311, clean=False)
    # What was kept (the bridge's window and its session's queue) arrives, the oldest
    # first, in order.
    got = [int(p.payload) for p in recv_data(s, 100, timeout=60)]
    got += [int(p.payload) for p in quiet(s, idle=2.0, total=60.0)]
    assert got == list(range(len(got))), got[:20]
    # Kept + dropped = sent: nothing went silently.
    wait_bridge_sys(local, "d", "messages/dropped", lambda v: int(v) == n - len(got), timeout=30)
    # The episode ends with its count, at warning level too.
    m = wait_log(local, r"Messages are queued for local\.petrel-d again \((\d+) dropped while its queue was full\)",
                 timeout=30)
    assert int(m.group(1)) == n - len(got)
