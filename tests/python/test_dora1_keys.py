"""dora 1.x dataflow keys under the real `dora run`: `queue_policy: backpressure` (the sender
waits, nothing is dropped) against drop_oldest (drops, counted), `input_timeout` (INPUT_CLOSED
when the sender goes quiet, INPUT_RECOVERED when it sends again), `send_logs_as` and
`min_log_level` (structured log entries filtered by level and sent as an output).

Run by ctest (label integration) with DORA_CLI and DORA_PY_NODES set; every dataflow is written
into a fresh temporary directory. No fixed sleeps in the test: the nodes pace themselves.
"""

import os
import re
import unittest

from test_dataflows import NODES, DataflowTest

NODE = os.path.join(NODES, "dora1.py")

COUNT = 40
DELAY = 0.02  # the slow receiver's time per message


class Dora1Test(DataflowTest):
    def run_dataflow(self, yaml, timeout=120, extra=()):
        return super().run_dataflow(yaml.replace("NODE", NODE), timeout, extra)

    def sender_seconds(self, out):
        match = re.search(r"sent \d+ in ([0-9.]+) s", out)
        self.assertIsNotNone(match, out)
        return float(match.group(1))

    def slow_flow(self, policy):
        return self.run_dataflow(f"""
nodes:
  - id: sender
    path: NODE
    args: fast-sender {COUNT}
    outputs: [out]
  - id: receiver
    path: NODE
    args: slow-receiver {DELAY}
    inputs:
      in: {{source: sender/out, queue_size: 1, queue_policy: {policy}}}
""")

    def logs_flow(self, logger_keys):
        return self.run_dataflow(f"""
nodes:
  - id: logger
    path: NODE
    args: logger
    outputs: [logs]
    send_logs_as: logs
{logger_keys}
  - id: reader
    path: NODE
    args: log-reader
    inputs:
      logs: {{source: logger/logs, queue_size: 100}}
""")


class QueuePolicy(Dora1Test):
    def test_backpressure_delivers_every_message_in_order_and_slows_the_sender(self):
        rc, out = self.slow_flow("backpressure")
        self.assertEqual(rc, 0, out)
        self.assertLine(out, f"received {COUNT} in order True first [0] last [{COUNT - 1}]")
        self.assertLine(out, "dropped {'in': 0}")
        # The sender can be at most queue_size (1) + the one being handled ahead of the
        # receiver, so it waits about (COUNT - 2) * DELAY; half of that is a safe lower bound.
        self.assertGreater(self.sender_seconds(out), (COUNT - 2) * DELAY / 2, out)
        self.assertRegex(out, r"input in \(queue_policy: backpressure\): its sender waited \d+ "
                              r"time\(s\) for room")

    def test_drop_oldest_drops_the_same_flow_and_counts_it(self):
        rc, out = self.slow_flow("drop_oldest")
        self.assertEqual(rc, 0, out)
        received = int(re.search(r"received (\d+) in order True", out).group(1))
        dropped = int(re.search(r"dropped \{'in': (\d+)\}", out).group(1))
        self.assertLess(received, COUNT, out)
        self.assertEqual(received + dropped, COUNT, out)
        self.assertRegex(out, r"input in dropped \d+ message\(s\) so far")
        self.assertLess(self.sender_seconds(out), (COUNT - 2) * DELAY / 2, out)


class InputTimeout(Dora1Test):
    def test_a_quiet_input_closes_and_recovers_when_messages_come_again(self):
        rc, out = self.run_dataflow("""
nodes:
  - id: sender
    path: NODE
    args: pauser 2 3.0 2
    outputs: [out]
  - id: receiver
    path: NODE
    args: timeline 4
    inputs:
      in: {source: sender/out, input_timeout: 1.0}
      tick: dora/timer/millis/200
""")
        self.assertEqual(rc, 0, out)
        events = re.findall(r"event (\S+ \S+(?: \d+)?)", out)
        self.assertEqual(events, [
            "INPUT in 0", "INPUT in 1", "INPUT_CLOSED in", "INPUT_RECOVERED in", "INPUT in 2",
            "INPUT in 3", "INPUT_CLOSED in"], out)
        self.assertRegex(out, r"input in timed out: no message from sender/out for 1s")

    def test_an_input_that_never_received_is_not_armed(self):
        rc, out = self.run_dataflow("""
nodes:
  - id: sender
    path: NODE
    args: pauser 0 2.0 1
    outputs: [out]
  - id: receiver
    path: NODE
    args: timeline 1
    inputs:
      in: {source: sender/out, input_timeout: 1.0}
""")
        self.assertEqual(rc, 0, out)
        events = re.findall(r"event (\S+ \S+(?: \d+)?)", out)
        self.assertEqual(events, ["INPUT in 0", "INPUT_CLOSED in"], out)
        self.assertNotIn("timed out", out)


class Logs(Dora1Test):
    def test_send_logs_as_sends_kept_entries_and_min_log_level_filters_the_log(self):
        rc, out = self.logs_flow("    min_log_level: info")
        self.assertEqual(rc, 0, out)
        entries = re.findall(r"entry (\S+) '([^']*)'", out)
        # stdout and stderr are two pipes: the stderr line may come at any point.
        self.assertEqual([e for e in entries if e[0] != "stdout"],
                         [("ERROR", "an error entry"), ("WARN", "a warn entry"),
                          ("INFO", "an info entry")], out)
        self.assertEqual([e for e in entries if e[0] == "stdout"],
                         [("stdout", "a stderr line")], out)  # stderr is always kept
        self.assertLine(out, "node logger target sensor fields {'unit': 'C'}")
        self.assertNotIn("a debug entry", out)
        self.assertNotIn("a trace entry", out)
        self.assertNotIn("a plain line", out)  # a plain print is below `info`
        self.assertLine(out, "logger: stderr    a stderr line")

    def test_without_min_log_level_every_line_is_kept_and_sent(self):
        rc, out = self.logs_flow("")
        self.assertEqual(rc, 0, out)
        levels = re.findall(r"entry (\S+) '", out)
        self.assertEqual([level for level in levels if level != "stdout"],
                         ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"], out)
        self.assertEqual(levels.count("stdout"), 2, out)  # the plain line and the stderr line
        self.assertLine(out, "logger: stdout    a plain line")


if __name__ == "__main__":
    unittest.main(verbosity=2)
