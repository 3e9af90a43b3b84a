"""`user`: started as root, petrel opens its listeners and reads its certificates, then
becomes `user` with Mosquitto's rules (default mosquitto, else nobody; `user root` stays;
an unknown user is an error), and refuses to start when that user cannot use a file it
reads again later, naming the file. The embedded default keeps the starting user."""
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import rawmqtt as mq
from conftest import free_port, wait_port

pytestmark = [
    pytest.mark.petrel_only("checks petrel's own log lines and its embedded default"),
    pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs the tests to run as root"),
]

DEADLINE = 15.0


@pytest.fixture
def shared_dir():
    """A directory every user can enter (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="petrel-user-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])  # effective
    raise AssertionError("no Uid line")


def wait_uid(proc, uid: int, timeout=DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "petrel exited"
        if uid_of(proc.pid) == uid:
            return
        time.sleep(0.05)
    raise AssertionError(f"petrel still runs as uid {uid_of(proc.pid)}, expected {uid}")


class Run:
    def __init__(self, binary, cwd: Path, args, env=None):
        self.log = cwd / "stdout.log"
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen([binary, *args], stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def write_conf(d: Path, lines) -> Path:
    conf = d / "petrel.conf"
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o644)
    return conf


def test_drops_to_the_named_user_and_keeps_serving(broker_bin, shared_dir):
    nobody = pwd.getpwnam("nobody")
    store = shared_dir / "store"
    store.mkdir()
    os.chown(store, nobody.pw_uid, nobody.pw_gid)
    logdir = shared_dir / "log"  # as /var/log/petrel: the user's, so logrotate works
    logdir.mkdir()
    os.chown(logdir, nobody.pw_uid, nobody.pw_gid)
    logfile = logdir / "petrel.log"
    port = free_port()
    conf = write_conf(shared_dir, ["user nobody", "allow_anonymous true", f"log_dest file {logfile}",
                                   "persistence true", f"persistence_location {store}/",
                                   f"listener {port} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
        wait_uid(r.proc, nobody.pw_uid)
        sub = mq.Client(port)
        sub.connect(client_id="u-sub")
        sub.subscribe([("u/t", 1)])
        pub = mq.Client(port)
        pub.connect(client_id="u-pub")
        pub.publish("u/t", b"hello", qos=1, retain=True)
        assert sub.recv_publish().payload == b"hello"
        # What petrel wrote as that user belongs to it: the store and the log file.
        assert (store / "petrel.db").stat().st_uid == nobody.pw_uid
        assert logfile.stat().st_uid == nobody.pw_uid
        assert "Dropped privileges to user 'nobody'" in logfile.read_text()
        # SIGHUP reads the configuration again and reopens the log as that user.
        logfile.rename(logdir / "petrel.log.1")
        r.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not (logfile.exists() and "Configuration change" in logfile.read_text()):
            time.sleep(0.05)
        assert "Configuration change from SIGHUP" in logfile.read_text()
        assert logfile.stat().st_uid == nobody.pw_uid
        sub.close()
        pub.close()
    finally:
        assert r.stop() == 0, r.output()


def test_default_user_is_mosquitto(broker_bin, shared_dir):
    try:
        mosq = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no mosquitto user on this machine (Debian's mosquitto package makes it)")
    port = free_port()
    conf = write_conf(shared_dir, ["allow_anonymous true", f"listener {port} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
        wait_uid(r.proc, mosq.pw_uid)
    finally:
        assert r.stop() == 0, r.output()
    assert "Dropped privileges to user 'mosquitto'" in r.output()


def test_unknown_user_is_an_error_at_start(broker_bin, shared_dir):
    conf = write_conf(shared_dir, ["user no-such-user-petrel", f"listener {free_port()} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    assert r.proc.wait(timeout=DEADLINE) == 1
    assert "user 'no-such-user-petrel' does not exist" in r.output(), r.output()


def test_a_file_the_user_cannot_read_is_named_and_petrel_does_not_start(broker_bin, shared_dir):
    pw = shared_dir / "passwd"
    pw.write_text("")
    pw.chmod(0o600)  # root's only
    port = free_port()
    conf = write_conf(shared_dir, ["user nobody", f"password_file {pw}", f"listener {port} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    assert r.proc.wait(timeout=DEADLINE) == 1
    out = r.output()
    assert f"{pw}: user 'nobody' cannot read it" in out and "password_file" in out, out
    # Made readable by the user's group, it starts.
    os.chown(pw, 0, pwd.getpwnam("nobody").pw_gid)
    pw.chmod(0o640)
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
    finally:
        assert r.stop() == 0, r.output()


def test_user_root_stays_root(broker_bin, shared_dir):
    port = free_port()
    conf = write_conf(shared_dir, ["user root", f"listener {port} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
        assert uid_of(r.proc.pid) == 0
    finally:
        assert r.stop() == 0
    assert "Warning: running as root (user root)" in r.output()


def test_embedded_default_keeps_the_starting_user(broker_bin, tmp_path):
    port = free_port()
    env = dict(os.environ, PETREL_STATE_DIR=str(tmp_path / "state"))
    r = Run(broker_bin, tmp_path, ["-p", str(port)], env=env)
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
        assert uid_of(r.proc.pid) == 0
    finally:
        assert r.stop() == 0
    assert "keeps the starting user" in r.output()


def test_a_user_change_waits_for_a_restart(broker_bin, shared_dir):
    port = free_port()
    conf = write_conf(shared_dir, ["user root", "allow_anonymous true", f"listener {port} 127.0.0.1"])
    r = Run(broker_bin, shared_dir, ["-c", str(conf)])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, r.proc), r.output()
        write_conf(shared_dir, ["user nobody", "allow_anonymous true", f"listener {port} 127.0.0.1"])
        r.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and "Not applied until a restart" not in r.output():
            time.sleep(0.05)
        assert "Not applied until a restart: user" in r.output(), r.output()
        assert uid_of(r.proc.pid) == 0
    finally:
        assert r.stop() == 0
