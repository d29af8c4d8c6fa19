"""camera: on each tick, sends a frame's number and brightness; stops after FRAMES frames."""
import os
import socket

from dora import Node

FRAMES = int(os.environ.get("FRAMES", "40"))

node = Node()
sent = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    sent += 1
    brightness = (sent * 37) % 100  # a deterministic stand-in for a real sensor
    node.send_output("frame", f"{sent} {brightness}".encode())
    if sent == FRAMES:
        break
print(f"camera on {socket.gethostname()} sent {sent} frames", flush=True)
