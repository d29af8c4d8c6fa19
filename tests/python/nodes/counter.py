"""Sends pa.array([i]) for i in 0..COUNT-1, as dora's python-dataflow example's sender does."""

import os

import pyarrow as pa
from dora import Node

node = Node()
for i in range(int(os.environ.get("COUNT", "5"))):
    node.send_output("message", pa.array([i]))
