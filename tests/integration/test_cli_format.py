"""petrel_sub output is byte-for-byte mosquitto_sub's (Debian 2.0.11): default, -v, -N and
every -F code, flag, width, precision, escape and @ time code, %j / %J with --pretty.
Both tools subscribe side by side on the same broker (Petrel and mosquitto) and receive the
same messages, published with exact bytes and v5 properties by rawmqtt."""
from __future__ import annotations

import pytest

from test_cli_support import assert_same, compare_sub, mosquitto, reap_procs, server  # noqa: F401

ALL_PROPS = [("payload_format_indicator", 1), ("message_expiry_interval", 3600),
             ("content_type", "application/json"), ("response_topic", "resp/topic"),
             ("correlation_data", b"corr-1"), ("user_property", ("k1", "v1")),
             ("user_property", ("k2", "v2"))]

MESSAGES = [
    {"topic": "a/plain", "payload": b"hello world", "qos": 1},
    {"topic": "b/empty", "payload": b"", "qos": 0},
    {"topic": "c/json", "payload": b'{"temp": 21.50, "list":[1, 2,{"x":null}], "s":"\\u00e9\\n", '
                                   b'"big": 1e20, "neg": -0, "t": true, "e": {}, "ea": []}',
     "qos": 2, "props": ALL_PROPS},
    {"topic": "d/binary", "payload": b"bin\x00ary\x01\x1f\x7f\xc3\xa9\xff\"\\/\n\ttail", "qos": 1},
    {"topic": "e/props", "payload": b"42", "qos": 1,
     "props": [("user_property", ("a", "1")), ("content_type", "text/plain"),
               ("user_property", ("b", "2")), ("user_property", ("a", "3"))]},
    {"topic": "f/long", "payload": bytes(range(32, 127)) * 3, "qos": 0},
    {"topic": "g/ctl", "payload": b'"ctl\x01\x02\x1b str"', "qos": 0},
]

PLAIN_MODES = [[], ["-v"], ["-N"], ["-v", "-N"]]


@pytest.mark.parametrize("args", PLAIN_MODES, ids=lambda a: " ".join(a) or "default")
@pytest.mark.parametrize("version", ["311", "5"])
def test_plain_output_matches(server, args, version):
    srv = server()
    assert_same(compare_sub(srv, args + ["-q", "1"], MESSAGES, sub_version=version), f"{args}")


FORMATS = [
    "%t|%p|%l|%m|%q|%r|%%",
    "%x|%X",
    "%A|%C|%D|%E|%F|%P|%R|%S",
    "[%10t][%-10t][%010t][%.3t][%5.2t][%-5.2t][%.0t]",
    "[%20p][%-20p][%020p][%3p][%-3p][%-p][%.2p]",
    "[%12x][%-12x][%012x][%3.1x][%1x][%-x][%14X][%-X]",
    "[%5l][%-5l][%05l][%3m][%-3m][%03m][%5q][%3r]",
    "[%6E][%-6E][%06E][%4F][%04F][%5A][%05A][%-5A][%5S][%05S]",
    "[%12C][%-12C][%.4C][%012C][%12R][%.4R][%5P][%5D]",
    r"\\|\a|\e|\n|\r|\t|\v|\0|end",
    "@Y-@m-@d|@@|@q|@5Y|@%",
    "%j",
    "%J",
    "%j|%J|%t",
    "%10j|%-5J|%q",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_codes_match(server, fmt):
    srv = server()
    res = compare_sub(srv, ["-q", "1", "-V", "5", "-F", fmt], MESSAGES, mask=True)
    assert_same(res, fmt)
    assert res["petrel"][2] == res["mosquitto"][2], "stderr (invalid JSON reports) differs"


@pytest.mark.parametrize("fmt", ["%j", "%J", "%J|%j"])
def test_pretty_json_matches(server, fmt):
    srv = server()
    res = compare_sub(srv, ["-q", "1", "-V", "5", "--pretty", "-F", fmt], MESSAGES, mask=True)
    assert_same(res, fmt)


@pytest.mark.parametrize("fmt", ["%t %p", "%j", "%x"])
def test_format_with_no_eol_matches(server, fmt):
    srv = server()
    assert_same(compare_sub(srv, ["-N", "-F", fmt], MESSAGES, mask=True), fmt)


def test_qos2_message_matches(server):
    srv = server()
    msgs = [m for m in MESSAGES if m["topic"] == "c/json"]
    res = compare_sub(srv, ["-q", "2", "-V", "5", "-F", "%t|%q|%m|%r|%l|%P|%j"], msgs, mask=True)
    assert_same(res, "qos2")


def test_format_v311_has_no_properties(server):
    srv = server()
    res = compare_sub(srv, ["-V", "311", "-F", "%C|%E|%P|%j"], MESSAGES, mask=True)
    assert_same(res, "v311")


JSON_PAYLOADS = [b'"a\x01b"', b"[1,]", b'{"a":1,}', b'  {"a" : [ ] }  ', b'"\\ud83d\\ude00"',
                 b'"\\ud83d"', b'"\\u0000x"', b"tru", b"true1", b"01", b"-", b"1.5e3", b".5",
                 b"1e", b'"\\/"', b"\x01 1", b"1 \x01", b"[1,2]x", b'{"a":1}{"b":2}', b'"abc',
                 b'"\\x"', b"123456789012345678901234567890", b"0.1", b"1e-7", b"-0.0", b"[]",
                 b"null", b"true", b"false", b'{"a":1, "a":2}', b'"\t"', b"nan", b"1E5", b"+1",
                 b"1.e5", b'{"a" 1}', b"{1:2}", b"NULL", b'"\\u00"', b'"\\uD800\\u0041"',
                 b'[1, 2, [3, [4]], {"x": [5]}, {}, [[]]]', b'"\\b\\f\\n\\r\\t\\"\\\\"',
                 b"2147483648", b"1e308", b"1e309", b"3.14159265358979323846",
                 b"0.30000000000000004", b"1e15", b"1e16", b"123456789.123", b" ",
                 b'{"nul":"a\x00b"}', b"\xef\xbb\xbf{}", b'"\xc3\x28\xff"', b"[" * 5 + b"]" * 5]


@pytest.mark.parametrize("pretty", [[], ["--pretty"]], ids=["compact", "pretty"])
def test_json_payload_parsing_matches(server, pretty):
    srv = server()
    msgs = [{"topic": f"j{i:02d}", "payload": p} for i, p in enumerate(JSON_PAYLOADS)]
    res = compare_sub(srv, pretty + ["-F", "%J|%j"], msgs, mask=True, pub_version=4)
    assert_same(res, "json")
    assert res["petrel"][2] == res["mosquitto"][2]


@pytest.mark.parametrize("fmt,message", [
    ("%z", "Invalid format specifier 'z'."), ("abc%", "Incomplete format specifier."),
    ("%-5", "Incomplete format specifier."), ("@", "Incomplete format specifier."),
    ("%--5t", "Invalid format specifier '-'."), (r"\q", "Invalid escape specifier 'q'."),
    ("abc\\", "Incomplete escape specifier.")])
def test_bad_format_rejected_like_mosquitto(fmt, message):
    from test_cli_support import both, run
    for kind, tool in both("sub").items():
        rc, out, err = run([tool, "-p", "1", "-t", "a", "-F", fmt])
        assert rc == 1, kind
        assert f"Error: {message}".encode() in err, (kind, err)
