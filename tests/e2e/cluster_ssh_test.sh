#!/usr/bin/env bash
# e2e: `dora cluster up|status|down` over real ssh. A "laptop" and three hosts are network
# namespaces on one LAN (10.78.0.0/24: laptop .1, h1 .11, h2 .12, h3 .13); each host runs its own
# sshd (Debian's openssh-server) with its own config, host key and the test's generated key. From
# the laptop, `dora cluster up` starts the coordinator there and daemons edge1 (h1), edge2 (h2),
# edge3 and cloud (both on h3) as supervised processes (systemd is not PID 1 here), copying dora
# into each machine's own dir; the sensor network then runs on them; `down` leaves them clean.
# Also: a second `up` changes nothing, status, a killed daemon is restarted, and bad input (a
# typo in the cluster file, an unreachable host, a wrong key, another CPU architecture, a full
# disk, a copy damaged in transit) is refused naming the machine, leaving nothing half-started
# unsaid.
#   cluster_ssh_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root, without `ip netns`, or without sshd/ssh.
set -euo pipefail
DORA=$1
SRC=$2
SSHD=/usr/sbin/sshd
if [[ ! -x $SSHD ]] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "SKIP: needs openssh-server and openssh-client (scripts/setup.sh installs them)"
    exit 77
fi
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
netns_test cluster
trap 'rc=$?; cluster_teardown; (exit $rc); netns_teardown' EXIT
MOUNTED=
cluster_teardown() {
    set +e
    [[ -n $MOUNTED ]] && umount "$MOUNTED"
    true
}

declare -A ADDR=([laptop]=10.78.0.1 [h1]=10.78.0.11 [h2]=10.78.0.12 [h3]=10.78.0.13)
netns_hosts dcl laptop h1 h2 h3
netns_lan lan
for h in laptop h1 h2 h3; do netns_plug "$h" lan eth0 "${ADDR[$h]}"; done
on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }

# A full disk: a small tmpfs, mounted before the sshds start so their mount namespaces have it.
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=8m tmpfs "$WORK/full" 2>/dev/null; then MOUNTED=$WORK/full; fi

# The keys: the test's login key, a key no host accepts, a host key per sshd.
ssh-keygen -q -t ed25519 -N '' -C dora-cluster-test -f "$WORK/id"
ssh-keygen -q -t ed25519 -N '' -C wrong -f "$WORK/wrong"
cp "$WORK/id.pub" "$WORK/authorized_keys"
[[ -d /run/sshd ]] || mkdir -p /run/sshd  # sshd's privilege separation dir
# Stubs for the hosts that pretend: uname says aarch64; tar damages what it unpacks.
mkdir -p "$WORK/stub-arch" "$WORK/stub-tar" "$WORK/stub-path"
ln -s "$(realpath "$DORA")" "$WORK/stub-path/dora"
printf '#!/bin/sh\n[ "$1" = -m ] && { echo aarch64; exit 0; }\nexec /bin/uname "$@"\n' \
    >"$WORK/stub-arch/uname"
cat >"$WORK/stub-tar/tar" <<'SH'
#!/bin/sh
/bin/tar "$@" || exit
while [ $# -gt 0 ]; do [ "$1" = -C ] && dir=$2; shift; done
[ -n "$dir" ] && [ -f "$dir/bin/dora-runtime" ] && echo damaged >>"$dir/bin/dora-runtime"
exit 0
SH
chmod +x "$WORK/stub-arch/uname" "$WORK/stub-tar/tar"

# start_sshd HOST PORT [PATH]: an sshd on HOST's address, with this test's marker in every
# session (so kill_marked finds what the sessions leave running). The sessions' PATH leaves out
# /usr/local/bin, where an installed dora of the same version may be (it would be used instead
# of a copy); one host has this dora on its PATH on purpose.
start_sshd() {
    local h=$1 port=$2 path=${3:-/usr/sbin:/usr/bin:/sbin:/bin}
    local dir=$WORK/sshd-$h-$port
    mkdir -p "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    cat >"$dir/sshd_config" <<CONF
Port $port
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
SetEnv DORA_E2E_MARKER=$E2E_MARKER PATH=$path
LogLevel ERROR
CONF
    ip netns exec "$(ns "$h")" "$SSHD" -D -e -f "$dir/sshd_config" >"$dir/log" 2>&1 &
    SSHD_PIDS+=($!)
}
SSHD_PIDS=()
for h in h1 h2 h3; do start_sshd "$h" 22; done
start_sshd h2 2222 "$WORK/stub-arch:/usr/sbin:/usr/bin:/sbin:/bin"
start_sshd h2 2223 "$WORK/stub-tar:/usr/sbin:/usr/bin:/sbin:/bin"
start_sshd h1 2224 "$WORK/stub-path:/usr/sbin:/usr/bin:/sbin:/bin"
listening() { on "$1" ss -ltn | grep -q "${ADDR[$1]}:$2 "; }
for hp in h1:22 h2:22 h3:22 h2:2222 h2:2223 h1:2224; do
    wait_for 10 listening "${hp%:*}" "${hp#*:}" || fail "sshd on $hp: $(cat "$WORK"/sshd-"${hp%:*}"-"${hp#*:}"/log)"
done

cat >"$WORK/ssh_config" <<CONF
Host *
    User root
    UserKnownHostsFile $WORK/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking accept-new
    ConnectTimeout 3
    LogLevel ERROR
CONF
# cluster_file NAME MACHINE...: $WORK/NAME.yml with MACHINE lines (YAML flow mappings).
cluster_file() {
    local name=$1 m
    shift
    {
        echo "coordinator: {addr: ${ADDR[laptop]}}"
        echo "ssh: {config: ssh_config, options: [ConnectTimeout=5]}"
        echo "machines:"
        for m in "$@"; do echo "  - $m"; done
    } >"$WORK/$name.yml"
}
machine() { # machine ID HOST [EXTRA]: a machine with its own dir and the test's key
    echo "{id: $1, host: ${ADDR[$2]}, dir: $WORK/remote/$1, identity_file: id${3:+, $3}}"
}
cluster_file cluster "$(machine edge1 h1)" "$(machine edge2 h2)" "$(machine edge3 h3)" \
    "$(machine cloud h3 'daemon_port: 53292')"
laptop_dora() { on laptop "$DORA" "$@"; }

# --- a typo in the cluster file: named with file:line and a suggestion; nothing starts --------
cat >"$WORK/typo.yml" <<YAML
coordinator: {addr: ${ADDR[laptop]}}
machines:
  - id: edge1
    hots: ${ADDR[h1]}
YAML
status=0
laptop_dora cluster up "$WORK/typo.yml" >"$WORK/typo.out" 2>&1 || status=$?
((status == 1)) || fail "a typo: exit $status: $(cat "$WORK/typo.out")"
grep -q "typo.yml:4:5: unknown key \`hots\` (did you mean \`host\`?)" "$WORK/typo.out" ||
    fail "the typo's message: $(cat "$WORK/typo.out")"
[[ -z $(marked_pid_with coordinator || true) ]] || fail "a typo started a coordinator"
echo "typo: $(grep -m1 hots "$WORK/typo.out")"

# --- up: copies dora, writes the token 0600, starts the daemons, waits for them --------------
started=$SECONDS
laptop_dora cluster up "$WORK/cluster.yml" >"$WORK/up1.out" 2>&1 || fail "up: $(cat "$WORK/up1.out")"
cat "$WORK/up1.out"
echo "first up: $((SECONDS - started)) s"
for id in edge1 edge2 edge3 cloud; do
    grep -qE "^$id +[0-9.]+:22 +copied +process +started +yes$" "$WORK/up1.out" ||
        fail "up's row of $id"
    [[ $(stat -c %a "$WORK/remote/$id/token") == 600 ]] || fail "$id's token is not mode 0600"
    cmp -s "$WORK/remote/$id/token" "$XDG_CONFIG_HOME/dora/token" || fail "$id's token"
    [[ -x $WORK/remote/$id/bin/dora ]] || fail "$id has no copied dora"
done
grep -q "made a cluster token" "$WORK/up1.out" || fail "up did not say it made the token"
declare -A SUPERVISOR DAEMON_PID
for id in edge1 edge2 edge3 cloud; do
    SUPERVISOR[$id]=$(cat "$WORK/remote/$id/supervisor.pid")
    DAEMON_PID[$id]=$(cat "$WORK/remote/$id/daemon.pid")
done

# --- up again: nothing copied, nothing restarted ---------------------------------------------
laptop_dora cluster up "$WORK/cluster.yml" >"$WORK/up2.out" 2>&1 || fail "up again: $(cat "$WORK/up2.out")"
for id in edge1 edge2 edge3 cloud; do
    grep -qE "^$id +[0-9.]+:22 +had it +process +unchanged +yes$" "$WORK/up2.out" ||
        fail "the second up changed $id: $(cat "$WORK/up2.out")"
    [[ $(cat "$WORK/remote/$id/supervisor.pid") == "${SUPERVISOR[$id]}" &&
        $(cat "$WORK/remote/$id/daemon.pid") == "${DAEMON_PID[$id]}" ]] ||
        fail "the second up restarted $id"
done
grep -q "coordinator already running" "$WORK/up2.out" || fail "the second up started a coordinator"
echo "second up: unchanged"
# Another token than the running coordinator's: refused before anything is started or written.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/other-token"
status=0
laptop_dora cluster up "$WORK/cluster.yml" --token-file "$WORK/other-token" >"$WORK/othertoken.out" 2>&1 || status=$?
((status == 1)) || fail "up with another token: exit $status: $(cat "$WORK/othertoken.out")"
grep -q "something listens on 127.0.0.1:6012 .* but is not a coordinator this CLI can use" \
    "$WORK/othertoken.out" || fail "up with another token: $(cat "$WORK/othertoken.out")"
cmp -s "$WORK/remote/edge1/token" "$XDG_CONFIG_HOME/dora/token" || fail "up with another token wrote it"
head -n 1 "$WORK/othertoken.out"

# --- a machine with this dora on its PATH uses it: nothing copied ----------------------------
cluster_file onpath "$(machine usr h1 'port: 2224, daemon_port: 53295')"
laptop_dora cluster up "$WORK/onpath.yml" >"$WORK/onpath.out" 2>&1 || fail "up onpath: $(cat "$WORK/onpath.out")"
grep -qE "^usr +[0-9.]+:2224 +$WORK/stub-path/dora +process +started +yes$" "$WORK/onpath.out" ||
    fail "the dora on PATH: $(cat "$WORK/onpath.out")"
[[ ! -e $WORK/remote/usr/bin && $(cat "$WORK/remote/usr/exe") == "$WORK/stub-path/dora" ]] ||
    fail "dora was copied to a machine that has it on PATH"
laptop_dora cluster down "$WORK/onpath.yml" >"$WORK/onpath-down.out" 2>&1 || fail "down onpath"
grep -q "here: stopped the coordinator" "$WORK/onpath-down.out" && fail "down of onpath.yml stopped the coordinator it did not start"
[[ ! -e $WORK/remote/usr ]] || fail "down onpath left $WORK/remote/usr"
echo "dora on PATH: used, not copied"

# --- the sensor network on the machines ------------------------------------------------------
start_stamped "$OUT" ip netns exec "$(ns laptop)" "$DORA" start \
    "$SRC/examples/sensor-network/dataflow.yml" --attach
wait_for 40 all_sensors_received || { show; fail "not every sensor arrived"; }
has_summary() { (($(summaries_in "$OUT") >= 1)); }
wait_for 20 has_summary || { show; fail "no summary"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "3 active sensors"; }
grep -q 'sensor-temp on daemon `edge1`' "$OUT" || { show; fail "edge1's node"; }

laptop_dora cluster status "$WORK/cluster.yml" >"$WORK/status.out" 2>&1 || fail "status: $(cat "$WORK/status.out")"
cat "$WORK/status.out"
version=$("$DORA" --version)
for id in edge1 edge2 edge3 cloud; do
    grep -qE "^$id +[0-9.]+:22 +yes +$version +process \(running\) +yes +1$" "$WORK/status.out" ||
        fail "status's row of $id"
done

stop_attached

# --- a daemon that dies is started again by its supervisor -----------------------------------
kill -KILL "$(cat "$WORK/remote/edge2/daemon.pid")"
edge2_back() {
    [[ $(cat "$WORK/remote/edge2/daemon.pid" 2>/dev/null) != "${DAEMON_PID[edge2]}" ]] &&
        laptop_dora list 2>/dev/null | grep -qE '^edge2 +connected'
}
wait_for 20 edge2_back || fail "edge2's daemon was not restarted"
echo "killed daemon: restarted by its supervisor"

# --- bad machines: each named with what to do; the others say they stay up -------------------
# expect_refusal NAME PATTERN MACHINE...: `up` of a file with these machines fails saying PATTERN.
expect_refusal() {
    local name=$1 pattern=$2
    shift 2
    cluster_file "$name" "$@"
    status=0
    laptop_dora cluster up "$WORK/$name.yml" --timeout 10 >"$WORK/$name.out" 2>&1 || status=$?
    ((status == 1)) || fail "$name: exit $status: $(cat "$WORK/$name.out")"
    grep -q -- "$pattern" "$WORK/$name.out" || fail "$name: $(cat "$WORK/$name.out")"
    grep -q "Still up and running: edge1" "$WORK/$name.out" || fail "$name: what stays up: $(cat "$WORK/$name.out")"
    grep -A3 -- "$pattern" "$WORK/$name.out" | head -4
}
expect_refusal unreachable "machine \`ghost\` (10.78.0.99:22): unreachable" \
    "$(machine edge1 h1)" "{id: ghost, host: 10.78.0.99, identity_file: id}"
expect_refusal wrongkey "machine \`locked\` (${ADDR[h1]}:22): ssh could not log in" \
    "$(machine edge1 h1)" "{id: locked, host: ${ADDR[h1]}, identity_file: wrong, daemon_port: 53299, dir: $WORK/remote/locked}"
[[ ! -e $WORK/remote/locked ]] || fail "the wrong key left $WORK/remote/locked"
expect_refusal arch "it is aarch64, this machine $(uname -m): this dora cannot run there and was not copied" \
    "$(machine edge1 h1)" "$(machine arm h2 'port: 2222')"
[[ ! -e $WORK/remote/arm ]] || fail "the other architecture got $WORK/remote/arm"
expect_refusal damaged "the copy arrived different from this machine's files" \
    "$(machine edge1 h1)" "$(machine bent h2 'port: 2223')"
[[ ! -e $WORK/remote/bent ]] || fail "the damaged copy left $WORK/remote/bent"
expect_refusal foreign "$WORK/stub-arch there exists and was not made by \`dora cluster up\`" \
    "$(machine edge1 h1)" "{id: other, host: ${ADDR[h2]}, identity_file: id, daemon_port: 53297, dir: $WORK/stub-arch}"
[[ $(ls "$WORK/stub-arch") == uname ]] || fail "up touched a dir it did not make"
expect_refusal nosystemd "\`service: systemd\`, but systemd does not run there" \
    "$(machine edge1 h1)" "$(machine sd h2 'daemon_port: 53296, service: systemd')"
[[ ! -e $WORK/remote/sd ]] || fail "service: systemd without systemd left $WORK/remote/sd"
if [[ -n $MOUNTED ]]; then
    expect_refusal full "the disk is full at $WORK/full/tiny there" \
        "$(machine edge1 h1)" "{id: tiny, host: ${ADDR[h2]}, identity_file: id, daemon_port: 53298, dir: $WORK/full/tiny}"
    [[ ! -e $WORK/full/tiny ]] || fail "the full disk got $WORK/full/tiny"
else
    echo "full disk: not checked (cannot mount a tmpfs here)"
fi
# status of a file with an unreachable machine: a row saying so, and why on stderr
status=0
laptop_dora cluster status "$WORK/unreachable.yml" >"$WORK/status2.out" 2>"$WORK/status2.err" || status=$?
((status == 0)) || fail "status with an unreachable machine: exit $status"
grep -qE "^ghost +10.78.0.99:22 +no +\? +\? +no +0$" "$WORK/status2.out" ||
    fail "status's row of ghost: $(cat "$WORK/status2.out")"
grep -qE "^edge1 +[0-9.]+:22 +yes .* yes +0$" "$WORK/status2.out" || fail "status's row of edge1"
grep -q "machine \`ghost\` (10.78.0.99:22): unreachable" "$WORK/status2.err" ||
    fail "status did not say why ghost is unreachable: $(cat "$WORK/status2.err")"
for f in unreachable wrongkey arch damaged; do
    grep -qE "^edge1 .* had it +process +unchanged +yes$" "$WORK/$f.out" || fail "$f changed edge1"
done

# --- down: everything `up` started is stopped and removed ------------------------------------
laptop_dora cluster down "$WORK/cluster.yml" >"$WORK/down.out" 2>&1 || fail "down: $(cat "$WORK/down.out")"
cat "$WORK/down.out"
for id in edge1 edge2 edge3 cloud; do
    grep -q "^$id: stopped supervised daemon" "$WORK/down.out" || fail "down did not stop $id"
    grep -q "^$id: removed $WORK/remote/$id$" "$WORK/down.out" || fail "down did not remove $id's dir"
    [[ ! -e $WORK/remote/$id ]] || fail "$WORK/remote/$id is left"
    [[ -z $(marked_pid_with daemon --machine-id "$id" || true) ]] || fail "$id's daemon is left"
done
grep -q "here: stopped the coordinator" "$WORK/down.out" || fail "down left the coordinator"
grep -q "here: removed the cluster token" "$WORK/down.out" || fail "down left the token"
[[ ! -e $XDG_CONFIG_HOME/dora/token ]] || fail "the token file is left"
[[ -z $(marked_pid_with coordinator || true) ]] || fail "the coordinator is left"
for pid in $(marked_pids); do
    [[ " ${SSHD_PIDS[*]} " == *" $pid "* ]] || fail "left running: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
done
laptop_dora cluster down "$WORK/cluster.yml" >"$WORK/down2.out" 2>&1 || fail "down again: $(cat "$WORK/down2.out")"
grep -q "^edge1: nothing to stop or remove" "$WORK/down2.out" || fail "down again: $(cat "$WORK/down2.out")"
echo "cluster over ssh e2e: ok"
