"""Admin API over the broker's data: clients and sessions (list, search, one, disconnect),
retained messages (list, read, delete), publishing and the live watch, with the ACL
applied to the admin user. Support: admin_support.py."""
from __future__ import annotations

import base64
import time
import urllib.parse

import pytest

import rawmqtt as mq
from admin_support import admin, wait_until  # noqa: F401

pytestmark = pytest.mark.petrel_only("the admin API is Petrel's")

V1 = "/api/petrel/v1"


def ids(listing) -> list[str]:
    return [c["client_id"] for c in listing["clients"]]


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------
def test_clients_list_search_one(admin):
    a = admin()
    alpha = a.connect("cl-alpha-1", version=mq.V5)
    alpha.subscribe([("cl/a/#", 1), ("cl/b", 0)])
    off = a.connect("cl-alpha-off", version=mq.V5, clean=False, props={"session_expiry_interval": 300})
    off.subscribe([("cl/off/#", 2)])
    off.disconnect()
    beta = a.connect("cl-beta", version=mq.V311)

    def listing(q=""):
        return a.api.ok("GET", f"{V1}/clients{q}")

    wait_until(lambda: set(ids(listing())) == {"cl-alpha-1", "cl-alpha-off", "cl-beta"},
               what="the three clients listed")
    l = listing("?search=alpha")
    assert l["total"] == 2 and ids(l) == ["cl-alpha-1", "cl-alpha-off"], l
    by_id = {c["client_id"]: c for c in l["clients"]}
    assert by_id["cl-alpha-1"]["connected"] is True
    assert by_id["cl-alpha-off"]["connected"] is False
    assert by_id["cl-alpha-off"]["expires_in"] is None or 0 < by_id["cl-alpha-off"]["expires_in"] <= 300
    assert ids(listing("?search=alpha&state=connected")) == ["cl-alpha-1"]
    assert ids(listing("?search=alpha&state=offline")) == ["cl-alpha-off"]
    assert ids(listing("?search=nobody-like-this")) == []
    assert a.api.get(f"{V1}/clients?state=sleeping").status == 400
    # Pages are slices of the whole list sorted by client id; total counts every match.
    pages = [listing(f"?limit=1&offset={i}") for i in range(4)]
    assert [p["total"] for p in pages] == [3, 3, 3, 3], pages
    assert [ids(p) for p in pages] == [["cl-alpha-1"], ["cl-alpha-off"], ["cl-beta"], []]

    one = a.api.ok("GET", f"{V1}/clients/cl-alpha-1")
    assert one["client_id"] == "cl-alpha-1" and one["connected"] is True
    assert one["listener_port"] == a.mqtt_port and one["address"].startswith("127.0.0.1")
    subs = {s["filter"]: s["qos"] for s in one["subscriptions"]}
    assert subs == {"cl/a/#": 1, "cl/b": 0}
    o = a.api.ok("GET", f"{V1}/clients/cl-alpha-off")
    assert o["connected"] is False and [s["filter"] for s in o["subscriptions"]] == ["cl/off/#"]
    r = a.api.get(f"{V1}/clients/cl-gamma")
    assert r.status == 404, r
    odd = a.connect("site/7 dev")
    assert a.api.ok("GET", f"{V1}/clients/site/7%20dev")["client_id"] == "site/7 dev"
    odd.close()
    # The admin's own internal connections are not listed.
    a.api.ok("POST", f"{V1}/publish", {"topic": "cl/a/x", "payload": "hi", "qos": 1})
    assert not any(i.startswith("petrel-admin") for i in ids(listing()))
    assert alpha.recv_publish().payload == b"hi"
    beta.ping()


def test_disconnect_client(admin):
    a = admin()
    v5 = a.connect("dc-v5", version=mq.V5)
    v3 = a.connect("dc-v311", version=mq.V311)
    keep = a.connect("dc-keep", version=mq.V5)
    off = a.connect("dc-off", version=mq.V5, clean=False, props={"session_expiry_interval": 300})
    off.disconnect()

    r = a.api.post(f"{V1}/clients/disconnect", {"client_id": "dc-v5"})
    assert r.status == 200 and r.json()["ok"] is True, r
    v5.expect_closed(reason=0x98, timeout=10)
    r = a.api.post(f"{V1}/clients/disconnect", {"client_id": "dc-v311"})
    assert r.status == 200, r
    v3.expect_closed(timeout=10)
    keep.ping()
    wait_until(lambda: a.api.ok("GET", f"{V1}/clients/dc-v5")["connected"] is False
               if a.api.get(f"{V1}/clients/dc-v5").status == 200 else True, what="dc-v5 gone")

    assert a.api.post(f"{V1}/clients/disconnect", {"client_id": "dc-nobody"}).status == 404
    # Audited when it happened, not when it was only asked for.
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 disconnected client 'dc-v311'")
    assert "disconnected client 'dc-nobody'" not in a.log()
    r = a.api.post(f"{V1}/clients/disconnect", {"client_id": 5})
    assert r.status == 400 and "client_id" in r.field_errors(), r
    # An offline session can be removed.
    assert a.api.get(f"{V1}/clients/dc-off").status == 200
    r = a.api.post(f"{V1}/clients/disconnect", {"client_id": "dc-off", "discard_session": True})
    assert r.status == 200, r
    wait_until(lambda: a.api.get(f"{V1}/clients/dc-off").status == 404, what="the session removed")
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 disconnected client 'dc-v5'")


# --------------------------------------------------------------------------------------
# Retained messages
# --------------------------------------------------------------------------------------
def test_retained_list_get_delete(admin):
    a = admin()
    c = a.connect("ret-pub")
    for topic, payload in (("ret/a/1", b"one"), ("ret/a/2", b"two"), ("ret/b/1", b"three"),
                           ("ret/bin", b"\xff\x00\xfe")):
        c.publish(topic, payload, qos=1, retain=True)
    wait_until(lambda: a.api.ok("GET", f"{V1}/retained?prefix=ret/")["total"] == 4, what="4 retained")
    l = a.api.ok("GET", f"{V1}/retained?prefix=ret/a/")
    assert l["total"] == 2 and l["truncated"] is False
    assert sorted((m["topic"], m["payload"]) for m in l["messages"]) == [("ret/a/1", "one"), ("ret/a/2", "two")]
    limited = a.api.ok("GET", f"{V1}/retained?prefix=ret/&limit=1")
    assert limited["total"] == 4 and len(limited["messages"]) == 1 and limited["truncated"] is True

    one = a.api.ok("GET", f"{V1}/retained/ret/a/1")
    assert one["topic"] == "ret/a/1" and one["payload"] == "one" and one["qos"] == 1 and one["size"] == 3
    binary = a.api.ok("GET", f"{V1}/retained/ret/bin")
    assert "payload" not in binary and base64.b64decode(binary["payload_base64"]) == b"\xff\x00\xfe"

    r = a.api.delete(f"{V1}/retained/ret/a/1")
    assert r.status == 200 and r.json()["ok"] is True, r
    assert a.api.get(f"{V1}/retained/ret/a/1").status == 404
    assert a.api.delete(f"{V1}/retained/ret/a/1").status == 404
    s = a.connect("ret-sub")
    s.subscribe([("ret/a/#", 1)])
    got = s.collect(idle=0.5, total=3)
    assert [p.topic for p in got] == ["ret/a/2"], got
    r = a.api.get(f"{V1}/retained/ret/none")
    assert r.status == 404 and "ret/none" in r.json()["error"]
    assert a.api.get(f"{V1}/retained/ret/{urllib.parse.quote('+', safe='')}/x").status == 400
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 deleted the retained message on 'ret/a/1'")


# --------------------------------------------------------------------------------------
# Publish, watch, ACL
# --------------------------------------------------------------------------------------
def test_publish_reaches_subscribers(admin):
    a = admin()
    s = a.connect("pub-sub")
    s.subscribe([("pub/#", 2)])
    r = a.api.post(f"{V1}/publish", {"topic": "pub/q0", "payload": "zero"})
    assert r.status == 200 and r.json()["ok"] is True, r
    p = s.recv_publish(timeout=10)
    assert (p.topic, p.payload, p.qos, p.retain) == ("pub/q0", b"zero", 0, False)
    r = a.api.post(f"{V1}/publish", {"topic": "pub/q1", "payload": "one", "qos": 1})
    assert r.status == 200 and r.json()["qos"] == 1, r
    p = s.recv_publish(timeout=10)
    assert (p.topic, p.payload, p.qos) == ("pub/q1", b"one", 1)
    r = a.api.post(f"{V1}/publish", {"topic": "pub/bin", "payload_base64": base64.b64encode(b"\x00\x01").decode(),
                                     "qos": 2, "retain": True})
    assert r.status == 200, r
    p = s.recv_publish(timeout=10)
    assert (p.topic, p.payload, p.qos) == ("pub/bin", b"\x00\x01", 2)
    assert a.api.ok("GET", f"{V1}/retained/pub/bin")["payload_base64"] == "AAE="
    # Nobody listening is still a success, said so.
    r = a.api.post(f"{V1}/publish", {"topic": "nobody/here", "payload": "x", "qos": 1})
    assert r.status == 200 and "no subscriber" in r.json()["message"], r
    for body, field in (({"topic": "pub/+", "payload": "x"}, "topic"),
                        ({"topic": "pub/x", "qos": 3}, "qos"),
                        ({"payload": "x"}, "topic"),
                        ({"topic": "pub/x", "payload_base64": "!!"}, "payload_base64"),
                        ({"topic": "pub/x", "colour": "red"}, "colour")):
        r = a.api.post(f"{V1}/publish", body)
        assert r.status == 400 and field in r.field_errors(), (body, r)
    s.expect_nothing(0.3)


def test_watch_delivers_client_messages(admin):
    a = admin()
    with a.api.stream(f"{V1}/watch?filter=" + urllib.parse.quote("w/#")) as st:
        assert st.status == 200
        st.wait(lambda e: e.event == "subscribed", what="the watch subscribed")
        c = a.connect("watch-pub")
        c.publish("w/one", b"hello", qos=1)
        c.publish("w/two", b"\xff\xfe", qos=0)
        ev = st.wait(lambda e: e.event == "message" and e.json()["topic"] == "w/one", what="w/one")
        assert ev.json()["payload"] == "hello"
        ev = st.wait(lambda e: e.event == "message" and e.json()["topic"] == "w/two", what="w/two")
        assert base64.b64decode(ev.json()["payload_base64"]) == b"\xff\xfe"
        watchers = ids(a.api.ok("GET", f"{V1}/clients?internal=true&search=petrel-admin-watch"))
        assert len(watchers) == 1, watchers
    # Closing the stream ends the admin's subscription too.
    wait_until(lambda: not ids(a.api.ok("GET", f"{V1}/clients?internal=true&search=petrel-admin-watch")),
               what="the watch's connection to go")
    assert a.api.get(f"{V1}/watch").status == 400
    assert a.api.get(f"{V1}/watch?filter=" + urllib.parse.quote("a/#/b")).status == 400


@pytest.fixture
def acl_admin(admin, tmp_path):
    acl = tmp_path / "admin.acl"
    # Anonymous clients may do anything; the admin user only `allowed/#`.
    acl.write_text("topic readwrite #\n\nuser admin\ntopic readwrite allowed/#\n")
    return admin(lines=[f"acl_file {acl}"])


def test_publish_and_watch_denied_by_acl(acl_admin):
    a = acl_admin
    s = a.connect("acl-sub")
    s.subscribe([("#", 1)])
    assert a.api.post(f"{V1}/publish", {"topic": "allowed/x", "payload": "ok", "qos": 1}).status == 200
    assert s.recv_publish(timeout=10).topic == "allowed/x"
    # QoS 1 and 2 only: a QoS 0 PUBLISH has no acknowledgement to carry the refusal (the
    # broker drops it silently, as for any client), and the API says "published".
    for qos in (1, 2):
        r = a.api.post(f"{V1}/publish", {"topic": "denied/x", "payload": "no", "qos": qos})
        assert r.status == 403, f"QoS {qos}: {r!r}"
        assert "error" in r.json()
    s.expect_nothing(0.5)
    # The audit line says what happened.
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 published on 'allowed/x' \(QoS 1, 2 bytes\)")
    a.wait_log(r"admin: 'admin' from 127\.0\.0\.1 could not publish on 'denied/x'.*(authori[sz]ed)")
    assert "published on 'denied/x'" not in a.log()

    with a.api.stream(f"{V1}/watch?filter=" + urllib.parse.quote("denied/#")) as st:
        ev = st.wait(lambda e: e.event in ("error", "subscribed"), what="the watch's answer")
        assert ev.event == "error", ev
        assert "refused" in ev.json()["error"] or "authoriz" in ev.json()["error"].lower()
    with a.api.stream(f"{V1}/watch?filter=" + urllib.parse.quote("allowed/#")) as st:
        st.wait(lambda e: e.event == "subscribed", what="the allowed watch")
        c = a.connect("acl-pub")
        c.publish("allowed/y", b"seen", qos=1)
        ev = st.wait(lambda e: e.event == "message", what="allowed/y")
        assert ev.json()["topic"] == "allowed/y"


def test_watch_rate_limit_reports_skipped(admin):
    """More than 50 messages in a second: the rest are counted and reported as `skipped`."""
    a = admin()
    with a.api.stream(f"{V1}/watch?filter=" + urllib.parse.quote("flood/#")) as st:
        st.wait(lambda e: e.event == "subscribed", what="the watch subscribed")
        c = a.connect("flooder")
        for i in range(300):
            c.publish("flood/t", b"%d" % i, qos=0)
        c.ping()
        total_skipped = 0
        messages = 0
        deadline = time.monotonic() + 15
        while messages + total_skipped < 300:
            assert time.monotonic() < deadline, (messages, total_skipped)
            ev = st.next(timeout=max(0.1, deadline - time.monotonic()))
            if ev.event == "message":
                messages += 1
            elif ev.event == "skipped":
                total_skipped += ev.json()["count"]
        assert messages + total_skipped == 300
        assert total_skipped > 0 and messages >= 50, (messages, total_skipped)
