"""sensor: a reading (a sawtooth from 20.0 to 29.0 degrees) on every tick."""
from dora import DoraStatus


class Operator:
    def __init__(self):
        self.ticks = 0

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            reading = 20.0 + self.ticks % 10
            self.ticks += 1
            send_output("reading", [reading], {"seq": self.ticks})
        return DoraStatus.CONTINUE
