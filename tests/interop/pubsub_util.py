"""Helpers of the pub/sub interop tests: collecting samples from a real Zenoh subscriber."""

import threading
import time


class Collector:
    """A subscriber callback that keeps what it receives: (key, kind, payload, attachment,
    encoding, timestamp) per sample, with waits bounded in time."""

    def __init__(self):
        self._cond = threading.Condition()
        self.samples = []

    def __call__(self, sample):
        entry = {
            "key": str(sample.key_expr),
            "kind": str(sample.kind),
            "payload": sample.payload.to_bytes(),
            "attachment": sample.attachment.to_bytes() if sample.attachment is not None else None,
            "encoding": str(sample.encoding),
            "timestamp": sample.timestamp,
        }
        with self._cond:
            self.samples.append(entry)
            self._cond.notify_all()

    def matching(self, key):
        with self._cond:
            return [s for s in self.samples if s["key"] == key]

    def wait_count(self, key, count, timeout):
        """The samples on `key` once there are `count` of them; fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [s for s in self.samples if s["key"] == key]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(got)} of {count} samples on {key} within {timeout} s")
                self._cond.wait(left)


def until_delivered(put, collector, key, timeout=15, period=0.05):
    """Calls put() every `period` s until the collector saw a sample on `key` (declarations
    travel asynchronously: this is how a test knows the route is up). Bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while not collector.matching(key):
        if time.monotonic() >= deadline:
            raise AssertionError(f"no sample on {key} reached the subscriber within {timeout} s")
        put()
        time.sleep(period)
