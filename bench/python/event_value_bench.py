"""What `event["value"]` costs per event: dora's own array object against turning every value
into a real pyarrow.Array (what real dora hands its nodes), measured side by side. Not a test.

    bench/python/event_value_bench.py [--build build/dev] [--count 200000]

Run it with an interpreter that has pyarrow and numpy (the test venv:
`build/dev/venv/bin/python bench/python/event_value_bench.py`). It prints
  1. in-process costs per call (no dataflow): the conversion to pyarrow.Array through the C data
     interface, and the calls nodes make, on dora's object and on a pyarrow.Array;
  2. per-event receive cost in a real `dora run` (C++ producer, 8-byte messages, Python receiver)
     with the receiver only touching the value, and with it converting every value to
     pyarrow.Array;
  3. what importing pyarrow costs a node (time, resident memory).
The receiving node is this file too (`receive --mode dora|pyarrow`).
"""

import os
import subprocess
import sys
import tempfile
import time


def arg(name, default):
    argv = sys.argv
    for i in range(1, len(argv) - 1):
        if argv[i] == name:
            return argv[i + 1]
    return default


def receive():
    from dora import Node

    mode = arg("--mode", "dora")
    convert = None
    if mode == "pyarrow":
        import pyarrow as pa

        def convert(value):
            return pa.Array._import_from_c_capsule(*value.__arrow_c_array__())

    node = Node()
    n, first, last = 0, None, None
    for event in node:
        if event["type"] != "INPUT":
            continue
        value = event["value"]
        if convert is not None:
            value = convert(value)
        len(value)
        n += 1
        last = time.perf_counter()
        if first is None:
            first = last
    per_event = (last - first) / max(1, n - 1) * 1e6
    print(f"RESULT {mode} {n} {per_event:.3f}")


def per_call(fn, n=20000, repeat=5):
    for _ in range(200):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def in_process():
    import numpy as np
    import pyarrow as pa
    from dora import _dora

    print("1. per call, in process (us, best of 5):")
    print(f"   {'value':12s} {'call':34s} {'dora.Array':>10s} {'pyarrow':>10s}")
    for label, data in (("uint8[8]", np.arange(8, dtype=np.uint8)),
                        ("float64[1k]", np.arange(1000, dtype=np.float64)),
                        ("string[1]", pa.array(["hello"]))):
        ours = _dora._roundtrip(data)[0]
        theirs = pa.array(ours)
        rows = [
            ("to pyarrow.Array (C data iface)",
             lambda: pa.Array._import_from_c_capsule(*ours.__arrow_c_array__()), None),
            ("len(value)", lambda: len(ours), lambda: len(theirs)),
            ("value[0].as_py()", lambda: ours[0].as_py(), lambda: theirs[0].as_py()),
            ("value.type", lambda: ours.type, lambda: theirs.type),
            ("value.to_pylist()", lambda: ours.to_pylist(), lambda: theirs.to_pylist()),
        ]
        if label != "string[1]":
            rows.append(("value.to_numpy()", lambda: ours.to_numpy(), lambda: theirs.to_numpy()))
            rows.append(("numpy.asarray(value)", lambda: np.asarray(ours),
                         lambda: np.asarray(theirs)))
        for name, f_ours, f_theirs in rows:
            a = per_call(f_ours)
            b = per_call(f_theirs) if f_theirs else None
            print(f"   {label:12s} {name:34s} {a:10.2f} {'' if b is None else f'{b:10.2f}'}")


def in_dataflow(build, count):
    dora = os.path.join(build, "src", "cli", "dora")
    producer = os.path.join(build, "tests", "dora_test_node")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    print(f"2. per event, receiving {count} 8-byte messages from a C++ node under `dora run` (us):")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for mode in ("dora", "pyarrow", "dora", "pyarrow"):
            path = os.path.join(work, "dataflow.yml")
            with open(path, "w") as f:
                f.write(f"""nodes:
  - id: producer
    path: {producer}
    args: producer --count {count} --size 8
    outputs: [out]
  - id: receiver
    path: {os.path.abspath(__file__)}
    args: receive --mode {mode}
    inputs: {{in: {{source: producer/out, queue_size: {count}}}}}
""")
            out = subprocess.run([dora, "run", path], capture_output=True, text=True, cwd=work,
                                 env=env, timeout=600).stdout
            line = next((ln for ln in out.splitlines() if "RESULT" in ln), None)
            if line is None:
                print(out)
                raise SystemExit("the receiver printed no result")
            _, n, us = line.split("RESULT ")[1].split()
            results.setdefault(mode, []).append(float(us))
            print(f"   {mode:8s} received {n:>7s}  {float(us):6.2f} us/event")
    dora_best, pa_best = min(results["dora"]), min(results["pyarrow"])
    print(f"   best: dora.Array {dora_best:.2f}, pyarrow.Array {pa_best:.2f} "
          f"(+{pa_best - dora_best:.2f} us, x{pa_best / dora_best:.2f})")


def import_cost():
    # Resident memory from /proc (ru_maxrss would carry this big process's peak across exec).
    code = ("import time\n"
            "def rss():\n"
            "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS'))"
            ".split()[1])\n"
            "before = rss(); t = time.perf_counter(); import pyarrow\n"
            "print(time.perf_counter() - t, rss() - before)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(3)]
    seconds = min(float(r[0]) for r in runs)
    kib = min(int(r[1]) for r in runs)
    print(f"3. `import pyarrow` in a node: {seconds * 1000:.0f} ms (best of 3), "
          f"+{kib / 1024:.0f} MiB resident")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "receive":
        receive()
        return
    build = os.path.abspath(arg("--build", "build/dev"))
    sys.path.insert(0, os.path.join(build, "python"))
    os.environ["PYTHONPATH"] = os.path.join(build, "python") + os.pathsep + os.environ.get(
        "PYTHONPATH", "")
    in_process()
    in_dataflow(build, int(arg("--count", "200000")))
    import_cost()


if __name__ == "__main__":
    main()
