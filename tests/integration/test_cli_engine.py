"""petrel_pub / petrel_sub / petrel_rr's OpenSSL engine flags (--tls-engine ENGINE,
--keyform pem|engine, --tls-engine-kpass-sha1 HEX) next to Debian's mosquitto_pub /
mosquitto_sub / mosquitto_rr 2.0: same exit codes for the same command lines; Petrel
prints one clear line where mosquitto prints its own.

The engines used are the ones any Debian 12 machine has:
  - "dynamic" is built into OpenSSL and never initialises without a library to load
    (ENGINE_init fails);
  - a working engine is looked for with `openssl engine -t` (loader_attic, shipped in
    libssl3's engines-3 directory, then rdrand/padlock/afalg where the CPU or kernel has
    them); the tests needing one skip, saying so, when none is available. None of them
    loads private keys, which gives the "engine cannot load the key id" case.
A real engine-held key comes from a SoftHSM token through the PKCS#11 engine where
Debian's softhsm2 and libengine-pkcs11-openssl are installed (those tests skip, saying
so, where they are not): the token holds sensor-1's key, the listener requires client
certificates, and both petrel_pub and mosquitto_pub publish with the key id. Without
them, tests/unit/client/tls_engine_test.cpp still covers that path with an in-process
test engine (key ids, the SECRET_MODE/PIN controls, the password prompt).

The TLS listener is the one the suite targets (Petrel unless --broker=mosquitto), with
test_tls_support's session PKI.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli_support import MOSQ_TOOLS, petrel_tool, reap_procs, run, start_sub, strip_debug, unique  # noqa: F401
from test_tls_support import pki, tbroker, tls_listener  # noqa: F401

SHA1_HEX = "0123456789abcdef0123456789abcdef01234567"  # 40 hex digits
CANDIDATE_ENGINES = ("loader_attic", "rdrand", "padlock", "afalg")

_ENGINE: list[str | None] = []


def working_engine() -> str:
    """An engine id `openssl engine -t` reports as available; skips the test otherwise."""
    if not _ENGINE:
        found = None
        for eid in CANDIDATE_ENGINES:
            r = subprocess.run(["openssl", "engine", "-t", eid], capture_output=True, text=True, timeout=30)
            if r.returncode == 0 and "[ available ]" in r.stdout:
                found = eid
                break
        _ENGINE.append(found)
    if _ENGINE[0] is None:
        pytest.skip("no OpenSSL engine initialises on this machine (`openssl engine -t` finds none of "
                    + ", ".join(CANDIDATE_ENGINES) + " available)")
    return _ENGINE[0]


def tools(name: str) -> dict[str, str]:
    return {"petrel": petrel_tool(name), "mosquitto": MOSQ_TOOLS[name]}


def tool_args(name: str, topic: str = "engine/t") -> list[str]:
    if name == "pub":
        return ["-t", topic, "-m", "m"]
    if name == "sub":
        return ["-t", topic, "-C", "1", "-W", "3"]
    return ["-t", topic, "-e", topic + "/reply", "-m", "m", "-W", "3"]


def both_rc(name: str, args: list[str], timeout: float = 15.0):
    """Runs petrel_<name> and mosquitto_<name> with the same arguments: {kind: (rc, stderr)}."""
    out = {}
    for kind, path in tools(name).items():
        rc, _, err = run([path] + args, timeout=timeout)
        out[kind] = (rc, err.decode(errors="replace"))
    return out


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.endswith("\n")


def cert_broker(tbroker, pki, require_certificate: bool):
    return tbroker([], hosts=["127.0.0.1"], listener_extra=tls_listener(pki, require_certificate=require_certificate))


def tls_conn(b, pki, client_cert: bool = False) -> list[str]:
    args = ["-h", "127.0.0.1", "-p", str(b.port), "--cafile", pki.path("ca.crt")]
    if client_cert:
        args += ["--cert", pki.path("sensor-1.crt"), "--key", pki.path("sensor-1.key")]
    return args


# ---- an engine id OpenSSL does not know ----------------------------------------------------
@pytest.mark.parametrize("name", ["pub", "sub", "rr"])
@pytest.mark.parametrize("with_tls", [True, False], ids=["tls", "plain"])
def test_unknown_engine_same_exit_code(pki, name, with_tls):
    """Refused before connecting (nothing listens on port 1), with or without TLS, as
    mosquitto does."""
    args = ["-p", "1", "--tls-engine", "no-such-engine"] + tool_args(name)
    if with_tls:
        args += ["--cafile", pki.path("ca.crt")]
    r = both_rc(name, args)
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    err = r["petrel"][1]
    assert one_line(err) and "no-such-engine" in err and "engine" in err, err
    assert err == r["mosquitto"][1], r  # mosquitto's own sentence


def test_unknown_engine_quiet(pki):
    rc, _, err = run([petrel_tool("pub"), "-p", "1", "--quiet", "--tls-engine", "no-such-engine",
                      "--cafile", pki.path("ca.crt"), "-t", "t", "-m", "m"])
    assert rc == 1 and err == b"", (rc, err)


# ---- an engine that exists: real TLS publishes -----------------------------------------------
def test_engine_tls_publish_to_listener(tbroker, pki):
    """--tls-engine with a working engine: petrel_pub and mosquitto_pub both publish over
    TLS; a petrel_sub using the engine too receives both messages."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=False)
    conn = tls_conn(b, pki)
    topic = unique("engine")
    sub = start_sub([petrel_tool("sub")] + conn + ["--tls-engine", engine, "-t", topic, "-C", "2"])
    for kind, path in tools("pub").items():
        rc, out, err = run([path] + conn + ["--tls-engine", engine, "-t", topic, "-m", kind, "-q", "1"])
        assert rc == 0, (kind, rc, out, err)
        assert err == b"", (kind, err)
    assert sub.wait() == 0, bytes(sub.err)
    assert strip_debug(sub.out) == b"petrel\nmosquitto\n", bytes(sub.out)


@pytest.mark.parametrize("keyform", [[], ["--keyform", "pem"], ["--keyform", "PEM"]], ids=["default", "pem", "PEM"])
def test_engine_with_pem_client_key(tbroker, pki, keyform):
    """--keyform pem (the default) keeps --key a PEM file while the engine is in use:
    mutual TLS works for both tools."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=True)
    conn = tls_conn(b, pki, client_cert=True) + ["--tls-engine", engine] + keyform
    topic = unique("engine")
    sub = start_sub([petrel_tool("sub")] + conn + ["-t", topic, "-C", "2"])
    for kind, path in tools("pub").items():
        rc, out, err = run([path] + conn + ["-t", topic, "-m", kind, "-q", "2"])
        assert rc == 0, (kind, rc, out, err)
    assert sub.wait() == 0, bytes(sub.err)
    assert strip_debug(sub.out) == b"petrel\nmosquitto\n", bytes(sub.out)


def test_engine_ignored_without_tls(tbroker):
    """An engine that exists is only checked, not used, on a plain connection (mosquitto
    too)."""
    engine = working_engine()
    b = tbroker([])
    r = both_rc("pub", ["-h", "127.0.0.1", "-p", str(b.port), "--tls-engine", engine, "-t", unique(), "-m", "m"])
    assert r["petrel"][0] == r["mosquitto"][0] == 0, r


# ---- failures once TLS is set up ---------------------------------------------------------------
def test_engine_that_cannot_initialise(tbroker, pki):
    """"dynamic" exists in every OpenSSL but does not initialise: both exit 1 without
    publishing; Petrel says which engine in one line."""
    b = cert_broker(tbroker, pki, require_certificate=False)
    r = both_rc("pub", tls_conn(b, pki) + ["--tls-engine", "dynamic", "-t", "t", "-m", "m"])
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    err = r["petrel"][1]
    assert one_line(err) and "Unable to initialise TLS engine 'dynamic'" in err, err


def test_keyform_engine_without_tls_engine(tbroker, pki):
    """--keyform engine needs --tls-engine: mosquitto_pub fails when it sets up TLS
    (exit 1); petrel_pub says so before connecting (exit 1, one line and the usage hint)."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    r = both_rc("pub", tls_conn(b, pki, client_cert=True) + ["--keyform", "engine", "-t", "t", "-m", "m"])
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    lines = r["petrel"][1].splitlines()
    assert lines[0] == "Error: --keyform engine needs --tls-engine: the key (--key) is loaded through that engine.", lines
    assert lines[1:] == ["Use 'petrel_pub --help' to see usage."], lines


def test_engine_cannot_load_the_key_id(tbroker, pki):
    """A working engine without a key loader asked for a key id: exit 1 for both (the key
    id is an existing file here, which mosquitto 2.0 insists on); Petrel names the key id
    and the engine in one line."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=True)
    key_id = pki.path("sensor-1.key")
    args = tls_conn(b, pki) + ["--cert", pki.path("sensor-1.crt"), "--key", key_id, "--tls-engine", engine,
                               "--keyform", "engine", "-t", "t", "-m", "m"]
    r = both_rc("pub", args)
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    err = r["petrel"][1]
    assert one_line(err), err
    assert f"Unable to load key '{key_id}' through TLS engine '{engine}'" in err, err


def test_engine_key_id_need_not_be_a_file(tbroker, pki):
    """Key ids such as PKCS#11 URIs are not files: Petrel hands them to the engine as they
    are (mosquitto_pub 2.0 refuses any --key that is not a readable file); the engine here
    cannot load it, so exit 1 naming the id."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=True)
    key_id = "pkcs11:token=petrel;object=client"
    rc, _, err = run([petrel_tool("pub")] + tls_conn(b, pki) +
                     ["--cert", pki.path("sensor-1.crt"), "--key", key_id, "--tls-engine", engine,
                      "--keyform", "engine", "-t", "t", "-m", "m"])
    text = err.decode()
    assert rc == 1 and one_line(text) and f"key '{key_id}'" in text, (rc, text)


def test_kpass_sha1_with_engine_without_those_controls(tbroker, pki):
    """--tls-engine-kpass-sha1 goes to the engine as SECRET_MODE=SHA1 + PIN; an engine
    without those controls fails the connection in both tools (exit 1)."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=True)
    args = tls_conn(b, pki) + ["--cert", pki.path("sensor-1.crt"), "--key", pki.path("sensor-1.key"),
                               "--tls-engine", engine, "--keyform", "engine", "--tls-engine-kpass-sha1", SHA1_HEX,
                               "-t", "t", "-m", "m"]
    r = both_rc("pub", args)
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    err = r["petrel"][1]
    assert one_line(err) and "SHA1 key password" in err and engine in err, err


def test_kpass_sha1_ignored_with_keyform_pem(tbroker, pki):
    """With --keyform pem the SHA1 password is not used (mosquitto too): the publish works."""
    engine = working_engine()
    b = cert_broker(tbroker, pki, require_certificate=True)
    args = tls_conn(b, pki, client_cert=True) + ["--tls-engine", engine, "--keyform", "pem",
                                                 "--tls-engine-kpass-sha1", SHA1_HEX, "-t", unique(), "-m", "m"]
    r = both_rc("pub", args)
    assert r["petrel"][0] == r["mosquitto"][0] == 0, r


# ---- option checks (no broker needed) ----------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--keyform", "der", "--key", "k.pem", "--cert", "c.pem"],
    ["--keyform", "pem"],
    ["--tls-engine-kpass-sha1", SHA1_HEX, "--keyform", "engine", "--key", "k", "--cert", "c"],
    ["--tls-engine-kpass-sha1", SHA1_HEX, "--tls-engine", "dynamic", "--key", "k", "--cert", "c"],
    ["--tls-engine-kpass-sha1", "0123", "--tls-engine", "dynamic", "--keyform", "engine", "--key", "k", "--cert", "c"],
    ["--tls-engine-kpass-sha1", "zz" * 20, "--tls-engine", "dynamic", "--keyform", "engine", "--key", "k", "--cert", "c"],
    ["--tls-engine"],
    ["--keyform"],
    ["--tls-engine-kpass-sha1"],
], ids=["keyform-der", "keyform-no-key", "kpass-no-engine", "kpass-no-keyform", "kpass-short", "kpass-not-hex",
        "engine-no-value", "keyform-no-value", "kpass-no-value"])
def test_option_errors_same_exit_code(args):
    r = both_rc("pub", ["-p", "1", "-t", "t", "-m", "m"] + args)
    assert r["petrel"][0] == r["mosquitto"][0] == 1, r
    # mosquitto's sentence, word for word (then its usage hint, or none, as mosquitto).
    assert r["petrel"][1].splitlines()[0] == r["mosquitto"][1].splitlines()[0], r
    assert ("--help" in r["petrel"][1]) == ("--help" in r["mosquitto"][1]), r


def test_help_lists_the_engine_flags():
    for name in ("pub", "sub", "rr"):
        rc, out, _ = run([petrel_tool(name), "--help"])
        text = out.decode()
        assert rc == 1, rc
        for flag in ("--tls-engine", "--keyform", "--tls-engine-kpass-sha1"):
            assert flag in text, (name, flag)


# ---- a key on a PKCS#11 token (SoftHSM) through the pkcs11 engine -------------------------------
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_PIN = "1234"
TOKEN_URI = "pkcs11:token=petrel;object=sensor-1;type=private"


class Token:
    """A SoftHSM token "petrel" holding sensor-1's private key (label sensor-1), and the
    environments to reach it: `env` gives the engine the PIN through an OpenSSL config
    (as a deployment would; mosquitto_pub has no other way but a terminal prompt),
    `env_no_pin` does not."""

    def __init__(self, d: Path, pki):
        self.dir = d
        (d / "tokens").mkdir()
        module = next(m for m in SOFTHSM_MODULES if os.path.exists(m))
        (d / "softhsm2.conf").write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n"
                                         "log.level = ERROR\n")
        base = {**os.environ, "SOFTHSM2_CONF": str(d / "softhsm2.conf")}
        base.pop("OPENSSL_CONF", None)

        def sh(*cmd):
            r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, env=base, cwd=d)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
        sh("softhsm2-util", "--init-token", "--free", "--label", "petrel", "--pin", TOKEN_PIN, "--so-pin", "5678")
        sh("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", pki.path("sensor-1.key"), "-out", str(d / "key.p8"))
        sh("softhsm2-util", "--import", str(d / "key.p8"), "--token", "petrel", "--label", "sensor-1", "--id", "01",
           "--pin", TOKEN_PIN)
        (d / "key.p8").unlink()

        def conf(name: str, pin: bool) -> str:
            lines = ["openssl_conf = openssl_init", "[openssl_init]", "engines = engine_section",
                     "[engine_section]", "pkcs11 = pkcs11_section", "[pkcs11_section]", "engine_id = pkcs11",
                     f"MODULE_PATH = {module}"] + ([f"PIN = {TOKEN_PIN}"] if pin else []) + ["init = 0"]
            (d / name).write_text("\n".join(lines) + "\n")
            return str(d / name)
        self.env = {**base, "OPENSSL_CONF": conf("openssl-pin.cnf", True)}
        self.env_no_pin = {**base, "OPENSSL_CONF": conf("openssl.cnf", False)}
        # mosquitto_pub 2.0 wants --key to be a readable file even for an engine key id:
        # libp11's "label_<label>" id, as a file name in the working directory, serves both.
        (d / "label_sensor-1").write_text("")
        self.label_id = "label_sensor-1"


@pytest.fixture(scope="module")
def token(pki, tmp_path_factory):
    if shutil.which("softhsm2-util") is None or not any(os.path.exists(m) for m in SOFTHSM_MODULES):
        pytest.skip("SoftHSM is not installed (Debian: apt-get install softhsm2 libengine-pkcs11-openssl)")
    r = subprocess.run(["openssl", "engine", "-t", "pkcs11"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or "[ available ]" not in r.stdout:
        pytest.skip("the PKCS#11 engine is not installed (Debian: apt-get install libengine-pkcs11-openssl)")
    return Token(tmp_path_factory.mktemp("token"), pki)


def run_env(cmd: list[str], env: dict, cwd: Path, timeout: float = 20.0):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def token_args(b, pki, key_id: str, cert: str = "sensor-1") -> list[str]:
    return tls_conn(b, pki) + ["--cert", pki.path(f"{cert}.crt"), "--tls-engine", "pkcs11", "--keyform", "engine",
                               "--key", key_id]


def test_token_key_publish_both_tools(tbroker, pki, token):
    """The listener requires a client certificate; the key is only on the token. petrel_pub
    and mosquitto_pub both publish with the engine key id; petrel_sub, with the token key
    too, receives both."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    topic = unique("token")
    sub = start_sub([petrel_tool("sub")] + token_args(b, pki, TOKEN_URI) + ["-t", topic, "-C", "2"], env=token.env)
    for kind, path in tools("pub").items():
        rc, out, err = run_env([path] + token_args(b, pki, token.label_id) + ["-t", topic, "-m", kind, "-q", "1"],
                               token.env, token.dir)
        assert rc == 0, (kind, rc, out, err)
    assert sub.wait() == 0, bytes(sub.err)
    assert strip_debug(sub.out) == b"petrel\nmosquitto\n", bytes(sub.out)


def test_token_key_pin_in_the_uri(tbroker, pki, token):
    """No PIN configured for the engine: a PKCS#11 URI can carry it (pin-value)."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, out, err = run_env([petrel_tool("pub")] + token_args(b, pki, f"{TOKEN_URI};pin-value={TOKEN_PIN}") +
                           ["-t", unique(), "-m", "m"], token.env_no_pin, token.dir)
    assert rc == 0, (rc, out, err)


def test_token_key_without_pin_fails_without_prompting(tbroker, pki, token):
    """No PIN anywhere: the engine's PIN prompt is never put to a terminal (mosquitto_pub
    would ask on the terminal); exit 1 with Petrel's line naming the key id (the PKCS#11
    engine prints its own diagnostics too)."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, out, err = run_env([petrel_tool("pub")] + token_args(b, pki, TOKEN_URI) + ["-t", unique(), "-m", "m"],
                           token.env_no_pin, token.dir, timeout=15)
    assert rc == 1, (rc, out, err)
    assert f"Error: Unable to load key '{TOKEN_URI}' through TLS engine 'pkcs11'" in err, err


def test_token_key_id_not_on_the_token(tbroker, pki, token):
    b = cert_broker(tbroker, pki, require_certificate=True)
    missing = "pkcs11:token=petrel;object=nosuch;type=private"
    rc, out, err = run_env([petrel_tool("pub")] + token_args(b, pki, missing) + ["-t", unique(), "-m", "m"],
                           token.env, token.dir)
    assert rc == 1, (rc, out, err)
    assert f"Error: Unable to load key '{missing}' through TLS engine 'pkcs11'" in err, err


def test_token_key_with_the_wrong_certificate(tbroker, pki, token):
    """intruder.crt with sensor-1's token key: refused before connecting, in one line."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    rc, out, err = run_env([petrel_tool("pub")] + token_args(b, pki, TOKEN_URI, cert="intruder") +
                           ["-t", unique(), "-m", "m"], token.env, token.dir)
    assert rc == 1 and one_line(err) and "do not match" in err, (rc, err)


def test_token_kpass_sha1_unsupported_by_pkcs11_engine(tbroker, pki, token):
    """The PKCS#11 engine has no SECRET_MODE control (TPM engines do): both tools exit 1."""
    b = cert_broker(tbroker, pki, require_certificate=True)
    args = token_args(b, pki, token.label_id) + ["--tls-engine-kpass-sha1", SHA1_HEX, "-t", unique(), "-m", "m"]
    for kind, path in tools("pub").items():
        rc, out, err = run_env([path] + args, token.env, token.dir)
        assert rc == 1, (kind, rc, out, err)
        if kind == "petrel":
            assert one_line(err) and "SECRET_MODE" in err, err
