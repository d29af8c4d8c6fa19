#!/usr/bin/env bash
# examples/multiple-daemons-with-labels as its README runs it (on private ports): three daemons
# with labels, `dora build` runs the detector's build step on the gpu daemon only, `dora start`
# puts camera on edge, detector on gpu and logger on cloud, and the logger gets every detection.
# A fourth daemon with gpu=true makes `dora build` build the detector on both gpu daemons; a
# node with a build step asking for labels nobody has is refused at build.
#   labels_example_test.sh <dora binary> <source dir> <python package dir>
set -euo pipefail
DORA=$1
EXAMPLE=$2/examples/multiple-daemons-with-labels
export PYTHONPATH=$3${PYTHONPATH:+:$PYTHONPATH}
source "$2/tests/integration/cluster_lib.sh"
start_coordinator
daemon_with_labels() {  # <machine> <labels>
    "$DORA" daemon --machine-id "$1" --labels "$2" --coordinator-port "$DPORT" \
        --local-listen-port 0 --work-dir "$WORK/work-$1" >"$WORK/daemon-$1.log" 2>&1 &
    PIDS+=($!)
}
daemon_with_labels edge zone=edge
daemon_with_labels gpu gpu=true
daemon_with_labels cloud zone=cloud
wait_for_daemons 3
cp -r "$EXAMPLE" "$WORK/example"
cd "$WORK/example"

# Started before the build: the detector says what is missing and fails the dataflow.
if "$DORA" start dataflow.yml >"$WORK/unbuilt.out" 2>&1; then fail "ran without its build"; fi
grep -q 'detector on daemon `gpu`: stderr    detector: model.json is missing; run `dora build dataflow.yml` first' \
    "$WORK/unbuilt.out" || { cat "$WORK/unbuilt.out"; fail "the unbuilt detector's message"; }

"$DORA" build dataflow.yml >"$WORK/build.out" 2>&1 || { cat "$WORK/build.out"; fail "dora build"; }
grep -q 'detector on daemon `gpu`: build .*model.json written (threshold 60)' "$WORK/build.out" ||
    { cat "$WORK/build.out"; fail "the build did not run on the gpu daemon"; }
[[ $(grep -c 'model.json written' "$WORK/build.out") == 1 ]] || { cat "$WORK/build.out"; fail "built more than once"; }

"$DORA" start dataflow.yml >"$WORK/run.out" 2>&1 || { cat "$WORK/run.out"; fail "dora start"; }
grep -q 'camera on daemon `edge`: stdout    camera on .* sent 40 frames' "$WORK/run.out" || fail "camera not on edge"
grep -q 'detector on daemon `gpu`: stdout    detector flagged 16 frame(s) above 60' "$WORK/run.out" ||
    fail "detector not on gpu, or not 16 flagged"
grep -q 'logger on daemon `cloud`: stdout    logger got 16 detection(s)' "$WORK/run.out" ||
    fail "logger not on cloud, or not every detection"
expected=$(for i in $(seq 1 40); do b=$(((i * 37) % 100)); ((b > 60)) && echo "frame $i is bright ($b)"; done)
got=$(grep -o 'logger: frame .*' "$WORK/run.out" | sed 's/^logger: //')
[[ $got == "$expected" ]] || { echo "$got"; fail "the logger's detections differ"; }

# A second daemon with gpu=true: the detector is built on both (either may run it at start).
daemon_with_labels gpu2 gpu=true
wait_for_daemons 4
rm model.json
"$DORA" build dataflow.yml >"$WORK/build2.out" 2>&1 || { cat "$WORK/build2.out"; fail "dora build (2 gpus)"; }
for m in gpu gpu2; do
    grep -q "detector on daemon \`$m\`: build .*model.json written" "$WORK/build2.out" ||
        { cat "$WORK/build2.out"; fail "not built on $m"; }
done

sed 's/gpu: "true"/gpu: moon/' dataflow.yml >moon.yml
if "$DORA" build moon.yml >"$WORK/moon.out" 2>&1; then fail "labels nobody has were built"; fi
grep -q 'no connected daemon has the labels gpu=moon that node detector asks for' "$WORK/moon.out" ||
    { cat "$WORK/moon.out"; fail "the refusal does not name the labels"; }
echo "examples/multiple-daemons-with-labels: the README's steps work"
