"""Fixtures of the interop suite: our processes against the Rust Zenoh core.

Real Zenoh sessions are opened in this process through `eclipse-zenoh` (the Python binding of the
Rust core, pinned in tests/requirements.txt); our side runs as real `dora` processes (router,
zenoh tools, coordinator, daemons, nodes). Everything listens and connects on 127.0.0.1 only, on
ports picked free at run time, with multicast scouting off on both sides, so the suite passes
while other dora or Zenoh processes run on the machine.

Fixtures (generic, for every interop test module):
  zenoh_sessions   opens real Zenoh sessions: zenoh_sessions.open(mode, listen=..., connect=...)
                   (listen=["auto"] picks a free loopback port); all are closed at teardown.
  dora             starts `dora` processes with their own XDG dirs and no user settings:
                   dora.start(name, args...), dora.router(), dora.cluster(machines, ...),
                   dora.run(args...) for short CLI calls. Every process it started, and every
                   descendant (found by a marker in its environment), is stopped by PID at
                   teardown, also when the test failed.
  wait_until       polls a condition with a deadline (no fixed sleeps).

Environment: DORA_CLI (the dora binary), DORA_EXAMPLES (examples/ of the source tree).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import zenoh

from interop_util import free_port, wait_until  # noqa: F401 (re-exported)

DORA_CLI = os.environ.get("DORA_CLI", "")
_OWN_BASETEMP = pytest.StashKey[str]()
_FAILED = pytest.StashKey[bool]()
EXAMPLES = Path(os.environ.get("DORA_EXAMPLES", Path(__file__).resolve().parents[2] / "examples"))


def pytest_configure(config):
    if not DORA_CLI or not os.access(DORA_CLI, os.X_OK):
        raise pytest.UsageError("DORA_CLI must name the dora binary")
    if config.option.basetemp is None:
        # A directory of this run's own (runs side by side never share one) with a short path:
        # the daemons' Unix sockets live under it.
        config.option.basetemp = tempfile.mkdtemp(prefix="dora-interop-")
        config.stash[_OWN_BASETEMP] = config.option.basetemp


def pytest_unconfigure(config):
    own = config.stash.get(_OWN_BASETEMP, None)
    if own and not config.stash.get(_FAILED, False):
        shutil.rmtree(own, ignore_errors=True)
    elif own:
        print(f"\ninterop: the files of the failed tests are kept in {own}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if outcome.get_result().failed:
        item.config.stash[_FAILED] = True


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until


# ---- real Zenoh sessions ----


def zenoh_config(mode, listen=(), connect=(), extra=None):
    """A zenoh.Config on loopback: mode, endpoints, no multicast scouting, plus `extra`
    (json5 path -> Python value) for anything else."""
    config = zenoh.Config()
    config.insert_json5("mode", json.dumps(mode))
    config.insert_json5("listen/endpoints", json.dumps(list(listen)))
    config.insert_json5("connect/endpoints", json.dumps(list(connect)))
    config.insert_json5("scouting/multicast/enabled", "false")
    # No shared-memory transport: the Rust core would create /dev/shm/<id>.zenoh, which a session
    # killed at the end of a test leaves behind (only the next Zenoh process sweeps it).
    config.insert_json5("transport/shared_memory/enabled", "false")
    for path, value in (extra or {}).items():
        config.insert_json5(path, json.dumps(value))
    return config


class ZenohSessions:
    def __init__(self):
        self._sessions = []

    def open(self, mode, listen=(), connect=(), extra=None, timeout=10):
        """Opens a real Zenoh session. "auto" in `listen` becomes tcp/127.0.0.1:<free port>
        (another one if some other process took the port first). A client, which fails to open
        while nothing listens at its endpoints, retries for up to `timeout` s (our process may
        still be starting). Returns (session, listen endpoints)."""
        deadline = time.monotonic() + timeout
        while True:
            endpoints = [f"tcp/127.0.0.1:{free_port()}" if e == "auto" else e for e in listen]
            try:
                session = zenoh.open(zenoh_config(mode, endpoints, connect, extra))
            except zenoh.ZError as e:
                lost_port = "auto" in listen
                no_listener = "Unable to connect" in str(e)
                if not (lost_port or no_listener) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
                continue
            self._sessions.append(session)
            return session, endpoints

    def close_all(self):
        for session in reversed(self._sessions):
            if not session.is_closed():
                session.close()
        self._sessions.clear()


@pytest.fixture
def zenoh_sessions():
    sessions = ZenohSessions()
    try:
        yield sessions
    finally:
        sessions.close_all()


# ---- our processes ----


class Proc:
    """One `dora` process, its output (stdout and stderr together) in a log file."""

    def __init__(self, name, popen, log):
        self.name = name
        self.popen = popen
        self.log = log

    @property
    def pid(self):
        return self.popen.pid

    def text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, pattern, timeout=20):
        """The first match of regex `pattern` in the output; fails if the process exits or the
        time runs out first."""
        regex = re.compile(pattern, re.M)

        def found():
            match = regex.search(self.text())
            if match:
                return match
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) before printing "
                    f"{pattern!r}:\n{self.text()[-3000:]}")
            return None

        try:
            return wait_until(found, timeout, f"{self.name} to print {pattern!r}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- {self.name} output ---\n{self.text()[-3000:]}") from None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the process and waits for it to exit (SIGKILL after `timeout`); the code."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


class Cluster:
    """A coordinator and daemons started by Dora.cluster()."""

    def __init__(self, dora, coordinator, control_port, daemons):
        self.dora = dora
        self.coordinator = coordinator
        self.control_port = control_port
        self.daemons = daemons  # machine id -> Proc

    def cli(self, *args, timeout=30):
        return self.dora.run(*args, "--coordinator-port", str(self.control_port),
                             timeout=timeout)

    def start_dataflow(self, path, name):
        out = self.cli("start", str(path), "--name", name, "--detach")
        match = re.search(r"dataflow start triggered: ([0-9a-f-]+)", out.stdout + out.stderr)
        assert out.returncode == 0 and match, f"dora start failed:\n{out.stdout}{out.stderr}"
        return match.group(1)

    def stop_dataflow(self, name, timeout=30):
        out = self.cli("stop", "--name", name, timeout=timeout)
        assert out.returncode == 0, f"dora stop failed:\n{out.stdout}{out.stderr}"
        return out


class Dora:
    def __init__(self, workdir):
        self.workdir = workdir
        self.marker = f"dora-interop-{uuid.uuid4().hex}"
        self.procs = []
        runtime = workdir / "xdg-run"
        config = workdir / "xdg-config"
        runtime.mkdir(exist_ok=True)
        config.mkdir(exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DORA_TOKEN", "ZENOH_CONFIG", "DORA_COORDINATOR_ADDR",
                                 "DORA_COORDINATOR_PORT")}
        self.env.update(XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(config),
                        XDG_STATE_HOME=str(self.workdir / "state"),
                        DORA_INTEROP_MARKER=self.marker)

    def start(self, name, *args, env=None, stdin=subprocess.DEVNULL):
        """Starts `dora ARGS...`; its output goes to <workdir>/<name>.log."""
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen([DORA_CLI, *map(str, args)], stdin=stdin, stdout=out,
                                     stderr=subprocess.STDOUT, env={**self.env, **(env or {})},
                                     cwd=self.workdir)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def run(self, *args, timeout=30, env=None, input=None):
        """Runs a short `dora ARGS...` to its end (bounded by `timeout`)."""
        return subprocess.run([DORA_CLI, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env={**self.env, **(env or {})}, cwd=self.workdir,
                              input=input)

    def router(self, name="router", *extra):
        """`dora router` on a free loopback port; (Proc, "tcp/127.0.0.1:PORT")."""
        proc = self.start(name, "router", "--listen", "tcp/127.0.0.1:0",
                          "--no-multicast-scouting", *extra)
        port = proc.wait_for(r"^listening on tcp/127\.0\.0\.1:(\d+)$").group(1)
        return proc, f"tcp/127.0.0.1:{port}"

    def write_zenoh_config(self, name, mode, connect=(), listen=()):
        """A ZENOH_CONFIG file (json5, zenohd's format) in the work dir; its path."""
        path = self.workdir / f"{name}.json5"
        path.write_text(json.dumps({
            "mode": mode,
            "connect": {"endpoints": list(connect)},
            "listen": {"endpoints": list(listen)},
            "scouting": {"multicast": {"enabled": False}},
        }, indent=2))
        return path

    def cluster(self, machines, zenoh_config=None, timeout=30):
        """A coordinator on free loopback ports and one daemon per machine id, each with
        ZENOH_CONFIG=`zenoh_config` (a path, or a dict machine -> path) when given; returns once
        every daemon is registered."""
        coordinator = self.start("coordinator", "coordinator", "--interface", "127.0.0.1",
                                 "--port", "0", "--control-interface", "127.0.0.1",
                                 "--control-port", "0")
        match = coordinator.wait_for(r"^coordinator listening: daemons on [^ ]+:(\d+), "
                                     r"control on [^ ]+:(\d+)")
        daemon_port, control_port = match.group(1), match.group(2)
        daemons = {}
        for machine in machines:
            config = zenoh_config.get(machine) if isinstance(zenoh_config, dict) else zenoh_config
            daemons[machine] = self.start(
                f"daemon-{machine}", "daemon", "--machine-id", machine, "--coordinator-addr",
                "127.0.0.1", "--coordinator-port", daemon_port, "--local-listen-port", "0",
                env={"ZENOH_CONFIG": str(config)} if config else None)
        cluster = Cluster(self, coordinator, control_port, daemons)

        def all_connected():
            listing = cluster.cli("list", timeout=10).stdout
            return all(re.search(rf"^{re.escape(m)} +connected", listing, re.M) for m in machines)

        try:
            wait_until(all_connected, timeout, f"daemons {machines} to register", interval=0.1)
        except AssertionError as e:
            logs = "\n".join(f"--- {p.name} ---\n{p.text()[-1500:]}" for p in daemons.values())
            raise AssertionError(f"{e}\n{logs}") from None
        return cluster

    def marked_pids(self):
        """Live processes (not zombies) whose environment carries this fixture's marker: what
        it started and their descendants (daemons' nodes)."""
        needle = f"DORA_INTEROP_MARKER={self.marker}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if needle not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            except OSError:
                continue
            pids.append(int(entry.name))
        return pids

    def cleanup(self):
        """Stops what is left: started processes by SIGTERM (in reverse order), then every
        marked descendant; SIGKILL after a grace period. Returns the names of processes that
        had to be killed."""
        killed = []
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
                killed.append(proc.name)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.marked_pids()
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if pids:
                killed.extend(f"pid {pid}" for pid in pids)
                try:
                    wait_until(lambda: not self.marked_pids(), 5, "marked processes to exit", 0.05)
                except AssertionError:
                    continue
            break
        return killed


@pytest.fixture
def dora(tmp_path):
    procs = Dora(tmp_path)
    try:
        yield procs
    finally:
        procs.cleanup()
