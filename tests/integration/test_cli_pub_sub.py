"""petrel_pub / petrel_sub behaviour against Petrel and mosquitto, reap_procs, compared with
mosquitto_pub / mosquitto_sub where both exist: exit codes for refused and unreachable
connections and timeouts, message counts and filters, retained handling, payload sources,
protocol versions, properties, sessions, wills, URLs, IPv6, option files and errors."""
from __future__ import annotations

import os
import signal
import time

import pytest

import rawmqtt as mq
from test_cli_support import (Proc, addr, assert_same, both, compare_sub, free_port,  # noqa: F401
                              mosquitto, petrel_tool, publish, reap_procs, run, server, start_sub,
                              strip_debug,
                              unique)


def sub_collect(srv, topic, n, extra=(), version=None):
    """Starts mosquitto_sub (the reference receiver) for n messages on topic."""
    cmd = ["mosquitto_sub"] + addr(srv) + ["-t", topic, "-C", str(n), "-v"] + list(extra)
    if version:
        cmd += ["-V", version]
    return start_sub(cmd + ["-F", "%t|%q|%r|%l|%x"])


# ---- connection failures and exit codes ----------------------------------------------
@pytest.mark.parametrize("version,code", [("31", 5), ("311", 5), ("5", 135)])
@pytest.mark.parametrize("tool", ["pub", "sub"])
def test_refused_connection_exit_code(server, tool, version, code):
    srv = server(anonymous=False)
    extra = ["-t", "a", "-m", "x"] if tool == "pub" else ["-t", "a"]
    results = {k: run([t] + addr(srv) + ["-V", version] + extra) for k, t in both(tool).items()}
    assert results["petrel"][0] == results["mosquitto"][0] == code
    err = results["petrel"][2].decode()
    assert err.count("\n") == 1 and ("not authorised" in err or "Not authorized" in err), err


@pytest.mark.parametrize("tool", ["pub", "sub", "rr"])
def test_unreachable_host_exit_code(tool):
    port = free_port()  # nothing listens there
    extra = {"pub": ["-t", "a", "-m", "x"], "sub": ["-t", "a"], "rr": ["-t", "a", "-e", "b", "-m", "x"]}[tool]
    results = {k: run([t, "-h", "127.0.0.1", "-p", str(port)] + extra) for k, t in both(tool).items()}
    assert results["petrel"][0] == results["mosquitto"][0] == 1
    err = results["petrel"][2].decode()
    assert err.count("\n") == 1 and "Connection refused" in err, err


def test_unknown_host_is_one_line():
    rc, out, err = run([petrel_tool("pub"), "-h", "no-such-host.invalid", "-t", "a", "-m", "x"])
    assert rc == 1 and err.decode().count("\n") == 1 and "no-such-host.invalid" in err.decode()


@pytest.mark.parametrize("tool", ["sub", "rr"])
def test_timeout_exit_code_27(server, tool):
    srv = server()
    extra = ["-t", unique(), "-W", "1"] + (["-e", unique(), "-m", "x"] if tool == "rr" else [])
    results = {k: run([t] + addr(srv) + extra) for k, t in both(tool).items()}
    assert results["petrel"][0] == results["mosquitto"][0] == 27
    assert results["petrel"][2] == results["mosquitto"][2] == b"Timed out\n"


def test_timeout_before_connack_exits_255():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        results = {k: run([t, "-p", str(port), "-t", "a", "-W", "1"]) for k, t in both("sub").items()}
    assert results["petrel"][0] == results["mosquitto"][0] == 255


@pytest.mark.parametrize("args,message", [
    (["-t", "a"], "Both topic and message must be supplied."),
    (["-t", "a", "-m", "x", "-n"], "Only one type of message can be sent at once."),
    (["-t", "a", "-m", "x", "-q", "3"], "Invalid QoS given: 3"),
    (["-t", "a/#", "-m", "x"], "Invalid publish topic 'a/#', does it contain '+' or '#'?"),
    (["-t", "a", "-m", "x", "-c"], "You must provide a client id if you are using the -c option."),
    (["-t", "a", "-m", "x", "--psk", "00"], "--psk-identity required if --psk used."),
    (["-t", "a", "-m", "x", "--cert", "c"], "Both certfile and keyfile must be provided"),
    (["-t", "a", "-m", "x", "--bogus"], "Unknown option '--bogus'."),
    (["-t", "a", "-m", "x", "-k", "2"], "Invalid keepalive given"),
    (["-t", "a", "-m", "x", "-V", "6"], "Invalid protocol version argument given."),
    (["-t", "a", "-m", "x", "--will-payload", "p"], "Will payload given, but no will topic given."),
    (["-t", "a", "-m", "x", "--repeat", "0"], "--repeat argument must be >0."),
    (["-t", "a", "-m", "x", "-D", "connect", "content-type", "x"], "content-type property not allowed for connect"),
    (["-L", "http://x/t", "-m", "x"], "unsupported URL scheme."),
])
def test_bad_pub_flags_exit_1(args, message):
    for kind, tool in both("pub").items():
        rc, out, err = run([tool, "-p", "1"] + args)
        assert rc == 1, kind
        if kind == "petrel":
            assert err.decode().splitlines()[0].startswith(f"Error: {message}"), err
            assert b"Traceback" not in err and len(err.decode().splitlines()) <= 2


@pytest.mark.parametrize("args,message", [
    ([], "You must specify a topic to subscribe to."),
    (["-t", "a/#/b"], "Invalid subscription topic 'a/#/b'"),
    (["-t", "a", "-C", "0"], 'Invalid message count "0".'),
    (["-t", "a", "-W", "0"], 'Invalid timeout "0".'),
    (["-t", "a", "-R", "--retained-only"], "Combining '-R' and '--retained-only' makes no sense."),
    (["-t", "a", "-T"], "-T argument given but no"),
])
def test_bad_sub_flags_exit_1(args, message):
    for kind, tool in both("sub").items():
        rc, out, err = run([tool, "-p", "1"] + args)
        assert rc == 1, kind
        if kind == "petrel":
            assert err.decode().splitlines()[0].startswith(f"Error: {message}"), err


def test_bad_hex_psk_is_one_clear_error():
    rc, out, err = run([petrel_tool("pub"), "-t", "a", "-m", "x", "--psk", "zz12", "--psk-identity", "i"])
    assert rc == 1 and "hexadecimal" in err.decode().splitlines()[0]


def test_unreadable_file_is_one_clear_error(tmp_path):
    rc, out, err = run([petrel_tool("pub"), "-t", "a", "-f", str(tmp_path / "missing")])
    assert rc == 1 and err.decode() == f'Error: Unable to open file "{tmp_path / "missing"}".\n'


# ---- counts, filters, retained --------------------------------------------------------
def test_count_stops_after_n(server):
    srv = server()
    msgs = [{"topic": f"m{i}", "payload": f"p{i}".encode(), "qos": 1} for i in range(5)]
    res = compare_sub(srv, ["-v", "-q", "1"], msgs, count=3)
    assert_same(res, "-C")
    assert res["petrel"][1].count(b"\n") == 4  # sync + 3


def test_exit_after_subscribe(server):
    srv = server()
    for kind, tool in both("sub").items():
        rc, out, err = run([tool] + addr(srv) + ["-t", unique(), "-E", "-U", "x/y"], timeout=5)
        assert rc == 0 and out == b"", kind


def test_filter_out(server):
    srv = server()
    msgs = [{"topic": "keep/1", "payload": b"1"}, {"topic": "drop/1", "payload": b"2"},
            {"topic": "keep/2", "payload": b"3"}]
    res = compare_sub(srv, ["-v", "-T", "+/drop/#", "-T", "nothing/#"], msgs, count=2)
    assert_same(res, "-T")


def test_unsubscribe_flag_means_nothing_arrives(server):
    srv = server()
    t = unique()
    procs = {k: start_sub([tool] + addr(srv) + ["-t", f"{t}/#", "-U", f"{t}/#", "-W", "3"],
                          ready=b"received UNSUBACK") for k, tool in both("sub").items()}
    publish(srv, [{"topic": f"{t}/x", "payload": b"x"}])
    rcs = {k: p.wait() for k, p in procs.items()}
    assert rcs == {"petrel": 27, "mosquitto": 27}
    assert strip_debug(procs["petrel"].out) == b""


def retained_setup(srv, base):
    publish(srv, [{"topic": f"{base}/r1", "payload": b"old1", "retain": True, "qos": 1},
                  {"topic": f"{base}/r2", "payload": b"old2", "retain": True, "qos": 1}], mq.V311)


def test_no_retained_flag(server):
    srv = server()
    base = unique()
    retained_setup(srv, base)
    procs = {k: start_sub([tool] + addr(srv) + ["-t", f"{base}/#", "-R", "-v", "-C", "1"])
             for k, tool in both("sub").items()}
    publish(srv, [{"topic": f"{base}/live", "payload": b"new"}])
    outs = {k: (p.wait(), strip_debug(p.out)) for k, p in procs.items()}
    assert outs["petrel"] == outs["mosquitto"] == (0, f"{base}/live new\n".encode())


def test_retained_only(server):
    srv = server()
    base = unique()
    retained_setup(srv, base)
    procs = {k: Proc([tool] + addr(srv) + ["-t", f"{base}/#", "--retained-only", "-v"]) for k, tool in both("sub").items()}
    assert all(p.wait_output(20) for p in procs.values())
    time.sleep(0.3)
    publish(srv, [{"topic": f"{base}/live", "payload": b"new"}])
    outs = {k: (p.wait(), bytes(p.out)) for k, p in procs.items()}
    assert outs["petrel"] == outs["mosquitto"]
    assert outs["petrel"][1] == f"{base}/r1 old1\n{base}/r2 old2\n".encode()


def test_remove_retained(server):
    # petrel_sub only: mosquitto_sub 2.0.11 sends DISCONNECT after --remove-retained -C N
    # but then never exits.
    srv = server()
    base = unique()
    retained_setup(srv, base)
    tool = petrel_tool("sub")
    rc, out, err = run([tool] + addr(srv) + ["-t", f"{base}/#", "--remove-retained", "-C", "2", "-v"])
    assert rc == 0 and out == f"{base}/r1 old1\n{base}/r2 old2\n".encode()
    rc, out, err = run([tool] + addr(srv) + ["-t", f"{base}/#", "-W", "1"])
    assert rc == 27 and out == b""


# ---- payload sources and publish options ----------------------------------------------
def publish_both_and_compare(srv, args, stdin=None, n=1, sub_extra=(), version=None):
    """Publishes with petrel_pub and with mosquitto_pub; what mosquitto_sub receives (topic,
    QoS, retain, length, hex payload) must be the same."""
    got = {}
    for kind, tool in both("pub").items():
        topic = unique("pub")
        p = sub_collect(srv, topic, n, sub_extra, version)
        rc, out, err = run([tool] + addr(srv) + ["-t", topic] + args, stdin=stdin)
        assert rc == 0, (kind, err)
        assert p.wait() == 0
        got[kind] = strip_debug(p.out).replace(topic.encode(), b"T")
    assert got["petrel"] == got["mosquitto"], got
    return got["petrel"]


@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_message_qos(server, qos):
    srv = server()
    out = publish_both_and_compare(srv, ["-m", "hello", "-q", qos], sub_extra=["-q", "2"])
    assert out == f"T|{qos}|0|5|68656c6c6f\n".encode()


def test_null_message(server):
    srv = server()
    assert publish_both_and_compare(srv, ["-n"]) == b"T|0|0|0|\n"


def test_stdin_file(server):
    srv = server()
    data = b"line1\nline2\x00\xff\n"
    assert publish_both_and_compare(srv, ["-s"], stdin=data) == b"T|0|0|14|" + data.hex().encode() + b"\n"


def test_file_payload(server, tmp_path):
    srv = server()
    f = tmp_path / "payload.bin"
    f.write_bytes(bytes(range(256)))
    out = publish_both_and_compare(srv, ["-f", str(f), "-q", "1"], sub_extra=["-q", "1"])
    assert out == b"T|1|0|256|" + bytes(range(256)).hex().encode() + b"\n"


def test_stdin_lines(server):
    srv = server()
    out = publish_both_and_compare(srv, ["-l", "-q", "1"], stdin=b"l1\n\n\r\nlast", n=4, sub_extra=["-q", "1"])
    assert out == b"T|1|0|2|6c31\nT|1|0|0|\nT|1|0|1|0d\nT|1|0|4|6c617374\n"


def test_repeat(server):
    srv = server()
    t0 = time.monotonic()
    out = publish_both_and_compare(srv, ["-m", "r", "--repeat", "3", "--repeat-delay", "0.2"], n=3)
    assert out == b"T|0|0|1|72\n" * 3
    assert time.monotonic() - t0 >= 0.8  # two delays each


def test_retain_and_clear(server):
    srv = server()
    topic = unique()
    rc, _, _ = run([petrel_tool("pub")] + addr(srv) + ["-t", topic, "-m", "kept", "-r", "-q", "1"])
    assert rc == 0
    rc, out, _ = run(["mosquitto_sub"] + addr(srv) + ["-t", topic, "-C", "1", "-F", "%r %p"])
    assert (rc, out) == (0, b"1 kept\n")
    rc, _, _ = run([petrel_tool("pub")] + addr(srv) + ["-t", topic, "-n", "-r"])
    rc, out, _ = run(["mosquitto_sub"] + addr(srv) + ["-t", topic, "-W", "1"])
    assert rc == 27 and out == b""


@pytest.mark.parametrize("version", ["31", "311", "5", "mqttv31", "mqttv311", "mqttv5"])
def test_protocol_versions(server, version):
    srv = server()
    topic = unique()
    p = start_sub([petrel_tool("sub")] + addr(srv) + ["-t", topic, "-C", "1", "-V", version, "-v"])
    rc, _, err = run([petrel_tool("pub")] + addr(srv) + ["-t", topic, "-m", "v", "-V", version, "-q", "1"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} v\n".encode()


def test_v5_properties_like_mosquitto_pub(server):
    srv = server()
    props = ["-D", "publish", "content-type", "text/x", "-D", "publish", "user-property", "k", "v",
             "-D", "publish", "response-topic", "r/t", "-D", "publish", "correlation-data", "cd",
             "-D", "publish", "payload-format-indicator", "1", "-D", "publish", "message-expiry-interval", "300",
             "-D", "connect", "session-expiry-interval", "0", "-D", "connect", "user-property", "c", "d",
             "-D", "disconnect", "reason-string", "bye"]
    got = {}
    for kind, tool in both("pub").items():
        topic = unique()
        p = start_sub(["mosquitto_sub"] + addr(srv) + ["-t", topic, "-C", "1", "-V", "5", "-F", "%C|%P|%R|%D|%F|%p"])
        rc, _, err = run([tool] + addr(srv) + ["-t", topic, "-m", "x", "-V", "5"] + props)
        assert rc == 0, err
        p.wait()
        got[kind] = strip_debug(p.out)
    assert got["petrel"] == got["mosquitto"] == b"text/x|k:v|r/t|cd|1|x\n"


def test_subscription_identifier_property(server):
    srv = server()
    msgs = [{"topic": "a", "payload": b"x"}]
    res = compare_sub(srv, ["-D", "subscribe", "subscription-identifier", "42", "-F", "%S|%t"], msgs,
                      sub_version="5")
    assert_same(res, "%S")
    assert res["petrel"][1].endswith(b"42|" + res["petrel"][1].split(b"|")[-1])


# ---- sessions --------------------------------------------------------------------------
@pytest.mark.parametrize("version,session", [("311", []), ("5", []), ("5", ["-x", "60"])])
def test_persistent_session_gets_queued_messages(server, version, session):
    srv = server()
    topic = unique()
    cid = "petrel-sub-" + topic.split("/")[-1]
    base = [petrel_tool("sub")] + addr(srv) + ["-t", topic, "-q", "1", "-i", cid, "-c", "-V", version] + session
    rc, _, err = run(base + ["-E"])
    assert rc == 0, err
    publish(srv, [{"topic": topic, "payload": b"queued", "qos": 1}], mq.V311)
    rc, out, _ = run(base + ["-C", "1", "-v", "-W", "5"])
    assert (rc, out) == (0, f"{topic} queued\n".encode())


def test_session_expiry_zero_drops_session(server):
    srv = server()
    topic = unique()
    cid = "petrel-x0-" + topic.split("/")[-1]
    base = [petrel_tool("sub")] + addr(srv) + ["-t", topic, "-q", "1", "-i", cid, "-V", "5"]
    assert run(base + ["-c", "-x", "0", "-E"])[0] == 0
    publish(srv, [{"topic": topic, "payload": b"lost", "qos": 1}], mq.V311)
    rc, out, _ = run(base + ["-c", "-x", "0", "-W", "1"])
    assert rc == 27 and out == b""


# ---- wills, URLs, IPv6, unix sockets, option files -------------------------------------
@pytest.mark.parametrize("tool", ["pub", "sub"])
def test_will_published_when_killed(server, tool):
    srv = server()
    will = unique("will")
    watcher = start_sub(["mosquitto_sub"] + addr(srv) + ["-t", will, "-C", "1", "-F", "%t|%q|%r|%p", "-q", "1"])
    extra = ["-t", unique(), "-l"] if tool == "pub" else ["-t", unique()]
    victim = start_sub([petrel_tool(tool)] + addr(srv) + extra +
                       ["--will-topic", will, "--will-payload", "gone", "--will-qos", "1", "-k", "5"],
                       ready=b"received CONNACK", keep_stdin=True)
    os.kill(victim.p.pid, signal.SIGKILL)
    victim.wait()
    assert watcher.wait() == 0
    assert strip_debug(watcher.out) == f"{will}|1|0|gone\n".encode()


def test_url_option(server):
    srv = server()
    topic = unique()
    p = start_sub([petrel_tool("sub"), "-L", f"mqtt://{srv.host}:{srv.port}/{topic}", "-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub"), "-L", f"mqtt://{srv.host}:{srv.port}/{topic}", "-m", "via-url"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} via-url\n".encode()


def test_url_with_credentials(mosquitto, tmp_path):
    pwfile = tmp_path / "pw"
    assert os.system(f"mosquitto_passwd -b -c {pwfile} house 12345 >/dev/null 2>&1") == 0
    srv = mosquitto([f"password_file {pwfile}"], anonymous=False)
    topic = unique()
    rc, _, err = run([petrel_tool("pub"), "-L", f"mqtt://house:12345@127.0.0.1:{srv.port}/{topic}", "-m", "x"])
    assert rc == 0, err
    rc, _, err = run([petrel_tool("pub"), "-L", f"mqtt://house:wrong@127.0.0.1:{srv.port}/{topic}", "-m", "x"])
    assert rc == 5


def test_ipv6_host(server):
    srv = server(hosts=["::1"])
    topic = unique()
    for host in ["::1", "[::1]"]:
        p = start_sub([petrel_tool("sub"), "-h", host, "-p", str(srv.port), "-t", topic, "-C", "1", "-v"])
        rc, _, err = run([petrel_tool("pub"), "-h", host, "-p", str(srv.port), "-t", topic, "-m", "six"])
        assert rc == 0, err
        assert p.wait() == 0 and strip_debug(p.out) == f"{topic} six\n".encode()


def test_unix_socket(mosquitto, tmp_path):
    sock = tmp_path / "mqtt.sock"
    srv = mosquitto(raw_listeners=[("127.0.0.1", [])], extra=[])
    srv.stop()
    srv = mosquitto(extra=[f"listener 0 {sock}"])
    topic = unique()
    p = start_sub([petrel_tool("sub"), "--unix", str(sock), "-t", topic, "-C", "1", "-v"])
    rc, _, err = run([petrel_tool("pub"), "--unix", str(sock), "-t", topic, "-m", "local"])
    assert rc == 0, err
    assert p.wait() == 0 and strip_debug(p.out) == f"{topic} local\n".encode()


def test_defaults_file_and_options_file(server, tmp_path):
    srv = server()
    topic = unique()
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "petrel_sub").write_text(f"# defaults\n-h {srv.host}\n-p {srv.port}\n-v\n")
    (home / ".config" / "petrel_pub").write_text(f"-h {srv.host}\n-p {srv.port}\n-m from defaults\n")
    opts = tmp_path / "opts"
    opts.write_text(f"-t {topic}\n-q 1\n")
    env = dict(os.environ, HOME=str(home))
    env.pop("XDG_CONFIG_HOME", None)
    p = start_sub([petrel_tool("sub"), "-o", str(opts), "-C", "2"], env=env)
    import subprocess
    r1 = subprocess.run([petrel_tool("pub"), "-t", topic], env=env, capture_output=True, timeout=10)
    r2 = subprocess.run([petrel_tool("pub"), "-t", topic, "-m", "override"], env=env, capture_output=True, timeout=10)
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    assert p.wait() == 0
    assert strip_debug(p.out) == f"{topic} from defaults\n{topic} override\n".encode()


# ---- smaller options -----------------------------------------------------------------------
def test_help_exits_1_like_mosquitto():
    for kind, tool in both("pub").items():
        rc, out, _ = run([tool, "--help"])
        assert rc == 1 and b"Usage:" in out, kind


def test_id_prefix_bind_nodelay_keepalive_inflight(mosquitto):
    srv = mosquitto()
    topic = unique()
    rc, out, err = run([petrel_tool("pub")] + addr(srv) + ["-t", topic, "-m", "x", "-I", "pfx-", "-A", "127.0.0.1",
                                                          "--nodelay", "-k", "30", "-M", "5", "-q", "1", "-d"])
    assert rc == 0, err
    assert f"pfx-".encode() in out and b"sending CONNECT" in out and b"received PUBACK" in out
    log = srv.log()
    assert "as pfx-" in log and "k30" in log


def test_quiet_suppresses_errors():
    rc, out, err = run([petrel_tool("pub"), "-p", str(free_port()), "-t", "a", "-m", "x", "--quiet"])
    assert rc == 1 and err == b""


def test_random_filter(server):
    srv = server()
    base = unique()
    p = start_sub([petrel_tool("sub")] + addr(srv) + ["-t", f"{base}/#", "--random-filter", "0.1", "-W", "2"])
    publish(srv, [{"topic": f"{base}/{i}", "payload": b"x"} for i in range(50)])
    assert p.wait() == 27
    assert len(strip_debug(p.out)) < 20  # ~0.05 messages expected


def test_retain_as_published(server):
    srv = server()
    base = unique()
    p = start_sub([petrel_tool("sub")] + addr(srv) + ["-t", f"{base}/#", "-V", "5", "--retain-as-published",
                                                      "-C", "1", "-F", "%r %p"])
    publish(srv, [{"topic": f"{base}/x", "payload": b"kept", "retain": True}])
    assert p.wait() == 0 and strip_debug(p.out) == b"1 kept\n"
    publish(srv, [{"topic": f"{base}/x", "payload": b"", "retain": True}])


def test_will_properties_v5(server):
    srv = server()
    will = unique("will")
    watcher = start_sub(["mosquitto_sub"] + addr(srv) + ["-t", will, "-C", "1", "-V", "5", "-F", "%C|%P|%p"])
    victim = start_sub([petrel_tool("sub")] + addr(srv) + ["-t", unique(), "-V", "5", "--will-topic", will,
                                                           "--will-payload", "w", "-D", "will", "content-type", "ct",
                                                           "-D", "will", "user-property", "a", "b"])
    os.kill(victim.p.pid, signal.SIGKILL)
    victim.wait()
    assert watcher.wait() == 0 and strip_debug(watcher.out) == b"ct|a:b|w\n"
