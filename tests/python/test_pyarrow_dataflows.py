"""Python nodes that use pyarrow and numpy, under the real `dora run` (run in the test venv, where
the pinned pyarrow and numpy are installed; the nodes' `python3` is the venv's):

- every pyarrow type dora sends, every numpy dtype (contiguous and not), and arrays built as
  dora's examples build them travel from a Python sender to a Python receiver with their type,
  values and metadata (every parameter type), without a copy on the receiving side: each buffer
  of pyarrow.array(value) and each numpy view lies in read-only shared memory;
- nodes written for real dora (a camera, a detector and a plot node as dora's node hub writes
  them; the python-dataflow example's sender, transformer and receiver) run unchanged.
"""

import os
import unittest

from test_dataflows import DataflowTest

NODES = os.environ.get("DORA_PY_NODES", os.path.join(os.path.dirname(__file__), "nodes"))


class PyarrowDataflowTest(DataflowTest):
    def run_dataflow(self, yaml, **kwargs):
        return super().run_dataflow(yaml.replace("NODES", NODES), **kwargs)


class EveryValueKind(PyarrowDataflowTest):
    def test_every_case_arrives_typed_unchanged_and_in_read_only_shared_memory(self):
        rc, out = self.run_dataflow("""
nodes:
  - id: sender
    path: NODES/sender.py
    outputs: [out, done]
  - id: receiver
    path: NODES/receiver.py
    inputs:
      data: {source: sender/out, queue_size: 1000}
      done: sender/done
""")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("FAIL", out)
        sent = int(out.split("sender sent ")[1].split()[0])
        self.assertGreater(sent, 45)
        self.assertLine(out, f"receiver: stdout    received {sent} of {sent}")
        self.assertLine(out, "refused complex: send_output: a ndarray of element format 'Zd' has "
                             "no Arrow equivalent")
        self.assertLine(out, "refused chunked: send_output: a ChunkedArray is a stream of arrays; "
                             "send one array (for a pyarrow.ChunkedArray: value.combine_chunks()")


class NodesWrittenForDora(PyarrowDataflowTest):
    def test_camera_detector_and_plot_nodes(self):
        rc, out = self.run_dataflow("""
nodes:
  - id: camera
    path: NODES/camera.py
    inputs: {tick: dora/timer/millis/20}
    outputs: [image]
    env: {FRAMES: 3}
  - id: detector
    path: NODES/detector.py
    inputs: {image: camera/image}
    outputs: [bbox, text]
  - id: plot
    path: NODES/plot.py
    inputs: {image: camera/image, bbox: detector/bbox, text: detector/text}
""")
        self.assertEqual(rc, 0, out)
        self.assertLine(out, "camera: stdout    camera sent 3")
        for frame in range(3):
            self.assertLine(out, f"plot: stdout    plot image 48x64 bgr8 first=[1, 2, 3] "
                                 f"value={frame} copy_writable=True shared_read_only=True")
        self.assertLine(out, "plot: stdout    plot bbox [[0.0, 0.0, 64.0, 48.0]] conf=[0.9] "
                             "labels=['frame']")
        self.assertLine(out, "plot: stdout    plot text mean 0.00")

    def test_python_dataflow_example_sender_transformer_receiver(self):
        rc, out = self.run_dataflow("""
nodes:
  - id: sender
    path: NODES/counter.py
    outputs: [message]
    env: {COUNT: 3}
  - id: transformer
    path: NODES/transformer.py
    inputs: {message: sender/message}
    outputs: [transformed]
  - id: receiver
    path: NODES/collector.py
    inputs: {message: sender/message, transformed: transformer/transformed}
""")
        self.assertEqual(rc, 0, out)
        self.assertLine(out, "collector message [2] type=int64")
        self.assertLine(out, "collector transformed [{'doubled': 4, 'description': 'Message #2', "
                             "'is_even': True}] type=struct<doubled: int64, description: string, "
                             "is_even: bool>")


if __name__ == "__main__":
    unittest.main(verbosity=2)
