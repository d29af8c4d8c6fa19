"""logger: prints every detection, and how many it got when its input closes."""
from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT":
        count += 1
        number, brightness = bytes(event["value"].to_pylist()).decode().split()
        print(f"logger: frame {number} is bright ({brightness})", flush=True)
print(f"logger got {count} detection(s)", flush=True)
