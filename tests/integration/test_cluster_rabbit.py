"""Edge Petrels bridged into a real three-node RabbitMQ 3.10 cluster that loses a node
(issue #15). The cluster (rabbit_support.py: quorum queues for persistent MQTT sessions,
pause_minority) is started once for this module and shared by its tests; a test that
killed or stopped nodes leaves them running again for the next (the `rabbit` fixture
restarts any that are not).

Every edge is a Petrel started by the test with one bridge in Mosquitto's syntax:
primary address node a, secondary node b (`round_robin false`: fail-back to a after
`primary_holddown`), MQTT 3.1.1 without the bridge bit (RabbitMQ 3.10 refuses it),
`cleansession false`, `site/<id>/# out 1` and `cmd/<tag>/# in 1`.

In the README's test command:
* test_edges_and_cluster_both_ways: three edges forward their sites' QoS 1 traffic into
  the cluster, a subscriber on node b sees every site's messages in order, a command
  published on node a reaches every site; the bridges' sessions are quorum queues.
* test_node_killed_under_load: under a steady QoS 1 load from the three sites, node a's
  Erlang VM is killed (SIGKILL by pid); every bridge fails over to b, a command published
  on node c still reaches every site (the bridges' sessions resumed on another node),
  node a is started again and every bridge fails back to it after the hold-down; every
  message an edge acknowledged to its publisher reaches the subscriber on node b
  (QoS 1 duplicates allowed, counted).

Longer drills, run by `scripts/cluster-drills` (not by the README's test command):
* PETREL_CLUSTER_ROUNDS=N: the node-kill test kills and restarts node a N times
  (default 1); PETREL_CLUSTER_RATE: messages per second per site (default 25).
* PETREL_CLUSTER_DRILLS=1 turns on test_whole_cluster_stopped: the three nodes are
  stopped for PETREL_CLUSTER_OUTAGE seconds (default 60) while the sites keep publishing;
  two of the three edges (persistence on) are restarted during the outage, one with
  SIGTERM, one with kill -9; when the cluster returns every acknowledged message reaches a
  persistent subscriber on node b, in order per site.

Figures (failover and fail-back times, messages, duplicates) are printed; run with `-s`
to see them (scripts/cluster-drills does).
"""
from __future__ import annotations

import itertools
import os
import time

import pytest

import rabbit_support as rs
import rawmqtt as mq
from bridge_support import PROBE, Collector, SteadyPublisher, bridge_sys, wait_bridge_sys
from persist_support import DurableFactory

pytestmark = [
    pytest.mark.petrel_only("primary_holddown / primary_retry_interval, $SYS/broker/bridge/... and the "
                            "durable bridge queue are Petrel's"),
    pytest.mark.slow,
    # One cluster per module: with pytest-xdist, `--dist loadgroup` keeps these tests on
    # one worker (scripts/test uses it); with plain `-n` each worker would start its own.
    pytest.mark.xdist_group("rabbit-cluster"),
]

V311 = mq.V311
# Generous: a bridge reconnects within restart_timeout (1 s) on an idle machine; the
# deadlines only bound how long a broken run waits.
BRIDGE_TIMEOUT = 120.0
DELIVERY_TIMEOUT = 120.0
HOLDDOWN = 5


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def figure(text: str) -> None:
    """A measured figure, printed (visible with -s)."""
    print(f"\n[cluster] {text}", flush=True)


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = rs.missing()
    if why:
        pytest.skip(why)
    c = rs.Cluster(tmp_path_factory.mktemp("rabbit"))
    try:
        t0 = time.monotonic()
        c.start()
        figure(f"three nodes started and clustered in {time.monotonic() - t0:.1f} s")
        yield c
    finally:
        c.teardown()


@pytest.fixture
def rabbit(cluster, request):
    """The module's cluster with its three nodes running (a node a previous test left
    stopped or killed is started again). The nodes' logs are attached to a failing test's
    report."""
    down = [n for n in cluster.nodes.values() if not n.alive()]
    if len(down) == len(cluster.nodes):
        cluster.start_all()
    else:
        for n in down:
            cluster.restart(n)
    failed_before = request.session.testsfailed
    yield cluster
    if request.session.testsfailed > failed_before:
        for n in cluster.nodes.values():
            request.node.add_report_section("teardown", f"rabbitmq {n.nodename} log (tail)", n.log()[-20000:])


_tags = itertools.count()


@pytest.fixture
def tag() -> str:
    """Unique per test (the cluster outlives each test: its persistent sessions and
    queues stay, so every test uses its own client ids and command topic)."""
    return f"t{os.getpid() % 10000}x{next(_tags)}"


# --------------------------------------------------------------------------------------
# Edges and clients
# --------------------------------------------------------------------------------------
def site_id(tag: str, i: int) -> str:
    return f"{tag}-s{i}"


def bridge_lines(cluster, tag: str, i: int) -> list[str]:
    """The bridge section of edge i (docs/scale-out.md section 2, for RabbitMQ 3.10)."""
    a, b = cluster.a, cluster.b
    return [
        "connection cloud",
        f"address {rs.HOST}:{a.mqtt_port} {rs.HOST}:{b.mqtt_port}",
        "round_robin false",
        "primary_retry_interval 1",
        f"primary_holddown {HOLDDOWN}",
        "restart_timeout 1",
        "bridge_protocol_version mqttv311",
        "try_private false",
        "cleansession false",
        f"remote_clientid {site_id(tag, i)}-cloud",
        f"topic site/{site_id(tag, i)}/# out 1",
        f"topic cmd/{tag}/# in 1",
        "notifications false",
    ]


EDGE_LIMITS = ["max_queued_messages 20000"]


def start_edges(broker, cluster, tag: str, n: int = 3) -> list:
    return [broker(EDGE_LIMITS, listener_extra=bridge_lines(cluster, tag, i)) for i in range(n)]


def rabbit_client(node: rs.Node, client_id: str, clean: bool = True) -> mq.Client:
    """A 3.1.1 client of `node` (keepalive 0: a Collector only answers, never pings)."""
    c = mq.Client(node.mqtt_port, host=rs.HOST, version=V311, timeout=30)
    c.connack = c.connect(client_id, clean=clean, keepalive=0)
    return c


def rabbit_subscriber(node: rs.Node, client_id: str, flt: str, clean: bool = True) -> mq.Client:
    c = rabbit_client(node, client_id, clean)
    ack = c.subscribe([(flt, 1)])
    assert all(code < 0x80 for code in ack.codes), ack
    return c


def wait_bridge_on(edge, node: rs.Node, timeout: float = BRIDGE_TIMEOUT) -> None:
    want = f"{rs.HOST}:{node.mqtt_port}".encode()
    wait_bridge_sys(edge, "cloud", "address", lambda v: v == want, timeout=timeout)
    wait_bridge_sys(edge, "cloud", "state", lambda v: v == b"connected", timeout=timeout)


def probe_until(publish, col: Collector, topic: str, timeout: float = BRIDGE_TIMEOUT) -> None:
    """Publish probes with `publish(topic, payload)` until `col` has received one on
    `topic` (the path through the bridge and the cluster works)."""
    deadline = time.monotonic() + timeout
    n = 0
    while True:
        publish(topic, PROBE + b"-%d" % n)
        n += 1
        step = time.monotonic() + 1.0
        while time.monotonic() < step:
            with col.lock:
                if any(p.topic == topic for p in col.packets):
                    return
            time.sleep(0.05)
        if time.monotonic() > deadline:
            raise AssertionError(f"no probe on {topic} arrived within {timeout}s")


def wait_paths(edges, cluster, tag: str, col_b: Collector, edge_cols: list[Collector]) -> None:
    """Each site's `out` path reaches the subscriber on node b, and a command published on
    node a reaches each edge."""
    for i, e in enumerate(edges):
        wait_bridge_on(e, cluster.a)
        c = e.connect(f"probe-{tag}-{i}", version=mq.V5)
        try:
            probe_until(lambda t, p: c.publish(t, p, qos=1), col_b, f"site/{site_id(tag, i)}/probe")
        finally:
            c.close()
    ctl = rabbit_client(cluster.a, f"{tag}-cmd-probe")
    try:
        for col in edge_cols:
            probe_until(lambda t, p: ctl.publish(t, p, qos=1), col, f"cmd/{tag}/probe")
    finally:
        ctl.close()


def edge_command_collectors(edges, tag: str) -> list[Collector]:
    cols = []
    for i, e in enumerate(edges):
        c = e.connect(f"cmd-{tag}-{i}", version=mq.V5, keepalive=0)
        ack = c.subscribe([(f"cmd/{tag}/#", 1)])
        assert ack.codes == [1], ack
        cols.append(Collector(c))
    return cols


def per_site(col: Collector, tag: str, n: int, leaf: str = "data") -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for p in col.data():
        for i in range(n):
            if p.topic == f"site/{site_id(tag, i)}/{leaf}":
                out[i].append(int(p.payload))
    return out


def publisher(edge, client_id: str, topic: str, rate: int, first: int = 0) -> SteadyPublisher:
    """A device on an edge: `rate` QoS 1 messages per second on `topic` (MQTT 5)."""
    return SteadyPublisher(edge.connect(client_id, version=mq.V5), topic, 1.0 / rate, first)


def wait_all_arrived(col: Collector, tag: str, sent: list[int], timeout: float = DELIVERY_TIMEOUT):
    """Until every site's messages 0..sent[i]-1 have arrived at `col` (duplicates
    allowed); returns the per-site lists."""
    deadline = time.monotonic() + timeout
    while True:
        got = per_site(col, tag, len(sent))
        missing = [sorted(set(range(n)) - set(g)) for n, g in zip(sent, got)]
        if not any(missing):
            return got
        if col.error is not None or time.monotonic() > deadline:
            raise AssertionError(
                "acknowledged messages lost: " + "; ".join(
                    f"site {i}: {len(m)} of {sent[i]} missing, first {m[:10]}" for i, m in enumerate(missing) if m)
                + (f" (subscriber error {col.error!r})" if col.error else ""))
        time.sleep(0.1)


def duplicates(got: list[list[int]]) -> int:
    return sum(len(g) - len(set(g)) for g in got)


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
def test_edges_and_cluster_both_ways(broker, rabbit, tag):
    edges = start_edges(broker, rabbit, tag)
    col_b = Collector(rabbit_subscriber(rabbit.b, f"{tag}-office", "site/#"))
    cmd_cols = edge_command_collectors(edges, tag)
    wait_paths(edges, rabbit, tag, col_b, cmd_cols)

    # Each site's devices publish 100 QoS 1 messages on their edge.
    n = 100
    pubs = [e.connect(f"dev-{tag}-{i}", version=mq.V5) for i, e in enumerate(edges)]
    for k in range(n):
        for i, p in enumerate(pubs):
            ack = p.publish(f"site/{site_id(tag, i)}/data", b"%d" % k, qos=1)
            assert ack is not None and ack.rc == 0
    got = wait_all_arrived(col_b, tag, [n] * 3)
    assert got == [list(range(n))] * 3, "a site's messages arrived out of order or twice"

    # Commands published on node a reach every site, in order.
    ctl = rabbit_client(rabbit.a, f"{tag}-ops")
    for k in range(5):
        ctl.publish(f"cmd/{tag}/all", b"%d" % k, qos=1)
    for col in cmd_cols:
        got = col.wait(5, timeout=DELIVERY_TIMEOUT)
        assert [(p.topic, p.payload) for p in got] == [(f"cmd/{tag}/all", b"%d" % k) for k in range(5)]
    ctl.close()

    # The bridges' sessions on the cluster are replicated quorum queues.
    out = rabbit.a.ctl("list_queues", "name", "type", "--quiet").stdout
    for i in range(3):
        q = f"mqtt-subscription-{site_id(tag, i)}-cloudqos1"
        rows = [line.split() for line in out.splitlines() if line.split()[:1] == [q]]
        assert rows and rows[0][1] == "quorum", f"{q} not a quorum queue:\n{out}"

    for col in [col_b, *cmd_cols]:
        col.stop()
    for p in pubs:
        p.close()


def test_node_killed_under_load(broker, rabbit, tag):
    rounds = env_int("PETREL_CLUSTER_ROUNDS", 1)
    rate = env_int("PETREL_CLUSTER_RATE", 25)
    edges = start_edges(broker, rabbit, tag)
    col_b = Collector(rabbit_subscriber(rabbit.b, f"{tag}-office", "site/#"))
    cmd_cols = edge_command_collectors(edges, tag)
    wait_paths(edges, rabbit, tag, col_b, cmd_cols)

    pubs = [publisher(e, f"dev-{tag}-{i}", f"site/{site_id(tag, i)}/data", rate) for i, e in enumerate(edges)]
    sent: list[int] = []
    commands = 0
    try:
        for r in range(rounds):
            # Traffic flows from every site before the kill.
            base = [len(g) for g in per_site(col_b, tag, 3)]
            wait_until_each_site_grows(col_b, tag, base)
            t_kill = time.monotonic()
            rabbit.a.kill()
            for e in edges:
                wait_bridge_on(e, rabbit.b)
            failover = time.monotonic() - t_kill
            # The sites' traffic goes on through b...
            wait_until_each_site_grows(col_b, tag, [len(g) for g in per_site(col_b, tag, 3)])
            # ...and a command published on node c reaches every site: each bridge's
            # session (its quorum queue) resumed on a node that is not a.
            ctl = rabbit_client(rabbit.c, f"{tag}-ops-{r}")
            ctl.publish(f"cmd/{tag}/all", b"%d" % commands, qos=1)
            ctl.close()
            commands += 1
            for col in cmd_cols:
                col.wait(commands, timeout=DELIVERY_TIMEOUT)

            # Node a again: the bridges probe it every second and move back once it has
            # answered for primary_holddown seconds (that the hold-down is kept is
            # test_bridge_failover.py's business: here, when node a counts as "up" is
            # only known to within a rabbitmqctl call, seconds on a busy machine).
            t_start = time.monotonic()
            rabbit.restart(rabbit.a)
            t_up = time.monotonic()
            for e in edges:
                wait_bridge_on(e, rabbit.a, timeout=BRIDGE_TIMEOUT + HOLDDOWN)
            failback = time.monotonic() - t_start
            wait_until_each_site_grows(col_b, tag, [len(g) for g in per_site(col_b, tag, 3)])
            figure(f"round {r + 1}: all three bridges on b {failover:.1f} s after the kill; node a restarted "
                   f"and back in the cluster (rabbitmqctl) after {t_up - t_start:.1f} s; all three bridges "
                   f"back on a {failback:.1f} s after the restart began (hold-down {HOLDDOWN} s)")
    finally:
        for p in pubs:
            sent.append(p.stop())
    got = wait_all_arrived(col_b, tag, sent)
    dups = duplicates(got)
    figure(f"{rounds} round(s), {rate} msg/s per site: {sum(sent)} messages acknowledged by the edges, "
           f"all received on node b, {dups} duplicate(s)")
    # Every command arrived at every site (once or more: QoS 1 across the moves).
    for col in cmd_cols:
        assert {int(p.payload) for p in col.data() if p.topic == f"cmd/{tag}/all"} == set(range(commands))
    for col in [col_b, *cmd_cols]:
        col.stop()


def wait_until_each_site_grows(col: Collector, tag: str, base: list[int], by: int = 10,
                               timeout: float = DELIVERY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        now = [len(g) for g in per_site(col, tag, len(base))]
        if all(n >= b + by for n, b in zip(now, base)):
            return
        if col.error is not None or time.monotonic() > deadline:
            raise AssertionError(f"traffic stalled: per site {now}, expected at least {[b + by for b in base]} "
                                 f"within {timeout}s (subscriber error {col.error!r})")
        time.sleep(0.1)


@pytest.mark.skipif(os.environ.get("PETREL_CLUSTER_DRILLS", "") != "1",
                    reason="long drill: scripts/cluster-drills (PETREL_CLUSTER_DRILLS=1)")
def test_whole_cluster_stopped(broker, rabbit, tag):
    outage = env_int("PETREL_CLUSTER_OUTAGE", 60)
    rate = env_int("PETREL_CLUSTER_RATE", 25)
    durable = DurableFactory(broker)
    edges = [durable(extra=EDGE_LIMITS, listener_lines=bridge_lines(rabbit, tag, i)) for i in range(3)]
    # A persistent subscriber on b (its queue a quorum queue) keeps what arrives while the
    # cluster is down and while it is away.
    office = f"{tag}-office"
    col_b = Collector(rabbit_subscriber(rabbit.b, office, "site/#", clean=False))
    cmd_cols = edge_command_collectors(edges, tag)
    wait_paths(edges, rabbit, tag, col_b, cmd_cols)
    col_b.stop()
    for col in cmd_cols:
        col.stop()

    t_stop = time.monotonic()
    rabbit.stop_all()
    figure(f"cluster stopped in {time.monotonic() - t_stop:.1f} s")
    t0 = time.monotonic()
    sent = [0, 0, 0]

    def publish_for(seconds: float) -> None:
        # Numbered on from where the previous publisher stopped.
        pubs = [publisher(e, f"dev-{tag}-{i}", f"site/{site_id(tag, i)}/data", rate, sent[i])
                for i, e in enumerate(edges)]
        time.sleep(seconds)  # the load's duration, not a wait for anything
        for i, p in enumerate(pubs):
            sent[i] = p.stop()

    publish_for(outage / 2)
    # Edge 0 is stopped (SIGTERM) and edge 1 killed (kill -9), each started again, while
    # the cluster is down: their queued messages are in their stores.
    edges[0].restart("term")
    edges[1].restart("kill")
    publish_for(max(0.0, outage - (time.monotonic() - t0)))
    for i, e in enumerate(edges):
        assert bridge_sys(e, "cloud", "state") != b"connected"

    t_start = time.monotonic()
    rabbit.start_all()
    figure(f"sites published for {t_start - t0:.1f} s with the cluster down; the three nodes, started "
           f"together, were all running (rabbitmqctl) {time.monotonic() - t_start:.1f} s later")
    col_b = Collector(rabbit_subscriber(rabbit.b, office, "site/#", clean=False))
    got = wait_all_arrived(col_b, tag, sent, timeout=DELIVERY_TIMEOUT + outage * 2)
    for i, g in enumerate(got):
        first = list(dict.fromkeys(g))
        assert first == list(range(sent[i])), f"site {i}: out of order: {first[:50]}"
    figure(f"outage {outage} s at {rate} msg/s per site: {sum(sent)} messages queued by the edges "
           f"(edge 0 restarted with SIGTERM, edge 1 with kill -9), all received in order on node b, "
           f"{duplicates(got)} duplicate(s), {time.monotonic() - t_start:.1f} s after the cluster restart began")
    col_b.stop()
