"""Command line, configuration errors and signals."""
import re
import signal
import os
import subprocess
import time

import pytest

import rawmqtt as mq
from conftest import free_port, wait_port
from helpers import V311, V5

RUN_TIMEOUT = 10


def run(cmd, timeout=RUN_TIMEOUT):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def write_conf(tmp_path, lines, name="bad.conf"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def start_and_expect_exit(broker_bin, conf):
    """Start the broker normally (not --test-config) on a bad file: it must exit non-zero
    quickly. Returns (status, output)."""
    proc = subprocess.Popen([broker_bin, "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("broker kept running with an invalid configuration")
    return proc.returncode, out


# --------------------------------------------------------------------------------------
# Errors both brokers report with file:line
# --------------------------------------------------------------------------------------
def test_bad_value_refused_at_startup_with_file_and_line(broker_bin, tmp_path):
    port = free_port()
    conf = write_conf(tmp_path, [f"listener {port} 127.0.0.1", "sys_interval 1",
                                 "allow_anonymous maybe"])
    status, out = start_and_expect_exit(broker_bin, conf)
    assert status != 0
    assert f"{conf}:3" in out, out


def test_unknown_option_refused_at_startup(broker_bin, tmp_path):
    port = free_port()
    conf = write_conf(tmp_path, [f"listener {port} 127.0.0.1", "max_inflight_mesages 10"])
    status, out = start_and_expect_exit(broker_bin, conf)
    assert status != 0
    assert "max_inflight_mesages" in out, out
    assert f"{conf}:2" in out, out


# --------------------------------------------------------------------------------------
# Petrel's --test-config, did-you-mean
# --------------------------------------------------------------------------------------
@pytest.mark.petrel_only("--test-config is a Petrel addition (Mosquitto has no such flag; it "
                         "also silently reads `max_inflight_messages lots` as 0)")
def test_test_config_reports_file_line_and_exits_nonzero(broker_bin, tmp_path):
    conf = write_conf(tmp_path, ["# comment", "listener 1883 127.0.0.1",
                                 "max_inflight_messages lots", "max_qos 7"])
    res = run([broker_bin, "--test-config", "-c", str(conf)])
    out = res.stdout + res.stderr
    assert res.returncode != 0
    # Every error, each as file:line: ...
    assert re.search(rf"{re.escape(str(conf))}:3: .*max_inflight_messages", out), out
    assert re.search(rf"{re.escape(str(conf))}:4: .*max_qos", out), out


@pytest.mark.petrel_only("--test-config is a Petrel addition")
def test_test_config_accepts_good_file(broker_bin, tmp_path):
    conf = write_conf(tmp_path, ["listener 1883 127.0.0.1", "allow_anonymous true",
                                 "max_inflight_messages 10", "sys_interval 1",
                                 "persistent_client_expiration 2d"], name="good.conf")
    res = run([broker_bin, "--test-config", "-c", str(conf)])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.petrel_only("Mosquitto reports unknown options without suggestions")
def test_unknown_option_did_you_mean(broker_bin, tmp_path):
    conf = write_conf(tmp_path, ["listener 1883 127.0.0.1", "max_inflight_mesages 10"])
    res = run([broker_bin, "--test-config", "-c", str(conf)])
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert f"{conf}:2:" in out, out
    assert re.search(r"did you mean .?max_inflight_messages", out), out


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def test_version_flag(broker_bin, broker_kind):
    """--version prints a version. (Mosquitto 2.0.11 has no --version: it prints its
    usage, which starts with the version, and exits 3; Petrel exits 0.)"""
    res = run([broker_bin, "--version"])
    out = res.stdout + res.stderr
    assert re.search(r"\d+\.\d+\.\d+", out), out
    if broker_kind == "petrel":
        assert res.returncode == 0


def test_port_flag_without_config(broker_bin, tmp_path):
    """`-p PORT` with no config file: a loopback listener on that port, anonymous allowed
    (Mosquitto 2's local-only mode)."""
    port = free_port()
    env = dict(os.environ, PETREL_STATE_DIR=str(tmp_path / "state"))  # its own, not the machine's
    proc = subprocess.Popen([broker_bin, "-p", str(port)], stdout=open(tmp_path / "p.log", "wb"),
                            stderr=subprocess.STDOUT, cwd=tmp_path, stdin=subprocess.DEVNULL, env=env)
    try:
        assert wait_port("127.0.0.1", port, 10, proc), (tmp_path / "p.log").read_text()
        c = mq.Client(port, version=V311)
        c.connect("dash-p")
        c.subscribe([("p/t", 0)])
        c.publish("p/t", b"via -p")
        assert c.recv_publish().payload == b"via -p"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------
def test_sighup_does_not_kill(b):
    c = b.connect("stays", version=V5)
    c.subscribe([("hup/t", 1)])
    for _ in range(3):
        b.signal(signal.SIGHUP)
        time.sleep(0.3)
    assert b.alive()
    c.ping()
    p = b.connect("p", version=V311)
    p.publish("hup/t", b"after hup", qos=1)
    assert c.recv_publish().payload == b"after hup"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero_promptly(b, sig):
    clients = [b.connect(f"c{i}", version=V5 if i % 2 else V311) for i in range(20)]
    clients[0].subscribe([("x/#", 2)])
    b.expect_exit = True
    start = time.monotonic()
    b.signal(sig)
    b.proc.wait(timeout=5)
    assert time.monotonic() - start < 3.0
    assert b.proc.returncode == 0, b.log()[-2000:]
    for c in clients[:5]:
        c.expect_closed(timeout=3)


def test_sigterm_with_will_client_exits_cleanly(broker):
    """Shutting down is not a crash: the broker exits cleanly while a client with a will
    is connected (whether the will is published at shutdown is not asserted)."""
    b = broker()
    c = b.connect("w", version=V5, will=mq.Will("w/t", b"bye"))
    b.expect_exit = True
    b.signal(signal.SIGTERM)
    b.proc.wait(timeout=5)
    assert b.proc.returncode == 0
    c.expect_closed(timeout=3)
