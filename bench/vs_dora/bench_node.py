"""Benchmark node for bench/vs_dora.sh: the same file runs on dora-cpp and on the original dora.

Written as dora users write Python nodes: `from dora import Node`, payloads sent as pyarrow
arrays (what dora's `send_output` takes), the send time carried in the metadata.

    ping --sizes 8,4096,... --rounds N   sends N arrays per size, each after the previous answer;
                                         prints "latency SIZE P50 P99 N RTT2_P50" (us)
    pong                                 answers each ping with an 8-byte array whose metadata
                                         holds the one-way delay it measured ("d", ns); a size
                                         whose answer does not come in 20 s is reported lost
    source --sizes ... --seconds S       arrays back to back (at most 8 unacknowledged) for S
                                         seconds per size (at least 10), then "done"; prints
                                         "sent SIZE MSGS_PER_S SENT"
    sink                                 counts arrivals, acknowledges every 4th; on "done"
                                         prints "throughput SIZE MSGS_PER_S RECEIVED SENT"

Result lines go to stdout and, with `--out FILE`, are appended to FILE too (dora 0.3.12, 1.1.0 and
dora-cpp keep node logs in different places and formats; the file is read the same way on all).

One-way latency is measured with the nodes' own clock: the sender puts time.monotonic_ns()
(CLOCK_MONOTONIC, one clock for every process on the machine) in the metadata just before
send_output, the receiver subtracts it from the same clock right after next() returned the event.
Pings are paced by the answers, so no message waits behind another. RTT/2 is printed beside it
as a cross-check (it includes the answer's trip and the sender's wake-up).
"""

import sys
import time

import pyarrow as pa
from dora import Node

clock = time.monotonic_ns


def arg(name, default):
    for i in range(2, len(sys.argv) - 1):
        if sys.argv[i] == name:
            return sys.argv[i + 1]
    return default


def report(line):
    print(line, flush=True)
    out = arg("--out", None)
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def sizes():
    return [int(s) for s in arg("--sizes", "8,4096,1048576,41943040").split(",")]


_arrays = {}


def payload(size):
    """A uint8 array of `size` zero bytes, made once per size (what a sensor would reuse)."""
    array = _arrays.get(size)
    if array is None:
        buffer = pa.py_buffer(bytes(size))
        array = _arrays[size] = pa.Array.from_buffers(pa.uint8(), size, [None, buffer])
    return array


def next_input(node, timeout=20.0):
    """The next INPUT event; None at the end of the stream or after `timeout` seconds without
    one (a message lost or stuck: the caller reports it instead of waiting for ever)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        event = node.next(timeout=left) if left > 0 else None
        if event is None or event["type"] == "STOP":
            return None
        if event["type"] == "INPUT":
            return event


def percentile(sorted_values, q):
    return sorted_values[int(q * (len(sorted_values) - 1))]


def answer_to(node, ping_id):
    """The pong answer to ping `ping_id`; answers to earlier pings (late after a loss) are
    skipped. None when none came within 20 s."""
    deadline = time.monotonic() + 20.0
    while True:
        event = next_input(node, timeout=max(deadline - time.monotonic(), 0.0))
        if event is None or event["metadata"]["i"] == ping_id:
            return event


def ping(node):
    rounds = int(arg("--rounds", "2000"))
    ping_id = 0
    for size in sizes():
        n = max(rounds // 40, 30) if size >= 16 << 20 else (
            max(rounds // 4, 100) if size >= 1 << 20 else rounds)
        array = payload(size)
        one_way, rtt2 = [], []
        for _ in range(n):
            ping_id += 1
            t0 = clock()
            node.send_output("ping", array, {"t": t0, "i": ping_id})
            event = answer_to(node, ping_id)
            t1 = clock()
            if event is None:  # lost or stuck: this size ends, the next one runs
                break
            one_way.append(event["metadata"]["d"] / 1000)
            rtt2.append((t1 - t0) / 2000)
            del event
        if len(one_way) < n:
            report(f"latency {size} lost: no answer within 20 s after {len(one_way)} of {n}")
            continue
        skip = n // 10  # warm-up
        one_way, rtt2 = sorted(one_way[skip:]), sorted(rtt2[skip:])
        report(f"latency {size} {percentile(one_way, 0.5):.1f} {percentile(one_way, 0.99):.1f} "
               f"{len(one_way)} {percentile(rtt2, 0.5):.1f}")
    report("done")
    return 0


def pong(node):
    answer = payload(8)
    for event in node:
        if event["type"] == "INPUT":
            now = clock()
            meta = event["metadata"]
            delay, ping_id = now - meta["t"], meta["i"]
            del event  # release the sample before answering, as a real consumer would
            node.send_output("pong", answer, {"d": delay, "i": ping_id})
        elif event["type"] == "STOP":
            break
    return 0


def source(node):
    """Sends back to back with a window: at most WINDOW messages not yet acknowledged by the
    sink, which acknowledges every ACK_EVERY; the window is below the sink's queue_size (16 in
    bench/vs_dora/run.py's dataflow), so nothing is dropped and the figure is what arrives, not
    what was thrown away."""
    seconds = float(arg("--seconds", "2"))
    # A warm-up of 1-byte arrays first (reported, not measured), so the first size measured
    # does not pay for the nodes' first messages.
    for size in [1] + sizes():
        array = payload(size)
        sent = acked = 0
        t0 = clock()
        deadline = t0 + int((min(seconds / 4, 0.5) if size == 1 else seconds) * 1e9)
        stalled = False
        while sent < 10 or clock() < deadline:
            if sent - acked >= WINDOW:
                event = next_input(node, timeout=5.0)
                if event is None:  # messages lost (or stuck): this size ends, the next runs
                    stalled = True
                    break
                if event["metadata"]["size"] == size:  # an earlier size's may come late
                    acked = max(acked, event["metadata"]["n"])
                continue
            node.send_output("data", array)
            sent += 1
        rate = sent * 1e9 / (clock() - t0)
        node.send_output("done", payload(8), {"size": size, "sent": sent})
        if stalled:
            report(f"sent {size} stalled: {sent} sent, {acked} acknowledged, then none for 5 s "
                   "(messages lost or stuck)")
        else:
            report(f"sent {size} {rate:.0f} {sent}")
        while True:  # the sink's answer to "done" (window acknowledgements before it)
            event = next_input(node)
            if event is None:
                report(f"sent {size} no answer to done within 20 s")
                report("done")
                return 1
            if event["metadata"].get("done") == size:
                break
    return 0


WINDOW = 8
ACK_EVERY = 4


class Arrivals:
    def __init__(self):
        self.first = self.last = self.count = 0
        self.sent = None

    def add(self, now):
        if self.count == 0:
            self.first = now
        self.last = now
        self.count += 1

    def line(self, size):
        secs = (self.last - self.first) / 1e9
        rate = (self.count - 1) / secs if secs > 0 else 0
        return f"throughput {size} {rate:.0f} {self.count} {self.sent}"


def sink(node):
    """Counts arrivals per size (len of the array) and acknowledges every ACK_EVERY of a size;
    prints a size's line at its "done" and again at the end if stragglers changed it."""
    sizes_seen = {}
    printed = {}
    for event in node:
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        if event["id"] == "data":
            now = clock()
            size = len(event["value"])
            del event
            arrivals = sizes_seen.setdefault(size, Arrivals())
            arrivals.add(now)
            if arrivals.count % ACK_EVERY == 0:
                node.send_output("ack", payload(8), {"n": arrivals.count, "size": size})
            continue
        meta = event["metadata"]
        arrivals = sizes_seen.setdefault(meta["size"], Arrivals())
        arrivals.sent = meta["sent"]
        printed[meta["size"]] = arrivals.line(meta["size"])
        report(printed[meta["size"]])
        node.send_output("ack", payload(8),
                         {"n": arrivals.count, "size": meta["size"], "done": meta["size"]})
    for size, arrivals in sizes_seen.items():
        if arrivals.line(size) != printed.get(size):
            report(arrivals.line(size))
    report("done")
    return 0


if __name__ == "__main__":
    modes = {"ping": ping, "pong": pong, "source": source, "sink": sink}
    sys.exit(modes[sys.argv[1]](Node()) or 0)
