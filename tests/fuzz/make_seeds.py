#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from real material, so where each seed came
from can be checked and the seeds made again:

  - text the unit tests parse: the string literals passed to parse()/parse_config_text()
    in tests/unit/config, tests/unit/auth (password, ACL and PSK files) and
    tests/unit/net/websocket_handshake_test.cpp (upgrade requests);
  - Debian's Mosquitto files: /etc/mosquitto/mosquitto.conf and the examples in
    /usr/share/doc/mosquitto/examples (mosquitto.conf, pwfile, aclfile, pskfile);
  - the project's own configuration (packaging/petrel.conf);
  - the upgrade request and frames the black-box suite's RFC 6455 client sends
    (tests/integration/test_ws_websockets.py), around MQTT packets of the decode corpus;
  - Mosquitto 2.0.11's mosquitto.db (tests/unit/persist/fixtures, ../shared/fixtures);
  - requests shaped like the admin tests' (tests/integration/test_admin_*.py) and a PEM
    certificate of Debian's ca-certificates.

Seeds are named seed-*; crash reproducers kept as regression cases are named crash-* and
are never touched. Run from anywhere: tests/fuzz/make_seeds.py
"""
import ast
import glob
import hashlib
import json
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def c_literals_after(text, call):
    """The strings passed as the first argument of `call(`: adjacent C literals joined."""
    out = []
    for m in re.finditer(re.escape(call) + r"\s*\(\s*", text):
        pos = m.end()
        parts = []
        while True:
            lit = LITERAL.match(text, pos)
            if not lit:
                break
            parts.append(lit.group(0))
            pos = lit.end()
            while pos < len(text) and text[pos] in " \t\n":
                pos += 1
        if parts:
            try:
                s = "".join(ast.literal_eval(p) for p in parts)
            except (ValueError, SyntaxError):
                continue
            out.append(s.encode("latin-1", "replace"))
    return out


def write(target, data, tag):
    d = os.path.join(HERE, target, "corpus")
    os.makedirs(d, exist_ok=True)
    name = "seed-%s-%s" % (tag, hashlib.sha1(data).hexdigest()[:12])
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def from_tests(target, files, calls, tag):
    n = 0
    for path in files:
        text = read(path).decode("utf-8", "replace")
        for call in calls:
            for s in c_literals_after(text, call):
                write(target, s, tag)
                n += 1
    return n


def multiline_literals(path):
    """Every group of adjacent string literals in a test file that spans lines of text."""
    text = read(path).decode("utf-8", "replace")
    out = []
    for m in re.finditer(r'(?:"(?:[^"\\\n]|\\.)*"\s*)+', text):
        try:
            s = "".join(ast.literal_eval(p) for p in LITERAL.findall(m.group(0)))
        except (ValueError, SyntaxError):
            continue
        if "\n" in s.rstrip("\n"):
            out.append(s.encode("latin-1", "replace"))
    return out


def debian(name):
    for d in ("/usr/share/doc/mosquitto/examples", "/etc/mosquitto"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return read(p)
    return None


def mask(payload, key=b"\x37\xfa\x21\x3d"):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def client_frame(opcode, payload, fin=True, key=b"\x37\xfa\x21\x3d"):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + mask(payload, key)


def main():
    unit = os.path.join(ROOT, "tests", "unit")
    # Configuration text.
    n = from_tests("config", glob.glob(os.path.join(unit, "config", "*_test.cpp")),
                   ["parse", "parse_ok", "parse_config_text"], "unit")
    for src, tag in ((debian("mosquitto.conf"), "debian-example"),
                     (read("/etc/mosquitto/mosquitto.conf") if os.path.exists("/etc/mosquitto/mosquitto.conf") else None,
                      "debian-etc"),
                     (read(os.path.join(ROOT, "packaging", "petrel.conf")), "packaging")):
        if src:
            write("config", src, tag)
    print("config: %d from unit tests" % n)
    # Password, ACL and PSK files.
    auth = os.path.join(unit, "auth")
    for target, test, example in (("password_file", "password_file_test.cpp", "pwfile.example"),
                                  ("acl_file", "acl_file_test.cpp", "aclfile.example"),
                                  ("psk_file", "psk_file_test.cpp", "pskfile.example")):
        cls = {"password_file": "PasswordFile", "acl_file": "AclFile", "psk_file": "PskFile"}[target]
        n = from_tests(target, [os.path.join(auth, test)], [cls + "::parse"], "unit")
        for lit in multiline_literals(os.path.join(auth, test)):
            write(target, lit, "unit")
            n += 1
        ex = debian(example)
        if ex:
            write(target, ex, "debian")
        print("%s: %d from unit tests" % (target, n))
    # Bridge topic rules: the `topic` lines of the bridge option tests, in the target's
    # PATTERN|DIR|QOS|LOCAL|REMOTE form, with topics to map.
    rules = []
    for s in c_literals_after(read(os.path.join(unit, "config", "bridge_options_test.cpp")).decode(), "bridge_ok"):
        for line in s.decode("latin-1").splitlines():
            w = line.split()
            if len(w) >= 2 and w[0] == "topic":
                f = w[1:] + [""] * (5 - len(w[1:]))
                f = [x if x != '""' else "" for x in f[:5]]
                rules.append("%s|%s|%s|%s|%s" % (f[0], f[1] or "out", f[2] or "0", f[3], f[4]))
    topics = ["1a/b", "2sensors/t", "0a", "1local/x", "2remote/x/y", "1$SYS/broker/uptime"]
    for i in range(0, max(len(rules), 1), 3):
        write("topic_map", ("\n".join(rules[i:i + 3] or ["a/#|both|1||"]) + "\n\n" + "\n".join(topics)).encode(), "unit")
    write("topic_map", b"#|both|2|local/|remote/\n|out|1|a/b|c/d\n\n2local/a\n1remote/b/c\n0a/b\n", "doc")
    # WebSocket upgrade requests and frames.
    n = from_tests("websocket_upgrade", [os.path.join(unit, "net", "websocket_handshake_test.cpp")],
                   ["parse_upgrade_request"], "unit")
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    suite = ("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n" % key)
    for knobs in (0, 4, 8):
        write("websocket_upgrade", bytes([knobs]) + suite.encode(), "integration")
    write("websocket_upgrade", bytes([4]) + b"GET /index.html HTTP/1.1\r\nHost: router\r\n\r\n", "http-dir")
    print("websocket_upgrade: %d from unit tests" % n)
    packets = [read(p) for p in sorted(glob.glob(os.path.join(HERE, "decode", "corpus", "*")))][:12]
    for i, pkt in enumerate(packets):
        frames = client_frame(0x2, pkt)
        if i % 3 == 1 and len(pkt) > 2:  # split over a fragmented message
            frames = client_frame(0x2, pkt[:2], fin=False) + client_frame(0x0, pkt[2:])
        if i % 4 == 2:
            frames += client_frame(0x9, b"ping") + client_frame(0x8, struct.pack(">H", 1000) + b"bye")
        write("websocket_frame", bytes([i * 37 & 0xff, i * 11 & 0xff]) + frames, "suite-packets")
    # Mosquitto 2.0's persistence file.
    for p in glob.glob(os.path.join(unit, "persist", "fixtures", "*.db")) + \
            glob.glob(os.path.join(ROOT, "..", "shared", "fixtures", "mosquitto-persistence", "*.db")):
        write("mosquitto_db", read(p), "mosquitto-2.0.11")
    # Admin API requests.
    def req(method, path, body=None):
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n" % (method, path)
        if body is None:
            return (head + "\r\n").encode()
        b = json.dumps(body).encode()
        return (head + "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)).encode() + b
    pem = None
    for p in sorted(glob.glob("/usr/share/ca-certificates/mozilla/*.crt"))[:1]:
        pem = read(p).decode()
    admin = [req("GET", "/api/petrel/v1/status"), req("GET", "/api/petrel/v1/clients?limit=10&offset=0&q=sensor%2F1"),
             req("GET", "/api/petrel/v1/retained/a/b%2Fc"), req("DELETE", "/api/petrel/v1/bridges/cloud"),
             req("PUT", "/api/petrel/v1/broker", {"port": 1883, "tls_mode": "none", "restrict": "password",
                                                  "username": "u", "password": "p", "log_level": "info"}),
             req("POST", "/api/petrel/v1/publish", {"topic": "a/b", "payload": "x", "qos": 1, "retain": False}),
             req("POST", "/api/petrel/v1/bridges", {"name": "cloud", "address": {"host": "10.0.0.1", "port": 1883},
                                                    "topics": [{"pattern": "#", "direction": "both", "qos": 1}]}),
             req("POST", "/api/petrel/v1/login", {"username": "admin", "password": "secret"})]
    if pem:
        admin.append(req("POST", "/api/petrel/v1/check-pem", {"certificate": pem, "ca": pem}))
    for a in admin:
        write("admin_http", a, "requests")
    # WorkerCore: operation sequences (see worker_core_fuzz.cpp for the byte layout):
    # connect c0 and c1, c1 subscribes "a/#" at QoS 1/2, c0 publishes QoS 0/1/2 on a/b,
    # answers, PUBREL, ping, time passes, disconnect with will.
    ops = [
        bytes([0x00, 0x05, 0x10, 0x05, 0x11, 0x01, 0x01, 0x03, 0x01, 0x01, 0x03, 0x01, 0x12, 0x1b,
               0x05, 0x02, 0x01, 0x0a, 0x09, 0x00, 0x10, 0x08, 0x01]),
        bytes([0x00, 0x16, 0x10, 0x16, 0x11, 0x03, 0x02, 0x03, 0x01, 0x02, 0x1b, 0x03, 0x01, 0x22,
               0x03, 0x01, 0x22, 0x05, 0x02, 0x01, 0x1b, 0x07, 0x10, 0x12, 0x1b]),
        bytes([0x00, 0x05, 0x20, 0x1e, 0x21, 0x03, 0x01, 0x30, 0x01, 0x31, 0x00, 0x01, 0x03, 0x01,
               0x11, 0x06, 0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61, 0x09, 0x01, 0x00]),
    ]
    for o in ops:
        write("worker_core", o, "sequence")


if __name__ == "__main__":
    main()
