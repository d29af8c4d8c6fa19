"""A camera node written as dora's node hub writes them (opencv-video-capture, without OpenCV):
on each tick a bgr8 frame, sent as pa.array(frame.ravel()) with the tick's metadata plus
encoding, width and height. Stops after FRAMES frames."""

import os

import numpy as np
import pyarrow as pa
from dora import Node

node = Node()
pa.array([])  # as the node hub's nodes do, to initialise pyarrow
frames = int(os.environ.get("FRAMES", "3"))
sent = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        frame = np.full((48, 64, 3), sent, dtype=np.uint8)
        frame[0, 0] = [1, 2, 3]
        metadata = event["metadata"]
        metadata["encoding"] = "bgr8"
        metadata["width"] = int(frame.shape[1])
        metadata["height"] = int(frame.shape[0])
        node.send_output("image", pa.array(frame.ravel()), metadata)
        sent += 1
        if sent == frames:
            break
    elif event["type"] == "ERROR":
        raise RuntimeError(event["error"])
print(f"camera sent {sent}")
