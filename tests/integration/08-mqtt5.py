"""MQTT 5 features: topic aliases, message expiry, maximum packet size, receive maximum on
incoming flows, request/response, user properties, content type, payload format,
problem information."""
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5, payloads, persistent


def sub5(b, flt, qos=0, cid="s", **kw):
    s = b.connect(cid, version=V5, **kw)
    s.subscribe([(flt, qos)])
    return s


# --------------------------------------------------------------------------------------
# Topic aliases (client -> broker)
# --------------------------------------------------------------------------------------
def test_topic_alias_from_client_MQTT_3_3_2_12(b):
    s = sub5(b, "ta/#")
    p = b.connect("p", version=V5)
    p.publish("ta/one", b"1", props={"topic_alias": 1})
    p.publish("", b"2", props={"topic_alias": 1})
    p.publish("ta/two", b"3", props={"topic_alias": 1})  # re-map alias 1
    p.publish("", b"4", props={"topic_alias": 1})
    got = s.recv_publishes(4)
    assert [(g.topic, g.payload) for g in got] == [
        ("ta/one", b"1"), ("ta/one", b"2"), ("ta/two", b"3"), ("ta/two", b"4")]
    # The subscriber set no Topic Alias Maximum: no alias may be sent to it.
    assert all("topic_alias" not in g.props for g in got)


def test_topic_alias_used_with_qos1_and_qos2(b):
    s = sub5(b, "taq/#", qos=2)
    p = b.connect("p", version=V5)
    p.publish("taq/x", b"a", qos=1, props={"topic_alias": 2})
    p.publish("", b"b", qos=2, props={"topic_alias": 2})
    got = s.recv_publishes(2)
    assert [(g.topic, g.payload) for g in got] == [("taq/x", b"a"), ("taq/x", b"b")]


# --------------------------------------------------------------------------------------
# Topic aliases (broker -> client), max_topic_alias_broker
# --------------------------------------------------------------------------------------
def resolve_aliases(got, maximum):
    """The client's side of 3.3.2.3.4: resolves every PUBLISH's topic through the aliases
    the broker set, checking each alias is within the client's Topic Alias Maximum and
    never used before the broker mapped it."""
    table, out = {}, []
    for g in got:
        alias = g.props.get("topic_alias")
        if alias is None:
            assert g.topic, "an empty topic needs an alias"
            out.append((g.topic, g.payload, None))
            continue
        assert 1 <= alias <= maximum, f"alias {alias} beyond the client's maximum {maximum}"
        if g.topic:
            table[alias] = g.topic
            out.append((g.topic, g.payload, "set"))
        else:
            assert alias in table, f"alias {alias} used before it was set"
            out.append((table[alias], g.payload, "used"))
    return out


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 sends no topic aliases")
def test_broker_assigns_topic_aliases_to_the_most_recent_topics(b):
    """A client allowing 2 aliases: each topic goes out in full with an alias once, then
    as the alias alone; a third topic takes the least recently used alias."""
    long = "plant/site-01/line-07/cell-03/"
    s = sub5(b, "plant/#", qos=1, cid="al", props={"topic_alias_maximum": 2})
    p = b.connect("alp", version=V5)
    seq = ["a", "b", "a", "c", "a", "b", "b"]
    for i, t in enumerate(seq):
        p.publish(long + t, str(i).encode(), qos=1)
    got = s.recv_publishes(len(seq))
    res = resolve_aliases(got, 2)
    assert [(t, pl) for t, pl, _ in res] == [(long + t, str(i).encode()) for i, t in enumerate(seq)]
    # a set, b set, a used, c replaces b (least recent), a used, b replaces c, b used
    assert [how for _, _, how in res] == ["set", "set", "used", "set", "used", "set", "used"]
    assert sum(len(g.raw) for g in got) < sum(len(long) + 1 for _ in seq) + 40 * len(seq)


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 sends no topic aliases")
def test_topic_aliases_reset_with_the_connection_and_respect_the_listener_option(broker):
    b = broker(listener_extra=["max_topic_alias_broker 1"])
    s = sub5(b, "r/#", qos=1, cid="rs", clean=False,
             props={"topic_alias_maximum": 5, "session_expiry_interval": 60})
    p = b.connect("rp", version=V5)
    p.publish("r/x", b"1", qos=1)
    p.publish("r/y", b"2", qos=1)
    res = resolve_aliases(s.recv_publishes(2), 1)
    assert [how for _, _, how in res] == ["set", "set"], "one alias only (the listener's 1)"
    s.close()
    p.publish("r/y", b"3", qos=1)
    s2 = b.client(V5)
    s2.connect("rs", clean=False, props={"topic_alias_maximum": 5, "session_expiry_interval": 60})
    got = s2.recv_publishes(1)
    assert resolve_aliases(got, 1) == [("r/y", b"3", "set")], "a new connection starts afresh"


@pytest.mark.petrel_only("max_topic_alias_broker is Mosquitto 2.1's option; 2.0.11 refuses it")
def test_no_topic_aliases_with_option_0(broker):
    b = broker(listener_extra=["max_topic_alias_broker 0"])
    s = sub5(b, "z/#", cid="z0", props={"topic_alias_maximum": 10})
    p = b.connect("zp", version=V5)
    for i in range(3):
        p.publish("z/t", bytes([i]), qos=1)
    got = s.recv_publishes(3)
    assert all("topic_alias" not in g.props and g.topic == "z/t" for g in got)


def test_topic_alias_above_maximum_disconnect_0x94(b):
    """Default max_topic_alias is 10: alias 11 is invalid."""
    p = b.connect("p", version=V5)
    assert p.connack.props.get("topic_alias_maximum") == 10
    p.send(mq.publish("ta/t", b"x", props={"topic_alias": 11}))
    p.expect_closed(reason=mq.RC_TOPIC_ALIAS_INVALID)


def test_max_topic_alias_config(broker):
    b = broker(listener_extra=["max_topic_alias 2"])
    p = b.connect("p", version=V5)
    assert p.connack.props.get("topic_alias_maximum") == 2
    p.publish("ok/t", b"x", props={"topic_alias": 2})
    p.send(mq.publish("ta/t", b"x", props={"topic_alias": 3}))
    p.expect_closed(reason=mq.RC_TOPIC_ALIAS_INVALID)


def test_max_topic_alias_0_refuses_any_alias(broker):
    b = broker(listener_extra=["max_topic_alias 0"])
    p = b.connect("p", version=V5)
    assert p.connack.props.get("topic_alias_maximum", 0) == 0
    p.send(mq.publish("ta/t", b"x", props={"topic_alias": 1}))
    p.expect_closed(reason=mq.RC_TOPIC_ALIAS_INVALID)


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 answers Topic Alias 0 with 0x81 Malformed "
                                "Packet; the value is well formed but not permitted "
                                "[MQTT-3.3.2-8]: 0x94 Topic Alias invalid (or 0x82)")
def test_topic_alias_zero_invalid_MQTT_3_3_2_8(b):
    p = b.connect("p", version=V5)
    p.send(mq.publish("ta/t", b"x", props={"topic_alias": 0}))
    disc = p.expect_closed()
    assert disc is not None and disc.rc in (mq.RC_TOPIC_ALIAS_INVALID, mq.RC_PROTOCOL_ERROR), disc


def test_unmapped_alias_with_empty_topic_is_protocol_error(b):
    p = b.connect("p", version=V5)
    p.send(mq.publish("", b"x", props={"topic_alias": 4}))
    p.expect_closed(reason=mq.RC_PROTOCOL_ERROR)


def test_topic_aliases_do_not_survive_reconnect_MQTT_3_3_2_10(b):
    """Alias mappings belong to the network connection, not the session."""
    p = b.connect("p", version=V5, **persistent(V5))
    p.publish("ta/t", b"x", props={"topic_alias": 1})
    p.disconnect()
    p = b.connect("p", version=V5, **persistent(V5))
    p.send(mq.publish("", b"x", props={"topic_alias": 1}))
    p.expect_closed(reason=mq.RC_PROTOCOL_ERROR)


def test_outgoing_topic_alias_within_client_maximum(b):
    """A subscriber that allows 2 aliases may get aliases (never above 2, and the first
    use of an alias carries the topic) or plain topics."""
    s = sub5(b, "out/#", props={"topic_alias_maximum": 2})
    p = b.connect("p", version=V5)
    topics = ["out/a", "out/b", "out/c", "out/a", "out/b", "out/c"]
    for t in topics:
        p.publish(t, t.encode())
    got = s.recv_publishes(len(topics))
    aliases = {}
    resolved = []
    for g in got:
        alias = g.props.get("topic_alias")
        if alias is None:
            assert g.topic
            resolved.append(g.topic)
            continue
        assert 1 <= alias <= 2
        if g.topic:
            aliases[alias] = g.topic
        assert alias in aliases, "alias used before it was mapped"
        resolved.append(aliases[alias])
    assert resolved == topics


# --------------------------------------------------------------------------------------
# Message expiry
# --------------------------------------------------------------------------------------
def test_message_expiry_forwarded_live(b):
    s = sub5(b, "mx/t")
    p = b.connect("p", version=V5)
    p.publish("mx/t", b"e", props={"message_expiry_interval": 60})
    p.publish("mx/t", b"n")
    got = s.recv_publishes(2)
    assert 0 < got[0].props.get("message_expiry_interval", 0) <= 60
    assert "message_expiry_interval" not in got[1].props


@pytest.mark.slow
def test_message_expiry_remaining_interval_sent_on_MQTT_3_3_2_6(b):
    """[MQTT-3.3.2-6] a queued message is sent on with the expiry reduced by the time it
    waited."""
    s = b.connect("s", version=V5, **persistent(V5))
    s.subscribe([("mx/q", 1)])
    s.disconnect()
    p = b.connect("p", version=V5)
    p.publish("mx/q", b"waits", qos=1, props={"message_expiry_interval": 30})
    time.sleep(2.1)
    s = b.connect("s", version=V5, **persistent(V5))
    msg = s.recv_publish()
    assert msg.payload == b"waits"
    left = msg.props.get("message_expiry_interval")
    assert left is not None and 1 <= left <= 28, left


@pytest.mark.slow
def test_expired_message_dropped_from_queue_MQTT_3_3_2_5(b):
    """[MQTT-3.3.2-5] a queued message whose expiry has passed is not delivered."""
    s = b.connect("s", version=V5, **persistent(V5))
    s.subscribe([("mx/d", 1)])
    s.disconnect()
    p = b.connect("p", version=V5)
    p.publish("mx/d", b"expired", qos=1, props={"message_expiry_interval": 1})
    p.publish("mx/d", b"fresh", qos=1, props={"message_expiry_interval": 60})
    p.publish("mx/d", b"forever", qos=1)
    time.sleep(2.2)
    s = b.connect("s", version=V5, **persistent(V5))
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"fresh", b"forever"]


@pytest.mark.slow
def test_expired_message_dropped_for_v311_subscriber(b):
    """Expiry applies to the message, whatever the subscriber's protocol version."""
    s = b.connect("s3", version=V311, clean=False)
    s.subscribe([("mx/3", 1)])
    s.disconnect()
    p = b.connect("p", version=V5)
    p.publish("mx/3", b"expired", qos=1, props={"message_expiry_interval": 1})
    p.publish("mx/3", b"kept", qos=1)
    time.sleep(2.2)
    s = b.connect("s3", version=V311, clean=False)
    got = s.collect(idle=0.7)
    assert payloads(got) == [b"kept"]


# --------------------------------------------------------------------------------------
# Maximum packet size (client's)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("qos", [0, 1])
def test_client_maximum_packet_size_message_dropped_MQTT_3_1_2_25(b, qos):
    """[MQTT-3.1.2-25] the broker never sends a packet larger than the client's Maximum
    Packet Size: the message is dropped for that client only."""
    small = sub5(b, "mps/t", qos=qos, cid="small", props={"maximum_packet_size": 100})
    big = sub5(b, "mps/t", qos=qos, cid="big")
    p = b.connect("p", version=V5)
    p.publish("mps/t", b"x" * 200, qos=qos)
    p.publish("mps/t", b"fits", qos=qos)
    got = small.collect(idle=0.7)
    assert payloads(got) == [b"fits"]
    assert all(len(g.raw) <= 100 for g in got)
    assert payloads(big.collect(idle=0.5)) == [b"x" * 200, b"fits"]


def test_client_maximum_packet_size_counts_properties(b):
    """The limit is on the whole packet: user properties can push it over."""
    small = sub5(b, "mpp/t", cid="small", props={"maximum_packet_size": 64})
    p = b.connect("p", version=V5)
    p.publish("mpp/t", b"x", props={"user_property": [("k" * 30, "v" * 30)]})
    p.publish("mpp/t", b"ok")
    got = small.collect(idle=0.7)
    assert payloads(got) == [b"ok"]


# --------------------------------------------------------------------------------------
# Receive Maximum (broker's), enforced on incoming QoS 2 flows
# --------------------------------------------------------------------------------------
@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 answers the extra PUBLISH with PUBREC 0x97 "
                                "Quota exceeded and keeps the connection; the spec requires "
                                "DISCONNECT 0x93 Receive Maximum exceeded [MQTT-3.3.4-7/8]")
def test_receive_maximum_exceeded_disconnect_0x93(broker):
    b = broker(["max_inflight_messages 3"])
    c = b.connect("c", version=V5)
    assert c.connack.props.get("receive_maximum") == 3
    for pid in (1, 2, 3):
        c.send(mq.publish("rx/t", b"x", qos=2, pid=pid))
        assert c.expect(mq.PUBREC).pid == pid
    c.send(mq.publish("rx/t", b"x", qos=2, pid=4))
    c.expect_closed(reason=mq.RC_RECEIVE_MAX_EXCEEDED)


def test_receive_maximum_not_exceeded_when_flows_complete(broker):
    b = broker(["max_inflight_messages 3"])
    c = b.connect("c", version=V5)
    for i in range(10):
        c.publish("rx/t", b"x", qos=2)  # completes each flow before the next
    c.ping()


# --------------------------------------------------------------------------------------
# Properties passed through unchanged
# --------------------------------------------------------------------------------------
def test_request_response_properties_passed_through(b):
    responder = sub5(b, "svc/request", qos=1, cid="responder")
    requester = sub5(b, "svc/reply/+", qos=1, cid="requester")
    requester.publish("svc/request", b"ping?", qos=1,
                      props={"response_topic": "svc/reply/42", "correlation_data": b"\x00id\xff"})
    req = responder.recv_publish()
    assert req.props.get("response_topic") == "svc/reply/42"
    assert req.props.get("correlation_data") == b"\x00id\xff"
    responder.publish(req.props["response_topic"], b"pong!", qos=1,
                      props={"correlation_data": req.props["correlation_data"]})
    rsp = requester.recv_publish()
    assert (rsp.topic, rsp.payload) == ("svc/reply/42", b"pong!")
    assert rsp.props.get("correlation_data") == b"\x00id\xff"


def test_user_properties_order_and_duplicates_MQTT_3_3_2_17_18(b):
    s = sub5(b, "up/t")
    p = b.connect("p", version=V5)
    user = [("b", "2"), ("a", "1"), ("a", "1"), ("a", "3"), ("ünï", "cödé"), ("", "")]
    p.publish("up/t", b"x", props={"user_property": user})
    assert s.recv_publish().props.user == user


def test_content_type_and_payload_format_passed_through_MQTT_3_3_2_4_20(b):
    s = sub5(b, "ct/t", qos=1)
    p = b.connect("p", version=V5)
    p.publish("ct/t", "ünïcode".encode(), qos=1,
              props={"payload_format_indicator": 1, "content_type": "text/plain; charset=utf-8"})
    p.publish("ct/t", b"\xff\x00binary", qos=1, props={"payload_format_indicator": 0})
    got = s.recv_publishes(2)
    assert got[0].props.get("payload_format_indicator") == 1
    assert got[0].props.get("content_type") == "text/plain; charset=utf-8"
    assert got[0].payload == "ünïcode".encode()
    assert got[1].props.get("payload_format_indicator", 0) == 0
    assert got[1].payload == b"\xff\x00binary"


def test_v5_properties_dropped_for_v311_subscriber(b):
    s = b.connect("s3", version=V311)
    s.subscribe([("pp/t", 1)])
    p = b.connect("p", version=V5)
    p.publish("pp/t", b"payload", qos=1, props={"user_property": [("k", "v")],
                                                "content_type": "x", "response_topic": "r"})
    msg = s.recv_publish()
    assert msg.payload == b"payload" and msg.topic == "pp/t"


# --------------------------------------------------------------------------------------
# Request Problem Information
# --------------------------------------------------------------------------------------
def test_no_reason_string_when_problem_information_0_MQTT_3_1_2_29(b):
    """[MQTT-3.1.2-29] with Request Problem Information 0, no Reason String or User
    Property on any packet but PUBLISH, CONNACK and DISCONNECT."""
    c = b.connect("rpi", version=V5, props={"request_problem_information": 0})
    packets = []
    packets.append(c.publish("nobody/listens", b"x", qos=1))
    c.send(mq.publish("nobody/listens", b"x", qos=2, pid=9))
    packets.append(c.expect(mq.PUBREC))
    c.send(mq.pubrel(9))
    packets.append(c.expect(mq.PUBCOMP))
    c.send(mq.pubrel(1234))  # unknown packet id
    packets.append(c.expect(mq.PUBCOMP))
    packets.append(c.unsubscribe(["never/subscribed"]))
    packets.append(c.subscribe([("ok/t", 2)]))
    for pkt in packets:
        assert "reason_string" not in pkt.props, pkt
        assert "user_property" not in pkt.props, pkt
