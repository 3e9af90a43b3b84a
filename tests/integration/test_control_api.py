"""enable_control_api: Mosquitto 2.1's $CONTROL/broker/v1 (listListeners, listPlugins) with
its reply shapes and error texts (taken from Mosquitto's own test of it), answered on
$CONTROL/broker/v1/response; the request is consumed, not routed; the ACL decides who may
ask and who reads the answers; off (the default) the topic is an ordinary one.

Debian's Mosquitto is 2.0.11, which has no control API, so these run against Petrel only."""
from __future__ import annotations

import json
from importlib import import_module

import pytest

import rawmqtt as mq
from helpers import V311, V5, wait_until

pytestmark = pytest.mark.petrel_only("Mosquitto 2.1's control API; Debian 12 has Mosquitto 2.0.11")

_auth = import_module("15-auth")
make_passwords = _auth.make_passwords

REQUEST = "$CONTROL/broker/v1"
RESPONSE = "$CONTROL/broker/v1/response"


def ask(c: mq.Client, payload) -> dict:
    c.publish(REQUEST, payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos=1)
    p = c.recv_publish(timeout=10)
    assert p.topic == RESPONSE, p
    return json.loads(p.payload)


def test_list_listeners_and_plugins(broker):
    b = broker(["enable_control_api true"], hosts=["127.0.0.1", "127.0.0.1"],
               listener_extra={1: ["protocol websockets"]})
    c = b.connect("ctrl", version=V5)
    c.subscribe([(RESPONSE, 0)])
    got = ask(c, {"commands": [{"command": "listListeners", "correlationData": "abc"}]})
    assert got == {"responses": [{"command": "listListeners", "correlationData": "abc", "data": {"listeners": [
        {"port": b.listeners[0][1], "protocol": "mqtt", "bind-address": "127.0.0.1", "tls": False},
        {"port": b.listeners[1][1], "protocol": "mqtt+websockets", "bind-address": "127.0.0.1", "tls": False},
    ]}}]}, got
    got = ask(c, {"commands": [{"command": "listPlugins"}, {"command": "listlisteners"}]})
    assert got["responses"][0] == {"command": "listPlugins", "data": {"plugins": []}}
    assert got["responses"][1]["command"] == "listListeners"  # command names ignore case
    wait_until(lambda: "Broker: ctrl/ | listPlugins" in b.log(), 10, what="the command in the log")


@pytest.mark.parametrize("payload,command,error", [
    ("not valid json", "Unknown command", "Payload not valid JSON"),
    ("{}", "Unknown command", "Invalid/missing commands"),
    ('{"commands":["command"]}', "Unknown command", "Command not an object"),
    ('{"commands":[{}]}', "Unknown command", "Missing command"),
    ('{"commands":[{"command":"unknown command"}]}', "unknown command", "Unknown command"),
    ('{"commands":[{"command":"listListeners","correlationData":true}]}', "listListeners",
     "Invalid correlationData data type."),
])
def test_bad_requests_get_mosquittos_errors(broker, payload, command, error):
    b = broker(["enable_control_api true"])
    c = b.connect("ctrl", version=V311)
    c.subscribe([(RESPONSE, 0)])
    assert ask(c, payload) == {"responses": [{"command": command, "error": error}]}
    assert b.proc.poll() is None


def test_the_request_is_consumed_and_the_acl_decides(broker, request, tmp_path):
    pw = make_passwords(request, tmp_path, {"admin": "a", "viewer": "v"})
    acl = tmp_path / "acl"
    acl.write_text("user admin\ntopic readwrite $CONTROL/broker/#\n"
                   "user viewer\ntopic read $CONTROL/broker/#\n")
    b = broker([f"password_file {pw}", f"acl_file {acl}", "enable_control_api true"], anonymous=False)
    viewer = b.connect("viewer", version=V5, username="viewer", password=b"v")
    viewer.subscribe([("$CONTROL/broker/#", 0)])
    admin = b.connect("admin", version=V5, username="admin", password=b"a")
    admin.subscribe([(RESPONSE, 0)])
    got = ask(admin, {"commands": [{"command": "listPlugins"}]})
    assert got["responses"][0]["command"] == "listPlugins"
    # The viewer reads the answer, never the request (it is not routed).
    p = viewer.recv_publish(timeout=10)
    assert p.topic == RESPONSE and json.loads(p.payload) == got
    # ...and may not ask: PUBACK 0x87, no answer for anyone.
    ack = viewer.publish(REQUEST, json.dumps({"commands": [{"command": "listPlugins"}]}), qos=1)
    assert ack.rc == mq.RC_NOT_AUTHORIZED
    admin.ping()
    admin.expect_nothing(0.3)
    viewer.expect_nothing(0.3)


def test_off_by_default_the_topic_is_an_ordinary_one(broker):
    b = broker()
    c = b.connect("plain", version=V5)
    c.subscribe([("$CONTROL/#", 0)])
    c.publish(REQUEST, b'{"commands":[{"command":"listPlugins"}]}', qos=1)
    p = c.recv_publish(timeout=10)
    assert p.topic == REQUEST  # routed like any message; nobody answers
    c.expect_nothing(0.3)
