"""The durable store (issue 14): what Petrel promises with `persistence true`.

Under `persistence_sync commit` a QoS 1/2 PUBLISH that changes stored state (a retained
message, or a delivery to a persistent session: v3.1.1 clean session 0, v5 session expiry
> 0) is acknowledged only once that change is durable; persistent sessions (subscriptions
with their options and identifiers, queued messages in order, unacknowledged outgoing
messages with their packet ids, QoS 2 ids awaiting PUBREL, a will waiting for its delay)
and retained messages (properties, expiry) come back after SIGTERM and after kill -9, and
session expiry counts the downtime. Clean sessions and online QoS 0 never touch the disk.
A store that cannot write (RLIMIT_FSIZE) refuses QoS 1/2 messages for persistent sessions
(0x97 in v5, no ack in v3.1.1) while the broker keeps serving, and recovers.

Every broker is a `persist_support.Durable` on a random loopback port with its own store
directory under the test's tmp_path. The kill -9 rounds run 3 seeds; set
PETREL_PERSIST_ROUNDS=N for N seeds (tests/integration/README.md).
"""
from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter

import pytest

import rawmqtt as mq
from helpers import V311, V5, payloads, persistent, v3_v5, wait_until
from persist_support import DurableFactory, fence, pump, store_counts, try_send

pytestmark = pytest.mark.petrel_only("Petrel's durable store: persistence_sync, acknowledgement "
                                     "only once durable, state across kill -9")

# Enough that no test ever drops a queued message for a full queue.
QUEUE_LINES = ["max_queued_messages 100000"]


@pytest.fixture
def durable(broker):
    """Factory: `b = durable(sync="commit", extra=[...])` starts a Petrel with the durable
    store in a fresh directory (see persist_support.Durable)."""
    return DurableFactory(broker)


def offline_subscriber(b, cid, version, filters, props=None):
    s = b.connect(cid, version=version, **persistent(version))
    s.subscribe(filters, props=props)
    s.disconnect()


def reconnect(b, cid, version, present=True, **kw):
    c = b.connect(cid, version=version, **persistent(version), **kw)
    assert c.connack.session_present is present, (
        f"{cid}: session_present={c.connack.session_present} after the restart, expected {present}")
    return c


def accepted(ack) -> bool:
    """A PUBACK/PUBCOMP with a success reason: 0, or 0x10 (no matching subscribers) for a
    message only a retained topic keeps."""
    return ack is not None and ack.type in (mq.PUBACK, mq.PUBCOMP) and ack.rc in (0, mq.RC_NO_MATCHING_SUBSCRIBERS)


# --------------------------------------------------------------------------------------
# 1. Retained messages
# --------------------------------------------------------------------------------------
RETAINED_PROPS = {
    "payload_format_indicator": 1,
    "message_expiry_interval": 300,
    "content_type": "text/plain; charset=utf-8",
    "response_topic": "reply/to",
    "correlation_data": b"\x00corr\xff",
    "user_property": [("k", "v1"), ("k", "v2"), ("empty", "")],
}


@pytest.mark.parametrize("how", ["term", "kill"])
def test_retained_messages_survive_restart(durable, how):
    """QoS 1/2 retained messages acknowledged before SIGTERM / kill -9 come back with their
    payload, QoS and properties, their expiry still running; an erased one (empty payload)
    and a replaced one stay erased / replaced."""
    b = durable()
    p = b.connect("ret-pub", version=V5)
    assert accepted(p.publish("r/keep", b"kept \x00 bytes", qos=1, retain=True, props=RETAINED_PROPS))
    assert accepted(p.publish("r/plain", b"no properties", qos=1, retain=True))
    assert accepted(p.publish("r/gone", b"erased below", qos=1, retain=True))
    assert accepted(p.publish("r/gone", b"", qos=1, retain=True))
    assert accepted(p.publish("r/replaced", b"old", qos=1, retain=True))
    assert accepted(p.publish("r/replaced", b"new", qos=2, retain=True))
    if how == "term":
        # Not acknowledged, but a graceful stop commits everything the workers handed over.
        p.publish("r/qos0", b"qos 0", qos=0, retain=True)
        p.ping()
    b.restart(how)

    s = b.connect("ret-sub", version=V5)
    s.subscribe([("r/#", 2)])
    got = {g.topic: g for g in s.collect(idle=0.5)}
    expected = {"r/keep", "r/plain", "r/replaced"} | ({"r/qos0"} if how == "term" else set())
    assert set(got) == expected, f"retained topics after the restart: {sorted(got)}"
    keep = got["r/keep"]
    assert keep.payload == b"kept \x00 bytes" and keep.retain and keep.qos == 1
    for name in ("payload_format_indicator", "content_type", "response_topic", "correlation_data"):
        assert keep.props.get(name) == RETAINED_PROPS[name], f"{name}: {keep.props!r}"
    assert keep.props.user == RETAINED_PROPS["user_property"], keep.props
    assert 0 < keep.props.get("message_expiry_interval", 0) <= 300, keep.props
    plain = got["r/plain"]
    assert plain.payload == b"no properties" and plain.qos == 1 and plain.retain
    assert "message_expiry_interval" not in plain.props and not plain.props.user
    assert got["r/replaced"].payload == b"new" and got["r/replaced"].qos == 2
    if how == "term":
        assert got["r/qos0"].payload == b"qos 0" and got["r/qos0"].qos == 0

    # A v3.1.1 subscriber sees the same message (no properties in v3).
    s3 = b.connect("ret-sub3", version=V311)
    s3.subscribe([("r/keep", 1)])
    assert payloads(s3.collect(idle=0.5)) == [b"kept \x00 bytes"]


# --------------------------------------------------------------------------------------
# 2. Persistent subscribers: subscriptions with options, queued messages
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["term", "kill"])
@v3_v5
def test_persistent_subscriber_survives_restart(durable, version, how):
    """A v3.1.1 clean-session-0 / v5 session-expiry subscriber: its subscriptions (QoS,
    no local, retain as published, subscription identifiers) survive the restart, and the
    messages published while it was offline arrive afterwards in order, QoS 2 once."""
    b = durable()
    s = b.connect("ps", version=version, **persistent(version))
    if version == V5:
        s.subscribe([("p/a", mq.sub_options(qos=2, no_local=True, retain_as_published=True))],
                    props={"subscription_identifier": 7}, expect_codes=[2])
        s.subscribe([("p/b", mq.sub_options(qos=1))], props={"subscription_identifier": 9},
                    expect_codes=[1])
    else:
        s.subscribe([("p/a", 2), ("p/b", 1)], expect_codes=[2, 1])
    s.disconnect()

    p = b.connect("pp", version=V5)
    plan = [("p/a", b"a0", 2, False), ("p/b", b"b0", 1, False), ("p/a", b"a1", 1, False),
            ("p/a", b"a2", 2, True), ("p/b", b"b1", 2, True), ("p/b", b"b2", 1, False)]
    for topic, payload, qos, retain in plan:
        assert accepted(p.publish(topic, payload, qos=qos, retain=retain)), (topic, payload)
    b.restart(how)

    s = reconnect(b, "ps", version)
    got = s.recv_publishes(len(plan), timeout=10.0)
    granted = {"p/a": 2, "p/b": 1}
    # Retain as published (v5, p/a only) keeps the flag; otherwise a message forwarded to
    # an existing subscription has retain 0 [MQTT-3.3.1-9] / [MQTT-3.3.1-12/13].
    expected = [(t, pl, min(q, granted[t]), r and version == V5 and t == "p/a")
                for t, pl, q, r in plan]
    assert [(g.topic, g.payload, g.qos, g.retain) for g in got] == expected
    if version == V5:
        assert [g.props.get("subscription_identifier") for g in got] == [
            [7] if t == "p/a" else [9] for t, *_ in plan]

    # The restored subscriptions route new messages; no local still holds (v5).
    if version == V5:
        own = s.publish("p/a", b"own", qos=1)
        assert own.rc in (0, mq.RC_NO_MATCHING_SUBSCRIBERS), own
    p = b.connect("pp", version=V5)
    assert accepted(p.publish("p/a", b"other-a", qos=2))
    assert accepted(p.publish("p/b", b"other-b", qos=2))
    after = s.recv_publishes(2)
    assert [(g.topic, g.payload, g.qos) for g in after] == [("p/a", b"other-a", 2), ("p/b", b"other-b", 1)]
    if version == V5:
        assert [g.props.get("subscription_identifier") for g in after] == [[7], [9]]
    s.expect_nothing(0.5)  # no duplicate, nothing of its own (no local)


# --------------------------------------------------------------------------------------
# 3. kill -9 at a random moment under QoS 1 / QoS 2 load
# --------------------------------------------------------------------------------------
ROUNDS = int(os.environ.get("PETREL_PERSIST_ROUNDS", "3"))
ROUND_TOPICS = ("k/a", "k/b")
TAIL_PER_TOPIC = 3
DRAIN_TIMEOUT = 30.0
QUIET = 0.5          # silence that ends the drain once everything acknowledged arrived
GIVE_UP_QUIET = 5.0  # silence that ends it while something is still missing


class Receiver:
    """A persistent subscriber as a real client behaves across connections: it
    acknowledges what arrives and keeps its QoS 2 receive state (packet ids it sent PUBREC
    for and awaits PUBREL on) across reconnects. By MQTT 4.3.3 (receiver, method B) a
    PUBLISH whose packet id awaits PUBREL is acknowledged again but never delivered again,
    so only deliveries are counted, as an application would see them."""

    def __init__(self, cid: str, version: int, qos: int, online: bool):
        self.cid, self.version, self.qos, self.online = cid, version, qos, online
        self.client: mq.Client | None = None
        self.deliveries: list[tuple[str, int, int, bool, str]] = []  # topic, n, qos, dup, phase
        self.awaiting_rel: dict[int, tuple[str, int]] = {}
        self.swallowed: list[str] = []  # another message under a packet id awaiting PUBREL
        self.events: list[tuple[str, str, int, tuple[str, int] | None, bool]] = []  # phase, packet, pid, message, dup
        self.phase = "before"
        self.error: BaseException | None = None

    def handle(self, pkt: mq.Packet) -> None:
        c = self.client
        if pkt.type == mq.PUBLISH:
            n = int(pkt.payload)
            self.events.append((self.phase, f"PUBLISH q{pkt.qos}", pkt.pid, (pkt.topic, n), pkt.dup))
            if pkt.qos == 2:
                held = self.awaiting_rel.get(pkt.pid)
                try_send(c, mq.pubrec(pkt.pid, version=self.version))
                if held is not None:
                    if held != (pkt.topic, n):
                        self.swallowed.append(
                            f"{self.phase}: PUBLISH {pkt.topic} #{n} (dup={pkt.dup}) came with packet id "
                            f"{pkt.pid}, which still awaits the PUBREL of {held[0]} #{held[1]}: a client "
                            f"following MQTT 4.3.3 drops it as a duplicate")
                    return
                self.awaiting_rel[pkt.pid] = (pkt.topic, n)
            elif pkt.qos == 1:
                try_send(c, mq.puback(pkt.pid, version=self.version))
            self.deliveries.append((pkt.topic, n, pkt.qos, pkt.dup, self.phase))
        elif pkt.type == mq.PUBREL:
            self.events.append((self.phase, "PUBREL", pkt.pid, self.awaiting_rel.get(pkt.pid), False))
            self.awaiting_rel.pop(pkt.pid, None)
            try_send(c, mq.pubcomp(pkt.pid, version=self.version))
        else:
            raise AssertionError(f"{self.cid}: unexpected {pkt!r}")

    def run_until_closed(self) -> None:
        """Thread body while the broker runs before the crash."""
        try:
            while True:
                pkts, closed = pump(self.client, 0.05)
                for p in pkts:
                    self.handle(p)
                if closed:
                    return
        except BaseException as exc:  # reported by the test
            self.error = exc


class LoadPublisher:
    """Numbered QoS 1/2 messages on ROUND_TOPICS, pipelined (up to `window` unacknowledged);
    records what was sent and what the broker acknowledged (PUBACK, PUBREC, PUBCOMP)."""

    def __init__(self, client: mq.Client, rng: random.Random, window: int):
        self.client, self.rng, self.window = client, rng, window
        self.next_n = 0
        self.outstanding: dict[int, tuple[str, int, int]] = {}  # pid -> (topic, n, qos)
        self.sent: dict[tuple[str, int], int] = {}  # (topic, n) -> qos
        self.acked: list[tuple[str, int, int]] = []  # PUBACK (QoS 1) / PUBCOMP (QoS 2)
        self.pubrec: set[tuple[str, int]] = set()
        self.refused: list[str] = []

    def send_next(self) -> None:
        topic = self.rng.choice(ROUND_TOPICS)
        qos = self.rng.choice((1, 2))
        n = self.next_n
        self.next_n += 1
        pid = self.client.alloc_pid()
        while pid in self.outstanding:
            pid = self.client.alloc_pid()
        self.outstanding[pid] = (topic, n, qos)
        self.sent[(topic, n)] = qos
        try_send(self.client, mq.publish(topic, str(n).encode(), qos=qos, pid=pid, version=self.client.version))

    def handle(self, pkt: mq.Packet) -> None:
        entry = self.outstanding.get(pkt.pid)
        if entry is None or pkt.type not in (mq.PUBACK, mq.PUBREC, mq.PUBCOMP):
            raise AssertionError(f"publisher: unexpected {pkt!r}")
        topic, n, qos = entry
        if pkt.rc is not None and pkt.rc >= 0x80:
            self.refused.append(f"{pkt!r} for {topic} #{n}")
            del self.outstanding[pkt.pid]
            return
        if pkt.type == mq.PUBACK and qos == 1:
            self.acked.append(entry)
            del self.outstanding[pkt.pid]
        elif pkt.type == mq.PUBREC and qos == 2:
            self.pubrec.add((topic, n))
            try_send(self.client, mq.pubrel(pkt.pid, version=self.client.version))
        elif pkt.type == mq.PUBCOMP and qos == 2 and (topic, n) in self.pubrec:
            self.acked.append(entry)
            del self.outstanding[pkt.pid]
        else:
            raise AssertionError(f"publisher: {pkt!r} does not fit QoS {qos} message {topic} #{n}")


def first_occurrence_order(deliveries, topic):
    seen, order = set(), []
    for t, n, *_ in deliveries:
        if t == topic and n not in seen:
            seen.add(n)
            order.append(n)
    return order


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_kill9_rounds_lose_nothing_acknowledged(durable, seed):
    """Persistent QoS 1 and QoS 2 subscribers (online or offline), a publisher sending
    numbered QoS 1/2 messages on two topics, kill -9 after a random number of
    acknowledgements or a random short delay. After the restart every message whose
    PUBACK/PUBCOMP the publisher received reaches both subscribers (QoS 1 at least once,
    QoS 2 exactly once), and per topic the first occurrences keep the publishing order."""
    rng = random.Random(seed)
    b = durable(extra=QUEUE_LINES)
    receivers = [Receiver(f"k-s1-{seed}", rng.choice((V311, V5)), 1, rng.random() < 0.5),
                 Receiver(f"k-s2-{seed}", rng.choice((V311, V5)), 2, rng.random() < 0.5)]
    threads = []
    for r in receivers:
        r.client = b.connect(r.cid, version=r.version, **persistent(r.version))
        r.client.subscribe([("k/+", r.qos)], expect_codes=[r.qos])
        fence(r.client, r.cid)  # the session and its subscription are durable before the load
        if r.online:
            threads.append(threading.Thread(target=r.run_until_closed, daemon=True))
        else:
            r.client.disconnect()
    for t in threads:
        t.start()

    pub_version = rng.choice((V311, V5))
    pc = b.connect(f"k-pub-{seed}", version=pub_version)
    window = 32
    if pub_version == V5:
        window = min(window, pc.connack.props.get("receive_maximum", 65535))
    pub = LoadPublisher(pc, rng, window)
    max_msgs = rng.randint(50, 400)
    by_acks = rng.random() < 0.5
    ack_target = rng.randint(1, max_msgs)
    delay = rng.uniform(0.0, 0.3)
    vname = {V311: "v3.1.1", V5: "v5"}
    how = (f"seed {seed}: publisher {vname[pub_version]}, up to {max_msgs} messages, kill -9 "
           + (f"after {ack_target} acknowledgements" if by_acks else f"{delay:.3f} s after the first publish")
           + "; subscribers " + ", ".join(f"{r.cid} {vname[r.version]} QoS {r.qos} {'online' if r.online else 'offline'}"
                                         for r in receivers))

    t0 = time.monotonic()
    deadline = t0 + 30.0
    while True:
        while len(pub.outstanding) < window and pub.next_n < max_msgs and not pc.closed:
            pub.send_next()
        pkts, closed = pump(pc, 0.005)
        for p in pkts:
            pub.handle(p)
        assert not closed, f"{how}: the broker closed the publisher's connection before the kill"
        done = pub.next_n >= max_msgs and not pub.outstanding
        if done or (len(pub.acked) >= ack_target if by_acks else time.monotonic() - t0 >= delay):
            break
        assert time.monotonic() < deadline, f"{how}: publishing stalled ({len(pub.outstanding)} unacknowledged)"
    b.kill9()
    # Acknowledgements the broker wrote before it died are still in our socket buffer.
    drain_deadline = time.monotonic() + 5.0
    while time.monotonic() < drain_deadline:
        pkts, closed = pump(pc, 0.05)
        for p in pkts:
            pub.handle(p)
        if closed:
            break
    pc.close()
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive(), f"{how}: a subscriber thread did not see the broker die"
    for r in receivers:
        if r.error is not None:
            raise AssertionError(f"{how}: {r.cid} before the crash: {r.error!r}") from r.error
        if r.client is not None:
            r.client.close()
    assert not pub.refused, f"{how}: the broker refused publishes: {pub.refused[:5]}"

    b.start()
    # More messages after the restart: they must come after the restored ones.
    tail = b.connect(f"k-tail-{seed}", version=pub_version)
    for topic in ROUND_TOPICS:
        for _ in range(TAIL_PER_TOPIC):
            n, qos = pub.next_n, rng.choice((1, 2))
            pub.next_n += 1
            pub.sent[(topic, n)] = qos
            assert accepted(tail.publish(topic, str(n).encode(), qos=qos)), f"{how}: tail {topic} #{n}"
            pub.acked.append((topic, n, qos))

    for r in receivers:
        r.phase = "after"
        r.client = reconnect(b, r.cid, r.version, timeout=10.0)
    must = {(t, n): q for t, n, q in pub.acked}

    def complete(r):
        got = {(t, n) for t, n, *_ in r.deliveries}
        return all(k in got for k in must)

    deadline = time.monotonic() + DRAIN_TIMEOUT
    last_activity = time.monotonic()
    while time.monotonic() < deadline:
        for r in receivers:
            pkts, closed = pump(r.client, 0.01)
            assert not closed, f"{how}: the broker closed {r.cid}'s connection while it drained"
            for p in pkts:
                r.handle(p)
            if pkts:
                last_activity = time.monotonic()
        quiet = time.monotonic() - last_activity
        if quiet >= QUIET and all(complete(r) for r in receivers):
            break
        if quiet >= GIVE_UP_QUIET:  # something is missing and nothing has come for a while
            break

    problems = []
    for r in receivers:
        counts = Counter((t, n) for t, n, *_ in r.deliveries)
        missing = sorted((k for k in must if counts[k] == 0), key=lambda k: k[1])
        if missing:
            problems.append(f"{r.cid}: {len(missing)} acknowledged message(s) never delivered: "
                            f"{missing[:10]}")
        unknown = [k for k in counts if k not in pub.sent]
        if unknown:
            problems.append(f"{r.cid}: messages never published: {unknown[:10]}")
        twice = []
        if r.qos == 2:
            twice = sorted((k for k, c in counts.items() if c > 1 and pub.sent.get(k) == 2), key=lambda k: k[1])
            if twice:
                problems.append(f"{r.cid}: QoS 2 message(s) delivered more than once: "
                                + ", ".join(f"{k} x{counts[k]}" for k in twice[:10]))
        wrong_qos = [(t, n, q) for t, n, q, *_ in r.deliveries if q != min(r.qos, pub.sent.get((t, n), q))]
        if wrong_qos:
            problems.append(f"{r.cid}: delivered at the wrong QoS: {wrong_qos[:10]}")
        for topic in ROUND_TOPICS:
            order = first_occurrence_order(r.deliveries, topic)
            bad = [(a, b_) for a, b_ in zip(order, order[1:]) if b_ < a]
            if bad:
                problems.append(f"{r.cid}: {topic} out of order (first occurrences): {bad[:5]}")
        problems += [f"{r.cid}: {s}" for s in r.swallowed[:5]]
        suspects = set(missing[:5]) | (set(twice[:10]) if r.qos == 2 else set())
        if suspects:
            pids = {pid for _, _, pid, msg, _ in r.events if msg in suspects}
            problems.append(f"{r.cid}: packets for those messages' packet ids {sorted(pids)[:10]} "
                            f"(phase, packet, packet id, (topic, n), dup):\n    " + "\n    ".join(
                                repr(e) for e in r.events if e[2] in pids or e[3] in suspects))
    if problems:
        acked_q = Counter(q for _, _, q in pub.acked)
        raise AssertionError(
            f"{how}\npublished {pub.next_n}, acknowledged {len(pub.acked)} (QoS 1: {acked_q[1]}, QoS 2: "
            f"{acked_q[2]}), PUBREC only: {len(pub.pubrec - {(t, n) for t, n, _ in pub.acked})}\n"
            + "\n".join(problems) + "\n"
            + "\n".join(f"{r.cid} deliveries (topic, n, qos, dup, phase): {r.deliveries[:400]}" for r in receivers))


# --------------------------------------------------------------------------------------
# 4. Outgoing in-flight state: packet ids, DUP
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["term", "kill"])
@v3_v5
def test_inflight_qos1_resent_with_dup_and_same_packet_id_after_restart(durable, version, how):
    """QoS 1 PUBLISHes the subscriber received but never acknowledged are re-sent after
    the restart with DUP=1 and their original packet ids [MQTT-4.4.0-1], in order, and
    nothing else follows once they are acknowledged."""
    b = durable()
    s = b.connect("infl", version=version, **persistent(version))
    s.subscribe([("i/t", 1)])
    p = b.connect("infl-pub", version=V5)
    for i in range(3):  # so the unacknowledged ones do not carry the first packet ids
        assert accepted(p.publish("i/t", f"acked{i}".encode(), qos=1))
        assert s.recv_publish().payload == f"acked{i}".encode()
    for i in range(2):
        assert accepted(p.publish("i/t", f"unacked{i}".encode(), qos=1))
    first = s.recv_publishes(2, ack=False)
    assert payloads(first) == [b"unacked0", b"unacked1"] and not any(f.dup for f in first)
    if how == "kill":
        fence(s, "infl")
    s.close()
    b.restart(how)

    s = reconnect(b, "infl", version)
    again = s.recv_publishes(2, ack=False)
    assert [(a.payload, a.pid, a.dup, a.qos) for a in again] == [
        (f.payload, f.pid, True, 1) for f in first]
    for a in again:
        s.ack(a)
    s.expect_nothing(0.5)


@pytest.mark.parametrize("how", ["term", "kill"])
def test_outgoing_qos2_states_survive_restart(durable, how):
    """Two QoS 2 messages to a persistent subscriber: one PUBLISHed and not acknowledged,
    one PUBREC'd by the subscriber (the broker owes PUBREL). After the restart the first
    is re-sent as PUBLISH (DUP, same id), the second only as PUBREL (same id), never as a
    second PUBLISH."""
    b = durable()
    s = b.connect("q2out", version=V5, **persistent(V5))
    s.subscribe([("o/t", 2)])
    p = b.connect("q2out-pub", version=V5)
    assert accepted(p.publish("o/t", b"rec'd", qos=2))
    assert accepted(p.publish("o/t", b"unacked", qos=2))
    recd, unacked = s.recv_publishes(2, ack=False)
    assert (recd.payload, unacked.payload) == (b"rec'd", b"unacked")
    s.send(mq.pubrec(recd.pid, version=V5))
    assert s.expect(mq.PUBREL).pid == recd.pid
    if how == "kill":
        fence(s, "q2out")
    s.close()
    b.restart(how)

    s = reconnect(b, "q2out", V5)
    seen = s.drain(0.5)
    rels = [x for x in seen if x.type == mq.PUBREL]
    pubs = [x for x in seen if x.type == mq.PUBLISH]
    assert [r.pid for r in rels] == [recd.pid], seen
    assert [(x.payload, x.pid, x.dup) for x in pubs] == [(b"unacked", unacked.pid, True)], seen
    s.send(mq.pubcomp(recd.pid, version=V5))
    s.send(mq.pubrec(unacked.pid, version=V5))
    assert s.expect(mq.PUBREL).pid == unacked.pid
    s.send(mq.pubcomp(unacked.pid, version=V5))
    s.expect_nothing(0.5)


# --------------------------------------------------------------------------------------
# 5. Incoming QoS 2 ids awaiting PUBREL
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("resume", ["pubrel", "republish"])
@v3_v5
def test_qos2_incoming_id_survives_kill9(durable, version, resume):
    """A publisher got PUBREC, the broker was killed: after the restart the publisher's
    session still holds the packet id, so a PUBREL gets PUBCOMP (v5: reason 0, not 0x92),
    a re-sent PUBLISH (DUP) is not routed again, and the subscriber gets the message
    exactly once."""
    b = durable()
    offline_subscriber(b, "q2in-sub", V5, [("q2/t", 2)])
    p = b.connect("q2in-pub", version=version, **persistent(version))
    pid = 0x1234
    p.send(mq.publish("q2/t", b"exactly once", qos=2, pid=pid, version=version))
    rec = p.expect(mq.PUBREC)
    assert rec.pid == pid and rec.rc == 0, rec
    p.close()
    b.restart("kill")

    p = reconnect(b, "q2in-pub", version)
    if resume == "republish":
        p.send(mq.publish("q2/t", b"exactly once", qos=2, pid=pid, dup=True, version=version))
        rec = p.expect(mq.PUBREC)
        assert rec.pid == pid and rec.rc == 0, rec
    p.send(mq.pubrel(pid, version=version))
    comp = p.expect(mq.PUBCOMP)
    assert comp.pid == pid and comp.rc == 0, comp
    s = reconnect(b, "q2in-sub", V5)
    got = s.collect(idle=0.5)
    assert [(g.payload, g.qos) for g in got] == [(b"exactly once", 2)]


# --------------------------------------------------------------------------------------
# 6. Session expiry and message expiry count the downtime
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_session_and_message_expiry_count_downtime(durable):
    """A v5 session with expiry 2 s and a retained message with expiry 2 s are gone after
    a downtime longer than that (the broker must not restart their clocks); a session
    with expiry 300 s and a retained message with expiry 300 s are kept, the latter with
    the downtime deducted."""
    b = durable()
    short = b.connect("exp-short", version=V5, clean=False, props={"session_expiry_interval": 2})
    short.subscribe([("e/t", 1)])
    long_ = b.connect("exp-long", version=V5, **persistent(V5, 300))
    long_.subscribe([("e/t", 1)])
    p = b.connect("exp-pub", version=V5)
    assert accepted(p.publish("e/r-short", b"expires", qos=1, retain=True,
                              props={"message_expiry_interval": 2}))
    assert accepted(p.publish("e/r-long", b"kept", qos=1, retain=True,
                              props={"message_expiry_interval": 300}))
    short.disconnect()
    long_.disconnect()
    gone_at = time.monotonic()
    assert accepted(p.publish("e/t", b"queued", qos=1))
    b.term()
    # Wall-clock seconds are stored: allow a second of rounding on top of the expiry.
    wait_until(lambda: time.monotonic() >= gone_at + 3.2, 10.0, what="the 2 s expiries to pass while down")
    b.start()

    s = b.connect("exp-short", version=V5, clean=False, props={"session_expiry_interval": 2})
    assert s.connack.session_present is False, "a session with expiry 2 s survived 3 s of downtime"
    s.expect_nothing(0.3)
    l2 = reconnect(b, "exp-long", V5)
    assert payloads(l2.collect(idle=0.5)) == [b"queued"]
    n = b.connect("exp-new", version=V5)
    n.subscribe([("e/+", 1)])
    got = n.collect(idle=0.5)
    assert [g.topic for g in got] == ["e/r-long"]
    remaining = got[0].props.get("message_expiry_interval")
    assert remaining is not None and remaining <= 298, got[0].props


# --------------------------------------------------------------------------------------
# 7. Clean sessions and online QoS 0 leave nothing in the store
# --------------------------------------------------------------------------------------
def test_clean_sessions_and_online_qos0_leave_nothing(durable, broker_bin):
    b = durable()
    c5 = b.connect("clean5", version=V5)                      # clean start, expiry 0
    c5b = b.connect("clean5b", version=V5, clean=False)       # expiry 0: ends at disconnect
    c3 = b.connect("clean3", version=V311, clean=True)
    for c in (c5, c5b, c3):
        c.subscribe([("c/#", 2)])
    live = b.connect("live", version=V5, **persistent(V5))   # persistent, online, QoS 0 only
    live.subscribe([("z/#", 2)])
    p = b.connect("clean-pub", version=V5)
    for qos in (0, 1, 2):
        p.publish("c/t", f"q{qos}".encode(), qos=qos)
        p.publish("z/t", f"z{qos}".encode(), qos=0)
    for c in (c5, c5b, c3):
        assert sorted(payloads(c.recv_publishes(3))) == [b"q0", b"q1", b"q2"]
    assert payloads(live.recv_publishes(3)) == [b"z0", b"z1", b"z2"]
    for c in (c5, c5b, c3, p):
        c.disconnect()
    b.term()

    counts = store_counts(broker_bin, b.db_path)
    assert counts == {"retained": 0, "sessions": 1, "subscriptions": 1, "outgoing": 0,
                      "messages": 0, "qos2_ids": 0}, counts
    b.start()
    for cid, version in (("clean5", V5), ("clean5b", V5), ("clean3", V311)):
        c = b.connect(cid, version=version, clean=False)
        assert c.connack.session_present is False, cid
    assert reconnect(b, "live", V5).connack.session_present is True


# --------------------------------------------------------------------------------------
# 8. persistence_sync interval / off
# --------------------------------------------------------------------------------------
def test_sync_interval_acknowledges_at_once_and_restores_after_sigterm(durable):
    """`interval 1000` does not hold acknowledgements until a commit (one commit per
    second would make these sequential publishes take seconds), and a graceful stop
    commits everything."""
    b = durable(sync="interval 1000")
    offline_subscriber(b, "iv-sub", V5, [("iv/t", 2)])
    p = b.connect("iv-pub", version=V5)
    t0 = time.monotonic()
    for i in range(6):
        assert accepted(p.publish("iv/t", f"m{i}".encode(), qos=1 + i % 2))
    assert accepted(p.publish("iv/r", b"retained", qos=1, retain=True))
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0, f"7 sequential QoS 1/2 publishes took {elapsed:.2f} s under interval 1000"
    b.restart("term")
    s = reconnect(b, "iv-sub", V5)
    assert [(g.payload, g.qos) for g in s.collect(idle=0.5)] == [(f"m{i}".encode(), 1 + i % 2) for i in range(6)]
    n = b.connect("iv-new", version=V5)
    n.subscribe([("iv/r", 1)])
    assert payloads(n.collect(idle=0.5)) == [b"retained"]


def test_sync_off_keeps_nothing_across_restart(durable):
    b = durable(sync="off")
    offline_subscriber(b, "off-sub", V5, [("off/t", 1)])
    p = b.connect("off-pub", version=V5)
    assert accepted(p.publish("off/t", b"queued", qos=1))
    assert accepted(p.publish("off/r", b"retained", qos=1, retain=True))
    b.restart("term")
    assert not b.db_path.exists(), "persistence_sync off created a store file"
    s = reconnect(b, "off-sub", V5, present=False)
    s.expect_nothing(0.3)
    n = b.connect("off-new", version=V5)
    n.subscribe([("off/#", 1)])
    n.expect_nothing(0.5)


# --------------------------------------------------------------------------------------
# 9. The store cannot write (RLIMIT_FSIZE): refuse, keep serving, recover
# --------------------------------------------------------------------------------------
def fill_to_limit(b, pub) -> int:
    """Grow the WAL well past the log file with a large retained message, then limit the
    broker's file size to the WAL's size: the next commit cannot append to it, while the
    log file still has room for the broker's messages. Returns the log offset at that
    moment."""
    big = b"x" * (256 * 1024)
    for i in range(8):
        if b.file_size(b.wal_path) >= b.file_size(b.log_path) + 128 * 1024:
            break
        assert accepted(pub.publish(f"full/big{i}", big, qos=1, retain=True))
    limit = b.file_size(b.wal_path)
    assert limit >= b.file_size(b.log_path) + 128 * 1024, (limit, b.file_size(b.log_path))
    mark = len(b.log())
    b.limit_file_size(limit)
    return mark


def store_lines(text: str) -> list[str]:
    """Log lines about the store failing or messages being refused."""
    return [line for line in text.splitlines() if re.search(r"(?i)persist|refus|cannot|could not", line)]


def publish_until_refused(pub, topic, accepted_payloads, attempts: int = 20) -> tuple[mq.Packet, bytes]:
    """QoS 1 publishes until one is refused; returns that PUBACK and the refused payload;
    those accepted before it are appended to accepted_payloads."""
    for i in range(attempts):
        payload = f"maybe{i}".encode()
        ack = pub.publish(topic, payload, qos=1)
        if ack.rc == 0:
            accepted_payloads.append(payload)
            continue
        return ack, payload
    raise AssertionError(f"{attempts} QoS 1 publishes for a persistent session were all accepted "
                         f"with the store file limited")


def publish_until_accepted(pub, topic, accepted_payloads, timeout: float = 15.0) -> list[bytes]:
    """QoS 1 publishes until one is accepted (appended to accepted_payloads); returns the
    payloads refused before it."""
    deadline = time.monotonic() + timeout
    i = 0
    refused = []
    while True:
        payload = f"recovered{i}".encode()
        ack = pub.publish(topic, payload, qos=1)
        if ack.rc == 0:
            accepted_payloads.append(payload)
            return refused
        refused.append(payload)
        assert ack.rc == mq.RC_QUOTA_EXCEEDED, ack
        assert time.monotonic() < deadline, "QoS 1 publishes still refused after the limit was raised"
        i += 1
        time.sleep(0.05)


def check_only_accepted_delivered(got: list[bytes], accepted_payloads: list[bytes], refused: list[bytes]):
    """The subscriber gets every accepted message in order, and none the broker refused
    (0x97 / no acknowledgement): its publisher was told it was not taken, may send it
    again, and the subscriber would then have it twice."""
    kept = [g for g in got if g in accepted_payloads]
    assert kept == accepted_payloads, f"accepted messages missing or out of order: got {got}"
    delivered_refused = [g for g in got if g in refused]
    assert not delivered_refused, (
        f"messages the broker refused were delivered to the persistent subscriber: {delivered_refused} "
        f"(all it got: {got}; accepted: {accepted_payloads})")
    assert got == accepted_payloads, got


def test_disk_full_v5_refused_with_0x97_broker_serves_and_recovers(durable):
    b = durable()
    offline_subscriber(b, "full-sub", V5, [("full/t", 2)])
    w = b.connect("full-watch", version=V5)
    w.subscribe([("full/q0", 0), ("full/clean", 1)])
    p = b.connect("full-pub", version=V5)
    delivered = [b"before"]
    assert accepted(p.publish("full/t", b"before", qos=1))
    mark = fill_to_limit(b, p)

    refused, payload = publish_until_refused(p, "full/t", delivered)
    assert refused.type == mq.PUBACK and refused.rc == mq.RC_QUOTA_EXCEEDED, refused
    not_taken = [payload]
    rec = p.publish("full/t", b"refused-q2", qos=2)
    assert rec.type == mq.PUBREC and rec.rc == mq.RC_QUOTA_EXCEEDED, rec
    not_taken.append(b"refused-q2")
    for i in range(3):
        ack = p.publish("full/t", f"refused{i}".encode(), qos=1)
        assert ack.rc == mq.RC_QUOTA_EXCEEDED, ack
        not_taken.append(f"refused{i}".encode())
    # The broker keeps serving: QoS 0, and QoS 1 to a clean session (nothing to store).
    p.publish("full/q0", b"zero", qos=0)
    assert w.recv_publish().payload == b"zero"
    assert accepted(p.publish("full/clean", b"clean", qos=1))
    assert w.recv_publish().payload == b"clean"
    # Logged once for the episode (the store's error, the broker's refusal), not once per
    # refused message.
    wait_until(lambda: store_lines(b.log()[mark:]), 10.0, what="a log line about the store")
    lines = store_lines(b.log()[mark:])
    assert len(lines) <= 2, f"{len(not_taken)} refused messages, log lines:\n" + "\n".join(lines)

    b.unlimit_file_size()
    not_taken += publish_until_accepted(p, "full/t", delivered)
    for i in range(2):
        assert accepted(p.publish("full/t", f"after{i}".encode(), qos=1))
        delivered.append(f"after{i}".encode())
    assert accepted(p.publish("full/t", b"after-q2", qos=2))
    delivered.append(b"after-q2")
    # What was accepted is in the store, in order; nothing refused is.
    b.restart("kill")
    s = reconnect(b, "full-sub", V5)
    check_only_accepted_delivered(payloads(s.collect(idle=0.5)), delivered, not_taken)


def test_disk_full_v311_ack_withheld(durable):
    b = durable()
    offline_subscriber(b, "full3-sub", V311, [("full3/t", 2)])
    helper = b.connect("full3-helper", version=V5)
    p = b.connect("full3-pub", version=V311)
    delivered = [b"before"]
    assert accepted(p.publish("full3/t", b"before", qos=1))
    fill_to_limit(b, helper)
    refused, payload = publish_until_refused(helper, "full3/t", delivered)
    assert refused.rc == mq.RC_QUOTA_EXCEEDED, refused
    not_taken = [payload, b"withheld-q1", b"withheld-q2"]

    p.send(mq.publish("full3/t", b"withheld-q1", qos=1, pid=10, version=V311))
    p.send(mq.publish("full3/t", b"withheld-q2", qos=2, pid=11, version=V311))
    p.ping()  # still served ...
    p.expect_nothing(0.7)  # ... but neither PUBACK nor PUBREC comes

    b.unlimit_file_size()
    not_taken += publish_until_accepted(helper, "full3/t", delivered)
    ack = p.publish("full3/t", b"after", qos=1, pid=12)
    assert ack.type == mq.PUBACK and ack.pid == 12
    delivered.append(b"after")
    b.restart("kill")
    s = reconnect(b, "full3-sub", V311)
    check_only_accepted_delivered(payloads(s.collect(idle=0.5)), delivered, not_taken)


# --------------------------------------------------------------------------------------
# 10. A will waiting for its delay
# --------------------------------------------------------------------------------------
def test_delayed_will_survives_sigterm(durable):
    """A v5 client with session expiry 300 and will delay 1 s disconnects with reason 0x04
    (send the will): the broker stops before the delay ends. After the restart the will is
    published once."""
    b = durable()
    offline_subscriber(b, "will-sub", V5, [("will/t", 1)])
    will = mq.Will("will/t", b"gone", qos=1, props={"will_delay_interval": 1})
    c = b.connect("will-client", version=V5, will=will, **persistent(V5, 300))
    c.disconnect(rc=mq.RC_DISCONNECT_WITH_WILL)
    b.restart("term")
    s = reconnect(b, "will-sub", V5)
    got = s.recv_publish(timeout=10.0)
    assert (got.topic, got.payload, got.qos) == ("will/t", b"gone", 1)
    s.expect_nothing(0.5)


# --------------------------------------------------------------------------------------
# 11. Wills of the connections a crash ends; subscriptions acknowledged just before it
# --------------------------------------------------------------------------------------
def test_wills_of_connections_open_at_kill9_are_published(durable):
    """kill -9 ends every connection without DISCONNECT, so their wills go out after the
    restart: a v3.1.1 clean-session device's retained "offline" will (the birth and death
    pattern, with a retained "online"), a v5 persistent session's will after its delay
    (counted from the restart: the unit tests time it), and not the will of a client that had disconnected
    normally."""
    b = durable()
    watch = b.connect("watch", version=V5, **persistent(V5))
    watch.subscribe([("status/#", 1)])
    watch.disconnect()
    dev = b.connect("dev", version=V311, will=mq.Will("status/dev", b"offline", qos=1, retain=True))
    assert accepted(dev.publish("status/dev", b"online", qos=1, retain=True))
    v5 = b.connect("v5dev", version=V5, will=mq.Will("status/v5dev", b"lost", qos=1,
                                                     props={"will_delay_interval": 2}),
                   **persistent(V5))
    polite = b.connect("polite", version=V5, will=mq.Will("status/polite", b"never", qos=1))
    polite.disconnect()
    # The wills are stored with the connection (no acknowledgement says so): fence.
    fence(b.connect("fence", version=V5), "wills")
    b.restart("kill")

    watch = reconnect(b, "watch", V5)
    got = watch.recv_publishes(3, timeout=10.0)
    assert [(g.topic, g.payload) for g in got] == [
        ("status/dev", b"online"), ("status/dev", b"offline"), ("status/v5dev", b"lost")]
    watch.expect_nothing(0.5)
    del dev, v5
    late = b.connect("late", version=V311)
    late.subscribe([("status/dev", 1)])
    assert late.recv_publish(timeout=5.0).payload == b"offline", "the retained will replaced 'online'"


def test_wills_not_published_after_sigterm(durable):
    """A shutdown closes connections without their wills (as Mosquitto), and the stored
    record of a connected client's will is gone with it: nothing is published after the
    restart, and a resumed session does not send it later either."""
    b = durable()
    watch = b.connect("watch", version=V5, **persistent(V5))
    watch.subscribe([("status/#", 1)])
    watch.disconnect()
    # Kept open (a client object that is collected closes its socket: the will goes out).
    dev = b.connect("dev", version=V311, will=mq.Will("status/dev", b"offline", qos=1))
    v5dev = b.connect("v5dev", version=V5, will=mq.Will("status/v5dev", b"lost", qos=1), **persistent(V5))
    fence(b.connect("fence", version=V5), "wills")
    b.restart("term")
    del dev, v5dev
    watch = reconnect(b, "watch", V5)
    watch.expect_nothing(1.5)
    reconnect(b, "v5dev", V5).disconnect()
    watch.expect_nothing(0.5)


@v3_v5
def test_subscription_acknowledged_before_kill9_survives(durable, version):
    """A SUBACK to a persistent session goes out only once the subscription is durable:
    kill -9 the moment it arrives, and the subscription is there after the restart, its
    messages queued for the session. Three rounds, each with a new filter."""
    b = durable()
    for n in range(3):
        s = b.connect("subber", version=version, **persistent(version))
        s.subscribe([(f"sa/{n}", 1)], expect_codes=[1])
        b.restart("kill")
        p = b.connect("pub", version=V5)
        assert accepted(p.publish(f"sa/{n}", f"m{n}".encode(), qos=1))
        s = reconnect(b, "subber", version)
        got = s.recv_publish(timeout=10.0)
        assert (got.topic, got.payload) == (f"sa/{n}", f"m{n}".encode())
        s.disconnect()
