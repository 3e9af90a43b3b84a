"""Running as a service: the systemd notify protocol (READY, STATUS, WATCHDOG, RELOADING,
STOPPING) spoken to a notify socket the test owns, log files reopened on SIGHUP (logrotate)
and the SIGUSR1/SIGUSR2 state dumps."""
import os
import signal
import socket
import subprocess
import time

import pytest

import rawmqtt as mq
from conftest import free_port, keep_root, wait_port

pytestmark = pytest.mark.petrel_only("systemd notify protocol and signal dumps are Petrel's")

DEADLINE = 15.0


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[dict] = []

    def close(self):
        self.sock.close()

    def _read(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536).decode()
        except socket.timeout:
            return None
        fields = {}
        for line in data.splitlines():
            k, _, v = line.partition("=")
            fields[k] = v
        self.messages.append(fields)
        return fields

    def wait_for(self, key, value=None, timeout=DEADLINE, prefix=False):
        """The next message holding key (=value, or starting with it), reading (and keeping)
        those before it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self._read(max(0.05, end - time.monotonic()))
            if m is None or key not in m:
                continue
            if value is None or m[key] == value or (prefix and m[key].startswith(value)):
                return m
        raise AssertionError(f"no {key}={value} from petrel within {timeout} s; got {self.messages}")


def start(broker_bin, tmp_path, conf_lines, env_extra=None):
    port = free_port()
    conf = tmp_path / "petrel.conf"
    conf.write_text(keep_root("\n".join([f"listener {port} 127.0.0.1", "allow_anonymous true", *conf_lines]) + "\n"))
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    env.update(env_extra or {})
    log = open(tmp_path / "stdout.log", "wb")
    proc = subprocess.Popen([broker_bin, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    log.close()
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_notify_ready_status_watchdog_reload_and_stop(broker_bin, tmp_path):
    ns = NotifySocket(tmp_path / "notify")
    proc, port = start(broker_bin, tmp_path, [], {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
    try:
        ready = ns.wait_for("READY", "1")
        assert ns.messages[0] is ready  # nothing before READY
        # READY comes once clients are accepted.
        assert wait_port("127.0.0.1", port, 1.0, proc)
        assert ready["MAINPID"] == str(proc.pid)
        assert "clients connected" in ready["STATUS"] or "client connected" in ready["STATUS"], ready
        # Watchdog pings at half the interval, while every worker turns.
        first = ns.wait_for("WATCHDOG", "1")
        ns.wait_for("WATCHDOG", "1")
        assert first
        # A connected client shows in STATUS.
        c = mq.Client(port)
        c.connect(client_id="svc-1")
        # (the status follows the 1 s sample)
        ns.wait_for("STATUS", "1 client connected, 0 subscriptions,", prefix=True)
        # SIGHUP: RELOADING, then READY again.
        proc.send_signal(signal.SIGHUP)
        ns.wait_for("RELOADING", "1")
        ns.wait_for("READY", "1")
        c.close()
        proc.send_signal(signal.SIGTERM)
        ns.wait_for("STOPPING", "1")
        assert proc.wait(timeout=10) == 0
    finally:
        stop(proc)
        ns.close()


def test_without_notify_socket_nothing_is_sent(broker_bin, tmp_path):
    # No NOTIFY_SOCKET: the broker runs as before (a socket that is not named gets nothing).
    ns = NotifySocket(tmp_path / "notify")
    proc, port = start(broker_bin, tmp_path, [])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, proc)
        with pytest.raises(AssertionError):
            ns.wait_for("READY", timeout=1.0)
    finally:
        assert stop(proc) == 0
        ns.close()


def wait_log(path, text, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            return path.read_text(errors="replace")
        time.sleep(0.05)
    got = path.read_text(errors="replace") if path.exists() else "(no file)"
    raise AssertionError(f"{text!r} not in {path} within {timeout} s:\n{got}")


def test_sighup_reopens_the_log_file_after_logrotate_renamed_it(broker_bin, tmp_path):
    logfile = tmp_path / "petrel.log"
    proc, port = start(broker_bin, tmp_path, [f"log_dest file {logfile}", "log_type all"])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, proc)
        wait_log(logfile, "starting")
        rotated = tmp_path / "petrel.log.1"
        os.rename(logfile, rotated)
        proc.send_signal(signal.SIGHUP)
        text = wait_log(logfile, "Reloading config.")
        assert "starting" not in text  # a new file, not the renamed one
        c = mq.Client(port)
        c.connect(client_id="after-rotate")
        c.close()
        wait_log(logfile, "after-rotate")
        assert "after-rotate" not in rotated.read_text(errors="replace")
    finally:
        assert stop(proc) == 0


def test_sigusr1_commits_and_logs_state_sigusr2_logs_subscriptions(broker_bin, tmp_path):
    logfile = tmp_path / "petrel.log"
    proc, port = start(broker_bin, tmp_path, [f"log_dest file {logfile}", "persistence true",
                                              f"persistence_location {tmp_path}/",
                                              "persistence_sync interval 60000"])
    try:
        assert wait_port("127.0.0.1", port, DEADLINE, proc)
        sub = mq.Client(port, version=mq.V311)
        sub.connect(client_id="dumper", clean=False)
        sub.subscribe([("plant/+/temp", 1)])
        pub = mq.Client(port, version=mq.V311)
        pub.connect(client_id="pub")
        pub.publish("plant/a/temp", b"21", qos=1, retain=True)
        sub.recv_publish()
        proc.send_signal(signal.SIGUSR1)
        text = wait_log(logfile, "everything pending is committed to the store")
        assert "State (SIGUSR1): up" in text
        assert "2 clients connected" in text
        assert "1 retained message" in text
        proc.send_signal(signal.SIGUSR2)
        text = wait_log(logfile, "Retained (SIGUSR2)")
        assert "  plant/+/temp: dumper (QoS 1)" in text
        sub.close()
        pub.close()
    finally:
        assert stop(proc) == 0
