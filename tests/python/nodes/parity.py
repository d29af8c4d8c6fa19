"""Nodes using the parts of dora's Python API that go beyond next()/send_output: STOP ids,
recv_async (with cancelled waits), merge_external_events, node_config. Each mode prints what it
saw; test_dataflows.py (class DoraParity) checks the lines.

    parity.py stop-ids              prints "stop id=<id> cause=<cause>" for each STOP
    parity.py async --expect N      receives with recv_async, cancelling short waits in between;
                                    prints "async got N in order=<bool>"
    parity.py external              merges a generator and a failing source with a timer input;
                                    prints the external values and "external done"
    parity.py config                prints "config <json of node_config()>"
"""

import asyncio
import json
import sys
import time

from dora import Node


def stop_ids(node):
    for event in node:
        if event["type"] == "STOP":
            print(f"stop id={event['id']} cause={event['cause']} kind={event['kind']}", flush=True)


async def async_main(node, expect):
    seqs, cancelled = [], 0
    while len(seqs) < expect:
        try:
            # Most of these time out before an input arrives: the task is cancelled while its
            # receive is still waiting in a thread; what that receive gets must not be lost.
            event = await asyncio.wait_for(node.recv_async(), timeout=0.005)
        except asyncio.TimeoutError:
            cancelled += 1
            continue
        if event is None:
            break
        if event["type"] == "INPUT":
            seqs.append(event["metadata"]["seq"])
    print(f"async got {len(seqs)} in order={seqs == sorted(seqs)} "
          f"distinct={len(set(seqs)) == len(seqs)} cancelled_some={cancelled > 0}", flush=True)
    rest = await node.recv_async(timeout=0.01)
    print(f"async after: {rest if rest is None else rest['type']}", flush=True)


def readings():
    for i in range(3):
        time.sleep(0.05)
        yield f"reading-{i}"


def failing():
    yield "before-failure"
    raise ValueError("sensor unplugged")


def external(node):
    node.merge_external_events(readings())
    node.merge_external_events(failing())
    try:
        node.merge_external_events(42)
    except TypeError as e:
        print(f"not iterable: {e}", flush=True)
    values, ticks = [], 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        event = node.next(timeout=1)
        if event is None:
            continue
        if event["kind"] == "external":
            value = event["value"]
            values.append(f"{type(value).__name__}:{value}")
            print(f"external {values[-1]}", flush=True)
        elif event["type"] == "INPUT":
            ticks += 1
        if len(values) == 5:
            break
    readings_seen = [v for v in values if "reading" in v]
    in_order = readings_seen == ["str:reading-0", "str:reading-1", "str:reading-2"]
    print(f"external done ticks>0={ticks > 0} readings_in_order={in_order}", flush=True)


def config(node):
    print("config " + json.dumps(node.node_config(), sort_keys=True), flush=True)


def main():
    node = Node()
    mode = sys.argv[1]
    if mode == "stop-ids":
        stop_ids(node)
    elif mode == "async":
        asyncio.run(async_main(node, int(sys.argv[sys.argv.index("--expect") + 1])))
    elif mode == "external":
        external(node)
    elif mode == "config":
        config(node)
    else:
        sys.exit(f"parity.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
