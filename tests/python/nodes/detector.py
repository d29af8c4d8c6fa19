"""A detector as dora's object-detection examples write one: reads the frame with to_numpy() and
the metadata, sends a struct of bounding boxes (xyxy), confidences and labels, and a text."""

import numpy as np
import pyarrow as pa
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT" and event["id"] == "image":
        storage = event["value"]
        metadata = event["metadata"]
        frame = storage.to_numpy().reshape((metadata["height"], metadata["width"], 3))
        boxes = {
            "bbox": np.array([0, 0, metadata["width"], metadata["height"]], dtype=np.float32),
            "conf": np.array([0.9]),
            "labels": np.array(["frame"]),
        }
        node.send_output("bbox", pa.array([boxes]), {"format": "xyxy", "primitive": "boxes2d"})
        node.send_output("text", pa.array([f"mean {frame.mean():.2f}"]))
