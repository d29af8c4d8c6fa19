#!/usr/bin/env python3
"""The cloud aggregator: prints every sensor reading and, regularly and on stop, a summary.

Inputs:  any number of sensor readings (JSON bytes from sensor_node.py), under any input id;
         summary  (a timer, e.g. dora/timer/secs/10): print the summary
Outputs: none

A sensor that has sent nothing for INACTIVE_AFTER seconds is reported as INACTIVE. The lines
are laid out as in dora's python-distributed-zenoh example, so its users read them unchanged.
Standard library only: runs under dora-cpp and under the original dora.
"""

import json
import sys
import time

from dora import Node

INACTIVE_AFTER = 5.0  # seconds
RULE = "=" * 70


class Sensor:
    def __init__(self, sensor_type, unit):
        self.sensor_type = sensor_type
        self.unit = unit
        self.last_value = 0.0
        self.last_seen = 0.0
        self.count = 0

    def is_active(self, now):
        return now - self.last_seen < INACTIVE_AFTER


def print_summary(sensors, total):
    now = time.monotonic()
    active = sum(1 for s in sensors.values() if s.is_active(now))
    print()
    print(RULE)
    print(f"Cloud Aggregator Summary - Total Messages: {total}")
    print(f"Active Sensors: {active}")
    print(RULE)
    for sensor_id in sorted(sensors):
        s = sensors[sensor_id]
        status = "🟢 ACTIVE" if s.is_active(now) else "🔴 INACTIVE"
        print(
            f"{status} | {sensor_id:15s} | {s.sensor_type:12s} | "
            f"{s.last_value:7.2f} {s.unit:8s} | Count: {s.count:5d}"
        )
    print(RULE)
    print(flush=True)


def main():
    node = Node()
    sensors = {}  # sensor_id -> Sensor
    total = 0

    for event in node:
        if event["type"] == "INPUT" and event["id"] == "summary":
            print_summary(sensors, total)
        elif event["type"] == "INPUT":
            try:
                reading = json.loads(bytes(event["value"].to_pylist()).decode("utf-8"))
                sensor_id = str(reading["sensor_id"])
                sensor_type = str(reading["sensor_type"])
                value = float(reading["value"])
                unit = str(reading["unit"])
            except (ValueError, KeyError, TypeError) as error:
                print(f"ignoring a malformed reading on {event['id']}: {error}", file=sys.stderr)
                continue
            total += 1
            sensor = sensors.setdefault(sensor_id, Sensor(sensor_type, unit))
            sensor.sensor_type, sensor.unit = sensor_type, unit
            sensor.last_value = value
            sensor.last_seen = time.monotonic()
            sensor.count += 1
            print(f">> [{total:05d}] Received from {sensor_id}: {sensor_type}={value}{unit}")
        elif event["type"] == "INPUT_CLOSED":
            print(f"Input `{event['id']}` was closed")
        elif event["type"] == "ERROR":  # e.g. a sensor's machine became unreachable
            print(f"error event: {event['error']}", file=sys.stderr)
        elif event["type"] == "STOP":
            print("Received stop signal")
            break

    print()
    print("=== Final Summary ===")
    print_summary(sensors, total)


if __name__ == "__main__":
    main()
