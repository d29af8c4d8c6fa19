#!/usr/bin/env python3
"""A `z_sub` for the interop scripts, over the real Zenoh (the `eclipse-zenoh` package from PyPI).

Prints every sample on a key expression in z_sub's layout,
  >> [Subscriber] Received PUT ('dora/default/<uuid>/output/sensor-temp/reading': '{...}')
flushing each line, so a script can grep it while it runs. Stops after --seconds (a bound, so
it always ends) or on SIGTERM/SIGINT.

  z_sub.py 'dora/**' -m client -e tcp/10.77.1.1:7447 --no-multicast-scouting --seconds 120
"""
import argparse
import json
from importlib import metadata
import signal
import sys
import threading

import zenoh


def main() -> int:
    parser = argparse.ArgumentParser(prog="z_sub", description="zenoh subscriber (eclipse-zenoh)")
    parser.add_argument("key", nargs="?", default="demo/example/**", help="key expression")
    parser.add_argument("-m", "--mode", choices=["peer", "client"], default="peer")
    parser.add_argument("-e", "--connect", action="append", default=[], help="endpoint")
    parser.add_argument("--no-multicast-scouting", action="store_true")
    parser.add_argument("--seconds", type=float, default=300.0, help="exit after this long")
    parser.add_argument("--mtls", nargs=3, metavar=("CA", "CERT", "KEY"),
                        help="TLS with mutual authentication: trust CA, present CERT with KEY")
    args = parser.parse_args()

    config = zenoh.Config()
    config.insert_json5("mode", json.dumps(args.mode))
    # No shared-memory transport: a killed process would leave /dev/shm/<id>.zenoh behind.
    config.insert_json5("transport/shared_memory/enabled", "false")
    if args.connect:
        config.insert_json5("connect/endpoints", json.dumps(args.connect))
    if args.no_multicast_scouting:
        config.insert_json5("scouting/multicast/enabled", "false")
    if args.mtls:
        ca, cert, key = args.mtls
        for name, path in (("root_ca_certificate", ca), ("connect_certificate", cert),
                           ("connect_private_key", key)):
            config.insert_json5(f"transport/link/tls/{name}", json.dumps(path))
        config.insert_json5("transport/link/tls/enable_mtls", "true")

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def listener(sample: zenoh.Sample) -> None:
        try:
            text = sample.payload.to_string()
        except Exception:  # not UTF-8: show its size, as z_sub shows what it can
            text = f"<{len(sample.payload.to_bytes())} bytes>"
        kind = str(sample.kind).removeprefix("SampleKind.")  # PUT or DELETE, as z_sub prints
        print(f">> [Subscriber] Received {kind} ('{sample.key_expr}': '{text}')", flush=True)

    version = metadata.version("eclipse-zenoh")
    print(f"eclipse-zenoh {version}: opening a {args.mode} session to {args.connect}", flush=True)
    with zenoh.open(config) as session:
        print(f"Declaring Subscriber on '{args.key}'...", flush=True)
        with session.declare_subscriber(args.key, listener):
            done.wait(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
