"""`dora router` carries traffic between real Zenoh clients and peers, both ways.

A real publisher and a real subscriber (Rust core, each in client or peer mode) meet only
through our router: every sample crosses our receive path (batches, FRAGMENT reassembly, key
expression tables) and our send path. Checked: key, payload bytes, attachment, encoding (with
and without schema), timestamp, DELETE, and payloads from 0 B to 64 MiB.
"""

import itertools
import os

import pytest
import zenoh
from pubsub_util import Collector, until_delivered

MODES = ["client", "peer"]
BLOCK = zenoh.CongestionControl.BLOCK  # the Rust publisher drops on congestion otherwise


@pytest.fixture
def router(dora):
    return dora.router()


def connect_pair(zenoh_sessions, endpoint, pub_mode, sub_mode, key_prefix):
    """A real subscriber on `key_prefix/**` and a real publisher, both linked only to our router;
    returns (publisher session, collector) once a probe sample got through."""
    sub_session, _ = zenoh_sessions.open(sub_mode, connect=[endpoint])
    pub_session, _ = zenoh_sessions.open(pub_mode, connect=[endpoint])
    collector = Collector()
    sub_session.declare_subscriber(f"{key_prefix}/**", collector)
    probe = f"{key_prefix}/probe"
    until_delivered(lambda: pub_session.put(probe, b"probe"), collector, probe)
    return pub_session, collector


@pytest.mark.parametrize("pub_mode,sub_mode", list(itertools.product(MODES, MODES)))
def test_sample_fields_cross_dora_router(zenoh_sessions, router, pub_mode, sub_mode):
    _, endpoint = router
    pub, collector = connect_pair(zenoh_sessions, endpoint, pub_mode, sub_mode, "interop/fields")
    timestamp = pub.new_timestamp()

    pub.put("interop/fields/a", b"plain", congestion_control=BLOCK)
    pub.put("interop/fields/a", b"\x00\x01binary\xff", attachment=b"att\x00ach",
            encoding=zenoh.Encoding.APPLICATION_OCTET_STREAM, congestion_control=BLOCK)
    pub.put("interop/fields/a", '{"x": 1}', encoding="application/json;schema-1",
            timestamp=timestamp, congestion_control=BLOCK)
    pub.put("interop/fields/a", b"custom", encoding="application/x-dora-interop",
            congestion_control=BLOCK)
    pub.delete("interop/fields/a", attachment=b"gone", congestion_control=BLOCK)

    got = collector.wait_count("interop/fields/a", 5, timeout=10)
    assert [s["kind"] for s in got] == ["SampleKind.PUT"] * 4 + ["SampleKind.DELETE"]
    assert [s["payload"] for s in got[:4]] == [b"plain", b"\x00\x01binary\xff", b'{"x": 1}',
                                               b"custom"]
    assert [s["attachment"] for s in got] == [None, b"att\x00ach", None, None, b"gone"]
    assert got[0]["encoding"] == "zenoh/bytes"
    assert got[1]["encoding"] == "application/octet-stream"
    assert got[2]["encoding"] == "application/json;schema-1"
    assert got[3]["encoding"] == "application/x-dora-interop"
    # Our router adds no timestamp; the publisher's own one arrives unchanged.
    assert got[0]["timestamp"] is None
    assert got[2]["timestamp"] is not None
    assert str(got[2]["timestamp"]) == str(timestamp)


SIZES = [0, 1, 1000, 49_000, 65_533, 65_536, 1 << 20, 64 << 20]


@pytest.mark.parametrize("pub_mode,sub_mode", [("client", "peer"), ("peer", "client")])
def test_payload_sizes_cross_dora_router(zenoh_sessions, router, pub_mode, sub_mode):
    _, endpoint = router
    pub, collector = connect_pair(zenoh_sessions, endpoint, pub_mode, sub_mode, "interop/sizes")
    payloads = [os.urandom(size) for size in SIZES]
    for size, payload in zip(SIZES, payloads):
        pub.put(f"interop/sizes/{size}", payload, attachment=size.to_bytes(8, "little"),
                congestion_control=BLOCK)
    for size, payload in zip(SIZES, payloads):
        [sample] = collector.wait_count(f"interop/sizes/{size}", 1, timeout=30)
        assert len(sample["payload"]) == size
        assert sample["payload"] == payload, f"{size}-byte payload changed on the way"
        assert sample["attachment"] == size.to_bytes(8, "little")


def test_many_samples_in_order_cross_dora_router(zenoh_sessions, router):
    _, endpoint = router
    pub, collector = connect_pair(zenoh_sessions, endpoint, "peer", "client", "interop/order")
    count = 2000
    for i in range(count):
        pub.put("interop/order/n", i.to_bytes(4, "little"), congestion_control=BLOCK)
    got = collector.wait_count("interop/order/n", count, timeout=30)
    assert [int.from_bytes(s["payload"], "little") for s in got] == list(range(count))
