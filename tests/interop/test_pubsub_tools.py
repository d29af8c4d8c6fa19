"""`dora zenoh sub` and `dora zenoh pub` against real Zenoh sessions.

Our tools run as processes; the other end is the Rust core in this process: a real router that
both connect to as clients (the router timestamps what it forwards), a real peer they link to
directly, and real peers and clients that link to our tool's listener.
"""

import re

import pytest
import zenoh
from conftest import free_port
from pubsub_util import Collector

RECEIVED = re.compile(r"^>> \[Subscriber\] Received PUT \('([^']*)': '(.*)'\)"
                      r"(?: \(attachment: (\d+) bytes\))?$", re.M)


def received(proc, key):
    """(value, attachment size or None) of each sample on `key` that `dora zenoh sub` printed."""
    return [(m.group(2), int(m.group(3)) if m.group(3) else None)
            for m in RECEIVED.finditer(proc.text()) if m.group(1) == key]


def start_sub(dora, *zenoh_args):
    proc = dora.start("sub", "zenoh", "sub", "interop/tools/**", "--seconds", "60", *zenoh_args)
    proc.wait_for(r"Declaring Subscriber on 'interop/tools/\*\*'")
    return proc


def publish_to_sub(pub_session, sub_proc, wait_until):
    """Probes until our subscriber prints a sample, then sends numbered samples with an
    attachment and checks each arrives once, in order, with its attachment."""
    until_delivered_proc(lambda: pub_session.put("interop/tools/probe", "probe"), sub_proc,
                         wait_until)
    for i in range(20):
        pub_session.put("interop/tools/n", f"sample {i}", attachment=b"x" * i if i else None,
                        congestion_control=zenoh.CongestionControl.BLOCK)
    got = wait_until(lambda: (lambda r: r if len(r) >= 20 else None)(
        received(sub_proc, "interop/tools/n")), 15, "20 samples at dora zenoh sub")
    assert got == [(f"sample {i}", i if i else None) for i in range(20)]


def until_delivered_proc(put, proc, wait_until):
    def probe():
        if received(proc, "interop/tools/probe"):
            return True
        put()
        return False

    wait_until(probe, 15, "a probe sample at dora zenoh sub", interval=0.05)


@pytest.mark.parametrize("pub_mode", ["client", "peer"])
def test_real_publisher_reaches_dora_zenoh_sub_through_real_router(
        zenoh_sessions, dora, wait_until, pub_mode):
    _, [router] = zenoh_sessions.open("router", listen=["auto"])
    sub = start_sub(dora, "-m", "client", "-e", router)
    pub, _ = zenoh_sessions.open(pub_mode, connect=[router])
    publish_to_sub(pub, sub, wait_until)


@pytest.mark.parametrize("pub_mode", ["client", "peer"])
def test_real_session_reaches_dora_zenoh_sub_listening_as_peer(
        zenoh_sessions, dora, wait_until, pub_mode):
    port = free_port()
    sub = start_sub(dora, "-m", "peer", "-l", f"tcp/127.0.0.1:{port}")
    pub, _ = zenoh_sessions.open(pub_mode, connect=[f"tcp/127.0.0.1:{port}"])
    publish_to_sub(pub, sub, wait_until)


def test_real_peer_reaches_dora_zenoh_sub_that_connects_to_it(zenoh_sessions, dora, wait_until):
    pub, [peer] = zenoh_sessions.open("peer", listen=["auto"])
    sub = start_sub(dora, "-m", "peer", "-e", peer)
    publish_to_sub(pub, sub, wait_until)


@pytest.mark.parametrize("where", ["router-client", "peer-connect", "peer-listen-peer",
                                   "peer-listen-client"])
def test_dora_zenoh_pub_reaches_real_subscriber(zenoh_sessions, dora, where):
    collector = Collector()
    if where == "router-client":
        _, [endpoint] = zenoh_sessions.open("router", listen=["auto"])
        sub, _ = zenoh_sessions.open("client", connect=[endpoint])
        sub.declare_subscriber("interop/tools/**", collector)
        args = ["-m", "client", "-e", endpoint]
    elif where == "peer-connect":
        sub, [endpoint] = zenoh_sessions.open("peer", listen=["auto"])
        sub.declare_subscriber("interop/tools/**", collector)
        args = ["-m", "peer", "-e", endpoint]
    else:
        port = free_port()
        args = ["-m", "peer", "-l", f"tcp/127.0.0.1:{port}"]
        sub = None
    key = "interop/tools/from-dora"
    pub = dora.start("pub", "zenoh", "pub", key, "hello from dora", "-a", "meta", "-n", "5",
                     "--period", "100", "--wait", "10000", *args)
    if sub is None:
        mode = where.rsplit("-", 1)[1]
        sub, _ = zenoh_sessions.open(mode, connect=[f"tcp/127.0.0.1:{port}"])
        sub.declare_subscriber("interop/tools/**", collector)
    got = collector.wait_count(key, 5, timeout=20)
    assert [s["payload"] for s in got] == [b"hello from dora"] * 5
    assert [s["attachment"] for s in got] == [b"meta"] * 5
    assert pub.popen.wait(20) == 0, pub.text()
    if where == "router-client":
        # The real router timestamps what it forwards (timestamping.enabled.router).
        assert all(s["timestamp"] is not None for s in got)
