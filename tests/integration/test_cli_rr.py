"""petrel_rr against Petrel and mosquitto, reap_procs, side by side with mosquitto_rr: the request
carries the response topic (v5), the first response is printed like petrel_sub prints."""
from __future__ import annotations

import threading
import uuid

import pytest

import rawmqtt as mq
from test_cli_support import both, mosquitto, reap_procs, run, server, unique  # noqa: F401


def responder(srv, request_topic, answers: list, ready: threading.Event, stop: threading.Event):
    """Answers each request on its response topic, echoing the correlation data."""
    with mq.Client(srv.port, host=srv.host, version=mq.V5) as c:
        c.connect(f"responder-{uuid.uuid4().hex[:8]}")
        c.subscribe([request_topic])
        ready.set()
        while not stop.is_set():
            try:
                p = c.recv(timeout=0.2)
            except Exception:
                continue
            if p.type != mq.PUBLISH:
                continue
            rt = p.props.get("response_topic") if p.props else None
            answers.append((p.payload, rt))
            if rt:
                props = [("correlation_data", p.props["correlation_data"])] if "correlation_data" in p.props else None
                c.publish(rt, b"reply:" + p.payload, props=props)


@pytest.mark.parametrize("extra", [[], ["-v"], ["-F", "%t|%p|%D"], ["-D", "publish", "correlation-data", "c1",
                                                                   "-F", "%p|%D"]],
                         ids=["plain", "verbose", "format", "correlation"])
def test_request_response_matches_mosquitto_rr(server, extra):
    srv = server()
    req = unique("req")
    outs = {}
    for kind, tool in both("rr").items():
        answers, ready, stop = [], threading.Event(), threading.Event()
        t = threading.Thread(target=responder, args=(srv, req, answers, ready, stop), daemon=True)
        t.start()
        assert ready.wait(5)
        resp = f"resp/{kind}"
        rc, out, err = run([tool, "-h", srv.host, "-p", str(srv.port), "-t", req, "-e", resp, "-m", "ping",
                            "-W", "5"] + extra)
        stop.set()
        t.join(5)
        assert rc == 0, (kind, err)
        assert answers == [(b"ping", resp)]
        outs[kind] = out.replace(resp.encode(), b"RESP")
    assert outs["petrel"] == outs["mosquitto"]


def test_rr_timeout(server):
    srv = server()
    results = {k: run([t, "-h", srv.host, "-p", str(srv.port), "-t", unique(), "-e", unique(), "-m", "x",
                       "-W", "1"]) for k, t in both("rr").items()}
    assert results["petrel"][0] == results["mosquitto"][0] == 27
    assert results["petrel"][2] == b"Timed out\n"


def test_rr_needs_response_topic():
    rc, out, err = run([both("rr")["petrel"], "-t", "a", "-m", "x"])
    assert rc == 1 and err.startswith(b"Error: ")
