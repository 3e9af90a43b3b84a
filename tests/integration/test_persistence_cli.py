"""The durable store from the outside: Debian's stock mosquitto.conf, the persistence
options' errors, and the store commands of the petrel command line (--import-mosquitto,
--persistence-check, --persistence-recover).

Every petrel (and mosquitto) started here listens on a random loopback port, runs in the
test's own tmp_path and is stopped by pid at teardown. The Mosquitto files imported are
the fixtures written by the real brokers (tests/unit/persist/fixtures, copies of
../shared/fixtures/mosquitto-persistence; its README says what they hold) and a fresh
mosquitto.db written by Debian's own mosquitto during the test.
"""
from __future__ import annotations

import errno
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rawmqtt as mq
from conftest import KEEP_ROOT, REPO_ROOT, free_port, keep_root, wait_port
from helpers import V311

pytestmark = pytest.mark.petrel_only("Petrel's durable store and its command-line tools")

FIXTURES = REPO_ROOT / "tests" / "unit" / "persist" / "fixtures"
MOSQUITTO_DB = FIXTURES / "mosquitto-2.0.11.db"
MOSQUITTO_SQLITE = FIXTURES / "mosquitto-2.1.2.sqlite3"
STOCK_CONF = Path("/etc/mosquitto/mosquitto.conf")
MOSQUITTO_BIN = "/usr/sbin/mosquitto"
RUN_TIMEOUT = 20      # a command that is not a server (ASan makes them slower)
START_TIMEOUT = 10

# Debian 12's /etc/mosquitto/mosquitto.conf (package mosquitto 2.0.11-1.2+deb12u*), used
# when the package is not installed.
DEBIAN_STOCK_CONF = """\
# Place your local configuration in /etc/mosquitto/conf.d/
#
# A full description of the configuration file is at
# /usr/share/doc/mosquitto/examples/mosquitto.conf.example

pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
"""

# What the fixtures hold (their README): sess-a's four queued messages, in order.
SESS_A_QUEUE = [("plant/line1/temp", b"21.5"), ("plant/line1/count", b"q1"),
                ("plant/line1/count", b"q2"), ("plant/line1/count", b"q3")]


def run(cmd, cwd=None, timeout=RUN_TIMEOUT):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def threads_line(request) -> list[str]:
    n = request.config.getoption("--threads")
    return [f"threads {n}"] if n else []


class Servers:
    """Processes a test starts (petrel, mosquitto): each stopped by pid at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen, Path]] = []

    def start(self, cmd, log: Path, port: int | None = None, cwd: Path | None = None) -> subprocess.Popen:
        logf = open(log, "wb")
        try:
            for attempt in range(40):
                try:
                    proc = subprocess.Popen([str(c) for c in cmd], stdout=logf, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=cwd or self.tmp_path,
                                            start_new_session=True)
                    break
                except OSError as exc:  # the binary being relinked by a concurrent build
                    if exc.errno not in (errno.EACCES, errno.ETXTBSY) or attempt == 39:
                        raise
                    time.sleep(0.5)
        finally:
            logf.close()
        self.procs.append((proc, log))
        if port is not None and not wait_port("127.0.0.1", port, START_TIMEOUT, proc):
            raise AssertionError(f"{cmd[0]} did not start listening on {port}:\n{log.read_text(errors='replace')}")
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        return proc.returncode

    def stop_all(self):
        for proc, _ in self.procs:
            self.stop(proc)


@pytest.fixture
def servers(tmp_path):
    s = Servers(tmp_path)
    yield s
    s.stop_all()


def petrel_conf(tmp_path: Path, request, port: int, lines=(), name="petrel.conf",
                store_dir: Path | None = None) -> Path:
    """A configuration with the store in `store_dir` (default tmp_path/store)."""
    store_dir = store_dir or tmp_path / "store"
    store_dir.mkdir(parents=True, exist_ok=True)
    text = threads_line(request) + ["allow_anonymous true", "persistence true",
                                    f"persistence_location {store_dir}/", *lines,
                                    f"listener {port} 127.0.0.1"]
    conf = tmp_path / name
    conf.write_text(keep_root("\n".join(text) + "\n"))
    return conf


def start_petrel(servers, broker_bin, conf: Path, port: int, log_name="petrel.log"):
    return servers.start([broker_bin, "-c", conf], servers.tmp_path / log_name, port=port)


def resume_sess_a(port: int) -> list[tuple[str, bytes]]:
    """sess-a comes back as it left (MQTT 3.1.1, clean session false): its session is there
    and its queued messages arrive, in order."""
    c = mq.Client(port, version=V311, timeout=10)
    try:
        ack = c.connect("sess-a", clean=False)
        assert ack.session_present, "sess-a's session is not there"
        got = [(p.topic, p.payload) for p in c.recv_publishes(4)]
        c.expect_nothing(0.3)
        return got
    finally:
        c.close()


def fill_store(port: int, n: int = 120, size: int = 900) -> None:
    """Retained messages enough for a store of a few dozen pages, and a persistent session
    with queued messages; the final QoS 1 round trip means the broker handled them all."""
    sub = mq.Client(port, version=V311)
    sub.connect("keeper", clean=False)
    sub.subscribe([("queued/#", 1)])
    sub.disconnect()
    pub = mq.Client(port, version=V311)
    pub.connect("filler")
    for i in range(n):
        pub.publish(f"fill/{i:04d}", bytes([65 + i % 26]) * size, qos=0, retain=True)
    for i in range(10):
        pub.publish(f"queued/{i}", b"q%d" % i, qos=1)
    pub.disconnect()


# --------------------------------------------------------------------------------------
# Debian's stock mosquitto.conf
# --------------------------------------------------------------------------------------
def stock_conf_text() -> str:
    """The real file of the mosquitto package when installed, else its known content."""
    try:
        return STOCK_CONF.read_text()
    except OSError:
        return DEBIAN_STOCK_CONF


def test_debian_stock_conf_starts_and_serves(broker_bin, tmp_path, servers, request):
    """Debian's mosquitto.conf, its directories moved under tmp_path (created as the package
    and its service do), a listener in conf.d: petrel starts, serves, writes its pid file,
    log and store, and leaves Mosquitto's mosquitto.db alone (saying how to import it)."""
    root = tmp_path / "root"
    text = stock_conf_text()
    for prefix in ("/run/mosquitto/", "/var/lib/mosquitto/", "/var/log/mosquitto/", "/etc/mosquitto/"):
        assert prefix in text, f"{prefix} not in the stock configuration:\n{text}"
        text = text.replace(prefix, f"{root}{prefix}")
    for d in ("run/mosquitto", "var/lib/mosquitto", "var/log/mosquitto", "etc/mosquitto/conf.d"):
        (root / d).mkdir(parents=True)
    conf = root / "etc/mosquitto/mosquitto.conf"
    conf.write_text(text)
    port = free_port()
    (root / "etc/mosquitto/conf.d/local.conf").write_text(
        "\n".join(threads_line(request) + [f"listener {port} 127.0.0.1", "allow_anonymous true", KEEP_ROOT]) + "\n")
    # What Mosquitto left in its persistence_location: not Petrel's, never touched.
    mosquitto_db = root / "var/lib/mosquitto/mosquitto.db"
    shutil.copyfile(MOSQUITTO_DB, mosquitto_db)
    before = mosquitto_db.read_bytes()

    proc = start_petrel(servers, broker_bin, conf, port)
    c = mq.Client(port, version=V311)
    c.connect("stock")
    c.subscribe([("stock/t", 1)])
    c.publish("stock/t", b"served", qos=1)
    assert c.recv_publish().payload == b"served"
    c.disconnect()
    assert (root / "run/mosquitto/mosquitto.pid").read_text().strip() == str(proc.pid)
    store = root / "var/lib/mosquitto/petrel.db"
    assert store.exists()
    assert Servers.stop(proc) == 0
    log = (root / "var/log/mosquitto/mosquitto.log").read_text()
    assert f"Restored 0 sessions and 0 retained messages from {store}" in log, log
    assert re.search(rf"{re.escape(str(mosquitto_db))} is Mosquitto's persistence file; Petrel does not read it "
                     rf"by itself.*--import-mosquitto {re.escape(str(mosquitto_db))}", log), log
    assert mosquitto_db.read_bytes() == before


@pytest.mark.skipif(not STOCK_CONF.exists(), reason="Debian's mosquitto package is not installed")
def test_debian_stock_conf_as_shipped_passes_test_config(broker_bin):
    res = run([broker_bin, "--test-config", "-c", STOCK_CONF])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "configuration is valid" in res.stdout
    assert res.stderr == "", res.stderr


# --------------------------------------------------------------------------------------
# Option errors and start-up errors
# --------------------------------------------------------------------------------------
def test_bad_persistence_values_name_file_and_line(broker_bin, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(f"listener {free_port()} 127.0.0.1\npersistence true\npersistence_sync sometimes\n"
                    "persistence maybe\n")
    res = run([broker_bin, "--test-config", "-c", conf])
    out = res.stdout + res.stderr
    assert res.returncode == 3, out
    assert f"{conf}:3: option 'persistence_sync': expected commit, interval MS" in out, out
    assert f"{conf}:4: option 'persistence': expected true or false, got 'maybe'" in out, out
    res = run([broker_bin, "-c", conf])  # and startup refuses it the same way
    assert res.returncode != 0
    assert f"{conf}:3:" in res.stdout + res.stderr


def mosquitto_file_as_store(tmp_path: Path) -> tuple[list[str], str]:
    shutil.copyfile(MOSQUITTO_DB, tmp_path / "mosquitto.db")
    return ([f"persistence_location {tmp_path}/", "persistence_file mosquitto.db"],
            "--import-mosquitto")


@pytest.mark.parametrize("case", ["missing-directory", "location-is-a-file", "mosquitto-file-as-store"])
def test_unusable_store_is_a_clear_error_at_start(broker_bin, tmp_path, case):
    """Petrel stops at once (status 1, no listener opened) and names what is wrong."""
    if case == "missing-directory":
        lines, expected = [f"persistence_location {tmp_path}/nowhere/"], f"directory {tmp_path}/nowhere does not exist"
    elif case == "location-is-a-file":
        (tmp_path / "afile").write_text("not a directory\n")
        lines, expected = [f"persistence_location {tmp_path}/afile"], f"{tmp_path}/afile is not a directory"
    else:
        lines, expected = mosquitto_file_as_store(tmp_path)
    port = free_port()
    conf = tmp_path / "p.conf"
    conf.write_text("\n".join(["persistence true", *lines, f"listener {port} 127.0.0.1", KEEP_ROOT]) + "\n")
    before = (tmp_path / "mosquitto.db").read_bytes() if case == "mosquitto-file-as-store" else None
    res = run([broker_bin, "-c", conf])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Error: persistence file" in out and expected in out, out
    if before is not None:  # Petrel never takes a Mosquitto file for its own
        assert "Mosquitto 2.0 persistence file" in out, out
        assert (tmp_path / "mosquitto.db").read_bytes() == before
    # --test-config sees the same problem without creating anything.
    res = run([broker_bin, "--test-config", "-c", conf])
    assert res.returncode == 3 and expected in res.stderr, res.stdout + res.stderr


def test_reload_reports_persistence_changes_as_waiting_for_a_restart(broker_bin, tmp_path, servers, request):
    port = free_port()
    conf = petrel_conf(tmp_path, request, port)
    proc = start_petrel(servers, broker_bin, conf, port)
    conf.write_text(conf.read_text().replace("persistence true", "persistence true\npersistence_sync interval 100"))
    proc.send_signal(signal.SIGHUP)
    log = tmp_path / "petrel.log"
    deadline = time.monotonic() + 10
    while "Not applied until a restart" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert "Not applied until a restart: persistence_sync: commit -> interval 100 (needs a restart of petrel)" \
        in text, text
    c = mq.Client(port, version=V311)  # still serving, with the store it started with
    c.connect("after-reload")
    c.publish("r/t", b"x", qos=1, retain=True)
    c.disconnect()
    assert Servers.stop(proc) == 0


# --------------------------------------------------------------------------------------
# --persistence-check / --persistence-recover
# --------------------------------------------------------------------------------------
def test_persistence_check_and_recover(broker_bin, tmp_path, servers, request):
    port = free_port()
    conf = petrel_conf(tmp_path, request, port)
    store = tmp_path / "store" / "petrel.db"
    proc = start_petrel(servers, broker_bin, conf, port)
    fill_store(port)
    # A store in use is neither imported into nor moved.
    res = run([broker_bin, "-c", conf, "--import-mosquitto", MOSQUITTO_DB])
    assert res.returncode == 1 and "in use by another process" in res.stderr, res.stdout + res.stderr
    assert "nothing was imported" in res.stderr
    res = run([broker_bin, "--persistence-recover", store])
    assert res.returncode == 1 and "in use" in res.stderr and "nothing was moved" in res.stderr, res.stderr
    assert Servers.stop(proc) == 0

    res = run([broker_bin, "--persistence-check", store])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith(f"persistence file {store}: ok"), res.stdout
    assert re.search(r"retained messages: 12\d", res.stdout), res.stdout
    res = run([broker_bin, "-c", conf, "--persistence-check"])  # FILE from the configuration
    assert res.returncode == 0 and "ok" in res.stdout, res.stdout + res.stderr
    res = run([broker_bin, "--persistence-check"])
    assert res.returncode == 1 and "needs FILE, or -c CONF" in res.stderr

    # Damage: a page in the middle of the file overwritten.
    data = bytearray(store.read_bytes())
    pages = len(data) // 4096
    assert pages >= 8, f"store too small to damage in the middle: {len(data)} bytes"
    mid = (pages // 2) * 4096
    data[mid:mid + 4096] = bytes([0xA5]) * 4096
    store.write_bytes(bytes(data))
    res = run([broker_bin, "--persistence-check", store])
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stdout.startswith("NOT OK:") and str(store) in res.stdout, res.stdout

    res = run([broker_bin, "-c", conf, "--persistence-recover"])
    assert res.returncode == 0, res.stdout + res.stderr
    moved = [p for p in store.parent.iterdir() if p.name.startswith("petrel.db.damaged-")]
    assert len(moved) == 1, list(store.parent.iterdir())
    assert f"moved the damaged file to {moved[0]}" in res.stdout, res.stdout
    res = run([broker_bin, "--persistence-check", store])
    assert res.returncode == 0, res.stdout + res.stderr
    # Recovering a sound store moves nothing.
    res = run([broker_bin, "--persistence-recover", store])
    assert res.returncode == 0 and "nothing to recover" in res.stdout, res.stdout + res.stderr
    assert len([p for p in store.parent.iterdir() if p.name.startswith("petrel.db.damaged-")]) == 1


@pytest.mark.parametrize("fixture", [MOSQUITTO_DB, MOSQUITTO_SQLITE], ids=["mosquitto-2.0-db", "mosquitto-2.1-sqlite"])
def test_recover_leaves_a_mosquitto_file_alone(broker_bin, tmp_path, fixture):
    target = tmp_path / fixture.name
    shutil.copyfile(fixture, target)
    res = run([broker_bin, "--persistence-check", target])
    assert res.returncode == 1 and res.stdout.startswith("NOT OK:"), res.stdout + res.stderr
    res = run([broker_bin, "--persistence-recover", target])
    assert res.returncode == 1, res.stdout + res.stderr
    assert "--import-mosquitto" in res.stderr and "nothing was moved" in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [fixture.name]
    assert target.read_bytes() == fixture.read_bytes()


# --------------------------------------------------------------------------------------
# --import-mosquitto
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", [MOSQUITTO_DB, MOSQUITTO_SQLITE], ids=["mosquitto-2.0-db", "mosquitto-2.1-sqlite"])
def test_import_mosquitto_fixture_then_resume_session(broker_bin, tmp_path, servers, request, fixture):
    port = free_port()
    conf = petrel_conf(tmp_path, request, port)
    source = tmp_path / fixture.name
    shutil.copyfile(fixture, source)
    res = run([broker_bin, "-c", conf, "--import-mosquitto", source])
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r": 2 sessions \(2 subscriptions, 7 queued messages\), 3 retained messages\.", res.stdout), \
        res.stdout
    assert source.read_bytes() == fixture.read_bytes()  # never modified
    start_petrel(servers, broker_bin, conf, port)
    log = (tmp_path / "petrel.log").read_text()
    assert "Restored 2 sessions and 3 retained messages from" in log, log
    assert resume_sess_a(port) == SESS_A_QUEUE


@pytest.mark.parametrize("damage", ["truncated-db", "truncated-sqlite", "not-mosquitto"])
def test_damaged_import_file_imports_nothing(broker_bin, tmp_path, request, damage):
    conf = petrel_conf(tmp_path, request, free_port())
    bad = tmp_path / f"bad-{damage}"
    if damage == "truncated-db":
        data = MOSQUITTO_DB.read_bytes()
        bad.write_bytes(data[:len(data) * 2 // 3])
    elif damage == "truncated-sqlite":
        data = MOSQUITTO_SQLITE.read_bytes()
        bad.write_bytes(data[:len(data) - 1000])
    else:
        bad.write_text("listener 1883\n")
    res = run([broker_bin, "-c", conf, "--import-mosquitto", bad])
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "nothing was imported" in lines[0], res.stderr
    assert res.stdout == ""
    assert not (tmp_path / "store" / "petrel.db").exists()  # the store was not even created


def test_import_needs_persistence_on(broker_bin, tmp_path):
    conf = tmp_path / "off.conf"
    conf.write_text(f"listener {free_port()} 127.0.0.1\n")
    res = run([broker_bin, "-c", conf, "--import-mosquitto", MOSQUITTO_DB])
    assert res.returncode == 1
    assert "persistence off" in res.stderr and "persistence true" in res.stderr, res.stderr
    res = run([broker_bin, "--import-mosquitto", MOSQUITTO_DB], cwd=tmp_path)
    assert res.returncode == 1 and "needs -c CONF" in res.stderr, res.stderr


@pytest.mark.skipif(not os.access(MOSQUITTO_BIN, os.X_OK), reason="Debian's mosquitto is not installed")
def test_import_fresh_mosquitto_db_written_by_real_mosquitto(broker_bin, tmp_path, servers, request):
    """Debian's mosquitto keeps a persistent session with a subscription and queues QoS 1
    messages for it while it is away; SIGTERM saves mosquitto.db. Imported into Petrel,
    the session resumed with paho gets the messages, in order."""
    paho = pytest.importorskip("paho.mqtt.client")
    mdir = tmp_path / "mosquitto"
    mdir.mkdir()
    mport = free_port()
    mconf = tmp_path / "mosquitto.conf"
    # `user root`: started as root, mosquitto would switch to its own user, who cannot
    # write into the test's directory.
    user = ["user root"] if os.geteuid() == 0 else []
    mconf.write_text("\n".join(user + ["persistence true", f"persistence_location {mdir}/", "allow_anonymous true",
                                       f"listener {mport} 127.0.0.1"]) + "\n")
    mosq = servers.start([MOSQUITTO_BIN, "-c", mconf], tmp_path / "mosquitto.log", port=mport)
    sub = mq.Client(mport, version=V311)
    sub.connect("fresh-sess", clean=False)
    sub.subscribe([("fresh/#", 1)])
    sub.disconnect()
    pub = mq.Client(mport, version=V311)
    pub.connect("fresh-pub")
    sent = [(f"fresh/{i}", b"m%d" % i) for i in range(5)]
    for topic, payload in sent:
        pub.publish(topic, payload, qos=1)
    pub.disconnect()
    assert Servers.stop(mosq) == 0
    db = mdir / "mosquitto.db"
    assert db.exists(), (tmp_path / "mosquitto.log").read_text()

    port = free_port()
    conf = petrel_conf(tmp_path, request, port)
    res = run([broker_bin, "-c", conf, "--import-mosquitto", db])
    assert res.returncode == 0, res.stdout + res.stderr
    assert ": 1 session (1 subscription, 5 queued messages), 0 retained messages." in res.stdout, res.stdout
    start_petrel(servers, broker_bin, conf, port)

    got: "queue.Queue" = queue.Queue()
    connected = threading.Event()
    flags = {}
    c = paho.Client(client_id="fresh-sess", clean_session=False, protocol=paho.MQTTv311)
    c.on_connect = lambda client, userdata, f, rc: (flags.update(f, rc=rc), connected.set())
    c.on_message = lambda client, userdata, msg: got.put((msg.topic, msg.payload, msg.qos))
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    try:
        assert connected.wait(10), "paho: no CONNACK"
        assert flags.get("rc") == 0 and flags.get("session present") == 1, flags
        received = [got.get(timeout=10) for _ in sent]
        assert received == [(t, p, 1) for t, p in sent]
    finally:
        c.disconnect()
        c.loop_stop()
