"""mount_point: a listener's clients live under a topic prefix. It is added to the topics
and filters they send (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, will) and taken off the topics
they are sent, so they see only what is under it (Mosquitto's listener option)."""
import pytest

import rawmqtt as mq

pytestmark = pytest.mark.petrel_only(
    "Mosquitto 2.0.11 (Debian 12) leaves the mount point on the topics it sends (its issue "
    "2244, fixed in 2.0.12); Petrel does what Mosquitto documents and 1.6 and 2.0.12+ do")

MP = "site-7/"


@pytest.fixture
def mb(broker):
    """Listener 0: no mount point; listener 1: mount_point site-7/."""
    return broker(hosts=["127.0.0.1", "127.0.0.1"], listener_extra={1: [f"mount_point {MP}"]})


@pytest.mark.parametrize("version", [mq.V311, mq.V5])
def test_mounted_client_receives_its_topics_without_the_prefix(mb, version):
    a = mb.client(index=1, version=version)
    a.connect(client_id="mounted-a")
    a.subscribe([("temp/#", 1)])
    b = mb.client(index=0)
    b.connect(client_id="plain-b")
    b.publish(MP + "temp/a", b"21", qos=1)
    got = a.recv_publish()
    assert got.topic == "temp/a" and got.payload == b"21"
    # Outside the mount point: never seen.
    b.publish("temp/a", b"other", qos=1)
    a.expect_nothing(0.5)


def test_mounted_client_publishes_under_the_prefix(mb):
    c = mb.client(index=0)
    c.connect(client_id="plain-c")
    c.subscribe([("#", 1)])
    a = mb.client(index=1)
    a.connect(client_id="mounted-a")
    a.publish("temp/b", b"x", qos=1)
    got = c.recv_publish()
    assert got.topic == MP + "temp/b"


def test_two_mounted_clients_talk_in_their_own_names(mb):
    a = mb.client(index=1)
    a.connect(client_id="mounted-a")
    a.subscribe([("cmd/+", 2)])
    b = mb.client(index=1)
    b.connect(client_id="mounted-b")
    b.publish("cmd/reboot", b"now", qos=2)
    got = a.recv_publish()
    assert got.topic == "cmd/reboot" and got.payload == b"now"


def test_retained_and_shared_subscriptions_under_the_mount_point(mb):
    b = mb.client(index=0)
    b.connect(client_id="plain-b")
    b.publish(MP + "r/x", b"kept", qos=1, retain=True)
    b.publish("r/x", b"not ours", qos=1, retain=True)
    a = mb.client(index=1)
    a.connect(client_id="mounted-a")
    a.subscribe([("r/#", 1)])
    got = a.recv_publish()
    assert got.topic == "r/x" and got.payload == b"kept" and got.retain
    a.expect_nothing(0.3)
    a.subscribe([("$share/g/s/#", 1)])
    b.publish(MP + "s/1", b"shared", qos=1)
    got = a.recv_publish()
    assert got.topic == "s/1" and got.payload == b"shared"


def test_will_is_published_under_the_mount_point(mb):
    c = mb.client(index=0)
    c.connect(client_id="watcher")
    c.subscribe([(MP + "status/#", 1)])
    a = mb.client(index=1)
    a.connect(client_id="dies", will=mq.Will("status/dies", b"gone", qos=1))
    a.close()  # no DISCONNECT: the will goes out
    got = c.recv_publish(timeout=10)
    assert got.topic == MP + "status/dies" and got.payload == b"gone"


def test_unsubscribe_uses_the_clients_names(mb):
    a = mb.client(index=1)
    a.connect(client_id="mounted-a")
    a.subscribe([("u/#", 1)])
    ack = a.unsubscribe("u/#")
    assert ack.codes == [0], ack  # v5: the subscription existed
    b = mb.client(index=0)
    b.connect(client_id="plain-b")
    b.publish(MP + "u/1", b"x", qos=1)
    a.expect_nothing(0.5)


def test_sys_tree_is_outside_the_mount_point(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"], listener_extra={1: [f"mount_point {MP}"]},
               extra=["sys_interval 1"])
    a = b.client(index=1)
    a.connect(client_id="mounted-a")
    a.subscribe([("$SYS/#", 0)])
    a.expect_nothing(1.5)  # $SYS is published every second, never under site-7/
    plain = b.client(index=0)
    plain.connect(client_id="plain")
    plain.subscribe([("$SYS/broker/uptime", 0)])
    assert plain.recv_publish(timeout=5).topic == "$SYS/broker/uptime"


def test_mount_point_with_wildcards_is_refused(broker_bin, tmp_path):
    import subprocess
    conf = tmp_path / "p.conf"
    conf.write_text("listener 18830 127.0.0.1\nmount_point site/+/\n")
    r = subprocess.run([broker_bin, "--test-config", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert f"{conf}:2:" in r.stdout + r.stderr and "wildcards" in r.stdout + r.stderr
