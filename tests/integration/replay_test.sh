#!/usr/bin/env bash
# `dora replay`: a recording (written by our writer through recording_tool) replays into a
# consumer that prints what it gets: the same values, parameters and Arrow types, in order; the
# replaced nodes' inputs are reported unconnected; other nodes run from the dataflow's directory
# (relative paths); --rate changes the pace; a selection replays only what it names; a recording
# cut short replays what is complete, then says where it stopped; bad input is refused by name.
#   replay_test.sh <dora binary> <test node> <recording_tool>
set -euo pipefail
DORA=$1
NODE=$2
TOOL=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export XDG_RUNTIME_DIR=$WORK/run
mkdir -p "$XDG_RUNTIME_DIR" "$WORK/flow"
unset ZENOH_CONFIG DORA_TOKEN

fail() {
    echo "FAILED: $*"
    for f in "$WORK"/*.out; do
        [[ -f $f ]] && { echo "== $f"; tail -25 "$f"; }
    done
    exit 1
}

ms() { date +%s%3N; }

# sender and lidar are replaced by replay nodes; their paths need not exist. The sink runs from
# the dataflow's directory through a relative path.
ln -s "$NODE" "$WORK/flow/sink"
cat >"$WORK/flow/flow.yml" <<'YAML'
nodes:
  - id: sender
    path: ./not-built-sender
    inputs:
      tick: dora/timer/millis/100
    outputs: [text, values, status]
  - id: lidar
    path: ./sink
    args: producer --count 3 --size 8 --output points
    outputs: [points]
  - id: sink
    path: ./sink
    args: print
    inputs:
      text: {source: sender/text, queue_size: 1000}
      values: {source: sender/values, queue_size: 1000}
      points: {source: lidar/points, queue_size: 1000}
YAML

"$TOOL" write "$WORK/rec.mcap" --count 5 --interval-ms 50 || fail "writing the recording"

# 1. Everything recorded, at the recorded pace: same values, parameters and types, in order.
"$DORA" replay "$WORK/rec.mcap" --dataflow "$WORK/flow/flow.yml" >"$WORK/all.out" 2>&1 ||
    fail "replay failed"
grep "got text" "$WORK/all.out" | sed 's/.*got text //' >"$WORK/text.got"
printf "format=u len=1 params=ok=true;seq=%d;tag='rec';weights=[0.5,%d] value=msg-%d\n" \
    0 0 0 1 1 1 2 2 2 3 3 3 4 4 4 >"$WORK/text.want"
diff "$WORK/text.want" "$WORK/text.got" || fail "the text messages differ"
[[ $(grep "got values" "$WORK/all.out" | sed 's/.*value=//' | tr '\n' ' ') == "0,0 1,10 2,20 3,30 4,40 " ]] ||
    fail "the int64 values differ"
grep -q "got values format=l len=2 params=scale=0.5 value=" "$WORK/all.out" || fail "values' type"
[[ $(grep -c "got points format=+s len=2 params= value=schema=+s(x:i,y:u) nulls=1" "$WORK/all.out") == 5 ]] ||
    fail "the struct messages lost their type"
grep -q "sink: stdout    print done 15" "$WORK/all.out" || fail "the sink did not get 15 messages"
grep -q "replay: node sender is replayed from the recording: its inputs (tick) are not connected" \
    "$WORK/all.out" || fail "no word on the replaced node's inputs"
grep -q "replay: node sender's output(s) status are not replayed" "$WORK/all.out" ||
    fail "no word on the output that is not in the recording"
grep -q "replay: 15 message(s) of lidar/points, sender/text, sender/values" "$WORK/all.out" ||
    fail "no summary line"

# The same from a recording in chunks.
"$TOOL" write "$WORK/chunked.mcap" --count 5 --interval-ms 10 --chunk-size 2000 || fail "writing in chunks"
"$DORA" replay "$WORK/chunked.mcap" --dataflow "$WORK/flow/flow.yml" >"$WORK/chunked.out" 2>&1 ||
    fail "replaying a chunked recording failed"
diff "$WORK/text.got" <(grep "got text" "$WORK/chunked.out" | sed 's/.*got text //') ||
    fail "the chunked recording's text messages differ"
grep -q "sink: stdout    print done 15" "$WORK/chunked.out" || fail "the chunked recording's 15"

# 2. The pace: 21 rounds 100 ms apart (2 s) take about 2 s, at --rate 10 well under that.
"$TOOL" write "$WORK/long.mcap" --count 21 --interval-ms 100 || fail "writing the long recording"
t0=$(ms)
"$DORA" replay "$WORK/long.mcap" --dataflow "$WORK/flow/flow.yml" >"$WORK/rate1.out" 2>&1 ||
    fail "replay at rate 1 failed"
t1=$(ms)
"$DORA" replay "$WORK/long.mcap" --dataflow "$WORK/flow/flow.yml" --rate 10 >"$WORK/rate10.out" 2>&1 ||
    fail "replay at rate 10 failed"
t2=$(ms)
normal=$((t1 - t0))
fast=$((t2 - t1))
echo "2 s recording: $normal ms at rate 1, $fast ms at rate 10"
((normal >= 1900)) || fail "rate 1 took $normal ms for a 2 s recording"
((fast < 1500 && fast + 800 < normal)) || fail "rate 10 took $fast ms (rate 1: $normal ms)"
grep -q "print done 63" "$WORK/rate10.out" || fail "rate 10 lost messages"
"$DORA" replay "$WORK/long.mcap" --dataflow "$WORK/flow/flow.yml" --rate 0 >"$WORK/rate0.out" 2>&1 ||
    fail "replay at rate 0 failed"
grep -q "print done 63" "$WORK/rate0.out" || fail "rate 0 lost messages"

# 3. A selection: only sender/text is replayed; lidar runs its own program.
"$DORA" replay "$WORK/rec.mcap" --dataflow "$WORK/flow/flow.yml" sender/text >"$WORK/sel.out" 2>&1 ||
    fail "replaying a selection failed"
[[ $(grep -c "got text" "$WORK/sel.out") == 5 ]] || fail "the selection's text messages"
! grep -q "got values" "$WORK/sel.out" || fail "values were replayed though not selected"
[[ $(grep -c "got points format=C" "$WORK/sel.out") == 3 ]] || fail "lidar did not run its own program"
grep -q "lidar: stdout    producer sent 3" "$WORK/sel.out" || fail "lidar's own output"

# 4. A recording whose writer died: the complete messages are replayed, then where it stopped.
"$TOOL" write "$WORK/crash.mcap" --count 5 --interval-ms 10 --crash || fail "writing the cut recording"
"$DORA" replay "$WORK/crash.mcap" --dataflow "$WORK/flow/flow.yml" >"$WORK/crash.out" 2>&1 ||
    fail "replaying a cut recording failed"
grep -q "print done 14" "$WORK/crash.out" || fail "the cut recording's 14 complete messages"
size=$(stat -c %s "$WORK/crash.mcap")
grep -q "replay: warning: the recording cannot be read past message 14; the 14 complete message(s) before that are replayed: .*crash.mcap: truncated at byte $size" \
    "$WORK/crash.out" || fail "no warning before the run"
grep -q "replay: stopped where the recording cannot be read further: .*crash.mcap: truncated at byte $size inside a Message record" \
    "$WORK/crash.out" || fail "no word on where it stopped"

# 5. Bad input, each refused with what is wrong.
refused() {  # refused NAME EXPECTED-TEXT ARGS...
    local name=$1 want=$2
    shift 2
    if "$DORA" replay "$@" >"$WORK/$name.out" 2>&1; then
        fail "$name: replay succeeded"
    fi
    grep -qF -- "$want" "$WORK/$name.out" || fail "$name: expected '$want'"
}
refused missing "cannot replay: cannot open $WORK/nope.mcap: No such file or directory" \
    "$WORK/nope.mcap" --dataflow "$WORK/flow/flow.yml"
cp "$WORK/flow/flow.yml" "$WORK/text.mcap"
refused not_mcap "not an MCAP file (magic)" "$WORK/text.mcap" --dataflow "$WORK/flow/flow.yml"
"$TOOL" write "$WORK/empty.mcap" --count 0 || fail "writing the empty recording"
refused empty "the recording $WORK/empty.mcap holds no messages: nothing to replay" \
    "$WORK/empty.mcap" --dataflow "$WORK/flow/flow.yml"
head -c 30 "$WORK/rec.mcap" >"$WORK/head.mcap"
refused head "cannot replay: $WORK/head.mcap: truncated at byte 30 inside a Header record" \
    "$WORK/head.mcap" --dataflow "$WORK/flow/flow.yml"
head -c 60 "$WORK/rec.mcap" >"$WORK/channel.mcap"
refused channel "nothing to replay: $WORK/channel.mcap: truncated at byte 60 inside a Channel record" \
    "$WORK/channel.mcap" --dataflow "$WORK/flow/flow.yml"
"$TOOL" write-foreign "$WORK/ros.mcap" || fail "writing a foreign MCAP file"
refused foreign "nothing to replay: $WORK/ros.mcap: the Message at byte" "$WORK/ros.mcap" --dataflow "$WORK/flow/flow.yml"
grep -qF "(channel 0, topic /camera): its message encoding is 'cdr', not 'dora-arrow': this is not a dora recording" \
    "$WORK/foreign.out" || fail "the foreign file's channel is not named"
cat >"$WORK/flow/other.yml" <<'YAML'
nodes:
  - {id: sender, path: ./sink, args: print, outputs: [text, values]}
  - {id: sink, path: ./sink, args: print, inputs: {text: sender/text}}
YAML
refused undeclared "has output(s) lidar/points that no node of $WORK/flow/other.yml declares; the dataflow's outputs are: sender/text, sender/values" \
    "$WORK/rec.mcap" --dataflow "$WORK/flow/other.yml"
refused unrecorded "sender/status is not an output in the recording $WORK/rec.mcap; it holds: lidar/points, sender/text, sender/values" \
    "$WORK/rec.mcap" --dataflow "$WORK/flow/flow.yml" sender/status
refused rate "--rate -1: give a speed factor >= 0" "$WORK/rec.mcap" --dataflow "$WORK/flow/flow.yml" --rate -1
echo "dora replay: ok"
