"""Prints what arrives with to_pylist(), as dora's python-dataflow example's receiver does."""

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        print(f"collector {event['id']} {event['value'].to_pylist()} type={event['value'].type}")
