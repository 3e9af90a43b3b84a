"""Incoming bridges: a v3.1 / v3.1.1 CONNECT whose protocol level has bit 7 set (0x83 /
0x84, Mosquitto's `try_private`) comes from another broker's bridge. Its messages are not
sent back to it (no local on every subscription) and messages delivered to it keep the
retain flag they were published with (retain as published), so two brokers bridged
`both` ways do not loop and retained state propagates. Mosquitto 2.0 does the same."""
import pytest

import rawmqtt as mq
from helpers import V31, V311

LEVELS = pytest.mark.parametrize("level", [0x84, 0x83], ids=["v311-bridge", "v31-bridge"])


def bridge_client(b, client_id: str, level: int) -> mq.Client:
    """A raw client that connects like a Mosquitto bridge: protocol level | 0x80."""
    v31 = (level & 0x7F) == V31
    c = b.client(V31 if v31 else V311)
    c.send(mq.connect(client_id, version=level,
                      protocol_name=b"MQIsdp" if v31 else b"MQTT"))
    ack = c.expect(mq.CONNACK)
    assert ack.rc == 0, f"bridge CONNECT refused: {ack!r}"
    return c


@LEVELS
def test_bridge_does_not_get_its_own_messages_back(b, level):
    br = bridge_client(b, "peer-broker", level)
    assert br.subscribe([("t/#", 1)]).codes == [1]
    n = b.connect("normal", version=V311)
    assert n.subscribe([("t/#", 1)]).codes == [1]
    br.publish("t/1", b"from-peer", qos=1)
    assert [p.payload for p in n.recv_publishes(1)] == [b"from-peer"]
    br.expect_nothing(0.5)
    # What others publish still reaches the bridge.
    n.publish("t/2", b"from-normal", qos=1)
    assert [p.payload for p in br.recv_publishes(1)] == [b"from-normal"]


def test_normal_client_gets_its_own_messages(b):
    # The same flow without the bridge bit: a v3 client has no "no local".
    c = b.connect("plain", version=V311)
    c.subscribe([("t/#", 1)])
    c.publish("t/1", b"echo", qos=1)
    assert [p.payload for p in c.recv_publishes(1)] == [b"echo"]


@LEVELS
def test_retain_flag_kept_on_live_delivery_to_bridge(b, level):
    br = bridge_client(b, "peer-broker", level)
    br.subscribe([("t/#", 1)])
    n = b.connect("normal", version=V311)
    n.subscribe([("t/#", 1)])
    p = b.connect("publisher", version=V311)
    p.publish("t/state", b"on", qos=1, retain=True)
    p.publish("t/event", b"click", qos=1, retain=False)
    got = br.recv_publishes(2)
    assert [(m.topic, m.payload, m.retain) for m in got] == [
        ("t/state", b"on", True), ("t/event", b"click", False)]
    # A normal v3 subscriber gets retain 0 on a live delivery [MQTT-3.3.1-9].
    got = n.recv_publishes(2)
    assert [(m.topic, m.retain) for m in got] == [("t/state", False), ("t/event", False)]


@LEVELS
def test_retained_on_subscribe_reaches_bridge(b, level):
    p = b.connect("publisher", version=V311)
    p.publish("t/state", b"on", qos=1, retain=True)
    br = bridge_client(b, "peer-broker", level)
    br.subscribe([("t/#", 1)])
    m = br.recv_publish()
    assert (m.topic, m.payload, m.retain) == ("t/state", b"on", True)


def test_two_bridges_both_ways_do_not_loop(b):
    # Two peers bridged to this broker: what one sends reaches the other once (retain
    # kept) and never comes back to the sender.
    a = bridge_client(b, "peer-a", 0x84)
    c = bridge_client(b, "peer-c", 0x84)
    a.subscribe([("#", 1)])
    c.subscribe([("#", 1)])
    a.publish("site/a/temp", b"21", qos=1, retain=True)
    got = c.recv_publishes(1)
    assert [(m.topic, m.retain) for m in got] == [("site/a/temp", True)]
    c.expect_nothing(0.3)
    a.expect_nothing(0.3)


def test_bridge_state_notification_is_the_one_writable_sys_topic(b):
    """Other brokers' bridges announce themselves on $SYS/broker/connection/<id>/state
    (retained 1/0, and as their will); every other $SYS topic stays read-only."""
    sub = b.connect("state-watch")
    sub.subscribe([("$SYS/broker/connection/#", 1)])
    pub = b.connect("some-bridge")
    pub.publish("$SYS/broker/connection/other/state", b"1", qos=1, retain=True)
    pub.publish("$SYS/broker/connection/other/extra", b"x", qos=1)
    pub.publish("$SYS/broker/connection/a/b/state", b"x", qos=1)
    msg = sub.recv_publish(timeout=2)
    assert msg.topic == "$SYS/broker/connection/other/state"
    assert msg.payload == b"1"
    sub.expect_nothing(0.5)
    late = b.connect("late-watch")
    late.subscribe([("$SYS/broker/connection/+/state", 1)])
    got = late.recv_publish(timeout=2)
    assert got.topic == "$SYS/broker/connection/other/state" and got.retain
