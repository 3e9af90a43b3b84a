"""http_dir: a websockets listener also serves the files of a directory to plain HTTP
requests (GET, HEAD), as Mosquitto does for the page of a browser MQTT client, while MQTT
over WebSockets keeps working on the same port. Python's http.client (and its HTTPS over
the wss listener) is the real peer; paths that a client library would normalise away go
over a raw socket. Nothing outside the directory is served, whatever the path or a link
inside it says; a directory without index.html is not listed; a reload switches to a new
directory; a directory that does not exist stops the start, naming it.

Debian's Mosquitto 2.0.11 cannot open a websockets listener on these machines (see
test_ws_websockets.py), so these run against Petrel only."""
from __future__ import annotations

import hashlib
import http.client
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from helpers import wait_until
from test_tls_support import client_context, pki, tbroker, tls_listener  # noqa: F401
from test_ws_websockets import CONNACK_OK, WsClient, connect_packet, ws_frame

pytestmark = pytest.mark.petrel_only("Mosquitto 2.0.11 cannot open a websockets listener on this machine")

INDEX = b"<!doctype html><title>plant</title><h1>Line 1</h1>\n"


def make_site(root: Path) -> Path:
    www = root / "www"
    (www / "js").mkdir(parents=True)
    (www / "empty").mkdir()
    (www / "index.html").write_bytes(INDEX)
    (www / "js" / "app.js").write_bytes(b"console.log('mqtt');\n")
    (www / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (root / "secret.txt").write_bytes(b"not for the web\n")
    (www / "leak.txt").symlink_to(root / "secret.txt")
    return www


def http_get(port: int, path: str, method: str = "GET", ctx=None) -> tuple[int, dict, bytes]:
    conn = (http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10) if ctx
            else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw_get(port: int, target: str) -> bytes:
    """The reply to a request line sent as written (no client-side normalisation)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: router\r\n\r\n".encode())
        out = b""
        while chunk := s.recv(65536):  # the server ends its side after the reply
            out += chunk
        return out
    finally:
        s.close()


def mqtt_over_ws_works(port: int, ctx=None) -> None:
    c = WsClient(port, ctx=ctx)
    c.send(ws_frame(2, connect_packet("beside-http")))
    assert c.read_mqtt(4) == CONNACK_OK
    c.close()


def serving(broker, www: Path, extra=()):
    return broker(list(extra), listener_extra=["protocol websockets", f"http_dir {www}"])


def test_files_are_served_beside_mqtt_over_websockets(broker, tmp_path):
    www = make_site(tmp_path)
    b = serving(broker, www)
    status, headers, body = http_get(b.port, "/")
    assert (status, body) == (200, INDEX)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-length"] == str(len(INDEX))
    assert headers["connection"] == "close"
    status, headers, body = http_get(b.port, "/js/app.js?v=2")
    assert (status, body) == (200, b"console.log('mqtt');\n")
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    # A file far larger than a socket's buffer arrives whole (it is sent as the socket drains).
    status, headers, body = http_get(b.port, "/big.bin")
    assert status == 200
    assert hashlib.sha256(body).digest() == hashlib.sha256((www / "big.bin").read_bytes()).digest()
    status, headers, body = http_get(b.port, "/big.bin", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str((www / "big.bin").stat().st_size)
    mqtt_over_ws_works(b.port)
    wait_until(lambda: "HTTP GET / 200 (" in b.log(), 10, what="the served request in the log")


def test_refusals(broker, tmp_path):
    www = make_site(tmp_path)
    b = serving(broker, www)
    assert http_get(b.port, "/nope.html")[0] == 404
    assert http_get(b.port, "/empty/")[0] == 404          # no index.html: no listing either
    status, headers, _ = http_get(b.port, "/js")          # a directory without its '/'
    assert (status, headers["location"]) == (301, "/js/")
    status, headers, _ = http_get(b.port, "/", method="POST")
    assert (status, headers["allow"]) == (405, "GET, HEAD")
    for target in ["/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/leak.txt"]:
        reply = raw_get(b.port, target)
        assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n"), (target, reply[:200])
        assert b"not for the web" not in reply
    assert raw_get(b.port, "/..%2fsecret.txt").startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # MQTT bytes instead of HTTP still get the refusal they always got, and the listener goes on.
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    s.sendall(connect_packet("not-http"))
    assert s.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")
    s.close()
    mqtt_over_ws_works(b.port)
    assert b.proc.poll() is None


def test_https_on_a_wss_listener(broker, pki, tmp_path):  # noqa: F811
    www = make_site(tmp_path)
    b = broker([], listener_extra=["protocol websockets", f"http_dir {www}"] + tls_listener(pki))
    ctx = client_context(pki)
    status, _, body = http_get(b.port, "/", ctx=ctx)
    assert (status, body) == (200, INDEX)
    status, _, body = http_get(b.port, "/big.bin", ctx=ctx)
    assert status == 200 and body == (www / "big.bin").read_bytes()
    mqtt_over_ws_works(b.port, ctx=ctx)


def test_a_reload_switches_the_directory(broker, tmp_path):
    www = make_site(tmp_path)
    other = tmp_path / "v2"
    other.mkdir()
    (other / "index.html").write_bytes(b"<h1>version 2</h1>\n")
    b = serving(broker, www)
    assert http_get(b.port, "/")[2] == INDEX
    text = b.conf_path.read_text().replace(f"http_dir {www}", f"http_dir {other}")
    b.conf_path.write_text(text)
    before = b.log().count("Configuration change from")
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: b.log().count("Configuration change from") > before, 10, what="the reload")
    wait_until(lambda: http_get(b.port, "/")[2] == b"<h1>version 2</h1>\n", 10, what="the new directory served")
    mqtt_over_ws_works(b.port)


def test_a_missing_directory_stops_the_start_and_is_named(broker_bin, tmp_path):
    from conftest import free_port, keep_root
    conf = tmp_path / "p.conf"
    missing = tmp_path / "no-such-dir"
    conf.write_text(keep_root(f"listener {free_port()} 127.0.0.1\nprotocol websockets\nhttp_dir {missing}\n"
                              "allow_anonymous true\n"))
    r = subprocess.run([broker_bin, "-c", str(conf), "--test-config"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0, r.stdout + r.stderr
    assert f"http_dir {missing}: No such file or directory" in r.stdout + r.stderr, r.stdout + r.stderr


def test_on_an_mqtt_listener_it_is_named_as_having_no_effect(broker_bin, tmp_path):
    from conftest import free_port, keep_root
    conf = tmp_path / "p.conf"
    conf.write_text(keep_root(f"listener {free_port()} 127.0.0.1\nhttp_dir {tmp_path}\nallow_anonymous true\n"))
    r = subprocess.run([broker_bin, "-c", str(conf), "--test-config"], capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert f"{conf}:2: option 'http_dir': has no effect: this listener's protocol is not websockets" in out, out
