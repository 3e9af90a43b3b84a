"""Last will: published on abnormal disconnects, not on a normal DISCONNECT; v5 will delay."""
import socket
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5, all_versions, v3_v5


def watcher(b, topic="will/#", qos=2, version=V5):
    w = b.connect("watcher", version=version)
    w.subscribe([(topic, qos)])
    return w


def will_client(b, cid, version, will, keepalive=60, **kw):
    return b.connect(cid, version=version, will=will, keepalive=keepalive, **kw)


@all_versions
def test_will_on_socket_close_MQTT_3_1_2_8(b, version):
    w = watcher(b)
    c = will_client(b, "dies", version, mq.Will("will/t", b"gone", qos=1))
    c.close()
    msg = w.recv_publish(timeout=5)
    assert (msg.topic, msg.payload, msg.qos, msg.retain) == ("will/t", b"gone", 1, False)


@v3_v5
def test_will_when_last_packet_and_fin_arrive_together_MQTT_3_1_2_8(b, version):
    """The client's last packet (one the broker does not answer) and its FIN in a single
    TCP segment (corked, then shut down): the end of the connection must be seen with the
    data, not at the keepalive timeout. Petrel once stopped reading at the short read and
    missed the FIN, which no further readiness event reports."""
    w = watcher(b)
    for i in range(5):
        c = will_client(b, f"corked{i}", version, mq.Will(f"will/fin{i}", b"gone"))
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        c.send(mq.puback(4242, version=version))  # unknown id: no answer, no RST later
        c.sock.shutdown(socket.SHUT_WR)
        msg = w.recv_publish(timeout=3)
        assert (msg.topic, msg.payload) == (f"will/fin{i}", b"gone")
        c.close()

@v3_v5
def test_will_on_keepalive_timeout(b, version):
    w = watcher(b)
    c = will_client(b, "silent", version, mq.Will("will/ka", b"timeout"), keepalive=1)
    msg = w.recv_publish(timeout=10)
    assert (msg.topic, msg.payload) == ("will/ka", b"timeout")
    c.expect_closed(timeout=2)


@v3_v5
def test_will_on_protocol_error(b, version):
    """A connection closed by the broker for a protocol violation publishes its will."""
    w = watcher(b)
    c = will_client(b, "bad", version, mq.Will("will/pe", b"protocol error"))
    c.send(mq.publish("bad/+/topic", b"x", version=version))  # wildcard in topic name
    c.expect_closed()
    msg = w.recv_publish(timeout=5)
    assert msg.payload == b"protocol error"


def test_will_on_v5_disconnect_with_will_0x04(b):
    w = watcher(b)
    c = will_client(b, "dw", V5, mq.Will("will/04", b"asked for it"))
    c.disconnect(rc=mq.RC_DISCONNECT_WITH_WILL)
    msg = w.recv_publish(timeout=5)
    assert msg.payload == b"asked for it"


@all_versions
def test_no_will_on_normal_disconnect_MQTT_3_1_2_10(b, version):
    """[MQTT-3.1.2-10] the will is discarded on a normal DISCONNECT."""
    w = watcher(b)
    c = will_client(b, "polite", version, mq.Will("will/n", b"should not appear"))
    c.disconnect()
    w.expect_nothing(1.0)


def test_no_will_on_v5_disconnect_0x00_with_properties(b):
    w = watcher(b)
    c = will_client(b, "polite5", V5, mq.Will("will/n", b"should not appear"))
    c.disconnect(rc=0, props={"reason_string": "bye"})
    w.expect_nothing(1.0)


@v3_v5
def test_will_qos_downgraded_to_subscription_qos(b, version):
    w = watcher(b, qos=0)
    c = will_client(b, "q", version, mq.Will("will/q", b"qos", qos=2))
    c.close()
    msg = w.recv_publish(timeout=5)
    assert msg.qos == 0


@v3_v5
def test_will_qos2_delivered_at_qos2(b, version):
    w = watcher(b, qos=2)
    c = will_client(b, "q2", version, mq.Will("will/q2", b"qos2", qos=2))
    c.close()
    msg = w.recv_publish(timeout=5)
    assert msg.qos == 2 and msg.payload == b"qos2"


@v3_v5
def test_will_retain_MQTT_3_1_2_17(b, version):
    """[MQTT-3.1.2-17] a will with Will Retain = 1 is published as a retained message."""
    c = will_client(b, "r", version, mq.Will("will/retained", b"kept", qos=1, retain=True))
    c.close()
    time.sleep(0.3)
    late = b.connect("late", version=V311)
    late.subscribe([("will/retained", 1)])
    msg = late.recv_publish(timeout=5)
    assert msg.payload == b"kept" and msg.retain is True


def test_will_properties_passed_through(b):
    w = watcher(b)
    props = {"content_type": "text/plain", "response_topic": "will/reply",
             "correlation_data": b"\x01\x02", "payload_format_indicator": 1,
             "user_property": [("k", "v"), ("k", "v2")]}
    c = will_client(b, "wp", V5, mq.Will("will/p", b"props", props=props))
    c.close()
    msg = w.recv_publish(timeout=5)
    assert msg.props.get("content_type") == "text/plain"
    assert msg.props.get("response_topic") == "will/reply"
    assert msg.props.get("correlation_data") == b"\x01\x02"
    assert msg.props.get("payload_format_indicator") == 1
    assert msg.props.user == [("k", "v"), ("k", "v2")]


# --------------------------------------------------------------------------------------
# v5 Will Delay Interval
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_will_delay_interval_MQTT_3_1_3_9(b):
    """The will is held back for the Will Delay Interval (session lasts longer)."""
    w = watcher(b)
    c = will_client(b, "delayed", V5, mq.Will("will/d", b"late", props={"will_delay_interval": 2}),
                    props={"session_expiry_interval": 60})
    closed_at = time.monotonic()
    c.close()
    w.expect_nothing(1.2)
    msg = w.recv_publish(timeout=6)
    assert msg.payload == b"late"
    assert time.monotonic() - closed_at >= 1.9


@pytest.mark.slow
def test_will_delay_cancelled_by_reconnect_MQTT_3_1_3_9(b):
    """[MQTT-3.1.3-9] reconnecting to the session within the delay cancels the will."""
    w = watcher(b)
    will = mq.Will("will/c", b"cancelled", props={"will_delay_interval": 2})
    c = will_client(b, "back", V5, will, props={"session_expiry_interval": 60})
    c.close()
    time.sleep(0.5)
    c = b.connect("back", version=V5, clean=False, props={"session_expiry_interval": 60})
    assert c.connack.session_present is True
    w.expect_nothing(3.0)


@pytest.mark.slow
def test_will_sent_when_session_expires_before_delay(b):
    """The will goes out when the session ends, if that is before the will delay."""
    w = watcher(b)
    will = mq.Will("will/e", b"session ended", props={"will_delay_interval": 60})
    c = will_client(b, "short", V5, will, props={"session_expiry_interval": 1})
    c.close()
    msg = w.recv_publish(timeout=5)
    assert msg.payload == b"session ended"


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 still waits for the Will Delay Interval "
                                "when Session Expiry is 0; the spec (3.1.3.2.2) publishes the "
                                "will when the session ends, whichever comes first")
def test_will_delay_with_zero_session_expiry_is_immediate(b):
    """Session Expiry 0: the session ends with the connection, and with it the delay."""
    w = watcher(b)
    will = mq.Will("will/z", b"now", props={"will_delay_interval": 30})
    c = will_client(b, "zero", V5, will)
    c.close()
    msg = w.recv_publish(timeout=3)
    assert msg.payload == b"now"


def test_will_topic_with_wildcard_refused_MQTT_3_1_3_11(b):
    """The will topic is a topic name: wildcards are not allowed."""
    c = b.client(V311)
    c.send(mq.connect("wt", version=V311, will=mq.Will("will/#", b"x")))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    assert pkt.type == mq.CONNACK and pkt.rc != 0, pkt
    c.expect_closed()


@v3_v5
def test_will_larger_than_message_size_limit_refused(broker, version):
    """As Mosquitto: a will payload above message_size_limit refuses the connection (v5
    CONNACK 0x95 Packet too large; 3.1.1 has no such code: the connection closes) and the
    will is never published; a will at the limit is accepted."""
    b = broker(["message_size_limit 10"])
    w = watcher(b, version=V5)
    big = b.client(version)
    big.connect("bigwill", will=mq.Will("will/big", b"x" * 11), expect_rc=None)
    try:
        ack = big.recv(5)
    except mq.ConnectionClosed:
        assert version != V5, "a v5 client must get CONNACK 0x95"
    else:
        assert ack.type == mq.CONNACK
        assert ack.rc == (mq.RC_PACKET_TOO_LARGE if version == V5 else ack.rc) and ack.rc != 0
        big.expect_closed(timeout=5)
    ok = will_client(b, "okwill", version, mq.Will("will/ok", b"x" * 10))
    ok.close()
    msg = w.recv_publish(timeout=5)
    assert (msg.topic, msg.payload) == ("will/ok", b"x" * 10)
