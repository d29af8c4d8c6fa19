"""Prints which of numpy and pyarrow this node can import."""

import importlib

from dora import Node

node = Node()
found = []
for name in ("numpy", "pyarrow"):
    try:
        importlib.import_module(name)
        found.append(name)
    except ImportError:
        pass
print(f"optional packages: {','.join(found) or 'none'}")
