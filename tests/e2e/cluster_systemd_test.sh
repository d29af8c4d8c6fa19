#!/usr/bin/env bash
# e2e: `dora cluster up`'s systemd branch against a live systemd. A host "box" boots a real systemd
# as PID 1 in a container (systemd-nspawn --boot): this machine's /usr read-only, everything else a
# fresh tmpfs (--volatile=yes), its own PID, mount, UTS and cgroup namespaces, and the network
# namespace this test made for it (10.78.4.0/24: laptop .1, box .2); systemd starts the test's
# sshds there (port 22 with PAM, 2222 without). From the laptop, the sensor network's four machines
# on the box, edge1 and edge2 as root, edge3 and cloud as a user of the box's:
#   up, no lingering     as the user: `auto` runs a supervised process and says how to get a unit,
#                        `service: systemd` is refused saying why
#   dora cluster up      (lingering on) copies dora and installs and starts system units
#                        dora-daemon-edge1/edge2.service and user units dora-daemon-edge3/cloud
#                        .service (cloud over the sshd without PAM: no XDG_RUNTIME_DIR), enabled
#   up again             with edge1's labels changed: restarts edge1's unit alone
#   the sensor network   runs on the four daemons, its files sent by dora start, nodes in the units
#   daemons killed       (a system and a user unit) are started again by systemd
#   the box reboots      its systemd starts the enabled units at boot: the daemons register again
#   dora cluster down    disables, stops and removes the units and the dirs: nothing is left
# The container never touches this machine's PID 1, mounts or network: where systemd is not this
# machine's init (a VM or container whose PID 1 is something else), the test makes a cgroup of its
# own in each systemd hierarchy for it and removes it at the end; /run/systemd is a private tmpfs
# for systemd-nspawn's own bookkeeping.
#   cluster_systemd_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root, without `ip netns`, sshd/ssh, systemd or systemd-nspawn
# (scripts/setup.sh installs openssh-server and systemd-container).
set -euo pipefail
DORA=$(realpath "$1")
SRC=$(realpath "$2")
SSHD=/usr/sbin/sshd
NSPAWN=$(command -v systemd-nspawn || true)
SYSTEMD=/usr/lib/systemd/systemd
if [[ ! -x $SSHD ]] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "SKIP: needs openssh-server and openssh-client (scripts/setup.sh installs them)"
    exit 77
fi
if [[ -z $NSPAWN || ! -x $SYSTEMD ]]; then
    echo "SKIP: needs systemd and systemd-nspawn (Debian's systemd-container; scripts/setup.sh installs it)"
    exit 77
fi
# The box runs from this machine's /usr alone: /bin, /lib and /sbin must be links into it.
for d in /bin /lib /sbin; do
    if [[ $(realpath "$d") != /usr$d ]]; then
        echo "SKIP: $d is not a link to /usr$d here (the box boots from /usr alone)"
        exit 77
    fi
done
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
netns_test cluster-systemd

declare -A ADDR=([laptop]=10.78.4.1 [box]=10.78.4.2)
netns_hosts dsd laptop box
netns_lan lan
for h in laptop box; do netns_plug "$h" lan eth0 "${ADDR[$h]}"; done
on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }

# --- the box ----------------------------------------------------------------------------------
# Its /etc/systemd/system and /root are dirs here (so this test sees what `up` writes there and
# they survive the box's reboot); its sshd's config, keys and machine-id are read-only.
BOX=$WORK/box
MACHINE=dora-sd-$$
mkdir -p "$BOX/units" "$BOX/root" "$BOX/ssh" "$BOX/pam.d" "$BOX/home" "$BOX/linger"
# A user of the box's own (in its passwd only), with a home here; the box's logind keeps its
# lingering in a dir here too, so that it survives the box's reboot.
USER_UID=4242
while getent passwd "$USER_UID" >/dev/null || getent group "$USER_UID" >/dev/null; do
    USER_UID=$((USER_UID + 1))
done
{ cat /etc/passwd; echo "dorauser:x:$USER_UID:$USER_UID:dora test user:/home/dorauser:/bin/sh"; } >"$BOX/passwd"
{ cat /etc/group; echo "dorauser:x:$USER_UID:"; } >"$BOX/group"
chown "$USER_UID:$USER_UID" "$BOX/home"
# PAM for the sshd on port 22 and for user@.service: no password checks (keys only), and
# pam_systemd, which registers the session with logind (starting the user's manager) and sets
# XDG_RUNTIME_DIR.
for service in sshd systemd-user; do
    printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
        'password required pam_deny.so' 'session required pam_systemd.so' >"$BOX/pam.d/$service"
done
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$BOX/machine-id"
ssh-keygen -q -t ed25519 -N '' -C dora-cluster-systemd-test -f "$WORK/id"
ssh-keygen -q -t ed25519 -N '' -f "$BOX/ssh/host_key"
cp "$WORK/id.pub" "$BOX/ssh/authorized_keys"
# The sessions' PATH leaves out /usr/local/bin, where an installed dora may be: up copies this one.
# sshd on port 22 uses PAM, the one on 2222 does not (sshd_config_nopam).
cat >"$BOX/ssh/sshd_config" <<CONF
ListenAddress ${ADDR[box]}
HostKey /etc/dora-test-ssh/host_key
AuthorizedKeysFile /etc/dora-test-ssh/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
SetEnv PATH=/usr/sbin:/usr/bin:/sbin:/bin
LogLevel ERROR
CONF
{ echo "Port 2222"; echo "UsePAM no"; cat "$BOX/ssh/sshd_config"; } >"$BOX/ssh/sshd_config_nopam"
sed -i '1i Port 22\nUsePAM yes' "$BOX/ssh/sshd_config"
for config in sshd_config sshd_config_nopam; do
    cat >"$BOX/units/dora-test-$config.service" <<UNIT
[Unit]
Description=sshd ($config) of dora's cluster_systemd_test
[Service]
ExecStart=$SSHD -D -e -f /etc/dora-test-ssh/$config
RuntimeDirectory=sshd
RuntimeDirectoryPreserve=yes
UNIT
done

# Where this machine's PID 1 is not systemd, nobody manages cgroups for systemd-nspawn: it gets
# a cgroup of this test's in each systemd hierarchy (cgroup2, and v1's name=systemd), and keeps
# the box under it (--keep-unit). Under systemd, systemd-nspawn asks it for a scope instead.
HOST_SYSTEMD=
[[ -d /run/systemd/system ]] && HOST_SYSTEMD=1
CGROUPS=()
NSPAWN_PID=
NSPAWN_ARGS=(--boot --directory=/ --volatile=yes --register=no --machine="$MACHINE"
    --network-namespace-path="/run/netns/$(ns box)" --drop-capability=CAP_MKNOD
    --bind="$BOX/units:/etc/systemd/system" --bind="$BOX/root:/root"
    --bind-ro="$BOX/ssh:/etc/dora-test-ssh" --bind-ro="$BOX/machine-id:/etc/machine-id"
    --bind-ro="$BOX/passwd:/etc/passwd" --bind-ro="$BOX/group:/etc/group"
    --bind-ro="$BOX/pam.d:/etc/pam.d" --bind="$BOX/home:/home/dorauser"
    --bind="$BOX/linger:/var/lib/systemd/linger" --console=pipe
    systemd.wants=dora-test-sshd_config.service systemd.wants=dora-test-sshd_config_nopam.service
    systemd.mask=systemd-machine-id-commit.service)
[[ -z $HOST_SYSTEMD ]] && NSPAWN_ARGS=(--keep-unit "${NSPAWN_ARGS[@]}")
# boot_box: starts the box in the background (its console in $BOX/console.log); waits for its sshd.
boot_box() {
    local booting=$SECONDS
    (
        for cg in "${CGROUPS[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
        # Without systemd here, systemd-nspawn's bookkeeping under /run/systemd goes to a tmpfs
        # of a private mount namespace, not into this machine's /run.
        if [[ -z $HOST_SYSTEMD ]]; then
            exec unshare --mount --propagation private sh -c \
                'mount -t tmpfs -o size=1m,mode=0755 tmpfs /run/systemd && exec "$@"' sh \
                "$NSPAWN" "${NSPAWN_ARGS[@]}"
        fi
        exec "$NSPAWN" "${NSPAWN_ARGS[@]}"
    ) </dev/null >>"$BOX/console.log" 2>&1 &
    NSPAWN_PID=$!
    wait_for 30 sshd_listening || {
        cat "$BOX/console.log" >&2
        fail "the box's sshd does not listen after 30 s"
    }
    echo "box: booted in $((SECONDS - booting)) s"
}
sshd_listening() {
    kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn exited: $(cat "$BOX/console.log")"
    on box ss -ltn | grep -q "${ADDR[box]}:22 " && on box ss -ltn | grep -q "${ADDR[box]}:2222 "
}
# stop_box: the box's systemd powers it off (systemd-nspawn's answer to TERM), KILL after 20 s.
stop_box() {
    [[ -n $NSPAWN_PID ]] || return 0
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    wait_for 20 box_gone || { echo "the box did not power off in 20 s: killed" >&2; kill -KILL "$NSPAWN_PID"; }
    wait "$NSPAWN_PID" 2>/dev/null
    NSPAWN_PID=
}
box_gone() { ! kill -0 "$NSPAWN_PID" 2>/dev/null; }
# shellcheck disable=SC2317  # invoked by the EXIT trap
box_teardown() {
    local rc=$? cg pid
    set +e
    stop_box
    # Whatever is left in the test's cgroups is the box's: killed, then the cgroups removed.
    for cg in "${CGROUPS[@]}"; do
        [[ -d $cg ]] || continue
        for pid in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
    done
    for cg in "${CGROUPS[@]}"; do
        [[ -d $cg ]] || continue
        wait_for 5 remove_cgroup "$cg" || { echo "FAILED: cgroup $cg left behind" >&2; rc=1; }
    done
    (exit "$rc")
    netns_teardown
}
remove_cgroup() { find "$1" -depth -type d -exec rmdir {} + 2>/dev/null; [[ ! -d $1 ]]; }
trap box_teardown EXIT
if [[ -z $HOST_SYSTEMD ]]; then
    for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
        fstype=$(stat -f -c %T "$hierarchy" 2>/dev/null || true)
        if [[ $fstype == cgroup2fs || ($hierarchy == */systemd && $fstype == cgroupfs) ]]; then
            mkdir "$hierarchy/$MACHINE" || fail "cannot make a cgroup in $hierarchy"
            CGROUPS+=("$hierarchy/$MACHINE")
        fi
    done
    ((${#CGROUPS[@]})) || fail "no systemd cgroup hierarchy under /sys/fs/cgroup"
fi
boot_box

cat >"$WORK/ssh_config" <<CONF
Host *
    User root
    IdentityFile $WORK/id
    UserKnownHostsFile $WORK/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking accept-new
    ConnectTimeout 5
    LogLevel ERROR
CONF
# in_box COMMAND: runs the shell COMMAND in the box, over ssh (as root); as_user: as dorauser.
in_box() { on laptop ssh -F "$WORK/ssh_config" "${ADDR[box]}" "$1"; }
as_user() { on laptop ssh -F "$WORK/ssh_config" "dorauser@${ADDR[box]}" "$1"; }
[[ $(in_box 'readlink /proc/1/exe; test -d /run/systemd/system && echo booted') == \
    "$SYSTEMD"$'\n'booted ]] || fail "the box's PID 1 is not systemd"
echo "[${SECONDS} s] box: PID 1 is $(in_box 'systemctl --version | head -n 1')"

# The sensor network's four machines, all on the box: edge1 and edge2 as root (system units),
# edge3 and cloud as dorauser (user units; cloud over the sshd without PAM, whose sessions have
# no XDG_RUNTIME_DIR).
declare -A SCOPE_OF=([edge1]=system [edge2]=system [edge3]=user [cloud]=user)
declare -A UNIT_DIR=([system]=/etc/systemd/system [user]=/home/dorauser/.config/systemd/user)
declare -A HERE=([system]=$BOX/units [user]=$BOX/home/.config/systemd/user)
declare -A HOME_OF=([system]=$BOX/root [user]=$BOX/home)
declare -A DIR_OF=([system]=/root [user]=/home/dorauser)
IDS=(edge1 edge2 edge3 cloud)
cluster_file() { # cluster_file NAME MACHINE...: $WORK/NAME.yml
    local name=$1 m
    shift
    {
        echo "coordinator: {addr: ${ADDR[laptop]}}"
        echo "ssh: {config: ssh_config}"
        echo "machines:"
        for m in "$@"; do echo "  - $m"; done
    } >"$WORK/$name.yml"
}
machine() { # machine ID DAEMON_PORT [EXTRA]: as root
    echo "{id: $1, host: ${ADDR[box]}, identity_file: id, daemon_port: $2${3:+, $3}}"
}
user_machine() { # user_machine ID DAEMON_PORT [EXTRA]: as dorauser
    echo "{id: $1, host: ${ADDR[box]}, user: dorauser, identity_file: id, daemon_port: $2${3:+, $3}}"
}
laptop_dora() { on laptop "$DORA" "$@"; }
registered() { laptop_dora list 2>/dev/null | grep -qE "^$1 +connected"; }
all_registered() { local id; for id in "${IDS[@]}"; do registered "$id" || return 1; done; }
# units: $WORK/units.out, one line per unit of the four machines from the box's systemd (one ssh
# session per scope): ID ACTIVE_STATE UNIT_FILE_STATE MAIN_PID N_RESTARTS LOAD_STATE
# UNIT_OF_MAIN_PID CMDLINE
units_script='for id in "$@"; do
    u=dora-daemon-$id.service
    printf "%s " "$id"
    for p in ActiveState UnitFileState MainPID NRestarts LoadState; do
        v=$(systemctl $S show -P $p $u 2>/dev/null)
        printf "%s " "${v:--}"
    done
    pid=$(systemctl $S show -P MainPID $u 2>/dev/null)
    v=$(ps -o $PS_UNIT= -p "${pid:-0}" 2>/dev/null)
    printf "%s %s\n" "${v:--}" "$(tr "\0" " " </proc/"${pid:-0}"/cmdline 2>/dev/null)"
done'
units() {
    in_box "S=; PS_UNIT=unit; set -- edge1 edge2; $units_script" >"$WORK/units.out"
    as_user "S=--user; PS_UNIT=uunit; set -- edge3 cloud; $units_script" >>"$WORK/units.out"
}
unit_field() { awk -v id="$1" -v n="$2" '$1 == id { print $n }' "$WORK/units.out"; }
unit_cmdline() { awk -v id="$1" '$1 == id { $1 = $2 = $3 = $4 = $5 = $6 = $7 = ""; print }' "$WORK/units.out"; }

# --- as a user without lingering: no unit ------------------------------------------------------
cluster_file nolinger "$(user_machine edge3 53403)" "$(user_machine strict 53412 'service: systemd')"
status=0
laptop_dora cluster up "$WORK/nolinger.yml" >"$WORK/nolinger.out" 2>&1 || status=$?
cat "$WORK/nolinger.out"
((status == 1)) || fail "up with service: systemd and no lingering: exit $status"
grep -qE "^edge3 +dorauser@[0-9.]+:22 +copied +process +started +yes$" "$WORK/nolinger.out" ||
    fail "edge3's row without lingering"
grep -qF "edge3: lingering is off for dorauser there: the daemon runs as a supervised process, since a systemd user unit would stop at logout; \`sudo loginctl enable-linger dorauser\` there" \
    "$WORK/nolinger.out" || fail "no warning about lingering"
grep -qF "\`service: systemd\`, but lingering is off for dorauser there, so dorauser's systemd user manager stops at logout, and the daemon with it: run \`sudo loginctl enable-linger dorauser\` there" \
    "$WORK/nolinger.out" || fail "strict's refusal"
[[ ! -e ${HERE[user]}/dora-daemon-edge3.service ]] || fail "a user unit without lingering"
[[ -s $BOX/home/.dora/cluster/edge3/supervisor.pid ]] || fail "edge3 has no supervisor"
echo "[${SECONDS} s] as a user without lingering: a supervised process, and a warning"

# --- up: two system units, two user units (lingering on now), enabled and running -------------
in_box 'loginctl enable-linger dorauser'
cluster_file cluster "$(machine edge1 53401 'service: systemd')" "$(machine edge2 53402)" \
    "$(user_machine edge3 53403)" "$(user_machine cloud 53404 'port: 2222')"
started=$SECONDS
laptop_dora cluster up "$WORK/cluster.yml" >"$WORK/up1.out" 2>&1 || fail "up: $(cat "$WORK/up1.out")"
cat "$WORK/up1.out"
echo "first up: $((SECONDS - started)) s"
grep -qE "^edge3 +dorauser@[0-9.]+:22 +had it +systemd \(user\) +started +yes$" "$WORK/up1.out" ||
    fail "edge3's row with lingering"
grep -qE "^cloud +dorauser@[0-9.]+:2222 +copied +systemd \(user\) +started +yes$" "$WORK/up1.out" ||
    fail "cloud's row (over the sshd without PAM)"
grep -q "lingering" "$WORK/up1.out" && fail "a warning about lingering with lingering on"
[[ ! -e $BOX/home/.dora/cluster/edge3/supervisor.pid ]] || fail "edge3's supervisor is left"
in_box 'ps -e -o args=' | grep -q '[s]upervise.sh' && fail "edge3's supervisor still runs"
units
declare -A MAIN_PID
for id in "${IDS[@]}"; do
    scope=${SCOPE_OF[$id]}
    if [[ $scope == system ]]; then
        grep -qE "^$id +[0-9.]+:22 +copied +systemd \(system\) +started +yes$" "$WORK/up1.out" ||
            fail "up's row of $id"
    fi
    unit=${HERE[$scope]}/dora-daemon-$id.service
    dir=${DIR_OF[$scope]}/.dora/cluster/$id
    [[ -f $unit ]] || fail "no unit file for $id"
    grep -qx "ExecStart=/bin/sh \"$dir/daemon.sh\"" "$unit" || fail "$id's unit: $(cat "$unit")"
    grep -qx "Restart=on-failure" "$unit" || fail "$id's unit does not restart the daemon"
    wants=multi-user.target.wants
    [[ $scope == user ]] && wants=default.target.wants
    [[ $(readlink "${HERE[$scope]}/$wants/dora-daemon-$id.service") == "${UNIT_DIR[$scope]}/dora-daemon-$id.service" ]] ||
        fail "$id's unit is not enabled ($wants)"
    [[ $(unit_field "$id" 2) == active && $(unit_field "$id" 3) == enabled ]] ||
        fail "$id's unit: $(cat "$WORK/units.out")"
    MAIN_PID[$id]=$(unit_field "$id" 4)
    # The unit's main process is the daemon itself (daemon.sh execs it), in the unit's cgroup.
    [[ $(unit_field "$id" 7) == "dora-daemon-$id.service" ]] || fail "$id's daemon is not in its unit"
    [[ $(unit_cmdline "$id") == *" $dir/bin/dora daemon --machine-id $id "* ]] ||
        fail "$id's main process: $(unit_cmdline "$id")"
    [[ $(stat -c %a "${HOME_OF[$scope]}/.dora/cluster/$id/token") == 600 ]] || fail "$id's token is not mode 0600"
done
echo "[${SECONDS} s] up: system units of edge1 and edge2, user units of edge3 and cloud, enabled and active"

# --- up again, edge1's labels changed: edge1's unit restarted, the others unchanged -----------
cluster_file cluster "$(machine edge1 53401 'service: systemd, labels: {zone: north}')" \
    "$(machine edge2 53402)" "$(user_machine edge3 53403)" "$(user_machine cloud 53404 'port: 2222')"
laptop_dora cluster up "$WORK/cluster.yml" >"$WORK/up2.out" 2>&1 || fail "up again: $(cat "$WORK/up2.out")"
cat "$WORK/up2.out"
grep -qE "^edge1 +[0-9.]+:22 +had it +systemd \(system\) +restarted +yes$" "$WORK/up2.out" ||
    fail "edge1 was not restarted"
for id in edge2 edge3 cloud; do
    grep -qE "^$id .* had it +systemd \(${SCOPE_OF[$id]}\) +unchanged +yes$" "$WORK/up2.out" ||
        fail "the second up changed $id"
done
units
for id in "${IDS[@]}"; do
    [[ $(unit_field "$id" 2) == active && $(unit_field "$id" 5) == 0 ]] || fail "$id after the second up"
    if [[ $id == edge1 ]]; then
        [[ $(unit_field "$id" 4) != "${MAIN_PID[$id]}" ]] || fail "edge1's daemon was not restarted"
        [[ $(unit_cmdline "$id") == *" --labels zone=north"* ]] || fail "edge1's daemon has no labels"
        MAIN_PID[$id]=$(unit_field "$id" 4)
    else
        [[ $(unit_field "$id" 4) == "${MAIN_PID[$id]}" ]] || fail "the second up restarted $id"
    fi
done
echo "[${SECONDS} s] second up: edge1's unit restarted (labels), the others unchanged"

laptop_dora cluster status "$WORK/cluster.yml" >"$WORK/status.out" 2>&1 || fail "status: $(cat "$WORK/status.out")"
cat "$WORK/status.out"
version=$("$DORA" --version)
for id in "${IDS[@]}"; do
    grep -qE "^$id +[a-z@]*[0-9.]+:[0-9]+ +yes +$version +systemd \(running\) +yes +0$" "$WORK/status.out" ||
        fail "status's row of $id"
done

# --- the sensor network on the daemons systemd runs -------------------------------------------
FLOW=$WORK/laptop/sensor-network
mkdir -p "$FLOW"
cp "$SRC"/examples/sensor-network/{dataflow.yml,sensor_node.py,cloud_node.py} "$FLOW/"
start_stamped "$OUT" ip netns exec "$(ns laptop)" "$DORA" start "$FLOW/dataflow.yml" --attach
wait_for 60 all_sensors_received || { show; fail "not every sensor arrived"; }
has_summary() { (($(summaries_in "$OUT") >= 1)); }
wait_for 20 has_summary || { show; fail "no summary"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "3 active sensors"; }
# The nodes run in their daemon's unit.
in_box 'ps -e -o unit=,uunit=,args=' >"$WORK/ps.out"
grep -qE '^dora-daemon-edge1[.]service +- +python3 .*/sensor_node[.]py' "$WORK/ps.out" ||
    fail "edge1's node is not in its unit: $(cat "$WORK/ps.out")"
grep -qE '^user@[0-9]+[.]service +dora-daemon-cloud[.]service +python3 .*/cloud_node[.]py' "$WORK/ps.out" ||
    fail "cloud's node is not in its unit: $(cat "$WORK/ps.out")"
stop_attached
echo "[${SECONDS} s] the sensor network ran on the four units"

# --- daemons that die are started again by systemd (system and user manager) -------------------
in_box "kill -KILL ${MAIN_PID[edge2]} ${MAIN_PID[cloud]}"
restarted() {
    local id
    units
    for id in edge2 cloud; do
        [[ $(unit_field "$id" 4) != 0 && $(unit_field "$id" 4) != "${MAIN_PID[$id]}" &&
            $(unit_field "$id" 2) == active ]] && registered "$id" || return 1
    done
}
wait_for 20 restarted || fail "systemd did not restart edge2 and cloud: $(cat "$WORK/units.out")"
for id in edge2 cloud; do
    [[ $(unit_field "$id" 5) == 1 ]] || fail "$id's NRestarts: $(unit_field "$id" 5)"
done
journal=$(in_box 'journalctl --no-pager -o cat -u dora-daemon-edge2')
for line in "Main process exited, code=killed, status=9/KILL" "Scheduled restart job, restart counter is at 1."; do
    grep -qF "$line" <<<"$journal" || fail "edge2's journal lacks \"$line\": $journal"
done
[[ -s $BOX/root/.dora/cluster/edge2/daemon.log ]] || fail "edge2 has no daemon.log"
echo "[${SECONDS} s] killed daemons: restarted by systemd (journal: $(grep -F 'Scheduled restart' <<<"$journal"))"
# The user's daemons outlived its sessions (logind stops a user manager without lingering 10 s
# after the user's last session; the last one ended before the sensor network started).
registered edge3 && [[ $(unit_field edge3 4) == "${MAIN_PID[edge3]}" ]] ||
    fail "edge3's daemon did not outlive the user's sessions"

# --- the box reboots: its systemd (and, lingering, the user's) starts the enabled units -------
stop_box
started=$SECONDS
boot_box
wait_for 30 all_registered || fail "after the box's reboot: $(laptop_dora list 2>&1)"
units
for id in "${IDS[@]}"; do
    [[ $(unit_field "$id" 2) == active ]] || fail "$id's unit after the reboot"
done
echo "[${SECONDS} s] reboot: the four daemons registered again $((SECONDS - started)) s after the box was booted"

# --- down: the units are stopped, disabled and removed ----------------------------------------
laptop_dora cluster down "$WORK/cluster.yml" >"$WORK/down.out" 2>&1 || fail "down: $(cat "$WORK/down.out")"
cat "$WORK/down.out"
units
for id in "${IDS[@]}"; do
    scope=${SCOPE_OF[$id]}
    grep -qx "$id: removed systemd unit ${UNIT_DIR[$scope]}/dora-daemon-$id.service" "$WORK/down.out" ||
        fail "down did not remove $id's unit"
    grep -qx "$id: removed ${DIR_OF[$scope]}/.dora/cluster/$id" "$WORK/down.out" ||
        fail "down did not remove $id's dir"
    [[ $(unit_field "$id" 6) == not-found ]] || fail "$id's unit is still loaded"
done
laptop_dora cluster down "$WORK/nolinger.yml" >"$WORK/down2.out" 2>&1 || fail "down of nolinger.yml: $(cat "$WORK/down2.out")"
left=$(cd "$BOX/units" && find . -mindepth 1 ! -name 'dora-test-sshd_config*.service')
[[ -z $left ]] || fail "left in the box's /etc/systemd/system: $left"
left=$(cd "$BOX/home" && find . -path './.dora*' -o -path './.config/systemd/user/*dora*')
[[ -z $left ]] || fail "left in the user's home: $left"
[[ ! -e $BOX/root/.dora ]] || fail "left in the box's /root: $(find "$BOX/root/.dora")"
# No dora process in the box.
in_box 'ps -e -o unit=,args=' >"$WORK/ps.out"
grep -qE 'dora-daemon|/bin/dora|supervise' "$WORK/ps.out" && fail "left running in the box: $(cat "$WORK/ps.out")"
# The coordinator is stopped by the down of the file whose up started it.
grep -q "here: stopped the coordinator" "$WORK/down2.out" || fail "down left the coordinator"
[[ -z $(marked_pid_with coordinator || true) ]] || fail "the coordinator is left"
[[ ! -e $XDG_CONFIG_HOME/dora/token ]] || fail "the token file is left"
echo "[${SECONDS} s] cluster on a live systemd e2e: ok"
