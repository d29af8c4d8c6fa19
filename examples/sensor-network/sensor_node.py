#!/usr/bin/env python3
"""A simulated sensor: on every tick it sends one reading as JSON bytes.

    sensor_node.py <sensor_id> <sensor_type>

Inputs:  tick     (a timer, e.g. dora/timer/millis/1000)
Outputs: reading  {"sensor_id", "sensor_type", "value", "unit"} as UTF-8 JSON bytes

Standard library only: runs under dora-cpp and under the original dora.
"""

import json
import random
import sys

from dora import Node

# sensor_type -> (lowest value, highest value, unit); anything else is "units" from 0 to 100.
RANGES = {
    "temperature": (15.0, 35.0, "celsius"),
    "humidity": (30.0, 90.0, "percent"),
    "pressure": (980.0, 1050.0, "hPa"),
}
DEFAULT_RANGE = (0.0, 100.0, "units")


def main():
    if len(sys.argv) != 3:
        print("usage: sensor_node.py <sensor_id> <sensor_type>", file=sys.stderr)
        sys.exit(2)
    sensor_id, sensor_type = sys.argv[1], sys.argv[2]
    low, high, unit = RANGES.get(sensor_type, DEFAULT_RANGE)

    node = Node()
    sent = 0
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "tick":
            value = round(random.uniform(low, high), 2)
            reading = {
                "sensor_id": sensor_id,
                "sensor_type": sensor_type,
                "value": value,
                "unit": unit,
            }
            node.send_output("reading", json.dumps(reading).encode("utf-8"))
            sent += 1
            print(f"[{sent:04d}] Sent: {sensor_type}={value}{unit}")
        elif event["type"] == "STOP":
            break


if __name__ == "__main__":
    main()
