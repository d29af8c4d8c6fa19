"""dora's Python API next to real pyarrow and numpy (run in the test venv, where the pinned
versions of tests/requirements.txt are installed), without a dataflow: the _roundtrip test hook
packs a value exactly as send_output does and reads it back as a receiver would.

- receiving: pyarrow.array(value), value.to_numpy() and numpy.asarray(value) share the received
  memory where pyarrow would (no copy), and what they give is read-only;
- every call dora users make on event["value"] gives what the same call on the equivalent
  pyarrow.Array gives (pyarrow itself is the oracle), and pyarrow.Array attributes dora.Array does
  not define itself are served by a zero-copy pyarrow view;
- sending: pyarrow arrays of every type dora sends, built the way dora's examples build them, and
  numpy arrays of every dtype (contiguous or not) arrive with their type and values; what has no
  Arrow equivalent is refused with an error that says what to send instead;
- metadata values of every parameter type, numpy scalars included.
"""

import decimal
import gc
import math
import os
import unittest

import numpy as np
import pyarrow as pa

import dora
from dora import _dora


def roundtrip(data, metadata=None):
    return _dora._roundtrip(data, metadata)


def received(data):
    return roundtrip(data)[0]


def address(ndarray):
    return ndarray.__array_interface__["data"][0]


def same(got, want):
    """Equality that sees NaN as equal to NaN and looks into numpy arrays, lists and dicts."""
    if isinstance(want, np.ndarray):
        return isinstance(got, np.ndarray) and got.dtype == want.dtype and same(
            got.tolist(), want.tolist())
    if isinstance(want, (list, tuple)):
        return (type(got) is type(want) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(same(got[k], want[k]) for k in want))
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return type(got) is type(want) and got == want


# What dora users send, built the ways dora's examples and node hub build them.
def example_arrays():
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    return {
        "ints": pa.array([1, 2, 3]),
        "one_int64": pa.array([40], type=pa.int64()),
        "random_doubles": pa.array(rng.random(100)),
        "text": pa.array(["text"]),
        "frame": pa.array(frame.ravel()),
        "empty_uint8": pa.array([], type=pa.uint8()),
        "empty": pa.array([]),
        "struct": pa.StructArray.from_arrays(
            [pa.array([8]), pa.array(["Message #4"]), pa.array([True])],
            names=["doubled", "description", "is_even"]),
        "bbox": pa.array([{"bbox": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                           "conf": [0.9, 0.5], "labels": ["cat", "dog"]}]),
        "uint8_bytes": pa.array(rng.integers(0, 256, size=64, dtype=np.uint8)),
    }


# Every type dora sends, with nulls where the type has them.
def typed_arrays():
    ints = [1, None, 3, 4]
    arrays = {str(t): pa.array(ints, type=t) for t in (
        pa.int8(), pa.int16(), pa.int32(), pa.int64(),
        pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())}
    arrays.update({
        "float16": pa.array(np.array([1.5, -2.0, 0.25], dtype=np.float16)),
        "float32": pa.array([1.5, None, -0.25], type=pa.float32()),
        "float64": pa.array([1.5, None, float("inf")], type=pa.float64()),
        "bool": pa.array([True, False, None, True]),
        "utf8": pa.array(["a", None, "grüße", ""]),
        "large_utf8": pa.array(["a", None, "bcd"], type=pa.large_string()),
        "binary": pa.array([b"\x00\x01", None, b""], type=pa.binary()),
        "large_binary": pa.array([b"xyz", b""], type=pa.large_binary()),
        "fixed_binary": pa.array([b"ab", b"cd"], type=pa.binary(2)),
        "list": pa.array([[1, 2], None, [], [3]], type=pa.list_(pa.int64())),
        "large_list": pa.array([[1.5], [2.5, 3.5]], type=pa.large_list(pa.float64())),
        "list_of_strings": pa.array([["a", "b"], ["c"]]),
        "fixed_size_list": pa.array([[1, 2, 3], [4, 5, 6]], type=pa.list_(pa.int32(), 3)),
        "struct_with_nulls": pa.array([{"x": 1, "y": "a"}, None, {"x": None, "y": "c"}]),
        "nested": pa.array([{"points": [[1.0, 2.0], [3.0, 4.0]], "name": "p"}]),
        "all_null": pa.array([None, None]),
        "sliced": pa.array([10, 20, 30, 40, 50], type=pa.int32()).slice(1, 3),
        "sliced_strings": pa.array(["a", "bb", "ccc", "dddd"]).slice(2),
        "dictionary": pa.array(["a", "b", None, "a"]).dictionary_encode(),
        "map": pa.array([[("k", 1)], []], type=pa.map_(pa.string(), pa.int64())),
        "decimal": pa.array([decimal.Decimal("1.25"), None], type=pa.decimal128(5, 2)),
        "timestamp": pa.array([0, None, 1_700_000_000_123_456_000], type=pa.timestamp("ns")),
        "timestamp_tz": pa.array([1_700_000_000_000], type=pa.timestamp("ms", tz="UTC")),
        "date32": pa.array([0, 19000], type=pa.date32()),
        "date64": pa.array([86_400_000], type=pa.date64()),
        "time64": pa.array([1_000_000, None], type=pa.time64("us")),
        "duration": pa.array([5_000_000, None], type=pa.duration("us")),
        "interval": pa.array([pa.MonthDayNano([1, 2, 3])], type=pa.month_day_nano_interval()),
        "list_of_timestamps": pa.array([[0, 1_000]], type=pa.list_(pa.timestamp("s"))),
    })
    return arrays


class Environment(unittest.TestCase):
    def test_the_pinned_packages_are_the_ones_under_test(self):
        pins = {}
        with open(os.path.join(os.path.dirname(__file__), "..", "requirements.txt")) as f:
            for line in f:
                line = line.split("#")[0].strip()
                if "==" in line:
                    name, version = line.split("==")
                    pins[name.lower()] = version
        self.assertEqual(pa.__version__, pins["pyarrow"])
        self.assertEqual(np.__version__, pins["numpy"])


class ZeroCopyReceive(unittest.TestCase):
    def setUp(self):
        self.value = received(np.arange(1000, dtype=np.int32))
        self.base = address(np.asarray(self.value))

    def test_pyarrow_array_of_a_value_shares_its_buffer(self):
        imported = pa.array(self.value)
        self.assertEqual(imported.type, pa.int32())
        self.assertEqual(imported.buffers()[1].address, self.base)
        self.assertTrue(imported.equals(pa.array(np.arange(1000, dtype=np.int32))))

    def test_to_numpy_is_a_read_only_view(self):
        view = self.value.to_numpy()
        self.assertEqual(address(view), self.base)
        self.assertFalse(view.flags.writeable)
        with self.assertRaises(ValueError):
            view[0] = 1
        with self.assertRaises(ValueError):
            view.setflags(write=True)

    def test_numpy_asarray_is_the_same_read_only_view(self):
        view = np.asarray(self.value)
        self.assertEqual(view.dtype, np.int32)
        self.assertFalse(view.flags.writeable)
        self.assertEqual(view[999], 999)

    def test_views_outlive_the_value(self):
        imported, view = pa.array(self.value), self.value.to_numpy()
        del self.value
        gc.collect()
        self.assertEqual(imported[999].as_py(), 999)
        self.assertEqual(int(view[998]), 998)

    def test_slices_import_without_copying(self):
        part = pa.array(self.value[10:20])
        self.assertEqual(part.to_pylist(), list(range(10, 20)))
        self.assertEqual(address(part.to_numpy()), self.base + 10 * 4)
        self.assertEqual(address(self.value[10:20].to_numpy()), self.base + 10 * 4)

    def test_variable_size_arrays_import_without_copying(self):
        value = received(pa.array(["ab", "cde", None]))
        first, second = pa.array(value), pa.array(value)
        for a, b in zip(first.buffers(), second.buffers()):
            self.assertEqual(a is None, b is None)
            if a is not None:
                self.assertEqual(a.address, b.address)
        self.assertEqual(first.to_pylist(), ["ab", "cde", None])

    def test_imported_buffers_are_read_only(self):
        imported = pa.array(self.value)
        self.assertFalse(imported.to_numpy().flags.writeable)
        self.assertFalse(imported.buffers()[1].is_mutable)
        self.assertTrue(memoryview(imported.buffers()[1]).readonly)


class BehavesLikePyarrow(unittest.TestCase):
    """The calls dora users make, on a received value and on the pyarrow array it was sent as."""

    def cases(self):
        return {**example_arrays(), **typed_arrays()}

    def numpy_cases(self):
        # pyarrow 26.0.1 itself crashes converting month_day_nano intervals to numpy.
        return {k: v for k, v in self.cases().items() if k != "interval"}

    def assertSameNumpy(self, got, want, msg):
        self.assertEqual(got.dtype, want.dtype, msg)
        self.assertEqual(got.shape, want.shape, msg)
        self.assertTrue(same(got.tolist(), want.tolist()), f"{msg}: {got!r} != {want!r}")

    def test_len_type_null_count_to_pylist_and_as_py(self):
        for name, src in self.cases().items():
            value = received(src)
            self.assertEqual(len(value), len(src), name)
            self.assertEqual(value.type, src.type, name)
            self.assertEqual(str(value.type), str(src.type), name)
            self.assertEqual(value.null_count, src.null_count, name)
            self.assertTrue(same(value.to_pylist(), src.to_pylist()), name)
            self.assertTrue(same([x.as_py() for x in value], src.to_pylist()), name)
            if len(src):
                self.assertTrue(same(value[0].as_py(), src[0].as_py()), name)
                self.assertTrue(same(value[-1].as_py(), src[-1].as_py()), name)

    def test_type_is_a_pyarrow_data_type(self):
        value = received(pa.array([1.5]))
        self.assertIsInstance(value.type, pa.DataType)
        self.assertEqual(value.type, pa.float64())
        self.assertEqual(pa.list_(value.type), pa.list_(pa.float64()))

    def test_pyarrow_array_of_the_value_equals_what_was_sent(self):
        for name, src in self.cases().items():
            imported = pa.array(received(src))
            self.assertEqual(imported.type, src.type, name)
            self.assertTrue(imported.equals(src), f"{name}: {imported} != {src}")

    def test_to_numpy_zero_copy_only_false_and_numpy_asarray(self):
        for name, src in self.numpy_cases().items():
            value = received(src)
            want = src.to_numpy(zero_copy_only=False)
            self.assertSameNumpy(value.to_numpy(zero_copy_only=False), want, name)
            self.assertSameNumpy(np.asarray(value), np.asarray(src), name)

    def test_to_numpy_refuses_to_copy_where_pyarrow_does(self):
        for name, src in self.numpy_cases().items():
            value = received(src)
            try:
                src.to_numpy()
                pyarrow_copies = False
            except pa.ArrowInvalid:
                pyarrow_copies = True
            if pyarrow_copies:
                with self.assertRaises(ValueError, msg=name):
                    value.to_numpy()
            else:
                self.assertSameNumpy(value.to_numpy(), src.to_numpy(), name)

    def test_strings_and_binary(self):
        text = received(pa.array(["hello", "wörld"]))
        self.assertEqual(text[0].as_py(), "hello")
        self.assertEqual(text.to_pybytes(), "hellowörld".encode())
        blob = received(b"\x00\x01\x02")
        self.assertEqual(blob.to_pybytes(), b"\x00\x01\x02")
        self.assertEqual(bytes(blob), b"\x00\x01\x02")
        binary = received(pa.array([b"ab", b"c"]))
        self.assertEqual(binary[1].as_py(), b"c")
        self.assertEqual(binary.to_pybytes(), b"abc")

    def test_pyarrow_only_attributes_are_served_by_a_pyarrow_view(self):
        lists = received(pa.array([[1, 2], [3]]))
        self.assertEqual(lists.values.to_pylist(), [1, 2, 3])
        self.assertEqual(lists.offsets.to_pylist(), [0, 2, 3])
        self.assertEqual(lists.flatten().to_pylist(), [1, 2, 3])
        struct = received(example_arrays()["struct"])
        self.assertEqual(struct.field("description").to_pylist(), ["Message #4"])
        self.assertEqual(received(pa.array([1, 2])).cast(pa.float32()).type, pa.float32())
        self.assertEqual(received(pa.array([1, None])).is_null().to_pylist(), [False, True])
        self.assertIn("1", received(pa.array([1])).to_string())

    def test_struct_and_list_scalars_index_like_pyarrow(self):
        # opencv-plot: arrow_bbox = event["value"][0]; arrow_bbox["bbox"].values.to_numpy()
        bbox = received(example_arrays()["bbox"])[0]
        boxes = bbox["bbox"].values.to_numpy().reshape(-1, 4)
        self.assertEqual(boxes.tolist(), [[1, 2, 3, 4], [5, 6, 7, 8]])
        self.assertEqual(bbox["conf"].values.to_numpy().tolist(), [0.9, 0.5])
        self.assertEqual(bbox["labels"].values.to_numpy(zero_copy_only=False).tolist(),
                         ["cat", "dog"])
        self.assertEqual(received(pa.array([[7, 8]]))[0][1].as_py(), 8)

    def test_unknown_attributes_name_both_types(self):
        with self.assertRaisesRegex(AttributeError, "no_such_thing"):
            received(pa.array([1])).no_such_thing

    def test_values_equal_pyarrow_arrays_of_the_same_type_and_values(self):
        value = received(pa.array([1, None]))
        self.assertTrue(value.equals(pa.array([1, None])))
        self.assertEqual(value, pa.array([1, None]))
        self.assertNotEqual(value, pa.array([1, None], type=pa.int32()))
        self.assertNotEqual(value, [1, None])

    def test_a_value_is_not_a_pyarrow_array_but_pyarrow_array_makes_one(self):
        value = received(pa.array([1, 2]))
        self.assertNotIsInstance(value, pa.Array)
        self.assertIsInstance(pa.array(value), pa.Int64Array)


class SendPyarrow(unittest.TestCase):
    def test_every_type_arrives_with_its_type_and_values(self):
        for name, src in {**example_arrays(), **typed_arrays()}.items():
            value = received(src)
            self.assertEqual(pa.array(value).type, src.type, name)
            self.assertTrue(pa.array(value).equals(src), name)

    def test_a_received_value_can_be_sent_on(self):
        src = pa.array(["x", None, "z"])
        again = received(received(src))
        self.assertTrue(pa.array(again).equals(src))

    def test_pyarrow_values_of_other_kinds(self):
        dictionary = pa.array(["a", "b", "a"]).dictionary_encode()
        self.assertEqual(received(dictionary).to_pylist(), ["a", "b", "a"])
        stamps = pa.array([0, 1_000_000_000], type=pa.timestamp("ns"))
        self.assertTrue(pa.array(received(stamps)).equals(stamps))
        batch = pa.RecordBatch.from_pydict({"x": [1, 2], "y": ["a", "b"]})
        self.assertEqual(received(batch).to_pylist(), batch.to_pylist())

    def test_chunked_arrays_are_refused_saying_what_to_send(self):
        with self.assertRaisesRegex(TypeError, "ChunkedArray.*combine_chunks"):
            roundtrip(pa.chunked_array([[1], [2]]))


class SendNumpy(unittest.TestCase):
    DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
              np.uint64, np.float16, np.float32, np.float64]

    def test_every_numeric_dtype_arrives_with_its_type(self):
        for dtype in self.DTYPES:
            src = np.array([1, 0, 1, 1], dtype=dtype)
            value = received(src)
            self.assertEqual(value.type, pa.from_numpy_dtype(dtype), dtype)
            self.assertEqual(value.to_pylist(), src.tolist(), dtype)
            self.assertEqual(value.to_numpy(zero_copy_only=False).dtype, src.dtype, dtype)

    def test_multidimensional_arrays_are_sent_flat(self):
        frame = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
        value = received(frame)
        self.assertEqual(len(value), frame.size)
        self.assertEqual(value.to_numpy().reshape(4, 6, 3).tolist(), frame.tolist())

    def test_non_contiguous_arrays_are_copied_in_logical_order(self):
        base = np.arange(60, dtype=np.int64).reshape(3, 4, 5)
        for name, src in {"step": base.ravel()[::3], "channel": base[:, :, 1],
                          "transposed": base.T, "reversed": base.ravel()[::-1],
                          "fortran": np.asfortranarray(base),
                          "bool_step": (base.ravel() % 3 == 0)[::2],
                          "float_column": base.astype(np.float32)[:, 2, :]}.items():
            value = received(src)
            self.assertEqual(value.to_pylist(), src.ravel().tolist(), name)
            self.assertEqual(value.to_numpy(zero_copy_only=False).dtype, src.dtype, name)

    def test_dtypes_without_an_arrow_equivalent_are_refused_saying_what_to_send(self):
        for src in (np.array([1 + 2j]), np.array(["a", "b"]), np.array([object()]),
                    np.array([1], dtype=">i4"),
                    np.array(["2024-01-01"], dtype="datetime64[ns]")):
            with self.assertRaisesRegex(TypeError, "pyarrow.array", msg=src.dtype):
                roundtrip(src)


class Metadata(unittest.TestCase):
    def test_every_parameter_type_round_trips(self):
        meta = {"flag": False, "count": 2**62, "negative": -1, "ratio": 0.125, "name": "x",
                "empty": "", "flags": [True, False], "counts": [1, -2], "ratios": [0.5],
                "names": ["a", "b"], "nothing": []}
        _, got = roundtrip(b"", meta)
        got.pop("timestamp")
        self.assertEqual(got, meta)
        for key, value in meta.items():
            self.assertIs(type(got[key]), type(value), key)

    def test_numpy_scalars_are_sent_as_python_numbers(self):
        meta = {"width": np.int64(640), "height": np.uint32(480), "scale": np.float32(0.5),
                "ok": np.bool_(True), "shape": [np.int64(2), np.int64(3)]}
        _, got = roundtrip(b"", meta)
        self.assertEqual(got["width"], 640)
        self.assertIs(type(got["width"]), int)
        self.assertEqual(got["height"], 480)
        self.assertEqual(got["scale"], 0.5)
        self.assertIs(type(got["scale"]), float)
        self.assertIs(got["ok"], True)
        self.assertEqual(got["shape"], [2, 3])

    def test_an_image_metadata_dict_as_dora_examples_send_it(self):
        _, incoming = roundtrip(b"", {"primitive": "image"})
        incoming["encoding"] = "bgr8"
        incoming["width"] = 640
        incoming["height"] = 480
        _, got = roundtrip(pa.array(np.zeros(640 * 480 * 3, np.uint8)), incoming)
        self.assertEqual((got["encoding"], got["width"], got["height"], got["primitive"]),
                         ("bgr8", 640, 480, "image"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
