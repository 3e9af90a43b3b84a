"""Bridges: what the remote sees of the bridge's connection (client id, protocol version,
the try_private bridge flag, clean session, keepalive, UNSUBSCRIBE of out topics), the
Mosquitto state notifications (`$SYS/broker/connection/<remote client id>/state`, 1/0,
retained, locally and on the remote; notification_topic, notifications_local_only,
notifications false) and Petrel's `$SYS/broker/bridge/<name>/...` status topics.

The broker under test bridges to Debian's Mosquitto (see bridge_support.py)."""
from __future__ import annotations

import re
import socket

import pytest

from bridge_support import (Collector, bridge, bridge_sys, bridging, client, connects_as, log_count,  # noqa: F401
                            remote, retained, subscriber, wait_bridge_sys, wait_forwarding, wait_retained)


def state_topic(client_id: str) -> str:
    return f"$SYS/broker/connection/{client_id}/state"


# --------------------------------------------------------------------------------------
# The CONNECT the remote receives
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, expected", [
    ([], r"New bridge connected from \S+ as {id} \(p2, c0, k60\)"),
    (["bridge_protocol_version mqttv31"], r"New bridge connected from \S+ as {id} \(p1, c0, k60\)"),
    (["bridge_protocol_version mqttv311", "try_private false"], r"New client connected from \S+ as {id} \(p2, c0, k60\)"),
    (["bridge_protocol_version mqttv50"], r"New client connected from \S+ as {id} \(p5, c0, k60\)"),
    (["cleansession true", "keepalive_interval 30"], r"New bridge connected from \S+ as {id} \(p2, c1, k30\)"),
], ids=["defaults", "mqttv31", "no-try_private", "mqttv50", "cleansession-keepalive"])
def test_connect_as_seen_by_the_remote(broker, remote, options, expected):
    """Mosquitto logs a CONNECT carrying the try_private bridge flag (protocol level with
    0x80) as "New bridge connected"; pN is the protocol level, cN clean session, kN the
    keepalive."""
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# both 1", "remote_clientid petrel-office", *options))
    wait_forwarding(local, "s/probe", r, "s/probe")
    wait_forwarding(r, "s/probe2", local, "s/probe2")
    assert re.search(expected.format(id="petrel-office"), r.log()), r.log()[-3000:]
    assert connects_as(r, "petrel-office") == 1


def test_default_remote_client_id_is_hostname_dot_name(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1"))
    wait_forwarding(local, "s/probe", r, "s/probe")
    assert connects_as(r, f"{socket.gethostname()}.office") == 1, r.log()[-3000:]


def test_remote_username_and_password_are_sent(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1", "remote_clientid petrel-office",
                                    "remote_username bridgeuser", "remote_password secret"))
    wait_forwarding(local, "s/probe", r, "s/probe")
    assert re.search(r"as petrel-office \(p2, c0, k60, u'bridgeuser'\)", r.log()), r.log()[-3000:]


@pytest.mark.parametrize("attempt", [True, False])
def test_bridge_attempt_unsubscribe(broker, remote, attempt):
    """With an out rule the bridge unsubscribes the rule's remote filter (a leftover of an
    earlier `in` rule in a persistent session) unless bridge_attempt_unsubscribe is false."""
    r = remote()
    local = bridging(broker, bridge("office", r, "up/# out 1 \"\" site/", "remote_clientid petrel-office",
                                    f"bridge_attempt_unsubscribe {'true' if attempt else 'false'}"))
    wait_forwarding(local, "up/probe", r, "site/up/probe")
    unsubscribed = log_count(r, r"Received UNSUBSCRIBE from petrel-office$")
    if attempt:
        assert unsubscribed == 1
        assert re.search(r"Received UNSUBSCRIBE from petrel-office\n.*\tsite/up/#$", r.log(), re.M), r.log()[-3000:]
    else:
        assert unsubscribed == 0


# --------------------------------------------------------------------------------------
# $SYS/broker/connection/<id>/state
# --------------------------------------------------------------------------------------
def test_state_notification_default_topic(broker, remote):
    cid = f"{socket.gethostname()}.office"
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1"))
    p = wait_retained(local, state_topic(cid), b"1")
    assert p.retain
    # By default the remote gets the notification too.
    wait_retained(r, state_topic(cid), b"1", timeout=5)
    r.stop()
    wait_retained(local, state_topic(cid), b"0")


def test_state_notification_on_the_remote_goes_to_0_when_the_bridge_dies(broker, remote):
    """The bridge's will (retained "0" on the notification topic) tells the remote."""
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1", "remote_clientid petrel-office"))
    wait_retained(r, state_topic("petrel-office"), b"1")
    local.expect_exit = True
    local.proc.kill()
    local.proc.wait(timeout=5)
    wait_retained(r, state_topic("petrel-office"), b"0", timeout=10)


def test_state_notification_reconnect_goes_back_to_1(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1", "remote_clientid petrel-office"))
    wait_retained(local, state_topic("petrel-office"), b"1")
    col = Collector(subscriber(local, state_topic("petrel-office"), qos=1))
    r.stop()
    r.start()
    wait_forwarding(local, "s/probe", r, "s/probe")
    got = [p.payload for p in col.settle(idle=0.3)]
    col.stop()
    # retained 1 on subscribe, then 0 on the outage and 1 again
    assert got[-2:] == [b"0", b"1"], got


def test_notification_topic_and_local_only(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1", "remote_clientid petrel-office",
                                    "notification_topic bridges/office/up", "notifications_local_only true"))
    wait_retained(local, "bridges/office/up", b"1")
    wait_forwarding(local, "s/probe", r, "s/probe")
    assert retained(r, "bridges/office/up") is None
    assert retained(r, state_topic("petrel-office")) is None
    assert retained(local, state_topic("petrel-office")) is None


def test_notifications_false(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, "s/# out 1", "remote_clientid petrel-office",
                                    "notifications false"))
    wait_forwarding(local, "s/probe", r, "s/probe")
    assert retained(local, state_topic("petrel-office")) is None
    assert retained(r, state_topic("petrel-office")) is None


# --------------------------------------------------------------------------------------
# Petrel's $SYS/broker/bridge/<name>/...
# --------------------------------------------------------------------------------------
@pytest.mark.petrel_only("$SYS/broker/bridge/<name>/... is Petrel's own status tree")
def test_petrel_bridge_status_topics(broker, remote):
    r = remote()
    local = bridging(broker, bridge("office", r, ["up/# out 1", "down/# in 1"]), extra=["sys_interval 1"])
    wait_bridge_sys(local, "office", "state", lambda v: v == b"connected")
    assert bridge_sys(local, "office", "address") == f"127.0.0.1:{r.port}".encode()
    since = bridge_sys(local, "office", "connected_since")
    assert since, "connected_since is missing or empty"

    wait_forwarding(local, "up/probe", r, "up/probe")
    wait_forwarding(r, "down/probe", local, "down/probe")
    lp, rp = client(local), client(r)
    for i in range(3):
        lp.publish("up/x", b"%d" % i, qos=1)
        rp.publish("down/x", b"%d" % i, qos=1)
    # Probes count too: at least the three data messages each way.
    wait_bridge_sys(local, "office", "messages/sent", lambda v: int(v) >= 4)
    wait_bridge_sys(local, "office", "messages/received", lambda v: int(v) >= 4)
    assert int(bridge_sys(local, "office", "queued")) == 0

    r.stop()
    wait_bridge_sys(local, "office", "state", lambda v: v in (b"disconnected", b"connecting"))
    wait_bridge_sys(local, "office", "last_error", lambda v: len(v) > 0)
    # Messages for the remote wait in the bridge's queue meanwhile.
    for i in range(5):
        lp.publish("up/y", b"%d" % i, qos=1)
    wait_bridge_sys(local, "office", "queued", lambda v: int(v) >= 5)
