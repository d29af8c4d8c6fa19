"""dora: the Python node API of dora-cpp, compatible with dora 0.3.x nodes.

    from dora import Node

    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output("out", event["value"], event["metadata"])

The work is done by the C++ extension ``dora._dora`` (the same node API C++ nodes use); this
package re-exports it. ``event["value"]`` is a ``dora.Array``: zero-copy over shared memory,
usable like a pyarrow array, and importable by pyarrow without copying where pyarrow exists.
numpy and pyarrow are optional.
"""

import enum as _enum

from ._dora import Array, DataType, Node, OutputSample, Scalar, __version__

__all__ = [
    "Array", "DataType", "DoraStatus", "Node", "OutputSample", "Scalar", "__version__",
]


class DoraStatus(_enum.Enum):
    """What a dora operator's on_event returns (kept for source compatibility)."""

    CONTINUE = 0
    STOP = 1
    STOP_ALL = 2
