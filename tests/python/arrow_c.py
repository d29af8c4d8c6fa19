"""Arrow arrays made with ctypes through the Arrow C data interface, for tests that run without
pyarrow: int64 and utf8 arrays with nulls, list<int64> and struct arrays, handed out by
__arrow_c_array__ as any Arrow producer does. Only what the tests need; not an Arrow library.

    arr = arrow_c.struct({"x": arrow_c.int64([1, None]), "y": arrow_c.utf8(["a", "b"])})
    node.send_output("out", arr)
"""

import ctypes
import itertools
import struct as _struct


class ArrowSchema(ctypes.Structure):
    pass


class ArrowArray(ctypes.Structure):
    pass


_SchemaRelease = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
_ArrayRelease = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))

ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)), ("release", _SchemaRelease),
    ("private_data", ctypes.c_void_p)]
ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)), ("release", _ArrayRelease),
    ("private_data", ctypes.c_void_p)]

_ARROW_FLAG_NULLABLE = 2

# Everything an exported tree points to, kept alive until the consumer releases its root
# (private_data of the root is the key).
_alive = {}
_keys = itertools.count(1)


@_SchemaRelease
def _release_schema(p):
    _alive.pop(p.contents.private_data, None)
    p.contents.release = _SchemaRelease()


@_ArrayRelease
def _release_array(p):
    _alive.pop(p.contents.private_data, None)
    p.contents.release = _ArrayRelease()


@_SchemaRelease
def _release_child_schema(p):  # children live as long as their root
    p.contents.release = _SchemaRelease()


@_ArrayRelease
def _release_child_array(p):
    p.contents.release = _ArrayRelease()


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_SCHEMA_NAME = b"arrow_schema"
_ARRAY_NAME = b"arrow_array"


class Array:
    """An Arrow array: format, length, buffers (bytes or None) and children (Arrays)."""

    def __init__(self, fmt, length, buffers, children=(), null_count=0, names=None):
        self.fmt, self.length, self.buffers = fmt, length, buffers
        self.children, self.null_count = list(children), null_count
        self.names = names or [""] * len(self.children)

    def _export(self, keep, name, root):
        schema, array = ArrowSchema(), ArrowArray()
        keep += [schema, array]
        schema.format = self.fmt.encode()
        schema.name = name.encode()
        schema.flags = _ARROW_FLAG_NULLABLE
        schema.n_children = array.n_children = len(self.children)
        array.length, array.null_count, array.offset = self.length, self.null_count, 0
        array.n_buffers = len(self.buffers)
        pointers = (ctypes.c_void_p * max(1, len(self.buffers)))()
        for i, buf in enumerate(self.buffers):
            if buf is not None:
                data = ctypes.create_string_buffer(buf, max(1, len(buf)))
                keep.append(data)
                pointers[i] = ctypes.addressof(data)
        keep.append(pointers)
        array.buffers = pointers
        child_schemas = (ctypes.POINTER(ArrowSchema) * max(1, len(self.children)))()
        child_arrays = (ctypes.POINTER(ArrowArray) * max(1, len(self.children)))()
        keep += [child_schemas, child_arrays]
        for i, (child, child_name) in enumerate(zip(self.children, self.names)):
            s, a = child._export(keep, child_name, False)
            child_schemas[i], child_arrays[i] = ctypes.pointer(s), ctypes.pointer(a)
        schema.children, array.children = child_schemas, child_arrays
        if root:
            schema.release, array.release = _release_schema, _release_array
        else:
            schema.release, array.release = _release_child_schema, _release_child_array
        return schema, array

    def __arrow_c_array__(self, requested_schema=None):
        keep_schema, keep_array = [], []
        schema, _ = self._export(keep_schema, "", True)
        _, array = self._export(keep_array, "", True)
        schema.private_data, array.private_data = next(_keys), next(_keys)
        _alive[schema.private_data], _alive[array.private_data] = keep_schema, keep_array
        return (_capsule_new(ctypes.addressof(schema), _SCHEMA_NAME, None),
                _capsule_new(ctypes.addressof(array), _ARRAY_NAME, None))


def _validity(values):
    if all(v is not None for v in values):
        return None, 0
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            bits[i >> 3] |= 1 << (i & 7)
    return bytes(bits), sum(v is None for v in values)


def int64(values):
    validity, nulls = _validity(values)
    data = b"".join(_struct.pack("<q", v or 0) for v in values)
    return Array("l", len(values), [validity, data], null_count=nulls)


def utf8(values):
    validity, nulls = _validity(values)
    offsets, chars = [0], b""
    for v in values:
        chars += (v or "").encode()
        offsets.append(len(chars))
    return Array("u", len(values), [validity, _struct.pack(f"<{len(offsets)}i", *offsets), chars],
                 null_count=nulls)


def list_int64(values):
    offsets, items = [0], []
    for v in values:
        items += v
        offsets.append(len(items))
    return Array("+l", len(values), [None, _struct.pack(f"<{len(offsets)}i", *offsets)],
                 [int64(items)], names=["item"])


def struct(fields):
    children = list(fields.values())
    return Array("+s", children[0].length, [None], children, names=list(fields))


def null(length):
    return Array("n", length, [], null_count=length)
