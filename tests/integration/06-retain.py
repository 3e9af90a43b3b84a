"""Retained messages: stored, replaced, cleared by an empty payload, delivered on
subscribe with RETAIN=1, message expiry honoured, retain_available."""
import socket
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


def _slow_reader(b, client_id: str, rcvbuf: int = 16384) -> mq.Client:
    """A v3.1.1 client whose socket has a small receive buffer (set before connecting, so
    the window stays small), for reading slower than the broker can write."""
    c = mq.Client(b.port, host=b.host, version=V311, connect_socket=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(c.timeout)
    sock.connect((b.host, b.port))
    c.sock = sock
    c.connect(client_id)
    return c


@pytest.mark.slow
def test_slow_reader_gets_every_retained_message_of_a_wildcard(b):
    """A wildcard subscription matching 50,000 retained messages (about 6 MB of PUBLISH
    packets, more than a broker would hold for one client at once) delivers every one of
    them exactly once, with RETAIN=1, to a client that reads steadily but much slower
    than loopback: the broker sends the retained set as the connection drains instead of
    dropping what does not fit (Petrel used to stop at about 4 MiB without a word)."""
    n = 50_000
    pad = b"v" * 90
    topics = [f"bulk/a{i // 1000:02d}/tag{i:05d}" for i in range(n)]
    p = b.connect("bulk-pub", version=V311)
    batch = bytearray()
    for t in topics[:-1]:
        batch += mq.publish(t, t.encode() + pad, qos=0, retain=True, version=V311)
        if len(batch) > 256 * 1024:
            p.send(bytes(batch))
            batch.clear()
    p.send(bytes(batch))
    # The last one at QoS 1: its PUBACK says every earlier PUBLISH of this connection has
    # been processed (a broker handles one connection's packets in order), so all are
    # stored.
    p.send(mq.publish(topics[-1], topics[-1].encode() + pad, qos=1, retain=True, pid=1,
                      version=V311))
    p.await_ack(mq.PUBACK, 1, timeout=15)
    p.disconnect()

    s = _slow_reader(b, "bulk-sub")
    s.send(mq.subscribe(1, [("bulk/#", 0)], version=V311))
    deadline = time.monotonic() + 15
    seen = {}
    suback = None
    buf = bytearray()
    while len(seen) < n:
        left = deadline - time.monotonic()
        assert left > 0, (f"received {len(seen)} of {n} retained messages "
                          f"({sum(seen.values()) - len(seen)} duplicates) before the deadline")
        s.sock.settimeout(min(left, 5.0))
        try:
            chunk = s.sock.recv(16384)  # small pieces, a short pause after each
        except (TimeoutError, socket.timeout):
            if left <= 5.0:
                continue
            raise AssertionError(f"nothing more for 5 s after {len(seen)} of {n} retained "
                                 f"messages") from None
        assert chunk, f"connection closed after {len(seen)} of {n} retained messages"
        buf += chunk
        pos = 0
        while True:
            # The retained PUBLISH packets (QoS 0, RETAIN=1: first byte 0x31, remaining
            # length below 128) are taken apart here, 50,000 full decodes being too slow
            # for a busy machine; anything else goes through the test codec.
            if len(buf) - pos < 2:
                break
            if buf[pos] == 0x31 and buf[pos + 1] < 0x80:
                end = pos + 2 + buf[pos + 1]
                if end > len(buf):
                    break
                tlen = int.from_bytes(buf[pos + 2:pos + 4], "big")
                topic = bytes(buf[pos + 4:pos + 4 + tlen])
                assert bytes(buf[pos + 4 + tlen:end]) == topic + pad, buf[pos:end]
                key = topic.decode()
                seen[key] = seen.get(key, 0) + 1
                pos = end
                continue
            s.buf = buf[pos:]
            total = s._frame_length()
            if total is None:
                break
            pkt = mq.decode(bytes(buf[pos:pos + total]), V311)
            pos += total
            assert pkt.type == mq.SUBACK and suback is None, f"unexpected {pkt!r}"
            suback = pkt
        del buf[:pos]
        time.sleep(0.001)
    s.buf = buf
    assert suback is not None and suback.codes == [0]
    s.expect_nothing(0.5)  # no duplicate after the last one either
    assert sorted(seen) == topics
    dups = {t: k for t, k in seen.items() if k != 1}
    assert not dups, f"{len(dups)} topics delivered more than once"
    s.ping()  # and the connection is still in good shape
