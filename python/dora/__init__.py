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

import concurrent.futures as _futures
import enum as _enum
import threading as _threading

from ._dora import Array, DataType, Node, OutputSample, Scalar, __version__

__all__ = [
    "Array", "DataType", "DoraStatus", "Node", "OutputSample", "Scalar", "__version__",
]


class DoraStatus(_enum.Enum):
    """What a dora operator's on_event returns (kept for source compatibility)."""

    CONTINUE = 0
    STOP = 1
    STOP_ALL = 2


# --- Node methods written in Python (asyncio, threads, the descriptor) ----------------------------

_receivers = None  # threads that wait for events on behalf of recv_async()
_receivers_lock = _threading.Lock()


def _receiver_pool():
    global _receivers
    with _receivers_lock:
        if _receivers is None:
            _receivers = _futures.ThreadPoolExecutor(thread_name_prefix="dora-recv-async")
        return _receivers


async def _recv_async(self, timeout=None):
    """The next event, awaited without blocking the event loop (as ``next``, in a thread).

    Returns None when ``timeout`` (seconds) passes or the event stream has ended. Cancelling the
    awaiting task loses nothing: an event that arrives for it is returned by the next
    ``recv_async`` or ``next`` call.
    """
    # Imported here, not at the top: every node imports dora, few use asyncio, and asyncio
    # costs a node ~0.1 s of start-up and ~10 MiB (here it is loaded already: we are awaited).
    import asyncio

    pending = self._pending_async
    if pending is None or pending.cancelled():
        pending = _receiver_pool().submit(self._next_raw, timeout)
        self._pending_async = pending
    # shield: cancelling this task must not cancel the receive. The future stays pending on the
    # node until its event is returned here (a cancelled call leaves it for the next call, also
    # when it completed just as the task was cancelled).
    event = await asyncio.shield(asyncio.wrap_future(pending))
    if self._pending_async is pending:
        self._pending_async = None
    return event


def _merge_external_events(self, source):
    """Merges the items of another event source into this node's event stream.

    ``source`` is any iterable (a generator, a queue reader, a ROS 2 subscription that is
    iterable): a thread takes its items as they come and ``next()`` / iteration /
    ``recv_async()`` deliver each as ``{"kind": "external", "value": item}`` beside the dora
    events (``"kind": "dora"``). An exception raised by the source is delivered as the value of
    one last external event. Once the dora event stream has ended, ``next()`` returns None even
    if external items are still queued.
    """
    try:
        items = iter(source)
    except TypeError:
        raise TypeError(
            "merge_external_events: the source must be iterable (a generator, an iterator, or "
            f"anything with __iter__), not {type(source).__name__}") from None

    def pump():
        try:
            for item in items:
                self._push_external(item)
        except Exception as error:  # delivered to the node, as dora delivers a stream's error
            self._push_external(error)

    _threading.Thread(target=pump, name="dora-external-events", daemon=True).start()


def _node_config(self):
    """This node's inputs and outputs as the dataflow file gives them, in dora's form:
    ``{"inputs": {id: "node/output" or {"source": ..., "queue_size": ...}}, "outputs": [...]}``.
    """
    descriptor = self.dataflow_descriptor()
    for node in descriptor.get("nodes") or []:
        if node.get("id") == self.node_id():
            inputs = {}
            for input_id, spec in (node.get("inputs") or {}).items():
                if isinstance(spec, dict):
                    spec = {k: v for k, v in spec.items() if v is not None}
                inputs[str(input_id)] = spec
            return {"inputs": inputs, "outputs": sorted(str(o) for o in node.get("outputs") or [])}
    raise RuntimeError(
        f"node_config: node {self.node_id()!r} is not in its dataflow file any more "
        "(was the file changed after `dora start`?)")


_LOG_LEVELS = {"error": "error", "warn": "warn", "warning": "warn", "info": "info",
               "debug": "debug", "trace": "trace"}


def _log(self, level, message, target=None, fields=None):
    """Prints one structured log entry (a JSON line on stdout), as dora 1.x's ``node.log``.

    The daemon reads it as a log entry of ``level`` (error, warn, info, debug, trace; anything
    else counts as info): ``min_log_level`` keeps or drops it, ``send_logs_as`` sends it on an
    output. ``fields`` is a dict of strings kept with the entry.
    """
    import datetime
    import json
    import sys

    entry = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "level": _LOG_LEVELS.get(str(level).lower(), "info"),
        "node_id": self.node_id(),
        "message": str(message),
    }
    if target is not None:
        entry["target"] = str(target)
    if fields is not None:
        entry["fields"] = {str(k): str(v) for k, v in dict(fields).items()}
    # One write of one line: lines of several threads do not interleave.
    sys.stdout.write(json.dumps(entry) + "\n")
    sys.stdout.flush()


def _level_logger(level):
    def log_at(self, message):
        _log(self, level, message)

    log_at.__name__ = f"log_{level}"
    log_at.__doc__ = f'Shorthand for ``node.log("{level}", message)``.'
    return log_at


Node.recv_async = _recv_async
Node.merge_external_events = _merge_external_events
Node.node_config = _node_config
Node.log = _log
for _level in ("error", "warn", "info", "debug", "trace"):
    setattr(Node, f"log_{_level}", _level_logger(_level))
