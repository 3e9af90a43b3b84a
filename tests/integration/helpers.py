"""Small shared helpers for the numbered test files."""
from __future__ import annotations

import time

import pytest

import rawmqtt as mq

V31, V311, V5 = mq.V31, mq.V311, mq.V5

# Parametrize a test over protocol versions.
v3_v5 = pytest.mark.parametrize("version", [V311, V5], ids=["v311", "v5"])
all_versions = pytest.mark.parametrize("version", [V31, V311, V5], ids=["v31", "v311", "v5"])


def persistent(version: int, expiry: int = 300) -> dict:
    """Keyword arguments for a CONNECT that asks for a session kept after disconnect:
    clean session 0 for v3, clean start 0 plus a session expiry interval for v5."""
    if version == V5:
        return {"clean": False, "props": {"session_expiry_interval": expiry}}
    return {"clean": False}


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def sync(client: mq.Client) -> None:
    """Round trip a PINGREQ so that everything sent before it has been processed by the
    broker (brokers handle a connection's packets in order)."""
    client.ping()


def payloads(packets) -> list[bytes]:
    return [p.payload for p in packets]
