"""Fixture node for dora 1.x's queue_policy, input_timeout, send_logs_as and min_log_level
(test_dora1_keys.py). The first argument is the role:

  fast-sender N        sends 0..N-1 on `out` as fast as it can; prints how long that took
  slow-receiver D      takes each `in` input D seconds to handle; prints what it got, in order
  pauser N PAUSE M     sends N messages 50 ms apart, is quiet for PAUSE s, sends M more
  timeline COUNT       prints every event of `in` until COUNT inputs and then INPUT_CLOSED
  logger               logs at each level, prints a plain line and a stderr line
  log-reader           prints the level and message of every JSON entry on `logs`
"""

import json
import sys
import time

from dora import Node


def fast_sender(node, count):
    start = time.monotonic()
    for seq in range(count):
        node.send_output("out", [seq])
    print(f"sent {count} in {time.monotonic() - start:.3f} s", flush=True)


def slow_receiver(node, delay):
    got = []
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "in":
            got.append(event["value"][0].as_py())
            time.sleep(delay)
        elif event["type"] == "ERROR":
            raise RuntimeError(event["error"])
    in_order = got == sorted(got) and len(set(got)) == len(got)
    print(f"received {len(got)} in order {in_order} first {got[:1]} last {got[-1:]}")
    print(f"dropped {node.dropped_inputs()}", flush=True)


def pauser(node, before, pause, after):
    seq = 0
    for _ in range(before):
        node.send_output("out", [seq])
        seq += 1
        time.sleep(0.05)
    time.sleep(pause)
    for _ in range(after):
        node.send_output("out", [seq])
        seq += 1
        time.sleep(0.05)


def timeline(node, count):
    inputs = 0
    for event in node:
        kind, eid = event["type"], event.get("id")
        if kind == "INPUT" and eid == "in":
            inputs += 1
            print(f"event INPUT in {event['value'][0].as_py()}", flush=True)
        elif kind in ("INPUT_CLOSED", "INPUT_RECOVERED"):
            print(f"event {kind} {eid}", flush=True)
            if kind == "INPUT_CLOSED" and eid == "in" and inputs >= count:
                break
        elif kind == "STOP":
            print(f"event STOP {eid}", flush=True)
        elif kind == "ERROR":
            raise RuntimeError(event["error"])


def logger(node):
    node.log_error("an error entry")
    node.log_warn("a warn entry")
    node.log("info", "an info entry", target="sensor", fields={"unit": "C"})
    node.log_debug("a debug entry")
    node.log_trace("a trace entry")
    print("a plain line", flush=True)
    print("a stderr line", file=sys.stderr, flush=True)


def log_reader(node):
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "logs":
            entry = json.loads(event["value"][0].as_py())
            print(f"entry {entry['level']} {entry['message']!r} node {entry['node_id']} "
                  f"target {entry['target']} fields {entry['fields']}", flush=True)
        elif event["type"] == "ERROR":
            raise RuntimeError(event["error"])


def main():
    node = Node()
    role, args = sys.argv[1], sys.argv[2:]
    if role == "fast-sender":
        fast_sender(node, int(args[0]))
    elif role == "slow-receiver":
        slow_receiver(node, float(args[0]))
    elif role == "pauser":
        pauser(node, int(args[0]), float(args[1]), int(args[2]))
    elif role == "timeline":
        timeline(node, int(args[0]))
    elif role == "logger":
        logger(node)
    elif role == "log-reader":
        log_reader(node)
    else:
        raise SystemExit(f"unknown role {role}")


main()
