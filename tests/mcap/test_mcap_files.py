"""Our MCAP files against the independent `mcap` PyPI package (pinned in tests/requirements.txt).

- A recording written by our writer (recording_tool write) is read by mcap's streaming reader
  and by make_reader(), which uses the summary: channels, topics, metadata, counts, statistics,
  CRCs, and the decoded dora message data (metadata version and HLC time, Arrow values).
- Files mcap's writer makes (uncompressed chunks with indexes, attachments, metadata) are read by
  our reader (recording_tool dump) message for message; lz4 and zstd chunks are refused by name.

Run in the test venv: RECORDING_TOOL=<path> python3 test_mcap_files.py
"""

import io
import os
import struct
import subprocess
import tempfile
import unittest

from mcap.reader import make_reader
from mcap.stream_reader import StreamReader
from mcap.records import Channel, Message, Statistics
from mcap.writer import CompressionType, Writer

TOOL = os.environ["RECORDING_TOOL"]


def varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def split_message(data):
    """dora-arrow message data -> (metadata bytes, data region)."""
    (n,) = struct.unpack_from("<I", data, 0)
    return data[4 : 4 + n], data[4 + n :]


class OurRecordingReadByMcap(unittest.TestCase):
    ROUNDS = 4

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.dir.name, "rec.mcap")
        subprocess.run(
            [TOOL, "write", cls.path, "--count", str(cls.ROUNDS), "--interval-ms", "10"],
            check=True,
        )

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_streaming_reader_sees_every_record_with_valid_crcs(self):
        with open(self.path, "rb") as f:
            records = list(StreamReader(f, validate_crcs=True).records)
        channels = [r for r in records if isinstance(r, Channel)]
        messages = [r for r in records if isinstance(r, Message)]
        self.assertEqual(
            sorted({c.topic for c in channels}), ["lidar/points", "sender/text", "sender/values"]
        )
        self.assertEqual(len(messages), 3 * self.ROUNDS)
        stats = [r for r in records if isinstance(r, Statistics)]
        self.assertEqual(len(stats), 1)
        self.assertEqual(stats[0].message_count, 3 * self.ROUNDS)

    def test_summary_reader_gives_channels_metadata_and_counts(self):
        with open(self.path, "rb") as f:
            reader = make_reader(f, validate_crcs=True)
            self.assertEqual(reader.get_header().profile, "dora")
            summary = reader.get_summary()
            self.assertIsNotNone(summary)
            by_topic = {c.topic: c for c in summary.channels.values()}
            self.assertEqual(set(by_topic), {"lidar/points", "sender/text", "sender/values"})
            text = by_topic["sender/text"]
            self.assertEqual(text.message_encoding, "dora-arrow")
            self.assertEqual(text.schema_id, 0)
            self.assertEqual(
                text.metadata,
                {
                    "dataflow": "0190aaaa-test",
                    "dataflow_name": "replay-test",
                    "node": "sender",
                    "output": "text",
                    "machine": "local",
                },
            )
            counts = summary.statistics.channel_message_counts
            self.assertEqual({by_id: counts[by_id] for by_id in counts},
                             {c.id: self.ROUNDS for c in summary.channels.values()})
            messages = list(reader.iter_messages())
        self.assertEqual(len(messages), 3 * self.ROUNDS)

    def test_message_data_decodes_to_what_was_recorded(self):
        with open(self.path, "rb") as f:
            messages = list(make_reader(f).iter_messages(topics=["sender/text"]))
        self.assertEqual(len(messages), self.ROUNDS)
        for i, (schema, channel, message) in enumerate(messages):
            self.assertIsNone(schema)
            metadata, region = split_message(message.data)
            self.assertEqual(metadata[0], 1, "dora metadata codec version")
            time_ns, _ = varint(metadata, 1)
            self.assertEqual(time_ns, message.publish_time)
            self.assertEqual(message.log_time, message.publish_time + 1)
            self.assertEqual(message.sequence, i)
            # A one-string UTF-8 array: int32 offsets at 0, the characters at 64.
            start, end = struct.unpack_from("<ii", region, 0)
            self.assertEqual(region[64 + start : 64 + end], f"msg-{i}".encode())
            self.assertIn(b"weights", metadata)
        with open(self.path, "rb") as f:
            values = list(make_reader(f).iter_messages(topics=["sender/values"]))
        for i, (_, _, message) in enumerate(values):
            _, region = split_message(message.data)
            self.assertEqual(struct.unpack_from("<qq", region, 0), (i, 10 * i))


class OurChunkedRecordingReadByMcap(unittest.TestCase):
    def test_chunk_indexes_lead_to_every_message_in_time_order(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "chunked.mcap")
            subprocess.run([TOOL, "write", path, "--count", "12", "--interval-ms", "5",
                            "--chunk-size", "1500"], check=True)
            with open(path, "rb") as f:
                reader = make_reader(f, validate_crcs=True)
                summary = reader.get_summary()
                self.assertGreaterEqual(len(summary.chunk_indexes), 3)
                self.assertEqual(summary.statistics.chunk_count, len(summary.chunk_indexes))
                # Seeks by the chunk indexes and reads each chunk's message indexes.
                times = [m.log_time for _, _, m in reader.iter_messages(log_time_order=True)]
                texts = [m.sequence for _, c, m in reader.iter_messages(topics=["sender/text"])]
            with open(path, "rb") as f:
                data = f.read()
            for index in summary.chunk_indexes:
                # The chunk record, then its message index records, one per channel.
                self.assertEqual(data[index.chunk_start_offset], 0x06)
                mi_start = index.chunk_start_offset + index.chunk_length
                mi_total = 0
                for channel_id, offset in index.message_index_offsets.items():
                    self.assertEqual(data[offset], 0x07)
                    (length,) = struct.unpack_from("<Q", data, offset + 1)
                    (channel,) = struct.unpack_from("<H", data, offset + 9)
                    self.assertEqual(channel, channel_id)
                    self.assertGreaterEqual(offset, mi_start)
                    mi_total += 9 + length
                    # Each entry: a message of this channel at that log time, inside the chunk's
                    # records (after opcode, length and the chunk's fixed fields with "" as
                    # compression).
                    records = index.chunk_start_offset + 9 + 8 + 8 + 8 + 4 + 4 + 8
                    (array_length,) = struct.unpack_from("<I", data, offset + 11)
                    for k in range(array_length // 16):
                        time, at = struct.unpack_from("<QQ", data, offset + 15 + 16 * k)
                        self.assertEqual(data[records + at], 0x05)
                        ch, _, log_time = struct.unpack_from("<HIQ", data, records + at + 9)
                        self.assertEqual((ch, log_time), (channel_id, time))
                self.assertEqual(mi_total, index.message_index_length)
            self.assertEqual(len(times), 36)
            self.assertEqual(times, sorted(times))
            self.assertEqual(texts, list(range(12)))
            with open(path, "rb") as f:
                streamed = [r for r in StreamReader(f, validate_crcs=True).records
                            if isinstance(r, Message)]
            self.assertEqual(len(streamed), 36)
            out = subprocess.run([TOOL, "dump", path], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stdout)
            self.assertEqual(len(out.stdout.splitlines()), 37)


class McapFilesReadByUs(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, compression, chunk_size=256):
        path = os.path.join(self.dir.name, name)
        expected = []
        with open(path, "wb") as f:
            w = Writer(f, chunk_size=chunk_size, compression=compression, enable_data_crcs=True)
            w.start(profile="", library="python test")
            schema = w.register_schema("raw", "jsonschema", b"{}")
            cam = w.register_channel("camera", "json", schema, {"k": "v"})
            imu = w.register_channel("imu", "raw", 0)
            w.add_metadata("note", {"a": "b"})
            for i in range(40):
                channel, topic = (cam, "camera") if i % 3 else (imu, "imu")
                data = bytes([i % 256]) * (i % 7) + f"#{i}".encode()
                w.add_message(channel, log_time=1000 + i, data=data, publish_time=2000 + i,
                              sequence=i)
                expected.append(f"{topic} {1000 + i} {2000 + i} "
                                f"{'json' if topic == 'camera' else 'raw'} {data.hex()}")
            w.add_attachment(5, 6, "calib.txt", "text/plain", b"calibration")
            w.finish()
        return path, expected

    def dump(self, path):
        return subprocess.run([TOOL, "dump", path], capture_output=True, text=True)

    def test_uncompressed_chunks_read_message_for_message(self):
        path, expected = self.write("chunked.mcap", CompressionType.NONE)
        with open(path, "rb") as f:
            self.assertGreater(len(make_reader(f).get_summary().chunk_indexes), 3)
        out = self.dump(path)
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertEqual(out.stdout.splitlines(), expected + ["end"])

    def test_compressed_chunks_are_refused_by_name(self):
        for compression, name in ((CompressionType.LZ4, "lz4"), (CompressionType.ZSTD, "zstd")):
            path, _ = self.write(f"{name}.mcap", compression)
            out = self.dump(path)
            self.assertEqual(out.returncode, 1)
            self.assertRegex(out.stdout, rf"error: .*the Chunk at byte \d+ is compressed with {name}")

    def test_an_unchunked_file_with_a_schema_reads(self):
        path = os.path.join(self.dir.name, "plain.mcap")
        with open(path, "wb") as f:
            w = Writer(f, use_chunking=False, enable_data_crcs=True)
            w.start()
            s = w.register_schema("s", "jsonschema", b"{}")
            c = w.register_channel("t", "json", s)
            w.add_message(c, log_time=1, data=b"{}", publish_time=2)
            w.finish()
        out = self.dump(path)
        self.assertEqual(out.stdout.splitlines(), ["t 1 2 json 7b7d", "end"], out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
