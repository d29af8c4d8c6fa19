"""Prints "got SIZE SHA256 META_SIZE META_SHA256" for every "blob" input: the digest of the bytes
that arrived and what the sender's metadata says they should be. Standard library only."""

import hashlib

from dora import Node

node = Node()
for event in node:
    if event["type"] == "STOP":
        break
    if event["type"] == "INPUT" and event["id"] == "blob":
        data = bytes(memoryview(event["value"]))
        meta = event["metadata"]
        print(f"got {len(data)} {hashlib.sha256(data).hexdigest()} {meta.get('size')} "
              f"{meta.get('sha256')}", flush=True)
