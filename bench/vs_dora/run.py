#!/usr/bin/env python3
"""Measures one dora runtime for bench/vs_dora.sh, or prints the comparison table.

    run.py measure --runtime cpp|0.3.12|1.1.0 --dora BIN --python-bin DIR --work DIR
                   --state DIR --out FILE [--only local,remote,sensor] [--rounds N]
                   [--seconds S] [--watch S] [--starts K]
    run.py table FILE...

`measure` runs every cluster of the runtime inside its own network namespace (loopback only),
because the original dora listens on fixed ports (53290, 6012/6013, 5456, 7447); dora-cpp runs
there too, on free ports. Every PID it starts is appended to STATE/pids and every namespace to
STATE/netns, so bench/vs_dora.sh can clean up after a crash or Ctrl-C. The results are JSON
lines in FILE: {"key": ..., "value": ..., "unit": ...} or {"key": ..., "error": why}.

Scenarios (the same YAML for every runtime, except `_unstable_deploy:` becomes `deploy:` for
dora 1.x, which refuses the 0.3 spelling):
  local   a coordinator and daemons edge1 + cloud; bench_node.py ping/pong and source/sink,
          both nodes on edge1 (Python to Python through one daemon)
  remote  the same nodes, one on edge1 and one on cloud (data between two daemons)
  sensor  a fresh coordinator and four daemons (edge1, edge2, edge3, cloud) running
          examples/sensor-network's Python nodes unchanged: time of `dora start --detach`,
          time from `dora start` to the aggregator's first "Received from" line, then CPU and
          RSS of coordinator, daemons and nodes over --watch seconds
"""

import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH_NODE = os.path.join(HERE, "bench_node.py")
EXAMPLE = os.path.join(ROOT, "examples", "sensor-network")
SIZES = [8, 4096, 1 << 20, 40 << 20]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def human(size):
    if size >= 1 << 20:
        return f"{size >> 20} MiB"
    if size >= 1024:
        return f"{size >> 10} KiB"
    return f"{size} B"


# ---------------------------------------------------------------------------------------------
# Processes seen through /proc


def proc_stat(pid):
    """(ppid, utime + stime in ticks, rss pages) or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])


def descendants(pids):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    return proc_stat(pid) is not None


# ---------------------------------------------------------------------------------------------
# One cluster: a coordinator and daemons in a private network namespace


class Cluster:
    def __init__(self, runtime, dora, python_bin, work, state, machines, tag):
        self.runtime, self.dora, self.work, self.state = runtime, dora, work, state
        self.netns = f"vsdora-{os.getpid()}-{tag}"
        self.env = dict(os.environ, PATH=f"{python_bin}:{os.environ['PATH']}")
        self.env.pop("PYTHONPATH", None)
        self.env.pop("VIRTUAL_ENV", None)
        if runtime == "cpp":
            # Its sockets (one per daemon) in a directory of this run only.
            self.env["XDG_RUNTIME_DIR"] = os.path.join(work, "run")
            os.makedirs(self.env["XDG_RUNTIME_DIR"], exist_ok=True)
        self.cli_args = []
        self.coordinator = None
        self.daemons = {}
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self._add_netns()
        try:
            self._start(machines)
        except BaseException:
            self.close()
            raise

    def _add_netns(self):
        with open(os.path.join(self.state, "netns"), "a", encoding="utf-8") as f:
            f.write(self.netns + "\n")
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"],
                       check=True)

    def _spawn(self, args, log):
        with open(os.path.join(self.logs, log), "w", encoding="utf-8") as out:
            p = subprocess.Popen(["ip", "netns", "exec", self.netns, self.dora] + args,
                                 stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                 cwd=self.work, start_new_session=True)
        with open(os.path.join(self.state, "pids"), "a", encoding="utf-8") as f:
            f.write(f"{p.pid}\n")
        return p

    def cli(self, *args, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.netns, self.dora] + list(args) +
                              self.cli_args, capture_output=True, text=True, env=self.env,
                              cwd=self.work, timeout=timeout)

    def _wait_log(self, log, pattern, proc, seconds=20):
        deadline = time.monotonic() + seconds
        path = os.path.join(self.logs, log)
        while time.monotonic() < deadline:
            with open(path, encoding="utf-8", errors="replace") as f:
                match = re.search(pattern, f.read())
            if match:
                return match
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-600:]
        raise RuntimeError(f"{log}: no line matching {pattern!r}; its end: {tail}")

    def _start(self, machines):
        if self.runtime == "cpp":
            self.coordinator = self._spawn(
                ["coordinator", "--interface", "127.0.0.1", "--port", "0", "--control-port", "0"],
                "coordinator.log")
            m = self._wait_log("coordinator.log", r"daemons on [^ ]*:(\d+), control on [^ ]*:(\d+)",
                               self.coordinator)
            dport, cport = m.group(1), m.group(2)
            self.cli_args = ["--coordinator-port", cport]
            for machine in machines:
                self.daemons[machine] = self._spawn(
                    ["daemon", "--machine-id", machine, "--coordinator-addr", "127.0.0.1",
                     "--coordinator-port", dport, "--local-listen-port", "0"],
                    f"daemon-{machine}.log")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                listing = self.cli("list").stdout
                if listing.count(" connected") >= len(machines):
                    return
                time.sleep(0.1)
            raise RuntimeError(f"not every daemon registered: {listing}")
        # The original dora: its default ports, its own namespace.
        self.coordinator = self._spawn(["coordinator"], "coordinator.log")
        ready = r"Listening on port|listening" if self.runtime != "0.3.12" else r"."
        time.sleep(0.5)
        self._wait_log("coordinator.log", ready, self.coordinator)
        for i, machine in enumerate(machines):
            self.daemons[machine] = self._spawn(
                ["daemon", "--machine-id", machine, "--local-listen-port", str(53291 + i)],
                f"daemon-{machine}.log")
        # Neither version says in its log when a daemon is registered; a dataflow that needs
        # every machine starts only when they are, so the first start retries (see start()).
        time.sleep(1.0)

    def processes(self):
        """{"coordinator": [pid], "daemons": [pids], "nodes": [pids]} as now running."""
        daemon_pids = [p.pid for p in self.daemons.values()]
        return {"coordinator": [self.coordinator.pid], "daemons": daemon_pids,
                "nodes": descendants(daemon_pids)}

    def start(self, yml, retry_seconds=15):
        """Starts a dataflow detached; returns (uuid, seconds the CLI took)."""
        deadline = time.monotonic() + retry_seconds
        while True:
            t0 = time.monotonic()
            r = self.cli("start", yml, "--detach")
            took = time.monotonic() - t0
            m = re.search(r"([0-9a-f]{8}-[0-9a-f-]{27})", r.stdout + r.stderr)
            if r.returncode == 0 and m:
                return m.group(1), took
            if time.monotonic() > deadline:
                raise RuntimeError(f"dora start failed: {(r.stdout + r.stderr)[-800:]}")
            time.sleep(0.5)

    def stop(self, uuid, wait=30):
        self.cli("stop", uuid, timeout=wait + 10)
        self.wait_nodes_gone(wait)

    def wait_nodes_gone(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.processes()["nodes"]:
                return True
            time.sleep(0.1)
        return False

    def close(self):
        pids = []
        if self.coordinator:
            pids = [self.coordinator.pid] + [p.pid for p in self.daemons.values()]
        try:
            pids += [int(p) for p in subprocess.run(
                ["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout.split()]
        except ValueError:
            pass
        pids += descendants(pids)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and any(alive(p) for p in pids):
                time.sleep(0.05)
        for p in [self.coordinator] + list(self.daemons.values()):
            if p:
                try:
                    p.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
        # Gone now: off the caller's list, so a later clean-up cannot hit a reused PID.
        path = os.path.join(self.state, "pids")
        with open(path, encoding="utf-8") as f:
            left = [line for line in f if int(line) not in pids]
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(left)


# ---------------------------------------------------------------------------------------------
# Dataflows


def node(runtime, node_id, path, args, inputs, outputs, machine, work):
    key = "deploy" if runtime.startswith("1.") else "_unstable_deploy"
    lines = [f"  - id: {node_id}",
             f"    {key}: {{machine: {machine}, working_dir: {work}/{machine}}}",
             f"    path: {path}"]
    if args:
        lines.append(f"    args: {args}")
    if inputs:
        lines.append("    inputs:")
        lines += [f"      {k}: {v}" for k, v in inputs.items()]
    if outputs:
        lines.append(f"    outputs: [{', '.join(outputs)}]")
    return "\n".join(lines)


def write_flow(path, nodes):
    with open(path, "w", encoding="utf-8") as f:
        f.write("nodes:\n" + "\n".join(nodes) + "\n")
    for machine in ("edge1", "edge2", "edge3", "cloud"):
        os.makedirs(os.path.join(os.path.dirname(path), machine), exist_ok=True)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError:
        return []


def run_bench_flow(cluster, yml, out, ends, timeout):
    """Starts the dataflow, waits until `out` holds `ends` "done" lines (or the nodes exited,
    or the timeout), stops it. Returns the result lines and an error text or None."""
    uuid, _ = cluster.start(yml)
    deadline = time.monotonic() + timeout
    error = None
    while True:
        if read_lines(out).count("done") >= ends:
            break
        if time.monotonic() > deadline:
            error = f"no result within {timeout:.0f} s"
            break
        if time.monotonic() > deadline - timeout + 5 and not cluster.processes()["nodes"]:
            error = "the nodes exited without a result"
            break
        time.sleep(0.1)
    if not cluster.wait_nodes_gone(10):
        cluster.stop(uuid)
    return read_lines(out), error


def measure_pair(cluster, runtime, work, where, rounds, seconds, results):
    pong_machine = "edge1" if where == "local" else "cloud"
    sizes = ",".join(str(s) for s in SIZES)
    out = os.path.join(work, f"{where}-latency.txt")
    yml = os.path.join(work, f"{where}-latency.yml")
    write_flow(yml, [
        node(runtime, "ping", BENCH_NODE, f"ping --sizes {sizes} --rounds {rounds} --out {out}",
             {"pong": "pong/pong"}, ["ping"], "edge1", work),
        node(runtime, "pong", BENCH_NODE, "pong", {"ping": "ping/ping"}, ["pong"], pong_machine,
             work)])
    lines, error = run_bench_flow(cluster, yml, out, 1, 120 + rounds * 0.05)
    got, failed = {}, {}
    for line in lines:
        f = line.split()
        if f[0] == "latency":
            if is_number(f[2]):
                got[int(f[1])] = f
            else:
                failed[int(f[1])] = " ".join(f[2:])
    for size in SIZES:
        key = f"{where} latency {human(size)}"
        if size in got:
            f = got[size]
            results.append({"key": key, "value": float(f[2]), "p99": float(f[3]), "n": int(f[4]),
                            "unit": "us"})
        else:
            results.append({"key": key, "error": failed.get(size) or error or "no result"})

    out = os.path.join(work, f"{where}-throughput.txt")
    yml = os.path.join(work, f"{where}-throughput.yml")
    write_flow(yml, [
        node(runtime, "source", BENCH_NODE,
             f"source --sizes {sizes} --seconds {seconds} --out {out}",
             {"ack": "{source: sink/ack, queue_size: 16}"}, ["data", "done"], "edge1", work),
        # dora 0.3.12's node API keeps one message per input unless told more (its queue_size
        # default); the source keeps at most 8 in flight.
        node(runtime, "sink", BENCH_NODE, f"sink --out {out}",
             {"data": "{source: source/data, queue_size: 16}",
              "done": "{source: source/done, queue_size: 16}"}, ["ack"], pong_machine, work)])
    lines, error = run_bench_flow(cluster, yml, out, 1, 60 + len(SIZES) * seconds * 3)
    got, sent, failed = {}, {}, {}
    for line in lines:
        f = line.split()
        if f[0] == "throughput":
            got[int(f[1])] = f  # the last line of a size counts (stragglers included)
        elif f[0] == "sent" and is_number(f[2]):
            sent[int(f[1])] = f
        elif f[0] == "sent":
            failed[int(f[1])] = " ".join(f[2:])
    for size in SIZES:
        key = f"{where} throughput {human(size)}"
        if size in got and size not in failed:
            results.append({"key": key, "value": float(got[size][2]), "unit": "msg/s",
                            "received": int(got[size][3]),
                            "sent_rate": float(sent[size][2]) if size in sent else None})
        else:
            why = failed.get(size) or error or "no result"
            if size in got:
                why += f" (the sink counted {got[size][3]})"
            results.append({"key": key, "error": why})


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def first_reading_seconds(work, uuid, t0, timeout):
    pattern = os.path.join(work, "cloud", "out", uuid, "log_cloud-aggregator.*")
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        for path in glob.glob(pattern):
            with open(path, encoding="utf-8", errors="replace") as f:
                if "Received from" in f.read():
                    return time.monotonic() - t0
        time.sleep(0.005)
    return None


def readings_in(work, uuid):
    total = 0
    for path in glob.glob(os.path.join(work, "cloud", "out", uuid, "log_cloud-aggregator.*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            total += f.read().count("Received from")
    return total


def sensor_flow(runtime, work):
    """examples/sensor-network/dataflow_distributed.yml with working_dir pointing into `work`
    and the node files named by absolute path (the files themselves unchanged)."""
    yml = os.path.join(work, "sensor-network.yml")
    with open(os.path.join(EXAMPLE, "dataflow_distributed.yml"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"working_dir: /opt/dora/sensor-network\n(\s*)path: (\S+)",
                  lambda m: f"working_dir: WORK\n{m.group(1)}path: {EXAMPLE}/{m.group(2)}", text)
    text = re.sub(r"(machine: (\S+)\n\s*working_dir: )WORK", rf"\g<1>{work}/\g<2>", text)
    if runtime.startswith("1."):
        text = text.replace("_unstable_deploy:", "deploy:")
    with open(yml, "w", encoding="utf-8") as f:
        f.write(text)
    for machine in ("edge1", "edge2", "edge3", "cloud"):
        os.makedirs(os.path.join(work, machine), exist_ok=True)
    return yml


def measure_sensor(cluster, runtime, work, starts, watch, results):
    yml = sensor_flow(runtime, work)
    start_times, firsts, errors = [], [], []
    uuid = None
    for i in range(starts):
        t0 = time.monotonic()
        uuid, took = cluster.start(yml)
        start_times.append(took)
        first = first_reading_seconds(work, uuid, t0, 30)
        if first is None:
            errors.append(f"start {i + 1}: no reading within 30 s")
        else:
            firsts.append(first)
        if i + 1 < starts:
            cluster.stop(uuid)
    results.append({"key": "dora start --detach", "value": statistics.median(start_times) * 1000,
                    "unit": "ms", "all": [round(t * 1000) for t in start_times]})
    if firsts:
        results.append({"key": "start to first reading", "value": statistics.median(firsts) * 1000,
                        "unit": "ms", "all": [round(t * 1000) for t in firsts]})
    else:
        results.append({"key": "start to first reading", "error": "; ".join(errors)})
    # CPU and RSS of everything the cluster runs, over `watch` seconds of the last start.
    before = {role: {pid: proc_stat(pid) for pid in pids}
              for role, pids in cluster.processes().items()}
    count0, t0 = readings_in(work, uuid), time.monotonic()
    rss = {role: [] for role in before}
    while time.monotonic() - t0 < watch:
        now = cluster.processes()
        for role, pids in now.items():
            rss[role].append(sum((proc_stat(p) or (0, 0, 0))[2] for p in pids) * PAGE / 2**20)
        time.sleep(1)
    elapsed = time.monotonic() - t0
    after = cluster.processes()
    for role in ("coordinator", "daemons", "nodes"):
        ticks = 0
        for pid in set(before[role]) | set(after[role]):
            start, end = before[role].get(pid), proc_stat(pid)
            if end is None:
                continue
            ticks += end[1] - (start[1] if start else 0)
        n = len(after[role])
        results.append({"key": f"CPU {role}", "value": ticks / CLK_TCK / elapsed * 100,
                        "unit": "% of a core", "processes": n})
        results.append({"key": f"RSS {role}", "value": statistics.mean(rss[role] or [0]),
                        "unit": "MiB", "processes": n})
    results.append({"key": f"readings in {watch:.0f} s", "value": readings_in(work, uuid) - count0,
                    "unit": "msgs", "higher_is_better": True, "no_ratio": True})
    cluster.stop(uuid)


def measure(args):
    results = []
    tag = args.runtime.replace(".", "")

    def note(text):
        print(f"[vs_dora {args.runtime}] {text}", file=sys.stderr, flush=True)

    def load():
        with open("/proc/loadavg", encoding="utf-8") as f:
            return " ".join(f.read().split()[:3])

    results.append({"key": "load before", "text": load()})
    if {"local", "remote"} & set(args.only):
        work = os.path.join(args.work, "pair")
        os.makedirs(work, exist_ok=True)
        try:
            cluster = Cluster(args.runtime, args.dora, args.python_bin, work, args.state,
                              ["edge1", "cloud"], f"{tag}p")
        except Exception as error:  # noqa: BLE001 - reported as a row, the rest still runs
            for where in ("local", "remote"):
                for what in ("latency", "throughput"):
                    for size in SIZES:
                        results.append({"key": f"{where} {what} {human(size)}",
                                        "error": f"cluster did not start: {error}"})
        else:
            try:
                for where in ("local", "remote"):
                    if where in args.only:
                        note(f"{where}: latency and throughput")
                        try:
                            measure_pair(cluster, args.runtime, work, where, args.rounds,
                                         args.seconds, results)
                        except Exception as error:  # noqa: BLE001
                            results.append({"key": f"{where} latency 8 B", "error": str(error)})
            finally:
                cluster.close()
    if "sensor" in args.only:
        note("sensor network on four daemons")
        work = os.path.join(args.work, "sensor")
        os.makedirs(work, exist_ok=True)
        try:
            cluster = Cluster(args.runtime, args.dora, args.python_bin, work, args.state,
                              ["edge1", "edge2", "edge3", "cloud"], f"{tag}s")
        except Exception as error:  # noqa: BLE001
            results.append({"key": "start to first reading",
                            "error": f"cluster did not start: {error}"})
        else:
            try:
                measure_sensor(cluster, args.runtime, work, args.starts, args.watch, results)
            except Exception as error:  # noqa: BLE001
                results.append({"key": "start to first reading", "error": str(error)})
            finally:
                cluster.close()
    results.append({"key": "load after", "text": load()})
    with open(args.out, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


# ---------------------------------------------------------------------------------------------
# The table


def fmt(v):
    if isinstance(v, int):
        return str(v)
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(files):
    columns = []  # (name, {key: result})
    for path in files:
        name = os.path.basename(path).removeprefix("results-").removesuffix(".jsonl")
        name = "dora-cpp" if name == "cpp" else f"dora {name}"
        with open(path, encoding="utf-8") as f:
            columns.append((name, {r["key"]: r for r in map(json.loads, f)}))
    keys = []
    for _, rows in columns:
        for key in rows:
            if key not in keys and not key.startswith("load"):
                keys.append(key)
    cpp = next((rows for name, rows in columns if name == "dora-cpp"), None)
    others = [(name, rows) for name, rows in columns if name != "dora-cpp"]
    header = ["measurement"] + [n for n, _ in columns] + [f"vs {n}" for n, _ in others if cpp]
    body, notes = [], []
    for key in keys:
        unit = next((r[key]["unit"] for _, r in columns if key in r and "unit" in r[key]), "")
        label = f"{key} ({unit})" if unit else key
        if "latency" in key:
            label = f"{key} p50 (p99), us"
        counts = {r[key].get("processes") for _, r in columns if key in r} - {None}
        if counts and counts != {1}:
            label = f"{key}, sum of {'/'.join(map(str, sorted(counts)))} ({unit})"
        row = [label]
        for name, rows in columns:
            r = rows.get(key)
            if r is None:
                row.append("not run")
            elif "error" in r:
                row.append("n/a*")
                notes.append(f"{name}, {key}: {r['error']}")
            elif "p99" in r:
                row.append(f"{fmt(r['value'])} ({fmt(r['p99'])})")
            else:
                row.append(fmt(r["value"]))
        if cpp:
            for name, rows in others:
                a, b = cpp.get(key, {}), rows.get(key, {})
                if "value" not in a or "value" not in b or a.get("no_ratio") or \
                        not a["value"] or not b["value"]:
                    row.append("-")
                    continue
                higher = a.get("unit") == "msg/s" or a.get("higher_is_better")
                ratio = a["value"] / b["value"] if higher else b["value"] / a["value"]
                row.append(f"{ratio:.2f}x")
        body.append(row)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    print(" | ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths))))
    print("-+-".join("-" * w for w in widths))
    for row in body:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))))
    print()
    print("vs X: how many times better dora-cpp is than X (X's time, CPU or RSS divided by "
          "dora-cpp's; for msg/s dora-cpp's rate divided by X's); > 1 means dora-cpp is better.")
    for name, rows in columns:
        loads = [rows[k]["text"] for k in ("load before", "load after") if k in rows]
        if loads:
            print(f"load average (1, 5, 15 min) while measuring {name}: " + " -> ".join(loads))
    for note_text in notes:
        print(f"* {note_text}")


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--runtime", required=True)
    m.add_argument("--dora", required=True)
    m.add_argument("--python-bin", required=True)
    m.add_argument("--work", required=True)
    m.add_argument("--state", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--only", default="local,remote,sensor", type=lambda s: s.split(","))
    m.add_argument("--rounds", type=int, default=2000)
    m.add_argument("--seconds", type=float, default=2)
    m.add_argument("--watch", type=float, default=60)
    m.add_argument("--starts", type=int, default=3)
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    args = parser.parse_args()
    if args.command == "measure":
        measure(args)
    else:
        table(args.files)


if __name__ == "__main__":
    main()
