"""Sends one random payload per tick on "blob", of each size in argv[1] (comma-separated) in
turn, with metadata {"size", "sha256"}; prints "sent SIZE SHA256" for each. Standard library
only."""

import hashlib
import os
import sys

from dora import Node

sizes = [int(s) for s in sys.argv[1].split(",")]
node = Node()
for event in node:
    if event["type"] == "STOP":
        break
    if event["type"] != "INPUT" or event["id"] != "tick" or not sizes:
        continue
    size = sizes.pop(0)
    data = os.urandom(size)
    digest = hashlib.sha256(data).hexdigest()
    node.send_output("blob", data, {"size": size, "sha256": digest})
    print(f"sent {size} {digest}", flush=True)
