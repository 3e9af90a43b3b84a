"""check_retain_source true: a retained message keeps who published it, and before it
goes to a new subscriber that publisher must still be allowed by the ACL to write to its
topic; otherwise it is not sent, but it stays retained. Checked after a reload (SIGHUP),
after a restart with persistence (the listener found again by its port,
per_listener_settings true), with a user name, for a retained will, with the option off
and unset (Mosquitto 2.0's real default: off), and for what a bridge brings in (trusted,
never checked). The scenarios follow Mosquitto's own regression test for CVE-2018-12546.

The tests that need no Petrel feature run against Debian's Mosquitto 2.0.11 as well
(--broker mosquitto): it is the reference for the behaviour.

Whether a denied message was sent is decided without waiting for silence: after the
SUBSCRIBE that would bring it, the subscriber subscribes to a second topic whose retained
message is allowed (the fence). Both brokers send a SUBSCRIBE's retained messages in the
order the SUBSCRIBEs came, so once the fence arrives, a denied message would have arrived
before it."""
from __future__ import annotations

import signal
from importlib import import_module

import pytest

import rawmqtt as mq
from bridge_support import bridge, bridging, client, remote, wait_forwarding  # noqa: F401
from conftest import free_port
from helpers import V311, V5, wait_until
from persist_support import DurableFactory

_auth = import_module("15-auth")
make_passwords = _auth.make_passwords

FENCE = "fence/t"


def reload_acl(b, acl, text: str, timeout: float = 10.0) -> None:
    """Rewrite the ACL file and SIGHUP; return once the broker has reloaded (Petrel logs
    "Configuration change from ..." when every worker runs with the new settings;
    Mosquitto logs "Reloading config." and then reloads before serving another packet)."""
    acl.write_text(text)
    marker = "Configuration change from" if b.kind == "petrel" else "Reloading config"
    before = b.log().count(marker)
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: b.log().count(marker) > before, timeout, what="the reload in the broker's log")


def retained_seen(b, topic: str, version: int, index: int = 0, **connect) -> list[bytes]:
    """Payloads of the retained messages a new subscriber to `topic` gets, fenced: FENCE's
    retained message (which every test keeps allowed) is asked for after `topic` and marks
    the end of what `topic` brought."""
    c = b.connect("", version=version, index=index, **connect)
    try:
        c.subscribe([(topic, 1)])
        c.subscribe([(FENCE, 1)])
        got = []
        while True:
            p = c.recv_publish(timeout=10)
            if p.topic == FENCE:
                break
            got.append(p.payload)
        c.ping()
        return got
    finally:
        c.close()


def publish_retained(b, topic: str, payload: bytes, version: int, index: int = 0, client_id: str = "",
                     **connect) -> None:
    c = b.connect(client_id, version=version, index=index, **connect)
    try:
        ack = c.publish(topic, payload, qos=1, retain=True)
        assert ack is None or ack.rc is None or ack.rc < 0x80, ack  # v5: 0 or 0x10 (no subscribers)
    finally:
        c.disconnect()


ACL_WRITE = "topic readwrite secret/#\ntopic readwrite fence/#\n"
ACL_READ = "topic read secret/#\ntopic readwrite fence/#\n"


@pytest.mark.parametrize("version", [V311, V5])
def test_publisher_that_lost_write_access_no_longer_reaches_new_subscribers(broker, tmp_path, version):
    acl = tmp_path / "acl"
    acl.write_text(ACL_WRITE)
    b = broker([f"acl_file {acl}", "check_retain_source true"])
    publish_retained(b, FENCE, b"fence", version)
    publish_retained(b, "secret/a", b"first", version, client_id="retain-check")
    assert retained_seen(b, "secret/a", version) == [b"first"]

    reload_acl(b, acl, ACL_READ)  # the publisher may only read secret/# now
    assert retained_seen(b, "secret/a", version) == []
    assert retained_seen(b, "secret/#", version) == []

    # The message stayed retained: given its write access back, it is sent again.
    reload_acl(b, acl, ACL_WRITE)
    assert retained_seen(b, "secret/a", version) == [b"first"]


def test_the_default_is_not_to_check_as_in_mosquitto(broker, tmp_path):
    """mosquitto.conf(5) says the default is true, but Mosquitto 2.0 zeroes its settings
    and checks only when the option is set (its maintainer says so in Mosquitto issue
    1245; 2.0.11 shows it here). Petrel does what Mosquitto does."""
    acl = tmp_path / "acl"
    acl.write_text(ACL_WRITE)
    b = broker([f"acl_file {acl}"])  # no check_retain_source line
    publish_retained(b, FENCE, b"fence", V5)
    publish_retained(b, "secret/a", b"first", V5, client_id="retain-check")
    reload_acl(b, acl, ACL_READ)
    assert retained_seen(b, "secret/a", V5) == [b"first"]


def test_off_sends_it_anyway(broker, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text(ACL_WRITE)
    b = broker([f"acl_file {acl}", "check_retain_source false"])
    publish_retained(b, FENCE, b"fence", V5)
    publish_retained(b, "secret/a", b"first", V5)
    reload_acl(b, acl, ACL_READ)
    assert retained_seen(b, "secret/a", V5) == [b"first"]


def test_the_publisher_is_checked_by_its_user_name(broker, request, tmp_path):
    """Two publishers on one topic tree: only the one whose user lost write access is
    held back; a subscriber with a user of its own reads both before and one after."""
    pw = make_passwords(request, tmp_path, {"pub1": "p1", "pub2": "p2", "reader": "r"})
    acl = tmp_path / "acl"
    grant = ("topic readwrite fence/#\n"
             "user pub1\ntopic readwrite secret/#\ntopic readwrite fence/#\n"
             "user pub2\ntopic readwrite secret/#\n"
             "user reader\ntopic read secret/#\ntopic read fence/#\n")
    acl.write_text(grant)
    b = broker([f"password_file {pw}", f"acl_file {acl}", "check_retain_source true"], anonymous=False)
    publish_retained(b, FENCE, b"fence", V5, username="pub1", password=b"p1")
    publish_retained(b, "secret/one", b"from pub1", V5, username="pub1", password=b"p1")
    publish_retained(b, "secret/two", b"from pub2", V5, username="pub2", password=b"p2")
    reader = {"username": "reader", "password": b"r"}
    assert sorted(retained_seen(b, "secret/#", V5, **reader)) == [b"from pub1", b"from pub2"]

    reload_acl(b, acl, grant.replace("user pub2\ntopic readwrite secret/#\n", "user pub2\ntopic read secret/#\n"))
    assert retained_seen(b, "secret/#", V5, **reader) == [b"from pub1"]


def test_a_retained_will_keeps_the_client_that_left_it(broker, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text(ACL_WRITE)
    b = broker([f"acl_file {acl}", "check_retain_source true"])
    publish_retained(b, FENCE, b"fence", V5)
    c = b.connect("dies", version=V5, will=mq.Will("secret/will", b"gone", qos=1, retain=True))
    c.close()  # no DISCONNECT: the will is published, retained
    wait_until(lambda: retained_seen(b, "secret/will", V5) == [b"gone"], 10, what="the retained will")
    reload_acl(b, acl, ACL_READ)
    assert retained_seen(b, "secret/will", V5) == []


@pytest.mark.petrel_only("Petrel's durable store (persistence_sync); Mosquitto's own restart "
                         "case is its CVE-2018-12546 test")
def test_the_publisher_and_its_listener_survive_a_restart(broker, tmp_path):
    """per_listener_settings true: the publisher's listener (the second, by port) has the
    ACL, the subscribers' listener has none. After a restart with the ACL changed, the
    message is checked against the right listener's ACL again: were its listener lost, the
    global settings (no ACL) would let it through."""
    acl = tmp_path / "acl"
    acl.write_text(ACL_WRITE)
    open_port = free_port()
    b = DurableFactory(broker)(
        head=["per_listener_settings true", "check_retain_source true"],
        extra=[f"listener {open_port} 127.0.0.1", "allow_anonymous true"],
        listener_lines=["allow_anonymous true", f"acl_file {acl}"])
    b.listeners.append(("127.0.0.1", open_port))  # index 1: the open listener
    publish_retained(b, FENCE, b"fence", V5, index=0)
    publish_retained(b, "secret/a", b"first", V5, index=0, client_id="retain-check")
    assert retained_seen(b, "secret/a", V5, index=1) == [b"first"]

    acl.write_text(ACL_READ)
    b.restart("term")
    assert retained_seen(b, "secret/a", V5, index=1) == []
    assert "Restored 0 sessions and 2 retained messages" in b.log()
    acl.write_text(ACL_WRITE)
    b.restart("kill")
    assert retained_seen(b, "secret/a", V5, index=1) == [b"first"]


@pytest.mark.petrel_only("Petrel trusts what its bridges bring in: their local side has no ACL")
def test_retained_messages_a_bridge_brings_in_are_not_checked(broker, remote, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("topic read site/#\ntopic readwrite fence/#\n")  # nobody may write site/#
    r = remote()
    local = bridging(broker, bridge("up", r, "cmd/# in 1 site/ \"\""),
                     extra=[f"acl_file {acl}", "check_retain_source true"])
    wait_forwarding(r, "cmd/probe", local, "site/cmd/probe", qos=1)
    client(r).publish("cmd/mode", b"auto", qos=1, retain=True)
    publish_retained(local, FENCE, b"fence", V5)
    wait_until(lambda: retained_seen(local, "site/cmd/mode", V5) == [b"auto"], 15,
               what="the bridged retained message")
