"""Two-broker (bridge) runs for bench/run: an edge broker bridged `out` to a remote broker of
the same kind, publishers on the edge, subscribers on the remote (petrel_bench --sub-port).

The remote starts first with the plain benchmark configuration; the edge gets the same lines
plus one `connection` section. Before the generator starts, a probe published on the edge
must arrive at the remote (the bridge is up), within a bounded time."""
import socket
import struct
import time

# Edge broker name -> the kind both ends are.
BRIDGED = {"petrel-bridge": "petrel", "mosquitto-bridge": "mosquitto"}
READY_TIMEOUT = 30.0


def bridge_lines(remote_port, qos, edge_port):
    """The edge's bridge: everything under the generator's topic prefix goes out at `qos`."""
    return ["connection bench", f"address 127.0.0.1:{remote_port}", f"topic bench/# out {qos}",
            f"remote_clientid bench-bridge-{edge_port}", "cleansession true", "bridge_protocol_version mqttv311",
            "try_private true", "notifications false", "restart_timeout 1"]


def _packet(ptype_flags, body):
    n, out = len(body), bytearray([ptype_flags])
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out) + body


def _str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _client(port, client_id):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(_packet(0x10, _str("MQTT") + bytes([4, 2]) + struct.pack("!H", 30) + _str(client_id)))
    if s.recv(4)[:1] != b"\x20":
        raise OSError("no CONNACK")
    return s


def wait_bridged(edge_port, remote_port, timeout=READY_TIMEOUT):
    """Publishes QoS 0 probes on the edge until one arrives at a subscriber on the remote;
    True when one did within `timeout` s."""
    deadline = time.monotonic() + timeout
    sub = pub = None
    try:
        sub = _client(remote_port, "bench-probe-sub")
        sub.sendall(_packet(0x82, struct.pack("!H", 1) + _str("bench/probe") + b"\x00"))
        pub = _client(edge_port, "bench-probe-pub")
        sub.settimeout(0.2)
        seen = b""
        while time.monotonic() < deadline:
            pub.sendall(_packet(0x30, _str("bench/probe") + b"probe"))
            try:
                seen += sub.recv(4096)
            except socket.timeout:
                pass
            if b"bench/probe" in seen:
                return True
        return False
    except OSError:
        return False
    finally:
        for s in (pub, sub):
            if s:
                s.close()
