"""Admin API: who may use it (Basic, Bearer, session cookie + CSRF, the login rate
limit), the configuration rules for http_api listeners (--test-config), and the embedded
default's generated admin password. Support: admin_support.py."""
from __future__ import annotations

import fcntl
import http.client
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

import rawmqtt as mq
from admin_support import (ADMIN_PASSWORD, ADMIN_USER, Api, admin, make_password_file, passwd_tool,  # noqa: F401
                           run, sighup, wait_until)
from conftest import free_port, listening, wait_port
from test_tls_support import pki  # noqa: F401

pytestmark = pytest.mark.petrel_only("the admin API is Petrel's")

V1 = "/api/petrel/v1"

# Every route but the public login, with a body that would be valid enough to act on.
ROUTES = [
    ("GET", "/api/v1/version", None),
    ("GET", "/api/v1/systree", None),
    ("GET", "/api/v1/listeners", None),
    ("GET", "/metrics", None),
    ("GET", f"{V1}/status", None),
    ("GET", f"{V1}/status/history", None),
    ("GET", f"{V1}/status/stream", None),
    ("GET", f"{V1}/broker", None),
    ("PUT", f"{V1}/broker", {"log_level": "information"}),
    ("POST", f"{V1}/check-pem", {"certificate": "x"}),
    ("GET", f"{V1}/psk/generate", None),
    ("GET", f"{V1}/bridges", None),
    ("POST", f"{V1}/bridges", {"name": "b1", "primary": {"host": "127.0.0.1", "port": 1}, "topics": [{"topic": "a/#"}]}),
    ("GET", f"{V1}/bridges/b1", None),
    ("PUT", f"{V1}/bridges/b1", {"keepalive": 30}),
    ("DELETE", f"{V1}/bridges/b1", None),
    ("POST", f"{V1}/bridges/b1/enable", None),
    ("POST", f"{V1}/bridges/b1/disable", None),
    ("POST", f"{V1}/bridge-preview", {"rule": {"topic": "a/#"}, "topic": "a/b"}),
    ("GET", f"{V1}/clients", None),
    ("GET", f"{V1}/clients/someone", None),
    ("POST", f"{V1}/clients/disconnect", {"client_id": "someone"}),
    ("GET", f"{V1}/retained", None),
    ("GET", f"{V1}/retained/a/b", None),
    ("DELETE", f"{V1}/retained/a/b", None),
    ("GET", f"{V1}/log", None),
    ("GET", f"{V1}/log/stream", None),
    ("POST", f"{V1}/publish", {"topic": "a/b", "payload": "x"}),
    ("GET", f"{V1}/watch?filter=a/%23", None),
    ("GET", f"{V1}/session", None),
    ("POST", f"{V1}/logout", None),
]


def test_every_endpoint_needs_credentials(admin):
    a = admin()
    before = a.conf_bytes()
    for method, path, body in ROUTES:
        r = a.anon.request(method, path, body)
        assert r.status == 401, f"{method} {path} without credentials: {r!r}"
        assert r.header("WWW-Authenticate") == 'Basic realm="Petrel"', (method, path, r.headers)
        assert "error" in r.json()
        # The admin page's own calls get no WWW-Authenticate (no browser login dialog).
        r = a.anon.request(method, path, body, headers={"X-Requested-With": "petrel-ui"})
        assert r.status == 401 and r.header("WWW-Authenticate") is None, (method, path, r.headers)
        # A made-up token or session cookie is no better.
        for auth in (("bearer", "bm90LWEtdG9rZW4"), ("cookie", "bm90LWEtdG9rZW4", "x")):
            r = a.anon.with_auth(auth).request(method, path, body)
            assert r.status == 401, f"{method} {path} with {auth[0]} nonsense: {r!r}"
    assert a.conf_bytes() == before
    # None of that counted as a failed login: the right password still works at once.
    assert a.basic.get(f"{V1}/status").status == 200


def test_basic_bearer_and_wrong_password(admin):
    a = admin()
    assert a.basic.get(f"{V1}/status").status == 200
    s = a.basic.get(f"{V1}/session").json()
    assert s == {"username": ADMIN_USER, "csrf_token": None, "via": "basic"}

    wrong = a.anon.with_auth(("basic", ADMIN_USER, ADMIN_PASSWORD + "x"))
    r = wrong.get(f"{V1}/status")
    assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="Petrel"'
    r = a.anon.with_auth(("basic", "nobody", ADMIN_PASSWORD)).get(f"{V1}/status")
    assert r.status == 401

    r = a.anon.post(f"{V1}/login", {"username": ADMIN_USER, "password": "wrong"})
    assert r.status == 401, r
    assert "token" not in r.json()
    # The login route wants JSON (a cross-site form cannot send it without a preflight).
    r = a.anon.post(f"{V1}/login", raw=f"username={ADMIN_USER}&password={ADMIN_PASSWORD}".encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415, r

    login = a.anon.login()
    assert set(login) == {"username", "csrf_token", "token", "expires_in"}
    bearer = a.anon.with_auth(("bearer", login["token"]))
    assert bearer.get(f"{V1}/status").status == 200
    s = bearer.get(f"{V1}/session").json()
    assert s == {"username": ADMIN_USER, "csrf_token": login["csrf_token"], "via": "bearer"}
    # Bearer needs no CSRF token for a change.
    assert bearer.post(f"{V1}/publish", {"topic": "auth/t", "payload": "x"}).status == 200
    # After logout the token is dead.
    assert bearer.post(f"{V1}/logout").status == 200
    assert bearer.get(f"{V1}/status").status == 401
    # The failures above were audited, without the passwords.
    a.wait_log(r"failed login for 'admin' from 127\.0\.0\.1 \(basic auth\)")
    a.wait_log(r"failed login for 'nobody' from 127\.0\.0\.1")
    assert ADMIN_PASSWORD not in a.log()


def test_cookie_session_needs_csrf_for_changes(admin):
    a = admin()
    r = a.anon.post(f"{V1}/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200
    login = r.json()
    cookie = r.header("Set-Cookie")
    assert cookie.startswith(f"petrel_session={login['token']};"), cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    c = a.anon.with_auth(("cookie", login["token"], login["csrf_token"]))
    assert c.get(f"{V1}/session").json() == {"username": ADMIN_USER, "csrf_token": login["csrf_token"],
                                             "via": "cookie"}
    # Reads need no token.
    assert c.get(f"{V1}/status", csrf=False).status == 200
    assert c.get(f"{V1}/broker", csrf=False).status == 200

    # Something for the DELETE to delete.
    assert a.api.post(f"{V1}/publish", {"topic": "csrf/r", "payload": "x", "retain": True}).status == 200
    wait_until(lambda: a.api.get(f"{V1}/retained/csrf/r").status == 200, what="the retained message")

    changes = [
        ("PUT", f"{V1}/broker", {"log_level": "debug"}),
        ("POST", f"{V1}/publish", {"topic": "csrf/t", "payload": "x"}),
        ("DELETE", f"{V1}/retained/csrf/r", None),
        ("POST", f"{V1}/bridges", {"name": "csrfb", "primary": {"host": "127.0.0.1", "port": free_port()},
                                   "topics": [{"topic": "x/#"}]}),
        ("POST", f"{V1}/bridges/csrfb/disable", None),
        ("POST", f"{V1}/bridges/csrfb/enable", None),
        ("PUT", f"{V1}/bridges/csrfb", {"keepalive": 30}),
        ("DELETE", f"{V1}/bridges/csrfb", None),
        ("POST", f"{V1}/clients/disconnect", {"client_id": "csrf-client"}),
    ]
    victim = a.connect("csrf-client")
    for method, path, body in changes:
        conf = a.conf_bytes()
        r = c.request(method, path, body, csrf=False)
        assert r.status == 403, f"{method} {path} by cookie without the CSRF token: {r!r}"
        assert "CSRF" in r.json()["error"]
        wrong = login["csrf_token"][:-1] + ("A" if login["csrf_token"][-1] != "A" else "B")
        r = c.request(method, path, body, headers={"X-CSRF-Token": wrong}, csrf=False)
        assert r.status == 403, f"{method} {path} with a wrong CSRF token: {r!r}"
        assert a.conf_bytes() == conf, f"{method} {path} changed the file although refused"
        r = c.request(method, path, body)
        assert r.status == 200, f"{method} {path} by cookie with the CSRF token: {r!r}"
    victim.expect_closed(timeout=10)
    assert a.api.get(f"{V1}/retained/csrf/r").status == 404
    # The read-only POSTs (checks, previews) need no token.
    r = c.post(f"{V1}/bridge-preview", {"rule": {"topic": "a/#"}, "topic": "a/b"}, csrf=False)
    assert r.status == 200, r
    # Logging out is a change too; then the cookie is dead.
    assert c.post(f"{V1}/logout", csrf=False).status == 403
    r = c.post(f"{V1}/logout")
    assert r.status == 200 and "Max-Age=0" in r.header("Set-Cookie")
    assert c.get(f"{V1}/status").status == 401


def test_login_rate_limit(admin):
    """A fresh broker: the failures are counted per address, and this test makes many."""
    a = admin()
    statuses = []
    r = None
    for _ in range(10):
        r = a.anon.post(f"{V1}/login", {"username": ADMIN_USER, "password": "guess"})
        statuses.append(r.status)
        if r.status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401} and 3 <= len(statuses) - 1 <= 6, statuses
    retry = r.header("Retry-After")
    assert retry is not None and retry.isdigit() and 0 < int(retry) <= 900, r.headers
    # Locked: even the right password is not checked, by the login route or as Basic.
    r = a.anon.post(f"{V1}/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 429 and r.header("Retry-After"), r
    r = a.basic.get(f"{V1}/status")
    assert r.status == 429 and r.header("Retry-After"), r
    # A session made before the lock keeps working (it is not a password check).
    assert a.api.get(f"{V1}/status").status == 200
    a.wait_log(r"too many failed logins from 127\.0\.0\.1: locked for \d+ s")
    assert "guess" not in a.log()


def test_admin_over_tls(admin, pki):
    ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
    a = admin(http_lines=[f"certfile {pki.path('server.crt')}", f"keyfile {pki.path('server.key')}"], ssl_context=ctx)
    r = a.anon.post(f"{V1}/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200
    assert "; Secure" in r.header("Set-Cookie"), r.header("Set-Cookie")
    assert a.basic.get(f"{V1}/status").status == 200
    entry = [e for e in a.basic.get("/api/v1/listeners").json()["listeners"] if e["port"] == a.http_port][0]
    assert entry["protocol"] == "httpapi" and entry["tls"] is True
    with a.api.stream(f"{V1}/status/stream") as st:
        st.wait(lambda e: e.event == "status", what="a status event over TLS")
    # Plain HTTP to the TLS port gets no answer.
    plain = Api(a.http_host, a.http_port, ("basic", ADMIN_USER, ADMIN_PASSWORD), timeout=5)
    try:
        r = plain.get(f"{V1}/status")
    except (OSError, http.client.HTTPException):
        pass
    else:
        assert r.status != 200, r


def test_sessions_end_when_the_user_goes(admin):
    """SIGHUP reloads the admin password file: a removed user's sessions end, and so do
    those of a user whose password changed; the others stay."""
    a = admin(users={ADMIN_USER: ADMIN_PASSWORD, "bob": "Bob-pw-1", "carol": "Carol-pw-1"})
    bob = a.anon.bearer("bob", "Bob-pw-1")
    carol = a.anon.bearer("carol", "Carol-pw-1")
    assert bob.get(f"{V1}/status").status == 200 and carol.get(f"{V1}/status").status == 200
    tool = passwd_tool(a.b.binary)
    assert run(tool + ["-D", str(a.password_file), "bob"]).returncode == 0
    assert run(tool + ["-b", str(a.password_file), "carol", "Carol-pw-2"]).returncode == 0
    assert "admin:" in a.password_file.read_text() and "bob:" not in a.password_file.read_text()
    sighup(a)
    wait_until(lambda: bob.get(f"{V1}/status").status == 401, what="bob's session to end")
    wait_until(lambda: carol.get(f"{V1}/status").status == 401, what="carol's session to end")
    assert a.api.get(f"{V1}/status").status == 200
    assert a.anon.with_auth(("basic", "bob", "Bob-pw-1")).get(f"{V1}/status").status == 401
    assert a.anon.with_auth(("basic", "carol", "Carol-pw-2")).get(f"{V1}/status").status == 200


# --------------------------------------------------------------------------------------
# Configuration rules
# --------------------------------------------------------------------------------------
def test_config_http_api_needs_password_file(broker_bin, tmp_path):
    port, http = free_port(), free_port()
    conf = tmp_path / "p.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n\nlistener {http} 127.0.0.1\nprotocol http_api\n")
    r = run([broker_bin, "--test-config", "-c", str(conf)])
    assert r.returncode != 0, r.stdout
    out = r.stdout + r.stderr
    assert re.search(rf"{re.escape(str(conf))}:4: .*http_api_password_file", out), out

    pw = make_password_file(broker_bin, tmp_path / "admin.passwd", {ADMIN_USER: ADMIN_PASSWORD})
    conf.write_text(f"http_api_password_file {pw}\n" + conf.read_text())
    r = run([broker_bin, "--test-config", "-c", str(conf)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_config_http_api_on_all_addresses_needs_tls_or_insecure(broker_bin, tmp_path):
    pw = make_password_file(broker_bin, tmp_path / "admin.passwd", {ADMIN_USER: ADMIN_PASSWORD})
    http = free_port()
    conf = tmp_path / "p.conf"
    base = f"http_api_password_file {pw}\nlistener {free_port()} 127.0.0.1\n"
    for addr in ("0.0.0.0", ""):
        conf.write_text(base + f"listener {http} {addr}\nprotocol http_api\n")
        r = run([broker_bin, "--test-config", "-c", str(conf)])
        out = r.stdout + r.stderr
        assert r.returncode != 0, out
        assert re.search(rf"{re.escape(str(conf))}:3: .*http_api listener {http}.*plain HTTP.*http_api_insecure", out), out
        # Starting it for real refuses too.
        r = run([broker_bin, "-c", str(conf)], timeout=15)
        assert r.returncode != 0 and f"{conf}:3:" in r.stdout + r.stderr, r.stdout + r.stderr
    conf.write_text(base + "http_api_insecure true\n" + f"listener {http} 0.0.0.0\nprotocol http_api\n")
    r = run([broker_bin, "--test-config", "-c", str(conf)])
    assert r.returncode == 0, r.stdout + r.stderr
    # Loopback needs neither.
    conf.write_text(base + f"listener {http} 127.0.0.1\nprotocol http_api\n")
    assert run([broker_bin, "--test-config", "-c", str(conf)]).returncode == 0


# --------------------------------------------------------------------------------------
# The embedded default (no -c): a generated admin password, the admin on 127.0.0.1:8080
# --------------------------------------------------------------------------------------
ADMIN_PORT = 8080
PASSWORD_LINE = re.compile(r"Web admin: http://127\.0\.0\.1:8080/ user 'admin', password '([^']+)'")


def port_free(port: int) -> bool:
    if listening(port):
        return False
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_owner_is(pid: int, port: int) -> bool:
    from bridge_support import listening_sockets
    try:
        return port in listening_sockets(pid)
    except OSError:
        return False


@pytest.fixture
def port_8080_lock():
    """Tests that start the embedded default take 8080: one at a time (xdist workers and
    concurrent runs of this suite)."""
    with open("/tmp/petrel-tests-admin-8080.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
        fcntl.flock(f, fcntl.LOCK_UN)


class Proc:
    def __init__(self, binary, port, env, cwd: Path, name: str):
        self.log_path = cwd / f"{name}.log"
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen([binary, "-p", str(port)], stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, rx: re.Pattern, timeout: float = 10.0) -> re.Match:
        return wait_until(lambda: rx.search(self.log()), timeout, what=f"{rx.pattern} in the log")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def test_embedded_default_generates_admin_password(broker_bin, tmp_path, port_8080_lock):
    state = tmp_path / "state"
    env = {**os.environ, "PETREL_STATE_DIR": str(state), "HOME": str(tmp_path)}
    mqtt_port = free_port()
    free_before = port_free(ADMIN_PORT)
    p = Proc(broker_bin, mqtt_port, env, tmp_path, "default")
    try:
        assert wait_port("127.0.0.1", mqtt_port, 10, p.proc), p.log()
        c = mq.Client(mqtt_port, version=mq.V311)
        c.connect("embedded-default")
        c.close()
        pwfile = state / "admin.passwd"
        m = p.wait_log(PASSWORD_LINE)
        password = m.group(1)
        assert pwfile.is_file()
        assert stat.S_IMODE(pwfile.stat().st_mode) == 0o600
        assert password not in pwfile.read_text()  # only its hash
        assert p.log().count(password) == 1
        if free_before:
            wait_until(lambda: port_owner_is(p.proc.pid, ADMIN_PORT) or "Web admin not started" in p.log(),
                       what="the admin listener on 8080 (or its error)")
            if not port_owner_is(p.proc.pid, ADMIN_PORT):
                # Another process took 8080 between the check and petrel's bind: the busy case.
                assert not port_free(ADMIN_PORT), p.log()
                free_before = False
        if free_before:
            api = Api("127.0.0.1", ADMIN_PORT, ("basic", "admin", password))
            r = api.get(f"{V1}/status")
            assert r.status == 200, r
            assert r.json()["service"]["config_file"] == ""
            assert api.with_auth(("basic", "admin", password + "x")).get(f"{V1}/status").status == 401
        else:
            line = p.wait_log(re.compile(r"^.*Web admin not started: .*$", re.M)).group(0)
            assert "8080" in line and "in use" in line.lower(), line
            assert p.proc.poll() is None, "the broker must run without its admin"
    finally:
        p.stop()


def test_embedded_default_saves_its_configuration_in_the_state_dir(broker_bin, tmp_path, port_8080_lock):
    if not port_free(ADMIN_PORT):
        pytest.skip("port 8080 is in use on this machine: the embedded default's admin cannot start")
    state = tmp_path / "state"
    env = {**os.environ, "PETREL_STATE_DIR": str(state), "HOME": str(tmp_path)}
    mqtt_port = free_port()
    p = Proc(broker_bin, mqtt_port, env, tmp_path, "first")
    try:
        password = p.wait_log(PASSWORD_LINE).group(1)
        if not wait_until(lambda: port_owner_is(p.proc.pid, ADMIN_PORT) or "Web admin not started" in p.log(),
                          what="the admin listener") or not port_owner_is(p.proc.pid, ADMIN_PORT):
            pytest.skip("another process took port 8080 first")
        api = Api("127.0.0.1", ADMIN_PORT, ("basic", "admin", password))
        assert not (state / "petrel.conf").exists()
        r = api.put(f"{V1}/broker", {"log_level": "debug"})
        assert r.status == 200, r
        assert r.json()["config_file"] == str(state / "petrel.conf")
        text = (state / "petrel.conf").read_text()
        assert re.search(r"^log_level debug$", text, re.M), text
        assert api.get(f"{V1}/status").json()["service"]["config_file"] == str(state / "petrel.conf")
    finally:
        p.stop()
    p2 = Proc(broker_bin, mqtt_port, env, tmp_path, "second")
    try:
        assert wait_port("127.0.0.1", mqtt_port, 10, p2.proc), p2.log()
        p2.wait_log(re.compile(rf"Config loaded from {re.escape(str(state))}/petrel\.conf \(saved by the web admin"))
        wait_until(lambda: port_owner_is(p2.proc.pid, ADMIN_PORT), what="the admin listener after the restart")
        assert password not in p2.log(), "the password is shown only once, when it is generated"
        api = Api("127.0.0.1", ADMIN_PORT, ("basic", "admin", password))
        b = api.get(f"{V1}/broker")
        assert b.status == 200 and b.json()["log_level"] == "debug", b
    finally:
        p2.stop()


def test_start_without_c_uses_the_saved_configuration(broker_bin, tmp_path):
    """Without -c, STATE_DIR/petrel.conf (what the admin writes for the embedded default)
    is the configuration; the admin changes it in place. Port 8080 is not needed."""
    state = tmp_path / "state"
    state.mkdir()
    pw = make_password_file(broker_bin, state / "admin.passwd", {ADMIN_USER: ADMIN_PASSWORD})
    http = free_port()
    saved = state / "petrel.conf"
    saved.write_text(f"allow_anonymous true\nhttp_api_password_file {pw}\nlistener {http} 127.0.0.1\nprotocol http_api\n")
    env = {**os.environ, "PETREL_STATE_DIR": str(state), "HOME": str(tmp_path)}
    mqtt_port = free_port()
    p = Proc(broker_bin, mqtt_port, env, tmp_path, "saved")
    try:
        assert wait_port("127.0.0.1", mqtt_port, 10, p.proc) and wait_port("127.0.0.1", http, 10, p.proc), p.log()
        p.wait_log(re.compile(rf"Config loaded from {re.escape(str(saved))} \(saved by the web admin"))
        api = Api("127.0.0.1", http, ("basic", ADMIN_USER, ADMIN_PASSWORD))
        assert api.get(f"{V1}/status").json()["service"]["config_file"] == str(saved)
        r = api.put(f"{V1}/broker", {"log_level": "debug"})
        assert r.status == 200 and r.json()["config_file"] == str(saved), r
        assert re.search(r"^log_level debug$", saved.read_text(), re.M)
        assert "Web admin: http" not in p.log()  # no password generated: the file names one
    finally:
        p.stop()
