"""$SYS topics with Mosquitto's names, published every sys_interval."""
import time


import rawmqtt as mq
from helpers import V311, V5

SYS = ["sys_interval 1"]

REQUIRED = [
    "$SYS/broker/version",
    "$SYS/broker/uptime",
    "$SYS/broker/clients/connected",
    "$SYS/broker/clients/disconnected",
    "$SYS/broker/clients/total",
    "$SYS/broker/clients/maximum",
    "$SYS/broker/clients/expired",
    "$SYS/broker/messages/received",
    "$SYS/broker/messages/sent",
    "$SYS/broker/publish/messages/received",
    "$SYS/broker/publish/messages/sent",
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/bytes/received",
    "$SYS/broker/bytes/sent",
    "$SYS/broker/subscriptions/count",
    "$SYS/broker/retained messages/count",
] + [f"$SYS/broker/load/{what}/{period}"
     for what in ("messages/received", "messages/sent", "publish/received", "publish/sent",
                  "bytes/received", "bytes/sent", "connections", "sockets")
     for period in ("1min", "5min", "15min")]


class SysWatcher:
    """A client subscribed to $SYS/#, remembering the latest value of every topic."""

    def __init__(self, b, cid="sys-watcher", version=V5):
        self.c = b.connect(cid, version=version)
        self.c.subscribe([("$SYS/#", 0)])
        self.values: dict[str, bytes] = {}
        self.history: dict[str, list[bytes]] = {}

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                pkt = self.c.recv(left)
            except TimeoutError:
                return
            assert pkt.type == mq.PUBLISH, pkt
            assert pkt.topic.startswith("$SYS/"), pkt
            self.values[pkt.topic] = pkt.payload
            self.history.setdefault(pkt.topic, []).append(pkt.payload)

    def wait_for(self, topic: str, predicate, timeout: float = 4.0) -> bytes:
        end = time.monotonic() + timeout
        while True:
            if topic in self.values and predicate(self.values[topic]):
                return self.values[topic]
            if time.monotonic() >= end:
                raise AssertionError(f"{topic}: last value {self.values.get(topic)!r} never "
                                     f"satisfied the condition within {timeout}s")
            self.pump(0.2)

    def number(self, topic: str) -> float:
        return float(self.values[topic].split()[0])


def test_sys_topic_names(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    w.pump(2.2)
    missing = [t for t in REQUIRED if t not in w.values]
    assert not missing, f"missing $SYS topics: {missing}"


def test_sys_values_well_formed(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    w.pump(2.2)
    assert b"version" in w.values["$SYS/broker/version"]
    assert w.values["$SYS/broker/uptime"].endswith(b" seconds")
    for t in REQUIRED:
        if t.startswith("$SYS/broker/load/"):
            float(w.values[t])
        elif t not in ("$SYS/broker/version", "$SYS/broker/uptime"):
            assert int(w.values[t]) >= 0, (t, w.values[t])


def test_sys_published_every_interval(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    w.pump(2.6)
    uptimes = [int(v.split()[0]) for v in w.history["$SYS/broker/uptime"]]
    assert len(uptimes) >= 2, uptimes
    assert uptimes == sorted(uptimes) and uptimes[-1] > uptimes[0]


def test_sys_retained_for_new_subscribers(broker):
    b = broker(SYS)
    time.sleep(1.2)
    c = b.connect("late", version=V311)
    c.subscribe([("$SYS/broker/version", 0)])
    msg = c.recv_publish(timeout=3)
    assert msg.retain is True and b"version" in msg.payload


def test_sys_client_counts(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    others = [b.connect(f"c{i}", version=V311) for i in range(3)]
    w.wait_for("$SYS/broker/clients/connected", lambda v: int(v) == 4)
    w.wait_for("$SYS/broker/clients/maximum", lambda v: int(v) >= 4)
    # A persistent session going offline counts as disconnected, and still in total.
    p = b.connect("persist", version=V311, clean=False)
    p.disconnect()
    w.wait_for("$SYS/broker/clients/disconnected", lambda v: int(v) == 1)
    w.wait_for("$SYS/broker/clients/connected", lambda v: int(v) == 4)
    w.wait_for("$SYS/broker/clients/total", lambda v: int(v) == 5)
    for o in others:
        o.disconnect()
    w.wait_for("$SYS/broker/clients/connected", lambda v: int(v) == 1)


def test_sys_message_counters_increase(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    w.pump(1.2)
    before_recv = w.number("$SYS/broker/publish/messages/received")
    before_bytes = w.number("$SYS/broker/bytes/received")
    before_msgs = w.number("$SYS/broker/messages/received")
    p = b.connect("p", version=V311)
    for i in range(10):
        p.publish("count/t", b"x" * 100, qos=1)
    w.wait_for("$SYS/broker/publish/messages/received",
               lambda v: int(v) >= before_recv + 10)
    w.wait_for("$SYS/broker/bytes/received", lambda v: int(v) >= before_bytes + 1000)
    w.wait_for("$SYS/broker/messages/received", lambda v: int(v) >= before_msgs + 10)


def test_sys_subscription_and_retained_counts(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    # The watcher's own $SYS/# is the only subscription so far.
    w.wait_for("$SYS/broker/subscriptions/count", lambda v: int(v) == 1)
    w.pump(1.2)  # let the broker's own retained $SYS topics settle
    ret0 = w.number("$SYS/broker/retained messages/count")
    c = b.connect("c", version=V311)
    c.subscribe([("a/1", 0), ("a/2", 1), ("a/3", 2)])
    for i in range(3):
        c.publish(f"ret/{i}", b"r", retain=True, qos=1)
    w.wait_for("$SYS/broker/subscriptions/count", lambda v: int(v) == 4)
    peak = int(w.wait_for("$SYS/broker/retained messages/count",
                          lambda v: int(v) >= ret0 + 3))
    c.publish("ret/0", b"", retain=True, qos=1)
    w.wait_for("$SYS/broker/retained messages/count", lambda v: int(v) == peak - 1)
    c.unsubscribe(["a/1"])
    w.wait_for("$SYS/broker/subscriptions/count", lambda v: int(v) == 3)


def test_sys_publish_messages_sent(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    w.pump(1.2)
    sent0 = w.number("$SYS/broker/publish/messages/sent")
    s = b.connect("s", version=V311)
    s.subscribe([("fan/t", 0)])
    p = b.connect("p", version=V311)
    for i in range(5):
        p.publish("fan/t", b"x")
    # The watcher's own $SYS deliveries count as sent publishes too: at least 5 more.
    w.wait_for("$SYS/broker/publish/messages/sent", lambda v: int(v) >= sent0 + 5)


def test_sys_load_averages_move(broker):
    b = broker(SYS)
    w = SysWatcher(b)
    p = b.connect("p", version=V311)
    for i in range(50):
        p.publish("load/t", b"x", qos=0)
    w.wait_for("$SYS/broker/load/publish/received/1min", lambda v: float(v) > 0)
    w.wait_for("$SYS/broker/load/connections/1min", lambda v: float(v) > 0)


def test_sys_interval_0_disables_periodic_updates(broker):
    b = broker(["sys_interval 0"])
    c = b.connect("c", version=V311)
    c.subscribe([("$SYS/broker/uptime", 0), ("$SYS/broker/clients/connected", 0)])
    c.expect_nothing(1.5)


def test_clients_cannot_publish_into_sys(broker):
    """$SYS belongs to the broker: a client publish there is not delivered (Mosquitto
    drops it silently)."""
    b = broker(SYS)
    s = b.connect("s", version=V311)
    s.subscribe([("$SYS/fake/#", 0)])
    p = b.connect("p", version=V311)
    p.publish("$SYS/fake/topic", b"spoofed", qos=1)
    s.expect_nothing(0.5)
