"""A node printing every value it receives, then how many."""
from dora import Node

node = Node()
values = []
for event in node:
    if event["type"] == "INPUT":
        values.extend(event["value"].to_pylist())
print(f"printer got {values}", flush=True)
