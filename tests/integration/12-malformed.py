"""Malformed-packet and protocol-error battery.

Every case runs on one shared broker (module scope). For MQTT 5 the broker must send a
DISCONNECT with the spec's reason code and close; for 3.1.1 it must close. Codes follow
MQTT 5.0 section 4.13 and its definitions: 0x81 Malformed Packet = "cannot be parsed
according to this specification" (bad lengths, bad UTF-8, reserved bits, unknown or
misplaced properties); 0x82 Protocol Error = parsed, but not allowed (zero packet ids,
duplicate properties, values the spec calls a Protocol Error). Where Mosquitto 2.0.11
chooses differently, the spec's code is asserted and the case is marked.

After the battery, clients connected before it must still be served (last tests)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

import rawmqtt as mq
from conftest import BrokerFactory
from helpers import V311, V5

MAX_PACKET = 10000

M, P = mq.RC_MALFORMED, mq.RC_PROTOCOL_ERROR

NO_DISCONNECT = "Mosquitto 2.0.11 closes without sending the DISCONNECT (4.13.1: SHOULD send it)"
NOT_CLOSED = "Mosquitto 2.0.11 accepts this packet and keeps the connection open"


@dataclass
class Case:
    id: str
    build: Callable[[int], bytes]       # version -> bytes to send after CONNECT
    v5: int | tuple[int, ...]           # acceptable DISCONNECT reason code(s)
    versions: tuple[int, ...] = (V311, V5)
    dev5: str | None = None             # Mosquitto deviation for v5
    dev3: str | None = None             # Mosquitto deviation for v3.1.1
    spec: str = ""


def raw(data: bytes) -> Callable[[int], bytes]:
    return lambda v: data


def sub(filters, props=None, pid=1, flags=0x02):
    return lambda v: mq.subscribe(pid, filters, props if v == V5 else None, v, flags)


def unsub(filters, pid=1, flags=0x02):
    return lambda v: mq.unsubscribe(pid, filters, None, v, flags)


def pub(topic, payload=b"x", qos=0, pid=None, props=None, **kw):
    return lambda v: mq.publish(topic, payload, qos, pid=pid, props=props if v == V5 else None,
                                version=v, **kw)


V5_ONLY = (V5,)

CASES = [
    # --- framing ---------------------------------------------------------------------
    Case("remaining-length-5-bytes", raw(b"\x30\xff\xff\xff\xff\x01"), M,
         dev5=NO_DISCONNECT, spec="1.5.5"),
    Case("remaining-length-non-minimal-overflow", raw(b"\x30\x80\x80\x80\x80\x00"), M,
         dev5=NO_DISCONNECT, spec="1.5.5"),
    Case("truncated-publish-topic", raw(bytes([0x30, 4]) + b"\x00\x05ab"), M, spec="1.5.4"),
    Case("reserved-packet-type-0", raw(b"\x00\x00"), (M, P), spec="2.1.2"),
    # --- reserved flag bits [MQTT-2.1.3-1] / [MQTT-2.2.2-2] ------------------------------
    Case("publish-qos-3", raw(bytes([0x36, 5]) + mq.enc_str("a") + b"\x00\x01"), M,
         spec="MQTT-3.3.1-4"),
    Case("pingreq-flags", raw(b"\xc1\x00"), M, dev5=NOT_CLOSED, dev3=NOT_CLOSED,
         spec="MQTT-2.1.3-1"),
    Case("pingreq-with-body", raw(b"\xc0\x01\x00"), M, dev5=NOT_CLOSED, dev3=NOT_CLOSED,
         spec="3.12.2"),
    Case("subscribe-flags-0", sub([("a", 0)], flags=0), M, spec="MQTT-3.8.1-1"),
    Case("unsubscribe-flags-0", unsub(["a"], flags=0), M, spec="MQTT-3.10.1-1"),
    Case("pubrel-flags-0", lambda v: mq.pubrel(1, version=v, flags=0), M, dev5=NO_DISCONNECT,
         spec="MQTT-3.6.1-1"),
    Case("puback-flags", raw(b"\x41\x02\x00\x01"), M, dev5=NOT_CLOSED, dev3=NOT_CLOSED,
         spec="MQTT-2.1.3-1"),
    # --- packets only a server sends ----------------------------------------------------
    Case("connack-from-client", raw(b"\x20\x02\x00\x00"), P, dev5=NO_DISCONNECT, spec="4.13"),
    Case("suback-from-client", raw(b"\x90\x03\x00\x01\x00"), P, dev5=NO_DISCONNECT,
         dev3=NOT_CLOSED, spec="4.13"),
    # --- topic names ---------------------------------------------------------------------
    Case("topic-invalid-utf8", pub(b"a\xffb"), M, spec="MQTT-1.5.4-1"),
    Case("topic-u0000", pub(b"a\x00b"), M, spec="MQTT-1.5.4-2"),
    Case("topic-surrogate", pub(b"a\xed\xa0\x80b"), M, spec="MQTT-1.5.4-1"),
    Case("topic-overlong-utf8", pub(b"a\xc0\xafb"), M, spec="MQTT-1.5.4-1"),
    Case("topic-wildcard-plus", pub("a/+/c"), mq.RC_TOPIC_NAME_INVALID,
         dev5="Mosquitto 2.0.11 sends 0x82 Protocol Error; 0x90 Topic Name invalid is the "
              "code for a topic name the server does not accept", spec="MQTT-3.3.2-2"),
    Case("topic-wildcard-hash", pub("a/#"), mq.RC_TOPIC_NAME_INVALID,
         dev5="Mosquitto 2.0.11 sends 0x82 Protocol Error; 0x90 Topic Name invalid is the "
              "code for a topic name the server does not accept", spec="MQTT-3.3.2-2"),
    Case("topic-empty-no-alias", pub(""), P, spec="3.3.2.1 / 3.3.2.3.4"),
    # --- packet identifiers ------------------------------------------------------------
    Case("publish-qos1-packet-id-0", pub("a", qos=1, pid=0), P, spec="MQTT-2.2.1-3"),
    Case("subscribe-packet-id-0", sub([("a", 0)], pid=0), P,
         dev5="Mosquitto 2.0.11 sends 0x81; a zero packet id parses and is a Protocol Error",
         spec="MQTT-2.2.1-3"),
    Case("unsubscribe-packet-id-0", unsub(["a"], pid=0), P,
         dev5="Mosquitto 2.0.11 sends 0x81; a zero packet id parses and is a Protocol Error",
         spec="MQTT-2.2.1-3"),
    # --- SUBSCRIBE / UNSUBSCRIBE payloads ------------------------------------------------
    Case("subscribe-no-filters",
         lambda v: mq.fixed_header(mq.SUBSCRIBE, 2, b"\x00\x01" + (b"\x00" if v == V5 else b"")),
         P, dev5="Mosquitto 2.0.11 sends 0x81; [MQTT-3.8.3-2] calls it a Protocol Error",
         spec="MQTT-3.8.3-2"),
    Case("unsubscribe-no-filters",
         lambda v: mq.fixed_header(mq.UNSUBSCRIBE, 2, b"\x00\x01" + (b"\x00" if v == V5 else b"")),
         P, dev5="Mosquitto 2.0.11 sends 0x81; [MQTT-3.10.3-2] calls it a Protocol Error",
         spec="MQTT-3.10.3-2"),
    Case("subscribe-qos-3", sub([("a", 3)]), P,
         dev5="Mosquitto 2.0.11 sends 0x81; 3.8.3.1 calls Maximum QoS 3 a Protocol Error",
         spec="3.8.3.1"),
    Case("subscribe-options-reserved-bits", sub([("a", 0xC0)]), M, spec="MQTT-3.8.3-5"),
    # A filter breaking the syntax makes the packet malformed [MQTT-4.13.1-1]: closed
    # (v5: DISCONNECT first), never a SUBACK failure code, even beside valid filters.
    Case("subscribe-empty-filter", sub([("", 0)]), (M, P), spec="MQTT-4.7.3-1"),
    Case("unsubscribe-empty-filter", unsub([""]), (M, P), spec="MQTT-4.7.3-1"),
    Case("subscribe-hash-not-last", sub([("a/#/b", 0)]), (M, P), spec="MQTT-4.7.1-1"),
    Case("subscribe-hash-first-level", sub([("#/a", 0)]), (M, P), spec="MQTT-4.7.1-1"),
    Case("subscribe-hash-sharing-level", sub([("a/b#", 0)]), (M, P), spec="MQTT-4.7.1-1"),
    Case("subscribe-plus-not-alone", sub([("a+", 0)]), (M, P), spec="MQTT-4.7.1-2"),
    Case("subscribe-plus-sharing-level", sub([("a+/b", 0)]), (M, P), spec="MQTT-4.7.1-2"),
    Case("subscribe-bad-filter-after-good", sub([("good/t", 0), ("a/#/b", 1)]), (M, P),
         spec="MQTT-4.7.1-1"),
    Case("subscribe-shared-bad-inner", sub([("$share/g/a#", 0)]), (M, P), spec="MQTT-4.7.1-1"),
    Case("unsubscribe-hash-not-last", unsub(["a/#/b"]), (M, P), spec="MQTT-4.7.1-1"),
    Case("unsubscribe-plus-sharing-level", unsub(["a+/b"]), (M, P), spec="MQTT-4.7.1-2"),
    # Topic depth: more than 200 '/' separators is refused (Mosquitto's limit, same line).
    Case("subscribe-filter-201-separators", sub([("a" + "/a" * 201, 0)]), (M, P)),
    Case("publish-topic-201-separators", pub("a" + "/a" * 201, qos=1, pid=1),
         (mq.RC_TOPIC_NAME_INVALID, P),
         spec="Mosquitto 2.0.11: DISCONNECT 0x82; Petrel: 0x90 as for any topic it refuses"),
    Case("subscribe-retain-handling-3", sub([("a", 3 << 4)]), P, versions=V5_ONLY,
         dev5="Mosquitto 2.0.11 sends 0x81; 3.8.3.1 calls Retain Handling 3 a Protocol Error",
         spec="3.8.3.1"),
    Case("subscribe-no-local-on-shared", sub([("$share/g/a", 0x04)]), P, versions=V5_ONLY,
         dev5=NOT_CLOSED + " (it grants the subscription)", spec="MQTT-3.8.3-4"),
    Case("subscription-identifier-0", sub([("a", 0)], props={"subscription_identifier": 0}), P,
         versions=V5_ONLY,
         dev5="Mosquitto 2.0.11 sends 0x81; 3.8.2.1.2 calls identifier 0 a Protocol Error",
         spec="3.8.2.1.2"),
    # --- properties ----------------------------------------------------------------------
    Case("duplicate-property",
         pub("a", props=[("message_expiry_interval", 5), ("message_expiry_interval", 6)]), P,
         versions=V5_ONLY, dev5=NO_DISCONNECT, spec="3.3.2.3.3"),
    Case("unknown-property-id", pub("a", props=b"\x7f\x00"), M, versions=V5_ONLY,
         spec="2.2.2.2"),
    Case("property-not-allowed-in-publish",
         pub("a", props={"assigned_client_identifier": "x"}), M, versions=V5_ONLY,
         spec="2.2.2.2"),
    Case("property-length-past-end",
         raw(mq.fixed_header(mq.PUBLISH, 0, mq.enc_str("a") + b"\x05\x02")), M,
         versions=V5_ONLY, spec="2.2.2.1"),
    Case("user-property-invalid-utf8", pub("a", props=b"\x26\x00\x01\xff\x00\x01a"), M,
         versions=V5_ONLY, dev5=NO_DISCONNECT, spec="MQTT-1.5.4-1"),
    Case("subscription-identifier-in-client-publish",
         pub("a", props={"subscription_identifier": 3}), P, versions=V5_ONLY,
         dev5=NOT_CLOSED, spec="MQTT-3.3.4-6"),
    Case("topic-alias-above-maximum", pub("a", props={"topic_alias": 11}),
         mq.RC_TOPIC_ALIAS_INVALID, versions=V5_ONLY, spec="3.3.2.3.4"),
    # --- sizes -----------------------------------------------------------------------------
    Case("packet-over-max-packet-size", pub("big", b"x" * (MAX_PACKET + 100)),
         mq.RC_PACKET_TOO_LARGE, spec="MQTT-3.2.2-15 / max_packet_size"),
    # --- packet order ----------------------------------------------------------------------
    Case("second-connect", lambda v: mq.connect("again", version=v), P, dev5=NO_DISCONNECT,
         spec="MQTT-3.1.0-2"),
    Case("auth-without-authentication-method", raw(mq.auth(0x18, {"authentication_method": "x"})),
         P, dev5=NO_DISCONNECT, spec="4.12"),
    Case("auth-packet-in-v311", raw(mq.auth(0)), P, versions=(V311,), spec="MQTT 3.1.1 2.2.1"),
]


def params(version):
    out = []
    for c in CASES:
        if version not in c.versions:
            continue
        dev = c.dev5 if version == V5 else c.dev3
        marks = [pytest.mark.mosquitto_deviates(dev)] if dev else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


@pytest.fixture(scope="module")
def battery(request, tmp_path_factory):
    """One broker for the whole battery, with bystanders connected before it starts."""
    factory = BrokerFactory(request.config, tmp_path_factory.mktemp("battery"), None)
    request.module._petrel_factory = factory
    b = factory([f"max_packet_size {MAX_PACKET}"])
    bystanders = {
        "v5": b.connect("bystander5", version=V5, keepalive=0),
        "v311": b.connect("bystander3", version=V311, keepalive=0),
    }
    for c in bystanders.values():
        c.subscribe([("battery/after", 1)])
    yield b, bystanders
    problems = factory.teardown()
    assert not problems, "\n".join(problems)


def check_v5(c: mq.Client, case: Case):
    expected = case.v5 if isinstance(case.v5, tuple) else (case.v5,)
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        raise AssertionError(f"closed without DISCONNECT (expected reason "
                             f"{', '.join(f'0x{x:02x}' for x in expected)})") from None
    except TimeoutError:
        raise AssertionError("broker neither answered nor closed the connection") from None
    assert pkt.type == mq.DISCONNECT, f"expected DISCONNECT, got {pkt!r}"
    assert pkt.rc in expected, (f"DISCONNECT reason 0x{pkt.rc:02x}, expected "
                                f"{' or '.join(f'0x{x:02x}' for x in expected)}")
    c.expect_closed(timeout=5)


def check_v3(c: mq.Client, case: Case):
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    except TimeoutError:
        raise AssertionError("broker did not close the connection") from None
    raise AssertionError(f"expected the connection to close, got {pkt!r}")


@pytest.mark.parametrize("case", params(V5))
def test_malformed_v5(battery, case):
    b, _ = battery
    c = b.connect(f"mal5-{case.id}"[:60], version=V5)
    c.send(case.build(V5))
    check_v5(c, case)


@pytest.mark.parametrize("case", params(V311))
def test_malformed_v311(battery, case):
    b, _ = battery
    c = b.connect(f"mal3-{case.id}"[:60], version=V311)
    c.send(case.build(V311))
    check_v3(c, case)


# --------------------------------------------------------------------------------------
# Errors inside CONNECT: the broker may answer with a CONNACK carrying an error, and
# must close [MQTT-3.1.4-1 / 4.13].
# --------------------------------------------------------------------------------------
def connect_body(version, flags, props=b"\x00", tail=b""):
    body = mq.enc_bin(b"MQTT") + bytes([version, flags]) + mq.enc_u16(60)
    if version == V5:
        body += props
    return mq.fixed_header(mq.CONNECT, 0, body + tail)


CONNECT_CASES = [
    ("reserved-flag", lambda v: mq.connect("c", version=v, reserved_flag=True), (V311, V5)),
    ("fixed-header-flags", lambda v: bytes([0x11]) + mq.connect("c", version=v)[1:], (V311, V5)),
    ("will-qos-3", lambda v: mq.connect("c", version=v, will=mq.Will("w", b"x", qos=3)),
     (V311, V5)),
    ("will-qos-without-will-flag", lambda v: connect_body(v, 0x02 | 0x08, tail=mq.enc_str("c")),
     (V311, V5)),
    ("will-retain-without-will-flag",
     lambda v: connect_body(v, 0x02 | 0x20, tail=mq.enc_str("c")), (V311, V5)),
    ("client-id-invalid-utf8", lambda v: mq.connect(b"c\xff", version=v), (V311, V5)),
    ("client-id-u0000", lambda v: mq.connect(b"c\x00d", version=v), (V311, V5)),
    ("truncated-connect", lambda v: mq.fixed_header(mq.CONNECT, 0, mq.enc_bin(b"MQTT") + bytes([v])),
     (V311, V5)),
    ("receive-maximum-0", lambda v: mq.connect("c", version=v, props={"receive_maximum": 0}),
     (V5,)),
    ("maximum-packet-size-0",
     lambda v: mq.connect("c", version=v, props={"maximum_packet_size": 0}), (V5,)),
    ("duplicate-session-expiry",
     lambda v: mq.connect("c", version=v, props=[("session_expiry_interval", 1),
                                                 ("session_expiry_interval", 2)]), (V5,)),
    ("request-problem-information-2",
     lambda v: mq.connect("c", version=v, props={"request_problem_information": 2}), (V5,)),
    ("will-property-in-connect-properties",
     lambda v: mq.connect("c", version=v, props={"will_delay_interval": 1}), (V5,)),
    ("topic-alias-in-will-properties",
     lambda v: mq.connect("c", version=v, will=mq.Will("w", b"x", props={"topic_alias": 1})),
     (V5,)),
]


@pytest.mark.parametrize("name,build,versions", CONNECT_CASES, ids=[c[0] for c in CONNECT_CASES])
@pytest.mark.parametrize("version", [V311, V5], ids=["v311", "v5"])
def test_malformed_connect(battery, name, build, versions, version):
    if version not in versions:
        pytest.skip("not applicable to this protocol version")
    b, _ = battery
    c = b.client(version)
    c.send(build(version))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    assert pkt.type == mq.CONNACK and pkt.rc != 0, f"expected refusal, got {pkt!r}"
    if version == V5:
        assert pkt.rc >= 0x80
    c.expect_closed(timeout=5)


# --------------------------------------------------------------------------------------
# After the battery (these run last in this module)
# --------------------------------------------------------------------------------------
def test_zz_bystanders_still_served_after_battery(battery):
    b, bystanders = battery
    p = b.connect("after-battery", version=V5)
    p.publish("battery/after", b"still alive", qos=1)
    for name, c in bystanders.items():
        msg = c.recv_publish(timeout=5)
        assert msg.payload == b"still alive", name


def test_zz_new_clients_served_after_battery(battery):
    b, _ = battery
    for version in (V311, V5):
        c = b.connect(f"fresh{version}", version=version)
        c.subscribe([("fresh/t", 2)])
        c.publish("fresh/t", b"ok", qos=2)
        assert c.recv_publish().payload == b"ok"
