"""mosquitto.conf options Mosquitto 2.1 added (Debian 12's Mosquitto is 2.0.11, so these run
against Petrel only): accept_protocol_versions, listener_allow_anonymous,
listener_auto_id_prefix, clientid_prefixes, global_max_connections, global_max_clients,
bind_interface. Each is checked on the wire with raw packets, and a bad value names
file:line."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest

import rawmqtt as mq
from conftest import KEEP_ROOT, free_port
from helpers import V31, V311, V5, persistent, sync, wait_until

pytestmark = pytest.mark.petrel_only("Mosquitto 2.1 options; Debian 12's Mosquitto is 2.0.11")

RUN_TIMEOUT = 10


def refused_with(b, version, client_id, rc, index=0, **kw):
    """CONNECT on listener `index`; the CONNACK carries `rc` and the connection closes."""
    c = b.client(version, index=index)
    c.connect(client_id, expect_rc=rc, **kw)
    c.expect_closed()


def socket_refused(b, index=0) -> bool:
    """True when a new TCP connection on listener `index` is closed before its CONNACK."""
    host, port = b.listeners[index]
    try:
        c = mq.Client(port, host=host, version=V311, timeout=3)
    except OSError:
        return True
    try:
        c.send(mq.connect("probe", version=V311))
        c.recv(3)
    except (mq.ConnectionClosed, OSError):
        return True
    finally:
        c.close()
    return False


def test_accept_protocol_versions_refuses_other_versions(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"],
               listener_extra={0: ["accept_protocol_versions 4,5"], 1: ["accept_protocol_versions 5"]})
    refused_with(b, V31, "old", 0x01, index=0)
    b.connect("mid", version=V311, index=0).ping()
    b.connect("new", version=V5, index=0).ping()
    refused_with(b, V311, "mid-on-1", 0x01, index=1)
    b.connect("new-on-1", version=V5, index=1).ping()


def test_accept_protocol_versions_v5_refusal_is_0x84(broker):
    b = broker(listener_extra=["accept_protocol_versions 3,4"])
    c = b.client(V5)
    ack = c.connect("v5", expect_rc=0x84)
    assert "accept_protocol_versions" in ack.props.get("reason_string", ""), ack
    c.expect_closed()


def test_listener_allow_anonymous_and_auto_id_prefix(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"], anonymous=False, extra=["auto_id_prefix global-"],
               listener_extra={0: ["listener_allow_anonymous true", "listener_auto_id_prefix zero-"]})
    ack = b.connect("", version=V5, index=0).connack
    assert ack.props["assigned_client_identifier"].startswith("zero-"), ack
    refused_with(b, V311, "anon", 0x05, index=1)
    refused_with(b, V5, "anon5", 0x87, index=1)


def test_clientid_prefixes(broker):
    b = broker(extra=["clientid_prefixes plant-"])
    b.connect("plant-press-7", version=V311).ping()
    refused_with(b, V311, "office-pc", 0x05)
    refused_with(b, V5, "office-pc", 0x87)


def test_global_max_connections_counts_every_listener(broker):
    b = broker(hosts=["127.0.0.1", "127.0.0.1"], extra=["global_max_connections 2"])
    one = b.connect("one", version=V311, index=0)
    two = b.connect("two", version=V311, index=1)
    assert socket_refused(b, 0) and socket_refused(b, 1)
    one.disconnect()
    # the freed slot is reused once the broker has seen the close
    wait_until(lambda: not socket_refused(b, 1), what="a free connection slot")
    two.ping()


def test_global_max_clients_counts_kept_sessions(broker):
    b = broker(extra=["global_max_clients 2"])
    kept = b.connect("kept", version=V5, **persistent(V5))
    kept.disconnect()
    live = b.connect("live", version=V311)
    refused_with(b, V5, "third", 0x89)
    refused_with(b, V311, "third3", 0x03)
    # resuming the kept session is not a new one
    again = b.connect("kept", version=V5, **persistent(V5))
    assert again.connack.session_present
    sync(live)


def test_global_max_clients_is_reloaded(broker):
    b = broker(extra=["global_max_clients 1"])
    first = b.connect("first", version=V311)  # kept open: its session counts
    refused_with(b, V311, "second", 0x03)
    b.conf_path.write_text(b.conf_path.read_text().replace("global_max_clients 1", "global_max_clients 2"))
    b.signal(signal.SIGHUP)

    def fits():
        c = b.client(V311)
        c.connect("second", expect_rc=None)
        ack = c.expect(mq.CONNACK)
        c.close()
        return ack.rc == 0

    wait_until(fits, what="global_max_clients 2 after SIGHUP")
    sync(first)


def test_bind_interface_loopback(broker):
    b = broker(listener_extra=["bind_interface lo"])
    b.connect("on-lo", version=V311).ping()


def test_bind_interface_unknown_names_the_listener_and_interface(broker_bin, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = tmp_path / "bad.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nbind_interface nosuchif0\n")
    p = subprocess.run([broker_bin, "-c", str(conf)], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert f"{conf}:1" in out and "bind_interface 'nosuchif0': no such network interface" in out, out


@pytest.mark.parametrize("line,error", [
    ("accept_protocol_versions 4,6", "expected a list of 3, 4 and 5"),
    ("global_max_clients many", "expected -1 (no limit) or an integer"),
    ("listener_allow_anonymous maybe", "listener_allow_anonymous"),
])
def test_bad_values_name_file_and_line(broker_bin, tmp_path, line, error):
    conf = tmp_path / "bad.conf"
    conf.write_text(f"listener 18830 127.0.0.1\n{line}\n")
    p = subprocess.run([broker_bin, "-c", str(conf), "--test-config"], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert f"{conf}:2" in out and error in out, out


def test_log_facility_logs_to_local_n(broker_bin, tmp_path):
    """log_dest syslog + log_facility 3: syslog datagrams carry facility local3. The broker
    runs in its own mount namespace whose /dev/log is the test's socket (the machine's
    syslog is not touched)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private /dev/log")
    log_sock = tmp_path / "log"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(str(log_sock))
    rx.settimeout(10)
    conf = tmp_path / "syslog.conf"
    conf.write_text(f"listener {free_port()} 127.0.0.1\nallow_anonymous true\nlog_dest syslog\nlog_facility 3\n{KEEP_ROOT}\n")
    script = f"mount -t tmpfs tmpfs /dev && ln -s {log_sock} /dev/log && exec {broker_bin} -c {conf}"
    p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        try:
            data = rx.recv(4096)
        except socket.timeout:
            p.terminate()
            out = p.communicate(timeout=RUN_TIMEOUT)[0]
            raise AssertionError(f"nothing logged to /dev/log; exit {p.returncode}: {out!r}")
        pri = int(data[1:data.index(b">")])
        assert pri >> 3 == 19, data  # LOG_LOCAL3 (facility 19)
        assert b"petrel" in data, data
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=RUN_TIMEOUT)
        rx.close()


MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


def test_password_and_acl_file_plugins_are_honoured(broker, tmp_path):
    """Mosquitto 2.1's way (what NixOS writes): the bundled plugins with plugin_opt_*."""
    pw = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(pw), "alice", "s3cret"], check=True, timeout=RUN_TIMEOUT)
    acl = tmp_path / "acl"
    acl.write_text("user alice\ntopic readwrite plant/#\n")
    b = broker(anonymous=False, extra=[
        "global_plugin /usr/lib/x86_64-linux-gnu/mosquitto_password_file.so",
        f"plugin_opt_password_file {pw}",
        "global_plugin /usr/lib/x86_64-linux-gnu/mosquitto_acl_file.so",
        f"plugin_opt_acl_file {acl}",
    ])
    refused_with(b, V5, "bad", 0x86, username="alice", password=b"wrong")
    refused_with(b, V311, "anon", 0x05)
    c = b.connect("alice", version=V5, username="alice", password=b"s3cret")
    assert c.subscribe([("plant/#", 1)]).codes == [1]
    assert c.subscribe([("office/#", 1)]).codes[0] >= 0x80
    c.publish("plant/press", b"ok", qos=1)
    assert c.recv_publish().payload == b"ok"


def test_other_plugins_are_refused_by_name(broker_bin, tmp_path):
    conf = tmp_path / "plugin.conf"
    conf.write_text("listener 18830 127.0.0.1\nplugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
                    "plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json\n")
    p = subprocess.run([broker_bin, "-c", str(conf), "--test-config"], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert f"{conf}:2" in out and "Petrel has no Dynamic Security plugin" in out, out


def heap_now(b) -> int:
    c = b.connect("heap-reader", version=V311)
    c.subscribe([("$SYS/broker/heap/current", 0)])
    value = int(c.recv_publish(timeout=10).payload)
    c.disconnect()
    return value


def test_memory_limit_refuses_then_recovers(broker):
    """Over memory_limit (reloaded at run time, from the heap $SYS reports): MQTT 5 QoS 1
    gets 0x97, a 3.x client is disconnected, a new client 0x89; cleared, all is accepted
    again."""
    b = broker(extra=["sys_interval 1"])
    limit = heap_now(b) + (24 << 20)
    b.conf_path.write_text(b.conf_path.read_text().replace("sys_interval 1", f"sys_interval 1\nmemory_limit {limit}"))
    b.signal(signal.SIGHUP)
    wait_until(lambda: "Configuration change from SIGHUP" in b.log(), what="the reload's outcome in the log")
    pub = b.connect("filler", version=V5)
    big = b"x" * (1 << 20)
    refused_at = None
    for i in range(200):  # 200 MiB at most
        ack = pub.publish(f"fill/{i}", big, qos=1, retain=True)
        if ack.rc == 0x97:
            refused_at = i
            break
    assert refused_at is not None and refused_at >= 10, refused_at
    assert "over memory_limit" in b.log()
    old = b.client(V311)
    old.connect("old-device", expect_rc=0x03)
    old.expect_closed()
    # clearing the retained messages frees the heap: accepted again
    for i in range(refused_at):
        pub.publish(f"fill/{i}", b"", qos=1, retain=True)
    wait_until(lambda: pub.publish("fill/again", b"small", qos=1).rc < 0x80, timeout=10, what="accepted again")
    assert "back under memory_limit" in b.log()
