"""Fixtures of the query and liveliness interop cases (test_query*.py, test_liveliness*.py).

Real Zenoh sessions are opened in the test process through `eclipse-zenoh` (the Rust core,
pinned in tests/requirements.txt); our side runs as real `dora` processes (`dora router`, the
`dora zenoh` tools). Everything listens and connects on 127.0.0.1 only, on ports picked free at
run time, with multicast scouting off on both sides.

The one fixture, `zq`, gives:
  zq.router()                      starts `dora router` on a free port, returns its endpoint
  zq.real(mode, listen=, connect=) opens a real Zenoh session (listen="auto": a free port);
                                   zq.endpoint_of(session) is where it listens
  zq.real_side(mode)               a real router (mode "client") or peer for our tool to reach,
                                   and the tool's -m/-e options
  zq.watch_tokens(session, key)    a real liveliness subscriber; the events it saw
  zq.tool(*args)                   starts `dora <args>` (stdout and stderr to files), a Proc
  zq.run(*args, timeout=)          runs `dora <args>` to its end, returns (code, stdout, stderr)
  zq.wait_until(cond, timeout, what)
Every process started is stopped by PID at teardown (SIGTERM, then SIGKILL), also on failure;
every session is closed.

Environment: DORA_CLI (the dora binary).
"""

import os
import signal
import subprocess
from pathlib import Path

import pytest
import zenoh

from interop_util import free_port, wait_until  # noqa: F401 (re-exported)

DORA_CLI = os.environ.get("DORA_CLI", "")


class Proc:
    """A started `dora` process whose output goes to files (read while it runs)."""

    def __init__(self, args, workdir, name):
        self.args = args
        self.out_path = workdir / f"{name}.out"
        self.err_path = workdir / f"{name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def lines(self):
        return self.stdout().splitlines()

    def wait_for(self, text, timeout=10):
        def seen():
            if text in self.stdout():
                return True
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"{self.args} exited ({self.popen.returncode}) before printing {text!r}:\n"
                    f"{self.stdout()}\n{self.stderr()}")
            return False
        wait_until(seen, timeout, f"{text!r} from {self.args}")

    def stop(self, sig=signal.SIGTERM, timeout=5):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def wait(self, timeout):
        return self.popen.wait(timeout)


class Interop:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.procs = []
        self.sessions = []
        self.listen = {}

    def tool(self, *args):
        proc = Proc([DORA_CLI, *args], self.workdir, f"p{len(self.procs)}")
        self.procs.append(proc)
        return proc

    def run(self, *args, timeout=20):
        proc = self.tool(*args)
        code = proc.wait(timeout)
        return code, proc.stdout(), proc.stderr()

    def router(self):
        """`dora router` on a free loopback port; returns its endpoint once it listens."""
        for _ in range(5):  # a port taken between free_port() and bind: try another
            endpoint = f"tcp/127.0.0.1:{free_port()}"
            proc = self.tool("router", "-l", endpoint, "-v")
            try:
                proc.wait_for(f"listening on {endpoint}", timeout=10)
                return endpoint
            except AssertionError:
                if proc.popen.poll() is None:
                    raise
        raise AssertionError("dora router did not start on any of 5 free ports")

    def real(self, mode, listen=None, connect=None):
        """A real Zenoh session (the Rust core). listen="auto" picks a free loopback port."""
        for _ in range(5):
            cfg = zenoh.Config()
            cfg.insert_json5("mode", f'"{mode}"')
            cfg.insert_json5("scouting/multicast/enabled", "false")
            cfg.insert_json5("scouting/gossip/enabled", "false")
            cfg.insert_json5("transport/shared_memory/enabled", "false")  # see conftest.py
            endpoint = None
            if listen == "auto":
                endpoint = f"tcp/127.0.0.1:{free_port()}"
            elif listen:
                endpoint = listen
            cfg.insert_json5("listen/endpoints", f'["{endpoint}"]' if endpoint else "[]")
            cfg.insert_json5("connect/endpoints", f'["{connect}"]' if connect else "[]")
            try:
                session = zenoh.open(cfg)
            except zenoh.ZError:
                if listen == "auto":
                    continue
                raise
            self.sessions.append(session)
            self.listen[id(session)] = endpoint
            return session
        raise AssertionError("no free port for a real Zenoh session")

    def endpoint_of(self, session):
        return self.listen[id(session)]

    def real_side(self, mode):
        """A real session for our tool to reach in `mode` (client: a real router; peer: a real
        peer), and the -m/-e options that reach it."""
        real = self.real("router" if mode == "client" else "peer", listen="auto")
        return real, ["-m", mode, "-e", self.endpoint_of(real)]

    @staticmethod
    def watch_tokens(session, key, history=False):
        """A liveliness subscriber of `session` on `key`; returns the (kind, key) list it fills
        ("PUT" when a token appears, "DELETE" when it goes)."""
        events = []
        session.liveliness().declare_subscriber(
            key, lambda s: events.append((str(s.kind).split(".")[-1], str(s.key_expr))),
            history=history)
        return events

    @staticmethod
    def wait_until(condition, timeout, what):
        return wait_until(condition, timeout, what)

    def close(self):
        for proc in reversed(self.procs):
            proc.stop()
        for session in reversed(self.sessions):
            try:
                session.close()
            except Exception:  # already closed by the test
                pass


@pytest.fixture
def zq(tmp_path):
    if not DORA_CLI or not os.access(DORA_CLI, os.X_OK):
        pytest.fail("DORA_CLI must name the dora binary")
    interop = Interop(tmp_path)
    try:
        yield interop
    finally:
        interop.close()
