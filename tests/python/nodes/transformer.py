"""Turns each number into a struct (doubled, description, is_even), as dora's python-dataflow
example's transformer does."""

import pyarrow as pa
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        number = event["value"].to_pylist()[0]
        node.send_output("transformed", pa.StructArray.from_arrays(
            [pa.array([number * 2]), pa.array([f"Message #{number}"]), pa.array([number % 2 == 0])],
            names=["doubled", "description", "is_even"]))
    elif event["type"] == "STOP":
        break
