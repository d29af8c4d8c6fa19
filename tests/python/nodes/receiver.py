"""Checks every input of sender.py against cases.py: type, values, metadata, and that the data
was not copied on the way (every buffer of pyarrow.array(value), and the numpy view of numeric
values, lie in a read-only shared-memory mapping). Prints "ok <case>" or "FAIL <case>: why", then
"received N of M" when "done" arrives."""

import numpy as np
import pyarrow as pa

import cases
from dora import Node


def shared_memory_ranges():
    """(start, end, perms) of this process's mappings of /dev/shm files."""
    ranges = []
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith("/dev/shm/"):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                ranges.append((start, end, fields[1]))
    return ranges


def in_read_only_shm(address, size):
    return any(start <= address and address + size <= end and perms.startswith("r-")
               for start, end, perms in shared_memory_ranges())


def check_pyarrow(value, want):
    problems = []
    got = pa.array(value)
    if value.type != want.type or got.type != want.type:
        problems.append(f"type {value.type} != {want.type}")
    if not got.equals(want):
        problems.append(f"values {got.to_pylist()} != {want.to_pylist()}")
    if value.to_pylist() != want.to_pylist():
        problems.append("to_pylist differs")
    if (len(value), value.null_count) != (len(want), want.null_count):
        problems.append("len or null_count differs")
    for i, buf in enumerate(got.buffers()):
        if buf is not None and buf.size > 0 and not in_read_only_shm(buf.address, buf.size):
            problems.append(f"buffer {i} at {buf.address:#x} is not in read-only shared memory")
    return problems


def check_numpy(value, want):
    problems = []
    flat = np.ascontiguousarray(want).ravel()
    got = value.to_numpy(zero_copy_only=False)
    if got.dtype != flat.dtype or got.tolist() != flat.tolist():
        problems.append(f"numpy {got.dtype} {got.tolist()} != {flat.dtype} {flat.tolist()}")
    if flat.dtype != np.bool_:
        view = value.to_numpy()
        address = view.__array_interface__["data"][0]
        if view.flags.writeable:
            problems.append("the numpy view is writable")
        if not in_read_only_shm(address, view.nbytes):
            problems.append(f"the numpy view at {address:#x} is not in read-only shared memory")
        if np.asarray(value).__array_interface__["data"][0] != address:
            problems.append("numpy.asarray(value) is not the same view")
    return problems


expected = {**cases.pyarrow_cases(), **cases.numpy_cases()}
node = Node()
ok = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    if event["id"] == "done":
        print(f"received {ok} of {event['value'][0].as_py()}")
        continue
    meta = event["metadata"]
    name = meta.pop("case")
    meta.pop("timestamp")
    want = expected[name]
    value = event["value"]
    problems = check_pyarrow(value, want) if name.startswith(("pa_", "ex_")) else check_numpy(
        value, want)
    if meta != cases.METADATA or any(type(meta[k]) is not type(v)
                                     for k, v in cases.METADATA.items()):
        problems.append(f"metadata {meta} != {cases.METADATA}")
    if problems:
        print(f"FAIL {name}: {'; '.join(problems)}")
    else:
        ok += 1
        print(f"ok {name}")
