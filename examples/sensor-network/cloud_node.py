#!/usr/bin/env python3
"""The cloud aggregator: prints every sensor reading and, regularly and on stop, a summary.

Inputs:  any number of sensor readings (JSON bytes from sensor_node.py), under any input id;
         summary  (a timer, e.g. dora/timer/secs/10): print the summary
Outputs: none

A sensor that has sent nothing for INACTIVE_AFTER seconds is reported as INACTIVE.
Standard library only: runs under dora-cpp and under the original dora.
"""

import json
import sys
import time

from dora import Node

INACTIVE_AFTER = 5.0  # seconds


class Sensor:
    def __init__(self, sensor_type, unit):
        self.sensor_type = sensor_type
        self.unit = unit
        self.last_value = 0.0
        self.last_seen = 0.0
        self.count = 0


def print_summary(sensors, total, started):
    now = time.monotonic()
    active = [s for s in sensors.values() if now - s.last_seen < INACTIVE_AFTER]
    print(f"=== Sensor network summary after {now - started:.1f} s ===")
    print(f"Total messages: {total}")
    print(f"Active sensors: {len(active)}/{len(sensors)}")
    for sensor_id in sorted(sensors):
        s = sensors[sensor_id]
        status = "ACTIVE" if now - s.last_seen < INACTIVE_AFTER else "INACTIVE"
        print(
            f"  {sensor_id:<16} {status:<8}  type={s.sensor_type:<12} "
            f"last={s.last_value:.2f}{s.unit:<8} count={s.count}"
        )
    print("=== end of summary ===", flush=True)


def main():
    node = Node()
    sensors = {}  # sensor_id -> Sensor
    total = 0
    started = time.monotonic()

    for event in node:
        if event["type"] == "INPUT" and event["id"] == "summary":
            print_summary(sensors, total, started)
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
            print(f">> [{total:05d}] Received from {sensor_id}: {sensor_type}={value:.2f}{unit}")
        elif event["type"] == "INPUT_CLOSED":
            print(f"input {event['id']} closed")
        elif event["type"] == "STOP":
            break

    print_summary(sensors, total, started)


if __name__ == "__main__":
    main()
