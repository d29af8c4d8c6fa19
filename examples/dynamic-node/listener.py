"""listener: a dynamic node, started by hand while the dataflow runs:

    python3 listener.py [--count N]

It joins as node `listener` through the daemon on this machine (set DORA_DAEMON_PORT if that
daemon was started with another --local-listen-port than 53291), prints what it receives, and
leaves after N messages (default: runs until the dataflow stops).
"""
import sys

from dora import Node

limit = int(sys.argv[sys.argv.index("--count") + 1]) if "--count" in sys.argv else None
node = Node("listener")
received = 0
for event in node:
    if event["type"] == "INPUT":
        received += 1
        print(f"listener received: {bytes(event['value'].to_pylist()).decode()}", flush=True)
        if limit is not None and received >= limit:
            break
print(f"listener leaves after {received} message(s)", flush=True)
