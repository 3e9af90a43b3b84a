"""CONNECT / CONNACK: client identifiers, protocol levels, takeover, clean session /
clean start, session present, session expiry."""
import time

import pytest

import rawmqtt as mq
from helpers import V31, V311, V5, all_versions, persistent, v3_v5


# --------------------------------------------------------------------------------------
# Client identifiers
# --------------------------------------------------------------------------------------
def test_v5_empty_client_id_gets_assigned_identifier_MQTT_3_1_3_7(b):
    """[MQTT-3.1.3-6/7] an empty ClientID is replaced by a unique one, returned in CONNACK
    as Assigned Client Identifier; the default prefix is Mosquitto's `auto-`."""
    c1 = b.connect("", version=V5)
    c2 = b.connect("", version=V5)
    id1 = c1.connack.props.get("assigned_client_identifier")
    id2 = c2.connack.props.get("assigned_client_identifier")
    assert id1 and id2, "v5 CONNACK must carry Assigned Client Identifier"
    assert id1 != id2
    assert id1.startswith("auto-") and id2.startswith("auto-")
    assert c1.connack.session_present is False
    # The assigned id is a real, working session.
    c1.subscribe("assigned/t")
    c2.publish("assigned/t", b"hi")
    assert c1.recv_publish().payload == b"hi"


def test_auto_id_prefix(broker):
    b = broker(["auto_id_prefix zz-"])
    c = b.connect("", version=V5)
    assert c.connack.props["assigned_client_identifier"].startswith("zz-")


def test_v311_empty_client_id_with_clean_session_accepted(b):
    """[MQTT-3.1.3-6] a v3.1.1 zero-length ClientId with CleanSession=1 is accepted and
    the broker assigns an id (not returned: v3.1.1 has no property for it)."""
    c = b.connect("", version=V311, clean=True)
    assert c.connack.rc == 0 and c.connack.session_present is False
    c.subscribe("e/t")
    c.publish("e/t", b"x")
    assert c.recv_publish().payload == b"x"


def test_v311_empty_client_id_with_clean_session_0_refused_rc2_MQTT_3_1_3_8(b):
    """[MQTT-3.1.3-8] zero-length ClientId and CleanSession=0: CONNACK return code 0x02
    (identifier rejected), then close [MQTT-3.1.3-9]."""
    c = b.client(V311)
    ack = c.connect("", clean=False, expect_rc=mq.V3_IDENTIFIER_REJECTED)
    assert ack.session_present is False
    c.expect_closed()


def test_v31_empty_client_id_refused(b):
    """MQTT 3.1 requires a 1-23 character client id: return code 2."""
    c = b.client(V31)
    c.connect("", clean=True, expect_rc=mq.V3_IDENTIFIER_REJECTED)
    c.expect_closed()


def test_v5_empty_client_id_with_clean_start_0_gets_new_session(b):
    """[MQTT-3.1.3-6/7] v5 allows an empty ClientID whatever Clean Start says; the broker
    assigns one, so there can be no session to resume (Mosquitto 2 behaviour)."""
    c = b.connect("", version=V5, clean=False)
    assert c.connack.props.get("assigned_client_identifier")
    assert c.connack.session_present is False


def test_allow_zero_length_clientid_false_v311_rc2(broker):
    b = broker(["allow_zero_length_clientid false"])
    c = b.client(V311)
    c.connect("", clean=True, expect_rc=mq.V3_IDENTIFIER_REJECTED)
    c.expect_closed()
    # A client with an id is unaffected.
    b.connect("named", version=V311)


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 refuses with 0x80 Unspecified error; the "
                                "spec's code for a refused ClientID is 0x85 [MQTT-3.1.3-8]")
def test_allow_zero_length_clientid_false_v5_0x85(broker):
    b = broker(["allow_zero_length_clientid false"])
    c = b.client(V5)
    c.connect("", clean=True, expect_rc=mq.RC_CLIENT_ID_NOT_VALID)
    c.expect_closed()


def test_long_client_id_accepted(b):
    """[MQTT-3.1.3-5] servers MAY accept ids longer than 23 bytes; Mosquitto does."""
    cid = "c" * 200
    c = b.connect(cid, version=V311)
    assert c.connack.rc == 0


# --------------------------------------------------------------------------------------
# Protocol name / level
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("level,name", [(6, b"MQTT"), (2, b"MQTT"), (0, b"MQTT"), (255, b"MQTT"),
                                        (3, b"MQTT"), (4, b"MQIsdp"), (5, b"MQIsdp")])
def test_unsupported_protocol_level_connack_rc1_MQTT_3_1_2_2(b, level, name):
    """[MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK return code
    0x01 and the connection closed. The level is unknown, so the answer uses the
    3.1.1 layout (4 bytes: 20 02 00 01); 0x01 is readable by every client version,
    which is why brokers (Mosquitto included) do not send a v5 0x84 here."""
    c = b.client(V311)
    c.send(mq.connect("lvl", version=level, protocol_name=name))
    ack = c.expect(mq.CONNACK)
    assert ack.raw == b"\x20\x02\x00\x01", ack.raw.hex()
    c.expect_closed()


@all_versions
def test_wrong_protocol_name_closes_MQTT_3_1_2_1(b, version):
    """[MQTT-3.1.2-1] a wrong protocol name: the server MAY send CONNACK (refused) and
    MUST close the connection."""
    c = b.client(version)
    c.send(mq.connect("pn", version=version, protocol_name=b"MQTX"))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    assert pkt.type == mq.CONNACK and pkt.rc != 0, pkt
    c.expect_closed()


# --------------------------------------------------------------------------------------
# Packet order: CONNECT first, and only once
# --------------------------------------------------------------------------------------
@v3_v5
def test_first_packet_not_connect_closes_MQTT_3_1_0_1(b, version):
    c = b.client(version)
    c.send(mq.publish("t", b"x", version=version))
    c.expect_closed(allow_disconnect=False)


@v3_v5
def test_first_packet_pingreq_closes_MQTT_3_1_0_1(b, version):
    c = b.client(version)
    c.send(mq.pingreq())
    c.expect_closed(allow_disconnect=False)


def test_second_connect_closes_v311_MQTT_3_1_0_2(b):
    c = b.connect("twice", version=V311)
    c.send(mq.connect("twice", version=V311))
    c.expect_closed()


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 closes without sending DISCONNECT 0x82 "
                                "(spec 4.13.1: SHOULD send a DISCONNECT with the reason code)")
def test_second_connect_v5_disconnect_0x82_MQTT_3_1_0_2(b):
    c = b.connect("twice5", version=V5)
    c.send(mq.connect("twice5", version=V5))
    c.expect_closed(reason=mq.RC_PROTOCOL_ERROR)


def test_second_connect_does_not_hurt_others(b):
    watcher = b.connect("watcher", version=V311)
    watcher.subscribe("w/t")
    c = b.connect("twice", version=V5)
    c.send(mq.connect("twice", version=V5))
    c.expect_closed()
    p = b.connect("p", version=V311)
    p.publish("w/t", b"still here")
    assert watcher.recv_publish().payload == b"still here"


# --------------------------------------------------------------------------------------
# Flags and fields
# --------------------------------------------------------------------------------------
@v3_v5
def test_connect_reserved_flag_closes_MQTT_3_1_2_3(b, version):
    c = b.client(version)
    c.send(mq.connect("rf", version=version, reserved_flag=True))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    assert pkt.type == mq.CONNACK and pkt.rc != 0, pkt
    c.expect_closed()


def test_v311_password_without_username_closes_MQTT_3_1_2_22(b):
    c = b.client(V311)
    flags = 0x40 | 0x02
    body = mq.enc_bin(b"MQTT") + bytes([4, flags]) + mq.enc_u16(60) + mq.enc_str("pw") + \
        mq.enc_bin(b"secret")
    c.send(mq.fixed_header(mq.CONNECT, 0, body))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    assert pkt.type == mq.CONNACK and pkt.rc != 0, pkt
    c.expect_closed()


def test_v5_password_without_username_allowed(b):
    """MQTT 5 (3.1.2.9) allows a password without a user name."""
    c = b.client(V5)
    flags = 0x40 | 0x02
    body = mq.enc_bin(b"MQTT") + bytes([5, flags]) + mq.enc_u16(60) + b"\x00" + \
        mq.enc_str("pw5") + mq.enc_bin(b"secret")
    c.send(mq.fixed_header(mq.CONNECT, 0, body))
    ack = c.expect(mq.CONNACK)
    assert ack.rc == 0


def test_v5_authentication_method_gets_0x8c(b):
    """With no enhanced authentication configured, a CONNECT carrying an Authentication
    Method is refused with 0x8C Bad authentication method (3.1.2.11.9 / 4.12)."""
    c = b.client(V5)
    c.connect("am", props={"authentication_method": "SCRAM-SHA-1"},
              expect_rc=mq.RC_BAD_AUTH_METHOD)
    c.expect_closed()


def test_v5_connack_defaults(b):
    """Mosquitto's defaults as seen by a v5 client: Receive Maximum = max_inflight_messages
    (20), Topic Alias Maximum = max_topic_alias (10); nothing the client did not need."""
    c = b.connect("defaults", version=V5)
    p = c.connack.props
    assert p.get("receive_maximum") == 20
    assert p.get("topic_alias_maximum") == 10
    assert p.get("maximum_qos", 2) == 2
    assert p.get("retain_available", 1) == 1
    assert "assigned_client_identifier" not in p
    assert "server_keep_alive" not in p


def test_v5_connack_reflects_config(broker):
    b = broker(["max_inflight_messages 5", "max_packet_size 5000"],
               listener_extra=["max_topic_alias 3", "max_qos 1"])
    p = b.connect("cfg", version=V5).connack.props
    assert p.get("receive_maximum") == 5
    assert p.get("topic_alias_maximum") == 3
    assert p.get("maximum_packet_size") == 5000
    assert p.get("maximum_qos") == 1


# The client's Maximum Packet Size binds the CONNACK too [MQTT-3.1.2-24]: the default
# success CONNACK (Receive Maximum 20, Topic Alias Maximum 10) is 11 bytes.
@pytest.mark.parametrize("limit", [
    2,  # Mosquitto 2.0.11 closes here too
    pytest.param(10, marks=pytest.mark.mosquitto_deviates(
        "Mosquitto 2.0.11 sends its 11-byte CONNACK to a client that declared 10"))])
def test_v5_connack_larger_than_client_maximum_packet_size_not_sent_MQTT_3_1_2_24(b, limit):
    c = b.client(V5)
    c.connect("tiny", props={"maximum_packet_size": limit}, expect_rc=None)
    c.expect_closed(timeout=5, allow_disconnect=False)
    # Nothing of the session happened: the same id connects normally afterwards, and a
    # bystander is still served.
    ok = b.connect("tiny", version=V5)
    assert ok.connack.session_present is False
    assert len(ok.connack.raw) == 11


def test_v5_connack_exactly_the_client_maximum_packet_size_is_sent(b):
    c = b.connect("fits", version=V5, props={"maximum_packet_size": 11})
    assert len(c.connack.raw) == 11


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 sends no reason string to drop")
def test_v5_refusal_drops_its_reason_string_to_fit_MQTT_3_2_2_19(broker):
    """A refusal carries a Reason String; when the client's Maximum Packet Size is too
    small for it, the CONNACK goes without it [MQTT-3.2.2-19]; without a limit it is sent."""
    b = broker(anonymous=False)
    full = b.client(V5)
    ack = full.connect("anon", expect_rc=mq.RC_NOT_AUTHORIZED)
    assert ack.props.get("reason_string") and len(ack.raw) > 12
    small = b.client(V5)
    ack = small.connect("anon", props={"maximum_packet_size": 12}, expect_rc=mq.RC_NOT_AUTHORIZED)
    assert "reason_string" not in ack.props and len(ack.raw) <= 12
    small.expect_closed(timeout=5)


def test_v311_connack_is_four_bytes(b):
    c = b.connect("four", version=V311)
    assert c.connack.raw == b"\x20\x02\x00\x00"


# --------------------------------------------------------------------------------------
# Takeover [MQTT-3.1.4-2/3]
# --------------------------------------------------------------------------------------
@v3_v5
def test_takeover_closes_old_connection_MQTT_3_1_4_2(b, version):
    old = b.connect("same", version=version)
    old.subscribe("take/t")
    new = b.connect("same", version=version)
    assert new.connack.rc == 0
    old.expect_closed()
    # The new connection is fully working.
    new.subscribe("take/t")
    new.publish("take/t", b"ok")
    assert new.recv_publish().payload == b"ok"


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 closes the old v5 connection without "
                                "DISCONNECT 0x8E Session taken over [MQTT-3.1.4-3]")
def test_takeover_v5_old_gets_disconnect_0x8e_MQTT_3_1_4_3(b):
    old = b.connect("same5", version=V5)
    b.connect("same5", version=V5)
    old.expect_closed(reason=mq.RC_SESSION_TAKEN_OVER)


@v3_v5
def test_takeover_with_persistent_session_keeps_it(b, version):
    old = b.connect("keep", version=version, **persistent(version))
    old.subscribe([("keep/t", 1)])
    new = b.connect("keep", version=version, **persistent(version))
    assert new.connack.session_present is True
    old.expect_closed()
    p = b.connect("p", version=V311)
    p.publish("keep/t", b"after takeover", qos=1)
    msg = new.recv_publish()
    assert msg.payload == b"after takeover" and msg.qos == 1


def test_takeover_across_versions(b):
    old = b.connect("mixed", version=V311)
    new = b.connect("mixed", version=V5)
    old.expect_closed()
    new.ping()


# --------------------------------------------------------------------------------------
# Clean session / clean start and the session-present flag
# --------------------------------------------------------------------------------------
@v3_v5
def test_session_present_flag_MQTT_3_2_2_2(b, version):
    """[MQTT-3.2.2-1/2/3] session present is 0 with clean start, 1 when resuming."""
    c = b.connect("sp", version=version, **persistent(version))
    assert c.connack.session_present is False
    c.disconnect()
    c = b.connect("sp", version=version, **persistent(version))
    assert c.connack.session_present is True
    c.disconnect()
    c = b.connect("sp", version=version, clean=True)
    assert c.connack.session_present is False
    c.disconnect()
    # The clean connect discarded the session.
    c = b.connect("sp", version=version, **persistent(version))
    assert c.connack.session_present is False


@v3_v5
def test_clean_session_discards_subscriptions(b, version):
    c = b.connect("cs", version=version, **persistent(version))
    c.subscribe([("cs/t", 1)])
    c.disconnect()
    c = b.connect("cs", version=version, clean=True)
    assert c.connack.session_present is False
    p = b.connect("p", version=V311)
    p.publish("cs/t", b"x", qos=1)
    c.expect_nothing(0.5)


def test_clean_session_1_session_not_kept_after_disconnect_v311(b):
    c = b.connect("cs1", version=V311, clean=True)
    c.subscribe([("cs1/t", 1)])
    c.disconnect()
    c = b.connect("cs1", version=V311, clean=False)
    assert c.connack.session_present is False


# --------------------------------------------------------------------------------------
# Session expiry (v5) and persistent_client_expiration (v3)
# --------------------------------------------------------------------------------------
def test_v5_session_expiry_zero_ends_session_on_disconnect(b):
    c = b.connect("se0", version=V5, clean=False)  # no Session Expiry Interval = 0
    c.subscribe([("se0/t", 1)])
    c.disconnect()
    c = b.connect("se0", version=V5, clean=False)
    assert c.connack.session_present is False


@pytest.mark.slow
def test_v5_session_expiry_interval_MQTT_3_1_2_23(b):
    """The session survives a disconnect shorter than the expiry and is discarded after."""
    c = b.connect("se", version=V5, clean=False, props={"session_expiry_interval": 1})
    c.subscribe([("se/t", 1)])
    c.disconnect()
    c = b.connect("se", version=V5, clean=False, props={"session_expiry_interval": 1})
    assert c.connack.session_present is True
    c.disconnect()
    time.sleep(2.5)
    c = b.connect("se", version=V5, clean=False, props={"session_expiry_interval": 1})
    assert c.connack.session_present is False


def test_v5_disconnect_can_shorten_session_expiry_MQTT_3_14_2_2(b):
    """The Session Expiry Interval in DISCONNECT replaces the one from CONNECT."""
    c = b.connect("sd", version=V5, clean=False, props={"session_expiry_interval": 300})
    c.subscribe([("sd/t", 1)])
    c.disconnect(rc=0, props={"session_expiry_interval": 0})
    c = b.connect("sd", version=V5, clean=False, props={"session_expiry_interval": 300})
    assert c.connack.session_present is False


def test_v5_disconnect_session_expiry_after_zero_is_protocol_error_MQTT_3_14_2_2(b):
    """[MQTT-3.14.2-2] a non-zero expiry in DISCONNECT after a zero one in CONNECT is a
    protocol error: the session must not be extended."""
    c = b.connect("sz", version=V5, clean=False)
    c.send(mq.disconnect(0, {"session_expiry_interval": 300}))
    try:
        c.expect_closed()
    except AssertionError:
        pass
    c = b.connect("sz", version=V5, clean=False)
    assert c.connack.session_present is False


def test_persistent_client_expiration_keeps_v311_session_within_period(broker):
    b = broker(["persistent_client_expiration 1h"])
    c = b.connect("pce", version=V311, clean=False)
    c.subscribe([("pce/t", 1)])
    c.disconnect()
    c = b.connect("pce", version=V311, clean=False)
    assert c.connack.session_present is True


@pytest.mark.slow
@pytest.mark.petrel_only("Mosquitto 2.0.11 only accepts h/d/w/m/y units for "
                         "persistent_client_expiration (minimum one hour), so expiry cannot "
                         "be observed in a test; Petrel also accepts seconds (`1s`)")
def test_persistent_client_expiration_expires_v311_session(broker):
    b = broker(["persistent_client_expiration 1s"])
    c = b.connect("pcx", version=V311, clean=False)
    c.subscribe([("pcx/t", 1)])
    c.disconnect()
    time.sleep(3.0)
    c = b.connect("pcx", version=V311, clean=False)
    assert c.connack.session_present is False
