"""Listeners: several listeners, IPv4 and IPv6, per-listener options, max_connections,
connections that never send CONNECT."""
import socket
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")


def test_two_ipv4_listeners_share_one_broker(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"])
    assert b.listeners[0][1] != b.listeners[1][1]
    s = b.connect("s", version=V311, index=0)
    s.subscribe([("l/t", 1)])
    p = b.connect("p", version=V5, index=1)
    p.publish("l/t", b"across listeners", qos=1)
    assert s.recv_publish().payload == b"across listeners"


@needs_ipv6
def test_ipv6_loopback_listener(broker):
    b = broker(hosts=["::1"])
    c = b.connect("v6", version=V5)
    assert c.sock.family == socket.AF_INET6
    c.subscribe([("six/t", 0)])
    c.publish("six/t", b"over ::1")
    assert c.recv_publish().payload == b"over ::1"


@needs_ipv6
def test_ipv4_and_ipv6_listeners(broker):
    b = broker(hosts=["127.0.0.1", "::1"])
    s6 = b.connect("s6", version=V311, index=1)
    s6.subscribe([("mix/t", 1)])
    s4 = b.connect("s4", version=V5, index=0)
    s4.subscribe([("mix/t", 1)])
    p = b.connect("p", version=V5, index=0)
    p.publish("mix/t", b"both", qos=1)
    assert s6.recv_publish().payload == b"both"
    assert s4.recv_publish().payload == b"both"


def test_per_listener_options(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"],
               listener_extra={0: ["max_topic_alias 2"], 1: ["max_topic_alias 7", "max_qos 1"]})
    a = b.connect("a", version=V5, index=0).connack.props
    c = b.connect("c", version=V5, index=1).connack.props
    assert a.get("topic_alias_maximum") == 2 and a.get("maximum_qos", 2) == 2
    assert c.get("topic_alias_maximum") == 7 and c.get("maximum_qos") == 1


def refused(b, index=0) -> bool:
    """True if a new MQTT connection on listener `index` is refused (socket refused or
    closed, or CONNACK with an error)."""
    try:
        c = b.client(V311, index=index, timeout=3)
    except OSError:
        return True
    try:
        c.send(mq.connect("extra", version=V311))
        ack = c.recv(3)
    except (mq.ConnectionClosed, OSError):
        return True
    finally:
        c.close()
    return ack.type != mq.CONNACK or ack.rc != 0


def test_max_connections(broker):
    b = broker(listener_extra=["max_connections 2"])
    first = b.connect("one", version=V311)
    second = b.connect("two", version=V5)
    assert refused(b)
    first.ping()
    second.ping()
    first.disconnect()
    time.sleep(0.3)
    third = b.connect("three", version=V311)
    third.ping()


def test_max_connections_is_per_listener(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"], listener_extra={0: ["max_connections 1"]})
    one = b.connect("one", version=V311, index=0)
    assert refused(b, index=0)
    one.ping()
    for i in range(3):
        b.connect(f"other{i}", version=V311, index=1).ping()


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 bug: a connection closed before CONNECT is "
                                "uncounted twice, so each one raises the effective "
                                "max_connections by one")
def test_max_connections_not_raised_by_early_closes(broker):
    b = broker(listener_extra=["max_connections 2"])
    for _ in range(3):
        s = socket.create_connection((b.host, b.port), timeout=3)
        time.sleep(0.05)
        s.close()
    time.sleep(0.3)
    keep = [b.connect("one", version=V311), b.connect("two", version=V311)]
    assert refused(b)
    for k in keep:
        k.ping()


def test_many_concurrent_connections(b):
    clients = [b.connect(f"c{i}", version=V311 if i % 2 else V5) for i in range(200)]
    for c in clients[::20]:
        c.ping()


@pytest.mark.slow
@pytest.mark.petrel_only("Mosquitto 2.0.11 gives a connection that has not sent CONNECT its "
                         "default 60 s keepalive, so it waits ~90 s; Petrel closes such a "
                         "connection after a short CONNECT timeout to shed idle sockets")
def test_silent_tcp_connection_closed(b):
    sock = socket.create_connection((b.host, b.port), timeout=3)
    try:
        start = time.monotonic()
        sock.settimeout(15)
        data = sock.recv(1)
        assert data == b"", f"unexpected bytes {data!r}"
        assert time.monotonic() - start <= 12
    finally:
        sock.close()


@pytest.mark.slow
@pytest.mark.petrel_only("as test_silent_tcp_connection_closed: Mosquitto waits ~90 s")
def test_partial_connect_closed(b):
    sock = socket.create_connection((b.host, b.port), timeout=3)
    try:
        sock.sendall(mq.connect("partial")[:5])
        sock.settimeout(15)
        start = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - start <= 12
    finally:
        sock.close()


def test_silent_connection_does_not_block_others(b):
    idle = [socket.create_connection((b.host, b.port), timeout=3) for _ in range(20)]
    try:
        c = b.connect("busy", version=V5)
        c.subscribe([("t", 0)])
        c.publish("t", b"x")
        assert c.recv_publish().payload == b"x"
    finally:
        for s in idle:
            s.close()
