"""tls/ locators against the real Zenoh (eclipse-zenoh, the Rust core with rustls), with TLS and
with mutual TLS, both ways: real clients through `dora router`'s tls/ listener, `dora zenoh sub`
dialling a real router's tls/ listener, the refusals each side reports, and the sensor network
with every daemon a mutual-TLS client of a real router.

Certificates are made at test time with the `openssl` command into the test's temp dir (never
committed): one CA, a certificate for 127.0.0.1 and localhost per process, and a second CA whose
certificates the first does not trust.
"""

import json
import re
import subprocess

import pytest
import zenoh
from conftest import free_port
from pubsub_util import Collector, until_delivered
from test_pubsub_dataflow import run_sensor_network

LEAF_EXTENSIONS = """subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
"""


class Ca:
    """A CA made with the openssl command, and the certificates it signs, in `directory`."""

    def __init__(self, directory, name):
        self.dir = directory
        self.name = name
        self.cert = directory / f"{name}.pem"
        self.key = directory / f"{name}-key.pem"
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                      "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    @staticmethod
    def _openssl(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    def issue(self, name):
        """(certificate, key) files of a leaf for 127.0.0.1 and localhost."""
        key = self.dir / f"{self.name}-{name}-key.pem"
        csr = self.dir / f"{self.name}-{name}.csr"
        cert = self.dir / f"{self.name}-{name}.pem"
        ext = self.dir / "leaf.ext"
        ext.write_text(LEAF_EXTENSIONS)
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key


@pytest.fixture
def ca(tmp_path):
    return Ca(tmp_path, "interop-ca")


def tls_keys(ca, role, name, mtls):
    """transport.link.tls for a listener (role "listen") or a client (role "connect")."""
    cert, key = ca.issue(name)
    keys = {"root_ca_certificate": str(ca.cert), "enable_mtls": mtls}
    if role == "listen" or mtls:
        keys[f"{role}_certificate"] = str(cert)
        keys[f"{role}_private_key"] = str(key)
    return keys


def real_extra(keys):
    """The same keys for a real session (zenoh_sessions.open's `extra`)."""
    return {f"transport/link/tls/{k}": v for k, v in keys.items()}


def dora_config(dora, name, keys, mode=None, connect=(), listen=()):
    """A ZENOH_CONFIG file for our processes with `keys` under transport.link.tls."""
    config = {"scouting": {"multicast": {"enabled": False}},
              "transport": {"link": {"tls": keys}}}
    if mode:
        config["mode"] = mode
        config["connect"] = {"endpoints": list(connect)}
        config["listen"] = {"endpoints": list(listen)}
    path = dora.workdir / f"{name}.json5"
    path.write_text(json.dumps(config, indent=2))
    return path


def tls_router(dora, keys):
    """`dora router` on tls/127.0.0.1:<free port>; (Proc, endpoint)."""
    config = dora_config(dora, "router", keys)
    proc = dora.start("router", "router", "--listen", "tls/127.0.0.1:0", "-c", config,
                      "--no-multicast-scouting", "--verbose")
    port = proc.wait_for(r"^listening on tls/127\.0\.0\.1:(\d+)$").group(1)
    return proc, f"tls/127.0.0.1:{port}"


def real_tls_router(zenoh_sessions, keys):
    """A real router listening on tls/127.0.0.1:<free port>; its endpoint."""
    endpoint = f"tls/127.0.0.1:{free_port()}"
    zenoh_sessions.open("router", listen=[endpoint], extra=real_extra(keys))
    return endpoint


@pytest.mark.parametrize("mtls", [False, True], ids=["tls", "mtls"])
def test_real_clients_meet_through_dora_router_over_tls(zenoh_sessions, dora, ca, mtls):
    router, endpoint = tls_router(dora, tls_keys(ca, "listen", "router", mtls))
    sub, _ = zenoh_sessions.open("client", connect=[endpoint],
                                 extra=real_extra(tls_keys(ca, "connect", "sub", mtls)))
    pub, _ = zenoh_sessions.open("client", connect=[endpoint],
                                 extra=real_extra(tls_keys(ca, "connect", "pub", mtls)))
    collector = Collector()
    sub.declare_subscriber("interop/tls/**", collector)
    until_delivered(lambda: pub.put("interop/tls/probe", b"probe"), collector,
                    "interop/tls/probe")
    for i in range(20):
        pub.put("interop/tls/n", f"secret {i}".encode(), attachment=b"a" * i,
                congestion_control=zenoh.CongestionControl.BLOCK)
    pub.put("interop/tls/big", bytes(range(256)) * 4096,
            congestion_control=zenoh.CongestionControl.BLOCK)  # 1 MiB: fragments inside TLS
    got = collector.wait_count("interop/tls/n", 20, timeout=15)
    assert [s["payload"] for s in got] == [f"secret {i}".encode() for i in range(20)]
    big = collector.wait_count("interop/tls/big", 1, timeout=15)
    assert big[0]["payload"] == bytes(range(256)) * 4096
    established = re.findall(r"TLS with the client at 127\.0\.0\.1:\d+ established(.*)$",
                             router.text(), re.M)
    assert len(established) >= 2, router.text()
    if mtls:
        assert all("CN=pub" in line or "CN=sub" in line for line in established), router.text()


@pytest.mark.parametrize("mtls", [False, True], ids=["tls", "mtls"])
def test_dora_zenoh_sub_reaches_real_router_over_tls(zenoh_sessions, dora, ca, wait_until,
                                                     mtls):
    endpoint = real_tls_router(zenoh_sessions, tls_keys(ca, "listen", "router", mtls))
    config = dora_config(dora, "sub", tls_keys(ca, "connect", "dora-sub", mtls))
    sub = dora.start("sub", "zenoh", "sub", "interop/tls/**", "-m", "client", "-e", endpoint,
                     "-c", config, "--seconds", "60")
    sub.wait_for(r"Declaring Subscriber on 'interop/tls/\*\*'")
    pub, _ = zenoh_sessions.open("client", connect=[endpoint],
                                 extra=real_extra(tls_keys(ca, "connect", "pub", mtls)))

    def arrived():
        pub.put("interop/tls/k", b"over-tls")
        return "('interop/tls/k': 'over-tls')" in sub.text()

    wait_until(arrived, 20, "a sample from the real publisher at dora zenoh sub", interval=0.1)


def test_real_client_without_certificate_is_refused_by_mtls_dora_router(zenoh_sessions, dora,
                                                                         ca):
    router, endpoint = tls_router(dora, tls_keys(ca, "listen", "router", True))
    config = zenoh.Config()
    for path, value in {"mode": "client", "connect/endpoints": [endpoint],
                        "scouting/multicast/enabled": False,
                        "transport/shared_memory/enabled": False,
                        **real_extra(tls_keys(ca, "connect", "anonymous", False))}.items():
        config.insert_json5(path, json.dumps(value))
    with pytest.raises(zenoh.ZError):
        zenoh.open(config)  # a client that cannot connect does not open
    router.wait_for(r"the client at 127\.0\.0\.1:\d+ presented no certificate, but "
                    r"transport\.link\.tls\.enable_mtls is on here")


def test_dora_client_names_a_real_router_of_another_ca(zenoh_sessions, dora, ca, tmp_path):
    other = Ca(tmp_path, "other-ca")
    endpoint = real_tls_router(zenoh_sessions, tls_keys(other, "listen", "router", False))
    config = dora_config(dora, "sub", tls_keys(ca, "connect", "dora-sub", False))
    sub = dora.start("sub", "zenoh", "sub", "interop/tls/**", "-m", "client", "-e", endpoint,
                     "-c", config, "--seconds", "60")
    sub.wait_for(r"certificate verify failed: unable to get local issuer certificate: the "
                 r"certificate of the server at 127\.0\.0\.1:\d+ \(CN=router, issued by "
                 r"CN=other-ca\) is not signed by the configured "
                 r"transport\.link\.tls\.root_ca_certificate")


def sensor_network(dora, configs, watched, wait_until):
    """The sensor network on daemons with the ZENOH_CONFIG files `configs` (machine -> path),
    checked as in test_pubsub_dataflow; the cluster."""
    cluster = dora.cluster(list(configs), zenoh_config=configs)
    run_sensor_network(cluster, dora.workdir, watched, wait_until, readings=2)
    cluster.stop_dataflow("sensors")
    return cluster


MACHINES = ["edge1", "edge2", "edge3", "cloud"]


def test_sensor_network_over_mtls_through_real_router(zenoh_sessions, dora, ca, wait_until):
    """The cross-network set-up over mutual TLS: every daemon a Zenoh client of a real router
    through tls/ with its own certificate; the readings reach the aggregator and a real
    subscriber with a certificate."""
    endpoint = real_tls_router(zenoh_sessions, tls_keys(ca, "listen", "router", True))
    watcher, _ = zenoh_sessions.open("client", connect=[endpoint],
                                     extra=real_extra(tls_keys(ca, "connect", "watcher", True)))
    watched = Collector()
    watcher.declare_subscriber("dora/**", watched)
    configs = {m: dora_config(dora, f"zenoh-{m}", tls_keys(ca, "connect", m, True), "client",
                              [endpoint]) for m in MACHINES}
    sensor_network(dora, configs, watched, wait_until)


def test_sensor_network_between_daemons_listening_on_mtls(dora, ca, wait_until):
    """Peer-to-peer daemons that listen on tls/ with mutual TLS: each announces tls/IP:port to
    the coordinator and the others dial it with their certificates."""
    configs = {}
    for m in MACHINES:
        cert, key = ca.issue(m)
        keys = {"root_ca_certificate": str(ca.cert), "enable_mtls": True,
                "listen_certificate": str(cert), "listen_private_key": str(key),
                "connect_certificate": str(cert), "connect_private_key": str(key)}
        configs[m] = dora_config(dora, f"zenoh-{m}", keys, "peer", listen=["tls/127.0.0.1:0"])
    cluster = sensor_network(dora, configs, None, wait_until)
    logs = "".join(proc.text() for proc in cluster.daemons.values())
    assert re.search(r"TLS with the client at 127\.0\.0\.1:\d+ established; its certificate: "
                     r"CN=(edge|cloud)", logs), logs[-3000:]
