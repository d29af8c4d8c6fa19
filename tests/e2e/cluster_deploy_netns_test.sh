#!/usr/bin/env bash
# e2e: issue 15's "Done when", as one run. A "laptop" and three hosts are network namespaces on one
# LAN (10.78.2.0/24: laptop .1, h1 .11, h2 .12, h3 .13). Each host runs Debian's sshd inside a
# mount namespace of its own: its own /etc/machine-id, its own empty /root (the machines' default
# `dir:`, ~/.dora/cluster/<id>), its own /dev/shm and runtime dir, and neither the dataflow's directory (a copy
# of examples/sensor-network in a temp dir) nor this checkout. From the laptop:
#   dora cluster up cluster.yml    daemons edge1 (h1), edge2 (h2), edge3 and cloud (h3) over ssh
#                                  with a key made here, dora copied by up itself
#   dora start dataflow.yml        the sensor network, its files sent by dora start
#   dora cluster down cluster.yml  and then nothing of it is left on any host: no process but
#                                  sshd, no dir, token, pid file or unit, nothing in /dev/shm
#   cluster_deploy_netns_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root, without `ip netns`, `unshare --mount` or sshd/ssh.
set -euo pipefail
DORA=$(realpath "$1")
SRC=$(realpath "$2")
SSHD=/usr/sbin/sshd
if [[ ! -x $SSHD ]] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "SKIP: needs openssh-server and openssh-client (scripts/setup.sh installs them)"
    exit 77
fi
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
if [[ $(id -u) -eq 0 ]] && ! unshare --mount true 2>/dev/null; then
    echo "SKIP: needs unshare --mount"
    exit 77
fi
netns_test cluster-deploy

HOSTS=(h1 h2 h3)
declare -A ADDR=([laptop]=10.78.2.1 [h1]=10.78.2.11 [h2]=10.78.2.12 [h3]=10.78.2.13)
netns_hosts dcd laptop "${HOSTS[@]}"
netns_lan lan
for h in laptop "${HOSTS[@]}"; do netns_plug "$h" lan eth0 "${ADDR[$h]}"; done
on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }

# The laptop's copy of the example: the only one anywhere. RUNDIR: each host's XDG_RUNTIME_DIR
# (its own tmpfs there; the daemons write node configurations in it).
FLOW=$WORK/laptop/sensor-network
RUNDIR=$WORK/run-host
mkdir -p "$FLOW" "$RUNDIR"
cp "$SRC"/examples/sensor-network/{dataflow.yml,sensor_node.py,cloud_node.py} "$FLOW/"

ssh-keygen -q -t ed25519 -N '' -C dora-cluster-deploy-test -f "$WORK/id"
cp "$WORK/id.pub" "$WORK/authorized_keys"
[[ -d /run/sshd ]] || mkdir -p /run/sshd  # sshd's privilege separation dir

# A host: sshd in its own mount namespace. Its sessions (and so the daemons `up` starts) see
# empty tmpfs over the laptop's dir, this checkout, /root, /dev/shm and RUNDIR, and their own
# machine-id.
# The marker in every session lets kill_marked find what the sessions leave running.
declare -A SSHD_PID
start_host() {
    local h=$1 dir=$WORK/sshd-$h
    mkdir -p "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/machine-id"
    cat >"$dir/sshd_config" <<CONF
Port 22
ListenAddress ${ADDR[$h]}
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
SetEnv DORA_E2E_MARKER=$E2E_MARKER PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR=$RUNDIR
LogLevel ERROR
CONF
    # Not through `on`: $! must be the process that becomes sshd, not a subshell.
    ip netns exec "$(ns "$h")" unshare --mount sh -c '
        for d in "$1" "$2" /dev/shm; do mount -t tmpfs -o size=256m tmpfs "$d" || exit 1; done
        mount -t tmpfs -o size=2g tmpfs /root || exit 1  # up copies dora there (300 MB and more)
        mount -t tmpfs -o size=16m,mode=0700 tmpfs "$3" || exit 1
        mount --bind "$4" /etc/machine-id || exit 1
        exec "$5" -D -e -f "$6"' \
        sh "$WORK/laptop" "$SRC" "$RUNDIR" "$dir/machine-id" "$SSHD" "$dir/sshd_config" \
        >"$dir/log" 2>&1 &
    SSHD_PID[$h]=$!
}
for h in "${HOSTS[@]}"; do start_host "$h"; done
listening() { on "$1" ss -ltn | grep -q "${ADDR[$1]}:22 "; }
for h in "${HOSTS[@]}"; do
    wait_for 10 listening "$h" || fail "sshd on $h: $(cat "$WORK/sshd-$h/log")"
done
# What a host sees of a path: through its sshd's root (/proc/PID/root).
host_path() { echo "/proc/${SSHD_PID[$1]}/root$2"; }
for h in "${HOSTS[@]}"; do
    [[ $(cat "$(host_path "$h" /etc/machine-id)") == $(cat "$WORK/sshd-$h/machine-id") ]] ||
        fail "$h has this machine's /etc/machine-id"
    [[ ! -e $(host_path "$h" "$FLOW/dataflow.yml") && ! -e $(host_path "$h" "$SRC/README.md") ]] ||
        fail "$h sees the laptop's dataflow or this checkout"
done

cat >"$WORK/ssh_config" <<CONF
Host *
    User root
    UserKnownHostsFile $WORK/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking accept-new
    ConnectTimeout 5
    LogLevel ERROR
CONF
cat >"$WORK/cluster.yml" <<YAML
coordinator: {addr: ${ADDR[laptop]}}
ssh: {config: ssh_config}
machines:
  - {id: edge1, host: ${ADDR[h1]}, identity_file: id}
  - {id: edge2, host: ${ADDR[h2]}, identity_file: id}
  - {id: edge3, host: ${ADDR[h3]}, identity_file: id}
  - {id: cloud, host: ${ADDR[h3]}, identity_file: id, daemon_port: 53292}
YAML
declare -A HOST_OF=([edge1]=h1 [edge2]=h2 [edge3]=h3 [cloud]=h3)
laptop_dora() { on laptop "$DORA" "$@"; }

# --- up -----------------------------------------------------------------------------------------
laptop_dora cluster up "$WORK/cluster.yml" >"$WORK/up.out" 2>&1 || fail "up: $(cat "$WORK/up.out")"
cat "$WORK/up.out"
for id in "${!HOST_OF[@]}"; do
    grep -qE "^$id +[0-9.]+:22 +copied +process +started +yes$" "$WORK/up.out" ||
        fail "up's row of $id"
    d=$(host_path "${HOST_OF[$id]}" "/root/.dora/cluster/$id")
    [[ -x $d/bin/dora && $(stat -c %a "$d/token") == 600 && -s $d/daemon.pid ]] ||
        fail "$id's dir on ${HOST_OF[$id]}: $(ls -la "$d" 2>&1)"
done

# --- start: the files travel, the sensors' readings reach the aggregator ----------------------
start_stamped "$OUT" ip netns exec "$(ns laptop)" "$DORA" start "$FLOW/dataflow.yml" --attach
wait_for 60 all_sensors_received || { show; fail "not every sensor arrived"; }
has_summary() { (($(summaries_in "$OUT") >= 1)); }
wait_for 20 has_summary || { show; fail "no summary"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "3 active sensors"; }
grep -q "sending 3 of the dataflow's 3 file(s)" "$OUT" || { show; fail "what was sent"; }
grep -q 'to `cloud`, `edge1`, `edge2`, `edge3`' "$OUT" || { show; fail "where it was sent"; }
id=$(grep -o 'dataflow start triggered: [0-9a-f-]*' "$OUT" | grep -o '[0-9a-f-]*$')
for m in "${!HOST_OF[@]}"; do
    copy=$(host_path "${HOST_OF[$m]}" "/root/.dora/cluster/$m/work/$id")
    [[ -f $copy/sensor_node.py && -f $copy/cloud_node.py ]] || fail "$m has no copy of the files"
done
[[ -s $(host_path h1 "/root/.dora/cluster/edge1/work/$id/out/$id/log_sensor-temp.txt") ]] ||
    fail "sensor-temp did not run in edge1's copy"
echo "the sensor network ran: the aggregator's first summary of readings counts 3 active sensors"
stop_attached

# --- down: the hosts are clean -----------------------------------------------------------------
laptop_dora cluster down "$WORK/cluster.yml" >"$WORK/down.out" 2>&1 || fail "down: $(cat "$WORK/down.out")"
cat "$WORK/down.out"
for id in "${!HOST_OF[@]}"; do
    grep -q "^$id: stopped supervised daemon" "$WORK/down.out" || fail "down did not stop $id"
    [[ -z $(marked_pid_with daemon --machine-id "$id" || true) ]] || fail "$id's daemon is left"
done
only_sshd() { [[ $(ip netns pids "$(ns "$1")") == "${SSHD_PID[$1]}" ]]; }
for h in "${HOSTS[@]}"; do
    # No process but sshd in the host's network namespace (its sessions may take a moment to go).
    if ! wait_for 10 only_sshd "$h"; then
        for pid in $(ip netns pids "$(ns "$h")"); do
            [[ $pid == "${SSHD_PID[$h]}" ]] ||
                fail "left running on $h: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
        done
    fi
    # Nothing in its home, no unit, nothing in /dev/shm, no file in its runtime dir.
    left=$(cd "$(host_path "$h" /root)" && find . -mindepth 1)
    [[ -z $left ]] || fail "left in $h's /root: $left"
    left=$(cd "$(host_path "$h" "$RUNDIR")" && find . ! -type d)
    [[ -z $left ]] || fail "left in $h's runtime dir: $left"
    for unit_dir in /etc/systemd/system /root/.config/systemd/user; do
        ! ls "$(host_path "$h" "$unit_dir")"/dora-daemon-* >/dev/null 2>&1 ||
            fail "a unit left in $h's $unit_dir"
    done
    [[ -z $(ls -A "$(host_path "$h" /dev/shm)") ]] ||
        fail "left in $h's /dev/shm: $(ls -A "$(host_path "$h" /dev/shm)")"
done
[[ -z $(marked_pid_with coordinator || true) ]] || fail "the coordinator is left"
[[ ! -e $XDG_CONFIG_HOME/dora/token ]] || fail "the laptop's cluster token is left"
echo "cluster deploy e2e: ok (up on three hosts, the sensor network from the laptop's dir, down clean)"
