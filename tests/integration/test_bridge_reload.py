"""Bridges and SIGHUP: a changed bridge picks up its new topic rules (at once with
Petrel's default bridge_reload_type immediate; with `bridge_reload_type lazy` at its next
natural reconnection, as Mosquitto 2.1 documents lazy, which is Mosquitto's default), an
unchanged bridge keeps its connection, an added bridge starts, a removed one stops, and
local clients stay connected throughout.

Petrel only: Mosquitto 2.0.11 does not reload bridges on SIGHUP at all."""
from __future__ import annotations

import re
import signal
import time

import pytest

from bridge_support import (bridge, bridging, client, connects_as, quiet, remote, subscriber,  # noqa: F401
                            wait_forwarding, wait_log, retained)
from helpers import wait_until

pytestmark = pytest.mark.petrel_only("Mosquitto 2.0.11 does not reload bridges on SIGHUP")


def rewrite_bridges(b, bridge_lines: list[str]) -> None:
    """Replace every `connection` section of b's config (they are at its end, after the
    listener: see bridging()) with `bridge_lines`, then SIGHUP and wait for the reload to
    be logged."""
    text = b.conf_path.read_text()
    head = text[:text.index("connection ")]
    b.conf_path.write_text(head + "\n".join(bridge_lines) + "\n")
    before = b.log().count("Reloading config")
    b.signal(signal.SIGHUP)
    wait_until(lambda: b.log().count("Reloading config") > before, 5, what="'Reloading config' in the log")


def disconnected(r, client_id: str) -> bool:
    return re.search(rf"Client {re.escape(client_id)} (disconnected|closed its connection)|"
                     rf"Socket error on client {re.escape(client_id)}", r.log()) is not None


def test_reload_changes_one_bridge_keeps_the_other_and_local_clients(broker, remote):
    m1, m2 = remote(), remote()
    b1 = bridge("b1", m1, "one/# out 1", "remote_clientid petrel-b1")
    b2_old = bridge("b2", m2, "old/# out 1", "remote_clientid petrel-b2")
    local = bridging(broker, b1 + b2_old)
    keep = subscriber(local, "#", qos=1, client_id="stays-connected")
    s1, s2 = subscriber(m1, "#", qos=1), subscriber(m2, "#", qos=1)
    wait_forwarding(local, "one/probe", m1, "one/probe")
    wait_forwarding(local, "old/probe", m2, "old/probe")

    b2_new = bridge("b2", m2, "new/# out 1", "remote_clientid petrel-b2")
    rewrite_bridges(local, b1 + b2_new)
    wait_forwarding(local, "new/probe", m2, "new/probe")
    pub = client(local)
    pub.publish("old/x", b"old rule", qos=1)
    pub.publish("new/x", b"new rule", qos=1)
    pub.publish("one/x", b"bridge 1", qos=1)
    assert [(p.topic, p.payload) for p in quiet(s2)] == [("new/x", b"new rule")]
    assert [(p.topic, p.payload) for p in quiet(s1, idle=0.2)] == [("one/x", b"bridge 1")]
    # Bridge 1 never reconnected; the local client saw every message and is still there.
    assert connects_as(m1, "petrel-b1") == 1
    assert not disconnected(m1, "petrel-b1")
    assert [p.topic for p in quiet(keep, idle=0.2)] == ["old/x", "new/x", "one/x"]
    keep.ping()


def test_reload_adds_and_removes_bridges(broker, remote):
    m1, m2, m3 = remote(), remote(), remote()
    b1 = bridge("b1", m1, "one/# out 1", "remote_clientid petrel-b1")
    b2 = bridge("b2", m2, "two/# out 1", "remote_clientid petrel-b2")
    b3 = bridge("b3", m3, "three/# out 1", "remote_clientid petrel-b3")
    local = bridging(broker, b1 + b2)
    keep = client(local, "stays-connected")
    s2 = subscriber(m2, "#", qos=1)
    wait_forwarding(local, "one/probe", m1, "one/probe")
    wait_forwarding(local, "two/probe", m2, "two/probe")

    rewrite_bridges(local, b1 + b3)
    wait_forwarding(local, "three/probe", m3, "three/probe")
    wait_until(lambda: disconnected(m2, "petrel-b2"), 10, what="the removed bridge to leave m2")
    quiet(s2, idle=0.2)
    client(local).publish("two/x", b"no bridge any more", qos=1)
    assert quiet(s2) == []
    wait_forwarding(local, "one/probe2", m1, "one/probe2")
    assert connects_as(m1, "petrel-b1") == 1
    keep.ping()
    # The removed bridge ended its local session: no subscription of it is left behind
    # to queue messages for no one.
    c = local.connect("local.petrel-b2", version=5, clean=False,
                      props={"session_expiry_interval": 0})
    assert not c.connack.session_present


def test_a_changed_bridge_resumes_its_local_session_without_its_old_filters(broker, remote):
    m = remote()
    local = bridging(broker, bridge("b", m, "old/# out 1", "remote_clientid petrel-b"), extra=["sys_interval 1"])
    s = subscriber(m, "#", qos=1)
    wait_forwarding(local, "old/probe", m, "old/probe")
    rewrite_bridges(local, bridge("b", m, "new/# out 1", "remote_clientid petrel-b"))
    wait_forwarding(local, "new/probe", m, "new/probe")
    quiet(s, idle=0.2)
    pub = client(local)
    pub.publish("old/x", b"stale", qos=1)
    pub.publish("new/x", b"fresh", qos=1)
    assert [(p.topic, p.payload) for p in quiet(s)] == [("new/x", b"fresh")]
    # The resumed local session holds new/# only: old/# was dropped from it. ($SYS is
    # refreshed every second: let two refreshes pass so the figure is from after the reload;
    # the query reads the figure published before its own subscription.)
    time.sleep(2.2)
    assert retained(local, "$SYS/broker/subscriptions/count").payload == b"1"


def test_lazy_reload_applies_at_the_next_reconnection(broker, remote):
    """bridge_reload_type lazy: the connected bridge keeps its old rules until its
    connection drops for another reason; then it comes back with the new ones."""
    m = remote()
    old = bridge("b", m, "old/# out 1", "remote_clientid petrel-b", "bridge_reload_type lazy")
    new = bridge("b", m, "new/# out 1", "remote_clientid petrel-b", "bridge_reload_type lazy")
    local = bridging(broker, old)
    s = subscriber(m, "#", qos=1)
    wait_forwarding(local, "old/probe", m, "old/probe")

    rewrite_bridges(local, new)
    pub = client(local)
    pub.publish("old/x", b"still old", qos=1)
    pub.publish("new/x", b"not yet", qos=1)
    assert [(p.topic, p.payload) for p in quiet(s)] == [("old/x", b"still old")]
    assert connects_as(m, "petrel-b") == 1

    m.stop()
    m.start()
    wait_forwarding(local, "new/probe", m, "new/probe")
    s = subscriber(m, "#", qos=1)
    pub.publish("old/x", b"gone", qos=1)
    pub.publish("new/x", b"now", qos=1)
    assert [(p.topic, p.payload) for p in quiet(s)] == [("new/x", b"now")]


def test_reload_with_an_invalid_bridge_keeps_the_running_bridges(broker, remote):
    m = remote()
    good = bridge("b", m, "t/# out 1", "remote_clientid petrel-b")
    local = bridging(broker, good)
    wait_forwarding(local, "t/probe", m, "t/probe")
    text = local.conf_path.read_text()
    local.conf_path.write_text(text + "connection broken\ntopic \"\" out 0 local/\n")
    local.signal(signal.SIGHUP)
    wait_log(local, re.escape(str(local.conf_path)) + r":\d+", timeout=5)
    assert local.alive()
    wait_forwarding(local, "t/probe2", m, "t/probe2")
    assert connects_as(m, "petrel-b") == 1
