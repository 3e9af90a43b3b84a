"""Listeners behind a load balancer: `enable_proxy_protocol 1|2` (Mosquitto 2.1; Debian 12's
Mosquitto is 2.0.11, so Petrel only). The test plays the proxy: it opens the connection,
writes a PROXY header as HAProxy would, then speaks MQTT (or TLS) through it."""
from __future__ import annotations

import socket
import ssl
import struct

import pytest

import rawmqtt as mq
from helpers import V311, V5, wait_until
from test_tls_support import (client_context, connect_packet, pki, recv_exact, tbroker, tls_listener,  # noqa: F401
                              closed_by_peer)

pytestmark = pytest.mark.petrel_only("enable_proxy_protocol is a Mosquitto 2.1 option (Debian 12 has 2.0.11)")

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="192.0.2.7", sport=51234, dport=1883) -> bytes:
    return f"PROXY TCP4 {src} 198.51.100.1 {sport} {dport}\r\n".encode()


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack(">H", len(value)) + value


def v2(src="192.0.2.8", sport=40001, tls: bool = False, cert_cn: str | None = None, verified: bool = True,
       local: bool = False) -> bytes:
    body = b"" if local else socket.inet_aton(src) + socket.inet_aton("198.51.100.1") + struct.pack(">HH", sport, 1883)
    if tls:
        client = 0x01 | (0x02 if cert_cn else 0)
        ssl_value = bytes([client]) + struct.pack(">I", 0 if verified else 1) + tlv(0x21, b"TLSv1.3")
        if cert_cn:
            ssl_value += tlv(0x22, cert_cn.encode())
        body += tlv(0x20, ssl_value)
    return V2_SIGNATURE + bytes([0x20 if local else 0x21, 0x00 if local else 0x11]) + struct.pack(">H", len(body)) + body


def proxied_client(b, header: bytes, version=V311) -> mq.Client:
    c = mq.Client(b.port, version=version, connect_socket=False)
    c.sock = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    c.sock.sendall(header)
    return c


def test_v1_gives_the_client_address(broker):
    b = broker(listener_extra=["enable_proxy_protocol 1"])
    c = proxied_client(b, v1())
    c.connect("behind-v1")
    c.ping()
    assert wait_until(lambda: "New client connected from 192.0.2.7:51234 as behind-v1" in b.log()), b.log()


def test_v2_gives_the_client_address_and_a_local_health_check_passes(broker):
    b = broker(listener_extra=["enable_proxy_protocol 2"])
    c = proxied_client(b, v2(), version=V5)
    c.connect("behind-v2")
    c.ping()
    assert wait_until(lambda: "New client connected from 192.0.2.8:40001 as behind-v2" in b.log()), b.log()
    h = proxied_client(b, v2(local=True))
    h.connect("health-check")
    h.disconnect()


@pytest.mark.parametrize("first", [b"", b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"], ids=["nothing", "mqtt"])
def test_a_connection_without_the_header_is_closed(broker, first):
    b = broker(listener_extra=["enable_proxy_protocol 2"])
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    if first:
        s.sendall(first)
        assert closed_by_peer(s, 5.0)
        assert wait_until(lambda: "expected a PROXY protocol v2 header" in b.log()), b.log()
    s.close()
    c = proxied_client(b, v2())
    c.connect("still-serving")


def test_v2_require_tls(broker):
    b = broker(listener_extra=["enable_proxy_protocol 2", "proxy_protocol_v2_require_tls true"])
    plain = proxied_client(b, v2())
    assert closed_by_peer(plain.sock, 5.0)
    assert wait_until(lambda: "proxy_protocol_v2_require_tls" in b.log()), b.log()
    c = proxied_client(b, v2(tls=True))
    c.connect("over-tls-to-the-proxy")


def test_v2_client_certificate_verified_by_the_proxy(broker, tmp_path):
    """TLS and mutual TLS terminated at the proxy: the certificate's CN it reports is the
    username (use_identity_as_username), and the ACL applies to it."""
    acl = tmp_path / "acl"
    acl.write_text("user sensor-7\ntopic readwrite site/7/#\n")
    b = broker(anonymous=False, extra=[f"acl_file {acl}"],
               listener_extra=["enable_proxy_protocol 2", "require_certificate true", "use_identity_as_username true"])
    c = proxied_client(b, v2(tls=True, cert_cn="sensor-7"), version=V5)
    c.connect("sensor-7")
    assert c.subscribe([("site/7/#", 1)]).codes == [1]
    assert c.subscribe([("site/8/#", 1)]).codes[0] >= 0x80
    for header in (v2(tls=True), v2(tls=True, cert_cn="mallory", verified=False)):
        bad = proxied_client(b, header)
        assert closed_by_peer(bad.sock, 5.0)
    assert wait_until(lambda: "no verified client certificate" in b.log()), b.log()


def test_v1_before_the_brokers_own_tls(tbroker, pki):
    """The proxy passes TLS through (TCP mode): the header comes first, then the TLS
    handshake with Petrel's own certificate."""
    b = tbroker(listener_extra=tls_listener(pki, "enable_proxy_protocol 1"))
    raw = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    raw.sendall(v1(src="203.0.113.9", sport=4444))
    s = client_context(pki).wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(connect_packet("tls-behind-proxy"))
    assert recv_exact(s, 4) == b"\x20\x02\x00\x00"
    s.close()
    assert wait_until(lambda: "New client connected from 203.0.113.9:4444 as tls-behind-proxy" in b.log()), b.log()
