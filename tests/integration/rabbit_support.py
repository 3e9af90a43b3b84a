"""A real three-node RabbitMQ 3.10 cluster (Debian's rabbitmq-server with its MQTT plugin)
for the edge-bridge tests (test_cluster_rabbit.py). No tests live here.

Everything runs on loopback, on ports picked here, with its files under one directory
(the test module's temporary directory):

* a private epmd (`epmd -address 127.0.0.1 -port P`), started first and stopped last by
  its pid; every node and every rabbitmqctl finds it through ERL_EPMD_PORT, so no epmd on
  4369 is started or used;
* three nodes `petrel-a@localhost`, `petrel-b@localhost`, `petrel-c@localhost`, each with
  its own AMQP, distribution and MQTT port (all below 32768: above it is the kernel's
  ephemeral range, where a restarted node could find its port taken by a client socket,
  and rabbitmqctl uses 35672-35682 for itself), data directory and configuration; the
  distribution listens on 127.0.0.1 only (`inet_dist_use_interface`);
* one Erlang cookie in `$HOME/.erlang.cookie`, HOME being that directory, for the
  nodes and rabbitmqctl alike.

The scripts in /usr/lib/rabbitmq/bin are run directly (the /usr/sbin wrappers switch to
the `rabbitmq` user when run as root, who cannot read the test's files).

Configuration, as an operator would set it up for bridges that must survive a node's
loss (see docs/scale-out.md, RabbitMQ section):

* `mqtt.durable_queue_type = quorum`: a QoS 1 subscription of a `cleansession false`
  client is a durable queue; as a quorum queue it is replicated on the three nodes
  (Raft), so the session resumes on another node when the one holding it dies. It must be
  set before any such queue exists (a queue's type never changes), so it is in the
  configuration from the first start.
* `cluster_partition_handling = pause_minority`: a node cut off from the majority stops
  serving instead of accepting writes that would diverge.
* The MQTT plugin's client id tracking is a Raft group of its own: it needs a majority,
  which is why there are three nodes (two survive nothing).

A node is started with `rabbitmq-server` (a shell that runs the Erlang VM as its child
and forwards SIGTERM to it); `kill()` sends SIGKILL to the VM (`beam.smp`) by its pid,
the way a crash or an OOM kill ends it. Readiness is `rabbitmqctl await_startup`, never a
delay. Every wait has a generous deadline: a node starts in 10-12 s on an idle two-core
machine, several times that when the machine is busy.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
RABBITMQ_SERVER = RABBIT_BIN / "rabbitmq-server"
RABBITMQCTL = RABBIT_BIN / "rabbitmqctl"
EPMD = "/usr/bin/epmd"

# Deadlines (seconds). Generous on purpose: they only bound how long a broken run waits.
NODE_START_TIMEOUT = 180.0
CTL_TIMEOUT = 120.0
NODE_STOP_TIMEOUT = 60.0

HOST = "127.0.0.1"
NAMES = ("a", "b", "c")


def missing() -> str | None:
    """Why the cluster cannot run here (None: it can)."""
    for p in (RABBITMQ_SERVER, RABBITMQCTL, Path(EPMD)):
        if not p.exists():
            return f"{p} not found: install Debian's rabbitmq-server (scripts/deps.sh test)"
    return None


_taken: set[int] = set()
_taken_lock = threading.Lock()


def low_port() -> int:
    """A free loopback TCP port below the ephemeral range (32768+), not handed out
    before by this process. Another process may still take it later; starts that fail
    with a port in use are reported with the node's log."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20000, 32000)
        with _taken_lock:
            if port in _taken:
                continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        with _taken_lock:
            _taken.add(port)
        return port


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class Node:
    """One RabbitMQ node. `mqtt_port` is where MQTT clients and bridges connect."""

    def __init__(self, cluster: "Cluster", name: str):
        self.cluster = cluster
        self.name = name
        self.nodename = f"petrel-{name}@localhost"
        self.amqp_port = low_port()
        self.dist_port = low_port()
        self.mqtt_port = low_port()
        self.dir = cluster.dir / f"node-{name}"
        self.log_path = cluster.dir / f"node-{name}.log"
        self.conf_path = self.dir / "rabbitmq.conf"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- files --------------------------------------------------------------------------
    def config_text(self) -> str:
        return "\n".join([
            "# generated by tests/integration/rabbit_support.py",
            f"listeners.tcp.default = {HOST}:{self.amqp_port}",
            f"mqtt.listeners.tcp.default = {HOST}:{self.mqtt_port}",
            "mqtt.allow_anonymous = true",
            # Replicated (Raft) queues for the QoS 1 subscriptions of persistent MQTT
            # sessions: a bridge's session survives the death of the node holding it.
            "mqtt.durable_queue_type = quorum",
            # A node that cannot see a majority pauses instead of diverging.
            "cluster_partition_handling = pause_minority",
            # The machine's disk is shared with builds; the default 50 MB floor is fine,
            # the memory watermark is the default (40 % of RAM).
            "log.console = true",
            "log.console.level = info",
            "log.file = false",
            "",
        ])

    def env(self) -> dict[str, str]:
        return self.cluster.env() | {
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.conf_path),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_PID_FILE": str(self.dir / "rabbit.pid"),
            # The distribution listens on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def write_files(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "log").mkdir(exist_ok=True)
        self.conf_path.write_text(self.config_text())
        (self.dir / "advanced.config").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("# empty: the environment comes from the test\n")
        (self.dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- processes ------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def beam_pid(self) -> int | None:
        """The pid of this node's Erlang VM (beam.smp), the start script's child."""
        if not self.alive():
            return None
        for c in _children(self.proc.pid):
            if _comm(c).startswith("beam"):
                return c
        return None

    def start(self) -> "Node":
        """Start the node (not waiting for it: see wait_started)."""
        assert not self.alive(), f"{self.nodename} is already running"
        self.write_files()
        with open(self.log_path, "ab") as logf:
            logf.write(f"---- {self.nodename} start {self.starts + 1} ----\n".encode())
            logf.flush()
            self.proc = subprocess.Popen([str(RABBITMQ_SERVER)], stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir, env=self.env(),
                                         start_new_session=True)
        self.starts += 1
        return self

    def wait_started(self, timeout: float = NODE_START_TIMEOUT) -> None:
        """Until `rabbitmqctl await_startup` says the node (and its plugins) runs."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            if not self.alive():
                raise AssertionError(f"{self.nodename} exited (status {self.proc.returncode}) while starting; "
                                     f"log tail:\n{self.log()[-6000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.nodename} not started after {timeout}s ({last}); "
                                     f"log tail:\n{self.log()[-6000:]}")
            # await_startup fails at once while the node is not registered with epmd yet.
            r = self.ctl("await_startup", "--timeout", str(int(max(5, min(left, 60)))),
                         check=False, timeout=left + 30)
            if r.returncode == 0:
                return
            last = r.stdout.strip()[-500:]
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL to the Erlang VM by its pid (a crash: nothing is closed or handed
        over); then the start script exits too."""
        pid = self.beam_pid()
        assert pid is not None, f"{self.nodename}: no beam.smp under pid {self.proc.pid if self.proc else None}"
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=NODE_STOP_TIMEOUT)

    def stop(self, timeout: float = NODE_STOP_TIMEOUT) -> None:
        """A clean stop: SIGTERM to the start script, which forwards it to the VM; SIGKILL
        to the VM and the script (by pid) if they are still there after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        beam = self.beam_pid()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if beam is not None and _alive(beam):
                os.kill(beam, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(timeout=10)
        # The VM's helpers (erl_child_setup, inet_gethost) end with it; wait for the VM
        # itself so that its ports are free before a restart.
        deadline = time.monotonic() + timeout
        while beam is not None and _alive(beam) and time.monotonic() < deadline:
            time.sleep(0.1)

    def ctl(self, *args: str, check: bool = True, timeout: float = CTL_TIMEOUT) -> subprocess.CompletedProcess:
        """rabbitmqctl -n <this node> ARGS."""
        r = subprocess.run([str(RABBITMQCTL), "-n", self.nodename, *args], env=self.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.dir)
        if check and r.returncode != 0:
            raise AssertionError(f"rabbitmqctl -n {self.nodename} {' '.join(args)} failed ({r.returncode}):\n"
                                 f"{r.stdout[-3000:]}")
        return r

    def running_nodes(self) -> set[str]:
        """The running members of the cluster as this node sees them."""
        r = self.ctl("eval", "rabbit_nodes:all_running().", check=False, timeout=60)
        if r.returncode != 0:
            return set()
        out = r.stdout.replace("\n", "")
        return {f"petrel-{n}@localhost" for n in NAMES if f"'petrel-{n}@localhost'" in out}


class Cluster:
    """Three nodes a, b, c in one cluster (see the module docstring)."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.epmd_port = low_port()
        self.epmd: subprocess.Popen | None = None
        self.nodes = {n: Node(self, n) for n in NAMES}

    @property
    def a(self) -> Node:
        return self.nodes["a"]

    @property
    def b(self) -> Node:
        return self.nodes["b"]

    @property
    def c(self) -> Node:
        return self.nodes["c"]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        return env | {
            "HOME": str(self.dir),  # $HOME/.erlang.cookie, read by the nodes and rabbitmqctl
            "ERL_EPMD_ADDRESS": HOST,
            "ERL_EPMD_PORT": str(self.epmd_port),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",  # the Elixir CLI insists on UTF-8
            # rabbitmqctl is a distributed Erlang node too: loopback only.
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def log(self) -> str:
        return "\n".join(f"==== {n.nodename}\n{n.log()[-8000:]}" for n in self.nodes.values())

    def start(self) -> "Cluster":
        """epmd, then the three nodes booting at once; then b and c join a."""
        cookie = self.dir / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text("".join(random.SystemRandom().choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                                      for _ in range(32)))
            cookie.chmod(0o400)
        with open(self.dir / "epmd.log", "ab") as logf:
            self.epmd = subprocess.Popen([EPMD, "-address", HOST, "-port", str(self.epmd_port)],
                                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env(), start_new_session=True)
        deadline = time.monotonic() + 30
        while not _listening(self.epmd_port):
            if self.epmd.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"epmd did not start on {HOST}:{self.epmd_port}: "
                                     f"{(self.dir / 'epmd.log').read_text(errors='replace')}")
            time.sleep(0.05)
        for n in self.nodes.values():
            n.start()
        self.wait_nodes_started()
        for n in (self.b, self.c):
            n.ctl("stop_app")
            n.ctl("join_cluster", self.a.nodename)
            n.ctl("start_app")
        self.wait_members(set(self.nodes))
        return self

    def wait_nodes_started(self, nodes=None) -> None:
        nodes = list(nodes or self.nodes.values())
        errors: list[BaseException] = []

        def one(n: Node) -> None:
            try:
                n.wait_started()
            except BaseException as exc:  # reported below
                errors.append(exc)
        threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def wait_members(self, names, timeout: float = NODE_START_TIMEOUT, via: Node | None = None) -> None:
        """Until node `via` (default: the first running one of `names`) sees exactly the
        nodes `names` ("a", "b", "c") running."""
        want = {self.nodes[n].nodename for n in names}
        deadline = time.monotonic() + timeout
        while True:
            v = via or next(self.nodes[n] for n in sorted(names))
            got = v.running_nodes()
            if got == want:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster members running seen from {v.nodename}: {sorted(got)}, "
                                     f"expected {sorted(want)} after {timeout}s\n{self.log()}")
            time.sleep(1)

    def restart(self, node: Node) -> None:
        """Start a stopped or killed member again and wait until the cluster has all three."""
        node.start()
        node.wait_started()
        self.wait_members(set(self.nodes))

    def stop_all(self) -> None:
        """Stop the three nodes at once (a whole-cluster outage)."""
        threads = [threading.Thread(target=n.stop) for n in self.nodes.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def start_all(self) -> None:
        """Start the three (stopped) nodes at once: after a whole-cluster stop each node
        waits for its peers before it serves, so they must come back together."""
        for n in self.nodes.values():
            n.start()
        self.wait_nodes_started()
        self.wait_members(set(self.nodes))

    def teardown(self) -> None:
        """Stop every node, then epmd, each by its own pid; nothing else is touched."""
        try:
            self.stop_all()
        finally:
            if self.epmd is not None and self.epmd.poll() is None:
                self.epmd.terminate()
                try:
                    self.epmd.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.epmd.kill()
                    self.epmd.wait(timeout=10)


def _listening(port: int) -> bool:
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False
