"""What the pyarrow dataflow tests send, shared by the sending and the receiving node so the
receiver can check every value against what was sent: pyarrow arrays of every type dora sends,
built as dora's examples build them, numpy arrays of every dtype (contiguous and not), and
metadata of every parameter type. Deterministic: both nodes build the same values."""

import decimal

import numpy as np
import pyarrow as pa

# Every parameter type, and the keys dora's image nodes send.
METADATA = {"flag": True, "count": -(2**40), "ratio": 0.25, "name": "näme", "empty": "",
            "flags": [True, False], "counts": [1, 2, 3], "ratios": [0.5, 1.5], "names": ["a"],
            "width": 6, "height": 4, "encoding": "bgr8"}


def frame():
    return np.random.default_rng(3).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)


def pyarrow_cases():
    rng = np.random.default_rng(11)
    ints = [1, None, -3, 4]
    cases = {f"pa_{t}": pa.array([abs(v) if v is not None else None for v in ints]
                                 if str(t).startswith("uint") else ints, type=t)
             for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                       pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())}
    cases.update({
        "pa_float16": pa.array(np.array([0.5, -1.0], dtype=np.float16)),
        "pa_float32": pa.array([0.5, None], type=pa.float32()),
        "pa_float64": pa.array([0.5, -1e300, None]),
        "pa_bool": pa.array([True, None, False]),
        "pa_utf8": pa.array(["text", None, "grüße"]),
        "pa_large_utf8": pa.array(["a", "bb"], type=pa.large_string()),
        "pa_binary": pa.array([b"\x00\xff", None], type=pa.binary()),
        "pa_large_binary": pa.array([b"xyz"], type=pa.large_binary()),
        "pa_list": pa.array([[1, 2], None, []], type=pa.list_(pa.int32())),
        "pa_large_list": pa.array([["a"], ["b", "c"]], type=pa.large_list(pa.string())),
        "pa_fixed_size_list": pa.array([[1.0, 2.0], [3.0, 4.0]], type=pa.list_(pa.float64(), 2)),
        "pa_struct": pa.StructArray.from_arrays(
            [pa.array([6]), pa.array(["Message #3"]), pa.array([False])],
            names=["doubled", "description", "is_even"]),
        "pa_bbox": pa.array([{"bbox": [10.0, 20.0, 30.0, 40.0], "conf": [0.75],
                              "labels": ["person"]}]),
        "pa_dictionary": pa.array(["x", "y", "x"]).dictionary_encode(),
        "pa_timestamp": pa.array([0, 1_700_000_000_000_000], type=pa.timestamp("us")),
        "pa_decimal": pa.array([decimal.Decimal("3.14")], type=pa.decimal128(4, 2)),
        # As dora's examples write them.
        "ex_ints": pa.array([1, 2, 3]),
        "ex_one_int64": pa.array([40], type=pa.int64()),
        "ex_random": pa.array(rng.random(100)),
        "ex_text": pa.array(["text"]),
        "ex_frame": pa.array(frame().ravel()),
        "ex_empty_uint8": pa.array([], type=pa.uint8()),
        "ex_empty": pa.array([]),
        "ex_large": pa.array(np.arange(1 << 18, dtype=np.float32)),
    })
    return cases


NUMPY_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64"]


def numpy_cases():
    base = np.arange(24).reshape(2, 3, 4)
    cases = {f"np_{d}": (base.ravel() % 5).astype(d) for d in NUMPY_DTYPES}
    cases.update({
        "np_frame": frame(),
        "np_every_other": np.arange(20, dtype=np.int32)[::2],
        "np_channel": frame()[:, :, 1],
        "np_transposed": base.astype(np.float64).T,
        "np_bool_strided": (base.ravel() % 2 == 0)[::3],
    })
    return cases
