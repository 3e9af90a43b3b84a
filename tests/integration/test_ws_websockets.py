"""MQTT over WebSockets (`protocol websockets`), plain and over TLS: the npm `mqtt` client
and paho (transport="websockets") as real peers, a hand-written RFC 6455 client for the
framing cases (packets split over frames, several packets in one frame, ping, close), and
bad input that must close only the offending connection: MQTT bytes instead of the HTTP
upgrade, a wrong or missing subprotocol, a text frame, an unmasked frame, over-long
headers and a stalled upgrade."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest

from test_tls_support import (NODE_DIR, client_context, closed_by_peer, connect_packet, node_ready, pki,  # noqa: F401
                              tbroker, tls_listener, wait_for_log)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONNACK_OK = b"\x20\x02\x00\x00"


# --- a minimal RFC 6455 client, independent of the broker's code ---------------------------

def ws_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WsClient:
    def __init__(self, port: int, protocol: str | None = "mqtt", host: str = "127.0.0.1",
                 ctx: ssl.SSLContext | None = None, extra_headers: str = "", expect_upgrade: bool = True):
        raw = socket.create_connection((host, port), timeout=5)
        self.sock = ctx.wrap_socket(raw, server_hostname=host) if ctx else raw
        self.buf = b""
        key = base64.b64encode(os.urandom(16))
        proto = f"Sec-WebSocket-Protocol: {protocol}\r\n" if protocol else ""
        self.sock.sendall((f"GET /mqtt HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{proto}{extra_headers}\r\n").encode())
        self.status, self.headers = self.read_response()
        if expect_upgrade:
            assert self.status == 101, (self.status, self.headers)
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
            assert self.headers.get("sec-websocket-accept") == accept
            assert self.headers.get("sec-websocket-protocol") == protocol

    def read_response(self) -> tuple[int, dict]:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return 0, {}
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        return status, headers

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._need(2), "big")
        elif n == 127:
            n = int.from_bytes(self._need(8), "big")
        return b0 & 0x0F, self._need(n)

    def read_mqtt(self, n: int) -> bytes:
        """n bytes of the MQTT stream, whatever the framing."""
        out = b""
        while len(out) < n:
            op, payload = self.read_frame()
            assert op in (0, 2), f"unexpected opcode {op}"
            out += payload
        assert len(out) == n, out
        return out

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


def ws_broker(tbroker, pki=None, tls: bool = False, extra=(), hosts=None, plain_too: bool = False):
    lines = ["protocol websockets"] + (tls_listener(pki) if tls else [])
    if tbroker.kind == "mosquitto":
        # Debian's Mosquitto 2.0.11 fails to open any websockets listener on these machines
        # ("Unable to start any listening sockets", libwebsockets), so these tests cannot be
        # validated against it here.
        pytest.skip("Mosquitto 2.0.11 cannot open a websockets listener on this machine")
    if plain_too:
        return tbroker(list(extra), hosts=["127.0.0.1", "127.0.0.1"], listener_extra={0: lines})
    return tbroker(list(extra), hosts=hosts or ["127.0.0.1"], listener_extra=lines)


def assert_still_serving(b, ctx=None):
    c = WsClient(b.port, ctx=ctx)
    c.send(ws_frame(2, connect_packet("still-serving")))
    assert c.read_mqtt(4) == CONNACK_OK
    c.close()


# --- real clients ---------------------------------------------------------------------------

def node_roundtrip(args: dict) -> subprocess.CompletedProcess:
    if not node_ready():
        pytest.skip("node/npm not available")
    return subprocess.run(["node", str(NODE_DIR / "roundtrip.js"), json.dumps(args)], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])
def test_npm_mqtt_over_websockets(tbroker, version):
    b = ws_broker(tbroker, plain_too=True)
    ws_url, tcp_url = f"ws://127.0.0.1:{b.port}", f"mqtt://127.0.0.1:{b.listeners[1][1]}"
    sizes = [0, 1, 125, 126, 65535, 65536, 300000]
    # WebSocket subscriber with a TCP publisher, then the other way round.
    for sub_url, pub_url in ((ws_url, tcp_url), (tcp_url, ws_url), (ws_url, ws_url)):
        r = node_roundtrip({"sub_url": sub_url, "pub_url": pub_url, "topic": "ws/t", "sizes": sizes,
                            "version": version})
        assert r.returncode == 0 and r.stdout.strip() == f"OK {len(sizes)}", (sub_url, pub_url, r.stdout, r.stderr)


def test_npm_mqtt_over_secure_websockets(tbroker, pki):
    b = ws_broker(tbroker, pki, tls=True)
    url = f"wss://127.0.0.1:{b.port}"
    sizes = [10, 20000, 200000]
    r = node_roundtrip({"sub_url": url, "pub_url": url, "topic": "wss/t", "sizes": sizes, "ca": pki.path("ca.crt"),
                        "version": 5})
    assert r.returncode == 0 and r.stdout.strip() == f"OK {len(sizes)}", (r.stdout, r.stderr)


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_paho_over_websockets(tbroker, pki, tls):
    b = ws_broker(tbroker, pki, tls=tls)
    got, done, subscribed = [], threading.Event(), threading.Event()
    clients = []
    for cid in ("paho-ws-sub", "paho-ws-pub"):
        c = paho.Client(client_id=cid, transport="websockets")
        if tls:
            c.tls_set(ca_certs=pki.path("ca.crt"))
        clients.append(c)
    sub, pub = clients

    def on_message(client, userdata, msg):
        got.append(msg.payload)
        if len(got) == 2:
            done.set()

    sub.on_message = on_message
    sub.on_subscribe = lambda *a, **k: subscribed.set()
    sub.connect("127.0.0.1", b.port)
    sub.loop_start()
    try:
        sub.subscribe("paho/ws", qos=1)
        assert subscribed.wait(5)
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        big = os.urandom(1 << 20)
        pub.publish("paho/ws", b"small", qos=1)
        pub.publish("paho/ws", big, qos=1).wait_for_publish(10)
        assert done.wait(10)
        assert got == [b"small", big]
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()


# --- framing, with the hand-written client ----------------------------------------------------

def test_packets_split_and_merged_across_frames_MQTT_6_0_0_2(tbroker):
    b = ws_broker(tbroker)
    c = WsClient(b.port)
    connect = connect_packet("framing")
    subscribe = bytes([0x82, 8, 0, 1, 0, 3]) + b"a/b" + b"\x00"
    publish = bytes([0x30, 7, 0, 3]) + b"a/b" + b"hi"
    # CONNECT in three frames (one fragmented message and a separate frame)...
    c.send(ws_frame(2, connect[:3], fin=False) + ws_frame(0, connect[3:9], fin=True) + ws_frame(2, connect[9:]))
    assert c.read_mqtt(4) == CONNACK_OK
    # ...then SUBSCRIBE, PUBLISH and PINGREQ in one frame.
    c.send(ws_frame(2, subscribe + publish + b"\xc0\x00"))
    assert c.read_mqtt(5 + len(publish) + 2) == b"\x90\x03\x00\x01\x00" + publish + b"\xd0\x00"
    c.close()


def test_ping_gets_pong_and_close_gets_close(tbroker):
    b = ws_broker(tbroker)
    c = WsClient(b.port)
    c.send(ws_frame(2, connect_packet("pinger")))
    assert c.read_mqtt(4) == CONNACK_OK
    c.send(ws_frame(9, b"are you there?"))
    assert c.read_frame() == (10, b"are you there?")
    c.send(ws_frame(8, (1000).to_bytes(2, "big")))
    op, payload = c.read_frame()
    assert op == 8 and payload[:2] == (1000).to_bytes(2, "big")
    assert closed_by_peer(c.sock, 5.0)
    c.close()


def test_text_frame_closes_the_connection_MQTT_6_0_0_1(tbroker):
    b = ws_broker(tbroker)
    c = WsClient(b.port)
    c.send(ws_frame(2, connect_packet("texter")))
    assert c.read_mqtt(4) == CONNACK_OK
    c.send(ws_frame(1, b"hello"))
    assert closed_by_peer(c.sock, 5.0)
    c.close()
    assert_still_serving(b)


@pytest.mark.petrel_only("close code and log text")
def test_protocol_errors_send_a_close_frame_and_log(tbroker):
    b = ws_broker(tbroker)
    for frame, code, why in ((ws_frame(1, b"{}"), 1003, "text frame"),
                             (ws_frame(2, b"\xc0\x00", masked=False), 1002, "unmasked frame")):
        c = WsClient(b.port)
        c.send(ws_frame(2, connect_packet("errs")))
        assert c.read_mqtt(4) == CONNACK_OK
        c.send(frame)
        op, payload = c.read_frame()
        assert op == 8 and int.from_bytes(payload[:2], "big") == code
        assert closed_by_peer(c.sock, 5.0)
        c.close()
        assert why in b.log()


# --- bad input closes only that connection ----------------------------------------------------

def test_mqtt_bytes_instead_of_the_upgrade(tbroker):
    b = ws_broker(tbroker)
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.sendall(connect_packet("not-ws"))
    assert closed_by_peer(s, 5.0)
    s.close()
    assert_still_serving(b)


@pytest.mark.parametrize("protocol", ["chat", None], ids=["wrong", "missing"])
def test_wrong_or_missing_subprotocol_is_refused_MQTT_6_0_0_3(tbroker, protocol):
    b = ws_broker(tbroker)
    c = WsClient(b.port, protocol=protocol, expect_upgrade=False)
    assert c.status != 101
    assert closed_by_peer(c.sock, 5.0)
    c.close()
    assert_still_serving(b)


@pytest.mark.petrel_only("HTTP status and log line")
def test_refusals_are_http_errors_with_a_log_line(tbroker):
    b = ws_broker(tbroker, extra=["websockets_headers_size 1024"])
    c = WsClient(b.port, protocol="chat", expect_upgrade=False)
    assert c.status == 400
    c.close()
    c = WsClient(b.port, extra_headers="Cookie: " + "c" * 2000 + "\r\n", expect_upgrade=False)
    assert c.status == 431
    c.close()
    # The log line follows the HTTP refusal.
    assert wait_for_log(b, "(ws): WebSocket upgrade refused: no supported subprotocol in 'chat'"), b.log()
    assert wait_for_log(b, "upgrade request headers over 1024 bytes"), b.log()
    assert_still_serving(b)


@pytest.mark.petrel_only("websockets_origin is a Mosquitto 2.1 option (Debian 12 has 2.0.11)")
def test_websockets_origin_refuses_other_browser_origins(tbroker):
    b = tbroker(listener_extra=["protocol websockets", "websockets_origin https://scada.example",
                                "websockets_origin http://10.0.0.5:8080"])
    c = WsClient(b.port, extra_headers="Origin: https://evil.example\r\n", expect_upgrade=False)
    assert c.status == 403
    assert closed_by_peer(c.sock, 5.0)
    c.close()
    assert wait_for_log(b, "Origin 'https://evil.example' is not allowed (websockets_origin)"), b.log()
    for origin in ("https://scada.example", "http://10.0.0.5:8080"):
        ok = WsClient(b.port, extra_headers=f"Origin: {origin}\r\n")
        ok.send(ws_frame(2, connect_packet("from-" + origin.split("/")[2])))
        assert ok.read_mqtt(4) == CONNACK_OK
        ok.close()
    assert_still_serving(b)  # no Origin: not a browser


def test_secure_websockets_reject_plain_http(tbroker, pki):
    b = ws_broker(tbroker, pki, tls=True)
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed_by_peer(s, 5.0)
    s.close()
    assert_still_serving(b, client_context(pki))


@pytest.mark.slow
@pytest.mark.petrel_only("Petrel closes a connection without CONNECT after 10 s")
def test_stalled_upgrade_is_closed(tbroker):
    b = ws_broker(tbroker)
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n")  # and never the rest
    start = time.monotonic()
    assert closed_by_peer(s, 15.0)
    assert time.monotonic() - start < 14.0
    s.close()
    assert_still_serving(b)
