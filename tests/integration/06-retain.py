"""Retained messages: stored, replaced, cleared by an empty payload, delivered on
subscribe with RETAIN=1, message expiry honoured, retain_available."""
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5, payloads, v3_v5


@v3_v5
def test_retained_delivered_on_subscribe_MQTT_3_3_1_6(b, version):
    p = b.connect("p", version=version)
    p.publish("r/t", b"kept", retain=True, qos=1)
    s = b.connect("s", version=version)
    s.subscribe([("r/t", 1)])
    msg = s.recv_publish()
    assert (msg.topic, msg.payload, msg.retain, msg.qos) == ("r/t", b"kept", True, 1)


@v3_v5
def test_retained_qos_is_min_of_publish_and_subscription(b, version):
    p = b.connect("p", version=version)
    p.publish("rq/a", b"a", retain=True, qos=2)
    p.publish("rq/b", b"b", retain=True, qos=0)
    s = b.connect("s", version=version)
    s.subscribe([("rq/a", 1)])
    s.subscribe([("rq/b", 2)])
    got = s.collect(idle=0.5)
    assert sorted((g.payload, g.qos) for g in got) == [(b"a", 1), (b"b", 0)]


@v3_v5
def test_retained_replaced_MQTT_3_3_1_5(b, version):
    p = b.connect("p", version=version)
    p.publish("rr/t", b"old", retain=True, qos=1)
    p.publish("rr/t", b"new", retain=True, qos=1)
    s = b.connect("s", version=version)
    s.subscribe([("rr/t", 1)])
    got = s.collect(idle=0.5)
    assert payloads(got) == [b"new"]


@v3_v5
def test_non_retained_publish_keeps_retained(b, version):
    p = b.connect("p", version=version)
    p.publish("rn/t", b"retained", retain=True, qos=1)
    p.publish("rn/t", b"live", retain=False, qos=1)
    s = b.connect("s", version=version)
    s.subscribe([("rn/t", 1)])
    got = s.collect(idle=0.5)
    assert payloads(got) == [b"retained"]


@v3_v5
def test_empty_payload_clears_retained_MQTT_3_3_1_10(b, version):
    """[MQTT-3.3.1-10/11] a retained zero-byte message removes the retained message and
    is not itself stored; current subscribers still receive it."""
    p = b.connect("p", version=version)
    p.publish("rc/t", b"soon gone", retain=True, qos=1)
    live = b.connect("live", version=version)
    live.subscribe([("rc/t", 1)])
    assert live.recv_publish().payload == b"soon gone"
    p.publish("rc/t", b"", retain=True, qos=1)
    msg = live.recv_publish()
    assert msg.payload == b""
    s = b.connect("s", version=version)
    s.subscribe([("rc/t", 1)])
    s.expect_nothing(0.5)


@v3_v5
def test_wildcard_subscribe_gets_every_matching_retained(b, version):
    p = b.connect("p", version=version)
    topics = ["rw/a", "rw/b/c", "rw/d", "other/x"]
    for t in topics:
        p.publish(t, t.encode(), retain=True, qos=1)
    s = b.connect("s", version=version)
    s.subscribe([("rw/#", 1)])
    got = s.collect(idle=0.5)
    assert sorted(g.topic for g in got) == ["rw/a", "rw/b/c", "rw/d"]
    assert all(g.retain for g in got)


def test_retained_properties_kept(b):
    p = b.connect("p", version=V5)
    props = {"content_type": "application/json", "user_property": [("a", "1")],
             "payload_format_indicator": 1, "response_topic": "resp/t",
             "correlation_data": b"corr"}
    p.publish("rp/t", b"{}", retain=True, qos=1, props=props)
    s = b.connect("s", version=V5)
    s.subscribe([("rp/t", 1)])
    msg = s.recv_publish()
    for k in ("content_type", "payload_format_indicator", "response_topic", "correlation_data"):
        assert msg.props.get(k) == props[k]
    assert msg.props.user == [("a", "1")]


def test_retained_from_v5_to_v311_and_back(b):
    p5 = b.connect("p5", version=V5)
    p5.publish("rx/5", b"from5", retain=True, qos=1, props={"user_property": [("x", "y")]})
    s3 = b.connect("s3", version=V311)
    s3.subscribe([("rx/5", 1)])
    assert s3.recv_publish().payload == b"from5"


@pytest.mark.slow
def test_retained_message_expiry_MQTT_3_3_2_5(b):
    """A retained message whose Message Expiry Interval has passed is no longer sent."""
    p = b.connect("p", version=V5)
    p.publish("re/short", b"expires", retain=True, qos=1, props={"message_expiry_interval": 1})
    p.publish("re/long", b"stays", retain=True, qos=1, props={"message_expiry_interval": 100})
    time.sleep(2.2)
    s = b.connect("s", version=V5)
    s.subscribe([("re/#", 1)])
    got = s.collect(idle=0.5)
    assert payloads(got) == [b"stays"]
    # The remaining lifetime is sent on, not the original one [MQTT-3.3.2-6].
    left = got[0].props.get("message_expiry_interval")
    assert left is not None and left <= 98


def test_retain_available_false_v5_MQTT_3_3_1_7(broker):
    """retain_available false: CONNACK says Retain Available 0, and a v5 PUBLISH with
    RETAIN=1 is answered with DISCONNECT 0x9A."""
    b = broker(["retain_available false"])
    c = b.connect("ra", version=V5)
    assert c.connack.props.get("retain_available") == 0
    c.send(mq.publish("ra/t", b"x", retain=True))
    c.expect_closed(reason=mq.RC_RETAIN_NOT_SUPPORTED)
