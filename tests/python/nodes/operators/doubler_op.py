"""An operator fed by another operator of the same runtime node: doubles each count."""
from dora import DoraStatus


class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            value = dora_event["value"].to_pylist()[0]
            assert dora_event["id"] == "count", dora_event["id"]
            assert dora_event["metadata"]["from"] == "counter"
            send_output("doubled", [2 * value])
        return DoraStatus.CONTINUE
