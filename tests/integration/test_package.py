"""The Debian package: built with CPack from the release build, installed with dpkg, run
the way the service runs it (/usr/sbin/petrel -c /etc/petrel/petrel.conf as root, which
drops to the petrel user), used through the installed tools, and purged without a trace.
Runs once per suite (scripts/test: the release pass with threads 2)."""
import os
import pwd
import grp
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import free_port, wait_port

pytestmark = pytest.mark.petrel_only("Petrel's own package")

PATHS_MADE = ["/usr/sbin/petrel", "/usr/bin/petrel_pub", "/usr/bin/petrel_sub", "/usr/bin/petrel_rr",
              "/usr/bin/petrel_passwd", "/usr/bin/petrel_bench", "/etc/petrel", "/etc/logrotate.d/petrel",
              "/lib/systemd/system/petrel.service", "/var/lib/petrel", "/var/log/petrel",
              "/usr/share/man/man8/petrel.8", "/usr/share/man/man5/petrel.conf.5"]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, **kw)


def installed() -> bool:
    r = run(["dpkg-query", "-W", "-f=${Status}", "petrel"])
    return r.returncode == 0 and "installed" in r.stdout


@pytest.fixture
def build_dir(broker_bin) -> Path:
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    if not shutil.which("dpkg") or not shutil.which("cpack"):
        pytest.skip("dpkg or cpack missing: not a Debian machine with CMake")
    d = Path(broker_bin).resolve().parents[2]
    cache = d / "CMakeCache.txt"
    if not (d / "CPackConfig.cmake").exists() or not cache.exists():
        pytest.skip(f"{d} is not a CMake build directory with CPack (the package is made from the release build)")
    if "PETREL_SANITIZE:BOOL=ON" in cache.read_text() or "PETREL_TSAN:BOOL=ON" in cache.read_text():
        pytest.skip("a sanitizer build: the package is made from the release build")
    if installed():
        pytest.skip("a petrel package is already installed on this machine: not touching it")
    present = [p for p in PATHS_MADE if os.path.exists(p)]
    if present:
        pytest.skip(f"the machine already has {', '.join(present)}: the purge would remove it")
    return d


def test_deb_installs_runs_as_petrel_and_purges_clean(build_dir, tmp_path):
    r = run(["cpack", "-G", "DEB", "-B", str(tmp_path / "pkg")], cwd=build_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list((tmp_path / "pkg").glob("petrel_*_*.deb"))
    assert len(debs) == 1, r.stdout
    deb = debs[0]
    info = run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"]).stdout
    assert "Package: petrel" in info
    # Depends come from the binaries' real libraries (dpkg-shlibdeps).
    for lib in ("libssl3", "libsqlite3-0", "libsystemd0", "adduser"):
        assert lib in info, info
    proc = None
    try:
        r = run(["dpkg", "-i", str(deb)])
        assert r.returncode == 0, r.stdout + r.stderr
        # The user, its directories, the conffiles, the unit, the man pages.
        user = pwd.getpwnam("petrel")
        assert grp.getgrnam("petrel")
        for d in ("/var/lib/petrel", "/var/log/petrel"):
            assert os.stat(d).st_uid == user.pw_uid, d
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "petrel"]).stdout
        assert "/etc/petrel/petrel.conf" in conffiles and "/etc/logrotate.d/petrel" in conffiles, conffiles
        assert "user petrel" in Path("/etc/petrel/petrel.conf").read_text()
        for page in ("petrel.8", "petrel.conf.5", "petrel_pub.1", "petrel_sub.1", "petrel_rr.1", "petrel_passwd.1"):
            name, section = page.rsplit(".", 1)
            r = run(["man", "-w", section, name])
            assert r.returncode == 0 and "/usr/share/man/" in r.stdout, (page, r.stdout, r.stderr)
        if shutil.which("systemd-analyze"):
            r = run(["systemd-analyze", "verify", "/lib/systemd/system/petrel.service"])
            assert r.returncode == 0 and r.stderr.strip() == "", r.stdout + r.stderr
        if os.path.isdir("/run/systemd/system"):
            # Under a running systemd, postinst enabled and started the service: stop it, so
            # the store and the log have one writer (the run below).
            run(["systemctl", "stop", "petrel"])
        r = run(["/usr/sbin/petrel", "-c", "/etc/petrel/petrel.conf", "--test-config"])
        assert r.returncode == 0, r.stdout + r.stderr
        # Started as the service starts it, with a listener added the documented way.
        port = free_port()
        Path("/etc/petrel/conf.d/test.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        log = open(tmp_path / "petrel.out", "wb")
        proc = subprocess.Popen(["/usr/sbin/petrel", "-c", "/etc/petrel/petrel.conf"], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        assert wait_port("127.0.0.1", port, 20, proc), (tmp_path / "petrel.out").read_text()
        end = time.monotonic() + 10
        uid = None
        while time.monotonic() < end:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    uid = int(line.split()[2])
            if uid == user.pw_uid:
                break
            time.sleep(0.05)
        assert uid == user.pw_uid, f"petrel runs as uid {uid}, not petrel's {user.pw_uid}"
        # Retained: the subscriber gets it whether it subscribes before or after.
        r = run(["/usr/bin/petrel_pub", "-p", str(port), "-t", "pkg/t", "-q", "1", "-r", "-m", "through the package"])
        assert r.returncode == 0, r.stdout + r.stderr
        sub = subprocess.Popen(["/usr/bin/petrel_sub", "-p", str(port), "-t", "pkg/t", "-q", "1", "-C", "1",
                                "-W", "20"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = sub.communicate(timeout=30)
        assert sub.returncode == 0 and "through the package" in out, out
        # The store and the log belong to petrel.
        logfile = Path("/var/log/petrel/petrel.log")
        assert os.stat("/var/lib/petrel/petrel.db").st_uid == user.pw_uid
        assert logfile.stat().st_uid == user.pw_uid
        assert "Dropped privileges to user 'petrel'" in logfile.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        proc = None
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        r = run(["dpkg", "--purge", "petrel"])
        assert r.returncode == 0, r.stdout + r.stderr
    left = [p for p in PATHS_MADE if os.path.exists(p)]
    assert not left, f"left behind after the purge: {left}"
    with pytest.raises(KeyError):
        pwd.getpwnam("petrel")
    with pytest.raises(KeyError):
        grp.getgrnam("petrel")
