"""detector: flags the frames brighter than the threshold of model.json (made by `dora build`)."""
import json
import sys

from dora import Node

try:
    with open("model.json") as f:
        threshold = json.load(f)["threshold"]
except FileNotFoundError:
    sys.exit("detector: model.json is missing; run `dora build dataflow.yml` first")

node = Node()
flagged = 0
for event in node:
    if event["type"] == "INPUT":
        number, brightness = bytes(event["value"].to_pylist()).decode().split()
        if int(brightness) > threshold:
            flagged += 1
            node.send_output("detection", f"{number} {brightness}".encode())
print(f"detector flagged {flagged} frame(s) above {threshold}", flush=True)
