"""dora's runtime node for Python operators: `python3 -u -m dora.operator_runtime`, spawned by the
daemon for a node with `operators:` (or `operator:`), runs each operator of that node in this
one process, as dora's `dora runtime` does.

An operator is a Python file with a class `Operator` whose `on_event(self, dora_event,
send_output)` handles every event of that operator and returns a `DoraStatus`:

    from dora import DoraStatus

    class Operator:
        def on_event(self, dora_event, send_output):
            if dora_event["type"] == "INPUT":
                send_output("out", dora_event["value"], dora_event["metadata"])
            return DoraStatus.CONTINUE

`dora_event` is the event dict of `Node.next()` with the operator's own input id ("tick", not
"op/tick"); `send_output(output_id, data, metadata=None)` sends on the operator's output, which
the dataflow reads as `<node>/<operator>/<output>`. STOP goes to every operator still running.
`DoraStatus.STOP` ends that operator (it gets no more events), `STOP_ALL` ends the node. An
operator whose file cannot be loaded, or whose `on_event` raises, fails the node: its traceback is
printed (in the node's log) with the operator named.

The operators come in DORA_OPERATORS (JSON: id, python file, inputs, outputs).
"""

import importlib.util
import json
import os
import sys
import traceback

from dora import DoraStatus, Node


def _fail(operator_id, what):
    print(f"operator `{operator_id}` {what}:", file=sys.stderr, flush=True)
    traceback.print_exc()
    sys.stderr.flush()
    sys.exit(1)


def _load(spec):
    """The operator's instance: its file's `Operator()`."""
    module_name = f"dora_operator_{spec['id'].replace('-', '_')}"
    path = spec["python"]
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # its sibling modules import as in dora
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    except Exception:
        _fail(spec["id"], f"could not be loaded from {path}")
    operator_class = getattr(module, "Operator", None)
    if operator_class is None:
        print(f"operator `{spec['id']}`: {path} defines no class `Operator` (dora's operator API: "
              "a class Operator with on_event(self, dora_event, send_output))",
              file=sys.stderr, flush=True)
        sys.exit(1)
    try:
        return operator_class()
    except Exception:
        _fail(spec["id"], "could not be created (Operator() raised)")


def _status_name(status):
    return getattr(status, "name", str(status))


def main():
    specs = json.loads(os.environ["DORA_OPERATORS"])
    node = Node()
    operators = {spec["id"]: _load(spec) for spec in specs}
    running = set(operators)

    def sender(operator_id):
        def send_output(output_id, data, metadata=None):
            node.send_output(f"{operator_id}/{output_id}", data, metadata)
        return send_output

    senders = {operator_id: sender(operator_id) for operator_id in operators}

    def deliver(operator_id, event):
        try:
            status = operators[operator_id].on_event(event, senders[operator_id])
        except Exception:
            _fail(operator_id, f"raised in on_event (event {event.get('type')} "
                               f"{event.get('id', '')})")
        if status is None or status == DoraStatus.CONTINUE or _status_name(status) == "CONTINUE":
            return True
        if status == DoraStatus.STOP_ALL or _status_name(status) == "STOP_ALL":
            return None
        running.discard(operator_id)  # STOP: this operator is done
        return True

    for event in node:
        if event["type"] == "STOP":
            for operator_id in sorted(running):
                if deliver(operator_id, dict(event)) is None:
                    break
            break
        operator_id, _, input_id = event.get("id", "").partition("/")
        if operator_id not in running:
            continue  # a stopped operator's inputs (or an error without an input)
        event["id"] = input_id
        if deliver(operator_id, event) is None:
            break
        if not running:
            break
    node.close()


if __name__ == "__main__":
    main()
