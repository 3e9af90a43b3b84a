"""A bridge's out-queue is durable (issues 14 and 15): the bridge acknowledges the local
broker's QoS 1/2 delivery only once the remote has completed the message, so until then
the message stays in the bridge's local session, which the durable store keeps like any
persistent session (`local_cleansession false`). Whatever a publisher had acknowledged
(after the commit, under `persistence_sync commit`) reaches the remote after a kill -9 of
the bridging Petrel, in order. A full queue drops new messages and says so once per
episode.

The bridging broker is a Petrel with persistence (persist_support.Durable); the remote is
Debian's Mosquitto with `persistence true`, so a persistent subscriber there keeps what
arrives while it is away."""
from __future__ import annotations

import re

import pytest

from bridge_support import V311, bridge, recv_data, remote, subscriber, wait_forwarding, wait_log  # noqa: F401
from persist_support import DurableFactory

pytestmark = pytest.mark.petrel_only("Petrel's durable store carrying a bridge's out-queue")


@pytest.fixture
def durable(broker):
    return DurableFactory(broker)


def seq(packets) -> list[int]:
    return [int(p.payload) for p in packets]


def office_subscriber(r, topic: str):
    """A persistent QoS 1 subscriber on the remote, away while the test runs."""
    subscriber(r, topic, qos=1, client_id="office-sub", version=V311, clean=False).disconnect()


@pytest.mark.parametrize("how", ["kill", "term"])
def test_acknowledged_messages_reach_the_remote_after_the_bridging_broker_restarts(durable, remote, how):
    """The remote is down; a publisher on the bridging Petrel gets PUBACKs for 200 QoS 1
    messages; the bridging Petrel is killed (kill -9) or stopped, and started again; then
    the remote comes back: its persistent subscriber receives all 200, in order, once."""
    r = remote(persistence=True)
    office_subscriber(r, "d/data")
    local = durable(listener_lines=bridge("d", r, "d/# out 1", "remote_clientid petrel-d", "cleansession false"))
    wait_forwarding(local, "d/probe", r, "d/probe", qos=1)
    r.stop()

    pub = local.connect("edge-pub")
    for i in range(200):
        ack = pub.publish("d/data", b"%d" % i, qos=1)
        assert ack is not None and ack.rc == 0, (i, ack)
    local.restart(how)
    r.start()
    s = subscriber(r, "d/data", qos=1, client_id="office-sub", version=V311, clean=False)
    got = recv_data(s, 200, timeout=30)
    assert seq(got) == list(range(200))
    s.expect_nothing(0.5)


def test_bridge_queue_full_drops_and_says_so_once(durable, remote):
    """With the remote down and max_queued_messages 20, the bridge's local session holds
    what the bridge has not passed on: past that (and the bridge's own window), new
    messages are dropped, with one log line naming the bridge's session; once the remote
    is back and the queue is half empty again, a line says messages are queued again."""
    r = remote(persistence=True)
    office_subscriber(r, "f/data")
    local = durable(extra=["max_queued_messages 20"],
                    listener_lines=bridge("f", r, "f/# out 1", "remote_clientid petrel-f", "cleansession false"))
    wait_forwarding(local, "f/probe", r, "f/probe", qos=1)
    r.stop()
    pub = local.connect("edge-pub")
    for i in range(300):
        pub.publish("f/data", b"%d" % i, qos=1)
    wait_log(local, r"Outgoing messages are being dropped for bridge session local\.petrel-f")
    dropped_lines = re.findall(r"Outgoing messages are being dropped for bridge session", local.log())
    assert len(dropped_lines) == 1, local.log()[-3000:]
    r.start()
    s = subscriber(r, "f/data", qos=1, client_id="office-sub", version=V311, clean=False)
    got = seq(recv_data(s, 1, timeout=30))
    # What was kept arrives in order, starting with the first message.
    assert got[0] == 0
    wait_log(local, r"Messages are queued for local\.petrel-f again \(\d+ dropped while its queue was full\)")
