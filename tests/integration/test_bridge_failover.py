"""Bridges across outages: several addresses (primary first), failover to the secondary
when the primary dies and, in Petrel, fail-back to the primary (primary_retry_interval,
primary_holddown) without losing queued QoS 1 messages; round_robin; QoS 1 messages
queued locally while the remote is down, delivered in order after it comes back; a bridge
whose remote appears only later; IPv6 and host-name addresses; start_type once / lazy.

The broker under test bridges to Debian's Mosquitto (see bridge_support.py)."""
from __future__ import annotations

import time

import pytest

from bridge_support import (V311, Collector, SteadyPublisher, bridge, bridge_sys, bridging, client, connects_as, quiet,  # noqa: F401
                            recv_data, remote, subscriber, wait_bridge_sys, wait_forwarding)


def seq(packets, topic: str | None = None) -> list[int]:
    return [int(p.payload) for p in packets if topic is None or p.topic == topic]


# --------------------------------------------------------------------------------------
# Primary / secondary
# --------------------------------------------------------------------------------------
def test_failover_to_the_secondary_when_the_primary_dies(broker, remote):
    a, b = remote(), remote()
    local = bridging(broker, bridge("fo", [a, b], "fo/# out 1", "remote_clientid petrel-fo"))
    col_a = Collector(subscriber(a, "fo/data", qos=1))
    col_b = Collector(subscriber(b, "fo/data", qos=1))
    wait_forwarding(local, "fo/probe", a, "fo/probe")
    pub = client(local)
    for i in range(20):
        pub.publish("fo/data", b"%d" % i, qos=1)
    assert seq(col_a.wait(20)) == list(range(20))

    a.kill()
    # Published while the bridge notices and moves: queued, then delivered to B.
    for i in range(20, 70):
        pub.publish("fo/data", b"%d" % i, qos=1)
    got = col_b.wait(50, timeout=20)
    for i in range(70, 80):
        pub.publish("fo/data", b"%d" % i, qos=1)
    got = col_b.wait(60, timeout=10)
    assert seq(got) == list(range(20, 80))
    assert connects_as(b, "petrel-fo") == 1
    col_b.stop()


@pytest.mark.petrel_only("primary_retry_interval / primary_holddown are Petrel options (Mosquitto probes "
                         "the primary on a fixed schedule) and $SYS/broker/bridge/... is Petrel's")
def test_fail_back_to_the_primary_without_losing_messages(broker, remote):
    a, b = remote(), remote()
    local = bridging(broker, bridge("fo", [a, b], "fo/# out 1", "remote_clientid petrel-fo",
                                    "primary_retry_interval 1", "primary_holddown 2"))
    wait_bridge_sys(local, "fo", "address", lambda v: v == f"127.0.0.1:{a.port}".encode())
    col_a = Collector(subscriber(a, "fo/data", qos=1))
    col_b = Collector(subscriber(b, "fo/data", qos=1))
    wait_forwarding(local, "fo/probe", a, "fo/probe")

    pub = SteadyPublisher(client(local), "fo/data", 0.02)
    try:
        col_a.wait(10)
        # SIGTERM: Mosquitto hands a message to its subscribers before it acknowledges it,
        # so whatever A acknowledged has reached col_a and the union below is exact.
        a.stop()
        wait_bridge_sys(local, "fo", "address", lambda v: v == f"127.0.0.1:{b.port}".encode())
        wait_bridge_sys(local, "fo", "state", lambda v: v == b"connected")
        n_b = len(col_b.wait(10, timeout=15))
        a.start()
        col_a2 = Collector(subscriber(a, "fo/data", qos=1))
        # The primary has to stay up for primary_holddown (2 s) before the bridge moves back.
        t0 = time.monotonic()
        col_a2.wait(10, timeout=20)
        assert time.monotonic() - t0 >= 1.5, "failed back before the primary's holddown"
        wait_bridge_sys(local, "fo", "address", lambda v: v == f"127.0.0.1:{a.port}".encode())
        assert bridge_sys(local, "fo", "state") == b"connected"
        assert len(col_b.data()) > n_b
    finally:
        sent = pub.stop()
    # Every message the local broker acknowledged reached one of the remotes (duplicates
    # across the switches are allowed: QoS 1).
    deadline = time.monotonic() + 15
    while True:
        union = set(seq(col_a.data())) | set(seq(col_b.data())) | set(seq(col_a2.data()))
        missing = set(range(sent)) - union
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, f"lost {len(missing)} of {sent}: {sorted(missing)[:20]}"
    # After the fail-back nothing more goes to B.
    n_b = len(col_b.settle(idle=0.3))
    n_a = len(col_a2.settle(idle=0.3))
    client(local).publish("fo/data", b"-1", qos=1)
    assert col_a2.wait(n_a + 1, timeout=5)[-1].payload == b"-1"
    assert len(col_b.settle(idle=0.3)) == n_b
    for col in (col_a, col_b, col_a2):
        col.stop()


def test_round_robin_moves_on_to_the_next_address(broker, remote):
    a, b = remote(), remote()
    local = bridging(broker, bridge("rr", [a, b], "rr/# out 1", "remote_clientid petrel-rr", "round_robin true"))
    wait_forwarding(local, "rr/probe", a, "rr/probe")
    a.kill()
    wait_forwarding(local, "rr/probe", b, "rr/probe")
    a.start()
    b.kill()
    wait_forwarding(local, "rr/probe", a, "rr/probe")
    assert connects_as(b, "petrel-rr") == 1


# --------------------------------------------------------------------------------------
# Queueing
# --------------------------------------------------------------------------------------
def test_qos1_messages_queued_through_a_remote_outage_arrive_in_order(broker, remote):
    """The remote keeps a persistent subscriber's session across its restart
    (`persistence true`); what the bridge delivers after the restart is queued there for
    the subscriber, so the test does not race the bridge's reconnection."""
    r = remote(persistence=True)
    local = bridging(broker, bridge("q", r, "q/# out 1", "remote_clientid petrel-q"))
    s = subscriber(r, "q/data", qos=1, client_id="office-sub", version=V311, clean=False)
    wait_forwarding(local, "q/probe", r, "q/probe")
    s.disconnect()
    r.stop()

    pub = client(local)
    for i in range(100):
        pub.publish("q/data", b"%d" % i, qos=1)

    r.start()
    s = subscriber(r, "q/data", qos=1, client_id="office-sub", version=V311, clean=False)
    got = recv_data(s, 100, timeout=20)
    assert seq(got) == list(range(100))
    assert quiet(s, idle=0.3) == []


def test_bridge_connects_when_the_remote_appears_and_delivers_what_was_queued(broker, remote):
    """The bridging broker starts while its remote is down. The remote's persistent
    subscriber session (made before, kept by `persistence true`) receives what the bridge
    queued, whenever the bridge gets there."""
    r = remote(persistence=True)
    subscriber(r, "late/#", qos=1, client_id="office-sub", version=V311, clean=False).disconnect()
    r.stop()
    local = bridging(broker, bridge("late", r, "late/# out 1", "remote_clientid petrel-late"))
    pub = client(local)
    for i in range(10):
        pub.publish("late/data", b"%d" % i, qos=1)
    time.sleep(1.2)  # at least one failed attempt (restart_timeout 1)
    r.start()
    s = subscriber(r, "late/#", qos=1, client_id="office-sub", version=V311, clean=False)
    got = recv_data(s, 10, timeout=15)
    assert seq(got) == list(range(10))
    assert connects_as(r, "petrel-late") == 1


# --------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------
def test_ipv6_address(broker, remote):
    """Mosquitto's form: the port is mandatory and follows the last ':' (no brackets)."""
    r = remote(host="::1")
    local = bridging(broker, ["connection v6", f"address ::1:{r.port}", "topic v6/# both 1", "restart_timeout 1"])
    wait_forwarding(local, "v6/probe", r, "v6/probe")
    wait_forwarding(r, "v6/probe2", local, "v6/probe2")


@pytest.mark.petrel_only("Mosquitto 2.0.11 reads '[::1]' as a host name (and fails to resolve it)")
def test_ipv6_address_in_brackets(broker, remote):
    r = remote(host="::1")
    local = bridging(broker, ["connection v6", f"address [::1]:{r.port}", "topic v6/# both 1", "restart_timeout 1"])
    wait_forwarding(local, "v6/probe", r, "v6/probe")
    wait_forwarding(r, "v6/probe2", local, "v6/probe2")


def test_host_name_address(broker, remote):
    r = remote()
    local = bridging(broker, ["connection byname", f"address localhost:{r.port}", "topic n/# out 1",
                              "restart_timeout 1"])
    wait_forwarding(local, "n/probe", r, "n/probe")


def test_an_unreachable_first_address_is_skipped(broker, remote):
    """Several addresses, the first unreachable (nothing listens): the bridge goes on to the
    second."""
    r = remote()
    dead = remote(start=False)
    local = bridging(broker, bridge("skip", [dead, r], "k/# out 1"))
    wait_forwarding(local, "k/probe", r, "k/probe")


# --------------------------------------------------------------------------------------
# start_type
# --------------------------------------------------------------------------------------
@pytest.mark.mosquitto_deviates("its own documentation: Mosquitto 2.0.11 never completes a start_type once "
                                 "connection (it logs 'Connecting bridge (step 1)' and stops there)")
def test_start_type_once_does_not_reconnect(broker, remote):
    r = remote()
    local = bridging(broker, bridge("once", r, "o/# out 1", "remote_clientid petrel-once", "start_type once"))
    wait_forwarding(local, "o/probe", r, "o/probe")
    r.stop()
    r.start()
    time.sleep(3)  # three restart_timeout periods
    assert connects_as(r, "petrel-once") == 1
    assert local.alive()


def test_start_type_lazy_starts_at_threshold(broker, remote):
    r = remote()
    local = bridging(broker, bridge("lazy", r, "z/# out 1", "remote_clientid petrel-lazy", "start_type lazy",
                                    "threshold 5"))
    s = subscriber(r, "z/#", qos=1)
    pub = client(local)
    for i in range(4):
        pub.publish("z/data", b"%d" % i, qos=1)
    time.sleep(1.5)
    assert connects_as(r, "petrel-lazy") == 0
    pub.publish("z/data", b"4", qos=1)
    got = recv_data(s, 5, timeout=15)
    assert seq(got) == list(range(5))
