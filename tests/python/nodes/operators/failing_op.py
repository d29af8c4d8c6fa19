"""An operator that raises on its second input."""
from dora import DoraStatus


class Operator:
    def __init__(self):
        self.seen = 0

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            self.seen += 1
            if self.seen == 2:
                raise ValueError("the sensor went away")
        return DoraStatus.CONTINUE
