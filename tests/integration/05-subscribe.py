"""Subscriptions: wildcards, $-topics, overlapping subscriptions, v5 subscription
options and identifiers, shared subscriptions, unsubscribe."""
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5, payloads, persistent, v3_v5

# (filter, topic, matches) -- MQTT 5.0 section 4.7 and its examples.
MATCH_TABLE = [
    ("sport/tennis/player1/#", "sport/tennis/player1", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
    ("sport/#", "sport", True),                       # [MQTT-4.7.1-2]
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/tennis/+", "sport/tennis", False),
    ("sport/+", "sport", False),
    ("sport/+", "sport/", True),
    ("+/+", "/finance", True),
    ("/+", "/finance", True),
    ("+", "/finance", False),
    ("+", "finance", True),
    ("a/+/c", "a//c", True),
    ("a/+/c", "a/b/c", True),
    ("a/+/c", "a/b/d", False),
    ("+/#", "a", True),
    ("+/#", "a/b/c", True),
    ("#", "any/thing/at/all", True),
    ("#", "$test/x", False),                           # [MQTT-4.7.2-1]
    ("+/x", "$test/x", False),                         # [MQTT-4.7.2-1]
    ("$test/#", "$test/x", True),
    ("$test/+", "$test/x", True),
    ("Case/Sensitive", "case/sensitive", False),      # [MQTT-4.7.3-4]
    ("with space/t", "with space/t", True),
    ("a/b", "a/b/", False),
    ("a/b/", "a/b/", True),
    ("ünïcödé/+", "ünïcödé/x", True),
]


@v3_v5
def test_wildcard_matching_table(b, version):
    """One subscriber per filter; every table topic is published once; each subscriber
    must receive exactly the topics its filter matches."""
    filters = sorted({f for f, _, _ in MATCH_TABLE})
    subs = {}
    for i, flt in enumerate(filters):
        c = b.connect(f"s{i}", version=version)
        c.subscribe([(flt, 0)])
        subs[flt] = c
    topics = []
    for _, t, _ in MATCH_TABLE:
        if t not in topics:
            topics.append(t)
    p = b.connect("pub", version=version)
    for t in topics:
        p.publish(t, t.encode())
    p.ping()
    time.sleep(0.5)  # let every delivery land, then read each subscriber quickly
    failures = []
    for flt, c in subs.items():
        # Topics from other rows that this filter also matches are fine: only check the
        # topics the table says something about for this filter.
        told = {t: m for f, t, m in MATCH_TABLE if f == flt}
        got = {g.topic for g in c.collect(idle=0.05)}
        for t, m in told.items():
            if (t in got) != m:
                failures.append(f"filter {flt!r} topic {t!r}: expected match={m}")
    assert not failures, "\n".join(failures)


def test_dollar_topics_not_matched_by_leading_wildcards_MQTT_4_7_2_1(b):
    s = b.connect("s", version=V5)
    s.subscribe([("#", 0), ("+/+", 0)])
    sys_sub = b.connect("sys", version=V5)
    sys_sub.subscribe([("$SYS/broker/version", 0)])
    # $SYS/broker/version is retained by the broker: a $SYS filter gets it...
    assert sys_sub.recv_publish(timeout=5).topic == "$SYS/broker/version"
    # ... a leading wildcard never does.
    p = b.connect("p", version=V5)
    p.publish("$test/x", b"dollar")
    p.publish("normal/x", b"normal")
    got = s.collect(idle=0.5)
    # "#" and "+/+" overlap: one or two copies of normal/x, never the $ topic.
    assert {g.topic for g in got} == {"normal/x"}


@v3_v5
def test_overlapping_subscriptions_max_qos_MQTT_3_3_4_2(b, version):
    """A message matching several subscriptions of one client is delivered respecting the
    highest granted QoS; if the broker sends one copy it has that QoS."""
    s = b.connect("over", version=version)
    s.subscribe([("ov/#", 0), ("ov/t", 2), ("ov/+", 1)])
    p = b.connect("p", version=V311)
    p.publish("ov/t", b"m", qos=2)
    got = s.collect(idle=0.5)
    assert got, "nothing delivered"
    assert all(g.payload == b"m" for g in got)
    assert max(g.qos for g in got) == 2
    assert len(got) <= 3


def test_subscription_identifiers_MQTT_3_3_4_3(b):
    """[MQTT-3.3.4-3/4/5] every matching subscription's identifier is sent, either all in
    one PUBLISH or one in each copy; subscriptions without one contribute none."""
    s = b.connect("ids", version=V5)
    s.subscribe([("id/#", 0)], props={"subscription_identifier": 1})
    s.subscribe([("id/t", 0)], props={"subscription_identifier": 268435455})
    s.subscribe([("id/+", 0)])  # no identifier
    p = b.connect("p", version=V5)
    p.publish("id/t", b"both")
    got = s.collect(idle=0.5)
    ids = [i for g in got for i in g.props.get("subscription_identifier", [])]
    assert sorted(ids) == [1, 268435455]
    for g in got:
        assert len(g.props.get("subscription_identifier", [])) in (0, 1, 2)
    p.publish("id/x/y", b"one")
    got = s.collect(idle=0.5)
    assert [g.props.get("subscription_identifier") for g in got] == [[1]]


def test_subscription_identifier_replaced_on_resubscribe(b):
    s = b.connect("ids", version=V5)
    s.subscribe([("rid/t", 0)], props={"subscription_identifier": 5})
    s.subscribe([("rid/t", 0)], props={"subscription_identifier": 6})
    p = b.connect("p", version=V5)
    p.publish("rid/t", b"x")
    msg = s.recv_publish()
    assert msg.props.get("subscription_identifier") == [6]
    s.subscribe([("rid/t", 0)])  # no identifier any more
    p.publish("rid/t", b"y")
    msg = s.recv_publish()
    assert "subscription_identifier" not in msg.props


def test_subscription_identifier_not_sent_to_v5_without_one(b):
    s = b.connect("noid", version=V5)
    s.subscribe([("n/t", 0)])
    p = b.connect("p", version=V5)
    p.publish("n/t", b"x")
    assert "subscription_identifier" not in s.recv_publish().props


def test_no_local_MQTT_3_8_3_3(b):
    """[MQTT-3.8.3-3] with No Local, the client's own messages are not sent back."""
    c = b.connect("nl", version=V5)
    c.subscribe([("nl/t", mq.sub_options(qos=1, no_local=True))])
    c.publish("nl/t", b"mine", qos=1)
    c.expect_nothing(0.5)
    other = b.connect("other", version=V5)
    other.publish("nl/t", b"theirs", qos=1)
    assert c.recv_publish().payload == b"theirs"


def test_without_no_local_own_messages_come_back(b):
    c = b.connect("echo", version=V5)
    c.subscribe([("e/t", 0)])
    c.publish("e/t", b"mine")
    assert c.recv_publish().payload == b"mine"


@pytest.mark.parametrize("rap", [False, True], ids=["rap0", "rap1"])
def test_retain_as_published_MQTT_3_3_1_12(b, rap):
    """[MQTT-3.3.1-12/13] live retained messages keep RETAIN=1 only with Retain As
    Published."""
    s = b.connect("rap", version=V5)
    s.subscribe([("rap/t", mq.sub_options(retain_as_published=rap))])
    p = b.connect("p", version=V5)
    p.publish("rap/t", b"r", retain=True)
    assert s.recv_publish().retain is rap


def test_v311_live_retained_message_has_retain_0_MQTT_3_3_1_9(b):
    s = b.connect("live", version=V311)
    s.subscribe([("lv/t", 0)])
    p = b.connect("p", version=V311)
    p.publish("lv/t", b"r", retain=True)
    assert s.recv_publish().retain is False


@pytest.mark.parametrize("rh", [0, 1, 2])
def test_retain_handling_MQTT_3_3_1_9_10_11(b, rh):
    """Retain Handling 0: send retained on every subscribe; 1: only if the subscription is
    new; 2: never."""
    p = b.connect("p", version=V5)
    p.publish("rh/t", b"retained", retain=True, qos=1)
    s = b.connect("rh", version=V5)
    s.subscribe([("rh/t", mq.sub_options(retain_handling=rh))])
    first = s.collect(idle=0.4)
    s.subscribe([("rh/t", mq.sub_options(retain_handling=rh))])  # same subscription again
    second = s.collect(idle=0.4)
    expected = {0: (1, 1), 1: (1, 0), 2: (0, 0)}[rh]
    assert (len(first), len(second)) == expected
    for g in first + second:
        assert g.retain is True and g.payload == b"retained"


def test_resubscribe_replaces_qos_MQTT_3_8_4_3(b):
    s = b.connect("re", version=V311)
    assert s.subscribe([("re/t", 0)]).codes == [0]
    assert s.subscribe([("re/t", 2)]).codes == [2]
    p = b.connect("p", version=V311)
    p.publish("re/t", b"x", qos=2)
    got = s.collect(idle=0.5)
    assert [(g.payload, g.qos) for g in got] == [(b"x", 2)]


@v3_v5
def test_suback_codes_per_filter(b, version):
    s = b.connect("codes", version=version)
    ack = s.subscribe([("c/0", 0), ("c/1", 1), ("c/2", 2)])
    assert ack.codes == [0, 1, 2]


@v3_v5
def test_message_qos_downgraded_to_subscription(b, version):
    s = b.connect("down", version=version)
    s.subscribe([("d/0", 0), ("d/1", 1)])
    p = b.connect("p", version=V311)
    p.publish("d/0", b"a", qos=2)
    p.publish("d/1", b"b", qos=2)
    p.publish("d/1", b"c", qos=0)
    got = s.collect(idle=0.5)
    assert sorted((g.payload, g.qos) for g in got) == [(b"a", 0), (b"b", 1), (b"c", 0)]


# --------------------------------------------------------------------------------------
# Unsubscribe
# --------------------------------------------------------------------------------------
@v3_v5
def test_unsubscribe_stops_delivery(b, version):
    s = b.connect("u", version=version)
    s.subscribe([("u/a", 1), ("u/b", 1)])
    ack = s.unsubscribe(["u/a"])
    if version == V5:
        assert ack.codes == [mq.RC_SUCCESS]
    else:
        assert ack.raw[1] == 2  # v3.1.1 UNSUBACK has no payload
    p = b.connect("p", version=V311)
    p.publish("u/a", b"gone", qos=1)
    p.publish("u/b", b"kept", qos=1)
    got = s.collect(idle=0.5)
    assert payloads(got) == [b"kept"]


def test_v5_unsuback_no_subscription_existed(b):
    s = b.connect("u5", version=V5)
    s.subscribe([("x/y", 0)])
    ack = s.unsubscribe(["x/y", "never/subscribed"])
    assert ack.codes == [mq.RC_SUCCESS, mq.RC_NO_SUBSCRIPTION_EXISTED]


@v3_v5
def test_unsubscribe_is_exact_not_wildcard_match(b, version):
    s = b.connect("ex", version=version)
    s.subscribe([("ex/#", 0)])
    s.unsubscribe(["ex/t"])  # not the same filter: ex/# stays
    p = b.connect("p", version=V311)
    p.publish("ex/t", b"still")
    assert s.recv_publish().payload == b"still"


@v3_v5
def test_unsubscribe_persistent_session(b, version):
    s = b.connect("up", version=version, **persistent(version))
    s.subscribe([("up/t", 1)])
    s.unsubscribe(["up/t"])
    s.disconnect()
    p = b.connect("p", version=V311)
    p.publish("up/t", b"x", qos=1)
    s = b.connect("up", version=version, **persistent(version))
    s.expect_nothing(0.5)


# --------------------------------------------------------------------------------------
# Shared subscriptions ($share/group/filter), v5 and v3.1.1 clients
# --------------------------------------------------------------------------------------
def test_shared_subscription_round_robin(b):
    """Messages to a share group are split between its online members, round robin:
    each message to exactly one member, and the split is even."""
    members = []
    for i, ver in enumerate([V5, V5, V311]):
        c = b.connect(f"m{i}", version=ver)
        assert c.subscribe([("$share/g/sh/t", 1)]).codes == [1]
        members.append(c)
    p = b.connect("p", version=V5)
    n = 30
    for i in range(n):
        p.publish("sh/t", f"{i}".encode(), qos=1)
    got = [m.collect(idle=0.5) for m in members]
    counts = [len(g) for g in got]
    all_payloads = sorted(int(x.payload) for g in got for x in g)
    assert all_payloads == list(range(n)), f"lost or duplicated: {counts}"
    assert max(counts) - min(counts) <= 1, f"unbalanced: {counts}"


def test_shared_and_normal_subscriptions_both_receive(b):
    normal = b.connect("normal", version=V5)
    normal.subscribe([("sn/t", 0)])
    g1 = [b.connect(f"a{i}", version=V5) for i in range(2)]
    g2 = [b.connect(f"b{i}", version=V311) for i in range(2)]
    for c in g1:
        c.subscribe([("$share/one/sn/t", 0)])
    for c in g2:
        c.subscribe([("$share/two/sn/+", 0)])
    p = b.connect("p", version=V5)
    for i in range(10):
        p.publish("sn/t", f"{i}".encode())
    assert len(normal.collect(idle=0.5)) == 10
    assert sum(len(c.collect(idle=0.3)) for c in g1) == 10
    assert sum(len(c.collect(idle=0.3)) for c in g2) == 10


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 sends the retained message to a new shared "
                                "subscription; MQTT 5.0 4.8.2: retained messages are not sent "
                                "to the Session when it establishes a new Shared Subscription")
def test_shared_subscription_no_retained_on_subscribe_4_8_2(b):
    """Retained messages are not sent when a shared subscription is established."""
    p = b.connect("p", version=V5)
    p.publish("sr/t", b"retained", retain=True, qos=1)
    c = b.connect("c", version=V5)
    c.subscribe([("$share/g/sr/t", 1)])
    c.expect_nothing(0.5)
    c.subscribe([("sr/t", 1)])
    assert c.recv_publish().payload == b"retained"


def test_shared_subscription_unsubscribe(b):
    a = b.connect("a", version=V5)
    c = b.connect("c", version=V5)
    for x in (a, c):
        x.subscribe([("$share/g/su/t", 0)])
    ack = a.unsubscribe(["$share/g/su/t"])
    assert ack.codes == [0]
    p = b.connect("p", version=V5)
    for i in range(6):
        p.publish("su/t", b"x")
    assert len(c.collect(idle=0.5)) == 6
    a.expect_nothing(0.2)


@pytest.mark.petrel_only("Mosquitto 2.0.11 still gives an offline member (persistent session) "
                         "its turn and queues the message for it; Petrel balances across "
                         "online members (MQTT 5.0 4.8.2 leaves the choice to the server)")
def test_shared_subscription_skips_offline_member(b):
    """A member whose connection is gone does not take its turn while the others are
    online (the balance is across online members)."""
    off = b.connect("off", version=V5, **persistent(V5))
    off.subscribe([("$share/g/so/t", 1)])
    off.disconnect()
    on = b.connect("on", version=V5)
    on.subscribe([("$share/g/so/t", 1)])
    p = b.connect("p", version=V5)
    for i in range(10):
        p.publish("so/t", f"{i}".encode(), qos=1)
    assert len(on.collect(idle=0.5)) == 10


def test_shared_subscription_flag_in_connack(b):
    p = b.connect("p", version=V5).connack.props
    assert p.get("shared_subscription_available", 1) == 1
    assert p.get("wildcard_subscription_available", 1) == 1
    assert p.get("subscription_identifier_available", 1) == 1


SHARE_DEVIATION = pytest.mark.mosquitto_deviates(
    "Mosquitto 2.0.11 grants this subscription; [MQTT-4.8.2-1/2] a ShareName of at least "
    "one character followed by '/' and a Topic Filter is required")


@pytest.mark.parametrize("flt", [pytest.param("$share/g", marks=SHARE_DEVIATION),
                                 pytest.param("$share//t", marks=SHARE_DEVIATION),
                                 "$share/g+/t", "$share/g#/t"])
def test_invalid_shared_filter_refused_MQTT_4_8_2_1(b, flt):
    """A malformed share name/filter: SUBACK failure (0x8F) or the connection closed
    (DISCONNECT 0x81/0x82 for v5) -- never a working subscription."""
    c = b.connect("bad", version=V5)
    c.send(mq.subscribe(1, [(flt, 0)]))
    try:
        pkt = c.recv(3)
    except mq.ConnectionClosed:
        return
    if pkt.type == mq.SUBACK:
        assert pkt.codes[0] >= 0x80, pkt
    else:
        assert pkt.type == mq.DISCONNECT and pkt.rc in (mq.RC_MALFORMED, mq.RC_PROTOCOL_ERROR,
                                                         mq.RC_TOPIC_FILTER_INVALID), pkt
        c.expect_closed()


@v3_v5
def test_topic_depth_200_separators_accepted_MQTT_mosquitto_limit(b, version):
    """The deepest topic and filter accepted: 200 '/' separators (201 levels), the line
    Mosquitto draws too; one more closes the connection (12-malformed.py)."""
    deep = "a" + "/a" * 200
    s = b.connect("deep-sub", version=version)
    s.subscribe([(deep, 1)], expect_codes=[1])
    p = b.connect("deep-pub", version=version)
    ack = p.publish(deep, b"down here", qos=1)
    assert ack.type == mq.PUBACK and (ack.rc or 0) < 0x80
    msg = s.recv_publish(timeout=5)
    assert (msg.topic, msg.payload) == (deep, b"down here")


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 grants '$share/g' as a plain filter")
@v3_v5
def test_well_formed_but_invalid_shared_filter_refused_in_suback(b, version):
    """'$share/g' parses as a filter but is no shared subscription [MQTT-4.8.2-2]: the
    SUBACK refuses it (v5 0x8F, v3 0x80), the valid filter beside it is granted and the
    connection stays open."""
    c = b.connect("share-bad", version=version)
    ack = c.subscribe([("ok/t", 1), ("$share/g", 1)])
    assert ack.codes == [1, mq.RC_TOPIC_FILTER_INVALID if version == V5 else 0x80]
    c.publish("ok/t", b"still here", qos=1)
    assert c.recv_publish(timeout=5).payload == b"still here"
