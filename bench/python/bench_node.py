"""Python benchmark node (bench/python/run.sh runs it through `dora run`).

    ping --sizes 8,4096,... --rounds N [--send sample|bytes]   one-way = RTT/2, p50/p99 in us
    pong [--send sample|bytes]                                answers each input with its size
    ping and pong take --gc off: the collector frozen and disabled (to tell its pauses from the
    rest); ping's line also has the max, the rounds a collection of its own ran in, and the p99 of
    the other rounds
    source --sizes ... --count N [--send sample|bytes]        N messages per size, then "done"
    sink                                                      counts arrivals, prints the rate

--send sample (default) fills nothing and sends Node.allocate_output samples: no copy, as the C++
counterpart (cpp_node.cpp) does; --send bytes sends a prepared bytes object: one copy into shared
memory, what a plain `node.send_output("out", data)` costs. Output lines are parsed by run.sh.
"""

import gc
import sys
import time

from dora import Node


def arg(name, default):
    for i in range(2, len(sys.argv) - 1):
        if sys.argv[i] == name:
            return sys.argv[i + 1]
    return default


def sizes():
    return [int(s) for s in arg("--sizes", "8,4096,1048576,41943040").split(",")]


class Sender:
    def __init__(self, node):
        self.node = node
        self.mode = arg("--send", "sample")
        self.cache = {}

    def send(self, output, size, metadata=None):
        if self.mode == "bytes":
            data = self.cache.get(size)
            if data is None:
                data = self.cache[size] = bytes(size)
            self.node.send_output(output, data, metadata)
        else:
            self.node.send_output(output, self.node.allocate_output(size), metadata)


def gc_setup():
    if arg("--gc", "on") == "off":
        gc.freeze()
        gc.disable()


class GcWatch:
    """Counts this process's collections (gc.callbacks), to mark the rounds one ran in."""

    def __init__(self):
        self.collections = 0
        gc.callbacks.append(self.on_gc)

    def on_gc(self, phase, info):
        if phase == "start":
            self.collections += 1


def next_input(node):
    while True:
        event = node.next(timeout=30)
        if event is None or event["type"] == "STOP":
            return None
        if event["type"] == "INPUT":
            return event


def ping(node):
    sender, rounds = Sender(node), int(arg("--rounds", "2000"))
    clock = time.perf_counter_ns
    gc_setup()
    watch = GcWatch()
    for size in sizes():
        n = max(rounds // 20, 50) if size >= 4 << 20 else rounds
        one_way, collected = [], []
        for _ in range(n):
            before = watch.collections
            t0 = clock()
            sender.send("ping", size)
            event = next_input(node)
            t1 = clock()
            if event is None:
                print("ping: no answer", file=sys.stderr)
                return 1
            one_way.append((t1 - t0) / 2000)
            collected.append(watch.collections != before)
            del event
        kept = list(zip(one_way, collected))[n // 10:]  # warm-up
        one_way = sorted(t for t, _ in kept)
        quiet = sorted(t for t, c in kept if not c) or [0.0]
        p50 = one_way[int(0.5 * (len(one_way) - 1))]
        p99 = one_way[int(0.99 * (len(one_way) - 1))]
        quiet_p99 = quiet[int(0.99 * (len(quiet) - 1))]
        gc_rounds = sum(1 for _, c in kept if c)
        print(f"latency {size} {p50:.2f} {p99:.2f} {len(one_way)} {one_way[-1]:.2f} {gc_rounds} "
              f"{quiet_p99:.2f}", flush=True)
    return 0


def pong(node):
    sender = Sender(node)
    gc_setup()
    for event in node:
        if event["type"] == "INPUT":
            size = len(event["value"])
            del event  # release the sample before answering, as a real consumer would
            sender.send("pong", size)


def source(node):
    sender, count = Sender(node), int(arg("--count", "20000"))
    for size in sizes():
        n = max(count // 1000, 20) if size >= 4 << 20 else (
            max(count // 20, 200) if size >= 1 << 20 else count)
        for _ in range(n):
            sender.send("data", size)
        node.send_output("done", b"", {"size": size, "sent": n})
        if next_input(node) is None:
            return 1
    return 0


def sink(node):
    clock = time.perf_counter_ns
    first = last = count = 0
    for event in node:
        if event["type"] != "INPUT":
            continue
        if event["id"] == "data":
            last = clock()
            if count == 0:
                first = last
            count += 1
            continue
        meta = event["metadata"]
        secs = (last - first) / 1e9
        rate = (count - 1) / secs if secs > 0 else 0
        print(f"throughput {meta['size']} {rate:.0f} {count} {meta['sent']}", flush=True)
        count = 0
        node.send_output("ack", b"")


if __name__ == "__main__":
    modes = {"ping": ping, "pong": pong, "source": source, "sink": sink}
    sys.exit(modes[sys.argv[1]](Node()) or 0)
