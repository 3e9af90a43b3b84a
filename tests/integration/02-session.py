"""Persistent sessions kept across disconnects: subscriptions, queued QoS 1/2 messages,
in-flight messages re-sent with DUP, QoS 2 receive state."""
import pytest

import rawmqtt as mq
from helpers import V311, V5, payloads, persistent, v3_v5


def offline_subscriber(b, cid, version, filters):
    s = b.connect(cid, version=version, **persistent(version))
    s.subscribe(filters)
    s.disconnect()


@v3_v5
def test_subscriptions_kept_across_reconnect(b, version):
    offline_subscriber(b, "keep", version, [("k/a", 1), ("k/+/c", 0)])
    s = b.connect("keep", version=version, **persistent(version))
    assert s.connack.session_present is True
    p = b.connect("pub", version=V311)
    p.publish("k/a", b"1", qos=1)
    p.publish("k/b/c", b"2", qos=0)
    got = s.recv_publishes(2)
    assert sorted(payloads(got)) == [b"1", b"2"]


@v3_v5
def test_queued_qos1_qos2_delivered_on_reconnect_in_order(b, version):
    offline_subscriber(b, "q", version, [("q/t", 2)])
    p = b.connect("pub", version=V5)
    sent = []
    for i in range(6):
        qos = 1 + i % 2
        p.publish("q/t", f"m{i}".encode(), qos=qos)
        sent.append((f"m{i}".encode(), qos))
    p.publish("q/t", b"qos0-not-queued", qos=0)
    p.ping()
    s = b.connect("q", version=version, **persistent(version))
    assert s.connack.session_present is True
    got = s.collect(idle=0.7)
    assert [(g.payload, g.qos) for g in got] == sent


@v3_v5
def test_qos0_not_queued_for_offline_client_by_default(b, version):
    offline_subscriber(b, "q0", version, [("q0/t", 1)])
    p = b.connect("pub", version=V311)
    for i in range(3):
        p.publish("q0/t", b"zero", qos=0)
    p.publish("q0/t", b"one", qos=1)
    s = b.connect("q0", version=version, **persistent(version))
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"one"]


@v3_v5
def test_queue_qos0_messages_true_queues_qos0(broker, version):
    b = broker(["queue_qos0_messages true"])
    offline_subscriber(b, "q0", version, [("q0/t", 1)])
    p = b.connect("pub", version=V311)
    for i in range(3):
        p.publish("q0/t", f"z{i}".encode(), qos=0)
    p.ping()
    s = b.connect("q0", version=version, **persistent(version))
    got = s.collect(idle=0.7)
    assert [(g.payload, g.qos) for g in got] == [(b"z0", 0), (b"z1", 0), (b"z2", 0)]


@v3_v5
@pytest.mark.parametrize("qos", [1, 2])
def test_inflight_publish_resent_with_dup_on_reconnect_MQTT_4_4_0_1(b, version, qos):
    """[MQTT-4.4.0-1] unacknowledged PUBLISH packets are re-sent on reconnect with their
    original packet identifiers and [MQTT-3.3.1-1] the DUP flag set."""
    s = b.connect("infl", version=version, **persistent(version))
    s.subscribe([("i/t", qos)])
    p = b.connect("pub", version=V311)
    p.publish("i/t", b"unacked", qos=qos)
    first = s.recv_publish(ack=False)
    assert first.qos == qos and first.dup is False
    s.close()  # no PUBACK / PUBREC
    s = b.connect("infl", version=version, **persistent(version))
    assert s.connack.session_present is True
    again = s.expect(mq.PUBLISH)
    assert again.payload == b"unacked"
    assert again.dup is True
    assert again.pid == first.pid
    assert again.qos == qos
    s.ack(again)
    s.expect_nothing(0.5)


@v3_v5
def test_qos2_pubrel_resent_after_pubrec_on_reconnect_MQTT_4_4_0_1(b, version):
    """After PUBREC the broker owes a PUBREL; on reconnect it re-sends the PUBREL, not the
    PUBLISH, and the message is not delivered again."""
    s = b.connect("rel", version=version, **persistent(version))
    s.subscribe([("r/t", 2)])
    p = b.connect("pub", version=V311)
    p.publish("r/t", b"once", qos=2)
    msg = s.recv_publish(ack=False)
    s.send(mq.pubrec(msg.pid, version=version))
    rel = s.expect(mq.PUBREL)
    assert rel.pid == msg.pid
    s.close()  # no PUBCOMP
    s = b.connect("rel", version=version, **persistent(version))
    rel2 = s.expect(mq.PUBREL)
    assert rel2.pid == msg.pid
    s.send(mq.pubcomp(msg.pid, version=version))
    s.expect_nothing(0.5)


@v3_v5
def test_inflight_then_queued_order_after_reconnect(broker, version):
    """Messages already sent (in flight) come back first, then queued ones, in order."""
    b = broker(["max_inflight_messages 2"])
    s = b.connect("ord", version=version, **persistent(version))
    s.subscribe([("o/t", 1)])
    p = b.connect("pub", version=V311)
    for i in range(5):
        p.publish("o/t", f"{i}".encode(), qos=1)
    first = s.recv_publishes(2, ack=False)
    assert payloads(first) == [b"0", b"1"]
    s.close()
    s = b.connect("ord", version=version, **persistent(version))
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"0", b"1", b"2", b"3", b"4"]
    assert [g.dup for g in got[:2]] == [True, True]


@v3_v5
def test_qos2_duplicate_publish_before_pubrel_delivered_once_MQTT_4_3_3(b, version):
    """A client re-sending a QoS 2 PUBLISH (DUP=1, same packet id) before PUBREL must not
    cause a second delivery [MQTT-4.3.3-10/11]."""
    s = b.connect("sub", version=V311)
    s.subscribe([("d/t", 2)])
    p = b.connect("pub2", version=version)
    p.send(mq.publish("d/t", b"exactly-once", qos=2, pid=7, version=version))
    assert p.expect(mq.PUBREC).pid == 7
    p.send(mq.publish("d/t", b"exactly-once", qos=2, pid=7, dup=True, version=version))
    assert p.expect(mq.PUBREC).pid == 7
    p.send(mq.pubrel(7, version=version))
    assert p.expect(mq.PUBCOMP).pid == 7
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"exactly-once"]


@v3_v5
def test_qos2_receive_state_survives_reconnect(b, version):
    """The broker keeps the QoS 2 receive state in the session: a publisher that lost its
    connection after PUBREC re-sends the PUBLISH with DUP, and it is delivered once."""
    s = b.connect("sub", version=V311)
    s.subscribe([("d/t", 2)])
    p = b.connect("pub2", version=version, **persistent(version))
    p.send(mq.publish("d/t", b"once", qos=2, pid=9, version=version))
    assert p.expect(mq.PUBREC).pid == 9
    p.close()
    p = b.connect("pub2", version=version, **persistent(version))
    assert p.connack.session_present is True
    p.send(mq.publish("d/t", b"once", qos=2, pid=9, dup=True, version=version))
    assert p.expect(mq.PUBREC).pid == 9
    p.send(mq.pubrel(9, version=version))
    assert p.expect(mq.PUBCOMP).pid == 9
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"once"]


@v3_v5
def test_qos2_pubrel_after_reconnect_completes(b, version):
    """A publisher that got PUBREC, lost the connection and re-sends only PUBREL gets
    PUBCOMP and the message is delivered exactly once."""
    s = b.connect("sub", version=V311)
    s.subscribe([("d/t", 2)])
    p = b.connect("pub3", version=version, **persistent(version))
    p.send(mq.publish("d/t", b"rel-only", qos=2, pid=3, version=version))
    assert p.expect(mq.PUBREC).pid == 3
    p.close()
    p = b.connect("pub3", version=version, **persistent(version))
    p.send(mq.pubrel(3, version=version))
    comp = p.expect(mq.PUBCOMP)
    assert comp.pid == 3 and comp.rc == 0
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"rel-only"]


@v3_v5
def test_packet_id_reusable_after_qos2_complete(b, version):
    s = b.connect("sub", version=V311)
    s.subscribe([("d/t", 2)])
    p = b.connect("pub", version=version)
    for payload in (b"first", b"second"):
        p.publish("d/t", payload, qos=2, pid=5)
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"first", b"second"]


def test_session_messages_queued_while_connected_elsewhere_are_not_lost(b):
    """Messages published while the session is between connections reach the next one."""
    offline_subscriber(b, "gap", V5, [("g/t", 1)])
    p = b.connect("pub", version=V5)
    for i in range(20):
        p.publish("g/t", f"{i}".encode(), qos=1)
    s = b.connect("gap", version=V5, **persistent(V5))
    got = s.collect(idle=0.7)
    assert payloads(got) == [f"{i}".encode() for i in range(20)]
