"""Every mosquitto.conf option Petrel lists, used at once (issue #17, "Install and run it the
way Mosquitto users do").

`petrel --options-reference` is the source of truth: its Markdown table gives each option's
status. This file holds a table (OPTIONS) of every option whose status is "supported",
"obsolete" or "accepted, no effect", each with the line(s) that use it with a realistic
value; the configurations built from it must pass `--test-config`, and the main one must
start, serve an MQTT client and stop on SIGTERM with status 0. A new option fails
`test_every_option_is_covered_and_valid` until it is added to OPTIONS.

Also: every "not supported yet" row must be explained by docs/migrating-from-mosquitto.md,
and Debian's Mosquitto example files (/usr/share/doc/mosquitto/examples) must be accepted,
as shipped and with their commented-out example values switched on.

Every file the configurations name (certificates, password/ACL/PSK files, the store, the
log, include_dir) is made in the test's tmp_path; every petrel started here listens on free
loopback ports and is stopped by pid.
"""
from __future__ import annotations

import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import rawmqtt as mq
from conftest import KEEP_ROOT, REPO_ROOT, broker_binary, free_port, wait_port
from helpers import V311, V5
from test_tls_support import client_context, connect_packet, openssl, pki, recv_exact, tls_socket  # noqa: F401

pytestmark = pytest.mark.petrel_only("petrel --options-reference and --test-config are Petrel's; the "
                                     "table covers Petrel's additions to mosquitto.conf")

RUN_TIMEOUT = 30          # one --test-config (ASan builds are slower; a deadline, not a wait)
START_TIMEOUT = 30      # a deadline, not a wait: 9 listeners and 4 bridges, ASan, a loaded machine
GUIDE = REPO_ROOT / "docs" / "migrating-from-mosquitto.md"
EXAMPLES = Path("/usr/share/doc/mosquitto/examples")
PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu"   # where Mosquitto 2.1 installs its bundled plugins


# --------------------------------------------------------------------------------------
# The option reference
# --------------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    scope: str
    values: str
    default: str
    status: str      # the status column as printed
    kind: str        # supported | not supported yet | obsolete | no effect | refused


def status_kind(status: str) -> str:
    s = status.strip().lower()
    if s == "supported":
        return "supported"
    if s.startswith("not supported yet"):
        return "not supported yet"
    if s.startswith("obsolete"):
        return "obsolete"
    if "no effect" in s:
        return "no effect"
    if s.startswith("refused"):
        return "refused"
    raise AssertionError(f"unknown status {status!r} in --options-reference: teach status_kind() about it")


def run(cmd, cwd=None, timeout=RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def options_reference(broker_bin) -> dict[str, Row]:
    res = run([broker_bin, "--options-reference"])
    assert res.returncode == 0, res.stdout + res.stderr
    rows: dict[str, Row] = {}
    for line in res.stdout.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 6, f"unexpected row: {line!r}"
        name = cells[0].strip("`")
        rows[name] = Row(name, cells[1], cells[2], cells[3], cells[4], status_kind(cells[4]))
    assert len(rows) > 100, f"--options-reference printed only {len(rows)} options:\n{res.stdout}"
    return rows


@pytest.fixture(scope="module")
def reference(request) -> dict[str, Row]:
    return options_reference(broker_binary(request.config))


# --------------------------------------------------------------------------------------
# The table: every option Petrel accepts, with lines that use it
# --------------------------------------------------------------------------------------
@dataclass
class Use:
    """Where an option's lines go: configuration `conf` ("main", "per-listener" or
    "legacy"), block `where` ("global", "listener:NAME" or "bridge:NAME"). Lines are
    format strings over the files the test makes (see make_files). With `see`, the option is
    used by the lines of another entry (a plugin's options follow their plugin line)."""
    conf: str
    where: str
    lines: list[str] = field(default_factory=list)
    see: str | None = None


def G(*lines, conf="main"):
    return Use(conf, "global", list(lines))


def L(name, *lines, conf="main"):
    return Use(conf, f"listener:{name}", list(lines))


def B(name, *lines, conf="main"):
    return Use(conf, f"bridge:{name}", list(lines))


# The blocks of each configuration, in file order, with the lines each needs besides the
# table's: the line that opens it (a table line `listener ...` / `connection ...` takes its
# place), and what makes the block whole (a bridge's address and topic, a listener's TLS
# files). Listener options in "global" apply to the default listener (`port` /
# `bind_address`), as in Mosquitto. Bridges point at {closed}, a loopback port nobody
# listens on.
BLOCKS = {
    "main": {
        "global": [],
        "listener:plain": ["listener {port_plain} 127.0.0.1"],
        "listener:tls": ["listener {port_tls} 127.0.0.1"],
        "listener:subject": ["listener {port_subject} 127.0.0.1", "certfile {pki}/server.crt",
                             "keyfile {pki}/server.key", "cafile {pki}/ca.crt", "require_certificate true"],
        "listener:psk": ["listener {port_psk} 127.0.0.1"],
        "listener:ws": ["listener {port_ws} 127.0.0.1", "protocol websockets"],
        "listener:admin": ["listener {port_admin} 127.0.0.1", "protocol http_api"],
        "listener:proxy": ["listener {port_proxy} 127.0.0.1"],
        "bridge:lazy": ["connection lazy-uplink"],
        "bridge:tls": ["connection tls-uplink", "topic plant/alarms/# out 1"],
        "bridge:psk": ["connection psk-uplink", "address 127.0.0.1:{closed}", "topic plant/counters/# out 0",
                       "start_type once"],
        "bridge:os-ca": ["connection cloud-uplink", "address 127.0.0.1:{closed}", 'topic plant/# out 1 "" site1/',
                         "start_type lazy"],
    },
    # per_listener_settings true: the security options, and plugins, per listener.
    "per-listener": {
        "global": ["persistence_location {store}/", KEEP_ROOT],
        "listener:secure": ["listener {port_plain} 127.0.0.1", "password_file {passwd}", "acl_file {acl}",
                            "allow_anonymous false", "allow_zero_length_clientid false",
                            "auto_id_prefix plant-secure-"],
        "listener:plugins": ["listener {port_tls} 127.0.0.1", "allow_anonymous false"],
        "listener:ids": ["listener {port_psk} 127.0.0.1", "psk_file {psk}", "psk_hint petrel-plant",
                         "use_identity_as_username true", "acl_file {acl}"],
        "bridge:aliases": ["connection alias-uplink", "address 127.0.0.1:{closed}", "topic plant/# out 1"],
    },
    # Old names, and the options that exclude the main configuration's: bridges_only (no
    # client listener), log_level (instead of log_type), auth_plugin (instead of
    # password_file), retained_persistence (instead of persistence).
    "legacy": {
        "global": ["persistence_location {store}/", KEEP_ROOT],
        "bridge:only": ["connection only-uplink", "address 127.0.0.1:{closed}", "topic plant/# both 1"],
    },
}

OPTIONS: dict[str, Use] = {
    # --- global: the broker ------------------------------------------------------------
    "user": G(KEEP_ROOT),  # root stays root: the test's files are private to root (conftest.KEEP_ROOT)
    "pid_file": G("pid_file {tmp}/petrel.pid"),
    "threads": G("threads 2"),
    "state_dir": G("state_dir {state}"),
    "include_dir": G("include_dir {confd}"),
    "sys_interval": G("sys_interval 10"),
    "memory_limit": G("memory_limit 1073741824"),
    "set_tcp_nodelay": G("set_tcp_nodelay true"),
    "connection_messages": G("connection_messages true"),
    "clientid_prefixes": G("clientid_prefixes plant-"),
    "global_max_clients": G("global_max_clients 10000"),
    "global_max_connections": G("global_max_connections 5000"),
    "max_keepalive": G("max_keepalive 900"),
    "max_packet_size": G("max_packet_size 1048576"),
    "message_size_limit": G("message_size_limit 262144"),
    "max_inflight_messages": G("max_inflight_messages 20"),
    "max_inflight_bytes": G("max_inflight_bytes 1048576"),
    "max_queued_messages": G("max_queued_messages 1000"),
    "max_queued_bytes": G("max_queued_bytes 16777216"),
    "queue_qos0_messages": G("queue_qos0_messages false"),
    "upgrade_outgoing_qos": G("upgrade_outgoing_qos false"),
    "retain_available": G("retain_available true"),
    "check_retain_source": G("check_retain_source true"),
    "enable_control_api": G("enable_control_api true"),
    "retain_expiry_interval": G("retain_expiry_interval 60"),
    "persistent_client_expiration": G("persistent_client_expiration 14d"),
    "websockets_headers_size": G("websockets_headers_size 8192"),
    # accepted, no effect / obsolete: Petrel warns and goes on
    "allow_duplicate_messages": G("allow_duplicate_messages false"),
    "auth_plugin_deny_special_chars": G("auth_plugin_deny_special_chars true"),
    "websockets_log_level": G("websockets_log_level 0"),
    "retry_interval": G("retry_interval 20"),
    # --- global: persistence -----------------------------------------------------------
    "persistence": G("persistence true"),
    "persistence_location": G("persistence_location {store}/"),
    "persistence_file": G("persistence_file petrel.db"),
    "persistence_sync": G("persistence_sync interval 200"),
    "autosave_interval": G("autosave_interval 1800"),
    "autosave_on_changes": G("autosave_on_changes false"),
    # --- global: logging ---------------------------------------------------------------
    "log_dest": G("log_dest file {log}", "log_dest stdout", "log_dest topic"),
    "log_type": G("log_type error", "log_type warning", "log_type notice", "log_type information",
                  "log_type subscribe"),
    "log_timestamp": G("log_timestamp true"),
    "log_timestamp_format": G("log_timestamp_format %Y-%m-%dT%H:%M:%S"),
    # --- global: security (per_listener_settings false: every listener) ------------------
    "allow_anonymous": G("allow_anonymous true"),
    "allow_zero_length_clientid": G("allow_zero_length_clientid true"),
    "auto_id_prefix": G("auto_id_prefix plant-auto-"),
    "password_file": G("password_file {passwd}"),
    "acl_file": G("acl_file {acl}"),
    "psk_file": G("psk_file {psk}"),
    "http_api_password_file": G("http_api_password_file {admin_passwd}"),
    "http_api_insecure": G("http_api_insecure false"),
    # --- the default listener (listener options before the first `listener` line) -------
    "port": G("port {port_default}"),
    "bind_address": G("bind_address 127.0.0.1"),
    "socket_domain": G("socket_domain ipv4"),
    "bind_interface": G("bind_interface lo"),
    "accept_protocol_versions": G("accept_protocol_versions 3,4,5"),
    "max_connections": G("max_connections 1000"),
    "max_qos": G("max_qos 2"),
    "max_topic_alias": G("max_topic_alias 10"),
    "max_topic_alias_broker": G("max_topic_alias_broker 10"),
    "packet_buffer_size": G("packet_buffer_size 4096"),
    # --- listener: plain MQTT for a plant segment ----------------------------------------
    "listener": L("plain", "listener {port_plain} 127.0.0.1"),
    "protocol": L("plain", "protocol mqtt"),
    "mount_point": L("plain", "mount_point plant/line1/"),
    "maximum_qos": L("plain", "maximum_qos 1"),
    "listener_allow_anonymous": L("plain", "listener_allow_anonymous true"),
    "listener_auto_id_prefix": L("plain", "listener_auto_id_prefix plant-line1-"),
    "use_username_as_clientid": L("plain", "use_username_as_clientid true"),
    # --- listener: TLS with client certificates (CN as username) -------------------------
    "certfile": L("tls", "certfile {pki}/server.crt"),
    "keyfile": L("tls", "keyfile {pki}/server.key"),
    "tls_keyform": L("tls", "tls_keyform pem"),
    "cafile": L("tls", "cafile {pki}/ca.crt"),
    "capath": L("tls", "capath {capath}"),
    "crlfile": L("tls", "crlfile {pki}/crl.pem"),
    "dhparamfile": L("tls", "dhparamfile {dhparam}"),
    "ciphers": L("tls", "ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"),
    "ciphers_tls1.3": L("tls", "ciphers_tls1.3 TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"),
    "tls_version": L("tls", "tls_version tlsv1.2"),
    "require_certificate": L("tls", "require_certificate true"),
    "use_identity_as_username": L("tls", "use_identity_as_username true"),
    "require_known_identity": L("tls", "require_known_identity true"),
    "disable_client_cert_date_checks": L("tls", "disable_client_cert_date_checks false"),
    # --- listener: TLS, the whole subject as username ------------------------------------
    "use_subject_as_username": L("subject", "use_subject_as_username true"),
    # --- listener: TLS-PSK --------------------------------------------------------------
    "psk_hint": L("psk", "psk_hint petrel-plant"),
    # --- listener: MQTT over WebSockets ---------------------------------------------------
    "websockets_origin": L("ws", "websockets_origin https://scada.example.com"),
    "http_dir": L("ws", "http_dir {www}"),
    # --- listener: the admin API (protocol http_api, in BLOCKS; its password file above) -
    # --- listener: behind HAProxy -------------------------------------------------------
    "enable_proxy_protocol": L("proxy", "enable_proxy_protocol 2"),
    "proxy_protocol_v2_require_tls": L("proxy", "proxy_protocol_v2_require_tls true"),
    # --- bridge: a lazy MQTT 5 bridge to a plain remote ----------------------------------
    "connection": B("lazy", "connection lazy-uplink"),
    "address": B("lazy", "address 127.0.0.1:{closed} 127.0.0.1:{closed2}"),
    "topic": B("lazy", "topic plant/# out 1 site1/ factory/site1/", "topic cmd/# in 2",
               'topic "" in 1 plant/uplink/command factory/site1/command'),
    "start_type": B("lazy", "start_type lazy"),
    "threshold": B("lazy", "threshold 10"),
    "idle_timeout": B("lazy", "idle_timeout 60"),
    "bridge_protocol_version": B("lazy", "bridge_protocol_version mqttv50"),
    "bridge_attempt_unsubscribe": B("lazy", "bridge_attempt_unsubscribe true"),
    "bridge_bind_address": B("lazy", "bridge_bind_address 127.0.0.1"),
    "bridge_max_packet_size": B("lazy", "bridge_max_packet_size 1048576"),
    "bridge_max_topic_alias": B("lazy", "bridge_max_topic_alias 10"),
    "bridge_receive_maximum": B("lazy", "bridge_receive_maximum 20"),
    "bridge_session_expiry_interval": B("lazy", "bridge_session_expiry_interval 3600"),
    "bridge_outgoing_retain": B("lazy", "bridge_outgoing_retain true"),
    "bridge_tcp_keepalive": B("lazy", "bridge_tcp_keepalive 60 10 3"),
    "bridge_tcp_user_timeout": B("lazy", "bridge_tcp_user_timeout 30000"),
    "bridge_reload_type": B("lazy", "bridge_reload_type lazy"),
    "cleansession": B("lazy", "cleansession false"),
    "local_cleansession": B("lazy", "local_cleansession false"),
    "local_clientid": B("lazy", "local_clientid plant-bridge-local"),
    "local_username": B("lazy", "local_username bridge"),
    "local_password": B("lazy", "local_password bridge-secret"),
    "remote_clientid": B("lazy", "remote_clientid site1-bridge"),
    "remote_username": B("lazy", "remote_username site1"),
    "remote_password": B("lazy", "remote_password s3cret-Remote"),
    "notifications": B("lazy", "notifications true"),
    "notification_topic": B("lazy", "notification_topic $SYS/broker/connection/site1/state"),
    "notifications_local_only": B("lazy", "notifications_local_only false"),
    "keepalive_interval": B("lazy", "keepalive_interval 60"),
    "restart_timeout": B("lazy", "restart_timeout 5 30"),
    "round_robin": B("lazy", "round_robin false"),
    "primary_holddown": B("lazy", "primary_holddown 60"),
    "primary_retry_interval": B("lazy", "primary_retry_interval 20"),
    "try_private": B("lazy", "try_private true"),
    # --- bridge: TLS with a client certificate, kept configured but not running ---------
    "addresses": B("tls", "addresses 127.0.0.1:{closed} 127.0.0.1:{closed2}"),
    "bridge_enabled": B("tls", "bridge_enabled false"),
    "bridge_cafile": B("tls", "bridge_cafile {pki}/ca.crt"),
    "bridge_capath": B("tls", "bridge_capath {capath}"),
    "bridge_certfile": B("tls", "bridge_certfile {pki}/sensor-1.crt"),
    "bridge_keyfile": B("tls", "bridge_keyfile {pki}/sensor-1.key"),
    "bridge_alpn": B("tls", "bridge_alpn mqtt"),
    "bridge_ciphers": B("tls", "bridge_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"),
    "bridge_ciphers_tls1.3": B("tls", "bridge_ciphers_tls1.3 TLS_AES_256_GCM_SHA384"),
    "bridge_insecure": B("tls", "bridge_insecure false"),
    "bridge_require_ocsp": B("tls", "bridge_require_ocsp true"),
    "bridge_tls_version": B("tls", "bridge_tls_version tlsv1.3"),
    # --- bridge: TLS-PSK, connects once -------------------------------------------------
    "bridge_identity": B("psk", "bridge_identity site1"),
    "bridge_psk": B("psk", "bridge_psk 0123456789abcdef0123456789abcdef"),
    # --- bridge: TLS with the system CA store -------------------------------------------
    "bridge_tls_use_os_certs": B("os-ca", "bridge_tls_use_os_certs true"),

    # === per_listener_settings true ======================================================
    "per_listener_settings": G("per_listener_settings true", conf="per-listener"),
    "plugin": L("plugins", f"plugin {PLUGIN_DIR}/mosquitto_password_file.so",
                "plugin_opt_password_file {passwd}",
                f"plugin {PLUGIN_DIR}/mosquitto_acl_file.so", "plugin_opt_acl_file {acl}",
                conf="per-listener"),
    "plugin_opt_*": Use("per-listener", "listener:plugins", see="plugin"),
    "global_plugin": G(f"global_plugin {PLUGIN_DIR}/mosquitto_persist_sqlite.so", "plugin_opt_sync normal",
                       conf="per-listener"),
    # --- bridge option aliases ----------------------------------------------------------
    "clientid": B("aliases", "clientid site2-bridge", conf="per-listener"),
    "username": B("aliases", "username site2", conf="per-listener"),
    "password": B("aliases", "password s3cret-Site2", conf="per-listener"),

    # === legacy: old names and exclusive options ========================================
    "bridges_only": G("bridges_only true", conf="legacy"),
    "log_level": G("log_level information", conf="legacy"),
    "log_facility": G("log_dest syslog", "log_facility 3", conf="legacy"),
    "retained_persistence": G("retained_persistence true", conf="legacy"),
    "auth_plugin": G(f"auth_plugin {PLUGIN_DIR}/mosquitto_password_file.so", "auth_opt_password_file {passwd}",
                     conf="legacy"),
    "auth_opt_*": Use("legacy", "global", see="auth_plugin"),
}

# The drop-in include_dir reads: one more listener.
DROPIN = "# a drop-in, as in /etc/mosquitto/conf.d\nlistener {port_dropin} 127.0.0.1\nmax_connections 200\n"

ACL = """\
# anonymous clients
topic read $SYS/#
topic readwrite plant/#
pattern readwrite plant/devices/%c/#

user sensor-1
topic readwrite plant/#

user site1
topic readwrite plant/#
"""


OPENERS = ("listener", "connection")


def option_of(line: str) -> str:
    return line.split(None, 1)[0]


def matches(option: str, word: str) -> bool:
    if option.endswith("*"):
        return word.startswith(option[:-1]) and len(word) > len(option) - 1
    return word == option


def entry_lines(option: str) -> list[str]:
    use = OPTIONS[option]
    return OPTIONS[use.see].lines if use.see else use.lines


def make_files(tmp_path: Path, pki, broker_bin: str) -> dict[str, str]:
    """Every file the configurations name, and the ports; returns the format values."""
    tools = Path(broker_bin).resolve().parent.parent.parent / "tools"
    passwd_tool = tools / "petrel_passwd" / "petrel_passwd"
    if not passwd_tool.is_file():
        passwd_tool = REPO_ROOT / "build" / "release" / "tools" / "petrel_passwd" / "petrel_passwd"
    v = {"tmp": str(tmp_path), "pki": str(pki.dir)}
    for name, users in (("passwd", {"sensor-1": "plant-pw-1", "bridge": "bridge-secret", "site1": "s1"}),
                        ("admin_passwd", {"admin": "Admin-pw-123"})):
        path = tmp_path / name
        first = True
        for user, pw in users.items():
            r = run([passwd_tool, *(["-c"] if first else []), "-b", path, user, pw])
            assert r.returncode == 0, f"{passwd_tool}: {r.stdout}{r.stderr}"
            first = False
        v[name] = str(path)
    (tmp_path / "acl").write_text(ACL)
    v["acl"] = str(tmp_path / "acl")
    (tmp_path / "psk").write_text("site1:0123456789abcdef0123456789abcdef\nsensor-2:00112233445566778899aabbccddeeff\n")
    v["psk"] = str(tmp_path / "psk")
    capath = tmp_path / "capath"
    capath.mkdir()
    (capath / "ca.crt").write_bytes((pki.dir / "ca.crt").read_bytes())
    openssl("rehash", str(capath), cwd=tmp_path)
    v["capath"] = str(capath)
    # RFC 7919's ffdhe2048 group: no prime search (openssl dhparam would take seconds of CPU)
    openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", "dh.pem",
            cwd=tmp_path)
    v["dhparam"] = str(tmp_path / "dh.pem")
    for d in ("store", "state", "conf.d", "www"):
        (tmp_path / d).mkdir()
    (tmp_path / "www" / "index.html").write_text("<h1>plant</h1>\n")
    v["www"] = str(tmp_path / "www")
    v["store"], v["state"], v["confd"] = str(tmp_path / "store"), str(tmp_path / "state"), str(tmp_path / "conf.d")
    v["log"] = str(tmp_path / "petrel.log")
    for name in ("default", "plain", "tls", "subject", "psk", "ws", "admin", "proxy", "dropin", "closed",
                 "closed2"):
        v[f"port_{name}"] = str(free_port())
    v["closed"], v["closed2"] = v.pop("port_closed"), v.pop("port_closed2")
    (tmp_path / "conf.d" / "dropin.conf").write_text(DROPIN.format(**v))
    return v


def config_text(conf: str, values: dict[str, str]) -> str:
    """Configuration `conf`: each block's own lines (BLOCKS), then the table's lines for it in
    table order. A table line that opens the block (`listener`, `connection`) comes first,
    instead of the block's own opening line."""
    out = [f"# test_every_option.py: configuration '{conf}'"]
    for block, own in BLOCKS[conf].items():
        table = [ln for use in OPTIONS.values() if use.conf == conf and use.where == block and not use.see
                 for ln in use.lines]
        opening = [ln for ln in table if option_of(ln) in OPENERS]
        if opening:
            own = opening + [ln for ln in own if option_of(ln) not in OPENERS]
            table = [ln for ln in table if option_of(ln) not in OPENERS]
        out += ["", *own, *table]
    return "\n".join(out).format(**values) + "\n"


def check_config(broker_bin, conf: Path, cwd: Path) -> subprocess.CompletedProcess:
    return run([broker_bin, "-c", conf, "--test-config"], cwd=cwd)


# --------------------------------------------------------------------------------------
# 1. every option, valid, and the main configuration served for real
# --------------------------------------------------------------------------------------
def test_every_option_is_covered_and_valid(broker_bin, reference, pki, tmp_path):  # noqa: F811
    accepted = {n for n, r in reference.items() if r.kind in ("supported", "obsolete", "no effect")}
    unwanted = {n: r.status for n, r in reference.items() if r.kind in ("not supported yet", "refused")}
    missing = sorted(accepted - OPTIONS.keys())
    assert not missing, ("options --options-reference lists as supported, obsolete or no effect that "
                         f"test_every_option.py's OPTIONS table does not use yet (add them): {missing}")
    bad = {n: unwanted[n] for n in OPTIONS if n in unwanted}
    assert not bad, f"OPTIONS uses options Petrel does not accept: {bad}"
    unknown = sorted(OPTIONS.keys() - reference.keys())
    assert not unknown, f"OPTIONS names options --options-reference does not list: {unknown}"

    values = make_files(tmp_path, pki, broker_bin)
    texts = {conf: config_text(conf, values) for conf in BLOCKS}
    # Each entry's lines use the option it stands for, and end up in its configuration.
    for option, use in OPTIONS.items():
        lines = [ln.format(**values) for ln in entry_lines(option)]
        assert any(matches(option, option_of(ln)) for ln in lines), f"{option}: no line uses it: {lines}"
        text_lines = texts[use.conf].splitlines()
        for ln in lines:
            assert ln in text_lines, f"{option}: {ln!r} is not in configuration {use.conf!r}"

    for conf, text in texts.items():
        path = tmp_path / f"{conf}.conf"
        path.write_text(text)
        res = check_config(broker_bin, path, tmp_path)
        out = res.stdout + res.stderr
        numbered = "\n".join(f"{i:3}: {ln}" for i, ln in enumerate(text.splitlines(), 1))
        assert res.returncode == 0, f"--test-config {path} exited {res.returncode}:\n{out}\n{numbered}"
        assert "configuration is valid" in out, out
        # An option accepted without effect (or obsolete) is accepted with a warning naming it.
        for option, use in OPTIONS.items():
            if use.conf == conf and reference[option].kind in ("obsolete", "no effect"):
                assert f"option '{option}'" in out, f"--test-config did not warn about {option}:\n{out}"

    # The main configuration, for real.
    conf = tmp_path / "main.conf"
    log = tmp_path / "stdout.log"
    ports = {name: int(values[f"port_{name}"]) for name in ("default", "plain", "tls", "psk", "ws", "dropin")}
    with open(log, "wb") as logf:
        proc = subprocess.Popen([broker_bin, "-c", str(conf)], stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=tmp_path, start_new_session=True)
    try:
        for name, port in ports.items():
            assert wait_port("127.0.0.1", port, START_TIMEOUT, proc), \
                f"listener {name} ({port}) not open:\n{log.read_text(errors='replace')}"
        # the default listener (port / bind_address), and the include_dir listener
        for port, version in ((ports["default"], V5), (ports["dropin"], V311)):
            c = mq.Client(port, version=version)
            c.connect(f"plant-probe-{version}")
            assert c.subscribe([("plant/probe", 1)]).codes == [1]
            c.publish("plant/probe", b"every option", qos=1)
            assert c.recv_publish().payload == b"every option"
            c.disconnect()
        # the TLS listener: the client certificate's CN is a known identity (certfile, cafile,
        # capath, crlfile, dhparamfile, ciphers... all loaded)
        with tls_socket("127.0.0.1", int(values["port_tls"]), client_context(pki, "sensor-1")) as tls:
            tls.sendall(connect_packet("plant-sensor-1"))
            assert recv_exact(tls, 4) == b"\x20\x02\x00\x00", "CONNACK 0 expected on the TLS listener"
        # clientid_prefixes is in force
        c = mq.Client(ports["default"], version=V5)
        c.connect("office-pc", expect_rc=0x87)
        c.close()
        pid_text = Path(values["tmp"], "petrel.pid").read_text().strip()
        assert pid_text == str(proc.pid), pid_text
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        assert rc == 0, f"exit status {rc} after SIGTERM:\n{log.read_text(errors='replace')}"
        assert Path(values["log"]).stat().st_size > 0, "log_dest file wrote nothing"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------
# 2. every "not supported yet" row is explained by the migration guide
# --------------------------------------------------------------------------------------
def test_not_supported_rows_are_justified(reference):
    guide = GUIDE.read_text()
    rows = sorted(n for n, r in reference.items() if r.kind == "not supported yet")
    unexplained = [n for n in rows if not re.search(rf"`{re.escape(n)}[`\s]", guide)]
    assert not unexplained, (f"'not supported yet' options that {GUIDE.relative_to(REPO_ROOT)} does not name "
                             f"(each must be explained there, issue #17): {unexplained} "
                             f"(all 'not supported yet' rows: {rows})")


# --------------------------------------------------------------------------------------
# 3. Debian's Mosquitto example files
# --------------------------------------------------------------------------------------
def example(name: str) -> Path:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (Debian's mosquitto package installs it)")
    return path


def test_debian_example_conf_as_shipped(broker_bin, tmp_path):
    res = check_config(broker_bin, example("mosquitto.conf"), tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("option,name", [("password_file", "pwfile.example"), ("acl_file", "aclfile.example"),
                                         ("psk_file", "pskfile.example")])
def test_debian_example_security_files(broker_bin, tmp_path, option, name):
    """Mosquitto's example password file ($6$ hashes), ACL file (topic, user, pattern %c) and
    PSK file (identity:hexkey), each used as it is by a listener (the PSK one with psk_hint)."""
    path = example(name)
    conf = tmp_path / "examples.conf"
    conf.write_text(f"listener {free_port()} 127.0.0.1\n{option} {path}\n"
                    + ("psk_hint example\n" if option == "psk_file" else "") + KEEP_ROOT + "\n")
    res = check_config(broker_bin, conf, tmp_path)
    assert res.returncode == 0, (f"Debian's {path} refused as {option}:\n{res.stdout}{res.stderr}\n"
                                 f"{path}:\n{path.read_text()}")


# Debian's example mosquitto.conf with its example values switched on. The rule, per line:
#  * `#NAME VALUE` (no space after `#`, NAME an option --options-reference lists) is
#    uncommented: VALUE is the example value Mosquitto documents (mostly its default);
#  * `#NAME` alone stays commented: it shows no value, and any value would be ours, not the
#    example's (EXPECTED_NO_VALUE lists them: `#listener` has no port, `#pid_file`,
#    `#password_file`, `#certfile`... no path, `#remote_password`... no secret);
#  * a VALUE that is a placeholder (`<name>`, `<host>[:<port>]`, `<topic> [...]`) is filled
#    in (PLACEHOLDERS): these three open the bridge section, whose example values (cleansession,
#    start_type, ...) are bridge options that need a `connection` with an `address` and a
#    `topic` above them, as in any real bridge;
#  * prose comments (`# text`) stay as they are.
# Listener options in the file come before any `listener` line (that one has no value), so
# they apply to the default listener, as in Mosquitto.
PLACEHOLDERS = {
    "connection": "connection example-bridge",
    "address": "address 127.0.0.1:{closed}",
    "topic": "topic example/# out 0",
}
EXPECTED_NO_VALUE = {
    "persistent_client_expiration", "pid_file", "listener", "socket_domain", "bind_interface", "http_dir",
    "mount_point", "use_username_as_clientid", "websockets_headers_size", "certfile", "keyfile", "ciphers",
    "ciphers_tls1.3", "crlfile", "dhparamfile", "cafile", "capath", "psk_hint", "persistence_location",
    "log_facility", "log_timestamp_format", "clientid_prefixes", "password_file", "psk_file", "acl_file",
    "auth_plugin", "bridge_bind_address", "local_clientid", "notification_topic", "remote_clientid",
    "remote_password", "remote_username", "bridge_cafile", "bridge_capath", "bridge_alpn", "bridge_certfile",
    "bridge_keyfile", "bridge_identity", "bridge_psk", "include_dir",
}
COMMENTED_OPTION = re.compile(r"^#([a-z][a-z0-9_.]*)(?:[ \t]+(\S.*?))?\s*$")


def uncomment_examples(text: str, known, values: dict[str, str]):
    """(the new text, the lines uncommented, options left commented, placeholders filled)"""
    out, switched, no_value, filled = [], [], set(), []
    for line in text.splitlines():
        m = COMMENTED_OPTION.match(line)
        if not m or not known(m.group(1)):
            out.append(line)
            continue
        name, value = m.group(1), m.group(2)
        if value is None:
            no_value.add(name)
            out.append(line)
        elif "<" in value:
            assert name in PLACEHOLDERS, f"a placeholder the rule does not know: {line!r}"
            filled.append(name)
            out.append(PLACEHOLDERS[name].format(**values))
        else:
            switched.append(f"{name} {value}")
            out.append(switched[-1])
    return "\n".join(out) + "\n", switched, no_value, filled


def test_debian_example_conf_with_example_values(broker_bin, reference, tmp_path):
    """Fails only on options --options-reference says are "not supported yet": every other
    example value must be accepted (since check_retain_source is supported, all of them are)."""
    source = example("mosquitto.conf")
    known = lambda name: name in reference or any(matches(o, name) for o in reference if o.endswith("*"))  # noqa: E731
    text, switched, no_value, filled = uncomment_examples(source.read_text(), known, {"closed": str(free_port())})
    assert no_value == EXPECTED_NO_VALUE, (
        f"{source} changed: commented options without a value are now {sorted(no_value)}; "
        f"added {sorted(no_value - EXPECTED_NO_VALUE)}, gone {sorted(EXPECTED_NO_VALUE - no_value)}")
    assert sorted(filled) == sorted(PLACEHOLDERS), filled
    assert len(switched) > 40, switched
    conf = tmp_path / "mosquitto-examples.conf"
    conf.write_text(text)
    res = check_config(broker_bin, conf, tmp_path)
    out = res.stdout + res.stderr
    # Warnings are log lines (a timestamp first); every other line but the verdict is an error.
    errors = [ln for ln in out.splitlines()
              if ln.strip() and not re.match(r"\d+: ", ln) and not ln.endswith("configuration is valid.")]
    not_yet = {n for n, r in reference.items() if r.kind == "not supported yet"}
    unexplained = [ln for ln in errors
                   if not (m := re.search(r"option '([^']+)' is not supported yet", ln)) or m.group(1) not in not_yet]
    switched_on = "\n".join(f"  {ln}" for ln in switched)
    assert not unexplained, (f"{conf} (Debian's example with its example values on) refused for reasons other "
                             f"than a 'not supported yet' option:\n{out}\nswitched on:\n{switched_on}")
    if errors:
        assert res.returncode == 3, out
    else:
        assert res.returncode == 0, out
