"""An operator (dora's Python operator API): counts its ticks, sends the count on `count`, prints
STOP when it gets one, and ends the whole runtime node (STOP_ALL) after `LIMIT` ticks when the
environment sets COUNTER_LIMIT."""
import os


from dora import DoraStatus


class Operator:
    def __init__(self):
        self.count = 0
        self.limit = int(os.environ.get("COUNTER_LIMIT", "0"))

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "STOP":
            print(f"counter got STOP after {self.count}", flush=True)
            return DoraStatus.CONTINUE
        if dora_event["type"] == "INPUT" and dora_event["id"] == "tick":
            self.count += 1
            send_output("count", [self.count], {"from": "counter"})
            if self.limit and self.count >= self.limit:
                return DoraStatus.STOP_ALL
        return DoraStatus.CONTINUE
