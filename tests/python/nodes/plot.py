"""A plot node as dora's node hub writes them (opencv-plot, without OpenCV): decodes the frame
from the value and its metadata, the boxes from the struct, the text with [0].as_py()."""

import numpy as np
import pyarrow as pa
from dora import Node

node = Node()
pa.array([])
for event in node:
    if event["type"] != "INPUT":
        continue
    event_id = event["id"]
    if event_id == "image":
        storage = event["value"]
        metadata = event["metadata"]
        encoding, width, height = metadata["encoding"], metadata["width"], metadata["height"]
        if encoding == "bgr8":
            frame = storage.to_numpy().astype(np.uint8).reshape((height, width, 3)).copy()
            frame[1, 1] = [9, 9, 9]  # annotate the copy
            same = np.asarray(storage).reshape((height, width, 3))
            print(f"plot image {height}x{width} {encoding} first={frame[0, 0].tolist()} "
                  f"value={int(same[2, 2, 0])} copy_writable={frame.flags.writeable} "
                  f"shared_read_only={not same.flags.writeable}")
    elif event_id == "bbox":
        arrow_bbox = event["value"][0]
        if event["metadata"]["format"] == "xyxy":
            bbox = arrow_bbox["bbox"].values.to_numpy().reshape(-1, 4)
        conf = arrow_bbox["conf"].values.to_numpy()
        labels = arrow_bbox["labels"].values.to_numpy(zero_copy_only=False)
        print(f"plot bbox {bbox.tolist()} conf={conf.tolist()} labels={labels.tolist()}")
    elif event_id == "text":
        print(f"plot text {event['value'][0].as_py()}")
