"""Sends every case of cases.py on "out" (metadata: the case name plus every parameter type),
then "done" with the number sent. Prints refusals of what cannot be sent."""

import numpy as np
import pyarrow as pa

import cases
from dora import Node

node = Node()
sent = 0
for name, value in {**cases.pyarrow_cases(), **cases.numpy_cases()}.items():
    node.send_output("out", value, dict(cases.METADATA, case=name))
    sent += 1
for name, value in (("complex", np.array([1j])), ("chunked", pa.chunked_array([[1], [2]]))):
    try:
        node.send_output("out", value)
        print(f"refused {name}: no")
    except TypeError as e:
        print(f"refused {name}: {e}")
node.send_output("done", [sent])
print(f"sender sent {sent}")
