"""Bridges, basic forwarding: the router product's example (`topic sensor/# out 1 local/
remote/office1/`) literally, `in` and `both`, prefixes and the whole-topic form, the
forwarded QoS (the lower of the message's and the rule's), hundreds of QoS 1 / QoS 2
messages without loss in publisher order, retained messages in both directions
(`bridge_outgoing_retain`), loop prevention between two bridged brokers (MQTT 3.1.1 with
try_private, MQTT 5 with no-local), four bridges at once, and Petrel's bridges-only mode.

The broker under test bridges to Debian's Mosquitto (see bridge_support.py)."""
from __future__ import annotations

import time

import pytest

from bridge_support import (Collector, bridge, bridging, client, listening_sockets, quiet, recv_data,  # noqa: F401
                            remote, retained, subscriber, wait_forwarding, wait_retained)


# --------------------------------------------------------------------------------------
# The router example, literally
# --------------------------------------------------------------------------------------
def test_router_example_out(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "sensor/# out 1 local/ remote/office1/"))
    sub = subscriber(r, "remote/office1/#", qos=2)
    assert sub.granted == [2]
    wait_forwarding(local, "local/sensor/probe", r, "remote/office1/sensor/probe")

    pub = client(local)
    pub.publish("local/sensor/temperature", b"21.5", qos=2)
    pub.publish("local/sensor/humidity", b"40", qos=1)
    pub.publish("local/sensor/wind", b"3", qos=0)
    # Not carried: outside the local prefix, or outside the pattern.
    pub.publish("sensor/temperature", b"no-prefix", qos=1)
    pub.publish("local/other/temperature", b"other", qos=1)
    got = recv_data(sub, 3)
    assert [(p.topic, p.payload, p.qos) for p in got] == [
        ("remote/office1/sensor/temperature", b"21.5", 1),   # min(2, rule 1)
        ("remote/office1/sensor/humidity", b"40", 1),
        ("remote/office1/sensor/wind", b"3", 0),
    ]
    assert quiet(sub) == []


def test_router_example_in(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "sensor/# in 1 local/ remote/office1/"))
    sub = subscriber(local, "#", qos=2)
    rsub = subscriber(r, "remote/#", qos=2)
    wait_forwarding(r, "remote/office1/sensor/probe", local, "local/sensor/probe")

    rpub = client(r)
    rpub.publish("remote/office1/sensor/x", b"7", qos=2)
    rpub.publish("remote/office1/other/x", b"not carried", qos=1)
    got = recv_data(sub, 1)
    assert [(p.topic, p.payload, p.qos) for p in got] == [("local/sensor/x", b"7", 1)]

    # `in` only: a local publish on the local side of the rule stays local.
    client(local).publish("local/sensor/y", b"stays", qos=1)
    assert [(p.topic, p.payload) for p in recv_data(sub, 1)] == [("local/sensor/y", b"stays")]
    assert [(p.topic, p.payload) for p in quiet(rsub)] == [("remote/office1/sensor/x", b"7"),
                                                        ("remote/office1/other/x", b"not carried")]
    assert quiet(sub, idle=0.3) == []


@pytest.mark.parametrize("version", ["mqttv311", "mqttv50"])
def test_router_example_both(broker, remote, version):
    r = remote()
    local = bridging(broker, bridge("office", r, "sensor/# both 1 local/ remote/office1/",
                                    f"bridge_protocol_version {version}"))
    lsub = subscriber(local, "local/#", qos=2)
    rsub = subscriber(r, "remote/#", qos=2)
    wait_forwarding(local, "local/sensor/probe", r, "remote/office1/sensor/probe")
    wait_forwarding(r, "remote/office1/sensor/probe2", local, "local/sensor/probe2")

    client(local).publish("local/sensor/a", b"from-local", qos=1)
    client(r).publish("remote/office1/sensor/b", b"from-remote", qos=1)
    lgot = {(p.topic, p.payload) for p in recv_data(lsub, 2)}
    rgot = {(p.topic, p.payload) for p in recv_data(rsub, 2)}
    assert lgot == {("local/sensor/a", b"from-local"), ("local/sensor/b", b"from-remote")}
    assert rgot == {("remote/office1/sensor/a", b"from-local"), ("remote/office1/sensor/b", b"from-remote")}
    # Exactly once each side: nothing echoes back.
    assert quiet(lsub) == [] and quiet(rsub, idle=0.2) == []


# --------------------------------------------------------------------------------------
# Topic rule forms
# --------------------------------------------------------------------------------------
def test_prefix_forms_and_whole_topic_form(broker, remote):
    r = remote()
    local = bridging(broker, bridge("forms", r, [
        "plain/# out 1",                              # no prefixes: same topic both sides
        "room/+/temp out 1 \"\" site/",               # remote prefix only ("" placeholder)
        "dev/# out 1 gw/ \"\"",                       # local prefix only
        "\"\" out 1 local/whole/topic remote/whole/topic",  # whole-topic form
    ]))
    sub = subscriber(r, "#", qos=1)
    wait_forwarding(local, "plain/probe", r, "plain/probe")
    pub = client(local)
    for topic in ("plain/a/b", "room/1/temp", "room/1/hum", "gw/dev/7", "dev/7",
                  "local/whole/topic", "local/whole/topic/sub"):
        pub.publish(topic, topic.encode(), qos=1)
    got = [(p.topic, p.payload) for p in recv_data(sub, 4)]
    got += [(p.topic, p.payload) for p in quiet(sub)]
    assert got == [("plain/a/b", b"plain/a/b"), ("site/room/1/temp", b"room/1/temp"),
                   ("dev/7", b"gw/dev/7"), ("remote/whole/topic", b"local/whole/topic")]


def test_several_rules_and_directions_on_one_bridge(broker, remote):
    r = remote()
    local = bridging(broker, bridge("multi", r, ["up/# out 0", "down/# in 2", "cmd/# both 1 l/ r/"]))
    lsub = subscriber(local, ["down/#", "l/#", "up/#"], qos=2)
    rsub = subscriber(r, ["up/#", "r/#", "down/#"], qos=2)
    wait_forwarding(local, "up/probe", r, "up/probe")
    wait_forwarding(r, "down/probe", local, "down/probe")
    wait_forwarding(r, "r/cmd/probe", local, "l/cmd/probe")

    client(local).publish("up/1", b"u", qos=2)
    client(r).publish("down/1", b"d", qos=2)
    client(local).publish("l/cmd/1", b"cl", qos=2)
    client(r).publish("r/cmd/2", b"cr", qos=2)
    lgot = {(p.topic, p.payload, p.qos) for p in recv_data(lsub, 4)}
    rgot = {(p.topic, p.payload, p.qos) for p in recv_data(rsub, 4)}
    assert lgot == {("up/1", b"u", 2), ("down/1", b"d", 2), ("l/cmd/1", b"cl", 2), ("l/cmd/2", b"cr", 1)}
    assert rgot == {("up/1", b"u", 0), ("down/1", b"d", 2), ("r/cmd/1", b"cl", 1), ("r/cmd/2", b"cr", 2)}
    assert quiet(lsub) == [] and quiet(rsub, idle=0.2) == []


# --------------------------------------------------------------------------------------
# QoS
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule_qos", [0, 1, 2])
def test_forwarded_qos_is_the_lower_of_message_and_rule(broker, remote, rule_qos):
    r = remote()
    local = bridging(broker, bridge("qos", r, [f"qo/# out {rule_qos}", f"qi/# in {rule_qos}"]))
    rsub = subscriber(r, "qo/#", qos=2)
    lsub = subscriber(local, "qi/#", qos=2)
    wait_forwarding(local, "qo/probe", r, "qo/probe")
    wait_forwarding(r, "qi/probe", local, "qi/probe")
    lpub, rpub = client(local), client(r)
    for q in (0, 1, 2):
        lpub.publish(f"qo/{q}", b"m%d" % q, qos=q)
        rpub.publish(f"qi/{q}", b"m%d" % q, qos=q)
    out = sorted((p.topic, p.qos) for p in recv_data(rsub, 3))
    inn = sorted((p.topic, p.qos) for p in recv_data(lsub, 3))
    assert out == [(f"qo/{q}", min(q, rule_qos)) for q in (0, 1, 2)]
    assert inn == [(f"qi/{q}", min(q, rule_qos)) for q in (0, 1, 2)]


@pytest.mark.parametrize("direction", ["out", "in"])
def test_500_qos1_and_500_qos2_messages_arrive_once_in_order(broker, remote, direction):
    n = 500
    r = remote()
    # Room for all 1000 messages in every queue on the way. With --broker=mosquitto, also a
    # large in-flight window: with a full one Mosquitto 2.0.11 reorders or loses some of
    # them (see REMOTE_LIMITS); Petrel is tested with its default window of 20.
    extra = ["max_queued_messages 10000"] + (["max_inflight_messages 1000"] if broker.kind == "mosquitto" else [])
    local = bridging(broker, bridge("bulk", r, f"bulk/# {direction} 2"), extra=extra)
    src, dst = (local, r) if direction == "out" else (r, local)
    col = Collector(subscriber(dst, "bulk/#", qos=2))
    wait_forwarding(src, "bulk/probe", dst, "bulk/probe")
    p1, p2 = client(src), client(src)
    for i in range(n):
        p1.publish("bulk/q1", b"%d" % i, qos=1)
        p2.publish("bulk/q2", b"%d" % i, qos=2)
    got = col.wait(2 * n, timeout=30)
    time.sleep(0.3)
    got = col.data()
    col.stop()
    for topic, qos in (("bulk/q1", 1), ("bulk/q2", 2)):
        seq = [int(p.payload) for p in got if p.topic == topic]
        if seq != list(range(n)):
            bad = next((i for i, (a, b) in enumerate(zip(seq, range(n))) if a != b), min(len(seq), n))
            raise AssertionError(f"{topic}: {len(seq)} messages, {len(set(seq))} distinct, out of order "
                                 f"from index {bad}: ...{seq[max(0, bad - 3):bad + 12]}...")
        assert {p.qos for p in got if p.topic == topic} == {qos}
    assert len(got) == 2 * n


# --------------------------------------------------------------------------------------
# Retained messages
# --------------------------------------------------------------------------------------
def test_retain_flag_is_forwarded_out(broker, remote):
    r = remote()
    local = bridging(broker, bridge("ret", r, "ret/# out 1"))
    wait_forwarding(local, "ret/probe", r, "ret/probe")
    client(local).publish("ret/state", b"on", qos=1, retain=True)
    p = wait_retained(r, "ret/state", b"on", timeout=5, qos=2)
    assert p.qos == 1
    # Clearing it locally clears it on the remote as well.
    client(local).publish("ret/state", b"", qos=1, retain=True)
    deadline = time.monotonic() + 5
    while retained(r, "ret/state") is not None:
        assert time.monotonic() < deadline, "the retained message was not cleared on the remote"


def test_bridge_outgoing_retain_false_drops_the_flag(broker, remote):
    r = remote()
    local = bridging(broker, bridge("ret", r, "ret/# out 1", "bridge_outgoing_retain false"))
    sub = subscriber(r, "ret/state", qos=1)
    wait_forwarding(local, "ret/probe", r, "ret/probe")
    client(local).publish("ret/state", b"on", qos=1, retain=True)
    got = recv_data(sub, 1)
    assert (got[0].payload, got[0].retain) == (b"on", False)
    assert retained(r, "ret/state") is None
    # Locally the message is retained as usual.
    assert retained(local, "ret/state").payload == b"on"


def test_retained_messages_on_the_remote_arrive_when_the_bridge_subscribes(broker, remote):
    r = remote()
    rp = client(r)
    rp.publish("fleet/truck1/pos", b"52.1,4.3", qos=1, retain=True)
    rp.publish("fleet/truck2/pos", b"48.8,2.3", qos=1, retain=True)
    local = bridging(broker, bridge("ret", r, "fleet/# in 1 site/ \"\""))
    wait_retained(local, "site/fleet/truck1/pos", b"52.1,4.3")
    wait_retained(local, "site/fleet/truck2/pos", b"48.8,2.3")


def test_retained_message_published_remotely_after_connect_is_retained_locally(broker, remote):
    r = remote()
    local = bridging(broker, bridge("ret", r, "ret/# in 1"))
    wait_forwarding(r, "ret/probe", local, "ret/probe")
    client(r).publish("ret/late", b"x", qos=1, retain=True)
    wait_retained(local, "ret/late", b"x", timeout=5)


# --------------------------------------------------------------------------------------
# Loop prevention
# --------------------------------------------------------------------------------------
def _loop_pair(broker, remote, topology: str, version: str):
    """Two brokers A (has the bridge) and B, bridged `both` on loop/#."""
    if topology == "under-test->mosquitto":
        b = remote()
        a = bridging(broker, bridge("loop", b, "loop/# both 1", f"bridge_protocol_version {version}"))
    elif topology == "mosquitto->under-test":
        b = broker()
        a = remote(listener_lines=bridge("loop", b, "loop/# both 1", f"bridge_protocol_version {version}"))
    else:
        b = broker()
        a = bridging(broker, bridge("loop", b, "loop/# both 1", f"bridge_protocol_version {version}"))
    return a, b


@pytest.mark.parametrize("version", ["mqttv311", "mqttv50"])
@pytest.mark.parametrize("topology", ["under-test->mosquitto", "mosquitto->under-test",
                                      "under-test->under-test"])
def test_both_directions_no_loop(broker, remote, topology, version):
    a, b = _loop_pair(broker, remote, topology, version)
    ca = Collector(subscriber(a, "loop/#", qos=2))
    cb = Collector(subscriber(b, "loop/#", qos=2))
    wait_forwarding(a, "loop/probe-a", b, "loop/probe-a")
    wait_forwarding(b, "loop/probe-b", a, "loop/probe-b")
    pa, pb = client(a), client(b)
    for i in range(5):
        pa.publish("loop/from-a", b"a%d" % i, qos=1)
        pb.publish("loop/from-b", b"b%d" % i, qos=1)
    ca.wait(10), cb.wait(10)
    time.sleep(0.5)  # a loop would keep delivering
    for col in (ca, cb):
        got = sorted((p.topic, p.payload) for p in col.data())
        assert got == sorted([("loop/from-a", b"a%d" % i) for i in range(5)] +
                             [("loop/from-b", b"b%d" % i) for i in range(5)])
        col.stop()


@pytest.mark.parametrize("version", ["mqttv311", "mqttv50"])
def test_three_brokers_bridged_both_ways_deliver_each_message_once(broker, version):
    """A mesh of three brokers of the kind under test without a cluster (issue #15): edges
    A and C each bridge `both` ways to hub B on the same topics (a star, the loop-free form
    of a mesh, docs/scale-out.md section 5). A message published on any of the three
    reaches each broker's subscriber exactly once and never comes back to where it was
    published. (Three brokers bridged in a cycle do loop; the guide says not to build one.)"""
    hub = broker()
    edges = [bridging(broker, bridge(f"mesh{k}", hub, "mesh/# both 1", f"bridge_protocol_version {version}",
                                     f"remote_clientid mesh-edge{k}"))
             for k in range(2)]
    nodes = {"a": edges[0], "b": hub, "c": edges[1]}
    cols = {name: Collector(subscriber(b, "mesh/#", qos=1)) for name, b in nodes.items()}
    for k, e in enumerate(edges):
        wait_forwarding(e, f"mesh/probe-up{k}", hub, f"mesh/probe-up{k}")
        wait_forwarding(hub, f"mesh/probe-down{k}", e, f"mesh/probe-down{k}")
    # Edge to edge, through the hub.
    wait_forwarding(edges[0], "mesh/probe-ac", edges[1], "mesh/probe-ac")
    wait_forwarding(edges[1], "mesh/probe-ca", edges[0], "mesh/probe-ca")
    pubs = {name: client(b) for name, b in nodes.items()}
    for i in range(5):
        for name, p in pubs.items():
            p.publish(f"mesh/from-{name}", b"%s%d" % (name.encode(), i), qos=1)
    want = sorted((f"mesh/from-{name}", b"%s%d" % (name.encode(), i)) for name in nodes for i in range(5))
    for name, col in cols.items():
        col.wait(len(want), timeout=15)
        got = sorted((p.topic, p.payload) for p in col.settle(idle=0.5, total=5))
        assert got == want, f"on {name}: {got}"
        col.stop()


# --------------------------------------------------------------------------------------
# Several bridges
# --------------------------------------------------------------------------------------
def test_four_bridges_each_forwarding_its_own_topic(broker, remote):
    rs = [remote() for _ in range(4)]
    lines = []
    for i, r in enumerate(rs):
        lines += bridge(f"b{i}", r, f"t{i}/# out 1", f"remote_clientid petrel-b{i}")
    local = bridging(broker, lines)
    subs = [subscriber(r, "#", qos=1) for r in rs]
    for i, r in enumerate(rs):
        wait_forwarding(local, f"t{i}/probe", r, f"t{i}/probe")
    pub = client(local)
    for i in range(4):
        for k in range(3):
            pub.publish(f"t{i}/m", b"%d-%d" % (i, k), qos=1)
    for i, s in enumerate(subs):
        got = [(p.topic, p.payload) for p in recv_data(s, 3)]
        assert got == [(f"t{i}/m", b"%d-%d" % (i, k)) for k in range(3)]
    for s in subs:
        assert [p.topic for p in quiet(s, idle=0.3) if not p.topic.startswith("$SYS")] == []


# --------------------------------------------------------------------------------------
# Bridges-only mode (Petrel)
# --------------------------------------------------------------------------------------
@pytest.mark.petrel_only("`bridges_only true` (no listener at all) is a Petrel option")
def test_bridges_only_mode_relays_between_two_remotes(broker, remote):
    m1, m2 = remote(), remote()
    text = "\n".join(["bridges_only true", *bridge("m1", m1, "a/# in 1"), *bridge("m2", m2, "a/# out 1")]) + "\n"
    relay = broker(raw_config=text, wait=False)
    sub = subscriber(m2, "a/#", qos=1)
    wait_forwarding(m1, "a/probe", m2, "a/probe", timeout=15)
    client(m1).publish("a/b", b"relayed", qos=1)
    assert [(p.topic, p.payload, p.qos) for p in recv_data(sub, 1)] == [("a/b", b"relayed", 1)]
    assert relay.alive()
    # No listener at all: not the default 1883, not anything else.
    assert listening_sockets(relay.pid) == [], "petrel listens although bridges_only is set"
