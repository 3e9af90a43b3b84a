"""Minimal hand-written MQTT 3.1 / 3.1.1 / 5.0 codec and socket client for black-box tests.

This module deliberately shares no code with Petrel's C++ codec: it is written from the
OASIS specifications (MQTT 3.1.1 and MQTT 5.0) so that a bug in the broker's codec cannot
be mirrored here. It is intentionally small and permissive on the encoding side (tests
must be able to build malformed packets) and strict on the decoding side (anything the
broker sends that is not well formed fails the test).

Every socket read has a timeout: nothing in here can hang a test run.
"""
from __future__ import annotations

import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

# --------------------------------------------------------------------------------------
# Packet types and protocol levels
# --------------------------------------------------------------------------------------
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = (
    8, 9, 10, 11, 12, 13, 14, 15)

TYPE_NAMES = {
    CONNECT: "CONNECT", CONNACK: "CONNACK", PUBLISH: "PUBLISH", PUBACK: "PUBACK",
    PUBREC: "PUBREC", PUBREL: "PUBREL", PUBCOMP: "PUBCOMP", SUBSCRIBE: "SUBSCRIBE",
    SUBACK: "SUBACK", UNSUBSCRIBE: "UNSUBSCRIBE", UNSUBACK: "UNSUBACK", PINGREQ: "PINGREQ",
    PINGRESP: "PINGRESP", DISCONNECT: "DISCONNECT", AUTH: "AUTH",
}

V31, V311, V5 = 3, 4, 5

# --------------------------------------------------------------------------------------
# Reason codes (MQTT 5.0 section 2.4) and v3 CONNACK return codes
# --------------------------------------------------------------------------------------
RC_SUCCESS = 0x00
RC_GRANTED_QOS1 = 0x01
RC_GRANTED_QOS2 = 0x02
RC_DISCONNECT_WITH_WILL = 0x04
RC_NO_MATCHING_SUBSCRIBERS = 0x10
RC_NO_SUBSCRIPTION_EXISTED = 0x11
RC_UNSPECIFIED = 0x80
RC_MALFORMED = 0x81
RC_PROTOCOL_ERROR = 0x82
RC_IMPL_SPECIFIC = 0x83
RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84
RC_CLIENT_ID_NOT_VALID = 0x85
RC_BAD_USER_OR_PASSWORD = 0x86
RC_NOT_AUTHORIZED = 0x87
RC_SERVER_UNAVAILABLE = 0x88
RC_SERVER_BUSY = 0x89
RC_BANNED = 0x8A
RC_SERVER_SHUTTING_DOWN = 0x8B
RC_BAD_AUTH_METHOD = 0x8C
RC_KEEP_ALIVE_TIMEOUT = 0x8D
RC_SESSION_TAKEN_OVER = 0x8E
RC_TOPIC_FILTER_INVALID = 0x8F
RC_TOPIC_NAME_INVALID = 0x90
RC_PACKET_ID_IN_USE = 0x91
RC_PACKET_ID_NOT_FOUND = 0x92
RC_RECEIVE_MAX_EXCEEDED = 0x93
RC_TOPIC_ALIAS_INVALID = 0x94
RC_PACKET_TOO_LARGE = 0x95
RC_MESSAGE_RATE_TOO_HIGH = 0x96
RC_QUOTA_EXCEEDED = 0x97
RC_ADMIN_ACTION = 0x98
RC_PAYLOAD_FORMAT_INVALID = 0x99
RC_RETAIN_NOT_SUPPORTED = 0x9A
RC_QOS_NOT_SUPPORTED = 0x9B
RC_USE_ANOTHER_SERVER = 0x9C
RC_SERVER_MOVED = 0x9D
RC_SHARED_SUBS_NOT_SUPPORTED = 0x9E
RC_CONNECTION_RATE_EXCEEDED = 0x9F
RC_MAX_CONNECT_TIME = 0xA0
RC_SUB_IDS_NOT_SUPPORTED = 0xA1
RC_WILDCARD_SUBS_NOT_SUPPORTED = 0xA2

# MQTT 3.1 / 3.1.1 CONNACK return codes
V3_ACCEPTED = 0
V3_BAD_PROTOCOL_VERSION = 1
V3_IDENTIFIER_REJECTED = 2
V3_SERVER_UNAVAILABLE = 3
V3_BAD_USERNAME_PASSWORD = 4
V3_NOT_AUTHORIZED = 5

# --------------------------------------------------------------------------------------
# Properties (MQTT 5.0 section 2.2.2.2): id -> (name, type)
# --------------------------------------------------------------------------------------
BYTE, U16, U32, VARINT, UTF8, BINARY, PAIR = "byte", "u16", "u32", "varint", "utf8", "bin", "pair"

PROPERTIES = {
    0x01: ("payload_format_indicator", BYTE),
    0x02: ("message_expiry_interval", U32),
    0x03: ("content_type", UTF8),
    0x08: ("response_topic", UTF8),
    0x09: ("correlation_data", BINARY),
    0x0B: ("subscription_identifier", VARINT),
    0x11: ("session_expiry_interval", U32),
    0x12: ("assigned_client_identifier", UTF8),
    0x13: ("server_keep_alive", U16),
    0x15: ("authentication_method", UTF8),
    0x16: ("authentication_data", BINARY),
    0x17: ("request_problem_information", BYTE),
    0x18: ("will_delay_interval", U32),
    0x19: ("request_response_information", BYTE),
    0x1A: ("response_information", UTF8),
    0x1C: ("server_reference", UTF8),
    0x1F: ("reason_string", UTF8),
    0x21: ("receive_maximum", U16),
    0x22: ("topic_alias_maximum", U16),
    0x23: ("topic_alias", U16),
    0x24: ("maximum_qos", BYTE),
    0x25: ("retain_available", BYTE),
    0x26: ("user_property", PAIR),
    0x27: ("maximum_packet_size", U32),
    0x28: ("wildcard_subscription_available", BYTE),
    0x29: ("subscription_identifier_available", BYTE),
    0x2A: ("shared_subscription_available", BYTE),
}
PROPERTY_IDS = {name: (pid, typ) for pid, (name, typ) in PROPERTIES.items()}
# Properties that may legitimately appear more than once in one packet.
MULTI_PROPERTIES = {"user_property", "subscription_identifier"}


class MalformedError(Exception):
    """The broker sent bytes this decoder could not parse."""


class ConnectionClosed(Exception):
    """The peer closed the connection."""


# --------------------------------------------------------------------------------------
# Primitive encoders
# --------------------------------------------------------------------------------------
def enc_varint(value: int) -> bytes:
    if value < 0 or value > 268_435_455:
        raise ValueError("variable byte integer out of range")
    out = bytearray()
    while True:
        byte = value % 128
        value //= 128
        if value:
            byte |= 0x80
        out.append(byte)
        if not value:
            return bytes(out)


def enc_u16(value: int) -> bytes:
    return struct.pack("!H", value)


def enc_u32(value: int) -> bytes:
    return struct.pack("!I", value)


def enc_bin(data: bytes) -> bytes:
    return enc_u16(len(data)) + data


def enc_str(text: str | bytes) -> bytes:
    """UTF-8 string; bytes are sent verbatim (lets tests send invalid UTF-8)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    return enc_u16(len(raw)) + raw


def enc_property(name: str, value: Any) -> bytes:
    pid, typ = PROPERTY_IDS[name]
    head = enc_varint(pid)
    if typ == BYTE:
        return head + bytes([value])
    if typ == U16:
        return head + enc_u16(value)
    if typ == U32:
        return head + enc_u32(value)
    if typ == VARINT:
        return head + enc_varint(value)
    if typ == UTF8:
        return head + enc_str(value)
    if typ == BINARY:
        return head + enc_bin(value)
    if typ == PAIR:
        key, val = value
        return head + enc_str(key) + enc_str(val)
    raise AssertionError(typ)


def enc_properties(props: Any) -> bytes:
    """Encode a property block (length prefix included).

    `props` may be None, raw bytes (the property bytes without the length; lets tests
    build malformed blocks), a dict {name: value} where multi-valued properties take a
    list, or a list of (name, value) pairs (allows duplicates on purpose).
    """
    if props is None:
        body = b""
    elif isinstance(props, (bytes, bytearray)):
        body = bytes(props)
    else:
        items: Iterable[tuple[str, Any]]
        if isinstance(props, dict):
            flat = []
            for name, value in props.items():
                if name in MULTI_PROPERTIES and isinstance(value, list):
                    flat.extend((name, v) for v in value)
                else:
                    flat.append((name, value))
            items = flat
        else:
            items = props
        body = b"".join(enc_property(n, v) for n, v in items)
    return enc_varint(len(body)) + body


def fixed_header(ptype: int, flags: int, body: bytes) -> bytes:
    return bytes([(ptype << 4) | (flags & 0x0F)]) + enc_varint(len(body)) + body


# --------------------------------------------------------------------------------------
# Packet encoders (return complete packets as bytes)
# --------------------------------------------------------------------------------------
@dataclass
class Will:
    topic: str | bytes
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    props: Any = None  # v5 will properties


def connect(client_id: str | bytes = "", version: int = V5, clean: bool = True,
            keepalive: int = 60, username: str | bytes | None = None,
            password: bytes | None = None, will: Will | None = None, props: Any = None,
            reserved_flag: bool = False, protocol_name: bytes | None = None) -> bytes:
    if protocol_name is None:
        protocol_name = b"MQIsdp" if version == V31 else b"MQTT"
    flags = 0
    if reserved_flag:
        flags |= 0x01
    if clean:
        flags |= 0x02
    if will is not None:
        flags |= 0x04 | ((will.qos & 3) << 3)
        if will.retain:
            flags |= 0x20
    if password is not None:
        flags |= 0x40
    if username is not None:
        flags |= 0x80
    body = enc_bin(protocol_name) + bytes([version, flags]) + enc_u16(keepalive)
    if version == V5:
        body += enc_properties(props)
    body += enc_str(client_id)
    if will is not None:
        if version == V5:
            body += enc_properties(will.props)
        body += enc_str(will.topic)
        body += enc_bin(will.payload if isinstance(will.payload, bytes) else will.payload.encode())
    if username is not None:
        body += enc_str(username)
    if password is not None:
        body += enc_bin(password)
    return fixed_header(CONNECT, 0, body)


def publish(topic: str | bytes, payload: bytes | str = b"", qos: int = 0, retain: bool = False,
            dup: bool = False, pid: int | None = None, props: Any = None,
            version: int = V5, flags: int | None = None) -> bytes:
    if isinstance(payload, str):
        payload = payload.encode()
    if flags is None:
        flags = (0x08 if dup else 0) | ((qos & 3) << 1) | (0x01 if retain else 0)
    body = enc_str(topic)
    if qos > 0 or (pid is not None):
        body += enc_u16(pid if pid is not None else 1)
    if version == V5:
        body += enc_properties(props)
    body += payload
    return fixed_header(PUBLISH, flags, body)


def _ack(ptype: int, flags: int, pid: int, rc: int | None, props: Any, version: int) -> bytes:
    body = enc_u16(pid)
    if version == V5 and (rc not in (None, 0) or props is not None):
        body += bytes([rc or 0])
        if props is not None:
            body += enc_properties(props)
    return fixed_header(ptype, flags, body)


def puback(pid: int, rc: int | None = None, props: Any = None, version: int = V5) -> bytes:
    return _ack(PUBACK, 0, pid, rc, props, version)


def pubrec(pid: int, rc: int | None = None, props: Any = None, version: int = V5) -> bytes:
    return _ack(PUBREC, 0, pid, rc, props, version)


def pubrel(pid: int, rc: int | None = None, props: Any = None, version: int = V5,
           flags: int = 0x02) -> bytes:
    return _ack(PUBREL, flags, pid, rc, props, version)


def pubcomp(pid: int, rc: int | None = None, props: Any = None, version: int = V5) -> bytes:
    return _ack(PUBCOMP, 0, pid, rc, props, version)


def subscribe(pid: int, filters: list, props: Any = None, version: int = V5,
              flags: int = 0x02) -> bytes:
    """`filters`: list of (filter, options_byte) or (filter, qos) or plain filter strings.

    For v5 the options byte is qos | nl<<2 | rap<<3 | rh<<4; use sub_options() to build it.
    """
    body = enc_u16(pid)
    if version == V5:
        body += enc_properties(props)
    for item in filters:
        if isinstance(item, (str, bytes)):
            item = (item, 0)
        flt, opts = item
        body += enc_str(flt) + bytes([opts])
    return fixed_header(SUBSCRIBE, flags, body)


def sub_options(qos: int = 0, no_local: bool = False, retain_as_published: bool = False,
                retain_handling: int = 0) -> int:
    return (qos & 3) | (0x04 if no_local else 0) | (0x08 if retain_as_published else 0) | (
        (retain_handling & 3) << 4)


def unsubscribe(pid: int, filters: list, props: Any = None, version: int = V5,
                flags: int = 0x02) -> bytes:
    body = enc_u16(pid)
    if version == V5:
        body += enc_properties(props)
    for flt in filters:
        body += enc_str(flt)
    return fixed_header(UNSUBSCRIBE, flags, body)


def pingreq() -> bytes:
    return b"\xc0\x00"


def disconnect(rc: int | None = None, props: Any = None, version: int = V5) -> bytes:
    body = b""
    if version == V5 and (rc not in (None, 0) or props is not None):
        body = bytes([rc or 0])
        if props is not None:
            body += enc_properties(props)
    return fixed_header(DISCONNECT, 0, body)


def auth(rc: int = 0, props: Any = None) -> bytes:
    body = bytes([rc]) + enc_properties(props)
    return fixed_header(AUTH, 0, body)


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------
class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedError(f"need {n} bytes at {self.pos}, have {self.remaining()}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("!H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("!I", self.take(4))[0]

    def varint(self) -> int:
        mult, value = 1, 0
        for i in range(4):
            b = self.byte()
            value += (b & 0x7F) * mult
            if not b & 0x80:
                if i > 0 and b == 0:
                    raise MalformedError("non-minimal variable byte integer")
                return value
            mult *= 128
        raise MalformedError("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def utf8(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(f"invalid UTF-8 from broker: {raw!r}") from exc
        if "\x00" in text:
            raise MalformedError("U+0000 in string from broker")
        return text


class Props(dict):
    """Decoded properties: name -> value; user_property and subscription_identifier
    are lists. `raw` keeps the (name, value) sequence in wire order."""

    def __init__(self):
        super().__init__()
        self.raw: list[tuple[str, Any]] = []

    @property
    def user(self) -> list[tuple[str, str]]:
        return self.get("user_property", [])


def dec_properties(r: Reader) -> Props:
    length = r.varint()
    end = r.pos + length
    if end > len(r.data):
        raise MalformedError("property length past end of packet")
    props = Props()
    while r.pos < end:
        pid = r.varint()
        if pid not in PROPERTIES:
            raise MalformedError(f"unknown property id 0x{pid:02x}")
        name, typ = PROPERTIES[pid]
        if typ == BYTE:
            val: Any = r.byte()
        elif typ == U16:
            val = r.u16()
        elif typ == U32:
            val = r.u32()
        elif typ == VARINT:
            val = r.varint()
        elif typ == UTF8:
            val = r.utf8()
        elif typ == BINARY:
            val = r.binary()
        else:
            val = (r.utf8(), r.utf8())
        props.raw.append((name, val))
        if name in MULTI_PROPERTIES:
            props.setdefault(name, []).append(val)
        else:
            if name in props:
                raise MalformedError(f"duplicate property {name} from broker")
            props[name] = val
    if r.pos != end:
        raise MalformedError("property block overran")
    return props


@dataclass
class Packet:
    type: int
    flags: int
    raw: bytes
    # common decoded fields (only the relevant ones are set)
    pid: int | None = None
    rc: int | None = None
    props: Props = field(default_factory=Props)
    # CONNACK
    session_present: bool | None = None
    # PUBLISH
    topic: str | None = None
    payload: bytes | None = None
    qos: int = 0
    retain: bool = False
    dup: bool = False
    # SUBACK / UNSUBACK
    codes: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type{self.type}")

    def __repr__(self) -> str:
        bits = [self.name]
        for attr in ("pid", "rc", "session_present", "topic", "payload", "qos", "retain",
                     "dup", "codes"):
            val = getattr(self, attr)
            if val not in (None, [], False) and not (attr == "qos" and self.type != PUBLISH):
                bits.append(f"{attr}={val!r}")
        if self.props:
            bits.append(f"props={dict(self.props)!r}")
        return "<" + " ".join(bits) + ">"


def decode(raw: bytes, version: int) -> Packet:
    """Decode one complete packet (fixed header included)."""
    r = Reader(raw)
    first = r.byte()
    ptype, flags = first >> 4, first & 0x0F
    length = r.varint()
    if r.remaining() != length:
        raise MalformedError("remaining length mismatch")
    p = Packet(type=ptype, flags=flags, raw=raw)
    v5 = version == V5
    expected_flags = {PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2}
    if ptype != PUBLISH and flags != expected_flags.get(ptype, 0):
        raise MalformedError(f"{p.name} with reserved flags 0x{flags:x} from broker")
    if ptype == CONNACK:
        ack_flags = r.byte()
        if ack_flags & 0xFE:
            raise MalformedError("CONNACK reserved flags set")
        p.session_present = bool(ack_flags & 1)
        p.rc = r.byte()
        if v5 and r.remaining():
            p.props = dec_properties(r)
    elif ptype == PUBLISH:
        p.dup = bool(flags & 0x08)
        p.qos = (flags >> 1) & 3
        p.retain = bool(flags & 1)
        if p.qos == 3:
            raise MalformedError("PUBLISH QoS 3 from broker")
        p.topic = r.utf8()
        if p.qos:
            p.pid = r.u16()
            if p.pid == 0:
                raise MalformedError("PUBLISH packet id 0 from broker")
        if v5:
            p.props = dec_properties(r)
        p.payload = r.take(r.remaining())
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.pid = r.u16()
        p.rc = 0
        if v5 and r.remaining():
            p.rc = r.byte()
            if r.remaining():
                p.props = dec_properties(r)
    elif ptype == SUBACK:
        p.pid = r.u16()
        if v5:
            p.props = dec_properties(r)
        p.codes = list(r.take(r.remaining()))
        if not p.codes:
            raise MalformedError("SUBACK without return codes")
    elif ptype == UNSUBACK:
        p.pid = r.u16()
        if v5:
            p.props = dec_properties(r)
            p.codes = list(r.take(r.remaining()))
    elif ptype in (DISCONNECT, AUTH):
        p.rc = 0
        if v5 and r.remaining():
            p.rc = r.byte()
            if r.remaining():
                p.props = dec_properties(r)
    elif ptype == PINGRESP:
        pass
    else:
        raise MalformedError(f"unexpected packet type {ptype} from broker")
    if r.remaining():
        raise MalformedError(f"{p.name}: {r.remaining()} trailing bytes")
    return p


# --------------------------------------------------------------------------------------
# Socket client
# --------------------------------------------------------------------------------------
DEFAULT_TIMEOUT = 5.0


class Client:
    """A raw MQTT client over one TCP socket. Every receive is bounded by a timeout."""

    def __init__(self, port: int, host: str = "127.0.0.1", version: int = V5,
                 timeout: float = DEFAULT_TIMEOUT, connect_socket: bool = True):
        self.host, self.port, self.version, self.timeout = host, port, version, timeout
        self.buf = bytearray()
        self.pending: list[Packet] = []  # PUBLISH packets set aside while awaiting an ack
        self.closed = False
        self.next_pid = 1
        self.sock: socket.socket | None = None
        if connect_socket:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing ---------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def fileno(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    def send(self, data: bytes) -> None:
        assert self.sock is not None, "socket already closed"
        self.sock.sendall(data)

    def alloc_pid(self) -> int:
        pid = self.next_pid
        self.next_pid = self.next_pid % 65535 + 1
        return pid

    def _frame_length(self) -> int | None:
        """Total length of the first complete packet in buf, or None if incomplete."""
        if len(self.buf) < 2:
            return None
        mult, value, i = 1, 0, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            value += (b & 0x7F) * mult
            i += 1
            if not b & 0x80:
                break
            mult *= 128
            if i > 4:
                raise MalformedError("remaining length longer than 4 bytes from broker")
        total = i + value
        return total if len(self.buf) >= total else None

    def _fill(self, deadline: float) -> None:
        assert self.sock is not None, "socket already closed"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out waiting for data from broker")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as exc:
            raise TimeoutError("timed out waiting for data from broker") from exc
        except ConnectionResetError as exc:
            self.closed = True
            raise ConnectionClosed("connection reset by broker") from exc
        if not chunk:
            self.closed = True
            raise ConnectionClosed("connection closed by broker")
        self.buf += chunk

    def recv(self, timeout: float | None = None) -> Packet:
        """Next packet from the broker; TimeoutError or ConnectionClosed otherwise."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            total = self._frame_length()
            if total is not None:
                raw = bytes(self.buf[:total])
                del self.buf[:total]
                try:
                    return decode(raw, self.version)
                except MalformedError as exc:
                    raise MalformedError(f"{exc} (v{self.version} decoder; bytes from broker: "
                                         f"{raw.hex(' ')})") from None
            self._fill(deadline)

    def expect(self, ptype: int, timeout: float | None = None) -> Packet:
        pkt = self.recv(timeout)
        assert pkt.type == ptype, f"expected {TYPE_NAMES[ptype]}, got {pkt!r}"
        return pkt

    def await_ack(self, ptype: int, pid: int | None = None,
                  timeout: float | None = None) -> Packet:
        """Wait for an acknowledgement packet (CONNACK, SUBACK, PUBACK...), setting aside
        any PUBLISH that arrives first (the order between, e.g., SUBACK and retained
        messages is not fixed); later recv() calls return those first."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        stashed = []
        try:
            while True:
                pkt = self._recv_wire(max(0.0, deadline - time.monotonic()))
                if pkt.type == PUBLISH and ptype != PUBLISH:
                    stashed.append(pkt)
                    continue
                assert pkt.type == ptype, f"expected {TYPE_NAMES[ptype]}, got {pkt!r}"
                if pid is not None:
                    assert pkt.pid == pid, f"{pkt.name} for packet id {pkt.pid}, expected {pid}"
                return pkt
        finally:
            self.pending.extend(stashed)

    def _recv_wire(self, timeout: float) -> Packet:
        saved, self.pending = self.pending, []
        try:
            return self.recv(timeout)
        finally:
            self.pending = saved + self.pending

    def expect_nothing(self, timeout: float = 0.5) -> None:
        """Assert that the broker sends nothing (and does not close) for `timeout` s."""
        try:
            pkt = self.recv(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing from broker, got {pkt!r}")

    def expect_closed(self, reason: int | None = None, timeout: float | None = None,
                      allow_disconnect: bool = True) -> Packet | None:
        """Assert that the broker closes the connection within `timeout`.

        With `reason` (v5), a DISCONNECT carrying that reason code must come first.
        Without it, an optional DISCONNECT (any code) is tolerated when
        allow_disconnect is true. Returns the DISCONNECT packet if one was received.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got_disconnect = None
        while True:
            try:
                pkt = self.recv(max(0.0, deadline - time.monotonic()))
            except ConnectionClosed:
                break
            except TimeoutError:
                raise AssertionError(
                    "broker did not close the connection in time"
                    + (f" (received {got_disconnect!r})" if got_disconnect else "")) from None
            if pkt.type == DISCONNECT and got_disconnect is None:
                got_disconnect = pkt
                continue
            raise AssertionError(f"expected close, got {pkt!r}")
        if reason is not None:
            assert got_disconnect is not None, (
                f"connection closed without DISCONNECT (expected reason 0x{reason:02x})")
            assert got_disconnect.rc == reason, (
                f"DISCONNECT reason 0x{got_disconnect.rc:02x}, expected 0x{reason:02x}")
        elif got_disconnect is not None and not allow_disconnect:
            raise AssertionError(f"unexpected {got_disconnect!r} before close")
        self.close()
        return got_disconnect

    # -- packet helpers -----------------------------------------------------------------
    def connect(self, client_id: str | bytes = "", clean: bool = True, keepalive: int = 60,
                username=None, password=None, will: Will | None = None, props: Any = None,
                expect_rc: int | None = 0, **kw) -> Packet | None:
        """Send CONNECT and read CONNACK. With expect_rc=None the CONNACK is not read."""
        self.send(connect(client_id, self.version, clean, keepalive, username, password,
                          will, props, **kw))
        if expect_rc is None:
            return None
        ack = self.expect(CONNACK)
        assert ack.rc == expect_rc, f"CONNACK rc 0x{ack.rc:02x}, expected 0x{expect_rc:02x}: {ack!r}"
        return ack

    def publish(self, topic, payload=b"", qos: int = 0, retain: bool = False, dup: bool = False,
                pid: int | None = None, props: Any = None, wait_ack: bool = True) -> Packet | None:
        """Publish; for QoS 1/2 (with wait_ack) complete the handshake and return the
        final ack (PUBACK or PUBCOMP)."""
        if qos and pid is None:
            pid = self.alloc_pid()
        self.send(publish(topic, payload, qos, retain, dup, pid, props, self.version))
        if not qos or not wait_ack:
            return None
        if qos == 1:
            return self.await_ack(PUBACK, pid)
        rec = self.await_ack(PUBREC, pid)
        if rec.rc is not None and rec.rc >= 0x80:
            return rec
        self.send(pubrel(pid, version=self.version))
        return self.await_ack(PUBCOMP, pid)

    def subscribe(self, filters, props: Any = None, pid: int | None = None,
                  expect_codes: list[int] | None = None) -> Packet:
        """`filters`: a filter string, or a list of filter strings / (filter, opts)."""
        if isinstance(filters, (str, bytes)):
            filters = [filters]
        if pid is None:
            pid = self.alloc_pid()
        self.send(subscribe(pid, filters, props, self.version))
        ack = self.await_ack(SUBACK, pid)
        if expect_codes is not None:
            assert ack.codes == expect_codes, f"SUBACK codes {ack.codes}, expected {expect_codes}"
        return ack

    def unsubscribe(self, filters, props: Any = None, pid: int | None = None) -> Packet:
        if isinstance(filters, (str, bytes)):
            filters = [filters]
        if pid is None:
            pid = self.alloc_pid()
        self.send(unsubscribe(pid, filters, props, self.version))
        return self.await_ack(UNSUBACK, pid)

    def ping(self, timeout: float | None = None) -> None:
        self.send(pingreq())
        self.await_ack(PINGRESP, timeout=timeout)

    def disconnect(self, rc: int | None = None, props: Any = None, wait: float = 2.0) -> None:
        """Send DISCONNECT and wait (bounded) until the broker closes the connection, so
        the broker has processed it before the test goes on: with several worker threads a
        message published right after could otherwise still reach this connection."""
        try:
            self.send(disconnect(rc, props, self.version))
            self.sock.settimeout(wait)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.close()

    def ack(self, pkt: Packet) -> None:
        """Acknowledge a received PUBLISH as a well-behaved client (QoS 2: PUBREC,
        then wait for PUBREL, then PUBCOMP)."""
        if pkt.qos == 1:
            self.send(puback(pkt.pid, version=self.version))
        elif pkt.qos == 2:
            self.send(pubrec(pkt.pid, version=self.version))
            self.await_ack(PUBREL, pkt.pid)
            self.send(pubcomp(pkt.pid, version=self.version))

    def recv_publish(self, timeout: float | None = None, ack: bool = True) -> Packet:
        pkt = self.expect(PUBLISH, timeout)
        if ack:
            self.ack(pkt)
        return pkt

    def recv_publishes(self, n: int, timeout: float | None = None, ack: bool = True) -> list[Packet]:
        """Receive exactly n PUBLISH packets, acknowledging as they arrive."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        out = []
        pending_rel: set[int] = set()
        while len(out) < n or pending_rel:
            pkt = self.recv(max(0.0, deadline - time.monotonic()))
            if pkt.type == PUBLISH:
                out.append(pkt)
                if ack and pkt.qos == 1:
                    self.send(puback(pkt.pid, version=self.version))
                elif ack and pkt.qos == 2:
                    self.send(pubrec(pkt.pid, version=self.version))
                    pending_rel.add(pkt.pid)
            elif pkt.type == PUBREL and pkt.pid in pending_rel:
                pending_rel.discard(pkt.pid)
                self.send(pubcomp(pkt.pid, version=self.version))
            else:
                raise AssertionError(f"unexpected {pkt!r} while receiving publishes")
            if not ack:
                pending_rel.clear()
        return out

    def collect(self, idle: float = 0.5, total: float = 10.0, ack: bool = True) -> list[Packet]:
        """Receive PUBLISH packets (acknowledging them when `ack`) until the broker has
        been silent for `idle` seconds or `total` seconds have passed. Any other packet
        except the PUBREL of a QoS 2 handshake fails the test."""
        deadline = time.monotonic() + total
        out = []
        while True:
            wait = min(idle, deadline - time.monotonic())
            if wait <= 0:
                return out
            try:
                pkt = self.recv(wait)
            except TimeoutError:
                return out
            if pkt.type == PUBLISH:
                out.append(pkt)
                if ack and pkt.qos == 1:
                    self.send(puback(pkt.pid, version=self.version))
                elif ack and pkt.qos == 2:
                    self.send(pubrec(pkt.pid, version=self.version))
            elif pkt.type == PUBREL and ack:
                self.send(pubcomp(pkt.pid, version=self.version))
            else:
                raise AssertionError(f"unexpected {pkt!r} while collecting publishes")

    def drain(self, timeout: float = 0.3) -> list[Packet]:
        """Read everything the broker sends until `timeout` passes with nothing or the
        connection closes (then self.closed is set)."""
        out = []
        while True:
            try:
                out.append(self.recv(timeout))
            except (TimeoutError, ConnectionClosed):
                return out


def read_available(client: Client) -> list[Packet]:
    """Non-blocking: read whatever bytes are ready on `client` and return the complete
    packets decoded from its buffer (raises ConnectionClosed on EOF)."""
    assert client.sock is not None
    client.sock.setblocking(False)
    try:
        while True:
            try:
                chunk = client.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionResetError as exc:
                client.closed = True
                raise ConnectionClosed("connection reset by broker") from exc
            if not chunk:
                client.closed = True
                raise ConnectionClosed("connection closed by broker")
            client.buf += chunk
    finally:
        if client.sock is not None:
            client.sock.settimeout(client.timeout)
    out = []
    while True:
        total = client._frame_length()
        if total is None:
            return out
        raw = bytes(client.buf[:total])
        del client.buf[:total]
        out.append(decode(raw, client.version))


def is_open(sock_or_client, timeout: float = 0.0) -> bool:
    """True if the peer has not closed the socket (no EOF readable within timeout)."""
    sock = sock_or_client.sock if isinstance(sock_or_client, Client) else sock_or_client
    if sock is None:
        return False
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return True
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return False
    return bool(data)
