"""Real third-party clients against the broker: mosquitto_pub / mosquitto_sub /
mosquitto_rr (Debian mosquitto-clients 2.0.11) and paho-mqtt (python3-paho-mqtt)."""
import queue
import shutil
import subprocess
import threading
import time

import pytest

from helpers import V5

HAVE_CLIENTS = shutil.which("mosquitto_pub") and shutil.which("mosquitto_sub")
needs_clients = pytest.mark.skipif(not HAVE_CLIENTS, reason="mosquitto-clients not installed")

try:
    import paho.mqtt.client as paho
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    HAVE_PAHO = True
except ImportError:  # pragma: no cover - depends on the interpreter
    HAVE_PAHO = False
needs_paho = pytest.mark.skipif(not HAVE_PAHO, reason="paho-mqtt not importable "
                                "(run with /usr/bin/python3)")

TOOL_TIMEOUT = 10
LINEBUF = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []


# --------------------------------------------------------------------------------------
# mosquitto_sub / mosquitto_pub
# --------------------------------------------------------------------------------------
class Sub:
    """mosquitto_sub in the background, with -d so we know when SUBACK arrived; message
    lines (formatted with -F) are separated from the debug lines."""

    def __init__(self, b, args, fmt="%t|%p|%q|%r"):
        # stdout is a pipe: force line buffering so the debug lines arrive as they happen.
        self.cmd = LINEBUF + ["mosquitto_sub", "-h", b.host, "-p", str(b.port), "-d", "-W",
                              str(TOOL_TIMEOUT), "-F", fmt] + [str(a) for a in args]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.debug: list[str] = []
        self.subscribed = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        if not self.subscribed.wait(TOOL_TIMEOUT):
            self.proc.kill()
            raise AssertionError(f"mosquitto_sub never got SUBACK: {self.debug}")

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("Client ") or line.startswith("Subscribed (mid"):
                self.debug.append(line)
                if "received SUBACK" in line:
                    self.subscribed.set()
            else:
                # A queued message can arrive before the SUBACK.
                self.subscribed.set()
                self.lines.put(line)
        self.subscribed.set()

    def messages(self, n, timeout=TOOL_TIMEOUT):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            try:
                out.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"got {out}, expected {n} lines; debug: {self.debug}")
        return out

    def wait(self, timeout=TOOL_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def pub(b, *args, check=True):
    cmd = ["mosquitto_pub", "-h", b.host, "-p", str(b.port)] + [str(a) for a in args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    if check:
        assert res.returncode == 0, f"{cmd}: {res.returncode} {res.stdout} {res.stderr}"
    return res


@needs_clients
@pytest.mark.parametrize("version", ["311", "5", "31"])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_mosquitto_pub_sub(b, version, qos):
    s = Sub(b, ["-V", version, "-q", qos, "-t", "tools/#", "-C", "2"])
    pub(b, "-V", version, "-q", qos, "-t", "tools/a", "-m", "first")
    pub(b, "-V", version, "-q", qos, "-t", "tools/b/c", "-m", "second")
    assert s.messages(2) == [f"tools/a|first|{qos}|0", f"tools/b/c|second|{qos}|0"]
    assert s.wait() == 0


@needs_clients
@pytest.mark.parametrize("version", ["311", "5"])
def test_mosquitto_retained(b, version):
    pub(b, "-V", version, "-q", 1, "-r", "-t", "tools/retained", "-m", "kept")
    s = Sub(b, ["-V", version, "-q", 1, "-t", "tools/retained", "-C", "1"])
    assert s.messages(1) == ["tools/retained|kept|1|1"]
    assert s.wait() == 0
    # -n -r clears it: a new subscriber sees nothing (-W bounds the wait).
    pub(b, "-V", version, "-r", "-n", "-t", "tools/retained")
    res = subprocess.run(["mosquitto_sub", "-h", b.host, "-p", str(b.port), "-V", version,
                          "-t", "tools/retained", "-W", "1"],
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    assert res.stdout == ""


@needs_clients
def test_mosquitto_pub_stdin_lines(b):
    s = Sub(b, ["-t", "tools/lines", "-C", "3", "-q", "1"], fmt="%p")
    res = subprocess.run(["mosquitto_pub", "-h", b.host, "-p", str(b.port), "-t", "tools/lines",
                          "-q", "1", "-l"], input="one\ntwo\nthree\n", capture_output=True,
                         text=True, timeout=TOOL_TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert s.messages(3) == ["one", "two", "three"]
    assert s.wait() == 0


@needs_clients
def test_mosquitto_v5_properties(b):
    s = Sub(b, ["-V", "5", "-t", "tools/props", "-C", "1"], fmt="%p|%P")
    pub(b, "-V", "5", "-t", "tools/props", "-m", "withprops",
        "-D", "publish", "user-property", "site", "office1",
        "-D", "publish", "content-type", "text/plain")
    assert s.messages(1) == ["withprops|site:office1"]
    assert s.wait() == 0


@needs_clients
@pytest.mark.parametrize("version", ["311", "5"])
def test_mosquitto_sub_persistent_session(b, version):
    """-c with a fixed id: messages published while the subscriber is away are queued."""
    extra = ["-x", "60"] if version == "5" else []
    res = subprocess.run(["mosquitto_sub", "-h", b.host, "-p", str(b.port), "-V", version,
                          "-c", "-i", "tool-persist", "-q", "1", "-t", "tools/p", "-E"] + extra,
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    assert res.returncode == 0, res.stderr
    pub(b, "-V", version, "-q", 1, "-t", "tools/p", "-m", "while away")
    s = Sub(b, ["-V", version, "-c", "-i", "tool-persist", "-q", "1", "-t", "tools/p", "-C", "1"]
            + extra, fmt="%p|%q")
    assert s.messages(1) == ["while away|1"]
    assert s.wait() == 0


@needs_clients
def test_mosquitto_sub_unsubscribe_and_filter_out(b):
    s = Sub(b, ["-t", "tools/f/#", "-T", "tools/f/skip", "-C", "1"], fmt="%t")
    pub(b, "-t", "tools/f/skip", "-m", "x")
    pub(b, "-t", "tools/f/keep", "-m", "y")
    assert s.messages(1) == ["tools/f/keep"]
    assert s.wait() == 0


@needs_clients
def test_mosquitto_pub_refused_qos_above_max_qos_v5(broker):
    b = broker(listener_extra=["max_qos 1"])
    s = Sub(b, ["-V", "5", "-q", "2", "-t", "tools/mq", "-C", "1"], fmt="%p|%q")
    pub(b, "-V", "5", "-q", "1", "-t", "tools/mq", "-m", "ok")
    assert s.messages(1) == ["ok|1"]
    s.wait()


@needs_clients
@pytest.mark.skipif(not shutil.which("mosquitto_rr"), reason="mosquitto_rr not installed")
def test_mosquitto_rr_request_response(b):
    """mosquitto_rr sends a v5 request with Response Topic and Correlation Data; a raw
    responder answers on the response topic with the correlation data."""
    responder = b.connect("responder", version=V5)
    responder.subscribe([("svc/req", 1)])
    rr = subprocess.Popen(["mosquitto_rr", "-h", b.host, "-p", str(b.port), "-t", "svc/req",
                           "-e", "svc/resp", "-m", "question", "-W", str(TOOL_TIMEOUT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        req = responder.recv_publish(timeout=TOOL_TIMEOUT)
        assert req.payload == b"question"
        assert req.props.get("response_topic") == "svc/resp"
        responder.publish(req.props["response_topic"], b"answer", qos=1,
                          props={"correlation_data": req.props.get("correlation_data", b"")})
        out, err = rr.communicate(timeout=TOOL_TIMEOUT)
    finally:
        if rr.poll() is None:
            rr.kill()
            rr.wait()
    assert rr.returncode == 0, err
    assert out.strip() == "answer"


# --------------------------------------------------------------------------------------
# paho-mqtt
# --------------------------------------------------------------------------------------
class PahoClient:
    def __init__(self, b, cid, protocol, clean=True, props=None, will=None):
        self.events = {"connect": threading.Event(), "subscribe": threading.Event()}
        self.messages: "queue.Queue" = queue.Queue()
        self.rc = None
        if protocol == paho.MQTTv5:
            self.c = paho.Client(client_id=cid, protocol=protocol)
        else:
            self.c = paho.Client(client_id=cid, protocol=protocol, clean_session=clean)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda *a: self.events["subscribe"].set()
        self.c.on_message = lambda client, userdata, msg: self.messages.put(msg)
        if will:
            self.c.will_set(**will)
        kwargs = {"keepalive": 30}
        if protocol == paho.MQTTv5:
            kwargs["clean_start"] = clean
            kwargs["properties"] = props
        self.c.connect(b.host, b.port, **kwargs)
        self.c.loop_start()
        assert self.events["connect"].wait(TOOL_TIMEOUT), "paho: no CONNACK"
        assert self.rc == 0, f"paho: CONNACK rc {self.rc}"

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.rc = rc if isinstance(rc, int) else rc.value
        self.flags = flags
        self.events["connect"].set()

    def subscribe(self, topic, qos=0, **kw):
        self.events["subscribe"].clear()
        self.c.subscribe(topic, qos, **kw)
        assert self.events["subscribe"].wait(TOOL_TIMEOUT), "paho: no SUBACK"

    def get(self, timeout=TOOL_TIMEOUT):
        return self.messages.get(timeout=timeout)

    def stop(self, disconnect=True):
        if disconnect:
            self.c.disconnect()
        self.c.loop_stop()


@needs_paho
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_paho_v311_round_trip(b, qos):
    s = PahoClient(b, "paho-sub", paho.MQTTv311)
    p = PahoClient(b, "paho-pub", paho.MQTTv311)
    try:
        s.subscribe("paho/t", qos)
        info = p.c.publish("paho/t", b"from paho", qos=qos)
        info.wait_for_publish()
        msg = s.get()
        assert (msg.topic, msg.payload, msg.qos) == ("paho/t", b"from paho", qos)
    finally:
        s.stop()
        p.stop()


@needs_paho
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_paho_v5_round_trip_with_properties(b, qos):
    s = PahoClient(b, "paho5-sub", paho.MQTTv5)
    p = PahoClient(b, "paho5-pub", paho.MQTTv5)
    try:
        sub_props = Properties(PacketTypes.SUBSCRIBE)
        sub_props.SubscriptionIdentifier = 42
        s.subscribe("paho5/#", qos, properties=sub_props)
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("a", "1"), ("b", "2")]
        props.ContentType = "application/octet-stream"
        props.ResponseTopic = "paho5/reply"
        props.CorrelationData = b"\x01\x02\x03"
        props.PayloadFormatIndicator = 0
        props.MessageExpiryInterval = 60
        p.c.publish("paho5/t", b"\x00\xffv5", qos=qos, properties=props).wait_for_publish()
        msg = s.get()
        assert (msg.topic, msg.payload, msg.qos) == ("paho5/t", b"\x00\xffv5", qos)
        mp = msg.properties
        assert mp.UserProperty == [("a", "1"), ("b", "2")]
        assert mp.ContentType == "application/octet-stream"
        assert mp.ResponseTopic == "paho5/reply"
        assert mp.CorrelationData == b"\x01\x02\x03"
        assert mp.SubscriptionIdentifier == [42]
        assert 0 < mp.MessageExpiryInterval <= 60
    finally:
        s.stop()
        p.stop()


@needs_paho
def test_paho_v311_and_v5_interoperate(b):
    s3 = PahoClient(b, "p3", paho.MQTTv311)
    s5 = PahoClient(b, "p5", paho.MQTTv5)
    try:
        s3.subscribe("mix/#", 1)
        s5.subscribe("mix/#", 1)
        s5.c.publish("mix/from5", b"five", qos=1).wait_for_publish()
        s3.c.publish("mix/from3", b"three", qos=1).wait_for_publish()
        got3 = sorted(s3.get().payload for _ in range(2))
        got5 = sorted(s5.get().payload for _ in range(2))
        assert got3 == got5 == [b"five", b"three"]
    finally:
        s3.stop()
        s5.stop()


@needs_paho
def test_paho_v5_persistent_session(b):
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 60
    s = PahoClient(b, "paho-persist", paho.MQTTv5, clean=False, props=props)
    s.subscribe("pp/t", 1)
    s.stop()
    p = PahoClient(b, "paho-pub", paho.MQTTv5)
    p.c.publish("pp/t", b"queued", qos=1).wait_for_publish()
    p.stop()
    s = PahoClient(b, "paho-persist", paho.MQTTv5, clean=False, props=props)
    try:
        assert s.flags.get("session present") == 1
        assert s.get().payload == b"queued"
    finally:
        s.stop()


@needs_paho
def test_paho_will(b):
    w = b.connect("will-watcher", version=V5)
    w.subscribe([("paho/will", 1)])
    c = PahoClient(b, "paho-will", paho.MQTTv311,
                   will={"topic": "paho/will", "payload": b"paho died", "qos": 1})
    # Drop the TCP connection without DISCONNECT.
    c.c.loop_stop()
    c.c.socket().close()
    msg = w.recv_publish(timeout=TOOL_TIMEOUT)
    assert msg.payload == b"paho died"
