"""Bridge configuration: a file using every bridge option Petrel documents is accepted and
the broker runs; invalid bridge sections stop the broker at startup with a non-zero status
and the file:line of the offending line (as Mosquitto 2.0.11 does: "Error found at
FILE:LINE.")."""
from __future__ import annotations

import re

import pytest

from bridge_support import bridging, root_lines, run_config_check
from conftest import free_port


def write(tmp_path, lines: list[str]):
    conf = tmp_path / "bridge.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def section(*lines: str) -> list[str]:
    return ["connection office", f"address 127.0.0.1:{free_port()}", *lines]


# --------------------------------------------------------------------------------------
# Accepted
# --------------------------------------------------------------------------------------
def test_every_documented_bridge_option_is_accepted(broker, tmp_path):
    """Nothing listens on the remote ports: the bridges just keep retrying."""
    dead = [free_port() for _ in range(4)]
    b = bridging(broker, [
        "connection full",
        f"address 127.0.0.1:{dead[0]} 127.0.0.1:{dead[1]}",
        "round_robin false",
        "topic sensor/# out 1 local/ remote/office1/",
        "topic cmd/# in 2",
        "topic both/# both 0 \"\" r/",
        "topic \"\" out 1 a/b c/d",
        "bridge_protocol_version mqttv311",
        "try_private true",
        "cleansession false",
        "local_cleansession false",
        "keepalive_interval 30",
        "remote_clientid full-remote",
        "local_clientid full-local",
        "remote_username u",
        "remote_password p",
        "notifications true",
        "notification_topic bridges/full/state",
        "notifications_local_only false",
        "bridge_attempt_unsubscribe true",
        "bridge_outgoing_retain true",
        "restart_timeout 5 30",
        "start_type automatic",
        "bridge_cafile /etc/ssl/certs/ca-certificates.crt",
        "bridge_capath /etc/ssl/certs",
        "bridge_insecure false",
        "bridge_tls_version tlsv1.2",
        "bridge_alpn mqtt",
        "connection second",
        f"address 127.0.0.1:{dead[2]}",
        "topic x/# both 2",
        "restart_timeout 3",
        "bridge_protocol_version mqttv50",
        "start_type lazy",
        "threshold 5",
        "idle_timeout 30",
        "connection third",
        f"address localhost:{dead[3]}",
        "topic y/#",
        "bridge_protocol_version mqttv31",
        "start_type once",
        "bridge_identity id",
        "bridge_psk 00ff",
    ])
    # Still serving its own clients.
    c = b.connect("plain-client")
    c.ping()


# --------------------------------------------------------------------------------------
# Refused with file:line
# --------------------------------------------------------------------------------------
# (name, lines after the listener, 1-based line numbers of which one must be reported).
# Line 1 is `user root` / a comment, line 2 the listener, so a section starts at line 3.
CASES = [
    ("empty-pattern-one-prefix", section('topic "" out 0 local/'), [5]),
    ("empty-pattern-no-prefix", section('topic "" both 1 "" ""'), [5]),
    ("qos-3", section("topic a/# out 3"), [5]),
    ("bad-direction", section("topic a/# sideways 1"), [5]),
    ("wildcard-in-prefix", section("topic a/+ out 1 lo+cal/ remote/"), [5]),
    ("wildcard-in-whole-topic", section('topic "" out 1 a/# b/'), [5]),
    # Mosquitto names the line where the second of the two shows up; the connection line
    # or either of the two is a fair answer.
    ("psk-and-cafile", section("topic a/# out 0", "bridge_identity id", "bridge_psk 0011",
                               "bridge_cafile /etc/ssl/certs/ca-certificates.crt"), [3, 7, 8]),
    ("bad-protocol-version", section("topic a/# out 1", "bridge_protocol_version mqttv4"), [6]),
    ("bad-start-type", section("topic a/# out 1", "start_type sometimes"), [6]),
    ("bad-boolean", section("topic a/# out 1", "bridge_insecure maybe"), [6]),
    ("bad-port", ["connection office", "address 127.0.0.1:70000", "topic a/# out 1"], [4]),
    ("duplicate-name", section("topic a/# out 1") + section("topic b/# out 1"), [6]),
    ("topic-outside-connection", ["topic a/# out 1"], [3]),
    ("empty-connection-name", ["connection", "address 127.0.0.1:1"], [3]),
]


@pytest.mark.parametrize("lines, report", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_bridge_config_stops_startup_with_file_and_line(broker_bin, broker_kind, tmp_path, lines, report):
    conf = write(tmp_path, [(root_lines(broker_kind) or ["# bridge config test"])[0],
                            f"listener {free_port()} 127.0.0.1", *lines])
    status, out = run_config_check(broker_bin, conf)
    assert status != 0, out
    assert re.search(rf"{re.escape(str(conf))}:({'|'.join(map(str, report))})\b", out), out


def test_bridge_without_address_stops_startup(broker_bin, broker_kind, tmp_path):
    # Mosquitto checks this after reading the whole file and names no line.
    conf = write(tmp_path, [(root_lines(broker_kind) or ["# bridge config test"])[0],
                            f"listener {free_port()} 127.0.0.1", "connection office", "topic a/# out 1"])
    status, out = run_config_check(broker_bin, conf)
    assert status != 0, out
    assert "address" in out, out


@pytest.mark.petrel_only("Mosquitto 2.0.11 accepts any bridge_psk text and fails only when connecting")
# (An odd number of digits is valid: a leading 0, as Mosquitto reads PSK keys.)
@pytest.mark.parametrize("psk", ["zz", "0x12"], ids=["not-hex", "0x-prefix"])
def test_bad_hex_bridge_psk_stops_startup(broker_bin, tmp_path, psk):
    conf = write(tmp_path, ["# bridge config test", f"listener {free_port()} 127.0.0.1",
                            *section("topic a/# out 0", "bridge_identity id", f"bridge_psk {psk}")])
    status, out = run_config_check(broker_bin, conf)
    assert status != 0, out
    assert re.search(rf"{re.escape(str(conf))}:7\b", out), out


def test_psk_without_identity_stops_startup(broker_bin, broker_kind, tmp_path):
    # Mosquitto checks this after reading the whole file and names no line.
    conf = write(tmp_path, [(root_lines(broker_kind) or ["# bridge config test"])[0], f"listener {free_port()} 127.0.0.1",
                            *section("topic a/# out 0", "bridge_psk 0011")])
    status, out = run_config_check(broker_bin, conf)
    assert status != 0, out
    assert "bridge_identity" in out, out
