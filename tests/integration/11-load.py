"""Bounded load tests on loopback: fan-out to 1000 subscribers, shared-subscription
balance, QoS 1/2 through repeated reconnects of a persistent session, takeover storms,
will delay and keepalive expiry for many clients at once.

Every test is bounded in client count and wall time."""
import random
import selectors
import time
from collections import Counter

import pytest

import rawmqtt as mq
from helpers import V311, V5, persistent

pytestmark = pytest.mark.slow


class Swarm:
    """Many raw clients driven from one thread with a selector."""

    def __init__(self, clients):
        self.clients = list(clients)
        self.sel = selectors.DefaultSelector()
        for c in self.clients:
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        self.closed: set[int] = set()

    def pump(self, until, timeout: float, on_packet):
        """Dispatch packets to on_packet(client, pkt) until until() is true."""
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("swarm timed out")
            for key, _ in self.sel.select(min(left, 0.5)):
                c = key.data
                try:
                    pkts = mq.read_available(c)
                except mq.ConnectionClosed:
                    self.sel.unregister(c.sock)
                    self.closed.add(id(c))
                    on_packet(c, None)
                    continue
                for p in pkts:
                    on_packet(c, p)

    def pump_for(self, seconds: float, on_packet):
        """Dispatch whatever arrives during `seconds`."""
        end = time.monotonic() + seconds
        try:
            self.pump(lambda: time.monotonic() >= end, seconds + 1, on_packet)
        except AssertionError:
            pass

    def close(self):
        for c in self.clients:
            c.close()
        self.sel.close()


def open_clients(b, n, prefix, version_of=lambda i: V311 if i % 2 else V5):
    return [b.client(version_of(i), timeout=10) for i in range(n)]


def test_fanout_1000_subscribers(b):
    """1000 subscribers (half v3.1.1, half v5) on one topic; one QoS 1 publish reaches
    every one of them exactly once."""
    n = 1000
    clients = open_clients(b, n, "fan")
    for i, c in enumerate(clients):
        c.send(mq.connect(f"fan{i}", version=c.version)
               + mq.subscribe(1, [("fan/out", 1)], version=c.version))
    swarm = Swarm(clients)
    state = Counter()
    got: Counter = Counter()

    def on_setup(c, p):
        assert p is not None, "subscriber closed during setup"
        if p.type == mq.CONNACK:
            assert p.rc == 0
            state["connack"] += 1
        elif p.type == mq.SUBACK:
            assert p.codes == [1]
            state["suback"] += 1
        else:
            raise AssertionError(p)

    try:
        swarm.pump(lambda: state["suback"] == n, 60, on_setup)
        assert state["connack"] == n
        pub = b.connect("publisher", version=V5)
        start = time.monotonic()
        pub.publish("fan/out", b"to everyone", qos=1)

        def on_msg(c, p):
            assert p is not None, "subscriber closed"
            assert p.type == mq.PUBLISH and p.payload == b"to everyone" and p.qos == 1, p
            got[id(c)] += 1
            c.send(mq.puback(p.pid, version=c.version))

        swarm.pump(lambda: len(got) == n, 30, on_msg)
        elapsed = time.monotonic() - start
        assert all(v == 1 for v in got.values())
        # All acknowledged: the broker is idle and still serving.
        pub.ping()
        assert elapsed < 30
    finally:
        swarm.close()


def test_shared_subscription_balance_under_load(b):
    members = [b.connect(f"m{i}", version=V5 if i % 2 else V311) for i in range(10)]
    for m in members:
        m.subscribe([("$share/load/bal/t", 1)])
    pub = b.connect("p", version=V5)
    n = 1000
    for i in range(n):
        pub.publish("bal/t", str(i).encode(), qos=1, wait_ack=False)
    swarm = Swarm(members)
    received: dict[int, list[int]] = {id(m): [] for m in members}
    total = Counter()

    def on_msg(c, p):
        assert p is not None and p.type == mq.PUBLISH, p
        received[id(c)].append(int(p.payload))
        total["n"] += 1
        c.send(mq.puback(p.pid, version=c.version))

    try:
        swarm.pump(lambda: total["n"] >= n, 30, on_msg)
        swarm.pump_for(0.5, on_msg)  # pick up any duplicates
    finally:
        swarm.close()
    everything = sorted(x for v in received.values() for x in v)
    assert everything == list(range(n)), "lost or duplicated messages"
    counts = sorted(len(v) for v in received.values())
    assert counts[-1] - counts[0] <= 2, f"unbalanced shares: {counts}"


class Qos2Receiver:
    """A client-side session that implements the receiver half of QoS 1 and 2 correctly
    across connections: QoS 2 packet ids awaiting PUBREL are remembered so a re-sent
    PUBLISH is recognised as a duplicate [MQTT-4.3.3]."""

    def __init__(self, b, cid, version):
        self.b, self.cid, self.version = b, cid, version
        self.awaiting_rel: set[int] = set()
        self.delivered: Counter = Counter()
        self.dup_flags_ok = True
        self.c = None

    def connect(self):
        self.c = self.b.connect(self.cid, version=self.version, **persistent(self.version))
        assert self.c.connack.session_present is True

    def handle(self, p, ack: bool):
        if p.type == mq.PUBLISH:
            if p.qos == 2 and p.pid in self.awaiting_rel:
                assert p.dup, "re-sent QoS 2 PUBLISH without DUP"
            else:
                if p.qos == 1 and self.delivered[p.payload]:
                    assert p.dup, "re-sent QoS 1 PUBLISH without DUP [MQTT-3.3.1-1]"
                # Deliver onwards and remember the packet id in the same step, whether
                # or not the PUBREC makes it out before the connection drops.
                self.delivered[p.payload] += 1
                if p.qos == 2:
                    self.awaiting_rel.add(p.pid)
            if not ack:
                return
            if p.qos == 1:
                self.c.send(mq.puback(p.pid, version=self.version))
            elif p.qos == 2:
                self.c.send(mq.pubrec(p.pid, version=self.version))
        elif p.type == mq.PUBREL:
            self.awaiting_rel.discard(p.pid)
            if ack:
                self.c.send(mq.pubcomp(p.pid, version=self.version))
        else:
            raise AssertionError(p)

    def read_some(self, k: int, ack_ratio: float, rng):
        """Handle up to k packets, acknowledging with probability ack_ratio."""
        for _ in range(k):
            try:
                p = self.c.recv(0.3)
            except TimeoutError:
                return
            self.handle(p, rng.random() < ack_ratio)

    def drain(self, idle: float = 1.0):
        while True:
            try:
                p = self.c.recv(idle)
            except TimeoutError:
                return
            self.handle(p, True)


@pytest.mark.parametrize("version", [V311, V5], ids=["v311", "v5"])
def test_qos1_qos2_through_repeated_reconnects(broker, version):
    """A persistent subscriber drops its connection 12 times mid-stream without
    acknowledging everything; the publisher keeps publishing QoS 1 and QoS 2. In the
    end every QoS 2 message was delivered exactly once and every QoS 1 message at least
    once."""
    b = broker(["max_queued_messages 0"])
    rng = random.Random(1234)
    sub = Qos2Receiver(b, "flaky", version)
    first = b.connect("flaky", version=version, **persistent(version))
    first.subscribe([("r/1", 1), ("r/2", 2)])
    first.disconnect()
    sub.connect()
    pub = b.connect("steady", version=V5)
    sent1, sent2 = [], []
    seq = 0
    for round_ in range(12):
        for _ in range(40):
            seq += 1
            qos = 1 + seq % 2
            payload = f"{qos}:{seq}".encode()
            pub.publish(f"r/{qos}", payload, qos=qos)
            (sent1 if qos == 1 else sent2).append(payload)
        sub.read_some(rng.randint(5, 40), ack_ratio=0.7, rng=rng)
        sub.c.close()  # abrupt: whatever was not acknowledged must come back
        sub.connect()
    sub.drain()
    missing1 = [p for p in sent1 if sub.delivered[p] == 0]
    missing2 = [p for p in sent2 if sub.delivered[p] == 0]
    dup2 = [p for p in sent2 if sub.delivered[p] > 1]
    assert not missing1, f"QoS 1 lost: {missing1[:10]}"
    assert not missing2, f"QoS 2 lost: {missing2[:10]}"
    assert not dup2, f"QoS 2 duplicated: {dup2[:10]}"
    assert set(sub.delivered) == set(sent1) | set(sent2)


def test_takeover_storm(b):
    """20 connections CONNECT with the same client id at once: every one is accepted in
    turn and all but one end up closed; the survivor works."""
    n = 20
    clients = [b.client(V5, timeout=10) for _ in range(n)]
    for c in clients:
        c.send(mq.connect("storm", version=V5))
    swarm = Swarm(clients)
    acks = Counter()

    def on_packet(c, p):
        if p is None:
            return
        if p.type == mq.CONNACK:
            assert p.rc == 0
            acks[id(c)] += 1
        elif p.type == mq.DISCONNECT:
            assert p.rc == mq.RC_SESSION_TAKEN_OVER, p
        else:
            raise AssertionError(p)

    try:
        swarm.pump(lambda: len(swarm.closed) >= n - 1, 20, on_packet)
        swarm.pump_for(0.5, on_packet)
        survivors = [c for c in clients if id(c) not in swarm.closed]
        assert len(survivors) == 1, f"{len(survivors)} connections left open"
        s = survivors[0]
        if not acks[id(s)]:
            assert s.expect(mq.CONNACK).rc == 0
        s.subscribe([("storm/t", 0)])
        s.publish("storm/t", b"alive")
        assert s.recv_publish().payload == b"alive"
    finally:
        swarm.close()


def test_repeated_takeover_keeps_session(b):
    conns = []
    for i in range(50):
        c = b.connect("hop", version=V5 if i % 2 else V311, **persistent(V5 if i % 2 else V311))
        if i == 0:
            c.subscribe([("hop/t", 1)])
        else:
            assert c.connack.session_present is True
        conns.append(c)
    for old in conns[:-1]:
        old.expect_closed(timeout=5)
    p = b.connect("p", version=V311)
    p.publish("hop/t", b"landed", qos=1)
    assert conns[-1].recv_publish().payload == b"landed"


def test_will_delay_for_many_clients(b):
    """100 clients with Will Delay 1 s drop at once; 50 come back within the delay.
    Exactly the 50 others' wills are published, none before the delay."""
    w = b.connect("watcher", version=V5)
    w.subscribe([("wd/#", 0)])
    n = 100
    clients = []
    for i in range(n):
        will = mq.Will(f"wd/{i}", str(i).encode(), props={"will_delay_interval": 2})
        clients.append(b.connect(f"wd{i}", version=V5, will=will,
                                 props={"session_expiry_interval": 60}))
    start = time.monotonic()
    for c in clients:
        c.close()
    back = [b.connect(f"wd{i}", version=V5, clean=False, props={"session_expiry_interval": 60})
            for i in range(0, n, 2)]
    got = set()
    deadline = start + 8
    while len(got) < n // 2 and time.monotonic() < deadline:
        try:
            msg = w.recv(deadline - time.monotonic())
        except TimeoutError:
            break
        assert msg.type == mq.PUBLISH
        assert time.monotonic() - start >= 1.8, "will published before its delay"
        got.add(int(msg.payload))
    assert got == set(range(1, n, 2))
    w.expect_nothing(0.5)
    for c in back:
        c.ping()


def test_keepalive_expiry_for_many_clients(b):
    """200 silent clients with keepalive 1 and a will are all dropped and all their wills
    published, while 20 clients that keep pinging stay connected.

    The pinging clients use keepalive 2 (3 s of silence allowed) and are checked with one
    more ping each, answered: the check proves they lived through the will storm without
    assuming how fast this process runs (under load, checking 20 clients one after the
    other once took longer than a 1.5 s keepalive, and the broker rightly dropped them)."""
    w = b.connect("watcher", version=V5)
    w.subscribe([("ka/#", 0)])
    silent = [b.connect(f"s{i}", version=V311 if i % 2 else V5, keepalive=1,
                        will=mq.Will(f"ka/{i}", b"gone")) for i in range(200)]
    alive = [b.connect(f"a{i}", version=V5, keepalive=2) for i in range(20)]
    wills = set()
    deadline = time.monotonic() + 12
    last_ping = 0.0
    pings = 0
    while len(wills) < 200 and time.monotonic() < deadline:
        if time.monotonic() - last_ping > 0.4:
            for a in alive:
                a.send(mq.pingreq())
            pings += 1
            last_ping = time.monotonic()
        try:
            msg = w.recv(0.2)
        except TimeoutError:
            continue
        wills.add(msg.topic)
    assert len(wills) == 200
    for a in alive:
        a.send(mq.pingreq())
    for a in alive:
        # Every PINGRESP the loop above asked for, then the one for the last ping: a broker
        # that had dropped the client would have closed the connection instead.
        for _ in range(pings + 1):
            pkt = a.recv(5)
            assert pkt.type == mq.PINGRESP, pkt
    for s in silent[:10]:
        s.expect_closed(timeout=2)


@pytest.mark.parametrize("limit", [None, 200])
def test_overload_holds_the_publisher_back_instead_of_dropping(broker, limit):
    """A publisher writes 6000 QoS 1 messages in one go while its subscriber takes nothing
    for a moment, then acknowledges slowly. The broker must stop reading the publisher
    before the subscriber's queue reaches max_queued_messages (the default 1000, and a
    small 200), so nothing is dropped and order is kept. One socket read holds thousands
    of such packets: the check has to be made per PUBLISH, not per read."""
    import threading

    b = broker([] if limit is None else [f"max_queued_messages {limit}"])
    sub = b.connect("overload-sub", version=V311)
    sub.subscribe([("ovl/#", 1)])
    pub = b.connect("overload-pub", version=V311)
    n = 6000
    blob = b"".join(mq.publish("ovl/t", b"%06d" % i, qos=1, pid=i % 65535 + 1, version=V311)
                    for i in range(n))
    sender = threading.Thread(target=pub.send, args=(blob,), daemon=True)
    sender.start()
    time.sleep(0.5)  # the subscriber reads nothing: its window fills, then its queue
    got = []
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        pkts = sub.recv_publishes(min(200, n - len(got)), timeout=10)
        got.extend(int(p.payload) for p in pkts)
        time.sleep(0.02)  # slow, but never stuck for the 2 s that makes a slow consumer
    sender.join(10)
    assert got == list(range(n)), f"{n - len(got)} missing; first gap near {next((i for i, g in enumerate(got) if g != i), None)}"
