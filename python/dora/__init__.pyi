"""dora: the Python node API of dora-cpp (compatible with dora 0.3.x nodes).

    from dora import Node

    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            print(event["id"], event["value"].to_pylist(), event["metadata"])
            node.send_output("out", b"hello", {"answer": 42})

numpy and pyarrow are optional: nothing here requires them. With pyarrow installed (imported
on first need) a value's `.type` is a pyarrow.DataType, pyarrow.Array attributes dora.Array does
not define are served by a zero-copy pyarrow view, and conversions whose result pyarrow defines
(copying to_numpy, numpy.asarray of non-numeric arrays, Python values of dates and times) give
exactly pyarrow's result.
"""

import enum
from typing import Any, Iterable, Iterator, Literal, NotRequired, Protocol, TypedDict, Union, overload


__version__: str

MetadataValue = Union[bool, int, float, str, list[bool], list[int], list[float], list[str]]

class _ArrowArrayExportable(Protocol):
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...

SendableData = Union[
    bytes,
    bytearray,
    memoryview,
    str,
    list[int],
    list[float],
    list[str],
    list[bool],
    _ArrowArrayExportable,
    "OutputSample",
    Any,  # any object with the buffer protocol (numpy arrays, array.array, ...)
]

class Event(TypedDict):
    """One event of a node's event stream.

    type: "INPUT" (an input arrived), "INPUT_CLOSED" (its producer finished, or its
    `input_timeout` passed without a message), "INPUT_RECOVERED" (a timed-out input receives
    messages again), "STOP" (the dataflow is stopping, or every input is closed) or "ERROR" (a
    message could not be read).
    """

    type: Literal["INPUT", "INPUT_CLOSED", "INPUT_RECOVERED", "STOP", "ERROR"]
    kind: Literal["dora"]
    id: NotRequired[str]
    """The input id (INPUT, INPUT_CLOSED, INPUT_RECOVERED, ERROR); for STOP, as in dora, "MANUAL" (`dora stop`,
    Ctrl-C) or "ALL_INPUTS_CLOSED"."""
    value: NotRequired["Array"]
    """The data (INPUT): a zero-copy Arrow array; an empty null array for timer ticks."""
    metadata: NotRequired[dict[str, Any]]
    """The sender's parameters plus "timestamp" (a UTC datetime of sending) (INPUT)."""
    cause: NotRequired[Literal["requested", "all-inputs-closed"]]
    """Why the node is asked to stop (STOP)."""
    error: NotRequired[str]
    """What went wrong (ERROR)."""

class ExternalEvent(TypedDict):
    """An item of a source given to Node.merge_external_events."""

    kind: Literal["external"]
    value: Any

class Node:
    """The node this process runs as, in the dataflow whose daemon (`dora run`, `dora start`)
    started it. Raises RuntimeError when the process was not started by dora, saying how to
    start it.

    Sending is allowed until close() (also while handling STOP and after the event stream
    ended); after close() send_output raises RuntimeError. Outputs close by themselves when the
    Node is garbage-collected or the process exits; receivers then get INPUT_CLOSED.
    """

    def __init__(self, node_id: str | None = None) -> None:
        """Joins the dataflow. In a process a daemon started, `node_id`, if given, must be this
        node's id. In a process started by hand, Node("id") joins as the dynamic node `id`
        (`path: dynamic` in the dataflow file) through the daemon on this machine: its local
        listen port on 127.0.0.1 (DORA_DAEMON_PORT, else 53291); DORA_DATAFLOW names the
        dataflow when several wait for that id. Raises RuntimeError saying why when it cannot
        join (no daemon, no such dynamic node, already running)."""
    def next(self, timeout: float | None = None) -> Event | ExternalEvent | None:
        """The next event. Waits at most `timeout` seconds (None: until an event arrives) and
        returns None when the time passes or when the event stream has ended (after STOP).
        The GIL is released while waiting; Ctrl-C raises KeyboardInterrupt."""
    async def recv_async(self, timeout: float | None = None) -> Event | ExternalEvent | None:
        """`await node.recv_async()`: next() without blocking the asyncio event loop (the wait
        runs in a thread). Cancelling the awaiting task loses nothing: the event it would have
        got is returned by the next recv_async() or next() call."""
    def merge_external_events(self, source: Iterable[Any]) -> None:
        """Delivers the items of `source` (any iterable, read by a thread as they come) through
        next(), iteration and recv_async() as {"kind": "external", "value": item}, beside the
        dora events. An exception raised by the source arrives as the value of one last
        external event. Raises TypeError when `source` is not iterable."""
    def node_config(self) -> dict[str, Any]:
        """This node's inputs and outputs in dora's form: {"inputs": {id: "node/output" or
        {"source": "node/output", "queue_size": n}}, "outputs": [sorted ids]}."""
    def __iter__(self) -> Iterator[Event]:
        """`for event in node`: every event until the stream ends."""
    def __next__(self) -> Event: ...
    def send_output(
        self,
        output_id: str,
        data: SendableData,
        metadata: dict[str, MetadataValue] | None = None,
    ) -> None:
        """Sends `data` on output `output_id` (declared under `outputs:` in the dataflow).

        data: bytes, bytearray or memoryview (sent as a UInt8 array); str (a one-element Utf8
        array); a list of int, float, str or bool (Int64, Float64, Utf8, Boolean arrays); any
        object with the buffer protocol, keeping its element type (numpy arrays of bool, int8 to
        uint64, float16 to float64, any shape, contiguous or not: sent flat, in C order;
        array.array); any object with __arrow_c_array__ (pyarrow arrays of any type, record
        batches as structs, polars, nanoarrow, a received dora.Array). It is copied once,
        straight into shared memory.

        metadata: str keys; bool, int, float, str values or lists of one of them (numpy scalars
        count as the bool, int or float they hold). A received event's metadata may be passed on
        as it is (its "timestamp" is replaced).

        Raises ValueError for an unknown output, TypeError for unsupported data or metadata
        (naming what is accepted, and for numpy dtypes without an Arrow equivalent here --
        complex, str, object, datetime64, non-native byte order -- or a pyarrow.ChunkedArray,
        what to send instead), RuntimeError after close().
        """
    def allocate_output(self, size: int) -> "OutputSample":
        """A writable shared-memory sample of `size` bytes to fill in place and pass to
        send_output: the payload is never copied (the fastest way to send large data)."""
    def close(self) -> None:
        """Closes every output now (receivers get INPUT_CLOSED once they have read what was
        sent) and ends this node's event stream; further send_output, allocate_output and next
        calls raise RuntimeError."""
    def __enter__(self) -> "Node": ...
    def __exit__(self, *args: object) -> bool: ...
    def dataflow_id(self) -> str:
        """The UUID of the running dataflow."""
    def node_id(self) -> str:
        """This node's id in the dataflow file."""
    def dataflow_descriptor(self) -> dict[str, Any]:
        """The dataflow file, parsed: mappings as dicts, sequences as lists, plain scalars as
        YAML 1.2's core schema reads them (None, bool, int, float, else str; `.inf`/`.nan`
        become None). No YAML package is needed. Raises RuntimeError when this node has no
        dataflow file (dynamic nodes) or it cannot be read."""
    def input_ids(self) -> list[str]:
        """The ids of this node's inputs, as in the dataflow file."""
    def output_ids(self) -> list[str]:
        """The ids of this node's outputs, as in the dataflow file."""
    def log(self, level: str, message: str, target: str | None = None,
            fields: dict[str, str] | None = None) -> None:
        """Prints a structured log entry (a JSON line) that the daemon filters with
        ``min_log_level`` and sends with ``send_logs_as``."""
    def log_error(self, message: str) -> None: ...
    def log_warn(self, message: str) -> None: ...
    def log_info(self, message: str) -> None: ...
    def log_debug(self, message: str) -> None: ...
    def log_trace(self, message: str) -> None: ...
    def dropped_inputs(self) -> dict[str, int]:
        """Per input id, how many inputs were dropped because the input's queue (queue_size)
        was full, since the node started."""

class OutputSample:
    """A shared-memory sample from Node.allocate_output. Fill it through its writable buffer
    (`memoryview(sample)`, `numpy.frombuffer(sample, dtype)`), release those views, then
    `node.send_output(output_id, sample)` sends it as a uint8 array. A sample can be sent once;
    dropped unsent, it returns to the node's pool."""

    @property
    def sent(self) -> bool: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int) -> memoryview: ...

class DataType:
    """The Arrow data type of an Array where pyarrow is not installed (with pyarrow, `.type` is a
    pyarrow.DataType). Prints as pyarrow prints the type ("uint8", "string",
    "list<item: int64>"); compares equal to that name, its Arrow format string, or the equal
    pyarrow type."""

    format: str
    """The Arrow C data interface format string ("C" for uint8, "u" for string, ...)."""

class Scalar:
    """One element of an Array. Where pyarrow is installed, pyarrow.Scalar attributes this type
    does not define (e.g. `.values` of a list element) are served by pyarrow's scalar."""

    @property
    def type(self) -> Any:
        """The element's type: a pyarrow.DataType where pyarrow is installed, else a DataType."""
    @property
    def is_valid(self) -> bool:
        """False for a null element."""
    def as_py(self) -> Any:
        """The element as a Python object (int, float, bool, str, bytes, list, dict,
        decimal.Decimal or None; dates, times, timestamps and durations as pyarrow gives them
        where pyarrow is installed, else as the stored integer)."""
    def __getitem__(self, key: str | int) -> Any:
        """A field of a struct element (by name) or an item of a list element (by position):
        pyarrow's scalar where pyarrow is installed (so `value[0]["bbox"].values.to_numpy()`
        works as in dora), else a Scalar."""
    def __getattr__(self, name: str) -> Any: ...
    def __int__(self) -> int: ...
    def __float__(self) -> float: ...

class Array:
    """A read-only Arrow array over a message's shared memory (no copy): `event["value"]`.

    It is not a pyarrow.Array (isinstance is False) but does what dora nodes do with one, with
    or without pyarrow and numpy installed:

        len(value), value.type, value.null_count, value[i].as_py(), value[i:j], iteration,
        value.to_pylist(), value.to_pybytes(), bytes(value), value == other

    with numpy:

        value.to_numpy()                        zero-copy, read-only view of a numeric array
                                                without nulls; other arrays raise ValueError
        value.to_numpy(zero_copy_only=False)    also the others, copied (objects for strings,
                                                NaN for nulls), as pyarrow converts them
        numpy.asarray(value)                    the same (a read-only view where possible)

    with pyarrow:

        pyarrow.array(value)                    zero-copy pyarrow.Array (Arrow PyCapsule
                                                interface); also what pyarrow.compute needs
        value.values, value.field(...), ...     any other pyarrow.Array attribute, through a
                                                zero-copy pyarrow view made on first use

    Valid as long as Python holds it (or a memoryview, numpy array or pyarrow array made from
    it). Numeric arrays without nulls have the buffer protocol (memoryview(value), read-only);
    others do not, so that numpy.asarray gives what it gives for a pyarrow array.
    """

    @property
    def type(self) -> Any:
        """A pyarrow.DataType where pyarrow is installed, else a DataType."""
    @property
    def null_count(self) -> int: ...
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int) -> Scalar: ...
    @overload
    def __getitem__(self, index: slice) -> "Array": ...
    def __iter__(self) -> Iterator[Scalar]: ...
    def slice(self, offset: int = 0, length: int | None = None) -> "Array":
        """A zero-copy slice."""
    def to_pylist(self) -> list[Any]:
        """The elements as Python objects (nulls as None; structs as dicts), as Scalar.as_py()."""
    def tolist(self) -> list[Any]:
        """Alias of to_pylist()."""
    def to_pybytes(self) -> bytes:
        """The bytes of a numeric array, or the value bytes of a binary or string array (one
        after the other); bytes(value) is the same. Raises TypeError for arrays with nulls."""
    def __bytes__(self) -> bytes: ...
    def to_numpy(self, zero_copy_only: bool = True, writable: bool = False) -> Any:
        """A numpy array: a zero-copy read-only view of a numeric array without nulls; other
        arrays need zero_copy_only=False (a copy, as pyarrow makes it); writable=True copies.
        Raises ImportError when numpy is not installed."""
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """numpy.asarray(value) / numpy.array(value, dtype)."""
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        """Arrow PyCapsule interface: ("arrow_schema", "arrow_array") capsules, zero-copy."""
    def equals(self, other: Any) -> bool:
        """Same type and values (other: an Array, or with pyarrow any Arrow array)."""
    def __getattr__(self, name: str) -> Any:
        """pyarrow.Array attributes this type does not define, where pyarrow is installed."""

class DoraStatus(enum.Enum):
    """What a dora operator's on_event returns (kept for source compatibility)."""

    CONTINUE = 0
    STOP = 1
    STOP_ALL = 2
