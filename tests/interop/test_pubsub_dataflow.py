"""Running dataflows against the real Zenoh: daemons as clients of a real router (the seed's
cross-network set-up, ZENOH_CONFIG), a real subscriber on `dora/**` watching, payloads from 0 B
to 64 MiB between daemons through the real router, a real peer linked to a daemon, and debug
inspection (every output published, local ones too).
"""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, free_port
from pubsub_util import Collector

NODES = Path(__file__).resolve().parent / "nodes"
SENSORS = {"sensor_temp": "sensor-temp", "sensor_humidity": "sensor-humidity",
           "sensor_pressure": "sensor-pressure"}


def is_end_of_stream(attachment):
    """The signed end of an output's stream: 0xfe, then a 64-byte Ed25519 signature by the
    producer's daemon (message/data_keys.hpp)."""
    return attachment is not None and len(attachment) == 65 and attachment[0] == 0xFE


def node_log(dataflow_dir, dataflow_id, node):
    path = dataflow_dir / "out" / dataflow_id / f"log_{node}.txt"
    return path.read_text(errors="replace") if path.exists() else ""


def copy_sensor_network(workdir):
    """The seed's dataflow and nodes, verbatim, in a directory of the test's own (the nodes'
    logs land next to the dataflow file)."""
    target = workdir / "sensor-network"
    target.mkdir()
    for name in ("dataflow.yml", "sensor_node.py", "cloud_node.py"):
        shutil.copy(EXAMPLES / "sensor-network" / name, target / name)
    return target


def sent_readings(log):
    """The readings a sensor printed as sent, in order ("temperature=21.5celsius" ...)."""
    return re.findall(r"^\[\d+\] Sent: (\S+)$", log, re.M)


def received_readings(log, sensor_id):
    return re.findall(rf"^>> \[\d+\] Received from {sensor_id}: (\S+)$", log, re.M)


def reading_text(payload):
    """The sensor's reading as its log prints it, from the JSON bytes on the wire."""
    reading = json.loads(payload)
    return f"{reading['sensor_type']}={reading['value']}{reading['unit']}"


def run_sensor_network(cluster, workdir, watched, wait_until, readings=3):
    """Starts the sensor network on `cluster` and waits for `readings` readings of the slowest
    sensor, then until every reading sent so far reached the aggregator, in order, and the
    Collector `watched` (unless None) with the same payloads. Returns (sent readings per sensor,
    Zenoh key per sensor)."""
    flow = copy_sensor_network(workdir)
    dataflow_id = cluster.start_dataflow(flow / "dataflow.yml", "sensors")
    keys = {s: f"dora/default/{dataflow_id}/output/{n}/reading" for s, n in SENSORS.items()}

    # The pressure sensor ticks every 2 s.
    wait_until(lambda: len(sent_readings(node_log(flow, dataflow_id, "sensor-pressure")))
               >= readings, 40, f"{readings} readings of the pressure sensor")
    sent = {s: sent_readings(node_log(flow, dataflow_id, n)) for s, n in SENSORS.items()}

    def watched_readings(s):
        return [reading_text(x["payload"]) for x in watched.matching(keys[s])] if watched else []

    def delivered():
        aggregator = node_log(flow, dataflow_id, "cloud-aggregator")
        return all(received_readings(aggregator, s)[:len(sent[s])] == sent[s] and
                   (watched is None or watched_readings(s)[:len(sent[s])] == sent[s])
                   for s in SENSORS)

    try:
        wait_until(delivered, 15, "every reading sent so far at the aggregator (and watcher)")
    except AssertionError:
        aggregator = node_log(flow, dataflow_id, "cloud-aggregator")
        for s in SENSORS:
            print(s, "sent", sent[s], "\n  aggregator", received_readings(aggregator, s),
                  "\n  watcher", watched_readings(s))
        raise
    return sent, keys


def test_sensor_network_through_real_router(zenoh_sessions, dora, wait_until):
    """The seed's cross-network set-up with a real Zenoh router: every daemon a Zenoh client of
    it through ZENOH_CONFIG. Every reading a sensor sent reaches the aggregator, in order; a
    real subscriber on `dora/**` at the router sees the same readings with their attachments."""
    _, [router] = zenoh_sessions.open("router", listen=["auto"])
    watcher, _ = zenoh_sessions.open("client", connect=[router])
    watched = Collector()
    watcher.declare_subscriber("dora/**", watched)
    config = dora.write_zenoh_config("zenoh-client", "client", connect=[router])
    cluster = dora.cluster(["edge1", "edge2", "edge3", "cloud"], zenoh_config=config)
    sent, keys = run_sensor_network(cluster, dora.workdir, watched, wait_until)
    cluster.stop_dataflow("sensors")
    for s in SENSORS:
        samples = watched.matching(keys[s])
        assert all(x["kind"] == "SampleKind.PUT" for x in samples)
        # Each data sample carries dora's metadata as its attachment (the end marker, one byte,
        # may follow the last).
        assert all(x["attachment"] and len(x["attachment"]) > 1 for x in samples[:len(sent[s])])


SIZES = [0, 1, 1000, 65_533, 65_536, 1 << 20, 64 << 20]


def blob_dataflow(workdir, sizes, machines=("a", "b"), name="blobs", extra=""):
    """A sender of `sizes` and its receiver in <workdir>/<name>; `extra` is appended to the
    dataflow file (top-level keys)."""
    flow = workdir / name
    flow.mkdir()
    for name in ("blob_sender.py", "blob_receiver.py"):
        shutil.copy(NODES / name, flow / name)
    (flow / "dataflow.yml").write_text(f"""\
nodes:
  - id: sender
    _unstable_deploy:
      machine: {machines[0]}
    path: blob_sender.py
    args: {",".join(map(str, sizes))}
    inputs:
      tick: dora/timer/millis/300
    outputs:
      - blob
  - id: receiver
    _unstable_deploy:
      machine: {machines[1]}
    path: blob_receiver.py
    inputs:
      blob: sender/blob
""" + extra)
    return flow


def test_payload_sizes_between_daemons_through_real_router(zenoh_sessions, dora, wait_until):
    """0 B to 64 MiB from a node on one daemon to a node on another, both daemons clients of a
    real router (our FRAGMENTs to it, its FRAGMENTs to us); a real subscriber sees each payload
    and its metadata in the attachment."""
    _, [router] = zenoh_sessions.open("router", listen=["auto"])
    watcher, _ = zenoh_sessions.open("client", connect=[router])
    watched = Collector()
    watcher.declare_subscriber("dora/**", watched)
    config = dora.write_zenoh_config("zenoh-client", "client", connect=[router])
    cluster = dora.cluster(["a", "b"], zenoh_config=config)
    flow = blob_dataflow(dora.workdir, SIZES)
    dataflow_id = cluster.start_dataflow(flow / "dataflow.yml", "blobs")
    got_re = re.compile(r"^got (\d+) (\w+) (\d+) (\w+)$", re.M)
    try:
        lines = wait_until(lambda: (lambda g: g if len(g) >= len(SIZES) else None)(
            got_re.findall(node_log(flow, dataflow_id, "receiver"))), 60,
            "every blob at the receiver")
    except AssertionError:
        print(node_log(flow, dataflow_id, "sender"), node_log(flow, dataflow_id, "receiver"))
        raise
    sent = re.findall(r"^sent (\d+) (\w+)$", node_log(flow, dataflow_id, "sender"), re.M)
    assert [int(s) for s, _ in sent] == SIZES
    for (size, digest, meta_size, meta_digest), (want_size, want_digest) in zip(lines, sent):
        assert (size, digest) == (want_size, want_digest), f"{want_size}-byte blob changed"
        assert (meta_size, meta_digest) == (want_size, want_digest)
    key = f"dora/default/{dataflow_id}/output/sender/blob"
    samples = [x for x in watched.matching(key) if not is_end_of_stream(x["attachment"])]
    assert [hashlib.sha256(x["payload"]).hexdigest() for x in samples] == [d for _, d in sent]
    for x, (_, digest) in zip(samples, sent):
        assert digest.encode() in x["attachment"], "the metadata is not in the attachment"
    cluster.stop_dataflow("blobs")


@pytest.mark.parametrize("mode", ["peer", "client"])
def test_real_session_linked_to_a_daemon_sees_its_outputs(zenoh_sessions, dora, wait_until,
                                                          mode):
    """Daemons in peer mode (the default), one listening on a known loopback port: a real Zenoh
    peer or client that links to it sees what that daemon publishes for the other."""
    port = free_port()
    configs = {
        "a": dora.write_zenoh_config("zenoh-a", "peer", listen=[f"tcp/127.0.0.1:{port}"]),
        "b": dora.write_zenoh_config("zenoh-b", "peer", listen=["tcp/127.0.0.1:0"]),
    }
    cluster = dora.cluster(["a", "b"], zenoh_config=configs)
    session, _ = zenoh_sessions.open(mode, connect=[f"tcp/127.0.0.1:{port}"])
    watched = Collector()
    session.declare_subscriber("dora/**", watched)
    # Linked before the dataflow starts (its subscriber is declared as the link opens).
    wait_until(lambda: list(session.info.peers_zid()) + list(session.info.routers_zid()), 10,
               f"the real {mode}'s link to daemon a")
    sizes = [10, 100_000, 5 << 20]
    flow = blob_dataflow(dora.workdir, sizes)
    dataflow_id = cluster.start_dataflow(flow / "dataflow.yml", "blobs")
    key = f"dora/default/{dataflow_id}/output/sender/blob"
    got_re = re.compile(r"^got (\d+) (\w+) ", re.M)
    received = wait_until(lambda: (lambda g: g if len(g) >= len(sizes) else None)(
        got_re.findall(node_log(flow, dataflow_id, "receiver"))), 40, "every blob at receiver")
    sent = re.findall(r"^sent (\d+) (\w+)$", node_log(flow, dataflow_id, "sender"), re.M)
    assert received == sent
    samples = watched.wait_count(key, len(sizes), timeout=10)
    assert [hashlib.sha256(x["payload"]).hexdigest() for x in samples] == [d for _, d in sent]
    cluster.stop_dataflow("blobs")


def one_daemon_watched_by_a_real_peer(zenoh_sessions, dora, wait_until):
    """A cluster of one daemon (machine "a") listening on a known loopback port, and a real
    Zenoh peer linked to it subscribed to `dora/**`; (cluster, Collector)."""
    port = free_port()
    config = dora.write_zenoh_config("zenoh-a", "peer", listen=[f"tcp/127.0.0.1:{port}"])
    cluster = dora.cluster(["a"], zenoh_config=config)
    session, _ = zenoh_sessions.open("peer", connect=[f"tcp/127.0.0.1:{port}"])
    watched = Collector()
    session.declare_subscriber("dora/**", watched)
    wait_until(lambda: list(session.info.peers_zid()), 10, "the real peer's link to the daemon")
    return cluster, watched


def test_real_peer_sees_outputs_consumed_only_locally(zenoh_sessions, dora, wait_until):
    """Zero-cost watching: a real Zenoh peer's subscriber on `dora/**` makes the daemon publish
    an output that only a node on its own machine consumes (no debug flag needed)."""
    cluster, watched = one_daemon_watched_by_a_real_peer(zenoh_sessions, dora, wait_until)
    flow = blob_dataflow(dora.workdir, [10, 20], machines=("a", "a"))
    dataflow_id = cluster.start_dataflow(flow / "dataflow.yml", "local")
    wait_until(lambda: len(re.findall(r"^got ", node_log(flow, dataflow_id, "receiver"),
                                      re.M)) >= 2, 30, "both blobs at the local receiver")
    watched.wait_count(f"dora/default/{dataflow_id}/output/sender/blob", 2, timeout=3)


DEBUG_KEYS = {"dora-1.x": "debug:\n  enable_debug_inspection: true\n",
              "dora-0.3.12": "_unstable_debug:\n  publish_all_messages_to_zenoh: true\n"}


@pytest.mark.parametrize("spelling", sorted(DEBUG_KEYS))
def test_debug_inspection_publishes_outputs_consumed_only_locally(zenoh_sessions, dora,
                                                                  wait_until, spelling):
    """With debug inspection on (both spellings are accepted; every output is watchable anyway),
    a real Zenoh peer linked to the daemon sees every message of an output that only a node on
    the same machine consumes (shared memory, up to 5 MiB), with its payload and metadata; so it
    does of a dataflow without the flag, run first on the same daemon."""
    cluster, watched = one_daemon_watched_by_a_real_peer(zenoh_sessions, dora, wait_until)
    got_re = re.compile(r"^got (\d+) (\w+) ", re.M)

    def received(flow, dataflow_id, count):
        return wait_until(lambda: (lambda g: g if len(g) >= count else None)(
            got_re.findall(node_log(flow, dataflow_id, "receiver"))), 40,
            f"{count} blobs at the local receiver")

    quiet = blob_dataflow(dora.workdir, [10, 20], machines=("a", "a"), name="quiet")
    quiet_id = cluster.start_dataflow(quiet / "dataflow.yml", "quiet")
    received(quiet, quiet_id, 2)
    cluster.stop_dataflow("quiet")

    sizes = [0, 10, 100_000, 5 << 20]
    flow = blob_dataflow(dora.workdir, sizes, machines=("a", "a"), name="inspected",
                         extra=DEBUG_KEYS[spelling])
    dataflow_id = cluster.start_dataflow(flow / "dataflow.yml", "inspected")
    assert received(flow, dataflow_id, len(sizes)) == re.findall(
        r"^sent (\d+) (\w+)$", node_log(flow, dataflow_id, "sender"), re.M)
    sent = re.findall(r"^sent (\d+) (\w+)$", node_log(flow, dataflow_id, "sender"), re.M)
    key = f"dora/default/{dataflow_id}/output/sender/blob"
    # Data samples come first; the end marker only after the sender exits.
    samples = watched.wait_count(key, len(sizes), timeout=15)[:len(sizes)]
    assert [hashlib.sha256(x["payload"]).hexdigest() for x in samples] == [d for _, d in sent]
    for x, (_, digest) in zip(samples, sent):
        assert digest.encode() in x["attachment"], "the metadata is not in the attachment"
    cluster.stop_dataflow("inspected")
    # The watcher's `dora/**` covers the dataflow without the flag too.
    assert [x for x in watched.samples
            if quiet_id in x["key"] and not is_end_of_stream(x["attachment"])]
