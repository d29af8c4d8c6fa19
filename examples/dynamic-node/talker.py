"""talker: sends "hello #<n>" on every tick."""
from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT":
        count += 1
        node.send_output("message", f"hello #{count}".encode())
