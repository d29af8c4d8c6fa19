"""threshold: passes on the readings above LIMIT as alert text."""
from dora import DoraStatus

LIMIT = 25.0


class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            reading = dora_event["value"].to_pylist()[0]
            if reading > LIMIT:
                seq = dora_event["metadata"]["seq"]
                send_output("alert", f"reading {seq}: {reading} > {LIMIT}")
        return DoraStatus.CONTINUE
