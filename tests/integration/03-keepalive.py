"""Keep alive: the broker closes a silent connection after 1.5 x Keep Alive; max_keepalive."""
import time

import pytest

import rawmqtt as mq
from helpers import V311, V5, v3_v5


def closed_after(client, timeout):
    """Seconds until the broker closes `client` (a DISCONNECT, if any, must be 0x8D)."""
    start = time.monotonic()
    disc = client.expect_closed(timeout=timeout)
    if disc is not None:
        assert disc.rc == mq.RC_KEEP_ALIVE_TIMEOUT, disc
    return time.monotonic() - start


@v3_v5
def test_keepalive_timeout_closes_connection_MQTT_3_1_2_24(b, version):
    """[MQTT-3.1.2-24] no packet within 1.5 x Keep Alive: the broker closes the
    connection; not before the Keep Alive period itself."""
    c = b.connect("ka", version=version, keepalive=1)
    time.sleep(1.2)
    assert mq.is_open(c), "closed before 1.5 x keepalive"
    elapsed = closed_after(c, timeout=10) + 1.2
    assert elapsed >= 1.4


@pytest.mark.mosquitto_deviates("Mosquitto 2.0.11 checks keepalives only every ~5 s, so it "
                                "closes up to 5 s after 1.5 x Keep Alive [MQTT-3.1.2-24]",
                                strict=False)
@v3_v5
def test_keepalive_timeout_is_prompt_MQTT_3_1_2_24(b, version):
    c = b.connect("kap", version=version, keepalive=2)
    elapsed = closed_after(c, timeout=10)
    assert 2.9 <= elapsed <= 4.0, f"closed after {elapsed:.2f}s, expected ~3s (1.5 x 2s)"


@v3_v5
def test_pingreq_keeps_connection_alive(b, version):
    c = b.connect("ping", version=version, keepalive=1)
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        c.ping()
        time.sleep(0.4)
    assert mq.is_open(c)


@v3_v5
def test_any_packet_resets_keepalive(b, version):
    c = b.connect("pubka", version=version, keepalive=1)
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        c.publish("ka/t", b"x", qos=0)
        time.sleep(0.4)
    c.ping()


@pytest.mark.slow
def test_keepalive_zero_disables_timeout(b):
    """Keep Alive 0 switches the mechanism off: while a keepalive-1 connection times out,
    the keepalive-0 one stays open."""
    off = b.connect("off", version=V311, keepalive=0)
    on = b.connect("on", version=V311, keepalive=1)
    closed_after(on, timeout=10)
    time.sleep(0.5)
    assert mq.is_open(off)
    off.ping()


def test_v5_max_keepalive_server_keep_alive_MQTT_3_2_2_21(broker):
    """max_keepalive: a v5 client asking for more (or for 0) gets Server Keep Alive =
    max_keepalive in CONNACK and must use it; a smaller value is left alone."""
    b = broker(["max_keepalive 10"])
    assert b.connect("a", version=V5, keepalive=60).connack.props.get("server_keep_alive") == 10
    assert b.connect("b", version=V5, keepalive=0).connack.props.get("server_keep_alive") == 10
    assert "server_keep_alive" not in b.connect("c", version=V5, keepalive=5).connack.props
    assert "server_keep_alive" not in b.connect("d", version=V5, keepalive=10).connack.props


def test_v311_keepalive_within_max_keepalive_accepted(broker):
    b = broker(["max_keepalive 10"])
    for ka in (1, 10):
        c = b.connect(f"v3-{ka}", version=V311, keepalive=ka)
        assert c.connack.raw == b"\x20\x02\x00\x00"


@pytest.mark.petrel_only("Mosquitto 2.0.11 accepts a v3 client whose keepalive exceeds "
                         "max_keepalive (or is 0) and never applies the limit to it, which "
                         "leaves CVE-2020-13849 open; later Mosquitto 2.0.x releases refuse "
                         "such clients with return code 2, and Petrel does the same")
def test_v311_keepalive_above_max_keepalive_refused_rc2(broker):
    """A v3 client cannot be told a Server Keep Alive, so one asking for more than
    max_keepalive (0 = no keepalive counts as more) is refused: CONNACK return code 2."""
    b = broker(["max_keepalive 10"])
    for ka in (11, 600, 0):
        c = b.client(V311)
        c.connect(f"v3-{ka}", keepalive=ka, expect_rc=mq.V3_IDENTIFIER_REJECTED)
        c.expect_closed()


@pytest.mark.slow
def test_v5_server_keep_alive_enforced(broker):
    """A v5 client told Server Keep Alive 10 (it asked for 0) is held to it: closed after
    15 s of silence."""
    b = broker(["max_keepalive 10"])
    v5 = b.connect("v5", version=V5, keepalive=0)
    assert v5.connack.props.get("server_keep_alive") == 10
    start = time.monotonic()
    time.sleep(9.0)
    assert mq.is_open(v5)
    closed_after(v5, timeout=25 - (time.monotonic() - start))
    assert time.monotonic() - start >= 14.0
